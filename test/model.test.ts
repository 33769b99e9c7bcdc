/**
 * Sequential: construction, compile and fit argument errors (asserted on `code` and `arg`), disposal,
 * busy and abort behaviour, a non-blocked event loop during native fit, streaming step() against
 * predict(), state dicts, summary, and the Web Worker protocol (served over a MessageChannel).
 */

import { existsSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AttentionPooling,
  Conv1D,
  Dense,
  Embedding,
  GlobalMeanPool,
  GRU,
  layerFromJSON,
  MaxPool1D,
  liveHandles,
  LSTM,
  randn,
  RNN,
  Sequential,
  setBackend,
  tensor,
  zeros,
  type Tensor,
  type Tensor3D,
} from '../ts/index.js';
import { WorkerModel } from '../ts/worker-client.js';
import { backendsFor } from './helpers/backends.js';
import { caught, expectCode } from './helpers/errors.js';
import { getGc } from './helpers/gc.js';
import { inProcessWorker } from './helpers/worker.js';

const BACKENDS = backendsFor('model.test');

/** Runs `fn` and returns what it threw (sync or async), failing if nothing was thrown. */
const forecaster = (seed = 1) =>
  new Sequential([new LSTM({ inputSize: 2, hiddenSize: 8 }), new Dense({ units: 1 })], { seed });
const classifier = (seed = 1) =>
  new Sequential([new GRU({ inputSize: 2, hiddenSize: 8 }), new Dense({ units: 3, returnSequences: false })], { seed });

