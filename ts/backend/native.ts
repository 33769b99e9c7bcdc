/**
 * The native backend: loads the N-API addon (`build/rnnkit.node`, built by `npm run build:native`
 * from crates/rnnkit-node) and adapts its raw exports to the `Backend` / `ModelHandle` contract of
 * ./types.ts: optional arguments become positional ones, `batch` objects are spread, and every
 * error the addon throws is rebuilt with `rnnkitError` so both backends throw identical errors.
 *
 * Path: `RNNKIT_NATIVE_PATH` overrides; otherwise `../../build/rnnkit.node` relative to this file,
 * which is the package root's build/ from both ts/backend/ and dist/backend/.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { ERROR_CODES, rnnkitError, type RnnkitErrorCode } from '../errors.js';
import { object } from '../validate.js';
import { batchOf, parseTraceMeta, settle, StateLayout } from './common.js';
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
  LayerInfo,
  ModelHandle,
  ParamInfo,
  StateInfo,
  Targets,
  TraceResult,
} from './types.js';

/**
 * One native model: the class `Model` the addon exports (crates/rnnkit-node/src/exports.rs). The
 * methods it shares with `ModelHandle` take the same arguments; the others take positional ones.
 */
export interface NativeModel
  extends Pick<
    ModelHandle,
    'dispose' | 'disposed' | 'specJson' | 'paramInfo' | 'getParams' | 'setParams' | 'compile' | 'step' | 'resetState'
  > {
  /**
   * `[output, states, ...outputDims]`: flat, because building the object in JS is cheaper
   * (exports.rs); `states` (in and out) is every state of `stateInfoJson(batch)` concatenated.
   */
  forward(
    x: Inputs,
    xDims: readonly number[],
    states: Float32Array | undefined,
    lengths: Int32Array | undefined,
    training: boolean,
    finalStates: boolean,
  ): [Float32Array, Float32Array, ...number[]];
  backward(dOutput: Float32Array, dStates: Float32Array | undefined): { dx: Float32Array; dStates: Float32Array; grads: Float32Array };
  layersJson(): string;
  stateInfoJson(batch: number): string;
  trainStep(x: Inputs, xDims: readonly number[], y: Targets, mask?: Float32Array, lengths?: Int32Array): number;
  evaluate(x: Inputs, xDims: readonly number[], y: Targets, mask?: Float32Array, lengths?: Int32Array): number;
  evaluateDataset(
    dataset: NativeDataset, batchSize: number, firstBatch?: number, maxBatches?: number, carryTotal?: number, carryWeight?: number,
  ): EvalResult;
  trainEpoch(
    dataset: NativeDataset,
    batchSize: number,
    shuffle: boolean,
    seed: number,
    tbptt: number,
    firstBatch?: number,
    maxBatches?: number,
    carryUpdates?: number,
    carryLossSum?: number,
    carryGradNormSum?: number,
  ): Promise<EpochResult>;
  /** `meta` is the core's `Trace::meta_json`. */
  trace(x: Inputs, xDims: readonly number[]): { meta: string; values: Float32Array };
}

/** A dataset object from `datasetNew` (opaque: the data lives in Rust). */
export type NativeDataset = object;

/** The addon's raw exports. The `__` ones are test hooks, not part of the Backend contract. */
export interface NativeAddon {
  datasetNew(x: Inputs, xDims: readonly number[], y: Targets, mask?: Float32Array, lengths?: Int32Array): NativeDataset;
  datasetDispose(dataset: NativeDataset): void;
  datasetDisposed(dataset: NativeDataset): boolean;
  /** Selected kernel tier; throws ERR_RNNKIT_UNSUPPORTED when RNNKIT_ISA forces an unavailable one. */
  isa(): string;
  /** Threads a `threads: 0` model uses (the cores this process may use). */
  threads(): number;
  liveHandles(): number;
  Model: new (specJson: string) => NativeModel;
  /** Bytes of every dataset built in this process (tests: a fit copies its data once). */
  __datasetBytesBuilt(): number;
  /** Panics inside Rust: must surface as ERR_RNNKIT_INTERNAL. */
  __panicForTests(): never;
  /** Sleeps `ms` on a libuv worker thread (then panics if asked) and resolves to `ms`. */
  __asyncForTests(ms: number, panic?: boolean): Promise<number>;
}

