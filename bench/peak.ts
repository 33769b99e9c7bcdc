/**
 * The machine's measured FMA peak (GFLOP/s), for the report's "% of peak" column: rnnkit-core's
 * FMA-throughput loop (crates/rnnkit-core/src/peak.rs) run through the native addon's `peakGflops`.
 */

import { loadNativeAddon } from '../ts/backend/native.js';

/** Best of `reps` runs of `threads` concurrent FMA loops; undefined when the addon lacks the export. */
export function measurePeak(threads: number, millis = 200, reps = 3): number | undefined {
  try {
    const addon = loadNativeAddon() as unknown as { peakGflops?: (t: number, ms: number) => number };
    if (typeof addon.peakGflops !== 'function') return undefined;
    // Best, not median: the peak is a ceiling, and interference from other processes only lowers a sample.
    let best = 0;
    for (let i = 0; i < reps; i++) best = Math.max(best, addon.peakGflops(threads, millis));
    return best;
  } catch {
    return undefined;
  }
}
