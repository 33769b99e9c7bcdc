/**
 * Command-line flags for `rnnkit`: a small declarative parser (no dependency) that turns argv into typed
 * values, merges a JSON `--config` file under the flags, and answers a typo with the closest valid flag
 * ("unknown flag --lr8, did you mean --lr?", by edit distance). Every mistake is a `CliError`: main.ts
 * prints its message and exits 1 without a stack trace.
 */

import { readFileSync } from 'node:fs';

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
 * Parses `--name value`, `--name=value`, boolean `--name` / `--no-name`, and positionals. Unknown flags
 * are errors with the closest valid one. `maxPositionals` bounds stray words (a forgotten `--`).
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string, maxPositionals = 0): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const names = specs.map((s) => `--${s.name}`);
  const flags: FlagValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      if (positionals.length >= maxPositionals) {
        throw new CliError(`rnnkit ${command}: unexpected argument "${arg}" (flags start with --; see rnnkit ${command} --help)`);
      }
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let inline: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean' && inline === undefined) {
      name = name.slice(3);
      spec = byName.get(name);
      inline = 'false';
    }
    if (!spec) throw new CliError(`unknown flag --${name} for rnnkit ${command}${didYouMean(`--${name}`, names)} (see rnnkit ${command} --help)`);
    let raw: string | boolean;
    if (inline !== undefined) raw = inline;
    else if (spec.type === 'boolean') raw = true;
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new CliError(`--${name} needs a value (${spec.help})`);
      raw = next;
      i++;
    }
    flags[name] = convert(spec, raw, `--${name}`);
  }
  return { flags, positionals };
}

/**
 * Reads a JSON config file of flag values ({"cell": "gru", "hidden": 64, "batch-size": 16}; camelCase
 * keys like "batchSize" work too). Unknown keys get the closest valid one; flags given on the command
 * line win over the file.
 */
export function readConfig(path: string, specs: readonly FlagSpec[]): FlagValues {
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
  const byName = new Map(specs.filter((s) => s.name !== 'config').map((s) => [s.name, s]));
  const out: FlagValues = {};
  for (const [key, value] of Object.entries(obj)) {
    const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const spec = byName.get(name);
    if (!spec) throw new CliError(`config file ${path}: unknown key "${key}"${didYouMean(name, [...byName.keys()], '"').replace(/\?$/, '"?')}`);
    out[name] = convert(spec, value, `config key "${key}"`);
  }
  return out;
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
