/**
 * PyTorch parity of every non-recurrent layer kind through the public TS API, on native and on each
 * wasm module (threaded SIMD128, SIMD128, scalar). Each case of test/fixtures/torch_layers/
 * {basic,attention,conv}.json (format: test/fixtures/README.md) becomes a `Sequential` holding the
 * layer, loads PyTorch's parameters with `loadStateDict`, and is checked twice:
 * - `Sequential.forward` (inference, with lengths and initial states) gives the fixture's output;
 * - a `ModelHandle` of the model's canonical spec and parameters (`getBackend().createModel`: the
 *   lowest public API with a backward; `Sequential` has none) runs a training forward and
 *   `backward(dOut, dStates)`: output, dx, every parameter gradient, final states and their gradients.
 * Then every wasm module is compared with native on the same fixture inputs and cotangents. Also:
 * bad configs of each new kind fail with the code and the argument path the core names, and a mixed
 * model (Embedding → causal Conv1D → LayerNorm → GRU → causal MultiHeadAttention → GlobalMeanPool →
 * Dense) predicts and trains alike on every backend.
 *
 * Layers that cannot be first (activations, pools, global pools: nothing sets their input size) get
 * an identity Dense before them (weight I, bias 0: exact in float32, forward and backward), and a
 * vector input [B, F] is fed as [B, 1, F] through identity Dense → LastStep (a one-step LastStep is
 * the identity too). `new Dense({ returnSequences: false })` cannot be first (its LastStep has no
 * input size), hence the two layers.
 */

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ModelHandle } from '../ts/backend/types.js';
import type { AnyLayer, Sequential } from '../ts/index.js';
import { loadVariant, VARIANTS, variantBuilt, type Api } from './helpers/variants.js';

/** Against PyTorch's float64 reference: the Rust f32 check's tolerances (crates/rnnkit-core/tests/common/fixture.rs). */
const RTOL = 1e-4;
const ATOL = 1e-5;
/** Native vs wasm: the bar (FMA vs mul+add rounding and summation order). */
const CROSS_RTOL = 1e-5;
const CROSS_ATOL = 1e-6;

// ---- fixtures -------------------------------------------------------------------------------------

interface TensorJson {
  dims: number[];
  data: number[];
}

interface LayerCase {
  name: string;
  snippet?: string;
  type: string;
  config: Record<string, unknown>;
  params: Record<string, TensorJson>;
  x?: TensorJson;
  ids?: TensorJson;
  lengths?: number[];
  states?: Record<string, TensorJson>;
  d_out: TensorJson;
  d_states?: Record<string, TensorJson>;
  expected: {
    out: TensorJson;
    dx?: TensorJson;
    params: Record<string, TensorJson>;
    states?: Record<string, TensorJson>;
    d_states?: Record<string, TensorJson>;
  };
}

const FILES = ['basic', 'attention', 'conv'] as const;
const CASES: [string, LayerCase][] = FILES.flatMap((f) => {
  const j = JSON.parse(readFileSync(new URL(`./fixtures/torch_layers/${f}.json`, import.meta.url), 'utf8')) as { cases: LayerCase[] };
  return j.cases.map((c): [string, LayerCase] => [`${f}: ${c.name}`, c]);
});

// ---- one case on one backend -----------------------------------------------------------------------

/** Everything a case produces, flat, keyed like `references()`. */
type Values = Map<string, Float32Array>;

/** The model for a case: the layer alone, or after the identity predecessors it needs (see header). */
function buildModel(api: Api, c: LayerCase): { model: Sequential; layerIndex: number; pre: string[]; prefix: string } {
  const cls = api.LAYER_CLASSES.get(c.type);
  if (!cls) throw new Error(`unknown fixture layer type ${c.type}`);
  const x = c.x;
  const f = x ? x.dims[x.dims.length - 1] : 0;
  let pre: AnyLayer[] = [];
  let config = c.config;
  if (x && x.dims.length === 2) pre = [new api.Dense({ inFeatures: f, units: f }), new api.LastStep()];
  else if (x && cls.inputKey === undefined) pre = [new api.Dense({ inFeatures: f, units: f })];
  else if (x && config[cls.inputKey!] === undefined) config = { ...config, [cls.inputKey!]: f }; // what a first layer needs
  const layer = api.layerFromJSON({ type: c.type, config }, 'fixture');
  const model = new api.Sequential([...pre, layer]);
  // Names are bare when one layer has parameters, else prefixed by the index among those that have some.
  const hasOwn = Object.keys(c.params).length > 0;
  const prefix = pre.length > 0 && hasOwn ? '1.' : '';
  const preNames = pre.length === 0 ? [] : hasOwn ? ['0.weight', '0.bias'] : ['weight', 'bias'];
  return { model, layerIndex: pre.length, pre: preNames, prefix };
}

