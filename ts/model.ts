/**
 * `Sequential`: a Keras-like, batch-first stack of recurrent layers (RNN/LSTM/GRU) with an optional
 * Dense head, living as ONE backend model. JS only validates arguments and moves flat buffers: each
 * training epoch runs as a few `trainEpoch` calls over consecutive chunks of mini-batches (forward,
 * loss, BPTT, update for every mini-batch in Rust; off the JS thread on the native backend), each
 * chunk sized to take ~150 ms, so progress callbacks and aborts happen within an epoch, and results
 * equal one whole-epoch call bit for bit. Also: streaming `step`, state dicts with PyTorch names,
 * and safetensors save/load (bytes anywhere; file paths in Node only).
 */

import type { Backend, BackendName, BatchData, EpochOptions, EpochResult, EvalResult, ModelHandle, ParamInfo } from './backend/types.js';
import { getBackend } from './backend/select.js';
import { describe, rnnkitError, shapeError, typeError, valueError, type RnnkitError } from './errors.js';
import { Dense, GRU, LSTM, RecurrentLayer, RNN, type BlockSpec, type HeadSpec, type Layer } from './layers.js';
import { decodeSafetensors, encodeSafetensors, RNNKIT_VERSION, type NamedTensor } from './persist.js';
import { Dataset, type SequenceInput } from './dataset.js';
import { isTensor, Tensor, type DType, type Lengths, type Tensor2D, type Tensor3D } from './tensor.js';
import { finiteOption, inputDims, integerOption, isPlainObject, knownKeys, optBool, optionsObject, plainObject, string, toLengths } from './validate.js';

export type Loss = 'mse' | 'bce_with_logits' | 'cross_entropy';
export type OptimizerType = 'sgd' | 'adam' | 'adamw' | 'rmsprop';

export interface OptimizerConfig {
  type: OptimizerType;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  alpha?: number;
}

export interface CompileOptions {
  loss: Loss;
  /** Default 'adam' (lr 1e-3). A string is the optimizer with its PyTorch defaults. */
  optimizer?: OptimizerType | OptimizerConfig;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
  /** Clip every gradient element to [-clipValue, clipValue]. */
  clipValue?: number;
}

export interface EpochLogs {
  loss: number;
  /** Mean global gradient L2 norm over the epoch's updates, before clipping. */
  gradNorm: number;
  valLoss?: number;
}

/** Progress inside an epoch, after each chunk of mini-batches (`callbacks.onBatchEnd`). */
export interface BatchLogs {
  /** The epoch (0-based, like onEpochEnd's). */
  epoch: number;
  /** Mean batch loss over the epoch's mini-batches so far. */
  loss: number;
  /** Mean global gradient L2 norm before clipping over the epoch's updates so far. */
  gradNorm: number;
  /** Mini-batches of this epoch trained so far. */
  batches: number;
  /** Mini-batches in the epoch. */
  epochBatches: number;
  /** Sequences of this epoch trained so far. */
  samples: number;
}

export interface FitCallbacks {
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  /**
   * After each chunk of mini-batches (several per epoch when an epoch takes more than ~150 ms);
   * `batch` is the 0-based index in the epoch of the chunk's last mini-batch.
   */
  onBatchEnd?(batch: number, logs: BatchLogs): void | Promise<void>;
}

export interface FitOptions extends Partial<CompileOptions> {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Default true. */
  shuffle?: boolean;
  /** Seeds shuffling and dropout (epoch k uses a seed derived from this and k). Default: the model's seed. */
  seed?: number;
  /** Scored after every epoch (`History.valLoss`): a `dataset()` or [x, y]. */
  validationData?: Dataset | readonly [SequenceInput, Tensor<DType>];
  /** Per-step loss weights [batch, seqLen]; sequence outputs only. With `fit(x, y)`; a dataset carries its own. */
  mask?: Tensor2D;
  /** Valid steps per sequence, each in 1..seqLen. With `fit(x, y)`; a dataset carries its own. */
  lengths?: Lengths;
  /** Truncated BPTT chunk length in steps; 0 or absent = whole sequences. */
  tbptt?: number;
  callbacks?: FitCallbacks;
  /**
   * Checked between chunks of mini-batches (~150 ms apart); an abort stops after the running chunk
   * and rejects fit() with an AbortError carrying `.history` of the completed epochs (the model
   * keeps every update made, and stays usable).
   */
  signal?: AbortSignal;
}

export interface History {
  loss: number[];
  /** Per epoch: mean global gradient L2 norm before clipping (vanishing/exploding gradients show here). */
  gradNorm: number[];
  valLoss?: number[];
}

/** One heatmap of `Sequential.trace`: `values` is [T, units], step-major. */
export interface TracePanel {
  /** e.g. "layer 0 hidden state h", "layer 0 gate f (forget)", "block 1 layer 0 reverse gate z (update)". */
  name: string;
  kind: 'hidden' | 'cell' | 'gate';
  units: number;
  /** What produced the values: 'sigmoid' (0..1), 'tanh' (−1..1), 'relu' (≥ 0), 'none' (a cell state, unbounded). */
  activation: 'sigmoid' | 'tanh' | 'relu' | 'none';
  block: number;
  layer: number;
  /** 0 forward, 1 reverse. */
  direction: number;
  values: Float32Array;
}

export interface SequentialOptions {
  /** Seeds weight initialisation (and the default training seed). Default 0. */
  seed?: number;
  /**
   * Threads for this model's native computations: 0 or absent = every available core; at most 256.
   * Results are bit-identical whatever the value. The wasm backend always runs one thread.
   */
  threads?: number;
}

/** The core's model spec (crates/rnnkit-core/src/spec.rs), every default filled in. */
export interface ModelSpec {
  batch_first: boolean;
  seed: number;
  blocks: BlockSpec[];
  head: HeadSpec | null;
  /** Threads (0 = all available cores). Sent to the backend, not part of `Sequential.spec`. */
  threads?: number;
}

/**
 * Wall time one `trainEpoch` chunk aims at: short enough for a live progress bar and a prompt
 * Ctrl-C, long enough that the per-call cost (argument checks, the native backend's input copy and
 * thread hop) stays a small fraction.
 */
const CHUNK_MS = 150;

