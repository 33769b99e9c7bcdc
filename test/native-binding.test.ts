/**
 * The hand-written N-API binding (crates/rnnkit-node) through its adapter (ts/backend/native.ts):
 * loading, argument type checks, zero-copy views with byte offsets, error mapping, panics, dispose
 * and GC finalizers (liveHandles), and trainEpoch off the JS thread (busy rules, deferred dispose,
 * inputs copied before queueing, the JS object kept alive while work is queued).
 *
 * Needs `npm run build:native` first. GC is reached without `--expose-gc` through v8/vm.
 */

import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadNativeAddon, loadNativeBackend, nativeAddonPath, type NativeAddon } from '../ts/backend/native.js';
import type { Backend, ModelHandle } from '../ts/backend/types.js';
import { expectRejects, expectThrows } from './helpers/errors.js';
import { getGc } from './helpers/gc.js';

const LSTM_SPEC = JSON.stringify({ seed: 7, blocks: [{ cell: 'lstm', input_size: 2, hidden_size: 3 }] });
/** Sequence head: output [T, B, 1], so MSE targets have T·B elements. */
const HEAD_SPEC = JSON.stringify({
  seed: 3,
  blocks: [{ cell: 'gru', input_size: 2, hidden_size: 4 }],
  head: { units: 1 },
});
const TRAIN = JSON.stringify({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } });

let backend: Backend;
let addon: NativeAddon;

/** Deterministic toy data: T=5, B=6, I=2 (time-major), targets [T, B, 1]. */
function dataset(t = 5, b = 6) {
  const x = new Float32Array(t * b * 2).map((_, i) => Math.sin(i * 0.37));
  const y = new Float32Array(t * b).map((_, i) => Math.cos(i * 0.21) * 0.5);
  return { x, xDims: [t, b, 2] as [number, number, number], y };
}

const made: ModelHandle[] = [];
function create(spec = LSTM_SPEC): ModelHandle {
  const m = backend.createModel(spec);
  made.push(m);
  return m;
}

beforeAll(() => {
  backend = loadNativeBackend();
  addon = loadNativeAddon();
});

afterEach(() => {
  for (const m of made.splice(0)) {
    try {
      m.dispose();
    } catch {
      // busy models are disposed when their fit settles
    }
  }
});

describe('loading', () => {
  it('loads the addon and reports the kernel tier', () => {
    expect(backend.name).toBe('native');
    expect(['avx512', 'avx2', 'scalar']).toContain(backend.isa);
    expect(loadNativeBackend()).toBe(backend);
    expect(typeof backend.liveHandles()).toBe('number');
  });

  it('exposes the raw exports, test hooks included', () => {
    expect(Object.keys(addon).sort()).toEqual([
      'Model', '__asyncForTests', '__datasetBytesBuilt', '__panicForTests', 'datasetDispose', 'datasetDisposed', 'datasetNew', 'isa', 'liveHandles', 'peakGflops', 'threads',
    ]);
    expect(addon.isa()).toBe(backend.isa);
    expect(addon.threads()).toBe(availableParallelism()); // the cores a `threads: 0` model uses
    expect(backend.threads()).toBe(addon.threads());
  });

  it('fails with a clear error when the addon file is missing', async () => {
    const saved = process.env.RNNKIT_NATIVE_PATH;
    try {
      delete process.env.RNNKIT_NATIVE_PATH;
      expect(nativeAddonPath()).toMatch(/build\/rnnkit\.node$/);
      process.env.RNNKIT_NATIVE_PATH = '/nonexistent/rnnkit.node';
      vi.resetModules(); // a fresh copy of native.ts, with nothing cached
      const fresh = await import('../ts/backend/native.js');
      const err = expectThrows(() => fresh.loadNativeBackend(), Error, 'ERR_RNNKIT_UNSUPPORTED');
      expect(err.message).toContain('/nonexistent/rnnkit.node');
    } finally {
      if (saved === undefined) delete process.env.RNNKIT_NATIVE_PATH;
      else process.env.RNNKIT_NATIVE_PATH = saved;
      vi.resetModules();
    }
  });

  it('RNNKIT_ISA forces a tier, and an unknown or unavailable tier makes isa() (so loading) fail', () => {
    // A child process: kernel selection happens once per process.
    const probe = `
      const addon = require(${JSON.stringify(nativeAddonPath())});
      let out;
      try { out = { isa: addon.isa() }; } catch (e) { out = { name: e.constructor.name, code: e.code }; }
      try { new addon.Model('{"blocks":[{"cell":"gru","input_size":1,"hidden_size":1}]}'); out.model = 'ok'; }
      catch (e) { out.model = e.code; }
      process.stdout.write(JSON.stringify(out));`;
    const run = (isa: string) =>
      JSON.parse(execFileSync(process.execPath, ['-e', probe], { env: { ...process.env, RNNKIT_ISA: isa } }).toString());
    expect(run('scalar')).toEqual({ isa: 'scalar', model: 'ok' });
    const bad = run('sse9');
    expect(bad.code).toMatch(/^ERR_RNNKIT_(VALUE|UNSUPPORTED)$/);
    expect(bad.model).toBe(bad.code); // models refuse to exist on an unasked-for tier
  });
});