describe.each(BACKENDS)('Sequential on $name', ({ name, built }) => {
  beforeEach(async () => {
    if (built) await setBackend(name);
  });
  const it_ = it.skipIf(!built);

  it_('binds to the backend current at construction', () => {
    const m = forecaster();
    expect(m.backendName).toBe(name);
    m.dispose();
  });

  it_('builds the core spec at construction; spec, shapes, summary and parameter counts come from the core', () => {
    const m = new Sequential(
      [new LSTM({ inputSize: 1, hiddenSize: 32 }), new GRU({ hiddenSize: 16, bidirectional: true }), new RNN({ hiddenSize: 4, nonlinearity: 'relu' }), new Dense({ units: 1, returnSequences: false })],
      { seed: 1 },
    );
    const spec = m.spec;
    expect(spec).toMatchObject({ batch_first: true, seed: 1, threads: 0 });
    // Dense with returnSequences: false is LastStep + Dense; input sizes were inferred by the core.
    expect(spec.layers.map((l) => l.type)).toEqual(['LSTM', 'GRU', 'RNN', 'LastStep', 'Dense']);
    expect(spec.layers[0].config).toMatchObject({ input_size: 1, hidden_size: 32, num_layers: 1, bidirectional: false, bias: true });
    expect(spec.layers[1].config).toMatchObject({ input_size: 32, hidden_size: 16, bidirectional: true });
    expect(spec.layers[2].config).toMatchObject({ input_size: 32, hidden_size: 4, nonlinearity: 'relu' });
    expect(spec.layers[4].config).toEqual({ in_features: 4, units: 1, activation: 'identity', bias: true });
    // LSTM 4·32·(1+32+2) + GRU 2·3·16·(32+16+2) + RNN 4·(32+4+2) + Dense 4+1
    expect(m.layerInfo().map((l) => l.params)).toEqual([4480, 4800, 152, 0, 5]);
    expect(m.numParameters).toBe(4480 + 4800 + 152 + 5);
    expect(m.io).toEqual({ input: { kind: 'sequence', features: 1 }, output: { kind: 'vector', features: 1 } });
    // The layers rebuilt from the canonical spec serialise to it.
    expect(spec.layers.map((l) => layerFromJSON(l).toJSON())).toEqual(spec.layers);
    const s = m.summary();
    expect(s).toMatch(/LSTM\(input_size 1, hidden_size 32.*\)\s+\[batch, seq, 32\]\s+4,480/);
    expect(s).toMatch(/GRU\(.*bidirectional.*\)\s+\[batch, seq, 32\]\s+4,800/);
    expect(s).toMatch(/LastStep\(features 4\)\s+\[batch, 4\]\s+0/);
    expect(s).toMatch(/Dense\(in_features 4, units 1, activation identity, bias\)\s+\[batch, 1\]\s+5/);
    expect(s).toMatch(/Total params: 9,437/);
    m.dispose();
  });

  it_('a shape mismatch or bad order is the core\'s error, naming spec.layers[k].config.<key>; bad arguments are TS errors', async () => {
    const e = await caught(() => new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new GRU({ inputSize: 4, hiddenSize: 2 })]));
    expect(e).toMatchObject({ code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[1].config.input_size' });
    expect(e.message).toMatch(/3/);
    expect(e.message).toMatch(/4/);
    await expectCode(() => new Sequential([new GRU({ hiddenSize: 2 })]), 'ERR_RNNKIT_VALUE', 'spec.layers[0].config.input_size');
    await expectCode(() => new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new Embedding({ numEmbeddings: 4, embeddingDim: 2 })]), 'ERR_RNNKIT_SHAPE', 'spec.layers[1].config');
    await expectCode(() => new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new GlobalMeanPool(), new MaxPool1D({ poolSize: 2 })]), 'ERR_RNNKIT_SHAPE', 'spec.layers[2].config');
    await expectCode(() => new Sequential([]), 'ERR_RNNKIT_VALUE', 'layers');
    await expectCode(() => new Sequential([{ hiddenSize: 3 } as unknown as LSTM]), 'ERR_RNNKIT_TYPE', 'layers[0]');
    await expectCode(() => new Sequential([{ type: 'LSTM', config: { hidden_size: 3 } } as unknown as LSTM]), 'ERR_RNNKIT_TYPE', 'layers[0]');
    await expectCode(() => new Sequential('lstm' as unknown as []), 'ERR_RNNKIT_TYPE', 'layers');
    await expectCode(() => forecaster(-1), 'ERR_RNNKIT_VALUE', 'options.seed');
    await expectCode(() => new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 })], { sead: 1 } as never), 'ERR_RNNKIT_VALUE', 'options.sead');
    // Layers may now follow each other freely: Dense per step, then a recurrent layer.
    const free = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new Dense({ units: 4, activation: 'relu' }), new GRU({ hiddenSize: 2 })]);
    expect(free.io.output).toEqual({ kind: 'sequence', features: 2 });
    free.dispose();
  });

  it_('Embedding → Conv1D → MaxPool1D → BiLSTM → AttentionPooling → Dense builds, reports from the core and fits int32 ids', async () => {
    const [vocab, B, T, classes] = [12, 16, 10, 3];
    const m = new Sequential(
      [
        new Embedding({ numEmbeddings: vocab, embeddingDim: 6, paddingIdx: 0 }),
        new Conv1D({ outChannels: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
        new MaxPool1D({ poolSize: 2 }),
        new LSTM({ hiddenSize: 5, bidirectional: true }),
        new AttentionPooling({}),
        new Dense({ units: classes }),
      ],
      { seed: 3 },
    );
    expect(m.io).toEqual({ input: { kind: 'ids', vocab }, output: { kind: 'vector', features: classes } });
    const infos = m.layerInfo();
    expect(infos.map((l) => l.type)).toEqual(['Embedding', 'Conv1D', 'MaxPool1D', 'LSTM', 'AttentionPooling', 'Dense']);
    expect(infos.map((l) => l.output)).toEqual([
      { kind: 'sequence', features: 6 },
      { kind: 'sequence', features: 8 },
      { kind: 'sequence', features: 8 },
      { kind: 'sequence', features: 10 },
      { kind: 'vector', features: 10 },
      { kind: 'vector', features: classes },
    ]);
    // nn.Embedding 12·6; nn.Conv1d(6, 8, 3) 8·6·3 + 8; bidirectional nn.LSTM(8, 5) 2·(20·8 + 20·5 + 40); Dense 10·3 + 3
    expect(infos[0].params).toBe(72);
    expect(infos[1].params).toBe(152);
    expect(infos[3].params).toBe(600);
    expect(infos[5].params).toBe(33);
    expect(m.numParameters).toBe(infos.reduce((n, l) => n + l.params, 0));
    expect(m.summary()).toMatch(/Embedding\(num_embeddings 12, embedding_dim 6, padding_idx 0\)\s+\[batch, seq, 6\]\s+72/);
    expect(m.summary()).toMatch(/input \[batch, seq\] ids/);
    // Class = (first id) mod 3: learnable from the sequence.
    const ids = new Int32Array(B * T);
    const y = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) ids[b * T + t] = 1 + ((b * 7 + t * 3) % (vocab - 1));
      y[b] = ids[b * T] % classes;
    }
    const x = tensor(ids, [B, T]);
    m.compile({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: 0.02 } });
    const h = await m.fit(x, tensor(y, [B]), { epochs: 15, batchSize: 8 });
    expect(h.loss.every(Number.isFinite)).toBe(true);
    expect(h.loss[h.loss.length - 1]).toBeLessThan(h.loss[0]);
    expect(m.predict(x).shape).toEqual([B, classes]);
    expect(m.evaluate(x, tensor(y, [B]))).toBeLessThan(h.loss[0]);
    // Float features are the core's type error for an Embedding first layer.
    await expectCode(() => m.predict(randn([B, T, 1], { seed: 1 }) as never), 'ERR_RNNKIT_TYPE', 'x');
    // The trace shows attention weights and layer outputs.
    const tr = m.trace(tensor(ids.slice(0, T), [1, T]));
    expect(tr.panels.some((p) => p.kind === 'attention')).toBe(true);
    expect(tr.panels.some((p) => p.kind === 'output')).toBe(true);
    // Each panel has its own rows: the input's steps, half of them after the pool, one for a vector.
    for (const p of tr.panels) expect(p.values.length, p.name).toBe(p.steps * p.units);
    expect(tr.panels.some((p) => p.steps === T)).toBe(true);
    expect(tr.panels.some((p) => p.steps === T / 2)).toBe(true);
    expect(tr.panels.some((p) => p.steps === 1)).toBe(true);
    m.dispose();
  });

  it_('compile rejects bad losses, optimizers and options', async () => {
    const m = forecaster();
    await expectCode(() => m.compile({ loss: 'hinge' as never }), 'ERR_RNNKIT_VALUE', 'options.loss');
    await expectCode(() => m.compile({} as never), 'ERR_RNNKIT_TYPE', 'options.loss');
    await expectCode(() => m.compile({ loss: 'mse', optimizer: 'lbfgs' as never }), 'ERR_RNNKIT_VALUE', 'options.optimizer');
    await expectCode(() => m.compile({ loss: 'mse', optimizer: { type: 'sgd', beta1: 0.9 } }), 'ERR_RNNKIT_VALUE', 'options.optimizer.beta1');
    await expectCode(() => m.compile({ loss: 'mse', optimizer: { type: 'adam', lr: NaN } }), 'ERR_RNNKIT_TYPE', 'options.optimizer.lr');
    await expectCode(() => m.compile({ loss: 'mse', optimizer: { type: 'sgd', nesterov: 1 as never } }), 'ERR_RNNKIT_TYPE', 'options.optimizer.nesterov');
    await expectCode(() => m.compile({ loss: 'mse', clipNorm: 0 }), 'ERR_RNNKIT_VALUE', 'options.clipNorm');
    await expectCode(() => m.compile({ loss: 'mse', learningRate: 0.1 } as never), 'ERR_RNNKIT_VALUE', 'options.learningRate');
    // Range checks happen in the core and name the snake_case field.
    const e = await caught(() => m.compile({ loss: 'mse', optimizer: { type: 'adam', lr: -1 } }));
    expect(e.code).toBe('ERR_RNNKIT_VALUE');
    expect(e.message).toMatch(/lr/);
    m.compile({ loss: 'mse', optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }, clipNorm: 1, clipValue: 0.5 });
    expect(m.loss).toBe('mse');
    m.dispose();
  });

  it_('fit rejects bad x, y, mask, lengths and options, naming the argument', async () => {
    const m = forecaster();
    m.compile({ loss: 'mse' });
    const x = randn([4, 5, 2], { seed: 1 });
    const y = randn([4, 5, 1], { seed: 2 });
    await expectCode(() => m.fit(randn([4, 5], { seed: 1 }) as unknown as Tensor3D, y), 'ERR_RNNKIT_SHAPE', 'x');
    await expectCode(() => m.fit(randn([4, 5, 3], { seed: 1 }), y), 'ERR_RNNKIT_SHAPE', 'x');
    await expectCode(() => m.fit(zeros([4, 5, 2], 'int32') as unknown as Tensor3D, y), 'ERR_RNNKIT_TYPE', 'x');
    await expectCode(() => m.fit(new Float32Array(40) as unknown as Tensor3D, y), 'ERR_RNNKIT_TYPE', 'x');
    await expectCode(() => m.fit(x, randn([3, 5, 1], { seed: 2 })), 'ERR_RNNKIT_SHAPE', 'y'); // batch mismatch
    await expectCode(() => m.fit(x, randn([4, 5, 2], { seed: 2 })), 'ERR_RNNKIT_SHAPE', 'y');
    const nanY = randn([4, 5, 1], { seed: 2 });
    nanY.data[7] = NaN;
    const e = await caught(() => m.fit(x, nanY));
    expect(e).toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'y' });
    expect(e.message).toMatch(/NaN/);
    const infX = randn([4, 5, 2], { seed: 1 });
    infX.data[3] = Infinity;
    await expectCode(() => m.fit(infX, y), 'ERR_RNNKIT_VALUE', 'x');
    await expectCode(() => m.fit(x, zeros([4, 5], 'int32')), 'ERR_RNNKIT_TYPE', 'y'); // class ids with mse
    // The mask's step count is the core's to check (convolutions and pools change steps).
    expect((await caught(() => m.fit(x, y, { mask: zeros([4, 4]) }))).code).toBe('ERR_RNNKIT_SHAPE');
    await expectCode(() => m.fit(x, y, { mask: zeros([3, 5]) }), 'ERR_RNNKIT_SHAPE', 'options.mask');
    await expectCode(() => m.fit(x, y, { lengths: [5, 5, 6, 1] }), 'ERR_RNNKIT_VALUE', 'options.lengths[2]');
    await expectCode(() => m.fit(x, y, { lengths: [5, 5] }), 'ERR_RNNKIT_SHAPE', 'options.lengths');
    await expectCode(() => m.fit(x, y, { epochs: 0 }), 'ERR_RNNKIT_VALUE', 'options.epochs');
    await expectCode(() => m.fit(x, y, { batchSize: 2.5 }), 'ERR_RNNKIT_TYPE', 'options.batchSize');
    await expectCode(() => m.fit(x, y, { epoch: 3 } as never), 'ERR_RNNKIT_VALUE', 'options.epoch');
    await expectCode(() => m.fit(x, y, { validationData: [x, randn([4, 5, 3], { seed: 3 })] }), 'ERR_RNNKIT_SHAPE', 'validationData[1]');
    // After all those rejections the model still trains.
    const mask = tensor(Float32Array.from({ length: 20 }, (_, i) => (i % 7 === 3 ? 0 : 1)), [4, 5]);
    const h = await m.fit(x, y, { epochs: 2, batchSize: 2, mask, lengths: [5, 5, 3, 1] });
    expect(h.loss).toHaveLength(2);
    m.dispose();
  });

  it_('cross_entropy needs int32 class ids shaped like the output without its class axis', async () => {
    const m = classifier();
    m.compile({ loss: 'cross_entropy', optimizer: 'adam' });
    const x = randn([6, 4, 2], { seed: 1 });
    await expectCode(() => m.fit(x, randn([6, 3], { seed: 1 })), 'ERR_RNNKIT_TYPE', 'y');
    await expectCode(() => m.fit(x, zeros([6, 4], 'int32')), 'ERR_RNNKIT_SHAPE', 'y');
    await expectCode(() => m.fit(x, tensor([0, 1, 2, 3, 0, 1], [6], 'int32')), 'ERR_RNNKIT_VALUE', 'y');
    await expectCode(() => m.fit(x, tensor([0, 1, 2, 0, 0, 1], [6], 'int32'), { mask: zeros([6, 4]) }), 'ERR_RNNKIT_VALUE', 'options.mask');
    const h = await m.fit(x, tensor([0, 1, 2, 0, 0, 1], [6], 'int32'), { epochs: 1 });
    expect(Number.isFinite(h.loss[0])).toBe(true);
    m.dispose();
  });

  it_('fit and evaluate need a compiled model; fit accepts the compile options inline', async () => {
    const m = forecaster();
    const x = randn([4, 5, 2], { seed: 1 });
    const y = randn([4, 5, 1], { seed: 2 });
    await expectCode(() => m.fit(x, y), 'ERR_RNNKIT_VALUE', 'model');
    await expectCode(() => m.evaluate(x, y), 'ERR_RNNKIT_VALUE', 'model');
    const h = await m.fit(x, y, { loss: 'mse', optimizer: { type: 'sgd', lr: 0.05 }, epochs: 3, validationData: [x, y] });
    expect(h.loss).toHaveLength(3);
    expect(h.valLoss).toHaveLength(3);
    expect(m.evaluate(x, y)).toBeCloseTo(h.valLoss![2], 5);
    m.dispose();
  });

  it_('a second fit while one runs is refused; the first completes', async () => {
    const m = forecaster();
    m.compile({ loss: 'mse' });
    const x = randn([16, 10, 2], { seed: 1 });
    const y = randn([16, 10, 1], { seed: 2 });
    const first = m.fit(x, y, { epochs: 3 });
    const e = await caught(() => m.fit(x, y));
    expect(e.code).toBe('ERR_RNNKIT_DISPOSED');
    expect(e.message).toMatch(/busy/);
    expect((await first).loss).toHaveLength(3);
    m.dispose();
  });

  it_('every method of a disposed model throws ERR_RNNKIT_DISPOSED; dispose frees the backend model', async () => {
    const m = forecaster();
    m.compile({ loss: 'mse' });
    const before = liveHandles();
    m.dispose();
    expect(liveHandles()).toBe(before - 1);
    m.dispose(); // no-op
    const x = randn([2, 3, 2], { seed: 1 });
    for (const call of [
      () => m.predict(x),
      () => m.fit(x, randn([2, 3, 1], { seed: 1 })),
      () => m.compile({ loss: 'mse' }),
      () => m.evaluate(x, randn([2, 3, 1], { seed: 1 })),
      () => m.step(randn([2, 2], { seed: 1 })),
      () => m.resetState(),
      () => m.stateDict(),
      () => m.toBytes(),
      () => m.save('/tmp/never.safetensors'),
    ]) {
      await expectCode(call, 'ERR_RNNKIT_DISPOSED', 'model');
    }
    expect(existsSync('/tmp/never.safetensors')).toBe(false);
  });

  it_('dispose() during fit() lets the running epoch finish, then fit rejects and memory is freed', async () => {
    const m = forecaster();
    m.compile({ loss: 'mse' });
    // Let earlier tests' collected handles finalize first, so the count below moves only by this model.
    const gc = getGc();
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    const before = liveHandles();
    const x = randn([8, 6, 2], { seed: 1 });
    const run = m.fit(x, randn([8, 6, 1], { seed: 2 }), { epochs: 5, callbacks: { onEpochEnd: (e) => (e === 1 ? m.dispose() : undefined) } });
    await expectCode(() => run, 'ERR_RNNKIT_DISPOSED');
    expect(liveHandles()).toBe(before - 1);
  });

  it_('an AbortSignal stops fit between epochs with an AbortError; the model stays usable', async () => {
    const m = forecaster();
    m.compile({ loss: 'mse' });
    const x = randn([8, 6, 2], { seed: 1 });
    const y = randn([8, 6, 1], { seed: 2 });
    const ac = new AbortController();
    const seen: number[] = [];
    const e = await caught(() =>
      m.fit(x, y, { epochs: 10, signal: ac.signal, callbacks: { onEpochEnd: (epoch) => { seen.push(epoch); if (epoch === 1) ac.abort(); } } }),
    );
    expect(e.name).toBe('AbortError');
    expect(seen).toEqual([0, 1]);
    expect((e as unknown as { history: { loss: number[] } }).history.loss).toHaveLength(2);
    expect(m.predict(x).shape).toEqual([8, 6, 1]);
    expect((await m.fit(x, y, { epochs: 1 })).loss).toHaveLength(1);
    // Already aborted: no epoch runs.
    const none: number[] = [];
    const e2 = await caught(() => m.fit(x, y, { signal: AbortSignal.abort(), callbacks: { onEpochEnd: (ep) => void none.push(ep) } }));
    expect(e2.name).toBe('AbortError');
    expect(none).toEqual([]);
    m.dispose();
  });

  it_('awaits async onEpochEnd callbacks in order and reports validation loss', async () => {
    const m = forecaster();
    m.compile({ loss: 'mse' });
    const x = randn([8, 6, 2], { seed: 1 });
    const y = randn([8, 6, 1], { seed: 2 });
    const log: string[] = [];
    const h = await m.fit(x, y, {
      epochs: 3,
      validationData: [x, y],
      callbacks: {
        onEpochEnd: async (epoch, logs) => {
          log.push(`start ${epoch}`);
          await new Promise((r) => setTimeout(r, 5));
          expect(logs.valLoss).toBeTypeOf('number');
          log.push(`end ${epoch}`);
        },
      },
    });
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    expect(h.valLoss).toHaveLength(3);
    m.dispose();
  });

  it_('step() streams the same outputs as predict() on the whole sequence; resetState() restarts', () => {
    const m = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 5 }), new GRU({ hiddenSize: 4 }), new Dense({ units: 3, activation: 'tanh' })], { seed: 4 });
    const [B, T] = [3, 6];
    const x = randn([B, T, 2], { seed: 9 });
    const want = m.predict(x).data; // [B, T, 3]
    const stepAt = (t: number) => {
      const xt = new Float32Array(B * 2);
      for (let b = 0; b < B; b++) xt.set(x.data.subarray((b * T + t) * 2, (b * T + t) * 2 + 2), b * 2);
      return m.step(tensor(xt, [B, 2]));
    };
    for (let pass = 0; pass < 2; pass++) {
      for (let t = 0; t < T; t++) {
        const out = stepAt(t);
        expect(out.shape).toEqual([B, 3]);
        for (let b = 0; b < B; b++) {
          for (let u = 0; u < 3; u++) expect(out.data[b * 3 + u]).toBeCloseTo(want[(b * T + t) * 3 + u], 5);
        }
      }
      m.resetState();
    }
    expect(() => m.step(randn([B, 3], { seed: 1 }))).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_SHAPE', arg: 'xT' }));
    m.dispose();
  });

  it_('forward() carries the states stateInfo() describes: chunk after chunk equals predict() on the whole', () => {
    // A causal convolution carries its input history, the GRU h, the LSTM h and c.
    const m = new Sequential(
      [new Conv1D({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 'causal' }), new GRU({ hiddenSize: 4 }), new LSTM({ hiddenSize: 3 }), new Dense({ units: 2 })],
      { seed: 5 },
    );
    const [B, T, cut] = [2, 7, 3];
    const info = m.stateInfo(B);
    expect(info.map((st) => [st.layer, st.name])).toEqual([[0, 'history'], [1, 'h'], [2, 'h'], [2, 'c']]);
    expect(info[1].dims).toEqual([1, B, 4]);
    const x = randn([B, T, 2], { seed: 6 });
    const part = (t0: number, t1: number) => {
      const d = new Float32Array(B * (t1 - t0) * 2);
      for (let b = 0; b < B; b++) d.set(x.data.subarray((b * T + t0) * 2, (b * T + t1) * 2), b * (t1 - t0) * 2);
      return tensor(d, [B, t1 - t0, 2]);
    };
    const whole = m.predict(x).data;
    const a = m.forward(part(0, cut));
    expect(a.states.map((st) => st.length)).toEqual(info.map((st) => st.dims.reduce((p, q) => p * q, 1)));
    const b = m.forward(part(cut, T), { states: a.states });
    for (let bb = 0; bb < B; bb++) {
      for (let t = 0; t < T; t++) {
        const got = t < cut ? a.output.data.subarray((bb * cut + t) * 2, (bb * cut + t + 1) * 2) : b.output.data.subarray((bb * (T - cut) + t - cut) * 2, (bb * (T - cut) + t - cut + 1) * 2);
        const want = whole.subarray((bb * T + t) * 2, (bb * T + t + 1) * 2);
        got.forEach((v, u) => expect(v, `b ${bb} t ${t}`).toBeCloseTo(want[u], 5));
      }
    }
    expect(() => m.forward(x, { states: [a.states[0]] })).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_SHAPE', arg: 'options.states' }));
    expect(() => m.forward(x, { states: [a.states[0], [1] as never, undefined, undefined] })).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_TYPE', arg: 'options.states[1]' }));
    m.dispose();
  });

  it_('stateDict uses Sequential names and loadStateDict validates keys, shapes and values', async () => {
    const m = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new Dense({ units: 1 })]);
    const sd = m.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '1.weight', '1.bias']);
    expect(sd['0.weight_ih_l0'].shape).toEqual([12, 2]);
    expect(Object.values(sd).reduce((n, t) => n + t.size, 0)).toBe(m.numParameters);
    await expectCode(() => m.loadStateDict({ ...sd, 'weight_ih_l0': sd['0.weight_ih_l0'] }), 'ERR_RNNKIT_VALUE', 'stateDict["weight_ih_l0"]');
    await expectCode(() => m.loadStateDict({ '1.bias': new Float32Array(1) }), 'ERR_RNNKIT_VALUE', 'stateDict');
    await expectCode(() => m.loadStateDict({ ...sd, '1.weight': new Float32Array(4) }), 'ERR_RNNKIT_SHAPE', 'stateDict["1.weight"]');
    await expectCode(() => m.loadStateDict({ ...sd, '1.weight': sd['1.weight'].reshape([3, 1]) as Tensor }), 'ERR_RNNKIT_SHAPE', 'stateDict["1.weight"]');
    await expectCode(() => m.loadStateDict({ ...sd, '1.bias': new Float32Array([Infinity]) }), 'ERR_RNNKIT_VALUE', 'stateDict["1.bias"]');
    m.loadStateDict({ '1.bias': new Float32Array([0.25]) }, { strict: false });
    expect(Array.from(m.stateDict()['1.bias'].data)).toEqual([0.25]);
    expect(Array.from(m.stateDict()['1.weight'].data)).toEqual(Array.from(sd['1.weight'].data));
    m.dispose();
  });

  it.skipIf(!built || name !== 'native')('native fit does not block the event loop (a setInterval keeps ticking)', async () => {
    // An epoch big enough to take a while natively: 256 sequences × 100 steps through an LSTM(64).
    const m = new Sequential([new LSTM({ inputSize: 8, hiddenSize: 64 }), new Dense({ units: 8 })], { seed: 1 });
    m.compile({ loss: 'mse' });
    const x = randn([256, 100, 8], { seed: 1 });
    const y = randn([256, 100, 8], { seed: 2 });
    let ticks = 0;
    let ticksDuringFirstEpoch = -1;
    const timer = setInterval(() => ticks++, 2);
    const t0 = performance.now();
    try {
      await m.fit(x, y, { epochs: 1, batchSize: 256, callbacks: { onEpochEnd: () => void (ticksDuringFirstEpoch = ticks) } });
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    // A blocked loop would give 0 ticks however long the epoch took.
    expect(ticksDuringFirstEpoch, `epoch took ${ms.toFixed(0)} ms`).toBeGreaterThanOrEqual(3);
    m.dispose();
  });
});

