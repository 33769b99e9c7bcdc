/**
 * CSV input as real files come (ts/cli/datasets/csv.ts, calendar.ts, missing.ts): date layouts, date
 * column detection and the --date / --no-date flags, time order, frequency and the date grid, season
 * detection, text columns, --columns / --exclude, the --missing policies; on small fixtures written
 * here and on public series shipped by the vega-datasets package. Then dates on the report's forecast
 * axis (payload, and drawn in Chromium: test/artifacts/report-dated-forecast.png) and one CLI run (train, predict, info: the
 * split's date) through dist/cli/main.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

import { addSteps, autocorrelation, calendarSeasons, dateFormatter, detectSeason, inferFrequency, parseDateColumn, stepsBetween } from '../ts/cli/datasets/calendar.js';
import { readCsv, type CsvOptions } from '../ts/cli/datasets/csv.js';
import { forecastSeries, trainingData } from '../ts/cli/datasets/index.js';
import type { ForecastMeta, PreparedData } from '../ts/cli/datasets/types.js';
import { renderReport, type ReportData } from '../ts/cli/report.js';
import { haveChromium, launchChromium, ROOT } from './helpers/browser.js';

const VEGA = join(ROOT, 'node_modules/vega-datasets/data');
const dir = mkdtempSync(join(tmpdir(), 'rnnkit-csv-'));

/** Writes a CSV fixture and returns its path. */
function fixture(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const read = (text: string, o: CsvOptions = {}, name = 'f.csv') => readCsv(fixture(name, text), o);
const iso = (ms: number) => new Date(ms).toISOString();

describe('date layouts', () => {
  const one = (cell: string, years = false) => {
    const col = parseDateColumn([cell], years);
    return 'firstBad' in col ? undefined : { ms: iso(col.ms[0]), layout: col.layout };
  };
  it('reads each layout real files use, as UTC', () => {
    expect(one('2012-01-01')).toEqual({ ms: '2012-01-01T00:00:00.000Z', layout: 'iso' });
    expect(one('2012-01-01T10:00')).toEqual({ ms: '2012-01-01T10:00:00.000Z', layout: 'iso' });
    expect(one('2012-01-01 10:00:30+02:00')?.ms).toBe('2012-01-01T08:00:30.000Z');
    expect(one('1958-03')).toEqual({ ms: '1958-03-01T00:00:00.000Z', layout: 'iso' });
    expect(one('01/1/1980')).toEqual({ ms: '1980-01-01T00:00:00.000Z', layout: 'm/d/y' });
    expect(one('Jan 1 2000')).toEqual({ ms: '2000-01-01T00:00:00.000Z', layout: 'month-name' }); // vega sp500.csv
    expect(one('September 30, 1999')?.ms).toBe('1999-09-30T00:00:00.000Z');
    expect(one('2001Q3')?.ms).toBe('2001-07-01T00:00:00.000Z');
    expect(one('1880', true)).toEqual({ ms: '1880-01-01T00:00:00.000Z', layout: 'year' });
  });
  it('needs a year-like name (or --date) before reading plain integers as years', () => {
    expect(one('1880', false)).toBeUndefined();
  });
  it('reads slash dates as m/d/y unless a day above 12 proves d/m/y', () => {
    const us = parseDateColumn(['01/02/2000', '01/03/2000'], false);
    expect('layout' in us && us.layout).toBe('m/d/y');
    const eu = parseDateColumn(['01/02/2000', '25/02/2000'], false);
    expect('layout' in eu && [eu.layout, iso(eu.ms[0])]).toEqual(['d/m/y', '2000-02-01T00:00:00.000Z']);
  });
  it('rejects impossible dates and mixed layouts, naming the first bad cell', () => {
    expect(parseDateColumn(['2001-02-29'], false)).toEqual({ firstBad: 0 });
    expect(parseDateColumn(['2001-01-01', '2001-13-01'], false)).toEqual({ firstBad: 1 });
    expect(parseDateColumn(['2001-01-01', 'Jan 2 2001'], false)).toEqual({ firstBad: 1 });
  });
});

describe('frequency, calendar steps and season candidates', () => {
  const days = (...ds: string[]) => ds.map((d) => Date.parse(d));
  it('names each common frequency from the median gap', () => {
    expect(inferFrequency(days('2000-01-01', '2000-02-01', '2000-03-01', '2000-04-01')).label).toBe('monthly');
    expect(inferFrequency(days('2000-01-31', '2000-02-29', '2000-03-31')).label).toBe('monthly'); // month ends
    expect(inferFrequency(days('2000-01-31', '2000-02-29', '2000-03-31', '2000-04-28', '2000-05-31')).regular).toBe(true); // last trading days
    expect(inferFrequency(days('2000-01-01', '2000-04-01', '2000-07-01')).label).toBe('quarterly');
    expect(inferFrequency(days('1880-01-01', '1881-01-01', '1882-01-01')).label).toBe('yearly');
    expect(inferFrequency(days('2000-01-03', '2000-01-10', '2000-01-17')).label).toBe('weekly');
    expect(inferFrequency(days('2000-01-01', '2000-01-02', '2000-01-04')).label).toBe('daily'); // a gap of 2 days is a missing row
    // Fri, Mon, Tue, Wed, Fri: trading days; the weekend is not missing, the Thursday is.
    const trading = days('2000-01-07', '2000-01-10', '2000-01-11', '2000-01-12', '2000-01-14');
    expect(inferFrequency(trading)).toEqual({ label: 'business days (Mon-Fri)', unit: 'weekday', step: 1, regular: true });
    expect(trading.slice(1).map((d, i) => stepsBetween(trading[i], d, { unit: 'weekday', step: 1 }))).toEqual([1, 1, 1, 2]);
    expect(iso(addSteps(Date.parse('2000-01-07'), { unit: 'weekday', step: 1 }, 6))).toBe('2000-01-17T00:00:00.000Z');
    expect(inferFrequency(days('2000-01-01T00:00Z', '2000-01-01T01:00Z', '2000-01-01T02:00Z')).label).toBe('hourly');
    expect(inferFrequency(days('2000-01-01', '2000-01-03', '2000-01-05')).label).toBe('every 2 days');
    const irregular = inferFrequency(days('2000-01-01', '2000-01-02', '2000-01-03T07:00Z', '2000-01-05'));
    expect([irregular.regular, irregular.label]).toEqual([false, 'irregular (median gap 1.29 days)']); // gaps 1, 1.29, 1.71 days
  });
  it('steps months by the calendar, not by 30 days', () => {
    const monthly = { unit: 'month', step: 1 } as const;
    expect(iso(addSteps(Date.parse('2000-01-31'), monthly, 1))).toBe('2000-02-29T00:00:00.000Z');
    expect(iso(addSteps(Date.parse('2019-12-01'), monthly, 3))).toBe('2020-03-01T00:00:00.000Z');
    expect(iso(addSteps(Date.parse('2019-10-01'), { unit: 'month', step: 3 }, 1))).toBe('2020-01-01T00:00:00.000Z');
    expect(dateFormatter([Date.parse('1880-01-01')], { unit: 'month', step: 12 })(Date.parse('1999-01-01'))).toBe('1999');
  });
  it('proposes the calendar season lengths of each frequency', () => {
    const f = (unit: 'month' | 'week' | 'day' | 'hour', step: number) => calendarSeasons({ unit, step, regular: true });
    expect([f('month', 1), f('month', 3), f('month', 12), f('week', 1), f('day', 1), f('hour', 1)]).toEqual([[12], [4], [], [52], [7, 365], [24, 168]]);
    expect(calendarSeasons({ unit: 'day', step: 1, regular: false })).toEqual([]);
  });
  it('detects a season from the data, preferring the calendar candidate when its ACF is close', () => {
    const monthly = { unit: 'month', step: 1, regular: true } as const;
    // Trend + a 12-step season + a little deterministic noise: the ACF of the differences peaks at 12, 24, 36...
    const seasonal = Array.from({ length: 240 }, (_, t) => 0.5 * t + 5 * Math.sin((2 * Math.PI * t) / 12) + Math.sin(t * 7.3));
    expect(detectSeason(seasonal, monthly)).toMatchObject({ period: 12, source: 'calendar', basis: 'differences' });
    // The same 12-step season without dates: found by the ACF alone.
    expect(detectSeason(seasonal, undefined)).toMatchObject({ period: 12, source: 'acf' });
    // A 10-step cycle on monthly data is not a calendar season, and the data says so.
    const ten = Array.from({ length: 240 }, (_, t) => 5 * Math.sin((2 * Math.PI * t) / 10) + Math.sin(t * 7.3));
    expect(detectSeason(ten, monthly)).toMatchObject({ period: 10, source: 'acf' });
    // A random walk has no season.
    let [x, seed] = [0, 1];
    const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32); // LCG (Numerical Recipes)
    const walk = Array.from({ length: 300 }, () => (x += uniform() - 0.5));
    expect(detectSeason(walk, monthly)).toEqual({ period: 1, source: 'none', acf: 0 });
    expect(detectSeason([1, 2, 3], monthly).source).toBe('none');
  });
});

