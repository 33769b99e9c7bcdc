/**
 * `IndRNN` (Li et al., "Independently Recurrent Neural Network (IndRNN)", CVPR 2018):
 * h_t = act(W_ih x_t + b_ih + u ⊙ h_{t-1} + b_hh), act = relu (the paper's) | tanh. Each unit sees
 * only its own previous value through one recurrent weight: u is `weight_hh_l{k}` of shape [H] (a
 * vector where the other cells have [gates·H, H]), drawn U(0, 1) as in the authors' code; W_ih and
 * the biases get PyTorch's U(-1/√H, 1/√H). `recurrentMaxAbs` is the paper's constraint |u| ≤ bound,
 * applied after every optimizer step (for relu over T steps the paper bounds |u| by 2^(1/T), and
 * for long memory keeps it away from 0). Standalone use and options: ./recurrent.ts.
 */

import { num, oneOf } from './fields.js';
import { HiddenStateLayer, RECURRENT_FIELDS, type RecurrentOptions } from './recurrent.js';

export interface IndRNNOptions extends Omit<RecurrentOptions, 'recurrentInit'> {
  /** Default 'relu'. */
  nonlinearity?: 'relu' | 'tanh';
  /** |u| ≤ this after every optimizer step (and u is drawn within it). Default: unbounded. */
  recurrentMaxAbs?: number;
}

const { recurrentInit: _vector, ...shared } = RECURRENT_FIELDS;

export class IndRNN extends HiddenStateLayer {
  static readonly type = 'IndRNN';
  static readonly inputKey = 'input_size';
  static readonly fields = { ...shared, nonlinearity: oneOf('nonlinearity', ['relu', 'tanh']), recurrentMaxAbs: num('recurrent_max_abs', 'positive') };
  constructor(options: IndRNNOptions) {
    super(options);
  }
}
