/**
 * PyTorch rows (1 and 2 threads): bench/torch_bench.py in a persistent child of Debian's
 * /usr/bin/python3 (where python3-torch lives), one per thread count, alive for the whole run and
 * driven with line-delimited JSON (protocol at the top of torch_bench.py). `prepare` hands it the
 * workload's inputs and weights as raw float32 files and it builds the modules; run.ts then times it
 * in the same interleaved rounds as the in-process peers through `Prepared.time`, which asks the child
 * to sample with bench/sample.ts's rules (warm-up, time box, slow-call rule) — so PyTorch's rows meet
 * the same machine noise as rnnkit's. While another peer is timed the child is blocked on stdin (no
 * CPU); while the child times itself this process awaits its reply line. The outputs for the
 * max-abs-diff column come back as files.
 *
 * The child's env (only its env) drops OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which this machine image
 * sets and which pin OpenBLAS to its slower Haswell kernels, and pins OPENBLAS_NUM_THREADS=1 so that
 * torch's own intra-op threads (OMP_NUM_THREADS = torch.set_num_threads = 1 or 2) are the only
 * parallelism (with 2 threads they would otherwise fight OpenBLAS's). Children are killed by `close()`
 * and, failing that, when this process exits; one that dies is respawned at the next `prepare`.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonChild } from '../child.js';
import type { Budget } from '../sample.js';
import { isLong } from '../long.js';
import { isStack } from '../stacks.js';
import { LEARNING_RATE } from '../workloads.js';
import type { BenchData, Peer, Prepare } from './types.js';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../torch_bench.py', import.meta.url));

let importCheck: { version?: string; error?: string } | undefined;
function checkImport(): { version?: string; error?: string } {
  if (!importCheck) {
    const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.error) importCheck = { error: `${PYTHON} not runnable: ${r.error.message}` };
    else if (r.status !== 0) importCheck = { error: `${PYTHON} -c 'import torch' failed (apt-get install -y python3-torch): ${r.stderr.trim().split('\n').pop()}` };
    else importCheck = { version: r.stdout.trim() };
  }
  return importCheck;
}

/** undefined when `import torch` works, else the reason. */
export function torchUnavailable(): string | undefined {
  return checkImport().error;
}

export function torchVersion(): string {
  return checkImport().version ?? 'not available';
}

/** The BLAS library PyTorch's libblas.so.3 resolves to (Debian alternatives): OpenBLAS or reference BLAS. */
export function blasName(): string {
  const r = spawnSync('readlink', ['-f', '/usr/lib/x86_64-linux-gnu/libblas.so.3'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return path.includes('openblas') ? `OpenBLAS (${path})` : path ? `reference BLAS?! (${path})` : 'unknown';
}

/**
 * The PyTorch child's env (only its env): OpenBLAS single-threaded so torch's intra-op threads are
 * the only parallelism, and without the image's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (slower kernels).
 */
export function torchEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** PyTorch with `threads` intra-op threads, timed in its own persistent child process. */
export function torchPeer(threads: number): Peer {
  let child: JsonChild | undefined;
  const running = async (): Promise<JsonChild> => {
    if (!child || child.dead) {
      child = new JsonChild(`torch_bench.py ×${threads}`, PYTHON, [SCRIPT, String(threads)], torchEnv(threads));
      await child.ready;
    }
    return child;
  };
  return {
    name: `pytorch ×${threads}`,
    threads,
    unavailable: torchUnavailable(),
    async prepare(data: BenchData): Promise<Prepare> {
      const c = await running();
      const w = data.workload;
      const id = w.id;
      const files: string[] = [];
      const write = (name: string, a: Float32Array | Int32Array) => {
        const path = join(c.dir, `${id}.${name}`);
        writeFileSync(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        files.push(path);
      };
      write('x', data.x);
      if (data.y) write('y', data.y);
      // Layer stacks (CR1, AT1) build their own torch init; the single-layer workloads load the shared weights.
      if (!isStack(data) && !isLong(data)) {
        write('weight_ih', data.weights.weightIh);
        write('weight_hh', data.weights.weightHh);
        write('bias_ih', data.weights.biasIh);
        write('bias_hh', data.weights.biasHh);
        if (data.weights.headWeight) write('head_weight', data.weights.headWeight);
        if (data.weights.headBias) write('head_bias', data.weights.headBias);
      }
      let probeMs: number;
      try {
        probeMs = (await c.request({ cmd: 'prepare', workload: w, dir: c.dir, lr: LEARNING_RATE })).probe_ms as number;
      } finally {
        for (const f of files) rmSync(f, { force: true });
      }
      const time = async (budget: Budget, opts: { probeMs?: number; warmup?: boolean } = {}): Promise<number[]> => {
        const r = await c.request({
          cmd: 'time',
          id,
          budget_ms: budget.budgetMs,
          warmup_ms: budget.warmupMs,
          min_samples: budget.minSamples,
          warmup: opts.warmup ?? true,
          probe_ms: opts.probeMs, // undefined: dropped by JSON.stringify, the child probes first
        });
        return r.samples_ms as number[];
      };
      return {
        probeMs,
        time,
        // One call in the child (exactly one timed call, no warm-up): for anything that wants a plain call.
        call: () => time({ budgetMs: 0, warmupMs: 0, minSamples: 1 }, { probeMs: 0, warmup: false }),
        output:
          w.kind === 'inference' && !isLong(data)
            ? async () => {
                const path = (await c.request({ cmd: 'output', id, path: join(c.dir, `${id}.out`) })).path as string;
                try {
                  return new Float32Array(new Uint8Array(readFileSync(path)).buffer);
                } finally {
                  rmSync(path, { force: true });
                }
              }
            : undefined,
        dispose: async () => {
          if (c.dead) return;
          await c.request({ cmd: 'dispose', id }).catch(() => undefined);
        },
      };
    },
    async close() {
      await child?.close();
      child = undefined;
    },
  };
}
