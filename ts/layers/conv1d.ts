/**
 * `Conv1D` (`nn.Conv1d` semantics on [batch, seq, channels]): kernel, stride, dilation, groups,
 * padding valid | same | causal, bias, optional activation; a causal stride-1 convolution streams in
 * `step()`. Core: crates/rnnkit-core/src/layers/conv1d/.
 */

import { bool, oneOf, size } from './fields.js';
import { Layer } from './layer.js';

export interface Conv1DOptions {
  /** Inferred from the previous layer (give it only for a first layer). */
  inChannels?: number;
  outChannels: number;
  kernelSize: number;
  /** Default 1. */
  stride?: number;
  /** Default 1. */
  dilation?: number;
  /** Default 1; inChannels for a depthwise convolution. */
  groups?: number;
  /** Default 'valid'; 'same' needs stride 1; 'causal' pads the past only. */
  padding?: 'valid' | 'same' | 'causal';
  /** Default true. */
  bias?: boolean;
  /** Default 'identity'. */
  activation?: 'identity' | 'sigmoid' | 'tanh' | 'relu' | 'gelu';
}

export class Conv1D extends Layer {
  static readonly type = 'Conv1D';
  static readonly inputKey = 'in_channels';
  static readonly fields = {
    inChannels: size('in_channels'),
    outChannels: size('out_channels', true),
    kernelSize: size('kernel_size', true),
    stride: size('stride'),
    dilation: size('dilation'),
    groups: size('groups'),
    padding: oneOf('padding', ['valid', 'same', 'causal']),
    bias: bool('bias'),
    activation: oneOf('activation', ['identity', 'sigmoid', 'tanh', 'relu', 'gelu']),
  };
  constructor(options: Conv1DOptions) {
    super(options);
  }
}
