/**
 * `Sequential.trace` and the per-epoch gradient norm on every backend: the traced hidden states of the
 * last layer are the model's output sequence, gates stay in their activation's range, both backends
 * agree, and `fit` history reports a positive gradient norm per epoch.
 */
import { describe, expect, it } from 'vitest';

import { GRU, LSTM, randn, Sequential, setBackend, tensor, type BackendName } from '../ts/index.js';

/** Scalar-dot trace vs SIMD-GEMM forward: rounding only (see crates/rnnkit-core/tests/trace.rs). */
const TRACE_TOL = 2e-5;
/** Native (FMA) vs wasm (mul+add) rounding through a few steps. */
const CROSS_TOL = 1e-5;

async function traced(backend: BackendName) {
  await setBackend(backend);
  const m = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new GRU({ hiddenSize: 4, bidirectional: true })], { seed: 5 });
  const x = randn([1, 6, 2], { seed: 2 });
  const out = m.predict(x).data as Float32Array; // [1, 6, 8]: the GRU's two directions
  const t = m.trace(x);
  m.dispose();
  return { out, t };
}

describe('Sequential.trace', () => {
  for (const backend of ['native', 'wasm'] as const) {
    it(`on ${backend}: last-layer h is the output, gates in range, panels named`, async () => {
      const { out, t } = await traced(backend);
      expect(t.steps).toBe(6);
      expect(t.panels.map((p) => p.name).slice(0, 3)).toEqual(['block 0 layer 0 hidden state h', 'block 0 layer 0 cell state c', 'block 0 layer 0 gate i (input)']);
      const fwd = t.panels.find((p) => p.name === 'block 1 layer 0 forward hidden state h')!;
      const rev = t.panels.find((p) => p.name === 'block 1 layer 0 reverse hidden state h')!;
      for (let s = 0; s < 6; s++) {
        for (let j = 0; j < 4; j++) {
          expect(Math.abs(fwd.values[s * 4 + j] - out[s * 8 + j])).toBeLessThanOrEqual(TRACE_TOL);
          expect(Math.abs(rev.values[s * 4 + j] - out[s * 8 + 4 + j])).toBeLessThanOrEqual(TRACE_TOL);
        }
      }
      for (const p of t.panels.filter((q) => q.activation === 'sigmoid')) {
        expect(p.values.every((v) => v >= 0 && v <= 1)).toBe(true);
      }
      expect(t.panels.every((p) => p.values.length === 6 * p.units)).toBe(true);
    });
  }

  it('native and wasm trace the same activations', async () => {
    const a = (await traced('native')).t;
    const b = (await traced('wasm')).t;
    expect(b.panels.map((p) => p.name)).toEqual(a.panels.map((p) => p.name));
    a.panels.forEach((p, k) => p.values.forEach((v, i) => expect(Math.abs(v - b.panels[k].values[i])).toBeLessThanOrEqual(CROSS_TOL)));
  });

  it('rejects more than one sequence with a shape error naming x', async () => {
    await setBackend('native');
    const m = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 2 })]);
    expect(() => m.trace(tensor(new Float32Array(6), [2, 3, 1]))).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_SHAPE', arg: 'x' }));
    m.dispose();
  });
});

describe('fit history gradNorm', () => {
  for (const backend of ['native', 'wasm'] as const) {
    it(`on ${backend}: one positive finite norm per epoch, reported to onEpochEnd`, async () => {
      await setBackend(backend);
      const m = new Sequential([new GRU({ inputSize: 1, hiddenSize: 4 })], { seed: 1 });
      m.compile({ loss: 'mse', optimizer: 'adam', clipNorm: 1e-3 });
      const seen: number[] = [];
      const h = await m.fit(randn([8, 5, 1], { seed: 1 }), randn([8, 5, 4], { seed: 2 }), {
        epochs: 3,
        batchSize: 4,
        callbacks: { onEpochEnd: (_, logs) => void seen.push(logs.gradNorm) },
      });
      expect(h.gradNorm).toHaveLength(3);
      expect(h.gradNorm).toEqual(seen);
      // Measured before clipping: far above the 1e-3 clip threshold.
      expect(h.gradNorm.every((g) => Number.isFinite(g) && g > 1e-2)).toBe(true);
      m.dispose();
    });
  }
});
