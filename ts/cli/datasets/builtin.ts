/**
 * Built-in datasets, generated from a seed (no download), each a classic recurrent-network benchmark:
 * - `seasonal`: a noisy series with daily (24) and weekly (168) seasonality plus a trend — forecasting.
 * - `mackey-glass`: the chaotic Mackey–Glass delay equation (τ = 17) — forecasting.
 * - `reber`: the embedded Reber grammar (Hochreiter & Schmidhuber 1997), as classification of grammatical
 *   vs corrupted strings; the hardest negatives differ from a valid string only in the second-to-last
 *   symbol, which must match the second one, so the network needs long-range memory.
 * - `reber-next`: the same grammar as next-symbol prediction (the set of legal next symbols per step).
 * - `adding`: the adding problem — sum the two marked values of a long sequence (long-range memory).
 * - `text`: a generated English-like corpus for the character model.
 */

import { CliError } from '../args.js';
import { Random } from './random.js';
import type { SeriesSource } from './series.js';
import type { GeneratorMeta, PreparedData, SequenceMeta, Split } from './types.js';

export const DATASETS = ['seasonal', 'mackey-glass', 'reber', 'reber-next', 'adding', 'text'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** Default size (series length, sequence count or corpus characters) per dataset. */
export const DEFAULT_SIZE: Record<DatasetName, number> = {
  seasonal: 1500,
  'mackey-glass': 1500,
  reber: 2000,
  'reber-next': 1000,
  adding: 2000,
  text: 30000,
};

// ---- series ----

export function seasonalSeries(g: GeneratorMeta): SeriesSource {
  const r = new Random(g.seed);
  const v: number[] = [];
  for (let t = 0; t < g.size; t++) {
    const daily = 2 * Math.sin((2 * Math.PI * t) / 24);
    const weekly = 1.2 * Math.sin((2 * Math.PI * t) / 168 + 0.7);
    v.push(10 + 0.002 * t + daily + weekly + 0.25 * r.normal());
  }
  return { source: 'dataset', name: 'seasonal', columns: ['value'], values: [v], targetIndex: 0, generator: g };
}

/** dx/dt = β·x(t−τ)/(1 + x(t−τ)^10) − γ·x(t), β = 0.2, γ = 0.1, τ = 17; Euler with dt = 0.1, sampled every 1. */
export function mackeyGlassSeries(g: GeneratorMeta): SeriesSource {
  const r = new Random(g.seed);
  const dt = 0.1;
  const lag = 170; // τ / dt
  const warmup = 500;
  const hist: number[] = Array.from({ length: lag + 1 }, () => 1.2 + 0.05 * (r.next() - 0.5));
  let x = hist[hist.length - 1];
  const out: number[] = [];
  for (let k = 0; out.length < g.size; k++) {
    const delayed = hist[hist.length - 1 - lag];
    x += dt * ((0.2 * delayed) / (1 + delayed ** 10) - 0.1 * x);
    hist.push(x);
    if (hist.length > 2 * lag) hist.splice(0, hist.length - lag - 1);
    if (k % 10 === 9 && k / 10 >= warmup) out.push(x);
  }
  return { source: 'dataset', name: 'mackey-glass', columns: ['x'], values: [out], targetIndex: 0, generator: g };
}

// ---- the embedded Reber grammar ----

export const REBER_SYMBOLS = ['B', 'T', 'P', 'S', 'X', 'V', 'E'];
/** The inner Reber automaton: state → [symbol, next state] choices; state 6 only ends with E. */
const REBER: Record<number, [string, number][]> = {
  0: [['B', 1]],
  1: [['T', 2], ['P', 3]],
  2: [['S', 2], ['X', 4]],
  3: [['T', 3], ['V', 5]],
  4: [['X', 3], ['S', 6]],
  5: [['P', 4], ['V', 6]],
  6: [['E', -1]],
};

function reberInner(r: Random): string {
  let s = '';
  let state = 0;
  while (state >= 0) {
    const [sym, next] = r.pick(REBER[state]);
    s += sym;
    state = next;
  }
  return s;
}

/** An embedded Reber string: B c <Reber string> c E with c ∈ {T, P}. */
function embeddedReber(r: Random, maxLen: number): string {
  for (;;) {
    const c = r.pick(['T', 'P']);
    const s = `B${c}${reberInner(r)}${c}E`;
    if (s.length <= maxLen) return s;
  }
}

/** Legal next symbols after each prefix of `s` (an embedded Reber string), or undefined once it is invalid. */
function legalNext(s: string): Set<string>[] | undefined {
  const out: Set<string>[] = [];
  let state = 0;
  let c = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const n = s.length;
    if (i === 0) {
      if (ch !== 'B') return undefined;
      out.push(new Set(['T', 'P']));
    } else if (i === 1) {
      if (ch !== 'T' && ch !== 'P') return undefined;
      c = ch;
      out.push(new Set(['B']));
    } else if (state >= 0) {
      const move = REBER[state].find(([sym]) => sym === ch);
      if (!move) return undefined;
      state = move[1];
      out.push(state >= 0 ? new Set(REBER[state].map(([sym]) => sym)) : new Set([c]));
    } else if (state === -1) {
      if (ch !== c) return undefined;
      state = -2;
      out.push(new Set(['E']));
    } else if (state === -2) {
      if (ch !== 'E' || i !== n - 1) return undefined;
      state = -3;
      out.push(new Set());
    } else return undefined;
  }
  return state === -3 ? out : undefined;
}

