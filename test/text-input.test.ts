/**
 * What a character model reads (ts/cli/datasets/text.ts): binary files are refused with what was found
 * and where, the vocabulary is capped by --max-vocab with the rarest characters read as one unknown
 * symbol, window/stride choices that would allocate over the limit fail before allocating, and the
 * prepared data is int32 ids — 200 KB of a real novel is about a megabyte, not ~100 MB of one-hot floats.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CliError } from '../ts/cli/args.js';
import { splitDataset } from '../ts/cli/commands/common.js';
import { trainingData } from '../ts/cli/datasets/index.js';
import { buildVocab, charData, encode, MAX_TEXT_BYTES, readText, UNKNOWN_SYMBOL } from '../ts/cli/datasets/text.js';
import { ready } from '../ts/index.js';
import { cliBuilt, runCliSync } from './helpers/cli.js';
import { mobyDick } from './helpers/moby-dick.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function refusal(path: string): string {
  try {
    readText(path);
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as Error).message;
  }
  throw new Error(`${path} was read as text`);
}

describe('readText refuses what is not text', () => {
  it('a real binary (the native addon) on its first NUL byte, with the offset', () => {
    const addon = readFileSync(new URL('../build/rnnkit.node', import.meta.url));
    const msg = refusal(file('addon.txt', addon));
    expect(msg).toContain(`NUL byte at byte offset ${addon.indexOf(0)}`);
    expect(msg).toContain('--text');
  });

  it('UTF-16 text (NUL bytes), naming the fix', () => {
    const utf16 = Buffer.from('\ufeffCall me Ishmael.', 'utf16le');
    expect(refusal(file('utf16.txt', utf16))).toMatch(/NUL byte at byte offset 3 .*UTF-16 text — save it as UTF-8/);
  });

  it('bytes that are mostly invalid UTF-8 (no NUL), with the count and the first offset', () => {
    const latin1 = Buffer.from('Some text. ' + 'caf\u00e9 '.repeat(400), 'latin1'); // é as the single byte 0xE9
    const msg = refusal(file('latin1.txt', latin1));
    expect(msg).toContain('400 invalid UTF-8 sequences (first at byte 14)');
    expect(msg).toMatch(/\d+\.\d% of \d+ characters/);
  });

  it('text full of control characters', () => {
    const msg = refusal(file('control.txt', 'ab\u0003cd\u0007'.repeat(100)));
    expect(msg).toContain('200 control characters (first U+0003 at byte 2)');
  });

  it('a file over the size limit, before reading it', () => {
    const path = join(dir, 'huge.txt');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, MAX_TEXT_BYTES + 1); // sparse: nothing that large is ever written or read
    closeSync(fd);
    expect(refusal(path)).toContain(`at most ${MAX_TEXT_BYTES / 2 ** 20} MiB`);
  });

  it.skipIf(!cliBuilt)('through the CLI: exit 1 and the reason, no stack trace', () => {
    const r = runCliSync(dir, 'train', '--text', file('photo.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rnnkit: error: --text .*photo\.txt is not a text file: a NUL byte at byte offset 8/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('accepts text with a stray invalid byte and a BOM, saying so', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('The whale, '), Buffer.from([0xff]), Buffer.from(' the sea. '.repeat(50))]);
    const { text, notices } = readText(file('stray.txt', bytes));
    expect(text.startsWith('The whale, \ufffd the sea.')).toBe(true);
    expect(notices).toEqual([
      expect.stringContaining('skipped the UTF-8 byte-order mark'),
      expect.stringContaining('1 invalid UTF-8 sequences (or U+FFFD characters) read as the unknown symbol "\ufffd", the first at byte 14'),
    ]);
  });
});

describe('--max-vocab', () => {
  // 300 distinct characters; character k occurs 300 − k times, so the frequency ranking is known.
  const alphabet = Array.from({ length: 300 }, (_, k) => String.fromCodePoint(0x100 + k));
  const text = alphabet.map((c, k) => c.repeat(300 - k)).join('');

  it('keeps the N−1 most frequent characters plus the unknown symbol, and says what was mapped', () => {
    const v = buildVocab(text, 50);
    expect(v.vocab).toHaveLength(50);
    expect(v.vocab.slice(0, 49)).toEqual(alphabet.slice(0, 49));
    expect(v.vocab[49]).toBe(UNKNOWN_SYMBOL);
    expect(v.unknown).toBe(49);
    // Characters 49..299 are dropped: 251 of them, with 251 + 250 + ... + 1 occurrences.
    const occurrences = (251 * 252) / 2;
    expect(v.notice).toContain(`--max-vocab 50: the text has 300 distinct characters; the 251 rarest (${occurrences} occurrences`);
    const { ids, mapped } = encode(text, v.vocab, 'text', v.unknown);
    expect(mapped).toBe(occurrences);
    expect(ids.filter((id) => id === 49)).toHaveLength(occurrences);
  });

  it('through trainingData: the vocabulary in the metadata, the notice in the data, inputSize = vocabulary size', () => {
    const path = file('wide.txt', text);
    const data = trainingData({ text: path, valSplit: 0.2, seed: 1, bidirectional: false, maxVocab: 64, window: 32 });
    expect(data.inputSize).toBe(64);
    expect(data.meta).toMatchObject({ task: 'charlm', unknown: 63 });
    expect(data.notices).toEqual([expect.stringContaining('vocabulary capped at --max-vocab 64')]);
    expect(Math.max(...data.train.x)).toBe(63);
  });

  it("text encoded with a capped model's vocabulary reads unseen characters as the unknown symbol, with a notice", () => {
    const model = buildVocab(text, 50);
    const data = charData('\u0100\u0101 new: xyz \u0100', 'other.txt', 'text', { window: 4, stride: 4, valSplit: 0, maxVocab: 50 }, model);
    expect(data.notices).toEqual(['other.txt: 10 characters outside the model\'s vocabulary read as the unknown symbol "\ufffd"']);
    expect(Array.from(data.train.x.slice(0, 3))).toEqual([0, 1, 49]);
  });

  it('leaves a smaller vocabulary alone, and an uncapped one still refuses unseen characters', () => {
    const v = buildVocab('the cat sat', 256);
    expect(v).toEqual({ vocab: [' ', 'a', 'c', 'e', 'h', 's', 't'] });
    expect(() => encode('the dog', v.vocab, '--prompt')).toThrow(/"d" at position 4 is not in the model's vocabulary/);
  });

  it('is refused for data that is not text', () => {
    expect(() => trainingData({ dataset: 'seasonal', valSplit: 0.2, seed: 1, bidirectional: false, maxVocab: 10 })).toThrow(/--max-vocab applies to character models/);
  });
});

describe('prepared data size', () => {
  it('200 KB of Moby Dick is int32 ids of about a megabyte, never a one-hot tensor', async () => {
    const text = mobyDick(200 * 1024);
    const data = charData(text, 'moby-dick', 'text', { window: 64, stride: 32, valSplit: 0.2, maxVocab: 256 });
    const { train, val } = data;
    expect(train.x).toBeInstanceOf(Int32Array);
    expect(train.xDims).toEqual([train.xDims[0], 64]);
    expect(val!.x).toBeInstanceOf(Int32Array);
    const xBytes = train.x.byteLength + val!.x.byteLength;
    // ~0.8 · 200 KB / stride 32 windows · 64 ids + the tail once: 1.2-1.6 MB. One-hot would be × vocabulary size.
    expect(xBytes).toBeGreaterThan(1.0e6);
    expect(xBytes).toBeLessThan(2.0e6);
    expect(xBytes + train.y.byteLength + val!.y.byteLength).toBeLessThan(4.0e6);
    expect(data.inputSize).toBeGreaterThan(60); // the one-hot it replaces: xBytes × inputSize ≈ 100 MB

    // What the backend holds for training: the ids and targets, not a one-hot tensor.
    await ready();
    const set = splitDataset(train);
    try {
      expect(set.tokens).toBe(true);
      expect(set.byteLength).toBeLessThan(2 * train.x.byteLength + 64 * 1024);
    } finally {
      set.dispose();
    }
  });

  it('a window/stride choice over the limit fails before allocating, naming the flags and a stride that fits', () => {
    const text = 'abcdefghij'.repeat(300_000); // 3 M characters, stride 1: ~3 M windows × 100 × 8 bytes
    expect(() => charData(text, 'big.txt', 'text', { window: 100, stride: 1, valSplit: 0.2, maxVocab: 256 })).toThrow(
      /--window 100 with --stride 1 on big\.txt \(3000000 characters\) makes \d+ windows, [\d.]+ MiB of ids and targets, over the 512\.0 MiB limit\. Use --stride 4 or more/,
    );
  });
});
