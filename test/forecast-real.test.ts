/**
 * Real public series (vega-datasets, an npm package) through the CLI with default flags, read as the files
 * come: monthly CO2 at Mauna Loa (trend + season; a Date column and months missing from the grid) and
 * Seattle's daily maximum temperature (weather; a date column and a text column) must beat the better of
 * persistence and seasonal naive on their held-out tails, with the season taken from the dates' calendar.
 * A 12-month CO2 forecast must keep rising year on year (the issue saw one fall from 416 to 389) and be
 * dated by calendar month after the file's last date.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readCsv } from '../ts/cli/datasets/csv.js';
import { CLI_BUILT, ROOT, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-real-'));
const cli = (args: string[]) => runCli(args, dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const vega = (file: string) => join(ROOT, 'node_modules/vega-datasets/data', file);

/** Trains with default flags; returns the start event's notices and notes and the held-out forecast scores. */
async function trainDefault(file: string, target: string, name: string): Promise<{ notices: string[]; notes: string[]; forecast: Record<string, any> }> {
  const t = await cli(['train', '--csv', vega(file), '--target', target, '--json', '--out', `${name}.safetensors`, '--report', `${name}.html`]);
  expect(t.code, t.stderr).toBe(0);
  const events = t.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const start = events.find((e) => e.event === 'start');
  return { notices: start.notices, notes: start.notes, forecast: events.find((e) => e.event === 'done').forecast };
}

describe.skipIf(!CLI_BUILT)('real series with default flags (run `npm run build:ts` first)', () => {
  it('monthly CO2 beats both baselines, and its dated 12-month forecast keeps rising', async () => {
    const { notices, notes, forecast: f } = await trainDefault('co2-concentration.csv', 'CO2', 'co2');
    expect(notices).toContain('dates: 1958-03-01 to 2020-04-01, monthly');
    expect(notes.some((n) => /^season 12 rows \(calendar: monthly rows, confirmed by the autocorrelation 0\.\d+ of the training rows' differences/.test(n))).toBe(true);
    expect(f.seasonalNaive.period).toBe(12);
    expect(f.model.rmse).toBeLessThan(f.persistence.rmse);
    expect(f.model.rmse).toBeLessThan(f.seasonalNaive.rmse);

    const p = await cli(['predict', '--model', 'co2.safetensors', '--csv', vega('co2-concentration.csv'), '--steps', '12', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout);
    expect(out.mode).toBe('recursive: 1-step model rolled 12 times');
    expect([out.dates[0], out.dates[11]]).toEqual(['2020-05-01', '2021-04-01']);
    // The last 12 rows as the model reads them (the CSV reader's interpolation included).
    const last12 = readCsv(vega('co2-concentration.csv'), { target: 'CO2', columns: ['CO2'] }).values[0].slice(-12);
    // A year ahead is above the same month a year earlier, and the year's mean above the last year's.
    expect(out.forecast[11]).toBeGreaterThan(last12[11]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(out.forecast)).toBeGreaterThan(mean(last12));
    out.forecast.forEach((v: number, k: number) => {
      expect(out.lower[k]).toBeLessThan(v);
      expect(out.upper[k]).toBeGreaterThan(v);
    });
  });

  it('Seattle daily maximum temperature beats both baselines from its own history, with a 365-day calendar season', async () => {
    const { notices, notes, forecast: f } = await trainDefault('seattle-weather.csv', 'temp_max', 'seattle');
    expect(notices).toContain('ignoring non-numeric column weather (text)');
    expect(notes).toContain("inputs: temp_max's own history");
    expect(notes.some((n) => n.startsWith("season 365 rows (calendar: daily rows, confirmed by the autocorrelation") && n.includes('detrended levels'))).toBe(true);
    expect(f.seasonalNaive.period).toBe(365);
    expect(f.model.rmse).toBeLessThan(f.persistence.rmse);
    expect(f.model.rmse).toBeLessThan(f.seasonalNaive.rmse);
  });
});
