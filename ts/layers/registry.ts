/**
 * The one map from a layer's type name to its TS class (the core's is
 * crates/rnnkit-core/src/layers/registry.rs), used by Sequential, persistence, the worker and the
 * CLI to turn a serialised `{type, config}` back into a layer. A new layer kind is one line here.
 */

import { describe, typeError, valueError } from '../errors.js';
import { isPlainObject } from '../validate.js';
import { ReLU, GELU, Tanh, Sigmoid } from './activation.js';
import { AttentionPooling } from './attention-pooling.js';
import { Conv1D } from './conv1d.js';
import { Dense } from './dense.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { GlobalMaxPool, GlobalMeanPool } from './global-pool.js';
import { GRU } from './gru.js';
import { IndRNN } from './ind-rnn.js';
import { LastStep } from './last-step.js';
import { Layer, type LayerClass, type LayerInput, type LayerJSON } from './layer.js';
import { LayerNorm } from './layer-norm.js';
import { LSTM } from './lstm.js';
import { MinGRU, MinLSTM } from './min-rnn.js';
import { MultiHeadAttention } from './multi-head-attention.js';
import { AvgPool1D, MaxPool1D } from './pool1d.js';
import { RNN } from './rnn.js';

export const LAYER_CLASSES: ReadonlyMap<string, LayerClass> = new Map(
  ([
    RNN, LSTM, GRU, IndRNN, Dense, LastStep, Embedding, LayerNorm, Dropout, ReLU, GELU, Tanh, Sigmoid,
    GlobalMeanPool, GlobalMaxPool, AttentionPooling, MultiHeadAttention, Conv1D, MaxPool1D, AvgPool1D, MinGRU, MinLSTM,
  ] as unknown as LayerClass[]).map((c) => [c.type, c]),
);

/** Every type name the registry knows. */
export const LAYER_TYPES: readonly string[] = [...LAYER_CLASSES.keys()];

/** Any layer of the registry. */
export type AnyLayer = Layer<LayerInput>;

/** `{type, config}` → a layer; `arg` names it in errors (e.g. 'layers[2]'). */
export function layerFromJSON(json: unknown, arg = 'layer'): AnyLayer {
  if (!isPlainObject(json)) throw typeError(arg, '{ type, config }', describe(json));
  const { type, config, ...rest } = json as Partial<LayerJSON> & Record<string, unknown>;
  const extra = Object.keys(rest).find((k) => rest[k] !== undefined);
  if (extra !== undefined) throw valueError(`${arg}.${extra}`, 'unknown key; a layer is { type, config }');
  if (typeof type !== 'string') throw typeError(`${arg}.type`, `a layer type name (${LAYER_TYPES.join(', ')})`, describe(type));
  const cls = LAYER_CLASSES.get(type);
  if (!cls) throw valueError(`${arg}.type`, `unknown layer type "${type}"; expected one of ${LAYER_TYPES.join(', ')}`);
  return cls.fromConfig(config ?? {}, `${arg}.config`);
}

/**
 * `layer` as a first layer reading inputs of `size` features (or a vocabulary of `size` token ids):
 * its input key set when absent (a given one is left for the core to check).
 */
export function withInputSize(layer: LayerJSON, size: number): LayerJSON {
  const key = LAYER_CLASSES.get(layer.type)?.inputKey;
  if (key === undefined || layer.config[key] !== undefined) return layer;
  return { type: layer.type, config: { ...layer.config, [key]: size } };
}

/** True for a layer made by any class of the registry. */
export function isLayer(v: unknown): v is AnyLayer {
  return v instanceof Layer;
}
