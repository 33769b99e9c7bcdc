/**
 * Which rows `eval` and `backtest` score, from their flags: by default the held-out tail of the model's own
 * training series (rows from the stored split on; `--csv` names that series, possibly extended); with
 * `--held-out file.csv`, every row of that file, its context being `--context file.csv` or the end of the
 * training series stored in the model; with `--dataset`, a fresh draw whose rows are all unseen.
 */

import { CliError, type FlagSpec } from '../args.js';
import { csvFlags } from '../commands/common.js';
import type { DatasetName } from '../datasets/builtin.js';
import { forecastCsv, forecastSeries, type ForecastSeries, type ReadFlags } from '../datasets/index.js';
import { contextRows, originsIn } from '../datasets/series.js';
import type { ForecastMeta } from '../datasets/types.js';

/** `--held-out` and `--context`, as `eval` and `backtest` offer them. */
export const HELD_OUT_FLAGS: FlagSpec[] = [
  { name: 'held-out', type: 'string', help: 'forecasters: a CSV of new rows (after the training series), every one scored' },
  { name: 'context', type: 'string', help: 'with --held-out: a CSV of the rows just before it', default: 'the end of the training series, stored in the model' },
];

export interface ScoredSeries {
  /** meta.columns' values: context rows, then the scored rows. */
  columns: number[][];
  /** Forecast origins: every first forecast row whose targets are all scored rows. */
  origins: number[];
  /** One line saying which rows are scored and where the context comes from. */
  description: string;
  /** Epoch ms per row of `columns`, when every row has a date (a dated CSV, not a stored tail). */
  dates?: number[];
  /** How the CSV files were read, one line each. */
  notices: string[];
}

export interface HeldOutFlags extends ReadFlags {
  csv?: string;
  dataset?: DatasetName;
  heldOut?: string;
  context?: string;
}

/** The flags scoredSeries reads, from a command's parsed flags (--dataset is the command's own: its choices differ). */
export function heldOutFlags(flags: Record<string, unknown>): HeldOutFlags {
  return {
    csv: flags.csv as string | undefined,
    heldOut: flags['held-out'] as string | undefined,
    context: flags.context as string | undefined,
    ...csvFlags(flags),
  };
}

export function scoredSeries(meta: ForecastMeta, f: HeldOutFlags): ScoredSeries {
  const need = contextRows(meta);
  if (f.heldOut !== undefined) {
    if (f.csv !== undefined || f.dataset !== undefined) throw new CliError('--held-out names the data to score; drop --csv/--dataset (use --context for the rows before it)');
    const held = forecastCsv(meta, f.heldOut, f);
    const notices = held.notices.map((n) => `${held.name}: ${n}`);
    let context: number[][];
    let from: string;
    let dates: number[] | undefined;
    if (f.context !== undefined) {
      const before = forecastCsv(meta, f.context, f);
      context = before.columns;
      notices.push(...before.notices.map((n) => `${before.name}: ${n}`));
      if (before.dates && held.dates) dates = [...before.dates, ...held.dates];
      from = `the ${context[0].length} rows of ${f.context}`;
    } else if (meta.tail) {
      context = meta.tail;
      from = `the last ${context[0].length} rows of the training series (stored in the model)`;
    } else {
      throw new CliError('this model stores no end of its training series; give the rows before the held-out file with --context file.csv');
    }
    if (context[0].length < need) {
      throw new CliError(`--context has ${context[0].length} rows; this model needs at least ${need} before the held-out rows (window ${meta.window} plus the transform's lookback)`);
    }
    const columns = context.map((col, c) => [...col, ...held.columns[c]]);
    const origins = originsIn(meta, context[0].length, columns[0].length);
    if (origins.length === 0) throw new CliError(`--held-out ${f.heldOut} has ${held.columns[0].length} rows; a forecast of horizon ${meta.horizon} needs at least ${meta.horizon}`);
    return { columns, origins, description: `all ${held.columns[0].length} rows of ${held.name} (held out), context from ${from}`, notices, ...(dates ? { dates } : {}) };
  }
  if (f.context !== undefined) throw new CliError('--context goes with --held-out file.csv (the rows before the held-out ones)');
  const series = forecastSeries(meta, f, true);
  const rows = series.columns[0].length;
  const read = { notices: series.notices, ...(series.dates ? { dates: series.dates } : {}) };
  if (!series.ownSeries) {
    // From the first row with a full context and a season of history (the seasonal-naive baseline needs it).
    const origins = originsIn(meta, meta.season?.period ?? 0, rows);
    if (origins.length === 0) throw new CliError(`${series.name} has ${rows} rows; this model needs more than ${need + meta.horizon - 1}`);
    return { columns: series.columns, origins, description: `${series.name}, a fresh draw (next seed): every row is unseen; rows ${origins[0]}–${rows - 1} scored, the rows before them are context`, ...read };
  }
  if (meta.split === undefined) throw new CliError('this model stores no train/held-out split; name the rows to score with --held-out file.csv');
  const split = splitRow(meta.split, series);
  const origins = originsIn(meta, split, rows);
  if (origins.length === 0) {
    throw new CliError(
      `${series.name} has ${rows} rows and the model trained on rows 0–${split - 1}, so no held-out rows remain to score; ` +
        'give new rows with --held-out file.csv (or a longer --csv)',
    );
  }
  const since = meta.split.date && series.dates ? `, from ${meta.split.date}` : '';
  return { columns: series.columns, origins, description: `${series.name}: held-out rows ${split}–${rows - 1}${since} (the model trained on rows 0–${split - 1}; earlier rows are context only)`, ...read };
}

/**
 * The first held-out row of the model's own series as read now: found by the split's date when the model
 * stores one and the file was read with dates (a file read another way — --missing drop, another date
 * grid — still splits where training did; a notice says when the row moved), else the stored row.
 */
function splitRow(split: NonNullable<ForecastMeta['split']>, series: ForecastSeries): number {
  if (split.date === undefined) return split.row;
  if (!series.dates) {
    series.notices.push(`read without dates: the held-out tail is taken to start at row ${split.row}, as in training (${split.date} there)`);
    return split.row;
  }
  const at = Date.parse(split.date);
  const row = series.dates.findIndex((d) => d >= at);
  const found = row < 0 ? series.dates.length : row;
  if (found !== split.row) series.notices.push(`the held-out tail starts at ${split.date}: row ${found} of this reading (row ${split.row} in training's)`);
  return found;
}
