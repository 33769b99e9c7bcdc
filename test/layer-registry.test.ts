/**
 * The TS layers' serialised format (ts/layers/*.ts, ts/layers/registry.ts), no backend needed:
 * every kind round-trips toJSON → registry → the same config, the registry knows exactly the core's
 * kinds, and unknown or misspelt keys are errors naming the key in either spelling.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AttentionPooling,
  AvgPool1D,
  Conv1D,
  Dense,
  Dropout,
  Embedding,
  GELU,
  GlobalMaxPool,
  GlobalMeanPool,
  GRU,
  IndRNN,
  LAYER_TYPES,
  LastStep,
  layerFromJSON,
  LayerNorm,
  LSTM,
  MaxPool1D,
  MinGRU,
  MinLSTM,
  MultiHeadAttention,
  ReLU,
  RNN,
  Sigmoid,
  Tanh,
  type AnyLayer,
} from '../ts/index.js';
import { thrown } from './helpers/errors.js';

/** One layer of every kind, with options that touch every config key it has. */
const SAMPLES: AnyLayer[] = [
  new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, bias: false, dropout: 0.1, weightInit: 'xavier', recurrentInit: 'orthogonal', nonlinearity: 'relu' }),
  new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, bias: true, dropout: 0, weightInit: 'uniform', recurrentInit: 'xavier' }),
  new GRU({ hiddenSize: 5 }),
  new GRU({ inputSize: 2, hiddenSize: 3, direction: 'reverse', resetAfter: false }),
  new IndRNN({ inputSize: 3, hiddenSize: 4, numLayers: 2, direction: 'bidirectional', nonlinearity: 'tanh', recurrentMaxAbs: 1.5 }),
  new Dense({ inFeatures: 6, units: 2, activation: 'gelu', bias: false }),
  new LastStep(),
  new Embedding({ numEmbeddings: 10, embeddingDim: 4, paddingIdx: -1 }),
  new LayerNorm({ normalizedShape: 4, eps: 1e-6, elementwiseAffine: false }),
  new Dropout({ p: 0.25 }),
  new ReLU(),
  new GELU(),
  new Tanh(),
  new Sigmoid(),
  new GlobalMeanPool(),
  new GlobalMaxPool(),
  new AttentionPooling({ features: 8, score: 'additive', attentionSize: 3 }),
  new MultiHeadAttention({ embedDim: 8, numHeads: 2, bias: true, causal: true }),
  new Conv1D({ inChannels: 4, outChannels: 6, kernelSize: 3, stride: 1, dilation: 2, groups: 2, padding: 'causal', bias: false, activation: 'relu' }),
  new MaxPool1D({ poolSize: 2, stride: 2, padding: 'same' }),
  new AvgPool1D({ poolSize: 3 }),
  new MinGRU({ inputSize: 3, hiddenSize: 4, bias: false }),
  new MinLSTM({ hiddenSize: 5 }),
];