describe('createModel errors', () => {
  it('names the spec field: RangeError for values/shapes, TypeError for kinds, Error for bad JSON', () => {
    expectThrows(() => backend.createModel(JSON.stringify({ blocks: [] })), RangeError, 'ERR_RNNKIT_VALUE', 'spec.blocks');
    expectThrows(() => backend.createModel(JSON.stringify({ blocks: 'lstm' })), TypeError, 'ERR_RNNKIT_TYPE', 'spec.blocks');
    const stacked = JSON.stringify({
      blocks: [
        { cell: 'gru', input_size: 2, hidden_size: 4 },
        { cell: 'gru', input_size: 3, hidden_size: 4 },
      ],
    });
    expectThrows(() => backend.createModel(stacked), RangeError, 'ERR_RNNKIT_SHAPE', 'spec.blocks[1].input_size');
    expectThrows(() => backend.createModel('{"blocks": ['), Error, 'ERR_RNNKIT_FORMAT');
  });

  it('rejects a non-string spec with a TypeError naming it', () => {
    expectThrows(() => backend.createModel(42 as unknown as string), TypeError, 'ERR_RNNKIT_TYPE', 'spec');
    expectThrows(() => backend.createModel(undefined as unknown as string), TypeError, 'ERR_RNNKIT_TYPE', 'spec');
  });

  it('refuses to be called without new, and methods on foreign objects', () => {
    const Raw = addon.Model as unknown as (s: string) => unknown;
    expectThrows(() => Raw(LSTM_SPEC), TypeError, 'ERR_RNNKIT_TYPE', 'Model');
    const raw = new addon.Model(LSTM_SPEC);
    try {
      // V8 checks the receiver of class methods itself ("Illegal invocation") before the addon runs;
      // the addon's own `this` check (wrap.rs) is the second line of defence.
      expect(() => raw.specJson.call({})).toThrow(TypeError);
    } finally {
      raw.dispose();
    }
  });
});

