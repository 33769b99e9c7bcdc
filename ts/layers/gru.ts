/**
 * `GRU` (`nn.GRU`), PyTorch gate order r, z, n with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
 * `resetAfter: false` applies the reset gate before the recurrent product instead,
 * n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn): Keras `reset_after=False`, the TF.js GRU, ONNX
 * `linear_before_reset=0`; same parameter names and shapes. Standalone use and options: ./recurrent.ts.
 */

import { bool } from './fields.js';
import { HiddenStateLayer, RECURRENT_FIELDS, type RecurrentOptions } from './recurrent.js';

export interface GRUOptions extends RecurrentOptions {
  /**
   * Default true (PyTorch's form). false: the reset gate before the recurrent product (a TF.js GRU's
   * kernel [I, 3H] in gate order z, r, h maps to weight_ih_l0 [3H, I] in order r, z, n, transposed;
   * its recurrent kernel likewise to weight_hh_l0; its bias [3H] to bias_ih_l0, with bias_hh_l0 = 0).
   */
  resetAfter?: boolean;
}

export class GRU extends HiddenStateLayer {
  static readonly type = 'GRU';
  static readonly inputKey = 'input_size';
  static readonly fields = { ...RECURRENT_FIELDS, resetAfter: bool('reset_after') };
  constructor(options: GRUOptions) {
    super(options);
  }
}
