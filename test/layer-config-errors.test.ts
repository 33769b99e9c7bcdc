/**
 * Bad configurations of each new layer kind fail with the error code and the argument path that
 * name the mistake, on native and on each wasm module: through `Sequential` (a typed option the
 * facade checks names `options.<name>`; what only the core can judge — divisibility, ranges that
 * depend on other keys, shapes against the previous layer — names `spec.layers[k].config.<key>`),
 * and through a raw spec to `Backend.createModel`, so the core rejects on its own what the facade
 * checks first (a worker or CLI spec reaches the core without the TS layer classes).
 */

import { beforeAll, describe, expect, it } from 'vitest';

import { caught } from './helpers/errors.js';
import { loadVariant, VARIANTS, variantBuilt, type Api } from './helpers/variants.js';

interface BadCase {
  kind: string;
  what: string;
  make: (a: Api) => unknown;
  code: 'ERR_RNNKIT_VALUE' | 'ERR_RNNKIT_SHAPE';
  arg: string;
  /** Part of the message: the expected and the actual value. */
  says: RegExp;
}

/** A 4-feature first layer for layers that cannot be first. */
const dense4 = (a: Api) => new a.Dense({ inFeatures: 4, units: 4 });
/** A raw spec straight to the core. */
const raw = (a: Api, layers: unknown[]) => a.getBackend().createModel(JSON.stringify({ batch_first: true, seed: 0, threads: 1, layers }));
const D4 = { type: 'Dense', config: { in_features: 4, units: 4 } };

