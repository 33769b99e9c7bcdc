/**
 * Compile-time guarantees of the public types (vitest typecheck; also checked by `tsc --noEmit`).
 * Each `@ts-expect-error` line must fail to compile, so removing the rank or dtype from a type makes
 * this file fail. Nothing here runs a backend.
 */

import { describe, expectTypeOf, test } from 'vitest';
import {
  GRU,
  LSTM,
  RNN,
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
    expectTypeOf(new RNN({ hiddenSize: 4 }).config.nonlinearity).toEqualTypeOf<'tanh' | 'relu' | 'sigmoid'>();
  });
});