describe('readCsv on fixtures', () => {
  it('detects the date column, infers the frequency, and says so', () => {
    const csv = read('date,value\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n');
    expect(csv.dateColumn).toBe('date');
    expect(csv.dates!.map(iso)).toEqual(['2020-01-01T00:00:00.000Z', '2020-01-02T00:00:00.000Z', '2020-01-03T00:00:00.000Z']);
    expect(csv.frequency!.label).toBe('daily');
    expect(csv.columns).toEqual(['value']);
    expect(csv.notices).toEqual([
      'date column "date" detected (iso dates; --date <column> names another, --no-date turns this off)',
      'dates: 2020-01-01 to 2020-01-03, daily',
    ]);
  });
  it('--no-date turns detection off (the date column is then text, ignored); --date reads a numeric column as years', () => {
    const off = read('date,value\n2020-01-01,1\n2020-01-02,2\n', { noDate: true });
    expect([off.dates, off.columns, off.notices]).toEqual([undefined, ['value'], ['ignoring non-numeric column date (text)']]);
    const text = 't,value\n1990,1\n1991,2\n1992,4\n';
    expect(read(text).columns).toEqual(['t', 'value']); // "t" is not a year-like name: numbers
    const named = read(text, { date: 't' });
    expect([named.dateColumn, named.frequency?.label, named.columns]).toEqual(['t', 'yearly', ['value']]);
    expect(() => read(text, { date: 'tt' })).toThrow('--date "tt" is not a column of');
    expect(() => read('d,value\n2020-01-01,1\nsoon,2\n', { date: 'd' })).toThrow('f.csv:3: "soon" is not a date');
    expect(() => read(text, { date: 't', noDate: true })).toThrow('--date and --no-date contradict each other');
  });
  it('keeps irregular timestamps as they are: rows are steps, no grid, no season candidates', () => {
    const csv = read('t,v\n2020-01-01T00:00Z,1\n2020-01-01T01:00Z,2\n2020-01-01T01:25Z,3\n2020-01-01T03:00Z,4\n', { date: 't' });
    expect([csv.values[0], csv.frequency?.regular]).toEqual([[1, 2, 3, 4], false]);
    expect(csv.notices).toContain('dates: 2020-01-01T00:00Z to 2020-01-01T03:00Z, irregular (median gap 1 hour) (no calendar grid: rows are steps, gaps are not filled)');
    expect(calendarSeasons(csv.frequency!)).toEqual([]);
  });
  it('reverses a file sorted newest first, and rejects repeated or shuffled dates naming the line', () => {
    const desc = read('date,v\n2020-03-01,3\n2020-02-01,2\n2020-01-01,1\n');
    expect(desc.values[0]).toEqual([1, 2, 3]);
    expect(desc.notices).toContain('dates in "date" are sorted descending; rows reversed to oldest first');
    expect(() => read('date,v\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n')).toThrow('f.csv:4: date 2020-01-02 repeats the date on line 3');
    expect(() => read('t,v\n2020-10-25T01:00,1\n2020-10-25T02:00,2\n2020-10-25T02:00,3\n')).toThrow('daylight saving time ends?');
    expect(() => read('date,v\n2020-01-03,1\n2020-01-02,2\n2020-01-02,3\n')).toThrow('f.csv:4: date 2020-01-02 repeats the date on line 3');
    expect(() => read('date,v\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n')).toThrow('f.csv:4: date 2020-01-02 comes before the previous row\'s 2020-01-03');
  });
  it('reads ; and tab files, decimal commas, quoted fields, a BOM and CRLF line ends', () => {
    const semi = read('\uFEFF"Datum";"Wert"\r\n2020-01-01;1,5\r\n2020-01-02;2,25\r\n');
    expect([semi.dateColumn, semi.columns, semi.values]).toEqual(['Datum', ['Wert'], [[1.5, 2.25]]]);
    // A spreadsheet's "sep=;" line names the delimiter; line numbers still count it.
    const excel = 'sep=;\r\nday;v\r\n2020-01-01;1,5\r\n2020-01-02;2\r\n2020-01-03;3\r\n';
    expect(read(excel).values).toEqual([[1.5, 2, 3]]);
    expect(() => read(excel.replace(';2\r', ';x\r'))).toThrow('f.csv:4: column 2 ("v") is not a number: "x"');
    const tab = read('when\tload\tnote\n2020-01-01\t10\t"a, b"\n2020-01-02\t11\t"c ""d"""\n');
    expect([tab.columns, tab.values, tab.notices[1]]).toEqual([['load'], [[10, 11]], 'ignoring non-numeric column note (text)']);
  });
  it('names the line of a ragged row and of a stray word in a numeric column', () => {
    expect(() => read('a,b\n1,2\n3\n5,6\n')).toThrow('f.csv:3: expected 2 cells (a, b), got 1');
    expect(() => read('a,b\n1,2\n3,oops\n5,6\n')).toThrow('f.csv:3: column 2 ("b") is not a number: "oops"');
  });
  it('--columns / --exclude choose numeric columns; typos get the closest name, text columns are refused', () => {
    const text = 'date,temp,wind,rain,weather\n2020-01-01,1,2,3,sun\n2020-01-02,4,5,6,rain\n';
    expect(read(text, { columns: ['wind'], target: 'temp' }).columns).toEqual(['temp', 'wind']);
    expect(read(text, { columns: ['wind'], target: 'temp' }).notices).toContain('target "temp" added to the --columns list');
    expect(read(text, { exclude: ['rain'] })).toMatchObject({ columns: ['temp', 'wind'], targetIndex: 1 });
    expect(() => read(text, { columns: ['tmep'] })).toThrow('--columns "tmep" is not a column of ' + join(dir, 'f.csv') + '; its columns are date, temp, wind, rain, weather (did you mean temp?)');
    expect(() => read(text, { exclude: ['wnd'] })).toThrow('(did you mean wind?)');
    expect(() => read(text, { columns: ['weather'] })).toThrow('--columns "weather": column weather of');
    expect(() => read(text, { target: 'rain', exclude: ['rain'] })).toThrow('--exclude "rain" removes the --target column');
    expect(read(text, { target: '3' }).targetIndex).toBe(1); // 1-based file column number: wind
  });
});

