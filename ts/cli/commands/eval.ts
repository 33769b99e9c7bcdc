/**
 * `rnnkit eval --model m.safetensors [--csv f | --held-out f [--context c] | --text f | --dataset d]`: the
 * task's metrics of a saved model, on data prepared with the model's own normalisation / vocabulary /
 * window. A forecaster is scored only on rows it never trained on (forecast/held-out.ts), next to
 * persistence and seasonal naive on the same points, with the coverage of its stored intervals. Other
 * models: without a data flag, a generated dataset is drawn afresh (next seed: same process, unseen samples).
 */

import { CliError, helpText, type FlagSpec } from '../args.js';
import { DATASETS, type DatasetName } from '../datasets/builtin.js';
import { charScoreTable } from '../datasets/char-baselines.js';
import { evaluationData } from '../datasets/index.js';
import { coverage } from '../forecast/intervals.js';
import { HELD_OUT_FLAGS, heldOutFlags, scoredSeries } from '../forecast/held-out.js';
import { scoreForecasts, scoreMetrics } from '../forecast/metrics.js';
import { scoreJson, scoreText } from '../forecast/summary.js';
import { requireDataMeta } from '../model-file.js';
import { fmt } from '../progress.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, CSV_READ_FLAGS, csvFlags, HELP_FLAG, printNotices, taskMetrics } from './common.js';

export const EVAL_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'a model from `rnnkit train`' },
  { name: 'csv', type: 'string', help: "forecasters: the training series (or a longer version); only rows after the model's split are scored" },
  ...HELD_OUT_FLAGS,
  ...CSV_READ_FLAGS,
  { name: 'text', type: 'string', help: 'text file (character models)' },
  { name: 'dataset', type: 'string', choices: DATASETS, help: 'a built-in dataset (a fresh draw: every row unseen)', default: "forecasters: the model's own series; others: a fresh draw" },
  BACKEND_FLAG,
  { name: 'json', type: 'boolean', help: 'print the metrics as one JSON line' },
  HELP_FLAG,
];

export const EVAL_HELP = helpText(
  'rnnkit eval --model m.safetensors [--csv f | --held-out f [--context c] | --text f | --dataset d]',
  "Scores a saved model on data prepared with the model's own statistics; forecasters only on rows they never trained on.",
  EVAL_FLAGS,
);

export async function evalCommand(argv: string[]): Promise<number> {
  const command = { name: 'eval', flags: EVAL_FLAGS, help: EVAL_HELP, missingModel: 'rnnkit eval needs --model file.safetensors' };
  return runOnSavedModel(argv, command, (loaded, flags) => {
    const meta = requireDataMeta(loaded, 'eval');
    const returnSequences = loaded.model.io.output.kind === 'sequence';
    const dataset = flags.dataset as DatasetName | undefined;
    if (meta.task === 'forecast') {
      if (flags.text !== undefined) throw new CliError(`--text is for character models; ${loaded.path} forecasts ${meta.target} (give --csv or --held-out)`);
      const scored = scoredSeries(meta, { ...heldOutFlags(flags), dataset });
      const s = scoreForecasts(loaded.model, meta, scored.columns, scored.origins, returnSequences);
      const cov = meta.intervals ? coverage(meta.intervals, s.residuals) : undefined;
      const metrics = { ...scoreMetrics(s), ...(cov !== undefined ? { interval_coverage: cov } : {}) };
      if (flags.json) {
        process.stdout.write(JSON.stringify({ data: scored.description, notices: scored.notices, sequences: s.origins.length, points: s.points, metrics, forecast: scoreJson(s) }) + '\n');
      } else {
        printNotices(scored.notices);
        const covLine = cov !== undefined ? `\n${Math.round(meta.intervals!.level * 100)}% interval coverage on these points: ${fmt(cov)}` : '';
        process.stdout.write(`${scored.description}\n${scoreText(s, meta.target, 'scored')}${covLine}\nRMSE (${meta.target}): ${fmt(s.model.rmse)}\n`);
      }
      return 0;
    }
    for (const flag of ['held-out', 'context'] as const) {
      if (flags[flag] !== undefined) throw new CliError(`--${flag} applies to forecasting models; ${loaded.path} is a ${meta.task} model`);
    }
    const source = { csv: flags.csv as string | undefined, text: flags.text as string | undefined, dataset };
    const data = evaluationData(meta, { ...source, ...csvFlags(flags) }, returnSequences, true);
    // The loss it was trained with (evaluate needs a compiled loss; the optimizer is never used here).
    loaded.model.compile({ loss: (loaded.train?.config.loss as typeof data.loss | undefined) ?? data.loss });
    const m = taskMetrics(loaded.model, meta, data.val!);
    if (flags.json) {
      process.stdout.write(JSON.stringify({ data: data.summary, notices: data.notices ?? [], sequences: data.val!.xDims[0], metrics: m.metrics, ...(m.charScores ? { charScores: m.charScores } : {}) }) + '\n');
    } else {
      printNotices(data.notices);
      process.stdout.write(
        `${data.summary}\n${m.headline[0]}: ${fmt(m.headline[1])}\n` +
          Object.entries(m.metrics).map(([k, v]) => `  ${k}: ${fmt(v)}`).join('\n') + '\n' +
          (m.charScores ? charScoreTable(m.charScores, 'evaluated') + '\n' : ''),
      );
    }
    return 0;
  });
}
