/**
 * The forecast scores as the CLI shows them: a per-horizon table of model vs persistence vs seasonal
 * naive, the skill line, and a warning when the model loses to a baseline; and the same numbers as a
 * plain JSON object (no per-point paths) for --json output and the model file.
 */

import { fmt } from '../progress.js';
import type { ErrorStats, ForecastScore } from './metrics.js';

/** Lines of text (no trailing newline) for a score; `what` says which rows were scored. */
export function scoreText(s: ForecastScore, target: string, what: string): string {
  const sn = s.seasonalNaive;
  const head = ['horizon', 'model RMSE', 'persistence', ...(sn ? [`seasonal naive (${sn.period})`] : [])];
  const rows = s.horizons.map((r) => [String(r.horizon), fmt(r.model.rmse), fmt(r.persistence.rmse), ...(r.seasonalNaive ? [fmt(r.seasonalNaive.rmse)] : [])]);
  if (s.horizons.length > 1) rows.push(['all', fmt(s.model.rmse), fmt(s.persistence.rmse), ...(sn ? [fmt(sn.rmse)] : [])]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  const lines = [
    `${what}: ${s.origins.length} forecast origins × ${s.horizons.length} horizon${s.horizons.length > 1 ? 's' : ''} = ${s.points} points of ${target}` +
      (sn ? '' : ' (no season: seasonal naive not computed; give --season N)'),
    line(head),
    ...rows.map(line),
    `skill: model RMSE ${fmt(s.model.rmse)} (MAE ${fmt(s.model.mae)}) = ${fmt(s.skill)}× the better baseline (${s.better}, RMSE ${fmt(s.better === 'persistence' ? s.persistence.rmse : sn!.rmse)})` +
      (s.mase !== undefined ? `; MASE ${fmt(s.mase)}` : ''),
  ];
  const warning = lossWarning(s);
  if (warning) lines.push(warning);
  return lines.join('\n');
}

/** "warning: ..." when a baseline's RMSE is at or below the model's. */
export function lossWarning(s: ForecastScore): string | undefined {
  const losers: string[] = [];
  if (s.persistence.rmse <= s.model.rmse) losers.push(`persistence (RMSE ${fmt(s.persistence.rmse)})`);
  if (s.seasonalNaive && s.seasonalNaive.rmse <= s.model.rmse) losers.push(`seasonal naive (RMSE ${fmt(s.seasonalNaive.rmse)})`);
  if (losers.length === 0) return undefined;
  return `warning: the model (RMSE ${fmt(s.model.rmse)}) loses to ${losers.join(' and ')}: use the baseline, or try --transform, --window, --epochs`;
}

/** The score as JSON (per horizon and overall; no paths or residuals). */
export function scoreJson(s: ForecastScore): Record<string, unknown> {
  const e = (x: ErrorStats) => ({ rmse: x.rmse, mae: x.mae });
  return {
    definition: s.definition,
    origins: s.origins.length,
    firstOrigin: s.origins[0],
    points: s.points,
    model: e(s.model),
    persistence: e(s.persistence),
    ...(s.seasonalNaive ? { seasonalNaive: { ...e(s.seasonalNaive), period: s.seasonalNaive.period } } : {}),
    better: s.better,
    skillRmseRatio: s.skill,
    ...(s.mase !== undefined ? { mase: s.mase } : {}),
    beatsBaselines: lossWarning(s) === undefined,
    horizons: s.horizons.map((r) => ({
      horizon: r.horizon,
      points: r.points,
      model: e(r.model),
      persistence: e(r.persistence),
      ...(r.seasonalNaive ? { seasonalNaive: e(r.seasonalNaive) } : {}),
    })),
  };
}
