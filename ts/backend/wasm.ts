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
 */

import { describe, errorFromStatus, isRnnkitError, rnnkitError, typeError, valueError } from '../errors.js';
import {
  dims3, f32Array, finite, inputs, integer, object, optBool, optF32Array, optI32Array, string, targets, U32_MAX,
} from '../validate.js';
import { parseTraceMeta, settle } from './common.js';
import type {
  Backend,
  BackwardResult,
  BatchData,
  DatasetHandle,
  EpochOptions,
  EpochResult,
  EvalRange,
  EvalResult,
  ForwardOptions,
  ForwardResult,
  Inputs,
  ModelHandle,
  ParamInfo,
  Targets,
  TraceResult,
} from './types.js';
import { simdSupported } from './wasm-features.js';
import { defaultThreads, threadedMemory, ThreadTeam, threadsSupported, type ThreadExports } from './wasm-threads.js';

/** The raw exports (wasm32: pointers and lengths are i32; read them `>>> 0`). */
interface Exports extends Partial<ThreadExports> {
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
    h0: number, h0Len: number, c0: number, c0Len: number, lengths: number, lengthsLen: number, training: number, xTokens: number,
  ): number;
  rnnkit_model_backward(h: number, dOut: number, dOutLen: number, dh: number, dhLen: number, dc: number, dcLen: number): number;
  rnnkit_model_step(h: number, xT: number, xTLen: number, batch: number): number;
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
  rnnkit_model_trace(h: number, x: number, xLen: number, d0: number, d1: number, d2: number): number;
}

/** Result slots, mirrored from crates/rnnkit-wasm/src/handles.rs `slot`. */
const SLOT = {
  OUTPUT: 0, H: 1, C: 2, DX: 3, DH0: 4, DC0: 5, GRADS: 6, STEP: 7, LOSS: 8,
  OUTPUT_DIMS: 16, TEXT: 17, PARAMS: 18,
} as const;

/** `Isa::ALL` order in crates/rnnkit-core/src/kernels/isa.rs. */
const ISA_NAMES = ['scalar', 'simd128', 'avx2', 'avx512'];

const REQUIRED_EXPORTS: readonly (keyof Exports)[] = [
  'memory', 'rnnkit_alloc', 'rnnkit_free', 'rnnkit_live_blocks', 'rnnkit_last_error_ptr', 'rnnkit_last_error_len',
  'rnnkit_last_error_arg_ptr', 'rnnkit_last_error_arg_len', 'rnnkit_isa', 'rnnkit_live_handles', 'rnnkit_threads', 'rnnkit_test_panic',
  'rnnkit_model_create', 'rnnkit_model_free', 'rnnkit_result_ptr', 'rnnkit_result_len', 'rnnkit_result_clear',
  'rnnkit_model_spec_json', 'rnnkit_model_param_info', 'rnnkit_model_params', 'rnnkit_model_set_params',
  'rnnkit_model_forward', 'rnnkit_model_backward', 'rnnkit_model_step', 'rnnkit_model_reset_state',
  'rnnkit_model_compile', 'rnnkit_model_train_step', 'rnnkit_model_evaluate', 'rnnkit_model_train_epoch',
  'rnnkit_model_trace', 'rnnkit_model_evaluate_dataset', 'rnnkit_dataset_create', 'rnnkit_dataset_free',
];

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

// ---- one instance ----------------------------------------------------------------------------------

/**
 * One instantiation of the module, with its worker threads if threaded. `id` tells models which
 * instance holds them.
 */
class Runtime {
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
class CallScope {
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

// ---- the backend -----------------------------------------------------------------------------------

interface Held {
  runtimeId: number;
  handle: number;
}

class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly isa: string;
  private rt: Runtime | undefined;
  private instances = 0;
  /** Frees models that were garbage-collected without dispose(), if their instance still lives. */
  private readonly registry = new FinalizationRegistry<Held>((held) => this.release(held));
  private readonly datasetRegistry = new FinalizationRegistry<Held>((held) => this.releaseDataset(held));

  /** `teamSize` > 1: the threaded module, whose instances each get that many threads in all. */
  constructor(
    private readonly module: WebAssembly.Module,
    first: Instantiated,
    readonly source: string,
    private readonly teamSize: number,
  ) {
    this.rt = this.runtimeOf(first);
    const isaIndex = this.rt.ex.rnnkit_isa();
    this.isa = ISA_NAMES[isaIndex] ?? `unknown(${isaIndex})`;
  }

