/**
 * The one forecast metric: RMSE and MAE of full-context forecasts at each horizon, on forecast origins
 * whose targets lie in rows the model never trained on (the context may reach back into training rows),
 * next to persistence and seasonal naive on exactly the same points. `train`'s headline, `eval`, the
 * backtest table and the report's forecast panel all come from `scoreForecasts`, so they cannot disagree.
 */

import type { Sequential } from '../../index.js';
import type { ForecastMeta } from '../datasets/types.js';
import { maseScale, persistencePaths, seasonalNaivePaths } from './baselines.js';
import { forecastPaths } from './forecaster.js';

export const METRIC_DEFINITION =
  'held-out RMSE/MAE: forecasts from full context (which may reach back into training rows) of rows the model never trained on, ' +
  'pooled over horizons 1…H; baselines scored on exactly the same rows';

export interface ErrorStats {
  rmse: number;
  mae: number;
}

export interface HorizonRow {
  horizon: number;
  points: number;
  model: ErrorStats;
  persistence: ErrorStats;
  seasonalNaive?: ErrorStats;
}

export interface ForecastScore {
  definition: string;
  /** Forecast origins (first forecast row of each). */
  origins: number[];
  /** (origin, horizon) pairs scored. */
  points: number;
  horizons: HorizonRow[];
  model: ErrorStats;
  persistence: ErrorStats;
  seasonalNaive?: ErrorStats & { period: number };
  /** The better baseline by RMSE and the model's RMSE divided by it (< 1: the model wins). */
  better: 'persistence' | 'seasonal naive';
  skill: number;
  /** Model MAE / the training rows' one-step (seasonal) naive MAE; undefined without a stored scale. */
  mase?: number;
  /** Truth − forecast per horizon (index u = horizon u + 1), origin order. */
  residuals: number[][];
  /** Per origin: the forecast paths of the model and baselines (`steps` long) and the truth. */
  paths: { truth: number[][]; model: number[][]; persistence: number[][]; seasonalNaive?: number[][] };
}

function stats(truth: readonly number[][], pred: readonly number[][], u?: number): ErrorStats {
  let se = 0;
  let ae = 0;
  let n = 0;
  truth.forEach((row, k) => {
    row.forEach((v, j) => {
      if (u !== undefined && j !== u) return;
      const d = v - pred[k][j];
      se += d * d;
      ae += Math.abs(d);
      n++;
    });
  });
  return { rmse: Math.sqrt(se / n), mae: ae / n };
}

/**
 * Scores `steps`-step forecasts (default the model's horizon) from each origin against the truth in
 * `columns` (meta.columns' values, original units). Every origin's targets must exist in `columns`.
 */
export function scoreForecasts(
  model: Sequential,
  meta: ForecastMeta,
  columns: readonly (readonly number[])[],
  origins: readonly number[],
  returnSequences: boolean,
  steps = meta.horizon,
): ForecastScore {
  if (origins.length === 0) throw new RangeError('scoreForecasts: no forecast origins');
  const y = columns[meta.targetIndex];
  const truth = origins.map((e) => Array.from({ length: steps }, (_, u) => y[e + u]));
  const model_ = forecastPaths(model, meta, columns, origins, steps, returnSequences);
  const persistence = persistencePaths(y, origins, steps);
  const m = meta.season?.period ?? 0;
  const seasonal = m > 1 ? seasonalNaivePaths(y, origins, steps, m) : undefined;
  const horizons: HorizonRow[] = Array.from({ length: steps }, (_, u) => ({
    horizon: u + 1,
    points: origins.length,
    model: stats(truth, model_, u),
    persistence: stats(truth, persistence, u),
    ...(seasonal ? { seasonalNaive: stats(truth, seasonal, u) } : {}),
  }));
  const overall = stats(truth, model_);
  const p = stats(truth, persistence);
  const s = seasonal ? { ...stats(truth, seasonal), period: m } : undefined;
  const better = s && s.rmse < p.rmse ? 'seasonal naive' : 'persistence';
  const best = better === 'seasonal naive' ? s!.rmse : p.rmse;
  return {
    definition: METRIC_DEFINITION,
    origins: [...origins],
    points: origins.length * steps,
    horizons,
    model: overall,
    persistence: p,
    ...(s ? { seasonalNaive: s } : {}),
    better,
    skill: overall.rmse / best,
    ...(meta.maseScale ? { mase: overall.mae / meta.maseScale } : {}),
    residuals: horizons.map((_, u) => truth.map((row, k) => row[u] - model_[k][u])),
    paths: { truth, model: model_, persistence, ...(seasonal ? { seasonalNaive: seasonal } : {}) },
  };
}

/** The MASE scale of a training series (stored in the model at train time). */
export function trainingMaseScale(meta: ForecastMeta, target: readonly number[]): number {
  return maseScale(target, meta.split?.row ?? target.length, meta.season?.period ?? 0);
}

/** Flat numbers for `metrics` objects (JSON, model file, report cards). */
export function scoreMetrics(s: ForecastScore): Record<string, number> {
  return {
    rmse: s.model.rmse,
    mae: s.model.mae,
    persistence_rmse: s.persistence.rmse,
    ...(s.seasonalNaive ? { seasonal_naive_rmse: s.seasonalNaive.rmse } : {}),
    skill_rmse_ratio: s.skill,
    ...(s.mase !== undefined ? { mase: s.mase } : {}),
    points: s.points,
  };
}
