/**
 * Per-character baselines for character models, so a loss means something: a unigram model (add-one
 * smoothed) and a bigram model (interpolated Kneser-Ney, "lite": one absolute discount, an add-one
 * continuation distribution so unseen characters keep some mass), both fitted on the training text and
 * scored on exactly the positions the model is scored on — every target of the held-out windows, with
 * the input character at the same step as the bigram's context. Counts are stored with the model
 * (`CharMeta.counts`), so `rnnkit eval` scores the same baselines on new text.
 */

export interface CharCounts {
  /** Training occurrences per character id. */
  unigram: number[];
  /** Sparse bigram counts [previous id, next id, count], sorted by previous then next id. */
  bigram: Array<[number, number, number]>;
}

/** Kneser-Ney's absolute discount (the usual choice for counts ≥ 1). */
export const KN_DISCOUNT = 0.75;

export const SMOOTHING = {
  unigram: 'add-one',
  bigram: `interpolated Kneser-Ney (discount ${KN_DISCOUNT}, add-one continuation)`,
} as const;

export function countChars(ids: Int32Array, v: number): CharCounts {
  const unigram = new Array<number>(v).fill(0);
  for (const id of ids) unigram[id]++;
  const pairs = new Map<number, number>();
  for (let i = 1; i < ids.length; i++) {
    const k = ids[i - 1] * v + ids[i];
    pairs.set(k, (pairs.get(k) ?? 0) + 1);
  }
  const bigram = [...pairs.entries()].sort((a, b) => a[0] - b[0]).map(([k, n]): [number, number, number] => [Math.floor(k / v), k % v, n]);
  return { unigram, bigram };
}

/** Mean negative log-likelihood (nats per character) of each baseline on the pairs prev[i] → next[i]. */
export function baselineNats(counts: CharCounts, v: number, prev: ArrayLike<number>, next: ArrayLike<number>): { unigram: number; bigram: number } {
  const total = counts.unigram.reduce((a, b) => a + b, 0);
  const pair = new Map<number, number>();
  const history = new Array<number>(v).fill(0); // c(a·)
  const followers = new Array<number>(v).fill(0); // N1+(a·): distinct characters seen after a
  const precursors = new Array<number>(v).fill(0); // N1+(·b): distinct characters seen before b
  for (const [a, b, n] of counts.bigram) {
    pair.set(a * v + b, n);
    history[a] += n;
    followers[a]++;
    precursors[b]++;
  }
  const types = counts.bigram.length;
  let uni = 0;
  let bi = 0;
  for (let i = 0; i < next.length; i++) {
    const a = prev[i];
    const b = next[i];
    uni -= Math.log((counts.unigram[b] + 1) / (total + v));
    const continuation = (precursors[b] + 1) / (types + v);
    const h = history[a];
    const p = h > 0 ? Math.max((pair.get(a * v + b) ?? 0) - KN_DISCOUNT, 0) / h + ((KN_DISCOUNT * followers[a]) / h) * continuation : continuation;
    bi -= Math.log(p);
  }
  return { unigram: uni / next.length, bigram: bi / next.length };
}

export interface CharScore {
  natsPerChar: number;
  bitsPerChar: number;
  perplexity: number;
}

export interface CharScores {
  /** Held-out characters scored: every target of the evaluated windows. */
  characters: number;
  model: CharScore;
  /** Absent for model files saved before the baselines existed (no counts stored). */
  unigram?: CharScore;
  bigram?: CharScore;
  smoothing: typeof SMOOTHING;
  /** Set when the model's loss is not below the bigram baseline's. */
  warning?: string;
}

export function charScore(nats: number): CharScore {
  return { natsPerChar: nats, bitsPerChar: nats / Math.LN2, perplexity: Math.exp(nats) };
}

/**
 * The model's mean loss `modelNats` on windows x → y (ids [n, window]) next to both baselines on the
 * same (x[i], y[i]) pairs.
 */
export function charScores(modelNats: number, counts: CharCounts | undefined, v: number, x: Int32Array, y: Int32Array): CharScores {
  const scores: CharScores = { characters: y.length, model: charScore(modelNats), smoothing: SMOOTHING };
  if (!counts) return scores;
  const base = baselineNats(counts, v, x, y);
  scores.unigram = charScore(base.unigram);
  scores.bigram = charScore(base.bigram);
  if (!(modelNats < base.bigram)) {
    scores.warning =
      `the model (${scores.model.bitsPerChar.toFixed(3)} bits/char) does not beat the bigram baseline ` +
      `(${scores.bigram.bitsPerChar.toFixed(3)} bits/char) on the same characters: train longer (--epochs), with more --hidden units or more text`;
  }
  return scores;
}

/** The scores as a small aligned table for the console (plus the warning line, if any). */
export function charScoreTable(s: CharScores, where: string): string {
  const rows: Array<[string, CharScore | undefined]> = [
    ['model', s.model],
    [`unigram baseline (${s.smoothing.unigram})`, s.unigram],
    ['bigram baseline (Kneser-Ney)', s.bigram],
  ];
  const present = rows.filter((r): r is [string, CharScore] => r[1] !== undefined);
  const width = Math.max(...present.map(([name]) => name.length)) + 2;
  const num = (x: number) => x.toFixed(3).padStart(10);
  const lines = [
    `per character on ${s.characters} ${where} characters:`,
    `  ${''.padEnd(width)}${'nats/char'.padStart(10)}${'bits/char'.padStart(10)}${'perplexity'.padStart(11)}`,
    ...present.map(([name, c]) => `  ${name.padEnd(width)}${num(c.natsPerChar)}${num(c.bitsPerChar)} ${num(c.perplexity)}`),
  ];
  if (!s.unigram) lines.push('  (no baselines: this model file stores no training counts; retrain to get them)');
  if (s.warning) lines.push(`warning: ${s.warning}`);
  return lines.join('\n');
}
