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
 *   {"cmd": "scale", "sequences": N, "epochs": E, "release"?: bool}   (rnnkit only; a fresh child per size)
 *       S1's model on N tiled S1 windows (see `scale`) → {"ok": true, "ms", "batches", "baseline_kb",
 *       "build_peak_kb", "peak_kb", "dataset_bytes", "backend_bytes", "dataset_ms", "workspace_bytes", "loss"}
 *   {"cmd": "quit"} (or end of stdin) → exits.
 *
 * RNNKIT_BACKEND (native | wasm) and RNNKIT_WASM_THREADS are set by the driver in this process's env.
 */

import { createInterface } from 'node:readline';
import { backendInfo, ready } from '../../ts/index.js';
import { readFitData, readWeights } from './files.js';
import { rnnkitModel, rnnkitTrainer, SHUFFLE_SEED, trainingSet, type Trainer } from './rnnkit.js';
import { tfjsTrainer } from './tfjs.js';
import { peakProbe, statusKb } from './rss.js';
import { datasetBytes, makeS1, tileSequences, workspaceBytes, type FitData, type FitWorkload } from './workloads.js';

type PeerKind = 'native' | 'wasm' | 'tfjs-wasm' | 'tfjs-cpu';
const kind = process.argv[2] as PeerKind;
const threads = Number(process.argv[3] ?? 1);

function reply(msg: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

/**
 * S1's model on `sequences` tiled S1 windows. Baseline: VmRSS once the backend and the model exist and one warm-up fit() on 64 windows has run.
 * Then the user's typed arrays and `dataset()` (peak of that phase: `build_peak_kb`); with `release`,
 * the arrays are dropped and collected before fit() as a user who no longer needs them would; then the
 * peak window restarts and fit() runs `epochs` epochs (`peak_kb`: the peak during fit).
 */
async function scale(sequences: number, epochs: number, release: boolean): Promise<Record<string, unknown>> {
  const base = makeS1();
  const w = base.workload;
  const model = rnnkitModel(w, threads);
  // Warm-up: one epoch on 64 windows first, so the baseline already holds what any first fit()
  // allocates once per process whatever the data size (the engine's optimised wasm code, the kernels'
  // packed weights, the thread pool); the peak below is then what this data set costs.
  const warm = trainingSet(tileSequences(base, 64));
  await model.fit(warm, { epochs: 1, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
  warm.dispose();
  global.gc?.();
  const baselineKb = statusKb('VmRSS');
  const probe = peakProbe();
  try {
    let data: FitData | undefined = tileSequences(base, sequences);
    const bytes = datasetBytes(data);
    const t0 = performance.now();
    const ds = trainingSet(data);
    const datasetMs = performance.now() - t0;
    if (release) {
      data = undefined;
      global.gc?.();
    }
    const buildPeakKb = probe.peakKb();
    probe.reset();
    const t1 = performance.now();
    const h = await model.fit(ds, { epochs, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
    const ms = performance.now() - t1;
    const peakKb = probe.peakKb();
    // Keeps the user's arrays alive through fit() unless released (as code holding x and y would).
    const kept = data === undefined ? 0 : datasetBytes(data);
    ds.dispose();
    return {
      ms,
      batches: epochs * Math.ceil(sequences / w.batchSize),
      baseline_kb: baselineKb,
      build_peak_kb: buildPeakKb,
      peak_kb: peakKb,
      peak_source: probe.source,
      dataset_bytes: bytes,
      backend_bytes: ds.byteLength,
      kept_bytes: kept,
      dataset_ms: datasetMs,
      workspace_bytes: workspaceBytes(w),
      loss: h.loss[h.loss.length - 1],
    };
  } finally {
    probe.stop();
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
        reply({ ok: true, ...(await scale(msg.sequences as number, msg.epochs as number, msg.release === true)) });
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
