/**
 * `rnnkit backtest --model m.safetensors [--csv f | --held-out f [--context c]] [--origins K] [--steps N]`:
 * a rolling-origin evaluation. From K forecast origins spread evenly over the held-out rows, the saved
 * model forecasts N steps (direct up to its horizon, recursive beyond) and persistence and seasonal naive
 * forecast the same rows; the table gives RMSE/MAE per step ahead. The model is not refitted at each
 * origin (it only ever saw the training rows), which the output says.
 */

import { CliError, helpText, type FlagSpec } from '../args.js';
import { DATASETS, type DatasetName } from '../datasets/builtin.js';
import { originsIn } from '../datasets/series.js';
import { forecastMode } from '../forecast/forecaster.js';
import { HELD_OUT_FLAGS, heldOutFlags, scoredSeries } from '../forecast/held-out.js';
import { scoreForecasts } from '../forecast/metrics.js';
import { scoreJson, scoreText } from '../forecast/summary.js';
import { requireDataMeta } from '../model-file.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, CSV_READ_FLAGS, HELP_FLAG, printNotices } from './common.js';

export const BACKTEST_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'a forecasting model from `rnnkit train`' },
  { name: 'csv', type: 'string', help: "the training series (or a longer version); origins lie in rows after the model's split" },
  ...HELD_OUT_FLAGS,
  ...CSV_READ_FLAGS,
  { name: 'dataset', type: 'string', choices: DATASETS, help: 'a fresh draw of a built-in series (every row unseen)' },
  { name: 'origins', type: 'int', min: 1, help: 'forecast origins, spread evenly over the held-out rows', default: '10' },
  { name: 'steps', type: 'int', min: 1, max: 10_000, help: 'steps ahead from each origin', default: 'the horizon' },
  BACKEND_FLAG,
  { name: 'json', type: 'boolean', help: 'print the table as one JSON line' },
  HELP_FLAG,
];

export const BACKTEST_HELP = helpText(
  'rnnkit backtest --model m.safetensors [--csv f | --held-out f [--context c]] [--origins K] [--steps N]',
  'Rolling-origin backtest on held-out rows: model vs persistence vs seasonal naive per step ahead (no refit).',
  BACKTEST_FLAGS,
);

/** K of `all` spread evenly, first and last included. */
function spread(all: number[], k: number): number[] {
  if (all.length <= k) return all;
  if (k === 1) return [all[all.length - 1]];
  return Array.from({ length: k }, (_, i) => all[Math.round((i * (all.length - 1)) / (k - 1))]);
}

export async function backtestCommand(argv: string[]): Promise<number> {
  const command = { name: 'backtest', flags: BACKTEST_FLAGS, help: BACKTEST_HELP, missingModel: 'rnnkit backtest needs --model file.safetensors (a forecaster from `rnnkit train`)' };
  return runOnSavedModel(argv, command, (loaded, flags) => {
    const meta = requireDataMeta(loaded, 'backtest');
    if (meta.task !== 'forecast') throw new CliError(`${loaded.path} is a ${meta.task} model; backtest evaluates forecasters (use \`rnnkit eval\`)`);
    const returnSequences = loaded.model.io.output.kind === 'sequence';
    const steps = (flags.steps as number | undefined) ?? meta.horizon;
    const k = (flags.origins as number | undefined) ?? 10;
    const scored = scoredSeries(meta, { ...heldOutFlags(flags), dataset: flags.dataset as DatasetName | undefined });
    const rows = scored.columns[0].length;
    const candidates = originsIn(meta, scored.origins[0], rows, 1, steps);
    if (candidates.length === 0) {
      throw new CliError(`--steps ${steps} reaches past the end: the scored rows start at ${scored.origins[0]} and the series ends at row ${rows - 1}; use --steps ${rows - scored.origins[0]} or fewer`);
    }
    const origins = spread(candidates, k);
    const s = scoreForecasts(loaded.model, meta, scored.columns, origins, returnSequences, steps);
    const mode = forecastMode(meta, steps);
    const refit = 'the model is not refitted at each origin: it was trained once, on rows before the held-out ones';
    if (flags.json) {
      process.stdout.write(JSON.stringify({ data: scored.description, notices: scored.notices, mode, refit: false, originRows: origins, ...scoreJson(s) }) + '\n');
    } else {
      printNotices(scored.notices);
      process.stdout.write(
        `${scored.description}\nrolling origin: ${origins.length} origins (rows ${origins[0]}…${origins[origins.length - 1]}), ${steps} steps ahead each; ${mode}\n${refit}\n` +
          scoreText(s, meta.target, 'backtest') + '\n',
      );
    }
    return 0;
  });
}
