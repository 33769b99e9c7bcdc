/**
 * The error table exists twice: crates/rnnkit-core/src/error.rs (codes and wasm statuses) and
 * ts/errors.ts (ERROR_CODES). This test reads the Rust source text and checks the two agree, so
 * adding a variant on one side only fails here. It also checks each code's JS class.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorFromStatus, isRnnkitError, rnnkitError, type RnnkitErrorCode } from '../ts/errors.js';

const ERROR_RS = fileURLToPath(new URL('../crates/rnnkit-core/src/error.rs', import.meta.url));

/** The `Error::Variant { .. } => value` arms of the fn named `fnName` in error.rs. */
function arms(source: string, fnName: string): Map<string, string> {
  const start = source.search(new RegExp(`pub fn ${fnName}\\(&self\\)`));
  expect(start, `fn ${fnName} in error.rs`).toBeGreaterThanOrEqual(0);
  // The fn body ends at the first line that closes it at 4-space indentation.
  const end = source.indexOf('\n    }\n', start);
  const body = source.slice(start, end);
  const out = new Map<string, string>();
  for (const m of body.matchAll(/Error::(\w+)\s*\{\s*\.\.\s*\}\s*=>\s*("?[\w-]+"?)/g)) {
    out.set(m[1], m[2].replace(/"/g, ''));
  }
  return out;
}

/** Variant names declared in `pub enum Error`. */
function variants(source: string): string[] {
  const start = source.indexOf('pub enum Error {');
  const end = source.indexOf('\n}\n', start);
  return [...source.slice(start, end).matchAll(/^\s{4}(\w+)\s*\{/gm)].map((m) => m[1]);
}

describe('ts/errors.ts mirrors crates/rnnkit-core/src/error.rs', () => {
  const source = readFileSync(ERROR_RS, 'utf8');
  const codes = arms(source, 'code');
  const statuses = arms(source, 'status');
  const declared = variants(source);

  it('parses every variant of the Rust enum', () => {
    expect(declared.length).toBeGreaterThanOrEqual(7);
    expect([...codes.keys()].sort()).toEqual([...declared].sort());
    expect([...statuses.keys()].sort()).toEqual([...declared].sort());
  });

  it('has the same codes with the same statuses', () => {
    const rust = Object.fromEntries(declared.map((v) => [codes.get(v) as string, Number(statuses.get(v))]));
    expect(rust).toEqual({ ...ERROR_CODES });
  });

  it('statuses are unique and non-zero (0 is success)', () => {
    const values = Object.values(ERROR_CODES);
    expect(new Set(values).size).toBe(values.length);
    expect(values).not.toContain(0);
  });
});

describe('error classes', () => {
  const expectedClass: Record<RnnkitErrorCode, ErrorConstructor> = {
    ERR_RNNKIT_TYPE: TypeError,
    ERR_RNNKIT_SHAPE: RangeError,
    ERR_RNNKIT_VALUE: RangeError,
    ERR_RNNKIT_DISPOSED: Error,
    ERR_RNNKIT_UNSUPPORTED: Error,
    ERR_RNNKIT_FORMAT: Error,
    ERR_RNNKIT_INTERNAL: Error,
  };

  it.each(Object.keys(ERROR_CODES) as RnnkitErrorCode[])('%s has its JS class, code and arg', (code) => {
    const e = rnnkitError(code, 'msg', 'x');
    expect(e).toBeInstanceOf(expectedClass[code]);
    if (expectedClass[code] === Error) {
      expect(e).not.toBeInstanceOf(TypeError);
      expect(e).not.toBeInstanceOf(RangeError);
    }
    expect(e.code).toBe(code);
    expect(e.arg).toBe('x');
    expect(isRnnkitError(e)).toBe(true);
    const fromStatus = errorFromStatus(ERROR_CODES[code], 'msg');
    expect(fromStatus.code).toBe(code);
    expect(fromStatus).toBeInstanceOf(expectedClass[code]);
  });

  it('an unknown status becomes ERR_RNNKIT_INTERNAL; plain errors are not rnnkit errors', () => {
    expect(errorFromStatus(77, 'm').code).toBe('ERR_RNNKIT_INTERNAL');
    expect(isRnnkitError(new Error('x'))).toBe(false);
    expect(isRnnkitError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });
});