  private runtimeOf(inst: Instantiated): Runtime {
    const { instance, memory } = inst;
    const team = memory && new ThreadTeam(this.module, memory, instance.exports as unknown as ThreadExports, this.teamSize - 1);
    return new Runtime(inst, ++this.instances, this.source, team);
  }

  /** The live instance, instantiating a fresh one after a trap (same compiled module). */
  runtime(): Runtime {
    if (!this.rt) {
      let fresh: Instantiated;
      try {
        const { imports, memory } = importsFor(this.teamSize);
        fresh = { instance: new WebAssembly.Instance(this.module, imports), memory };
      } catch (e) {
        throw compileError(this.source, e, true);
      }
      this.rt = this.runtimeOf(fresh);
    }
    return this.rt;
  }

  /** Forgets a trapped instance and stops its worker threads. */
  private drop(rt: Runtime): void {
    if (this.rt === rt) this.rt = undefined;
    rt.team?.terminate();
  }

  /** Resolves once the live instance's worker threads have joined its pool. */
  async threadsReady(): Promise<void> {
    await this.rt?.team?.ready();
  }

  /** 1 + the workers that have joined the live instance's pool. */
  threads(): number {
    return this.runtime().ex.rnnkit_threads() >>> 0;
  }

  /** The instance `id` if it is still the live one. */
  runtimeIfAlive(id: number): Runtime | undefined {
    return this.rt?.id === id ? this.rt : undefined;
  }

  liveHandles(): number {
    return this.rt ? this.rt.ex.rnnkit_live_handles() >>> 0 : 0;
  }

  /**
   * Runs `body` against `rt`. RnnkitErrors pass through. Anything else thrown from inside the module
   * (a trap: RuntimeError, or a RangeError for stack exhaustion) means its Rust state can no longer
   * be trusted: the instance is dropped and the error becomes ERR_RNNKIT_INTERNAL with the panic
   * message the hook recorded. Allocations are freed afterwards, on a healthy instance only.
   */
  call<T>(rt: Runtime, op: string, body: (scope: CallScope) => T, handle?: number): T {
    const scope = new CallScope(rt);
    let healthy = true;
    try {
      return body(scope);
    } catch (e) {
      if (isRnnkitError(e)) throw e;
      healthy = false;
      this.drop(rt);
      let recorded = '';
      try {
        recorded = rt.lastError().message;
      } catch {
        // The memory is unreadable: report the trap alone.
      }
      const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const detail = recorded === '' ? what : `${recorded} (${what})`;
      throw rnnkitError(
        'ERR_RNNKIT_INTERNAL',
        `${op}: the wasm module trapped, a bug in rnnkit: ${detail}; models of that instance are lost, new ones work`,
        undefined,
        e,
      );
    } finally {
      if (healthy) {
        if (handle !== undefined) rt.ex.rnnkit_result_clear(handle);
        for (const ptr of scope.blocks) rt.ex.rnnkit_free(ptr);
      }
    }
  }

  createModel(specJson: string): ModelHandle {
    const spec = string('spec', specJson);
    const rt = this.runtime();
    const handle = this.call(rt, 'createModel', (s) => {
      const [ptr, len] = s.text('spec', spec);
      const out = s.alloc(4, 4, 'spec');
      rt.check(rt.ex.rnnkit_model_create(ptr, len, out));
      return new Uint32Array(rt.ex.memory.buffer, out, 1)[0];
    });
    const model = new WasmModel(this, rt.id, handle);
    this.registry.register(model, { runtimeId: rt.id, handle }, model);
    return model;
  }

  createDataset(data: BatchData): DatasetHandle {
    const b = checkBatch(data, 'data');
    const rt = this.runtime();
    const handle = this.call(rt, 'createDataset', (s) => {
      const out = s.alloc(4, 4, 'data');
      const first = s.blocks.length;
      const descriptor = batchPtr(s, b);
      // The module takes over the data blocks whatever the outcome (one copy of the set in memory).
      const status = rt.ex.rnnkit_dataset_create(descriptor, out);
      s.forget(s.blocks.slice(first).filter((p) => p !== descriptor));
      rt.check(status);
      return new Uint32Array(rt.ex.memory.buffer, out, 1)[0];
    });
    const bytes = b.x.byteLength + b.y.byteLength + (b.mask?.byteLength ?? 0) + (b.lengths?.byteLength ?? 0);
    const dataset = new WasmDataset(this, rt.id, handle, bytes);
    this.datasetRegistry.register(dataset, { runtimeId: rt.id, handle }, dataset);
    return dataset;
  }

