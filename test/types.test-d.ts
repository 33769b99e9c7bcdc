/**
 * Compile-time guarantees of the public types (vitest typecheck; also checked by `tsc --noEmit`).
 * Each `@ts-expect-error` line must fail to compile, so removing the rank or dtype from a type makes
 * this file fail. Nothing here runs a backend.
 */

import { describe, expectTypeOf, test } from 'vitest';
import {
  AttentionPooling,
  Conv1D,
  Dense,
  Embedding,
  GlobalMeanPool,
  GRU,
  LSTM,
  MaxPool1D,
  RNN,
  Sequential,
  type AnyLayer,
  type LayerJSON,
  randn,
  Tensor,
  tensor,
  zeros,
  type LSTMOutput,
  type RecurrentOutput,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
} from '../ts/index.js';

declare const seqLen: number;
declare const lstm: LSTM;
declare const gru: GRU;
declare const rnn: RNN;

describe('tensor types', () => {
  test('dtype follows the data', () => {
    expectTypeOf(new Tensor(new Float32Array(6), [2, 3])).toEqualTypeOf<Tensor2D<'float32'>>();
    expectTypeOf(new Tensor(new Int32Array(3), [3])).toEqualTypeOf<Tensor1D<'int32'>>();
    expectTypeOf(tensor(new Int32Array(3), [3])).toEqualTypeOf<Tensor1D<'int32'>>();
    expectTypeOf(tensor([1, 2, 3], [3], 'int32')).toEqualTypeOf<Tensor1D<'int32'>>();
    expectTypeOf(tensor([1, 2, 3], [3])).toEqualTypeOf<Tensor1D>();
    expectTypeOf(tensor([1, 2, 3], [3]).data).toEqualTypeOf<Float32Array>();
    expectTypeOf(tensor(new Int32Array(3), [3]).data).toEqualTypeOf<Int32Array>();
  });

  test('the shape literal gives the rank, with dims widened to number', () => {
    expectTypeOf(tensor(new Float32Array(24), [2, 3, 4])).toEqualTypeOf<Tensor3D>();
    expectTypeOf(zeros([seqLen, 2, 4])).toEqualTypeOf<Tensor3D>();
    expectTypeOf(randn([2, 3], { seed: 1 })).toEqualTypeOf<Tensor2D>();
    expectTypeOf(zeros([4], 'int32')).toEqualTypeOf<Tensor1D<'int32'>>();
    expectTypeOf(zeros([2, 3, 4]).reshape([6, 4])).toEqualTypeOf<Tensor2D>();
    expectTypeOf(zeros([2, 3]).rank).toEqualTypeOf<2>();
    // A variable of a wider type accepts any later value of the same rank.
    let x = tensor(new Float32Array(24), [2, 3, 4]);
    x = zeros([5, 1, 1]);
    expectTypeOf(x).toEqualTypeOf<Tensor3D>();
  });
});

