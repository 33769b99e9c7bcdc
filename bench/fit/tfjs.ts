/**
 * tfjs's side of the fit benchmark: the same LSTM + Dense in the layers API (recurrentActivation
 * 'sigmoid' as PyTorch's; the shared initial weights converted to Keras layout by bench/peers/tfjs.ts),
 * trained with `model.fit` on the wasm or the pure-JS cpu backend. Text uses a softmax Dense and
 * categorical cross-entropy on one-hot targets: the same function as cross-entropy on logits and ids.
 */

import type * as TF from '@tensorflow/tfjs';
import { kerasWeights } from '../peers/tfjs.js';
import type { StateDict } from './files.js';
import type { Trainer } from './rnnkit.js';
import type { FitData } from './workloads.js';

export async function tfjsTrainer(data: FitData, weights: StateDict, backend: 'wasm' | 'cpu'): Promise<Trainer> {
  const tf = (await import('@tensorflow/tfjs')) as unknown as typeof TF;
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend "${backend}" did not initialise`);
  await tf.ready();
  const w = data.workload;
  const N = data.sequences;
  const T = w.seqLen;
  // Initialisers are overwritten by setWeights; 'zeros' skips tfjs's slow orthogonal default.
  const lstm = tf.layers.lstm({
    units: w.hiddenSize,
    returnSequences: true,
    inputShape: [T, w.inputSize],
    recurrentActivation: 'sigmoid',
    kernelInitializer: 'zeros',
    recurrentInitializer: 'zeros',
  });
  // Text: softmax + categorical cross-entropy on one-hot targets = cross-entropy on logits and ids.
  const dense = tf.layers.dense({ units: w.units, activation: w.tokens ? 'softmax' : 'linear' });
  const model = tf.sequential({ layers: [lstm, dense] });
  const f32 = (name: string) => Float32Array.from(weights[name].data);
  const keras = kerasWeights(tf, {
    workload: { cell: 'lstm', hiddenSize: w.hiddenSize, inputSize: w.inputSize },
    weights: { weightIh: f32('0.weight_ih_l0'), weightHh: f32('0.weight_hh_l0'), biasIh: f32('0.bias_ih_l0'), biasHh: f32('0.bias_hh_l0') },
  } as never);
  lstm.setWeights(keras);
  const hw = tf.tensor2d(f32('1.weight'), [w.units, w.hiddenSize]).transpose();
  const hb = tf.tensor1d(f32('1.bias'));
  dense.setWeights([hw, hb]);
  tf.dispose([...keras, hw, hb]);
  model.compile({ optimizer: tf.train.adam(w.lr), loss: w.tokens ? 'categoricalCrossentropy' : 'meanSquaredError' });
  const [x, y] = tf.tidy(() =>
    w.tokens
      ? [tf.oneHot(tf.tensor2d(data.x as Int32Array, [N, T], 'int32'), w.inputSize).toFloat(), tf.oneHot(tf.tensor2d(data.y as Int32Array, [N, T], 'int32'), w.units).toFloat()]
      : [tf.tensor3d(data.x as Float32Array, [N, T, 1]), tf.tensor3d(data.y as Float32Array, [N, T, 1])],
  );
  return {
    async epoch() {
      const t0 = performance.now();
      const h = await model.fit(x, y, { epochs: 1, batchSize: w.batchSize, shuffle: true, verbose: 0 });
      return { ms: performance.now() - t0, loss: h.history.loss[0] as number };
    },
  };
}

