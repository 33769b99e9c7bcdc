/**
 * Web Worker entry: hosts one `Sequential` off the page's main thread, so a wasm training epoch
 * (synchronous inside the module) never freezes the UI. Pages talk to it through
 * `WorkerModel` (./worker-client.ts). Protocol: requests `{id, op, ...}`; replies
 * `{id, type: 'result', value}` or `{id, type: 'error', error}`, and for `fit`, before its result,
 * `{id, type: 'batch', batch, logs}` after every chunk of mini-batches (a few per second: a live
 * progress bar; an 'abort' takes effect after the running chunk) and `{id, type: 'progress', epoch,
 * logs}` per epoch. `serve()` also accepts any
 * MessagePort-like endpoint (tests drive it over a MessageChannel in Node).
 */

import { getBackend, ready, setBackend } from './backend/select.js';
import type { BackendName } from './backend/types.js';
import { describe, isRnnkitError, rnnkitError, typeError, valueError } from './errors.js';
import type { LayerJSON } from './layers/layer.js';
import { layerFromJSON } from './layers/registry.js';
import { Sequential, type BatchLogs, type CompileOptions, type EpochLogs, type FitOptions, type History, type SequentialOptions } from './model.js';
import type { DType, Tensor } from './tensor.js';
import { tensorPayload } from './validate.js';

/**
 * A layer as plain data (class instances do not survive postMessage): the serialised layer format
 * `{type, config}` with the core's snake_case keys (`layer.toJSON()`), rebuilt by the layer registry.
 */
export type WorkerLayerSpec = LayerJSON;

/** A tensor as plain data. */
export interface TensorPayload {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export type LengthsPayload = Int32Array | number[];

/** fit() options that can cross postMessage (callbacks become progress messages, signals become 'abort'). */
export interface WorkerFitOptions extends Omit<FitOptions, 'callbacks' | 'signal' | 'validationData' | 'mask' | 'lengths'> {
  validationData?: [TensorPayload, TensorPayload];
  mask?: TensorPayload;
  lengths?: LengthsPayload;
}

export type WorkerRequest = { id: number } & (
  | { op: 'create'; layers: WorkerLayerSpec[]; options?: SequentialOptions; backend?: BackendName }
  | { op: 'compile'; options: CompileOptions }
  | { op: 'fit'; x: TensorPayload; y: TensorPayload; options?: WorkerFitOptions }
  /** Aborts the fit whose request id is `target` (after its running chunk of mini-batches). */
  | { op: 'abort'; target: number }
  | { op: 'predict'; x: TensorPayload; lengths?: LengthsPayload }
  | { op: 'evaluate'; x: TensorPayload; y: TensorPayload; mask?: TensorPayload; lengths?: LengthsPayload }
  | { op: 'step'; x: TensorPayload }
  | { op: 'reset-state' }
  | { op: 'summary' }
  | { op: 'save-bytes' }
  | { op: 'load-bytes'; bytes: Uint8Array | ArrayBuffer; backend?: BackendName }
  | { op: 'dispose' }
);

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  arg?: string;
  /** An aborted fit's completed epochs (fit's AbortError carries them as `.history`). */
  history?: History;
}

export type WorkerResponse =
  | { id: number; type: 'result'; value: unknown }
  | { id: number; type: 'progress'; epoch: number; logs: EpochLogs }
  | { id: number; type: 'batch'; batch: number; logs: BatchLogs }
  | { id: number; type: 'error'; error: SerializedError };

