/**
 * fit() runs each epoch as several `trainEpoch` chunks of mini-batches: progress (`onBatchEnd`) and
 * aborts happen inside an epoch, yet the history and weights equal one whole-epoch backend call per
 * epoch bit for bit (shuffle, dropout, TBPTT, lengths). On both backends, directly and through the
 * Web Worker protocol (served over a MessageChannel).
 */

import { beforeEach, describe, expect, it } from 'vitest';

import { getBackend } from '../ts/backend/select.js';
import type { BatchData, EpochResult } from '../ts/backend/types.js';
import { Dense, LSTM, randn, Sequential, setBackend, type BatchLogs, type Tensor3D } from '../ts/index.js';
import { epochSeed } from '../ts/model.js';
import { WorkerModel } from '../ts/worker-client.js';
import { backendsFor } from './helpers/backends.js';
import { caught } from './helpers/errors.js';
import { inProcessWorker } from './helpers/worker.js';

const BACKENDS = backendsFor('fit-chunks.test');

/** Two LSTM layers with dropout between them and a per-step head: every source of randomness. */
/** What fit's AbortError carries besides the message. */
type Aborted = { history?: { loss: number[] } };

const SEED = 3;
const model = () =>
  new Sequential([new LSTM({ inputSize: 2, hiddenSize: 6, numLayers: 2, dropout: 0.3 }), new Dense({ units: 1 })], { seed: SEED });
const COMPILE = { loss: 'mse', optimizer: { type: 'adam', lr: 0.01 }, clipNorm: 1 } as const;
const TRAIN_JSON = JSON.stringify({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 }, clip_norm: 1 });
const [N, T] = [21, 8];
const x = randn([N, T, 2], { seed: 1 });
const y = randn([N, T, 1], { seed: 2 });
const lengths = Int32Array.from({ length: N }, (_, i) => 2 + (i * 5) % (T - 1));

const paramsOf = (m: Sequential) => Object.values(m.stateDict()).flatMap((t) => Array.from(t.data));

describe.each(BACKENDS)('fit in chunks on $name', ({ name, built }) => {
  beforeEach(async () => {
    if (built) await setBackend(name);
  });
  const it_ = it.skipIf(!built);

  it_('equals one whole-epoch trainEpoch call per epoch, bit for bit, and reports increasing progress', async () => {
    const m = model();
    m.compile(COMPILE);
    const calls: [number, BatchLogs][] = [];
    const opts = { epochs: 3, batchSize: 2, tbptt: 3, lengths, seed: 9 } as const;
    const h = await m.fit(x, y, { ...opts, callbacks: { onBatchEnd: (b, logs) => void calls.push([b, { ...logs }]) } });

    // The reference: the same model built straight on the backend, one call per whole epoch.
    const ref = getBackend().createModel(JSON.stringify({ ...m.spec, threads: 0 }));
    ref.compile(TRAIN_JSON);
    const data: BatchData = { x: x.data, xDims: [N, T, 2], y: y.data, lengths };
    const want: EpochResult[] = [];
    for (let e = 0; e < 3; e++) {
      want.push(await ref.trainEpoch(getBackend().createDataset(data), { batchSize: 2, shuffle: true, tbptt: 3, seed: epochSeed(9, e) }));
    }
    expect(h.loss).toEqual(want.map((w) => w.loss));
    expect(h.gradNorm).toEqual(want.map((w) => w.gradNorm));
    expect(paramsOf(m)).toEqual(Array.from(ref.getParams()));
    ref.dispose();

    // Progress: 11 mini-batches per epoch; the first chunk is one mini-batch, so epoch 0 has >= 2 chunks.
    const epochs = [0, 1, 2].map((e) => calls.filter(([, l]) => l.epoch === e));
    expect(epochs[0].length).toBeGreaterThanOrEqual(2);
    expect(epochs[0][0][1]).toMatchObject({ batches: 1, samples: 2, epochBatches: 11 });
    for (const [e, list] of epochs.entries()) {
      for (let i = 1; i < list.length; i++) {
        expect(list[i][0]).toBeGreaterThan(list[i - 1][0]);
        expect(list[i][1].samples).toBeGreaterThan(list[i - 1][1].samples);
      }
      const [lastBatch, last] = list[list.length - 1];
      expect(lastBatch).toBe(10);
      expect(last).toMatchObject({ epoch: e, batches: 11, samples: N, epochBatches: 11 });
      expect(last.loss).toBe(h.loss[e]); // the last chunk's running mean is the epoch's loss
      for (const [b, l] of list) {
        expect(b).toBe(l.batches - 1);
        expect(Number.isFinite(l.loss) && l.loss > 0).toBe(true);
      }
    }
    m.dispose();
  });

  it_('the backend runs any chunking of an epoch to the same result as one call', async () => {
    const spec = JSON.stringify({ ...model().spec, threads: 0 });
    const data: BatchData = { x: x.data, xDims: [N, T, 2], y: y.data, lengths };
    const opts = { batchSize: 3, shuffle: true, tbptt: 0, seed: 77 };
    const whole = getBackend().createModel(spec);
    whole.compile(TRAIN_JSON);
    const w = await whole.trainEpoch(getBackend().createDataset(data), opts);
    expect(w).toMatchObject({ batches: 7, samples: N, nextBatch: 7, epochBatches: 7, updates: 7 });
    const parts = getBackend().createModel(spec);
    parts.compile(TRAIN_JSON);
    let r: EpochResult | undefined;
    let samples = 0;
    for (const size of [1, 2, 1, 3]) {
      r = await parts.trainEpoch(getBackend().createDataset(data), { ...opts, firstBatch: r?.nextBatch ?? 0, maxBatches: size, ...(r ? { carry: r } : {}) });
      expect(r.batches).toBe(size);
      samples += r.samples;
    }
    // Counts are per call; the means and running sums are the epoch's.
    expect({ ...r, batches: 7, samples }).toEqual(w);
    expect(Array.from(parts.getParams())).toEqual(Array.from(whole.getParams()));
    // Bad ranges reject naming the argument (and train nothing).
    const before = Array.from(parts.getParams());
    await expect(parts.trainEpoch(getBackend().createDataset(data), { ...opts, firstBatch: 8 })).rejects.toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'firstBatch' });
    await expect(parts.trainEpoch(getBackend().createDataset(data), { ...opts, maxBatches: 0 })).rejects.toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'maxBatches' });
    await expect(parts.trainEpoch(getBackend().createDataset(data), { ...opts, carry: { updates: 1, lossSum: NaN, gradNormSum: 0 } })).rejects.toMatchObject({ arg: 'carryLossSum' });
    await expect(parts.trainEpoch(getBackend().createDataset(data), { ...opts, carry: { updates: 1, lossSum: -1, gradNormSum: 0 } })).rejects.toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'carryLossSum' });
    expect(Array.from(parts.getParams())).toEqual(before);
    whole.dispose();
    parts.dispose();
  });

  it_('an abort inside an epoch stops after the running chunk; the model keeps that chunk and stays usable', async () => {
    const m = model();
    m.compile(COMPILE);
    const ac = new AbortController();
    const seen: number[] = [];
    const epochsEnded: number[] = [];
    const e = await caught<Aborted>(() =>
      m.fit(x, y, {
        epochs: 5,
        batchSize: 1,
        seed: 4,
        signal: ac.signal,
        callbacks: {
          onBatchEnd: (b) => {
            seen.push(b);
            ac.abort();
          },
          onEpochEnd: (ep) => void epochsEnded.push(ep),
        },
      }),
    );
    expect(e.name).toBe('AbortError');
    expect(e.message).toContain(`aborted after 0 epoch(s) and 1 of ${N} mini-batches of epoch 1`);
    expect(e.history!.loss).toEqual([]);
    expect(seen).toEqual([0]);
    expect(epochsEnded).toEqual([]);
    // Exactly one mini-batch was trained: the weights equal a backend call limited to batch 0.
    const ref = getBackend().createModel(JSON.stringify({ ...m.spec, threads: 0 }));
    ref.compile(TRAIN_JSON);
    await ref.trainEpoch(getBackend().createDataset({ x: x.data, xDims: [N, T, 2], y: y.data }), { batchSize: 1, shuffle: true, tbptt: 0, seed: epochSeed(4, 0), maxBatches: 1 });
    expect(paramsOf(m)).toEqual(Array.from(ref.getParams()));
    ref.dispose();
    expect(m.predict(x as Tensor3D).shape).toEqual([N, T, 1]);
    expect((await m.fit(x, y, { epochs: 1, batchSize: 4 })).loss).toHaveLength(1);
    m.dispose();
  });

  it_('validates the callbacks', async () => {
    const m = model();
    m.compile(COMPILE);
    await expect(m.fit(x, y, { callbacks: { onBatchEnd: 3 as never } })).rejects.toMatchObject({ code: 'ERR_RNNKIT_TYPE', arg: 'options.callbacks.onBatchEnd' });
    await expect(m.fit(x, y, { callbacks: { onBatchBegin: () => undefined } as never })).rejects.toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'options.callbacks.onBatchBegin' });
    // A throwing onBatchEnd rejects fit with that error.
    await expect(m.fit(x, y, { callbacks: { onBatchEnd: () => { throw new Error('boom'); } } })).rejects.toThrow('boom');
    m.dispose();
  });
});