describe('layer registry', () => {
  it('knows exactly the core registry\'s kinds (crates/rnnkit-core/src/layers/registry.rs KINDS)', () => {
    const src = readFileSync(fileURLToPath(new URL('../crates/rnnkit-core/src/layers/registry.rs', import.meta.url)), 'utf8');
    const line = /pub const KINDS: &\[&str\] = &\[([^\]]*)\]/.exec(src);
    expect(line).not.toBeNull();
    const core = [...line![1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect([...LAYER_TYPES].sort()).toEqual([...core].sort());
    expect(new Set(SAMPLES.map((l) => l.type))).toEqual(new Set(core));
  });

  it.each(SAMPLES.map((l) => [l.type, l] as const))('%s round-trips toJSON → registry → the same config', (_type, layer) => {
    const json = layer.toJSON();
    expect(JSON.parse(JSON.stringify(layer))).toEqual(json);
    const back = layerFromJSON(json);
    expect(back.constructor).toBe(layer.constructor);
    expect(back.toJSON()).toEqual(json);
    // The class's own fromConfig is the same path.
    const cls = layer.constructor as unknown as { fromConfig(c: unknown): AnyLayer };
    expect(cls.fromConfig(json.config).getConfig()).toEqual(json.config);
  });

  it('config keys are the core\'s snake_case keys', () => {
    expect(SAMPLES[0].toJSON().config).toEqual({
      input_size: 3, hidden_size: 4, num_layers: 2, bidirectional: true, bias: false, dropout: 0.1,
      weight_init: 'xavier', recurrent_init: 'orthogonal', nonlinearity: 'relu',
    });
    expect(new Conv1D({ outChannels: 2, kernelSize: 5 }).toJSON()).toEqual({ type: 'Conv1D', config: { out_channels: 2, kernel_size: 5 } });
    expect(new Embedding({ numEmbeddings: 5, embeddingDim: 2 }).toJSON()).toEqual({ type: 'Embedding', config: { num_embeddings: 5, embedding_dim: 2 } });
  });

  it('a canonical config from the core (null padding_idx, every default) reads back', () => {
    const e = layerFromJSON({ type: 'Embedding', config: { num_embeddings: 5, embedding_dim: 2, padding_idx: null } });
    expect(e.toJSON()).toEqual({ type: 'Embedding', config: { num_embeddings: 5, embedding_dim: 2 } });
  });

  const unknown: [string, () => unknown, string][] = [
    ['Dense return_sequenc8s', () => layerFromJSON({ type: 'Dense', config: { units: 1, return_sequenc8s: false } }), 'layer.config.return_sequenc8s'],
    ['Dense activ8tion', () => layerFromJSON({ type: 'Dense', config: { units: 1, activ8tion: 'tanh' } }), 'layer.config.activ8tion'],
    ['Dense return_sequences (not a core key)', () => layerFromJSON({ type: 'Dense', config: { units: 1, return_sequences: false } }), 'layer.config.return_sequences'],
    ['Dense camelCase in a config', () => layerFromJSON({ type: 'Dense', config: { units: 1, inFeatures: 3 } }), 'layer.config.inFeatures'],
    ['LSTM misspelt option', () => new LSTM({ hiddenSize: 2, bidirectonal: true } as never), 'options.bidirectonal'],
    ['Dense misspelt option', () => new Dense({ units: 2, activ8tion: 'tanh' } as never), 'options.activ8tion'],
    ['ReLU takes no options', () => new ReLU({ inplace: true } as never), 'options.inplace'],
    ['Conv1D misspelt key', () => layerFromJSON({ type: 'Conv1D', config: { out_channels: 2, kernel_size: 3, paddin: 'same' } }, 'layers[1]'), 'layers[1].config.paddin'],
    ['a layer with options instead of config', () => layerFromJSON({ type: 'LSTM', options: { hiddenSize: 2 } }), 'layer.options'],
  ];
  it.each(unknown)('unknown key: %s is an error naming %s', (_name, make, arg) => {
    const e = thrown(make);
    expect(e.code).toBe('ERR_RNNKIT_VALUE');
    expect(e.arg).toBe(arg);
    expect(e.message).toContain(arg);
  });

  it('bad types and values name the key', () => {
    expect(thrown(() => layerFromJSON({ type: 'LSTM', config: { hidden_size: '4' } })).arg).toBe('layer.config.hidden_size');
    expect(thrown(() => layerFromJSON({ type: 'LSTM', config: {} }, 'layers[2]')).arg).toBe('layers[2].config.hidden_size');
    expect(thrown(() => LSTM.fromConfig({})).arg).toBe('config.hidden_size');
    expect(thrown(() => layerFromJSON({ type: 'Lstm', config: {} }, 'layers[0]')).arg).toBe('layers[0].type');
    expect(thrown(() => Conv1D.fromConfig({ out_channels: 2, kernel_size: 3, padding: 'full' })).arg).toBe('config.padding');
    expect(thrown(() => new Dropout({ p: 1 })).arg).toBe('options.p');
    expect(thrown(() => layerFromJSON('LSTM')).code).toBe('ERR_RNNKIT_TYPE');
  });
});
