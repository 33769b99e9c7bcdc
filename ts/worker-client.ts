/**
 * `WorkerModel`: the page-side handle to a `Sequential` hosted in a Web Worker (./worker.ts).
 * Same verbs as Sequential, but every call is a Promise, tensors are copied across, `fit` turns
 * worker progress messages into `onBatchEnd` / `onEpochEnd` calls and an AbortSignal into an 'abort'
 * message (the worker stops after its running chunk of mini-batches).
 * Errors come back with their rnnkit `code`/`arg` intact.
 *
 *   const worker = new Worker(new URL('rnnkit/worker', import.meta.url), { type: 'module' });
 *   const model = await WorkerModel.create(worker, [new LSTM({ inputSize: 1, hiddenSize: 32 }), new Dense({ units: 1 })]);
 *   // or as data: [{ type: 'LSTM', config: { input_size: 1, hidden_size: 32 } }, { type: 'Dense', config: { units: 1 } }]
 */

import type { BackendName } from './backend/types.js';
import { ERROR_CODES, rnnkitError, type RnnkitErrorCode } from './errors.js';
import type { LayerInput } from './layers/layer.js';
import { isLayer, type AnyLayer } from './layers/registry.js';
import type { BatchLogs, CompileOptions, EpochLogs, FitCallbacks, History, SequentialOptions } from './model.js';
import { Tensor, type DType, type Tensor2D, type Tensor3D } from './tensor.js';
import type {
  LengthsPayload,
  MessageEndpoint,
  SerializedError,
  TensorPayload,
  WorkerFitOptions,
  WorkerLayerSpec,
  WorkerRequest,
  WorkerResponse,
} from './worker.js';

export type { WorkerLayerSpec, MessageEndpoint } from './worker.js';

export interface WorkerFitClientOptions extends Omit<WorkerFitOptions, 'validationData' | 'mask'> {
  validationData?: readonly [LayerInput, Tensor<DType>];
  mask?: Tensor2D;
  callbacks?: FitCallbacks;
  signal?: AbortSignal;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?(epoch: number, logs: EpochLogs): void;
  onBatch?(batch: number, logs: BatchLogs): void;
}

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

function payload(t: Tensor<DType>): TensorPayload {
  return { dtype: t.dtype, shape: [...t.shape], data: t.data };
}

function fromPayload(p: TensorPayload): Tensor<'float32'> {
  return new Tensor(p.data as Float32Array, p.shape);
}

function lengthsPayload(l: unknown): LengthsPayload | undefined {
  if (l === undefined) return undefined;
  if (l instanceof Tensor) return l.data as Int32Array;
  return l as LengthsPayload;
}

function reviveError(e: SerializedError): Error {
  if (e.code !== undefined && e.code in ERROR_CODES) return rnnkitError(e.code as RnnkitErrorCode, e.message, e.arg);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.history !== undefined) Object.defineProperty(err, 'history', { value: e.history, enumerable: true });
  return err;
}

/** One request/response channel per endpoint (shared by every call on it). */
class Channel {
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  constructor(readonly endpoint: MessageEndpoint) {
    endpoint.addEventListener('message', (event: MessageEvent) => {
      const msg = event.data as WorkerResponse;
      const p = this.#pending.get(msg?.id);
      if (!p) return;
      if (msg.type === 'progress') {
        p.onProgress?.(msg.epoch, msg.logs);
        return;
      }
      if (msg.type === 'batch') {
        p.onBatch?.(msg.batch, msg.logs);
        return;
      }
      this.#pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.value);
      else p.reject(reviveError(msg.error));
    });
    endpoint.start?.();
  }

  /** Sends a request; `onSent` gets its id (fit uses it to address an abort). */
  call<T>(
    req: Request,
    opts: { onProgress?: Pending['onProgress']; onBatch?: Pending['onBatch']; onSent?(id: number): void; transfer?: Transferable[] } = {},
  ): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress, onBatch: opts.onBatch });
      this.endpoint.postMessage({ ...req, id }, opts.transfer ?? []);
      opts.onSent?.(id);
    });
  }
}

const channels = new WeakMap<MessageEndpoint, Channel>();

/** What the worker reports after 'create' / 'load-bytes'. */
interface ModelInfo {
  backend: BackendName;
  isa: string;
  threads: number;
  summary: string;
}

export class WorkerModel {
  readonly #ch: Channel;
  #info: ModelInfo;

  private constructor(ch: Channel, info: ModelInfo) {
    this.#ch = ch;
    this.#info = info;
  }

