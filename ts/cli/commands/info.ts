/**
 * `rnnkit info model.safetensors`: what a saved model is — architecture and parameter count, the
 * backend and kernel tier it was trained on, its data (normalisation statistics, vocabulary, window)
 * and final metrics. Works for models saved with the library API too (without the training details).
 */

import { helpText, type FlagSpec } from '../args.js';
import { transformOf } from '../datasets/series.js';
import { TRANSFORM_TEXT } from '../forecast/transforms.js';
import { fmt } from '../progress.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, HELP_FLAG } from './common.js';

export const INFO_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'the model file (or give it as the first argument)' },
  { ...BACKEND_FLAG, help: 'backend used to load it' },
  { name: 'json', type: 'boolean', help: 'print everything as one JSON object' },
  HELP_FLAG,
];

export const INFO_HELP = helpText('rnnkit info model.safetensors', 'Describes a saved model.', INFO_FLAGS);

export async function infoCommand(argv: string[]): Promise<number> {
  const command = {
    name: 'info',
    flags: INFO_FLAGS,
    help: INFO_HELP,
    missingModel: 'rnnkit info needs a model file: rnnkit info model.safetensors',
    modelPositional: true,
  };
  return runOnSavedModel(argv, command, (loaded, flags) => {
    const { path, model, metadata, data, train } = loaded;
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({ path, parameters: model.numParameters, spec: model.spec, rnnkitVersion: metadata.rnnkit, savedOnBackend: metadata.backend, train, data }) + '\n',
      );
      return 0;
    }
    const lines = [`${path}`, model.summary(), `parameters: ${model.numParameters}`, `rnnkit version: ${metadata.rnnkit ?? 'unknown'}`];
    if (train) {
      lines.push(
        `trained on backend: ${train.backend} (${train.isa}), ${train.epochs} epochs in ${train.seconds.toFixed(1)}s${train.stoppedEarly ? ' (stopped early)' : ''}, ${train.trainedAt}`,
        `command: ${train.command}`,
        `config: ${Object.entries(train.config).map(([k, v]) => `${k}=${v}`).join(' ')}`,
        `metrics: ${Object.entries(train.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`,
      );
    } else {
      lines.push(`saved on backend: ${metadata.backend ?? 'unknown'} (saved with the library API: no training details)`);
    }
    if (data) {
      lines.push(`data: ${data.task} on ${data.name} (${data.source}), window ${data.window}`);
      if (data.task === 'forecast') {
        lines.push(`  target "${data.target}", horizon ${data.horizon}` + (data.columns.length > 1 ? `, covariates ${data.columns.slice(1).join(', ')}` : ''));
        if (data.dateColumn) lines.push(`  dates: column "${data.dateColumn}", ${data.frequency?.label ?? 'frequency unknown'}, last ${data.lastDate ?? '?'}`);
        const tr = transformOf(data);
        lines.push(`  transform: ${tr.name} (${TRANSFORM_TEXT[tr.name]}), center ${fmt(tr.center)}, scale ${fmt(tr.scale)}`);
        if (data.season) lines.push(`  season: ${data.season.period > 1 ? `${data.season.period} rows (${data.season.source})` : 'none'}`);
        if (data.split) {
          const { row, rows, date } = data.split;
          lines.push(row < rows ? `  held out: rows ${row}–${rows - 1} of ${rows}${date ? `, from ${date}` : ''} (never trained on)` : `  held out: none (trained on all ${rows} rows)`);
        }
        lines.push(`  normalisation (z-score, from the training split):`);
        data.columns.forEach((c, i) => lines.push(`    ${c}: mean ${fmt(data.mean[i])}, std ${fmt(data.std[i])}`));
      } else if (data.task === 'charlm') {
        const unknown = data.unknown !== undefined ? ` (capped: ${JSON.stringify(data.vocab[data.unknown])} stands for every rarer character)` : '';
        lines.push(`  vocabulary: ${data.vocab.length} characters ${JSON.stringify(data.vocab.join(''))}${unknown}`);
      } else {
        if (data.symbols) lines.push(`  symbols: ${data.symbols.join(' ')}`);
        if (data.classes) lines.push(`  classes: ${data.classes.join(', ')}`);
      }
      if (data.generator) lines.push(`  generated: seed ${data.generator.seed}, size ${data.generator.size}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  });
}
