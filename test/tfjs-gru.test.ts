/**
 * A TF.js GRU (tfjs-layers, `resetAfter: false`, its default form: the reset gate before the
 * recurrent product) loaded into rnnkit's `GRU({ resetAfter: false })` gives tfjs's own `predict` to
 * 1e-5. The weights are random (not constants: a wrong gate order fails) and mapped as the GRU
 * docs say: tfjs kernel [I, 3H] in gate order z, r, h → weight_ih_l0 [3H, I] in order r, z, n
 * (transposed), the recurrent kernel [H, 3H] likewise → weight_hh_l0, the bias [3H] → bias_ih_l0
 * with bias_hh_l0 = 0. tfjs's DEFAULT recurrentActivation is hardSigmoid: that layer as it comes
 * matches rnnkit with `gateActivation: 'hard_sigmoid'`; a tfjs layer built with 'sigmoid' matches
 * rnnkit's default gates, and one with a softsign candidate `activation: 'softsign'`.
 */

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { Random } from '../ts/cli/datasets/random.js';
import { GRU, Sequential, Tensor, type GRUOptions } from '../ts/index.js';

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

/** tfjs's `predict` and rnnkit's forward for one random draw, tfjs's layer built with `tfjsExtra`. */
function both(tfjsExtra: Partial<Parameters<typeof tf.layers.gru>[0]>, options: Omit<GRUOptions, 'hiddenSize'>, seed: number) {
  const rng = new Random(seed);
  const kernel = uniform(rng, I * 3 * H, 0.8);
  const recurrent = uniform(rng, H * 3 * H, 0.8);
  const bias = uniform(rng, 3 * H, 0.5);
  const x = uniform(rng, B * T * I, 1.5);

  // tfjs's GRU has only the reset-before form (its cell's resetAfter "only false is supported").
  const layer = tf.layers.gru({ units: H, returnSequences: true, inputShape: [T, I], ...tfjsExtra });
  const net = tf.sequential({ layers: [layer] });
  layer.setWeights([tf.tensor2d(kernel, [I, 3 * H]), tf.tensor2d(recurrent, [H, 3 * H]), tf.tensor1d(bias)]);
  const want = (net.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).dataSync() as Float32Array;
  const config = layer.getConfig();
  net.dispose();

  const model = new Sequential([new GRU({ inputSize: I, hiddenSize: H, ...options })]);
  const params = {
    weight_ih_l0: toRzn(kernel, I),
    weight_hh_l0: toRzn(recurrent, H),
    bias_ih_l0: toRzn(bias, 1),
    bias_hh_l0: new Float32Array(3 * H),
  };
  model.loadStateDict(params);
  const got = model.forward(new Tensor(x, [B, T, I] as const)).output.data as Float32Array;
  model.dispose();
  /** rnnkit with other options on the same weights and input. */
  const other = (o: Omit<GRUOptions, 'hiddenSize'>): Float32Array => {
    const m = new Sequential([new GRU({ inputSize: I, hiddenSize: H, ...o })]);
    m.loadStateDict(params);
    const y = m.forward(new Tensor(x, [B, T, I] as const)).output.data as Float32Array;
    m.dispose();
    return y;
  };
  return { want, got, config, other };
}

/** max |got − want| / (1e-5 + 1e-5·|want|): below 1 passes. */
function worst(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let k = 0; k < want.length; k++) w = Math.max(w, Math.abs(got[k] - want[k]) / (TOL + TOL * Math.abs(want[k])));
  return w;
}

const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, k) => Math.abs(v - b[k])));

describe('TF.js GRU (resetAfter: false) loaded into rnnkit', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("tfjs's default layer (hardSigmoid gates) matches gateActivation 'hard_sigmoid' to 1e-5, every step", () => {
    const { want, got, config, other } = both({}, { resetAfter: false, gateActivation: 'hard_sigmoid' }, 15);
    expect(config.recurrentActivation).toBe('hardSigmoid');
    expect(worst(got, want), 'max |rnnkit − tfjs| / (1e-5 + 1e-5·|tfjs|)').toBeLessThan(1);
    // Sigmoid gates, or the reset-after form, are other functions: the options are what make it match.
    expect(maxDiff(other({ resetAfter: false }), want)).toBeGreaterThan(1e-3);
    expect(maxDiff(other({ gateActivation: 'hard_sigmoid' }), want)).toBeGreaterThan(1e-3);
  });

  it("recurrentActivation 'sigmoid' matches rnnkit's default gates to 1e-5", () => {
    const { want, got, other } = both({ recurrentActivation: 'sigmoid' }, { resetAfter: false }, 16);
    expect(worst(got, want), 'max |rnnkit − tfjs| / (1e-5 + 1e-5·|tfjs|)').toBeLessThan(1);
    // The reset-after GRU (PyTorch's) is a different function: the variant is what makes it match.
    expect(maxDiff(other({}), want)).toBeGreaterThan(1e-3);
  });

  it("a softsign candidate (activation 'softsign') with hardSigmoid gates matches to 1e-5", () => {
    const { want, got } = both({ activation: 'softsign' }, { resetAfter: false, gateActivation: 'hard_sigmoid', activation: 'softsign' }, 17);
    expect(worst(got, want), 'max |rnnkit − tfjs| / (1e-5 + 1e-5·|tfjs|)').toBeLessThan(1);
  });
});
