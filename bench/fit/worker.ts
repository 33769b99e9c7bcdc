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
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type * as TF from '@tensorflow/tfjs';
import { backendInfo, Dense, LSTM, ready, Sequential, Tensor } from '../../ts/index.js';
import { kerasWeights } from '../peers/tfjs.js';
import { readFitData, readWeights, type StateDict } from './files.js';
import { datasetBytes, makeS1, tileSequences, workspaceBytes, type FitData, type FitWorkload } from './workloads.js';

type PeerKind = 'native' | 'wasm' | 'tfjs-wasm' | 'tfjs-cpu';
const kind = process.argv[2] as PeerKind;
const threads = Number(process.argv[3] ?? 1);
/** Seeds rnnkit's per-epoch shuffles (tfjs shuffles with Math.random and cannot be seeded). */
const SHUFFLE_SEED = 7;

interface Trainer {
  epoch(): Promise<{ ms: number; loss: number }>;
}

function reply(msg: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

/** One-hot floats [N, T, V] from ids [N, T]. */
function oneHot(ids: Int32Array, width: number): Float32Array {
  const out = new Float32Array(ids.length * width);
  for (let i = 0; i < ids.length; i++) out[i * width + ids[i]] = 1;
  return out;
}

/**
 * The (x, y) rnnkit's fit() takes. Text: one-hot floats [N, T, V] built here (the API without int32
 * token ids); series: the values as [N, T, 1].
 */
function trainingSet(data: FitData): { x: Tensor<'float32'>; y: Tensor<'float32'> | Tensor<'int32'> } {
  const w = data.workload;
  const N = data.sequences;
  const T = w.seqLen;
  if (w.tokens) {
    return { x: new Tensor(oneHot(data.x as Int32Array, w.inputSize), [N, T, w.inputSize]), y: new Tensor(data.y as Int32Array, [N, T]) };
  }
  return { x: new Tensor(data.x as Float32Array, [N, T, 1]), y: new Tensor(data.y as Float32Array, [N, T, 1]) };
}

function rnnkitModel(w: FitWorkload, weights?: StateDict): Sequential {
  const model = new Sequential([new LSTM({ inputSize: w.inputSize, hiddenSize: w.hiddenSize }), new Dense({ units: w.units })], { seed: 1, threads });
  if (weights) {
    model.loadStateDict(Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, new Tensor(Float32Array.from(t.data), t.shape)])));
  }
  model.compile({ loss: w.loss, optimizer: { type: 'adam', lr: w.lr } });
  return model;
}

function rnnkitTrainer(data: FitData, weights: StateDict): Trainer {
  const w = data.workload;
  const model = rnnkitModel(w, weights);
  const { x, y } = trainingSet(data);
  return {
    async epoch() {
      const t0 = performance.now();
      const h = await model.fit(x as never, y, { epochs: 1, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
      return { ms: performance.now() - t0, loss: h.loss[0] };
    },
  };
}

async function tfjsTrainer(data: FitData, weights: StateDict): Promise<Trainer> {
  const tf = (await import('@tensorflow/tfjs')) as unknown as typeof TF;
  await import('@tensorflow/tfjs-backend-wasm');
  const backend = kind === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend "${backend}" did not initialise`);
  await tf.ready();
  const w = data.workload;
  const N = data.sequences;
  const T = w.seqLen;
  // Initialisers are overwritten by setWeights; 'zeros' skips tfjs's slow orthogonal default.
  const lstm = tf.layers.lstm({
    units: w.hiddenSize,
    returnSequences: true,
    inputShape: [T, w.inputSize],
    recurrentActivation: 'sigmoid',
    kernelInitializer: 'zeros',
    recurrentInitializer: 'zeros',
  });
  // Text: softmax + categorical cross-entropy on one-hot targets = cross-entropy on logits and ids.
  const dense = tf.layers.dense({ units: w.units, activation: w.tokens ? 'softmax' : 'linear' });
  const model = tf.sequential({ layers: [lstm, dense] });
  const f32 = (name: string) => Float32Array.from(weights[name].data);
  const keras = kerasWeights(tf, {
    workload: { cell: 'lstm', hiddenSize: w.hiddenSize, inputSize: w.inputSize },
    weights: { weightIh: f32('0.weight_ih_l0'), weightHh: f32('0.weight_hh_l0'), biasIh: f32('0.bias_ih_l0'), biasHh: f32('0.bias_hh_l0') },
  } as never);
  lstm.setWeights(keras);
  const hw = tf.tensor2d(f32('1.weight'), [w.units, w.hiddenSize]).transpose();
  const hb = tf.tensor1d(f32('1.bias'));
  dense.setWeights([hw, hb]);
  tf.dispose([...keras, hw, hb]);
  model.compile({ optimizer: tf.train.adam(w.lr), loss: w.tokens ? 'categoricalCrossentropy' : 'meanSquaredError' });
  const [x, y] = tf.tidy(() =>
    w.tokens
      ? [tf.oneHot(tf.tensor2d(data.x as Int32Array, [N, T], 'int32'), w.inputSize).toFloat(), tf.oneHot(tf.tensor2d(data.y as Int32Array, [N, T], 'int32'), w.units).toFloat()]
      : [tf.tensor3d(data.x as Float32Array, [N, T, 1]), tf.tensor3d(data.y as Float32Array, [N, T, 1])],
  );
  return {
    async epoch() {
      const t0 = performance.now();
      const h = await model.fit(x, y, { epochs: 1, batchSize: w.batchSize, shuffle: true, verbose: 0 });
      return { ms: performance.now() - t0, loss: h.history.loss[0] as number };
    },
  };
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
  const model = rnnkitModel(w);
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
    const h = await model.fit(x as never, y, { epochs, batchSize: w.batchSize, shuffle: true, seed: SHUFFLE_SEED });
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
        trainer = kind === 'native' || kind === 'wasm' ? rnnkitTrainer(data, weights) : await tfjsTrainer(data, weights);
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
