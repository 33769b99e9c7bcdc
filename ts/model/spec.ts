/**
 * Sizes derived from the core's model spec: block output widths and parameter counts (for
 * `numParameters` and `summary`), and specs with every default filled in.
 */

import type { ParamInfo } from '../backend/types.js';
import type { BlockSpec, HeadSpec } from '../layers.js';
import type { ModelSpec } from './types.js';

export function size(p: ParamInfo): number {
  return p.shape.reduce((a, b) => a * b, 1);
}

export function outputSize(b: BlockSpec): number {
  return (b.bidirectional ? 2 : 1) * b.hidden_size;
}

export function gates(cell: BlockSpec['cell']): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

export function blockParams(b: BlockSpec): number {
  const g = gates(b.cell) * b.hidden_size;
  let total = 0;
  for (let l = 0; l < b.num_layers; l++) {
    const input = l === 0 ? b.input_size : outputSize(b);
    total += (b.bidirectional ? 2 : 1) * (g * input + g * b.hidden_size + (b.bias ? 2 * g : 0));
  }
  return total;
}

export function headParams(spec: ModelSpec): number {
  const h = spec.head;
  if (!h) return 0;
  return h.units * outputSize(spec.blocks[spec.blocks.length - 1]) + (h.bias ? h.units : 0);
}

export function normaliseBlock(b: Partial<BlockSpec>, inputSize: number): BlockSpec {
  return {
    cell: b.cell!,
    input_size: inputSize,
    hidden_size: b.hidden_size!,
    num_layers: b.num_layers ?? 1,
    bidirectional: b.bidirectional ?? false,
    bias: b.bias ?? true,
    dropout: b.dropout ?? 0,
    weight_init: b.weight_init ?? 'uniform',
    recurrent_init: b.recurrent_init ?? 'uniform',
  };
}

export function normaliseHead(h: Partial<HeadSpec>): HeadSpec {
  return {
    units: h.units!,
    activation: h.activation ?? 'identity',
    bias: h.bias ?? true,
    return_sequences: h.return_sequences ?? true,
  };
}

