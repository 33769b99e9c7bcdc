/**
 * Chooses and builds the data for a command: `--csv` (+ `--target`, `--horizon`), `--text`, or
 * `--dataset <name>` for training (the seasonal series when none is given), and the same data again,
 * with the saved model's normalisation and vocabulary, for `eval`/`predict`.
 */

import { basename } from 'node:path';

import { CliError } from '../args.js';
import { addingProblem, DEFAULT_SIZE, mackeyGlassSeries, reberClassify, reberNext, seasonalSeries, textCorpus, type DatasetName } from './builtin.js';
import { dateFormatter, type Frequency } from './calendar.js';
import { readCsv, type CsvOptions, type CsvSeries } from './csv.js';
import type { MissingPolicy } from './missing.js';
import { forecastData, type SeriesSource } from './series.js';
import { charData, charFileData, DEFAULT_MAX_VOCAB } from './text.js';
import type { TransformChoice } from '../forecast/transforms.js';
import type { DataMeta, ForecastMeta, GeneratorMeta, PreparedData } from './types.js';

/** How to read a CSV: the flags --date, --no-date, --columns, --exclude, --missing. */
export interface CsvFlags {
  date?: string;
  noDate?: boolean;
  /** Comma-separated column names, as typed. */
  columns?: string;
  exclude?: string;
  missing?: MissingPolicy;
  /** train: the other columns fed as inputs (--covariates), comma-separated; default none. */
  covariates?: string;
}

export interface DataOptions extends CsvFlags {
  csv?: string;
  target?: string;
  text?: string;
  dataset?: DatasetName;
  window?: number;
  horizon?: number;
  /** Forecasting only: target transform, season length (series.ts). */
  transform?: TransformChoice;
  season?: number;
  stride?: number;
  valSplit: number;
  seed: number;
  /** Series length / sequence count / corpus size of a generated dataset. */
  size?: number;
  bidirectional: boolean;
  /** Character models: most distinct symbols (--max-vocab). */
  maxVocab?: number;
}

/** Default window per source, chosen so the default run of each trains in seconds. */
function defaultWindow(o: DataOptions): number {
  if (o.text !== undefined || o.dataset === 'text') return 64;
  switch (o.dataset) {
    case 'reber':
    case 'reber-next':
      return 30;
    case 'adding':
      return 50;
    default:
      return 48;
  }
}

/** Which source the flags name; exactly one of --csv, --text, --dataset (default: the seasonal series). */
export function sourceOf(o: Pick<DataOptions, 'csv' | 'text' | 'dataset'>): 'csv' | 'text' | DatasetName {
  const given = [o.csv !== undefined && '--csv', o.text !== undefined && '--text', o.dataset !== undefined && '--dataset'].filter(Boolean);
  if (given.length > 1) throw new CliError(`choose one data source, got ${given.join(' and ')}`);
  return o.csv !== undefined ? 'csv' : o.text !== undefined ? 'text' : (o.dataset ?? 'seasonal');
}

/** "a, b,c" → ["a", "b", "c"]; an empty item is an error naming the flag. */
function nameList(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new CliError(`${flag} expects comma-separated column names, got "${text}"`);
  return names;
}

function csvOptions(f: CsvFlags): CsvOptions {
  return {
    date: f.date,
    noDate: f.noDate,
    columns: nameList('--columns', f.columns),
    exclude: nameList('--exclude', f.exclude),
    missing: f.missing,
    covariates: nameList('--covariates', f.covariates) ?? [],
  };
}

function csvSource(path: string, csv: CsvSeries): SeriesSource {
  return {
    source: 'csv',
    name: basename(path),
    columns: csv.columns,
    values: csv.values,
    targetIndex: csv.targetIndex,
    ...(csv.dates ? { dates: csv.dates, dateColumn: csv.dateColumn, frequency: csv.frequency } : {}),
    notices: csv.notices,
  };
}

/**
 * The CSV's dates and notices on prepared data: per row in `series`; the date column, frequency, last
 * date and missing-value policy in the model's metadata (so eval/predict read new files the same way).
 */
function withCalendar(data: PreparedData, src: SeriesSource, missing: MissingPolicy | undefined): PreparedData {
  if (data.meta.task !== 'forecast') return data;
  const meta = { ...data.meta };
  if (src.source === 'csv') meta.missing = missing ?? 'interpolate';
  if (src.dates && src.dateColumn) {
    meta.dateColumn = src.dateColumn;
    if (src.frequency) meta.frequency = src.frequency;
    meta.lastDate = dateFormatter(src.dates, src.frequency)(src.dates[src.dates.length - 1]);
  }
  return {
    ...data,
    meta,
    notices: src.notices ?? [],
    ...(data.series && src.dates ? { series: { ...data.series, dates: src.dates } } : {}),
  };
}

