/**
 * `MaxPool1D` / `AvgPool1D` over steps ([batch, seq, F] → [batch, seq', F]), e.g. CRNN downsampling;
 * sequence lengths are mapped through the window. Core: crates/rnnkit-core/src/layers/pool.rs.
 */

import { oneOf, size } from './fields.js';
import { Layer } from './layer.js';

export interface Pool1DOptions {
  poolSize: number;
  /** Default poolSize. */
  stride?: number;
  /** Default 'valid'; 'same' pads like Keras. */
  padding?: 'valid' | 'same';
}

const POOL_FIELDS = { poolSize: size('pool_size', true), stride: size('stride'), padding: oneOf('padding', ['valid', 'same']) };

export class MaxPool1D extends Layer {
  static readonly type = 'MaxPool1D';
  static readonly fields = POOL_FIELDS;
  constructor(options: Pool1DOptions) {
    super(options);
  }
}

export class AvgPool1D extends Layer {
  static readonly type = 'AvgPool1D';
  static readonly fields = POOL_FIELDS;
  constructor(options: Pool1DOptions) {
    super(options);
  }
}
