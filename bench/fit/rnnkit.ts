/**
 * rnnkit's side of the fit benchmark, through the public API (Sequential, dataset, fit) as a user
 * writes it: the model from a workload and the shared initial weights, the dataset fit() takes, and
 * one timed epoch. Used by the worker process (bench/fit/worker.ts) and by the harness test, which checks that
 * PyTorch's loop computes the same loss on the same data.
 */

import { dataset, Dense, LSTM, Sequential, Tensor, type Dataset, type SequenceInput } from '../../ts/index.js';
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

/**
 * The user's typed arrays as the tensors rnnkit takes, without a copy: text x as int32 token ids
 * [N, T] (the first layer sees each id as a one-hot row, built inside the core) and y as next-id
 * class targets [N, T]; series x and y as floats [N, T, 1].
 */
export function tensors(data: FitData): { x: SequenceInput; y: Tensor<'float32'> | Tensor<'int32'> } {
  const w = data.workload;
  const N = data.sequences;
  const T = w.seqLen;
  if (w.tokens) return { x: new Tensor(data.x as Int32Array, [N, T]), y: new Tensor(data.y as Int32Array, [N, T]) };
  return { x: new Tensor(data.x as Float32Array, [N, T, 1]), y: new Tensor(data.y as Float32Array, [N, T, 1]) };
}

/** `dataset(x, y)`: the training set copied into the backend once, reused by every fit() call. */
export function trainingSet(data: FitData): Dataset {
  const { x, y } = tensors(data);
  return dataset(x, y);
}

/** Builds the dataset once (untimed, reported as `prepare`), then times one `fit(ds)` epoch per call. */
export function rnnkitTrainer(data: FitData, weights: StateDict, threads: number): Trainer {
  const w = data.workload;
  const model = rnnkitModel(w, threads, weights);
  const ds = trainingSet(data);
  return {
    async epoch() {
      const t0 = performance.now();
      const h = await model.fit(ds, { epochs: 1, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
      return { ms: performance.now() - t0, loss: h.loss[0] };
    },
  };
}
