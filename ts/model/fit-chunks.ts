/**
 * What fit()'s loop runs on besides the model: its option keys and checked plan, chunk sizing
 * constants, per-epoch shuffle seeds, yielding to the event loop between chunks, and the AbortError.
 */

import { COMPILE_KEYS } from './compile.js';
import type { FitCallbacks, History } from './types.js';

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
