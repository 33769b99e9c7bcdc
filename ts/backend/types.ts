/**
 * The contract both backends implement (native N-API addon and WebAssembly module). The facade talks
 * only to this interface. It is deliberately low level: flat typed arrays plus dims; specs as JSON
 * text (the core parses and validates them). Every method validates its arguments and throws
 * `RnnkitError` (see ../errors.ts) naming the argument, expected and actual value.
 *
 * Layouts: `x` is [batch, seqLen, input] when the model spec has `batch_first: true`, else
 * [seqLen, batch, input]. States are the list `stateInfo(batch)` describes (a recurrent layer's h,
 * then c for an LSTM; a causal convolution's input history), in layer order. Parameters are one flat
 * Float32Array in `paramInfo()` order.
 */

export type BackendName = 'native' | 'wasm';

export interface ParamInfo {
  name: string;
  shape: number[];
  /** Offset in the flat parameter buffer. */
  offset: number;
}

/** One state a layer carries between calls (streaming, truncated BPTT, initial/final states). */
export interface StateInfo {
  /** Index of the layer in the model's `layers` list. */
  layer: number;
  /** 'h', 'c', 'history', ... */
  name: string;
  /** e.g. [numLayers·directions, batch, hiddenSize] for a recurrent layer's h. */
  dims: number[];
}

/** What flows into or out of a layer. */
export type LayerShape =
  | { kind: 'ids'; vocab: number }
  | { kind: 'sequence'; features: number }
  | { kind: 'vector'; features: number };

/** One layer as the core built it: canonical config (every default and size filled in), shapes, parameter count. */
export interface LayerInfo {
  type: string;
  config: Record<string, unknown>;
  input: LayerShape;
  output: LayerShape;
  params: number;
}

export interface ForwardOptions {
  /** Initial states, one per `stateInfo(batch)` entry; an absent entry (or list) means zeros. */
  states?: readonly (Float32Array | undefined)[];
  /** Valid steps per sequence, each in 1..seqLen. */
  lengths?: Int32Array;
  /** Keep activations for backward() and apply dropout. */
  training?: boolean;
  /**
   * Default true. False: the caller does not read the final states (a prediction), so `states`
   * comes back empty and the backend neither builds nor copies them (a causal attention's
   * key/value cache is batch·cacheSize·embedDim values per state).
   */
  finalStates?: boolean;
}

export interface ForwardResult {
  output: Float32Array;
  outputDims: number[];
  /** Final states, one per `stateInfo(batch)` entry; empty when asked with `finalStates: false`. */
  states: Float32Array[];
}

export interface BackwardResult {
  /** Shaped like x; empty for token-id input. */
  dx: Float32Array;
  /** Gradients of the initial states, one per `stateInfo(batch)` entry. */
  dStates: Float32Array[];
  /** Flat, paramInfo() order. */
  grads: Float32Array;
}

/** Float targets shaped like the output (MSE, BCE) or class indices (cross-entropy). */
export type Targets = Float32Array | Int32Array;

/** Float32Array features, or Int32Array token ids (`xDims` [.., .., 1]: one id per step, read as ids by the first layer). */
export type Inputs = Float32Array | Int32Array;

export interface BatchData {
  x: Inputs;
  xDims: [number, number, number];
  y: Targets;
  /** Per-step weights, [batch, seqLen] (batch-first) or [seqLen, batch]. */
  mask?: Float32Array;
  lengths?: Int32Array;
}

export interface EpochOptions {
  batchSize: number;
  shuffle: boolean;
  /** Seeds this epoch's shuffle and dropout (uint32). */
  seed: number;
  /** Truncated BPTT chunk length in steps; 0 = whole sequences. */
  tbptt: number;
  /**
   * First mini-batch to train, in the epoch's seeded order (default 0). With `maxBatches` and
   * `carry` this runs an epoch in chunks whose results equal one whole-epoch call bit for bit.
   */
  firstBatch?: number;
  /** Train at most this many mini-batches (>= 1); absent = through the end of the epoch. */
  maxBatches?: number;
  /** Running sums of the epoch's batches before `firstBatch` (the previous chunk's result). */
  carry?: EpochTotals;
}

/** Running sums of one epoch, in update order (what a chunk hands to the next). */
export interface EpochTotals {
  /** Optimizer updates so far (one per mini-batch; with TBPTT one per trained window). */
  updates: number;
  /** Sum of the updates' losses. */
  lossSum: number;
  /** Sum of the updates' global gradient L2 norms before clipping. */
  gradNormSum: number;
}

/** What one `trainEpoch` call measured; means cover the epoch so far (carried batches included). */
export interface EpochResult extends EpochTotals {
  /** Mean batch loss (each taken before its update). */
  loss: number;
  /** Mean over the epoch's updates of the global gradient L2 norm before clipping. */
  gradNorm: number;
  /** Mini-batches trained by this call. */
  batches: number;
  /** Samples in those mini-batches. */
  samples: number;
  /** The mini-batch a following chunk starts at. */
  nextBatch: number;
  /** Mini-batches in the whole epoch. */
  epochBatches: number;
}

/** Which batches of a dataset one `evaluateDataset` call scores (all when absent), after `carry`. */
export interface EvalRange {
  firstBatch?: number;
  maxBatches?: number;
  /** The previous call's result. */
  carry?: { total: number; weight: number };
}

