/**
 * `Sequential`: a Keras-like, batch-first list of layers in any order the core accepts (e.g.
 * Embedding → Conv1D → MaxPool1D → bidirectional LSTM → AttentionPooling → Dense), living as ONE
 * backend model built at construction from `{batch_first, seed, threads, layers: [{type, config}]}`;
 * a bad order or shape mismatch is the core's error (it names `spec.layers[k].config.<key>` and both
 * shapes). Shapes, parameter counts and canonical configs come from the core. JS only validates
 * arguments and moves flat buffers: each training epoch runs as a few `trainEpoch` calls over
 * consecutive chunks of mini-batches (~150 ms each, in Rust; off the JS thread on the native
 * backend), so progress callbacks and aborts happen within an epoch. Also: streaming `step`, state
 * dicts with PyTorch names, and safetensors save/load (bytes anywhere; file paths in Node only).
 * Parts in ./model/: types.ts (public types), compile.ts (train JSON), fit.ts (fit's plan and chunked
 * epoch loop), persistence.ts (format errors, Node file I/O) and summary.ts.
 */

import type { Backend, BackendName, BatchData, LayerInfo, LayerShape, ModelHandle, ParamInfo, StateInfo } from './backend/types.js';
import { getBackend } from './backend/select.js';
import { describe, rnnkitError, shapeError, typeError, valueError, type RnnkitError } from './errors.js';
import type { Layer, LayerInput } from './layers/layer.js';
import { isLayer, layerFromJSON, LAYER_TYPES, type AnyLayer } from './layers/registry.js';
import { decodeSafetensors, encodeSafetensors, RNNKIT_VERSION, type NamedTensor } from './persist.js';
import { Dataset } from './dataset.js';
import { isTensor, Tensor, type DType, type Lengths, type Tensor1D, type Tensor2D } from './tensor.js';
import { inputDims, integerOption, nonEmptyString, optBool, optionsObject, plainObject, string, toLengths } from './validate.js';
import { compileJson, COMPILE_KEYS } from './model/compile.js';
import { disposedError, EVAL_BATCH, FIT_KEYS, firstNonFinite, fitLoop, type FitPlan } from './model/fit.js';
import { formatError, nodeIO } from './model/persistence.js';
import { shapeText, summaryTable } from './model/summary.js';
import type { CompileOptions, FitOptions, History, Loss, ModelSpec, SequentialOptions, TracePanel } from './model/types.js';

// The public types live in ./model/types.ts; re-exported so `from './model.js'` imports keep working.
export type * from './model/types.js';
export { epochSeed } from './model/fit.js';

/** Most threads a model may ask for (the core's `parallel::MAX_THREADS`). */
const MAX_THREADS = 256;

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;
const size = (p: ParamInfo) => p.shape.reduce((a, b) => a * b, 1);

/**
 * Layers are configuration: the Sequential builds one core spec from them (batch-first, seeded by
 * `options.seed`; a recurrent layer's standalone `batchFirst`, `seed` and `threads` do not apply)
 * and creates its backend model at once, on the current backend (in browsers `await ready()` first).
 * `X`, the input `predict`/`fit`/`evaluate`/`trace` take, follows the first layer: int32 token ids
 * [batch, seq] after an Embedding, float32 [batch, seq, features] otherwise (a recurrent first
 * layer also reads ids, as one-hot input).
 */
export class Sequential<X extends LayerInput = LayerInput> {
  /** The layers as given (configuration only; the model owns one backend handle). */
  readonly layers: readonly AnyLayer[];
  /** The core's canonical spec (every default and size filled in). */
  readonly #spec: ModelSpec;
  /** Every layer as the core built it (`spec.layers` order). */
  readonly #infos: readonly LayerInfo[];
  #handle: ModelHandle | undefined;
  readonly #backend: BackendName;
  /** The backend holding this model (datasets fit() makes go there too). */
  readonly #backendObject: Backend;
  #loss: Loss | undefined;
  #fitting = false;
  #disposed = false;
  /** Epochs trained so far over all fit() calls: keeps later fits from replaying earlier shuffles. */
  #epochsSeen = 0;
  /** A handle fromBytes() made (from a stored spec) for the next constructor call to adopt. */
  static #adopt: { handle: ModelHandle; backend: Backend } | undefined;

