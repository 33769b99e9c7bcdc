/**
 * What RNN, LSTM and GRU share: their options (PyTorch's names and defaults, the core's keys in
 * crates/rnnkit-core/src/layers/recurrent.rs) and the standalone use of one layer outside a
 * Sequential — forward/backward/stateDict on a backend model of this layer alone, created on first
 * use. The backend carries states as the list `stateInfo(batch)` describes; here h0/c0 go onto that
 * list and the results' states come back as h/c. Subclasses only type their results.
 */

import { describe, rnnkitError, shapeError, typeError, valueError } from '../errors.js';
import { getBackend } from '../backend/select.js';
import type { Backend, BackendName, ForwardOptions as BackendForwardOptions, LayerInfo, ModelHandle, ParamInfo, StateInfo } from '../backend/types.js';
import { formatShape, Tensor, type Lengths, type Tensor2D, type Tensor3D } from '../tensor.js';
import { expectShape, expectTensor, expectTensor3D, integer, knownKeys, optBool, toLengths } from '../validate.js';
import { bool, num, oneOf, size, type Fields } from './fields.js';
import { Layer } from './layer.js';

export type WeightInit = 'uniform' | 'xavier';
export type RecurrentInit = 'uniform' | 'xavier' | 'orthogonal';

export interface RecurrentOptions {
  /** Features per step of `x`. Inferred inside a Sequential and, for a lone layer, from the first input. */
  inputSize?: number;
  hiddenSize: number;
  /** Stacked layers. Default 1. */
  numLayers?: number;
  /** Default true. */
  bias?: boolean;
  /** Dropout on the outputs of every layer but the last, training only, in [0, 1). Default 0. */
  dropout?: number;
  /**
   * Recurrent (variational) dropout, training only, in [0, 1): per sequence, layer and direction one
   * mask over the hidden units, drawn once per forward, on h_{t−1} where it enters the recurrent
   * product (Keras `recurrent_dropout`; the carried state is not masked). Not on the reset-before GRU
   * (`resetAfter: false`). Default 0.
   */
  recurrentDropout?: number;
  /** Default false. Same as `direction: 'bidirectional'`; giving both, they must agree. */
  bidirectional?: boolean;
  /**
   * Default 'forward'. 'reverse' runs the one direction from each sequence's last valid step to its
   * first (Keras `go_backwards`, ONNX `direction="reverse"`) and writes every output at its own time
   * index, as PyTorch's reverse half and ONNX's Y do (Keras returns the sequence reversed instead).
   * Its parameters have the plain `_l{k}` names. 'bidirectional' = `bidirectional: true`.
   */
  direction?: 'forward' | 'reverse' | 'bidirectional';
  /** Input weights: 'uniform' is PyTorch's U(-1/√H, 1/√H). Default 'uniform'. */
  weightInit?: WeightInit;
  /** Recurrent weights. Default 'uniform'. */
  recurrentInit?: RecurrentInit;
  /** Standalone only (a Sequential is always batch-first): x and output as [batch, seq, features]. Default false. */
  batchFirst?: boolean;
  /** Standalone only (a Sequential uses its own seed): seeds initialisation and dropout. Default 0. */
  seed?: number;
  /**
   * Standalone only (a Sequential uses its own `threads`): 0 or absent = every available core; at
   * most 256. Results are bit-identical whatever the value; the wasm backend runs one thread.
   */
  threads?: number;
}

/**
 * An activation a cell may apply to its gates or candidate (the core's `GateActivation`):
 * 'hard_sigmoid' is clamp(0.2·x + 0.5, 0, 1) as Keras 2, TF.js and ONNX (alpha 0.2, beta 0.5) define
 * it; 'softsign' x/(1+|x|); 'softplus' ln(1+eˣ); 'elu' x ≥ 0 ? x : eˣ − 1.
 */
export type GateActivation = 'sigmoid' | 'hard_sigmoid' | 'tanh' | 'relu' | 'softsign' | 'softplus' | 'elu';
export const GATE_ACTIVATIONS: readonly GateActivation[] = ['sigmoid', 'hard_sigmoid', 'tanh', 'relu', 'softsign', 'softplus', 'elu'];

export interface RNNOptions extends RecurrentOptions {
  /** Default 'tanh'; 'sigmoid' is Elman's original form. */
  nonlinearity?: 'tanh' | 'relu' | 'sigmoid';
  /**
   * h_t = activation(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (ONNX RNN's f): `nonlinearity` with the
   * other activations too. Give one of the two (both only when they agree). Default: the nonlinearity.
   */
  activation?: GateActivation;
}