function runCase(api: Api, c: LayerCase): { values: Values; backendName: string } {
  const { model, layerIndex, pre, prefix } = buildModel(api, c);
  let handle: ModelHandle | undefined;
  try {
    const names = [...pre, ...Object.keys(c.params).map((n) => prefix + n)];
    // PyTorch's named_parameters() order is the model's.
    expect(Object.keys(model.stateDict())).toEqual(names);
    const dict: Record<string, Float32Array> = Object.fromEntries(Object.entries(c.params).map(([n, t]) => [prefix + n, new Float32Array(t.data)]));
    if (pre.length > 0) {
      const f = c.x!.dims[c.x!.dims.length - 1];
      const eye = new Float32Array(f * f);
      for (let i = 0; i < f; i++) eye[i * f + i] = 1;
      dict[pre[0]] = eye;
      dict[pre[1]] = new Float32Array(f);
    }
    model.loadStateDict(dict);

    const tokens = c.ids !== undefined;
    const xj = (c.ids ?? c.x)!;
    const [b, t] = xj.dims;
    const x = tokens
      ? new api.Tensor(Int32Array.from(xj.data), [b, t] as const)
      : new api.Tensor(new Float32Array(xj.data), [b, xj.dims.length === 3 ? t : 1, xj.dims[xj.dims.length - 1]] as const);
    const lengths = c.lengths === undefined ? undefined : Int32Array.from(c.lengths);
    const infos = model.stateInfo(b);
    for (const s of infos) expect(s.layer, 'states belong to the fixture layer').toBe(layerIndex);
    const byName = (m: Record<string, TensorJson> | undefined) => {
      for (const k of Object.keys(m ?? {})) expect(infos.map((s) => s.name), `${k}: a state of this layer`).toContain(k);
      return infos.map((s) => (m?.[s.name] === undefined ? undefined : new Float32Array(m[s.name].data)));
    };
    const states = byName(c.states);
    const values: Values = new Map();

    // The public inference path.
    const inference = model.forward(x as never, { states, ...(lengths ? { lengths } : {}) });
    expect(inference.output.shape).toEqual(c.expected.out.dims);
    values.set('inference out', inference.output.data as Float32Array);

    // Training forward + backward on a handle of the same spec and parameters.
    handle = api.getBackend().createModel(JSON.stringify(model.spec));
    const infoNames = handle.paramInfo().map((p) => p.name);
    expect(infoNames).toEqual(names);
    handle.setParams(Float32Array.from(Object.values(model.stateDict()).flatMap((p) => [...p.data])));
    const xDims: [number, number, number] = [b, x.shape[1], tokens ? 1 : xj.dims[xj.dims.length - 1]];
    const fwd = handle.forward(x.data, xDims, { states, ...(lengths ? { lengths } : {}), training: true });
    expect(fwd.outputDims).toEqual(c.expected.out.dims);
    values.set('out', fwd.output);
    const bwd = handle.backward(new Float32Array(c.d_out.data), byName(c.d_states));
    if (tokens) expect(bwd.dx.length, 'no dx for token ids').toBe(0);
    else values.set('dx', bwd.dx);
    for (const p of handle.paramInfo()) {
      if (p.name.startsWith(prefix) && !pre.includes(p.name)) {
        values.set(`d ${p.name.slice(prefix.length)}`, bwd.grads.slice(p.offset, p.offset + p.shape.reduce((a, v) => a * v, 1)));
      }
    }
    infos.forEach((s, i) => {
      if (c.expected.states?.[s.name]) values.set(`final ${s.name}`, fwd.states[i]);
      if (c.expected.d_states?.[s.name]) values.set(`d ${s.name}0`, bwd.dStates[i]);
      // The inference path carries the same final states.
      if (c.expected.states?.[s.name]) values.set(`inference final ${s.name}`, inference.states[i]);
    });
    return { values, backendName: model.backendName };
  } finally {
    handle?.dispose();
    model.dispose();
  }
}

/** The fixture's references, keyed like `runCase`'s values. */
function references(c: LayerCase): Map<string, number[]> {
  const e = c.expected;
  const m = new Map<string, number[]>([
    ['inference out', e.out.data],
    ['out', e.out.data],
  ]);
  if (e.dx) m.set('dx', e.dx.data);
  for (const [k, v] of Object.entries(e.params)) m.set(`d ${k}`, v.data);
  for (const [k, v] of Object.entries(e.states ?? {})) m.set(`final ${k}`, v.data).set(`inference final ${k}`, v.data);
  for (const [k, v] of Object.entries(e.d_states ?? {})) m.set(`d ${k}0`, v.data);
  return m;
}

