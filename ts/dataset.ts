/**
 * `dataset(x, y, { lengths, mask })`: a training set copied into the backend once and reused by any
 * number of `fit` / `evaluate` calls, so no call copies or re-checks the whole set again (per-batch
 * time stays flat as the set grows). `x` is float32 features [batch, seqLen, features] or int32
 * token ids [batch, seqLen] (the model's first layer sees each id as a one-hot row of its input size,
 * built inside the core a mini-batch at a time). Contents (finite values, ids and classes >= 0, mask
 * weights, lengths) are checked here; what depends on a model is checked when a model uses it.
 * Disposable; counted in `liveHandles()`; freed by the GC if forgotten.
 */

import { getBackend } from './backend/select.js';
import type { Backend, BackendName, BatchData, DatasetHandle } from './backend/types.js';
import { describe, shapeError, typeError } from './errors.js';
import { formatShape, isTensor, type DType, type Lengths, type Tensor, type Tensor2D, type Tensor3D } from './tensor.js';
import { inputDims, knownKeys, object, toLengths } from './validate.js';

/** Model input: float32 features [batch, seqLen, features], or int32 token ids [batch, seqLen]. */
export type SequenceInput = Tensor3D | Tensor2D<'int32'>;

export interface DatasetOptions {
  /** Valid steps per sequence, each in 1..seqLen. */
  lengths?: Lengths;
  /** Per-step loss weights [batch, seqLen] (sequence outputs only). */
  mask?: Tensor2D;
}

export class Dataset {
  /** Sequences. */
  readonly size: number;
  readonly seqLen: number;
  /** True when x holds token ids. */
  readonly tokens: boolean;
  /** Features per step (1 for token ids). */
  readonly features: number;
  readonly yDtype: DType;
  readonly yShape: readonly number[];
  readonly hasMask: boolean;
  /** The backend holding the data; models of another backend cannot use it. */
  readonly backend: BackendName;
  /** @internal The backend's copy. */
  readonly handle: DatasetHandle;

  /** @internal Use `dataset()`. `backend`: where to keep it (default: the current backend). */
  constructor(batch: BatchData, yShape: readonly number[], backend: Backend = getBackend()) {
    this.handle = backend.createDataset(batch);
    this.backend = backend.name;
    [this.size, this.seqLen, this.features] = batch.xDims;
    this.tokens = batch.x instanceof Int32Array;
    this.yDtype = batch.y instanceof Int32Array ? 'int32' : 'float32';
    this.yShape = yShape;
    this.hasMask = batch.mask !== undefined;
  }

  /** Bytes held in backend memory. */
  get byteLength(): number {
    return this.handle.byteLength;
  }

  get disposed(): boolean {
    return this.handle.disposed;
  }

  /** Frees the backend copy now (a running fit keeps it until it settles); a second call is a no-op. */
  dispose(): void {
    if (!this.handle.disposed) this.handle.dispose();
  }
}

/** Copies (x, y, mask, lengths) into the current backend once; see the file comment. */
export function dataset(x: SequenceInput, y: Tensor<DType>, options: DatasetOptions = {}): Dataset {
  const xDims = inputDims('x', x);
  const [n, t] = xDims;
  knownKeys('options', object('options', options), ['lengths', 'mask']);
  if (!isTensor(y)) throw typeError('y', 'a float32 Tensor of targets or an int32 Tensor of class ids', describe(y));
  if (y.shape[0] !== n) throw shapeError('y', `batch ${n} (like x) in its first dimension`, formatShape(y.shape));
  const batch: BatchData = { x: x.data, xDims, y: y.data };
  if (options.mask !== undefined) {
    const mask = options.mask;
    if (!isTensor(mask) || mask.dtype !== 'float32') throw typeError('options.mask', `a float32 Tensor2D [${n}, ${t}]`, describe(mask));
    if (formatShape(mask.shape) !== formatShape([n, t])) throw shapeError('options.mask', `[${n}, ${t}] (batch, seqLen of x)`, formatShape(mask.shape));
    batch.mask = mask.data as Float32Array;
  }
  if (options.lengths !== undefined) batch.lengths = toLengths('options.lengths', options.lengths, n, t);
  return new Dataset(batch, y.shape);
}