/** Sums of an evaluation so far: `loss` = total / weight (the loss's own denominator). */
export interface EvalResult {
  loss: number;
  total: number;
  weight: number;
  /** The batch a following call starts at. */
  nextBatch: number;
  /** Batches in the whole dataset. */
  batches: number;
}

/** One heatmap of a trace: `units` rows over `steps` time steps, at `offset` in `TraceResult.values`. */
export interface TracePanelMeta {
  /** e.g. "layer 0 hidden state h", "block 1 layer 0 reverse gate z (update)". */
  name: string;
  /** 'output': a layer's output; 'attention': attention weights (`units` keys per query step). */
  kind: 'hidden' | 'cell' | 'gate' | 'output' | 'attention';
  /** Index of the layer in the model's `layers` list. */
  block: number;
  layer: number;
  /** 0 forward, 1 reverse. */
  direction: number;
  units: number;
  /** What produced the values: 'sigmoid' (0..1), 'tanh' (−1..1), 'relu' (≥ 0), 'none' (unbounded). */
  activation: 'sigmoid' | 'tanh' | 'relu' | 'none';
  offset: number;
}

/** Activations for one sequence: every panel's [steps, units] values concatenated in panel order. */
export interface TraceResult {
  steps: number;
  panels: TracePanelMeta[];
  values: Float32Array;
}

/**
 * A training set living in backend memory: copied in once by `Backend.createDataset` (and checked
 * there), then read in place by every `trainEpoch` / `evaluateDataset`. Use it with models of the
 * backend (and, for wasm, the instance) that made it.
 */
export interface DatasetHandle {
  /** Frees backend memory now (a running fit keeps it until it settles); a second call is a no-op. */
  dispose(): void;
  readonly disposed: boolean;
  /** Bytes held in backend memory. */
  readonly byteLength: number;
}

/** One model living in backend memory. Methods throw ERR_RNNKIT_DISPOSED after dispose(). */
export interface ModelHandle {
  /** Frees backend memory now; a second call is a no-op. */
  dispose(): void;
  readonly disposed: boolean;
  /** Canonical spec JSON with every default filled in. */
  specJson(): string;
  paramInfo(): ParamInfo[];
  /** Every layer as the core built it, in order. */
  layers(): LayerInfo[];
  /** The states the layers carry for a batch of `batch`, in order. */
  stateInfo(batch: number): StateInfo[];
  /** A copy of all parameters. */
  getParams(): Float32Array;
  setParams(flat: Float32Array): void;
  forward(x: Inputs, xDims: [number, number, number], opts?: ForwardOptions): ForwardResult;
  /** `dStates`: gradients arriving at the final states, one per `stateInfo` entry (absent = zeros). */
  backward(dOutput: Float32Array, dStates?: readonly (Float32Array | undefined)[]): BackwardResult;
  /** Train-spec JSON: {"loss", "optimizer": {"type", "lr", ...}, "clip_norm", "clip_value"}. */
  compile(trainJson: string): void;
  trainStep(batch: BatchData): number;
  /**
   * One epoch of mini-batch training entirely in the backend, on a dataset already in backend memory
   * (never copied per call). Native: runs on a libuv worker thread; other calls on this model
   * throw ERR_RNNKIT_DISPOSED ("busy") until it settles. Wasm: runs synchronously, returns a settled Promise.
   * Resolves to the mean batch loss and the mean gradient norm before clipping, with the counts and
   * running sums a following chunk needs (`firstBatch`/`maxBatches`/`carry` select a chunk).
   */
  trainEpoch(data: DatasetHandle, opts: EpochOptions): Promise<EpochResult>;
  evaluate(batch: BatchData): number;
  /**
   * The compiled loss over a dataset, `batchSize` samples at a time in the backend; `range` selects
   * batches and carries the sums of earlier ones, so a large set can be scored in chunks with the
   * same result as one call.
   */
  evaluateDataset(data: DatasetHandle, batchSize: number, range?: EvalRange): EvalResult;
  /** Streaming: x_t [batch, input] (or one int32 token id per sequence) → the output for that step, [batch, features]. */
  step(xT: Inputs, batch: number): Float32Array;
  resetState(): void;
  /**
   * Per-layer activations for ONE sequence (`xDims` with batch 1), from zero states, without
   * dropout: recurrent layers' hidden/cell states and gates, attention weights, other layers' outputs.
   */
  trace(x: Inputs, xDims: [number, number, number]): TraceResult;
}

export interface Backend {
  readonly name: BackendName;
  /** Instruction set the kernels use: 'avx512' | 'avx2' | 'scalar' | 'simd128'. */
  readonly isa: string;
  /**
   * Threads a model with `threads: 0` (the default) uses now: the cores the process may use
   * (native), 1 + the worker threads that have joined (threaded wasm), or 1.
   */
  threads(): number;
  /** Number of models and datasets not yet freed (disposed or garbage-collected). */
  liveHandles(): number;
  /** Copies a training set into backend memory once (see `DatasetHandle`). */
  createDataset(data: BatchData): DatasetHandle;
  /**
   * Spec JSON: {"batch_first", "seed", "threads", "layers": [{"type": "LSTM", "config": {...}}, ...]}
   * (the older {"blocks": [...], "head": {...}} still reads).
   */
  createModel(specJson: string): ModelHandle;
}
