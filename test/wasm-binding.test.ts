/**
 * The wasm binding on its own (crates/rnnkit-wasm + ts/backend/wasm.ts), for all three modules
 * (threaded SIMD128, SIMD128 and scalar): loading, argument and status → error mapping with code and arg, handle lifecycle and
 * the generation check, freeing of per-call memory, trap recovery, and real model calls checked
 * against a plain-JS reference. Needs `npm run build:wasm` (crates/rnnkit-wasm/build.sh) first.
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { isRnnkitError, type RnnkitErrorCode } from '../ts/errors.js';
import type { Backend, ModelHandle } from '../ts/backend/types.js';
import { loadWasmBackend, loadWasmBackendSync, wasmTesting } from '../ts/backend/wasm.js';
import { simdSupported } from '../ts/backend/wasm-features.js';
import { threadsSupported } from '../ts/backend/wasm-threads.js';

/** f32 forward vs a float64 JS reference of a few steps of tanh RNN: a few ulps of tanh/GEMM. */
const TOL_FORWARD = 1e-5;
/** SIMD128 vs scalar kernels: same math, different summation order (K·ε for a length-K dot). */
const TOL_ISA = 1e-5;
/** Central differences in float32 with eps 1e-2 on a smooth tanh model: O(eps²) + rounding/eps. */
const TOL_FD = 2e-3;

const RNN_SPEC = JSON.stringify({ batch_first: true, seed: 7, blocks: [{ cell: 'rnn_tanh', input_size: 3, hidden_size: 4 }] });
const LSTM_SPEC = JSON.stringify({
  seed: 3,
  blocks: [{ cell: 'lstm', input_size: 2, hidden_size: 5, num_layers: 2 }],
  head: { units: 1 },
});

/** Runs `f`, expecting an RnnkitError with this code (and arg, when given). Returns it. */
function expectError(f: () => unknown, code: RnnkitErrorCode, arg?: string): Error {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(Error);
  expect(isRnnkitError(thrown), String(thrown)).toBe(true);
  expect((thrown as { code: string }).code, (thrown as Error).message).toBe(code);
  if (arg !== undefined) expect((thrown as { arg?: string }).arg).toBe(arg);
  return thrown as Error;
}

async function expectRejection(p: Promise<unknown>, code: RnnkitErrorCode, arg?: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expectError(() => {
    if (e !== undefined) throw e;
  }, code, arg);
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

/** float64 reference of PyTorch's nn.RNN(tanh), batch_first, one layer: output [B, T, H], h [1, B, H]. */
function rnnTanhReference(params: Float32Array, x: Float32Array, [B, T, I]: number[], H: number) {
  const wih = params.subarray(0, H * I);
  const whh = params.subarray(H * I, H * I + H * H);
  const bih = params.subarray(H * I + H * H, H * I + H * H + H);
  const bhh = params.subarray(H * I + H * H + H, H * I + H * H + 2 * H);
  const out = new Float64Array(B * T * H);
  const hN = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const next = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        let z = bih[j] + bhh[j];
        for (let k = 0; k < I; k++) z += wih[j * I + k] * x[(b * T + t) * I + k];
        for (let k = 0; k < H; k++) z += whh[j * H + k] * h[k];
        next[j] = Math.tanh(z);
      }
      h = next;
      out.set(h, (b * T + t) * H);
    }
    hN.set(h, b * H);
  }
  return { out, hN };
}

// Node can expose gc() at run time; FinalizationRegistry callbacks then run after a few turns.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const variants = [
  { label: 'threaded simd128 module', simd: true, threads: 2, isa: 'simd128', file: 'rnnkit-simd-threads.wasm' },
  { label: 'simd128 module', simd: true, threads: 1, isa: 'simd128', file: 'rnnkit-simd.wasm' },
  { label: 'scalar module', simd: false, threads: 1, isa: 'scalar', file: 'rnnkit.wasm' },
] as const;