/** fit()'s checked options. */
interface FitPlan {
  epochs: number;
  batchSizeOpt: number;
  shuffle: boolean;
  seed: number;
  tbptt: number;
  onEpochEnd?: FitCallbacks['onEpochEnd'];
  onBatchEnd?: FitCallbacks['onBatchEnd'];
  signal?: AbortSignal;
}

/** Samples per batch when evaluate() runs over a dataset: memory bounded by one batch, not the set. */
const EVAL_BATCH = 256;
/** Upper bound on a chunk, so one unusually fast measurement cannot make the next chunk huge. */
const MAX_CHUNK_BATCHES = 1 << 16;

/** Most threads a model may ask for (the core's `parallel::MAX_THREADS`). */
const MAX_THREADS = 256;

const LOSSES: readonly Loss[] = ['mse', 'bce_with_logits', 'cross_entropy'];
/** Optimizer options per type, camelCase → the core's snake_case (mirrors TrainSpec::from_json). */
const OPTIMIZER_KEYS: Record<OptimizerType, readonly string[]> = {
  sgd: ['lr', 'momentum', 'nesterov', 'weightDecay'],
  adam: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay'],
  adamw: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay'],
  rmsprop: ['lr', 'alpha', 'eps', 'momentum', 'weightDecay'],
};
const COMPILE_KEYS = ['loss', 'optimizer', 'clipNorm', 'clipValue'];
const FIT_KEYS = [
  ...COMPILE_KEYS,
  'epochs', 'batchSize', 'shuffle', 'seed', 'validationData', 'mask', 'lengths', 'tbptt', 'callbacks', 'signal',
];
const CELL_LABEL: Record<BlockSpec['cell'], string> = { rnn_tanh: 'RNN', rnn_relu: 'RNN', rnn_sigmoid: 'RNN', lstm: 'LSTM', gru: 'GRU' };

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}




const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;



function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * A uint32 per (seed, epoch): murmur3's finaliser over both, so nearby seeds give unrelated epochs.
 * Exported (not part of the public API in ./api.ts) so tests can replay fit() with raw backend calls.
 */
export function epochSeed(seed: number, epoch: number): number {
  let h = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ Math.imul(epoch + 1, 0x85ebca6b), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Lets timers, I/O and messages run between chunks (a wasm chunk is synchronous). */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  if (typeof MessageChannel === 'function') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        r();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}

function abortError(signal: AbortSignal, epochsDone: number, history: History, partial?: { batches: number; of: number }): Error {
  const within = partial && partial.batches > 0 ? ` and ${partial.batches} of ${partial.of} mini-batches of epoch ${epochsDone + 1}` : '';
  const err = new Error(`fit: aborted after ${epochsDone} epoch(s)${within}; the model keeps the weights trained so far`, {
    cause: signal.reason,
  });
  err.name = 'AbortError';
  Object.defineProperty(err, 'history', { value: history, enumerable: true });
  return err;
}

function disposedError(op: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_DISPOSED', `${op}: this Sequential has been disposed`, 'model');
}

type NodeIO = typeof import('./persist-node.js');

/** Node's file I/O, loaded only when a path is used, through a specifier bundlers do not follow. */
async function nodeIO(op: string): Promise<NodeIO> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (typeof proc?.versions?.node !== 'string') {
    throw rnnkitError(
      'ERR_RNNKIT_UNSUPPORTED',
      `${op}: file paths need Node; in browsers use model.toBytes() and Sequential.fromBytes(bytes)`,
    );
  }
  const specifier = './persist-node.js';
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as NodeIO;
}

/**
 * Layers are configuration only: the Sequential builds one core spec from them (batch-first, seeded
 * by `options.seed`; the layers' own `batchFirst` and `seed` options do not apply) and allocates its
 * backend model on first use, on the backend current at that moment.
 */
export class Sequential {
  /** The layers as given (they are configuration only; the model owns one backend handle). */
  readonly layers: readonly Layer[];
  readonly #spec: ModelSpec;
  /** `options.threads`: a runtime setting, so it travels with the backend model, not with `spec`. */
  readonly #threads: number;
  #handle: ModelHandle | undefined;
  #backend: BackendName | undefined;
  /** The backend holding this model (datasets fit() makes go there too). */
  #backendObject: Backend | undefined;
  #loss: Loss | undefined;
  #fitting = false;
  #disposed = false;
  /** Epochs trained so far over all fit() calls: keeps later fits from replaying earlier shuffles. */
  #epochsSeen = 0;

  constructor(layers: readonly Layer[], options: SequentialOptions = {}) {
    if (!Array.isArray(layers)) throw typeError('layers', 'an array of layers', describe(layers));
    optionsObject('options', options, ['seed', 'threads']);
    const seed = options.seed === undefined ? 0 : integerOption('options.seed', options.seed, 0);
    this.#threads = options.threads === undefined ? 0 : integerOption('options.threads', options.threads, 0, MAX_THREADS);
    const blocks: BlockSpec[] = [];
    let head: HeadSpec | null = null;
    layers.forEach((layer, k) => {
      const arg = `layers[${k}]`;
      if (layer instanceof Dense) {
        if (k !== layers.length - 1) {
          throw valueError(arg, `a Dense layer must be the last layer of a Sequential, but ${layers.length - 1 - k} layer(s) follow it`);
        }
        if (k === 0) throw valueError(arg, 'a Sequential starts with a recurrent layer (RNN, LSTM or GRU), got Dense');
        head = normaliseHead(layer.toHeadSpec() as Partial<HeadSpec>);
        return;
      }
      if (!(layer instanceof RecurrentLayer)) {
        throw typeError(arg, 'an RNN, LSTM, GRU or Dense layer', describe(layer));
      }
      const given = layer.config.inputSize;
      let inputSize: number;
      if (k === 0) {
        if (given === undefined) throw valueError(`${arg}.inputSize`, 'is required on the first layer (later layers infer it)');
        inputSize = given;
      } else {
        inputSize = outputSize(blocks[k - 1]);
        if (given !== undefined && given !== inputSize) {
          throw shapeError(`${arg}.inputSize`, `${inputSize} (the output size of layers[${k - 1}])`, `${given}`);
        }
      }
      blocks.push(normaliseBlock(layer.toBlockSpec(inputSize) as Partial<BlockSpec>, inputSize));
    });
    if (blocks.length === 0) throw valueError('layers', 'expected at least one recurrent layer (RNN, LSTM or GRU)');
    this.layers = Object.freeze([...layers]);
    this.#spec = { batch_first: true, seed, blocks, head };
  }

