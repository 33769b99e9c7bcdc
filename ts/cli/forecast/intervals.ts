/**
 * Prediction intervals from held-out errors: at each step ahead, the empirical 10% and 90% quantiles of
 * (truth − forecast) over the held-out tail, added to a new forecast (an 80% interval). `train` measures
 * them up to 24 steps ahead (recursive beyond the model's horizon); further out, the last measured step's
 * quantiles are widened by √(step / measured steps), the growth of a random walk's error, and the CLI says so.
 */

export const INTERVAL_LEVEL = 0.8;

export interface Intervals {
  level: number;
  /** Per horizon: error quantiles (negative lower, positive upper for an unbiased model). */
  lower: number[];
  upper: number[];
}

/** One line: how the stored intervals were made (train's summary). */
export function intervalNote(iv: Intervals | undefined): string {
  if (!iv) return 'no prediction intervals (no held-out tail)';
  const n = iv.lower.length;
  return `${Math.round(iv.level * 100)}% prediction intervals: empirical quantiles of held-out errors, measured 1–${n} step${n > 1 ? 's' : ''} ahead, stored for predict`;
}

/** The q-quantile (linear interpolation) of `xs`. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Intervals from held-out residuals `residuals[u]` (horizon u + 1). */
export function intervalsFrom(residuals: readonly (readonly number[])[], level = INTERVAL_LEVEL): Intervals {
  const a = (1 - level) / 2;
  return { level, lower: residuals.map((r) => quantile(r, a)), upper: residuals.map((r) => quantile(r, 1 - a)) };
}

/** [lower, upper] offsets at step `step` (1-based) of a forecast. */
export function intervalAt(iv: Intervals, step: number): [number, number] {
  const h = iv.lower.length;
  if (step <= h) return [iv.lower[step - 1], iv.upper[step - 1]];
  const grow = Math.sqrt(step / h);
  return [iv.lower[h - 1] * grow, iv.upper[h - 1] * grow];
}

/** Share of residuals (per horizon) inside the intervals: ≈ level when the intervals are calibrated. */
export function coverage(iv: Intervals, residuals: readonly (readonly number[])[]): number {
  let inside = 0;
  let n = 0;
  residuals.forEach((r, u) => {
    const [lo, hi] = intervalAt(iv, u + 1);
    for (const e of r) {
      n++;
      if (e >= lo && e <= hi) inside++;
    }
  });
  return n > 0 ? inside / n : NaN;
}