/** Where the addon is loaded from. */
export function nativeAddonPath(): string {
  const override = process.env.RNNKIT_NATIVE_PATH?.trim();
  return override ? override : fileURLToPath(new URL('../../build/rnnkit.node', import.meta.url));
}

/**
 * Rebuilds an error thrown by the addon with `rnnkitError` (same class, code and arg as the wasm
 * backend's). Errors without an rnnkit code (e.g. thrown by a user's getter) pass through untouched.
 */
function rebuild(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !(code in ERROR_CODES)) return e;
  const arg = (e as { arg?: unknown }).arg;
  return rnnkitError(code as RnnkitErrorCode, e.message, typeof arg === 'string' ? arg : undefined);
}

function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw rebuild(e);
  }
}

class NativeModelHandle implements ModelHandle {
  readonly #states: StateLayout;
  readonly #batchFirst: boolean;
  /** The batch of the last training forward (sizes `backward`'s state gradients). */
  #lastBatch = 0;

  constructor(private readonly raw: NativeModel) {
    this.#states = new StateLayout((batch) => call(() => this.raw.stateInfoJson(batch)));
    this.#batchFirst = (JSON.parse(call(() => raw.specJson())) as { batch_first: boolean }).batch_first;
  }

  dispose(): void {
    call(() => this.raw.dispose());
  }

  get disposed(): boolean {
    return call(() => this.raw.disposed);
  }

  specJson(): string {
    return call(() => this.raw.specJson());
  }

  paramInfo(): ParamInfo[] {
    return call(() => this.raw.paramInfo());
  }

  getParams(): Float32Array {
    return call(() => this.raw.getParams());
  }

  setParams(flat: Float32Array): void {
    call(() => this.raw.setParams(flat));
  }

  layers(): LayerInfo[] {
    return JSON.parse(call(() => this.raw.layersJson())) as LayerInfo[];
  }

  stateInfo(batch: number): StateInfo[] {
    return JSON.parse(call(() => this.raw.stateInfoJson(batch))) as StateInfo[];
  }

