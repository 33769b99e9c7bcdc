/**
 * `RNN` (`nn.RNN`, Elman): h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh | relu |
 * sigmoid (`nonlinearity`), or any `GateActivation` (`activation`). Standalone use and options: ./recurrent.ts.
 */

import { oneOf } from './fields.js';
import { GATE_ACTIVATIONS, HiddenStateLayer, RECURRENT_FIELDS, type RNNOptions } from './recurrent.js';

export class RNN extends HiddenStateLayer {
  static readonly type = 'RNN';
  static readonly inputKey = 'input_size';
  static readonly fields = { ...RECURRENT_FIELDS, nonlinearity: oneOf('nonlinearity', ['tanh', 'relu', 'sigmoid']), activation: oneOf('activation', GATE_ACTIVATIONS) };
  constructor(options: RNNOptions) {
    super(options);
  }
}
