/**
 * `npm run bench` / `npm run bench:quick`: every workload (bench/workloads.ts, then the layer stacks
 * CR1/AT1 of bench/stacks.ts, then the long-sequence workloads of bench/long.ts) on rnnkit-native
 * (1 thread and all cores), rnnkit-wasm (1 thread, and the threaded module on all cores),
 * onnxruntime-node (1 and 2 threads), tfjs-backend-wasm, tfjs cpu, brain.js and PyTorch (1 and 2
 * threads, persistent child processes), in one run, on the same inputs, every peer timed in the
 * same interleaved rounds per workload. Reports
 * medians, p25–p75, GFLOP/s, % of the FMA peak measured at the start of the run, and rnnkit's speed-up
 * over each peer; writes bench/results/latest.{json,md}.
 *
 * Flags: --quick (short time boxes; skips the peers that take seconds per call), --only=F1,T1,
 * --peers=native,ort (substring filter on peer names), --out=DIR, --name=NAME (result files NAME.{json,md};
 * default latest).
 */

import { availableParallelism, loadavg, release, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadNativeBackend } from '../ts/backend/native.js';
import { cpuModel } from './machine.js';
import { measurePeak } from './peak.js';
import { brainPeer } from './peers/brain.js';
import { ortPeer } from './peers/ort.js';
import { nativePeer, wasmPeer } from './peers/rnnkit.js';
import { blasName, torchPeer, torchVersion } from './peers/torch.js';
import { tfjsCpuPeer, tfjsWasmPeer } from './peers/tfjs.js';
import type { BenchData, Peer, Prepared } from './peers/types.js';
import { toMarkdown, writeResults, type Report, type Row } from './report.js';
import { isSlow, probe, sample, type Budget } from './sample.js';
import { gflops, summarize } from './stats.js';
import { isLong, LONG, longShape, makeLongData } from './long.js';
import { isStack, makeStackData, stackShape, STACKS } from './stacks.js';
import { makeData, WORKLOADS } from './workloads.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const only = flag('only')?.split(',');
const peerFilter = flag('peers')?.split(',');
const outDir = flag('out') ?? fileURLToPath(new URL('./results', import.meta.url));
/** Base name of the result files: `--only=CR1,AT1 --name=stacks` keeps latest.{json,md} (what the README quotes) intact. */
const outName = flag('name') ?? 'latest';

const BUDGET: Budget = quick ? { warmupMs: 100, budgetMs: 300, minSamples: 3 } : { warmupMs: 500, budgetMs: 3000, minSamples: 7 };
/** Interleaved timing rounds per workload (see main), and the pause after each peer's slice. */
const ROUNDS = quick ? 2 : 5;
const SETTLE_MS = 60;
/** Peers that need seconds per call at the F1 shape: skipped in quick mode. */
const SLOW = ['tfjs (cpu)', 'brain.js'];
const cores = availableParallelism();

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function wanted(name: string): boolean {
  return !peerFilter || peerFilter.some((f) => name.toLowerCase().includes(f.toLowerCase()));
}

function rowFrom(data: BenchData, peer: { name: string; threads: number }, samplesMs: number[], peaks: Peaks): Row {
  const s = summarize(samplesMs);
  const rate = gflops(data.flops, s.medianMs);
  const peak = peer.threads === 1 ? peaks.one : peaks.all;
  return {
    workload: data.workload.id,
    peer: peer.name,
    threads: peer.threads,
    status: 'ok',
    samples: s.samples,
    medianMs: s.medianMs,
    p25Ms: s.p25Ms,
    p75Ms: s.p75Ms,
    gflops: rate,
    pctPeak: peak ? (100 * rate) / peak : undefined,
  };
}

/** The workload's shape for the console and the report. */
function shapeOf(d: BenchData): string {
  if (isStack(d)) return stackShape(d.workload);
  if (isLong(d)) return longShape(d.workload);
  const w = d.workload;
  return `B=${w.batch} T=${w.seqLen} I=${w.inputSize} H=${w.hiddenSize}${w.units ? ` +Dense(${w.hiddenSize}→${w.units}) MSE Adam` : ''}`;
}

interface Peaks {
  one?: number;
  all?: number;
}