export function isEmbeddedReber(s: string): boolean {
  return legalNext(s) !== undefined;
}

function oneHotPadded(strings: string[], window: number): { x: Float32Array; lengths: number[] } {
  const v = REBER_SYMBOLS.length;
  const x = new Float32Array(strings.length * window * v);
  strings.forEach((s, k) => {
    for (let t = 0; t < s.length; t++) x[(k * window + t) * v + REBER_SYMBOLS.indexOf(s[t])] = 1;
  });
  return { x, lengths: strings.map((s) => s.length) };
}

function splitAt<T>(xs: T[], valSplit: number): [T[], T[]] {
  const cut = valSplit > 0 ? Math.max(1, Math.floor(xs.length * (1 - valSplit))) : xs.length;
  return [xs.slice(0, cut), xs.slice(cut)];
}

/** Classification: label 1 for grammatical strings, 0 for corrupted ones (half of them long-range). */
export function reberClassify(g: GeneratorMeta, window: number, valSplit: number): PreparedData {
  if (window < 9) throw new CliError(`--window ${window} is too short for the embedded Reber grammar: its shortest strings have 9 symbols`);
  const r = new Random(g.seed);
  const items: [string, number][] = [];
  for (let i = 0; i < g.size; i++) {
    const s = embeddedReber(r, window);
    if (r.next() < 0.5) {
      items.push([s, 1]);
      continue;
    }
    let bad: string;
    if (r.next() < 0.5) {
      const swap = s[s.length - 2] === 'T' ? 'P' : 'T'; // the long-range dependency
      bad = s.slice(0, -2) + swap + 'E';
    } else {
      do {
        const pos = r.int(s.length);
        const sym = r.pick(REBER_SYMBOLS.filter((c) => c !== s[pos]));
        bad = s.slice(0, pos) + sym + s.slice(pos + 1);
      } while (isEmbeddedReber(bad));
    }
    items.push([bad, 0]);
  }
  const [tr, va] = splitAt(items, valSplit);
  const split = (xs: [string, number][]): Split => {
    const { x, lengths } = oneHotPadded(xs.map(([s]) => s), window);
    return { x, xDims: [xs.length, window, REBER_SYMBOLS.length], y: Int32Array.from(xs, ([, l]) => l), yDims: [xs.length], lengths };
  };
  const meta: SequenceMeta = { task: 'classify', source: 'dataset', name: 'reber', symbols: REBER_SYMBOLS, classes: ['invalid', 'valid'], window, generator: g };
  return {
    meta,
    inputSize: REBER_SYMBOLS.length,
    outputUnits: 2,
    returnSequences: false,
    loss: 'cross_entropy',
    headActivation: 'softmax',
    train: split(tr),
    val: va.length > 0 ? split(va) : undefined,
    summary: `embedded Reber grammar: ${items.length} strings of up to ${window} symbols, half grammatical, half corrupted (${tr.length} train, ${va.length} validation)`,
  };
}

