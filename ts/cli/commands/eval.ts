/**
 * `rnnkit eval --model m.safetensors [--csv f | --text f | --dataset d]`: the task's metrics of a saved
 * model on new data, prepared with the model's own normalisation / vocabulary / window. Without a data
 * flag, a generated dataset is drawn afresh (next seed: same process, unseen samples).
 */

import { helpText, type FlagSpec } from '../args.js';
import { DATASETS, type DatasetName } from '../datasets/builtin.js';
import { charScoreTable } from '../datasets/char-baselines.js';
import { evaluationData } from '../datasets/index.js';
import { requireDataMeta } from '../model-file.js';
import { fmt } from '../progress.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, CSV_READ_FLAGS, csvFlags, HELP_FLAG, printNotices, taskMetrics } from './common.js';

export const EVAL_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'a model from `rnnkit train`' },
  { name: 'csv', type: 'string', help: 'CSV series with the columns the model was trained on' },
  ...CSV_READ_FLAGS,
  { name: 'text', type: 'string', help: 'text file (character models)' },
  { name: 'dataset', type: 'string', choices: DATASETS, help: 'a built-in dataset', default: "a fresh draw of the model's own" },
  BACKEND_FLAG,
  { name: 'json', type: 'boolean', help: 'print the metrics as one JSON line' },
  HELP_FLAG,
];

export const EVAL_HELP = helpText('rnnkit eval --model m.safetensors [--csv f | --text f | --dataset d]', "Scores a saved model on data prepared with the model's own statistics.", EVAL_FLAGS);

export async function evalCommand(argv: string[]): Promise<number> {
  const command = { name: 'eval', flags: EVAL_FLAGS, help: EVAL_HELP, missingModel: 'rnnkit eval needs --model file.safetensors' };
  return runOnSavedModel(argv, command, (loaded, flags) => {
    const meta = requireDataMeta(loaded, 'eval');
    const returnSequences = loaded.model.spec.head?.return_sequences ?? true;
    const source = { csv: flags.csv as string | undefined, text: flags.text as string | undefined, dataset: flags.dataset as DatasetName | undefined };
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
