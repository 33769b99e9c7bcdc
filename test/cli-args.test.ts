/**
 * The CLI's flag parsing (ts/cli/args.ts: commander built from the FlagSpec tables) on the real command
 * tables: typed values, `--no-x`, `--name=value`, and every mistake as a CliError naming the flag, the
 * expected and the actual value, with the closest valid flag for a typo; the JSON `--config` file read by
 * the same tables. One end-to-end run checks the message reaches the user with exit code 1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CliError, parseArgs, readConfig } from '../ts/cli/args.js';
import { INFO_FLAGS } from '../ts/cli/commands/info.js';
import { TRAIN_FLAGS } from '../ts/cli/commands/train.js';
import { CLI_BUILT, expectUserError, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const train = (...argv: string[]) => parseArgs(argv, TRAIN_FLAGS, 'train');
/** The CliError message `run` throws (fails the test if it throws nothing or something else). */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as Error).message;
  }
  throw new Error('expected a CliError, nothing was thrown');
}

describe('parseArgs', () => {
  it('reads typed values from --name value and --name=value, positionals where allowed', () => {
    expect(train('--epochs', '3', '--lr=0.05', '--cell', 'gru', '--batch-size', '4')).toEqual({
      flags: { epochs: 3, lr: 0.05, cell: 'gru', 'batch-size': 4 },
      positionals: [],
    });
    expect(parseArgs(['m.safetensors', '--json'], INFO_FLAGS, 'info', 1)).toEqual({ flags: { json: true }, positionals: ['m.safetensors'] });
    expect(train()).toEqual({ flags: {}, positionals: [] });
    // A single dash works for a long flag too, as it did before commander.
    expect(train('-epochs', '3', '-no-bidirectional').flags).toEqual({ epochs: 3, bidirectional: false });
  });

  it('booleans: --x, --no-x (the last one wins), --x=false; --no-date is its own flag next to --date <column>', () => {
    expect(train('--bidirectional').flags).toEqual({ bidirectional: true });
    expect(train('--no-bidirectional').flags).toEqual({ bidirectional: false });
    expect(train('--bidirectional', '--no-bidirectional').flags).toEqual({ bidirectional: false });
    expect(train('--no-bidirectional', '--bidirectional').flags).toEqual({ bidirectional: true });
    expect(train('--bidirectional=false').flags).toEqual({ bidirectional: false });
    expect(train('--no-date', '--date', 'month').flags).toEqual({ 'no-date': true, date: 'month' });
    expect(errorOf(() => train('--bidirectional=maybe'))).toBe('--bidirectional expects true or false, got "maybe"');
  });

  it('an unknown flag names the command and the closest valid flag', () => {
    expect(errorOf(() => train('--epocs', '3'))).toBe('unknown flag --epocs for rnnkit train, did you mean --epochs? (see rnnkit train --help)');
    expect(errorOf(() => train('--lr8', '0.1'))).toContain('did you mean --lr?');
    expect(errorOf(() => train('-x'))).toBe('unknown flag -x for rnnkit train, did you mean --lr? (see rnnkit train --help)');
    // Nothing close: no guess.
    expect(errorOf(() => train('--zzzzzzzz'))).toBe('unknown flag --zzzzzzzz for rnnkit train (see rnnkit train --help)');
  });

  it('a bad number names the flag, the expected and the actual value', () => {
    expect(errorOf(() => train('--epochs=abc'))).toBe('--epochs expects an integer, got "abc"');
    expect(errorOf(() => train('--epochs', '-3'))).toBe('--epochs expects an integer >= 1, got -3');
    expect(errorOf(() => train('--epochs', '2.5'))).toBe('--epochs expects an integer, got "2.5"');
    expect(errorOf(() => train('--lr', '0'))).toBe('--lr expects a number > 0, got 0');
    expect(errorOf(() => train('--val-split', '0.95'))).toBe('--val-split expects a number <= 0.9, got 0.95');
  });

  it('a value outside the choices lists them and suggests the closest', () => {
    expect(errorOf(() => train('--cell', 'lsmt'))).toBe('--cell expects one of rnn, rnn-relu, lstm, gru, gru-reset-before, indrnn, indrnn-tanh, mingru, minlstm, got "lsmt", did you mean lstm?');
  });

  it('a missing value, including a flag where the value should be', () => {
    expect(errorOf(() => train('--epochs'))).toBe('--epochs needs a value (passes over the training data)');
    expect(errorOf(() => train('--csv', '--epochs', '3'))).toMatch(/^--csv needs a value \(/);
  });

  it('a positional where none (or no more) is allowed', () => {
    expect(errorOf(() => train('--epochs', '3', 'sales.csv'))).toBe('rnnkit train: unexpected argument "sales.csv" (flags start with --; see rnnkit train --help)');
    expect(errorOf(() => parseArgs(['a.safetensors', 'b.safetensors'], INFO_FLAGS, 'info', 1))).toContain('unexpected argument "b.safetensors"');
  });
});

describe('readConfig', () => {
  const config = (name: string, body: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(body));
    return join(dir, name);
  };

  it('reads flag values with kebab or camelCase keys, converted and checked like flags', () => {
    expect(readConfig(config('ok.json', { cell: 'gru', batchSize: 16, 'val-split': 0.1, bidirectional: true }), TRAIN_FLAGS)).toEqual({
      cell: 'gru',
      'batch-size': 16,
      'val-split': 0.1,
      bidirectional: true,
    });
    expect(errorOf(() => readConfig(config('bad.json', { epochs: 0 }), TRAIN_FLAGS))).toBe('config key "epochs" expects an integer >= 1, got 0');
  });

  it('an unknown key is an error with the closest valid key', () => {
    const file = config('typo.json', { epocs: 3 });
    expect(errorOf(() => readConfig(file, TRAIN_FLAGS))).toBe(`config file ${file}: unknown key "epocs", did you mean "epochs"?`);
  });
});

describe.skipIf(!CLI_BUILT)('the built CLI (run `npm run build:ts` first)', () => {
  it('reports a flag mistake and a config mistake on stderr with exit code 1', async () => {
    expectUserError(await runCli(['train', '--epochs', '-3'], dir), '--epochs expects an integer >= 1, got -3');
    writeFileSync(join(dir, 'c.json'), '{"hiden": 8}');
    expectUserError(await runCli(['train', '--config', 'c.json'], dir), 'config file c.json: unknown key "hiden", did you mean "hidden"?');
  });
});