describe('argument types', () => {
  it('forward: x must be a Float32Array (features) or an Int32Array (token ids)', () => {
    const m = create();
    const dims: [number, number, number] = [2, 1, 2];
    expectThrows(() => m.forward(new Uint8Array(4) as unknown as Float32Array, dims), TypeError, 'ERR_RNNKIT_TYPE', 'x');
    expectThrows(() => m.forward(new Int32Array(4), dims), RangeError, 'ERR_RNNKIT_SHAPE', 'x'); // ids need dims [.., .., 1]
    expectThrows(() => m.forward(4 as unknown as Float32Array, dims), TypeError, 'ERR_RNNKIT_TYPE', 'x');
    expectThrows(() => m.forward(undefined as unknown as Float32Array, dims), TypeError, 'ERR_RNNKIT_TYPE', 'x');
    expectThrows(() => m.forward(new Float64Array(4) as unknown as Float32Array, dims), TypeError, 'ERR_RNNKIT_TYPE', 'x');
    const err = expectThrows(() => m.forward(new Uint16Array(4) as unknown as Float32Array, dims), TypeError, 'ERR_RNNKIT_TYPE');
    expect(err.message).toContain('Uint16Array(4)');
  });

  it('forward: xDims, options and optional arrays are checked and named', () => {
    const m = create();
    const x = new Float32Array(4);
    expectThrows(() => m.forward(x, 'abc' as unknown as [number, number, number]), TypeError, 'ERR_RNNKIT_TYPE', 'xDims');
    expectThrows(() => m.forward(x, [2, 2] as unknown as [number, number, number]), RangeError, 'ERR_RNNKIT_SHAPE', 'xDims');
    expectThrows(() => m.forward(x, [2, -1, 2]), RangeError, 'ERR_RNNKIT_VALUE', 'xDims[1]');
    expectThrows(() => m.forward(x, [2, 1.5, 2]), RangeError, 'ERR_RNNKIT_VALUE', 'xDims[1]');
    expectThrows(() => m.forward(x, [2, 1, 2], { states: [new Int32Array(3) as unknown as Float32Array, undefined] }), TypeError, 'ERR_RNNKIT_TYPE', 'states[0]');
    expectThrows(() => m.forward(x, [2, 1, 2], { states: [new Float32Array(3)] }), RangeError, 'ERR_RNNKIT_SHAPE', 'states');
    expectThrows(() => m.forward(x, [2, 1, 2], { lengths: new Float32Array(1) as unknown as Int32Array }), TypeError, 'ERR_RNNKIT_TYPE', 'lengths');
    expectThrows(() => m.forward(x, [2, 1, 2], { training: 'yes' as unknown as boolean }), TypeError, 'ERR_RNNKIT_TYPE', 'training');
    expectThrows(() => m.forward(x, [2, 1, 2], null as unknown as undefined), TypeError, 'ERR_RNNKIT_TYPE', 'opts');
  });

  it('size mismatches come back from the core as RangeErrors naming the argument', () => {
    const m = create();
    expectThrows(() => m.forward(new Float32Array(5), [2, 1, 2]), RangeError, 'ERR_RNNKIT_SHAPE', 'x');
    expectThrows(() => m.setParams(new Float32Array(3)), RangeError, 'ERR_RNNKIT_SHAPE');
  });

  it('trainStep/step/setParams check their typed arrays and numbers', () => {
    const m = create(HEAD_SPEC);
    m.compile(TRAIN);
    const { x, xDims, y } = dataset();
    expectThrows(() => m.trainStep({ x, xDims, y: [1, 2] as unknown as Float32Array }), TypeError, 'ERR_RNNKIT_TYPE', 'y');
    expectThrows(() => m.trainStep({ x, xDims, y, mask: new Int32Array(30) as unknown as Float32Array }), TypeError, 'ERR_RNNKIT_TYPE', 'mask');
    expectThrows(() => m.trainStep(undefined as unknown as never), TypeError, 'ERR_RNNKIT_TYPE', 'batch');
    expectThrows(() => m.step(new Float32Array(2), 0), RangeError, 'ERR_RNNKIT_VALUE', 'batch');
    expectThrows(() => m.step(new Float32Array(2), '1' as unknown as number), TypeError, 'ERR_RNNKIT_TYPE', 'batch');
    expectThrows(() => m.setParams(m.getParams().buffer as unknown as Float32Array), TypeError, 'ERR_RNNKIT_TYPE', 'params');
    expectThrows(() => m.compile({} as unknown as string), TypeError, 'ERR_RNNKIT_TYPE', 'train');
  });
});

