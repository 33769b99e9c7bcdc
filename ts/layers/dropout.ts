/**
 * `Dropout`: zeroes features with probability p and scales the rest by 1/(1−p), in training only
 * (seeded by fit's seed). Core: crates/rnnkit-core/src/layers/dropout.rs.
 */

import { num } from './fields.js';
import { Layer } from './layer.js';

export interface DropoutOptions {
  /** In [0, 1). Default 0.5. */
  p?: number;
}

export class Dropout extends Layer {
  static readonly type = 'Dropout';
  static readonly fields = { p: num('p', 0, 1) };
  constructor(options: DropoutOptions = {}) {
    super(options);
  }
}
