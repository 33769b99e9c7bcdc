/**
 * The `threads` option of Sequential and of standalone recurrent layers: validation (code + arg),
 * that it reaches the core spec, and — on the native backend, where it really splits work over a
 * pool of threads — that predictions, gradients and whole training runs are bit-identical for
 * threads = 1, 2, 3, also when two models train at the same time. Wasm always runs one thread.
 */

import { describe, expect, it } from 'vitest';
import { Dense, GRU, LSTM, randn, RNN, Sequential, setBackend, type Tensor3D } from '../ts/index.js';
import { backendsFor } from './helpers/backends.js';
import { thrown } from './helpers/errors.js';

const [nativeBuilt, wasmBuilt] = backendsFor('threads.test').map((b) => b.built);

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

// Odd sizes large enough that the core splits both the input projection (T·B rows) and the
// per-step recurrent GEMM (B × gates·H) over threads (see crates/rnnkit-core/tests/parallel.rs).
const B = 19;
const T = 9;
const I = 37;
const H = 131;
type Cell = 'lstm' | 'gru' | 'rnn';

function model(cell: Cell, threads: number): Sequential {
  const rec = cell === 'lstm' ? new LSTM({ inputSize: I, hiddenSize: H }) : cell === 'gru' ? new GRU({ inputSize: I, hiddenSize: H }) : new RNN({ inputSize: I, hiddenSize: H });
  return new Sequential([rec, new Dense({ units: 3 })], { seed: 4, threads });
}

describe('threads option: validation', () => {
  it('Sequential: defaults to 0 (all cores), rejects non-integers and out-of-range values naming options.threads', () => {
    expect(model('gru', 0).threads).toBe(0);
    expect(new Sequential([new GRU({ inputSize: 2, hiddenSize: 3 })]).threads).toBe(0);
    expect(model('gru', 3).threads).toBe(3);
    for (const [bad, code] of [
      [-1, 'ERR_RNNKIT_VALUE'],
      [257, 'ERR_RNNKIT_VALUE'],
      [1.5, 'ERR_RNNKIT_TYPE'],
      ['2', 'ERR_RNNKIT_TYPE'],
      [Number.NaN, 'ERR_RNNKIT_TYPE'],
    ] as const) {
      const e = thrown(() => new Sequential([new GRU({ inputSize: 2, hiddenSize: 3 })], { threads: bad as number }));
      expect(e.code, `${String(bad)}: ${e.message}`).toBe(code);
      expect(e.arg).toBe('options.threads');
    }
  });

  it('layers: threads defaults to 0, reaches toModelSpec, and bad values name threads', () => {
    expect(new LSTM({ inputSize: 2, hiddenSize: 3 }).threads).toBe(0);
    const g = new GRU({ inputSize: 2, hiddenSize: 3, threads: 2 });
    expect(g.threads).toBe(2);
    expect(g.toModelSpec()).toMatchObject({ threads: 2, layers: [{ type: 'GRU' }] });
    for (const [bad, code] of [
      [-1, 'ERR_RNNKIT_VALUE'],
      [2.5, 'ERR_RNNKIT_VALUE'],
      [1000, 'ERR_RNNKIT_VALUE'],
      ['4', 'ERR_RNNKIT_TYPE'],
    ] as const) {
      const e = thrown(() => new RNN({ inputSize: 2, hiddenSize: 3, threads: bad as number }));
      expect(e.code, `${String(bad)}: ${e.message}`).toBe(code);
      expect(e.arg).toBe('options.threads');
    }
  });
});

describe.skipIf(!nativeBuilt)('threads option: native results are bit-identical for every thread count', () => {
  const x = randn([B, T, I], { seed: 1 }) as Tensor3D;
  const y = randn([B, T, 3], { seed: 2 });

  async function fitted(cell: Cell, threads: number): Promise<{ pred: number[]; loss: number[] }> {
    await setBackend('native');
    const m = model(cell, threads);
    m.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } });
    const history = await m.fit(x, y, { epochs: 2, batchSize: 7, seed: 3 });
    const pred = bits(m.predict(x).data as Float32Array);
    m.dispose();
    return { pred, loss: history.loss };
  }

  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell}: predict after fit, and the losses, equal threads = 1 bit for bit`, async () => {
      const one = await fitted(cell, 1);
      for (const threads of [2, 3]) {
        const got = await fitted(cell, threads);
        expect(got.loss, `${cell} threads ${threads}`).toEqual(one.loss);
        expect(got.pred, `${cell} threads ${threads}`).toEqual(one.pred);
      }
    });
  }

  it('standalone layer forward/backward gradients equal threads = 1 bit for bit', async () => {
    await setBackend('native');
    const xs = randn([T, B, I], { seed: 5 }) as Tensor3D;
    const run = (threads: number) => {
      const l = new LSTM({ inputSize: I, hiddenSize: H, bidirectional: true, threads, seed: 2 });
      const out = l.forward(xs, { training: true });
      const g = l.backward(randn(out.output.shape as [number, number, number], { seed: 6 }) as Tensor3D);
      const result = [bits(out.output.data as Float32Array), bits(g.dx.data as Float32Array), ...Object.values(g.grads).map((t) => bits(t.data as Float32Array))];
      l.dispose();
      return result;
    };
    const one = run(1);
    expect(run(2)).toEqual(one);
    expect(run(0)).toEqual(one);
  });

  it('two models training at the same time give the same results as one at a time', async () => {
    const alone = [await fitted('lstm', 2), await fitted('gru', 2)];
    const together = await Promise.all([fitted('lstm', 2), fitted('gru', 2)]);
    expect(together).toEqual(alone);
  });
});

describe.skipIf(!wasmBuilt)('threads option: wasm', () => {
  it('gives identical results for any thread count (the threaded module splits GEMMs across its workers)', async () => {
    await setBackend('wasm');
    const x = randn([3, 4, I], { seed: 1 }) as Tensor3D;
    const preds = [1, 4].map((threads) => {
      const m = model('gru', threads);
      const p = bits(m.predict(x).data as Float32Array);
      m.dispose();
      return p;
    });
    expect(preds[1]).toEqual(preds[0]);
  });
});
