/**
 * `rnnkit predict --model m.safetensors --csv f.csv --steps N`: forecasts the next N values of the target
 * column after the end of the series (normalised with the model's stored statistics, answered in the
 * target's own units). A model forecasts `horizon` steps at once; a univariate model rolls forward by
 * feeding its forecasts back, a multivariate one can only go as far as its horizon (the other columns'
 * future is unknown). Without --csv, a model trained on a generated series continues that series.
 */

import { tensor } from '../../index.js';
import type { Tensor3D } from '../../tensor.js';
import { CliError, helpText, type FlagSpec } from '../args.js';
import { addSteps, dateFormatter } from '../datasets/calendar.js';
import { evaluationData } from '../datasets/index.js';
import { normalise } from '../datasets/series.js';
import type { PreparedData } from '../datasets/types.js';
import { requireDataMeta } from '../model-file.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, CSV_READ_FLAGS, csvFlags, HELP_FLAG, printNotices } from './common.js';

export const PREDICT_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'a forecasting model from `rnnkit train`' },
  { name: 'csv', type: 'string', help: 'the series to continue (same columns as in training)', default: "the model's generated series" },
  ...CSV_READ_FLAGS,
  { name: 'dataset', type: 'string', choices: ['seasonal', 'mackey-glass'], help: 'continue a generated series instead' },
  { name: 'steps', type: 'int', min: 1, max: 100_000, help: 'values to forecast', default: 'the horizon' },
  BACKEND_FLAG,
  { name: 'json', type: 'boolean', help: 'print {"target", "forecast": [...], "dates": [...]} as one JSON line' },
  HELP_FLAG,
];

export const PREDICT_HELP = helpText('rnnkit predict --model m.safetensors [--csv file.csv] --steps N', 'Forecasts the next N values of the target column.', PREDICT_FLAGS);

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
    const returnSequences = model.spec.head?.return_sequences ?? true;
    const data = evaluationData(meta, { csv: flags.csv as string | undefined, dataset: flags.dataset as 'seasonal' | undefined, ...csvFlags(flags) }, returnSequences, false);
    const steps = (flags.steps as number | undefined) ?? meta.horizon;
    const f = meta.columns.length;
    const h = meta.horizon;
    if (steps > h && f > 1) {
      const others = meta.columns.filter((_, c) => c !== meta.targetIndex).join(', ');
      throw new CliError(
        `--steps ${steps} is more than this model's horizon (${h}): it reads ${f} columns, and rolling further would need future values of ${others}. ` +
          `Use --steps ${h} or retrain with --horizon ${steps}.`,
      );
    }
    const norm = normalise(data.series!.columns, meta.mean, meta.std);
    const rows = norm[0].length;
    const w = Math.min(meta.window, rows);
    // Context: the last w rows, row-major [w, f]; univariate forecasts are appended as they come.
    const ctx: number[][] = Array.from({ length: w }, (_, t) => norm.map((col) => col[rows - w + t]));
    const sd = meta.std[meta.targetIndex];
    const mu = meta.mean[meta.targetIndex];
    const forecast: number[] = [];
    while (forecast.length < steps) {
      const x = Float32Array.from(ctx.flat());
      const out = model.predict(tensor(x, [1, w, f]) as Tensor3D).data as Float32Array;
      const offset = returnSequences ? (w - 1) * h : 0; // the last step's h-step forecast
      for (let u = 0; u < h && forecast.length < steps; u++) {
        const z = out[offset + u];
        forecast.push(z * sd + mu);
        ctx.push([z]);
        ctx.shift();
      }
    }
    const dates = futureDates(data, steps);
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({ target: meta.target, from: data.meta.name, afterRow: rows, forecast, ...(dates ? { dates } : {}), notices: data.notices ?? [] }) + '\n',
      );
    } else {
      printNotices(data.notices);
      // The file's own date column name, so the output reads like the input's continuation.
      const first = dates ? (data.meta.task === 'forecast' ? data.meta.dateColumn : undefined) ?? 'date' : 'step';
      const label = (k: number) => (dates ? dates[k] : String(k + 1));
      process.stdout.write(`${first},${meta.target}\n` + forecast.map((v, k) => `${label(k)},${Number(v.toPrecision(6))}`).join('\n') + '\n');
    }
    return 0;
  });
}

/**
 * Dates of the `steps` future values, formatted like the input's dates: the last row's date moved by
 * 1..steps sampling steps (calendar months for monthly data). Undefined without dates or on an
 * irregular series (a notice says the steps are numbered instead).
 */
function futureDates(data: PreparedData, steps: number): string[] | undefined {
  const dates = data.series?.dates;
  const meta = data.meta;
  if (!dates || meta.task !== 'forecast' || !meta.frequency) return undefined;
  if (!meta.frequency.regular) {
    (data.notices ??= []).push(`the dates are ${meta.frequency.label}, so future steps are numbered, not dated`);
    return undefined;
  }
  const f = meta.frequency;
  const fmt = dateFormatter(dates, f);
  const last = dates[dates.length - 1];
  return Array.from({ length: steps }, (_, k) => fmt(addSteps(last, f, k + 1)));
}