  constructor(layers: readonly [Layer<X>, ...AnyLayer[]], options?: SequentialOptions);
  constructor(layers: readonly AnyLayer[], options?: SequentialOptions);
  constructor(layers: readonly AnyLayer[], options: SequentialOptions = {}) {
    const adopt = Sequential.#adopt;
    Sequential.#adopt = undefined;
    if (!Array.isArray(layers)) throw typeError('layers', 'an array of layers', describe(layers));
    if (layers.length === 0) throw valueError('layers', 'expected at least one layer');
    layers.forEach((l, k) => {
      if (!isLayer(l)) throw typeError(`layers[${k}]`, `a layer (${LAYER_TYPES.join(', ')})`, describe(l));
    });
    optionsObject('options', options, ['seed', 'threads']);
    const seed = options.seed === undefined ? 0 : integerOption('options.seed', options.seed, 0);
    const threads = options.threads === undefined ? 0 : integerOption('options.threads', options.threads, 0, MAX_THREADS);
    this.layers = Object.freeze([...layers]);
    const backend = adopt?.backend ?? getBackend();
    const spec: ModelSpec = { batch_first: true, seed, threads, layers: layers.flatMap((l) => l.specLayers()) };
    // The core checks the order and every shape; its error names spec.layers[k].config.<key>.
    const handle = adopt?.handle ?? backend.createModel(JSON.stringify(spec));
    try {
      this.#spec = JSON.parse(handle.specJson()) as ModelSpec;
      this.#infos = handle.layers();
    } catch (e) {
      if (!adopt) handle.dispose(); // an adopted handle is its caller's to free
      throw e;
    }
    this.#handle = handle;
    this.#backend = backend.name;
    this.#backendObject = backend;
  }

  /** Threads its native computations use (`options.threads`; 0 = every available core). */
  get threads(): number {
    return this.#spec.threads;
  }

