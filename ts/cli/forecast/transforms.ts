/**
 * How the target column is shown to the network and how its output is turned back into the target's
 * units. A recurrent model with a tanh inside cannot extrapolate a level it never saw in training (a
 * trending series leaves the training range in the held-out tail), so the target can be differenced
 * (first, seasonal or both) or each window normalised by its own last value; either way the network
 * predicts a change and the decoder adds it back onto the known history.
 *
 * Every transform is a pair of per-row encodings used at each step `t` of a window ending at row `e`:
 * - input(t): the value fed at row t;
 * - target(t, u): what the output at row t must predict about row t + u (u = 1..horizon).
 * `decode` inverts target(e − 1, u) exactly given the history before `e` (round trip tested).
 */

export const TRANSFORMS = ['auto', 'none', 'diff', 'seasonal-diff', 'diff+seasonal', 'window-norm'] as const;
export type TransformChoice = (typeof TRANSFORMS)[number];
export type TransformName = Exclude<TransformChoice, 'auto'>;

export interface TargetTransform {
  name: TransformName;
  /** Differencing lags applied in order (diff [1], seasonal-diff [m], diff+seasonal [1, m]; else []). */
  lags: number[];
  /** The encoded value is (v − center) / scale; statistics from the training rows only. */
  center: number;
  scale: number;
}

/** What each transform means, for --help and the one-line notice. */
export const TRANSFORM_TEXT: Record<TransformName, string> = {
  none: 'levels, z-scored',
  diff: 'first differences, z-scored',
  'seasonal-diff': 'seasonal differences, z-scored',
  'diff+seasonal': 'first then seasonal differences, z-scored',
  'window-norm': 'each window minus its last value, scaled',
};

/** Rows before a window that the encoding reads (the differencing lags). */
export function lookback(tr: TargetTransform): number {
  return tr.lags.reduce((a, b) => a + b, 0);
}

/** y differenced by each lag in turn; NaN where a lag reaches before row 0. */
export function difference(y: readonly number[], lags: readonly number[]): number[] {
  let cur = y.slice();
  for (const lag of lags) cur = cur.map((v, t) => (t >= lag ? v - cur[t - lag] : NaN));
  return cur;
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const ok = xs.filter(Number.isFinite);
  const mean = ok.reduce((a, b) => a + b, 0) / Math.max(1, ok.length);
  const sd = Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ok.length));
  return { mean, std: sd > 1e-12 ? sd : 1 };
}

function lagsOf(name: TransformName, season: number): number[] {
  switch (name) {
    case 'diff':
      return [1];
    case 'seasonal-diff':
      return [season];
    case 'diff+seasonal':
      return [1, season];
    default:
      return [];
  }
}

/** Fits `name` on rows [0, split) of the target (`season` for the seasonal ones, `window` for window-norm's scale). */
export function fitTransform(name: TransformName, y: readonly number[], split: number, season: number, window: number): TargetTransform {
  const train = y.slice(0, split);
  const lags = lagsOf(name, season);
  if (name === 'window-norm') {
    // Scale: RMS change over the distances a window spans, so encoded inputs are O(1).
    let s = 0;
    let k = 0;
    for (let d = 1; d <= window; d++) for (let t = d; t < train.length; t++, k++) s += (train[t] - train[t - d]) ** 2;
    const rms = Math.sqrt(s / Math.max(1, k));
    return { name, lags, center: 0, scale: rms > 1e-12 ? rms : 1 };
  }
  const { mean, std } = meanStd(difference(train, lags));
  return { name, lags, center: mean, scale: std };
}

/** Encoded per-row series for targets: for rows ≥ lookback; `target(t, u)` reads it (or y for window-norm). */
export function encodedSeries(tr: TargetTransform, y: readonly number[]): Float64Array {
  if (tr.name === 'window-norm') return Float64Array.from(y);
  const d = difference(y, tr.lags);
  return Float64Array.from(d, (v) => (v - tr.center) / tr.scale);
}

/** input(t) of a window ending before row `end`, from `encodedSeries`. */
export function encodedInput(tr: TargetTransform, enc: Float64Array, t: number, end: number): number {
  return tr.name === 'window-norm' ? (enc[t] - enc[end - 1]) / tr.scale : enc[t];
}

/** target(t, u): what the output at row t predicts for row t + u, from `encodedSeries`. */
export function encodedTarget(tr: TargetTransform, enc: Float64Array, t: number, u: number): number {
  return tr.name === 'window-norm' ? (enc[t + u] - enc[t]) / tr.scale : enc[t + u];
}

/**
 * The target's values at rows e, e+1, … from the network's outputs at row e − 1 (`z[u − 1]` = target(e − 1, u)),
 * given the history `y` of rows before e (at least the lookback).
 */
export function decode(tr: TargetTransform, y: readonly number[], z: ArrayLike<number>): number[] {
  const n = z.length;
  if (tr.name === 'window-norm') return Array.from({ length: n }, (_, u) => y[y.length - 1] + z[u] * tr.scale);
  if (tr.lags.length === 0) return Array.from({ length: n }, (_, u) => z[u] * tr.scale + tr.center);
  // Levels L0 = y, Lk = L(k−1) − lag_k(L(k−1)) over the history; extend the last level by the forecasts
  // and integrate back level by level, row by row.
  const hist = y.slice(-(lookback(tr) + 1));
  const levels: number[][] = [hist.slice()];
  for (const lag of tr.lags) {
    const prev = levels[levels.length - 1];
    levels.push(prev.map((v, t) => (t >= lag ? v - prev[t - lag] : NaN)));
  }
  const out: number[] = [];
  for (let u = 0; u < n; u++) {
    let v = z[u] * tr.scale + tr.center;
    levels[tr.lags.length].push(v);
    for (let k = tr.lags.length; k >= 1; k--) {
      const below = levels[k - 1];
      v = v + below[below.length - tr.lags[k - 1]];
      below.push(v);
    }
    out.push(v);
  }
  return out;
}