  /** A dataset's handle, checked to live in instance `runtimeId` (the model's). */
  datasetHandle(data: DatasetHandle, runtimeId: number): number {
    if (!(data instanceof WasmDataset) || data.backend !== this) {
      throw typeError('dataset', 'a dataset made by this wasm backend (dataset())', describe(data));
    }
    if (data.disposed || data.runtimeId !== runtimeId) {
      throw rnnkitError('ERR_RNNKIT_DISPOSED', 'dataset has been disposed (or its wasm instance trapped and was replaced)');
    }
    return data.handle;
  }

  disposeDataset(dataset: WasmDataset): void {
    this.datasetRegistry.unregister(dataset);
    const rt = this.runtimeIfAlive(dataset.runtimeId);
    if (rt) this.call(rt, 'dispose', () => rt.check(rt.ex.rnnkit_dataset_free(dataset.handle)));
  }

  private releaseDataset({ runtimeId, handle }: Held): void {
    const rt = this.runtimeIfAlive(runtimeId);
    if (!rt) return;
    try {
      rt.ex.rnnkit_dataset_free(handle);
    } catch {
      this.drop(rt);
    }
  }

  /** dispose(): frees now and forgets the finalizer. */
  dispose(model: WasmModel, runtimeId: number, handle: number): void {
    this.registry.unregister(model);
    const rt = this.runtimeIfAlive(runtimeId);
    if (rt) this.call(rt, 'dispose', () => rt.check(rt.ex.rnnkit_model_free(handle)));
  }

  private release({ runtimeId, handle }: Held): void {
    const rt = this.runtimeIfAlive(runtimeId);
    if (!rt) return; // its instance trapped and was dropped, and the model with it
    try {
      rt.ex.rnnkit_model_free(handle);
    } catch {
      this.drop(rt); // a trap in a finalizer: drop the instance quietly
    }
  }
}

// ---- one dataset -----------------------------------------------------------------------------------

/** A training set in the module's memory (copied in once), freed by dispose() or the GC. */
class WasmDataset implements DatasetHandle {
  #disposed = false;

  constructor(
    readonly backend: WasmBackend,
    readonly runtimeId: number,
    readonly handle: number,
    readonly byteLength: number,
  ) {}

  get disposed(): boolean {
    return this.#disposed || this.backend.runtimeIfAlive(this.runtimeId) === undefined;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.backend.disposeDataset(this);
  }
}

// ---- one model -------------------------------------------------------------------------------------

class WasmModel implements ModelHandle {
  #disposed = false;

  constructor(
    private readonly backend: WasmBackend,
    private readonly runtimeId: number,
    private readonly handle: number,
  ) {}

  get disposed(): boolean {
    return this.#disposed || this.backend.runtimeIfAlive(this.runtimeId) === undefined;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.backend.dispose(this, this.runtimeId, this.handle);
  }

  /** Runs one model call; throws ERR_RNNKIT_DISPOSED after dispose() or after its instance trapped. */
  private run<T>(op: string, body: (s: CallScope, ex: Exports, h: number) => T): T {
    if (this.#disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', `model has been disposed (${op})`);
    const rt = this.backend.runtimeIfAlive(this.runtimeId);
    if (!rt) {
      throw rnnkitError(
        'ERR_RNNKIT_DISPOSED',
        `model has been disposed: its wasm instance trapped (see the earlier ERR_RNNKIT_INTERNAL) and was replaced (${op})`,
      );
    }
    return this.backend.call(rt, op, (s) => body(s, rt.ex, this.handle), this.handle);
  }

  specJson(): string {
    return this.run('specJson', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_spec_json(h));
      return s.textResult(h);
    });
  }

