/**
 * The benchmark's layer-stack workloads (bench/stacks.ts: CR1 CRNN, AT1 attention text classifier): FLOP
 * formulas, seeded data, rnnkit's `{type, config}` spec as the native core builds it, PyTorch's modules
 * (bench/torch_stacks.py) layer by layer against rnnkit's parameter counts, and the tfjs layers written in
 * tf ops (bench/peers/tfjs_stacks.ts) against tfjs's built-in kernels and a direct computation. Never timings.
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, torchEnv, torchUnavailable } from '../bench/peers/torch.js';
import { buildStack, stackLayers } from '../bench/peers/tfjs_stacks.js';
import { makeStackData, recurrentSteps, stackFlops, stackForwardFlops, stackSpec, STACKS } from '../bench/stacks.js';
import { specLayerCounts } from './helpers/spec-layers.js';

const byId = (id: string) => STACKS.find((w) => w.id === id)!;

describe('bench stacks: FLOP formulas', () => {
  it('CR1: conv + BiGRU over the pooled 100 steps + attention + Dense, × 3 for a step', () => {
    const conv = 2 * 32 * 200 * 64 * 40 * 5;
    const gru = 2 * 2 * 32 * 100 * 3 * 64 * (64 + 64);
    const attention = 2 * 32 * 100 * 128 * 128 + 2 * 2 * 32 * 100 * 128;
    const dense = 2 * 32 * 128 * 10;
    expect(recurrentSteps(byId('CR1'))).toBe(100);
    expect(stackForwardFlops(byId('CR1'))).toBe(conv + gru + attention + dense);
    expect(stackFlops(byId('CR1'))).toBe(3 * (conv + gru + attention + dense));
  });
  it('AT1: BiLSTM over 200 steps of 64-wide embeddings + attention + Dense (the gather counts 0)', () => {
    const lstm = 2 * 2 * 32 * 200 * 4 * 64 * (64 + 64);
    const attention = 2 * 32 * 200 * 128 * 128 + 2 * 2 * 32 * 200 * 128;
    expect(stackForwardFlops(byId('AT1'))).toBe(lstm + attention + 2 * 32 * 128 * 2);
  });
});

describe('bench stacks: data', () => {
  it('CR1 features in [-1, 1], AT1 ids in [0, vocab), labels in [0, classes), the same every call', () => {
    const c1 = makeStackData(byId('CR1'));
    expect(c1.x).toBeInstanceOf(Float32Array);
    expect(c1.x.length).toBe(32 * 200 * 40);
    expect(c1.x.every((v) => v >= -1 && v <= 1)).toBe(true);
    const a1 = makeStackData(byId('AT1'));
    expect(a1.x).toBeInstanceOf(Int32Array);
    expect(a1.x.length).toBe(32 * 200);
    expect(a1.x.every((id) => id >= 0 && id < 5000)).toBe(true);
    expect(new Set(a1.x).size).toBeGreaterThan(2500);
    for (const d of [c1, a1]) {
      expect(d.y.length).toBe(32);
      expect(Math.min(...d.y)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...d.y)).toBeLessThan(d.workload.classes);
      expect(new Set(d.y).size).toBeGreaterThan(1);
    }
    expect(makeStackData(byId('AT1')).x).toEqual(a1.x);
  });
});

/** Parameters per layer that has any, as rnnkit's core builds the spec. */
const rnnkitCounts = (id: string) => specLayerCounts(stackSpec(byId(id), 1));

describe('bench stacks: rnnkit spec', () => {
  it('CR1 is Conv1D → MaxPool1D → GRU → AttentionPooling → Dense with 64·40·5+64, BiGRU, 128·128+128+128, 128·10+10 parameters', () => {
    const { types, params } = rnnkitCounts('CR1');
    expect(types).toEqual(['Conv1D', 'MaxPool1D', 'GRU', 'AttentionPooling', 'Dense']);
    expect(params).toEqual([64 * 40 * 5 + 64, 2 * (2 * 192 * 64 + 2 * 192), 128 * 128 + 2 * 128, 128 * 10 + 10]);
  });
  it('AT1 is Embedding → LSTM → AttentionPooling → Dense', () => {
    const { types, params } = rnnkitCounts('AT1');
    expect(types).toEqual(['Embedding', 'LSTM', 'AttentionPooling', 'Dense']);
    expect(params).toEqual([5000 * 64, 2 * (2 * 256 * 64 + 2 * 256), 128 * 128 + 2 * 128, 128 * 2 + 2]);
  });
});

describe.skipIf(torchUnavailable() !== undefined)('bench stacks: PyTorch modules', () => {
  it.each(['CR1', 'AT1'])('%s: the same parameter count per layer as rnnkit', (id) => {
    const code = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../bench', import.meta.url)))})`,
      'import torch_stacks as s',
      'w = json.loads(sys.argv[1])',
      'm = s.Crnn(w) if w["family"] == "crnn" else s.AttentionText(w)',
      'print(json.dumps([sum(p.numel() for p in c.parameters()) for c in m.children() if any(True for _ in c.parameters())]))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', code, JSON.stringify(byId(id))], { encoding: 'utf8', env: torchEnv(1) });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(rnnkitCounts(id).params);
  });
});

