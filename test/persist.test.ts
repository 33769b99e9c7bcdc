/**
 * Safetensors encode/decode (exact round trips, every malformed-file case → ERR_RNNKIT_FORMAT), the
 * atomic file write (no tmp files left, an existing file survives a failed write), and Sequential
 * save → load / toBytes → fromBytes on each backend giving identical predictions.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Dense, GRU, LSTM, randn, Sequential, setBackend, tensor } from '../ts/index.js';
import { writeFileAtomic } from '../ts/persist-node.js';
import { decodeSafetensors, encodeSafetensors, RNNKIT_VERSION, type NamedTensor } from '../ts/persist.js';
import { backendsFor } from './helpers/backends.js';
import { thrown } from './helpers/errors.js';

// Failure injection for the atomic-write test: fsync of a tmp file fails while `inject.failSync` is set.
const inject = vi.hoisted(() => ({ failSync: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof orig.open = async (...args) => {
    const fh = await orig.open(...args);
    if (inject.failSync) {
      fh.sync = async () => {
        throw Object.assign(new Error('EIO: injected fsync failure'), { code: 'EIO' });
      };
    }
    return fh;
  };
  return { ...orig, default: { ...orig, open }, open };
});

// ---- helpers ------------------------------------------------------------------------------------

/** A safetensors file from a raw header object and data bytes (the header is not padded). */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectFormatError(fn: () => unknown, pattern: RegExp): void {
  const e = thrown(fn);
  expect(e, 'expected an ERR_RNNKIT_FORMAT error').toBeInstanceOf(Error);
  expect(e.code).toBe('ERR_RNNKIT_FORMAT');
  expect(e.message).toMatch(pattern);
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const SAMPLE: NamedTensor[] = [
  { name: 'weight_ih_l0', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) / 7) },
  // -0, the smallest subnormal, the largest finite float32, and an awkward fraction: bit-exact or bust.
  { name: 'special', shape: [4], data: new Float32Array([-0, 1.401298464324817e-45, 3.4028234663852886e38, 0.1]) },
  { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
  { name: 'scalar', shape: [], data: new Float32Array([42]) },
];

// ---- encode / decode ------------------------------------------------------------------------------

