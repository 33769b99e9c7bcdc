/**
 * `Sequential.summary()`: a table of the layers as the core built them — type and canonical config,
 * output shape and parameter count, all from `ModelHandle.layers()` (nothing recomputed here).
 */

import type { LayerInfo, LayerShape } from '../backend/types.js';

/** `[batch, seq, F]`, `[batch, F]` or `[batch, seq]` (token ids). */
export function shapeText(s: LayerShape): string {
  if (s.kind === 'ids') return '[batch, seq] ids';
  return s.kind === 'sequence' ? `[batch, seq, ${s.features}]` : `[batch, ${s.features}]`;
}

/** `LSTM(hidden_size 8, bidirectional)`: the config keys that say most; booleans by name when true. */
function configText(info: LayerInfo): string {
  const parts = Object.entries(info.config)
    .filter(([, v]) => v !== null && v !== false)
    .map(([k, v]) => (v === true ? k : `${k} ${typeof v === 'string' ? v : String(v)}`));
  return parts.length ? `${info.type}(${parts.join(', ')})` : info.type;
}

export function summaryTable(layers: readonly LayerInfo[], seed: number): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const rows: string[][] = [['#', 'Layer', 'Output shape', 'Params']];
  layers.forEach((l, k) => rows.push([String(k), configText(l), shapeText(l.output), fmt(l.params)]));
  const total = layers.reduce((n, l) => n + l.params, 0);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  const rule = '─'.repeat(line(rows[0]).length);
  return [
    `Sequential (batch-first, seed ${seed}, input ${shapeText(layers[0].input)})`,
    rule,
    line(rows[0]),
    rule,
    ...rows.slice(1).map(line),
    rule,
    `Total params: ${fmt(total)}`,
  ].join('\n');
}
