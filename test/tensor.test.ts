/**
 * Tensor construction and validation (ts/tensor.ts): dtype inference, shape checks with their error
 * codes, reshape sharing data, the seeded randn, and the lengths/Tensor3D validators the layers and
 * Sequential share. No backend needed.
 */

import { describe, expect, it, vi } from 'vitest';
import { expectTensor3D, randn, Tensor, tensor, toLengths, zeros } from '../ts/tensor.js';
import { thrown } from './helpers/errors.js';

/** Runs `fn` and returns what it threw (fails the test if it did not throw). */
describe('new Tensor', () => {
  it('infers the dtype from the typed array and freezes the shape', () => {
    const f = new Tensor(new Float32Array(6), [2, 3]);
    expect(f.dtype).toBe('float32');
    expect(f.shape).toEqual([2, 3]);
    expect(f.size).toBe(6);
    expect(f.rank).toBe(2);
    expect(Object.isFrozen(f.shape)).toBe(true);
    const i = new Tensor(new Int32Array([1, 2, 3]), [3]);
    expect(i.dtype).toBe('int32');
    expect(i.data).toBeInstanceOf(Int32Array);
    expect(f).toBeInstanceOf(Tensor);
  });

  it('copies the shape so later mutation of the caller array has no effect', () => {
    const shape = [2, 3];
    const t = new Tensor(new Float32Array(6), shape);
    shape[0] = 99;
    expect(t.shape).toEqual([2, 3]);
  });

  it('accepts empty dims and scalars', () => {
    expect(new Tensor(new Float32Array(0), [0, 4]).size).toBe(0);
    expect(new Tensor(new Float32Array(1), []).rank).toBe(0);
  });

  it('rejects a size mismatch with a RangeError ERR_RNNKIT_SHAPE naming data', () => {
    const e = thrown(() => new Tensor(new Float32Array(5), [2, 3]));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('ERR_RNNKIT_SHAPE');
    expect(e.arg).toBe('data');
    expect(e.message).toContain('6 elements');
  });

  it('rejects negative or fractional dims naming the dim', () => {
    for (const [shape, arg] of [
      [[2, -3], 'shape[1]'],
      [[1.5, 2], 'shape[0]'],
      [[NaN], 'shape[0]'],
    ] as const) {
      const e = thrown(() => new Tensor(new Float32Array(6), shape as unknown as number[]));
      expect(e.code).toBe('ERR_RNNKIT_SHAPE');
      expect(e.arg).toBe(arg);
    }
  });

  it('rejects data that is not a Float32Array or Int32Array with a TypeError', () => {
    for (const data of [new Float64Array(3), [1, 2, 3], null]) {
      const e = thrown(() => new Tensor(data as unknown as Float32Array, [3]));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('ERR_RNNKIT_TYPE');
      expect(e.arg).toBe('data');
    }
    const e = thrown(() => new Tensor(new Float32Array(3), 3 as unknown as number[]));
    expect(e.code).toBe('ERR_RNNKIT_TYPE');
    expect(e.arg).toBe('shape');
  });
});

describe('Tensor identity', () => {
  it('instanceof accepts tensors from another copy of the module, and nothing tensor-shaped', async () => {
    vi.resetModules();
    const other = (await import('../ts/tensor.js')) as typeof import('../ts/tensor.js');
    expect(other.Tensor).not.toBe(Tensor);
    const t = new other.Tensor(new Float32Array(6), [1, 2, 3]);
    expect(t).toBeInstanceOf(Tensor);
    expect(() => expectTensor3D('x', t)).not.toThrow();
    const fake = { dtype: 'float32', shape: [1, 2, 3], data: new Float32Array(6), size: 6, rank: 3 };
    expect(fake).not.toBeInstanceOf(Tensor);
    expect(thrown(() => expectTensor3D('x', fake)).code).toBe('ERR_RNNKIT_TYPE');
  });
});

