/**
 * Summary statistics of timing samples (ms) and derived rates. Medians and the p25–p75 spread are
 * used instead of mean ± sd because timings on a shared machine have heavy right tails.
 */

/** Linear-interpolated quantile (the "R-7"/numpy default) of ascending-sorted data, q in [0, 1]. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Summary {
  samples: number;
  medianMs: number;
  p25Ms: number;
  p75Ms: number;
  minMs: number;
}

export function summarize(samplesMs: readonly number[]): Summary {
  const s = [...samplesMs].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return {
    samples: s.length,
    medianMs: quantileSorted(s, 0.5),
    p25Ms: quantileSorted(s, 0.25),
    p75Ms: quantileSorted(s, 0.75),
    minMs: s.length ? s[0] : NaN,
  };
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e-3) / 1e9;
}

/** How many times faster `ours` is than `theirs` (both medians in ms): > 1 means ours is faster. */
export function speedup(oursMs: number, theirsMs: number): number {
  return theirsMs / oursMs;
}