  paramInfo(): ParamInfo[] {
    return this.run('paramInfo', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_param_info(h));
      return JSON.parse(s.textResult(h)) as ParamInfo[];
    });
  }

  getParams(): Float32Array {
    return this.run('getParams', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_params(h));
      return s.f32(h, SLOT.PARAMS);
    });
  }

  setParams(flat: Float32Array): void {
    const params = f32Array('params', flat);
    this.run('setParams', (s, ex, h) => s.rt.check(ex.rnnkit_model_set_params(h, s.array('params', params), params.length)));
  }

  forward(x: Inputs, xDims: [number, number, number], opts: ForwardOptions = {}): ForwardResult {
    object('opts', opts);
    const training = optBool('training', opts.training ?? undefined, false);
    const dims = dims3('xDims', xDims);
    const xs = inputs('x', x);
    const h0 = optF32Array('h0', opts.h0);
    const c0 = optF32Array('c0', opts.c0);
    const lengths = optI32Array('lengths', opts.lengths);
    return this.run('forward', (s, ex, h) => {
      s.rt.check(
        ex.rnnkit_model_forward(
          h, s.array('x', xs), xs.length, dims[0], dims[1], dims[2],
          s.optArray('h0', h0), h0?.length ?? 0,
          s.optArray('c0', c0), c0?.length ?? 0,
          s.optArray('lengths', lengths), lengths?.length ?? 0,
          training ? 1 : 0, xs instanceof Int32Array ? 1 : 0,
        ),
      );
      return { output: s.f32(h, SLOT.OUTPUT), outputDims: s.u32(h, SLOT.OUTPUT_DIMS), h: s.f32(h, SLOT.H), c: s.f32(h, SLOT.C) };
    });
  }

  backward(dOutput: Float32Array, dh?: Float32Array, dc?: Float32Array): BackwardResult {
    const dOut = f32Array('dOutput', dOutput);
    const dhs = optF32Array('dh', dh);
    const dcs = optF32Array('dc', dc);
    return this.run('backward', (s, ex, h) => {
      s.rt.check(
        ex.rnnkit_model_backward(
          h, s.array('dOutput', dOut), dOut.length,
          s.optArray('dh', dhs), dhs?.length ?? 0,
          s.optArray('dc', dcs), dcs?.length ?? 0,
        ),
      );
      return { dx: s.f32(h, SLOT.DX), dh0: s.f32(h, SLOT.DH0), dc0: s.f32(h, SLOT.DC0), grads: s.f32(h, SLOT.GRADS) };
    });
  }

  compile(trainJson: string): void {
    const train = string('train', trainJson);
    this.run('compile', (s, ex, h) => {
      const [ptr, len] = s.text('train', train);
      s.rt.check(ex.rnnkit_model_compile(h, ptr, len));
    });
  }

  trainStep(batch: BatchData): number {
    const b = checkBatch(batch, 'batch');
    return this.run('trainStep', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_train_step(h, batchPtr(s, b)));
      return s.f32(h, SLOT.LOSS)[0];
    });
  }

  evaluate(batch: BatchData): number {
    const b = checkBatch(batch, 'batch');
    return this.run('evaluate', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_evaluate(h, batchPtr(s, b)));
      return s.f32(h, SLOT.LOSS)[0];
    });
  }

  evaluateDataset(data: DatasetHandle, batchSize: number, range: EvalRange = {}): EvalResult {
    const n = integer('batchSize', batchSize, 1, U32_MAX);
    object('range', range);
    const first = range.firstBatch == null ? 0 : integer('firstBatch', range.firstBatch, 0, U32_MAX);
    const max = range.maxBatches == null ? 0 : integer('maxBatches', range.maxBatches, 1, U32_MAX);
    const total = range.carry?.total == null ? 0 : finite('carryTotal', range.carry.total);
    const weight = range.carry?.weight == null ? 0 : finite('carryWeight', range.carry.weight);
    const dataset = this.backend.datasetHandle(data, this.runtimeId);
    return this.run('evaluateDataset', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_evaluate_dataset(h, dataset, n, first, max, total, weight));
      return JSON.parse(s.textResult(h)) as EvalResult;
    });
  }

  /**
   * Runs the epoch (or the chunk of it `firstBatch`/`maxBatches` select) synchronously (no threads in
   * this build) and returns a settled Promise.
   */
  trainEpoch(data: DatasetHandle, opts: EpochOptions): Promise<EpochResult> {
    return settle(() => {
      const dataset = this.backend.datasetHandle(data, this.runtimeId);
      object('opts', opts);
      const batchSize = integer('batchSize', opts.batchSize, 1, U32_MAX);
      const shuffle = optBool('shuffle', opts.shuffle ?? undefined, false);
      const seed = integer('seed', opts.seed, 0, U32_MAX);
      const tbptt = integer('tbptt', opts.tbptt, 0, U32_MAX);
      const firstBatch = opts.firstBatch == null ? 0 : integer('firstBatch', opts.firstBatch, 0, U32_MAX);
      const maxBatches = opts.maxBatches == null ? 0 : integer('maxBatches', opts.maxBatches, 1, U32_MAX);
      const carry = opts.carry == null ? undefined : object('carry', opts.carry);
      const updates = carry?.updates == null ? 0 : integer('carryUpdates', carry.updates, 0, Number.MAX_SAFE_INTEGER);
      const lossSum = carry?.lossSum == null ? 0 : finite('carryLossSum', carry.lossSum);
      const gradNormSum = carry?.gradNormSum == null ? 0 : finite('carryGradNormSum', carry.gradNormSum);
      return this.run('trainEpoch', (s, ex, h) => {
        s.rt.check(
          ex.rnnkit_model_train_epoch(
            h, dataset, batchSize, shuffle ? 1 : 0, seed, tbptt,
            firstBatch, maxBatches, updates, lossSum, gradNormSum,
          ),
        );
        // Every field, f64-exact (LOSS holds only f32 copies of the two means).
        return JSON.parse(s.textResult(h)) as EpochResult;
      });
    });
  }

  step(xT: Float32Array, batch: number): Float32Array {
    const xs = f32Array('xT', xT);
    const n = integer('batch', batch, 1, U32_MAX);
    return this.run('step', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_step(h, s.array('xT', xs), xs.length, n));
      return s.f32(h, SLOT.STEP);
    });
  }

  resetState(): void {
    this.run('resetState', (s, ex, h) => s.rt.check(ex.rnnkit_model_reset_state(h)));
  }

  trace(x: Float32Array, xDims: [number, number, number]): TraceResult {
    const dims = dims3('xDims', xDims);
    const xs = f32Array('x', x);
    return this.run('trace', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_trace(h, s.array('x', xs), xs.length, dims[0], dims[1], dims[2]));
      return { ...parseTraceMeta(s.textResult(h)), values: s.f32(h, SLOT.OUTPUT) };
    });
  }
}

