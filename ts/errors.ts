/**
 * rnnkit's errors. One table, mirrored from crates/rnnkit-core/src/error.rs (a test compares them).
 * Type problems are TypeErrors, shape and value problems RangeErrors, the rest plain Errors; all
 * carry a stable `code` and, where there is one, the `arg` they are about. Assert on `code`.
 */

export const ERROR_CODES = {
  ERR_RNNKIT_TYPE: 1,
  ERR_RNNKIT_SHAPE: 2,
  ERR_RNNKIT_VALUE: 3,
  ERR_RNNKIT_DISPOSED: 4,
  ERR_RNNKIT_UNSUPPORTED: 5,
  ERR_RNNKIT_FORMAT: 6,
  ERR_RNNKIT_INTERNAL: 100,
} as const;

export type RnnkitErrorCode = keyof typeof ERROR_CODES;

export interface RnnkitError extends Error {
  readonly code: RnnkitErrorCode;
  /** The argument the error is about, e.g. 'x' or 'spec.blocks[0].hidden_size'. */
  readonly arg?: string;
}

const CODE_BY_STATUS = new Map<number, RnnkitErrorCode>(
  Object.entries(ERROR_CODES).map(([code, status]) => [status, code as RnnkitErrorCode]),
);

/** Builds the error of the right JS class for `code`. */
export function rnnkitError(code: RnnkitErrorCode, message: string, arg?: string, cause?: unknown): RnnkitError {
  const options = cause === undefined ? undefined : { cause };
  const err =
    code === 'ERR_RNNKIT_TYPE'
      ? new TypeError(message, options)
      : code === 'ERR_RNNKIT_SHAPE' || code === 'ERR_RNNKIT_VALUE'
        ? new RangeError(message, options)
        : new Error(message, options);
  Object.defineProperty(err, 'code', { value: code, enumerable: true });
  if (arg !== undefined) Object.defineProperty(err, 'arg', { value: arg, enumerable: true });
  return err as RnnkitError;
}

/** For the wasm backend: a status number from an export (non-zero) to its error. */
export function errorFromStatus(status: number, message: string, arg?: string): RnnkitError {
  return rnnkitError(CODE_BY_STATUS.get(status) ?? 'ERR_RNNKIT_INTERNAL', message, arg);
}

export function isRnnkitError(e: unknown): e is RnnkitError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && (e as unknown as { code: string }).code in ERROR_CODES;
}

/** Shape/size/type checks in the facade use these so messages read the same as the core's. */
export function shapeError(arg: string, expected: string, actual: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_SHAPE', `${arg}: expected ${expected}, got ${actual}`, arg);
}

export function typeError(arg: string, expected: string, actual: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_TYPE', `${arg}: expected ${expected}, got ${actual}`, arg);
}

export function valueError(arg: string, reason: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_VALUE', `${arg}: ${reason}`, arg);
}

/** Describes a JS value for "got ..." in messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value === 'string' ? `"${value}"` : `${typeof value} ${String(value)}`;
}
