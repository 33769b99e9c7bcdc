/**
 * Persistence glue for `Sequential`: the format error for bad files, and Node's file I/O loaded
 * only when a path is used (browsers have none). The saved spec is the core's canonical spec; the
 * core reads it (and the older {blocks, head} one), so there is no spec parser here.
 */

import { rnnkitError, type RnnkitError } from '../errors.js';

export function formatError(message: string): RnnkitError {
  return rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: ${message}`, 'bytes');
}

type NodeIO = typeof import('../persist-node.js');

/** Node's file I/O, loaded only when a path is used, through a specifier bundlers do not follow. */
export async function nodeIO(op: string): Promise<NodeIO> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (typeof proc?.versions?.node !== 'string') {
    throw rnnkitError(
      'ERR_RNNKIT_UNSUPPORTED',
      `${op}: file paths need Node; in browsers use model.toBytes() and Sequential.fromBytes(bytes)`,
    );
  }
  const specifier = '../persist-node.js';
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as NodeIO;
}
