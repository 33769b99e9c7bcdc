/**
 * The two forecasts any model must beat, computed from the same origins as the model's forecasts:
 * persistence (every future row equals the last known one) and seasonal naive (each future row equals
 * the row one season earlier that is already known). Plus the MASE scale (Hyndman & Koehler 2006): the
 * in-sample mean absolute error of the one-step (seasonal) naive forecast on the training rows.
 */

/** Persistence: `steps` copies of y[e − 1] for each origin e. */
export function persistencePaths(y: readonly number[], origins: readonly number[], steps: number): number[][] {
  return origins.map((e) => new Array<number>(steps).fill(y[e - 1]));
}

/** Seasonal naive with period m: row e + u (u = 0…) takes y[e + u − m·⌈(u + 1)/m⌉], the latest known same-season row. */
export function seasonalNaivePaths(y: readonly number[], origins: readonly number[], steps: number, m: number): number[][] {
  return origins.map((e) => Array.from({ length: steps }, (_, u) => y[e + u - m * Math.ceil((u + 1) / m)]));
}

/** Mean |y_t − y_(t−m)| over training rows [0, split) (m = 1 without a season): the MASE denominator. */
export function maseScale(y: readonly number[], split: number, m: number): number {
  const lag = m > 1 && m < split ? m : 1;
  let s = 0;
  for (let t = lag; t < split; t++) s += Math.abs(y[t] - y[t - lag]);
  return s / Math.max(1, split - lag);
}
