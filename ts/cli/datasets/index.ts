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
import { charData, charFileData, DEFAULT_MAX_VOCAB } from './text.js';
import type { DataMeta, GeneratorMeta, PreparedData } from './types.js';

export interface DataOptions {
  csv?: string;
  target?: string;
  text?: string;
  dataset?: DatasetName;
  window?: number;
  horizon?: number;
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

function seriesFor(name: 'seasonal' | 'mackey-glass', g: GeneratorMeta): SeriesSource {
  return name === 'seasonal' ? seasonalSeries(g) : mackeyGlassSeries(g);
}

/** Training data from the flags. */
export function trainingData(o: DataOptions): PreparedData {
  const source = sourceOf(o);
  const window = o.window ?? defaultWindow(o);
  const horizon = o.horizon ?? 1;
  const stride = o.stride ?? 1;
  if (source !== 'csv' && o.target !== undefined) throw new CliError('--target applies to --csv data only');
  if (source !== 'text' && o.maxVocab !== undefined) throw new CliError('--max-vocab applies to character models (--text, --dataset text) only');
  if (source === 'csv' || source === 'seasonal' || source === 'mackey-glass') {
    let src: SeriesSource;
    if (source === 'csv') {
      const csv = readCsv(o.csv!);
      src = { source: 'csv', name: basename(o.csv!), columns: csv.columns, values: csv.values, targetIndex: targetColumn(csv, o.target) };
    } else {
      src = seriesFor(source, { seed: o.seed, size: o.size ?? DEFAULT_SIZE[source] });
    }
    return forecastData(src, { window, horizon, stride, valSplit: o.valSplit, returnSequences: !o.bidirectional });
  }
  if (o.horizon !== undefined) throw new CliError('--horizon applies to forecasting data (--csv, --dataset seasonal|mackey-glass) only');
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

/**
 * The data to evaluate a saved model on: a CSV / text file given now, or (without one) the model's own
 * generated dataset — a fresh draw (seed + 1: same process, unseen samples) when `fresh`, else exactly the
 * training series (predict continues it). Normalisation and vocabulary come from the model; everything is
 * used (no split), and the returned `val` holds it.
 */
export function evaluationData(
  meta: DataMeta,
  o: { csv?: string; text?: string; dataset?: DatasetName },
  returnSequences: boolean,
  fresh: boolean,
): PreparedData {
  const given = sourceOf(o);
  const explicit = o.csv !== undefined || o.text !== undefined || o.dataset !== undefined;
  let data: PreparedData;
  if (meta.task === 'forecast') {
    let src: SeriesSource;
    if (o.csv !== undefined) {
      const csv = readCsv(o.csv);
      const missing = meta.columns.filter((c) => !csv.columns.includes(c));
      if (missing.length > 0) {
        throw new CliError(`${o.csv} lacks column(s) ${missing.join(', ')} that the model was trained on (columns: ${meta.columns.join(', ')})`);
      }
      src = {
        source: 'csv',
        name: basename(o.csv),
        columns: meta.columns,
        values: meta.columns.map((c) => csv.values[csv.columns.indexOf(c)]),
        targetIndex: meta.targetIndex,
      };
    } else if (!explicit && meta.generator && (meta.name === 'seasonal' || meta.name === 'mackey-glass')) {
      src = seriesFor(meta.name, fresh ? { ...meta.generator, seed: meta.generator.seed + 1 } : meta.generator);
    } else if (given === 'seasonal' || given === 'mackey-glass') {
      if (meta.columns.length !== 1) throw new CliError(`this model reads ${meta.columns.length} columns; --dataset ${given} has one`);
      src = seriesFor(given, { seed: meta.generator?.seed ?? 0, size: DEFAULT_SIZE[given] });
    } else {
      throw new CliError(`this model forecasts a series (${meta.columns.join(', ')}); give --csv file (or --dataset seasonal|mackey-glass)`);
    }
    data = forecastData(src, { window: meta.window, horizon: meta.horizon, stride: 1, valSplit: 0, returnSequences }, meta);
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