/** CSV-reading flags given without --csv are errors, not silently ignored. */
function refuseCsvFlags(o: CsvFlags & { target?: string }): void {
  const given = (['target', 'date', 'columns', 'exclude', 'missing', 'covariates'] as const).filter((k) => o[k] !== undefined).map((k) => `--${k}`);
  if (o.noDate) given.push('--no-date');
  if (given.length > 0) throw new CliError(`${given.join(', ')} appl${given.length === 1 ? 'ies' : 'y'} to --csv data only`);
}

function seriesFor(name: 'seasonal' | 'mackey-glass', g: GeneratorMeta): SeriesSource {
  return name === 'seasonal' ? seasonalSeries(g) : mackeyGlassSeries(g);
}

/** Training data from the flags. */
export function trainingData(o: DataOptions): PreparedData {
  const source = sourceOf(o);
  const horizon = o.horizon ?? 1;
  const stride = o.stride ?? 1;
  if (source !== 'csv') refuseCsvFlags(o);
  if (source !== 'text' && o.maxVocab !== undefined) throw new CliError('--max-vocab applies to character models (--text, --dataset text) only');
  if (source === 'csv' || source === 'seasonal' || source === 'mackey-glass') {
    let src: SeriesSource;
    if (source === 'csv') {
      src = csvSource(o.csv!, readCsv(o.csv!, { ...csvOptions(o), target: o.target }));
    } else {
      src = seriesFor(source, { seed: o.seed, size: o.size ?? DEFAULT_SIZE[source] });
    }
    const options = { window: o.window, horizon, stride, valSplit: o.valSplit, returnSequences: !o.bidirectional, transform: o.transform, season: o.season };
    return withCalendar(forecastData(src, options), src, o.missing);
  }
  for (const [flag, v] of [['--horizon', o.horizon], ['--transform', o.transform], ['--season', o.season]] as const) {
    if (v !== undefined) throw new CliError(`${flag} applies to forecasting data (--csv, --dataset seasonal|mackey-glass) only`);
  }
  const window = o.window ?? defaultWindow(o);
  if (source === 'text') {
    if (o.bidirectional) {
      throw new CliError('a character model predicts the next character, which a bidirectional layer would already see; drop --bidirectional');
    }
    const charOptions = { window, stride: o.stride ?? Math.max(1, Math.floor(window / 2)), valSplit: o.valSplit, maxVocab: o.maxVocab ?? DEFAULT_MAX_VOCAB };
    if (o.text !== undefined) return charFileData(o.text, charOptions);
    const g = { seed: o.seed, size: o.size ?? DEFAULT_SIZE.text };
    return charData(textCorpus(g), 'generated text', 'dataset', charOptions, undefined, g);
  }
  const g = { seed: o.seed, size: o.size ?? DEFAULT_SIZE[source] };
  if (source === 'reber') return reberClassify(g, window, o.valSplit);
  if (source === 'reber-next') {
    if (o.bidirectional) throw new CliError('next-symbol prediction cannot use a bidirectional layer (it would see the answer); drop --bidirectional');
    return reberNext(g, window, o.valSplit);
  }
  return addingProblem(g, window, o.valSplit);
}

/** A forecaster's input columns (meta.columns order, original units) from a series source. */
export interface ForecastSeries {
  name: string;
  /** meta.columns' values, column-major. */
  columns: number[][];
  /** The model's own training series (so its stored split applies), not new data. */
  ownSeries: boolean;
  /** A CSV with a date column: epoch ms per row, the column's name and the file's sampling frequency. */
  dates?: number[];
  dateColumn?: string;
  frequency?: Frequency;
  /** How a CSV was read (date column, ignored columns, missing values), one line each. */
  notices: string[];
}

/** How eval, predict and backtest read a CSV: --date, --no-date, --missing (default: as training did). */
export type ReadFlags = Pick<CsvFlags, 'date' | 'noDate' | 'missing'>;

/**
 * meta.columns' values from a CSV file, read the way training read it: the model's columns, target, date
 * column and missing-value policy (--date names another date column, --no-date none, --missing another
 * policy); in training's column order (the stored statistics are per column), whatever the file's order.
 */
export function forecastCsv(meta: ForecastMeta, path: string, f: ReadFlags = {}): ForecastSeries {
  const csv = readCsv(path, {
    columns: meta.columns,
    target: meta.target,
    date: f.date,
    modelDate: meta.dateColumn,
    noDate: f.noDate || (f.date === undefined && meta.dateColumn === undefined),
    missing: f.missing ?? meta.missing,
    namedBy: 'model',
  });
  const order = meta.columns.map((c) => csv.columns.findIndex((k) => k.toLowerCase() === c.toLowerCase()));
  return {
    name: basename(path),
    columns: order.map((i) => csv.values[i]),
    ownSeries: false,
    ...(csv.dates ? { dates: csv.dates, dateColumn: csv.dateColumn, frequency: csv.frequency } : {}),
    notices: csv.notices,
  };
}

