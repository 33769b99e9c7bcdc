/**
 * The fit benchmark's outputs: bench/results/fit.json (every row) and bench/results/fit.md (machine,
 * command, seconds per epoch with spread, sequences/s, final loss, rnnkit's speed-up over each peer at
 * equal threads, and the scaling table of per-batch time and peak RSS against the issue's targets).
 */

import { isRnnkit, type PeerRow } from '../report.js';

export interface FitRow extends PeerRow {
  /** Timed epochs (samples). */
  epochs?: number;
  /** Sequences per timed epoch (fewer than the workload's when capped). */
  sequences?: number;
  medianMs?: number;
  p25Ms?: number;
  p75Ms?: number;
  seqPerS?: number;
  /** Seconds for an epoch over the whole workload: measured, or scaled from sequences/s when capped. */
  fullEpochS?: number;
  finalLoss?: number;
  prepareMs?: number;
  capped?: boolean;
}

export interface ScaleRow {
  peer: string;
  sequences: number;
  /** The user's x and y were dropped (and collected) after dataset(), before fit(). */
  released?: boolean;
  failed?: string;
  epochs?: number;
  batches?: number;
  msPerBatch?: number;
  /** Time of dataset(x, y). */
  datasetMs?: number;
  /** VmRSS once the backend and the model exist and a 64-window warm-up fit() ran, before the data. */
  baselineKb?: number;
  /** Peak while the arrays and dataset() were made. */
  buildPeakKb?: number;
  /** Peak during fit(). */
  peakKb?: number;
  peakSource?: string;
  /** The user's typed arrays x and y. */
  datasetBytes?: number;
  /** The backend's copy (Dataset.byteLength). */
  backendBytes?: number;
  workspaceBytes?: number;
}

export interface FitReport {
  command: string;
  mode: 'quick' | 'full';
  machine: { cpu: string; cpuFamily?: number; cores: number; node: string; os: string; date: string; loadavg?: [number, number]; torch?: string; blas?: string };
  workloads: {
    id: string;
    title: string;
    source: string;
    shape: string;
    sequences: number;
    datasetBytes: number;
    parameters: number;
    workspaceBytes: number;
    textBytes?: number;
    vocab?: number;
    tfjsCap: { wasm: number; cpu: number };
  }[];
  epochsPerPeer: number;
  rows: FitRow[];
  scaling: ScaleRow[];
  scaleEpochsRule: string;
}

const MiB = 2 ** 20;
const fmt = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const secs = (ms: number | undefined): string => (ms === undefined ? '—' : fmt(ms / 1e3, ms < 10_000 ? 2 : 1));

/** Peak RSS during fit() above the baseline, bytes. */
export function rssDelta(r: ScaleRow): number | undefined {
  return r.peakKb === undefined || r.baselineKb === undefined ? undefined : (r.peakKb - r.baselineKb) * 1024;
}

/** The issue's memory target: the dataset plus twice the model's workspace. */
export function memoryTarget(r: ScaleRow): number | undefined {
  return r.datasetBytes === undefined || r.workspaceBytes === undefined ? undefined : r.datasetBytes + 2 * r.workspaceBytes;
}

/** Per-batch time at the largest size ÷ at the smallest, per peer (1.00 = flat). */
export function flatness(rows: readonly ScaleRow[], peer: string): { small: number; large: number; ratio: number } | undefined {
  const ok = rows.filter((r) => r.peer === peer && r.msPerBatch !== undefined && !r.released).sort((a, b) => a.sequences - b.sequences);
  if (ok.length < 2) return undefined;
  const a = ok[0];
  const b = ok[ok.length - 1];
  return { small: a.sequences, large: b.sequences, ratio: b.msPerBatch! / a.msPerBatch! };
}

/** rnnkit's sequences/s ÷ the peer's, > 1 = rnnkit faster. */
export function fitSpeedup(mine: FitRow, theirs: FitRow | undefined): number | undefined {
  return theirs?.seqPerS && mine.seqPerS ? mine.seqPerS / theirs.seqPerS : undefined;
}

