/**
 * `LastStep`: [batch, seq, F] → [batch, F], each sequence's last *valid* step (by its length).
 * Core: crates/rnnkit-core/src/layers/last_step.rs.
 */

import { size } from './fields.js';
import { Layer } from './layer.js';

export interface LastStepOptions {
  /** Features of the sequence it reads; inferred from the previous layer (needed only as a first layer). */
  features?: number;
}

export class LastStep extends Layer {
  static readonly type = 'LastStep';
  static readonly inputKey = 'features';
  static readonly fields = { features: size('features') };
  constructor(options: LastStepOptions = {}) {
    super(options);
  }
}
