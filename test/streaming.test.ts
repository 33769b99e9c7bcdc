/**
 * Streaming through any stack that can stream, on both backends: `step()` one token id (or one
 * feature row) at a time equals `predict()` over the whole sequence, with a causal convolution's
 * input history and the recurrent states carried between calls; a stack that cannot stream (a
 * bidirectional layer, a pooling over the sequence) is refused naming the layer.
 */
import { describe, expect, it } from 'vitest';
import { Conv1D, Dense, Embedding, GlobalMeanPool, GRU, IndRNN, LayerNorm, LSTM, Sequential, setBackend, tensor } from '../ts/index.js';
import { backendsFor } from './helpers/backends.js';
import { caught } from './helpers/errors.js';

const BACKENDS = backendsFor('streaming.test');

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

  it.skipIf(!built)('a stack that cannot stream is refused, naming the layer', async () => {
    await setBackend(name);
    const m = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 }), new GlobalMeanPool({})]);
    const e = await caught(() => m.step(tensor(new Float32Array(2), [1, 2])));
    expect([e.code, e.arg]).toEqual(['ERR_RNNKIT_VALUE', 'step']);
    expect(e.message).toContain('layer 1 (GlobalMeanPool)');
    m.dispose();
  });
});
