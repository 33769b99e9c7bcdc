/**
 * The layers, one file per kind in ./layers/, re-exported here so `from './layers.js'` imports keep
 * working; ./layers/registry.ts maps type names to these classes.
 */

export { ReLU, GELU, Tanh, Sigmoid } from './layers/activation.js';
export { AttentionPooling, type AttentionPoolingOptions } from './layers/attention-pooling.js';
export { Conv1D, type Conv1DOptions } from './layers/conv1d.js';
export { Dense, type DenseActivation, type DenseOptions } from './layers/dense.js';
export { Dropout, type DropoutOptions } from './layers/dropout.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { GlobalMaxPool, GlobalMeanPool } from './layers/global-pool.js';
export { GRU } from './layers/gru.js';
export { IndRNN, type IndRNNOptions } from './layers/ind-rnn.js';
export { LastStep } from './layers/last-step.js';
export { Layer, type LayerClass, type LayerInput, type LayerJSON } from './layers/layer.js';
export { LayerNorm, type LayerNormOptions } from './layers/layer-norm.js';
export { LSTM } from './layers/lstm.js';
export { MinGRU, MinLSTM, type MinRNNOptions } from './layers/min-rnn.js';
export { MultiHeadAttention, type MultiHeadAttentionOptions } from './layers/multi-head-attention.js';
export { AvgPool1D, MaxPool1D, type Pool1DOptions } from './layers/pool1d.js';
export {
  RecurrentLayer,
  type BackwardOptions,
  type ForwardOptions,
  type LoadStateDictOptions,
  type LSTMBackwardOptions,
  type LSTMForwardOptions,
  type LSTMGradients,
  type LSTMOutput,
  type RecurrentGradients,
  type RecurrentInit,
  type RecurrentOptions,
  type RecurrentOutput,
  type RNNOptions,
  type WeightInit,
  GATE_ACTIVATIONS,
  type GateActivation,
  type GatedOptions,
  type GRUOptions,
  type LSTMOptions,
} from './layers/recurrent.js';
export { isLayer, LAYER_CLASSES, LAYER_TYPES, layerFromJSON, type AnyLayer } from './layers/registry.js';
export { RNN } from './layers/rnn.js';
