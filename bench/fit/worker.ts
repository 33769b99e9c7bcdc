/**
 * The Node child of `npm run bench:fit` for rnnkit (native or wasm, through the public API: Sequential
 * + fit) and tfjs (`model.fit`, wasm or cpu backend), one process per peer so that each peer's
 * threads, memory and backend state are its own and peak RSS can be read per run. Driven by
 * line-delimited JSON like torch_fit.py (bench/child.ts):
 *
 *   argv: PEER THREADS        PEER = native | wasm | tfjs-wasm | tfjs-cpu
 *   first line → {"ok": true, "ready": true, "backend": ..., "version": ...}
 *   {"cmd": "prepare", "workload": FitWorkload, "dir": DIR, "sequences": N, "cap"?: n}
 *       reads DIR/<id>.x, DIR/<id>.y (raw int32 or float32) and DIR/<id>.weights.json, keeps the first
 *       `cap` sequences when given (tfjs), builds and compiles the model → {"ok": true, "prepare_ms", "sequences"}
 *   {"cmd": "epoch"} → one shuffled epoch, timed → {"ok": true, "ms", "loss"}
 *   {"cmd": "scale", "sequences": N, "epochs": E}   (rnnkit only; a fresh child per size)
 *       S1's model on N tiled S1 windows: VmRSS before the dataset exists, then the dataset, then
 *       fit(E epochs) with VmHWM reset first and VmRSS sampled every 20 ms
 *       → {"ok": true, "ms", "batches", "baseline_kb", "peak_kb", "dataset_bytes", "workspace_bytes", "loss"}
 *   {"cmd": "quit"} (or end of stdin) → exits.
 *
 * RNNKIT_BACKEND (native | wasm) and RNNKIT_WASM_THREADS are set by the driver in this process's env.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { backendInfo, ready } from '../../ts/index.js';
import { readFitData, readWeights } from './files.js';
import { rnnkitModel, rnnkitTrainer, SHUFFLE_SEED, trainingSet, type Trainer } from './rnnkit.js';
import { tfjsTrainer } from './tfjs.js';
import { datasetBytes, makeS1, tileSequences, workspaceBytes, type FitWorkload } from './workloads.js';

type PeerKind = 'native' | 'wasm' | 'tfjs-wasm' | 'tfjs-cpu';
const kind = process.argv[2] as PeerKind;
const threads = Number(process.argv[3] ?? 1);

function reply(msg: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

/** A field of /proc/self/status in kB (Linux), or NaN. */
function statusKb(field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs); false where not allowed. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

async function scale(sequences: number, epochs: number): Promise<Record<string, unknown>> {
  const base = makeS1();
  const w = base.workload;
  const model = rnnkitModel(w, threads);
  global.gc?.();
  const baselineKb = statusKb('VmRSS');
  const peakReset = resetPeak();
  let sampledKb = baselineKb;
  const timer = setInterval(() => (sampledKb = Math.max(sampledKb, statusKb('VmRSS'))), 20);
  try {
    // The user's typed arrays: made after the baseline, so they count in the peak.
    const data = tileSequences(base, sequences);
    const { x, y } = trainingSet(data);
    const t0 = performance.now();
    const h = await model.fit(x, y, { epochs, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
    const ms = performance.now() - t0;
    sampledKb = Math.max(sampledKb, statusKb('VmRSS'));
    return {
      ms,
      batches: epochs * Math.ceil(sequences / w.batchSize),
      baseline_kb: baselineKb,
      peak_kb: peakReset ? Math.max(statusKb('VmHWM'), sampledKb) : sampledKb,
      peak_source: peakReset ? 'VmHWM (reset at the baseline) and VmRSS sampled every 20 ms' : 'VmRSS sampled every 20 ms (clear_refs not writable)',
      dataset_bytes: datasetBytes(data),
      workspace_bytes: workspaceBytes(w),
      loss: h.loss[h.loss.length - 1],
    };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  let info: Record<string, unknown> = {};
  if (kind === 'native' || kind === 'wasm') {
    await ready();
    info = { backend: backendInfo() };
  }
  reply({ ok: true, ready: true, peer: kind, threads, ...info });
  let trainer: Trainer | undefined;
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.cmd === 'quit') break;
      if (msg.cmd === 'prepare') {
        const t0 = performance.now();
        const w = msg.workload as FitWorkload;
        const dir = msg.dir as string;
        const data = readFitData(w, dir, msg.sequences as number, msg.cap as number | undefined);
        const weights = readWeights(w, dir);
        trainer = kind === 'native' || kind === 'wasm' ? rnnkitTrainer(data, weights, threads) : await tfjsTrainer(data, weights, kind === 'tfjs-wasm' ? 'wasm' : 'cpu');
        reply({ ok: true, prepare_ms: performance.now() - t0, sequences: data.sequences });
      } else if (msg.cmd === 'epoch') {
        if (!trainer) throw new Error('epoch before prepare');
        reply({ ok: true, ...(await trainer.epoch()) });
      } else if (msg.cmd === 'scale') {
        reply({ ok: true, ...(await scale(msg.sequences as number, msg.epochs as number)) });
      } else {
        reply({ ok: false, error: `unknown cmd ${JSON.stringify(msg.cmd)}` });
      }
    } catch (e) {
      reply({ ok: false, error: (e as Error).stack ?? String(e) });
    }
  }
  process.exit(0); // tfjs keeps handles alive
}

main().catch((e) => {
  reply({ ok: false, error: String(e) });
  process.exit(1);
});
