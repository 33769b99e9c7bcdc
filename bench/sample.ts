/**
 * Timing one prepared call with tinybench. tinybench over the `benchmark` package: it is maintained,
 * typed, awaits async tasks natively (onnxruntime's `run` and tfjs's `trainOnBatch` return promises),
 * keeps the raw samples for our own median/p25–p75, and has separate warm-up and sampling time budgets.
 * Its budgets are minimums, so a probe call first sizes the iteration counts: a call slower than the
 * budget gets a single warm-up call (the probe) and one to three samples instead of blowing the time box.
 */

import { Bench } from 'tinybench';

export interface Budget {
  /** Warm-up time budget per workload × peer, ms. */
  warmupMs: number;
  /** Sampling time budget per workload × peer, ms. */
  budgetMs: number;
  /** Samples to take at least when each call is faster than budgetMs / minSamples. */
  minSamples: number;
}

export async function sample(call: () => unknown, budget: Budget): Promise<number[]> {
  // Probe: the first call (compilation, allocation, lazy init) is never a sample.
  const t0 = performance.now();
  await call();
  const probeMs = performance.now() - t0;
  const slow = probeMs * budget.minSamples > budget.budgetMs;
  const bench = new Bench({
    time: budget.budgetMs,
    iterations: slow ? Math.max(1, Math.min(budget.minSamples, Math.floor(budget.budgetMs / probeMs))) : budget.minSamples,
    warmup: !slow || probeMs * 2 < budget.warmupMs,
    warmupTime: budget.warmupMs,
    warmupIterations: 1,
    retainSamples: true,
    throws: true,
  });
  bench.add('call', call);
  await bench.run();
  const result = bench.tasks[0].result as { latency?: { samples?: readonly number[] } };
  return [...(result.latency?.samples ?? [])];
}