// ---- comparing -------------------------------------------------------------------------------------

/** Largest |got − want| / (atol + rtol·|want|) per suite label (1 = at the tolerance), printed per suite. */
const worst = new Map<string, { used: number; where: string }>();

/** Every mismatching tensor of `got` against `want` (keys must agree), one line each; tracks headroom. */
function mismatches(label: string, name: string, got: Values, want: Map<string, ArrayLike<number>>, atol: number, rtol: number): string[] {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  const failures: string[] = [];
  for (const [key, w] of want) {
    const g = got.get(key)!;
    if (g.length !== w.length) {
      failures.push(`${key}: length ${g.length}, expected ${w.length}`);
      continue;
    }
    let used = 0;
    let at = 0;
    for (let i = 0; i < g.length; i++) {
      const u = Math.abs(g[i] - w[i]) / (atol + rtol * Math.abs(w[i]));
      if (!(u <= used)) [used, at] = [u, i]; // NaN counts as the worst
    }
    const prev = worst.get(label);
    if (!prev || !(used <= prev.used)) worst.set(label, { used, where: `${name} ${key}[${at}]: ${g[at]} vs ${w[at]}` });
    if (!(used <= 1)) failures.push(`${key}[${at}]: got ${g[at]}, want ${w[at]} (atol ${atol}, rtol ${rtol})`);
  }
  return failures;
}

function reportWorst(label: string): void {
  const w = worst.get(label);
  if (w) console.info(`[layer-parity] ${label}: closest call used ${w.used.toExponential(1)} of the tolerance (${w.where})`);
}

// ---- PyTorch parity and native = wasm -------------------------------------------------------------

const built = VARIANTS.filter((v) => variantBuilt(v, 'layer-parity'));
/** Each variant's results per case, for the cross-backend comparison. */
const results = new Map<string, Map<string, Values>>();
/** Each variant's own copy of the API, loaded once. */
const apis = new Map<string, Api>();

async function api(label: string): Promise<Api> {
  let a = apis.get(label);
  if (!a) {
    a = await loadVariant(VARIANTS.find((v) => v.label === label)!);
    apis.set(label, a);
  }
  return a;
}

it('covers every fixture file and every new layer kind', () => {
  const kinds = new Set(CASES.map(([, c]) => c.type));
  for (const k of ['Embedding', 'LayerNorm', 'ReLU', 'GELU', 'Tanh', 'Sigmoid', 'GlobalMeanPool', 'GlobalMaxPool', 'AttentionPooling', 'MultiHeadAttention', 'Conv1D', 'MaxPool1D', 'AvgPool1D']) {
    expect(kinds, k).toContain(k);
  }
  expect(CASES.length).toBeGreaterThanOrEqual(50);
});

for (const v of VARIANTS) {
  describe.skipIf(!built.includes(v))(`PyTorch parity on ${v.label}`, () => {
    let a: Api;
    beforeAll(async () => {
      a = await api(v.label);
      const info = a.backendInfo();
      console.info(`[layer-parity] ${v.label}: backend ${info.name}, isa ${info.isa}, threads ${info.threads}`);
      expect(info.name).toBe(v.backend);
      if (v.backend === 'wasm') expect(info.isa).toBe(v.env.RNNKIT_WASM_SIMD === '0' ? 'scalar' : 'simd128');
      results.set(v.label, new Map());
    });
    afterAll(() => reportWorst(v.label));

    it.each(CASES)('%s', (name, c) => {
      const r = runCase(a, c);
      expect(r.backendName).toBe(v.backend);
      results.get(v.label)!.set(name, r.values);
      const failures = mismatches(v.label, name, r.values, references(c), ATOL, RTOL);
      expect(failures, `${v.label} ${name} [${c.snippet ?? c.type}]`).toEqual([]);
    });
  });
}

for (const v of VARIANTS.filter((x) => x.backend === 'wasm')) {
  const label = `native vs ${v.label}`;
  describe.skipIf(!(built.includes(v) && built.includes(VARIANTS[0])))(label, () => {
    afterAll(() => reportWorst(label));
    it.each(CASES)('%s', async (name, c) => {
      // Results of the suites above when they ran, else computed here.
      const get = async (l: string) => results.get(l)?.get(name) ?? runCase(await api(l), c).values;
      const native = await get('native');
      const wasm = await get(v.label);
      expect(mismatches(label, name, wasm, native, CROSS_ATOL, CROSS_RTOL), `${label} ${name}`).toEqual([]);
    });
  });
}