export function fitMarkdown(r: FitReport): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# rnnkit fit benchmark (${r.mode} mode)`, '', '```sh', r.command, '```', '');
  out.push(
    `- Machine: ${m.cpu} (CPU family ${m.cpuFamily ?? '?'}: 23 = Zen 2, 25 = Zen 4, 26 = Zen 5), ${m.cores} cores, ${m.os}; Node ${m.node}; ${m.date}`,
    `- PyTorch: ${m.torch ?? 'not available'}${m.blas ? `, BLAS: ${m.blas}` : ''}`,
    `- 1-minute load average at the start and the end of the run: ${m.loadavg ? m.loadavg.map((v) => v.toFixed(1)).join(' → ') : '—'}` +
      (m.loadavg && Math.max(...m.loadavg) > m.cores
        ? ` — above the ${m.cores} cores: other processes shared them, and 2-thread rows lose most (PyTorch ×2's OpenMP threads spin-wait for a busy core), so the ×2 ratios overstate rnnkit's lead`
        : ''),
    `- ${r.epochsPerPeer} timed epoch(s) per peer, interleaved in rounds (round k: one epoch of every peer); medians and p25–p75 over those epochs.`,
    '',
  );
  out.push('| workload | data | shape | dataset (as typed arrays) | parameters |', '|---|---|---|---|---|');
  for (const w of r.workloads) {
    const extra = w.textBytes ? `; ${w.textBytes.toLocaleString('en-US')} bytes of text, ${w.vocab} distinct characters` : '';
    out.push(`| ${w.id} ${w.title} | ${w.source}${extra} | ${w.shape} | ${fmt(w.datasetBytes / MiB, 1)} MiB | ${w.parameters.toLocaleString('en-US')} |`);
  }
  out.push('', '## Seconds per epoch (lower is better)', '');
  out.push('| workload | peer | s/epoch | p25–p75 s | epochs | sequences/epoch | sequences/s | s per whole epoch | final loss |', '|---|---|---|---|---|---|---|---|---|');
  for (const row of r.rows) {
    if (row.status !== 'ok') {
      out.push(`| ${row.workload} | ${row.peer} | ${row.status}: ${row.reason ?? ''} | | | | | | |`);
      continue;
    }
    const peer = isRnnkit(row.peer) ? `**${row.peer}**` : row.peer;
    const whole = row.capped ? `${fmt(row.fullEpochS, 1)} (scaled)` : secs(row.medianMs);
    const loss = row.capped ? `${fmt(row.finalLoss, 4)} (on ${row.sequences} seq)` : fmt(row.finalLoss, 4);
    out.push(`| ${row.workload} | ${peer} | ${secs(row.medianMs)} | ${secs(row.p25Ms)}–${secs(row.p75Ms)} | ${row.epochs} | ${row.sequences} | ${fmt(row.seqPerS, 0)} | ${whole} | ${loss} |`);
  }
  const ok = r.rows.filter((x) => x.status === 'ok');
  const find = (w: string, peer: string) => ok.find((x) => x.workload === w && x.peer === peer);
  out.push('', '## Speed-up of rnnkit (its sequences/s ÷ the peer\'s; > 1 = rnnkit faster)', '');
  out.push('| workload | rnnkit row | vs PyTorch, same threads | vs tfjs-wasm (×1) | vs tfjs cpu (×1) |', '|---|---|---|---|---|');
  for (const w of r.workloads) {
    for (const mine of ok.filter((x) => x.workload === w.id && isRnnkit(x.peer))) {
      const cell = (theirs: FitRow | undefined) => {
        const s = fitSpeedup(mine, theirs);
        return s === undefined ? '—' : `${s.toFixed(2)}×`;
      };
      out.push(`| ${w.id} | ${mine.peer} | ${cell(find(w.id, `pytorch ×${mine.threads}`))} | ${cell(find(w.id, 'tfjs-wasm (SIMD)'))} | ${cell(find(w.id, 'tfjs (cpu)'))} |`);
    }
  }
  if (r.scaling.length) {
    out.push('', "## Scaling: per-batch time and peak RSS of rnnkit fit() (S1's model, S1 windows repeated, 1 thread, a fresh process per size)", '');
    out.push(
      '| peer | sequences | epochs | mini-batches | ms/batch | dataset() ms | x + y MiB | backend copy MiB | workspace MiB | peak RSS − baseline during fit MiB | dataset + 2×workspace MiB | within? | peak while building MiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    const mib = (b: number | undefined) => fmt(b === undefined ? undefined : b / MiB, 1);
    for (const s of r.scaling) {
      const label = `${s.sequences.toLocaleString('en-US')}${s.released ? ' (x, y released)' : ''}`;
      if (s.failed) {
        out.push(`| ${s.peer} | ${label} | failed: ${s.failed} | | | | | | | | | | |`);
        continue;
      }
      const delta = rssDelta(s)!;
      const target = memoryTarget(s)!;
      const build = s.buildPeakKb === undefined ? undefined : (s.buildPeakKb - s.baselineKb!) * 1024;
      out.push(
        `| ${s.peer} | ${label} | ${s.epochs} | ${s.batches} | ${fmt(s.msPerBatch, 3)} | ${fmt(s.datasetMs, 1)} | ${mib(s.datasetBytes)} | ${mib(s.backendBytes)} | ${mib(s.workspaceBytes)} | ${mib(delta)} | ${mib(target)} | ${delta <= target ? 'yes' : `no (${fmt(delta / target, 2)}×)`} | ${mib(build)} |`,
      );
    }
    out.push('');
    for (const peer of [...new Set(r.scaling.map((s) => s.peer))]) {
      const f = flatness(r.scaling, peer);
      if (f) out.push(`- ${peer}: per-batch time at ${f.large.toLocaleString('en-US')} ÷ at ${f.small.toLocaleString('en-US')} sequences = **${f.ratio.toFixed(2)}** (1.00 = flat).`);
    }
    out.push(
      `- ${r.scaleEpochsRule}. Peak: ${r.scaling.find((s) => s.peakSource)?.peakSource ?? '—'}. Baseline: VmRSS once the backend and the model exist and a warm-up fit() on 64 windows has run (what any first fit allocates once per process: optimised wasm code, packed weights, threads), before the data. ` +
        '"During fit" restarts the peak window after `dataset(x, y)`; the rows keep the user\'s x and y alive through fit() (as code that holds them does), except "(x, y released)", which drops them and runs the GC before fit().',
    );
  }
  out.push('', '## Notes', '');
  out.push(
    '- Every peer starts from the same initial weights (rnnkit\'s seed-1 initialisation, copied by PyTorch name) and trains on the same windows; each shuffles every epoch with its own seeded generator (tfjs: Math.random), mini-batches are consecutive slices of the permutation, the last one partial.',
    '- rnnkit: `new Sequential([LSTM, Dense])`; `dataset(x, y)` built once per peer before timing (text x: int32 token ids [N, T], one-hot inside the core); each timed epoch is one `fit(ds, { epochs: 1, batchSize, shuffle: true })` call.',
    '- PyTorch (bench/torch_fit.py): nn.LSTM(batch_first) + nn.Linear, Adam, a loop over a seeded torch.randperm with whole-tensor indexing (no DataLoader); text input one-hot per batch with F.one_hot(ids, V).float(), F.cross_entropy on the logits; torch.set_num_threads(n), OPENBLAS_NUM_THREADS=1, OPENBLAS_CORETYPE/L2_SIZE unset in its process only.',
    `- tfjs: \`model.fit\` with a softmax Dense and categorical cross-entropy on one-hot targets (the same function as cross-entropy on logits) or MSE, on the first ${r.workloads.map((w) => `${w.tfjsCap.wasm} / ${w.tfjsCap.cpu} (${w.id}, wasm / cpu)`).join(', ')} sequences only: its whole epoch is scaled from its sequences/s, and its loss is over that subset, not comparable.`,
    '- Workspace estimate (bench/fit/workloads.ts `workspaceBytes`), float32: 4·[T·B·6H (forward cache: 4 gates, c, h) + T·B·4H (gate gradients) + T·B·I (mini-batch input) + 2·T·B·U (head outputs and gradients) + 4·P (parameters, gradients, Adam m and v)].',
    '- A timing on a shared machine means something only as a ratio against rows from the same run.',
  );
  out.push('');
  return out.join('\n');
}
