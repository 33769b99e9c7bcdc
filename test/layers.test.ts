/**
 * Recurrent layers (ts/layers/recurrent.ts and its kinds) and backend selection (ts/backend/select.ts). Option validation
 * needs no backend; everything else runs once per backend (native, wasm), skipping — visibly, with
 * the reason in the suite name — a backend whose build output is missing. Selection logic is tested
 * with fake loaders in fresh module instances, so it needs no build at all.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Dense,
  GRU,
  liveHandles,
  LSTM,
  randn,
  RNN,
  setBackend,
  tensor,
  zeros,
  type Backend,
  type BackendName,
  type Tensor,
} from '../ts/index.js';
import { skipReason } from './helpers/backends.js';
import { rejected, thrown } from './helpers/errors.js';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

// ---- option validation (no backend) -------------------------------------------------------------------

describe('layer options', () => {
  const cases: [string, () => unknown, string, string][] = [
    ['missing hiddenSize', () => new LSTM({ inputSize: 3 } as never), 'ERR_RNNKIT_VALUE', 'options.hiddenSize'],
    ['zero hiddenSize', () => new LSTM({ inputSize: 3, hiddenSize: 0 }), 'ERR_RNNKIT_VALUE', 'options.hiddenSize'],
    ['fractional hiddenSize', () => new GRU({ inputSize: 3, hiddenSize: 2.5 }), 'ERR_RNNKIT_VALUE', 'options.hiddenSize'],
    ['string hiddenSize', () => new GRU({ inputSize: 3, hiddenSize: '8' as never }), 'ERR_RNNKIT_TYPE', 'options.hiddenSize'],
    ['negative inputSize', () => new RNN({ inputSize: -1, hiddenSize: 4 }), 'ERR_RNNKIT_VALUE', 'options.inputSize'],
    ['zero numLayers', () => new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 0 }), 'ERR_RNNKIT_VALUE', 'options.numLayers'],
    ['dropout 1', () => new LSTM({ inputSize: 3, hiddenSize: 4, dropout: 1 }), 'ERR_RNNKIT_VALUE', 'options.dropout'],
    ['dropout NaN', () => new LSTM({ inputSize: 3, hiddenSize: 4, dropout: NaN }), 'ERR_RNNKIT_VALUE', 'options.dropout'],
    ['bias as number', () => new GRU({ inputSize: 3, hiddenSize: 4, bias: 1 as never }), 'ERR_RNNKIT_TYPE', 'options.bias'],
    ['batchFirst as string', () => new GRU({ inputSize: 3, hiddenSize: 4, batchFirst: 'yes' as never }), 'ERR_RNNKIT_TYPE', 'options.batchFirst'],
    ['bad nonlinearity', () => new RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'gelu' as never }), 'ERR_RNNKIT_VALUE', 'options.nonlinearity'],
    ['orthogonal input weights', () => new RNN({ inputSize: 3, hiddenSize: 4, weightInit: 'orthogonal' as never }), 'ERR_RNNKIT_VALUE', 'options.weightInit'],
    ['bad recurrentInit', () => new LSTM({ inputSize: 3, hiddenSize: 4, recurrentInit: 'zeros' as never }), 'ERR_RNNKIT_VALUE', 'options.recurrentInit'],
    ['negative seed', () => new LSTM({ inputSize: 3, hiddenSize: 4, seed: -2 }), 'ERR_RNNKIT_VALUE', 'options.seed'],
    ['snake_case option', () => new LSTM({ inputSize: 3, hidden_size: 4 } as never), 'ERR_RNNKIT_VALUE', 'options.hidden_size'],
    ['nonlinearity on an LSTM', () => new LSTM({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu' } as never), 'ERR_RNNKIT_VALUE', 'options.nonlinearity'],
    ['options not an object', () => new GRU(undefined as never), 'ERR_RNNKIT_TYPE', 'options'],
    ['Dense without units', () => new Dense({} as never), 'ERR_RNNKIT_VALUE', 'options.units'],
    ['Dense bad activation', () => new Dense({ units: 2, activation: 'swish' as never }), 'ERR_RNNKIT_VALUE', 'options.activation'],
    ['Dense misspelt returnSequences', () => new Dense({ units: 2, returnSequenc8s: false } as never), 'ERR_RNNKIT_VALUE', 'options.returnSequenc8s'],
  ];
  it.each(cases)('%s → %s on %s', (_name, make, code, arg) => {
    const e = thrown(make);
    expect(e.code).toBe(code);
    expect(e.arg).toBe(arg);
    expect(e.message).toContain(arg);
  });

  it('serialises the options given as the core config ({type, config}, snake_case); defaults are the core\'s', () => {
    const l = new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true, seed: 2 });
    expect(l.toJSON()).toEqual({ type: 'LSTM', config: { input_size: 3, hidden_size: 4 } });
    expect(new RNN({ hiddenSize: 2, nonlinearity: 'relu' }).toJSON()).toEqual({ type: 'RNN', config: { hidden_size: 2, nonlinearity: 'relu' } });
    // The standalone options are the layer's, not the config's.
    expect([l.batchFirst, l.seed, l.threads]).toEqual([true, 2, 0]);
  });

  it('builds the standalone spec: this layer alone, with its batchFirst, seed and threads', () => {
    const g = new GRU({ hiddenSize: 8, numLayers: 2, bidirectional: true, dropout: 0.25, recurrentInit: 'orthogonal', threads: 2 });
    expect(g.toModelSpec()).toEqual({
      batch_first: false,
      seed: 0,
      threads: 2,
      layers: [{ type: 'GRU', config: { hidden_size: 8, num_layers: 2, bidirectional: true, dropout: 0.25, recurrent_init: 'orthogonal' } }],
    });
  });

  it('Dense returnSequences: false stands for LastStep + Dense in a spec', () => {
    expect(new Dense({ units: 2, returnSequences: false }).specLayers()).toEqual([
      { type: 'LastStep', config: {} },
      { type: 'Dense', config: { units: 2 } },
    ]);
    expect(new Dense({ units: 2 }).specLayers()).toEqual([{ type: 'Dense', config: { units: 2 } }]);
  });
});

// ---- backend selection (fake loaders, fresh module state per test) ------------------------------------

describe('backend selection', () => {
  type SelectModule = typeof import('../ts/backend/select.js');
  const savedEnv = process.env.RNNKIT_BACKEND;

  function fakeBackend(name: BackendName): Backend {
    return { name, isa: 'fake', threads: () => 3, liveHandles: () => 0, createModel: () => { throw new Error('fake'); }, createDataset: () => { throw new Error('fake'); } };
  }
  async function freshSelect(native: () => Backend, wasm: () => Backend): Promise<{ sel: SelectModule; calls: Record<BackendName, number> }> {
    vi.resetModules();
    const sel = (await import('../ts/backend/select.js')) as SelectModule;
    const calls = { native: 0, wasm: 0 };
    const count = (name: BackendName, f: () => Backend) => () => {
      calls[name]++;
      return f();
    };
    sel.registerBackendLoader('native', { load: async () => count('native', native)(), loadSync: count('native', native) });
    sel.registerBackendLoader('wasm', { load: async () => count('wasm', wasm)(), loadSync: count('wasm', wasm) });
    return { sel, calls };
  }
  const fail = (msg: string) => (): Backend => {
    throw new Error(msg);
  };

  afterAll(() => {
    if (savedEnv === undefined) delete process.env.RNNKIT_BACKEND;
    else process.env.RNNKIT_BACKEND = savedEnv;
    vi.resetModules();
  });

  it('tries native, then wasm, and remembers the native failure', async () => {
    delete process.env.RNNKIT_BACKEND;
    const { sel, calls } = await freshSelect(fail('no addon'), () => fakeBackend('wasm'));
    expect((await sel.ready()).name).toBe('wasm');
    expect(sel.backendInfo()).toEqual({ name: 'wasm', isa: 'fake', threads: 3 });
    const e = await rejected(sel.setBackend('native'));
    expect(e.code).toBe('ERR_RNNKIT_UNSUPPORTED');
    expect(e.message).toContain('[native] no addon');
    expect((e.cause as Error).message).toBe('[native] no addon');
    expect(calls).toEqual({ native: 1, wasm: 1 }); // each initialised (or failed) once
  });

  it('lists every failure with its cause when nothing loads', async () => {
    delete process.env.RNNKIT_BACKEND;
    const { sel } = await freshSelect(fail('no addon'), fail('no module'));
    const e = await rejected(sel.ready());
    expect(e.code).toBe('ERR_RNNKIT_UNSUPPORTED');
    expect(e.message).toContain('[native] no addon');
    expect(e.message).toContain('[wasm] no module');
    expect(e.cause).toBeInstanceOf(AggregateError);
    const sync = thrown(() => sel.getBackend());
    expect(sync.code).toBe('ERR_RNNKIT_UNSUPPORTED');
  });

  it('getBackend initialises synchronously in Node, and setBackend switches', async () => {
    delete process.env.RNNKIT_BACKEND;
    const { sel, calls } = await freshSelect(() => fakeBackend('native'), () => fakeBackend('wasm'));
    expect(sel.getBackend().name).toBe('native');
    await sel.setBackend('wasm');
    expect(sel.getBackend().name).toBe('wasm');
    await sel.setBackend('native');
    expect(calls).toEqual({ native: 1, wasm: 1 });
  });

  it('getBackend() while the default is still initialising asks to await ready() instead of picking another', async () => {
    delete process.env.RNNKIT_BACKEND;
    vi.resetModules();
    const sel = (await import('../ts/backend/select.js')) as SelectModule;
    let release: (b: Backend) => void = () => undefined;
    sel.registerBackendLoader('native', { load: () => new Promise<Backend>((r) => (release = r)), loadSync: () => fakeBackend('native') });
    sel.registerBackendLoader('wasm', { load: async () => fakeBackend('wasm'), loadSync: () => fakeBackend('wasm') });
    const pending = sel.ready();
    await Promise.resolve();
    await Promise.resolve();
    const e = thrown(() => sel.getBackend());
    expect(e.code).toBe('ERR_RNNKIT_UNSUPPORTED');
    expect(e.message).toContain('await ready()');
    release(fakeBackend('native'));
    expect((await pending).name).toBe('native');
    expect(sel.getBackend().name).toBe('native');
  });

  it('RNNKIT_BACKEND overrides the order and is validated', async () => {
    process.env.RNNKIT_BACKEND = 'wasm';
    let { sel, calls } = await freshSelect(() => fakeBackend('native'), () => fakeBackend('wasm'));
    expect((await sel.ready()).name).toBe('wasm');
    expect(calls.native).toBe(0);
    process.env.RNNKIT_BACKEND = 'native';
    ({ sel } = await freshSelect(() => fakeBackend('native'), fail('unused')));
    expect(sel.getBackend().name).toBe('native');
    process.env.RNNKIT_BACKEND = 'cuda';
    ({ sel } = await freshSelect(() => fakeBackend('native'), () => fakeBackend('wasm')));
    const e = await rejected(sel.ready());
    expect(e.code).toBe('ERR_RNNKIT_VALUE');
    expect(e.arg).toBe('RNNKIT_BACKEND');
    delete process.env.RNNKIT_BACKEND;
  });

  it('setBackend rejects unknown names', async () => {
    const { sel } = await freshSelect(() => fakeBackend('native'), () => fakeBackend('wasm'));
    const e = await rejected(sel.setBackend('gpu' as BackendName));
    expect(e.code).toBe('ERR_RNNKIT_VALUE');
  });

  it('the browser entry never imports node:* modules, directly or transitively', () => {
    // Follows every static import/export-from and every dynamic import with a literal specifier
    // (what a bundler follows); specifiers hidden in variables are invisible to bundlers too.
    const seen = new Set<string>();
    const nodeImports: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
      // `import type` / `export type` and `typeof import('…')` are erased by TypeScript: not followed.
      const specs = [
        ...src.matchAll(/\b(?:import|export)\s+(?!type\s)[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g),
        ...src.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
        ...src.matchAll(/(?<!typeof\s+)\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]);
      for (const spec of specs) {
        if (spec.startsWith('node:') || ['fs', 'path', 'module', 'url', 'os', 'crypto', 'worker_threads'].includes(spec)) {
          nodeImports.push(`${file.slice(root('').length)} imports ${spec}`);
        } else if (spec.startsWith('.')) {
          visit(fileURLToPath(new URL(spec.replace(/\.js$/, '.ts'), `file://${file}`)));
        }
      }
    };
    visit(root('ts/index.browser.ts'));
    expect(seen.size).toBeGreaterThan(5);
    expect(nodeImports).toEqual([]);
  });

  it('browser mode: wasm only, and getBackend() before ready() says to await ready()', async () => {
    delete process.env.RNNKIT_BACKEND;
    const { sel, calls } = await freshSelect(() => fakeBackend('native'), () => fakeBackend('wasm'));
    sel.useBrowserBackends();
    const e = thrown(() => sel.getBackend());
    expect(e.code).toBe('ERR_RNNKIT_UNSUPPORTED');
    expect(e.message).toContain('await ready()');
    const n = await rejected(sel.setBackend('native'));
    expect(n.code).toBe('ERR_RNNKIT_UNSUPPORTED');
    expect((await sel.ready()).name).toBe('wasm');
    expect(sel.getBackend().name).toBe('wasm');
    expect(calls.native).toBe(0);
  });
});

// ---- per-backend behaviour ------------------------------------------------------------------------

const SEQ = 5;
const BATCH = 3;
const INPUT = 4;

describe.each(['native', 'wasm'] as const)('%s backend', (name) => {
  const reason = skipReason(name);
  describe.skipIf(reason !== undefined)(`layers on ${name}${reason ? ` — ${reason}` : ''}`, () => {
    beforeAll(async () => {
      await setBackend(name);
    });

    const x = randn([SEQ, BATCH, INPUT], { seed: 1 });

    it('LSTM 2-layer bidirectional: output, h and c shapes', () => {
      const lstm = new LSTM({ inputSize: INPUT, hiddenSize: 6, numLayers: 2, bidirectional: true, seed: 3 });
      const { output, h, c } = lstm.forward(x);
      expect(lstm.backendName).toBe(name);
      expect(output.shape).toEqual([SEQ, BATCH, 12]);
      expect(h.shape).toEqual([4, BATCH, 6]);
      expect(c.shape).toEqual([4, BATCH, 6]);
      expect(output.toArray().every(Number.isFinite)).toBe(true);
      lstm.dispose();
    });

    it('GRU batchFirst: output [batch, seq, H]; h equals the last output step', () => {
      const gru = new GRU({ inputSize: INPUT, hiddenSize: 5, batchFirst: true, seed: 4 });
      const xb = randn([BATCH, SEQ, INPUT], { seed: 2 });
      const res = gru.forward(xb);
      expect(res.output.shape).toEqual([BATCH, SEQ, 5]);
      expect(res.h.shape).toEqual([1, BATCH, 5]);
      expect('c' in res).toBe(false);
      for (let b = 0; b < BATCH; b++) {
        const last = Array.from(res.output.data.subarray((b * SEQ + SEQ - 1) * 5, (b * SEQ + SEQ) * 5));
        expect(Array.from(res.h.data.subarray(b * 5, b * 5 + 5))).toEqual(last);
      }
      gru.dispose();
    });

    it('lengths: outputs past a length are zero and h is the state at the last valid step', () => {
      const rnn = new RNN({ inputSize: INPUT, hiddenSize: 3, nonlinearity: 'relu', seed: 5 });
      const lengths = [5, 2, 1];
      const { output, h } = rnn.forward(x, { lengths: tensor(lengths, [3], 'int32') });
      const H = 3;
      for (let b = 0; b < BATCH; b++) {
        for (let t = 0; t < SEQ; t++) {
          const row = Array.from(output.data.subarray((t * BATCH + b) * H, (t * BATCH + b + 1) * H));
          if (t >= lengths[b]) expect(row).toEqual([0, 0, 0]);
          if (t === lengths[b] - 1) expect(Array.from(h.data.subarray(b * H, b * H + H))).toEqual(row);
        }
      }
      rnn.dispose();
    });

    it('initial states change the result', () => {
      const lstm = new LSTM({ inputSize: INPUT, hiddenSize: 2, seed: 6 });
      const a = lstm.forward(x).output.toArray();
      const b = lstm.forward(x, { h0: randn([1, BATCH, 2], { seed: 9 }), c0: randn([1, BATCH, 2], { seed: 10 }) }).output.toArray();
      expect(b).not.toEqual(a);
      lstm.dispose();
    });

    it('infers inputSize from the first input when it was omitted', () => {
      const gru = new GRU({ hiddenSize: 2 });
      expect(gru.forward(x).output.shape).toEqual([SEQ, BATCH, 2]);
      expect(gru.info().config.input_size).toBe(INPUT);
      expect(thrown(() => gru.forward(randn([SEQ, BATCH, INPUT + 1]))).code).toBe('ERR_RNNKIT_SHAPE');
      gru.dispose();
    });

    describe('forward argument errors', () => {
      const lstm = new LSTM({ inputSize: INPUT, hiddenSize: 2 });
      const gru = new GRU({ inputSize: INPUT, hiddenSize: 2 });
      afterAll(() => {
        lstm.dispose();
        gru.dispose();
      });
      const cases: [string, () => unknown, string, string][] = [
        ['2-D x', () => lstm.forward(zeros([SEQ, INPUT]) as never), 'ERR_RNNKIT_SHAPE', 'x'],
        ['int32 x', () => lstm.forward(zeros([SEQ, BATCH, INPUT], 'int32') as never), 'ERR_RNNKIT_TYPE', 'x'],
        ['Float32Array x', () => lstm.forward(new Float32Array(60) as never), 'ERR_RNNKIT_TYPE', 'x'],
        ['wrong input size', () => lstm.forward(zeros([SEQ, BATCH, INPUT + 1])), 'ERR_RNNKIT_SHAPE', 'x'],
        ['h0 batch mismatch', () => lstm.forward(x, { h0: zeros([1, BATCH + 1, 2]) }), 'ERR_RNNKIT_SHAPE', 'h0'],
        ['h0 rows mismatch', () => lstm.forward(x, { h0: zeros([2, BATCH, 2]) }), 'ERR_RNNKIT_SHAPE', 'h0'],
        ['c0 hidden mismatch', () => lstm.forward(x, { c0: zeros([1, BATCH, 3]) }), 'ERR_RNNKIT_SHAPE', 'c0'],
        ['c0 on a GRU', () => gru.forward(x, { c0: zeros([1, BATCH, 2]) } as never), 'ERR_RNNKIT_VALUE', 'opts.c0'],
        ['lengths count', () => gru.forward(x, { lengths: [1, 2] }), 'ERR_RNNKIT_SHAPE', 'lengths'],
        ['lengths zero', () => gru.forward(x, { lengths: [1, 0, 2] }), 'ERR_RNNKIT_VALUE', 'lengths[1]'],
        ['lengths past seqLen', () => gru.forward(x, { lengths: [1, 2, SEQ + 1] }), 'ERR_RNNKIT_VALUE', 'lengths[2]'],
        ['float lengths tensor', () => gru.forward(x, { lengths: tensor([1, 2, 3], [3]) as never }), 'ERR_RNNKIT_TYPE', 'lengths'],
        ['training not boolean', () => gru.forward(x, { training: 1 as never }), 'ERR_RNNKIT_TYPE', 'training'],
      ];
      it.each(cases)('%s → %s on %s', (_n, run, code, arg) => {
        const e = thrown(run);
        expect(e.code).toBe(code);
        expect(e.arg).toBe(arg);
      });

      it('non-finite input is rejected by the core, not propagated', () => {
        const bad = randn([SEQ, BATCH, INPUT]);
        bad.data[7] = NaN;
        expect(thrown(() => gru.forward(bad)).code).toBe('ERR_RNNKIT_VALUE');
      });
    });

    it('stateDict: PyTorch names and shapes for a 2-layer bidirectional LSTM', () => {
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true });
      const sd = lstm.stateDict();
      const expected: [string, number[]][] = [];
      for (const l of [0, 1]) {
        for (const sfx of ['', '_reverse']) {
          const inp = l === 0 ? 3 : 10;
          expected.push([`weight_ih_l${l}${sfx}`, [20, inp]], [`weight_hh_l${l}${sfx}`, [20, 5]], [`bias_ih_l${l}${sfx}`, [20]], [`bias_hh_l${l}${sfx}`, [20]]);
        }
      }
      expect(Object.entries(sd).map(([k, v]) => [k, [...v.shape]])).toEqual(expected);
      expect(Object.values(sd).reduce((n, t) => n + t.size, 0)).toBe(lstm.numParameters);
      // PyTorch's default init: every value in U(-1/√H, 1/√H).
      const bound = 1 / Math.sqrt(5);
      for (const t of Object.values(sd)) expect(t.toArray().every((v) => Math.abs(v) <= bound)).toBe(true);
      // A copy: changing it leaves the model alone.
      sd.weight_ih_l0.data.fill(0);
      expect(lstm.stateDict().weight_ih_l0.toArray().some((v) => v !== 0)).toBe(true);
      lstm.dispose();
    });

    it('parameter counts and canonical configs come from the core', () => {
      // nn.LSTM(3, 5, num_layers=2, bidirectional=True): 2·(20·3 + 20·5 + 40) + 2·(20·10 + 20·5 + 40)
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true });
      expect(lstm.numParameters).toBe(1080);
      expect(lstm.info()).toMatchObject({ type: 'LSTM', input: { kind: 'sequence', features: 3 }, output: { kind: 'sequence', features: 10 } });
      expect(lstm.info().config).toMatchObject({ input_size: 3, hidden_size: 5, num_layers: 2, bias: true, dropout: 0 });
      // nn.GRU(4, 6, bias=False): 18·4 + 18·6
      const gru = new GRU({ inputSize: 4, hiddenSize: 6, bias: false });
      expect(gru.numParameters).toBe(180);
      lstm.dispose();
      gru.dispose();
    });

    it('bias: false drops the bias tensors', () => {
      const gru = new GRU({ inputSize: 3, hiddenSize: 2, bias: false });
      expect(Object.keys(gru.stateDict())).toEqual(['weight_ih_l0', 'weight_hh_l0']);
      gru.dispose();
    });

    it('the same seed gives the same weights; another seed differs', () => {
      const a = new GRU({ inputSize: 3, hiddenSize: 4, seed: 11 });
      const b = new GRU({ inputSize: 3, hiddenSize: 4, seed: 11 });
      const c = new GRU({ inputSize: 3, hiddenSize: 4, seed: 12 });
      expect(a.stateDict().weight_hh_l0.toArray()).toEqual(b.stateDict().weight_hh_l0.toArray());
      expect(a.stateDict().weight_hh_l0.toArray()).not.toEqual(c.stateDict().weight_hh_l0.toArray());
      for (const l of [a, b, c]) l.dispose();
    });

    describe('loadStateDict', () => {
      const make = (seed: number) => new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, seed });

      it('round trip: stateDict → loadStateDict reproduces outputs exactly', () => {
        const a = make(1);
        const b = make(2);
        const xi = randn([4, 2, 3], { seed: 8 });
        expect(b.forward(xi).output.toArray()).not.toEqual(a.forward(xi).output.toArray());
        b.loadStateDict(a.stateDict());
        expect(b.forward(xi).output.toArray()).toEqual(a.forward(xi).output.toArray());
        // Float32Arrays work as well as Tensors.
        const raw = Object.fromEntries(Object.entries(make(3).stateDict()).map(([k, v]) => [k, v.data]));
        b.loadStateDict(raw);
        expect(b.stateDict().weight_hh_l1.toArray()).toEqual(Array.from(raw.weight_hh_l1));
        a.dispose();
        b.dispose();
      });

      it('names the key on unknown, missing, wrong-size, wrong-shape, wrong-type and non-finite entries', () => {
        const m = make(1);
        const sd = m.stateDict();
        const before = JSON.stringify(Object.values(sd).map((t) => t.toArray()));
        const withOut = (key: string) => Object.fromEntries(Object.entries(sd).filter(([k]) => k !== key));
        const cases: [string, Record<string, Float32Array | Tensor>, string, string][] = [
          ['unknown key', { ...sd, weight_ih_l9: new Float32Array(24) }, 'ERR_RNNKIT_VALUE', 'weight_ih_l9'],
          ['missing key', withOut('bias_hh_l1'), 'ERR_RNNKIT_VALUE', 'bias_hh_l1'],
          ['wrong size', { ...sd, weight_hh_l0: new Float32Array(15) }, 'ERR_RNNKIT_SHAPE', 'weight_hh_l0'],
          ['wrong shape, right size', { ...sd, weight_hh_l0: sd.weight_hh_l0.reshape([2, 8]) }, 'ERR_RNNKIT_SHAPE', 'weight_hh_l0'],
          ['int32 tensor', { ...sd, bias_ih_l0: zeros([8], 'int32') as never }, 'ERR_RNNKIT_TYPE', 'bias_ih_l0'],
          ['plain array', { ...sd, bias_ih_l0: new Array(8).fill(0) as never }, 'ERR_RNNKIT_TYPE', 'bias_ih_l0'],
          ['NaN', { ...sd, bias_ih_l1: new Float32Array(8).fill(NaN) }, 'ERR_RNNKIT_VALUE', 'bias_ih_l1'],
          ['Infinity', { ...sd, weight_ih_l1: tensor(new Float32Array(16).fill(Infinity), [8, 2]) }, 'ERR_RNNKIT_VALUE', 'weight_ih_l1'],
        ];
        for (const [what, dict, code, arg] of cases) {
          const e = thrown(() => m.loadStateDict(dict));
          expect(e.code, what).toBe(code);
          expect(e.arg, what).toBe(arg);
        }
        // Nothing was written by any failed call.
        expect(JSON.stringify(Object.values(m.stateDict()).map((t) => t.toArray()))).toBe(before);
        m.dispose();
      });

      it('strict: false loads a subset and keeps the rest', () => {
        const m = make(1);
        const before = m.stateDict();
        m.loadStateDict({ bias_hh_l0: new Float32Array(8).fill(0.5) }, { strict: false });
        const after = m.stateDict();
        expect(after.bias_hh_l0.toArray()).toEqual(new Array(8).fill(0.5));
        expect(after.weight_ih_l0.toArray()).toEqual(before.weight_ih_l0.toArray());
        m.dispose();
      });
    });

    describe('backward', () => {
      it('needs a training forward first', () => {
        const gru = new GRU({ inputSize: INPUT, hiddenSize: 2 });
        expect(thrown(() => gru.backward(zeros([SEQ, BATCH, 2]))).code).toBe('ERR_RNNKIT_VALUE');
        gru.forward(x, { training: true });
        gru.forward(x); // an inference forward replaces it
        expect(thrown(() => gru.backward(zeros([SEQ, BATCH, 2]))).code).toBe('ERR_RNNKIT_VALUE');
        gru.dispose();
      });

      it('returns dx, dh0, dc0 and grads under the stateDict names and shapes', () => {
        const lstm = new LSTM({ inputSize: INPUT, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 2 });
        const { output } = lstm.forward(x, { training: true });
        const g = lstm.backward(randn(output.shape, { seed: 4 }), { dh: randn([4, BATCH, 3], { seed: 5 }) });
        expect(g.dx.shape).toEqual([SEQ, BATCH, INPUT]);
        expect(g.dh0.shape).toEqual([4, BATCH, 3]);
        expect(g.dc0.shape).toEqual([4, BATCH, 3]);
        const sd = lstm.stateDict();
        expect(Object.keys(g.grads)).toEqual(Object.keys(sd));
        for (const k of Object.keys(sd)) expect(g.grads[k].shape, k).toEqual(sd[k].shape);
        expect(g.grads.weight_hh_l1_reverse.toArray().some((v) => v !== 0)).toBe(true);
        expect(thrown(() => lstm.backward(zeros([SEQ, BATCH, 5]))).arg).toBe('dOutput');
        expect(thrown(() => lstm.backward(output, { dc: zeros([4, BATCH + 1, 3]) })).arg).toBe('dc');
        lstm.dispose();
      });

      it('dx matches central differences of sum(w ⊙ output)', () => {
        // f32 forward passes: eps 1e-2 keeps rounding noise (~1e-7/1e-2) far below the 2e-3 tolerance,
        // while the O(eps²) truncation error of a smooth GRU stays below it too.
        const gru = new GRU({ inputSize: 2, hiddenSize: 3, seed: 7 });
        const xi = randn([3, 2, 2], { seed: 3 });
        const w = randn([3, 2, 3], { seed: 6 });
        const f = (xx: Tensor<'float32'>) => {
          const o = gru.forward(xx.reshape([3, 2, 2])).output.data;
          return o.reduce((s, v, i) => s + v * w.data[i], 0);
        };
        gru.forward(xi, { training: true });
        const { dx } = gru.backward(w);
        for (const i of [0, 3, 5, 11]) {
          const plus = new Float32Array(xi.data);
          const minus = new Float32Array(xi.data);
          plus[i] += 1e-2;
          minus[i] -= 1e-2;
          const fd = (f(tensor(plus, [12])) - f(tensor(minus, [12]))) / 2e-2;
          expect(Math.abs(dx.data[i] - fd), `dx[${i}]`).toBeLessThan(2e-3);
        }
        gru.dispose();
      });
    });

    it('dispose frees the model; later use throws ERR_RNNKIT_DISPOSED', () => {
      const gru = new GRU({ inputSize: INPUT, hiddenSize: 2 });
      gru.forward(x);
      const live = liveHandles();
      gru.dispose();
      expect(liveHandles()).toBe(live - 1);
      gru.dispose(); // no-op
      expect(liveHandles()).toBe(live - 1);
      for (const use of [() => gru.forward(x), () => gru.stateDict(), () => gru.loadStateDict({}, { strict: false }), () => gru.backward(x)]) {
        expect(thrown(use).code).toBe('ERR_RNNKIT_DISPOSED');
      }
      // A layer disposed before ever allocating is disposed too.
      const never = new LSTM({ inputSize: 1, hiddenSize: 1 });
      never.dispose();
      expect(thrown(() => never.stateDict()).code).toBe('ERR_RNNKIT_DISPOSED');
    });
  });
});

describe.skipIf(skipReason('native') !== undefined || skipReason('wasm') !== undefined)('across backends', () => {
  it('a layer keeps the backend it was created on, and both backends agree', async () => {
    await setBackend('native');
    const a = new LSTM({ inputSize: INPUT, hiddenSize: 4, seed: 21 });
    const x = randn([SEQ, BATCH, INPUT], { seed: 22 });
    const outA = a.forward(x).output;
    await setBackend('wasm');
    expect(a.backendName).toBe('native');
    const b = new LSTM({ inputSize: INPUT, hiddenSize: 4, seed: 21 });
    expect(b.stateDict().weight_ih_l0.toArray()).toEqual(a.stateDict().weight_ih_l0.toArray());
    const outB = b.forward(x).output;
    expect(b.backendName).toBe('wasm');
    // FMA (native) vs mul+add (wasm) rounding only: 1e-5 relative, per the issue.
    outA.data.forEach((v, i) => expect(Math.abs(v - outB.data[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
    a.dispose();
    b.dispose();
  });
});
