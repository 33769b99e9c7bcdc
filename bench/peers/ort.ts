/**
 * ONNX Runtime rows (onnxruntime-node, CPU execution provider), inference only: one-node models from
 * bench/onnx/build.ts, `intraOpNumThreads` = 1 or 2, sequential execution, full graph optimisation.
 * The input is handed over time-major (ONNX's native layout), converted outside the timed call.
 */

import { buildOnnxModel } from '../onnx/build.js';
import { isLong } from '../long.js';
import { isStack } from '../stacks.js';
import { toTimeMajor } from '../workloads.js';
import type { BenchData, Peer, Prepare } from './types.js';

type Ort = typeof import('onnxruntime-node');

let ortModule: Promise<Ort> | undefined;

/** [T, 1, B, H] → [B, T, H]. */
function batchFirst(y: Float32Array, seqLen: number, batch: number, hidden: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let t = 0; t < seqLen; t++) {
    for (let b = 0; b < batch; b++) {
      out.set(y.subarray((t * batch + b) * hidden, (t * batch + b + 1) * hidden), (b * seqLen + t) * hidden);
    }
  }
  return out;
}

export async function ortPeer(threads: number): Promise<Peer> {
  let unavailable: string | undefined;
  try {
    ortModule ??= import('onnxruntime-node') as Promise<Ort>;
    await ortModule;
  } catch (e) {
    unavailable = `onnxruntime-node did not load (install it with ONNXRUNTIME_NODE_INSTALL=skip): ${(e as Error).message}`;
  }
  return {
    name: `onnxruntime ×${threads}`,
    threads,
    unavailable,
    async prepare(data: BenchData): Promise<Prepare> {
      if (isLong(data)) return { skip: 'no minGRU/minLSTM in ONNX; the long-sequence rows compare rnnkit with PyTorch' };
      if (isStack(data) || data.workload.kind !== 'inference') return { skip: 'inference only (onnxruntime-node has no training API)' };
      const w = data.workload;
      const ort = await ortModule!;
      const session = await ort.InferenceSession.create(buildOnnxModel(data), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      const x = new ort.Tensor('float32', toTimeMajor(data.x, w.batch, w.seqLen, w.inputSize), [w.seqLen, w.batch, w.inputSize]);
      const run = () => session.run({ X: x });
      return {
        call: run,
        output: async () => {
          const r = await run();
          return batchFirst(r.Y.data as Float32Array, w.seqLen, w.batch, w.hiddenSize);
        },
        dispose: () => session.release(),
      };
    },
  };
}
