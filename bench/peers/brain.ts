/**
 * brain.js rows — a ROUGH comparison: brain.js (1.x) has no batched recurrent layer, so its
 * time-series API (`recurrent.LSTMTimeStep` / `GRUTimeStep` / `RNNTimeStep`, one hidden layer of H)
 * runs the B sequences one at a time; each `run` also applies its own output layer (H → I) at the
 * last step, and a training step is one `train` iteration over the B sequences with brain.js's own
 * optimiser (not Adam), learning to predict each next input vector. Its own initialisation; outputs
 * are not compared.
 */

import { createRequire } from 'node:module';
import { isLong } from '../long.js';
import { isStack } from '../stacks.js';
import type { BenchData, Peer, Prepare } from './types.js';

interface TimeStepNet {
  run(input: number[][]): unknown;
  train(data: number[][][], opts: Record<string, unknown>): unknown;
}
type TimeStepCtor = new (opts: Record<string, unknown>) => TimeStepNet;

export function brainPeer(): Peer {
  let brain: { recurrent: Record<string, TimeStepCtor> } | undefined;
  let unavailable: string | undefined;
  try {
    brain = createRequire(import.meta.url)('brain.js');
  } catch (e) {
    unavailable = `brain.js did not load: ${(e as Error).message}`;
  }
  return {
    name: 'brain.js',
    threads: 1,
    unavailable,
    note: 'rough: one sequence at a time, own output layer and optimiser (see bench/peers/brain.ts)',
    async prepare(data: BenchData): Promise<Prepare> {
      if (isLong(data)) return { skip: 'the long-sequence rows compare rnnkit with PyTorch' };
      if (isStack(data)) return { skip: 'brain.js has no convolution, embedding, bidirectional or attention layers' };
      const w = data.workload;
      const ctor = brain!.recurrent[{ lstm: 'LSTMTimeStep', gru: 'GRUTimeStep', rnn: 'RNNTimeStep' }[w.cell]];
      const net = new ctor({ inputSize: w.inputSize, hiddenLayers: [w.hiddenSize], outputSize: w.inputSize });
      // Sequences as arrays of per-step vectors, built once outside the timed region.
      const seqs: number[][][] = [];
      for (let b = 0; b < w.batch; b++) {
        const seq: number[][] = [];
        for (let t = 0; t < w.seqLen; t++) {
          const at = (b * w.seqLen + t) * w.inputSize;
          seq.push(Array.from(data.x.subarray(at, at + w.inputSize)));
        }
        seqs.push(seq);
      }
      // brain.js builds its model on the first train() call; one tiny iteration initialises it.
      net.train(seqs.slice(0, 1), { iterations: 1, log: false, errorThresh: 0 });
      if (w.kind === 'train') {
        return { call: () => net.train(seqs, { iterations: 1, log: false, errorThresh: 0 }), dispose: () => {} };
      }
      return {
        call: () => {
          for (const s of seqs) net.run(s);
        },
        dispose: () => {},
      };
    },
  };
}
