/**
 * compile()'s options → the core's train JSON (crates/rnnkit-core TrainSpec::from_json): the loss,
 * the optimizer with its camelCase options in snake_case, and gradient clipping.
 */

import { describe, typeError, valueError } from '../errors.js';
import { finiteOption, isPlainObject, knownKeys, optBool } from '../validate.js';
import type { CompileOptions, Loss, OptimizerType } from './types.js';

export const LOSSES: readonly Loss[] = ['mse', 'bce_with_logits', 'cross_entropy'];
/** Optimizer options per type, camelCase → the core's snake_case (mirrors TrainSpec::from_json). */
export const OPTIMIZER_KEYS: Record<OptimizerType, readonly string[]> = {
  sgd: ['lr', 'momentum', 'nesterov', 'weightDecay'],
  adam: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay'],
  adamw: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay'],
  rmsprop: ['lr', 'alpha', 'eps', 'momentum', 'weightDecay'],
};
export const COMPILE_KEYS = ['loss', 'optimizer', 'clipNorm', 'clipValue'];

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function compileJson(options: CompileOptions): Record<string, unknown> {
  const { loss, optimizer = 'adam', clipNorm, clipValue } = options;
  if (typeof loss !== 'string') throw typeError('options.loss', `one of ${LOSSES.join(', ')}`, describe(loss));
  if (!LOSSES.includes(loss)) throw valueError('options.loss', `expected one of ${LOSSES.join(', ')}, got "${loss}"`);
  const opt: Record<string, unknown> = {};
  const cfg: Record<string, unknown> = typeof optimizer === 'string' ? { type: optimizer } : (optimizer as unknown as Record<string, unknown>);
  if (!isPlainObject(cfg)) throw typeError('options.optimizer', "'sgd' | 'adam' | 'adamw' | 'rmsprop' or { type, lr, ... }", describe(optimizer));
  const type = cfg.type as OptimizerType;
  if (!(typeof type === 'string' && type in OPTIMIZER_KEYS)) {
    throw valueError(typeof optimizer === 'string' ? 'options.optimizer' : 'options.optimizer.type', `expected one of ${Object.keys(OPTIMIZER_KEYS).join(', ')}, got ${describe(type)}`);
  }
  knownKeys('options.optimizer', cfg, ['type', ...OPTIMIZER_KEYS[type]]);
  opt.type = type;
  for (const key of OPTIMIZER_KEYS[type]) {
    const v = cfg[key];
    if (v === undefined) continue;
    if (key === 'nesterov') {
      opt.nesterov = optBool('options.optimizer.nesterov', v, false);
    } else {
      opt[snake(key)] = finiteOption(`options.optimizer.${key}`, v);
    }
  }
  const train: Record<string, unknown> = { loss, optimizer: opt };
  for (const [key, v] of [['clipNorm', clipNorm], ['clipValue', clipValue]] as const) {
    if (v === undefined) continue;
    if (finiteOption(`options.${key}`, v) <= 0) throw valueError(`options.${key}`, `expected a value > 0, got ${v}`);
    train[snake(key)] = v;
  }
  return train;
}