describe('missing values', () => {
  // Line 2 has an empty target, line 5 "NA" in temp, 2020-01-05 is missing from the daily grid, and the last row's target is "?".
  const text = 'date,temp,load\n2020-01-01,1,\n2020-01-02,2,20\n2020-01-03,3,30\n2020-01-04,NA,40\n2020-01-06,6,60\n2020-01-07,7,?\n';
  it('interpolate: fills gaps linearly, trims the target\'s missing ends, one notice line with counts per column', () => {
    const csv = read(text, { target: 'load' });
    expect(csv.dates!.map((d) => iso(d).slice(0, 10))).toEqual(['2020-01-02', '2020-01-03', '2020-01-04', '2020-01-05', '2020-01-06']);
    expect(csv.values).toEqual([[2, 3, 4, 5, 6], [20, 30, 40, 50, 60]]);
    expect(csv.notices).toContain('dates: 2020-01-02 to 2020-01-06, daily'); // the range used, after trimming
    expect(csv.notices).toContain(
      'missing values: temp 2, load 3, incl. 1 row missing from the date grid; filled by linear interpolation (--missing interpolate); ' +
        'trimmed 1 leading and 1 trailing row(s) where the target "load" is missing',
    );
  });
  it('interpolate: a non-target column\'s missing ends take the nearest value, said in the notice', () => {
    const csv = read('temp,load\n,1\n2,2\n3,3\n', { target: 'load' });
    expect(csv.values).toEqual([[2, 2, 3], [1, 2, 3]]);
    expect(csv.notices[0]).toContain('edge values copied from the nearest row: temp 1');
  });
  it('drop: drops every row with a missing value in a used column', () => {
    const csv = read(text, { target: 'load', missing: 'drop' });
    expect(csv.values).toEqual([[2, 3, 6], [20, 30, 60]]);
    expect(csv.notices.at(-1)).toBe('missing values: temp 2, load 3, incl. 1 row missing from the date grid; dropped 4 rows (--missing drop)');
  });
  it('error: names the first missing cell, or the missing date', () => {
    expect(() => read(text, { target: 'load', missing: 'error' })).toThrow('f.csv: line 2, column "load": missing value (--missing error;');
    const gap = 'date,v\n2020-01-01,1\n2020-01-02,2\n2020-01-04,4\n';
    expect(() => read(gap, { missing: 'error' })).toThrow('f.csv: no row for 2020-01-03 (between lines 3 and 4), column "v": missing value');
  });
  it('a column with no value at all is an error, not a column of NaN', () => {
    expect(() => read('a,b\n1,\n2,NaN\n', { columns: ['a', 'b'] })).toThrow('--columns "b": column b of');
    expect(read('a,b\n1,\n2,NaN\n').notices).toEqual(['ignoring column b (no values)']);
  });
});

