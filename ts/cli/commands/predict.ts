/**
 * `rnnkit predict --model m.safetensors --csv f.csv --steps N`: forecasts the next N values of the target
 * column after the end of the series, in the target's own units, with an 80% prediction interval from
 * the model's held-out errors. A model forecasts `horizon` steps at once (direct); for more steps it
 * rolls forward on its own forecasts (recursive), covariates rolled by seasonal naive — never refused.
 * Which of these happened is printed in one line (stderr, so stdout stays a clean CSV). Without --csv, a
 * model trained on a generated series continues that series.
 */

import { CliError, helpText, type FlagSpec } from '../args.js';
import { addSteps, dateFormatter } from '../datasets/calendar.js';
import { forecastSeries, type ForecastSeries } from '../datasets/index.js';
import { contextRows } from '../datasets/series.js';
import { forecastMode, forecastPaths } from '../forecast/forecaster.js';
import { intervalAt } from '../forecast/intervals.js';
import { requireDataMeta } from '../model-file.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, CSV_READ_FLAGS, csvFlags, HELP_FLAG, printNotices } from './common.js';

export const PREDICT_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'a forecasting model from `rnnkit train`' },
  { name: 'csv', type: 'string', help: 'the series to continue (with the columns the model reads)', default: "the model's generated series" },
  ...CSV_READ_FLAGS,
  { name: 'dataset', type: 'string', choices: ['seasonal', 'mackey-glass'], help: 'continue a generated series instead' },
  { name: 'steps', type: 'int', min: 1, max: 100_000, help: 'values to forecast (direct up to the horizon, then recursive)', default: 'the horizon' },
  BACKEND_FLAG,
  { name: 'json', type: 'boolean', help: 'print {"target", "mode", "forecast", "lower", "upper", "dates", "notices", ...} as one JSON line' },
  HELP_FLAG,
];

export const PREDICT_HELP = helpText(
  'rnnkit predict --model m.safetensors [--csv file.csv] --steps N',
  'Forecasts the next N values of the target column, with an 80% prediction interval (lower, upper).',
  PREDICT_FLAGS,
);

export async function predictCommand(argv: string[]): Promise<number> {
  const command = {
    name: 'predict',
    flags: PREDICT_FLAGS,
    help: PREDICT_HELP,
    missingModel: 'rnnkit predict needs --model file.safetensors (a forecaster from `rnnkit train`)',
  };
  return runOnSavedModel(argv, command, (loaded, flags) => {
    const model = loaded.model;
    const meta = requireDataMeta(loaded, 'predict');
    if (meta.task !== 'forecast') {
      throw new CliError(`${loaded.path} is a ${meta.task} model on ${meta.name}; predict forecasts series (use \`rnnkit ${meta.task === 'charlm' ? 'generate' : 'eval'}\`)`);
    }
    const returnSequences = model.io.output.kind === 'sequence';
    const series = forecastSeries(meta, { csv: flags.csv as string | undefined, dataset: flags.dataset as 'seasonal' | undefined, ...csvFlags(flags) }, false);
    const rows = series.columns[0].length;
    if (rows < contextRows(meta)) {
      throw new CliError(`${series.name} has ${rows} rows; this model needs at least ${contextRows(meta)} rows of context (window ${meta.window} plus the transform's lookback)`);
    }
    const steps = (flags.steps as number | undefined) ?? meta.horizon;
    const [forecast] = forecastPaths(model, meta, series.columns, [rows], steps, returnSequences);
    const iv = meta.intervals;
    const bounds = forecast.map((v, k) => (iv ? intervalAt(iv, k + 1).map((d) => v + d) : [NaN, NaN]));
    const mode = forecastMode(meta, steps);
    const ivNote = !iv
      ? 'no interval (the model had no held-out tail)'
      : `${Math.round(iv.level * 100)}% interval from held-out errors` + (steps > iv.lower.length ? `, measured for ${iv.lower.length} steps and widened by √(step/${iv.lower.length}) beyond` : '');
    const dates = futureDates(series, steps);
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({
          target: meta.target,
          from: series.name,
          afterRow: rows,
          mode,
          interval: ivNote,
          forecast,
          lower: bounds.map((b) => b[0]),
          upper: bounds.map((b) => b[1]),
          ...(dates ? { dates } : {}),
          notices: series.notices,
        }) + '\n',
      );
    } else {
      printNotices(series.notices);
      process.stderr.write(`${mode}; ${ivNote}\n`);
      const num = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '');
      // The file's own date column name, so the output reads like the input's continuation.
      const first = dates ? (series.dateColumn ?? 'date') : 'step';
      const label = (k: number) => (dates ? dates[k] : String(k + 1));
      process.stdout.write(`${first},${meta.target},lower,upper\n` + forecast.map((v, k) => `${label(k)},${num(v)},${num(bounds[k][0])},${num(bounds[k][1])}`).join('\n') + '\n');
    }
    return 0;
  });
}

/**
 * Dates of the `steps` future values, formatted like the input's dates: the last row's date moved by
 * 1..steps sampling steps (calendar months for monthly data). Undefined without dates or on an
 * irregular series (a notice says the steps are numbered instead).
 */
function futureDates(series: ForecastSeries, steps: number): string[] | undefined {
  const { dates, frequency: f } = series;
  if (!dates || !f) return undefined;
  if (!f.regular) {
    series.notices.push(`the dates are ${f.label}, so future steps are numbered, not dated`);
    return undefined;
  }
  const fmt = dateFormatter(dates, f);
  const last = dates[dates.length - 1];
  return Array.from({ length: steps }, (_, k) => fmt(addSteps(last, f, k + 1)));
}
