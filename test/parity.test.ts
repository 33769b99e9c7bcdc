/**
 * PyTorch parity through the public layer API, on every backend: each case of
 * test/fixtures/recurrent.json (written by test/fixtures/gen_torch.py, torch 1.13, float64 from float32
 * inputs) builds `new RNN/LSTM/GRU(...)`, loads PyTorch's weights with `loadStateDict`, runs
 * `forward(x, { h0, c0, lengths, training: true })` and `backward(dOutput, { dh, dc })`, and compares
 * output, h, c, dx, dh0, dc0 and every parameter gradient. Then native and wasm are compared with each
 * other on every case. A backend whose build file is missing is skipped with a warning, never silently.
 */

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, GRU, LSTM, RNN, setBackend, Tensor, type Tensor3D } from '../ts/index.js';
import { backendsFor } from './helpers/backends.js';

/** Against PyTorch's float64 reference: rnnkit computes in float32, whose rounding (6e-8) grows over
 * T = 4 steps of gate nonlinearities, 2 layers and BPTT to ~1e-5 on the worst elements. 1e-4 relative is
 * the bar. */
const RTOL = 1e-4;
/** For elements near zero, which carry the absolute error of the O(1) terms that cancelled in them. */
const ATOL = 1e-5;
/** Native vs wasm: the same math except FMA (native) vs mul+add (wasm) rounding and summation order,
 * ~1 ulp per operation accumulated along the same chains: 1e-5 relative is the bar.
 * gen_torch.py redraws any case on which float32 PyTorch itself strays > 30% of this from float64. */
const CROSS_RTOL = 1e-5;
const CROSS_ATOL = 1e-6;

type BackendName = 'native' | 'wasm';
const backends = backendsFor('parity');
const BACKENDS: readonly BackendName[] = backends.map((b) => b.name);

// ---- fixtures -------------------------------------------------------------------------------------

interface TensorJson {
  dims: number[];
  data: number[];
}

interface RecurrentCase {
  name: string;
  /** The PyTorch call that produced the case. */
  snippet: string;
  config: {
    cell: 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
    input_size: number;
    hidden_size: number;
    num_layers: number;
    bidirectional: boolean;
    bias: boolean;
    batch_first: boolean;
  };
  /** PyTorch's named_parameters() order. */
  params: Record<string, number[]>;
  x: TensorJson;
  h0?: TensorJson;
  c0?: TensorJson;
  lengths?: number[];
  output: TensorJson;
  h_n: TensorJson;
  c_n?: TensorJson;
  /** Cotangents: the weights of L = Σ output⊙d_output + Σ h_n⊙d_h_n (+ Σ c_n⊙d_c_n). */
  d_output: TensorJson;
  d_h_n: TensorJson;
  d_c_n?: TensorJson;
  grads: { x: TensorJson; h0: TensorJson; c0?: TensorJson; params: Record<string, number[]> };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/recurrent.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: RecurrentCase[];
};
const CASES: [string, RecurrentCase][] = fixture.cases.map((c) => [c.name, c]);

const built = (name: BackendName): boolean => backends.find((b) => b.name === name)!.built;

function t3(t: TensorJson): Tensor3D {
  if (t.dims.length !== 3) throw new Error(`fixture tensor has dims [${t.dims.join(', ')}], expected 3`);
  return new Tensor(new Float32Array(t.data), [t.dims[0], t.dims[1], t.dims[2]] as const);
}

// ---- running one case -----------------------------------------------------------------------------

/** Everything a case produces, as flat float32 arrays keyed like the fixture. */
interface Result {
  backendName: string;
  paramNames: string[];
  values: Map<string, Float32Array>;
}

function runCase(c: RecurrentCase): Result {
  const cfg = c.config;
  const options = {
    inputSize: cfg.input_size,
    hiddenSize: cfg.hidden_size,
    numLayers: cfg.num_layers,
    bidirectional: cfg.bidirectional,
    bias: cfg.bias,
    batchFirst: cfg.batch_first,
  };
  const stateDict = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, new Float32Array(v)]));
  const x = t3(c.x);
  const lengths = c.lengths === undefined ? undefined : Int32Array.from(c.lengths);
  const h0 = c.h0 === undefined ? undefined : t3(c.h0);
  const dOutput = t3(c.d_output);
  const dh = t3(c.d_h_n);
  const values = new Map<string, Float32Array>();
  let grads: Record<string, { data: Float32Array }>;

  const layer =
    cfg.cell === 'lstm' ? new LSTM(options) : cfg.cell === 'gru' ? new GRU(options) : new RNN({ ...options, nonlinearity: cfg.cell === 'rnn_relu' ? 'relu' : 'tanh' });
  try {
    layer.loadStateDict(stateDict);
    const paramNames = Object.keys(layer.stateDict());
    if (layer instanceof LSTM) {
      const c0 = c.c0 === undefined ? undefined : t3(c.c0);
      const fwd = layer.forward(x, { h0, c0, lengths, training: true });
      const bwd = layer.backward(dOutput, { dh, dc: t3(c.d_c_n as TensorJson) });
      values.set('c_n', fwd.c.data);
      values.set('grads.c0', bwd.dc0.data);
      values.set('output', fwd.output.data).set('h_n', fwd.h.data).set('grads.x', bwd.dx.data).set('grads.h0', bwd.dh0.data);
      expect(fwd.output.shape).toEqual(c.output.dims);
      expect(bwd.dx.shape).toEqual(c.x.dims);
      grads = bwd.grads;
    } else {
      const fwd = (layer as RNN | GRU).forward(x, { h0, lengths, training: true });
      const bwd = (layer as RNN | GRU).backward(dOutput, { dh });
      values.set('output', fwd.output.data).set('h_n', fwd.h.data).set('grads.x', bwd.dx.data).set('grads.h0', bwd.dh0.data);
      expect(fwd.output.shape).toEqual(c.output.dims);
      expect(bwd.dx.shape).toEqual(c.x.dims);
      grads = bwd.grads;
    }
    expect(Object.keys(grads)).toEqual(Object.keys(c.params));
    for (const [k, g] of Object.entries(grads)) values.set(`grads.params.${k}`, g.data);
    return { backendName: layer.backendName, paramNames, values };
  } finally {
    layer.dispose();
  }
}