describe('flags through trainingData / forecastSeries', () => {
  const base = { valSplit: 0.2, seed: 1, bidirectional: false };
  it('CSV-reading flags without --csv are errors', () => {
    expect(() => trainingData({ ...base, dataset: 'seasonal', date: 'd', missing: 'drop' })).toThrow('--date, --missing apply to --csv data only');
    expect(() => trainingData({ ...base, dataset: 'seasonal', noDate: true })).toThrow('--no-date applies to --csv data only');
    const seasonal = trainingData({ ...base, dataset: 'seasonal' }).meta as ForecastMeta;
    expect(() => forecastSeries(seasonal, { missing: 'error' }, true)).toThrow('--missing applies to --csv data only');
  });
  it('eval reads the model\'s columns and date column in training\'s order, whatever the file\'s order', () => {
    const rows = Array.from({ length: 30 }, (_, k) => [new Date(Date.UTC(2020, 0, k + 1)).toISOString().slice(0, 10), k, 100 + k]);
    const train = fixture('ab.csv', 'day,a,b,note\n' + rows.map((r) => `${r.join(',')},x`).join('\n'));
    // Model inputs: the target first, then the covariates.
    const data = trainingData({ ...base, csv: train, target: 'b', covariates: 'a', window: 5, missing: 'drop' }) as PreparedData & { meta: ForecastMeta };
    expect(data.meta).toMatchObject({ columns: ['b', 'a'], dateColumn: 'day', lastDate: '2020-01-30', frequency: { label: 'daily' }, missing: 'drop' });
    expect(data.notices).toContain('ignoring non-numeric column note (text)');
    const swapped = fixture('ba.csv', 'b,day,a\n' + rows.map((r) => `${r[2]},${r[0]},${r[1]}`).join('\n'));
    const again = forecastSeries(data.meta, { csv: swapped }, true);
    expect(again.columns).toEqual([rows.map((r) => r[2]), rows.map((r) => r[1])]);
    expect(again.dates![0]).toBe(Date.UTC(2020, 0, 1));
    // The model's --missing drop applies to the new file too, unless a flag says otherwise.
    const gappy = fixture('gappy.csv', 'day,a,b\n' + rows.map((r, k) => (k === 3 ? `${r[0]},,${r[2]}` : r.join(','))).join('\n'));
    expect(forecastSeries(data.meta, { csv: gappy }, true).columns[0]).toHaveLength(29);
    expect(forecastSeries(data.meta, { csv: gappy, missing: 'interpolate' }, true).columns[0]).toHaveLength(30);
    expect(() => forecastSeries(data.meta, { csv: fixture('nodate.csv', 'a,b\n1,2\n') }, true)).toThrow(
      'the model\'s date column "day" is not a column of',
    );
  });
});