  /** The core's canonical spec of this model (a copy): every default and inferred size filled in. */
  get spec(): ModelSpec {
    return structuredClone(this.#spec);
  }

  /** Every layer as the core built it (`spec.layers` order): canonical config, input and output shapes, parameter count. */
  layerInfo(): LayerInfo[] {
    return structuredClone([...this.#infos]);
  }

  /** What the model reads (token ids, or features per step) and what it returns (a sequence or a vector per sample). */
  get io(): { input: LayerShape; output: LayerShape } {
    return { input: { ...this.#infos[0].input }, output: { ...this.#infos[this.#infos.length - 1].output } };
  }

  /** The backend this model lives on. */
  get backendName(): BackendName {
    return this.#backend;
  }

  /** The compiled loss, if compile() ran. */
  get loss(): Loss | undefined {
    return this.#loss;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Total trainable parameters (the core's count). */
  get numParameters(): number {
    return this.#infos.reduce((n, l) => n + l.params, 0);
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
  fit(data: Dataset, options?: Omit<FitOptions<X>, 'mask' | 'lengths'>): Promise<History>;
  fit(x: X, y: Tensor<DType>, options?: FitOptions<X>): Promise<History>;
  async fit(a: Dataset | X, b?: Tensor<DType> | FitOptions<X>, c?: FitOptions<X>): Promise<History> {
    if (this.#disposed) throw disposedError('fit');
    if (this.#fitting) throw this.#busyError('fit');
    this.#fitting = true; // set before the first await: a second fit() in the same tick sees it
    const owned: Dataset[] = [];
    try {
      if (a instanceof Dataset && isTensor(b)) throw typeError('options', 'an object (the dataset already holds y)', describe(b));
      const [data, options] = a instanceof Dataset ? [a, (b ?? {}) as FitOptions<X>] : [undefined, c ?? {}];
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
      return await fitLoop(this.#ensureHandle('fit'), train, val, plan, {
        disposed: () => this.#disposed,
        epochsSeen: () => this.#epochsSeen,
        epochUsed: () => void this.#epochsSeen++,
      });
    } finally {
      for (const d of owned) d.dispose();
      this.#fitting = false;
      if (this.#disposed) this.#release(); // dispose() during fit() waits for the running epoch
    }
  }

  /** fit()'s own loss/optimizer options compile the model (checked by the caller beforehand). */
  #compileFromFit(options: FitOptions<X>): void {
    if (options.loss === undefined) return;
    const { loss, optimizer, clipNorm, clipValue } = options;
    this.#ensureHandle('fit').compile(JSON.stringify(compileJson({ loss, optimizer, clipNorm, clipValue })));
    this.#loss = loss;
  }

  /** A dataset of (x, y, mask, lengths) on this model's backend, checked against it; the caller disposes it (`owned`). */
  #ownDataset(owned: Dataset[], xArg: string, yArg: string, x: unknown, y: unknown, mask: unknown, lengths: unknown, loss: Loss): Dataset {
    const batch = this.#batch(xArg, yArg, x, y, mask, lengths, loss);
    this.#ensureHandle('fit');
    const d = new Dataset(batch, (y as Tensor<DType>).shape, this.#backendObject);
    owned.push(d);
    return d;
  }

  /** Checks a dataset's backend and target kind against this model (the core checks its sizes on use). */
  #usable(arg: string, d: Dataset, loss: Loss): Dataset {
    if (d.disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', `${arg}: the dataset has been disposed`, arg);
    this.#ensureHandle('fit');
    if (d.backend !== this.#backend) {
      throw typeError(arg, `a dataset made on the '${this.#backend}' backend (this model's)`, `one made on '${d.backend}'`);
    }
    const input = this.#infos[0].input;
    if (!d.tokens && (input.kind === 'ids' || d.features !== input.features)) {
      const want = input.kind === 'ids' ? `int32 token ids (layers[0], ${this.#infos[0].type}, reads ids)` : `x with ${input.features} features per step (what layers[0] reads)`;
      throw (input.kind === 'ids' ? typeError : shapeError)(arg, want, `float32 x with ${d.features} features`);
    }
    this.#checkTargets(`${arg}.y`, d.yDtype, d.yShape, d.size, loss);
    return d;
  }

  /**
   * A target's dtype, rank, batch and feature dims against the output the core reports (its step
   * count, which convolutions and pools change, is checked by the core through the total size).
   */
  #checkTargets(arg: string, dtype: DType, shape: readonly number[], batch: number, loss: Loss): void {
    const out = this.#infos[this.#infos.length - 1].output;
    const classes = loss === 'cross_entropy';
    const features = out.kind === 'ids' ? 1 : out.features;
    const dims = out.kind === 'vector' ? [`${batch}`] : [`${batch}`, 'steps'];
    if (!classes) dims.push(`${features}`);
    const want = `[${dims.join(', ')}] (the model's output ${shapeText(out)}${classes ? ' without its class axis' : ''})`;
    if (dtype !== (classes ? 'int32' : 'float32')) {
      throw typeError(arg, classes ? "int32 class ids for loss 'cross_entropy'" : `float32 targets for loss '${loss}'`, `dtype '${dtype}'${classes ? '' : " (int32 class ids need loss 'cross_entropy')"}`);
    }
    if (shape.length !== dims.length || shape[0] !== batch || (!classes && shape[shape.length - 1] !== features)) {
      throw shapeError(arg, want, fmtShape(shape));
    }
  }

  /** fit()'s options other than data and compile ones, checked. */
  #fitPlan(options: FitOptions<X>): FitPlan {
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

  /** Runs the model on `x` (float32 [batch, seqLen, features] or int32 token ids [batch, seqLen], as its first layer reads): [batch, steps, units] or [batch, units]. */
  predict(x: X, options: { lengths?: Lengths } = {}): Tensor<'float32'> {
    const handle = this.#ensureHandle('predict');
    optionsObject('options', options, ['lengths']);
    const dims = this.#checkX('x', x);
    const lengths = options.lengths === undefined ? undefined : toLengths('options.lengths', options.lengths, dims[0], dims[1]);
    // No final states: predict() does not return them (a key/value cache would be copied for nothing).
    const out = handle.forward(x.data, dims, { ...(lengths ? { lengths } : {}), finalStates: false });
    return new Tensor(out.output, out.outputDims);
  }

  /**
   * The states the layers carry between chunks of a sequence, in order, for `batch` sequences: a
   * recurrent layer's h (and an LSTM's c), [numLayers·directions, batch, hiddenSize]; a causal
   * convolution's input history; a causal MultiHeadAttention's key/value cache (keys, values
   * [batch, cacheSize, embedDim] and steps [batch]). `forward`'s `states` follow this list.
   */
  stateInfo(batch: number): StateInfo[] {
    return this.#ensureHandle('stateInfo').stateInfo(integerOption('batch', batch, 1));
  }

  /**
   * Inference that carries states explicitly, for a long sequence run in chunks: `states` (one
   * Float32Array per `stateInfo(batch)` entry; an absent one is zeros) in, the output and the final
   * states out, ready for the next chunk. Chunk after chunk equals one predict() on the whole.
   */
  forward(x: X, options: { states?: readonly (Float32Array | undefined)[]; lengths?: Lengths } = {}): { output: Tensor<'float32'>; states: Float32Array[] } {
    const handle = this.#ensureHandle('forward');
    optionsObject('options', options, ['states', 'lengths']);
    const dims = this.#checkX('x', x);
    const states = options.states;
    if (states !== undefined) {
      if (!Array.isArray(states)) throw typeError('options.states', 'an array of Float32Array (one per stateInfo(batch) entry)', describe(states));
      const want = handle.stateInfo(dims[0]).length;
      if (states.length !== want) throw shapeError('options.states', `${want} entries (stateInfo(${dims[0]}))`, `${states.length}`);
      states.forEach((st, i) => {
        if (st !== undefined && !(st instanceof Float32Array)) throw typeError(`options.states[${i}]`, 'a Float32Array or undefined', describe(st));
      });
    }
    const lengths = options.lengths === undefined ? undefined : toLengths('options.lengths', options.lengths, dims[0], dims[1]);
    const out = handle.forward(x.data, dims, { ...(states ? { states } : {}), ...(lengths ? { lengths } : {}) });
    // Copies: the backend's states may be views of one buffer.
    return { output: new Tensor(out.output, out.outputDims), states: out.states.map((st) => st.slice()) };
  }

  /** The compiled loss on a `dataset()` or on (x, y), without updating the weights. */
  evaluate(data: Dataset, options?: { batchSize?: number }): number;
  evaluate(x: X, y: Tensor<DType>, options?: { mask?: Tensor2D; lengths?: Lengths }): number;
  evaluate(a: Dataset | X, b?: Tensor<DType> | { batchSize?: number }, c: { mask?: Tensor2D; lengths?: Lengths } = {}): number {
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
    return handle.evaluate(this.#batch('x', 'y', a, b, c.mask, c.lengths));
  }

  /**
   * Streaming inference: one step `xT` [batch, features] — or one int32 token id per sequence,
   * [batch], for a model that reads ids (an Embedding first, or a recurrent first layer reading ids as
   * one-hot rows) — from the states the backend keeps (every recurrent layer's h/c, a causal
   * convolution's history, a causal attention's key/value cache; `resetState()` zeroes them) → the
   * output for that step, [batch, units].
   */
  step(xT: Tensor2D | Tensor1D<'int32'>): Tensor2D {
    const handle = this.#ensureHandle('step');
    if (!isTensor(xT)) throw typeError('xT', 'a float32 Tensor2D [batch, features] or an int32 Tensor1D of ids [batch]', describe(xT));
    const input = this.#infos[0].input;
    let batch: number;
    if (xT.dtype === 'int32') {
      if (xT.shape.length !== 1 || xT.shape[0] < 1) throw shapeError('xT', 'one token id per sequence: [batch >= 1]', fmtShape(xT.shape));
      batch = xT.shape[0];
    } else {
      if (input.kind === 'ids') throw typeError('xT', `int32 token ids [batch] (layers[0] is an ${this.#infos[0].type})`, "dtype 'float32'");
      if (xT.shape.length !== 2 || xT.shape[0] < 1 || xT.shape[1] !== input.features) {
        throw shapeError('xT', `[batch >= 1, ${input.features}] (the features layers[0] reads)`, fmtShape(xT.shape));
      }
      batch = xT.shape[0];
    }
    const out = handle.step(xT.data, batch);
    return new Tensor(out, [batch, out.length / batch] as const);
  }

  /**
   * The inside of the network for ONE sequence `x` ([1, seqLen, features] or ids [1, seqLen]), from
   * zero states and without dropout, for plots: per recurrent layer, stack layer and direction the
   * hidden state h, the LSTM cell state c and each gate (LSTM i, f, g, o; GRU r, z, n); attention
   * weights ('attention'); other layers' outputs ('output'). Each panel is [steps, units].
   */
  trace(x: X): { steps: number; panels: TracePanel[] } {
    const handle = this.#ensureHandle('trace');
    const dims = this.#checkX('x', x);
    if (dims[0] !== 1) throw shapeError('x', x.dtype === 'int32' ? 'one sequence [1, seqLen]' : `one sequence [1, seqLen, ${dims[2]}]`, fmtShape(x.shape));
    const t = handle.trace(x.data, dims);
    // Panels are concatenated in order; each one's rows run to the next one's offset (a pooled
    // sequence has fewer steps than the input, a vector one).
    const panels = t.panels.map((p, i) => {
      const end = i + 1 < t.panels.length ? t.panels[i + 1].offset : t.values.length;
      return {
        name: p.name,
        kind: p.kind,
        units: p.units,
        steps: (end - p.offset) / p.units,
        activation: p.activation,
        block: p.block,
        layer: p.layer,
        direction: p.direction,
        values: t.values.slice(p.offset, end),
      };
    });
    return { steps: t.steps, panels };
  }

  /** Forgets the streaming state kept by step(). */
  resetState(): void {
    if (this.#disposed) throw disposedError('resetState');
    this.#handle?.resetState();
  }

  /**
   * Copies of all parameters keyed by name: bare PyTorch names when one layer has parameters, else
   * prefixed by the index among the layers that have some ('0.weight_ih_l0', ..., '1.weight').
   */
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

  /**
   * Rebuilds a model from toBytes()/save() output, on the current backend: the core builds it from
   * the stored spec (the layers format, or the older {blocks, head} one), then `layers` are made
   * from the core's canonical configs through the layer registry.
   */
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
    const backend = getBackend();
    let model: Sequential;
    try {
      const handle = backend.createModel(metadata.spec);
      try {
        const spec = JSON.parse(handle.specJson()) as ModelSpec;
        const layers = handle.layers().map((l, k) => layerFromJSON({ type: l.type, config: l.config }, `spec.layers[${k}]`));
        Sequential.#adopt = { handle, backend };
        model = new Sequential(layers, { seed: spec.seed, threads: spec.threads });
      } catch (e) {
        Sequential.#adopt = undefined;
        handle.dispose();
        throw e;
      }
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
    nonEmptyString('path', path);
    const bytes = this.toBytes(metadata);
    const io = await nodeIO('save');
    await io.writeFileAtomic(path, bytes);
  }

  /** Node: reads a file written by save(). */
  static async load(path: string): Promise<Sequential> {
    nonEmptyString('path', path);
    const io = await nodeIO('load');
    return Sequential.fromBytes(await io.readFileBytes(path));
  }

  /** A table of the layers as the core built them: canonical configs, output shapes and parameter counts. */
  summary(): string {
    return summaryTable(this.#infos, this.#spec.seed);
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

  /** The backend model (ERR_RNNKIT_DISPOSED once disposed). */
  #ensureHandle(op: string): ModelHandle {
    if (this.#disposed || this.#handle === undefined) throw disposedError(op);
    return this.#handle;
  }

  /** Core dims of `x`: [batch, seqLen, features], or [batch, seqLen, 1] for int32 token ids; the core checks them against the first layer. */
  #checkX(arg: string, x: unknown): [number, number, number] {
    return inputDims(arg, x);
  }

  /**
   * One (x, y, mask, lengths) set as backend data. Checked here: kinds, ranks and the dims the core
   * cannot see in flat arrays (y's batch and features); the core checks sizes, values, ids and
   * classes against the model and the compiled loss.
   */
  #batch(xArg: string, yArg: string, x: unknown, y: unknown, mask: unknown, lengths: unknown, loss: Loss = this.#loss!): BatchData {
    const xDims = this.#checkX(xArg, x);
    const [n, t] = xDims;
    if (!isTensor(y)) throw typeError(yArg, loss === 'cross_entropy' ? 'an int32 Tensor of class ids' : 'a float32 Tensor', describe(y));
    this.#checkTargets(yArg, y.dtype, y.shape, n, loss);
    const batch: BatchData = { x: (x as Tensor<DType>).data, xDims, y: y.data };
    if (mask !== undefined) {
      if (this.io.output.kind !== 'sequence') {
        throw valueError('options.mask', `a per-step mask needs sequence outputs, but the model returns ${shapeText(this.io.output)} (its last layers reduce the steps)`);
      }
      if (!isTensor(mask) || mask.dtype !== 'float32' || mask.rank !== 2) throw typeError('options.mask', `a float32 Tensor2D [${n}, steps]`, describe(mask));
      if (mask.shape[0] !== n) throw shapeError('options.mask', `[${n}, steps] (batch of ${xArg})`, fmtShape(mask.shape));
      batch.mask = mask.data as Float32Array;
    }
    if (lengths !== undefined) batch.lengths = toLengths('options.lengths', lengths, n, t);
    return batch;
  }
}
