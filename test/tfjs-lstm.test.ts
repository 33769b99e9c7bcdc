/**
 * A TF.js LSTM loads into rnnkit and matches: tfjs-layers' LSTM with its default
 * `recurrentActivation: 'hardSigmoid'` (Keras 2's) and random weights, copied into an rnnkit LSTM
 * with `gateActivation: 'hard_sigmoid'` (kernel [I, 4H] → weight_ih_l0 transposed, recurrentKernel
 * [H, 4H] → weight_hh_l0 transposed, bias → bias_ih_l0 with bias_hh_l0 = 0; Keras's gate order
 * i, f, c, o is PyTorch's i, f, g, o), gives tfjs's `predict` to 1e-5 on every backend. With the
 * default sigmoid gates it does not, which is what the option is for. Expected values come from
 * running tfjs (cpu backend) in the test.
 */

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { Random } from '../ts/cli/datasets/random.js';
import { LSTM, setBackend, Tensor, type GateActivation } from '../ts/index.js';
import { backendsFor } from './helpers/backends.js';

const BACKENDS = backendsFor('tfjs-lstm.test');
/** The brief's bar for a model loaded from TF.js (float32 on both sides, different summation order). */
const ATOL = 1e-5;
const [B, T, I, H] = [3, 7, 4, 6];

/** U(−scale, scale), seeded. */
function uniform(rng: Random, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

interface TfjsRun {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
  x: Float32Array;
  y: Float32Array;
}

let run: TfjsRun;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const rng = new Random(15);
  const lstm = tf.layers.lstm({ units: H, returnSequences: true, inputShape: [T, I] });
  const model = tf.sequential({ layers: [lstm] });
  // The default this test is about: TF.js (like Keras 2) gates with hard sigmoid.
  expect(lstm.getConfig().recurrentActivation).toBe('hardSigmoid');
  // Weights large enough that many gate pre-activations leave hard sigmoid's linear band (|x| > 2.5).
  const kernel = uniform(rng, I * 4 * H, 1.5);
  const recurrentKernel = uniform(rng, H * 4 * H, 1.0);
  const bias = uniform(rng, 4 * H, 1.0);
  lstm.setWeights([tf.tensor2d(kernel, [I, 4 * H]), tf.tensor2d(recurrentKernel, [H, 4 * H]), tf.tensor1d(bias)]);
  const x = uniform(rng, B * T * I, 2.0);
  const y = (await (model.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).data()) as Float32Array;
  run = { kernel, recurrentKernel, bias, x, y };
  model.dispose();
});

/** rnnkit's output for the tfjs weights with `gateActivation`, batch-first [B, T, H]. */
function rnnkit(gateActivation: GateActivation | undefined): Float32Array {
  const layer = new LSTM({ inputSize: I, hiddenSize: H, batchFirst: true, ...(gateActivation ? { gateActivation } : {}) });
  try {
    layer.loadStateDict({
      weight_ih_l0: transpose(run.kernel, I, 4 * H),
      weight_hh_l0: transpose(run.recurrentKernel, H, 4 * H),
      bias_ih_l0: run.bias,
      bias_hh_l0: new Float32Array(4 * H),
    });
    return layer.forward(new Tensor(run.x, [B, T, I] as const)).output.data;
  } finally {
    layer.dispose();
  }
}

describe.each(BACKENDS)('a TF.js LSTM in rnnkit on $name', ({ name, built }) => {
  it.skipIf(!built)("matches tfjs predict with gateActivation 'hard_sigmoid'", async () => {
    await setBackend(name);
    const got = rnnkit('hard_sigmoid');
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - run.y[i]));
    expect(worst, `max |rnnkit − tfjs| over ${got.length} outputs`).toBeLessThanOrEqual(ATOL);
  });

  it.skipIf(!built)('does not match with the default sigmoid gates', async () => {
    await setBackend(name);
    const got = rnnkit(undefined);
    const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - run.y[i])), 0);
    expect(worst).toBeGreaterThan(1e-2);
  });
});
