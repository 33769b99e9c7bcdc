/**
 * `npm run bench:fit` (also the second section of `npm run bench`): dataset-scale training timed end to
 * end (issue 13). C1 (character LSTM on 200 KiB of Moby Dick) and S1 (forecaster on 26k windows of
 * hourly weather), bench/fit/workloads.ts, on rnnkit native and wasm (1 and 2 threads, public API
 * `fit()`), PyTorch's ordinary training loop (1 and 2 threads, bench/torch_fit.py) and tfjs
 * `model.fit` (wasm and cpu backends, on a capped number of sequences: it is too slow for the whole
 * set). Every peer is its own child process, all from the same initial weights and data files; the
 * epochs are interleaved in rounds (round r: one epoch of every peer, the starting peer rotating), so
 * load from other tenants of a shared machine hits every peer alike. Then the scaling table: per-batch
 * time and peak RSS of rnnkit fit() at 1k…200k sequences, each size in a fresh child.
 * Writes bench/results/fit.{json,md}.
 *
 * Flags: --quick (1 epoch per peer, tfjs cpu skipped, scaling up to 50k), --only=C1,S1,scale,
 * --peers=native,pytorch (substring filter on peer names; applies to the scaling backends too), --out=DIR.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonChild } from '../child.js';
import { cpuFamily, cpuModel } from '../machine.js';
import { blasName, PYTHON, torchEnv, torchUnavailable, torchVersion } from '../peers/torch.js';
import { writeResults } from '../report.js';
import { summarize } from '../stats.js';
import { writeFitFiles } from './files.js';
import { initialWeights } from './rnnkit.js';
import { fitMarkdown, rssDelta, type FitReport, type FitRow, type ScaleRow } from './report.js';
import { datasetBytes, makeFitData, parameterCount, workspaceBytes, type FitData, type FitWorkload } from './workloads.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const only = flag('only')?.split(',');
const peerFilter = flag('peers')?.split(',');
const outDir = flag('out') ?? fileURLToPath(new URL('../results', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TORCH_FIT = fileURLToPath(new URL('../torch_fit.py', import.meta.url));

/** Timed epochs per peer (= interleaved rounds). */
const EPOCHS = quick ? 1 : 2;
const SETTLE_MS = 60;
/**
 * tfjs trains on the first `cap` sequences only (its epoch over the whole set would take minutes: C1
 * on tfjs-wasm ~25 sequences/s); its time per whole epoch is scaled from its sequences/s.
 */
const TFJS_CAP = {
  wasm: { C1: quick ? 64 : 256, S1: quick ? 640 : 2560 },
  cpu: { C1: 64, S1: 640 },
};
const SCALE_SIZES = quick ? [1_000, 10_000, 50_000] : [1_000, 10_000, 100_000, 200_000];
/** Epochs per scaling size, so that small sizes still time a few hundred mini-batches. */
const scaleEpochs = (n: number) => Math.max(1, Math.round(20_000 / n));

interface FitPeer {
  name: string;
  threads: number;
  /** tfjs: sequences it trains on. */
  cap?: (id: FitWorkload['id']) => number;
  unavailable?: string;
  spawn(): JsonChild;
  skipQuick?: boolean;
}

function nodeChild(label: string, kind: string, threads: number, env: NodeJS.ProcessEnv = {}): JsonChild {
  return new JsonChild(label, process.execPath, ['--import', 'tsx', '--expose-gc', WORKER, kind, String(threads)], { ...process.env, ...env });
}

const rnnkitEnv = (backend: 'native' | 'wasm', threads: number): NodeJS.ProcessEnv =>
  backend === 'wasm' ? { RNNKIT_BACKEND: 'wasm', RNNKIT_WASM_THREADS: String(threads) } : { RNNKIT_BACKEND: 'native' };

function peers(): FitPeer[] {
  const torchMissing = torchUnavailable();
  const list: FitPeer[] = [];
  for (const t of [1, 2]) list.push({ name: `rnnkit-native ×${t}`, threads: t, spawn: () => nodeChild(`rnnkit-native ×${t}`, 'native', t, rnnkitEnv('native', t)) });
  for (const t of [1, 2]) list.push({ name: `rnnkit-wasm ×${t} (SIMD)`, threads: t, spawn: () => nodeChild(`rnnkit-wasm ×${t}`, 'wasm', t, rnnkitEnv('wasm', t)) });
  for (const t of [1, 2]) {
    list.push({ name: `pytorch ×${t}`, threads: t, unavailable: torchMissing, spawn: () => new JsonChild(`torch_fit.py ×${t}`, PYTHON, [TORCH_FIT, String(t)], torchEnv(t)) });
  }
  list.push({ name: 'tfjs-wasm (SIMD)', threads: 1, cap: (id) => TFJS_CAP.wasm[id], spawn: () => nodeChild('tfjs-wasm', 'tfjs-wasm', 1) });
  list.push({ name: 'tfjs (cpu)', threads: 1, cap: (id) => TFJS_CAP.cpu[id], skipQuick: true, spawn: () => nodeChild('tfjs-cpu', 'tfjs-cpu', 1) });
  return list;
}

