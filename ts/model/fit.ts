/**
 * fit()'s loop: its option keys and checked plan, and the epochs run as chunks of mini-batches
 * sized to ~CHUNK_MS each (per-epoch shuffle seeds, yielding to the event loop between chunks,
 * abort and dispose checks, chunked validation).
 */

import { COMPILE_KEYS } from './compile.js';
import type { EpochOptions, EpochResult, EvalResult, ModelHandle } from '../backend/types.js';
import type { Dataset } from '../dataset.js';
import { rnnkitError, type RnnkitError } from '../errors.js';
import type { EpochLogs, FitCallbacks, History } from './types.js';

export const FIT_KEYS = [
  ...COMPILE_KEYS,
  'epochs', 'batchSize', 'shuffle', 'seed', 'validationData', 'mask', 'lengths', 'tbptt', 'callbacks', 'signal',
];

/**
 * Wall time one `trainEpoch` chunk aims at: short enough for a live progress bar and a prompt
 * Ctrl-C, long enough that the per-call cost (argument checks, the native backend's input copy and
 * thread hop) stays a small fraction.
 */
export const CHUNK_MS = 150;

/** fit()'s checked options. */
export interface FitPlan {
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
export const EVAL_BATCH = 256;
/** Upper bound on a chunk, so one unusually fast measurement cannot make the next chunk huge. */
export const MAX_CHUNK_BATCHES = 1 << 16;

export function firstNonFinite(a: Float32Array): number {
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
export function yieldToEventLoop(): Promise<void> {
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

export function abortError(signal: AbortSignal, epochsDone: number, history: History, partial?: { batches: number; of: number }): Error {
  const within = partial && partial.batches > 0 ? ` and ${partial.batches} of ${partial.of} mini-batches of epoch ${epochsDone + 1}` : '';
  const err = new Error(`fit: aborted after ${epochsDone} epoch(s)${within}; the model keeps the weights trained so far`, {
    cause: signal.reason,
  });
  err.name = 'AbortError';
  Object.defineProperty(err, 'history', { value: history, enumerable: true });
  return err;
}

export function disposedError(op: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_DISPOSED', `${op}: this Sequential has been disposed`, 'model');
}

/** Mini-batches in the next chunk: 1 until one was timed, then as many as fit in CHUNK_MS. */
function chunkBatches(msPerBatch: number | undefined): number {
  return msPerBatch === undefined ? 1 : Math.max(1, Math.min(MAX_CHUNK_BATCHES, Math.round(CHUNK_MS / msPerBatch)));
}

/** What the loop needs from its Sequential: whether it was disposed, and its count of epochs seeded so far. */
export interface FitHost {
  disposed(): boolean;
  epochsSeen(): number;
  epochUsed(): void;
}

/**
 * fit()'s epochs over `data`, each as `trainEpoch` chunks of ~CHUNK_MS (progress callbacks, abort
 * and dispose checks between chunks), then the validation loss on `val` if given.
 */
export async function fitLoop(handle: ModelHandle, data: Dataset, val: Dataset | undefined, plan: FitPlan, host: FitHost): Promise<History> {
  const { epochs, batchSizeOpt, shuffle, seed, tbptt, onEpochEnd, onBatchEnd, signal } = plan;
  const history: History = val ? { loss: [], gradNorm: [], valLoss: [] } : { loss: [], gradNorm: [] };
  const batchSize = Math.min(batchSizeOpt, data.size);
  // Chunk sizing: the first chunk is one mini-batch; later ones aim at CHUNK_MS from the time per
  // mini-batch measured on the previous chunk (kept across epochs).
  let msPerBatch: number | undefined;
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (signal?.aborted) throw abortError(signal, epoch, history);
    if (host.disposed()) throw disposedError('fit');
    const epochOpts: EpochOptions = { batchSize, shuffle, tbptt, seed: epochSeed(seed, host.epochsSeen()) };
    const epochBatches = Math.ceil(data.size / batchSize);
    let done: EpochResult | undefined;
    let samples = 0;
    try {
      while (done === undefined || done.nextBatch < epochBatches) {
        const first = done?.nextBatch ?? 0;
        const size = chunkBatches(msPerBatch);
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
        if (host.disposed()) throw disposedError('fit');
      }
    } finally {
      // A partly trained epoch still used its seed: the next fit() starts from a fresh one.
      if (done !== undefined) host.epochUsed();
    }
    const { loss, gradNorm } = done;
    history.loss.push(loss);
    history.gradNorm.push(gradNorm);
    const logs: EpochLogs = { loss, gradNorm };
    if (val) {
      logs.valLoss = await validationLoss(handle, val, signal, epoch, history, host);
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
async function validationLoss(
  handle: ModelHandle, val: Dataset, signal: AbortSignal | undefined, epoch: number, history: History, host: FitHost,
): Promise<number> {
  let r: EvalResult | undefined;
  let msPerBatch: number | undefined;
  do {
    if (val.disposed) throw rnnkitError('ERR_RNNKIT_DISPOSED', 'fit: the validation dataset was disposed during fit()', 'options.validationData');
    const size = chunkBatches(msPerBatch);
    const t0 = performance.now();
    const first = r?.nextBatch ?? 0;
    r = handle.evaluateDataset(val.handle, EVAL_BATCH, { firstBatch: first, maxBatches: size, ...(r ? { carry: r } : {}) });
    msPerBatch = Math.max(1e-3, (performance.now() - t0) / Math.max(1, r.nextBatch - first));
    if (r.nextBatch >= r.batches) break;
    await yieldToEventLoop();
    if (signal?.aborted) throw abortError(signal, epoch, history);
    if (host.disposed()) throw disposedError('fit');
  } while (r.nextBatch < r.batches);
  return r.loss;
}
