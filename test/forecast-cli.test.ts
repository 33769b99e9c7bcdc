/**
 * Forecasting through the CLI on a generated trending + seasonal series (monthly-like): default flags beat
 * persistence and seasonal naive; `eval` scores exactly the held-out rows (its point count is the tail's),
 * or every row of a file named with --held-out; the stored 80% intervals cover about 80% of the errors on
 * rows the model has never seen; `backtest` gives a per-horizon table and says it did not refit.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { decodeSafetensors } from '../ts/persist.js';
import { Random } from '../ts/cli/datasets/random.js';
import { CLI_BUILT, expectUserError, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-forecast-'));
const at = (name: string) => join(dir, name);
const cli = (args: string[]) => runCli(args, dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Trend, a period-12 season and noise; rows [from, to) of one fixed draw. */
function series(from: number, to: number): number[] {
  const r = new Random(11);
  const all = Array.from({ length: to }, (_, t) => 50 + 0.2 * t + 4 * Math.sin((2 * Math.PI * t) / 12) + 1.5 * Math.cos((2 * Math.PI * t) / 6) + 0.6 * r.normal());
  return all.slice(from);
}
const writeCsv = (name: string, values: number[]) => writeFileSync(at(name), 'sales\n' + values.map((v) => v.toFixed(4)).join('\n') + '\n');

describe.skipIf(!CLI_BUILT)('forecasting CLI (run `npm run build:ts` first)', () => {
  const ROWS = 480;
  writeCsv('sales.csv', series(0, ROWS));

  it('default flags beat both baselines on a trending seasonal series, and say what they chose', async () => {
    const t = await cli(['train', '--csv', 'sales.csv', '--json', '--out', 'sales.safetensors', '--report', 'sales.html']);
    expect(t.code, t.stderr).toBe(0);
    const events = t.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const start = events.find((e) => e.event === 'start');
    expect(start.notes.join('\n')).toMatch(/season 12 rows \(acf: the autocorrelation 0\.\d+ of the training rows' differences; override with --season\)/); // no dates: the data alone
    expect(start.notes.join('\n')).toMatch(/transform (diff|seasonal-diff|diff\+seasonal|window-norm) \(lowest inner-validation RMSE/);
    const done = events.find((e) => e.event === 'done');
    const f = done.forecast;
    expect(f.points).toBe(ROWS - Math.floor(ROWS * 0.8));
    expect(f.model.rmse).toBeLessThan(f.persistence.rmse);
    expect(f.model.rmse).toBeLessThan(f.seasonalNaive.rmse);
    expect(f.beatsBaselines).toBe(true);
    expect(done.metrics.rmse).toBe(f.model.rmse); // the headline is the held-out score
    const html = readFileSync(at('sales.html'), 'utf8');
    expect(html).toContain('id="forecast-table"');
    expect(html).toContain('seasonal naive (12)');
  });

  it('eval scores exactly the held-out rows, with the same number train printed', async () => {
    const meta = JSON.parse(decodeSafetensors(readFileSync(at('sales.safetensors'))).metadata['rnnkit.data']);
    expect(meta.split).toEqual({ row: Math.floor(ROWS * 0.8), rows: ROWS });
    const trained = JSON.parse(decodeSafetensors(readFileSync(at('sales.safetensors'))).metadata['rnnkit.train']);
    const e = await cli(['eval', '--model', 'sales.safetensors', '--csv', 'sales.csv', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const out = JSON.parse(e.stdout);
    expect(out.points).toBe(ROWS - meta.split.row);
    expect(out.forecast.firstOrigin).toBe(meta.split.row);
    expect(out.metrics.rmse).toBeCloseTo(trained.metrics.rmse, 5);
    expect(out.data).toContain(`held-out rows ${meta.split.row}–${ROWS - 1}`);
  });

  it('eval --held-out scores every row of a new file; the 80% intervals cover about 80% of its errors', async () => {
    writeCsv('next.csv', series(ROWS, ROWS + 400));
    const e = await cli(['eval', '--model', 'sales.safetensors', '--held-out', 'next.csv', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const out = JSON.parse(e.stdout);
    expect(out.points).toBe(400);
    expect(out.data).toContain('context from the last');
    expect(out.metrics.interval_coverage).toBeGreaterThan(0.68);
    expect(out.metrics.interval_coverage).toBeLessThan(0.92);
    expectUserError(await cli(['eval', '--model', 'sales.safetensors', '--context', 'sales.csv']), '--context goes with --held-out');
  });

  it('backtest: per-horizon table from rolling origins, recursive past the horizon, no refit', async () => {
    const b = await cli(['backtest', '--model', 'sales.safetensors', '--csv', 'sales.csv', '--origins', '8', '--steps', '6', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const out = JSON.parse(b.stdout);
    expect(out.refit).toBe(false);
    expect(out.mode).toBe('recursive: 1-step model rolled 6 times');
    expect(out.originRows).toHaveLength(8);
    expect(out.horizons.map((h: { horizon: number }) => h.horizon)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const h of out.horizons) expect(h.points).toBe(8);
    const text = await cli(['backtest', '--model', 'sales.safetensors', '--csv', 'sales.csv', '--origins', '8', '--steps', '6']);
    expect(text.stdout).toContain('not refitted');
    expect(text.stdout).toMatch(/horizon\s+model RMSE\s+persistence\s+seasonal naive \(12\)/);
  });
});
