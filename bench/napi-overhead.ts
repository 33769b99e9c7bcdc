/**
 * Per-call cost of the N-API path on tiny shapes (issue 3: "per-call overhead of the N-API path is
 * measured and kept in single-digit microseconds"). Times, in one process and interleaved round by
 * round so a noisy shared machine hits every row alike:
 *   - `isa()`: an empty module function, the floor of any JS → Rust → JS call;
 *   - raw `Model.forward` on T=1, B=1, I=1, H=1 (almost no math: what argument parsing, the model's
 *     own checks and building the result cost; the raw result is the flat array
 *     `[output, h, c, ...outputDims]`, which ts/backend/native.ts turns into an object);
 *   - raw `Model.forward` on F2 (B=1 T=50 I=16 H=64) and the same through the TypeScript facade;
 * and reports medians (p25–p75) in µs. The F2 time minus the core's own time for F2 (`cargo bench
 * -p rnnkit-core --bench layers -- F2` uses two threads by default; compare at `threads: 1`) is the
 * binding's share. Run: `npx tsx bench/napi-overhead.ts [path/to/rnnkit.node]` (default:
 * build/rnnkit.node; `npm run build:native` first).
 */

import { createRequire } from 'node:module';
import { resolve } from 'node:path';

interface RawModel {
  forward(x: Float32Array, xDims: number[], h0?: Float32Array, c0?: Float32Array, lengths?: Int32Array, training?: boolean): unknown;
  dispose(): void;
}
interface Addon {
  isa(): string;
  Model: new (spec: string) => RawModel;
}

const addonPath = resolve(process.argv[2] ?? 'build/rnnkit.node');
const addon = createRequire(import.meta.url)(addonPath) as Addon;

/** Deterministic values in [-0.5, 0.5). */
function data(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return out;
}

function lstm(input: number, hidden: number): RawModel {
  const spec = { seed: 1, threads: 1, blocks: [{ cell: 'lstm', input_size: input, hidden_size: hidden }], head: null };
  return new addon.Model(JSON.stringify(spec));
}

const tiny = lstm(1, 1);
const f2 = lstm(16, 64);
const xTiny = data(1);
const xF2 = data(50 * 16);

type Row = { name: string; reps: number; run: () => unknown };
const rows: Row[] = [
  { name: 'isa() (empty call)', reps: 2000, run: () => addon.isa() },
  { name: 'forward T=1 B=1 I=1 H=1 (raw)', reps: 2000, run: () => tiny.forward(xTiny, [1, 1, 1], undefined, undefined, undefined, false) },
  { name: 'forward F2 B=1 T=50 I=16 H=64 (raw)', reps: 200, run: () => f2.forward(xF2, [50, 1, 16], undefined, undefined, undefined, false) },
];

// The facade (ts/ run by tsx, backend forced to this addon): the path a user takes — argument
// checks, tensor wrapping, error mapping — on the same F2 input.
process.env.RNNKIT_NATIVE_PATH = addonPath;
const api = await import('../ts/index.js');
await api.setBackend('native');
const layer = new api.LSTM({ inputSize: 16, hiddenSize: 64, seed: 1, threads: 1 });
const xF2Tensor = api.tensor(xF2, [50, 1, 16]);
rows.push({ name: 'LSTM.forward F2 (TypeScript facade)', reps: 200, run: () => layer.forward(xF2Tensor) });

const samples = new Map<string, number[]>(rows.map((r) => [r.name, []]));
for (const r of rows) for (let i = 0; i < 50; i++) r.run(); // warm-up: JIT, page-in, packing
const rounds = 60;
for (let round = 0; round < rounds; round++) {
  for (const r of rows) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < r.reps; i++) r.run();
    const t1 = process.hrtime.bigint();
    samples.get(r.name)!.push(Number(t1 - t0) / 1e3 / r.reps);
  }
}

function q(v: number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * p)];
}
console.log(`addon ${addonPath} (isa ${addon.isa()}), ${rounds} interleaved rounds, µs per call`);
for (const r of rows) {
  const v = samples.get(r.name)!;
  console.log(`  ${r.name.padEnd(40)} ${q(v, 0.5).toFixed(2).padStart(8)}  (p25–p75 ${q(v, 0.25).toFixed(2)}–${q(v, 0.75).toFixed(2)})`);
}
tiny.dispose();
f2.dispose();
layer.dispose();