describe('real series (vega-datasets)', () => {
  it('co2-concentration.csv: monthly, a 12-month season', () => {
    const csv = readCsv(join(VEGA, 'co2-concentration.csv'), { target: 'CO2', columns: ['CO2'] });
    expect([csv.dateColumn, csv.frequency?.label, csv.columns]).toEqual(['Date', 'monthly', ['CO2']]);
    const train = csv.values[0].slice(0, Math.floor(csv.values[0].length * 0.8));
    expect(detectSeason(train, csv.frequency)).toMatchObject({ period: 12, source: 'calendar', basis: 'differences' });
  });
  it('seattle-weather.csv: daily, the weather text column ignored, a yearly season in temp_max', () => {
    const csv = readCsv(join(VEGA, 'seattle-weather.csv'), { target: 'temp_max' });
    expect([csv.frequency?.label, csv.columns, csv.values[0].length]).toEqual(['daily', ['precipitation', 'temp_max', 'temp_min', 'wind'], 1461]);
    expect(csv.notices).toContain('ignoring non-numeric column weather (text)');
    const temp = csv.values[csv.targetIndex];
    const train = temp.slice(0, Math.floor(temp.length * 0.8));
    // What the data shows: daily weather has no weekly cycle, and its yearly swing (~0.1 °C a day) is
    // drowned by day-to-day changes of several degrees once differenced — the differences' ACF has no
    // peak above the noise level (at 7 or 365 it is within ±0.05). The detrended levels do show the
    // year: r(365) ≈ 0.53 against r(182) ≈ -0.5, so the yearly candidate wins on the levels.
    const diff = train.slice(1).map((v, i) => v - train[i]);
    const r = autocorrelation(diff, 365);
    expect(Math.abs(r[7])).toBeLessThan(0.05);
    expect(Math.abs(r[365])).toBeLessThan(0.05);
    const season = detectSeason(train, csv.frequency);
    expect(season).toMatchObject({ period: 365, source: 'calendar', basis: 'levels' });
    expect(season.acf).toBeGreaterThan(0.4);
  });
  it('sp500-2000.csv: trading days, so weekends are not missing rows (only holidays are)', () => {
    const csv = readCsv(join(VEGA, 'sp500-2000.csv'), { target: 'close', columns: ['close'] });
    expect(csv.frequency?.label).toBe('business days (Mon-Fri)');
    const missing = csv.notices.find((n) => n.startsWith('missing values'))!;
    const holidays = Number(/close (\d+)/.exec(missing)![1]);
    // About 9 NYSE holidays a year over 20 years (plus the 2001 and 2012 closures), not ~104 weekend days a year.
    expect(holidays).toBeGreaterThan(150);
    expect(holidays).toBeLessThan(250);
  });
  it('sp500.csv: "Jan 1 2000" dates, monthly, no season in a stock index', () => {
    const csv = readCsv(join(VEGA, 'sp500.csv'));
    expect([iso(csv.dates![0]), csv.frequency?.label, csv.columns]).toEqual(['2000-01-01T00:00:00.000Z', 'monthly', ['price']]);
    expect(detectSeason(csv.values[0], csv.frequency).source).toBe('none');
  });
  it('global-temp.csv: a plain year column is the date column', () => {
    const csv = readCsv(join(VEGA, 'global-temp.csv'));
    expect([csv.dateColumn, csv.frequency?.label, csv.columns]).toEqual(['year', 'yearly', ['temp']]);
  });
});