describe('typed arrays cross without copies and honour byte offsets', () => {
  it('a Float32Array view with a byte offset reads the viewed elements', () => {
    const m = create();
    const plain = new Float32Array([0.5, -1, 2, 0.25, -0.75, 1.5]);
    const backing = new Float32Array(3 + plain.length + 5).fill(Number.NaN);
    const view = new Float32Array(backing.buffer, 3 * 4, plain.length);
    view.set(plain);
    const a = m.forward(plain, [3, 1, 2]);
    const b = m.forward(view, [3, 1, 2]);
    expect(Array.from(b.output)).toEqual(Array.from(a.output));
    expect(Array.from(b.states[0])).toEqual(Array.from(a.states[0]));
    expect(b.output.every(Number.isFinite)).toBe(true);
    expect(backing.slice(0, 3).every(Number.isNaN)).toBe(true); // inputs are never written
  });

  it('outputs are fresh Float32Arrays shaped like the contract says', () => {
    const m = create();
    const r = m.forward(new Float32Array(3 * 2 * 2).fill(0.1), [3, 2, 2]);
    expect(r.output).toBeInstanceOf(Float32Array);
    expect(r.outputDims).toEqual([3, 2, 3]);
    expect(r.output.length).toBe(3 * 2 * 3);
    expect(r.output.byteOffset).toBe(0);
    expect(r.output.buffer.byteLength).toBe(r.output.length * 4);
    expect(r.states.map((s) => s.length)).toEqual([1 * 2 * 3, 1 * 2 * 3]); // an LSTM's h and c
    expect(m.stateInfo(2)).toEqual([{ layer: 0, name: 'h', dims: [1, 2, 3] }, { layer: 0, name: 'c', dims: [1, 2, 3] }]);
  });

  it('setParams reads an offset view; getParams returns a copy', () => {
    const m = create();
    const n = m.getParams().length;
    expect(n).toBe(m.paramInfo().reduce((s, p) => s + p.shape.reduce((a, d) => a * d, 1), 0));
    const backing = new Float32Array(n + 7);
    const view = new Float32Array(backing.buffer, 7 * 4, n);
    view.forEach((_, i) => (view[i] = (i % 13) * 0.01 - 0.05));
    m.setParams(view);
    const got = m.getParams();
    expect(Array.from(got)).toEqual(Array.from(view));
    got.fill(9);
    expect(m.getParams()[0]).toBe(view[0]);
  });

  it('paramInfo uses PyTorch names with offsets into the flat buffer', () => {
    const info = create().paramInfo();
    expect(info.map((p) => p.name)).toEqual(['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']);
    expect(info[0]).toEqual({ name: 'weight_ih_l0', shape: [12, 2], offset: 0 });
    expect(info[1].offset).toBe(24);
  });
});

describe('panics', () => {
  it('a Rust panic becomes ERR_RNNKIT_INTERNAL and the addon keeps working', () => {
    expectThrows(() => addon.__panicForTests(), Error, 'ERR_RNNKIT_INTERNAL');
    const m = create();
    expect(m.forward(new Float32Array(2), [1, 1, 2]).output.length).toBe(3);
    expectThrows(() => addon.__panicForTests(), Error, 'ERR_RNNKIT_INTERNAL');
  });

  it('a panic on a worker thread rejects with ERR_RNNKIT_INTERNAL', async () => {
    const err = await expectRejects(addon.__asyncForTests(1, true), 'ERR_RNNKIT_INTERNAL');
    expect(err.message).toContain('worker thread');
    await expect(addon.__asyncForTests(1, false)).resolves.toBe(1);
  });
});