describe('safetensors encode/decode', () => {
  it('round trips names, shapes, values bit-exactly and metadata; re-encoding gives the same bytes', () => {
    const meta = { format: 'rnnkit', note: 'ünïcödé ✓' };
    const bytes = encodeSafetensors(SAMPLE, meta);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual(meta);
    expect(tensors.map((t) => t.name)).toEqual(SAMPLE.map((t) => t.name));
    tensors.forEach((t, i) => {
      expect(t.shape).toEqual(SAMPLE[i].shape);
      expect(bits(t.data)).toEqual(bits(SAMPLE[i].data));
    });
    expect(Array.from(encodeSafetensors(tensors, metadata))).toEqual(Array.from(bytes));
    // Decoding from an ArrayBuffer and from an unaligned view gives the same result.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(bits(decodeSafetensors(shifted.subarray(3)).tensors[1].data)).toEqual(bits(SAMPLE[1].data));
    expect(decodeSafetensors(bytes.slice().buffer).tensors.length).toBe(4);
  });

  it('writes the documented layout: u64 LE header length, 8-aligned data, little-endian f32', () => {
    const bytes = encodeSafetensors([{ name: 'a', shape: [2], data: new Float32Array([1, -2]) }], { format: 'rnnkit' });
    const view = new DataView(bytes.buffer);
    const n = view.getUint32(0, true);
    expect(view.getUint32(4, true)).toBe(0);
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ __metadata__: { format: 'rnnkit' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(Array.from(bytes.subarray(8 + n))).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]); // 1.0, -2.0
  });

  it('reads a file from another writer (unpadded header, no metadata, keys out of data order)', () => {
    const data = new Uint8Array(12);
    const dv = new DataView(data.buffer);
    dv.setFloat32(0, 0.5, true);
    dv.setFloat32(4, 1.5, true);
    dv.setFloat32(8, -3, true);
    const file = rawFile({ b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, a: { dtype: 'F32', shape: [2, 1], data_offsets: [0, 8] } }, data);
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({});
    expect(tensors.map((t) => [t.name, t.shape, Array.from(t.data)])).toEqual([
      ['a', [2, 1], [0.5, 1.5]],
      ['b', [1], [-3]],
    ]);
  });

  it('rejects a truncated file at every cut point', () => {
    const bytes = encodeSafetensors(SAMPLE, { format: 'rnnkit' });
    for (const cut of [0, 4, 7, 8, 20, bytes.length - 60, bytes.length - 1]) {
      expectFormatError(() => decodeSafetensors(bytes.subarray(0, cut)), /shorter than|runs past|past the|trailing|truncated/);
    }
  });

  it('rejects a bad header length', () => {
    const bytes = encodeSafetensors(SAMPLE);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(4, 1, true); // 2^32 + n
    expectFormatError(() => decodeSafetensors(huge), /header length \d+ exceeds/);
    const past = bytes.slice();
    new DataView(past.buffer).setUint32(0, bytes.length, true);
    expectFormatError(() => decodeSafetensors(past), /runs past the end/);
    const tiny = bytes.slice();
    new DataView(tiny.buffer).setUint32(0, 1, true);
    expectFormatError(() => decodeSafetensors(tiny), /too small/);
  });

  it('rejects a header that is not valid JSON, not an object, or not UTF-8', () => {
    expectFormatError(() => decodeSafetensors(rawFile(null, undefined, '{"a": {"dtype": "F32",')), /not valid UTF-8 JSON/);
    expectFormatError(() => decodeSafetensors(rawFile([1, 2])), /not an object/);
    const bad = rawFile(null, undefined, '{"\xff": 1}  ');
    bad[10] = 0xff; // a lone continuation byte
    expectFormatError(() => decodeSafetensors(bad), /not valid UTF-8 JSON/);
  });

  it('rejects dtypes other than F32, naming the tensor', () => {
    for (const dtype of ['F16', 'BF16', 'F64', 'I32', 7]) {
      const f = rawFile({ w: { dtype, shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));
      expectFormatError(() => decodeSafetensors(f), /tensor "w": dtype .* not supported; rnnkit reads F32 only/);
    }
  });

  it('rejects overlapping offsets, gaps, trailing bytes and out-of-bounds ranges', () => {
    const data = new Uint8Array(16);
    const overlap = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data.subarray(0, 12));
    expectFormatError(() => decodeSafetensors(overlap), /tensor "b": data_offsets \[4, 12\] overlap tensor "a"/);
    const dup = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data.subarray(0, 8));
    expectFormatError(() => decodeSafetensors(dup), /overlap/);
    const gap = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data.subarray(0, 8));
    expectFormatError(() => decodeSafetensors(gap), /gap in the data section at bytes \[0, 4\)/);
    const trailing = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data.subarray(0, 8));
    expectFormatError(() => decodeSafetensors(trailing), /4 trailing bytes/);
    const oob = rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, data.subarray(0, 8));
    expectFormatError(() => decodeSafetensors(oob), /run past the 8-byte data section/);
    const reversed = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, data.subarray(0, 8));
    expectFormatError(() => decodeSafetensors(reversed), /is not \[begin, end\]/);
  });

  it('rejects shapes that disagree with the byte range, and malformed entries', () => {
    const data = new Uint8Array(8);
    expectFormatError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data)), /holds 12 bytes .* span 8/);
    expectFormatError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data)), /not a list of non-negative integers/);
    expectFormatError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } }, data)), /non-negative integers/);
    expectFormatError(() => decodeSafetensors(rawFile({ a: 5 }, data)), /entry is not an object/);
    expectFormatError(() => decodeSafetensors(rawFile({ __metadata__: { spec: 3 } })), /__metadata__.spec is a number/);
  });

  it('refuses to encode duplicate names, bad shapes and non-Float32Array data', () => {
    const t = { name: 'a', shape: [1], data: new Float32Array(1) };
    expect(() => encodeSafetensors([t, t])).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_VALUE' }));
    expect(() => encodeSafetensors([{ ...t, shape: [2] }])).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_SHAPE' }));
    expect(() => encodeSafetensors([{ ...t, data: [1] as unknown as Float32Array }])).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_TYPE' }));
    expect(() => encodeSafetensors([{ ...t, name: '__metadata__' }])).toThrow(expect.objectContaining({ code: 'ERR_RNNKIT_VALUE' }));
  });

  it('stamps the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(RNNKIT_VERSION).toBe(pkg.version);
  });
});

