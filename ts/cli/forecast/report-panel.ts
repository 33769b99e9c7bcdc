/**
 * The report's forecast panel from the held-out score: the 1-step-ahead forecasts (the first horizon) of
 * the last ≤ 400 held-out origins with both baselines and the 80% interval band (on a date axis when the
 * CSV has dates), the per-horizon table and the metric's definition — the same numbers `train` prints,
 * taken from the same ForecastScore.
 */

import type { ForecastMeta } from '../datasets/types.js';
import { fmt } from '../progress.js';
import type { ReportData } from '../report-data.js';
import { intervalAt } from './intervals.js';
import type { ForecastScore } from './metrics.js';
import { lossWarning } from './summary.js';

const MAX_POINTS = 400;

/**
 * Where the scored origins start, for the definition sentence: "from row 596, 2007-11-01, the first row of
 * the held-out tail" (the split's date stored in the model), or the tail's start when the first origin is later.
 */
function originsText(meta: ForecastMeta, first: number): string {
  const sp = meta.split;
  if (!sp || sp.row >= sp.rows) return `from row ${first}`;
  const at = `row ${sp.row}${sp.date ? `, ${sp.date}` : ''}`;
  return first === sp.row ? `from ${at}, the first row of the held-out tail` : `from row ${first}; the held-out tail starts at ${at}`;
}

/** `dates`: epoch ms per row of the scored series (a CSV with dates), for a date x axis. */
export function forecastPanel(meta: ForecastMeta, s: ForecastScore, dates?: readonly number[]): NonNullable<ReportData['forecast']> {
  const from = Math.max(0, s.origins.length - MAX_POINTS);
  const first = (paths: number[][]) => paths.slice(from).map((p) => p[0]);
  const predicted = first(s.paths.model);
  const baselines = [{ name: 'persistence', values: first(s.paths.persistence) }];
  if (s.paths.seasonalNaive) baselines.push({ name: `seasonal naive (${s.seasonalNaive!.period})`, values: first(s.paths.seasonalNaive) });
  const [lo, hi] = meta.intervals ? intervalAt(meta.intervals, 1) : [NaN, NaN];
  const columns = ['model', 'persistence', ...(s.seasonalNaive ? [`seasonal naive (${s.seasonalNaive.period})`] : [])];
  const rows = s.horizons.map((r) => ({
    label: `h = ${r.horizon}`,
    values: [r.model.rmse, r.persistence.rmse, ...(r.seasonalNaive ? [r.seasonalNaive.rmse] : [])],
  }));
  rows.push({ label: 'all (headline)', values: [s.model.rmse, s.persistence.rmse, ...(s.seasonalNaive ? [s.seasonalNaive.rmse] : [])] });
  const warning = lossWarning(s);
  return {
    truth: first(s.paths.truth),
    predicted,
    startIndex: s.origins[from],
    ...(dates ? { dates: s.origins.slice(from).map((o) => dates[o]) } : {}),
    label: `${meta.target}: 1-step-ahead forecasts of the held-out tail${from > 0 ? ` (last ${MAX_POINTS} of ${s.origins.length})` : ''}`,
    baselines,
    ...(meta.intervals ? { band: { lower: predicted.map((v) => v + lo), upper: predicted.map((v) => v + hi), level: meta.intervals.level } } : {}),
    definition: `${s.definition[0].toUpperCase()}${s.definition.slice(1)}: ${s.points} points (${s.origins.length} origins ${originsText(meta, s.origins[0])}). The band is the ${Math.round((meta.intervals?.level ?? 0.8) * 100)}% interval from the empirical quantiles of these held-out errors.`,
    table: { columns, rows },
    verdict: warning
      ? { text: warning, warn: true }
      : { text: `model RMSE ${fmt(s.model.rmse)} = ${fmt(s.skill)}× the better baseline (${s.better})${s.mase !== undefined ? `; MASE ${fmt(s.mase)}` : ''}`, warn: false },
  };
}