  /** Threads its native computations use (`options.threads`; 0 = every available core). */
  get threads(): number {
    return this.#threads;
  }

  /** The core spec this model is built from (a copy). */
  get spec(): ModelSpec {
    return structuredClone(this.#spec);
  }

  /** The backend this model lives on (binds the model to the current backend if it has not run yet). */
  get backendName(): BackendName {
    if (this.#backend === undefined) this.#ensureHandle('backendName');
    return this.#backend!;
  }

  /** The compiled loss, if compile() ran. */
  get loss(): Loss | undefined {
    return this.#loss;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Total trainable parameters. */
  get numParameters(): number {
    return this.#spec.blocks.reduce((s, b) => s + blockParams(b), 0) + headParams(this.#spec);
  }

  /** Output shape for `batch` sequences of `seqLen` steps. */
  outputShape(batch: number, seqLen: number): number[] {
    const { head } = this.#spec;
    if (head === null) return [batch, seqLen, outputSize(this.#spec.blocks[this.#spec.blocks.length - 1])];
    return head.return_sequences ? [batch, seqLen, head.units] : [batch, head.units];
  }

  compile(options: CompileOptions): void {
    const handle = this.#ensureHandle('compile');
    if (this.#fitting) throw this.#busyError('compile');
    optionsObject('options', options, COMPILE_KEYS, 'an object like { loss: "mse" }');
    const train = compileJson(options);
    handle.compile(JSON.stringify(train));
    this.#loss = options.loss;
  }

  /**
   * Trains on a `dataset()` (copied into the backend once, reusable) or on (x, y), which fit() copies
   * in once for this call. x: float32 [batch, seqLen, features] or int32 token ids [batch, seqLen].
   */
  fit(data: Dataset, options?: Omit<FitOptions, 'mask' | 'lengths'>): Promise<History>;
  fit(x: SequenceInput, y: Tensor<DType>, options?: FitOptions): Promise<History>;
  async fit(a: Dataset | SequenceInput, b?: Tensor<DType> | FitOptions, c?: FitOptions): Promise<History> {
    if (this.#disposed) throw disposedError('fit');
    if (this.#fitting) throw this.#busyError('fit');
    this.#fitting = true; // set before the first await: a second fit() in the same tick sees it
    const owned: Dataset[] = [];
    try {
      if (a instanceof Dataset && isTensor(b)) throw typeError('options', 'an object (the dataset already holds y)', describe(b));
      const [data, options] = a instanceof Dataset ? [a, (b ?? {}) as FitOptions] : [undefined, c ?? {}];
      optionsObject('options', options, FIT_KEYS);
      // Everything is checked before anything happens: no recompile, no copy for a bad call.
      const plan = this.#fitPlan(options);
      const loss = options.loss ?? this.#loss;
      if (options.loss === undefined && (options.optimizer !== undefined || options.clipNorm !== undefined || options.clipValue !== undefined)) {
        throw valueError('options.loss', 'is required when fit() is given optimizer or clipping options');
      }
      if (loss === undefined) {
        throw rnnkitError('ERR_RNNKIT_VALUE', 'fit: the model is not compiled; call model.compile({ loss, optimizer }) first', 'model');
      }
      if (data && (options.mask !== undefined || options.lengths !== undefined)) {
        throw valueError(options.mask !== undefined ? 'options.mask' : 'options.lengths', 'give mask and lengths to dataset(), not to fit(dataset)');
      }
      const vd = options.validationData;
      if (vd !== undefined && !(vd instanceof Dataset) && (!Array.isArray(vd) || vd.length !== 2)) {
        throw typeError('options.validationData', 'a dataset() or [x, y]', describe(vd));
      }
      const train = data ? this.#usable('data', data, loss) : this.#ownDataset(owned, 'x', 'y', a, b, options.mask, options.lengths, loss);
      const val =
        vd === undefined ? undefined
        : vd instanceof Dataset ? this.#usable('options.validationData', vd, loss)
        : this.#ownDataset(owned, 'validationData[0]', 'validationData[1]', vd[0], vd[1], undefined, undefined, loss);
      this.#compileFromFit(options);
      return await this.#fit(train, val, plan);
    } finally {
      for (const d of owned) d.dispose();
      this.#fitting = false;
      if (this.#disposed) this.#release(); // dispose() during fit() waits for the running epoch
    }
  }

  /** fit()'s own loss/optimizer options compile the model (checked by the caller beforehand). */
  #compileFromFit(options: FitOptions): void {
    if (options.loss === undefined) return;
    const { loss, optimizer, clipNorm, clipValue } = options;
    this.#ensureHandle('fit').compile(JSON.stringify(compileJson({ loss, optimizer, clipNorm, clipValue })));
    this.#loss = loss;
  }

  /** A dataset of (x, y, mask, lengths) on this model's backend, checked against it; the caller disposes it (`owned`). */
  #ownDataset(owned: Dataset[], xArg: string, yArg: string, x: unknown, y: unknown, mask: unknown, lengths: unknown, loss: Loss): Dataset {
    const batch = this.#batch(xArg, yArg, x, y, mask, lengths, true, loss);
    this.#ensureHandle('fit');
    const d = new Dataset(batch, (y as Tensor<DType>).shape, this.#backendObject);
    owned.push(d);
    return d;
  }

  /** Checks a dataset's backend, shapes and target kind against this model (its contents were checked when it was built). */
  #usable(arg: string, d: Dataset, loss: Loss): Dataset {
    if (d.disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', `${arg}: the dataset has been disposed`, arg);
    this.#ensureHandle('fit');
    if (d.backend !== this.#backend) {
      throw typeError(arg, `a dataset made on the '${this.#backend}' backend (this model's)`, `one made on '${d.backend}'`);
    }
    const inputSize = this.#spec.blocks[0].input_size;
    if (!d.tokens && d.features !== inputSize) {
      throw shapeError(arg, `x with ${inputSize} features per step (inputSize of layers[0])`, `${d.features}`);
    }
    const out = this.outputShape(d.size, d.seqLen);
    const classes = loss === 'cross_entropy';
    const want = classes ? out.slice(0, -1) : out;
    if (d.yDtype !== (classes ? 'int32' : 'float32')) {
      throw typeError(`${arg}.y`, classes ? "int32 class ids for loss 'cross_entropy'" : `float32 targets for loss '${loss}'`, `${d.yDtype} targets`);
    }
    if (fmtShape(d.yShape) !== fmtShape(want)) throw shapeError(`${arg}.y`, `${fmtShape(want)} (the model's output shape${classes ? ' without its class axis' : ''})`, fmtShape(d.yShape));
    return d;
  }

  /** fit()'s options other than data and compile ones, checked. */
  #fitPlan(options: FitOptions): FitPlan {
    const epochs = integerOption('options.epochs', options.epochs ?? 1, 1);
    const batchSizeOpt = integerOption('options.batchSize', options.batchSize ?? 32, 1);
    const shuffle = optBool('options.shuffle', options.shuffle ?? undefined, true);
    const seed = integerOption('options.seed', options.seed ?? this.#spec.seed, 0);
    const tbptt = integerOption('options.tbptt', options.tbptt ?? 0, 0);
    const callbacks = options.callbacks;
    if (callbacks !== undefined) optionsObject('options.callbacks', callbacks, ['onEpochEnd', 'onBatchEnd']);
    const onEpochEnd = callbacks?.onEpochEnd;
    if (onEpochEnd !== undefined && typeof onEpochEnd !== 'function') {
      throw typeError('options.callbacks.onEpochEnd', 'a function', describe(onEpochEnd));
    }
    const onBatchEnd = callbacks?.onBatchEnd;
    if (onBatchEnd !== undefined && typeof onBatchEnd !== 'function') {
      throw typeError('options.callbacks.onBatchEnd', 'a function', describe(onBatchEnd));
    }
    const signal = options.signal;
    if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')) {
      throw typeError('options.signal', 'an AbortSignal', describe(signal));
    }
    return { epochs, batchSizeOpt, shuffle, seed, tbptt, onEpochEnd, onBatchEnd, signal };
  }

  async #fit(data: Dataset, val: Dataset | undefined, plan: FitPlan): Promise<History> {
    const handle = this.#ensureHandle('fit');
    const { epochs, batchSizeOpt, shuffle, seed, tbptt, onEpochEnd, onBatchEnd, signal } = plan;
    const history: History = val ? { loss: [], gradNorm: [], valLoss: [] } : { loss: [], gradNorm: [] };
    const batchSize = Math.min(batchSizeOpt, data.size);
    // Chunk sizing: the first chunk is one mini-batch; later ones aim at CHUNK_MS from the time per
    // mini-batch measured on the previous chunk (kept across epochs).
    let msPerBatch: number | undefined;
    for (let epoch = 0; epoch < epochs; epoch++) {
      if (signal?.aborted) throw abortError(signal, epoch, history);
      if (this.#disposed) throw disposedError('fit');
      const epochOpts: EpochOptions = { batchSize, shuffle, tbptt, seed: epochSeed(seed, this.#epochsSeen) };
      const epochBatches = Math.ceil(data.size / batchSize);
      let done: EpochResult | undefined;
      let samples = 0;
      try {
        while (done === undefined || done.nextBatch < epochBatches) {
          const first = done?.nextBatch ?? 0;
          const size = msPerBatch === undefined ? 1 : Math.max(1, Math.min(MAX_CHUNK_BATCHES, Math.round(CHUNK_MS / msPerBatch)));
          const t0 = performance.now();
          if (data.disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', 'fit: the dataset was disposed during fit()', 'data');
          const chunk: EpochResult = await handle.trainEpoch(data.handle, { ...epochOpts, firstBatch: first, maxBatches: size, ...(done ? { carry: done } : {}) });
          if (chunk.batches > 0) msPerBatch = Math.max(1e-3, (performance.now() - t0) / chunk.batches);
          done = chunk;
          samples += chunk.samples;
          const last = chunk.nextBatch >= epochBatches;
          if (onBatchEnd) {
            await onBatchEnd(chunk.nextBatch - 1, { epoch, loss: chunk.loss, gradNorm: chunk.gradNorm, batches: chunk.nextBatch, epochBatches, samples });
          }
          if (last) break;
          await yieldToEventLoop();
          if (signal?.aborted) throw abortError(signal, epoch, history, { batches: chunk.nextBatch, of: epochBatches });
          if (this.#disposed) throw disposedError('fit');
        }
      } finally {
        // A partly trained epoch still used its seed: the next fit() starts from a fresh one.
        if (done !== undefined) this.#epochsSeen++;
      }
      const { loss, gradNorm } = done;
      history.loss.push(loss);
      history.gradNorm.push(gradNorm);
      const logs: EpochLogs = { loss, gradNorm };
      if (val) {
        logs.valLoss = await this.#validate(handle, val, signal, epoch, history);
        history.valLoss!.push(logs.valLoss);
      }
      if (onEpochEnd) await onEpochEnd(epoch, logs);
      await yieldToEventLoop();
    }
    return history;
  }

  /**
   * The validation loss after an epoch: the dataset scored in chunks of batches sized like the
   * training chunks (~CHUNK_MS each), yielding between them, so a large validation set neither
   * blocks the event loop nor delays an abort.
   */
  async #validate(handle: ModelHandle, val: Dataset, signal: AbortSignal | undefined, epoch: number, history: History): Promise<number> {
    let r: EvalResult | undefined;
    let msPerBatch: number | undefined;
    do {
      if (val.disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', 'fit: the validation dataset was disposed during fit()', 'options.validationData');
      const size = msPerBatch === undefined ? 1 : Math.max(1, Math.min(MAX_CHUNK_BATCHES, Math.round(CHUNK_MS / msPerBatch)));
      const t0 = performance.now();
      const first = r?.nextBatch ?? 0;
      r = handle.evaluateDataset(val.handle, EVAL_BATCH, { firstBatch: first, maxBatches: size, ...(r ? { carry: r } : {}) });
      msPerBatch = Math.max(1e-3, (performance.now() - t0) / Math.max(1, r.nextBatch - first));
      if (r.nextBatch >= r.batches) break;
      await yieldToEventLoop();
      if (signal?.aborted) throw abortError(signal, epoch, history);
      if (this.#disposed) throw disposedError('fit');
    } while (r.nextBatch < r.batches);
    return r.loss;
  }

  /** Runs the model on `x` [batch, seqLen, inputSize] (or int32 token ids [batch, seqLen]): [batch, seqLen, units] or [batch, units]. */
  predict(x: SequenceInput, options: { lengths?: Lengths } = {}): Tensor<'float32'> {
    const handle = this.#ensureHandle('predict');
    optionsObject('options', options, ['lengths']);
    const dims = this.#checkX('x', x);
    const lengths = options.lengths === undefined ? undefined : toLengths('options.lengths', options.lengths, dims[0], dims[1]);
    const out = handle.forward(x.data, dims, lengths ? { lengths } : {});
    return new Tensor(out.output, out.outputDims);
  }

  /** The compiled loss on a `dataset()` or on (x, y), without updating the weights. */
  evaluate(data: Dataset, options?: { batchSize?: number }): number;
  evaluate(x: SequenceInput, y: Tensor<DType>, options?: { mask?: Tensor2D; lengths?: Lengths }): number;
  evaluate(a: Dataset | SequenceInput, b?: Tensor<DType> | { batchSize?: number }, c: { mask?: Tensor2D; lengths?: Lengths } = {}): number {
    const handle = this.#ensureHandle('evaluate');
    if (this.#loss === undefined) {
      throw rnnkitError('ERR_RNNKIT_VALUE', 'evaluate: the model is not compiled; call model.compile({ loss }) first', 'model');
    }
    if (a instanceof Dataset) {
      const options = (b ?? {}) as { batchSize?: number };
      optionsObject('options', options, ['batchSize']);
      return handle.evaluateDataset(this.#usable('data', a, this.#loss).handle, integerOption('options.batchSize', options.batchSize ?? EVAL_BATCH, 1)).loss;
    }
    optionsObject('options', c, ['mask', 'lengths']);
    return handle.evaluate(this.#batch('x', 'y', a, b, c.mask, c.lengths, false));
  }

  /** Streaming inference: one step `xT` [batch, inputSize] from the kept state → [batch, units]. */
  step(xT: Tensor2D): Tensor2D {
    const handle = this.#ensureHandle('step');
    const inputSize = this.#spec.blocks[0].input_size;
    if (!isTensor(xT)) throw typeError('xT', `a float32 Tensor2D [batch, ${inputSize}]`, describe(xT));
    if (xT.dtype !== 'float32') throw typeError('xT', "dtype 'float32'", `'${xT.dtype}'`);
    if (xT.shape.length !== 2 || xT.shape[1] !== inputSize || xT.shape[0] < 1) {
      throw shapeError('xT', `[batch >= 1, ${inputSize}]`, fmtShape(xT.shape));
    }
    const batch = xT.shape[0];
    const out = handle.step(xT.data as Float32Array, batch);
    return new Tensor(out, [batch, out.length / batch] as const);
  }

  /**
   * The inside of the network for ONE sequence `x` [1, seqLen, inputSize]: per recurrent block, layer
   * and direction, the hidden state h, the LSTM cell state c and each gate's activation (LSTM i, f, g,
   * o; GRU r, z, n), each [seqLen, hiddenSize], from zero states and without dropout. For plots.
   */
  trace(x: SequenceInput): { steps: number; panels: TracePanel[] } {
    const handle = this.#ensureHandle('trace');
    const dims = this.#checkX('x', x);
    if (dims[0] !== 1) throw shapeError('x', `one sequence [1, seqLen, ${dims[2]}]`, fmtShape(x.shape));
    const t = x.dtype === 'int32' ? handle.trace(...oneHotSequence(x.data as Int32Array, this.#spec.blocks[0].input_size)) : handle.trace(x.data as Float32Array, dims);
    const panels = t.panels.map((p) => ({
      name: p.name,
      kind: p.kind,
      units: p.units,
      activation: p.activation,
      block: p.block,
      layer: p.layer,
      direction: p.direction,
      values: t.values.slice(p.offset, p.offset + t.steps * p.units),
    }));
    return { steps: t.steps, panels };
  }

  /** Forgets the streaming state kept by step(). */
  resetState(): void {
    if (this.#disposed) throw disposedError('resetState');
    this.#handle?.resetState();
  }

  /** Copies of all parameters keyed by name ('0.weight_ih_l0', ..., '<k>.weight', '<k>.bias'). */
  stateDict(): Record<string, Tensor<'float32'>> {
    const handle = this.#ensureHandle('stateDict');
    const flat = handle.getParams();
    const out: Record<string, Tensor<'float32'>> = {};
    for (const p of handle.paramInfo()) out[p.name] = new Tensor(flat.slice(p.offset, p.offset + size(p)), p.shape);
    return out;
  }

  /** Replaces parameters by name. Unknown keys, missing keys (strict), wrong sizes and non-finite values throw. */
  loadStateDict(dict: Record<string, Float32Array | Tensor<'float32'>>, options: { strict?: boolean } = {}): void {
    const handle = this.#ensureHandle('loadStateDict');
    if (this.#fitting) throw this.#busyError('loadStateDict');
    plainObject('stateDict', dict, 'an object of Float32Array or Tensor values');
    const strict = options.strict ?? true;
    const infos = handle.paramInfo();
    const byName = new Map(infos.map((p) => [p.name, p]));
    const flat = handle.getParams();
    for (const [name, value] of Object.entries(dict)) {
      const arg = `stateDict["${name}"]`;
      const p = byName.get(name);
      if (!p) throw valueError(arg, `unknown parameter; this model has ${infos.map((i) => i.name).join(', ')}`);
      let data: Float32Array;
      if (value instanceof Float32Array) {
        if (value.length !== size(p)) throw shapeError(arg, `${size(p)} values (shape ${fmtShape(p.shape)})`, `${value.length}`);
        data = value;
      } else if (isTensor(value)) {
        if (value.dtype !== 'float32') throw typeError(arg, "dtype 'float32'", `'${value.dtype}'`);
        if (fmtShape(value.shape) !== fmtShape(p.shape)) throw shapeError(arg, `shape ${fmtShape(p.shape)}`, fmtShape(value.shape));
        data = value.data as Float32Array;
      } else {
        throw typeError(arg, 'Float32Array or Tensor', describe(value));
      }
      const bad = firstNonFinite(data);
      if (bad >= 0) throw valueError(arg, `element ${bad} is ${data[bad]}; parameters must be finite`);
      flat.set(data, p.offset);
    }
    if (strict) {
      const missing = infos.filter((p) => !(p.name in dict)).map((p) => p.name);
      if (missing.length > 0) throw valueError('stateDict', `missing parameter(s) ${missing.join(', ')} (pass { strict: false } to keep their current values)`);
    }
    handle.setParams(flat);
  }

  /**
   * Safetensors bytes: parameters by name, the model spec in `__metadata__` (see /docs in api).
   * `metadata` adds string entries (e.g. a dataset's normalisation); rnnkit's own keys win.
   */
  toBytes(metadata: Record<string, string> = {}): Uint8Array {
    plainObject('metadata', metadata, 'an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      string(`metadata["${k}"]`, v);
    }
    const handle = this.#ensureHandle('toBytes');
    const flat = handle.getParams();
    const tensors: NamedTensor[] = handle
      .paramInfo()
      .map((p) => ({ name: p.name, shape: [...p.shape], data: flat.subarray(p.offset, p.offset + size(p)) }));
    return encodeSafetensors(tensors, {
      ...metadata,
      format: 'rnnkit',
      rnnkit: RNNKIT_VERSION,
      spec: handle.specJson(),
      backend: this.#backend!,
    });
  }

  /** Rebuilds a model from toBytes()/save() output, on the current backend. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer): Sequential {
    const { tensors, metadata } = decodeSafetensors(bytes);
    if (typeof metadata.spec !== 'string') {
      const fmt = metadata.format === undefined ? '' : ` (its __metadata__.format is "${metadata.format}")`;
      throw rnnkitError(
        'ERR_RNNKIT_FORMAT',
        `safetensors: no __metadata__.spec, so this file was not written by rnnkit${fmt} and the model architecture is unknown. ` +
          'Build the model with new Sequential([...]) and pass the tensors (decodeSafetensors(bytes).tensors) to loadStateDict().',
        'bytes',
      );
    }
    const [layers, opts] = layersFromSpec(metadata.spec);
    let model: Sequential;
    try {
      model = new Sequential(layers, opts);
    } catch (e) {
      throw rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: __metadata__.spec describes an invalid model: ${(e as Error).message}`, 'bytes', e);
    }
    try {
      const handle = model.#ensureHandle('fromBytes');
      const infos = handle.paramInfo();
      const byName = new Map(tensors.map((t) => [t.name, t]));
      const flat = new Float32Array(infos.reduce((n, p) => n + size(p), 0));
      for (const p of infos) {
        const t = byName.get(p.name);
        if (!t) throw formatError(`tensor "${p.name}" is missing (the spec needs ${infos.map((i) => i.name).join(', ')})`);
        if (fmtShape(t.shape) !== fmtShape(p.shape)) {
          throw formatError(`tensor "${p.name}" has shape ${fmtShape(t.shape)}, the spec needs ${fmtShape(p.shape)}`);
        }
        const bad = firstNonFinite(t.data);
        if (bad >= 0) throw formatError(`tensor "${p.name}" element ${bad} is ${t.data[bad]}; parameters must be finite`);
        flat.set(t.data, p.offset);
        byName.delete(p.name);
      }
      if (byName.size > 0) throw formatError(`unknown tensor(s) ${[...byName.keys()].join(', ')} not in the model spec`);
      handle.setParams(flat);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** Node: writes the safetensors file atomically (tmp file + fsync + rename); `metadata` as for toBytes(). */
  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a non-empty string', describe(path));
    const bytes = this.toBytes(metadata);
    const io = await nodeIO('save');
    await io.writeFileAtomic(path, bytes);
  }

  /** Node: reads a file written by save(). */
  static async load(path: string): Promise<Sequential> {
    if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a non-empty string', describe(path));
    const io = await nodeIO('load');
    return Sequential.fromBytes(await io.readFileBytes(path));
  }

  /** A table of layers, output shapes and parameter counts. */
  summary(): string {
    const rows: [string, string, string, string][] = [['#', 'Layer', 'Output shape', 'Params']];
    const fmt = (n: number) => n.toLocaleString('en-US');
    this.#spec.blocks.forEach((b, k) => {
      const extras = [
        b.cell.startsWith('rnn_') ? b.cell.slice(4) : '',
        b.num_layers > 1 ? `${b.num_layers} layers` : '',
        b.bidirectional ? 'bidirectional' : '',
        b.dropout > 0 ? `dropout ${b.dropout}` : '',
        b.bias ? '' : 'no bias',
      ].filter(Boolean);
      const name = `${CELL_LABEL[b.cell]}(${b.input_size} → ${b.hidden_size}${extras.length ? ', ' + extras.join(', ') : ''})`;
      rows.push([String(k), name, `[batch, seq, ${outputSize(b)}]`, fmt(blockParams(b))]);
    });
    const h = this.#spec.head;
    if (h) {
      const inF = outputSize(this.#spec.blocks[this.#spec.blocks.length - 1]);
      const shape = h.return_sequences ? `[batch, seq, ${h.units}]` : `[batch, ${h.units}]`;
      const where = h.return_sequences ? 'every step' : 'last step';
      rows.push([String(this.#spec.blocks.length), `Dense(${inF} → ${h.units}, ${h.activation}, ${where})`, shape, fmt(headParams(this.#spec))]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r: string[]) => r.map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
    const rule = '─'.repeat(line(rows[0]).length);
    return [
      `Sequential (batch-first, seed ${this.#spec.seed})`,
      rule,
      line(rows[0]),
      rule,
      ...rows.slice(1).map(line),
      rule,
      `Total params: ${fmt(this.numParameters)}`,
    ].join('\n');
  }

  /** Frees the backend model. During fit() the running epoch finishes first, then fit() rejects. A second call is a no-op. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.#fitting) this.#release();
  }

  #release(): void {
    const h = this.#handle;
    this.#handle = undefined;
    if (h && !h.disposed) h.dispose();
  }

  #busyError(op: string): RnnkitError {
    return rnnkitError('ERR_RNNKIT_DISPOSED', `${op}: the model is busy in fit(); await it (or abort it with options.signal) first`, 'model');
  }

  /** Creates the backend model on first use, on the backend current at that moment. */
  #ensureHandle(op: string): ModelHandle {
    if (this.#disposed) throw disposedError(op);
    if (this.#handle === undefined) {
      const backend = getBackend();
      this.#handle = backend.createModel(JSON.stringify({ ...this.#spec, threads: this.#threads }));
      this.#backend = backend.name;
      this.#backendObject = backend;
    }
    return this.#handle;
  }

  /** Core dims of `x`: [batch, seqLen, inputSize] features, or [batch, seqLen, 1] for int32 token ids (checked < inputSize). */
  #checkX(arg: string, x: unknown): [number, number, number] {
    const inputSize = this.#spec.blocks[0].input_size;
    if (isTensor(x) && x.dtype === 'int32') {
      const dims = inputDims(arg, x);
      const ids = x.data as Int32Array;
      for (let i = 0; i < ids.length; i++) {
        if (!(ids[i] >= 0 && ids[i] < inputSize)) throw valueError(arg, `element ${i} is token id ${ids[i]}, expected an id in [0, ${inputSize}) (inputSize of layers[0])`);
      }
      return dims;
    }
    const want = `[batch, seqLen, ${inputSize}]`;
    if (!isTensor(x)) throw typeError(arg, `a float32 Tensor3D ${want} or int32 token ids [batch, seqLen]`, describe(x));
    if (x.dtype !== 'float32') throw typeError(arg, "dtype 'float32'", `'${x.dtype}'`);
    if (x.shape.length !== 3) throw shapeError(arg, `rank 3 ${want}`, `rank ${x.shape.length} ${fmtShape(x.shape)}`);
    const [n, t, i] = x.shape;
    if (i !== inputSize) throw shapeError(arg, `${want} (inputSize of layers[0])`, fmtShape(x.shape));
    if (n < 1 || t < 1) throw shapeError(arg, `${want} with batch >= 1 and seqLen >= 1`, fmtShape(x.shape));
    return [n, t, i];
  }

  /** Validates one (x, y, mask, lengths) set against the spec and the compiled loss. */
  #batch(xArg: string, yArg: string, x: unknown, y: unknown, mask: unknown, lengths: unknown, checkX: boolean, loss: Loss = this.#loss!): BatchData {
    const xDims = this.#checkX(xArg, x);
    const [n, t] = xDims;
    const xData = (x as Tensor3D).data;
    if (checkX && xData instanceof Float32Array) {
      const bad = firstNonFinite(xData);
      if (bad >= 0) throw valueError(xArg, `element ${bad} is ${xData[bad]}; inputs must be finite`);
    }
    const out = this.outputShape(n, t);
    if (!isTensor(y)) throw typeError(yArg, loss === 'cross_entropy' ? 'an int32 Tensor of class ids' : 'a float32 Tensor', describe(y));
    if (y.shape[0] !== n) {
      throw shapeError(yArg, `batch ${n} (like ${xArg}) in its first dimension`, `${fmtShape(y.shape)}`);
    }
    let yData: Float32Array | Int32Array;
    if (loss === 'cross_entropy') {
      const want = out.slice(0, -1);
      const classes = out[out.length - 1];
      if (y.dtype !== 'int32') throw typeError(yArg, "int32 class ids for loss 'cross_entropy'", `dtype '${y.dtype}'`);
      if (fmtShape(y.shape) !== fmtShape(want)) throw shapeError(yArg, `${fmtShape(want)} (the output shape without its class axis)`, fmtShape(y.shape));
      yData = y.data as Int32Array;
      for (let i = 0; i < yData.length; i++) {
        if (yData[i] < 0 || yData[i] >= classes) throw valueError(`${yArg}`, `element ${i} is class ${yData[i]}, expected a class id in [0, ${classes})`);
      }
    } else {
      if (y.dtype !== 'float32') {
        throw typeError(yArg, `float32 targets for loss '${loss}'`, `dtype '${y.dtype}' (int32 class ids need loss 'cross_entropy')`);
      }
      if (fmtShape(y.shape) !== fmtShape(out)) throw shapeError(yArg, `${fmtShape(out)} (the model's output shape)`, fmtShape(y.shape));
      yData = y.data as Float32Array;
      const bad = firstNonFinite(yData);
      if (bad >= 0) throw valueError(yArg, `element ${bad} is ${yData[bad]}; targets must be finite`);
    }
    const batch: BatchData = { x: xData, xDims, y: yData };
    if (mask !== undefined) {
      if (this.#spec.head !== null && !this.#spec.head.return_sequences) {
        throw valueError('options.mask', 'a per-step mask needs sequence outputs, but the Dense head has returnSequences: false');
      }
      if (!isTensor(mask) || mask.dtype !== 'float32') throw typeError('options.mask', `a float32 Tensor2D [${n}, ${t}]`, describe(mask));
      if (fmtShape(mask.shape) !== fmtShape([n, t])) throw shapeError('options.mask', `[${n}, ${t}] (batch, seqLen of ${xArg})`, fmtShape(mask.shape));
      const m = mask.data as Float32Array;
      for (let i = 0; i < m.length; i++) {
        if (!(m[i] >= 0) || !Number.isFinite(m[i])) throw valueError('options.mask', `element ${i} is ${m[i]}; weights must be finite and >= 0`);
      }
      batch.mask = m;
    }
    if (lengths !== undefined) batch.lengths = toLengths('options.lengths', lengths, n, t);
    return batch;
  }
}

/** One sequence of token ids as one-hot features [1, seqLen, width] (a trace is one short sequence, for a plot). */
function oneHotSequence(ids: Int32Array, width: number): [Float32Array, [number, number, number]] {
  const x = new Float32Array(ids.length * width);
  ids.forEach((id, t) => (x[t * width + id] = 1));
  return [x, [1, ids.length, width]];
}

function formatError(message: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: ${message}`, 'bytes');
}

function size(p: ParamInfo): number {
  return p.shape.reduce((a, b) => a * b, 1);
}

function outputSize(b: BlockSpec): number {
  return (b.bidirectional ? 2 : 1) * b.hidden_size;
}

function gates(cell: BlockSpec['cell']): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

function blockParams(b: BlockSpec): number {
  const g = gates(b.cell) * b.hidden_size;
  let total = 0;
  for (let l = 0; l < b.num_layers; l++) {
    const input = l === 0 ? b.input_size : outputSize(b);
    total += (b.bidirectional ? 2 : 1) * (g * input + g * b.hidden_size + (b.bias ? 2 * g : 0));
  }
  return total;
}

function headParams(spec: ModelSpec): number {
  const h = spec.head;
  if (!h) return 0;
  return h.units * outputSize(spec.blocks[spec.blocks.length - 1]) + (h.bias ? h.units : 0);
}

function normaliseBlock(b: Partial<BlockSpec>, inputSize: number): BlockSpec {
  return {
    cell: b.cell!,
    input_size: inputSize,
    hidden_size: b.hidden_size!,
    num_layers: b.num_layers ?? 1,
    bidirectional: b.bidirectional ?? false,
    bias: b.bias ?? true,
    dropout: b.dropout ?? 0,
    weight_init: b.weight_init ?? 'uniform',
    recurrent_init: b.recurrent_init ?? 'uniform',
  };
}

function normaliseHead(h: Partial<HeadSpec>): HeadSpec {
  return {
    units: h.units!,
    activation: h.activation ?? 'identity',
    bias: h.bias ?? true,
    return_sequences: h.return_sequences ?? true,
  };
}

function compileJson(options: CompileOptions): Record<string, unknown> {
  const { loss, optimizer = 'adam', clipNorm, clipValue } = options;
  if (typeof loss !== 'string') throw typeError('options.loss', `one of ${LOSSES.join(', ')}`, describe(loss));
  if (!LOSSES.includes(loss)) throw valueError('options.loss', `expected one of ${LOSSES.join(', ')}, got "${loss}"`);
  const opt: Record<string, unknown> = {};
  const cfg: Record<string, unknown> = typeof optimizer === 'string' ? { type: optimizer } : (optimizer as unknown as Record<string, unknown>);
  if (!isPlainObject(cfg)) throw typeError('options.optimizer', "'sgd' | 'adam' | 'adamw' | 'rmsprop' or { type, lr, ... }", describe(optimizer));
  const type = cfg.type as OptimizerType;
  if (!(typeof type === 'string' && type in OPTIMIZER_KEYS)) {
    throw valueError(typeof optimizer === 'string' ? 'options.optimizer' : 'options.optimizer.type', `expected one of ${Object.keys(OPTIMIZER_KEYS).join(', ')}, got ${describe(type)}`);
  }
  knownKeys('options.optimizer', cfg, ['type', ...OPTIMIZER_KEYS[type]]);
  opt.type = type;
  for (const key of OPTIMIZER_KEYS[type]) {
    const v = cfg[key];
    if (v === undefined) continue;
    if (key === 'nesterov') {
      if (typeof v !== 'boolean') throw typeError('options.optimizer.nesterov', 'a boolean', describe(v));
      opt.nesterov = v;
    } else {
      opt[snake(key)] = finiteOption(`options.optimizer.${key}`, v);
    }
  }
  const train: Record<string, unknown> = { loss, optimizer: opt };
  for (const [key, v] of [['clipNorm', clipNorm], ['clipValue', clipValue]] as const) {
    if (v === undefined) continue;
    if (finiteOption(`options.${key}`, v) <= 0) throw valueError(`options.${key}`, `expected a value > 0, got ${v}`);
    train[snake(key)] = v;
  }
  return train;
}

/** Parses a stored core spec into constructor arguments; problems are ERR_RNNKIT_FORMAT. */
function layersFromSpec(specText: string): [Layer[], SequentialOptions] {
  let spec: ModelSpec;
  try {
    spec = JSON.parse(specText) as ModelSpec;
  } catch (e) {
    throw rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: __metadata__.spec is not valid JSON: ${(e as Error).message}`, 'bytes', e);
  }
  const where = '__metadata__.spec';
  if (!isPlainObject(spec) || !Array.isArray(spec.blocks) || spec.blocks.length === 0) {
    throw formatError(`${where} is not a model spec with a non-empty "blocks" array`);
  }
  try {
    const layers: Layer[] = spec.blocks.map((b, k) => {
      if (!isPlainObject(b)) throw formatError(`${where}.blocks[${k}] is not an object`);
      const common = {
        inputSize: b.input_size,
        hiddenSize: b.hidden_size,
        numLayers: b.num_layers,
        bidirectional: b.bidirectional,
        bias: b.bias,
        dropout: b.dropout,
        weightInit: b.weight_init,
        recurrentInit: b.recurrent_init,
      } as ConstructorParameters<typeof LSTM>[0];
      switch (b.cell) {
        case 'lstm':
          return new LSTM(common);
        case 'gru':
          return new GRU(common);
        case 'rnn_tanh':
        case 'rnn_relu':
        case 'rnn_sigmoid':
          return new RNN({ ...common, nonlinearity: b.cell.slice(4) as 'tanh' | 'relu' | 'sigmoid' });
        default:
          throw formatError(`${where}.blocks[${k}].cell ${JSON.stringify((b as { cell?: unknown }).cell)} is not a known cell`);
      }
    });
    if (spec.head !== null && spec.head !== undefined) {
      const h = spec.head;
      if (!isPlainObject(h)) throw formatError(`${where}.head is not an object`);
      layers.push(new Dense({ units: h.units, activation: h.activation, bias: h.bias, returnSequences: h.return_sequences } as ConstructorParameters<typeof Dense>[0]));
    }
    return [layers, { seed: typeof spec.seed === 'number' ? spec.seed : 0 }];
  } catch (e) {
    if ((e as RnnkitError).code === 'ERR_RNNKIT_FORMAT') throw e;
    throw rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: ${where} describes an invalid model: ${(e as Error).message}`, 'bytes', e);
  }
}
