/**
 * The benchmark's long-sequence workloads (bench/long.ts: minGRU, minLSTM, GRU, LSTM at T = 512 and
 * 4096): ids, FLOP formulas, seeded data, rnnkit's spec as the native core builds it, and PyTorch's
 * modules (bench/torch_long.py, the paper's log-space parallel scan) computing rnnkit's function:
 * same parameter counts, and the same outputs on the same weights. Never timings.
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LONG, longFlops, longForwardFlops, longSpec, makeLongData, type LongWorkload } from '../bench/long.js';
import { PYTHON, torchEnv, torchUnavailable } from '../bench/peers/torch.js';
import { loadNativeBackend } from '../ts/backend/native.js';
import { specLayerCounts } from './helpers/spec-layers.js';

const byId = (id: string) => LONG.find((w) => w.id === id)!;

describe('bench long: workloads', () => {
  it('four cells × T 512, 4096 × forward, training step, unique ids, B 16, I = H = 128', () => {
    expect(LONG.length).toBe(16);
    expect(new Set(LONG.map((w) => w.id)).size).toBe(16);
    for (const id of ['MG512F', 'MG4096T', 'ML4096F', 'GR512T', 'LS4096T']) expect(byId(id)).toBeDefined();
    expect(LONG.every((w) => w.batch === 16 && w.inputSize === 128 && w.hiddenSize === 128)).toBe(true);
  });
  it('FLOPs: the input projection alone for the min cells, input and recurrent GEMMs for GRU/LSTM, × 3 with the head for training', () => {
    const [B, I, H] = [16, 128, 128];
    expect(longForwardFlops(byId('MG4096F'))).toBe(2 * B * 4096 * 2 * H * I);
    expect(longForwardFlops(byId('ML512F'))).toBe(2 * B * 512 * 3 * H * I);
    expect(longForwardFlops(byId('GR512F'))).toBe(2 * B * 512 * 3 * H * (I + H));
    expect(longForwardFlops(byId('LS4096F'))).toBe(2 * B * 4096 * 4 * H * (I + H));
    expect(longFlops(byId('MG4096T'))).toBe(3 * (2 * B * 4096 * 2 * H * I + 2 * B * 4096 * H * 1));
  });
  it('data: x in [-1, 1], targets for training only, the same every call', () => {
    const d = makeLongData(byId('MG512T'));
    expect(d.x.length).toBe(16 * 512 * 128);
    expect(d.x.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(d.y!.length).toBe(16 * 512);
    expect(makeLongData(byId('MG512F')).y).toBeUndefined();
    const again = makeLongData(byId('MG512T')).x;
    expect(again.every((v, i) => v === d.x[i])).toBe(true);
  });
});

/** Parameters per layer that has any, as rnnkit's core builds the spec. */
const rnnkitCounts = (w: LongWorkload) => specLayerCounts(longSpec(w, 1));

describe('bench long: rnnkit spec', () => {
  it('the layer (+ Dense head for training) with the fused projection of the min cells', () => {
    expect(rnnkitCounts(byId('MG512F'))).toEqual({ types: ['MinGRU'], params: [2 * 128 * 128 + 2 * 128] });
    expect(rnnkitCounts(byId('ML512T'))).toEqual({ types: ['MinLSTM', 'Dense'], params: [3 * 128 * 128 + 3 * 128, 128 + 1] });
    expect(rnnkitCounts(byId('GR512T')).types).toEqual(['GRU', 'Dense']);
  });
});

/** torch_long.py's layer for `cell` at I = 3, H = 4, seeded: its parameters by name and its output on x [2, T, 3]. */
function torchLayer(cell: string, t: number): { params: Record<string, number[]>; x: number[]; out: number[] } {
  const code = [
    'import json, sys, torch',
    `sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../bench', import.meta.url)))})`,
    'import torch_long as L',
    'torch.manual_seed(3)',
    `m = L.build(${JSON.stringify(cell)}, 3, 4)`,
    'with torch.no_grad():',
    '    for p in m.parameters(): p.mul_(3)  # gates away from ½, both branches of g',
    `x = torch.rand(2, ${t}, 3) * 2 - 1`,
    'with torch.no_grad(): out = m(x)',
    'print(json.dumps({"params": {n.split(".")[-1]: p.reshape(-1).tolist() for n, p in m.named_parameters()}, "x": x.reshape(-1).tolist(), "out": out.reshape(-1).tolist()}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', env: torchEnv(1) });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe.skipIf(torchUnavailable() !== undefined)('bench long: PyTorch modules', () => {
  it.each(['mingru', 'minlstm'])('%s (log-space parallel scan) computes rnnkit\'s layer on the same weights', (cell) => {
    const t = 150;
    const ref = torchLayer(cell, t);
    const type = cell === 'mingru' ? 'MinGRU' : 'MinLSTM';
    const model = loadNativeBackend().createModel(JSON.stringify({ batch_first: true, seed: 1, threads: 1, layers: [{ type, config: { input_size: 3, hidden_size: 4 } }] }));
    try {
      expect(model.paramInfo().map((p) => p.name)).toEqual(Object.keys(ref.params));
      model.setParams(Float32Array.from(Object.values(ref.params).flat()));
      const out = model.forward(Float32Array.from(ref.x), [2, t, 3]).output;
      expect(out.length).toBe(ref.out.length);
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - ref.out[i])).toBeLessThan(1e-5 + 1e-4 * Math.abs(ref.out[i]));
    } finally {
      model.dispose();
    }
  });
  it.each(['MG512T', 'ML512T', 'GR512T', 'LS512T'])('%s: the same parameter count per layer as rnnkit', (id) => {
    const w = byId(id);
    const code = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../bench', import.meta.url)))})`,
      'import torch_long as L',
      'w = json.loads(sys.argv[1])',
      'm = L.build(w["cell"], w["inputSize"], w["hiddenSize"])',
      'print(json.dumps([sum(p.numel() for p in m.parameters()), w["hiddenSize"] * w["units"] + w["units"]]))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', code, JSON.stringify(w)], { encoding: 'utf8', env: torchEnv(1) });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(rnnkitCounts(w).params);
  });
});
