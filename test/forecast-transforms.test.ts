/**
 * The forecasting building blocks without a network: every target transform inverts exactly (encode the
 * next values at an origin, decode them from the history before it), the baselines forecast what their
 * definitions say, the automatic transform never tries levels on
 * a trending series, and interval quantiles cover their nominal share.
 */
import { describe, expect, it } from 'vitest';

import { maseScale, persistencePaths, seasonalNaivePaths } from '../ts/cli/forecast/baselines.js';
import { chooseTransform, levelStationary } from '../ts/cli/forecast/choose.js';
import { coverage, intervalAt, intervalsFrom, quantile } from '../ts/cli/forecast/intervals.js';
import { decode, encodedSeries, encodedTarget, fitTransform, lookback, TRANSFORMS, type TransformName } from '../ts/cli/forecast/transforms.js';
import { Random } from '../ts/cli/datasets/random.js';

/** Trend + period-12 season + noise, like a monthly series. */
function monthly(n: number, seed = 3): number[] {
  const r = new Random(seed);
  return Array.from({ length: n }, (_, t) => 300 + 0.15 * t + 3 * Math.sin((2 * Math.PI * t) / 12) + 0.4 * r.normal());
}

describe('target transforms', () => {
  const y = monthly(300);
  const names = TRANSFORMS.filter((n): n is TransformName => n !== 'auto');

  it.each(names)('%s: decode(encode(y)) returns the next values exactly', (name) => {
    const tr = fitTransform(name, y, 240, 12, 24);
    const enc = encodedSeries(tr, y);
    for (const e of [lookback(tr) + 24, 241, 299 - 6]) {
      const z = Array.from({ length: 6 }, (_, u) => encodedTarget(tr, enc, e - 1, u + 1));
      const back = decode(tr, y.slice(0, e), z);
      back.forEach((v, u) => expect(Math.abs(v - y[e + u])).toBeLessThan(1e-9 * Math.abs(y[e + u])));
    }
  });

  it('statistics come from the training rows only', () => {
    const changed = y.map((v, t) => (t >= 240 ? v + 1000 : v));
    for (const name of names) expect(fitTransform(name, changed, 240, 12, 24)).toEqual(fitTransform(name, y, 240, 12, 24));
  });
});

describe('baselines', () => {
  const y = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it('persistence repeats the last known value', () => {
    expect(persistencePaths(y, [4, 7], 3)).toEqual([[4, 4, 4], [7, 7, 7]]);
  });
  it('seasonal naive takes the latest known row one season earlier', () => {
    // Origin 6, m = 3: rows 6, 7, 8, 9 ← rows 3, 4, 5, 3 (row 9 = two seasons back from the known rows).
    expect(seasonalNaivePaths(y, [6], 4, 3)).toEqual([[4, 5, 6, 4]]);
  });
  it('MASE scale is the training rows\' mean absolute (seasonal) naive error', () => {
    expect(maseScale(y, 6, 0)).toBe(1);
    expect(maseScale(y, 6, 2)).toBe(2);
  });
});

describe('season and automatic transform', () => {
  it('never tries levels on a trending series, and says why', () => {
    const y = monthly(400);
    expect(levelStationary(y, 320)).toBe(false);
    const c = chooseTransform(y, 320, 12, 24, 1);
    expect(c.scores.none).toBeUndefined();
    expect(c.transform.name).not.toBe('none');
    expect(c.reason).toContain('levels not tried');
  });
});

describe('prediction intervals', () => {
  it('empirical quantiles cover their nominal share of fresh errors from the same distribution', () => {
    const r = new Random(5);
    const draw = () => [Array.from({ length: 2000 }, () => r.normal()), Array.from({ length: 2000 }, () => 2 * r.normal())];
    const iv = intervalsFrom(draw());
    expect(iv.level).toBe(0.8);
    expect(iv.upper[1]).toBeCloseTo(2 * 1.2816, 0);
    expect(Math.abs(coverage(iv, draw()) - 0.8)).toBeLessThan(0.03);
  });
  it('quantile interpolates, and steps past the measured ones widen by √(step / measured)', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    const iv = { level: 0.8, lower: [-1, -2], upper: [1, 2] };
    expect(intervalAt(iv, 2)).toEqual([-2, 2]);
    expect(intervalAt(iv, 8)).toEqual([-4, 4]);
  });
});