// ---- atomic writes --------------------------------------------------------------------------------

describe('writeFileAtomic', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rnnkit-persist-'));
  });
  afterAll(async () => {
    inject.failSync = false;
    await rm(dir, { recursive: true, force: true });
  });

  it('writes and replaces files, leaving no tmp files', async () => {
    const path = join(dir, 'model.safetensors');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect(Array.from(await readFile(path))).toEqual([1, 2, 3]);
    await writeFileAtomic(path, new Uint8Array([9]));
    expect(Array.from(await readFile(path))).toEqual([9]);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('keeps an existing file intact and removes its tmp file when the write fails', async () => {
    const path = join(dir, 'keep.safetensors');
    await writeFile(path, 'original');
    inject.failSync = true;
    try {
      await expect(writeFileAtomic(path, new Uint8Array(1000).fill(7))).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      inject.failSync = false;
    }
    expect(await readFile(path, 'utf8')).toBe('original');
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('cleans up when the rename fails (target is a directory) and leaves that directory alone', async () => {
    const target = join(dir, 'adir');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'x');
    await expect(writeFileAtomic(target, new Uint8Array(4))).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(readdirSync(target)).toEqual(['inside']);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('creates missing parent directories, like Keras model.save', async () => {
    const target = join(dir, 'missing', 'deeper', 'm.safetensors');
    await writeFileAtomic(target, new Uint8Array([7, 8, 9]));
    expect(Array.from(await readFile(target))).toEqual([7, 8, 9]);
  });

  it('fails cleanly when a parent path is a file', async () => {
    const blocker = join(dir, 'blocker');
    await writeFileAtomic(blocker, new Uint8Array(1));
    const err = await writeFileAtomic(join(blocker, 'm.safetensors'), new Uint8Array(1)).catch((e: NodeJS.ErrnoException) => e);
    expect(['EEXIST', 'ENOTDIR']).toContain((err as NodeJS.ErrnoException).code);
    expect(Array.from(await readFile(blocker))).toEqual([0]); // untouched
  });
});

// ---- models, per backend ---------------------------------------------------------------------------

const BACKENDS = backendsFor('persist.test');

function makeModel(seed = 3): Sequential {
  return new Sequential(
    [new LSTM({ inputSize: 3, hiddenSize: 6 }), new GRU({ hiddenSize: 5, bidirectional: true }), new Dense({ units: 2, activation: 'tanh', returnSequences: false })],
    { seed },
  );
}

describe.each(BACKENDS)('Sequential save/load on $name', ({ name, built }) => {
  let dir: string;
  beforeAll(async () => {
    if (!built) return;
    await setBackend(name);
    dir = await mkdtemp(join(tmpdir(), `rnnkit-save-${name}-`));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!built)('save → load gives identical parameters and predictions', async () => {
    await setBackend(name);
    const model = makeModel();
    model.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } });
    const x = randn([8, 7, 3], { seed: 1 });
    await model.fit(x, randn([8, 2], { seed: 2 }), { epochs: 2, batchSize: 4 }); // weights no longer the init
    const path = join(dir, 'm.safetensors');
    await model.save(path);
    expect(readdirSync(dir)).toEqual(['m.safetensors']);
    const loaded = await Sequential.load(path);
    expect(loaded.backendName).toBe(name);
    expect(loaded.spec).toEqual(model.spec);
    const a = model.stateDict();
    const b = loaded.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) expect(bits(b[k].data), k).toEqual(bits(a[k].data));
    expect(bits(loaded.predict(x).data)).toEqual(bits(model.predict(x).data));
    const { metadata } = decodeSafetensors(await readFile(path));
    expect(metadata).toMatchObject({ format: 'rnnkit', rnnkit: RNNKIT_VERSION, backend: name });
    // The core's canonical spec, layers format: Dense with returnSequences: false is LastStep + Dense.
    const spec = JSON.parse(metadata.spec);
    expect(spec).toMatchObject({ batch_first: true, seed: 3 });
    expect(spec.layers.map((l: { type: string }) => l.type)).toEqual(['LSTM', 'GRU', 'LastStep', 'Dense']);
    expect(spec.layers[3].config).toEqual({ in_features: 10, units: 2, activation: 'tanh', bias: true });
    expect(spec).toEqual(model.spec);
    model.dispose();
    loaded.dispose();
  });

  it.skipIf(!built)('toBytes → fromBytes round trips exactly (bytes and predictions)', async () => {
    await setBackend(name);
    const model = makeModel(9);
    const bytes = model.toBytes();
    const copy = Sequential.fromBytes(bytes.slice().buffer);
    expect(Array.from(copy.toBytes())).toEqual(Array.from(bytes));
    const x = randn([3, 4, 3], { seed: 5 });
    expect(bits(copy.predict(x).data)).toEqual(bits(model.predict(x).data));
    model.dispose();
    copy.dispose();
  });

  it.skipIf(!built)('cell options and peephole weights survive toBytes → fromBytes', async () => {
    await setBackend(name);
    const model = new Sequential(
      [
        new LSTM({ inputSize: 3, hiddenSize: 4, peephole: true, cellClip: 2, gateActivation: 'hard_sigmoid', bidirectional: true }),
        new GRU({ hiddenSize: 3, activation: 'softsign' }),
        new Dense({ units: 2 }),
      ],
      { seed: 4 },
    );
    const copy = Sequential.fromBytes(model.toBytes().slice().buffer);
    expect(Object.keys(copy.stateDict())).toContain('0.weight_peephole_l0_reverse');
    expect(copy.spec).toEqual(model.spec);
    const x = randn([2, 5, 3], { seed: 6 });
    expect(bits(copy.predict(x).data)).toEqual(bits(model.predict(x).data));
    model.dispose();
    copy.dispose();
  });

  it.skipIf(!built)('rejects files whose tensors disagree with the stored spec', async () => {
    await setBackend(name);
    const model = makeModel();
    const { tensors, metadata } = decodeSafetensors(model.toBytes());
    model.dispose();
    const without = tensors.filter((t) => t.name !== '1.weight_hh_l0_reverse');
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(without, metadata)), /"1.weight_hh_l0_reverse" is missing/);
    const extra = [...tensors, { name: 'stray', shape: [1], data: new Float32Array(1) }];
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(extra, metadata)), /unknown tensor\(s\) stray/);
    const reshaped = tensors.map((t) => (t.name === '2.weight' ? { ...t, shape: [t.shape[1], t.shape[0]] } : t));
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(reshaped, metadata)), /"2.weight" has shape \[10, 2\], the spec needs \[2, 10\]/);
    const nan = tensors.map((t) => (t.name === '2.bias' ? { ...t, data: new Float32Array([0, NaN]) } : t));
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(nan, metadata)), /"2.bias" element 1 is NaN/);
    // The stored spec is read by the core: its own message, as a format error.
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(tensors, { ...metadata, spec: '{"layers": [' })), /__metadata__.spec describes an invalid model/);
    const badSpec = JSON.stringify({ ...JSON.parse(metadata.spec), layers: [{ type: 'Transformer', config: {} }] });
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(tensors, { ...metadata, spec: badSpec })), /unknown layer type "Transformer"/);
    const typo = JSON.parse(metadata.spec);
    typo.layers[3].config.activ8tion = 'tanh';
    expectFormatError(() => Sequential.fromBytes(encodeSafetensors(tensors, { ...metadata, spec: JSON.stringify(typo) })), /activ8tion/);
  });

  it.skipIf(!built)('explains that a safetensors file without __metadata__.spec (e.g. from PyTorch) cannot be loaded by path', async () => {
    await setBackend(name);
    const model = makeModel();
    const { tensors } = decodeSafetensors(model.toBytes());
    const torchStyle = encodeSafetensors(tensors, { format: 'pt' });
    expectFormatError(() => Sequential.fromBytes(torchStyle), /no __metadata__.spec.*not written by rnnkit.*"pt".*loadStateDict/);
    // ...and the suggested route works: same architecture + loadStateDict.
    const rebuilt = makeModel(77);
    rebuilt.loadStateDict(Object.fromEntries(decodeSafetensors(torchStyle).tensors.map((t) => [t.name, t.data])));
    const x = randn([2, 3, 3], { seed: 8 });
    expect(bits(rebuilt.predict(x).data)).toEqual(bits(model.predict(x).data));
    model.dispose();
    rebuilt.dispose();
  });

  it.skipIf(!built)('a file in the format before issue 14 ({blocks, head}) loads and predicts what the old build predicted', async () => {
    await setBackend(name);
    const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/legacy/${f}`, import.meta.url));
    const want = JSON.parse(await readFile(fixture('gru2bi-lstm-dense-last.json'), 'utf8')) as { xShape: number[]; y: number[]; yShape: number[]; params: number };
    const bytes = await readFile(fixture('gru2bi-lstm-dense-last.safetensors'));
    expect(JSON.parse(decodeSafetensors(bytes).metadata.spec)).toHaveProperty('blocks');
    const m = Sequential.fromBytes(bytes);
    // Read by the core; the layers come from its canonical configs through the registry.
    expect(m.layers.map((l) => l.type)).toEqual(['GRU', 'LSTM', 'LastStep', 'Dense']);
    expect(m.spec.layers[0].config).toMatchObject({ input_size: 3, hidden_size: 4, num_layers: 2, bidirectional: true });
    expect(m.numParameters).toBe(want.params);
    const [n, t, f] = want.xShape;
    const x = tensor(new Float32Array(n * t * f).map((_, i) => Math.sin(0.7 * i + 0.3)), [n, t, f]);
    const y = m.predict(x);
    expect(y.shape).toEqual(want.yShape);
    // Written on native (FMA kernels): equal within float rounding on either backend.
    y.data.forEach((v, i) => expect(Math.abs(v - want.y[i]), `y[${i}]`).toBeLessThan(1e-5));
    // Saved again, it is in the layers format and loads to the same numbers.
    const again = Sequential.fromBytes(m.toBytes());
    expect(JSON.parse(decodeSafetensors(m.toBytes()).metadata.spec)).not.toHaveProperty('blocks');
    expect(bits(again.predict(x).data)).toEqual(bits(y.data));
    m.dispose();
    again.dispose();
  });

  it.skipIf(!built)('load() of a missing file rejects with ENOENT; a corrupt file with ERR_RNNKIT_FORMAT', async () => {
    await setBackend(name);
    await expect(Sequential.load(join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
    const path = join(dir, 'corrupt.safetensors');
    const model = makeModel();
    const bytes = model.toBytes();
    model.dispose();
    await writeFile(path, bytes.subarray(0, bytes.length - 5));
    await expect(Sequential.load(path)).rejects.toMatchObject({ code: 'ERR_RNNKIT_FORMAT' });
  });
});

describe.skipIf(!BACKENDS.every((b) => b.built))('cross-backend files', () => {
  it('a model saved on native loads on wasm and predicts the same within 1e-5', async () => {
    await setBackend('native');
    const model = makeModel(4);
    const bytes = model.toBytes();
    const x = randn([4, 6, 3], { seed: 6 });
    const want = model.predict(x).data;
    await setBackend('wasm');
    const other = Sequential.fromBytes(bytes);
    expect(other.backendName).toBe('wasm');
    const got = other.predict(x).data;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
    model.dispose();
    other.dispose();
  });
});