  forward(x: Inputs, xDims: [number, number, number], opts: ForwardOptions = {}): ForwardResult {
    object('opts', opts);
    const batch = Array.isArray(xDims) ? batchOf(this.#batchFirst, xDims) : 0;
    const states = this.#states.join(batch, opts.states, 'states');
    const finalStates = opts.finalStates ?? true;
    const r = call(() => this.raw.forward(x, xDims, states, opts.lengths, opts.training ?? false, finalStates));
    if (opts.training) this.#lastBatch = batch;
    return { output: r[0], outputDims: r.slice(2) as number[], states: finalStates ? this.#states.split(batch, r[1]) : [] };
  }

  backward(dOutput: Float32Array, dStates?: readonly (Float32Array | undefined)[]): BackwardResult {
    const batch = this.#lastBatch;
    const flat = this.#states.join(batch, dStates, 'dStates');
    const r = call(() => this.raw.backward(dOutput, flat));
    return { dx: r.dx, dStates: this.#states.split(batch, r.dStates), grads: r.grads };
  }

  compile(trainJson: string): void {
    call(() => this.raw.compile(trainJson));
  }

  trainStep(batch: BatchData): number {
    object('batch', batch);
    return call(() => this.raw.trainStep(batch.x, batch.xDims, batch.y, batch.mask, batch.lengths));
  }

  evaluate(batch: BatchData): number {
    object('batch', batch);
    return call(() => this.raw.evaluate(batch.x, batch.xDims, batch.y, batch.mask, batch.lengths));
  }

  evaluateDataset(data: DatasetHandle, batchSize: number, range: EvalRange = {}): EvalResult {
    object('range', range);
    return call(() =>
      this.raw.evaluateDataset(rawDataset(data), batchSize, range.firstBatch, range.maxBatches, range.carry?.total, range.carry?.weight),
    );
  }

  /** Argument errors reject (like any async function) instead of throwing synchronously. */
  trainEpoch(data: DatasetHandle, opts: EpochOptions): Promise<EpochResult> {
    return settle(() => {
      object('opts', opts);
      const dataset = rawDataset(data);
      const carry = opts.carry;
      if (carry !== undefined) object('carry', carry);
      return this.raw.trainEpoch(
        dataset, opts.batchSize, opts.shuffle, opts.seed, opts.tbptt,
        opts.firstBatch, opts.maxBatches, carry?.updates, carry?.lossSum, carry?.gradNormSum,
      );
    }, rebuild);
  }

  step(xT: Inputs, batch: number): Float32Array {
    return call(() => this.raw.step(xT, batch));
  }

  resetState(): void {
    call(() => this.raw.resetState());
  }

  trace(x: Inputs, xDims: [number, number, number]): TraceResult {
    const { meta, values } = call(() => this.raw.trace(x, xDims));
    return { ...parseTraceMeta(meta), values };
  }
}

/** A training set in Rust memory, shared (never copied) with the fits that read it. */
class NativeDatasetHandle implements DatasetHandle {
  constructor(
    readonly raw: NativeDataset,
    private readonly addon: NativeAddon,
    readonly byteLength: number,
  ) {}

  get disposed(): boolean {
    return this.addon.datasetDisposed(this.raw);
  }

  dispose(): void {
    call(() => this.addon.datasetDispose(this.raw));
  }
}

function rawDataset(data: DatasetHandle): NativeDataset {
  if (!(data instanceof NativeDatasetHandle)) {
    throw rnnkitError('ERR_RNNKIT_TYPE', `dataset: expected a dataset made by the native backend, got ${describeValue(data)}`, 'dataset');
  }
  return data.raw;
}

function describeValue(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

let addon: NativeAddon | undefined;

/** The raw addon (loaded once). Most code wants `loadNativeBackend()`; tests use the hooks. */
export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const path = nativeAddonPath();
  const fromEnv = Boolean(process.env.RNNKIT_NATIVE_PATH?.trim());
  if (!existsSync(path)) {
    throw rnnkitError(
      'ERR_RNNKIT_UNSUPPORTED',
      `the native addon is missing: no file at ${path}` +
        (fromEnv ? ' (from RNNKIT_NATIVE_PATH)' : '; run `npm run build:native` to build it'),
    );
  }
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (e) {
    throw rnnkitError(
      'ERR_RNNKIT_UNSUPPORTED',
      `the native addon at ${path} failed to load: ${e instanceof Error ? e.message : String(e)}`,
      undefined,
      e,
    );
  }
  const raw = loaded as Partial<NativeAddon>;
  if (typeof raw.isa !== 'function' || typeof raw.liveHandles !== 'function' || typeof raw.Model !== 'function') {
    throw rnnkitError('ERR_RNNKIT_UNSUPPORTED', `${path} is not an rnnkit native addon (isa/liveHandles/Model missing)`);
  }
  addon = raw as NativeAddon;
  return addon;
}

let backend: Backend | undefined;

/**
 * The native `Backend`. Throws ERR_RNNKIT_UNSUPPORTED when the addon is missing or does not load,
 * and the kernel-selection error when `RNNKIT_ISA` forces a tier this CPU lacks.
 */
export function loadNativeBackend(): Backend {
  if (backend) return backend;
  const raw = loadNativeAddon();
  const isa = call(() => raw.isa());
  backend = {
    name: 'native',
    isa,
    threads: () => raw.threads(),
    liveHandles: () => raw.liveHandles(),
    createModel: (specJson: string) => new NativeModelHandle(call(() => new raw.Model(specJson))),
    createDataset: (data: BatchData) => {
      object('data', data);
      const bytes = data.x.byteLength + data.y.byteLength + (data.mask?.byteLength ?? 0) + (data.lengths?.byteLength ?? 0);
      return new NativeDatasetHandle(call(() => raw.datasetNew(data.x, data.xDims, data.y, data.mask, data.lengths)), raw, bytes);
    },
  };
  return backend;
}