// ---- the worker protocol -------------------------------------------------------------------------------

describe.each(BACKENDS)('worker protocol on $name', ({ name, built }) => {
  const connect = inProcessWorker();
  it.skipIf(!built)('create / compile / fit with progress / predict / save-bytes / load-bytes / abort / dispose', async () => {
    await setBackend(name);
    const client = connect();
    // Layers cross as {type, config}: plain data, or layer objects (sent as their toJSON()).
    const wm = await WorkerModel.create(client, [
      { type: 'LSTM', config: { input_size: 2, hidden_size: 6 } },
      new Dense({ units: 1 }),
    ], { seed: 1, backend: name });
    expect(wm.backendName).toBe(name);
    expect(wm.summary()).toMatch(/LSTM\(input_size 2, hidden_size 6/);
    // Unknown or misspelt keys are errors naming them, across the boundary too.
    const bad = await caught(() => WorkerModel.create(client, [{ type: 'Dense', config: { units: 1, in_features: 2, activ8tion: 'tanh' } }], { backend: name }));
    expect(bad).toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'layers[0].config.activ8tion' });
    const old = await caught(() => WorkerModel.create(client, [{ type: 'LSTM', options: { inputSize: 2, hiddenSize: 6 } } as never], { backend: name }));
    expect(old).toMatchObject({ code: 'ERR_RNNKIT_VALUE', arg: 'layers[0].options' });
    await wm.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } });
    const x = randn([8, 5, 2], { seed: 1 });
    const y = randn([8, 5, 1], { seed: 2 });
    const progress: number[] = [];
    const h = await wm.fit(x, y, { epochs: 3, batchSize: 4, callbacks: { onEpochEnd: (e) => void progress.push(e) } });
    expect(progress).toEqual([0, 1, 2]);
    expect(h.loss).toHaveLength(3);

    // The same training in this thread gives the same numbers: the worker really ran Sequential.fit.
    const local = forecaster2();
    local.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } });
    expect((await local.fit(x, y, { epochs: 3, batchSize: 4 })).loss).toEqual(h.loss);
    const p = await wm.predict(x);
    expect(p.shape).toEqual([8, 5, 1]);
    expect(Array.from(p.data)).toEqual(Array.from(local.predict(x).data));

    // Errors keep their code and arg across the boundary.
    const e = await caught(() => wm.fit(x, randn([7, 5, 1], { seed: 2 })));
    expect(e).toMatchObject({ code: 'ERR_RNNKIT_SHAPE', arg: 'y' });

    // Abort from the page between epochs.
    const ac = new AbortController();
    const e2 = await caught(() => wm.fit(x, y, { epochs: 50, signal: ac.signal, callbacks: { onEpochEnd: (ep) => { if (ep === 0) ac.abort(); } } }));
    expect(e2.name).toBe('AbortError');

    // Bytes round trip through the worker.
    const bytes = await wm.toBytes();
    const back = Sequential.fromBytes(bytes);
    expect(Array.from(back.predict(x).data)).toEqual(Array.from((await wm.predict(x)).data));
    const wm2 = await WorkerModel.fromBytes(client, local.toBytes(), { backend: name });
    expect(wm2.summary()).toBe(local.summary());
    await wm2.dispose();
    await expectCode(() => wm2.predict(x), 'ERR_RNNKIT_VALUE', 'model');
    back.dispose();
    local.dispose();
  });
});

function forecaster2(): Sequential {
  return new Sequential([new LSTM({ inputSize: 2, hiddenSize: 6 }), new Dense({ units: 1 })], { seed: 1 });
}
