/**
 * Typed tensors: a flat row-major `Float32Array` (or `Int32Array` for class ids and lengths) plus a
 * read-only shape, validated at construction. The shape's tuple type carries the rank, so a 2-D tensor
 * passed where a 3-D one is required fails to compile. The tensor argument checks are in
 * ./validate.ts.
 */

import { describe, shapeError, typeError, valueError } from './errors.js';

export type DType = 'float32' | 'int32';
export interface DataTypeMap {
  float32: Float32Array;
  int32: Int32Array;
}
export type Shape = readonly number[];

/** Keeps a shape's rank but forgets literal dims: `readonly [2, 3]` → `readonly [number, number]`. */
export type WidenShape<S extends Shape> = { readonly [K in keyof S]: number };

/**
 * A dense row-major tensor. `data` is shared, not copied: `tensor(f32, shape)` and `reshape()` view the
 * same memory. Shape and dtype never change after construction.
 */
export interface Tensor<D extends DType = 'float32', S extends Shape = Shape> {
  readonly dtype: D;
  readonly shape: S;
  readonly data: DataTypeMap[D];
  /** Number of elements, the product of `shape`. */
  readonly size: number;
  readonly rank: S['length'];
  /** Same data, another shape with the same element count; one dim may be -1 (inferred). */
  reshape<const S2 extends Shape>(shape: S2): Tensor<D, WidenShape<S2>>;
  /** A flat copy of the elements as plain numbers. */
  toArray(): number[];
}

export interface TensorConstructor {
  /** dtype follows the array: Float32Array → 'float32', Int32Array → 'int32'. */
  new <const S extends Shape>(data: Float32Array, shape: S): Tensor<'float32', WidenShape<S>>;
  new <const S extends Shape>(data: Int32Array, shape: S): Tensor<'int32', WidenShape<S>>;
  readonly prototype: Tensor<DType, Shape>;
}

export type Tensor1D<D extends DType = 'float32'> = Tensor<D, readonly [number]>;
export type Tensor2D<D extends DType = 'float32'> = Tensor<D, readonly [number, number]>;
export type Tensor3D<D extends DType = 'float32'> = Tensor<D, readonly [number, number, number]>;

/** Checks dims are non-negative safe integers and returns a frozen copy plus the element count. */
function checkShape(arg: string, shape: unknown): { dims: readonly number[]; size: number } {
  if (!Array.isArray(shape)) throw typeError(arg, 'an array of dimensions', describe(shape));
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i] as unknown;
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw shapeError(`${arg}[${i}]`, 'a non-negative integer dimension', describe(d));
    }
    size *= d;
  }
  if (!Number.isSafeInteger(size)) throw shapeError(arg, 'fewer than 2^53 elements', `[${shape.join(', ')}]`);
  return { dims: Object.freeze([...(shape as number[])]), size };
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Marks tensors made by any copy of this module (two bundles, a worker and its page, a re-imported
 * module in tests), so `instanceof Tensor` and the validators accept them all and nothing else.
 */
const TENSOR_BRAND = Symbol.for('rnnkit.Tensor');

