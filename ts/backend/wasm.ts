/**
 * The WebAssembly backend: instantiates build/rnnkit-simd-threads.wasm with its worker threads
 * (./wasm-threads.ts) where threads are available, else build/rnnkit-simd.wasm, or the scalar
 * build/rnnkit.wasm for engines without SIMD, and adapts its C-ABI exports
 * (crates/rnnkit-wasm/src/lib.rs) to the `Backend` contract of ./types.ts.
 * JS type-checks arguments (../validate.ts; null means absent, as in env.rs), copies inputs into
 * `rnnkit_alloc`ed memory, turns a non-zero status into the same RnnkitError the native backend
 * throws, and copies results out with `.slice()`.
 * A trap (a Rust panic) becomes ERR_RNNKIT_INTERNAL and the instance is replaced by a fresh one on
 * next use.
 * This file chooses and loads the module variant; the backend itself is in ./wasm/: runtime.ts (one
 * instance, call scopes), backend.ts (the Backend), model.ts and dataset.ts (the handles), batch.ts.
 */

import { describe, rnnkitError, typeError, valueError } from '../errors.js';
import { integer, object, optBool } from '../validate.js';
import type { Backend } from './types.js';
import { simdSupported } from './wasm-features.js';
import { defaultThreads, threadsSupported } from './wasm-threads.js';
import { compileError, importsFor, type Instantiated } from './wasm/runtime.js';
import { WasmBackend } from './wasm/backend.js';

// ---- loading ---------------------------------------------------------------------------------------

export interface WasmLoadOptions {
  /**
   * true: the SIMD128 module (ERR_RNNKIT_UNSUPPORTED where the engine lacks SIMD); false: the scalar
   * one. Default: SIMD where supported, unless RNNKIT_WASM_SIMD=0 (Node) forces scalar.
   */
  simd?: boolean;
  /**
   * Threads in all, the calling one included: > 1 loads the threaded SIMD module with `threads − 1`
   * workers (ERR_RNNKIT_UNSUPPORTED where threads are unavailable, see `threadsSupported`); 1 the
   * single-threaded one. Default: every core (at most 16) where threads are available and SIMD is
   * used, unless RNNKIT_WASM_THREADS (Node) sets a number.
   */
  threads?: number;
}

/** One variant of the module: SIMD or not, and its thread count (> 1 only with SIMD). */
interface Variant {
  simd: boolean;
  threads: number;
  /** What to load instead if this variant fails to load: the single-threaded module, when threads were a default, not asked for. */
  fallback?: Variant;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
const backends = new Map<string, WasmBackend>();

function chooseVariant(opts: WasmLoadOptions | undefined): Variant {
  if (opts !== undefined) object('opts', opts);
  const wantedSimd = opts?.simd === undefined ? undefined : optBool('simd', opts.simd ?? undefined, true);
  if (wantedSimd === true && !simdSupported()) {
    throw rnnkitError('ERR_RNNKIT_UNSUPPORTED', 'this WebAssembly engine lacks SIMD128; load the scalar module ({ simd: false })');
  }
  const simd = wantedSimd ?? (isNode && process.env.RNNKIT_WASM_SIMD?.trim() === '0' ? false : simdSupported());
  const envThreads = isNode ? process.env.RNNKIT_WASM_THREADS?.trim() : undefined;
  const threadsArg = opts?.threads !== undefined ? 'threads' : 'RNNKIT_WASM_THREADS';
  let wanted: number | undefined;
  if (opts?.threads !== undefined) {
    wanted = integer(threadsArg, opts.threads, 1, 256);
  } else if (envThreads) {
    wanted = integer(threadsArg, Number(envThreads), 1, 256);
  }
  if (wanted !== undefined && wanted > 1) {
    if (!simd) throw valueError(threadsArg, `expected 1 with the scalar module (threads need SIMD128), got ${wanted}`);
    if (!threadsSupported()) {
      throw rnnkitError(
        'ERR_RNNKIT_UNSUPPORTED',
        'wasm threads need SharedArrayBuffer and a thread that may block: Node >= 20.16, or a cross-origin isolated Web Worker',
      );
    }
  }
  const threads = simd ? (wanted ?? (threadsSupported() ? defaultThreads() : 1)) : 1;
  const fallback = wanted === undefined && threads > 1 ? { simd, threads: 1 } : undefined;
  return { simd, threads, fallback };
}

/** Literal `new URL(..., import.meta.url)` calls, so bundlers find and emit every file. */
function moduleUrl({ simd, threads }: Variant): URL {
  if (threads > 1) return new URL('../../build/rnnkit-simd-threads.wasm', import.meta.url);
  return simd ? new URL('../../build/rnnkit-simd.wasm', import.meta.url) : new URL('../../build/rnnkit.wasm', import.meta.url);
}


type Fs = typeof import('node:fs');
type Url = typeof import('node:url');

/** Node's fs and url without a static import, so browser bundles never see `node:*` modules. */
function nodeBuiltins(): { fs: Fs; url: Url } {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof get !== 'function') {
    throw rnnkitError('ERR_RNNKIT_UNSUPPORTED', 'loading the wasm module synchronously needs Node >= 20.16 (process.getBuiltinModule)');
  }
  return { fs: get('node:fs') as Fs, url: get('node:url') as Url };
}

