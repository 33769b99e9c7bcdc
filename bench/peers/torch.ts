/**
 * PyTorch rows: bench/torch_bench.py in a child process of Debian's /usr/bin/python3 (where
 * python3-torch lives), given the same inputs and weights as raw float32 files. It times itself with
 * the same warm-up / time-box rules; this side only summarises its samples. The child's env (only
 * its env) drops OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which this machine image sets and which pin
 * OpenBLAS to its slower Haswell kernels, and pins OPENBLAS_NUM_THREADS=1 so that torch's own
 * intra-op threads are the only parallelism (with 2 threads they would otherwise fight OpenBLAS's).
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEARNING_RATE, type WorkloadData } from '../workloads.js';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../torch_bench.py', import.meta.url));

/** undefined when `import torch` works, else the reason. */
export function torchUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not runnable: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} -c 'import torch' failed (apt-get install -y python3-torch): ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

export function torchVersion(): string {
  return spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
}

/** The BLAS library PyTorch's libblas.so.3 resolves to (Debian alternatives): OpenBLAS or reference BLAS. */
export function blasName(): string {
  const r = spawnSync('readlink', ['-f', '/usr/lib/x86_64-linux-gnu/libblas.so.3'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return path.includes('openblas') ? `OpenBLAS (${path})` : path ? `reference BLAS?! (${path})` : 'unknown';
}

export interface TorchResult {
  id: string;
  samplesMs: number[];
  output?: Float32Array;
}

export interface TorchTiming {
  warmupMs: number;
  budgetMs: number;
  minSamples: number;
}

/** Runs every workload in one child with `threads` torch threads; throws with the child's stderr on failure. */
export function runTorch(datas: WorkloadData[], threads: number, timing: TorchTiming): Map<string, TorchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-bench-torch-'));
  try {
    const write = (name: string, a: Float32Array) => writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    for (const d of datas) {
      const id = d.workload.id;
      write(`${id}.x`, d.x);
      write(`${id}.weight_ih`, d.weights.weightIh);
      write(`${id}.weight_hh`, d.weights.weightHh);
      write(`${id}.bias_ih`, d.weights.biasIh);
      write(`${id}.bias_hh`, d.weights.biasHh);
      if (d.y) write(`${id}.y`, d.y);
      if (d.weights.headWeight) write(`${id}.head_weight`, d.weights.headWeight);
      if (d.weights.headBias) write(`${id}.head_bias`, d.weights.headBias);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const input = JSON.stringify({
      threads,
      dir,
      lr: LEARNING_RATE,
      warmup_ms: timing.warmupMs,
      budget_ms: timing.budgetMs,
      min_samples: timing.minSamples,
      workloads: datas.map((d) => d.workload),
    });
    const r = spawnSync(PYTHON, [SCRIPT], { input, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`torch_bench.py exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const results = new Map<string, TorchResult>();
    for (const line of r.stdout.split('\n')) {
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { id?: string; samples_ms?: number[]; output?: string; done?: boolean };
      if (!msg.id || !msg.samples_ms) continue;
      const output = msg.output ? new Float32Array(new Uint8Array(readFileSync(msg.output)).buffer) : undefined;
      results.set(msg.id, { id: msg.id, samplesMs: msg.samples_ms, output });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
