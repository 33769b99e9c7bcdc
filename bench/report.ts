/**
 * The benchmark's outputs: bench/results/latest.json (every row with its raw summary) and
 * bench/results/latest.md (machine, command, medians with spread / GFLOP/s / % of peak, and the
 * speed-up of each rnnkit row over each peer — all from the same run).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { speedup } from './stats.js';

/** What every benchmark row has (this file's Row, bench/fit/report.ts's FitRow). */
export interface PeerRow {
  workload: string;
  peer: string;
  threads: number;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  note?: string;
}

export interface Row extends PeerRow {
  samples?: number;
  medianMs?: number;
  p25Ms?: number;
  p75Ms?: number;
  gflops?: number;
  /** Percent of the measured FMA peak for this row's thread count. */
  pctPeak?: number;
  /** Max |output − rnnkit-native ×1 output| on the inference workloads, where comparable. */
  maxAbsDiff?: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  date: string;
  peak1Gflops?: number;
  peakAllGflops?: number;
  rnnkitIsa?: string;
  torch?: string;
  blas?: string;
  /** 1-minute load average at the start and the end of the run (a shared machine's other tenants). */
  loadavg?: number[];
}

export interface Report {
  command: string;
  mode: 'quick' | 'full';
  machine: Machine;
  workloads: { id: string; title: string; shape: string; gflop: number }[];
  rows: Row[];
  notes: string[];
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const ms = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '—' : v < 0.1 ? v.toFixed(4) : v < 10 ? v.toFixed(3) : v.toFixed(1);

/** Writes `<name>.json` and `<name>.md` into `outDir` and prints the markdown and where both went. */
export function writeResults(outDir: string, name: string, report: unknown, md: string): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, `${name}.md`), md);
  console.log(`\n${md}\nwrote ${join(outDir, `${name}.json`)} and ${name}.md`);
}

export function isRnnkit(peer: string): boolean {
  return peer.startsWith('rnnkit');
}

export function toMarkdown(r: Report): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# rnnkit benchmark (${r.mode} mode)`, '');
  out.push('```sh', r.command, '```', '');
  out.push(
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.os}; Node ${m.node}; ${m.date}${m.loadavg ? `; load average ${m.loadavg.map((v) => v.toFixed(1)).join(' → ')}` : ''}`,
    `- Measured FMA peak (rnnkit-core peak.rs): ${fmt(m.peak1Gflops, 1)} GFLOP/s on 1 thread, ${fmt(m.peakAllGflops, 1)} GFLOP/s on ${m.cores} threads; rnnkit kernels: ${m.rnnkitIsa ?? '—'}`,
    `- PyTorch: ${m.torch ?? 'not available'}${m.blas ? `, BLAS: ${m.blas}` : ''}`,
    '',
  );
  out.push('| workload | shape | GFLOP |', '|---|---|---|');
  for (const w of r.workloads) out.push(`| ${w.id} | ${w.shape} | ${w.gflop.toFixed(3)} |`);
  out.push('');
  out.push('## Medians (ms; lower is better)', '');
  out.push('| workload | peer | median ms | p25–p75 ms | n | GFLOP/s | % peak | max abs diff vs rnnkit ×1 |', '|---|---|---|---|---|---|---|---|');
  for (const row of r.rows) {
    if (row.status !== 'ok') {
      out.push(`| ${row.workload} | ${row.peer} | ${row.status}: ${row.reason ?? ''} | | | | | |`);
      continue;
    }
    out.push(
      `| ${row.workload} | ${isRnnkit(row.peer) ? `**${row.peer}**` : row.peer} | ${ms(row.medianMs)} | ${ms(row.p25Ms)}–${ms(row.p75Ms)} | ${row.samples} | ${fmt(row.gflops, 1)} | ${fmt(row.pctPeak, 0)}% | ${row.maxAbsDiff === undefined ? '' : row.maxAbsDiff.toExponential(1)} |`,
    );
  }
  out.push('');
  // Speed-ups: peer median / rnnkit median, > 1 means rnnkit is faster.
  const ok = r.rows.filter((x) => x.status === 'ok' && x.medianMs !== undefined);
  const peers = [...new Set(ok.filter((x) => !isRnnkit(x.peer)).map((x) => x.peer))];
  if (peers.length) {
    out.push('## Speed-up of rnnkit over each peer (peer median ÷ rnnkit median; > 1 = rnnkit faster)', '');
    out.push(`| workload | rnnkit row | ${peers.join(' | ')} |`, `|---|---|${peers.map(() => '---').join('|')}|`);
    for (const w of r.workloads) {
      for (const mine of ok.filter((x) => x.workload === w.id && isRnnkit(x.peer))) {
        const cells = peers.map((p) => {
          const theirs = ok.find((x) => x.workload === w.id && x.peer === p);
          return theirs ? `${speedup(mine.medianMs!, theirs.medianMs!).toFixed(2)}×` : '—';
        });
        out.push(`| ${w.id} | ${mine.peer} | ${cells.join(' | ')} |`);
      }
    }
    out.push('');
  }
  if (r.notes.length) {
    out.push('## Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
