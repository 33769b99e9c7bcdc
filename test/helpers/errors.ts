/**
 * Catching what a call throws or a Promise rejects with, so a test can assert on the rnnkit error's
 * class, `code`, `arg` and message. Each helper fails the test when nothing was thrown.
 */
import { expect } from 'vitest';

import { isRnnkitError, type RnnkitErrorCode } from '../../ts/errors.js';

/** An error as rnnkit throws it (`code`, `arg`), plus whatever else a test reads off it. */
export type Caught = Error & { code?: string; arg?: string; cause?: unknown };

/** What `fn` throws synchronously. */
export function thrown(fn: () => unknown): Caught {
  try {
    fn();
  } catch (e) {
    return e as Caught;
  }
  throw new Error('expected an error, none was thrown');
}

/** What `fn` throws or its returned Promise rejects with. */
export async function caught<T extends object = object>(fn: () => unknown): Promise<Caught & T> {
  try {
    await fn();
  } catch (e) {
    return e as Caught & T;
  }
  throw new Error('expected an error, none was thrown');
}

/** What `p` rejects with. */
export async function rejected(p: Promise<unknown>): Promise<Caught> {
  try {
    await p;
  } catch (e) {
    return e as Caught;
  }
  throw new Error('expected a rejection, the promise resolved');
}

/** `fn` throws or rejects with `code` (and `arg`, when given); the message explains a mismatch. */
export async function expectCode(fn: () => unknown, code: string, arg?: string): Promise<void> {
  const e = await caught(fn);
  expect(e.code, e.message).toBe(code);
  if (arg !== undefined) expect(e.arg, e.message).toBe(arg);
}

/** `f` throws an rnnkit error of class `cls` with `code` (and `arg`, when given). */
export function expectThrows(f: () => unknown, cls: ErrorConstructor, code: RnnkitErrorCode, arg?: string): Error {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a throw').toBeInstanceOf(cls);
  expect(isRnnkitError(error)).toBe(true);
  const err = error as Error & { code: string; arg?: string };
  expect(err.code).toBe(code);
  if (arg !== undefined) expect(err.arg).toBe(arg);
  return err;
}

/** `p` rejects with an Error carrying `code`. */
export async function expectRejects(p: Promise<unknown>, code: RnnkitErrorCode): Promise<Error & { code: string }> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe(code);
  return error as Error & { code: string };
}
