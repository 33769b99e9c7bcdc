/**
 * `AttentionPooling`: [batch, seq, F] → [batch, F], a softmax-weighted sum of the valid steps; scores
 * additive (Bahdanau: vᵀ tanh(W h + b)) or scaled dot with a learned query. The weights appear in
 * `Sequential.trace()` as 'attention' panels. Core: crates/rnnkit-core/src/layers/attention_pooling.rs.
 */

import { oneOf, size } from './fields.js';
import { Layer } from './layer.js';

export interface AttentionPoolingOptions {
  /** Inferred from the previous layer. */
  features?: number;
  /** Default 'additive'. */
  score?: 'additive' | 'dot';
  /** Additive score only: width of the projection. Default features. */
  attentionSize?: number;
}

export class AttentionPooling extends Layer {
  static readonly type = 'AttentionPooling';
  static readonly inputKey = 'features';
  static readonly fields = { features: size('features'), score: oneOf('score', ['additive', 'dot']), attentionSize: size('attention_size') };
  constructor(options: AttentionPoolingOptions = {}) {
    super(options);
  }
}
