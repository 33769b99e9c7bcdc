/**
 * `MultiHeadAttention`: self-attention [batch, seq, F] → [batch, seq, F] like `nn.MultiheadAttention`
 * (padding steps masked as keys; optional causal mask). Core:
 * crates/rnnkit-core/src/layers/multi_head_attention.rs.
 */

import { bool, size } from './fields.js';
import { Layer } from './layer.js';

export interface MultiHeadAttentionOptions {
  /** Inferred from the previous layer. */
  embedDim?: number;
  /** Must divide embedDim. */
  numHeads: number;
  /** Default true. */
  bias?: boolean;
  /** Each step attends to itself and earlier steps only. Default false. */
  causal?: boolean;
}

export class MultiHeadAttention extends Layer {
  static readonly type = 'MultiHeadAttention';
  static readonly inputKey = 'embed_dim';
  static readonly fields = { embedDim: size('embed_dim'), numHeads: size('num_heads', true), bias: bool('bias'), causal: bool('causal') };
  constructor(options: MultiHeadAttentionOptions) {
    super(options);
  }
}
