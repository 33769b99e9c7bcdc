/**
 * What the two backend adapters (./native.ts and ./wasm.ts) share, so they cannot drift apart: the
 * parsing of the core's trace meta JSON and the rule that `trainEpoch` reports every failure through
 * its Promise. (Their argument checks, mirroring crates/rnnkit-node/src/env.rs, are in ../validate.ts.)
 */

import type { TracePanelMeta } from './types.js';

/** The core's trace meta JSON (`{"steps", "panels"}`, see crates/rnnkit-core/src/trace.rs). */
export function parseTraceMeta(meta: string): { steps: number; panels: TracePanelMeta[] } {
  return JSON.parse(meta) as { steps: number; panels: TracePanelMeta[] };
}

/**
 * Runs `body` so that every failure, synchronous argument errors included, rejects the returned
 * Promise (as an async function would) after passing through `mapError`.
 */
export function settle<T>(body: () => T | Promise<T>, mapError: (e: unknown) => unknown = (e) => e): Promise<T> {
  try {
    return Promise.resolve(body()).catch((e: unknown) => {
      throw mapError(e);
    });
  } catch (e) {
    return Promise.reject(mapError(e));
  }
}