/** The part of a Worker / MessagePort / worker global scope that serve() and WorkerModel use. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener?(type: 'message', listener: (event: MessageEvent) => void): void;
  start?(): void;
}

export function toPayload(t: Tensor<DType>): TensorPayload {
  return { dtype: t.dtype, shape: [...t.shape], data: t.data };
}

function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const out: SerializedError = { name: e.name, message: e.message };
    if (isRnnkitError(e)) {
      out.code = e.code;
      if (e.arg !== undefined) out.arg = e.arg;
    }
    const history = (e as { history?: unknown }).history;
    if (e.name === 'AbortError' && typeof history === 'object' && history !== null) out.history = history as History;
    return out;
  }
  return { name: 'Error', message: String(e) };
}

/** Serves the protocol on `endpoint`. One model per endpoint; 'create'/'load-bytes' replace it. */
export function serve(endpoint: MessageEndpoint): void {
  let model: Sequential | undefined;
  const fits = new Map<number, AbortController>();
  const current = (op: string): Sequential => {
    if (!model) throw rnnkitError('ERR_RNNKIT_VALUE', `${op}: no model in this worker; send 'create' or 'load-bytes' first`, 'model');
    return model;
  };
  const replace = async (op: string, backend: BackendName | undefined, make: () => Sequential): Promise<Sequential> => {
    if (fits.size > 0) throw rnnkitError('ERR_RNNKIT_DISPOSED', `${op}: the model is busy in fit(); await or abort it first`, 'model');
    if (backend !== undefined) await setBackend(backend);
    else await ready();
    const next = make();
    model?.dispose();
    model = next;
    return next;
  };
  // The model was just built on the current backend, so its isa and threads are the current one's.
  const info = (m: Sequential) => ({ backend: m.backendName, isa: getBackend().isa, threads: getBackend().threads(), summary: m.summary() });

  const handle = async (msg: WorkerRequest): Promise<[unknown, Transferable[]]> => {
    switch (msg.op) {
      case 'create': {
        if (!Array.isArray(msg.layers)) throw typeError('layers', 'an array of { type, config }', describe(msg.layers));
        // Rebuilt (and checked: unknown keys are errors) before the current model is replaced.
        const layers = msg.layers.map((l, k) => layerFromJSON(l, `layers[${k}]`));
        const m = await replace('create', msg.backend, () => new Sequential(layers, msg.options));
        return [info(m), []];
      }
      case 'compile':
        current('compile').compile(msg.options);
        return [undefined, []];
      case 'fit': {
        const m = current('fit');
        const controller = new AbortController();
        fits.set(msg.id, controller);
        try {
          const o = msg.options ?? {};
          const options: FitOptions = {
            ...o,
            validationData: o.validationData && [tensorPayload('validationData[0]', o.validationData[0]) as never, tensorPayload('validationData[1]', o.validationData[1])],
            mask: o.mask && (tensorPayload('mask', o.mask) as never),
            signal: controller.signal,
            callbacks: {
              onEpochEnd: (epoch, logs) => endpoint.postMessage({ id: msg.id, type: 'progress', epoch, logs } satisfies WorkerResponse),
              onBatchEnd: (batch, logs) => endpoint.postMessage({ id: msg.id, type: 'batch', batch, logs } satisfies WorkerResponse),
            },
          };
          if (o.validationData === undefined) delete options.validationData;
          if (o.mask === undefined) delete options.mask;
          const history = await m.fit(tensorPayload('x', msg.x) as never, tensorPayload('y', msg.y), options);
          return [history, []];
        } finally {
          fits.delete(msg.id);
        }
      }
      case 'abort':
        fits.get(msg.target)?.abort();
        return [fits.has(msg.target), []];
      case 'predict': {
        const out = current('predict').predict(tensorPayload('x', msg.x) as never, msg.lengths ? { lengths: msg.lengths } : {});
        return [toPayload(out), [out.data.buffer]];
      }
      case 'evaluate': {
        const opts = { ...(msg.mask ? { mask: tensorPayload('mask', msg.mask) as never } : {}), ...(msg.lengths ? { lengths: msg.lengths } : {}) };
        return [current('evaluate').evaluate(tensorPayload('x', msg.x) as never, tensorPayload('y', msg.y), opts), []];
      }
      case 'step': {
        const out = current('step').step(tensorPayload('x', msg.x) as never);
        return [toPayload(out), [out.data.buffer]];
      }
      case 'reset-state':
        current('reset-state').resetState();
        return [undefined, []];
      case 'summary':
        return [current('summary').summary(), []];
      case 'save-bytes': {
        const bytes = current('save-bytes').toBytes();
        return [bytes, [bytes.buffer]];
      }
      case 'load-bytes': {
        const m = await replace('load-bytes', msg.backend, () => Sequential.fromBytes(msg.bytes));
        return [info(m), []];
      }
      case 'dispose':
        model?.dispose();
        model = undefined;
        return [undefined, []];
      default:
        throw valueError('op', `unknown worker op ${describe((msg as { op?: unknown }).op)}`);
    }
  };

  endpoint.addEventListener('message', (event: MessageEvent) => {
    const msg = event.data as WorkerRequest;
    const id = typeof msg?.id === 'number' ? msg.id : -1;
    handle(msg).then(
      ([value, transfer]) => endpoint.postMessage({ id, type: 'result', value } satisfies WorkerResponse, transfer),
      (e: unknown) => endpoint.postMessage({ id, type: 'error', error: serializeError(e) } satisfies WorkerResponse),
    );
  });
  endpoint.start?.();
}

// Inside a dedicated worker, serve the page automatically. Importing this module elsewhere (Node,
// tests, the main thread) has no side effect.
declare const WorkerGlobalScope: (abstract new () => unknown) | undefined;
if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  serve(globalThis as unknown as MessageEndpoint);
}
