/**
 * Time series → forecasting sequences. The target column is encoded by a transform (levels, differences
 * or per-window normalisation — forecast/transforms.ts) fitted on the training rows only, covariates are
 * z-scored with training statistics, and everything is stored in the saved model so predict/eval encode
 * new data identically. Each window of `window` rows is one sequence whose output at every step is the
 * next `horizon` values (encoded), so a model forecasts `horizon` steps at once and longer forecasts roll
 * forward. The split is chronological: the last `valSplit` of the rows are held out; a training window's
 * targets all lie before the split, a held-out window's last step forecasts rows in the tail (its context
 * may reach back into training rows). The last 15% of the training rows are kept out of training too, as
 * tuning rows on which `train` picks the epoch (forecast/best-epoch.ts).
 */

import { CliError } from '../args.js';
import { chooseTransform } from '../forecast/choose.js';
import { encodedInput, encodedSeries, encodedTarget, fitTransform, lookback, TRANSFORM_TEXT, type TargetTransform, type TransformChoice } from '../forecast/transforms.js';
import { calendarSeasons, dateFormatter, detectSeason, type Frequency, type Season } from './calendar.js';
import type { ForecastMeta, GeneratorMeta, PreparedData, Split } from './types.js';

export interface SeriesOptions {
  /** Undefined: the default, 48 rows capped at a quarter of the training rows. */
  window?: number;
  horizon: number;
  stride: number;
  /** Fraction of rows (at the end) held out; 0 = none. */
  valSplit: number;
  /** Head at every step; false (bidirectional models) = only the last step, so no step sees its future. */
  returnSequences: boolean;
  transform?: TransformChoice;
  /** Season length in rows (--season); undefined = detected from the training rows. */
  season?: number;
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

/** The transform stored in a model (models from before transforms: z-scored levels). */
export function transformOf(meta: ForecastMeta): TargetTransform {
  return meta.transform ?? { name: 'none', lags: [], center: meta.mean[meta.targetIndex], scale: meta.std[meta.targetIndex] };
}

/** Rows of context a window needs before its forecast origin (window + differencing lookback). */
export function contextRows(meta: ForecastMeta): number {
  return meta.window + lookback(transformOf(meta));
}

/**
 * Model inputs x [n, window, columns] for windows ending before each of `ends`, and (with `targets`) the
 * encoded targets: [n, window, horizon] per step, or [n, horizon] at the last step only.
 * `columns` are meta.columns' values (target first), original units; rows from `ends[k]` on are not read
 * for x.
 */
export function forecastWindows(meta: ForecastMeta, columns: readonly (readonly number[])[], ends: readonly number[], targets?: { perStep: boolean }): Split {
  const tr = transformOf(meta);
  const w = meta.window;
  const h = meta.horizon;
  const f = columns.length;
  const enc = encodedSeries(tr, columns[meta.targetIndex]);
  const n = ends.length;
  const x = new Float32Array(n * w * f);
  ends.forEach((e, k) => {
    for (let t = 0; t < w; t++) {
      const row = e - w + t;
      for (let c = 0; c < f; c++) {
        x[(k * w + t) * f + c] = c === meta.targetIndex ? encodedInput(tr, enc, row, e) : (columns[c][row] - meta.mean[c]) / meta.std[c];
      }
    }
  });
  const steps = targets?.perStep ? w : 1;
  const y = new Float32Array(targets ? n * steps * h : 0);
  if (targets) {
    ends.forEach((e, k) => {
      for (let j = 0; j < steps; j++) {
        const row = targets.perStep ? e - w + j : e - 1;
        for (let u = 0; u < h; u++) y[(k * steps + j) * h + u] = encodedTarget(tr, enc, row, u + 1);
      }
    });
  }
  return { x, xDims: [n, w, f], y, yDims: targets?.perStep ? [n, w, h] : [n, h] };
}

/** Forecast origins (first forecast row) whose `steps` targets all lie in [from, to), with full context. */
export function originsIn(meta: ForecastMeta, from: number, to: number, stride = 1, steps = meta.horizon): number[] {
  const out: number[] = [];
  for (let e = Math.max(from, contextRows(meta)); e + steps <= to; e += stride) out.push(e);
  return out;
}

/** The one-line choice notice for a detected season: its length and where it came from (calendar or ACF). */
function seasonNote(s: Season, f: Frequency | undefined): string {
  if (s.period <= 1) {
    const tried = f && calendarSeasons(f).length > 0 ? `neither the ${f.label} calendar (${calendarSeasons(f).join(', ')} rows) nor ` : '';
    return `no season: ${tried}the autocorrelation of the training rows shows one (give one with --season N)`;
  }
  const r = `autocorrelation ${s.acf.toFixed(2)} of the training rows' ${s.basis === 'levels' ? 'detrended levels' : 'differences'}`;
  const from = s.source === 'calendar' ? `calendar: ${f!.label} rows, confirmed by the ${r}` : `acf: the ${r}${f && calendarSeasons(f).length > 0 ? `, not a ${f.label} calendar season` : ''}`;
  return `season ${s.period} rows (${from}; override with --season)`;
}

/** The default window: 48 rows, capped at a quarter of the training rows so short series keep enough windows. */
function defaultWindow(trainRows: number): number {
  return Math.max(4, Math.min(48, Math.floor(trainRows / 4)));
}

/**
 * Builds train/held-out sequences from a series, choosing season, transform and window on the training
 * rows only. Throws a CliError when the window does not fit the series.
 */
export function forecastData(src: SeriesSource, o: SeriesOptions): PreparedData {
  const rows = src.values[0]?.length ?? 0;
  const h = o.horizon;
  let split = o.valSplit > 0 ? Math.floor(rows * (1 - o.valSplit)) : rows;
  const window = o.window ?? defaultWindow(split);
  const need = window + h;
  if (rows < need) {
    throw new CliError(
      `--window ${window} is longer than the series: ${src.name} has ${rows} rows, and a window of ${window} ` +
        `steps plus a forecast horizon of ${h} needs at least ${need}. Use a smaller --window (at most ${Math.max(1, rows - h)}).`,
    );
  }
  if (split < need) split = rows; // too short to hold out a tail as well: train on everything, say so below
  const notes: string[] = [];
  if (o.window === undefined && window !== 48) notes.push(`window ${window} rows (default 48, capped at a quarter of the ${split} training rows)`);

  // Inputs: the target, then the covariates (the CSV reader kept only the columns --covariates names).
  const target = src.values[src.targetIndex];
  const targetName = src.columns[src.targetIndex];
  const covariates = src.columns.filter((c) => c !== targetName);
  const columns = [targetName, ...covariates];
  const values = columns.map((c) => src.values[src.columns.indexOf(c)]);
  notes.push(
    covariates.length > 0
      ? `inputs: ${targetName} and covariates ${covariates.join(', ')} (beyond the horizon, covariates are rolled forward by seasonal naive)`
      : `inputs: ${targetName}'s own history`,
  );

  const trainY = target.slice(0, split);
  let season: NonNullable<ForecastMeta['season']>;
  if (o.season !== undefined) {
    if (o.season >= split) throw new CliError(`--season ${o.season} needs more than ${o.season} training rows; ${src.name} has ${split}`);
    season = { period: o.season, source: 'flag', acf: 0 };
    notes.push(`season ${o.season} rows (--season)`);
  } else {
    // The dates' calendar proposes seasons (12 for monthly rows, 7 and 365 for daily, ...); the training rows' autocorrelation confirms one, or finds its own.
    const found = detectSeason(trainY, src.frequency);
    notes.push(seasonNote(found, src.frequency));
    season = found;
  }
  const choice = o.transform ?? 'auto';
  let transform: TargetTransform;
  if (choice === 'auto') {
    const r = chooseTransform(target, split, season.period, window, h);
    transform = r.transform;
    notes.push(`transform ${r.reason}; override with --transform`);
  } else {
    if ((choice === 'seasonal-diff' || choice === 'diff+seasonal') && season.period < 2) {
      throw new CliError(`--transform ${choice} needs a season; none was found in the training rows, give one with --season N`);
    }
    transform = fitTransform(choice, target, split, season.period, window);
    notes.push(`transform ${choice}: ${TRANSFORM_TEXT[choice]} (--transform)`);
  }
  if (window + lookback(transform) + h > split) {
    throw new CliError(`--window ${window} with transform ${transform.name} (reads ${lookback(transform)} earlier rows) and horizon ${h} needs more than the ${split} training rows of ${src.name}`);
  }

  const { mean, std } = columnStats(values, split);
  const meta: ForecastMeta = {
    task: 'forecast',
    source: src.source,
    name: src.name,
    columns,
    target: targetName,
    targetIndex: 0,
    window,
    horizon: h,
    mean,
    std,
    transform,
    season,
    split: { row: split, rows, ...(src.dates && split < rows ? { date: dateFormatter(src.dates, src.frequency)(src.dates[split]) } : {}) },
    tail: values.map((col) => col.slice(Math.max(0, rows - (window + lookback(transform) + Math.max(season.period, 1))))),
    ...(src.generator ? { generator: src.generator } : {}),
  };
  // The last 15% of the training rows tune the number of epochs (train keeps the epoch that forecasts
  // them best) and are not trained on; skipped when that would leave fewer than 4 windows per weight row.
  const tuneRows = Math.max(h, Math.round(0.15 * split));
  const tuneStart = split - tuneRows;
  const tuneEnds = originsIn(meta, tuneStart, split);
  const useTune = tuneEnds.length >= 4 && originsIn(meta, 0, tuneStart).length >= 4 * window;
  const trainEnds = originsIn(meta, 0, useTune ? tuneStart : split, o.stride);
  const heldEnds = split < rows ? originsIn(meta, split, rows) : [];
  const train = forecastWindows(meta, values, trainEnds, { perStep: o.returnSequences });
  if (useTune) notes.push(`epochs: the model kept is the epoch with the lowest error on training rows ${tuneStart}–${split - 1}, which it does not train on`);
  const val = heldEnds.length > 0 ? forecastWindows(meta, values, heldEnds, { perStep: o.returnSequences }) : undefined;
  const cols = columns.length === 1 ? '1 input column' : `${columns.length} input columns`;
  const valText = val
    ? `${heldEnds.length} held-out forecast origins (last ${rows - split} rows)`
    : o.valSplit > 0
      ? 'no held-out tail (series too short)'
      : 'no held-out tail';
  return {
    meta,
    inputSize: columns.length,
    outputUnits: h,
    returnSequences: o.returnSequences,
    loss: 'mse',
    headActivation: 'identity',
    train,
    val,
    ...(useTune ? { tune: forecastWindows(meta, values, tuneEnds, { perStep: false }) } : {}),
    summary: `${src.name}: ${rows} rows, ${cols}, target "${targetName}", horizon ${h} → ${trainEnds.length} training windows of ${window} steps, ${valText}`,
    notes,
    series: { columns: values, target, valStart: split },
  };
}
