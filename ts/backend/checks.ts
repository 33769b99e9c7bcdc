/**
 * What the two backend adapters (./native.ts and ./wasm.ts) share, so they cannot drift apart:
 * argument checks with the names, codes and wording of crates/rnnkit-node/src/env.rs (the wasm
 * backend runs them in JS; the native addon runs the Rust originals), the parsing of the core's
 * trace meta JSON, and the rule that `trainEpoch` reports every failure through its Promise.
 */

import { describe, shapeError, typeError, valueError } from '../errors.js';
import type { Targets, TracePanelMeta } from './types.js';

/** Largest u32: the bound of every count, seed and dim that crosses the boundary as a u32. */
export const U32_MAX = 0xffff_ffff;

export function f32Array(v: unknown, name: string): Float32Array {
  if (!(v instanceof Float32Array)) throw typeError(name, 'a Float32Array', describe(v));
  return v;
}

/** undefined and null both mean "absent". */
export function optF32Array(v: unknown, name: string): Float32Array | undefined {
  return v === undefined || v === null ? undefined : f32Array(v, name);
}

export function optI32Array(v: unknown, name: string): Int32Array | undefined {
  if (v === undefined || v === null) return undefined;
  if (!(v instanceof Int32Array)) throw typeError(name, 'an Int32Array', describe(v));
  return v;
}

/** Model inputs: Float32Array features or Int32Array token ids. */
export function inputs(v: unknown, name: string): Float32Array | Int32Array {
  if (v instanceof Float32Array || v instanceof Int32Array) return v;
  throw typeError(name, 'a Float32Array (features) or Int32Array (token ids)', describe(v));
}

export function targets(v: unknown, name: string): Targets {
  if (v instanceof Float32Array || v instanceof Int32Array) return v;
  throw typeError(name, 'a Float32Array or Int32Array', describe(v));
}

export function string(v: unknown, name: string): string {
  if (typeof v !== 'string') throw typeError(name, 'a string', describe(v));
  return v;
}

/** `dflt` for undefined or null, else a boolean. */
export function optBool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw typeError(name, 'a boolean', describe(v));
  return v;
}

export function integer(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number') throw typeError(name, 'a number', describe(v));
  if (!Number.isFinite(v)) throw valueError(name, `expected a finite number, got ${v}`);
  if (!Number.isInteger(v) || v < min || v > max) throw valueError(name, `expected an integer in ${min}..=${max}, got ${v}`);
  return v;
}

export function finite(v: unknown, name: string): number {
  if (typeof v !== 'number') throw typeError(name, 'a number', describe(v));
  if (!Number.isFinite(v)) throw valueError(name, `expected a finite number, got ${v}`);
  return v;
}

export function dims3(v: unknown, name: string): [number, number, number] {
  if (!Array.isArray(v)) throw typeError(name, 'an array of 3 non-negative integers', describe(v));
  if (v.length !== 3) throw shapeError(name, '3 dims', `${v.length} dims`);
  for (let k = 0; k < 3; k++) {
    const d: unknown = v[k];
    if (!(typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= U32_MAX)) {
      throw valueError(`${name}[${k}]`, `expected a non-negative integer, got ${describe(d)}`);
    }
  }
  return [v[0], v[1], v[2]];
}

/** Options bags and batches must be objects (null is not). */
export function object<T>(v: T, name: string): T {
  if (typeof v !== 'object' || v === null) throw typeError(name, 'an object', describe(v));
  return v;
}

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
