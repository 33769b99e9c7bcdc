/**
 * Timing one prepared call with tinybench. tinybench over the `benchmark` package: it is maintained,
 * typed, awaits async tasks natively (onnxruntime's `run` and tfjs's `trainOnBatch` return promises),
 * keeps the raw samples for our own median/p25–p75, and has separate warm-up and sampling time budgets.
 * Its budgets are minimums, so a probe call first sizes the iteration counts: a call slower than the
 * budget gets a single warm-up call (the probe) and one to three samples instead of blowing the time box.
 * run.ts splits each fast peer's budget into rounds interleaved with the other peers (see there).
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

/** Times one call (compilation, allocation, lazy init): never a sample, but sizes the sampling. */
export async function probe(call: () => unknown): Promise<number> {
  const t0 = performance.now();
  await call();
  return performance.now() - t0;
}

/** Whether a call that took `probeMs` is too slow for `budget.minSamples` samples in the budget. */
export function isSlow(probeMs: number, budget: Budget): boolean {
  return probeMs * budget.minSamples > budget.budgetMs;
}

/**
 * Samples `call` within `budget`. `probeMs` is a probe already taken (else one is taken now);
 * `warmup: false` skips the warm-up (a later round of a peer that was warmed up before).
 */
export async function sample(call: () => unknown, budget: Budget, opts: { probeMs?: number; warmup?: boolean } = {}): Promise<number[]> {
  const probeMs = opts.probeMs ?? (await probe(call));
  const slow = isSlow(probeMs, budget);
  const bench = new Bench({
    time: budget.budgetMs,
    iterations: slow ? Math.max(1, Math.min(budget.minSamples, Math.floor(budget.budgetMs / probeMs))) : budget.minSamples,
    warmup: (opts.warmup ?? true) && (!slow || probeMs * 2 < budget.warmupMs),
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
