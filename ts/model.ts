/**
 * `Sequential`: a Keras-like, batch-first stack of recurrent layers (RNN/LSTM/GRU) with an optional
 * Dense head, living as ONE backend model. JS only validates arguments and moves flat buffers: each
 * training epoch runs as a few `trainEpoch` calls over consecutive chunks of mini-batches (forward,
 * loss, BPTT, update for every mini-batch in Rust; off the JS thread on the native backend), each
 * chunk sized to take ~150 ms, so progress callbacks and aborts happen within an epoch, and results
 * equal one whole-epoch call bit for bit. Also: streaming `step`, state dicts with PyTorch names,
 * and safetensors save/load (bytes anywhere; file paths in Node only).
 * This file is the class; its parts are in ./model/: types.ts (public types), compile.ts (train JSON),
 * fit.ts (fit's plan and chunked epoch loop with validation), spec.ts (sizes and parameter counts),
 * persistence.ts (spec → layers, Node file I/O) and summary.ts.
 */

import type { Backend, BackendName, BatchData, ModelHandle } from './backend/types.js';
import { getBackend } from './backend/select.js';
import { describe, rnnkitError, shapeError, typeError, valueError, type RnnkitError } from './errors.js';
import { Dense, RecurrentLayer, type BlockSpec, type HeadSpec, type Layer } from './layers.js';
import { decodeSafetensors, encodeSafetensors, RNNKIT_VERSION, type NamedTensor } from './persist.js';
import { Dataset, type SequenceInput } from './dataset.js';
import { isTensor, Tensor, type DType, type Lengths, type Tensor2D, type Tensor3D } from './tensor.js';
import { inputDims, integerOption, nonEmptyString, optBool, optionsObject, plainObject, string, toLengths } from './validate.js';
import { compileJson, COMPILE_KEYS } from './model/compile.js';
import { disposedError, EVAL_BATCH, FIT_KEYS, firstNonFinite, fitLoop, type FitPlan } from './model/fit.js';
import { formatError, layersFromSpec, nodeIO } from './model/persistence.js';
import { blockParams, headParams, normaliseBlock, normaliseHead, outputSize, size } from './model/spec.js';
import { summaryTable } from './model/summary.js';
import type { CompileOptions, FitOptions, History, Loss, ModelSpec, SequentialOptions, TracePanel } from './model/types.js';

// The public types live in ./model/types.ts; re-exported so `from './model.js'` imports keep working.
export type * from './model/types.js';
export { epochSeed } from './model/fit.js';

/** Most threads a model may ask for (the core's `parallel::MAX_THREADS`). */
const MAX_THREADS = 256;

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

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

  /** A table of layers, output shapes and parameter counts. */
  summary(): string {
    return summaryTable(this.#spec, this.numParameters);
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
  // Checked like any input before it exists: at most 2^31 elements, as the core allows.
  if (ids.length * width > 2 ** 31) throw shapeError('x', `at most 2^31 one-hot elements (seqLen × ${width})`, `[1, ${ids.length}]`);
  const x = new Float32Array(ids.length * width);
  ids.forEach((id, t) => (x[t * width + id] = 1));
  return [x, [1, ids.length, width]];
}
