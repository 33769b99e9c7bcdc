/**
 * One instantiation of the wasm module (its exports, memory and worker threads) and the
 * scope of one call into it (allocations freed together, status → RnnkitError, traps → a fresh
 * instance next time). Part of the wasm backend, ../wasm.ts.
 */

import { errorFromStatus, rnnkitError, valueError } from '../../errors.js';
import { U32_MAX } from '../../validate.js';
import { threadedMemory, ThreadTeam, type ThreadExports } from '../wasm-threads.js';

/** The raw exports (wasm32: pointers and lengths are i32; read them `>>> 0`). */
export interface Exports extends Partial<ThreadExports> {
  memory: WebAssembly.Memory;
  rnnkit_alloc(lenBytes: number, align: number): number;
  rnnkit_free(ptr: number): number;
  rnnkit_live_blocks(): number;
  rnnkit_last_error_ptr(): number;
  rnnkit_last_error_len(): number;
  rnnkit_last_error_arg_ptr(): number;
  rnnkit_last_error_arg_len(): number;
  rnnkit_isa(): number;
  rnnkit_live_handles(): number;
  rnnkit_threads(): number;
  rnnkit_test_panic(inPart: number): number;
  rnnkit_model_create(spec: number, specLen: number, outHandle: number): number;
  rnnkit_model_free(h: number): number;
  rnnkit_result_ptr(h: number, slot: number): number;
  rnnkit_result_len(h: number, slot: number): number;
  rnnkit_result_clear(h: number): number;
  rnnkit_model_spec_json(h: number): number;
  rnnkit_model_param_info(h: number): number;
  rnnkit_model_params(h: number): number;
  rnnkit_model_set_params(h: number, flat: number, flatLen: number): number;
  rnnkit_model_forward(
    h: number, x: number, xLen: number, d0: number, d1: number, d2: number,
    states: number, statesLen: number, lengths: number, lengthsLen: number, training: number, xTokens: number, skipStates: number,
  ): number;
  rnnkit_model_backward(h: number, dOut: number, dOutLen: number, dStates: number, dStatesLen: number): number;
  rnnkit_model_layers_json(h: number): number;
  rnnkit_model_state_info_json(h: number, batch: number): number;
  rnnkit_model_step(h: number, xT: number, xTLen: number, batch: number, xTokens: number): number;
  rnnkit_model_reset_state(h: number): number;
  rnnkit_model_compile(h: number, train: number, trainLen: number): number;
  /** `batch`: a `RawBatch` descriptor (see `batchPtr`). */
  rnnkit_model_train_step(h: number, batch: number): number;
  rnnkit_model_evaluate(h: number, batch: number): number;
  rnnkit_model_evaluate_dataset(
    h: number, dataset: number, batchSize: number, firstBatch: number, maxBatches: number, carryTotal: number, carryWeight: number,
  ): number;
  /** `batch`: a `RawBatch` descriptor; the handle is written to `out`. */
  rnnkit_dataset_create(batch: number, out: number): number;
  rnnkit_dataset_free(dataset: number): number;
  rnnkit_model_train_epoch(
    h: number, dataset: number, batchSize: number, shuffle: number, seed: number, tbptt: number,
    firstBatch: number, maxBatches: number, carryUpdates: number, carryLossSum: number, carryGradNormSum: number,
  ): number;
  rnnkit_model_trace(h: number, x: number, xLen: number, d0: number, d1: number, d2: number, xTokens: number): number;
}

/** Result slots, mirrored from crates/rnnkit-wasm/src/handles.rs `slot`. */
export const SLOT = {
  OUTPUT: 0, STATES: 1, DX: 3, D_STATES: 4, GRADS: 6, STEP: 7, LOSS: 8,
  OUTPUT_DIMS: 16, TEXT: 17, PARAMS: 18,
} as const;

/** `Isa::ALL` order in crates/rnnkit-core/src/kernels/isa.rs. */
export const ISA_NAMES = ['scalar', 'simd128', 'avx2', 'avx512'];

export const REQUIRED_EXPORTS: readonly (keyof Exports)[] = [
  'memory', 'rnnkit_alloc', 'rnnkit_free', 'rnnkit_live_blocks', 'rnnkit_last_error_ptr', 'rnnkit_last_error_len',
  'rnnkit_last_error_arg_ptr', 'rnnkit_last_error_arg_len', 'rnnkit_isa', 'rnnkit_live_handles', 'rnnkit_threads', 'rnnkit_test_panic',
  'rnnkit_model_create', 'rnnkit_model_free', 'rnnkit_result_ptr', 'rnnkit_result_len', 'rnnkit_result_clear',
  'rnnkit_model_spec_json', 'rnnkit_model_param_info', 'rnnkit_model_params', 'rnnkit_model_set_params',
  'rnnkit_model_forward', 'rnnkit_model_backward', 'rnnkit_model_step', 'rnnkit_model_reset_state',
  'rnnkit_model_compile', 'rnnkit_model_train_step', 'rnnkit_model_evaluate', 'rnnkit_model_train_epoch',
  'rnnkit_model_trace', 'rnnkit_model_layers_json', 'rnnkit_model_state_info_json', 'rnnkit_model_evaluate_dataset', 'rnnkit_dataset_create', 'rnnkit_dataset_free',
];

export const utf8Encoder = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * One instantiation of the module, with its worker threads if threaded. `id` tells models which
 * instance holds them.
 */
