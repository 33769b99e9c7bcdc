/**
 * `Sequential.summary()`: a table of layers, output shapes and parameter counts.
 */

import type { BlockSpec } from '../layers.js';
import { blockParams, headParams, outputSize } from './spec.js';
import type { ModelSpec } from './types.js';

const CELL_LABEL: Record<BlockSpec['cell'], string> = { rnn_tanh: 'RNN', rnn_relu: 'RNN', rnn_sigmoid: 'RNN', lstm: 'LSTM', gru: 'GRU' };

/** The summary table of `spec`; `numParameters` is the backend's count. */
export function summaryTable(spec: ModelSpec, numParameters: number): string {
  const rows: [string, string, string, string][] = [['#', 'Layer', 'Output shape', 'Params']];
  const fmt = (n: number) => n.toLocaleString('en-US');
  spec.blocks.forEach((b, k) => {
    const extras = [
      b.cell.startsWith('rnn_') ? b.cell.slice(4) : '',
      b.num_layers > 1 ? `${b.num_layers} layers` : '',
      b.bidirectional ? 'bidirectional' : '',
      b.dropout > 0 ? `dropout ${b.dropout}` : '',
      b.bias ? '' : 'no bias',
    ].filter(Boolean);
    const name = `${CELL_LABEL[b.cell]}(${b.input_size} → ${b.hidden_size}${extras.length ? ', ' + extras.join(', ') : ''})`;
    rows.push([String(k), name, `[batch, seq, ${outputSize(b)}]`, fmt(blockParams(b))]);
  });
  const h = spec.head;
  if (h) {
    const inF = outputSize(spec.blocks[spec.blocks.length - 1]);
    const shape = h.return_sequences ? `[batch, seq, ${h.units}]` : `[batch, ${h.units}]`;
    const where = h.return_sequences ? 'every step' : 'last step';
    rows.push([String(spec.blocks.length), `Dense(${inF} → ${h.units}, ${h.activation}, ${where})`, shape, fmt(headParams(spec))]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  const rule = '─'.repeat(line(rows[0]).length);
  return [
    `Sequential (batch-first, seed ${spec.seed})`,
    rule,
    line(rows[0]),
    rule,
    ...rows.slice(1).map(line),
    rule,
    `Total params: ${fmt(numParameters)}`,
  ].join('\n');
}
