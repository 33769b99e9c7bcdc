/**
 * Recurrent layers with PyTorch's names, defaults, shapes and parameter names (`RNN`, `LSTM`, `GRU`),
 * and the `Dense` head used as the last layer of a Sequential. Options are validated here, in TS, so
 * a typo fails at construction with the option's name; the backend model is created lazily on first
 * use, so layers handed to a Sequential never allocate. All math happens in the backend.
 */

import { describe, rnnkitError, shapeError, typeError, valueError } from './errors.js';
import { getBackend } from './backend/select.js';
import type { Backend, BackendName, ForwardOptions as BackendForwardOptions, ModelHandle, ParamInfo } from './backend/types.js';
import { formatShape, Tensor, type Lengths, type Tensor3D } from './tensor.js';
import { choice, expectShape, expectTensor, expectTensor3D, integer, knownKeys, optBool, positiveInt, toLengths } from './validate.js';

export type CellName = 'rnn_tanh' | 'rnn_relu' | 'rnn_sigmoid' | 'lstm' | 'gru';
export type WeightInit = 'uniform' | 'xavier';
export type RecurrentInit = 'uniform' | 'xavier' | 'orthogonal';

export interface RecurrentOptions {
  /** Features per step of `x`. Optional inside a Sequential (inferred) and for a lone layer (taken from the first input). */
  inputSize?: number;
  hiddenSize: number;
  /** Stacked layers. Default 1. */
  numLayers?: number;
  /** Default true. */
  bias?: boolean;
  /** x and output as [batch, seq, features] instead of [seq, batch, features]. Default false. */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, training only, in [0, 1). Default 0. */
  dropout?: number;
  /** Default false. */
  bidirectional?: boolean;
  /** Seeds initialisation and dropout of a standalone layer (a Sequential uses its own seed). Default 0. */
  seed?: number;
  /**
   * Threads for a standalone layer's native computations (a Sequential uses its own `threads`):
   * 0 or absent = every available core; at most 256. Results are bit-identical whatever the value;
   * the wasm backend always runs one thread.
   */
  threads?: number;
  /** Input weights: 'uniform' is PyTorch's U(-1/√H, 1/√H). Default 'uniform'. */
  weightInit?: WeightInit;
  /** Recurrent weights. Default 'uniform'. */
  recurrentInit?: RecurrentInit;
}

export interface RNNOptions extends RecurrentOptions {
  /** Default 'tanh'; 'sigmoid' is Elman's original form. */
  nonlinearity?: 'tanh' | 'relu' | 'sigmoid';
}

/** Options with every default filled in. `inputSize` stays undefined until known. */
export interface RecurrentConfig {
  inputSize: number | undefined;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  dropout: number;
  bidirectional: boolean;
  seed: number;
  /** 0 = every available core. */
  threads: number;
  weightInit: WeightInit;
  recurrentInit: RecurrentInit;
}

export interface RNNConfig extends RecurrentConfig {
  nonlinearity: 'tanh' | 'relu' | 'sigmoid';
}

/** The core's JSON block spec (crates/rnnkit-core/src/spec.rs). */
export interface BlockSpec {
  cell: CellName;
  input_size: number;
  hidden_size: number;
  num_layers: number;
  bidirectional: boolean;
  bias: boolean;
  dropout: number;
  weight_init: WeightInit;
  recurrent_init: RecurrentInit;
}

export interface ForwardOptions {
  /** Initial hidden state [numLayers·directions, batch, hiddenSize]; zeros when absent. */
  h0?: Tensor3D;
  /** Valid steps per sequence, each in 1..seqLen: outputs past it are zero, `h` is the state at the last valid step. */
  lengths?: Lengths;
  /** Keep activations for backward() and apply dropout. Default false. */
  training?: boolean;
}
export interface LSTMForwardOptions extends ForwardOptions {
  /** Initial cell state, shaped like h0. */
  c0?: Tensor3D;
}

