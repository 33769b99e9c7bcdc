/**
 * dataset(): a training set crosses into the backend once and is reused by several fit/evaluate calls;
 * int32 token ids train exactly like their one-hot floats (the core expands them); a fit copies its
 * data once (not per epoch or chunk: counted by the core, the old per-chunk copy made 1000-epoch
 * chunks of one mini-batch); datasets are counted in liveHandles and freed by dispose().
 */

import { describe, expect, it } from 'vitest';
import { dataset, Dense, liveHandles, LSTM, Sequential, setBackend, tensor, type Tensor } from '../ts/index.js';
import { loadNativeAddon } from '../ts/backend/native.js';
import { backendsFor } from './helpers/backends.js';
import { expectCode } from './helpers/errors.js';

const BACKENDS = backendsFor('dataset.test');
const V = 6;

/** n windows of t ids from a seeded stream over V symbols, with next-id targets. */
function text(n: number, t: number, seed = 1): { ids: Int32Array; next: Int32Array } {
  let s = seed;
  const stream = Int32Array.from({ length: n * t + 1 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) % V);
  return { ids: stream.slice(0, n * t), next: stream.slice(1) };
}

function oneHot(ids: Int32Array): Float32Array {
  const x = new Float32Array(ids.length * V);
  ids.forEach((id, k) => (x[k * V + id] = 1));
  return x;
}

const charModel = () => {
  const m = new Sequential([new LSTM({ inputSize: V, hiddenSize: 8 }), new Dense({ units: V, activation: 'softmax' })], { seed: 3 });
  m.compile({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: 0.01 }, clipNorm: 1 });
  return m;
};

const params = (m: Sequential) => Object.values(m.stateDict()).flatMap((p) => Array.from(p.data));

