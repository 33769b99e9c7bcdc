#!/usr/bin/env node
/**
 * `rnnkit`: the command-line tool (package.json `bin`). Dispatches to train / predict / generate / eval /
 * backtest / info. A mistake the user can fix (missing file, bad CSV cell, unknown flag, not an rnnkit model, ...)
 * prints one `rnnkit: error: ...` line and exits 1 with no stack trace; RNNKIT_DEBUG=1 shows stacks.
 */

import { closest, CliError } from './args.js';
import { backtestCommand } from './commands/backtest.js';
import { evalCommand } from './commands/eval.js';
import { generateCommand } from './commands/generate.js';
import { infoCommand } from './commands/info.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import { RNNKIT_VERSION } from '../persist.js';
import { isRnnkitError } from '../index.js';

const COMMANDS: Record<string, [(argv: string[]) => Promise<number>, string]> = {
  train: [trainCommand, 'train a model (default: the seasonal forecaster) and write an HTML report'],
  predict: [predictCommand, 'forecast the next N values of a series'],
  generate: [generateCommand, 'sample text from a character model'],
  eval: [evalCommand, 'score a saved model on data (forecasters: held-out rows only, next to baselines)'],
  backtest: [backtestCommand, 'rolling-origin backtest of a forecaster vs persistence and seasonal naive'],
  info: [infoCommand, 'describe a saved model'],
};

const USAGE = [
  `rnnkit ${RNNKIT_VERSION} — recurrent neural networks (RNN, LSTM, GRU) from the command line`,
  '',
  'usage: rnnkit <command> [options]      (rnnkit <command> --help for its options)',
  '',
  ...Object.entries(COMMANDS).map(([name, [, help]]) => `  ${name.padEnd(10)}${help}`),
  '',
  'examples:',
  '  rnnkit train                                   # the seasonal forecaster, in seconds',
  '  rnnkit train --csv sales.csv --target units --horizon 7 --cell gru --epochs 30',
  '  rnnkit train --text book.txt --hidden 128 --out char.safetensors',
  '  rnnkit predict --model rnnkit-model.safetensors --csv sales.csv --steps 14',
  '  rnnkit backtest --model rnnkit-model.safetensors --csv sales.csv --origins 20 --steps 14',
  '  rnnkit generate --model char.safetensors --prompt "Once upon" --length 300 --temperature 0.7',
  '  rnnkit info rnnkit-model.safetensors',
].join('\n');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(RNNKIT_VERSION + '\n');
    return 0;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    const hint = closest(command, Object.keys(COMMANDS));
    throw new CliError(`unknown command "${command}"${hint ? `, did you mean ${hint}?` : ''} (commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  return entry[0](rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const debug = Boolean(process.env.RNNKIT_DEBUG);
    if (e instanceof CliError || isRnnkitError(e)) {
      // rnnkit errors name the argument, expected and actual value: actionable as they are.
      process.stderr.write(`rnnkit: error: ${(e as Error).message}\n`);
      if (debug) process.stderr.write(`${(e as Error).stack}\n`);
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`rnnkit: internal error: ${msg}\n${debug ? `${(e as Error).stack}\n` : '(set RNNKIT_DEBUG=1 for the stack trace)\n'}`);
    }
    process.exitCode = 1;
  },
);
