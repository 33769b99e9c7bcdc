/**
 * The one forecast metric with a real (small, briefly trained) network: the baselines are scored on
 * exactly the (origin, horizon) points the model is, the points are the held-out tail's, nothing at or
 * after an origin is read (changing those rows leaves the forecast alone), and a 3-step direct model
 * rolled past its horizon returns as many steps as asked.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { Dense, LSTM, ready, Sequential, tensor } from '../ts/index.js';
import type { Tensor3D } from '../ts/tensor.js';
import { seasonalSeries } from '../ts/cli/datasets/builtin.js';
import { forecastData, originsIn } from '../ts/cli/datasets/series.js';
import type { ForecastMeta, PreparedData } from '../ts/cli/datasets/types.js';
import { forecastMode, forecastPaths } from '../ts/cli/forecast/forecaster.js';
import { scoreForecasts } from '../ts/cli/forecast/metrics.js';

let data: PreparedData;
let meta: ForecastMeta;
let model: Sequential;

beforeAll(async () => {
  await ready();
  data = forecastData(seasonalSeries({ seed: 2, size: 500 }), { window: 24, horizon: 3, stride: 1, valSplit: 0.2, returnSequences: true });
  meta = data.meta as ForecastMeta;
  model = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 8 }), new Dense({ units: 3, returnSequences: true })], { seed: 1 });
  model.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 } });
  await model.fit(tensor(data.train.x, data.train.xDims) as Tensor3D, tensor(data.train.y as Float32Array, data.train.yDims), { epochs: 2, batchSize: 32 });
});

describe('held-out scoring', () => {
  it('scores every held-out (origin, horizon) point, model and baselines on the same rows', () => {
    const { columns, target, valStart } = data.series!;
    const origins = originsIn(meta, valStart, target.length);
    expect(origins[0]).toBe(400);
    expect(origins.at(-1)).toBe(500 - 3);
    const s = scoreForecasts(model, meta, columns, origins, true);
    expect(s.points).toBe(origins.length * 3);
    s.origins.forEach((e, k) => {
      expect(s.paths.truth[k]).toEqual([target[e], target[e + 1], target[e + 2]]);
      expect(s.paths.persistence[k]).toEqual([target[e - 1], target[e - 1], target[e - 1]]);
      const m = meta.season!.period;
      expect(s.paths.seasonalNaive![k][0]).toBe(target[e - m]);
    });
    // Per-horizon RMSEs are those of the paths, for model and baselines alike.
    const rmse = (pred: number[][], u: number) => Math.sqrt(s.paths.truth.reduce((a, row, k) => a + (row[u] - pred[k][u]) ** 2, 0) / origins.length);
    for (const u of [0, 1, 2]) {
      expect(s.horizons[u].points).toBe(origins.length);
      expect(s.horizons[u].model.rmse).toBeCloseTo(rmse(s.paths.model, u), 10);
      expect(s.horizons[u].persistence.rmse).toBeCloseTo(rmse(s.paths.persistence, u), 10);
      expect(s.horizons[u].seasonalNaive!.rmse).toBeCloseTo(rmse(s.paths.seasonalNaive!, u), 10);
    }
    expect(s.residuals[2][5]).toBeCloseTo(s.paths.truth[5][2] - s.paths.model[5][2], 12);
  });

  it('reads nothing at or after the origin', () => {
    const { columns } = data.series!;
    const future = columns.map((col) => col.map((v, t) => (t >= 450 ? v + 100 : v)));
    expect(forecastPaths(model, meta, future, [450], 7, true)).toEqual(forecastPaths(model, meta, columns, [450], 7, true));
  });

  it('rolls a 3-step model past its horizon and says how', () => {
    const [path] = forecastPaths(model, meta, data.series!.columns, [500], 8, true);
    expect(path).toHaveLength(8);
    expect(path.every(Number.isFinite)).toBe(true);
    expect(forecastMode(meta, 3)).toBe('direct 3-step forecast');
    expect(forecastMode(meta, 8)).toBe('direct 3-step forecasts rolled 3 times');
  });
});