export class Runtime {
  readonly ex: Exports;
  /** `imported`: the threaded module's memory (it imports it and, linked by Debian's wasm-ld 14, cannot re-export it). */
  constructor(
    { instance, memory: imported }: Instantiated,
    readonly id: number,
    source: string,
    readonly team?: ThreadTeam,
  ) {
    const ex: Partial<Record<keyof Exports, unknown>> = imported ? { memory: imported, ...instance.exports } : instance.exports;
    const missing = REQUIRED_EXPORTS.filter((name) => ex[name] === undefined);
    if (missing.length > 0) {
      throw rnnkitError(
        'ERR_RNNKIT_UNSUPPORTED',
        `${source} is not this version of rnnkit's wasm module (missing ${missing.join(', ')}); run \`npm run build:wasm\``,
      );
    }
    this.ex = ex as unknown as Exports;
  }

  /** A copy: browsers refuse to decode views of the threaded module's shared memory. */
  private bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer, ptr >>> 0, len >>> 0).slice();
  }

  /** The last-error message and argument the module recorded (also valid after a trap). */
  lastError(): { message: string; arg: string } {
    const ex = this.ex;
    return {
      message: utf8Decoder.decode(this.bytes(ex.rnnkit_last_error_ptr(), ex.rnnkit_last_error_len())),
      arg: utf8Decoder.decode(this.bytes(ex.rnnkit_last_error_arg_ptr(), ex.rnnkit_last_error_arg_len())),
    };
  }

  /** Throws the RnnkitError for a non-zero status. */
  check(status: number): void {
    if (status === 0) return;
    const { message, arg } = this.lastError();
    throw errorFromStatus(status, message, arg === '' ? undefined : arg);
  }
}

/** Allocations of one call, freed together in `finally` (unless the instance trapped). */
export class CallScope {
  readonly blocks: number[] = [];
  constructor(readonly rt: Runtime) {}

  /** A block of `bytes` for argument `arg`; failure to allocate names that argument. */
  alloc(bytes: number, align: number, arg: string): number {
    if (bytes > U32_MAX) throw valueError(arg, `${bytes} bytes do not fit in wasm32 memory`);
    const ptr = this.rt.ex.rnnkit_alloc(bytes, align) >>> 0;
    if (ptr === 0) throw valueError(arg, `cannot allocate ${bytes} bytes of wasm memory`);
    this.blocks.push(ptr);
    return ptr;
  }

  /** Copies a typed array in; views are made after the alloc, which may have grown memory. */
  array(arg: string, a: Float32Array | Int32Array): number {
    const ptr = this.alloc(a.byteLength, 4, arg);
    const View = a instanceof Float32Array ? Float32Array : Int32Array;
    new View(this.rt.ex.memory.buffer, ptr, a.length).set(a);
    return ptr;
  }

  /** Stops tracking blocks the module has taken over (they must not be freed here). */
  forget(ptrs: readonly number[]): void {
    for (const p of ptrs) {
      const i = this.blocks.indexOf(p);
      if (i >= 0) this.blocks.splice(i, 1);
    }
  }

  /** `array`, or 0 (the null pointer: "absent") for undefined. */
  optArray(arg: string, a: Float32Array | Int32Array | undefined): number {
    return a === undefined ? 0 : this.array(arg, a);
  }

  text(arg: string, s: string): [number, number] {
    const bytes = utf8Encoder.encode(s);
    const ptr = this.alloc(bytes.length, 1, arg);
    new Uint8Array(this.rt.ex.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  private slot(h: number, slot: number): [number, number] {
    return [this.rt.ex.rnnkit_result_ptr(h, slot) >>> 0, this.rt.ex.rnnkit_result_len(h, slot) >>> 0];
  }

  /** A copy of an f32 result slot (never a view over wasm memory). */
  f32(h: number, slot: number): Float32Array {
    const [ptr, len] = this.slot(h, slot);
    return len === 0 ? new Float32Array(0) : new Float32Array(this.rt.ex.memory.buffer, ptr, len).slice();
  }

  u32(h: number, slot: number): number[] {
    const [ptr, len] = this.slot(h, slot);
    return len === 0 ? [] : Array.from(new Uint32Array(this.rt.ex.memory.buffer, ptr, len));
  }

  textResult(h: number): string {
    const [ptr, len] = this.slot(h, SLOT.TEXT);
    return utf8Decoder.decode(new Uint8Array(this.rt.ex.memory.buffer, ptr, len).slice()); // not a shared view
  }
}

/** An instance, and the shared memory it runs on if threaded. */
export interface Instantiated {
  instance: WebAssembly.Instance;
  memory?: WebAssembly.Memory;
}

/** What an instance imports: a fresh shared memory for the threaded module, nothing otherwise. */
export function importsFor(threads: number): { imports: WebAssembly.Imports; memory?: WebAssembly.Memory } {
  if (threads <= 1) return { imports: {} };
  const memory = threadedMemory();
  return { imports: { env: { memory } }, memory };
}

/** The module did not compile, or (`instantiating`) its instance or memory could not be created. */
export function compileError(where: string, cause: unknown, instantiating = false): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const what = instantiating ? 'could not be instantiated' : 'is not a loadable wasm module';
  return rnnkitError('ERR_RNNKIT_UNSUPPORTED', `${where} ${what}: ${reason}`, undefined, cause);
}
