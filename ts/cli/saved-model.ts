/**
 * The frame of every subcommand that works on a saved model (`eval`, `predict`, `generate`, `info`):
 * parse the flags, answer --help, insist on a model file, load the backend and then the model, run
 * the command's body, and dispose of the model however the body ends. One place, so the commands
 * cannot differ in the order of these steps or leak a model on an error path.
 */

import { CliError, parseArgs, type FlagSpec, type FlagValues } from './args.js';
import { selectBackend } from './commands/common.js';
import { loadModelFile, type LoadedModel } from './model-file.js';

export interface SavedModelCommand {
  /** The subcommand's name, as typed after `rnnkit`. */
  name: string;
  flags: readonly FlagSpec[];
  /** Printed for --help. */
  help: string;
  /** The CliError message when no model file is given. */
  missingModel: string;
  /** `info` also takes the model file as its one positional argument. */
  modelPositional?: boolean;
}

/** Runs `body` on the model file the flags name; the exit code is the body's (0 after --help). */
export async function runOnSavedModel(
  argv: readonly string[],
  command: SavedModelCommand,
  body: (loaded: LoadedModel, flags: FlagValues) => number | Promise<number>,
): Promise<number> {
  const { flags, positionals } = parseArgs(argv, command.flags, command.name, command.modelPositional ? 1 : 0);
  if (flags.help) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  const path = (flags.model as string | undefined) ?? positionals[0];
  if (path === undefined) throw new CliError(command.missingModel);
  await selectBackend(flags.backend as string | undefined);
  const loaded = loadModelFile(path);
  try {
    return await body(loaded, flags);
  } finally {
    loaded.model.dispose();
  }
}