describe('loading', () => {
  afterEach(() => {
    delete process.env.RNNKIT_WASM_SIMD;
    delete process.env.RNNKIT_WASM_THREADS;
  });

  it('probes SIMD128 and threads (Node 20 has both)', () => {
    expect(simdSupported()).toBe(true);
    expect(threadsSupported()).toBe(true);
  });

  it('loads every module, each reporting the kernel tier it really runs and its threads', async () => {
    for (const v of variants) {
      const backend = await loadWasmBackend({ simd: v.simd, threads: v.threads });
      expect(backend.name).toBe('wasm');
      expect(backend.isa).toBe(v.isa);
      expect(wasmTesting.source(backend).endsWith(v.file)).toBe(true);
      // The async loader resolves once the workers have joined.
      expect(wasmTesting.threads(backend)).toBe(v.threads);
      expect(await loadWasmBackend({ simd: v.simd, threads: v.threads })).toBe(backend); // initialised once
    }
  });

  it('defaults to threaded SIMD on every core, RNNKIT_WASM_THREADS=1 / RNNKIT_WASM_SIMD=0 opt out, and the sync loader shares the instance', async () => {
    const threaded = await loadWasmBackend();
    expect(wasmTesting.source(threaded).endsWith('rnnkit-simd-threads.wasm')).toBe(true);
    expect(wasmTesting.threads(threaded)).toBe(Math.min(availableParallelism(), 16));
    expect(loadWasmBackendSync()).toBe(threaded);
    process.env.RNNKIT_WASM_THREADS = '1';
    const simd = await loadWasmBackend();
    expect(wasmTesting.source(simd).endsWith('rnnkit-simd.wasm')).toBe(true);
    expect(simd.isa).toBe('simd128');
    process.env.RNNKIT_WASM_SIMD = '0';
    const scalar = await loadWasmBackend();
    expect(scalar.isa).toBe('scalar');
    expect(loadWasmBackendSync()).toBe(scalar);
    delete process.env.RNNKIT_WASM_SIMD;
    expect(loadWasmBackendSync()).toBe(simd);
    delete process.env.RNNKIT_WASM_THREADS;
    expect(loadWasmBackendSync()).toBe(threaded);
  });

  it('falls back to the single-threaded module when the threaded one cannot load, unless threads were asked for', async () => {
    vi.resetModules(); // a module instance with nothing cached
    const fresh = await import('../ts/backend/wasm.js');
    const RealMemory = WebAssembly.Memory;
    const memory = vi.spyOn(WebAssembly, 'Memory').mockImplementation(function (d: WebAssembly.MemoryDescriptor) {
      if (d.shared) throw new RangeError('cannot reserve a 4 GiB shared memory here');
      return new RealMemory(d);
    } as unknown as () => WebAssembly.Memory);
    try {
      const b = await fresh.loadWasmBackend();
      expect(fresh.wasmTesting.source(b).endsWith('rnnkit-simd.wasm')).toBe(true);
      expect(fresh.loadWasmBackendSync()).toBe(b);
      const e = await fresh.loadWasmBackend({ threads: 2 }).catch((err: unknown) => err);
      expectError(() => {
        throw e;
      }, 'ERR_RNNKIT_UNSUPPORTED');
      expect((e as Error).message).toMatch(/rnnkit-simd-threads.wasm could not be instantiated: cannot reserve/);
    } finally {
      memory.mockRestore();
    }
  });

  it('the single-threaded modules import nothing; the threaded one only its memory', () => {
    for (const v of variants) {
      const bytes = readFileSync(new URL(`../build/${v.file}`, import.meta.url));
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
      expect(imports).toEqual(v.threads > 1 ? [{ module: 'env', name: 'memory', kind: 'memory' }] : []);
    }
  });

  it('rejects bad options, naming them', async () => {
    await expectRejection(loadWasmBackend({ simd: 'yes' as unknown as boolean }), 'ERR_RNNKIT_TYPE', 'simd');
    await expectRejection(loadWasmBackend({ threads: 0 }), 'ERR_RNNKIT_VALUE', 'threads');
    await expectRejection(loadWasmBackend({ threads: 1.5 }), 'ERR_RNNKIT_VALUE', 'threads');
    await expectRejection(loadWasmBackend({ simd: false, threads: 2 }), 'ERR_RNNKIT_VALUE', 'threads');
    process.env.RNNKIT_WASM_THREADS = 'many';
    await expectRejection(loadWasmBackend(), 'ERR_RNNKIT_VALUE', 'RNNKIT_WASM_THREADS');
  });
});

