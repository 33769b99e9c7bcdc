/**
 * `--transform auto`: picks the target transform on the training rows only, by a quick validation inside
 * the training split. Each candidate encodes the series, a ridge-regularised linear autoregression (the
 * window's encoded values → the encoded next `horizon` values) is fitted on the first 80% of the training
 * rows and scored, decoded into the target's units, on the remaining 20%; the lowest RMSE wins. A linear
 * fit takes milliseconds, so every candidate is tried without training the network several times.
 * Levels ('none') are a candidate only when the training rows look level-stationary — the mean of their
 * second half lies within one standard deviation (of the first half) of the first half's mean — because a
 * network cannot forecast a level outside the range it was trained on, while a linear fit can.
 */

import { decode, encodedInput, encodedSeries, encodedTarget, fitTransform, lookback, type TargetTransform, type TransformName } from './transforms.js';

export interface TransformChoiceResult {
  transform: TargetTransform;
  /** Inner-validation RMSE (target units) per candidate tried. */
  scores: Partial<Record<TransformName, number>>;
  /** One line: what was chosen and why. */
  reason: string;
}

/** Solves (A + λI) x = b for symmetric positive A (Gaussian elimination with partial pivoting). */
function solve(a: number[][], b: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const piv = m[c][c] || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / piv;
      if (f !== 0) for (let k = c; k < m[r].length; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row.slice(n).map((v) => v / (m[i][i] || 1e-12)));
}

/** Inner-validation RMSE of a linear autoregression on `tr`'s encoding, or undefined when too few windows. */
function linearScore(tr: TargetTransform, y: readonly number[], inner: number, split: number, w: number, h: number): number | undefined {
  const enc = encodedSeries(tr, y);
  const first = w + lookback(tr);
  const trainEnds: number[] = [];
  for (let e = first; e + h <= inner; e++) trainEnds.push(e);
  if (trainEnds.length < 2 * (w + 1)) return undefined;
  const features = (e: number) => [...Array.from({ length: w }, (_, t) => encodedInput(tr, enc, e - w + t, e)), 1];
  const d = w + 1;
  const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const xty = Array.from({ length: d }, () => new Array<number>(h).fill(0));
  for (const e of trainEnds) {
    const f = features(e);
    const z = Array.from({ length: h }, (_, u) => encodedTarget(tr, enc, e - 1, u + 1));
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) xtx[i][j] += f[i] * f[j];
      for (let u = 0; u < h; u++) xty[i][u] += f[i] * z[u];
    }
  }
  const lambda = 1e-2 * trainEnds.length;
  for (let i = 0; i < w; i++) xtx[i][i] += lambda;
  const beta = solve(xtx, xty);
  let se = 0;
  let n = 0;
  for (let e = Math.max(inner, first); e + h <= split; e++) {
    const f = features(e);
    const z = Array.from({ length: h }, (_, u) => f.reduce((s, v, i) => s + v * beta[i][u], 0));
    const yhat = decode(tr, y.slice(0, e), z);
    for (let u = 0; u < h; u++, n++) se += (yhat[u] - y[e + u]) ** 2;
  }
  return n > 0 ? Math.sqrt(se / n) : undefined;
}

/** Whether the training rows' level stays put (see the header): the one condition for trying 'none'. */
export function levelStationary(y: readonly number[], split: number): boolean {
  const half = Math.floor(split / 2);
  const a = y.slice(0, half);
  const b = y.slice(half, split);
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - ma) ** 2, 0) / a.length);
  return Math.abs(mb - ma) <= sd;
}

export function chooseTransform(y: readonly number[], split: number, season: number, w: number, h: number): TransformChoiceResult {
  const stationary = levelStationary(y, split);
  const names: TransformName[] = [...(stationary ? (['none'] as const) : []), 'diff', 'window-norm'];
  if (season > 1) names.push('seasonal-diff', 'diff+seasonal');
  const inner = Math.floor(split * 0.8);
  const scores: Partial<Record<TransformName, number>> = {};
  let best: TransformName | undefined;
  for (const name of names) {
    const s = linearScore(fitTransform(name, y, inner, season, w), y, inner, split, w, h);
    if (s === undefined || !Number.isFinite(s)) continue;
    scores[name] = s;
    if (best === undefined || s < scores[best]!) best = name;
  }
  const level = stationary ? '' : '; levels not tried (the training rows trend)';
  if (best === undefined) {
    // Too short to validate inside the training rows: differences are the safe default for a level that may move.
    return { transform: fitTransform('diff', y, split, season, w), scores, reason: `diff (training rows too short for an inner validation)${level}` };
  }
  const tried = Object.entries(scores).map(([k, v]) => `${k} ${Number(v!.toPrecision(3))}`).join(', ');
  return {
    transform: fitTransform(best, y, split, season, w),
    scores,
    reason: `${best} (lowest inner-validation RMSE of a linear fit on the training rows: ${tried}${level})`,
  };
}
