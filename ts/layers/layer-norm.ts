/**
 * `LayerNorm` (`nn.LayerNorm` over the feature axis). Core: crates/rnnkit-core/src/layers/layer_norm.rs.
 */

import { bool, num, size } from './fields.js';
import { Layer } from './layer.js';

export interface LayerNormOptions {
  /** Features; inferred from the previous layer. */
  normalizedShape?: number;
  /** Default 1e-5. */
  eps?: number;
  /** Learned scale and shift. Default true. */
  elementwiseAffine?: boolean;
}

export class LayerNorm extends Layer {
  static readonly type = 'LayerNorm';
  static readonly inputKey = 'normalized_shape';
  static readonly fields = { normalizedShape: size('normalized_shape'), eps: num('eps', 'positive'), elementwiseAffine: bool('elementwise_affine') };
  constructor(options: LayerNormOptions = {}) {
    super(options);
  }
}