describe.each(variants)('$label', (v) => {
  let backend: Backend;
  const open: ModelHandle[] = [];

  function create(spec: string): ModelHandle {
    const m = backend.createModel(spec);
    open.push(m);
    return m;
  }

  beforeAll(async () => {
    backend = await loadWasmBackend({ simd: v.simd, threads: v.threads });
  });

  afterEach(() => {
    for (const m of open.splice(0)) m.dispose();
    // Every call frees what it allocated, on success and on error alike.
    expect(wasmTesting.liveBlocks(backend)).toBe(0);
    expect(backend.liveHandles()).toBe(0);
  });

  describe('errors cross with code and arg', () => {
    it('bad spec JSON', () => {
      expectError(() => create('{"blocks": ['), 'ERR_RNNKIT_FORMAT');
      const e = expectError(
        () => create(JSON.stringify({ blocks: [{ cell: 'lstm', input_size: 3, hidden_size: 0 }] })),
        'ERR_RNNKIT_VALUE',
        'spec.blocks[0].hidden_size',
      );
      expect(e).toBeInstanceOf(RangeError);
      expectError(() => create(JSON.stringify({ blocks: [{ cell: 'lstn', input_size: 3, hidden_size: 2 }] })), 'ERR_RNNKIT_VALUE', 'spec.blocks[0].cell');
      expectError(() => create(42 as unknown as string), 'ERR_RNNKIT_TYPE', 'spec');
      expect(backend.liveHandles()).toBe(0);
    });

    it('wrong argument types are TypeErrors naming the argument, before anything crosses', () => {
      const m = create(RNN_SPEC);
      const x = new Float32Array(2 * 3 * 3);
      const cases: [() => unknown, RnnkitErrorCode, string][] = [
        [() => m.forward(new Float64Array(18) as unknown as Float32Array, [2, 3, 3]), 'ERR_RNNKIT_TYPE', 'x'],
        [() => m.forward([1, 2, 3] as unknown as Float32Array, [1, 1, 3]), 'ERR_RNNKIT_TYPE', 'x'],
        [() => m.forward(x, 'abc' as unknown as [number, number, number]), 'ERR_RNNKIT_TYPE', 'xDims'],
        [() => m.forward(x, [2, 3] as unknown as [number, number, number]), 'ERR_RNNKIT_SHAPE', 'xDims'],
        [() => m.forward(x, [2, -3, 3]), 'ERR_RNNKIT_VALUE', 'xDims[1]'],
        [() => m.forward(x, [2, 3, 3], { states: [new Int32Array(8) as unknown as Float32Array] }), 'ERR_RNNKIT_TYPE', 'states[0]'],
        [() => m.forward(x, [2, 3, 3], { lengths: new Float32Array(2) as unknown as Int32Array }), 'ERR_RNNKIT_TYPE', 'lengths'],
        [() => m.forward(x, [2, 3, 3], { training: 1 as unknown as boolean }), 'ERR_RNNKIT_TYPE', 'training'],
        [() => m.forward(x, [2, 3, 3], 5 as unknown as object), 'ERR_RNNKIT_TYPE', 'opts'],
        [() => m.setParams(new Float64Array(4) as unknown as Float32Array), 'ERR_RNNKIT_TYPE', 'params'],
        [() => m.backward(null as unknown as Float32Array), 'ERR_RNNKIT_TYPE', 'dOutput'],
        [() => m.compile({ loss: 'mse' } as unknown as string), 'ERR_RNNKIT_TYPE', 'train'],
        [() => m.trainStep({ x, xDims: [2, 3, 3], y: new Float64Array(24) as unknown as Float32Array }), 'ERR_RNNKIT_TYPE', 'y'],
        [() => m.evaluate(undefined as unknown as never), 'ERR_RNNKIT_TYPE', 'batch'],
        [() => m.step(x, 1.5), 'ERR_RNNKIT_VALUE', 'batch'],
        [() => m.step(new Uint8Array(3) as unknown as Float32Array, 1), 'ERR_RNNKIT_TYPE', 'xT'],
      ];
      for (const [f, code, arg] of cases) expectError(f, code, arg);
    });

    it('shape and value errors come from the core with its argument names', () => {
      const m = create(RNN_SPEC);
      expectError(() => m.forward(new Float32Array(17), [2, 3, 3]), 'ERR_RNNKIT_SHAPE', 'x');
      expectError(() => m.forward(new Float32Array(18), [2, 3, 3], { states: [new Float32Array(3)] }), 'ERR_RNNKIT_SHAPE', 'states[0]');
      expectError(() => m.setParams(new Float32Array(3)), 'ERR_RNNKIT_SHAPE', 'params');
      expectError(() => m.compile('{"loss": "l1"}'), 'ERR_RNNKIT_VALUE', 'train.loss');
    });

    it('trainEpoch rejects (never throws synchronously) on bad options', async () => {
      const m = create(LSTM_SPEC);
      m.compile('{"loss": "mse", "optimizer": {"type": "sgd", "lr": 0.1}}');
      const data = { x: new Float32Array(3 * 2 * 2), xDims: [3, 2, 2] as [number, number, number], y: new Float32Array(3 * 2) };
      const opts = { batchSize: 2, shuffle: false, seed: 1, tbptt: 0 };
      const ds = backend.createDataset(data);
      await expectRejection(m.trainEpoch(ds, { ...opts, batchSize: 0 }), 'ERR_RNNKIT_VALUE', 'batchSize');
      await expectRejection(m.trainEpoch(ds, { ...opts, seed: -1 }), 'ERR_RNNKIT_VALUE', 'seed');
      await expectRejection(m.trainEpoch(ds, { ...opts, shuffle: 'no' as unknown as boolean }), 'ERR_RNNKIT_TYPE', 'shuffle');
      ds.dispose();
      ds.dispose(); // a second dispose is a no-op
      await expectRejection(m.trainEpoch(ds, opts), 'ERR_RNNKIT_DISPOSED', undefined);
      await expectRejection(m.trainEpoch(null as unknown as never, opts), 'ERR_RNNKIT_TYPE', 'dataset');
    });
  });

  describe('handles', () => {
    it('a disposed handle is ERR_RNNKIT_DISPOSED, a second dispose is a no-op, liveHandles returns to 0', () => {
      const a = backend.createModel(RNN_SPEC);
      const b = backend.createModel(LSTM_SPEC);
      expect(backend.liveHandles()).toBe(2);
      a.dispose();
      expect(a.disposed).toBe(true);
      expect(b.disposed).toBe(false);
      expect(backend.liveHandles()).toBe(1);
      a.dispose();
      expect(backend.liveHandles()).toBe(1);
      for (const f of [() => a.specJson(), () => a.getParams(), () => a.forward(new Float32Array(3), [1, 1, 3]), () => a.resetState()]) {
        expectError(f, 'ERR_RNNKIT_DISPOSED');
      }
      // The freed slot is reused by the next model with a new generation: `a` stays dead, `b` alive.
      const c = backend.createModel(RNN_SPEC);
      expectError(() => a.paramInfo(), 'ERR_RNNKIT_DISPOSED');
      expect(c.paramInfo().length).toBe(4);
      expect(JSON.parse(b.specJson()).blocks[0].cell).toBe('lstm');
      b.dispose();
      c.dispose();
      expect(backend.liveHandles()).toBe(0);
    });

    it('garbage-collected models are freed by the FinalizationRegistry', async () => {
      (() => {
        for (let i = 0; i < 5; i++) backend.createModel(RNN_SPEC);
      })();
      expect(backend.liveHandles()).toBe(5);
      for (let i = 0; i < 50 && backend.liveHandles() > 0; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(backend.liveHandles()).toBe(0);
    });
  });

  describe('a trap', () => {
    it('becomes ERR_RNNKIT_INTERNAL with the panic message, and the backend works again afterwards', () => {
      const before = create(RNN_SPEC);
      const e = expectError(() => wasmTesting.panic(backend), 'ERR_RNNKIT_INTERNAL');
      expect(e.message).toContain('deliberate panic');
      expect(e.cause).toBeInstanceOf(WebAssembly.RuntimeError);
      // Models of the dead instance are gone, and say so.
      expect(before.disposed).toBe(true);
      expectError(() => before.specJson(), 'ERR_RNNKIT_DISPOSED');
      before.dispose(); // no-op, no throw
      expect(backend.liveHandles()).toBe(0);
      // A fresh instance serves new models, with the same kernel tier.
      const after = create(RNN_SPEC);
      expect(backend.liveHandles()).toBe(1);
      expect(after.paramInfo().map((p) => p.name)).toEqual(['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']);
      expect(backend.isa).toBe(v.isa);
    });
  });

  describe('model calls', () => {
    it('paramInfo, getParams, setParams round trip', () => {
      const m = create(RNN_SPEC);
      const info = m.paramInfo();
      expect(info).toEqual([
        { name: 'weight_ih_l0', shape: [4, 3], offset: 0 },
        { name: 'weight_hh_l0', shape: [4, 4], offset: 12 },
        { name: 'bias_ih_l0', shape: [4], offset: 28 },
        { name: 'bias_hh_l0', shape: [4], offset: 32 },
      ]);
      const p = m.getParams();
      expect(p.length).toBe(36);
      // PyTorch default init: U(-1/sqrt(H), 1/sqrt(H)) = U(-0.5, 0.5); seeded, so not all equal.
      expect(p.every((w) => Math.abs(w) <= 0.5)).toBe(true);
      expect(new Set(p).size).toBeGreaterThan(30);
      const q = seeded(36, 11);
      m.setParams(q);
      expect(m.getParams()).toEqual(q);
      // getParams hands out a copy, never a view over wasm memory.
      m.getParams().fill(0);
      expect(m.getParams()).toEqual(q);
    });

    it('forward matches a float64 reference of nn.RNN(tanh), with h0 absent and present', () => {
      const m = create(RNN_SPEC);
      const params = seeded(36, 5);
      m.setParams(params);
      const dims = [2, 3, 3] as [number, number, number];
      const x = seeded(18, 9);
      const r = m.forward(x, dims);
      expect(r.outputDims).toEqual([2, 3, 4]);
      const ref = rnnTanhReference(params, x, dims, 4);
      expect(maxRelErr(r.output, ref.out)).toBeLessThan(TOL_FORWARD);
      expect(r.states.length).toBe(1); // an Elman layer carries h only
      expect(maxRelErr(r.states[0], ref.hN)).toBeLessThan(TOL_FORWARD);
      // Zero h0 is the default.
      const z = m.forward(x, dims, { states: [new Float32Array(8)] });
      expect(z.output).toEqual(r.output);
    });

    it('inputs that grow wasm memory cross intact (views are rebuilt after each allocation)', () => {
      const m = create(RNN_SPEC);
      const [B, T, I] = [1000, 700, 3]; // x: 8.4 MB, output: 11.2 MB, far beyond the initial memory
      const x = seeded(B * T * I, 6);
      const big = m.forward(x, [B, T, I]);
      expect(big.output.length).toBe(B * T * 4);
      // Row b of the batch equals that sequence run alone.
      for (const b of [0, 517, B - 1]) {
        const alone = m.forward(x.slice(b * T * I, (b + 1) * T * I), [1, T, I]);
        expect(maxRelErr(big.output.subarray(b * T * 4, (b + 1) * T * 4), alone.output)).toBeLessThan(TOL_FORWARD);
      }
    });

    it('backward gradients agree with central differences', () => {
      const m = create(RNN_SPEC);
      const params = seeded(36, 21);
      m.setParams(params);
      const dims = [2, 3, 3] as [number, number, number];
      const x = seeded(18, 4);
      const weights = seeded(24, 8); // non-uniform cotangent: L = Σ w·output
      const loss = (p: Float32Array, xs: Float32Array) => {
        m.setParams(p);
        const out = m.forward(xs, dims).output;
        return out.reduce((s, o, i) => s + o * weights[i], 0);
      };
      m.setParams(params);
      m.forward(x, dims, { training: true });
      const g = m.backward(weights);
      expect(g.grads.length).toBe(36);
      expect(g.dx.length).toBe(18);
      expect(g.dStates.map((d) => d.length)).toEqual([8]);
      const eps = 1e-2;
      for (const i of [0, 5, 13, 20, 29, 35]) {
        const plus = params.slice();
        const minus = params.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const fd = (loss(plus, x) - loss(minus, x)) / (2 * eps);
        expect(Math.abs(fd - g.grads[i]), `param ${i}`).toBeLessThan(TOL_FD * Math.max(1, Math.abs(fd)));
      }
      for (const i of [0, 7, 17]) {
        const plus = x.slice();
        const minus = x.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const fd = (loss(params, plus) - loss(params, minus)) / (2 * eps);
        expect(Math.abs(fd - g.dx[i]), `x ${i}`).toBeLessThan(TOL_FD * Math.max(1, Math.abs(fd)));
      }
    });

    it('step() streams the same outputs as a whole-sequence forward, and resetState restarts it', () => {
      const m = create(RNN_SPEC);
      const x = seeded(2 * 3 * 3, 2);
      const seq = m.forward(x, [2, 3, 3]).output; // [B=2, T=3, H=4]
      const run = () => {
        for (let t = 0; t < 3; t++) {
          const xt = new Float32Array(2 * 3);
          for (let b = 0; b < 2; b++) xt.set(x.subarray((b * 3 + t) * 3, (b * 3 + t) * 3 + 3), b * 3);
          const y = m.step(xt, 2);
          for (let b = 0; b < 2; b++) {
            expect(maxRelErr(y.subarray(b * 4, b * 4 + 4), seq.subarray((b * 3 + t) * 4, (b * 3 + t) * 4 + 4))).toBeLessThan(TOL_FORWARD);
          }
        }
      };
      run();
      m.resetState();
      run();
    });

    it('trains: trainStep lowers the loss, evaluate agrees, trainEpoch resolves to a finite loss and gradient norm', async () => {
      const m = create(LSTM_SPEC); // time-major [T=4, B=3, I=2], head: one unit per step
      m.compile('{"loss": "mse", "optimizer": {"type": "adam", "lr": 0.05}}');
      const x = seeded(4 * 3 * 2, 1);
      const y = new Float32Array(4 * 3).map((_, i) => x[2 * i] - x[2 * i + 1]); // learnable: x0 − x1 per step
      const batch = { x, xDims: [4, 3, 2] as [number, number, number], y };
      const first = m.evaluate(batch);
      expect(first).toBeGreaterThan(0);
      let last = first;
      for (let i = 0; i < 60; i++) last = m.trainStep(batch);
      expect(last).toBeLessThan(first * 0.5);
      // trainStep reports the loss before its update; evaluate sees the model after the last one.
      expect(m.evaluate(batch)).toBeLessThan(first * 0.5);
      const ds = backend.createDataset(batch);
      const epoch = await m.trainEpoch(ds, { batchSize: 2, shuffle: true, seed: 9, tbptt: 2 });
      expect(m.evaluateDataset(ds, 1).loss).toBeCloseTo(m.evaluate(batch), 5);
      ds.dispose();
      expect(Number.isFinite(epoch.loss)).toBe(true);
      expect(epoch.gradNorm).toBeGreaterThan(0);
    });

    it('the SIMD and scalar modules compute the same forward', async () => {
      const other = await loadWasmBackend({ simd: !v.simd });
      const a = create(LSTM_SPEC);
      const b = other.createModel(LSTM_SPEC);
      try {
        expect(b.getParams()).toEqual(a.getParams()); // same seed → same init
        const x = seeded(5 * 4 * 2, 3);
        const ra = a.forward(x, [5, 4, 2]);
        const rb = b.forward(x, [5, 4, 2]);
        expect(maxRelErr(ra.output, rb.output)).toBeLessThan(TOL_ISA);
        expect(maxRelErr(ra.states[0], rb.states[0])).toBeLessThan(TOL_ISA);
        expect(maxRelErr(ra.states[1], rb.states[1])).toBeLessThan(TOL_ISA);
      } finally {
        b.dispose();
      }
    });
  });
});

describe('threaded module', () => {
  /** Big enough that the recurrent and weight-gradient GEMMs split across threads (≥ 2^18 MACs per part). */
  const SPLIT_SPEC = (threads: number, bidirectional = false) =>
    JSON.stringify({ batch_first: true, seed: 5, threads, blocks: [{ cell: 'lstm', input_size: 32, hidden_size: 128, bidirectional }], head: { units: 4 } });
  const DIMS: [number, number, number] = [32, 6, 32];
  /** One sequence long enough that the two directions' forwards run at once (scan.rs `direction_parts`). */
  const BI_DIMS: [number, number, number] = [1, 40, 32];

  function bits(a: Float32Array): Uint32Array {
    return new Uint32Array(a.buffer, a.byteOffset, a.length);
  }

  /** Forward, then three Adam steps: outputs, losses and the trained weights, all as bits. */
  function run(backend: Backend, threads: number, bidirectional = false) {
    const m = backend.createModel(SPLIT_SPEC(threads, bidirectional));
    const dims = bidirectional ? BI_DIMS : DIMS;
    try {
      const x = seeded(dims[0] * dims[1] * dims[2], 11);
      const y = seeded(dims[0] * dims[1] * 4, 12); // the head runs at every step
      const out = m.forward(x, dims);
      m.compile(JSON.stringify({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } }));
      const losses = [0, 1, 2].map(() => m.trainStep({ x, xDims: dims, y }));
      return { output: bits(out.output), h: bits(out.states[0]), losses, params: bits(m.getParams()) };
    } finally {
      m.dispose();
    }
  }

  it('gives bit-identical forward and training results to the single-threaded module', async () => {
    const threaded = await loadWasmBackend({ threads: 2 });
    const single = await loadWasmBackend({ threads: 1 });
    expect(wasmTesting.threads(threaded)).toBe(2);
    const reference = run(single, 1);
    expect(run(threaded, 2)).toEqual(reference);
    expect(run(threaded, 0)).toEqual(reference);
    expect(run(threaded, 1)).toEqual(reference);
    // A bidirectional layer whose two directions run on two threads at once.
    expect(run(threaded, 2, true)).toEqual(run(single, 1, true));
  });

  it('a panic inside a parallel part fails the call (no hang), and a fresh instance gets its workers back', async () => {
    const backend = await loadWasmBackend({ threads: 2 });
    const e = expectError(() => wasmTesting.panic(backend, true), 'ERR_RNNKIT_INTERNAL');
    // Either the worker trapped (the caller then reports it) or the caller ran the part itself.
    expect(e.message).toMatch(/worker thread trapped|deliberate panic/);
    const m = backend.createModel(SPLIT_SPEC(0)); // a fresh instance, started synchronously
    m.dispose();
    await wasmTesting.threadsReady(backend);
    expect(wasmTesting.threads(backend)).toBe(2);
    expect(run(backend, 2)).toEqual(run(await loadWasmBackend({ threads: 1 }), 1));
    expect(wasmTesting.liveBlocks(backend)).toBe(0);
  });
});