  static #channel(endpoint: MessageEndpoint): Channel {
    let ch = channels.get(endpoint);
    if (!ch) channels.set(endpoint, (ch = new Channel(endpoint)));
    return ch;
  }

  /**
   * Builds a Sequential inside the worker (replacing any model it hosted). Layers cross as
   * `{type, config}`: layer objects are sent as their `specLayers()`, plain data as given.
   */
  static async create(
    endpoint: MessageEndpoint,
    layers: readonly (AnyLayer | WorkerLayerSpec)[],
    options: SequentialOptions & { backend?: BackendName } = {},
  ): Promise<WorkerModel> {
    const { backend, ...seqOptions } = options;
    const ch = WorkerModel.#channel(endpoint);
    const wire = layers.flatMap((l) => (isLayer(l) ? l.specLayers() : [l]));
    const info = await ch.call<ModelInfo>({ op: 'create', layers: wire, options: seqOptions, backend });
    return new WorkerModel(ch, info);
  }

  /** Loads safetensors bytes (from Sequential.toBytes / save) into the worker. */
  static async fromBytes(endpoint: MessageEndpoint, bytes: Uint8Array | ArrayBuffer, options: { backend?: BackendName } = {}): Promise<WorkerModel> {
    const ch = WorkerModel.#channel(endpoint);
    const info = await ch.call<ModelInfo>({ op: 'load-bytes', bytes, backend: options.backend });
    return new WorkerModel(ch, info);
  }

  get backendName(): BackendName {
    return this.#info.backend;
  }

  /**
   * The backend, instruction set and threads running this model inside the worker (as of its
   * creation), e.g. { name: 'wasm', isa: 'simd128', threads: 4 }.
   */
  backendInfo(): { name: BackendName; isa: string; threads: number } {
    return { name: this.#info.backend, isa: this.#info.isa, threads: this.#info.threads };
  }

  /** The model's summary table (as of creation/loading). */
  summary(): string {
    return this.#info.summary;
  }

  compile(options: CompileOptions): Promise<void> {
    return this.#ch.call({ op: 'compile', options });
  }

  async fit(x: LayerInput, y: Tensor<DType>, options: WorkerFitClientOptions = {}): Promise<History> {
    const { callbacks, signal, validationData, mask, lengths, ...rest } = options;
    const wire: WorkerFitOptions = { ...rest };
    if (validationData) wire.validationData = [payload(validationData[0]), payload(validationData[1])];
    if (mask) wire.mask = payload(mask);
    if (lengths !== undefined) wire.lengths = lengthsPayload(lengths);
    let fitId = -1;
    const abort = () => {
      if (fitId >= 0) void this.#ch.call({ op: 'abort', target: fitId }).catch(() => undefined);
    };
    // Progress is reported in order; callbacks run on the page and do not hold the worker back.
    let chain = Promise.resolve();
    let callbackError: unknown;
    const queue = (run: () => void | Promise<void>) => {
      chain = chain.then(run).catch((e: unknown) => {
        callbackError ??= e;
        abort();
      });
    };
    const onProgress = (epoch: number, logs: EpochLogs) => {
      const cb = callbacks?.onEpochEnd;
      if (cb) queue(() => cb(epoch, logs));
    };
    const onBatch = (batch: number, logs: BatchLogs) => {
      const cb = callbacks?.onBatchEnd;
      if (cb) queue(() => cb(batch, logs));
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const history = await this.#ch.call<History>(
        { op: 'fit', x: payload(x), y: payload(y), options: wire },
        {
          onProgress,
          onBatch,
          onSent: (id) => {
            fitId = id;
            if (signal?.aborted) abort();
          },
        },
      );
      await chain;
      if (callbackError !== undefined) throw callbackError;
      return history;
    } catch (e) {
      await chain;
      throw callbackError ?? e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  async predict(x: LayerInput, options: { lengths?: Tensor<'int32'> | LengthsPayload } = {}): Promise<Tensor<'float32'>> {
    return fromPayload(await this.#ch.call<TensorPayload>({ op: 'predict', x: payload(x), lengths: lengthsPayload(options.lengths) }));
  }

  evaluate(x: LayerInput, y: Tensor<DType>, options: { mask?: Tensor2D; lengths?: Tensor<'int32'> | LengthsPayload } = {}): Promise<number> {
    return this.#ch.call({
      op: 'evaluate',
      x: payload(x),
      y: payload(y),
      mask: options.mask && payload(options.mask),
      lengths: lengthsPayload(options.lengths),
    });
  }

  async step(xT: Tensor2D): Promise<Tensor2D> {
    const out = await this.#ch.call<TensorPayload>({ op: 'step', x: payload(xT) });
    return new Tensor(out.data as Float32Array, [out.shape[0], out.shape[1]] as const);
  }

  resetState(): Promise<void> {
    return this.#ch.call({ op: 'reset-state' });
  }

  /** Safetensors bytes of the worker's model. */
  toBytes(): Promise<Uint8Array> {
    return this.#ch.call({ op: 'save-bytes' });
  }

  /** Replaces the worker's model with one loaded from bytes. */
  async loadBytes(bytes: Uint8Array | ArrayBuffer): Promise<void> {
    this.#info = await this.#ch.call<ModelInfo>({ op: 'load-bytes', bytes });
  }

  /** Frees the worker's model (the worker itself keeps running; terminate it yourself). */
  dispose(): Promise<void> {
    return this.#ch.call({ op: 'dispose' });
  }
}
