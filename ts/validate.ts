/**
 * rnnkit's argument checks, in one place and one argument order: `(arg, value, ...)`, the
 * argument's name first as in ./errors.ts. Every check throws an RnnkitError naming `arg`, the
 * expected and the actual value, and returns the value narrowed to its type.
 *
 * Two families keep different error codes on purpose (tests assert on them):
 * - the backend boundary mirrors crates/rnnkit-node/src/env.rs (`integer`, `finite`): a non-number
 *   is a TYPE error, a number that is not finite, whole or in range a VALUE error;
 * - facade options (`integerOption`, `finiteOption`): anything that is not a whole / finite number
 *   is a TYPE error, a whole number out of range a VALUE error.
 */

import { describe, shapeError, typeError, valueError } from './errors.js';
import { formatShape, isTensor, Tensor, type DType, type Tensor3D } from './tensor.js';

/** Largest u32: the bound of every count, seed and dim that crosses the boundary as a u32. */
export const U32_MAX = 0xffff_ffff;

// ---- objects and keys ----

/** An options object: not null, not an array, not a typed array. */
export function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Throws unless `v` is a plain object; `expected` says what kind, e.g. 'an object like { loss: "mse" }'. */
export function plainObject(arg: string, v: unknown, expected = 'an object'): Record<string, unknown> {
  if (!isPlainObject(v)) throw typeError(arg, expected, describe(v));
  return v as Record<string, unknown>;
}

/** Backend options bags and batches must be objects (null is not; the boundary does not look further). */
export function object<T>(arg: string, v: T): T {
  if (typeof v !== 'object' || v === null) throw typeError(arg, 'an object', describe(v));
  return v;
}

/** Unknown keys are errors (named `arg.key`); a key set to undefined counts as absent. */
export function knownKeys(arg: string, obj: object, allowed: readonly string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    if (!allowed.includes(k) && v !== undefined) {
      throw valueError(`${arg}.${k}`, `unknown option; expected one of ${allowed.join(', ')}`);
    }
  }
}

/** An options object (`plainObject`) with only `allowed` keys (`knownKeys`). */
export function optionsObject(arg: string, v: unknown, allowed: readonly string[], expected = 'an object'): Record<string, unknown> {
  const obj = plainObject(arg, v, expected);
  knownKeys(arg, obj, allowed);
  return obj;
}

// ---- scalars ----

export function string(arg: string, v: unknown): string {
  if (typeof v !== 'string') throw typeError(arg, 'a string', describe(v));
  return v;
}

/** A string with at least one character (file paths). */
export function nonEmptyString(arg: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw typeError(arg, 'a non-empty string', describe(v));
  return v;
}

/** `dflt` when undefined, else a boolean. */
export function optBool(arg: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw typeError(arg, 'a boolean', describe(v));
  return v;
}

/** `dflt` when undefined, else one of `options`. */
export function choice<T extends string>(arg: string, v: unknown, options: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  const list = options.map((o) => `"${o}"`).join(', ');
  if (typeof v !== 'string') throw typeError(arg, `one of ${list}`, describe(v));
  if (!(options as readonly string[]).includes(v)) throw valueError(arg, `expected one of ${list}, got "${v}"`);
  return v as T;
}

/** Backend rule: a number (else TYPE) that is finite, whole and in min..=max (else VALUE). */
export function integer(arg: string, v: unknown, min: number, max: number): number {
  const n = finite(arg, v);
  if (!Number.isInteger(n) || n < min || n > max) throw valueError(arg, `expected an integer in ${min}..=${max}, got ${n}`);
  return n;
}

/** Backend rule: a number (else TYPE) that is finite (else VALUE). */
export function finite(arg: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(arg, 'a number', describe(v));
  if (!Number.isFinite(v)) throw valueError(arg, `expected a finite number, got ${v}`);
  return v;
}

/** Largest layer size (units, hidden size, layers): the core's spec reader has the same bound. */
export const MAX_SIZE = 1e9;

/** Layer sizes: a number (else TYPE), whole in 1..=MAX_SIZE (else VALUE); undefined is an error only when `required`. */
export function positiveInt(arg: string, v: unknown, required: boolean): number | undefined {
  if (v === undefined) {
    if (required) throw valueError(arg, 'is required (a positive integer)');
    return undefined;
  }
  if (typeof v !== 'number') throw typeError(arg, 'a positive integer', describe(v));
  if (!Number.isInteger(v) || v < 1 || v > MAX_SIZE) throw valueError(arg, `expected a positive integer, got ${v}`);
  return v;
}

/** Facade options: a whole number (else TYPE) in [min, max] (else VALUE). */
export function integerOption(arg: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(arg, 'an integer', describe(v));
  if (v < min || v > max) throw valueError(arg, `expected an integer in [${min}, ${max}], got ${v}`);
  return v;
}

/** Facade options: a finite number (else TYPE). */
export function finiteOption(arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(arg, 'a finite number', describe(v));
  return v;
}

// ---- typed arrays at the backend boundary (null and undefined both mean "absent") ----

export function f32Array(arg: string, v: unknown): Float32Array {
  if (!(v instanceof Float32Array)) throw typeError(arg, 'a Float32Array', describe(v));
  return v;
}

export function optF32Array(arg: string, v: unknown): Float32Array | undefined {
  return v === undefined || v === null ? undefined : f32Array(arg, v);
}

export function optI32Array(arg: string, v: unknown): Int32Array | undefined {
  if (v === undefined || v === null) return undefined;
  if (!(v instanceof Int32Array)) throw typeError(arg, 'an Int32Array', describe(v));
  return v;
}

