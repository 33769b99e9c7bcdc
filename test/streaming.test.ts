/**
 * Streaming through any stack that can stream, on both backends: `step()` one token id (or one
 * feature row) at a time equals `predict()` over the whole sequence, with a causal convolution's
 * input history, a causal attention's key/value cache and the recurrent states carried between
 * calls, and `forward()` on chunks with the states passed back in; a stack that cannot stream (a
 * bidirectional layer, a pooling over the sequence, non-causal attention) is refused naming the
 * layer, and so is a step past a key/value cache's capacity.
 */
import { describe, expect, it } from 'vitest';
import { Conv1D, Dense, Embedding, GlobalMeanPool, GRU, IndRNN, LayerNorm, LSTM, MinGRU, MinLSTM, MultiHeadAttention, Sequential, setBackend, tensor } from '../ts/index.js';
import { backendsFor } from './helpers/backends.js';
import { caught } from './helpers/errors.js';

const BACKENDS = backendsFor('streaming.test');

/** f32 step vs one predict(): the same sums in other GEMM calls, a few roundings apart. */
function expectClose(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-6 + 1e-6 * Math.abs(want[i]))) expect.fail(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

/** Embedding → LSTM → causal MultiHeadAttention → Dense(3). */
function attentionModel(numHeads: number, bias: boolean, cacheSize: number): Sequential {
  return new Sequential(
    [
      new Embedding({ numEmbeddings: 11, embeddingDim: 6 }),
      new LSTM({ hiddenSize: 8 }),
      new MultiHeadAttention({ numHeads, bias, causal: true, cacheSize }),
      new Dense({ units: 3 }),
    ],
    { seed: 5 },
  );
}

/** Token ids [batch, seq]. */
const tokenIds = (b: number, t: number, seed: number) => new Int32Array(b * t).map((_, i) => (i * 7 + seed * 3 + ((i * i) % 5)) % 11);

/** step() one column of ids [batch, seq] at a time → the outputs laid out as predict's [batch, seq, units]. */
function stepAll(m: Sequential, ids: Int32Array, b: number, t: number, units: number): Float32Array {
  const out = new Float32Array(b * t * units);
  for (let k = 0; k < t; k++) {
    const y = m.step(tensor(new Int32Array(b).map((_, j) => ids[j * t + k]), [b])).data;
    for (let j = 0; j < b; j++) out.set(y.subarray(j * units, (j + 1) * units), (j * t + k) * units);
  }
  return out;
}

describe.each(BACKENDS)('step() on $name', ({ name, built }) => {
  it.skipIf(!built)('token ids through Embedding → causal Conv1D → LayerNorm → LSTM → Dense equal one predict()', async () => {
    await setBackend(name);
    const m = new Sequential(
      [
        new Embedding({ numEmbeddings: 7, embeddingDim: 3 }),
        new Conv1D({ outChannels: 4, kernelSize: 3, dilation: 2, padding: 'causal', activation: 'relu' }),
        new LayerNorm({}),
        new LSTM({ hiddenSize: 5 }),
        new Dense({ units: 2 }),
      ],
      { seed: 4 },
    );
    const [b, t] = [2, 9];
    const ids = new Int32Array(b * t).map((_, i) => (i * 5) % 7); // [batch, seq]
    const whole = (await m.predict(tensor(ids, [b, t]))).data;
    const stepped = new Float32Array(b * t * 2);
    for (let k = 0; k < t; k++) {
      const col = new Int32Array(b).map((_, j) => ids[j * t + k]);
      const y = m.step(tensor(col, [b])).data;
      for (let j = 0; j < b; j++) stepped.set(y.subarray(j * 2, j * 2 + 2), (j * t + k) * 2);
    }
    for (let i = 0; i < whole.length; i++) expect(stepped[i]).toBeCloseTo(whole[i], 5);
    m.dispose();
  });

  it.skipIf(!built)('features through GRU (reset_after false) → IndRNN (bounded) → Dense equal one predict()', async () => {
    await setBackend(name);
    const m = new Sequential([new GRU({ inputSize: 3, hiddenSize: 5, resetAfter: false }), new IndRNN({ hiddenSize: 4, numLayers: 2, recurrentMaxAbs: 0.9 }), new Dense({ units: 2 })], { seed: 6 });
    const [b, t, f] = [2, 7, 3];
    const x = new Float32Array(b * t * f).map((_, i) => Math.sin(0.7 * i));
    const whole = (await m.predict(tensor(x, [b, t, f]))).data;
    const stepped = new Float32Array(b * t * 2);
    for (let k = 0; k < t; k++) {
      const row = new Float32Array(b * f);
      for (let j = 0; j < b; j++) row.set(x.subarray((j * t + k) * f, (j * t + k + 1) * f), j * f);
      const y = m.step(tensor(row, [b, f])).data;
      for (let j = 0; j < b; j++) stepped.set(y.subarray(j * 2, j * 2 + 2), (j * t + k) * 2);
    }
    for (let i = 0; i < whole.length; i++) expect(stepped[i]).toBeCloseTo(whole[i], 5);
    m.dispose();
  });

  it.skipIf(!built)('a reverse layer cannot stream: refused, naming the layer', async () => {
    await setBackend(name);
    const m = new Sequential([new GRU({ inputSize: 2, hiddenSize: 3, direction: 'reverse' }), new Dense({ units: 1 })]);
    const e = await caught(() => m.step(tensor(new Float32Array(2), [1, 2])));
    expect([e.code, e.arg]).toEqual(['ERR_RNNKIT_VALUE', 'step']);
    expect(e.message).toContain('layer 0 (GRU)');
    m.dispose();
  });

  it.skipIf(!built)('token ids through Embedding → LSTM → causal MultiHeadAttention → Dense: steps equal one predict()', async () => {
    await setBackend(name);
    const [b, t] = [3, 9];
    for (const [heads, bias] of [[2, true], [4, false]] as const) {
      const m = attentionModel(heads, bias, 16);
      const what = `heads ${heads}, bias ${bias}`;
      expect(m.stateInfo(b).map((s) => [s.layer, s.name, s.dims])).toEqual([
        [1, 'h', [1, b, 8]],
        [1, 'c', [1, b, 8]],
        [2, 'keys', [b, 16, 8]],
        [2, 'values', [b, 16, 8]],
        [2, 'steps', [b]],
      ]);
      const ids = tokenIds(b, t, heads);
      const whole = (await m.predict(tensor(ids, [b, t]))).data as Float32Array;
      expectClose(stepAll(m, ids, b, t, 3), whole, `${what}: steps`);
      m.resetState();
      expectClose(stepAll(m, ids, b, t, 3), whole, `${what}: after resetState()`);
      m.dispose();
    }
  });

  it.skipIf(!built)('causal attention: forward() on chunks with the states passed back equals one predict(), with lengths too', async () => {
    await setBackend(name);
    const [b, t] = [3, 9];
    const m = attentionModel(2, true, 16);
    const ids = tokenIds(b, t, 1);
    // Sequences 1 and 2 end inside the last chunk: zeros past their ends, and their counts stop.
    for (const lengths of [undefined, [9, 6, 8]]) {
      const whole = (await m.predict(tensor(ids, [b, t]), lengths ? { lengths } : {})).data as Float32Array;
      const got = new Float32Array(whole.length);
      let states: Float32Array[] | undefined;
      for (const [t0, t1] of [[0, 4], [4, 5], [5, 9]]) {
        const n = t1 - t0;
        const chunk = new Int32Array(b * n).map((_, i) => ids[Math.floor(i / n) * t + t0 + (i % n)]);
        const chunkLengths = lengths?.map((len) => Math.min(len, t1) - t0);
        const r = m.forward(tensor(chunk, [b, n]), { ...(states ? { states } : {}), ...(chunkLengths ? { lengths: chunkLengths } : {}) });
        for (let j = 0; j < b; j++) got.set(r.output.data.subarray(j * n * 3, (j + 1) * n * 3), (j * t + t0) * 3);
        states = r.states;
      }
      expectClose(got, whole, `chunks, lengths ${lengths}`);
      expect(Array.from(states![4])).toEqual(lengths ?? [t, t, t]);
    }
    m.dispose();
  });

  it.skipIf(!built)('features through causal Conv1D → LayerNorm → MinGRU → MinLSTM → Dense (the minGRU paper\'s block) equal one predict() past the scan\'s 64-step chunks', async () => {
    await setBackend(name);
    const m = new Sequential(
      [
        new Conv1D({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 'causal' }),
        new LayerNorm({}),
        new MinGRU({ hiddenSize: 5 }),
        new MinLSTM({ hiddenSize: 4 }),
        new Dense({ units: 2 }),
      ],
      { seed: 5 },
    );
    const [b, t, f] = [2, 70, 3];
    const x = new Float32Array(b * t * f).map((_, i) => Math.sin(i * 0.37)); // [batch, seq, features]
    const whole = (await m.predict(tensor(x, [b, t, f]))).data;
    for (let k = 0; k < t; k++) {
      const col = new Float32Array(b * f);
      for (let j = 0; j < b; j++) col.set(x.subarray((j * t + k) * f, (j * t + k + 1) * f), j * f);
      const y = m.step(tensor(col, [b, f])).data;
      for (let j = 0; j < b; j++) for (let u = 0; u < 2; u++) expect(y[j * 2 + u]).toBeCloseTo(whole[(j * t + k) * 2 + u], 5);
    }
    m.dispose();
  });

  it.skipIf(!built)('a step past the key/value cache is an error naming cache_size, its capacity and the step', async () => {
    await setBackend(name);
    const m = attentionModel(2, true, 4);
    const ids = tokenIds(2, 5, 2);
    const col = (k: number) => tensor(new Int32Array(2).map((_, j) => ids[j * 5 + k]), [2]);
    for (let k = 0; k < 4; k++) m.step(col(k));
    const e = await caught(() => m.step(col(4)));
    expect([e.code, e.arg]).toEqual(['ERR_RNNKIT_VALUE', 'step']);
    expect(e.message).toContain('layer 2 (MultiHeadAttention)');
    expect(e.message).toContain('cache_size is 4');
    expect(e.message).toContain('step 5');
    // The refused step changed nothing; after resetState() the stream starts again.
    m.resetState();
    const first = m.step(col(0)).data;
    const whole = (await m.predict(tensor(ids, [2, 5]))).data as Float32Array;
    expectClose(first, new Float32Array([...whole.subarray(0, 3), ...whole.subarray(15, 18)]), 'first step after reset');
    m.dispose();
  });

  it.skipIf(!built)('a stack that cannot stream is refused, naming the layer', async () => {
    await setBackend(name);
    const m = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new GlobalMeanPool({})]);
    const e = await caught(() => m.step(tensor(new Float32Array(2), [1, 2])));
    expect([e.code, e.arg]).toEqual(['ERR_RNNKIT_VALUE', 'step']);
    expect(e.message).toContain('layer 1 (GlobalMeanPool)');
    m.dispose();
    const attention = new Sequential([new MultiHeadAttention({ embedDim: 4, numHeads: 2 })]);
    expect(attention.stateInfo(1)).toEqual([]);
    const ea = await caught(() => attention.step(tensor(new Float32Array(4), [1, 4])));
    expect([ea.code, ea.arg]).toEqual(['ERR_RNNKIT_VALUE', 'step']);
    expect(ea.message).toContain('layer 0 (MultiHeadAttention)');
    attention.dispose();
  });
});
