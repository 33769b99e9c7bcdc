/**
 * `Dense`: y = act(x Wᵀ + b) like `nn.Linear` (+ activation), per step on a sequence or on a vector;
 * anywhere in a Sequential. Core: crates/rnnkit-core/src/layers/dense.rs.
 */

import { optBool } from '../validate.js';
import { bool, oneOf, size } from './fields.js';
import { Layer, type LayerJSON } from './layer.js';

export type DenseActivation = 'identity' | 'sigmoid' | 'tanh' | 'softmax' | 'relu' | 'gelu';

export interface DenseOptions {
  /** Input features; inferred from the previous layer (give it only for a first layer). */
  inFeatures?: number;
  units: number;
  /** Default 'identity'. */
  activation?: DenseActivation;
  /** Default true. */
  bias?: boolean;
  /**
   * Kept for code written before layers could follow each other freely: `false` applies the layer
   * at each sequence's last valid step ([batch, units]) and is the same as `new LastStep()` followed
   * by this Dense; the spec holds exactly those two layers. Default true (every step).
   */
  returnSequences?: boolean;
}

export class Dense extends Layer {
  static readonly type = 'Dense';
  static readonly inputKey = 'in_features';
  static readonly fields = {
    inFeatures: size('in_features'),
    units: size('units', true),
    activation: oneOf('activation', ['identity', 'sigmoid', 'tanh', 'softmax', 'relu', 'gelu']),
    bias: bool('bias'),
  };
  /** false: LastStep + Dense in the spec (see DenseOptions.returnSequences). */
  readonly returnSequences: boolean;

  constructor(options: DenseOptions) {
    super(options, ['returnSequences']);
    this.returnSequences = optBool('options.returnSequences', options.returnSequences, true);
  }

  override specLayers(): LayerJSON[] {
    // A first layer's LastStep needs the width it reads: the Dense's inFeatures, when given.
    const width = this.toJSON().config.in_features;
    const last = { type: 'LastStep', config: width === undefined ? {} : { features: width } };
    return this.returnSequences ? [this.toJSON()] : [last, this.toJSON()];
  }
}
