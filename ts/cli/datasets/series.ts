/**
 * Time series → forecasting sequences. Columns are z-scored with statistics from the training split
 * only (stored in the saved model, so predict/eval normalise new data identically). Each window of
 * `window` rows is one sequence; its target at step t is the next `horizon` values of the target column
 * (rows t+1 … t+horizon), so a model forecasts `horizon` steps at once and longer forecasts roll forward.
 * The split is chronological: the last `valSplit` of the rows are validation, never seen in training.
 */

import { CliError } from '../args.js';
import type { Frequency } from './calendar.js';
import type { ForecastMeta, GeneratorMeta, PreparedData, Split } from './types.js';

export interface SeriesOptions {
  window: number;
  horizon: number;
  stride: number;
  /** Fraction of rows (at the end) kept for validation; 0 = none. */
  valSplit: number;
  /** Head at every step; false (bidirectional models) = only the last step, so no step sees its future. */
  returnSequences: boolean;
}

export interface SeriesSource {
  source: 'csv' | 'dataset';
  name: string;
  columns: string[];
  /** Column-major values [column][row]. */
  values: number[][];
  targetIndex: number;
  generator?: GeneratorMeta;
  /** CSV with a date column: epoch ms (UTC) per row, the column's name and the sampling frequency. */
  dates?: number[];
  dateColumn?: string;
  frequency?: Frequency;
  /** How the CSV was read (date column, ignored columns, missing values): one line each, for the console and JSON. */
  notices?: string[];
}

/** Mean and standard deviation (1 for a constant column) of rows [0, end) of each column. */
export function columnStats(values: number[][], end: number): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (const col of values) {
    let m = 0;
    for (let i = 0; i < end; i++) m += col[i];
    m /= end;
    let v = 0;
    for (let i = 0; i < end; i++) v += (col[i] - m) ** 2;
    const sd = Math.sqrt(v / end);
    mean.push(m);
    std.push(sd > 1e-12 ? sd : 1);
  }
  return { mean, std };
}

/** Z-scored copy, column-major. */
export function normalise(values: number[][], mean: number[], std: number[]): Float32Array[] {
  return values.map((col, c) => Float32Array.from(col, (v) => (v - mean[c]) / std[c]));
}

/** Sequences x [n, window, columns] of the rows ending just before each of `ends` (exclusive). */
export function contextWindows(norm: Float32Array[], ends: readonly number[], window: number): Float32Array {
  const f = norm.length;
  const x = new Float32Array(ends.length * window * f);
  ends.forEach((end, k) => {
    for (let t = 0; t < window; t++) for (let c = 0; c < f; c++) x[(k * window + t) * f + c] = norm[c][end - window + t];
  });
  return x;
}

function windows(norm: Float32Array[], targetIndex: number, starts: number[], o: SeriesOptions): Split {
  const { window: w, horizon: h } = o;
  const n = starts.length;
  const x = contextWindows(norm, starts.map((s) => s + w), w);
  const target = norm[targetIndex];
  const stepsOut = o.returnSequences ? w : 1;
  const y = new Float32Array(n * stepsOut * h);
  starts.forEach((s, k) => {
    for (let j = 0; j < stepsOut; j++) {
      const t = o.returnSequences ? j : w - 1; // the step whose future is the target
      for (let u = 0; u < h; u++) y[(k * stepsOut + j) * h + u] = target[s + t + 1 + u];
    }
  });
  return { x, xDims: [n, w, norm.length], y, yDims: o.returnSequences ? [n, w, h] : [n, h] };
}

/** Window starts s in [from, to − window − horizon], every `stride` rows (every window fits inside [from, to)). */
function starts(from: number, to: number, o: SeriesOptions): number[] {
  const out: number[] = [];
  for (let s = from; s + o.window + o.horizon <= to; s += o.stride) out.push(s);
  return out;
}

/**
 * Builds train/validation sequences from a series. `stats` reuses stored normalisation (eval); otherwise
 * it is computed on the training split. Throws a CliError when the window does not fit the series.
 */
export function forecastData(src: SeriesSource, o: SeriesOptions, stats?: { mean: number[]; std: number[] }): PreparedData {
  const rows = src.values[0]?.length ?? 0;
  const need = o.window + o.horizon;
  if (rows < need) {
    throw new CliError(
      `--window ${o.window} is longer than the series: ${src.name} has ${rows} rows, and a window of ${o.window} ` +
        `steps plus a forecast horizon of ${o.horizon} needs at least ${need}. Use a smaller --window (at most ${Math.max(1, rows - o.horizon)}).`,
    );
  }
  let split = o.valSplit > 0 ? Math.floor(rows * (1 - o.valSplit)) : rows;
  if (split < need) {
    // Too short to hold out a validation tail as well: train on everything, say so in the summary.
    split = rows;
  }
  const { mean, std } = stats ?? columnStats(src.values, split);
  const norm = normalise(src.values, mean, std);
  const trainStarts = starts(0, split, o);
  const valStarts = split < rows ? starts(split, rows, o) : [];
  const train = windows(norm, src.targetIndex, trainStarts, o);
  const val = valStarts.length > 0 ? windows(norm, src.targetIndex, valStarts, o) : undefined;
  const meta: ForecastMeta = {
    task: 'forecast',
    source: src.source,
    name: src.name,
    columns: src.columns,
    target: src.columns[src.targetIndex],
    targetIndex: src.targetIndex,
    window: o.window,
    horizon: o.horizon,
    mean,
    std,
    ...(src.generator ? { generator: src.generator } : {}),
  };
  const cols = src.columns.length === 1 ? '1 column' : `${src.columns.length} columns`;
  const valText = val
    ? `${valStarts.length} validation windows (last ${rows - split} rows)`
    : o.valSplit > 0
      ? 'no validation split (series too short)'
      : 'no split';
  return {
    meta,
    inputSize: src.columns.length,
    outputUnits: o.horizon,
    returnSequences: o.returnSequences,
    loss: 'mse',
    headActivation: 'identity',
    train,
    val,
    summary: `${src.name}: ${rows} rows, ${cols}, target "${meta.target}", horizon ${o.horizon} → ${trainStarts.length} training windows of ${o.window} steps, ${valText}`,
    series: { columns: src.values, target: src.values[src.targetIndex], valStart: split },
  };
}