describe('dispose and liveHandles', () => {
  it('dispose frees at once, later calls throw ERR_RNNKIT_DISPOSED, a second dispose is a no-op', () => {
    const before = backend.liveHandles();
    const m = backend.createModel(LSTM_SPEC);
    expect(backend.liveHandles()).toBe(before + 1);
    expect(m.disposed).toBe(false);
    m.dispose();
    expect(m.disposed).toBe(true);
    expect(backend.liveHandles()).toBe(before);
    expectThrows(() => m.specJson(), Error, 'ERR_RNNKIT_DISPOSED');
    expectThrows(() => m.forward(new Float32Array(2), [1, 1, 2]), Error, 'ERR_RNNKIT_DISPOSED');
    m.dispose();
    expect(backend.liveHandles()).toBe(before);
  });

  it('garbage collection frees models that were never disposed', async () => {
    const gc = getGc();
    const before = backend.liveHandles();
    (() => {
      for (let i = 0; i < 20; i++) backend.createModel(LSTM_SPEC).forward(new Float32Array(2), [1, 1, 2]);
    })();
    expect(backend.liveHandles()).toBe(before + 20);
    // Node runs N-API finalizers after the GC pass, from the event loop: collect and yield until done.
    for (let i = 0; i < 50 && backend.liveHandles() > before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(backend.liveHandles()).toBe(before);
  });

  it('a disposed-then-collected model is counted down exactly once', async () => {
    const gc = getGc();
    const before = backend.liveHandles();
    (() => {
      const m = backend.createModel(LSTM_SPEC);
      m.dispose();
    })();
    expect(backend.liveHandles()).toBe(before);
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(backend.liveHandles()).toBe(before);
  });
});

describe('trainEpoch off the JS thread', () => {
  it('the event loop keeps running while native async work runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      let zeroDelayRan = false;
      setTimeout(() => (zeroDelayRan = true), 0);
      const p = addon.__asyncForTests(200);
      expect(p).toBeInstanceOf(Promise);
      await expect(p).resolves.toBe(200);
      expect(zeroDelayRan).toBe(true);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  });

  it('returns a Promise of the mean loss and gradient norm; the model is busy until it settles', async () => {
    const m = create(HEAD_SPEC);
    m.compile(TRAIN);
    const { x, xDims, y } = dataset();
    const p = m.trainEpoch(backend.createDataset({ x, xDims, y }), { batchSize: 2, shuffle: true, seed: 1, tbptt: 0 });
    expect(p).toBeInstanceOf(Promise);
    const busy = expectThrows(() => m.specJson(), Error, 'ERR_RNNKIT_DISPOSED');
    expect(busy.message).toMatch(/busy in fit/);
    expectThrows(() => m.forward(x, xDims), Error, 'ERR_RNNKIT_DISPOSED');
    await expectRejects(m.trainEpoch(backend.createDataset({ x, xDims, y }), { batchSize: 2, shuffle: false, seed: 1, tbptt: 0 }), 'ERR_RNNKIT_DISPOSED');
    expect(m.disposed).toBe(false);
    const { loss, gradNorm } = await p;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    expect(Number.isFinite(gradNorm)).toBe(true);
    expect(gradNorm).toBeGreaterThan(0);
    expect(m.specJson()).toContain('"GRU"'); // usable again
    // Training changed the parameters.
    const fresh = create(HEAD_SPEC);
    expect(Array.from(m.getParams())).not.toEqual(Array.from(fresh.getParams()));
  });

  it('a dataset is a copy: mutating the arrays it was made from changes nothing', async () => {
    const opts = { batchSize: 3, shuffle: true, seed: 5, tbptt: 0 };
    const a = create(HEAD_SPEC);
    const b = create(HEAD_SPEC);
    a.compile(TRAIN);
    b.compile(TRAIN);
    const clean = dataset();
    const dirty = dataset();
    const pa = a.trainEpoch(backend.createDataset(dirty), opts);
    dirty.x.fill(Number.NaN);
    dirty.y.fill(Number.NaN);
    const [la, lb] = await Promise.all([pa, b.trainEpoch(backend.createDataset(clean), opts)]);
    expect(la).toEqual(lb);
    expect(Array.from(a.getParams())).toEqual(Array.from(b.getParams()));
  });

  it('errors reject with the mapped error and leave the model usable', async () => {
    const m = create(HEAD_SPEC);
    const { x, xDims, y } = dataset();
    const opts = { batchSize: 2, shuffle: false, seed: 0, tbptt: 0 };
    await expectRejects(m.trainEpoch(backend.createDataset({ x, xDims, y }), opts), 'ERR_RNNKIT_VALUE'); // not compiled
    m.compile(TRAIN);
    expectThrows(() => backend.createDataset({ x: new Uint8Array(60) as unknown as Float32Array, xDims, y }), Error, 'ERR_RNNKIT_TYPE');
    await expectRejects(m.trainEpoch(backend.createDataset({ x, xDims, y }), { ...opts, batchSize: 0 }), 'ERR_RNNKIT_VALUE');
    await expectRejects(m.trainEpoch(backend.createDataset({ x, xDims, y: y.subarray(1) }), opts), 'ERR_RNNKIT_SHAPE');
    expect(Number.isFinite((await m.trainEpoch(backend.createDataset({ x, xDims, y }), opts)).loss)).toBe(true);
  });

  it('dispose during a fit is deferred: reads disposed at once, frees and rejects when the fit ends', async () => {
    const data = backend.createDataset(dataset());
    const before = backend.liveHandles();
    const m = backend.createModel(HEAD_SPEC);
    m.compile(TRAIN);
    const p = m.trainEpoch(data, { batchSize: 2, shuffle: false, seed: 0, tbptt: 0 });
    m.dispose();
    expect(m.disposed).toBe(true);
    expect(backend.liveHandles()).toBe(before + 1); // still held by the worker
    m.dispose(); // no-op
    expectThrows(() => m.specJson(), Error, 'ERR_RNNKIT_DISPOSED');
    await expectRejects(p, 'ERR_RNNKIT_DISPOSED');
    expect(backend.liveHandles()).toBe(before);
    expectThrows(() => m.specJson(), Error, 'ERR_RNNKIT_DISPOSED');
    data.dispose();
    expect(backend.liveHandles()).toBe(before - 1);
  });

  it('keeps the model alive while queued even when JS drops every reference', async () => {
    const gc = getGc();
    // Objects earlier tests dropped are collected first, so `before` counts only what is alive.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const before = backend.liveHandles();
    const p = (() => {
      const m = backend.createModel(HEAD_SPEC);
      m.compile(TRAIN);
      return m.trainEpoch(backend.createDataset(dataset(20, 16)), { batchSize: 4, shuffle: true, seed: 2, tbptt: 0 });
    })();
    gc();
    expect(Number.isFinite((await p).loss)).toBe(true);
    for (let i = 0; i < 50 && backend.liveHandles() > before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(backend.liveHandles()).toBe(before);
  });
});

describe('the rest of ModelHandle', () => {
  it('backward after a training forward gives gradients shaped like the parameters', () => {
    const m = create();
    const x = new Float32Array(3 * 2 * 2).map((_, i) => i * 0.1);
    const f = m.forward(x, [3, 2, 2], { training: true });
    const g = m.backward(new Float32Array(f.output.length).fill(1));
    expect(g.dx.length).toBe(x.length);
    expect(g.grads.length).toBe(m.getParams().length);
    expect(g.dStates.map((d) => d.length)).toEqual(f.states.map((s) => s.length));
    expect(g.grads.some((v) => v !== 0)).toBe(true);
    // Gradients arriving at the final states flow back into the initial ones.
    const withDh = m.forward(x, [3, 2, 2], { training: true });
    const g2 = m.backward(new Float32Array(withDh.output.length), [new Float32Array(withDh.states[0].length).fill(1), undefined]);
    expect(g2.dStates[0].some((v) => v !== 0)).toBe(true);
  });

  it('layers() and specJson() come from the core: canonical configs in the layers format', () => {
    const m = create(HEAD_SPEC);
    const layers = m.layers();
    expect(layers.map((l) => l.type)).toEqual(JSON.parse(m.specJson()).layers.map((l: { type: string }) => l.type));
    expect(layers[0]).toMatchObject({ type: 'GRU', input: { kind: 'sequence', features: 2 } });
    expect(layers.reduce((n, l) => n + l.params, 0)).toBe(m.getParams().length);
  });

  it('step and resetState stream one step at a time', () => {
    const m = create(HEAD_SPEC);
    const x = new Float32Array([0.3, -0.2]);
    const first = m.step(x, 1);
    expect(first.length).toBe(1);
    const second = m.step(x, 1);
    expect(second[0]).not.toBe(first[0]); // state carried over
    m.resetState();
    expect(m.step(x, 1)[0]).toBe(first[0]);
  });

  it('evaluate and trainStep return finite losses', () => {
    const m = create(HEAD_SPEC);
    m.compile(TRAIN);
    const batch = dataset();
    const e0 = m.evaluate(batch);
    const l0 = m.trainStep(batch);
    expect(l0).toBeCloseTo(e0, 5);
    expect(Number.isFinite(m.evaluate(batch))).toBe(true);
  });
});