describe.each(BACKENDS)('dataset() on $name', ({ name: backend, built }) => {
  {
    it.skipIf(!built)('token ids train bit-identically to their one-hot floats, through fit, evaluate and predict', async () => {
      await setBackend(backend);
      const { ids, next } = text(24, 10);
      const y = tensor(next, [24, 10]);
      const a = charModel();
      const b = charModel();
      const opts = { epochs: 2, batchSize: 5, seed: 4 };
      const ha = await a.fit(tensor(ids, [24, 10]), y, opts);
      const hb = await b.fit(tensor(oneHot(ids), [24, 10, V]), y, opts);
      expect(ha.loss).toEqual(hb.loss);
      expect(params(a)).toEqual(params(b));
      expect(a.evaluate(tensor(ids, [24, 10]), y)).toBe(b.evaluate(tensor(oneHot(ids), [24, 10, V]), y));
      expect(Array.from(a.predict(tensor(ids.slice(0, 20), [2, 10])).data)).toEqual(Array.from(b.predict(tensor(oneHot(ids.slice(0, 20)), [2, 10, V])).data));
      await expectCode(() => a.predict(tensor(Int32Array.from([0, V]), [1, 2])), 'ERR_RNNKIT_VALUE', 'x');
      a.dispose();
      b.dispose();
    });

    it.skipIf(!built)('one dataset serves several fits and evaluations, validationData included, and is freed by dispose()', async () => {
      await setBackend(backend);
      const { ids, next } = text(30, 8, 2);
      const before = liveHandles();
      const train = dataset(tensor(ids, [30, 8]), tensor(next, [30, 8]));
      expect(liveHandles()).toBe(before + 1);
      expect(train.byteLength).toBe(ids.byteLength + next.byteLength);
      const m = charModel();
      const first = await m.fit(train, { epochs: 2, batchSize: 8, validationData: train });
      const again = await m.fit(train, { epochs: 2, batchSize: 8 });
      expect(again.loss[1]).toBeLessThan(first.loss[0]);
      // evaluate(dataset) in batches equals evaluate(x, y) at once.
      const whole = m.evaluate(tensor(ids, [30, 8]), tensor(next, [30, 8]));
      expect(m.evaluate(train, { batchSize: 7 })).toBeCloseTo(whole, 5);
      expect(first.valLoss![1]).toBeGreaterThan(0);
      // Mask and lengths belong to the dataset, not to fit(dataset).
      await expectCode(() => m.fit(train, { lengths: new Array(30).fill(8) } as never), 'ERR_RNNKIT_VALUE', 'options.lengths');
      train.dispose();
      train.dispose(); // no-op
      expect(train.disposed).toBe(true);
      expect(liveHandles()).toBe(before + 1); // the model
      await expectCode(() => m.fit(train, { epochs: 1 }), 'ERR_RNNKIT_DISPOSED', 'data');
      m.dispose();
      expect(liveHandles()).toBe(before);
    });

    it.skipIf(!built)('checks contents once when built and what depends on the model when used, naming the argument', async () => {
      await setBackend(backend);
      const m = charModel();
      const y = tensor(new Int32Array(8), [2, 4]);
      await expectCode(() => dataset(tensor(Int32Array.from([0, 1, -1, 2, 0, 1, 2, 3]), [2, 4]), y), 'ERR_RNNKIT_VALUE', 'x');
      await expectCode(() => dataset(tensor(new Float32Array(8).fill(NaN), [2, 4, 1]), tensor(new Float32Array(8), [2, 4, 1])), 'ERR_RNNKIT_VALUE', 'x');
      await expectCode(() => dataset(tensor(new Int32Array(8), [2, 4]), tensor(new Int32Array(6), [3, 2])), 'ERR_RNNKIT_SHAPE', 'y');
      await expectCode(() => dataset(tensor(new Int32Array(8), [2, 4]), y, { lengths: [4, 0] }), 'ERR_RNNKIT_VALUE', 'options.lengths[1]');
      await expectCode(() => dataset(tensor(new Int32Array(8), [2, 4]), y, { extra: 1 } as never), 'ERR_RNNKIT_VALUE', 'options.extra');
      const bigId = dataset(tensor(Int32Array.from([0, 1, 2, V, 0, 1, 2, 3]), [2, 4]), y);
      await expectCode(() => m.fit(bigId, { epochs: 1 }), 'ERR_RNNKIT_VALUE', 'x');
      const floats = dataset(tensor(new Float32Array(2 * 4 * 3), [2, 4, 3]), y);
      await expectCode(() => m.fit(floats, { epochs: 1 }), 'ERR_RNNKIT_SHAPE', 'data');
      await expectCode(() => m.fit(bigId, tensor(new Int32Array(8), [2, 4]) as never), 'ERR_RNNKIT_TYPE', 'options');
      // A bad option is caught before the model is recompiled or anything is copied.
      const before = params(m);
      await expectCode(() => m.fit(tensor(new Int32Array(8), [2, 4]), y, { epochs: 0, loss: 'cross_entropy', optimizer: { type: 'sgd', lr: 1 } }), 'ERR_RNNKIT_VALUE', 'options.epochs');
      expect(params(m)).toEqual(before);
      bigId.dispose();
      floats.dispose();
      m.dispose();
    });
  }
});

describe.skipIf(!BACKENDS.find((b) => b.name === 'native')?.built)('token ids are never expanded to one-hot rows', () => {
  it('predict and trace read ids of a 4096-symbol vocabulary over 2^18 steps (a 4 GiB one-hot tensor if built)', async () => {
    await setBackend('native');
    const m = new Sequential([new LSTM({ inputSize: 4096, hiddenSize: 2 }), new Dense({ units: 1 })]);
    const ids = tensor(new Int32Array(1 << 18).map((_, i) => (i * 7) % 4096), [1, 1 << 18]);
    expect((await m.predict(ids)).shape).toEqual([1, 1 << 18, 1]);
    const t = await m.trace(ids);
    expect(t.panels.find((p) => p.kind === 'hidden')?.values.length).toBe((1 << 18) * 2);
    await expectCode(() => m.predict(tensor(new Int32Array([4096]), [1, 1])), 'ERR_RNNKIT_VALUE', 'x');
    m.dispose();
  });
});