function wanted(name: string): boolean {
  return !peerFilter || peerFilter.some((f) => name.toLowerCase().includes(f.toLowerCase()));
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runWorkload(data: FitData, dir: string, list: FitPeer[], rows: FitRow[]): Promise<void> {
  const w = data.workload;
  console.log(`\n${w.id} ${w.title}: ${data.sequences} sequences × ${w.seqLen} steps, LSTM(${w.inputSize}→${w.hiddenSize}) + Dense(${w.hiddenSize}→${w.units}), ${w.loss}, Adam lr ${w.lr}, batch ${w.batchSize}`);
  const base = (p: FitPeer): FitRow => ({ workload: w.id, peer: p.name, threads: p.threads, status: 'ok' });
  const live: { peer: FitPeer; child: JsonChild; sequences: number; prepareMs: number; ms: number[]; losses: number[]; failed?: string }[] = [];
  for (const peer of list) {
    if (!wanted(peer.name)) continue;
    const skip = (reason: string) => {
      rows.push({ ...base(peer), status: 'skipped', reason });
      console.log(`  ${peer.name.padEnd(22)} skipped: ${reason}`);
    };
    if (peer.unavailable) {
      skip(peer.unavailable);
      continue;
    }
    if (quick && peer.skipQuick) {
      skip('minutes per epoch: quick mode skips it (`npm run bench:fit` runs it)');
      continue;
    }
    const child = peer.spawn();
    try {
      await child.ready;
      const r = await child.request({ cmd: 'prepare', workload: w, dir, sequences: data.sequences, cap: peer.cap?.(w.id) });
      live.push({ peer, child, sequences: r.sequences as number, prepareMs: r.prepare_ms as number, ms: [], losses: [] });
    } catch (e) {
      rows.push({ ...base(peer), status: 'failed', reason: (e as Error).message.split('\n')[0] });
      console.log(`  ${peer.name.padEnd(22)} FAILED: ${(e as Error).message}`);
      await child.close();
    }
  }
  try {
    for (let round = 0; round < EPOCHS; round++) {
      for (let i = 0; i < live.length; i++) {
        const e = live[(i + round) % live.length];
        if (e.failed) continue;
        try {
          const r = await e.child.request({ cmd: 'epoch' });
          e.ms.push(r.ms as number);
          e.losses.push(r.loss as number);
          console.log(`  round ${round + 1}/${EPOCHS} ${e.peer.name.padEnd(22)} ${((r.ms as number) / 1e3).toFixed(2)} s (${e.sequences} seq)  loss ${(r.loss as number).toFixed(4)}`);
        } catch (err) {
          e.failed = (err as Error).message.split('\n')[0];
        }
        await pause(SETTLE_MS);
      }
    }
  } finally {
    for (const e of live) await e.child.close();
  }
  for (const e of live) {
    if (e.failed) {
      rows.push({ ...base(e.peer), status: 'failed', reason: e.failed });
      continue;
    }
    const s = summarize(e.ms);
    const seqPerS = e.sequences / (s.medianMs / 1e3);
    rows.push({
      ...base(e.peer),
      epochs: s.samples,
      sequences: e.sequences,
      medianMs: s.medianMs,
      p25Ms: s.p25Ms,
      p75Ms: s.p75Ms,
      seqPerS,
      fullEpochS: data.sequences / seqPerS,
      finalLoss: e.losses[e.losses.length - 1],
      prepareMs: e.prepareMs,
      capped: e.sequences < data.sequences,
    });
  }
}

async function runScaling(rows: ScaleRow[]): Promise<void> {
  console.log(`\nscaling: S1's model on S1 windows repeated to ${SCALE_SIZES.join(', ')} sequences, 1 thread, a fresh child per size`);
  const largest = SCALE_SIZES[SCALE_SIZES.length - 1];
  for (const backend of ['native', 'wasm'] as const) {
    const name = backend === 'native' ? 'rnnkit-native ×1' : 'rnnkit-wasm ×1 (SIMD)';
    if (!wanted(name)) continue;
    // Every size with the user's arrays kept through fit(), then the largest with them released after dataset().
    const runs = [...SCALE_SIZES.map((n) => ({ n, release: false })), { n: largest, release: true }];
    for (const { n, release } of runs) {
      const child = nodeChild(`scale ${backend} ${n}`, backend, 1, rnnkitEnv(backend, 1));
      try {
        await child.ready;
        const epochs = scaleEpochs(n);
        const r = await child.request({ cmd: 'scale', sequences: n, epochs, release });
        const row: ScaleRow = {
          peer: name,
          sequences: n,
          released: release,
          epochs,
          batches: r.batches as number,
          msPerBatch: (r.ms as number) / (r.batches as number),
          datasetMs: r.dataset_ms as number,
          baselineKb: r.baseline_kb as number,
          buildPeakKb: r.build_peak_kb as number,
          peakKb: r.peak_kb as number,
          peakSource: r.peak_source as string,
          datasetBytes: r.dataset_bytes as number,
          backendBytes: r.backend_bytes as number,
          workspaceBytes: r.workspace_bytes as number,
        };
        rows.push(row);
        console.log(
          `  ${name.padEnd(22)} ${String(n).padStart(7)} seq${release ? ' (released)' : ''}: ${row.msPerBatch!.toFixed(3)} ms/batch (${row.batches} batches)  ` +
            `RSS during fit +${(rssDelta(row)! / 2 ** 20).toFixed(1)} MiB, dataset ${(row.datasetBytes! / 2 ** 20).toFixed(1)} MiB`,
        );
      } catch (e) {
        rows.push({ peer: name, sequences: n, released: release, failed: (e as Error).message.split('\n')[0] });
        console.log(`  ${name} ${n}: FAILED ${(e as Error).message}`);
      } finally {
        await child.close();
      }
    }
  }
}

async function main(): Promise<void> {
  const extra = args.filter((a) => a !== '--quick');
  const command = `npm run bench:fit${quick ? ' -- --quick' : ''}${extra.length ? `${quick ? '' : ' --'} ${extra.join(' ')}` : ''}`;
  const cores = availableParallelism();
  console.log(`rnnkit fit bench (${quick ? 'quick' : 'full'}): ${cpuModel()} (family ${cpuFamily() ?? '?'}), ${cores} cores, Node ${process.version}`);
  const list = peers();
  const torch = torchUnavailable() ? undefined : torchVersion();
  const loadStart = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-bench-fit-'));
  const rows: FitRow[] = [];
  const scaling: ScaleRow[] = [];
  const datas = (['C1', 'S1'] as const).filter((id) => !only || only.includes(id)).map(makeFitData);
  try {
    for (const data of datas) {
      writeFitFiles(dir, data, initialWeights(data.workload));
      await runWorkload(data, dir, list, rows);
    }
    if (!only || only.includes('scale')) await runScaling(scaling);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const report: FitReport = {
    command,
    mode: quick ? 'quick' : 'full',
    machine: {
      cpu: cpuModel(),
      cpuFamily: cpuFamily(),
      cores,
      node: process.version,
      os: `${type()} ${release()}`,
      date: new Date().toISOString(),
      loadavg: [loadStart, loadavg()[0]],
      torch,
      blas: torch ? blasName() : undefined,
    },
    workloads: datas.map((d) => ({
      id: d.workload.id,
      title: d.workload.title,
      source: d.workload.source,
      shape: `N=${d.sequences} T=${d.workload.seqLen} LSTM(${d.workload.inputSize}→${d.workload.hiddenSize}) + Dense(${d.workload.hiddenSize}→${d.workload.units}), ${d.workload.loss}, Adam lr ${d.workload.lr}, batch ${d.workload.batchSize}`,
      sequences: d.sequences,
      datasetBytes: datasetBytes(d),
      parameters: parameterCount(d.workload),
      workspaceBytes: workspaceBytes(d.workload),
      textBytes: d.textBytes,
      vocab: d.vocab === undefined ? undefined : [...d.vocab].length,
      tfjsCap: { wasm: TFJS_CAP.wasm[d.workload.id], cpu: TFJS_CAP.cpu[d.workload.id] },
    })),
    epochsPerPeer: EPOCHS,
    rows,
    scaling,
    scaleEpochsRule: 'epochs per size = max(1, round(20000 / sequences))',
  };
  writeResults(outDir, 'fit', report, fitMarkdown(report));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