async function main(): Promise<void> {
  const extra = args.filter((a) => a !== '--quick');
  // With filters the command is the driver itself (`npm run bench -- …` would hand them to the fit section).
  const command = extra.length ? `npx tsx bench/run.ts ${args.join(' ')}` : `npm run ${quick ? 'bench:quick' : 'bench'}`;
  const loadStart = loadavg()[0];
  const notes: string[] = [];

  console.log(`rnnkit bench (${quick ? 'quick' : 'full'}): ${cpuModel()}, ${cores} cores, Node ${process.version}`);
  const peaks: Peaks = { one: measurePeak(1), all: measurePeak(cores) };
  if (peaks.one === undefined) notes.push('the native addon has no peakGflops export (rebuild with `npm run build:native`): no % of peak');
  console.log(`FMA peak: ${peaks.one?.toFixed(1) ?? '—'} GFLOP/s ×1, ${peaks.all?.toFixed(1) ?? '—'} GFLOP/s ×${cores}`);
  let rnnkitIsa: string | undefined;
  try {
    rnnkitIsa = loadNativeBackend().isa;
  } catch {
    /* reported by the native peers' "unavailable" */
  }

  // PyTorch last (its rows sort last within each workload); its peers are only made when wanted, as
  // making one checks `import torch` in a python3 child.
  const torchPeers = [1, 2].filter((t) => wanted(`pytorch ×${t}`)).map(torchPeer);
  const peers: Peer[] = [nativePeer(1), nativePeer(0), await wasmPeer(1), await wasmPeer(0), await ortPeer(1), await ortPeer(2), tfjsWasmPeer(), tfjsCpuPeer(), brainPeer(), ...torchPeers];
  let torch: string | undefined;
  let blas: string | undefined;
  if (torchPeers.some((p) => !p.unavailable)) {
    torch = torchVersion();
    blas = blasName();
    console.log(`PyTorch ${torch}, ${blas}`);
  }
  const rows: Row[] = [];
  // The single-layer workloads, then the layer stacks (issue 14); --only filters both.
  const datas: BenchData[] = [...WORKLOADS.map(makeData), ...STACKS.map(makeStackData), ...LONG.map(makeLongData)].filter((d) => !only || only.includes(d.workload.id));
  /** rnnkit-native ×1's output per inference workload: every other peer's output is compared with it. */
  const references = new Map<string, Float32Array>();

  try {
    for (const data of datas) {
      const w = data.workload;
      console.log(`\n${w.id} ${w.title}: ${shapeOf(data)} (${(data.flops / 1e9).toFixed(3)} GFLOP)`);
      // Prepare every peer, then time them in interleaved rounds: noise from other tenants of a shared
      // machine comes and goes over seconds, and one peer timed for its whole budget after another
      // could land in a quiet spell the other missed (F1 against onnxruntime moved 0.87× ↔ 1.14×
      // between two sequential runs). Each fast peer gets its budget in ROUNDS slices, the starting
      // peer rotating; a peer whose single call is slow gets its few samples in one go. PyTorch takes
      // part like the others: its child process times itself when asked (Prepared.time) and sits
      // blocked on stdin otherwise.
      const live: { peer: Peer; prepared: Prepared; probeMs: number; samples: number[]; failed?: boolean }[] = [];
      const fail = (peer: Peer, e: unknown) => {
        rows.push({ workload: w.id, peer: peer.name, threads: peer.threads, status: 'failed', reason: (e as Error).message.split('\n')[0] });
        console.log(`  ${peer.name.padEnd(26)} FAILED: ${(e as Error).message}`);
      };
      for (const peer of peers) {
        if (!wanted(peer.name)) continue;
        const skip = (reason: string) => {
          rows.push({ workload: w.id, peer: peer.name, threads: peer.threads, status: 'skipped', reason });
          console.log(`  ${peer.name.padEnd(26)} skipped: ${reason}`);
        };
        if (peer.unavailable) {
          skip(peer.unavailable);
          continue;
        }
        if (quick && SLOW.includes(peer.name)) {
          skip('seconds per call: quick mode skips it (`npm run bench` runs it)');
          continue;
        }
        try {
          const prepared = await peer.prepare(data);
          if ('skip' in prepared) {
            skip(prepared.skip);
            continue;
          }
          live.push({ peer, prepared, probeMs: prepared.probeMs ?? (await probe(() => prepared.call())), samples: [] });
        } catch (e) {
          fail(peer, e);
        }
      }
      try {
        const perRound: Budget = { ...BUDGET, budgetMs: BUDGET.budgetMs / ROUNDS, minSamples: Math.ceil(BUDGET.minSamples / ROUNDS) };
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < live.length; i++) {
            const entry = live[(i + round) % live.length];
            const slow = isSlow(entry.probeMs, BUDGET);
            if (entry.failed || (slow && round > 0)) continue;
            try {
              const budget = slow ? BUDGET : perRound;
              const opts = { probeMs: round === 0 ? entry.probeMs : undefined, warmup: round === 0 };
              await entry.prepared.activate?.();
              const got = entry.prepared.time ? await entry.prepared.time(budget, opts) : await sample(() => entry.prepared.call(), budget, opts);
              entry.samples.push(...got);
              // Let thread pools that spin after their work (onnxruntime ×2's kept a core busy for
              // ~40 ms into the next peer's slice) go idle before the next peer is timed.
              await new Promise((r) => setTimeout(r, SETTLE_MS));
            } catch (e) {
              // Out of the remaining rounds and the rows, but still disposed below.
              fail(entry.peer, e);
              entry.failed = true;
            }
          }
        }
        // Rows in peer order; rnnkit-native ×1 (first) is the reference every output is compared with.
        for (const { peer, prepared, samples, failed } of live) {
          if (failed) continue;
          try {
            const row = rowFrom(data, peer, samples, peaks);
            const note = prepared.note ?? peer.note;
            if (note) row.note = note;
            if (prepared.output) {
              await prepared.activate?.();
              const out = await prepared.output();
              const reference = references.get(w.id);
              if (peer.name === 'rnnkit-native ×1') references.set(w.id, out);
              else if (reference) row.maxAbsDiff = maxAbsDiff(out, reference);
            }
            rows.push(row);
            console.log(
              `  ${peer.name.padEnd(26)} ${row.medianMs!.toFixed(3).padStart(10)} ms  [${row.p25Ms!.toFixed(3)}–${row.p75Ms!.toFixed(3)}] n=${row.samples}  ${row.gflops!.toFixed(1)} GFLOP/s  ${row.pctPeak?.toFixed(0) ?? '—'}% peak`,
            );
          } catch (e) {
            fail(peer, e);
          }
        }
      } finally {
        for (const { prepared } of live) await prepared.dispose();
      }
    }
  } finally {
    // Ends the PyTorch children (else they would keep this process alive).
    for (const p of peers) await p.close?.();
  }

  for (const p of peers) if (p.note && !p.unavailable) notes.push(`${p.name}: ${p.note}`);
  // Notes a peer gave for one workload (e.g. tfjs ops written by hand for CR1/AT1).
  const rowNotes = rows.filter((r) => r.note && r.note !== peers.find((p) => p.name === r.peer)?.note).map((r) => `${r.workload} ${r.peer}: ${r.note}`);
  notes.push(...rowNotes);
  notes.push(
    'GFLOP/s use the workload formula (bench/workloads.ts): LSTM forward 2·B·T·4H·(I+H), GRU 3H, RNN 1H; a training step counts 3 × (recurrent + head forward).',
    '% peak divides by the 1-thread FMA peak for 1-thread rows and by the all-cores peak for multi-thread rows.',
    'CR1/AT1 (layer stacks): a training step counts 3 × forward of Conv1D 2·B·T·C_out·C_in·K + BiRNN 2·2·B·T\'·G·H·(I+H) + attention 2·B·T\'·F·(F+2) + Dense (bench/stacks.ts); each peer starts from its own initial weights (same shapes), so there is no output column.',
    'MG/ML/GR/LS… (long sequences, issue 15): minGRU 2·B·T·2H·I, minLSTM 3H·I, GRU 3H·(I+H), LSTM 4H·(I+H) per forward, a training step 3 × (layer + head) (bench/long.ts); rnnkit-native and PyTorch only (PyTorch\'s min cells use the paper\'s log-space parallel scan, bench/torch_long.py), each with its own initial weights, so there is no output column.',
    'tfjs GRU is the "reset before" variant (tfjs-layers has no reset_after), same FLOPs; its outputs are not compared.',
    'onnxruntime and PyTorch get time-major / batch-first input as they prefer, converted outside the timed call; rnnkit and tfjs take batch-first.',
    'A timing on a shared machine means something only as a ratio against rows from the same run.',
  );

  // Group rows by workload, in peer order within each (PyTorch last).
  const order = new Map<string, number>(datas.map((d, i) => [d.workload.id, i]));
  const peerOrder = (name: string) => {
    const i = peers.findIndex((p) => p.name === name);
    return i < 0 ? peers.length : i;
  };
  rows.sort((a, b) => order.get(a.workload)! - order.get(b.workload)! || peerOrder(a.peer) - peerOrder(b.peer));

  const report: Report = {
    command,
    mode: quick ? 'quick' : 'full',
    machine: {
      cpu: cpuModel(),
      cores,
      node: process.version,
      os: `${type()} ${release()}`,
      date: new Date().toISOString(),
      peak1Gflops: peaks.one,
      peakAllGflops: peaks.all,
      rnnkitIsa,
      torch,
      blas,
      loadavg: [loadStart, loadavg()[0]],
    },
    workloads: datas.map((d) => ({ id: d.workload.id, title: d.workload.title, shape: shapeOf(d), gflop: d.flops / 1e9 })),
    rows,
    notes,
  };
  writeResults(outDir, outName, report, toMarkdown(report));
}

main().then(
  () => process.exit(0), // tfjs / onnxruntime keep handles alive; the report is written
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
