/**
 * The layer-stack training workloads of issue 14 (CR1 CRNN, AT1 attention text classifier): their
 * architecture, FLOP formulas, seeded inputs and class labels, and rnnkit's `{type, config}` layers
 * spec. Unlike bench/workloads.ts's single-layer rows, every peer initialises its own weights (same
 * shapes and FLOPs, not the same numbers): the point is the time of one training step.
 */

import { seededUniform } from './workloads.js';

export interface StackWorkload {
  id: 'CR1' | 'AT1';
  title: string;
  kind: 'train';
  /** What the peers build (bench/peers/*: one builder per family). */
  family: 'crnn' | 'attention-text';
  batch: number;
  seqLen: number;
  /** crnn: float features per step; attention-text: the embedding width. */
  features: number;
  /** attention-text only: token ids are drawn from [0, vocab). */
  vocab?: number;
  /** crnn only: Conv1D(features → convChannels, kernel, padding same, relu), then MaxPool1D(pool). */
  convChannels?: number;
  kernel?: number;
  pool?: number;
  /** The bidirectional recurrent layer: 'gru' (crnn) or 'lstm' (attention-text), hidden per direction. */
  cell: 'gru' | 'lstm';
  hiddenSize: number;
  /** Dense(2·hiddenSize → classes) after additive attention pooling (projection width 2·hiddenSize); cross-entropy, Adam. */
  classes: number;
}

export const STACKS: readonly StackWorkload[] = [
  {
    id: 'CR1',
    title: 'CRNN training step',
    kind: 'train',
    family: 'crnn',
    batch: 32,
    seqLen: 200,
    features: 40,
    convChannels: 64,
    kernel: 5,
    pool: 2,
    cell: 'gru',
    hiddenSize: 64,
    classes: 10,
  },
  {
    id: 'AT1',
    title: 'attention text classifier step',
    kind: 'train',
    family: 'attention-text',
    batch: 32,
    seqLen: 200,
    features: 64,
    vocab: 5000,
    cell: 'lstm',
    hiddenSize: 64,
    classes: 2,
  },
];

export interface StackData {
  workload: StackWorkload;
  /** crnn: float features [B, T, features]; attention-text: token ids [B, T]. */
  x: Float32Array | Int32Array;
  /** Class index per sequence, [B]. */
  y: Int32Array;
  flops: number;
}

export function isStack(data: { workload: { id: string } }): data is StackData {
  return 'family' in data.workload;
}

/** Steps the recurrent layer sees (after the CRNN's pooling). */
export function recurrentSteps(w: StackWorkload): number {
  return w.family === 'crnn' ? Math.floor(w.seqLen / w.pool!) : w.seqLen;
}

/**
 * Forward FLOPs (2 per multiply-add; element-wise work, pooling, the embedding gather and softmax left out):
 *   Conv1D        2 · B · T · C_out · C_in · K                        (crnn)
 *   Bi-RNN        2 directions · 2 · B · T' · G·H · (I + H)            (T' = T / pool; I = C_out or the embedding width)
 *   attention     2 · B · T' · F · F  (projection, F = 2H)  +  2 · B · T' · F (score vector v)  +  2 · B · T' · F (weighted sum)
 *   Dense         2 · B · F · classes
 * One training step counts 3 × forward, as in bench/workloads.ts.
 */
export function stackForwardFlops(w: StackWorkload): number {
  const B = w.batch;
  const T = recurrentSteps(w);
  const H = w.hiddenSize;
  const F = 2 * H;
  const G = w.cell === 'lstm' ? 4 : 3;
  const input = w.family === 'crnn' ? w.convChannels! : w.features;
  const conv = w.family === 'crnn' ? 2 * B * w.seqLen * w.convChannels! * w.features * w.kernel! : 0;
  const rnn = 2 * 2 * B * T * G * H * (input + H);
  const attention = 2 * B * T * F * F + 2 * 2 * B * T * F;
  const dense = 2 * B * F * w.classes;
  return conv + rnn + attention + dense;
}

export function stackFlops(w: StackWorkload): number {
  return 3 * stackForwardFlops(w);
}

/** One line for the console and the report's workload table. */
export function stackShape(w: StackWorkload): string {
  const rnn = `Bi${w.cell.toUpperCase()}(${w.hiddenSize}) → AttentionPooling(additive) → Dense(${2 * w.hiddenSize}→${w.classes}) CE Adam`;
  return w.family === 'crnn'
    ? `B=${w.batch} T=${w.seqLen} C=${w.features}: Conv1D(${w.features}→${w.convChannels}, k=${w.kernel}, same, relu) → MaxPool1D(${w.pool}) → ${rnn}`
    : `B=${w.batch} T=${w.seqLen} int32 ids, vocab ${w.vocab}: Embedding(${w.vocab}, ${w.features}) → ${rnn}`;
}

/** Seeded inputs (features in [-1, 1] or ids in [0, vocab)) and labels, the same on every run and peer. */
export function makeStackData(w: StackWorkload): StackData {
  const seed = [...w.id].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 11);
  const n = w.batch * w.seqLen;
  const toInts = (u: Float32Array, k: number) => Int32Array.from(u, (v) => Math.min(k - 1, Math.floor(v * k)));
  const x = w.family === 'crnn' ? seededUniform(n * w.features, seed, -1, 1) : toInts(seededUniform(n, seed, 0, 1), w.vocab!);
  const y = toInts(seededUniform(w.batch, seed + 1, 0, 1), w.classes);
  return { workload: w, x, y, flops: stackFlops(w) };
}

/** rnnkit's model spec in the `{type, config}` layers format (bench/peers/rnnkit.ts). */
export function stackSpec(w: StackWorkload, threads: number | undefined): Record<string, unknown> {
  const front =
    w.family === 'crnn'
      ? [
          { type: 'Conv1D', config: { in_channels: w.features, out_channels: w.convChannels, kernel_size: w.kernel, padding: 'same', activation: 'relu' } },
          { type: 'MaxPool1D', config: { pool_size: w.pool } },
        ]
      : [{ type: 'Embedding', config: { num_embeddings: w.vocab, embedding_dim: w.features } }];
  const spec: Record<string, unknown> = {
    batch_first: true,
    seed: 1,
    layers: [
      ...front,
      { type: w.cell.toUpperCase(), config: { hidden_size: w.hiddenSize, bidirectional: true } },
      { type: 'AttentionPooling', config: { score: 'additive', attention_size: 2 * w.hiddenSize } },
      { type: 'Dense', config: { units: w.classes } },
    ],
  };
  if (threads !== undefined) spec.threads = threads;
  return spec;
}