class TensorImpl<D extends DType, S extends Shape> implements Tensor<D, S> {
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [TENSOR_BRAND]?: unknown })[TENSOR_BRAND] === true;
  }

  readonly dtype: D;
  readonly shape: S;
  readonly data: DataTypeMap[D];
  readonly size: number;

  constructor(data: DataTypeMap[D], shape: S) {
    let dtype: DType;
    if (data instanceof Float32Array) dtype = 'float32';
    else if (data instanceof Int32Array) dtype = 'int32';
    else throw typeError('data', 'a Float32Array or Int32Array', describe(data));
    const { dims, size } = checkShape('shape', shape);
    if (size !== data.length) {
      throw shapeError('data', `${size} elements for shape ${formatShape(dims)}`, `${data.length} elements`);
    }
    this.dtype = dtype as D;
    this.shape = dims as unknown as S;
    this.data = data;
    this.size = size;
  }

  get rank(): S['length'] {
    return this.shape.length;
  }

  reshape<const S2 extends Shape>(shape: S2): Tensor<D, WidenShape<S2>> {
    if (!Array.isArray(shape)) throw typeError('shape', 'an array of dimensions', describe(shape));
    const infer = shape.indexOf(-1);
    let dims: number[] = [...shape];
    if (infer !== -1 && shape.indexOf(-1, infer + 1) === -1) {
      const known = dims.reduce((p, d, i) => (i === infer ? p : p * d), 1);
      if (known <= 0 || !Number.isInteger(this.size / known)) {
        throw shapeError('shape', `dims whose product divides ${this.size}`, formatShape(shape));
      }
      dims[infer] = this.size / known;
    }
    const { size } = checkShape('shape', dims);
    if (size !== this.size) {
      throw shapeError('shape', `${this.size} elements (from ${formatShape(this.shape)})`, `${formatShape(shape)} with ${size}`);
    }
    return new TensorImpl(this.data, dims) as unknown as Tensor<D, WidenShape<S2>>;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)})`;
  }
}

Object.defineProperty(TensorImpl.prototype, TENSOR_BRAND, { value: true });

/** `new Tensor(data, shape)`: see TensorConstructor. `x instanceof Tensor` works as usual. */
export const Tensor: TensorConstructor = TensorImpl as unknown as TensorConstructor;

// ---- factories ----------------------------------------------------------------------------------

type NestedNumbers = number | readonly NestedNumbers[];

/** Flattens nested arrays, checking each level against `dims` when `dims` has that depth. */
function flatten(data: readonly NestedNumbers[], dims: readonly number[]): number[] {
  const out: number[] = [];
  const nested = data.length > 0 && Array.isArray(data[0]);
  if (!nested) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number') throw typeError(`data[${i}]`, 'a number', describe(v));
      out.push(v);
    }
    return out;
  }
  const walk = (node: NestedNumbers, depth: number, path: string): void => {
    if (depth === dims.length) {
      if (typeof node !== 'number') throw shapeError(`data${path}`, `a number (shape ${formatShape(dims)})`, describe(node));
      out.push(node);
      return;
    }
    if (!Array.isArray(node)) throw shapeError(`data${path}`, `an array of ${dims[depth]} (shape ${formatShape(dims)})`, describe(node));
    if (node.length !== dims[depth]) {
      throw shapeError(`data${path}`, `${dims[depth]} entries (shape ${formatShape(dims)})`, `${node.length}`);
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return out;
}

function toInt32(arg: string, values: ArrayLike<number>): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw valueError(`${arg}[${i}]`, `expected a 32-bit integer, got ${describe(v)}`);
    }
    out[i] = v;
  }
  return out;
}

type DTypeOption = DType | { dtype?: DType };

/**
 * Makes a tensor. A Float32Array or Int32Array is used as is (shared, not copied) unless a different
 * dtype is asked for; plain or nested number arrays (and other array-likes) are copied into a new
 * Float32Array, or an Int32Array with `'int32'` (values must then be 32-bit integers).
 */
export function tensor<const S extends Shape>(data: Int32Array, shape: S): Tensor<'int32', WidenShape<S>>;
export function tensor<const S extends Shape>(
  data: Float32Array | readonly NestedNumbers[] | ArrayLike<number>,
  shape: S,
  dtype?: 'float32' | { dtype: 'float32' },
): Tensor<'float32', WidenShape<S>>;
export function tensor<const S extends Shape>(
  data: Int32Array | readonly NestedNumbers[] | ArrayLike<number>,
  shape: S,
  dtype: 'int32' | { dtype: 'int32' },
): Tensor<'int32', WidenShape<S>>;
export function tensor(data: unknown, shape: Shape, dtypeOpt?: DTypeOption): Tensor<DType> {
  let dtype: DType | undefined = typeof dtypeOpt === 'object' && dtypeOpt !== null ? dtypeOpt.dtype : dtypeOpt;
  if (dtype !== undefined && dtype !== 'float32' && dtype !== 'int32') {
    throw valueError('dtype', `expected "float32" or "int32", got ${describe(dtype)}`);
  }
  const { dims } = checkShape('shape', shape);
  if (data instanceof Float32Array && dtype !== 'int32') return new Tensor(data, dims);
  if (data instanceof Int32Array && dtype !== 'float32') return new Tensor(data, dims);
  dtype ??= 'float32';
  let values: ArrayLike<number>;
  if (Array.isArray(data)) values = flatten(data, dims);
  else if (ArrayBuffer.isView(data) && !(data instanceof DataView)) values = data as unknown as ArrayLike<number>;
  else if (data !== null && typeof data === 'object' && typeof (data as ArrayLike<number>).length === 'number') {
    values = Array.from(data as ArrayLike<unknown>, (v, i) => {
      if (typeof v !== 'number') throw typeError(`data[${i}]`, 'a number', describe(v));
      return v;
    });
  } else throw typeError('data', 'a Float32Array, Int32Array or array of numbers', describe(data));
  if (typeof values[0] === 'bigint') throw typeError('data', 'numbers, not bigints', describe(data));
  return dtype === 'int32' ? new Tensor(toInt32('data', values), dims) : new Tensor(Float32Array.from(values), dims);
}

/** A tensor of zeros (float32 unless `dtype` says otherwise). */
export function zeros<const S extends Shape>(shape: S): Tensor<'float32', WidenShape<S>>;
export function zeros<const S extends Shape, D extends DType>(shape: S, dtype: D): Tensor<D, WidenShape<S>>;
export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor<DType> {
  const { dims, size } = checkShape('shape', shape);
  if (dtype === 'float32') return new Tensor(new Float32Array(size), dims);
  if (dtype === 'int32') return new Tensor(new Int32Array(size), dims);
  throw valueError('dtype', `expected "float32" or "int32", got ${describe(dtype)}`);
}

export interface RandnOptions {
  /** uint32 seed; the same seed gives the same numbers on every platform. Default 0. */
  seed?: number;
  /** Standard deviation, >= 0. Default 1. */
  std?: number;
  /** Default 0. */
  mean?: number;
}

/**
 * Normally distributed float32 values, deterministic for a seed: a splitmix32 stream feeding the
 * Box–Muller transform, all in plain JS double arithmetic (so identical everywhere).
 */
export function randn<const S extends Shape>(shape: S, opts: RandnOptions = {}): Tensor<'float32', WidenShape<S>> {
  if (opts === null || typeof opts !== 'object') throw typeError('opts', 'an object', describe(opts));
  const { seed = 0, std = 1, mean = 0 } = opts;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw valueError('seed', `expected an integer in 0..2^32-1, got ${describe(seed)}`);
  }
  if (typeof std !== 'number' || !Number.isFinite(std) || std < 0) throw valueError('std', `expected a finite value >= 0, got ${describe(std)}`);
  if (typeof mean !== 'number' || !Number.isFinite(mean)) throw valueError('mean', `expected a finite number, got ${describe(mean)}`);
  const { dims, size } = checkShape('shape', shape);
  let state = seed >>> 0;
  // splitmix32: a full-period, well-mixed 32-bit stream; uniform in (0, 1], never 0 (log is safe).
  const uniform = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return ((z >>> 0) + 1) / 4294967296;
  };
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = mean + std * r * Math.cos(theta);
    if (i + 1 < size) out[i + 1] = mean + std * r * Math.sin(theta);
  }
  return new Tensor(out, dims) as unknown as Tensor<'float32', WidenShape<S>>;
}

/** Per-sequence valid lengths, as `toLengths` in ./validate.ts accepts them. */
export type Lengths = Tensor1D<'int32'> | Int32Array | readonly number[];

// The tensor checks live in ./validate.ts with the others; re-exported here for existing imports.
export { expectTensor, expectTensor3D, expectShape, toLengths } from './validate.js';

/** True for a Tensor, including one from another copy of this module (two bundles): checked structurally. */
export function isTensor(v: unknown): v is Tensor<DType> {
  if (v instanceof Tensor) return true;
  const t = v as Tensor<DType> | null;
  return (
    typeof t === 'object' && t !== null && Array.isArray(t.shape) &&
    (t.data instanceof Float32Array || t.data instanceof Int32Array) && (t.dtype === 'float32' || t.dtype === 'int32')
  );
}