const CASES: BadCase[] = [
  // Conv1D
  { kind: 'Conv1D', what: 'groups not dividing in_channels', make: (a) => new a.Sequential([new a.Conv1D({ inChannels: 4, outChannels: 6, kernelSize: 2, groups: 3 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.groups', says: /must divide in_channels \(4\), got 3/ },
  { kind: 'Conv1D', what: 'groups not dividing out_channels', make: (a) => new a.Sequential([new a.Conv1D({ inChannels: 4, outChannels: 5, kernelSize: 2, groups: 2 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.groups', says: /must divide out_channels \(5\), got 2/ },
  { kind: 'Conv1D', what: "padding 'same' with stride 2", make: (a) => new a.Sequential([new a.Conv1D({ inChannels: 4, outChannels: 4, kernelSize: 3, stride: 2, padding: 'same' })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.stride', says: /needs stride 1.*got 2/ },
  { kind: 'Conv1D', what: 'in_channels against the previous layer', make: (a) => new a.Sequential([dense4(a), new a.Conv1D({ inChannels: 3, outChannels: 4, kernelSize: 2 })]), code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[1].config.in_channels', says: /expected 4 \(the previous layer's output \[batch, seq, 4\]\), got 3/ },
  { kind: 'Conv1D', what: 'kernel_size 0 (facade)', make: (a) => new a.Conv1D({ outChannels: 4, kernelSize: 0 }), code: 'ERR_RNNKIT_VALUE', arg: 'options.kernelSize', says: /positive integer, got 0/ },
  { kind: 'Conv1D', what: 'kernel_size 0 (core)', make: (a) => raw(a, [{ type: 'Conv1D', config: { in_channels: 4, out_channels: 4, kernel_size: 0 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.kernel_size', says: />= 1, got 0/ },
  { kind: 'Conv1D', what: 'misspelt key (core)', make: (a) => raw(a, [{ type: 'Conv1D', config: { in_channels: 4, out_channels: 4, kernel_size: 2, dilatoin: 2 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.dilatoin', says: /unknown field; expected one of .*dilation/ },
  { kind: 'Conv1D', what: 'unknown padding (core)', make: (a) => raw(a, [{ type: 'Conv1D', config: { in_channels: 4, out_channels: 4, kernel_size: 2, padding: 'full' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.padding', says: /valid, same, causal, got "full"/ },
  // MultiHeadAttention
  { kind: 'MultiHeadAttention', what: 'num_heads not dividing embed_dim', make: (a) => new a.Sequential([new a.MultiHeadAttention({ embedDim: 8, numHeads: 3 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.num_heads', says: /must divide embed_dim 8, got 3/ },
  { kind: 'MultiHeadAttention', what: 'num_heads not dividing the inferred embed_dim', make: (a) => new a.Sequential([dense4(a), new a.MultiHeadAttention({ numHeads: 3 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.num_heads', says: /must divide embed_dim 4, got 3/ },
  { kind: 'MultiHeadAttention', what: 'after a vector output', make: (a) => new a.Sequential([dense4(a), new a.LastStep(), new a.MultiHeadAttention({ numHeads: 2 })]), code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[2].config.embed_dim', says: /sequence input.*got \[batch, 4\]/ },
  { kind: 'MultiHeadAttention', what: 'num_heads missing (core)', make: (a) => raw(a, [{ type: 'MultiHeadAttention', config: { embed_dim: 8 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.num_heads', says: /is required/ },
  // Dropout
  { kind: 'Dropout', what: 'p = 1 (facade)', make: (a) => new a.Dropout({ p: 1 }), code: 'ERR_RNNKIT_VALUE', arg: 'options.p', says: /\[0, 1\), got 1/ },
  { kind: 'Dropout', what: 'p = 1 (core)', make: (a) => raw(a, [D4, { type: 'Dropout', config: { p: 1 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.p', says: /\[0, 1\), got 1/ },
  { kind: 'Dropout', what: 'p < 0 (core)', make: (a) => raw(a, [D4, { type: 'Dropout', config: { p: -0.1 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.p', says: /\[0, 1\), got -0.1/ },
  // Embedding
  { kind: 'Embedding', what: 'padding_idx = num_embeddings', make: (a) => new a.Sequential([new a.Embedding({ numEmbeddings: 5, embeddingDim: 3, paddingIdx: 5 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.padding_idx', says: /\[-5, 4\] \(num_embeddings = 5\), got 5/ },
  { kind: 'Embedding', what: 'padding_idx below -num_embeddings', make: (a) => new a.Sequential([new a.Embedding({ numEmbeddings: 5, embeddingDim: 3, paddingIdx: -6 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.padding_idx', says: /\[-5, 4\] \(num_embeddings = 5\), got -6/ },
  { kind: 'Embedding', what: 'not the first layer', make: (a) => new a.Sequential([dense4(a), new a.Embedding({ numEmbeddings: 5, embeddingDim: 3 })]), code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[1].config', says: /must be the first layer.*got \[batch, seq, 4\]/ },
  { kind: 'Embedding', what: 'embedding_dim missing (core)', make: (a) => raw(a, [{ type: 'Embedding', config: { num_embeddings: 5 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.embedding_dim', says: /is required/ },
  // LayerNorm
  { kind: 'LayerNorm', what: 'first without normalized_shape', make: (a) => new a.Sequential([new a.LayerNorm()]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.normalized_shape', says: /required for the first layer/ },
  { kind: 'LayerNorm', what: 'normalized_shape against the previous layer', make: (a) => new a.Sequential([dense4(a), new a.LayerNorm({ normalizedShape: 5 })]), code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[1].config.normalized_shape', says: /expected 4 .*got 5/ },
  { kind: 'LayerNorm', what: 'eps 0 (core)', make: (a) => raw(a, [{ type: 'LayerNorm', config: { normalized_shape: 4, eps: 0 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.eps', says: /> 0, got 0/ },
  // Pools
  { kind: 'MaxPool1D', what: 'first layer', make: (a) => new a.Sequential([new a.MaxPool1D({ poolSize: 2 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config', says: /cannot be the first layer/ },
  { kind: 'MaxPool1D', what: 'stride 0 (core)', make: (a) => raw(a, [D4, { type: 'MaxPool1D', config: { pool_size: 2, stride: 0 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.stride', says: />= 1, got 0/ },
  { kind: 'AvgPool1D', what: "padding 'causal' (core)", make: (a) => raw(a, [D4, { type: 'AvgPool1D', config: { pool_size: 2, padding: 'causal' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.padding', says: /valid, same, got "causal"/ },
  { kind: 'AvgPool1D', what: "padding 'causal' (facade)", make: (a) => a.AvgPool1D.fromConfig({ pool_size: 2, padding: 'causal' }), code: 'ERR_RNNKIT_VALUE', arg: 'config.padding', says: /"valid", "same", got "causal"/ },
  { kind: 'GlobalMaxPool', what: 'after a vector output', make: (a) => new a.Sequential([dense4(a), new a.LastStep(), new a.GlobalMaxPool()]), code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[2].config', says: /sequence input.*got \[batch, 4\]/ },
  // AttentionPooling
  { kind: 'AttentionPooling', what: "attention_size with score 'dot'", make: (a) => new a.Sequential([new a.AttentionPooling({ features: 4, score: 'dot', attentionSize: 3 })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.attention_size', says: /applies only to score "additive"/ },
  { kind: 'AttentionPooling', what: 'unknown score (core)', make: (a) => raw(a, [{ type: 'AttentionPooling', config: { features: 4, score: 'general' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.score', says: /additive, dot, got "general"/ },
  // MinGRU / MinLSTM
  { kind: 'MinGRU', what: 'hidden_size missing (core)', make: (a) => raw(a, [D4, { type: 'MinGRU', config: {} }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.hidden_size', says: /required/ },
  { kind: 'MinLSTM', what: 'input_size not the previous output', make: (a) => new a.Sequential([dense4(a), new a.MinLSTM({ inputSize: 5, hiddenSize: 2 })]), code: 'ERR_RNNKIT_SHAPE', arg: 'spec.layers[1].config.input_size', says: /got 5/ },
  { kind: 'MinGRU', what: 'num_layers (core)', make: (a) => raw(a, [D4, { type: 'MinGRU', config: { hidden_size: 2, num_layers: 2 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.num_layers', says: /unknown field/ },
  // Activations
  { kind: 'GELU', what: 'a config key (core)', make: (a) => raw(a, [D4, { type: 'GELU', config: { approximate: 'tanh' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[1].config.approximate', says: /unknown field/ },
  { kind: 'ReLU', what: 'a config key (facade)', make: (a) => a.ReLU.fromConfig({ inplace: true }), code: 'ERR_RNNKIT_VALUE', arg: 'config.inplace', says: /unknown ReLU config key/ },
  // Recurrent variants (issue 15): direction, reset_after, IndRNN
  { kind: 'GRU', what: 'direction and bidirectional disagree', make: (a) => new a.Sequential([new a.GRU({ inputSize: 2, hiddenSize: 3, direction: 'reverse', bidirectional: true })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.bidirectional', says: /expected false \(direction is "reverse"\), got true/ },
  { kind: 'GRU', what: 'unknown direction (facade)', make: (a) => new a.GRU({ hiddenSize: 3, direction: 'backward' as never }), code: 'ERR_RNNKIT_VALUE', arg: 'options.direction', says: /forward.*reverse.*bidirectional/ },
  { kind: 'GRU', what: 'unknown direction (core)', make: (a) => raw(a, [{ type: 'GRU', config: { input_size: 2, hidden_size: 3, direction: 'backward' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.direction', says: /forward, reverse, bidirectional, got "backward"/ },
  { kind: 'GRU', what: 'reset_after on an LSTM (core)', make: (a) => raw(a, [{ type: 'LSTM', config: { input_size: 2, hidden_size: 3, reset_after: false } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.reset_after', says: /unknown field/ },
  { kind: 'IndRNN', what: 'recurrent_max_abs 0 (core)', make: (a) => raw(a, [{ type: 'IndRNN', config: { input_size: 2, hidden_size: 3, recurrent_max_abs: 0 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.recurrent_max_abs', says: /> 0, got 0/ },
  { kind: 'IndRNN', what: 'recurrent_init (a vector has none; core)', make: (a) => raw(a, [{ type: 'IndRNN', config: { input_size: 2, hidden_size: 3, recurrent_init: 'orthogonal' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.recurrent_init', says: /unknown field/ },
  { kind: 'IndRNN', what: 'sigmoid nonlinearity (core)', make: (a) => raw(a, [{ type: 'IndRNN', config: { input_size: 2, hidden_size: 3, nonlinearity: 'sigmoid' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.nonlinearity', says: /relu, tanh, got "sigmoid"/ },
  { kind: 'IndRNN', what: 'gate_activation (no gates; core)', make: (a) => raw(a, [{ type: 'IndRNN', config: { input_size: 2, hidden_size: 3, gate_activation: 'hard_sigmoid' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.gate_activation', says: /an IndRNN cell has no gates/ },
  { kind: 'IndRNN', what: 'an activation other than its nonlinearities (core)', make: (a) => raw(a, [{ type: 'IndRNN', config: { input_size: 2, hidden_size: 3, activation: 'softsign' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.activation', says: /activation is its nonlinearity: expected one of relu, tanh, got "softsign"/ },
  { kind: 'IndRNN', what: 'peephole (core)', make: (a) => raw(a, [{ type: 'IndRNN', config: { input_size: 2, hidden_size: 3, peephole: true } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.peephole', says: /only an LSTM has this option/ },
  // Recurrent cell options (the core judges which cell takes which)
  { kind: 'LSTM', what: 'cellClip 0 (facade)', make: (a) => new a.LSTM({ hiddenSize: 4, cellClip: 0 }), code: 'ERR_RNNKIT_VALUE', arg: 'options.cellClip', says: /> 0, got 0/ },
  { kind: 'LSTM', what: 'cell_clip -1 (core)', make: (a) => raw(a, [{ type: 'LSTM', config: { input_size: 4, hidden_size: 4, cell_clip: -1 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.cell_clip', says: /> 0, got -1/ },
  { kind: 'LSTM', what: 'unknown gate_activation (core)', make: (a) => raw(a, [{ type: 'LSTM', config: { input_size: 4, hidden_size: 4, gate_activation: 'hardSigmoid' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.gate_activation', says: /hard_sigmoid.*got "hardSigmoid"/ },
  { kind: 'GRU', what: 'peephole on a GRU (core)', make: (a) => raw(a, [{ type: 'GRU', config: { input_size: 4, hidden_size: 4, peephole: true } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.peephole', says: /only an LSTM has this option; this layer is a GRU/ },
  { kind: 'RNN', what: 'gate_activation on an RNN (core)', make: (a) => raw(a, [{ type: 'RNN', config: { input_size: 4, hidden_size: 4, gate_activation: 'sigmoid' } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.gate_activation', says: /no gates/ },
  { kind: 'LSTM', what: 'projSize -1 (facade)', make: (a) => new a.LSTM({ hiddenSize: 4, projSize: -1 }), code: 'ERR_RNNKIT_VALUE', arg: 'options.projSize', says: /got -1/ },
  { kind: 'LSTM', what: 'proj_size = hidden_size (core)', make: (a) => raw(a, [{ type: 'LSTM', config: { input_size: 4, hidden_size: 4, proj_size: 4 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.proj_size', says: /expected 0 \(none\) or a size < hidden_size \(4\), got 4/ },
  { kind: 'GRU', what: 'proj_size on a GRU (core)', make: (a) => raw(a, [{ type: 'GRU', config: { input_size: 4, hidden_size: 4, proj_size: 2 } }]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.proj_size', says: /only an LSTM has this option; this layer is a GRU/ },
  { kind: 'RNN', what: 'activation against nonlinearity', make: (a) => new a.Sequential([new a.RNN({ inputSize: 4, hiddenSize: 4, nonlinearity: 'relu', activation: 'tanh' })]), code: 'ERR_RNNKIT_VALUE', arg: 'spec.layers[0].config.activation', says: /conflicts with nonlinearity "relu".*got "tanh"/ },
];

it('covers every new layer kind', () => {
  const kinds = new Set(CASES.map((c) => c.kind));
  for (const k of ['Conv1D', 'MultiHeadAttention', 'Dropout', 'Embedding', 'LayerNorm', 'MaxPool1D', 'AvgPool1D', 'GlobalMaxPool', 'AttentionPooling', 'GELU', 'ReLU', 'MinGRU', 'MinLSTM']) expect(kinds, k).toContain(k);
});

for (const v of VARIANTS) {
  describe.skipIf(!variantBuilt(v, 'layer-config-errors'))(`bad layer configs on ${v.label}`, () => {
    let a: Api;
    beforeAll(async () => {
      a = await loadVariant(v);
    });

    it.each(CASES.map((c) => [`${c.kind}: ${c.what}`, c] as const))('%s', async (_name, c) => {
      const live = a.liveHandles();
      const e = await caught(() => c.make(a));
      expect(a.isRnnkitError(e), e.message).toBe(true);
      expect([e.code, e.arg], e.message).toEqual([c.code, c.arg]);
      expect(e.message).toMatch(c.says);
      expect(e.message.startsWith(`${c.arg}:`), e.message).toBe(true);
      // A rejected model leaves nothing behind.
      expect(a.liveHandles()).toBe(live);
    });
  });
}
