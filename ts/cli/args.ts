/**
 * Command-line flags for `rnnkit`: declarative `FlagSpec` tables (one per command) from which commander
 * parses argv into typed values; the same tables read a JSON `--config` file merged under the flags and
 * write the help text. A typo is answered with the closest valid flag ("unknown flag --lr8, did you mean --lr?", by edit distance). Every mistake is a `CliError`: main.ts
 * prints its message and exits 1 without a stack trace.
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';

/** A mistake the user can fix: printed as-is, exit code 1, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export type FlagType = 'string' | 'int' | 'number' | 'boolean';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** Allowed values (strings only). */
  choices?: readonly string[];
  /** Shown in help; defaults are applied by the command, which knows the task. */
  default?: string;
  /** Numbers: the smallest allowed value, and whether it is excluded. */
  min?: number;
  exclusiveMin?: boolean;
  max?: number;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export interface Parsed {
  flags: FlagValues;
  positionals: string[];
}

/** Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate when it is plausibly a typo (within a third of the word, at least 2 edits), else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) [best, bestD] = [c, dist];
  }
  // A prefix typo like --lr8 → --lr is always worth suggesting.
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestD <= limit ? best : undefined;
}

function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `, did you mean ${prefix}${c}?`;
}

/** Converts one raw value by its spec; `source` says where it came from for the message. */
function convert(spec: FlagSpec, raw: unknown, source: string): string | number | boolean {
  const what = source;
  switch (spec.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      throw new CliError(`${what} expects true or false, got ${JSON.stringify(raw)}`);
    }
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const kind = spec.type === 'int' ? 'an integer' : 'a number';
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new CliError(`${what} expects ${kind}, got ${JSON.stringify(raw)}`);
      }
      if (spec.min !== undefined && (spec.exclusiveMin ? n <= spec.min : n < spec.min)) {
        throw new CliError(`${what} expects ${kind} ${spec.exclusiveMin ? '>' : '>='} ${spec.min}, got ${n}`);
      }
      if (spec.max !== undefined && n > spec.max) throw new CliError(`${what} expects ${kind} <= ${spec.max}, got ${n}`);
      return n;
    }
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw new CliError(`${what} expects a string, got ${JSON.stringify(raw)}`);
      const s = String(raw);
      if (spec.choices && !spec.choices.includes(s)) {
        throw new CliError(`${what} expects one of ${spec.choices.join(', ')}, got "${s}"${didYouMean(s, spec.choices)}`);
      }
      return s;
    }
  }
}

/**
 * Parses argv with commander, built from the command's `FlagSpec` table (the single source of truth, also
 * used by `readConfig` and `helpText`): `--name value`, `--name=value`, boolean `--name` / `--no-name`, and
 * at most `maxPositionals` positionals. Values are converted and range-checked by `convert`, so a flag and
 * its config-file key give the same message. commander's own errors become `CliError`s in this file's
 * wording: unknown flags get the closest valid one by `closest` (the same hints as config keys and
 * commands), a stray word names itself.
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string, maxPositionals = 0): Parsed {
  const program = commanderFor(specs, command, maxPositionals);
  try {
    program.parse(normalizedArgv(argv, specs), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw cliErrorFor(e, argv, specs, command, program);
    throw e;
  }
  const flags: FlagValues = {};
  for (const option of program.options) {
    const value = program.getOptionValue(option.attributeName()) as string | number | boolean | undefined;
    if (value !== undefined) flags[specName(option)] = value;
  }
  return { flags, positionals: program.args };
}

/** The spec name behind a commander option (commander keys values by camelCase; `--no-x` sets `x`). */
function specName(option: Option): string {
  return option.negate ? option.name().replace(/^no-/, '') : option.name();
}

/** One commander `Command` for a spec table: no help option or exit of its own, errors thrown, not printed. */
function commanderFor(specs: readonly FlagSpec[], command: string, maxPositionals: number): Command {
  const program = new Command(`rnnkit ${command}`)
    .helpOption(false) // --help is a spec like any flag; the command prints helpText
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  for (let i = 0; i < maxPositionals; i++) program.argument(`[arg${i}]`);
  const names = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    if (spec.type === 'boolean') {
      const option = new Option(`--${spec.name}`, spec.help);
      // A spec named no-x (--no-date next to --date <column>) is its own flag, not commander's negation of --x.
      option.negate = false;
      program.addOption(option);
      if (!spec.name.startsWith('no-') && !names.has(`no-${spec.name}`)) program.addOption(new Option(`--no-${spec.name}`, `not --${spec.name}`));
    } else {
      program.addOption(
        new Option(`--${spec.name} <${spec.type === 'string' ? 'value' : spec.type}>`, spec.help).argParser((raw: string) => {
          // commander takes any next word as the value; `--csv --epochs 3` is a forgotten value, as before.
          if (raw.startsWith('--') && raw.length > 2) throw new CliError(`--${spec.name} needs a value (${spec.help})`);
          return convert(spec, raw, `--${spec.name}`);
        }),
      );
    }
  }
  return program;
}

/**
 * What the hand-written parser accepted and commander does not, rewritten before commander sees it: a
 * single-dash long flag (`-epochs 3`) gets its second dash; `--flag=true` / `--flag=false` for a boolean
 * (commander reads it as an unknown option) becomes `--flag` / `--no-flag` (dropped for a `no-x` flag,
 * whose absence is false), the value checked by `convert`.
 */
