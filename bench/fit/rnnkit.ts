/**
 * rnnkit's side of the fit benchmark, through the public API (Sequential + fit) as a user writes it:
 * the model from a workload and the shared initial weights, the (x, y) fit() takes, and one timed
 * epoch. Used by the worker process (bench/fit/worker.ts) and by the harness test, which checks that
 * PyTorch's loop computes the same loss on the same data.
 */

import { Dense, LSTM, Sequential, Tensor, type Tensor3D } from '../../ts/index.js';
import type { StateDict } from './files.js';
import type { FitData, FitWorkload } from './workloads.js';

/** Seeds rnnkit's and PyTorch's per-epoch shuffles (tfjs shuffles with Math.random and cannot be seeded). */
export const SHUFFLE_SEED = 7;

export interface Trainer {
  epoch(): Promise<{ ms: number; loss: number }>;
}

/** LSTM(I→H) + Dense(H→U) at every step, compiled with the workload's loss and Adam. */
export function rnnkitModel(w: FitWorkload, threads: number, weights?: StateDict): Sequential {
  const model = new Sequential([new LSTM({ inputSize: w.inputSize, hiddenSize: w.hiddenSize }), new Dense({ units: w.units })], { seed: 1, threads });
  if (weights) {
    model.loadStateDict(Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, new Tensor(Float32Array.from(t.data), t.shape)])));
  }
  model.compile({ loss: w.loss, optimizer: { type: 'adam', lr: w.lr } });
  return model;
}

/** The shared initial weights: rnnkit's own initialisation (seed 1), by PyTorch name. */
export function initialWeights(w: FitWorkload): StateDict {
  const model = new Sequential([new LSTM({ inputSize: w.inputSize, hiddenSize: w.hiddenSize }), new Dense({ units: w.units })], { seed: 1 });
  try {
    return Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, { shape: [...t.shape], data: Array.from(t.data) }]));
  } finally {
    model.dispose();
  }
}

/** One-hot floats [N, T, V] from ids [N, T]. */
export function oneHot(ids: Int32Array, width: number): Float32Array {
  const out = new Float32Array(ids.length * width);
  for (let i = 0; i < ids.length; i++) out[i * width + ids[i]] = 1;
  return out;
}

/**
 * The (x, y) rnnkit's fit() takes, wrapping the user's typed arrays (no copy). Text: one-hot floats
 * [N, T, V] built here (the API without int32 token ids); series: the values as [N, T, 1].
 */
export function trainingSet(data: FitData): { x: Tensor3D; y: Tensor<'float32'> | Tensor<'int32'> } {
  const w = data.workload;
  const N = data.sequences;
  const T = w.seqLen;
  if (w.tokens) {
    return { x: new Tensor(oneHot(data.x as Int32Array, w.inputSize), [N, T, w.inputSize]), y: new Tensor(data.y as Int32Array, [N, T]) };
  }
  return { x: new Tensor(data.x as Float32Array, [N, T, 1]), y: new Tensor(data.y as Float32Array, [N, T, 1]) };
}

export function rnnkitTrainer(data: FitData, weights: StateDict, threads: number): Trainer {
  const w = data.workload;
  const model = rnnkitModel(w, threads, weights);
  const { x, y } = trainingSet(data);
  return {
    async epoch() {
      const t0 = performance.now();
      const h = await model.fit(x, y, { epochs: 1, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
      return { ms: performance.now() - t0, loss: h.loss[0] };
    },
  };
}