/** Model inputs: Float32Array features or Int32Array token ids. */
export function inputs(arg: string, v: unknown): Float32Array | Int32Array {
  if (v instanceof Float32Array || v instanceof Int32Array) return v;
  throw typeError(arg, 'a Float32Array (features) or Int32Array (token ids)', describe(v));
}

export function targets(arg: string, v: unknown): Float32Array | Int32Array {
  if (v instanceof Float32Array || v instanceof Int32Array) return v;
  throw typeError(arg, 'a Float32Array or Int32Array', describe(v));
}

export function dims3(arg: string, v: unknown): [number, number, number] {
  if (!Array.isArray(v)) throw typeError(arg, 'an array of 3 non-negative integers', describe(v));
  if (v.length !== 3) throw shapeError(arg, '3 dims', `${v.length} dims`);
  for (let k = 0; k < 3; k++) {
    const d: unknown = v[k];
    if (!(typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= U32_MAX)) {
      throw valueError(`${arg}[${k}]`, `expected a non-negative integer, got ${describe(d)}`);
    }
  }
  return [v[0], v[1], v[2]];
}

// ---- tensors ----

/** Asserts `value` is a Tensor (of `dtype` when given). */
export function expectTensor<D extends DType>(arg: string, value: unknown, dtype?: D): asserts value is Tensor<D> {
  if (!(value instanceof Tensor)) {
    throw typeError(arg, `a ${dtype ?? ''}${dtype ? ' ' : ''}Tensor`, describe(value));
  }
  if (dtype !== undefined && value.dtype !== dtype) throw typeError(arg, `a ${dtype} Tensor`, `a ${value.dtype} Tensor`);
}

/** Asserts `value` is a non-empty 3-D Tensor of `dtype`; `what` names the dims. */
export function expectTensor3D<D extends DType = 'float32'>(
  arg: string,
  value: unknown,
  what = '[d0, d1, d2]',
  dtype: D = 'float32' as D,
): asserts value is Tensor3D<D> {
  expectTensor(arg, value, dtype);
  if (value.rank !== 3) throw shapeError(arg, `a 3-D tensor ${what}`, `shape ${formatShape(value.shape)}`);
  if (value.size === 0) throw shapeError(arg, `non-zero dims ${what}`, `shape ${formatShape(value.shape)}`);
}

/** Asserts `t` has exactly `shape`; `what` names the dims, e.g. "[numLayers·directions, batch, hiddenSize]". */
export function expectShape(arg: string, t: Tensor<DType>, shape: readonly number[], what = ''): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same) throw shapeError(arg, `shape ${formatShape(shape)}${what ? ` ${what}` : ''}`, `shape ${formatShape(t.shape)}`);
}

/**
 * Converts per-sequence valid lengths to a fresh Int32Array, checking there is one per batch entry
 * and each is an integer in 1..seqLen. Accepts an int32 Tensor1D, an Int32Array or a number array.
 */
export function toLengths(arg: string, lengths: unknown, batch: number, seqLen: number): Int32Array {
  let values: ArrayLike<number>;
  if (lengths instanceof Tensor) {
    if (lengths.dtype !== 'int32') throw typeError(arg, 'an int32 Tensor1D, Int32Array or number[]', `a ${lengths.dtype} Tensor`);
    if (lengths.rank !== 1) throw shapeError(arg, `a 1-D tensor [batch = ${batch}]`, `shape ${formatShape(lengths.shape)}`);
    values = lengths.data;
  } else if (lengths instanceof Int32Array || Array.isArray(lengths)) {
    values = lengths;
  } else {
    throw typeError(arg, 'an int32 Tensor1D, Int32Array or number[]', describe(lengths));
  }
  if (values.length !== batch) throw shapeError(arg, `${batch} entries (one per batch entry)`, `${values.length}`);
  const out = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    const v = values[i] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > seqLen) {
      throw valueError(`${arg}[${i}]`, `expected an integer in 1..${seqLen} (seqLen), got ${describe(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** Checks a model input's kind and rank; returns its core dims ([batch, seqLen, 1] for token ids). */
export function inputDims(arg: string, x: unknown): [number, number, number] {
  const want = 'a float32 Tensor3D [batch, seqLen, features] or an int32 Tensor2D of token ids [batch, seqLen]';
  if (!isTensor(x)) throw typeError(arg, want, describe(x));
  const tokens = x.dtype === 'int32';
  const rank = tokens ? 2 : 3;
  // An int32 tensor of another rank is a kind mistake (ids are [batch, seqLen]); a float32 one a shape mistake.
  if (x.shape.length !== rank) throw (tokens ? typeError : shapeError)(arg, want, `${x.dtype} rank ${x.shape.length} ${formatShape(x.shape)}`);
  const [n, t] = x.shape;
  if (n < 1 || t < 1) throw shapeError(arg, 'batch >= 1 and seqLen >= 1', formatShape(x.shape));
  return [n, t, tokens ? 1 : x.shape[2]];
}

/** A tensor sent over postMessage (`{ dtype, shape, data }`) back to a Tensor (the constructor checks the shape). */
export function tensorPayload(arg: string, p: unknown): Tensor<DType> {
  const t = p as { shape?: unknown; data?: unknown } | null;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.shape)) throw typeError(arg, '{ dtype, shape, data }', describe(p));
  if (!(t.data instanceof Float32Array || t.data instanceof Int32Array)) throw typeError(`${arg}.data`, 'Float32Array or Int32Array', describe(t.data));
  return t.data instanceof Float32Array ? new Tensor(t.data, t.shape as number[]) : new Tensor(t.data, t.shape as number[]);
}
