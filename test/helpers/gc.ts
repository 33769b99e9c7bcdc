/**
 * `gc()` for tests that check what happens when a model is garbage-collected without dispose():
 * the one vitest was started with (--expose-gc), else one exposed at run time (V8 allows that).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
