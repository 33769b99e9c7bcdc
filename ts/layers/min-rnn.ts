/**
 * `MinGRU` and `MinLSTM` (Feng et al. 2024, "Were RNNs All We Needed?"): gates that read only x_t, so
 * a layer is one input projection over all steps plus a linear scan, trained in parallel over time.
 * Parameters `weight` [G·H, inputSize] and `bias` [G·H], gate blocks z, h̃ (G = 2) or f, i, h̃ (G = 3);
 * state `h` [batch, hiddenSize]; streams in `step()`. Core: crates/rnnkit-core/src/layers/min_rnn/.
 */

import type { Tensor2D, Tensor3D } from '../tensor.js';
import { bool, size } from './fields.js';
import { Layer } from './layer.js';

export interface MinRNNOptions {
  /** Features, or the vocabulary size of a first layer reading token ids; inferred from the previous layer. */
  inputSize?: number;
  hiddenSize: number;
  /** Default true. */
  bias?: boolean;
}

/** What the two cells share: the config, the input (features or token ids) and the state `h`. */
abstract class MinRNN extends Layer<Tensor3D | Tensor2D<'int32'>> {
  static readonly inputKey = 'input_size';
  static readonly fields = { inputSize: size('input_size'), hiddenSize: size('hidden_size', true), bias: bool('bias') };
  constructor(options: MinRNNOptions) {
    super(options);
  }
}

/** minGRU: z = σ(W_z x + b_z), h̃ = g(W_h x + b_h), h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃ (g: v + ½ for v ≥ 0, σ(v) below). */
export class MinGRU extends MinRNN {
  static readonly type = 'MinGRU';
}

/** minLSTM: f, i = σ(W_f x + b_f), σ(W_i x + b_i), h̃ = g(W_h x + b_h), h_t = (f ⊙ h_{t−1} + i ⊙ h̃) / (f + i). */
export class MinLSTM extends MinRNN {
  static readonly type = 'MinLSTM';
}
