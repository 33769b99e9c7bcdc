/**
 * `GRU` (`nn.GRU`), PyTorch gate order r, z, n with n = g(W_in x + b_in + r ⊙ (W_hn h + b_hn)), g =
 * `activation` (default tanh), r and z by `gateActivation` (default sigmoid). Standalone use and
 * options: ./recurrent.ts.
 */

import { GATED_FIELDS, HiddenStateLayer, type GRUOptions } from './recurrent.js';

export class GRU extends HiddenStateLayer {
  static readonly type = 'GRU';
  static readonly inputKey = 'input_size';
  static readonly fields = GATED_FIELDS;
  constructor(options: GRUOptions) {
    super(options);
  }
}
