/**
 * Backend resolution. Node tries the native addon, then wasm (`RNNKIT_BACKEND=native|wasm` forces
 * one); browsers use wasm only. Each backend is initialised at most once: its promise is cached and a
 * failure is remembered, so asking again answers at once with the same reason. When nothing loads,
 * one ERR_RNNKIT_UNSUPPORTED error lists `[name] reason` for every backend tried, with the causes.
 *
 * This file never imports the native loader: the Node entry (ts/index.ts) registers it, so browser
 * bundles (ts/index.browser.ts) never see `node:*` modules.
 */

import { describe, rnnkitError, valueError } from '../errors.js';
import type { Backend, BackendName } from './types.js';
import { loadWasmBackend, loadWasmBackendSync } from './wasm.js';

export interface BackendLoader {
  load(): Promise<Backend>;
  /** Synchronous variant for getBackend() in Node; absent where loading must be asynchronous. */
  loadSync?(): Backend;
}

type Slot =
  | { status: 'pending'; promise: Promise<Backend> }
  | { status: 'ready'; backend: Backend }
  | { status: 'failed'; error: unknown };

const NAMES: readonly BackendName[] = ['native', 'wasm'];
const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

const loaders = new Map<BackendName, BackendLoader>([['wasm', { load: loadWasmBackend, loadSync: loadWasmBackendSync }]]);
const slots = new Map<BackendName, Slot>();
let browserOnly = !isNode;
let current: Backend | undefined;
let defaultResolution: Promise<Backend> | undefined;

/** Called by the Node entry with the native addon loader. */
export function registerBackendLoader(name: BackendName, loader: BackendLoader): void {
  loaders.set(name, loader);
}

