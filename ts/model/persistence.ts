/**
 * Persistence glue for `Sequential`: a stored core spec back to layers (`fromBytes`), the format
 * error for bad files, and Node's file I/O loaded only when a path is used (browsers have none).
 */

import { rnnkitError, type RnnkitError } from '../errors.js';
import { Dense, GRU, LSTM, RNN, type Layer } from '../layers.js';
import { isPlainObject } from '../validate.js';
import type { ModelSpec, SequentialOptions } from './types.js';

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

/** Parses a stored core spec into constructor arguments; problems are ERR_RNNKIT_FORMAT. */
export function layersFromSpec(specText: string): [Layer[], SequentialOptions] {
  let spec: ModelSpec;
  try {
    spec = JSON.parse(specText) as ModelSpec;
  } catch (e) {
    throw rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: __metadata__.spec is not valid JSON: ${(e as Error).message}`, 'bytes', e);
  }
  const where = '__metadata__.spec';
  if (!isPlainObject(spec) || !Array.isArray(spec.blocks) || spec.blocks.length === 0) {
    throw formatError(`${where} is not a model spec with a non-empty "blocks" array`);
  }
  try {
    const layers: Layer[] = spec.blocks.map((b, k) => {
      if (!isPlainObject(b)) throw formatError(`${where}.blocks[${k}] is not an object`);
      const common = {
        inputSize: b.input_size,
        hiddenSize: b.hidden_size,
        numLayers: b.num_layers,
        bidirectional: b.bidirectional,
        bias: b.bias,
        dropout: b.dropout,
        weightInit: b.weight_init,
        recurrentInit: b.recurrent_init,
      } as ConstructorParameters<typeof LSTM>[0];
      switch (b.cell) {
        case 'lstm':
          return new LSTM(common);
        case 'gru':
          return new GRU(common);
        case 'rnn_tanh':
        case 'rnn_relu':
        case 'rnn_sigmoid':
          return new RNN({ ...common, nonlinearity: b.cell.slice(4) as 'tanh' | 'relu' | 'sigmoid' });
        default:
          throw formatError(`${where}.blocks[${k}].cell ${JSON.stringify((b as { cell?: unknown }).cell)} is not a known cell`);
      }
    });
    if (spec.head !== null && spec.head !== undefined) {
      const h = spec.head;
      if (!isPlainObject(h)) throw formatError(`${where}.head is not an object`);
      layers.push(new Dense({ units: h.units, activation: h.activation, bias: h.bias, returnSequences: h.return_sequences } as ConstructorParameters<typeof Dense>[0]));
    }
    return [layers, { seed: typeof spec.seed === 'number' ? spec.seed : 0 }];
  } catch (e) {
    if ((e as RnnkitError).code === 'ERR_RNNKIT_FORMAT') throw e;
    throw rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: ${where} describes an invalid model: ${(e as Error).message}`, 'bytes', e);
  }
}
