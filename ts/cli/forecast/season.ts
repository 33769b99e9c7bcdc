/**
 * Season length of a series from its autocorrelation (ACF), for the seasonal-naive baseline, seasonal
 * differencing and rolling covariates forward. A stand-in with the same signature as the CSV work's
 * calendar-based `detectSeason` (ts/cli/datasets/calendar.ts), which also knows the sampling frequency
 * from dates; on merge the CLI should call that one and this file can go.
 */

export interface Season {
  /** Rows per season; 0 when none was found. */
  period: number;
  source: 'calendar' | 'acf' | 'none';
  /** Autocorrelation at `period` (of the series the peak was found in). */
  acf: number;
}

/** Sample autocorrelation of `x` at lags 0..maxLag. */
export function autocorrelation(x: readonly number[], maxLag: number): number[] {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let denom = 0;
  for (const v of x) denom += (v - mean) ** 2;
  const out = [1];
  for (let k = 1; k <= maxLag; k++) {
    let s = 0;
    for (let t = k; t < n; t++) s += (x[t] - mean) * (x[t - k] - mean);
    out.push(denom > 0 ? s / denom : 0);
  }
  return out;
}

/** Residuals of a least-squares line through `x` (removes a trend so the ACF shows the season). */
function detrended(x: readonly number[]): number[] {
  const n = x.length;
  const tm = (n - 1) / 2;
  let xm = 0;
  for (const v of x) xm += v;
  xm /= n;
  let sxy = 0;
  let sxx = 0;
  for (let t = 0; t < n; t++) {
    sxy += (t - tm) * (x[t] - xm);
    sxx += (t - tm) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return x.map((v, t) => v - xm - slope * (t - tm));
}

/**
 * The highest ACF peak in (1, n/2] over two views of the series — linearly detrended levels (long seasons
 * under noise, e.g. a year of daily temperatures) and first differences (short seasons on a strong trend,
 * e.g. monthly CO2). A peak must be a local maximum that rises at least 0.1 above the lowest ACF before it
 * (a slow decay is memory, not a season) and exceed 0.2. `frequency` (from dates) is accepted for the
 * calendar version's signature and unused here.
 */
export function detectSeason(values: number[], _frequency?: unknown): Season {
  const n = values.length;
  const maxLag = Math.min(Math.floor(n / 2), 500);
  let best: Season = { period: 0, source: 'none', acf: 0 };
  if (maxLag < 3) return best;
  const diffs = values.slice(1).map((v, t) => v - values[t]);
  for (const view of [detrended(values), diffs]) {
    const r = autocorrelation(view, maxLag);
    let low = r[1];
    for (let k = 2; k < maxLag; k++) {
      low = Math.min(low, r[k]);
      const peak = r[k] >= r[k - 1] && r[k] >= r[k + 1] && r[k] > 0.2 && r[k] - low >= 0.1;
      if (peak && r[k] > best.acf) best = { period: k, source: 'acf', acf: r[k] };
    }
  }
  return best;
}