/** Gate and candidate activations of LSTM and GRU, per layer (every layer and direction of the module). */
export interface GatedOptions extends RecurrentOptions {
  /**
   * The gates (LSTM i, f, o; GRU r, z): ONNX's f, Keras's `recurrentActivation`. Default 'sigmoid';
   * a TF.js / Keras 2 model's default is 'hard_sigmoid'.
   */
  gateActivation?: GateActivation;
  /** The candidate (LSTM g, GRU n): ONNX's g, Keras's `activation`. Default 'tanh'. */
  activation?: GateActivation;
}

export interface GRUOptions extends GatedOptions {
  /**
   * Default true (PyTorch's form). false: the reset gate before the recurrent product (a TF.js GRU's
   * kernel [I, 3H] in gate order z, r, h maps to weight_ih_l0 [3H, I] in order r, z, n, transposed;
   * its recurrent kernel likewise to weight_hh_l0; its bias [3H] to bias_ih_l0, with bias_hh_l0 = 0).
   * Both forms take `gateActivation` and `activation`.
   */
  resetAfter?: boolean;
}

/** LSTM options beyond PyTorch's, with ONNX's meaning (LSTM operator, its reference in onnxruntime). */
export interface LSTMOptions extends GatedOptions {
  /** h = o ⊙ cellActivation(c): ONNX's h. Default: `activation` (Keras uses one for both). */
  cellActivation?: GateActivation;
  /**
   * Peephole connections (ONNX P): i and f also read P ⊙ c_{t−1}, o reads P ⊙ c_t. Adds the
   * parameter `weight_peephole_l{k}[_reverse]` [3·hiddenSize] per layer and direction, in ONNX's
   * order i, o, f, after that cell's biases. Default false.
   */
  peephole?: boolean;
  /** Clamps every gate's pre-activation (with its peephole term) to [−cellClip, cellClip] (ONNX `clip`; c itself is not clipped). > 0; default none. */
  cellClip?: number;
  /** Coupled input and forget gates (ONNX `input_forget`): f = 1 − i; the forget gate's weights go unused. Default false. */
  inputForget?: boolean;
  /**
   * PyTorch's `proj_size`: h_t = W_hr (o_t ⊙ tanh(c_t)) has projSize features, so the output is
   * [.., directions·projSize], h0/h [numLayers·directions, batch, projSize] (c keeps hiddenSize),
   * weight_hh_l{k} is [4·hiddenSize, projSize] and `weight_hr_l{k}[_reverse]` [projSize, hiddenSize]
   * follows each cell's biases (after the peepholes when both are set). 0 (default) = none; must
   * be < hiddenSize.
   */
  projSize?: number;
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

/** The options every recurrent layer has (RNN adds nonlinearity). */
export const RECURRENT_FIELDS = {
  inputSize: size('input_size'),
  hiddenSize: size('hidden_size', true),
  numLayers: size('num_layers'),
  bidirectional: bool('bidirectional'),
  direction: oneOf('direction', ['forward', 'reverse', 'bidirectional']),
  bias: bool('bias'),
  dropout: num('dropout', 0, 1),
  recurrentDropout: num('recurrent_dropout', 0, 1),
  weightInit: oneOf('weight_init', ['uniform', 'xavier']),
  recurrentInit: oneOf('recurrent_init', ['uniform', 'xavier', 'orthogonal']),
} satisfies Fields;

/** LSTM's and GRU's options: RECURRENT_FIELDS and the activations (the core checks which cell takes which). */
export const GATED_FIELDS = {
  ...RECURRENT_FIELDS,
  gateActivation: oneOf('gate_activation', GATE_ACTIVATIONS),
  activation: oneOf('activation', GATE_ACTIVATIONS),
} satisfies Fields;

/** Options of the standalone layer that are not part of its config. */
const STANDALONE = ['batchFirst', 'seed', 'threads'];
/** Most threads a layer may ask for (the core's `parallel::MAX_THREADS`). */
const MAX_THREADS = 256;

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

const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** A recurrent first layer reads float32 features, or int32 token ids as one-hot input. */
export abstract class RecurrentLayer extends Layer<Tensor3D | Tensor2D<'int32'>> {
  readonly batchFirst: boolean;
  readonly seed: number;
  /** 0 = every available core. */
  readonly threads: number;
  /** inputSize of the standalone model: the option, else the first input's. */
  #inputSize: number | undefined;
  #backend: Backend | undefined;
  #handle: ModelHandle | undefined;
  #params: readonly ParamInfo[] = [];
  #disposed = false;
  #last: LastTrainingForward | undefined;

