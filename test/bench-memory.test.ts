/**
 * The long-memory reproduction's task generators (bench/memory/tasks.ts): the adding problem marks
 * exactly one step in each half and its target is their sum; selective copying scatters the data
 * tokens in order among noise and asks for them, in order, at the marker steps only.
 */

import { describe, expect, it } from 'vitest';
import { addingProblem, copyingVocab, selectiveCopying } from '../bench/memory/tasks.js';

describe('adding problem', () => {
  it('marks one step in each half; the target is the sum of the two marked values', () => {
    const [n, steps] = [200, 37];
    const { x, y } = addingProblem(n, steps, 3);
    for (let b = 0; b < n; b++) {
      const marked = [];
      for (let t = 0; t < steps; t++) {
        const [value, mark] = [x[(b * steps + t) * 2], x[(b * steps + t) * 2 + 1]];
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThan(1);
        if (mark === 1) marked.push(t);
        else expect(mark).toBe(0);
      }
      expect(marked).toHaveLength(2);
      expect(marked[0]).toBeLessThan(18);
      expect(marked[1]).toBeGreaterThanOrEqual(18);
      expect(y[b]).toBeCloseTo(x[marked[0] * 2 + b * steps * 2] + x[marked[1] * 2 + b * steps * 2], 6);
    }
  });

  it('is the same for a seed and differs between seeds', () => {
    expect(addingProblem(4, 10, 1).x).toEqual(addingProblem(4, 10, 1).x);
    expect(addingProblem(4, 10, 1).x).not.toEqual(addingProblem(4, 10, 2).x);
  });

  it('predicting the mean scores MSE near 1/6', () => {
    const { y } = addingProblem(20000, 20, 5);
    const mse = y.reduce((s, v) => s + (v - 1) ** 2, 0) / y.length;
    expect(mse).toBeGreaterThan(0.16);
    expect(mse).toBeLessThan(0.175);
  });
});

describe('selective copying', () => {
  const shape = { context: 30, tokens: 5, symbols: 4 };
  it('asks for the scattered data tokens, in order, at the marker steps', () => {
    const n = 100;
    const steps = shape.context + shape.tokens;
    const { x, y, mask } = selectiveCopying(n, shape, 7);
    expect(copyingVocab(shape)).toBe(6);
    for (let b = 0; b < n; b++) {
      const row = Array.from(x.subarray(b * steps, (b + 1) * steps));
      const data = row.slice(0, shape.context).filter((v) => v !== 0);
      expect(data).toHaveLength(shape.tokens);
      data.forEach((v) => expect(v >= 1 && v <= shape.symbols).toBe(true));
      expect(row.slice(shape.context)).toEqual(Array(shape.tokens).fill(shape.symbols + 1));
      expect(Array.from(y.subarray(b * steps + shape.context, (b + 1) * steps))).toEqual(data);
      expect(Array.from(mask.subarray(b * steps, (b + 1) * steps))).toEqual([...Array(shape.context).fill(0), ...Array(shape.tokens).fill(1)]);
      expect(Array.from(y.subarray(b * steps, b * steps + shape.context))).toEqual(Array(shape.context).fill(0));
    }
  });
});
