/**
 * The contract every benchmark peer implements: prepare a workload once (build the model, load the
 * shared weights, convert inputs to the peer's best layout), then expose one call to time. Preparation
 * is never timed; `call` is.
 */

import type { LongData } from '../long.js';
import type { Budget } from '../sample.js';
import type { StackData } from '../stacks.js';
import type { WorkloadData } from '../workloads.js';

/** What a peer prepares: a single-layer workload (bench/workloads.ts), a layer stack (bench/stacks.ts) or a long-sequence workload (bench/long.ts). */
export type BenchData = WorkloadData | StackData | LongData;

export interface Prepared {
  /** One workload call: an inference forward pass, or one full training step. */
  call(): unknown;
  /** Inference: the output sequence [B, T, H] (batch-first) from one call, to check peers agree. */
  output?(): Promise<Float32Array> | Float32Array;
  dispose(): void | Promise<void>;
  /**
   * Makes this peer's global state current before each of its timing slices and its output: the
   * driver interleaves peers, and tfjs's two peers share one global backend (tensors made under one
   * backend and run under the other are copied across on every op: F1 took 9 s instead of 0.14).
   */
  activate?(): void | Promise<void>;
  /** What this row computes differently from the others (e.g. an op written by hand); overrides `Peer.note`. */
  note?: string;
  /** The untimed probe call's time when prepare() already made one (else run.ts probes `call`). */
  probeMs?: number;
  /**
   * Times the call itself with bench/sample.ts's rules (same budget and options as `sample`), for a
   * peer whose call runs elsewhere (PyTorch's child process); run.ts uses it instead of `sample(call, …)`.
   */
  time?(budget: Budget, opts: { probeMs?: number; warmup?: boolean }): Promise<number[]>;
}

export type Prepare = Prepared | { skip: string };

export interface Peer {
  /** Row label, e.g. "rnnkit-native ×1". */
  name: string;
  /** Threads the peer computes with: 1 → compared with the 1-core peak, else with the all-cores one. */
  threads: number;
  /** Why this peer cannot run at all on this machine (checked once), or undefined. */
  unavailable?: string;
  prepare(data: BenchData): Promise<Prepare>;
  /** Free shared resources after all workloads. */
  close?(): void | Promise<void>;
  /** Rough comparison only (different algorithm or API semantics); the report says why. */
  note?: string;
}