  protected constructor(options: RecurrentOptions) {
    super(options, STANDALONE);
    this.batchFirst = optBool('options.batchFirst', options.batchFirst, false);
    this.seed = integer('options.seed', options.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
    this.threads = integer('options.threads', options.threads ?? 0, 0, MAX_THREADS);
    this.#inputSize = options.inputSize;
  }

  /** The backend this layer's model lives on (or would be created on, if not created yet). */
  get backendName(): BackendName {
    return (this.#backend ?? getBackend()).name;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** The standalone model's spec: this layer alone, with its batchFirst, seed and threads. */
  toModelSpec(): { batch_first: boolean; seed: number; threads: number; layers: { type: string; config: Record<string, unknown> }[] } {
    const config = this.getConfig();
    if (this.#inputSize !== undefined) config.input_size = this.#inputSize;
    return { batch_first: this.batchFirst, seed: this.seed, threads: this.threads, layers: [{ type: this.type, config }] };
  }

  /** This layer as the core built it (canonical config, shapes, parameter count); creates the model (needs inputSize). */
  info(): LayerInfo {
    return this.#model().layers()[0];
  }

  /** Number of trainable values, from the core (needs inputSize). */
  get numParameters(): number {
    return this.info().params;
  }

  #checkAlive(): void {
    if (this.#disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', `${this.type} has been disposed`);
  }

  /** The backend model, created on first use (with `inputSize`, or the first input's size if unknown). */
  #model(inputSize?: number): ModelHandle {
    this.#checkAlive();
    if (this.#handle) return this.#handle;
    this.#inputSize ??= inputSize;
    if (this.#inputSize === undefined) throw valueError('inputSize', `is not known yet: pass it in the ${this.type} options or run forward() once`);
    const backend = getBackend();
    const handle = backend.createModel(JSON.stringify(this.toModelSpec()));
    this.#backend = backend;
    this.#handle = handle;
    this.#params = handle.paramInfo();
    return handle;
  }

  /** Index in the backend's state list and dims of the state named `name` ('h' or 'c') for `batch`. */
  #state(states: StateInfo[], name: string): { index: number; dims: [number, number, number] } {
    const index = states.findIndex((s) => s.layer === 0 && s.name === name);
    const d = states[index]?.dims;
    if (!d || d.length !== 3) throw rnnkitError('ERR_RNNKIT_INTERNAL', `the backend describes no 3-D state "${name}" for ${this.type}`);
    return { index, dims: [d[0], d[1], d[2]] };
  }

  /** States given as [arg, state name, tensor] (h0/c0, dh/dc) → the backend's list, each checked against its dims. */
  #stateList(handle: ModelHandle, batch: number, given: [string, string, unknown][]): (Float32Array | undefined)[] {
    const infos = handle.stateInfo(batch);
    const list: (Float32Array | undefined)[] = infos.map(() => undefined);
    for (const [arg, name, value] of given) {
      if (value === undefined) continue;
      const { index, dims } = this.#state(infos, name);
      expectTensor3D(arg, value, '[numLayers·directions, batch, hiddenSize (h: projSize when set)]');
      expectShape(arg, value, dims, '= [numLayers·directions, batch (as in x), hiddenSize (h: projSize when set)]');
      list[index] = value.data;
    }
    return list;
  }

  /** The backend's state list → named tensors ('h' → h, 'c' → c). */
  #namedStates(handle: ModelHandle, batch: number, states: Float32Array[], names: Record<string, string>): Record<string, Tensor3D> {
    const infos = handle.stateInfo(batch);
    const out: Record<string, Tensor3D> = {};
    for (const [key, name] of Object.entries(names)) {
      const { index, dims } = this.#state(infos, name);
      // A copy: the backend's states may be views of one buffer.
      out[key] = new Tensor(states[index].slice(), dims);
    }
    return out;
  }

  protected run(x: unknown, opts: RunOptions | undefined): { output: Tensor3D; h: Tensor3D; c?: Tensor3D } {
    this.#checkAlive();
    const layout = this.batchFirst ? '[batch, seqLen, inputSize]' : '[seqLen, batch, inputSize]';
    expectTensor3D('x', x, layout);
    const [d0, d1, d2] = x.shape;
    const [seqLen, batch] = this.batchFirst ? [d1, d0] : [d0, d1];
    const o = opts ?? {};
    if (o === null || typeof o !== 'object') throw typeError('opts', 'an options object', describe(o));
    const isLstm = this.type === 'LSTM';
    knownKeys('opts', o, isLstm ? ['h0', 'c0', 'lengths', 'training'] : ['h0', 'lengths', 'training']);
    const training = optBool('training', o.training, false);
    const handle = this.#model(d2);
    const args: BackendForwardOptions = { training, states: this.#stateList(handle, batch, isLstm ? [['h0', 'h', o.h0], ['c0', 'c', o.c0]] : [['h0', 'h', o.h0]]) };
    if (o.lengths !== undefined) args.lengths = toLengths('lengths', o.lengths, batch, seqLen);

    // Any forward replaces the one backward() would differentiate; only a training one can be.
    this.#last = undefined;
    const res = handle.forward(x.data, [d0, d1, d2], args);
    const dims = res.outputDims;
    if (dims.length !== 3) {
      throw rnnkitError('ERR_RNNKIT_INTERNAL', `forward: backend returned output dims ${formatShape(dims)}, expected 3 dims`);
    }
    const outputShape = [dims[0], dims[1], dims[2]] as const;
    const states = this.#namedStates(handle, batch, res.states, isLstm ? { h: 'h', c: 'c' } : { h: 'h' });
    if (training) this.#last = { xShape: [d0, d1, d2], outputShape, batch };
    return { output: new Tensor(res.output, outputShape), h: states.h, ...(isLstm ? { c: states.c } : {}) };
  }

  protected runBackward(dOutput: unknown, opts: { dh?: unknown; dc?: unknown } | undefined): {
    dx: Tensor3D;
    dh0: Tensor3D;
    dc0?: Tensor3D;
    grads: Record<string, Tensor>;
  } {
    this.#checkAlive();
    const last = this.#last;
    if (!this.#handle || !last) {
      throw valueError('dOutput', 'backward() needs a preceding forward(x, { training: true }) (the last forward was not a training one)');
    }
    expectTensor3D('dOutput', dOutput, '(shaped like the last output)');
    expectShape('dOutput', dOutput, last.outputShape, '(the shape of the last forward output)');
    const o = opts ?? {};
    if (o === null || typeof o !== 'object') throw typeError('opts', 'an options object', describe(o));
    const isLstm = this.type === 'LSTM';
    knownKeys('opts', o, isLstm ? ['dh', 'dc'] : ['dh']);
    const handle = this.#handle;
    const res = handle.backward(dOutput.data, this.#stateList(handle, last.batch, isLstm ? [['dh', 'h', o.dh], ['dc', 'c', o.dc]] : [['dh', 'h', o.dh]]));
    const grads: Record<string, Tensor> = {};
    for (const p of this.#params) grads[p.name] = new Tensor(res.grads.slice(p.offset, p.offset + prod(p.shape)), p.shape);
    const d = this.#namedStates(handle, last.batch, res.dStates, isLstm ? { dh0: 'h', dc0: 'c' } : { dh0: 'h' });
    return { dx: new Tensor(res.dx, last.xShape), ...d, grads } as { dx: Tensor3D; dh0: Tensor3D; dc0?: Tensor3D; grads: Record<string, Tensor> };
  }

  /** Names and shapes of the parameters, PyTorch order (creates the model if needed). */
  parameterInfo(): { name: string; shape: number[] }[] {
    this.#model();
    return this.#params.map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  /** A copy of every parameter, keyed by PyTorch name (weight_ih_l0, ..., bias_hh_l1_reverse). */
  stateDict(): Record<string, Tensor> {
    const flat = this.#model().getParams();
    const out: Record<string, Tensor> = {};
    for (const p of this.#params) out[p.name] = new Tensor(flat.slice(p.offset, p.offset + prod(p.shape)), p.shape);
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
      if (!byName.has(key)) throw valueError(key, `unknown parameter for this ${this.type}; expected one of ${names}`);
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
      const n = prod(p.shape);
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

/** RNN and GRU: one state, h. */
export abstract class HiddenStateLayer extends RecurrentLayer {
  forward(x: Tensor3D, opts?: ForwardOptions): RecurrentOutput {
    return this.run(x, opts);
  }
  backward(dOutput: Tensor3D, opts?: BackwardOptions): RecurrentGradients {
    return this.runBackward(dOutput, opts);
  }
}