/** Next-symbol prediction: at each step, a multi-hot target of the legal next symbols (BCE on logits). */
export function reberNext(g: GeneratorMeta, window: number, valSplit: number): PreparedData {
  if (window < 9) throw new CliError(`--window ${window} is too short for the embedded Reber grammar: its shortest strings have 9 symbols`);
  const r = new Random(g.seed);
  const strings = Array.from({ length: g.size }, () => embeddedReber(r, window + 1));
  const v = REBER_SYMBOLS.length;
  const [tr, va] = splitAt(strings, valSplit);
  const split = (xs: string[]): Split => {
    // Input: every symbol but the final E; target at step t: what may follow symbol t.
    const { x, lengths } = oneHotPadded(xs.map((s) => s.slice(0, -1)), window);
    const y = new Float32Array(xs.length * window * v);
    xs.forEach((s, k) => {
      const legal = legalNext(s)!;
      for (let t = 0; t < s.length - 1; t++) for (const sym of legal[t]) y[(k * window + t) * v + REBER_SYMBOLS.indexOf(sym)] = 1;
    });
    return { x, xDims: [xs.length, window, v], y, yDims: [xs.length, window, v], lengths };
  };
  const meta: SequenceMeta = { task: 'next-symbol', source: 'dataset', name: 'reber-next', symbols: REBER_SYMBOLS, window, generator: g };
  return {
    meta,
    inputSize: v,
    outputUnits: v,
    returnSequences: true,
    loss: 'bce_with_logits',
    headActivation: 'sigmoid',
    train: split(tr),
    val: va.length > 0 ? split(va) : undefined,
    summary: `embedded Reber grammar, next-symbol prediction: ${strings.length} strings of up to ${window + 1} symbols (${tr.length} train, ${va.length} validation)`,
  };
}

/** The adding problem: x_t = (value ∈ U(0,1), marker); two markers (one per half); y = sum of the marked values. */
export function addingProblem(g: GeneratorMeta, window: number, valSplit: number): PreparedData {
  if (window < 2) throw new CliError(`--window ${window} is too short for the adding problem (it needs two marked steps)`);
  const r = new Random(g.seed);
  const n = g.size;
  const x = new Float32Array(n * window * 2);
  const y = new Float32Array(n);
  const half = Math.floor(window / 2);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < window; t++) x[(k * window + t) * 2] = r.next();
    const a = r.int(half);
    const b = half + r.int(window - half);
    x[(k * window + a) * 2 + 1] = 1;
    x[(k * window + b) * 2 + 1] = 1;
    y[k] = x[(k * window + a) * 2] + x[(k * window + b) * 2];
  }
  const cut = valSplit > 0 ? Math.max(1, Math.floor(n * (1 - valSplit))) : n;
  const part = (from: number, to: number): Split => ({
    x: x.slice(from * window * 2, to * window * 2),
    xDims: [to - from, window, 2],
    y: y.slice(from, to),
    yDims: [to - from, 1],
  });
  const meta: SequenceMeta = { task: 'regression', source: 'dataset', name: 'adding', window, generator: g };
  return {
    meta,
    inputSize: 2,
    outputUnits: 1,
    returnSequences: false,
    loss: 'mse',
    headActivation: 'identity',
    train: part(0, cut),
    val: cut < n ? part(cut, n) : undefined,
    summary: `adding problem: ${n} sequences of ${window} steps (${cut} train, ${n - cut} validation); always answering 1 scores MSE ≈ 0.167`,
  };
}

// ---- a generated text corpus ----

const WORDS = {
  det: ['the', 'a', 'every', 'one', 'that'],
  adj: ['quick', 'lazy', 'small', 'bright', 'quiet', 'old', 'green', 'clever', 'heavy', 'gentle'],
  noun: ['fox', 'dog', 'river', 'machine', 'garden', 'network', 'teacher', 'bird', 'city', 'signal'],
  verb: ['jumps over', 'watches', 'follows', 'remembers', 'finds', 'crosses', 'learns from', 'sings to'],
  adv: ['slowly', 'again', 'at night', 'every day', 'without a sound', 'in the rain'],
};

/** English-like sentences from a tiny grammar: enough structure (spaces, word shapes, punctuation) to learn. */
export function textCorpus(g: GeneratorMeta): string {
  const r = new Random(g.seed);
  const phrase = () => `${r.pick(WORDS.det)} ${r.next() < 0.6 ? r.pick(WORDS.adj) + ' ' : ''}${r.pick(WORDS.noun)}`;
  let out = '';
  let inParagraph = 0;
  while (out.length < g.size) {
    let s = `${phrase()} ${r.pick(WORDS.verb)} ${phrase()}`;
    if (r.next() < 0.4) s += ` ${r.pick(WORDS.adv)}`;
    s = s[0].toUpperCase() + s.slice(1) + (r.next() < 0.15 ? '!' : '.');
    out += s;
    inParagraph++;
    if (inParagraph >= 4 && r.next() < 0.3) {
      out += '\n';
      inParagraph = 0;
    } else out += ' ';
  }
  return out.slice(0, g.size);
}