export interface RecurrentOutput {
  /** [seqLen, batch, directions·hiddenSize], or [batch, seqLen, ...] with batchFirst. */
  output: Tensor3D;
  /** Final hidden state [numLayers·directions, batch, hiddenSize]. */
  h: Tensor3D;
}
export interface LSTMOutput extends RecurrentOutput {
  c: Tensor3D;
}

export interface BackwardOptions {
  /** Gradient flowing into the final hidden state h; zeros when absent. */
  dh?: Tensor3D;
}
export interface LSTMBackwardOptions extends BackwardOptions {
  dc?: Tensor3D;
}

export interface RecurrentGradients {
  /** Shaped like x. */
  dx: Tensor3D;
  /** Shaped like h0. */
  dh0: Tensor3D;
  /** Keyed by PyTorch parameter name, shaped like the parameter. */
  grads: Record<string, Tensor>;
}
export interface LSTMGradients extends RecurrentGradients {
  dc0: Tensor3D;
}

export interface LoadStateDictOptions {
  /** Every parameter must be present (default true); false keeps the current value of missing ones. */
  strict?: boolean;
}

// ---- option validation ----------------------------------------------------------------------------

function checkOptionsObject(layer: string, options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError('options', `an options object for ${layer}`, describe(options));
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw valueError(key, `unknown ${layer} option; expected one of ${allowed.join(', ')}`);
    }
  }
  return options as Record<string, unknown>;
}

/** Most threads a layer may ask for (the core's `parallel::MAX_THREADS`). */
const MAX_THREADS = 256;

const RECURRENT_KEYS = [
  'inputSize',
  'hiddenSize',
  'numLayers',
  'bias',
  'batchFirst',
  'dropout',
  'bidirectional',
  'seed',
  'threads',
  'weightInit',
  'recurrentInit',
] as const;

