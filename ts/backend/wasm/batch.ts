/**
 * A mini-batch's typed arrays checked (../../validate.ts) and laid out as the module's
 * `RawBatch` descriptor in a call scope's memory.
 */

import { dims3, inputs, object, optF32Array, optI32Array, targets } from '../../validate.js';
import type { BatchData, Inputs, Targets } from '../types.js';
import { CallScope } from './runtime.js';

export interface CheckedBatch {
  x: Inputs;
  dims: [number, number, number];
  y: Targets;
  mask: Float32Array | undefined;
  lengths: Int32Array | undefined;
}

export function checkBatch(name: string, batch: BatchData): CheckedBatch {
  object(name, batch);
  const dims = dims3('xDims', batch.xDims);
  return {
    x: inputs('x', batch.x),
    dims,
    y: targets('y', batch.y),
    mask: optF32Array('mask', batch.mask),
    lengths: optI32Array('lengths', batch.lengths),
  };
}

/**
 * Copies the batch in and writes its `RawBatch` descriptor (crates/rnnkit-wasm/src/lib.rs): thirteen
 * 4-byte fields, x, xLen, d0, d1, d2, y, yLen, yClass, mask, maskLen, lengths, lengthsLen, xTokens
 * (null pointers for absent ones). Returns the descriptor's address.
 */
export function batchPtr(s: CallScope, b: CheckedBatch): number {
  const fields = [
    s.array('x', b.x), b.x.length, b.dims[0], b.dims[1], b.dims[2],
    s.array('y', b.y), b.y.length, b.y instanceof Int32Array ? 1 : 0,
    s.optArray('mask', b.mask), b.mask?.length ?? 0,
    s.optArray('lengths', b.lengths), b.lengths?.length ?? 0,
    b.x instanceof Int32Array ? 1 : 0,
  ];
  const ptr = s.alloc(fields.length * 4, 4, 'batch');
  new Uint32Array(s.rt.ex.memory.buffer, ptr, fields.length).set(fields);
  return ptr;
}