/** The fixture's references, keyed like `Result.values`. */
function references(c: RecurrentCase): Map<string, number[]> {
  const m = new Map<string, number[]>([
    ['output', c.output.data],
    ['h_n', c.h_n.data],
    ['grads.x', c.grads.x.data],
    ['grads.h0', c.grads.h0.data],
  ]);
  if (c.c_n) m.set('c_n', c.c_n.data);
  if (c.grads.c0) m.set('grads.c0', c.grads.c0.data);
  for (const [k, v] of Object.entries(c.grads.params)) m.set(`grads.params.${k}`, v);
  return m;
}

/** null when |got − want| ≤ atol + rtol·|want| everywhere, else a message naming the first bad element. */
function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) return `[${i}]: got ${g}, want ${w} (atol ${atol}, rtol ${rtol})`;
  }
  return null;
}

/** Largest |got − want| / (atol + rtol·|want|) per suite label (1 = at the tolerance), printed after
 * each suite so the headroom under each tolerance is visible in the log. */
const worst = new Map<string, { used: number; where: string }>();

function track(label: string, where: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): void {
  let used = 0;
  let at = 0;
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    const u = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (u > used) [used, at] = [u, i];
  }
  const prev = worst.get(label);
  if (!prev || used > prev.used) worst.set(label, { used, where: `${where}[${at}]: ${got[at]} vs ${want[at]}` });
}

function reportWorst(label: string): void {
  const w = worst.get(label);
  if (w) console.info(`[parity] ${label}: closest call used ${w.used.toExponential(1)} of the tolerance (${w.where})`);
}

function expectAllClose(c: RecurrentCase, label: string, got: Map<string, Float32Array>, want: Map<string, ArrayLike<number>>, atol: number, rtol: number): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  const failures: string[] = [];
  for (const [key, w] of want) {
    const g = got.get(key) as Float32Array;
    track(label, `${c.name} ${key}`, g, w, atol, rtol);
    const bad = mismatch(g, w, atol, rtol);
    if (bad !== null) failures.push(`${key}${bad}`);
  }
  // One message listing every mismatching tensor, with the case and its PyTorch snippet.
  expect(failures, `${label} ${c.name} [${c.snippet}]`).toEqual([]);
}

// ---- suites ---------------------------------------------------------------------------------------

for (const name of BACKENDS) {
  describe.skipIf(!built(name))(`PyTorch parity on the ${name} backend (torch ${fixture.torch})`, () => {
    beforeAll(async () => {
      await setBackend(name);
      console.info(`[parity] ${name} backend, isa ${backendInfo().isa}`);
    });
    afterAll(() => reportWorst(name));

    it('has every cell × variant fixture', () => {
      expect(CASES.length).toBeGreaterThanOrEqual(40);
      for (const cell of ['rnn_tanh', 'rnn_relu', 'lstm', 'gru']) {
        expect(CASES.filter(([, c]) => c.config.cell === cell).length, cell).toBeGreaterThanOrEqual(10);
      }
    });

    it.each(CASES)('%s', (_name, c) => {
      const r = runCase(c);
      expect(r.backendName).toBe(name);
      // PyTorch's named_parameters() order is the state dict's order.
      expect(r.paramNames).toEqual(Object.keys(c.params));
      expectAllClose(c, name, r.values, references(c), ATOL, RTOL);
    });
  });
}

describe.skipIf(!(built('native') && built('wasm')))('native and wasm agree', () => {
  afterAll(() => reportWorst('native vs wasm'));
  it.each(CASES)('%s', async (_name, c) => {
    await setBackend('native');
    const native = runCase(c);
    await setBackend('wasm');
    const wasm = runCase(c);
    expect([native.backendName, wasm.backendName]).toEqual(['native', 'wasm']);
    expectAllClose(c, 'native vs wasm', wasm.values, native.values, CROSS_ATOL, CROSS_RTOL);
  });
});
