/**
 * Chooses and builds the data for a command: `--csv` (+ `--target`, `--horizon`), `--text`, or
 * `--dataset <name>` for training (the seasonal series when none is given), and the same data again,
 * with the saved model's normalisation and vocabulary, for `eval`/`predict`.
 */

import { basename } from 'node:path';

import { CliError } from '../args.js';
import { addingProblem, DEFAULT_SIZE, mackeyGlassSeries, reberClassify, reberNext, seasonalSeries, textCorpus, type DatasetName } from './builtin.js';
import { readCsv, targetColumn } from './csv.js';
import { forecastData, type SeriesSource } from './series.js';
import { charData, readText } from './text.js';
import type { TransformChoice } from '../forecast/transforms.js';
import type { DataMeta, ForecastMeta, GeneratorMeta, PreparedData } from './types.js';

export interface DataOptions {
  csv?: string;
  target?: string;
  text?: string;
  dataset?: DatasetName;
  window?: number;
  horizon?: number;
  /** Forecasting only: other columns as inputs, target transform, season length (series.ts). */
  covariates?: string[];
  transform?: TransformChoice;
  season?: number;
  stride?: number;
  valSplit: number;
  seed: number;
  /** Series length / sequence count / corpus size of a generated dataset. */
  size?: number;
  bidirectional: boolean;
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

function seriesFor(name: 'seasonal' | 'mackey-glass', g: GeneratorMeta): SeriesSource {
  return name === 'seasonal' ? seasonalSeries(g) : mackeyGlassSeries(g);
}

/** Training data from the flags. */
export function trainingData(o: DataOptions): PreparedData {
  const source = sourceOf(o);
  const horizon = o.horizon ?? 1;
  const stride = o.stride ?? 1;
  if (source !== 'csv' && o.target !== undefined) throw new CliError('--target applies to --csv data only');
  if (source !== 'csv' && o.covariates !== undefined) throw new CliError('--covariates applies to --csv data only');
  if (source === 'csv' || source === 'seasonal' || source === 'mackey-glass') {
    let src: SeriesSource;
    if (source === 'csv') {
      const csv = readCsv(o.csv!);
      src = { source: 'csv', name: basename(o.csv!), columns: csv.columns, values: csv.values, targetIndex: targetColumn(csv, o.target) };
    } else {
      src = seriesFor(source, { seed: o.seed, size: o.size ?? DEFAULT_SIZE[source] });
    }
    return forecastData(src, {
      window: o.window,
      horizon,
      stride,
      valSplit: o.valSplit,
      returnSequences: !o.bidirectional,
      transform: o.transform,
      season: o.season,
      covariates: o.covariates,
    });
  }
  for (const [flag, v] of [['--horizon', o.horizon], ['--transform', o.transform], ['--season', o.season]] as const) {
    if (v !== undefined) throw new CliError(`${flag} applies to forecasting data (--csv, --dataset seasonal|mackey-glass) only`);
  }
  const window = o.window ?? defaultWindow(o);
  if (source === 'text') {
    if (o.bidirectional) {
      throw new CliError('a character model predicts the next character, which a bidirectional layer would already see; drop --bidirectional');
    }
    const charStride = o.stride ?? Math.max(1, Math.floor(window / 2));
    if (o.text !== undefined) return charData(readText(o.text), basename(o.text), 'text', { window, stride: charStride, valSplit: o.valSplit });
    const g = { seed: o.seed, size: o.size ?? DEFAULT_SIZE.text };
    return charData(textCorpus(g), 'generated text', 'dataset', { window, stride: charStride, valSplit: o.valSplit }, undefined, g);
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
}

/** meta.columns' values from a CSV file, or a CliError naming the missing ones. */
export function forecastCsv(meta: ForecastMeta, path: string, flag: string): ForecastSeries {
  const csv = readCsv(path);
  const missing = meta.columns.filter((c) => !csv.columns.includes(c));
  if (missing.length > 0) {
    throw new CliError(`${flag} ${path} lacks column(s) ${missing.join(', ')} that the model was trained on (model inputs: ${meta.columns.join(', ')}; file: ${csv.columns.join(', ')})`);
  }
  return { name: basename(path), columns: meta.columns.map((c) => csv.values[csv.columns.indexOf(c)]), ownSeries: false };
}

/**
 * The series a forecaster works on: `--csv` (taken to be its training series, possibly extended), a
 * generated `--dataset` (a fresh draw with the next seed when `fresh`), or, with neither, its own
 * generated training series.
 */
export function forecastSeries(meta: ForecastMeta, o: { csv?: string; dataset?: DatasetName }, fresh: boolean): ForecastSeries {
  if (o.csv !== undefined && o.dataset !== undefined) throw new CliError('choose one data source, got --csv and --dataset');
  if (o.csv !== undefined) return { ...forecastCsv(meta, o.csv, '--csv'), ownSeries: true };
  if (o.dataset !== undefined) {
    if (o.dataset !== 'seasonal' && o.dataset !== 'mackey-glass') throw new CliError(`--dataset ${o.dataset} is not a series; this model forecasts ${meta.target}`);
    if (meta.columns.length !== 1) throw new CliError(`this model reads ${meta.columns.length} columns; --dataset ${o.dataset} has one`);
    const own = meta.generator !== undefined && meta.name === o.dataset && !fresh;
    const g = meta.generator ?? { seed: 0, size: DEFAULT_SIZE[o.dataset] };
    return { name: o.dataset, columns: seriesFor(o.dataset, fresh ? { ...g, seed: g.seed + 1 } : g).values, ownSeries: own };
  }
  if (meta.generator && (meta.name === 'seasonal' || meta.name === 'mackey-glass')) {
    return { name: meta.name, columns: seriesFor(meta.name, meta.generator).values, ownSeries: true };
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
  o: { csv?: string; text?: string; dataset?: DatasetName },
  _returnSequences: boolean,
  fresh: boolean,
): PreparedData {
  sourceOf(o); // rejects two data flags at once
  const explicit = o.csv !== undefined || o.text !== undefined || o.dataset !== undefined;
  let data: PreparedData;
  if (meta.task === 'forecast') {
    throw new RangeError('evaluationData: forecasters are scored through forecastSeries and forecast/metrics.ts');
  } else if (meta.task === 'charlm') {
    let text: string;
    let name: string;
    if (o.text !== undefined) [text, name] = [readText(o.text), basename(o.text)];
    else if (meta.generator && (!explicit || o.dataset === 'text')) {
      [text, name] = [textCorpus(fresh ? { ...meta.generator, seed: meta.generator.seed + 1 } : meta.generator), 'generated text'];
    }
    else throw new CliError('this is a character model; give --text file.txt');
    data = charData(text, name, 'text', { window: meta.window, stride: meta.window, valSplit: 0 }, meta.vocab);
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
