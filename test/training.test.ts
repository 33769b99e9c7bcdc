/**
 * Training really learns, on each backend: an LSTM forecasts the next value of a noisy sine wave far
 * better than any memoryless model can, and a GRU classifies sequences by the sign of their sum. Also:
 * a seed reproduces a loss history bit for bit, and native and wasm histories agree.
 */

import { describe, expect, it } from 'vitest';
import { Dense, GRU, LSTM, randn, Sequential, setBackend, tensor, type Tensor, type Tensor3D } from '../ts/index.js';
import { backendsFor } from './helpers/backends.js';

const BACKENDS = backendsFor('training.test');

/**
 * Next-step MSE the LSTM must beat on held-out sequences. Targets carry N(0, 0.05²) noise, so even a
 * perfect model scores ≈ 0.0025. The best memoryless predictor (from x_t alone; the slope's sign is
 * unknown) scores ≈ 0.08 and predicting the mean ≈ 0.5, so passing needs state carried through time.
 */
const SINE_MSE_MAX = 0.015;
/** Held-out accuracy for the GRU "sign of the sum" classifier; chance is 0.5. */
const CLASSIFIER_ACC_MIN = 0.9;
/** Native vs wasm loss histories after a few epochs (kernels differ in FMA use and summation order). */
const BACKEND_LOSS_RTOL = 1e-3;

/** Deterministic uniform [0, 1) stream (mulberry32) for phases. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n sequences of a noisy sine (period 16 steps, random phase); y_t = x_{t+1}. */
function sineData(n: number, steps: number, seed: number): [Tensor3D, Tensor3D] {
  const rand = uniform(seed);
  const noise = randn([n, steps + 1], { seed: seed + 1, std: 0.05 }).data;
  const x = new Float32Array(n * steps);
  const y = new Float32Array(n * steps);
  for (let i = 0; i < n; i++) {
    const phase = 2 * Math.PI * rand();
    const v = (t: number) => Math.sin((2 * Math.PI * t) / 16 + phase) + noise[i * (steps + 1) + t];
    for (let t = 0; t < steps; t++) {
      x[i * steps + t] = v(t);
      y[i * steps + t] = v(t + 1);
    }
  }
  return [tensor(x, [n, steps, 1]), tensor(y, [n, steps, 1])];
}

/** n sequences of N(0,1) values; class 1 iff the sum is positive. */
function signData(n: number, steps: number, seed: number): [Tensor3D, Tensor<'int32', readonly [number]>] {
  const x = randn([n, steps, 1], { seed });
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < steps; t++) s += x.data[i * steps + t];
    y[i] = s > 0 ? 1 : 0;
  }
  return [x, tensor(y, [n])];
}

async function trainForecaster(epochs: number, seed = 7): Promise<{ model: Sequential; loss: number[]; valLoss: number[] }> {
  const [x, y] = sineData(256, 24, 1);
  const [vx, vy] = sineData(64, 24, 99);
  const model = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 16 }), new Dense({ units: 1 })], { seed });
  model.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.02 }, clipNorm: 5 });
  const h = await model.fit(x, y, { epochs, batchSize: 32, seed: 11, validationData: [vx, vy] });
  return { model, loss: h.loss, valLoss: h.valLoss! };
}

describe.each(BACKENDS)('training on $name', ({ name, built }) => {
  const it_ = it.skipIf(!built);

  it_('an LSTM learns next-step prediction of a noisy sine wave', async () => {
    await setBackend(name);
    const { model, loss, valLoss } = await trainForecaster(40);
    const final = valLoss[valLoss.length - 1];
    expect(final, `validation MSE per epoch: ${valLoss.map((v) => v.toFixed(4)).join(' ')}`).toBeLessThan(SINE_MSE_MAX);
    expect(loss[loss.length - 1]).toBeLessThan(loss[0] / 10);
    // Independent of the backend's own loss: recompute the MSE from predictions on fresh data.
    const [tx, ty] = sineData(32, 24, 555);
    const p = model.predict(tx).data;
    let se = 0;
    for (let i = 0; i < p.length; i++) se += (p[i] - ty.data[i]) ** 2;
    expect(se / p.length).toBeLessThan(SINE_MSE_MAX);
    model.dispose();
  });

  it_('a GRU classifies sequences by the sign of their sum', async () => {
    await setBackend(name);
    const [x, y] = signData(512, 10, 3);
    const [vx, vy] = signData(256, 10, 4);
    const model = new Sequential([new GRU({ inputSize: 1, hiddenSize: 16 }), new Dense({ units: 2, returnSequences: false })], { seed: 5 });
    model.compile({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: 0.01 } });
    const h = await model.fit(x, y, { epochs: 30, batchSize: 32, validationData: [vx, vy] });
    const logits = model.predict(vx);
    expect(logits.shape).toEqual([256, 2]);
    let correct = 0;
    for (let i = 0; i < 256; i++) correct += Number((logits.data[2 * i + 1] > logits.data[2 * i] ? 1 : 0) === vy.data[i]);
    const acc = correct / 256;
    expect(acc, `accuracy ${acc}, val loss ${h.valLoss!.map((v) => v.toFixed(3)).join(' ')}`).toBeGreaterThanOrEqual(CLASSIFIER_ACC_MIN);
    model.dispose();
  });

  it_('the same seed gives an identical loss history; another seed does not', async () => {
    await setBackend(name);
    const a = await trainForecaster(4);
    const b = await trainForecaster(4);
    const c = await trainForecaster(4, 8);
    expect(b.loss).toEqual(a.loss);
    expect(b.valLoss).toEqual(a.valLoss);
    expect(c.loss).not.toEqual(a.loss);
    for (const r of [a, b, c]) r.model.dispose();
  });
});

describe.skipIf(!BACKENDS.every((b) => b.built))('native vs wasm', () => {
  it('loss histories agree within a small relative tolerance', async () => {
    const runs: Record<string, { loss: number[]; valLoss: number[] }> = {};
    for (const name of ['native', 'wasm'] as const) {
      await setBackend(name);
      const r = await trainForecaster(5);
      expect(r.model.backendName).toBe(name);
      r.model.dispose();
      runs[name] = r;
    }
    const pairs = [...runs.native.loss.map((v, i) => [v, runs.wasm.loss[i]]), ...runs.native.valLoss.map((v, i) => [v, runs.wasm.valLoss[i]])];
    for (const [n, w] of pairs) expect(Math.abs(n - w), `native ${n} vs wasm ${w}`).toBeLessThanOrEqual(BACKEND_LOSS_RTOL * Math.abs(n));
  });
});
