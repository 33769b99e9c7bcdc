/**
 * Forecasts from a trained model at given origins, in the target's units: the model's direct `horizon`
 * outputs first, then, for more steps, the same model rolled forward on its own forecasts (recursive).
 * Covariates' future values are never needed: within the horizon the head already forecasts every step
 * from the context, and beyond it the covariates are rolled forward by seasonal naive (persistence when
 * there is no season), as `forecastMode` says. One function for train's headline, eval, backtest and predict, so they agree.
 */

import { tensor, type Sequential } from '../../index.js';
import type { Tensor3D } from '../../tensor.js';
import { contextRows, forecastWindows, transformOf } from '../datasets/series.js';
import type { ForecastMeta } from '../datasets/types.js';
import { decode } from './transforms.js';

/** How `steps` values come out of a model of this horizon, as one line. */
export function forecastMode(meta: ForecastMeta, steps: number): string {
  const h = meta.horizon;
  const m = meta.season?.period ?? 0;
  const cov = meta.columns.length <= 1 ? '' : m > 1 ? `; covariates rolled forward by seasonal naive (season ${m})` : '; covariates rolled forward by persistence (no season)';
  if (steps <= h) return `direct ${h}-step forecast${steps < h ? ` (first ${steps} steps)` : ''}`;
  if (h === 1) return `recursive: 1-step model rolled ${steps} times${cov}`;
  return `direct ${h}-step forecasts rolled ${Math.ceil(steps / h)} times${cov}`;
}

/**
 * Forecasts of `steps` rows from each origin (the first forecast row; rows before it are the context).
 * `columns` holds meta.columns' values in original units; nothing at or after an origin is read.
 */
export function forecastPaths(model: Sequential, meta: ForecastMeta, columns: readonly (readonly number[])[], origins: readonly number[], steps: number, returnSequences: boolean): number[][] {
  const tr = transformOf(meta);
  const w = meta.window;
  const h = meta.horizon;
  const f = columns.length;
  const m = Math.max(1, meta.season?.period ?? 0);
  const keep = contextRows(meta) + m;
  for (const e of origins) {
    if (e < contextRows(meta)) throw new RangeError(`forecast origin ${e} has fewer than ${contextRows(meta)} rows of context`);
  }
  // Each origin's own history, extended by its forecasts (target) and roll-forwards (covariates).
  const hist = origins.map((e) => columns.map((col) => col.slice(Math.max(0, e - keep), e)));
  const paths = origins.map((): number[] => []);
  const per = returnSequences ? w * h : h;
  const offset = returnSequences ? (w - 1) * h : 0;
  while (paths.length > 0 && paths[0].length < steps) {
    const x = new Float32Array(origins.length * w * f);
    hist.forEach((cols, k) => x.set(forecastWindows(meta, cols, [cols[0].length]).x, k * w * f));
    const out = model.predict(tensor(x, [origins.length, w, f]) as Tensor3D).data as Float32Array;
    hist.forEach((cols, k) => {
      const y = decode(tr, cols[meta.targetIndex], out.subarray(k * per + offset, k * per + offset + h));
      const take = Math.min(h, steps - paths[k].length);
      for (let u = 0; u < take; u++) {
        paths[k].push(y[u]);
        cols.forEach((col, c) => col.push(c === meta.targetIndex ? y[u] : col[col.length - m]));
      }
    });
  }
  return paths;
}
