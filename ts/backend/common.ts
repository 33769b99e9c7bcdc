/**
 * What the two backend adapters (./native.ts and ./wasm.ts) share, so they cannot drift apart: the
 * parsing of the core's trace meta JSON, the states list ↔ one buffer, and the rule that
 * `trainEpoch` reports every failure through its Promise. (Their argument checks, mirroring crates/rnnkit-node/src/env.rs, are in ../validate.ts.)
 */

import { describe, shapeError, typeError } from '../errors.js';
import type { StateInfo, TracePanelMeta } from './types.js';

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

/**
 * The states list of the backend contract ↔ the one buffer the bindings take and return (every state
 * of `stateInfo(batch)` concatenated in order). Keeps the last batch's layout, so a forward asks
 * the core about it once per batch size, not once per call.
 */
export class StateLayout {
  #batch = -1;
  #info: StateInfo[] = [];
  constructor(private readonly query: (batch: number) => string) {}

  info(batch: number): StateInfo[] {
    if (batch !== this.#batch) {
      this.#info = JSON.parse(this.query(batch)) as StateInfo[];
      this.#batch = batch;
    }
    return this.#info;
  }

  /** One buffer for the list (absent entries are zeros), or undefined when no state is given. */
  join(batch: number, states: readonly (Float32Array | undefined)[] | undefined, arg: string): Float32Array | undefined {
    if (states === undefined || states.length === 0) return undefined;
    if (!Array.isArray(states)) throw typeError(arg, 'an array of Float32Array (one per state)', describe(states));
    const info = this.info(batch);
    if (states.length !== info.length) {
      const names = info.map((s) => `layer ${s.layer} ${s.name} [${s.dims.join(', ')}]`).join(', ');
      throw shapeError(arg, `${info.length} states (${names || 'this model carries none'})`, `${states.length}`);
    }
    const total = info.reduce((n, s) => n + s.dims.reduce((a, b) => a * b, 1), 0);
    const flat = new Float32Array(total);
    let at = 0;
    info.forEach((s, i) => {
      const n = s.dims.reduce((a, b) => a * b, 1);
      const v = states[i];
      if (v !== undefined) {
        if (!(v instanceof Float32Array)) throw typeError(`${arg}[${i}]`, 'a Float32Array', describe(v));
        if (v.length !== n) throw shapeError(`${arg}[${i}]`, `${n} values (layer ${s.layer} ${s.name} [${s.dims.join(', ')}])`, `${v.length} values`);
        flat.set(v, at);
      }
      at += n;
    });
    return flat;
  }

  /** The list for one buffer (views into it). */
  split(batch: number, flat: Float32Array): Float32Array[] {
    if (flat.length === 0) return [];
    let at = 0;
    return this.info(batch).map((s) => {
      const n = s.dims.reduce((a, b) => a * b, 1);
      at += n;
      return flat.subarray(at - n, at);
    });
  }
}

/** The batch of `xDims` in the model's layout. */
export function batchOf(specBatchFirst: boolean, xDims: readonly number[]): number {
  return specBatchFirst ? xDims[0] : xDims[1];
}