interface CheckedBatch {
  x: Inputs;
  dims: [number, number, number];
  y: Targets;
  mask: Float32Array | undefined;
  lengths: Int32Array | undefined;
}

function checkBatch(batch: BatchData, name: string): CheckedBatch {
  object(name, batch);
  const dims = dims3('xDims', batch.xDims);
  return {
    x: inputs('x', batch.x),
    dims,
    y: targets('y', batch.y),
    mask: optF32Array('mask', batch.mask),
    lengths: optI32Array('lengths', batch.lengths),
  };
}

/**
 * Copies the batch in and writes its `RawBatch` descriptor (crates/rnnkit-wasm/src/lib.rs): thirteen
 * 4-byte fields, x, xLen, d0, d1, d2, y, yLen, yClass, mask, maskLen, lengths, lengthsLen, xTokens
 * (null pointers for absent ones). Returns the descriptor's address.
 */
function batchPtr(s: CallScope, b: CheckedBatch): number {
  const fields = [
    s.array('x', b.x), b.x.length, b.dims[0], b.dims[1], b.dims[2],
    s.array('y', b.y), b.y.length, b.y instanceof Int32Array ? 1 : 0,
    s.optArray('mask', b.mask), b.mask?.length ?? 0,
    s.optArray('lengths', b.lengths), b.lengths?.length ?? 0,
    b.x instanceof Int32Array ? 1 : 0,
  ];
  const ptr = s.alloc(fields.length * 4, 4, 'batch');
  new Uint32Array(s.rt.ex.memory.buffer, ptr, fields.length).set(fields);
  return ptr;
}

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

/** An instance, and the shared memory it runs on if threaded. */
interface Instantiated {
  instance: WebAssembly.Instance;
  memory?: WebAssembly.Memory;
}

/** What an instance imports: a fresh shared memory for the threaded module, nothing otherwise. */
function importsFor(threads: number): { imports: WebAssembly.Imports; memory?: WebAssembly.Memory } {
  if (threads <= 1) return { imports: {} };
  const memory = threadedMemory();
  return { imports: { env: { memory } }, memory };
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

/** The module did not compile, or (`instantiating`) its instance or memory could not be created. */
function compileError(where: string, cause: unknown, instantiating = false): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const what = instantiating ? 'could not be instantiated' : 'is not a loadable wasm module';
  return rnnkitError('ERR_RNNKIT_UNSUPPORTED', `${where} ${what}: ${reason}`, undefined, cause);
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