describe('tensor()', () => {
  it('shares a Float32Array and infers int32 from an Int32Array', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const t = tensor(data, [2, 2]);
    expect(t.data).toBe(data);
    expect(t.dtype).toBe('float32');
    const i = tensor(new Int32Array([1, 2]), [2]);
    expect(i.dtype).toBe('int32');
  });

  it('copies number arrays to float32, or int32 when asked', () => {
    const t = tensor([1, 2.5, 3], [3]);
    expect(t.dtype).toBe('float32');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.toArray()).toEqual([1, 2.5, 3]);
    const a = tensor([4, 5], [2], 'int32');
    const b = tensor([4, 5], [2], { dtype: 'int32' });
    for (const x of [a, b]) {
      expect(x.dtype).toBe('int32');
      expect(x.data).toBeInstanceOf(Int32Array);
      expect(x.toArray()).toEqual([4, 5]);
    }
  });

  it('converts between typed arrays when the dtype differs', () => {
    const t = tensor(new Int32Array([1, 2]), [2], 'float32');
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([1, 2]);
    expect(tensor(new Float64Array([0.5]), [1]).data).toBeInstanceOf(Float32Array);
  });

  it('flattens nested arrays row-major and checks them against the shape', () => {
    const t = tensor(
      [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      ],
      [1, 3, 2],
    );
    expect(t.toArray()).toEqual([1, 2, 3, 4, 5, 6]);
    const ragged = thrown(() => tensor([[1, 2], [3]], [2, 2]));
    expect(ragged.code).toBe('ERR_RNNKIT_SHAPE');
    expect(ragged.arg).toBe('data[1]');
    const wrong = thrown(() => tensor([[1, 2, 3]], [1, 2]));
    expect(wrong.code).toBe('ERR_RNNKIT_SHAPE');
  });

  it('rejects non-integers for int32, non-numbers and bad dtypes', () => {
    const e = thrown(() => tensor([1, 2.5], [2], 'int32'));
    expect(e.code).toBe('ERR_RNNKIT_VALUE');
    expect(e.arg).toBe('data[1]');
    expect(thrown(() => tensor([1, 2 ** 31], [2], 'int32')).code).toBe('ERR_RNNKIT_VALUE');
    expect(thrown(() => tensor([1, '2'] as unknown as number[], [2])).code).toBe('ERR_RNNKIT_TYPE');
    expect(thrown(() => tensor([1], [1], 'float64' as 'int32')).arg).toBe('dtype');
    expect(thrown(() => tensor('abc' as unknown as number[], [3])).code).toBe('ERR_RNNKIT_TYPE');
    expect(thrown(() => tensor([1, 2, 3], [2, 2])).code).toBe('ERR_RNNKIT_SHAPE');
  });
});