function missing(where: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return rnnkitError(
    'ERR_RNNKIT_UNSUPPORTED',
    `the wasm module could not be loaded from ${where} (${reason}); run \`npm run build:wasm\` to build it`,
    undefined,
    cause,
  );
}

/** File bytes; a Buffer from readFile is backed by a plain (never shared) ArrayBuffer. */
type Bytes = Uint8Array<ArrayBuffer>;

function nodeReadSync(url: URL): { bytes: Bytes; where: string } {
  const { fs, url: nodeUrl } = nodeBuiltins();
  const where = nodeUrl.fileURLToPath(url);
  try {
    return { bytes: fs.readFileSync(where) as Bytes, where };
  } catch (e) {
    throw missing(where, e);
  }
}

async function nodeRead(url: URL): Promise<{ bytes: Bytes; where: string }> {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof get === 'function') return nodeReadSync(url);
  // Older Node 20: a specifier bundlers cannot see.
  const fsId = 'node:fs/promises';
  const urlId = 'node:url';
  const fs = (await import(/* @vite-ignore */ fsId)) as typeof import('node:fs/promises');
  const { fileURLToPath } = (await import(/* @vite-ignore */ urlId)) as Url;
  const where = fileURLToPath(url);
  try {
    return { bytes: (await fs.readFile(where)) as Bytes, where };
  } catch (e) {
    throw missing(where, e);
  }
}

/** Browsers: streaming compile where the server sends application/wasm, else via an ArrayBuffer. */
async function browserCompile(url: URL): Promise<WebAssembly.Module> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw missing(url.href, e);
  }
  if (!response.ok) throw missing(url.href, new Error(`HTTP ${response.status} ${response.statusText}`));
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response.clone());
    } catch {
      // Typically a wrong Content-Type; compile from the bytes instead.
    }
  }
  try {
    return await WebAssembly.compile(await response.arrayBuffer());
  } catch (e) {
    throw compileError(url.href, e);
  }
}

function remember(variant: Variant, make: () => WasmBackend): WasmBackend {
  const key = `${variant.simd}:${variant.threads}`;
  let b = backends.get(key);
  if (!b) {
    b = make();
    backends.set(key, b);
  }
  return b;
}

/**
 * The wasm `Backend` (one per module variant, created once). Node reads the file from disk;
 * browsers fetch it next to this module (`new URL('../../build/…', import.meta.url)`). The threaded
 * variant resolves once its worker threads have joined.
 */
