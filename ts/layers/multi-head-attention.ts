/**
 * `MultiHeadAttention`: self-attention [batch, seq, F] → [batch, seq, F] like `nn.MultiheadAttention`
 * (padding steps masked as keys; optional causal mask). A causal layer streams in `step()` (and in
 * `forward` on chunks) with a key/value cache of `cacheSize` steps per sequence as its states.
 * Core: crates/rnnkit-core/src/layers/multi_head_attention/.
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
  /**
   * Causal layers only: how many steps per sequence the key/value cache keeps for streaming
   * (`step()`, or `forward` on chunks with the states passed back). Default 1024, at most 2^24.
   * The states are `keys` and `values` [batch, cacheSize, embedDim] and `steps` [batch] (steps
   * seen); streaming past cacheSize steps is an error naming cache_size (call `resetState()`).
   * A single predict() or fit() over a longer sequence needs no cache and is not limited by it.
   */
  cacheSize?: number;
}

export class MultiHeadAttention extends Layer {
  static readonly type = 'MultiHeadAttention';
  static readonly inputKey = 'embed_dim';
  static readonly fields = {
    embedDim: size('embed_dim'),
    numHeads: size('num_heads', true),
    bias: bool('bias'),
    causal: bool('causal'),
    cacheSize: size('cache_size'),
  };
  constructor(options: MultiHeadAttentionOptions) {
    super(options);
  }
}