describe('zeros and randn', () => {
  it('zeros makes float32 by default and int32 on request', () => {
    const z = zeros([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(z.toArray()).toEqual([0, 0, 0, 0, 0, 0]);
    const zi = zeros([4], 'int32');
    expect(zi.data).toBeInstanceOf(Int32Array);
    expect(thrown(() => zeros([2], 'float16' as 'int32')).code).toBe('ERR_RNNKIT_VALUE');
  });

  it('randn is deterministic per seed and differs across seeds', () => {
    const a = randn([3, 7], { seed: 42 });
    const b = randn([3, 7], { seed: 42 });
    const c = randn([3, 7], { seed: 43 });
    expect(a.toArray()).toEqual(b.toArray());
    expect(a.toArray()).not.toEqual(c.toArray());
    expect(a.toArray().every(Number.isFinite)).toBe(true);
  });

  it('randn has the requested mean and standard deviation', () => {
    const n = 20000;
    const t = randn([n], { seed: 7, mean: 3, std: 0.5 });
    const xs = t.toArray();
    const mean = xs.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    // Standard error of the mean is 0.5/sqrt(20000) ≈ 0.0035; 0.02 is more than 5 of them.
    expect(Math.abs(mean - 3)).toBeLessThan(0.02);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.02);
  });

  it('randn validates its options', () => {
    expect(thrown(() => randn([2], { seed: -1 })).arg).toBe('seed');
    expect(thrown(() => randn([2], { seed: 1.5 })).arg).toBe('seed');
    expect(thrown(() => randn([2], { std: -1 })).arg).toBe('std');
    expect(thrown(() => randn([2], { mean: NaN })).arg).toBe('mean');
  });
});

describe('reshape and toArray', () => {
  it('reshape shares data and infers one -1 dim', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = t.reshape([3, 2]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.data).toBe(t.data);
    expect(t.reshape([-1, 1, 2]).shape).toEqual([3, 1, 2]);
    t.data[0] = 10;
    expect(r.toArray()[0]).toBe(10);
  });

  it('reshape rejects a different element count', () => {
    const t = zeros([2, 3]);
    const e = thrown(() => t.reshape([4, 2]));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('ERR_RNNKIT_SHAPE');
    expect(e.arg).toBe('shape');
    expect(thrown(() => t.reshape([-1, 4])).code).toBe('ERR_RNNKIT_SHAPE');
  });

  it('toArray is a copy', () => {
    const t = tensor([1, 2], [2]);
    const a = t.toArray();
    a[0] = 5;
    expect(t.data[0]).toBe(1);
  });
});

describe('shared validators', () => {
  it('toLengths accepts an int32 Tensor1D, an Int32Array and a number[]', () => {
    for (const l of [tensor([3, 1], [2], 'int32'), new Int32Array([3, 1]), [3, 1]]) {
      const out = toLengths('lengths', l, 2, 3);
      expect(out).toBeInstanceOf(Int32Array);
      expect(Array.from(out)).toEqual([3, 1]);
      expect(out).not.toBe(l);
    }
  });

  it('toLengths names the bad entry', () => {
    expect(thrown(() => toLengths('lengths', [3, 0], 2, 3)).arg).toBe('lengths[1]');
    expect(thrown(() => toLengths('lengths', [4, 1], 2, 3)).code).toBe('ERR_RNNKIT_VALUE');
    expect(thrown(() => toLengths('lengths', [1.5, 1], 2, 3)).code).toBe('ERR_RNNKIT_VALUE');
    const count = thrown(() => toLengths('lengths', [1, 1, 1], 2, 3));
    expect(count.code).toBe('ERR_RNNKIT_SHAPE');
    expect(count.arg).toBe('lengths');
    expect(thrown(() => toLengths('lengths', tensor([1, 1], [2]), 2, 3)).code).toBe('ERR_RNNKIT_TYPE');
    expect(thrown(() => toLengths('lengths', new Float32Array(2), 2, 3)).code).toBe('ERR_RNNKIT_TYPE');
    expect(thrown(() => toLengths('lengths', tensor([1, 1], [1, 2], 'int32'), 2, 3)).code).toBe('ERR_RNNKIT_SHAPE');
  });

  it('expectTensor3D checks class, dtype, rank and emptiness', () => {
    expect(() => expectTensor3D('x', zeros([1, 2, 3]))).not.toThrow();
    expect(thrown(() => expectTensor3D('x', new Float32Array(6))).code).toBe('ERR_RNNKIT_TYPE');
    expect(thrown(() => expectTensor3D('x', zeros([1, 2, 3], 'int32'))).code).toBe('ERR_RNNKIT_TYPE');
    const rank = thrown(() => expectTensor3D('x', zeros([2, 3])));
    expect(rank.code).toBe('ERR_RNNKIT_SHAPE');
    expect(rank.arg).toBe('x');
    expect(thrown(() => expectTensor3D('x', zeros([0, 2, 3]))).code).toBe('ERR_RNNKIT_SHAPE');
  });
});