function normalizedArgv(argv: readonly string[], specs: readonly FlagSpec[]): string[] {
  const isFlag = (name: string) => specs.some((s) => s.name === name || (s.type === 'boolean' && `no-${s.name}` === name));
  const out: string[] = [];
  for (const word of argv) {
    const arg = /^-[^-]/.test(word) && isFlag(word.slice(1).replace(/=.*$/s, '')) ? `-${word}` : word;
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    const spec = m ? specs.find((s) => s.name === m[1] && s.type === 'boolean') : undefined;
    if (!m || !spec) {
      out.push(arg);
      continue;
    }
    if (convert(spec, m[2], `--${spec.name}`)) out.push(`--${spec.name}`);
    else if (!spec.name.startsWith('no-')) out.push(`--no-${spec.name}`);
  }
  return out;
}

/** commander's error as a CliError naming the flag or word, with the closest valid flag for a typo. */
function cliErrorFor(e: CommanderError, argv: readonly string[], specs: readonly FlagSpec[], command: string, program: Command): CliError {
  const see = `(see rnnkit ${command} --help)`;
  if (e.code === 'commander.unknownOption') {
    // commander's message quotes the word: error: unknown option '--lr8'.
    const word = /'([^']*)'/.exec(e.message)?.[1] ?? '';
    const name = word.replace(/^--?/, '').replace(/=.*$/s, '');
    return new CliError(`unknown flag ${word.replace(/=.*$/s, '')} for rnnkit ${command}${didYouMean(`--${name}`, specs.map((s) => `--${s.name}`))} ${see}`);
  }
  if (e.code === 'commander.excessArguments') {
    const stray = program.args[program.registeredArguments.length] ?? argv.find((a) => !a.startsWith('-')) ?? '';
    return new CliError(`rnnkit ${command}: unexpected argument "${stray}" (flags start with --; see rnnkit ${command} --help)`);
  }
  if (e.code === 'commander.optionMissingArgument') {
    const name = /'--([^ ']+)/.exec(e.message)?.[1] ?? '';
    return new CliError(`--${name} needs a value (${specs.find((s) => s.name === name)?.help ?? 'see --help'})`);
  }
  return new CliError(`rnnkit ${command}: ${e.message.replace(/^error: /, '')}`);
}

/** The JSON object of a config file (a CliError if it is not one). */
function readConfigObject(path: string): Record<string, unknown> {
  const text = readUserFile(path, 'config file', 'utf8');
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new CliError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new CliError(`config file ${path} must hold a JSON object of flag values, like {"cell": "gru", "epochs": 10}`);
  }
  return obj as Record<string, unknown>;
}

/**
 * Reads a JSON config file of flag values ({"cell": "gru", "hidden": 64, "batch-size": 16}; camelCase
 * keys like "batchSize" work too). Unknown keys get the closest valid one; flags given on the command
 * line win over the file. A `"layers"` list (not a count) is the model's layers, read by `configLayers`.
 */
export function readConfig(path: string, specs: readonly FlagSpec[]): FlagValues {
  const obj = readConfigObject(path);
  const byName = new Map(specs.filter((s) => s.name !== 'config').map((s) => [s.name, s]));
  const out: FlagValues = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'layers' && Array.isArray(value)) continue;
    const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const spec = byName.get(name);
    if (!spec) throw new CliError(`config file ${path}: unknown key "${key}"${didYouMean(name, [...byName.keys()], '"').replace(/\?$/, '"?')}`);
    out[name] = convert(spec, value, `config key "${key}"`);
  }
  return out;
}

/** The config file's `"layers"` list of `{type, config}` layers, if it has one (else undefined). */
export function configLayers(path: string): unknown[] | undefined {
  const layers = readConfigObject(path).layers;
  return Array.isArray(layers) ? layers : undefined;
}

/** A readable message for a failed file read: missing, a directory, or not permitted. */
export function fileError(path: string, e: unknown, what = 'file'): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return `${what} not found: ${path}`;
  if (code === 'EISDIR') return `${what} ${path} is a directory, not a file`;
  if (code === 'EACCES') return `${what} ${path} cannot be read (permission denied)`;
  return `${what} ${path} cannot be read: ${(e as Error).message}`;
}

/** A file the user named (`what`: "CSV file", ...), as text or bytes; a failed read is a CliError. */
export function readUserFile(path: string, what: string, encoding: 'utf8'): string;
export function readUserFile(path: string, what: string): Uint8Array;
export function readUserFile(path: string, what: string, encoding?: 'utf8'): string | Uint8Array {
  try {
    return encoding === undefined ? readFileSync(path) : readFileSync(path, encoding);
  } catch (e) {
    throw new CliError(fileError(path, e, what));
  }
}

/** Help text: usage line plus one line per flag. */
export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const value = s.type === 'boolean' ? '' : s.choices ? ` <${s.choices.join('|')}>` : ` <${s.type === 'string' ? 'value' : s.type}>`;
    return [`  --${s.name}${value}`, s.help + (s.default !== undefined ? ` (default ${s.default})` : '')];
  });
  const w = Math.min(44, Math.max(...rows.map((r) => r[0].length)) + 2);
  return [`usage: ${usage}`, '', summary, '', ...rows.map(([a, b]) => (a.length >= w ? `${a}\n${' '.repeat(w)}${b}` : a.padEnd(w) + b))].join('\n');
}
