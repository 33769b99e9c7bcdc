/**
 * The fit benchmark's harness (bench/fit/): the workload builders make the data the README states
 * (C1 ≥ 200 KiB of text in 64-character windows with next-character targets, S1 ≥ 20k windows of a
 * real hourly series), the memory model's arithmetic, the report's derived columns, and — when
 * Debian's python3-torch is installed — that PyTorch's training loop (bench/torch_fit.py: F.one_hot,
 * cross-entropy / MSE) computes the same loss as rnnkit on the same tiny dataset (token ids one-hot
 * inside the core), so the two peers train the same function. Never timings.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonChild } from '../bench/child.js';
import { writeFitFiles } from '../bench/fit/files.js';
import { flatness, fitSpeedup, memoryTarget, rssDelta, type FitRow, type ScaleRow } from '../bench/fit/report.js';
import { initialWeights, rnnkitModel, tensors, trainingSet } from '../bench/fit/rnnkit.js';
import {
  datasetBytes,
  makeC1,
  makeS1,
  parameterCount,
  seriesWindows,
  TEXT_CHARS,
  textWindows,
  tileSequences,
  workspaceBytes,
  type FitData,
} from '../bench/fit/workloads.js';
import { PYTHON, torchEnv, torchUnavailable } from '../bench/peers/torch.js';
import { Dense, LSTM, Sequential } from '../ts/index.js';

const c1 = makeC1();
const s1 = makeS1();

describe('C1: character windows of Moby Dick', () => {
  it('is at least 200 KiB of text in 64-step windows with stride 32', () => {
    expect(c1.textBytes).toBeGreaterThanOrEqual(200 * 1024);
    expect(c1.sequences).toBe(Math.floor((TEXT_CHARS - 64 - 1) / 32) + 1);
    expect(c1.x).toBeInstanceOf(Int32Array);
    expect(c1.x.length).toBe(c1.sequences * 64);
    expect(c1.y.length).toBe(c1.sequences * 64);
  });
  it('targets are the next character: y[n, t] = x[n, t + 1], and window n + 1 starts 32 later', () => {
    for (const n of [0, 1, 1000, c1.sequences - 1]) {
      for (let t = 0; t < 63; t++) expect(c1.y[n * 64 + t]).toBe(c1.x[n * 64 + t + 1]);
    }
    expect(c1.x[64]).toBe(c1.x[32]);
  });
  it('the vocabulary is the sorted distinct characters and every id is inside it', () => {
    const vocab = [...c1.vocab!];
    expect(new Set(vocab).size).toBe(vocab.length);
    expect([...vocab].sort()).toEqual(vocab);
    expect(c1.workload.inputSize).toBe(vocab.length);
    expect(c1.workload.units).toBe(vocab.length);
    const ids = c1.x as Int32Array;
    expect(ids.reduce((a, b) => Math.max(a, b), 0)).toBe(vocab.length - 1);
    expect(ids.reduce((a, b) => Math.min(a, b), Infinity)).toBe(0);
    // Chapter 1 opens the text.
    const text = Array.from(c1.x.subarray(0, 64), (id) => vocab[id]).join('');
    expect(text.startsWith('CHAPTER 1. Loomings.')).toBe(true);
  });
  it('textWindows drops a tail shorter than a window plus its target', () => {
    const { x, y, sequences } = textWindows(Int32Array.from({ length: 10 }, (_, i) => i), 4, 2);
    expect(sequences).toBe(3); // starts 0, 2, 4; start 6 would need ids up to 10
    expect([...x.subarray(8, 12)]).toEqual([4, 5, 6, 7]);
    expect([...y.subarray(8, 12)]).toEqual([5, 6, 7, 8]);
  });
});

describe('S1: windows of Seattle hourly weather', () => {
  it('has at least 20k windows of 48 steps from the 3 standardised columns', () => {
    expect(s1.sequences).toBeGreaterThanOrEqual(20_000);
    expect(s1.sequences).toBe(3 * (8759 - 48));
    expect(s1.x.length).toBe(s1.sequences * 48);
    let sum = 0;
    for (let t = 0; t < 48; t++) sum += s1.x[t];
    expect(Number.isFinite(sum)).toBe(true);
  });
  it('targets are the next value within each window', () => {
    for (const n of [0, 5000, s1.sequences - 1]) {
      for (let t = 0; t < 47; t++) expect(s1.y[n * 48 + t]).toBe(s1.x[n * 48 + t + 1]);
    }
  });
  it('seriesWindows takes every window of each series separately', () => {
    const { x, y, sequences } = seriesWindows([Float64Array.of(1, 2, 3, 4), Float64Array.of(10, 20, 30)], 2);
    expect(sequences).toBe(3);
    expect([...x]).toEqual([1, 2, 2, 3, 10, 20]);
    expect([...y]).toEqual([2, 3, 3, 4, 20, 30]);
  });
  it('tileSequences repeats the windows in order', () => {
    const big = tileSequences(s1, s1.sequences + 2);
    expect(big.sequences).toBe(s1.sequences + 2);
    expect([...big.x.subarray(s1.sequences * 48, (s1.sequences + 1) * 48)]).toEqual([...s1.x.subarray(0, 48)]);
    expect(datasetBytes(big)).toBe((s1.sequences + 2) * 48 * 2 * 4);
  });
});

describe('fit bench: model size, memory model, report', () => {
  it('parameterCount matches the library\'s count for both workloads', () => {
    for (const d of [c1, s1]) {
      const w = d.workload;
      const m = new Sequential([new LSTM({ inputSize: w.inputSize, hiddenSize: w.hiddenSize }), new Dense({ units: w.units })]);
      expect(parameterCount(w)).toBe(m.numParameters);
      m.dispose();
    }
  });
  it('workspaceBytes follows its stated formula (S1: T=48 B=64 H=32 I=U=1)', () => {
    const P = 4513;
    expect(parameterCount(s1.workload)).toBe(P);
    expect(workspaceBytes(s1.workload)).toBe(4 * (48 * 64 * 6 * 32 + 48 * 64 * 4 * 32 + 48 * 64 + 2 * 48 * 64 + 4 * P));
  });
  it('the scaling columns: RSS delta, target, flatness; speed-up as a rate ratio', () => {
    const rows: ScaleRow[] = [
      { peer: 'p', sequences: 200_000, msPerBatch: 3, baselineKb: 1000, peakKb: 3048, datasetBytes: 1e6, workspaceBytes: 5e5 },
      { peer: 'p', sequences: 1_000, msPerBatch: 2, baselineKb: 1000, peakKb: 1500, datasetBytes: 1e4, workspaceBytes: 5e5 },
    ];
    expect(rssDelta(rows[0])).toBe(2048 * 1024);
    expect(memoryTarget(rows[0])).toBe(2e6);
    expect(flatness(rows, 'p')).toEqual({ small: 1_000, large: 200_000, ratio: 1.5 });
    const mine = { seqPerS: 300 } as FitRow;
    expect(fitSpeedup(mine, { seqPerS: 100 } as FitRow)).toBe(3);
    expect(fitSpeedup(mine, undefined)).toBeUndefined();
  });
  it('rnnkit gets text as int32 token ids [N, T] with id targets [N, T], series as floats [N, T, 1], without a copy', () => {
    const small: FitData = { ...c1, sequences: 2, x: c1.x.slice(0, 128), y: c1.y.slice(0, 128) };
    const text = tensors(small);
    expect([text.x.dtype, text.x.shape]).toEqual(['int32', [2, 64]]);
    expect([text.y.dtype, text.y.shape]).toEqual(['int32', [2, 64]]);
    expect(text.x.data).toBe(small.x);
    const series = tensors(s1);
    expect([series.x.dtype, series.x.shape]).toEqual(['float32', [s1.sequences, 48, 1]]);
    expect(series.y.data).toBe(s1.y);
  });
});

const torchMissing = torchUnavailable();
describe.skipIf(torchMissing !== undefined)('PyTorch\'s loop computes rnnkit\'s loss (bench/torch_fit.py)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-bench-fit-test-'));
  let child: JsonChild | undefined;
  afterAll(async () => {
    await child?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const data of [c1, s1]) {
    it(`${data.workload.id}: ${data.workload.tokens ? 'one-hot input and cross-entropy' : 'MSE'} on the first 8 sequences, same initial weights`, async () => {
      const w = data.workload;
      const n = 8;
      const per = data.x.length / data.sequences;
      const tiny: FitData = { ...data, sequences: n, x: data.x.slice(0, n * per), y: data.y.slice(0, n * per) };
      const weights = initialWeights(w);
      writeFitFiles(dir, tiny, weights);
      child ??= new JsonChild('torch_fit.py ×1', PYTHON, [fileURLToPath(new URL('../bench/torch_fit.py', import.meta.url)), '1'], torchEnv(1));
      await child.ready;
      const theirs = (await child.request({ cmd: 'check', workload: w, dir, sequences: n, n })).loss as number;
      const model = rnnkitModel(w, 1, weights);
      const ds = trainingSet(tiny);
      const ours = model.evaluate(ds);
      ds.dispose();
      model.dispose();
      expect(Number.isFinite(ours)).toBe(true);
      expect(Math.abs(ours - theirs)).toBeLessThan(1e-5 * Math.max(1, Math.abs(theirs)));
    }, 60_000);
  }
});

if (torchMissing !== undefined) {
  console.log(`bench-fit.test: PyTorch parity skipped: ${torchMissing}`);
}