describe('layers reject wrong ranks and dtypes at compile time', () => {
  test('a Tensor2D is not a Tensor3D', () => {
    expectTypeOf<Tensor2D>().not.toMatchTypeOf<Tensor3D>();
    expectTypeOf<Tensor3D<'int32'>>().not.toMatchTypeOf<Tensor3D>();
    expectTypeOf<Tensor3D>().toMatchTypeOf<Tensor>();
    const x2 = zeros([3, 4]);
    const x3 = zeros([5, 3, 4]);
    // @ts-expect-error a 2-D input where [seq, batch, input] is required
    lstm.forward(x2);
    // @ts-expect-error an int32 tensor is not float32 input
    gru.forward(zeros([5, 3, 4], 'int32'));
    // @ts-expect-error h0 must be 3-D too
    rnn.forward(x3, { h0: zeros([3, 4]) });
    expectTypeOf(lstm.forward(x3)).toEqualTypeOf<LSTMOutput>();
    expectTypeOf(lstm.forward(x3).c).toEqualTypeOf<Tensor3D>();
    expectTypeOf(gru.forward(x3)).toEqualTypeOf<RecurrentOutput>();
    expectTypeOf(gru.forward(x3).output).toEqualTypeOf<Tensor3D>();
  });

  test('lengths take int32 tensors, Int32Array and number[], but not float32 tensors', () => {
    const x3 = zeros([5, 3, 4]);
    lstm.forward(x3, { lengths: tensor([5, 4, 2], [3], 'int32') });
    lstm.forward(x3, { lengths: new Int32Array([5, 4, 2]) });
    lstm.forward(x3, { lengths: [5, 4, 2] });
    // @ts-expect-error float32 lengths
    lstm.forward(x3, { lengths: tensor([5, 4, 2], [3]) });
    // @ts-expect-error 2-D lengths
    lstm.forward(x3, { lengths: tensor([5, 4, 2], [1, 3], 'int32') });
  });

  test('only the LSTM takes a cell state', () => {
    const x3 = zeros([5, 3, 4]);
    lstm.forward(x3, { c0: zeros([1, 3, 8]) });
    // @ts-expect-error GRU has no cell state
    gru.forward(x3, { c0: zeros([1, 3, 8]) });
    expectTypeOf(lstm.backward(x3).dc0).toEqualTypeOf<Tensor3D>();
    expectTypeOf(gru.backward(x3)).not.toHaveProperty('dc0');
  });

  test('options are typed', () => {
    // @ts-expect-error hiddenSize is required
    new LSTM({ inputSize: 3 });
    // @ts-expect-error unknown nonlinearity
    new RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'gelu' });
    // @ts-expect-error snake_case is not an option name
    new GRU({ inputSize: 3, hiddenSize: 4, batch_first: true });
    // Cell options: activations per cell type, the LSTM-only ones on LSTM only.
    new LSTM({ hiddenSize: 4, gateActivation: 'hard_sigmoid', activation: 'relu', cellActivation: 'tanh', peephole: true, cellClip: 3, inputForget: true });
    new GRU({ hiddenSize: 4, gateActivation: 'hard_sigmoid', activation: 'softsign' });
    new RNN({ hiddenSize: 4, activation: 'elu' });
    // @ts-expect-error an unknown gate activation
    new LSTM({ hiddenSize: 4, gateActivation: 'hardSigmoid' });
    // @ts-expect-error peepholes are an LSTM's
    new GRU({ hiddenSize: 4, peephole: true });
    // @ts-expect-error an Elman cell has no gates
    new RNN({ hiddenSize: 4, gateActivation: 'sigmoid' });
    // @ts-expect-error Dense activations are the core's names
    new Dense({ units: 2, activation: 'swish' });
    // @ts-expect-error Conv1D padding is valid | same | causal
    new Conv1D({ outChannels: 2, kernelSize: 3, padding: 'full' });
    // @ts-expect-error Embedding needs embeddingDim
    new Embedding({ numEmbeddings: 10 });
    expectTypeOf(new RNN({ hiddenSize: 4 }).toJSON()).toEqualTypeOf<LayerJSON>();
  });
});

describe('a Sequential reads what its first layer reads', () => {
  const ids = zeros([2, 5], 'int32');
  const feats = zeros([2, 5, 3]);
  const y = zeros([2, 4]);

  test('an Embedding first: int32 token ids [batch, seq]; float tensors are type errors', () => {
    const m = new Sequential([
      new Embedding({ numEmbeddings: 10, embeddingDim: 4 }),
      new Conv1D({ outChannels: 8, kernelSize: 3 }),
      new MaxPool1D({ poolSize: 2 }),
      new LSTM({ hiddenSize: 6, bidirectional: true }),
      new AttentionPooling({}),
      new Dense({ units: 4 }),
    ]);
    expectTypeOf(m).toEqualTypeOf<Sequential<Tensor2D<'int32'>>>();
    m.predict(ids);
    void m.fit(ids, y);
    m.evaluate(ids, y);
    m.trace(zeros([1, 5], 'int32'));
    // @ts-expect-error float32 features into an Embedding model
    m.predict(feats);
    // @ts-expect-error float32 features into an Embedding model
    void m.fit(feats, y);
    // @ts-expect-error float32 features into an Embedding model
    m.evaluate(feats, y);
    // @ts-expect-error int32 ids of rank 3
    m.predict(zeros([2, 5, 1], 'int32'));
  });

  test('a Conv1D or Dense first: float32 features [batch, seq, features]; ids are type errors', () => {
    const m = new Sequential([new Conv1D({ inChannels: 3, outChannels: 4, kernelSize: 2 }), new GlobalMeanPool(), new Dense({ units: 4 })]);
    expectTypeOf(m).toEqualTypeOf<Sequential<Tensor3D>>();
    m.predict(feats);
    // @ts-expect-error token ids into a Conv1D model
    m.predict(ids);
    // @ts-expect-error token ids into a Dense model
    new Sequential([new Dense({ inFeatures: 3, units: 2 })]).predict(ids);
  });

  test('a recurrent first layer reads either (ids as one-hot input)', () => {
    const m = new Sequential([new LSTM({ inputSize: 10, hiddenSize: 4 }), new Dense({ units: 4 })]);
    m.predict(feats);
    m.predict(ids);
    // A list typed only as layers reads either as well.
    const layers: AnyLayer[] = [new GRU({ inputSize: 3, hiddenSize: 2 })];
    expectTypeOf(new Sequential(layers)).toEqualTypeOf<Sequential<Tensor3D | Tensor2D<'int32'>>>();
  });
});