describe('dates on the report\'s forecast axis', () => {
  const dates = Array.from({ length: 36 }, (_, k) => Date.UTC(2017, k, 1));
  const truth = dates.map((_, k) => 400 + 3 * Math.sin((2 * Math.PI * k) / 12) + k * 0.2);
  const data: ReportData = {
    title: 'rnnkit train — lstm on co2',
    createdAt: '2026-01-01T00:00:00Z',
    command: 'rnnkit train --csv co2.csv',
    config: {},
    backend: { name: 'native', isa: 'avx2' },
    history: { loss: [1, 0.5] },
    forecast: {
      truth,
      predicted: truth.map((v) => v + 0.5),
      startIndex: 700,
      dates,
      label: 'CO2: 1-step-ahead forecast',
      // Dates, baselines and the interval band on one panel, as train draws a dated CSV's held-out tail.
      baselines: [{ name: 'persistence', values: truth.map((_, k) => truth[Math.max(0, k - 1)]) }, { name: 'seasonal naive (12)', values: truth.map((v, k) => (k >= 12 ? truth[k - 12] : v)) }],
      band: { lower: truth.map((v) => v - 0.3), upper: truth.map((v) => v + 1.3), level: 0.8 },
    },
  };
  const html = renderReport(data);
  it('carries the dates (epoch seconds) in the payload', () => {
    const payload = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]) as { forecast: { dates: number[] } };
    expect(payload.forecast.dates).toEqual(dates.map((ms) => ms / 1000));
  });
  it('refuses dates that do not match the points', () => {
    expect(() => renderReport({ ...data, forecast: { ...data.forecast!, dates: dates.slice(1) } })).toThrow('data.forecast.dates');
  });
  it.skipIf(!haveChromium)('draws a time axis in Chromium: the legend shows the date under the cursor', async () => {
    const file = join(dir, 'dated-report.html');
    writeFileSync(file, html);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('#plot-forecast[data-rendered="true"]', { timeout: 10_000 });
      const over = page.locator('#plot-forecast .u-over');
      const box = (await over.boundingBox())!;
      await page.mouse.move(box.x + 2, box.y + box.height / 2); // the first point: 2017-01-01
      const legend = page.locator('#plot-forecast .u-legend .u-series').first().locator('.u-value');
      await expect.poll(() => legend.textContent()).toBe('2017-01-01');
      const labels = await page.locator('#plot-forecast .u-legend .u-series .u-label').allTextContents();
      expect(labels).toEqual(['date', 'truth', 'model', 'persistence', 'seasonal naive (12)', '80% interval upper', '80% interval lower']);
      mkdirSync(join(ROOT, 'test/artifacts'), { recursive: true });
      await page.locator('#plot-forecast').screenshot({ path: join(ROOT, 'test/artifacts/report-dated-forecast.png') }); // for a person to look at
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

const main = join(ROOT, 'dist/cli/main.js');
describe.skipIf(!existsSync(main))('CLI (dist/cli/main.js): a dated CSV through train and predict', () => {
  it('prints the notices, stores the date column, and dates the forecast by calendar month', () => {
    const rows = ['month;sales;comment'];
    for (let k = 0; k < 60; k++) {
      const d = new Date(Date.UTC(2015, k, 1)).toISOString().slice(0, 10);
      rows.push(`${d};${k === 30 ? '' : (100 + 10 * Math.sin((2 * Math.PI * k) / 12) + k).toFixed(2).replace('.', ',')};"note ${k}"`);
    }
    const csv = fixture('sales.csv', rows.join('\r\n') + '\r\n');
    const run = (args: string[]) => spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, RNNKIT_DEBUG: '' } });
    const t = run(['train', '--csv', csv, '--epochs', '1', '--window', '12', '--hidden', '4', '--json', '--out', 'sales.safetensors', '--report', 'sales.html']);
    expect(t.status, t.stderr).toBe(0);
    const start = JSON.parse(t.stdout.split('\n')[0]) as { event: string; notices: string[] };
    expect(start.event).toBe('start');
    expect(start.notices).toEqual([
      'date column "month" detected (iso dates; --date <column> names another, --no-date turns this off)',
      'ignoring non-numeric column comment (text)',
      'dates: 2015-01-01 to 2019-12-01, monthly',
      'missing values: sales 1; filled by linear interpolation (--missing interpolate)',
    ]);
    const html = readFileSync(join(dir, 'sales.html'), 'utf8');
    expect(html).toContain('"dates":[');
    // The split's date: stored in the model, shown by info and in the report's metric definition.
    expect(html).toContain('origins from row 48, 2019-01-01, the first row of the held-out tail');
    const i = run(['info', 'sales.safetensors']);
    expect(i.stdout).toContain('held out: rows 48–59 of 60, from 2019-01-01 (never trained on)');
    // eval finds the held-out tail by that date when the file is read another way (a row dropped before it).
    const ev = run(['eval', '--model', 'sales.safetensors', '--csv', csv, '--missing', 'drop']);
    expect(ev.status, ev.stderr).toBe(0);
    expect(ev.stderr).toContain("note: the held-out tail starts at 2019-01-01: row 47 of this reading (row 48 in training's)");
    expect(ev.stdout).toContain('held-out rows 47–58, from 2019-01-01 (the model trained on rows 0–46;');
    const p = run(['predict', '--model', 'sales.safetensors', '--csv', csv, '--steps', '3']);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout.split('\n').slice(0, 4).map((l) => l.split(',')[0])).toEqual(['month', '2020-01-01', '2020-02-01', '2020-03-01']);
    expect(p.stderr).toContain('note: missing values: sales 1');
    const e = run(['train', '--csv', csv, '--columns', 'sale', '--epochs', '1']);
    expect([e.status, e.stderr.trim()]).toEqual([1, `rnnkit: error: --columns "sale" is not a column of ${csv}; its columns are month, sales, comment (did you mean sales?)`]);
  });
});
