/**
 * `GRU` (`nn.GRU`), PyTorch gate order r, z, n with n = g(W_in x + b_in + r ⊙ (W_hn h + b_hn)), g =
 * `activation` (default tanh), r and z by `gateActivation` (default sigmoid). `resetAfter: false`
 * applies the reset gate before the recurrent product instead, n = g(W_in x + b_in + W_hn (r ⊙ h) + b_hn):
 * Keras `reset_after=False`, the TF.js GRU, ONNX `linear_before_reset=0`; same parameter names and
 * shapes. Standalone use and options: ./recurrent.ts.
 */

import { bool } from './fields.js';
import { GATED_FIELDS, HiddenStateLayer, type GRUOptions } from './recurrent.js';

export class GRU extends HiddenStateLayer {
  static readonly type = 'GRU';
  static readonly inputKey = 'input_size';
  static readonly fields = { ...GATED_FIELDS, resetAfter: bool('reset_after') };
  constructor(options: GRUOptions) {
    super(options);
  }
}
