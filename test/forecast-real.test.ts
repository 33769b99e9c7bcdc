/**
 * Real public series (vega-datasets, an npm package) through the CLI with default flags: monthly CO2 at
 * Mauna Loa (trend + season) and Seattle's daily maximum temperature (weather) must beat the better of
 * persistence and seasonal naive on their held-out tails, and a 12-month CO2 forecast must keep rising
 * year on year (the issue saw one fall from 416 to 389). The CSVs have a date column (and Seattle a text
 * column) that the CSV reader of this branch rejects, so the test writes numeric copies of them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CLI_BUILT, ROOT, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-real-'));
const cli = (args: string[]) => runCli(args, dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Copies `columns` of a vega-datasets CSV into `name` in the temp dir; returns the rows' values. */
function numericCopy(file: string, columns: string[], name: string): number[][] {
  const [head, ...lines] = readFileSync(join(ROOT, 'node_modules/vega-datasets/data', file), 'utf8').trim().split('\n');
  const names = head.split(',');
  const idx = columns.map((c) => names.indexOf(c));
  const rows = lines.map((l) => idx.map((i) => Number(l.split(',')[i])));
  writeFileSync(join(dir, name), columns.join(',') + '\n' + rows.map((r) => r.join(',')).join('\n') + '\n');
  return rows;
}

async function trainDefault(csv: string, target: string): Promise<Record<string, any>> {
  const t = await cli(['train', '--csv', csv, '--target', target, '--json', '--out', `${csv}.safetensors`, '--report', `${csv}.html`]);
  expect(t.code, t.stderr).toBe(0);
  return t.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'done').forecast;
}

describe.skipIf(!CLI_BUILT)('real series with default flags (run `npm run build:ts` first)', () => {
  it('monthly CO2 beats both baselines, and its 12-month forecast keeps rising', async () => {
    const rows = numericCopy('co2-concentration.csv', ['CO2'], 'co2.csv');
    const f = await trainDefault('co2.csv', 'CO2');
    expect(f.seasonalNaive.period).toBe(12);
    expect(f.model.rmse).toBeLessThan(f.persistence.rmse);
    expect(f.model.rmse).toBeLessThan(f.seasonalNaive.rmse);

    const p = await cli(['predict', '--model', 'co2.csv.safetensors', '--csv', 'co2.csv', '--steps', '12', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout);
    expect(out.mode).toBe('recursive: 1-step model rolled 12 times');
    const last12 = rows.slice(-12).map((r) => r[0]);
    // A year ahead is above the same month a year earlier, and the year's mean above the last year's.
    expect(out.forecast[11]).toBeGreaterThan(last12[11]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(out.forecast)).toBeGreaterThan(mean(last12));
    out.forecast.forEach((v: number, k: number) => {
      expect(out.lower[k]).toBeLessThan(v);
      expect(out.upper[k]).toBeGreaterThan(v);
    });
  });

  it('Seattle daily maximum temperature beats both baselines from its own history', async () => {
    numericCopy('seattle-weather.csv', ['precipitation', 'temp_max', 'temp_min', 'wind'], 'seattle.csv');
    const f = await trainDefault('seattle.csv', 'temp_max');
    expect(f.model.rmse).toBeLessThan(f.persistence.rmse);
    expect(f.model.rmse).toBeLessThan(f.seasonalNaive?.rmse ?? Infinity);
  });
});