/** Called by the browser entry: wasm only, no environment override, no synchronous initialisation. */
export function useBrowserBackends(): void {
  browserOnly = true;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Used when ts/index.ts was not loaded (a module imported directly): a bundler-opaque dynamic import. */
async function importNativeLoader(): Promise<Backend> {
  const specifier = './native.js';
  const mod = (await import(/* @vite-ignore */ specifier)) as { loadNativeBackend(): Backend };
  return mod.loadNativeBackend();
}

function loaderFor(name: BackendName): BackendLoader | undefined {
  const registered = loaders.get(name);
  if (registered) return registered;
  if (name === 'native' && !browserOnly) return { load: importNativeLoader };
  return undefined;
}

function unavailable(name: BackendName): Error {
  return new Error(
    name === 'native' ? 'the native addon is only available in Node (browsers use wasm)' : `no loader for backend "${name}"`,
  );
}

/** Initialises `name` once; later calls share the promise or the remembered failure. */
function loadAsync(name: BackendName): Promise<Backend> {
  const slot = slots.get(name);
  if (slot?.status === 'ready') return Promise.resolve(slot.backend);
  if (slot?.status === 'failed') return Promise.reject(slot.error);
  if (slot?.status === 'pending') return slot.promise;
  const loader = browserOnly && name === 'native' ? undefined : loaderFor(name);
  if (!loader) return Promise.reject(unavailable(name));
  const promise = Promise.resolve()
    .then(() => loader.load())
    .then(
      (backend) => {
        slots.set(name, { status: 'ready', backend });
        return backend;
      },
      (error: unknown) => {
        slots.set(name, { status: 'failed', error });
        throw error;
      },
    );
  slots.set(name, { status: 'pending', promise });
  return promise;
}

function loadSync(name: BackendName): Backend {
  const slot = slots.get(name);
  if (slot?.status === 'ready') return slot.backend;
  if (slot?.status === 'failed') throw slot.error;
  if (slot?.status === 'pending') {
    throw new Error(`still initialising; \`await ready()\` or \`await setBackend('${name}')\` first`);
  }
  const loader = loaders.get(name);
  if (!loader?.loadSync) {
    // Not a load failure (an asynchronous load may still work), so nothing is remembered.
    throw new Error(
      name === 'native'
        ? "cannot be loaded synchronously from here; `await ready()` or import rnnkit's Node entry (ts/index.ts)"
        : 'cannot be loaded synchronously; `await ready()` first',
    );
  }
  try {
    const backend = loader.loadSync();
    slots.set(name, { status: 'ready', backend });
    return backend;
  } catch (error) {
    slots.set(name, { status: 'failed', error });
    throw error;
  }
}

/** The order to try: RNNKIT_BACKEND (Node only) alone, else native then wasm; browsers: wasm. */
function defaultOrder(): BackendName[] {
  if (browserOnly) return ['wasm'];
  const env = process.env.RNNKIT_BACKEND?.trim();
  if (env) {
    if (!(NAMES as readonly string[]).includes(env)) {
      throw valueError('RNNKIT_BACKEND', `expected "native" or "wasm", got ${describe(env)}`);
    }
    return [env as BackendName];
  }
  return ['native', 'wasm'];
}

function noBackend(failures: { name: BackendName; error: unknown }[]): Error {
  const list = failures.map(({ name, error }) => `[${name}] ${messageOf(error)}`).join('; ');
  const causes = failures.map(({ name, error }) => new Error(`[${name}] ${messageOf(error)}`, { cause: error }));
  const cause = causes.length === 1 ? causes[0] : new AggregateError(causes, list);
  return rnnkitError('ERR_RNNKIT_UNSUPPORTED', `no rnnkit backend could be loaded: ${list}`, undefined, cause);
}

/** Initialises the default backend (see the file header) and makes it current, unless one already is. */
export async function ready(): Promise<Backend> {
  if (current) return current;
  defaultResolution ??= (async () => {
    const failures: { name: BackendName; error: unknown }[] = [];
    for (const name of defaultOrder()) {
      try {
        const backend = await loadAsync(name);
        current ??= backend;
        return current;
      } catch (error) {
        failures.push({ name, error });
      }
    }
    throw noBackend(failures);
  })();
  try {
    return await defaultResolution;
  } catch (e) {
    defaultResolution = undefined; // failures stay remembered per backend; a retry just re-reports them
    throw e;
  }
}

/** Makes `name` the current backend, loading it if needed. Objects created earlier keep their backend. */
export async function setBackend(name: BackendName): Promise<void> {
  if (typeof name !== 'string') throw valueError('name', `expected "native" or "wasm", got ${describe(name)}`);
  if (!NAMES.includes(name)) throw valueError('name', `expected "native" or "wasm", got ${describe(name)}`);
  try {
    current = await loadAsync(name);
  } catch (error) {
    throw noBackend([{ name, error }]);
  }
}

/**
 * The current backend. In Node, if none was chosen yet, initialises the default synchronously. In
 * browsers the wasm module loads asynchronously, so `await ready()` must come first.
 */
export function getBackend(): Backend {
  if (current) return current;
  if (browserOnly) {
    throw rnnkitError(
      'ERR_RNNKIT_UNSUPPORTED',
      "no rnnkit backend is initialised yet: in browsers call `await ready()` (or `await setBackend('wasm')`) before creating or running models",
    );
  }
  const failures: { name: BackendName; error: unknown }[] = [];
  for (const name of defaultOrder()) {
    if (slots.get(name)?.status === 'pending') {
      // Falling through to the next backend would silently pick another one than ready() will.
      throw rnnkitError('ERR_RNNKIT_UNSUPPORTED', `the ${name} backend is still initialising: \`await ready()\` before using rnnkit`);
    }
    try {
      current = loadSync(name);
      return current;
    } catch (error) {
      failures.push({ name, error });
    }
  }
  throw noBackend(failures);
}

/** The current backend: its name, kernel tier, and the threads a `threads: 0` model uses now. */
export function backendInfo(): { name: BackendName; isa: string; threads: number } {
  const b = getBackend();
  return { name: b.name, isa: b.isa, threads: b.threads() };
}

/** Models of the current backend not yet freed (disposed or garbage-collected). */
export function liveHandles(): number {
  return getBackend().liveHandles();
}
