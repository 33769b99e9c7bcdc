/**
 * The public types of `Sequential` (./model.ts re-exports them): compile and fit options, the
 * logs and history fit reports, trace panels and the core's model spec.
 */

import type { BlockSpec, HeadSpec } from '../layers.js';
import type { Dataset, SequenceInput } from '../dataset.js';
import type { DType, Lengths, Tensor, Tensor2D } from '../tensor.js';

export type Loss = 'mse' | 'bce_with_logits' | 'cross_entropy';
export type OptimizerType = 'sgd' | 'adam' | 'adamw' | 'rmsprop';

export interface OptimizerConfig {
  type: OptimizerType;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  alpha?: number;
}

export interface CompileOptions {
  loss: Loss;
  /** Default 'adam' (lr 1e-3). A string is the optimizer with its PyTorch defaults. */
  optimizer?: OptimizerType | OptimizerConfig;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
  /** Clip every gradient element to [-clipValue, clipValue]. */
  clipValue?: number;
}

export interface EpochLogs {
  loss: number;
  /** Mean global gradient L2 norm over the epoch's updates, before clipping. */
  gradNorm: number;
  valLoss?: number;
}

/** Progress inside an epoch, after each chunk of mini-batches (`callbacks.onBatchEnd`). */
export interface BatchLogs {
  /** The epoch (0-based, like onEpochEnd's). */
  epoch: number;
  /** Mean batch loss over the epoch's mini-batches so far. */
  loss: number;
  /** Mean global gradient L2 norm before clipping over the epoch's updates so far. */
  gradNorm: number;
  /** Mini-batches of this epoch trained so far. */
  batches: number;
  /** Mini-batches in the epoch. */
  epochBatches: number;
  /** Sequences of this epoch trained so far. */
  samples: number;
}

export interface FitCallbacks {
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  /**
   * After each chunk of mini-batches (several per epoch when an epoch takes more than ~150 ms);
   * `batch` is the 0-based index in the epoch of the chunk's last mini-batch.
   */
  onBatchEnd?(batch: number, logs: BatchLogs): void | Promise<void>;
}

export interface FitOptions extends Partial<CompileOptions> {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Default true. */
  shuffle?: boolean;
  /** Seeds shuffling and dropout (epoch k uses a seed derived from this and k). Default: the model's seed. */
  seed?: number;
  /** Scored after every epoch (`History.valLoss`): a `dataset()` or [x, y]. */
  validationData?: Dataset | readonly [SequenceInput, Tensor<DType>];
  /** Per-step loss weights [batch, seqLen]; sequence outputs only. With `fit(x, y)`; a dataset carries its own. */
  mask?: Tensor2D;
  /** Valid steps per sequence, each in 1..seqLen. With `fit(x, y)`; a dataset carries its own. */
  lengths?: Lengths;
  /** Truncated BPTT chunk length in steps; 0 or absent = whole sequences. */
  tbptt?: number;
  callbacks?: FitCallbacks;
  /**
   * Checked between chunks of mini-batches (~150 ms apart); an abort stops after the running chunk
   * and rejects fit() with an AbortError carrying `.history` of the completed epochs (the model
   * keeps every update made, and stays usable).
   */
  signal?: AbortSignal;
}

export interface History {
  loss: number[];
  /** Per epoch: mean global gradient L2 norm before clipping (vanishing/exploding gradients show here). */
  gradNorm: number[];
  valLoss?: number[];
}

/** One heatmap of `Sequential.trace`: `values` is [T, units], step-major. */
export interface TracePanel {
  /** e.g. "layer 0 hidden state h", "layer 0 gate f (forget)", "block 1 layer 0 reverse gate z (update)". */
  name: string;
  kind: 'hidden' | 'cell' | 'gate' | 'output' | 'attention';
  units: number;
  /** What produced the values: 'sigmoid' (0..1), 'tanh' (−1..1), 'relu' (≥ 0), 'none' (a cell state, unbounded). */
  activation: 'sigmoid' | 'tanh' | 'relu' | 'none';
  block: number;
  layer: number;
  /** 0 forward, 1 reverse. */
  direction: number;
  values: Float32Array;
}

export interface SequentialOptions {
  /** Seeds weight initialisation (and the default training seed). Default 0. */
  seed?: number;
  /**
   * Threads for this model's native computations: 0 or absent = every available core; at most 256.
   * Results are bit-identical whatever the value. The wasm backend always runs one thread.
   */
  threads?: number;
}

/** The core's model spec (crates/rnnkit-core/src/spec.rs), every default filled in. */
export interface ModelSpec {
  batch_first: boolean;
  seed: number;
  blocks: BlockSpec[];
  head: HeadSpec | null;
  /** Threads (0 = all available cores). Sent to the backend, not part of `Sequential.spec`. */
  threads?: number;
}
