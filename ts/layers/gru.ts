/**
 * `GRU` (`nn.GRU`), PyTorch gate order r, z, n with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
 * Standalone use and options: ./recurrent.ts.
 */

import { HiddenStateLayer, RECURRENT_FIELDS, type RecurrentOptions } from './recurrent.js';

export class GRU extends HiddenStateLayer {
  static readonly type = 'GRU';
  static readonly inputKey = 'input_size';
  static readonly fields = RECURRENT_FIELDS;
  constructor(options: RecurrentOptions) {
    super(options);
  }
}