/**
 * The series a forecaster works on: `--csv` (taken to be its training series, possibly extended), a
 * generated `--dataset` (a fresh draw with the next seed when `fresh`), or, with neither, its own
 * generated training series. The CSV-reading flags apply to --csv only.
 */
export function forecastSeries(meta: ForecastMeta, o: { csv?: string; dataset?: DatasetName } & ReadFlags, fresh: boolean): ForecastSeries {
  if (o.csv !== undefined && o.dataset !== undefined) throw new CliError('choose one data source, got --csv and --dataset');
  if (o.csv !== undefined) return { ...forecastCsv(meta, o.csv, o), ownSeries: true };
  refuseCsvFlags({ date: o.date, noDate: o.noDate, missing: o.missing });
  if (o.dataset !== undefined) {
    if (o.dataset !== 'seasonal' && o.dataset !== 'mackey-glass') throw new CliError(`--dataset ${o.dataset} is not a series; this model forecasts ${meta.target}`);
    if (meta.columns.length !== 1) throw new CliError(`this model reads ${meta.columns.length} columns; --dataset ${o.dataset} has one`);
    const own = meta.generator !== undefined && meta.name === o.dataset && !fresh;
    const g = meta.generator ?? { seed: 0, size: DEFAULT_SIZE[o.dataset] };
    return { name: o.dataset, columns: seriesFor(o.dataset, fresh ? { ...g, seed: g.seed + 1 } : g).values, ownSeries: own, notices: [] };
  }
  if (meta.generator && (meta.name === 'seasonal' || meta.name === 'mackey-glass')) {
    return { name: meta.name, columns: seriesFor(meta.name, meta.generator).values, ownSeries: true, notices: [] };
  }
  throw new CliError(`this model forecasts a series (${meta.columns.join(', ')}); give --csv file (its training series, or a longer version of it)`);
}

/**
 * The data to evaluate a saved model on: a CSV / text file given now, or (without one) the model's own
 * generated dataset — a fresh draw (seed + 1: same process, unseen samples) when `fresh`, else exactly the
 * training series. Vocabulary comes from the model; everything is used (no split), and the returned `val`
 * holds it. Not for forecasters: their data is `forecastSeries` and they are scored on held-out rows only.
 */
export function evaluationData(
  meta: DataMeta,
  o: { csv?: string; text?: string; dataset?: DatasetName } & ReadFlags,
  _returnSequences: boolean,
  fresh: boolean,
): PreparedData {
  sourceOf(o); // rejects two data flags at once
  if (o.csv === undefined) refuseCsvFlags({ date: o.date, noDate: o.noDate, missing: o.missing });
  const explicit = o.csv !== undefined || o.text !== undefined || o.dataset !== undefined;
  let data: PreparedData;
  if (meta.task === 'forecast') {
    throw new RangeError('evaluationData: forecasters are scored through forecastSeries and forecast/metrics.ts');
  } else if (meta.task === 'charlm') {
    // The model's vocabulary decides (maxVocab has no say), every character is scored once.
    const charOptions = { window: meta.window, stride: meta.window, valSplit: 0, maxVocab: meta.vocab.length };
    if (o.text !== undefined) data = charFileData(o.text, charOptions, meta);
    else if (meta.generator && (!explicit || o.dataset === 'text')) {
      const g = fresh ? { ...meta.generator, seed: meta.generator.seed + 1 } : meta.generator;
      data = charData(textCorpus(g), 'generated text', 'dataset', charOptions, meta);
    } else throw new CliError('this is a character model; give --text file.txt');
  } else {
    if (o.csv !== undefined || o.text !== undefined || (o.dataset !== undefined && o.dataset !== meta.name)) {
      throw new CliError(`this model was trained on the generated "${meta.name}" dataset; evaluate it with --dataset ${meta.name} (or no data flag)`);
    }
    // A fresh draw from the same generator (another seed): unseen sequences of the same task.
    const g = { seed: meta.generator.seed + 1, size: Math.max(200, Math.floor(meta.generator.size / 4)) };
    data = meta.name === 'reber' ? reberClassify(g, meta.window, 0) : meta.name === 'reber-next' ? reberNext(g, meta.window, 0) : addingProblem(g, meta.window, 0);
  }
  return { ...data, val: data.train };
}
