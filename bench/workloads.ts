/**
 * The benchmark's workloads (issue 3: F1, F2, G1, R1, T1, TG1), their FLOP formulas, and the seeded
 * inputs and weights every peer receives — so each row of the report times the same computation on
 * the same numbers. Weights are generated in PyTorch's layout (gate order i,f,g,o / r,z,n) and each
 * peer adapter converts them to its own layout.
 */

export type Cell = 'lstm' | 'gru' | 'rnn';
export type Kind = 'inference' | 'train';

export interface Workload {
  id: 'F1' | 'F2' | 'G1' | 'R1' | 'T1' | 'TG1';
  title: string;
  cell: Cell;
  kind: Kind;
  batch: number;
  seqLen: number;
  inputSize: number;
  hiddenSize: number;
  /** Training workloads: a Dense(hiddenSize → units) head at every step, MSE against [B, T, units] targets, Adam. */
  units?: number;
  /** True when the point is latency (tiny shape), not throughput. */
  latency?: boolean;
}

/** Gate blocks per cell: LSTM i,f,g,o = 4; GRU r,z,n = 3; Elman = 1. */
export const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };

/** Adam's learning rate for every training peer. */
export const LEARNING_RATE = 1e-3;

export const WORKLOADS: readonly Workload[] = [
  { id: 'F1', title: 'LSTM inference', cell: 'lstm', kind: 'inference', batch: 32, seqLen: 100, inputSize: 64, hiddenSize: 256 },
  { id: 'F2', title: 'LSTM inference (latency)', cell: 'lstm', kind: 'inference', batch: 1, seqLen: 50, inputSize: 16, hiddenSize: 64, latency: true },
  { id: 'G1', title: 'GRU inference', cell: 'gru', kind: 'inference', batch: 32, seqLen: 100, inputSize: 64, hiddenSize: 256 },
  { id: 'R1', title: 'tanh-RNN inference', cell: 'rnn', kind: 'inference', batch: 32, seqLen: 100, inputSize: 64, hiddenSize: 256 },
  { id: 'T1', title: 'LSTM training step', cell: 'lstm', kind: 'train', batch: 32, seqLen: 100, inputSize: 64, hiddenSize: 256, units: 64 },
  { id: 'TG1', title: 'GRU training step', cell: 'gru', kind: 'train', batch: 32, seqLen: 100, inputSize: 64, hiddenSize: 256, units: 64 },
];

/**
 * Forward FLOPs of the recurrent layer: every step multiplies [B, I] by W_ihᵀ and [B, H] by W_hhᵀ,
 * both with G·H output columns, at 2 FLOPs per multiply-add:
 *   forward = 2 · B · T · G·H · (I + H),   G = 4 (LSTM), 3 (GRU), 1 (RNN).
 * Element-wise gate math (O(B·T·G·H)) is left out, as is customary for GEMM-bound layers.
 */
export function recurrentForwardFlops(w: Pick<Workload, 'cell' | 'batch' | 'seqLen' | 'inputSize' | 'hiddenSize'>): number {
  return 2 * w.batch * w.seqLen * GATES[w.cell] * w.hiddenSize * (w.inputSize + w.hiddenSize);
}

/**
 * FLOPs of one workload call.
 *   inference: the recurrent forward above.
 *   training:  3 × (recurrent forward + head forward), head forward = 2 · B · T · H · units.
 * The factor 3 is the usual estimate for a training step: the backward pass costs two forwards
 * (one GEMM for the input gradients, one for the weight gradients); the Adam update and the loss are
 * O(parameters) and O(B·T·units) and are left out.
 */
export function workloadFlops(w: Workload): number {
  const forward = recurrentForwardFlops(w);
  if (w.kind === 'inference') return forward;
  const head = 2 * w.batch * w.seqLen * w.hiddenSize * (w.units ?? 0);
  return 3 * (forward + head);
}

/** Deterministic uniform numbers (mulberry32): the same inputs on every run and in every peer. */
export function seededUniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/** PyTorch-layout parameters of one unidirectional single-layer recurrent module, plus the head. */
export interface Weights {
  /** [G·H, I] */
  weightIh: Float32Array;
  /** [G·H, H] */
  weightHh: Float32Array;
  /** [G·H] */
  biasIh: Float32Array;
  /** [G·H] */
  biasHh: Float32Array;
  /** Training only: Dense weight [units, H] and bias [units]. */
  headWeight?: Float32Array;
  headBias?: Float32Array;
}

export interface WorkloadData {
  workload: Workload;
  /** [B, T, I], batch-first. */
  x: Float32Array;
  /** Training only: targets [B, T, units]. */
  y?: Float32Array;
  weights: Weights;
  flops: number;
}

/** Inputs, targets and PyTorch-default-distributed weights U(-1/√H, 1/√H), seeded per workload. */
export function makeData(w: Workload): WorkloadData {
  const seed = [...w.id].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 7);
  const gh = GATES[w.cell] * w.hiddenSize;
  const k = 1 / Math.sqrt(w.hiddenSize);
  const weights: Weights = {
    weightIh: seededUniform(gh * w.inputSize, seed + 1, -k, k),
    weightHh: seededUniform(gh * w.hiddenSize, seed + 2, -k, k),
    biasIh: seededUniform(gh, seed + 3, -k, k),
    biasHh: seededUniform(gh, seed + 4, -k, k),
  };
  let y: Float32Array | undefined;
  if (w.kind === 'train') {
    const units = w.units ?? 1;
    weights.headWeight = seededUniform(units * w.hiddenSize, seed + 5, -k, k);
    weights.headBias = seededUniform(units, seed + 6, -k, k);
    y = seededUniform(w.batch * w.seqLen * units, seed + 7, -1, 1);
  }
  const x = seededUniform(w.batch * w.seqLen * w.inputSize, seed, -1, 1);
  return { workload: w, x, y, weights, flops: workloadFlops(w) };
}

/** [B, T, F] → [T, B, F] (peers whose best layout is time-major get it outside the timed region). */
export function toTimeMajor(x: Float32Array, batch: number, seqLen: number, features: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seqLen; t++) {
      out.set(x.subarray((b * seqLen + t) * features, (b * seqLen + t + 1) * features), (t * batch + b) * features);
    }
  }
  return out;
}

/** Row-major transpose of a [rows, cols] matrix. */
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** Reorders the G gate blocks (rows of H each, `width` columns) of a PyTorch weight: out block j = in block order[j]. */
export function reorderGates(m: Float32Array, hidden: number, width: number, order: readonly number[]): Float32Array {
  const block = hidden * width;
  const out = new Float32Array(m.length);
  order.forEach((src, j) => out.set(m.subarray(src * block, (src + 1) * block), j * block));
  return out;
}
