/**
 * The long-memory tasks of the reproduction (bench/memory/run.ts), generated from a seed:
 * - the adding problem (Hochreiter & Schmidhuber 1997; the IndRNN paper's setup after Le et al. 2015):
 *   two input channels per step, a value in U(0, 1) and a marker; exactly two steps are marked, one
 *   in each half; the target is the sum of the two marked values. Predicting the mean (1) scores
 *   MSE 1/6 ≈ 0.167, so anything well below that has learned to carry the marked values over T steps.
 * - selective copying (Gu & Dao 2023, the minGRU paper's task): `tokens` data tokens from a vocabulary
 *   of `symbols` scattered at random positions among `context` noise steps, then `tokens` marker
 *   steps at which the model must output the data tokens in order. Chance accuracy is 1/symbols.
 */

import { Random } from '../../ts/cli/datasets/random.js';

/** The data's generator: the CLI datasets' seeded mulberry32, the same draws for a seed on every machine. */
function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}

export interface AddingBatch {
  /** [n, steps, 2]: value, marker. */
  x: Float32Array;
  /** [n, 1]: the sum of the two marked values. */
  y: Float32Array;
}

export function addingProblem(n: number, steps: number, seed: number): AddingBatch {
  const r = rng(seed);
  const x = new Float32Array(n * steps * 2);
  const y = new Float32Array(n);
  const half = Math.floor(steps / 2);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < steps; t++) x[(b * steps + t) * 2] = r();
    const first = Math.floor(r() * half);
    const second = half + Math.floor(r() * (steps - half));
    for (const t of [first, second]) {
      x[(b * steps + t) * 2 + 1] = 1;
      y[b] += x[(b * steps + t) * 2];
    }
  }
  return { x, y };
}

export interface CopyingBatch {
  /** int32 ids [n, context + tokens]: 0 noise, 1..symbols data, symbols + 1 the marker. */
  x: Int32Array;
  /** int32 targets [n, context + tokens]: the data tokens in order at the marker steps, 0 elsewhere. */
  y: Int32Array;
  /** [n, context + tokens]: 1 at the marker steps (where the loss and accuracy count), else 0. */
  mask: Float32Array;
}

export interface CopyingShape {
  context: number;
  tokens: number;
  symbols: number;
}

/** The vocabulary a copying model embeds: noise, the symbols, the marker. */
export function copyingVocab(s: CopyingShape): number {
  return s.symbols + 2;
}

export function selectiveCopying(n: number, s: CopyingShape, seed: number): CopyingBatch {
  const r = rng(seed);
  const steps = s.context + s.tokens;
  const x = new Int32Array(n * steps);
  const y = new Int32Array(n * steps);
  const mask = new Float32Array(n * steps);
  const positions = Array.from({ length: s.context }, (_, i) => i);
  for (let b = 0; b < n; b++) {
    // A random set of `tokens` context positions, in order (partial Fisher–Yates, then sorted).
    for (let i = 0; i < s.tokens; i++) {
      const j = i + Math.floor(r() * (s.context - i));
      [positions[i], positions[j]] = [positions[j], positions[i]];
    }
    const chosen = positions.slice(0, s.tokens).sort((p, q) => p - q);
    chosen.forEach((p, k) => {
      const symbol = 1 + Math.floor(r() * s.symbols);
      x[b * steps + p] = symbol;
      const out = b * steps + s.context + k;
      x[out] = s.symbols + 1;
      y[out] = symbol;
      mask[out] = 1;
    });
  }
  return { x, y, mask };
}
