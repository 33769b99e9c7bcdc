/**
 * The long-sequence workloads of issue 15: minGRU and minLSTM (Feng et al. 2024) against GRU and LSTM
 * at equal sizes (B = 16, I = H = 128) and T = 512 and 4096, forward and training step. rnnkit-native
 * and PyTorch only (bench/torch_long.py: the paper's log-space parallel scan for the min cells); every
 * peer initialises its own weights (same shapes and FLOPs), so outputs are not compared.
 */

import { seededUniform } from './workloads.js';

export type LongCell = 'mingru' | 'minlstm' | 'gru' | 'lstm';

export interface LongWorkload {
  /** e.g. MG4096T: minGRU (MG), minLSTM (ML), GRU (GR), LSTM (LS); T steps; F forward, T training step. */
  id: string;
  title: string;
  /** Marks the family (bench/peers/*: rnnkit-native and PyTorch run it, the others skip). */
  long: true;
  kind: 'inference' | 'train';
  cell: LongCell;
  batch: number;
  seqLen: number;
  inputSize: number;
  hiddenSize: number;
  /** Training: a Dense(H → units) head at every step, MSE against [B, T, units] targets, Adam (like T1). */
  units: number;
}

/** rnnkit's layer type and the prefix of a workload id, per cell. */
export const LONG_CELLS: Record<LongCell, { type: string; prefix: string; title: string }> = {
  mingru: { type: 'MinGRU', prefix: 'MG', title: 'minGRU' },
  minlstm: { type: 'MinLSTM', prefix: 'ML', title: 'minLSTM' },
  gru: { type: 'GRU', prefix: 'GR', title: 'GRU' },
  lstm: { type: 'LSTM', prefix: 'LS', title: 'LSTM' },
};

export const LONG: readonly LongWorkload[] = [512, 4096].flatMap((seqLen) =>
  (['mingru', 'gru', 'minlstm', 'lstm'] as const).flatMap((cell) =>
    (['inference', 'train'] as const).map((kind): LongWorkload => {
      const c = LONG_CELLS[cell];
      return {
        id: `${c.prefix}${seqLen}${kind === 'train' ? 'T' : 'F'}`,
        title: `${c.title} ${kind === 'train' ? 'training step' : 'forward'}, T = ${seqLen}`,
        long: true,
        kind,
        cell,
        batch: 16,
        seqLen,
        inputSize: 128,
        hiddenSize: 128,
        units: 1,
      };
    }),
  ),
);

export interface LongData {
  workload: LongWorkload;
  /** [B, T, inputSize] in [-1, 1]. */
  x: Float32Array;
  /** Training targets [B, T, units] in [-1, 1]. */
  y?: Float32Array;
  flops: number;
}

export function isLong(data: { workload: object }): data is LongData {
  return 'long' in data.workload;
}

/**
 * Forward FLOPs of the layer (2 per multiply-add; gates, scans and element-wise work left out):
 *   minGRU   2 · B · T · 2H · I        (input projection only: gates read x_t, not h_{t−1})
 *   minLSTM  2 · B · T · 3H · I
 *   GRU      2 · B · T · 3H · (I + H)
 *   LSTM     2 · B · T · 4H · (I + H)
 * A training step counts 3 × (layer + head forward 2 · B · T · H · units), as bench/workloads.ts does.
 */
export function longForwardFlops(w: LongWorkload): number {
  const { batch: B, seqLen: T, inputSize: I, hiddenSize: H } = w;
  const perStep = { mingru: 2 * H * I, minlstm: 3 * H * I, gru: 3 * H * (I + H), lstm: 4 * H * (I + H) }[w.cell];
  return 2 * B * T * perStep;
}

export function longFlops(w: LongWorkload): number {
  const forward = longForwardFlops(w);
  return w.kind === 'train' ? 3 * (forward + 2 * w.batch * w.seqLen * w.hiddenSize * w.units) : forward;
}

/** Seeded inputs (and targets), the same on every run and peer. */
export function makeLongData(w: LongWorkload): LongData {
  const seed = 15 * w.seqLen + 7;
  const x = seededUniform(w.batch * w.seqLen * w.inputSize, seed, -1, 1);
  const y = w.kind === 'train' ? seededUniform(w.batch * w.seqLen * w.units, seed + 1, -1, 1) : undefined;
  return { workload: w, x, y, flops: longFlops(w) };
}

/** rnnkit's model spec (`{type, config}` layers; rnnkit's own seeded init). */
export function longSpec(w: LongWorkload, threads: number | undefined): Record<string, unknown> {
  const layers: Record<string, unknown>[] = [{ type: LONG_CELLS[w.cell].type, config: { input_size: w.inputSize, hidden_size: w.hiddenSize } }];
  if (w.kind === 'train') layers.push({ type: 'Dense', config: { units: w.units } });
  const spec: Record<string, unknown> = { batch_first: true, seed: 1, layers };
  if (threads !== undefined) spec.threads = threads;
  return spec;
}

/** One line for the console and the report's workload table. */
export function longShape(w: LongWorkload): string {
  const head = w.kind === 'train' ? ` + Dense(${w.hiddenSize}→${w.units}) MSE Adam` : '';
  return `B=${w.batch} T=${w.seqLen} I=${w.inputSize} H=${w.hiddenSize}: ${LONG_CELLS[w.cell].type}${head}`;
}