function resolveRecurrent(layer: string, options: unknown, extraKeys: readonly string[] = []): [RecurrentConfig, Record<string, unknown>] {
  const o = checkOptionsObject(layer, options, [...RECURRENT_KEYS, ...extraKeys]);
  const dropout = o.dropout ?? 0;
  if (typeof dropout !== 'number') throw typeError('dropout', 'a number in [0, 1)', describe(dropout));
  if (!(dropout >= 0 && dropout < 1)) throw valueError('dropout', `expected a value in [0, 1), got ${dropout}`);
  const seed = integer('seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  // 0 = all available cores.
  const threads = integer('threads', o.threads ?? 0, 0, MAX_THREADS);
  const config: RecurrentConfig = {
    inputSize: positiveInt('inputSize', o.inputSize, false),
    hiddenSize: positiveInt('hiddenSize', o.hiddenSize, true) as number,
    numLayers: positiveInt('numLayers', o.numLayers ?? 1, true) as number,
    bias: optBool('bias', o.bias, true),
    batchFirst: optBool('batchFirst', o.batchFirst, false),
    dropout,
    bidirectional: optBool('bidirectional', o.bidirectional, false),
    seed,
    threads,
    weightInit: choice('weightInit', o.weightInit, ['uniform', 'xavier'] as const, 'uniform'),
    recurrentInit: choice('recurrentInit', o.recurrentInit, ['uniform', 'xavier', 'orthogonal'] as const, 'uniform'),
  };
  return [config, o];
}

// ---- the recurrent layers -------------------------------------------------------------------------

interface LastTrainingForward {
  xShape: readonly [number, number, number];
  outputShape: readonly [number, number, number];
  batch: number;
}

interface RunOptions {
  h0?: unknown;
  c0?: unknown;
  lengths?: unknown;
  training?: unknown;
}

/**
 * What RNN, LSTM and GRU share: option handling, the lazily created backend model, forward/backward
 * argument checks, and state-dict conversion. Subclasses only name their cell and type their results.
 */
export abstract class RecurrentLayer<C extends RecurrentConfig = RecurrentConfig> {
  #config: Readonly<C>;
  #backend: Backend | undefined;
  #handle: ModelHandle | undefined;
  #params: readonly ParamInfo[] = [];
  #disposed = false;
  #last: LastTrainingForward | undefined;

  protected constructor(config: C) {
    this.#config = Object.freeze({ ...config });
  }

  /** The core's cell name, e.g. 'lstm' or 'rnn_tanh'. */
  abstract get cell(): CellName;

  /** The resolved options (every default filled in; inputSize once known). */
  get config(): Readonly<C> {
    return this.#config;
  }

  /** 2 if bidirectional, else 1. */
  get directions(): number {
    return this.#config.bidirectional ? 2 : 1;
  }

  /** Features per output step: directions · hiddenSize. */
  get outputSize(): number {
    return this.directions * this.#config.hiddenSize;
  }

  /** Rows of h0/h (and c0/c): numLayers · directions. */
  get stateRows(): number {
    return this.#config.numLayers * this.directions;
  }

  /** Gate blocks per weight matrix: 4 (LSTM), 3 (GRU), 1 (RNN). */
  get gates(): number {
    return this.cell === 'lstm' ? 4 : this.cell === 'gru' ? 3 : 1;
  }

  /** Parameter count for a given input size (mirrors crates/rnnkit-core/src/params.rs). */
  paramCount(inputSize: number | undefined = this.#config.inputSize): number {
    const n = positiveInt('inputSize', inputSize, false);
    if (n === undefined) throw valueError('inputSize', 'is not known yet: pass it in the options or run forward() once');
    const { hiddenSize: h, numLayers, bias } = this.#config;
    const g = this.gates * h;
    let total = 0;
    for (let l = 0; l < numLayers; l++) {
      const input = l === 0 ? n : this.outputSize;
      total += this.directions * (g * input + g * h + (bias ? 2 * g : 0));
    }
    return total;
  }

  /** Number of trainable values (needs inputSize). */
  get numParameters(): number {
    return this.paramCount();
  }

  /** The backend this layer's model lives on (or would be created on, if not created yet). */
  get backendName(): BackendName {
    return (this.#backend ?? getBackend()).name;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * The core's block spec. `inputSize` is what feeds this layer (a Sequential passes the previous
   * layer's output size); it must agree with the options' inputSize when both are given.
   */
  toBlockSpec(inputSize?: number): BlockSpec {
    const given = positiveInt('inputSize', inputSize, false);
    const own = this.#config.inputSize;
    if (given !== undefined && own !== undefined && given !== own) {
      throw shapeError('inputSize', `${given} (the size of this layer's input)`, `${own} (set in the ${this.constructor.name} options)`);
    }
    const resolved = given ?? own;
    if (resolved === undefined) {
      throw valueError('inputSize', `is required: pass inputSize in the ${this.constructor.name} options`);
    }
    const c = this.#config;
    return {
      cell: this.cell,
      input_size: resolved,
      hidden_size: c.hiddenSize,
      num_layers: c.numLayers,
      bidirectional: c.bidirectional,
      bias: c.bias,
      dropout: c.dropout,
      weight_init: c.weightInit,
      recurrent_init: c.recurrentInit,
    };
  }

  /** The core model spec of this layer alone: {batch_first, seed, blocks: [block], head: null, threads}. */
  toModelSpec(inputSize?: number): { batch_first: boolean; seed: number; blocks: BlockSpec[]; head: null; threads: number } {
    const c = this.#config;
    return { batch_first: c.batchFirst, seed: c.seed, blocks: [this.toBlockSpec(inputSize)], head: null, threads: c.threads };
  }

  #checkAlive(): void {
    if (this.#disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', `${this.constructor.name} has been disposed`);
  }

  /** The backend model, created on first use (with `inputSize`, or the first input's size if unknown). */
  #model(inputSize?: number): ModelHandle {
    this.#checkAlive();
    if (this.#handle) return this.#handle;
    if (this.#config.inputSize === undefined && inputSize !== undefined) {
      this.#config = Object.freeze({ ...this.#config, inputSize });
    }
    const spec = JSON.stringify(this.toModelSpec());
    const backend = getBackend();
    const handle = backend.createModel(spec);
    this.#backend = backend;
    this.#handle = handle;
    this.#params = handle.paramInfo();
    return handle;
  }

  /** The x layout for messages. */
  #layout(): string {
    return this.#config.batchFirst ? '[batch, seqLen, inputSize]' : '[seqLen, batch, inputSize]';
  }

  #stateShape(batch: number): [number, number, number] {
    return [this.stateRows, batch, this.#config.hiddenSize];
  }

  #checkState(arg: string, value: unknown, batch: number): Float32Array {
    expectTensor3D(arg, value, '[numLayers·directions, batch, hiddenSize]');
    expectShape(arg, value, this.#stateShape(batch), '= [numLayers·directions, batch (as in x), hiddenSize]');
    return value.data;
  }

  protected run(x: unknown, opts: RunOptions | undefined): { output: Tensor3D; h: Tensor3D; c?: Tensor3D } {
    this.#checkAlive();
    const isLstm = this.cell === 'lstm';
    expectTensor3D('x', x, this.#layout());
    const [d0, d1, d2] = x.shape;
    const own = this.#config.inputSize;
    if (own !== undefined && d2 !== own) {
      throw shapeError('x', `last dim ${own} (inputSize) in ${this.#layout()}`, `shape ${formatShape(x.shape)}`);
    }
    const [seqLen, batch] = this.#config.batchFirst ? [d1, d0] : [d0, d1];
    const o = opts ?? {};
    if (o === null || typeof o !== 'object') throw typeError('opts', 'an options object', describe(o));
    knownKeys('opts', o, isLstm ? ['h0', 'c0', 'lengths', 'training'] : ['h0', 'lengths', 'training']);
    const args: BackendForwardOptions = {};
    // A lone recurrent layer's states are [h] or, for an LSTM, [h, c].
    const h0 = o.h0 === undefined ? undefined : this.#checkState('h0', o.h0, batch);
    const c0 = o.c0 === undefined ? undefined : this.#checkState('c0', o.c0, batch);
    if (h0 || c0) args.states = isLstm ? [h0, c0] : [h0];
    if (o.lengths !== undefined) args.lengths = toLengths('lengths', o.lengths, batch, seqLen);
    const training = optBool('training', o.training, false);
    args.training = training;

    const handle = this.#model(d2);
    // Any forward replaces the one backward() would differentiate; only a training one can be.
    this.#last = undefined;
    const res = handle.forward(x.data, [d0, d1, d2], args);
    const dims = res.outputDims;
    if (dims.length !== 3) {
      throw rnnkitError('ERR_RNNKIT_INTERNAL', `forward: backend returned output dims ${formatShape(dims)}, expected 3 dims`);
    }
    const outputShape = [dims[0], dims[1], dims[2]] as const;
    const output = new Tensor(res.output, outputShape);
    const h = new Tensor(res.states[0].slice(), this.#stateShape(batch));
    const out: { output: Tensor3D; h: Tensor3D; c?: Tensor3D } = { output, h };
    if (isLstm) out.c = new Tensor(res.states[1].slice(), this.#stateShape(batch));
    if (training) this.#last = { xShape: [d0, d1, d2], outputShape, batch };
    return out;
  }

  protected runBackward(dOutput: unknown, opts: { dh?: unknown; dc?: unknown } | undefined): {
    dx: Tensor3D;
    dh0: Tensor3D;
    dc0?: Tensor3D;
    grads: Record<string, Tensor>;
  } {
    this.#checkAlive();
    const isLstm = this.cell === 'lstm';
    const last = this.#last;
    if (!this.#handle || !last) {
      throw valueError('dOutput', 'backward() needs a preceding forward(x, { training: true }) (the last forward was not a training one)');
    }
    expectTensor3D('dOutput', dOutput, '(shaped like the last output)');
    expectShape('dOutput', dOutput, last.outputShape, '(the shape of the last forward output)');
    const o = opts ?? {};
    if (o === null || typeof o !== 'object') throw typeError('opts', 'an options object', describe(o));
    knownKeys('opts', o, isLstm ? ['dh', 'dc'] : ['dh']);
    const dh = o.dh === undefined ? undefined : this.#checkState('dh', o.dh, last.batch);
    const dc = o.dc === undefined ? undefined : this.#checkState('dc', o.dc, last.batch);

    const res = this.#handle.backward(dOutput.data, dh || dc ? (isLstm ? [dh, dc] : [dh]) : undefined);
    const grads: Record<string, Tensor> = {};
    for (const p of this.#params) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      grads[p.name] = new Tensor(res.grads.slice(p.offset, p.offset + n), p.shape);
    }
    const out: { dx: Tensor3D; dh0: Tensor3D; dc0?: Tensor3D; grads: Record<string, Tensor> } = {
      dx: new Tensor(res.dx, last.xShape),
      dh0: new Tensor(res.dStates[0].slice(), this.#stateShape(last.batch)),
      grads,
    };
    if (isLstm) out.dc0 = new Tensor(res.dStates[1].slice(), this.#stateShape(last.batch));
    return out;
  }

  /** Names and shapes of the parameters, PyTorch order (creates the model if needed). */
  parameterInfo(): { name: string; shape: number[] }[] {
    this.#model();
    return this.#params.map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  /** A copy of every parameter, keyed by PyTorch name (weight_ih_l0, ..., bias_hh_l1_reverse). */
  stateDict(): Record<string, Tensor> {
    const handle = this.#model();
    const flat = handle.getParams();
    const out: Record<string, Tensor> = {};
    for (const p of this.#params) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      out[p.name] = new Tensor(flat.slice(p.offset, p.offset + n), p.shape);
    }
    return out;
  }

  /**
   * Replaces parameters from `dict` (Float32Array or float32 Tensor per PyTorch name). Everything is
   * checked before anything is written: unknown keys, missing keys (strict), sizes, shapes of
   * Tensors, non-finite values; the error names the key.
   */
  loadStateDict(dict: Record<string, Float32Array | Tensor>, opts: LoadStateDictOptions = {}): void {
    const handle = this.#model();
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || ArrayBuffer.isView(dict) || dict instanceof Tensor) {
      throw typeError('stateDict', 'an object mapping parameter names to Float32Array or Tensor', describe(dict));
    }
    if (opts === null || typeof opts !== 'object') throw typeError('opts', 'an options object', describe(opts));
    knownKeys('opts', opts, ['strict']);
    const strict = optBool('strict', opts.strict, true);
    const byName = new Map(this.#params.map((p) => [p.name, p]));
    const names = this.#params.map((p) => p.name).join(', ');
    for (const key of Object.keys(dict)) {
      if (!byName.has(key)) throw valueError(key, `unknown parameter for this ${this.constructor.name}; expected one of ${names}`);
    }
    if (strict) {
      for (const p of this.#params) {
        if (!Object.prototype.hasOwnProperty.call(dict, p.name)) {
          throw valueError(p.name, 'missing from the state dict (pass { strict: false } to load a subset)');
        }
      }
    }
    const flat = handle.getParams();
    for (const key of Object.keys(dict)) {
      const p = byName.get(key) as ParamInfo;
      const n = p.shape.reduce((a, b) => a * b, 1);
      const v: unknown = dict[key];
      let data: Float32Array;
      if (v instanceof Tensor) {
        expectTensor(key, v, 'float32');
        expectShape(key, v, p.shape);
        data = v.data;
      } else if (v instanceof Float32Array) {
        if (v.length !== n) throw shapeError(key, `${n} values (shape ${formatShape(p.shape)})`, `Float32Array(${v.length})`);
        data = v;
      } else {
        throw typeError(key, 'a Float32Array or float32 Tensor', describe(v));
      }
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw valueError(key, `non-finite value ${data[i]} at index ${i}`);
      }
      flat.set(data, p.offset);
    }
    handle.setParams(flat);
  }

  /** Frees the backend model now; later use throws ERR_RNNKIT_DISPOSED. A second call is a no-op. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#last = undefined;
    this.#handle?.dispose();
    this.#handle = undefined;
  }
}

/** Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh | relu | sigmoid. */
export class RNN extends RecurrentLayer<RNNConfig> {
  constructor(options: RNNOptions) {
    const [base, o] = resolveRecurrent('RNN', options, ['nonlinearity']);
    super({ ...base, nonlinearity: choice('nonlinearity', o.nonlinearity, ['tanh', 'relu', 'sigmoid'] as const, 'tanh') });
  }
  get cell(): CellName {
    return `rnn_${this.config.nonlinearity}`;
  }
  forward(x: Tensor3D, opts?: ForwardOptions): RecurrentOutput {
    return this.run(x, opts);
  }
  backward(dOutput: Tensor3D, opts?: BackwardOptions): RecurrentGradients {
    return this.runBackward(dOutput, opts);
  }
}

/** LSTM, PyTorch gate order i, f, g, o. */
export class LSTM extends RecurrentLayer<RecurrentConfig> {
  constructor(options: RecurrentOptions) {
    super(resolveRecurrent('LSTM', options)[0]);
  }
  get cell(): CellName {
    return 'lstm';
  }
  forward(x: Tensor3D, opts?: LSTMForwardOptions): LSTMOutput {
    return this.run(x, opts) as LSTMOutput;
  }
  backward(dOutput: Tensor3D, opts?: LSTMBackwardOptions): LSTMGradients {
    return this.runBackward(dOutput, opts) as LSTMGradients;
  }
}

/** GRU, PyTorch gate order r, z, n with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)). */
export class GRU extends RecurrentLayer<RecurrentConfig> {
  constructor(options: RecurrentOptions) {
    super(resolveRecurrent('GRU', options)[0]);
  }
  get cell(): CellName {
    return 'gru';
  }
  forward(x: Tensor3D, opts?: ForwardOptions): RecurrentOutput {
    return this.run(x, opts);
  }
  backward(dOutput: Tensor3D, opts?: BackwardOptions): RecurrentGradients {
    return this.runBackward(dOutput, opts);
  }
}

// ---- dense head --------------------------------------------------------------------------------------

export type DenseActivation = 'identity' | 'sigmoid' | 'tanh' | 'softmax';

export interface DenseOptions {
  units: number;
  /** Default 'identity'. */
  activation?: DenseActivation;
  /** Default true. */
  bias?: boolean;
  /** true: applied at every step ([batch, seq, units]); false: at each sequence's last valid step ([batch, units]). Default true. */
  returnSequences?: boolean;
}

export interface DenseConfig {
  units: number;
  activation: DenseActivation;
  bias: boolean;
  returnSequences: boolean;
}

export interface HeadSpec {
  units: number;
  activation: DenseActivation;
  bias: boolean;
  return_sequences: boolean;
}

/** `y = act(x Wᵀ + b)` like `nn.Linear` (+ activation); only as the last layer of a Sequential. */
export class Dense {
  readonly config: Readonly<DenseConfig>;

  constructor(options: DenseOptions) {
    const o = checkOptionsObject('Dense', options, ['units', 'activation', 'bias', 'returnSequences']);
    this.config = Object.freeze({
      units: positiveInt('units', o.units, true) as number,
      activation: choice('activation', o.activation, ['identity', 'sigmoid', 'tanh', 'softmax'] as const, 'identity'),
      bias: optBool('bias', o.bias, true),
      returnSequences: optBool('returnSequences', o.returnSequences, true),
    });
  }

  /** Parameters for `inFeatures` inputs: weight [units, inFeatures] (+ bias [units]). */
  paramCount(inFeatures: number): number {
    const n = positiveInt('inFeatures', inFeatures, true) as number;
    return this.config.units * n + (this.config.bias ? this.config.units : 0);
  }

  /** The core's head spec (crates/rnnkit-core/src/spec.rs). */
  toHeadSpec(): HeadSpec {
    const c = this.config;
    return { units: c.units, activation: c.activation, bias: c.bias, return_sequences: c.returnSequences };
  }
}

export type Layer = RNN | LSTM | GRU | Dense;