describe.skipIf(!BACKENDS.every((b) => b.built))('datasets and models on different backends', () => {
  it('a model uses only datasets of its own backend; fit(x, y) copies to the model\'s backend', async () => {
    await setBackend('native');
    const m = charModel();
    const { ids, next } = text(6, 4, 7);
    const x = tensor(ids, [6, 4]);
    const y = tensor(next, [6, 4]);
    await setBackend('wasm');
    const onWasm = dataset(x, y);
    await expectCode(() => m.fit(onWasm, { epochs: 1 }), 'ERR_RNNKIT_TYPE', 'data');
    const before = params(m);
    await expectCode(() => m.fit(x, y, { epochs: 1, validationData: onWasm }), 'ERR_RNNKIT_TYPE', 'options.validationData');
    expect(params(m)).toEqual(before); // refused before training anything
    expect((await m.fit(x, y, { epochs: 1 })).loss).toHaveLength(1); // copied to native, where the model is
    onWasm.dispose();
    m.dispose();
  });

  it('disposing a dataset during fit stops it with ERR_RNNKIT_DISPOSED naming the dataset', async () => {
    await setBackend('native');
    const m = charModel();
    const { ids, next } = text(400, 8, 8);
    const ds = dataset(tensor(ids, [400, 8]), tensor(next, [400, 8]));
    await expectCode(() => m.fit(ds, { epochs: 3, batchSize: 2, callbacks: { onBatchEnd: () => ds.dispose() } }), 'ERR_RNNKIT_DISPOSED', 'data');
    m.dispose();
  });
});

describe.skipIf(!BACKENDS.find((b) => b.name === 'native')?.built)('one copy per fit (native)', () => {
  it('at 1k and at 100k sequences alike, fit(x, y) copies exactly the data once, however many epochs and chunks', async () => {
    await setBackend('native');
    const addon = loadNativeAddon();
    for (const n of [1_000, 100_000]) {
      const { ids, next } = text(n, 8, 6);
      const m = charModel();
      let chunks = 0;
      const before = addon.__datasetBytesBuilt();
      await m.fit(tensor(ids, [n, 8]), tensor(next, [n, 8]), { epochs: 2, batchSize: 500, callbacks: { onBatchEnd: () => void chunks++ } });
      expect(addon.__datasetBytesBuilt() - before, `n = ${n}`).toBe(ids.byteLength + next.byteLength);
      expect(chunks, `n = ${n}`).toBeGreaterThanOrEqual(2);
      m.dispose();
    }
  }, 60_000);

  it('fit(x, y) copies its data into the core once for all epochs and chunks; fit(dataset) never', async () => {
    await setBackend('native');
    const addon = loadNativeAddon();
    const n = 3000;
    const { ids, next } = text(n, 8, 5);
    const x = tensor(ids, [n, 8]);
    const y: Tensor<'int32'> = tensor(next, [n, 8]);
    const m = charModel();
    let chunks = 0;
    const before = addon.__datasetBytesBuilt();
    await m.fit(x, y, { epochs: 3, batchSize: 4, callbacks: { onBatchEnd: () => void chunks++ } });
    expect(addon.__datasetBytesBuilt() - before).toBe(ids.byteLength + next.byteLength);
    expect(chunks).toBeGreaterThan(3); // several trainEpoch calls ran on that one copy
    const ds = dataset(x, y);
    const built = addon.__datasetBytesBuilt();
    await m.fit(ds, { epochs: 2, batchSize: 4 });
    m.evaluate(ds);
    expect(addon.__datasetBytesBuilt()).toBe(built);
    ds.dispose();
    m.dispose();
  });
});
