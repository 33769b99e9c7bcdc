/**
 * How a layer's typed camelCase options map onto the core's snake_case config keys, and the checks
 * both directions share: the constructor (`options.hiddenSize`) and `fromConfig` (`config.hidden_size`)
 * read through one table per layer kind, so a key is spelled once and an unknown or misspelt key is
 * an error naming it in either spelling. Values are checked for their type here (fail fast, with the
 * option's name); sizes, shapes and defaults are the core's (crates/rnnkit-core/src/layers/*.rs).
 */

import { describe, typeError, valueError } from '../errors.js';
import { choice, finite, integer, isPlainObject, optBool, positiveInt } from '../validate.js';

/** One option: its core key and the check of its value (returns it, narrowed). */
export interface Field {
  /** The core's snake_case config key. */
  key: string;
  /** The layer cannot be built without it (the core has no default). */
  required?: boolean;
  check(arg: string, v: unknown): unknown;
}

/** camelCase option name → field. */
export type Fields = Readonly<Record<string, Field>>;

/** A positive integer (sizes, units, kernel sizes). */
export const size = (key: string, required = false): Field => ({ key, required, check: (arg, v) => positiveInt(arg, v, true) });
export const bool = (key: string): Field => ({ key, check: (arg, v) => optBool(arg, v, false) });
export const oneOf = (key: string, options: readonly string[]): Field => ({ key, check: (arg, v) => choice(arg, v, options, options[0]) });
/** An integer in min..=max. */
export const int = (key: string, min: number, max: number): Field => ({ key, check: (arg, v) => integer(arg, v, min, max) });
/** A finite number in [lo, hi) (or [lo, hi] when `hiClosed`), or > 0 when `lo` is 'positive'. */
export const num = (key: string, lo: number | 'positive', hi = Infinity, hiClosed = false): Field => ({
  key,
  check: (arg, v) => {
    const n = finite(arg, v);
    const ok = lo === 'positive' ? n > 0 : n >= lo && (hiClosed ? n <= hi : n < hi);
    if (!ok) {
      const range = lo === 'positive' ? '> 0' : `in [${lo}, ${hi}${hiClosed ? ']' : ')'}`;
      throw valueError(arg, `expected a number ${range}, got ${n}`);
    }
    return n;
  },
});

/**
 * Checks a layer's options object: every key is a field or one of `extra` (standalone options that
 * are not part of the config), and every given field value passes its check. Returns the core config
 * of the given fields (absent and undefined ones are left to the core's defaults).
 */
export function configFromOptions(type: string, options: unknown, fields: Fields, extra: readonly string[] = []): Record<string, unknown> {
  if (!isPlainObject(options)) throw typeError('options', `an options object for ${type}`, describe(options));
  const o = options as Record<string, unknown>;
  const allowed = [...Object.keys(fields), ...extra];
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k) && o[k] !== undefined) {
      throw valueError(`options.${k}`, `unknown ${type} option; expected one of ${allowed.join(', ') || '(none)'}`);
    }
  }
  const config: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(fields)) {
    if (o[name] !== undefined) config[f.key] = f.check(`options.${name}`, o[name]);
    else if (f.required) throw valueError(`options.${name}`, `is required by ${type}`);
  }
  return config;
}

/**
 * The options a core config stands for (`fromConfig`): keys must be the core's; null means absent
 * (the core writes `padding_idx: null`). Errors name `<arg>.<key>`.
 */
export function optionsFromConfig(type: string, config: unknown, fields: Fields, arg = 'config'): Record<string, unknown> {
  if (config === undefined) return {};
  if (!isPlainObject(config)) throw typeError(arg, `a ${type} config object`, describe(config));
  const byKey = new Map(Object.entries(fields).map(([name, f]) => [f.key, name]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    const name = byKey.get(k);
    if (name === undefined) {
      throw valueError(`${arg}.${k}`, `unknown ${type} config key; expected one of ${[...byKey.keys()].join(', ') || '(none)'}`);
    }
    if (v === null || v === undefined) continue;
    out[name] = fields[name].check(`${arg}.${k}`, v);
  }
  for (const [name, f] of Object.entries(fields)) {
    if (f.required && out[name] === undefined) throw valueError(`${arg}.${f.key}`, `is required by ${type}`);
  }
  return out;
}