describe('bench stacks: tfjs layers in tf ops (cpu backend)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const layers = () => stackLayers(tf as never);

  it('Im2colConv1D equals relu(tf.conv1d same + bias), forward and input gradient', () => {
    const [b, t, c, k, f] = [2, 7, 3, 5, 4];
    const x = tf.randomUniform([b, t, c], -1, 1, 'float32', 1) as tf.Tensor3D;
    const kernel = tf.randomUniform([k, c, f], -1, 1, 'float32', 2) as tf.Tensor3D;
    const bias = tf.randomUniform([f], -1, 1, 'float32', 3) as tf.Tensor1D;
    const layer = new (layers().Im2colConv1D)(f, k, [t, c]);
    layer.apply(x); // builds it
    layer.setWeights([kernel.reshape([k * c, f]), bias]);
    const mine = (v: tf.Tensor) => layer.apply(v) as tf.Tensor;
    const theirs = (v: tf.Tensor) => tf.relu(tf.add(tf.conv1d(v as tf.Tensor3D, kernel, 1, 'same'), bias));
    expect(tf.max(tf.abs(tf.sub(mine(x), theirs(x)))).dataSync()[0]).toBeLessThan(1e-5);
    const r = tf.randomUniform([b, t, f], -1, 1, 'float32', 4);
    const dx = (fn: (v: tf.Tensor) => tf.Tensor) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(fn(v), r)))(x);
    expect(tf.max(tf.abs(tf.sub(dx(mine), dx(theirs)))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('ScatterEmbedding gathers rows and its table gradient adds repeated ids like tf.gather', () => {
    const [vocab, dim] = [6, 3];
    const ids = tf.tensor2d([[1, 1, 4], [0, 4, 1]], [2, 3], 'int32');
    const layer = new (layers().ScatterEmbedding)(vocab, dim, [3]);
    layer.apply(ids);
    const table = layer.getWeights()[0];
    const gathered = tf.gather(table, ids.reshape([6])).reshape([2, 3, dim]);
    expect(tf.max(tf.abs(tf.sub(layer.apply(ids) as tf.Tensor, gathered))).dataSync()[0]).toBe(0);
    const r = tf.randomUniform([2, 3, dim], -1, 1, 'float32', 5);
    const mine = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(ids) as tf.Tensor, r)) as tf.Scalar).grads;
    const theirs = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.gather(w, ids.reshape([6])).reshape([2, 3, dim]), r)))(table);
    const got = Object.values(mine)[0];
    expect(tf.max(tf.abs(tf.sub(got, theirs))).dataSync()[0]).toBeLessThan(1e-6);
  });

  it('AttentionPooling is softmax_t(vᵀ tanh(W h_t + b)) · h, checked element by element', () => {
    const [b, t, f, a] = [2, 3, 4, 5];
    const h = tf.randomUniform([b, t, f], -1, 1, 'float32', 6) as tf.Tensor3D;
    const layer = new (layers().AttentionPooling)(a);
    layer.apply(h);
    const [wk, wb, wv] = layer.getWeights().map((x) => x.arraySync() as number[][] & number[]);
    layer.setWeights([tf.randomUniform([f, a], -1, 1, 'float32', 7), tf.randomUniform([a], -1, 1, 'float32', 8), tf.tensor2d(wv as number[][])]);
    const [k2, b2, v2] = layer.getWeights().map((x) => x.arraySync()) as [number[][], number[], number[][]];
    expect(wk.length).toBe(f);
    expect(wb.length).toBe(a);
    const hv = h.arraySync();
    const got = (layer.apply(h) as tf.Tensor).arraySync() as number[][];
    for (let i = 0; i < b; i++) {
      const scores = hv[i].map((row) => {
        let s = 0;
        for (let j = 0; j < a; j++) s += v2[j][0] * Math.tanh(b2[j] + row.reduce((acc, x, c) => acc + x * k2[c][j], 0));
        return s;
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((x, y) => x + y, 0);
      for (let c = 0; c < f; c++) {
        const want = hv[i].reduce((acc, row, s) => acc + (e[s] / z) * row[c], 0);
        expect(got[i][c]).toBeCloseTo(want, 5);
      }
    }
  });

  it.each(['CR1', 'AT1'])('%s builds and takes one finite training step on the cpu backend (tiny batch)', async (id) => {
    const w = { ...byId(id), batch: 2, seqLen: 8 };
    const data = makeStackData(w);
    const { model, x, y } = buildStack(tf as never, data, 1e-3);
    const loss = (await model.trainOnBatch(x, y)) as number;
    expect(Number.isFinite(loss)).toBe(true);
    expect(model.outputs[0].shape).toEqual([null, w.classes]);
    tf.dispose([x, y]);
    model.dispose();
  });
});
