/**
 * A wasm model handle: each ModelHandle method as a call into the module's C-ABI exports
 * (crates/rnnkit-wasm/src/lib.rs), inputs copied in and results copied out.
 */

import { rnnkitError } from '../../errors.js';
import {
  dims3, f32Array, finite, inputs, integer, object, optBool, optF32Array, optI32Array, string, U32_MAX,
} from '../../validate.js';
import { batchOf, parseTraceMeta, settle, StateLayout } from '../common.js';
import type {
  BackwardResult, BatchData, DatasetHandle, EpochOptions, EpochResult, EvalRange, EvalResult, ForwardOptions, ForwardResult, Inputs, LayerInfo, ModelHandle, ParamInfo, StateInfo, TraceResult,
} from '../types.js';
import { CallScope, SLOT, type Exports } from './runtime.js';
import { batchPtr, checkBatch } from './batch.js';
import type { WasmBackend } from './backend.js';

export class WasmModel implements ModelHandle {
  #disposed = false;
  readonly #states = new StateLayout((batch) =>
    this.run('stateInfo', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_state_info_json(h, batch));
      return s.textResult(h);
    }),
  );
  #batchFirst: boolean | undefined;
  /** The batch of the last training forward (sizes `backward`'s state gradients). */
  #lastBatch = 0;

  constructor(
    private readonly backend: WasmBackend,
    private readonly runtimeId: number,
    private readonly handle: number,
  ) {}

  #batch(xDims: readonly number[]): number {
    this.#batchFirst ??= (JSON.parse(this.specJson()) as { batch_first: boolean }).batch_first;
    return batchOf(this.#batchFirst, xDims);
  }

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

  layers(): LayerInfo[] {
    return this.run('layers', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_layers_json(h));
      return JSON.parse(s.textResult(h)) as LayerInfo[];
    });
  }

  stateInfo(batch: number): StateInfo[] {
    const b = integer('batch', batch, 1, U32_MAX);
    return this.run('stateInfo', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_state_info_json(h, b));
      return JSON.parse(s.textResult(h)) as StateInfo[];
    });
  }

  forward(x: Inputs, xDims: [number, number, number], opts: ForwardOptions = {}): ForwardResult {
    object('opts', opts);
    const training = optBool('training', opts.training ?? undefined, false);
    const dims = dims3('xDims', xDims);
    const xs = inputs('x', x);
    const batch = this.#batch(dims);
    const states = this.#states.join(batch, opts.states, 'states');
    const lengths = optI32Array('lengths', opts.lengths);
    const r = this.run('forward', (s, ex, h) => {
      s.rt.check(
        ex.rnnkit_model_forward(
          h, s.array('x', xs), xs.length, dims[0], dims[1], dims[2],
          s.optArray('states', states), states?.length ?? 0,
          s.optArray('lengths', lengths), lengths?.length ?? 0,
          training ? 1 : 0, xs instanceof Int32Array ? 1 : 0, opts.finalStates === false ? 1 : 0,
        ),
      );
      return { output: s.f32(h, SLOT.OUTPUT), outputDims: s.u32(h, SLOT.OUTPUT_DIMS), states: s.f32(h, SLOT.STATES) };
    });
    if (training) this.#lastBatch = batch;
    // Split after the call: the layout may need a call of its own.
    return { output: r.output, outputDims: r.outputDims, states: opts.finalStates === false ? [] : this.#states.split(batch, r.states) };
  }

  backward(dOutput: Float32Array, dStates?: readonly (Float32Array | undefined)[]): BackwardResult {
    const dOut = f32Array('dOutput', dOutput);
    const batch = this.#lastBatch;
    const ds = this.#states.join(batch, dStates, 'dStates');
    const r = this.run('backward', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_backward(h, s.array('dOutput', dOut), dOut.length, s.optArray('dStates', ds), ds?.length ?? 0));
      return { dx: s.f32(h, SLOT.DX), dStates: s.f32(h, SLOT.D_STATES), grads: s.f32(h, SLOT.GRADS) };
    });
    return { dx: r.dx, dStates: this.#states.split(batch, r.dStates), grads: r.grads };
  }

  compile(trainJson: string): void {
    const train = string('train', trainJson);
    this.run('compile', (s, ex, h) => {
      const [ptr, len] = s.text('train', train);
      s.rt.check(ex.rnnkit_model_compile(h, ptr, len));
    });
  }

  trainStep(batch: BatchData): number {
    const b = checkBatch('batch', batch);
    return this.run('trainStep', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_train_step(h, batchPtr(s, b)));
      return s.f32(h, SLOT.LOSS)[0];
    });
  }

  evaluate(batch: BatchData): number {
    const b = checkBatch('batch', batch);
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

  step(xT: Inputs, batch: number): Float32Array {
    const xs = inputs('xT', xT);
    const n = integer('batch', batch, 1, U32_MAX);
    return this.run('step', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_step(h, s.array('xT', xs), xs.length, n, xs instanceof Int32Array ? 1 : 0));
      return s.f32(h, SLOT.STEP);
    });
  }

  resetState(): void {
    this.run('resetState', (s, ex, h) => s.rt.check(ex.rnnkit_model_reset_state(h)));
  }

  trace(x: Inputs, xDims: [number, number, number]): TraceResult {
    const dims = dims3('xDims', xDims);
    const xs = inputs('x', x);
    return this.run('trace', (s, ex, h) => {
      s.rt.check(ex.rnnkit_model_trace(h, s.array('x', xs), xs.length, dims[0], dims[1], dims[2], xs instanceof Int32Array ? 1 : 0));
      return { ...parseTraceMeta(s.textResult(h)), values: s.f32(h, SLOT.OUTPUT) };
    });
  }
}
