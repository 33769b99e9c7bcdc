/**
 * What every CLI data source produces: tensors ready for `Sequential.fit` plus the metadata a saved
 * model needs to be used again (`DataMeta`: normalisation statistics, vocabulary, window, generator
 * seed). `DataMeta` is stored as JSON in the safetensors `__metadata__` under `rnnkit.data`.
 */

import type { Loss } from '../../model.js';
import type { TargetTransform } from '../forecast/transforms.js';
import type { CharCounts } from './char-baselines.js';
import type { Frequency, Season } from './calendar.js';
import type { MissingPolicy } from './missing.js';

/** forecast: next values of a series; charlm: next character; classify: one label per sequence;
 * next-symbol: the set of legal next symbols per step; regression: one value per sequence. */
export type Task = 'forecast' | 'charlm' | 'classify' | 'next-symbol' | 'regression';

/**
 * One split, batch-first. `x` is feature values [n, window, features] (Float32Array), or token ids
 * [n, window] in 0..inputSize−1 (Int32Array, character models: one-hot inside the core). `y` is float
 * targets or int32 class ids, shaped by `yDims`.
 */
export interface Split {
  x: Float32Array | Int32Array;
  xDims: number[];
  y: Float32Array | Int32Array;
  yDims: number[];
  /** Valid steps per sequence (padded sequences only). */
  lengths?: number[];
}

/** How to rebuild a generated dataset exactly (predict/eval on a built-in dataset). */
export interface GeneratorMeta {
  seed: number;
  /** Series length, sequence count or corpus size, by dataset. */
  size: number;
}

export interface ForecastMeta {
  task: 'forecast';
  source: 'csv' | 'dataset';
  name: string;
  /** Input columns: the target, then any covariates (--covariates). */
  columns: string[];
  target: string;
  targetIndex: number;
  window: number;
  horizon: number;
  /** Per column, computed on the training split only (covariates are z-scored with them). */
  mean: number[];
  std: number[];
  /** How the target is encoded (absent in older models: z-scored levels). */
  transform?: TargetTransform;
  /** Season length used by the seasonal-naive baseline and covariate roll-forward (period 1: none; 'flag': --season). */
  season?: Omit<Season, 'source'> & { source: Season['source'] | 'flag' };
  /** Held-out tail: rows [row, rows) of the training series were never trained on; `date`: row `row`'s date, formatted like the file's. */
  split?: { row: number; rows: number; date?: string };
  /** Last rows of every input column of the training series: the default context of `eval --held-out`. */
  tail?: number[][];
  /** Empirical quantiles of held-out errors (truth − forecast) per horizon, added to a forecast. */
  intervals?: { level: number; lower: number[]; upper: number[] };
  /** MASE denominator: mean absolute one-step (seasonal) naive error on the training rows. */
  maseScale?: number;
  generator?: GeneratorMeta;
  /** CSV date column the model was trained with (predict/eval read the same one). */
  dateColumn?: string;
  /** Sampling frequency of the training CSV; `predict` steps future dates by it. */
  frequency?: Frequency;
  /** Date of the last row of the training series, formatted like the file's dates. */
  lastDate?: string;
  /** The CSV missing-value policy training used; eval/predict default to it. */
  missing?: MissingPolicy;
}

export interface CharMeta {
  task: 'charlm';
  source: 'text' | 'dataset';
  name: string;
  /** Characters by class index. */
  vocab: string[];
  /** Index of the unknown symbol that characters outside a capped vocabulary read as (--max-vocab). */
  unknown?: number;
  /** Unigram/bigram counts of the training text, for the per-character baselines. */
  counts?: CharCounts;
  window: number;
  /** A prompt from the training text, the default for `rnnkit generate`. */
  prompt: string;
  generator?: GeneratorMeta;
}

export interface SequenceMeta {
  task: 'classify' | 'next-symbol' | 'regression';
  source: 'dataset';
  name: string;
  /** Input symbols (one-hot order) for symbolic datasets. */
  symbols?: string[];
  classes?: string[];
  window: number;
  generator: GeneratorMeta;
}

export type DataMeta = ForecastMeta | CharMeta | SequenceMeta;

export interface PreparedData {
  meta: DataMeta;
  inputSize: number;
  outputUnits: number;
  /** Head at every step (true) or at each sequence's last valid step. */
  returnSequences: boolean;
  loss: Loss;
  headActivation: 'identity' | 'sigmoid' | 'tanh' | 'softmax';
  train: Split;
  val?: Split;
  /** Forecasting: windows whose last step forecasts the end of the training rows (not trained on), to pick the epoch. */
  tune?: Split;
  /** One line for the console: "seasonal series: 1500 steps, 1 column → 1125 training windows ...". */
  summary: string;
  /** Automatic choices (window, season, transform, inputs), one line each, printed and in the JSON output. */
  notes?: string[];
  /** Forecast tasks: the input columns (target first) and the target in original units, the first held-out row, and
   * each row's date (epoch ms) for a CSV with dates. */
  series?: { columns: number[][]; target: number[]; valStart: number; dates?: number[] };
  /** How the input was read (CSV date column, ignored columns, missing values; text vocabulary cap, invalid UTF-8): one line each, printed by the commands and in their JSON. */
  notices?: string[];
  /** Character tasks: the raw text (for report samples). */
  text?: string;
}