describe.each(BACKENDS)('worker protocol: per-chunk progress on $name', ({ name, built }) => {
  const connect = inProcessWorker();
  it.skipIf(!built)('onBatchEnd crosses the worker boundary in order; an abort stops the fit', async () => {
    await setBackend(name);
    const wm = await WorkerModel.create(connect(), [
      { type: 'LSTM', config: { input_size: 2, hidden_size: 6, num_layers: 2, dropout: 0.3 } },
      { type: 'Dense', config: { units: 1 } },
    ], { seed: SEED, backend: name });
    await wm.compile(COMPILE);
    const calls: [number, BatchLogs][] = [];
    const order: string[] = [];
    const h = await wm.fit(x, y, {
      epochs: 2,
      batchSize: 2,
      seed: 9,
      callbacks: {
        onBatchEnd: (b, logs) => {
          calls.push([b, logs]);
          order.push(`b${logs.epoch}`);
        },
        onEpochEnd: (e) => void order.push(`e${e}`),
      },
    });
    expect(calls.length).toBeGreaterThanOrEqual(3); // epoch 0 has >= 2 chunks
    expect(calls[0][1]).toMatchObject({ epoch: 0, batches: 1, samples: 2 });
    expect(order[order.length - 1]).toBe('e1');
    expect(order.indexOf('e0')).toBeGreaterThan(order.indexOf('b0'));
    // Same numbers as fit in this thread.
    const local = model();
    local.compile(COMPILE);
    expect((await local.fit(x, y, { epochs: 2, batchSize: 2, seed: 9 })).loss).toEqual(h.loss);
    local.dispose();

    const ac = new AbortController();
    let batches = 0;
    const e = await caught<Aborted>(() =>
      wm.fit(x, y, { epochs: 200, batchSize: 1, signal: ac.signal, callbacks: { onBatchEnd: () => void (++batches === 1 && ac.abort()) } }),
    );
    expect(e.name).toBe('AbortError');
    expect(e.history!.loss.length).toBeLessThan(200);
    expect(batches).toBeGreaterThanOrEqual(1);
    await wm.dispose();
  });
});
