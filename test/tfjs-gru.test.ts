/**
 * A TF.js GRU (tfjs-layers, `resetAfter: false`, its default form: the reset gate before the
 * recurrent product) loaded into rnnkit's `GRU({ resetAfter: false })` gives tfjs's own `predict` to
 * 1e-5. The weights are random (not constants: a wrong gate order fails) and mapped as the GRU
 * docs say: tfjs kernel [I, 3H] in gate order z, r, h → weight_ih_l0 [3H, I] in order r, z, n
 * (transposed), the recurrent kernel [H, 3H] likewise → weight_hh_l0, the bias [3H] → bias_ih_l0
 * with bias_hh_l0 = 0. tfjs's default recurrentActivation is hardSigmoid; rnnkit's GRU gates are
 * the logistic sigmoid, so the tfjs layer is built with recurrentActivation 'sigmoid'.
 */

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { Random } from '../ts/cli/datasets/random.js';
import { GRU, Sequential, Tensor } from '../ts/index.js';

const [B, T, I, H] = [3, 6, 4, 5];
const TOL = 1e-5;

/** `n` values of U(−scale, scale), seeded. */
function uniform(rng: Random, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** tfjs [rows, 3H] (gate order z, r, h) → rnnkit [3H, rows] (gate order r, z, n). */
function toRzn(k: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(3 * H * rows);
  const fromBlock = [1, 0, 2]; // r ← tfjs block 1, z ← 0, n ← 2
  for (let g = 0; g < 3; g++) {
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < rows; i++) out[(g * H + j) * rows + i] = k[i * 3 * H + fromBlock[g] * H + j];
    }
  }
  return out;
}

describe('TF.js GRU (resetAfter: false) loaded into rnnkit', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('matches tfjs predict to 1e-5 with random weights, every step', () => {
    const rng = new Random(15);
    const kernel = uniform(rng, I * 3 * H, 0.8);
    const recurrent = uniform(rng, H * 3 * H, 0.8);
    const bias = uniform(rng, 3 * H, 0.5);
    const x = uniform(rng, B * T * I, 1.5);

    const layer = tf.layers.gru({ units: H, returnSequences: true, resetAfter: false, recurrentActivation: 'sigmoid', inputShape: [T, I] });
    const net = tf.sequential({ layers: [layer] });
    layer.setWeights([tf.tensor2d(kernel, [I, 3 * H]), tf.tensor2d(recurrent, [H, 3 * H]), tf.tensor1d(bias)]);
    const want = (net.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).dataSync() as Float32Array;

    const gru = new GRU({ inputSize: I, hiddenSize: H, resetAfter: false });
    const model = new Sequential([gru]);
    model.loadStateDict({
      weight_ih_l0: toRzn(kernel, I),
      weight_hh_l0: toRzn(recurrent, H),
      bias_ih_l0: toRzn(bias, 1),
      bias_hh_l0: new Float32Array(3 * H),
    });
    const got = model.forward(new Tensor(x, [B, T, I] as const)).output.data as Float32Array;
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]) / (TOL + TOL * Math.abs(want[k])));
    expect(worst, 'max |rnnkit − tfjs| / (1e-5 + 1e-5·|tfjs|)').toBeLessThan(1);

    // The reset-after GRU (PyTorch's) is a different function: the variant is what makes it match.
    const after = new Sequential([new GRU({ inputSize: I, hiddenSize: H })]);
    after.loadStateDict(model.stateDict());
    const other = after.forward(new Tensor(x, [B, T, I] as const)).output.data as Float32Array;
    expect(Math.max(...other.map((v, k) => Math.abs(v - want[k])))).toBeGreaterThan(1e-3);
    model.dispose();
    after.dispose();
    net.dispose();
  });
});