export async function loadWasmBackend(opts?: WasmLoadOptions): Promise<Backend> {
  const variant = chooseVariant(opts);
  try {
    return await loadVariant(variant);
  } catch (e) {
    // E.g. an engine that cannot reserve the threaded module's 4 GiB shared memory (32-bit).
    if (variant.fallback) return loadVariant(variant.fallback);
    throw e;
  }
}

async function loadVariant(variant: Variant): Promise<WasmBackend> {
  const cached = backends.get(`${variant.simd}:${variant.threads}`);
  if (cached) return cached;
  const url = moduleUrl(variant);
  let module: WebAssembly.Module;
  let where: string;
  if (isNode) {
    const read = await nodeRead(url);
    where = read.where;
    try {
      module = await WebAssembly.compile(read.bytes);
    } catch (e) {
      throw compileError(where, e);
    }
  } else {
    module = await browserCompile(url);
    where = url.href;
  }
  let first: Instantiated;
  try {
    const { imports, memory } = importsFor(variant.threads);
    first = { instance: await WebAssembly.instantiate(module, imports), memory };
  } catch (e) {
    throw compileError(where, e, true);
  }
  const backend = remember(variant, () => new WasmBackend(module, first, where, variant.threads));
  await backend.threadsReady();
  return backend;
}

/**
 * Node only: the same backend, loaded synchronously (for `getBackend()` without `await ready()`).
 * The threaded variant's workers join shortly after; until then its GEMMs run on fewer threads
 * (with the same results).
 */
export function loadWasmBackendSync(opts?: WasmLoadOptions): Backend {
  if (!isNode) throw rnnkitError('ERR_RNNKIT_UNSUPPORTED', 'the wasm module loads synchronously only in Node; `await ready()` first');
  const variant = chooseVariant(opts);
  try {
    return loadVariantSync(variant);
  } catch (e) {
    if (variant.fallback) return loadVariantSync(variant.fallback);
    throw e;
  }
}

function loadVariantSync(variant: Variant): WasmBackend {
  return remember(variant, () => {
    const { bytes, where } = nodeReadSync(moduleUrl(variant));
    let module: WebAssembly.Module;
    let first: Instantiated;
    try {
      module = new WebAssembly.Module(bytes);
    } catch (e) {
      throw compileError(where, e);
    }
    try {
      const { imports, memory } = importsFor(variant.threads);
      first = { instance: new WebAssembly.Instance(module, imports), memory };
    } catch (e) {
      throw compileError(where, e, true);
    }
    return new WasmBackend(module, first, where, variant.threads);
  });
}

/** Test hooks, not part of the Backend contract. */
export const wasmTesting = {
  /**
   * Calls the module's deliberate panic export through the normal trap handling; `inPart`: inside a
   * parallel part that a worker thread picks up (threaded module).
   */
  panic(backend: Backend, inPart = false): void {
    const b = asWasm(backend);
    const rt = b.runtime();
    b.call(rt, 'testPanic', () => rt.check(rt.ex.rnnkit_test_panic(inPart ? 1 : 0)));
  },
  /** Resolves once the live instance's worker threads have joined (threaded module). */
  async threadsReady(backend: Backend): Promise<void> {
    await asWasm(backend).threadsReady();
  },
  /** Live `rnnkit_alloc` blocks in the current instance (0 when every call freed its inputs). */
  liveBlocks(backend: Backend): number {
    return asWasm(backend).runtime().ex.rnnkit_live_blocks() >>> 0;
  },
  /** Threads a `threads: 0` model uses in the live instance (1 + the workers that have joined). */
  threads(backend: Backend): number {
    return asWasm(backend).threads();
  },
  /** Which file the backend was loaded from. */
  source(backend: Backend): string {
    return asWasm(backend).source;
  },
};

function asWasm(backend: Backend): WasmBackend {
  if (!(backend instanceof WasmBackend)) throw typeError('backend', 'the wasm backend', describe(backend));
  return backend;
}
