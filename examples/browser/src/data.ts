/**
 * The demo's data, generated in the page (nothing to download): a noisy series with two seasons and a
 * slow trend, normalised with statistics of the training part only, cut into windows whose target is
 * the next value at every step (sequence-to-sequence next-step forecasting).
 */

/**
 * Series length, where training data ends, training window length and stride, validation window
 * length. Training windows (96 steps) span a whole period of the slow season (90), which the
 * free-running forecast needs; shorter windows learn only the fast one.
 */
export const SERIES = { length: 1200, trainEnd: 960, window: 96, stride: 4, valWindow: 48, noise: 0.1, seed: 7 } as const;

/** mulberry32: small, seeded, good enough for demo noise. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** sin(2πt/24) + 0.5·sin(2πt/90 + 1) + a slow trend + Gaussian noise (σ = SERIES.noise). */
export function seasonalSeries(n: number = SERIES.length, seed: number = SERIES.seed): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    // Box–Muller; 1 - u() keeps log's argument in (0, 1].
    const g = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    out[t] = Math.sin((2 * Math.PI * t) / 24) + 0.5 * Math.sin((2 * Math.PI * t) / 90 + 1) + 0.3 * (t / n) + SERIES.noise * g;
  }
  return out;
}

export interface Normalised {
  z: Float32Array;
  mean: number;
  std: number;
}

/** z = (v - mean) / std with mean and std of v[0, trainEnd) — the held-out part never leaks in. */
export function normalise(v: Float32Array, trainEnd: number): Normalised {
  let mean = 0;
  for (let i = 0; i < trainEnd; i++) mean += v[i];
  mean /= trainEnd;
  let sq = 0;
  for (let i = 0; i < trainEnd; i++) sq += (v[i] - mean) ** 2;
  const std = Math.sqrt(sq / trainEnd);
  return { z: v.map((x) => (x - mean) / std), mean, std };
}

export interface Windows {
  /** [count, window, 1]: z[s .. s+window) */
  x: Float32Array;
  /** [count, window, 1]: z[s+1 .. s+window+1) — the next value at every step */
  y: Float32Array;
  count: number;
  window: number;
}

/** Windows starting at from, from+stride, … whose targets stay inside [from, to). */
export function windows(z: Float32Array, from: number, to: number, window: number, stride: number): Windows {
  const starts: number[] = [];
  for (let s = from; s + window + 1 <= to; s += stride) starts.push(s);
  const x = new Float32Array(starts.length * window);
  const y = new Float32Array(starts.length * window);
  starts.forEach((s, k) => {
    x.set(z.subarray(s, s + window), k * window);
    y.set(z.subarray(s + 1, s + window + 1), k * window);
  });
  return { x, y, count: starts.length, window };
}

/** Mean squared error of the persistence forecast (next value = this value): the bar to beat. */
export function persistenceMse(w: Windows): number {
  let s = 0;
  for (let i = 0; i < w.x.length; i++) s += (w.y[i] - w.x[i]) ** 2;
  return s / w.x.length;
}
