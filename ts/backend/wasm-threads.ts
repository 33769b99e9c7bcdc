/**
 * Worker threads for the threaded wasm module (build/rnnkit-simd-threads.wasm, see
 * crates/rnnkit-wasm/src/threads.rs). The module runs on a shared memory that JS creates; each
 * worker instantiates the same compiled module on that memory, gives itself a stack and a TLS block
 * allocated by the first instance, and joins the Rust thread pool for good. The pool then splits
 * GEMMs across the workers exactly as the native build splits them across std threads (bit-identical
 * results whatever the thread count).
 *
 * The thread that calls into the module blocks (futex waits) while workers finish, which browsers
 * allow only off the main thread, so there the threaded module is used inside a cross-origin
 * isolated Web Worker only (`threadsSupported`). In Node, worker_threads are unref'd: they never
 * keep a process alive.
 */

/** The module's initial memory, mirrored from THREADED_INITIAL_BYTES in crates/rnnkit-wasm/build.sh. */
const INITIAL_PAGES = 64;
/** 4 GiB, the module's declared maximum (build.sh `--max-memory`). */
const MAX_PAGES = 65536;
/** Each worker's stack, the size of the first thread's (Rust's wasm32 default). */
const STACK_BYTES = 1 << 20;
/** The default team never exceeds this many threads, however many cores a machine reports. */
const MAX_DEFAULT_THREADS = 16;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * What runs in a worker: instantiate on the shared memory, switch to its own stack and TLS block,
 * serve the pool. Plain JS in a string (not a stringified TS function, which a transpiler may
 * decorate with helpers the worker does not have). If it traps, it tells the pool first, so a
 * caller waiting for it fails instead of hanging.
 */
const BOOT = `
function boot(d) {
  const ex = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports;
  ex.__stack_pointer.value = d.stackTop;
  ex.__wasm_init_tls(d.tlsBase);
  try {
    ex.rnnkit_thread_main();
  } catch (e) {
    ex.rnnkit_thread_trapped();
    throw e;
  }
}
`;

/** The exports the threads need (wasm32 pointers are i32: read them `>>> 0`). */
export interface ThreadExports {
  __wasm_init_tls(tlsBase: number): void;
  __tls_size: WebAssembly.Global;
  __tls_align: WebAssembly.Global;
  rnnkit_thread_alloc(lenBytes: number, align: number): number;
  rnnkit_threads(): number;
}

/** What a worker receives. */
interface BootData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  stackTop: number;
  tlsBase: number;
}

/** One worker, whichever API started it. */
interface ThreadHandle {
  terminate(): void;
}

type WorkerThreads = typeof import('node:worker_threads');
type Os = typeof import('node:os');

function nodeBuiltin<T>(id: string): T | undefined {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  return typeof get === 'function' ? (get(id) as T) : undefined;
}

/**
 * Whether the threaded module can run here: shared memory, and a calling thread that may block —
 * Node (≥ 20.16, for synchronous access to worker_threads), or a cross-origin isolated Web Worker.
 */
export function threadsSupported(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  if (isNode) return nodeBuiltin<WorkerThreads>('node:worker_threads') !== undefined;
  const g = globalThis as { crossOriginIsolated?: boolean; WorkerGlobalScope?: unknown; Worker?: unknown };
  return g.crossOriginIsolated === true && g.WorkerGlobalScope !== undefined && typeof g.Worker === 'function';
}

/** Threads a team uses by default: the machine's cores (Node) or `hardwareConcurrency`, at most 16. */
export function defaultThreads(): number {
  const cores = isNode
    ? (nodeBuiltin<Os>('node:os')?.availableParallelism() ?? 1)
    : ((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(cores, MAX_DEFAULT_THREADS));
}

/** A fresh shared memory of the size the threaded module declares. */
export function threadedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

function startNodeWorker(data: BootData): ThreadHandle {
  const { Worker } = nodeBuiltin<WorkerThreads>('node:worker_threads')!;
  const worker = new Worker(`${BOOT}\nboot(require('node:worker_threads').workerData);`, { eval: true, workerData: data });
  worker.on('error', () => {}); // a trap: the pool already knows (rnnkit_thread_trapped)
  worker.unref();
  return { terminate: () => void worker.terminate() };
}

function startWebWorker(data: BootData): ThreadHandle {
  const url = URL.createObjectURL(new Blob([`${BOOT}\nonmessage = (e) => boot(e.data);`], { type: 'text/javascript' }));
  try {
    const worker = new Worker(url);
    worker.onerror = (e) => e.preventDefault();
    worker.postMessage(data);
    return { terminate: () => worker.terminate() };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The worker threads serving one instance. */
export class ThreadTeam {
  private readonly threads: ThreadHandle[] = [];

  /**
   * Gives the calling thread's instance `ex` its TLS block, then starts `workers` threads on
   * `memory` with stacks and TLS blocks allocated through `ex`. A worker that cannot be started is
   * skipped: the pool then runs with fewer threads, never with wrong results.
   */
  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    private readonly ex: ThreadExports,
    readonly workers: number,
  ) {
    const tlsSize = Number(ex.__tls_size.value);
    const tlsAlign = Math.max(1, Number(ex.__tls_align.value));
    const start = isNode ? startNodeWorker : startWebWorker;
    // wasm-ld leaves the first instance's __tls_base at 0, where Rust would take the address of its
    // first thread-local for a null reference: it gets a block of its own like every worker.
    const ownTls = ex.rnnkit_thread_alloc(tlsSize, tlsAlign) >>> 0;
    if (ownTls === 0) throw new RangeError('rnnkit: out of wasm memory for the thread-local block');
    ex.__wasm_init_tls(ownTls);
    for (let i = 0; i < workers; i++) {
      const stack = ex.rnnkit_thread_alloc(STACK_BYTES, 16) >>> 0;
      const tlsBase = ex.rnnkit_thread_alloc(tlsSize, tlsAlign) >>> 0;
      if (stack === 0 || tlsBase === 0) break; // out of memory: fewer workers
      try {
        this.threads.push(start({ module, memory, stackTop: stack + STACK_BYTES, tlsBase }));
      } catch {
        break; // e.g. a CSP that forbids blob: workers
      }
    }
  }

  /** Threads serving the pool right now, the calling thread included. */
  joined(): number {
    return this.ex.rnnkit_threads() >>> 0;
  }

  /** Resolves once every started worker has joined the pool (or after `timeoutMs`: then with fewer). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.joined() < 1 + this.threads.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  terminate(): void {
    for (const t of this.threads.splice(0)) t.terminate();
  }
}
