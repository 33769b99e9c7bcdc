/**
 * The per-character baselines (ts/cli/datasets/char-baselines.ts): each is a probability distribution
 * over the vocabulary, fitted on the training text only, and scored on exactly the held-out characters
 * the model is scored on — checked here against a direct computation from the raw text of the held-out
 * tail, written independently of the window code.
 */
import { describe, expect, it } from 'vitest';

import { baselineNats, charScores, countChars, KN_DISCOUNT } from '../ts/cli/datasets/char-baselines.js';
import { charData } from '../ts/cli/datasets/text.js';
import { mobyDick } from './helpers/moby-dick.js';

describe('baseline distributions', () => {
  const ids = Int32Array.from([0, 1, 2, 0, 1, 0, 1, 2, 2, 0]);
  const v = 4; // id 3 never occurs in training

  it('counts unigrams and bigrams of the training ids', () => {
    const c = countChars(ids, v);
    expect(c.unigram).toEqual([4, 3, 3, 0]);
    expect(c.bigram).toEqual([[0, 1, 3], [1, 0, 1], [1, 2, 2], [2, 0, 2], [2, 2, 1]]);
  });

  it('each sums to 1 over the vocabulary after every context, and gives unseen characters some mass', () => {
    const c = countChars(ids, v);
    for (let a = 0; a < v; a++) {
      let uni = 0;
      let bi = 0;
      for (let b = 0; b < v; b++) {
        const nats = baselineNats(c, v, [a], [b]);
        uni += Math.exp(-nats.unigram);
        bi += Math.exp(-nats.bigram);
        expect(Number.isFinite(nats.bigram)).toBe(true);
      }
      expect(uni).toBeCloseTo(1, 12);
      expect(bi).toBeCloseTo(1, 12);
    }
  });

  it('hand-checked values: add-one unigram, interpolated Kneser-Ney bigram', () => {
    const c = countChars(ids, v);
    const nats = baselineNats(c, v, [0], [1]);
    expect(nats.unigram).toBeCloseTo(-Math.log((3 + 1) / (10 + 4)), 12);
    // After 0: c(0·) = 3, one follower type; 1 follows one distinct character; 5 bigram types.
    const continuation = (1 + 1) / (5 + 4);
    expect(nats.bigram).toBeCloseTo(-Math.log((3 - KN_DISCOUNT) / 3 + ((KN_DISCOUNT * 1) / 3) * continuation), 12);
  });

  it('warns when the model does not beat the bigram', () => {
    const c = countChars(ids, v);
    const x = Int32Array.from([0, 1]);
    const y = Int32Array.from([1, 2]);
    const bigram = baselineNats(c, v, x, y).bigram;
    expect(charScores(bigram - 0.01, c, v, x, y).warning).toBeUndefined();
    expect(charScores(bigram, c, v, x, y).warning).toMatch(/does not beat the bigram baseline/);
    expect(charScores(2, undefined, v, x, y)).toMatchObject({ characters: 2, model: { natsPerChar: 2, bitsPerChar: 2 / Math.LN2 } });
  });
});

describe('scored on exactly the held-out characters', () => {
  const text = mobyDick(60 * 1024);
  const window = 50;
  const data = charData(text, 'moby-dick', 'text', { window, stride: 7, valSplit: 0.25, maxVocab: 256 });
  const chars = Array.from(text);
  const split = Math.floor(chars.length * 0.75);

  it('the validation windows cover the tail after the split once each, and nothing before it', () => {
    const val = data.val!;
    const n = Math.floor((chars.length - split - 1) / window);
    expect(val.xDims).toEqual([n, window]);
    const vocab = data.meta.task === 'charlm' ? data.meta.vocab : [];
    const decoded = Array.from(val.y, (id) => vocab[id]).join('');
    expect(decoded).toBe(chars.slice(split + 1, split + 1 + n * window).join(''));
  });

  it('baselines equal a direct computation from the raw training text and the held-out pairs', () => {
    const meta = data.meta;
    if (meta.task !== 'charlm') throw new Error('not a character model');
    const val = data.val!;
    const scores = charScores(1, meta.counts, meta.vocab.length, val.x as Int32Array, val.y as Int32Array);
    expect(scores.characters).toBe(val.y.length);

    // Independently: counts from the training characters as strings, pairs from the held-out text.
    const train = chars.slice(0, split);
    const uni = new Map<string, number>();
    const pair = new Map<string, number>();
    for (let i = 0; i < train.length; i++) {
      uni.set(train[i], (uni.get(train[i]) ?? 0) + 1);
      if (i > 0) pair.set(train[i - 1] + '\u0000' + train[i], (pair.get(train[i - 1] + '\u0000' + train[i]) ?? 0) + 1);
    }
    const V = meta.vocab.length;
    const memo = <T,>(f: (c: string) => T) => {
      const m = new Map<string, T>();
      return (c: string) => (m.has(c) ? m.get(c)! : (m.set(c, f(c)), m.get(c)!));
    };
    const after = memo((a) => [...pair.entries()].filter(([k]) => k.split('\u0000')[0] === a));
    const before = memo((b) => [...pair.keys()].filter((k) => k.split('\u0000')[1] === b).length);
    let uniNats = 0;
    let biNats = 0;
    const n = val.y.length;
    for (let i = split; i < split + n; i++) {
      const [a, b] = [chars[i], chars[i + 1]];
      uniNats -= Math.log(((uni.get(b) ?? 0) + 1) / (train.length + V));
      const cont = (before(b) + 1) / (pair.size + V);
      const h = after(a).reduce((s, [, c]) => s + c, 0);
      const p = h > 0 ? Math.max((pair.get(a + '\u0000' + b) ?? 0) - KN_DISCOUNT, 0) / h + ((KN_DISCOUNT * after(a).length) / h) * cont : cont;
      biNats -= Math.log(p);
    }
    expect(scores.unigram!.natsPerChar).toBeCloseTo(uniNats / n, 9);
    expect(scores.bigram!.natsPerChar).toBeCloseTo(biNats / n, 9);
    // English text: a bigram model is far better than a unigram one.
    expect(scores.bigram!.bitsPerChar).toBeLessThan(scores.unigram!.bitsPerChar - 0.5);
  });
});
