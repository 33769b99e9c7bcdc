// Fills the README's benchmark table and wasm sizes from bench/results/latest.json and build/*.wasm,
// and the training table from bench/results/fit.json when it exists, so the README always quotes
// real runs, and the layer-stack table from bench/results/stacks.json. Usage: node scripts/readme-bench.mjs
// (after npm run bench or npm run bench:fit); --stacks fills only the stacks block.
import { existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url);
const r = JSON.parse(readFileSync(new URL('bench/results/latest.json', root), 'utf8'));
const med = (w, peer) => r.rows.find((x) => x.workload === w && x.peer === peer && x.status === 'ok')?.medianMs;
const fmt = (ms) => (ms === undefined ? '—' : ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
const ratio = (a, b) => (a === undefined || b === undefined ? '—' : `${(b / a).toFixed(2)}×`);
const cols = [
  ['rnnkit native ×1', 'rnnkit-native ×1'],
  ['rnnkit native ×2', 'rnnkit-native ×2 (all)'],
  ['rnnkit wasm ×1', 'rnnkit-wasm ×1 (SIMD)'],
  ['rnnkit wasm ×2', 'rnnkit-wasm ×2 (all) (SIMD)'],
  ['ONNX Runtime ×1', 'onnxruntime ×1'],
  ['ONNX Runtime ×2', 'onnxruntime ×2'],
  ['PyTorch ×1', 'pytorch ×1'],
  ['tfjs-wasm', 'tfjs-wasm (SIMD)'],
];
const lines = [
  `| workload | ${cols.map((c) => c[0]).join(' | ')} | native ×1 vs ORT ×1 | native ×2 vs ORT ×2 | native ×1 vs PyTorch ×1 | wasm ×1 vs tfjs-wasm | wasm ×2 vs tfjs-wasm |`,
  `|---|${cols.map(() => '---|').join('')}---|---|---|---|---|`,
];
for (const w of ['F1', 'F2', 'G1', 'R1', 'T1', 'TG1']) {
  const m = Object.fromEntries(cols.map(([, peer]) => [peer, med(w, peer)]));
  lines.push(
    `| ${w} | ${cols.map(([, p]) => fmt(m[p])).join(' | ')} | ${ratio(m['rnnkit-native ×1'], m['onnxruntime ×1'])} | ` +
      `${ratio(m['rnnkit-native ×2 (all)'], m['onnxruntime ×2'])} | ${ratio(m['rnnkit-native ×1'], m['pytorch ×1'])} | ` +
      `${ratio(m['rnnkit-wasm ×1 (SIMD)'], m['tfjs-wasm (SIMD)'])} | ${ratio(m['rnnkit-wasm ×2 (all) (SIMD)'], m['tfjs-wasm (SIMD)'])} |`,
  );
}
const size = (f) => statSync(new URL(`build/${f}`, root)).size;
const gz = (f) => gzipSync(readFileSync(new URL(`build/${f}`, root)), { level: 9 }).length;
const n = (v) => v.toLocaleString('en-US');
const mc = r.machine;

// Training end to end (bench/fit/run.ts): seconds per whole epoch, speed-ups as sequences/s ratios.
function fitSection() {
  const url = new URL('bench/results/fit.json', root);
  if (!existsSync(url)) return '';
  const f = JSON.parse(readFileSync(url, 'utf8'));
  const row = (w, peer) => f.rows.find((x) => x.workload === w && x.peer === peer && x.status === 'ok');
  const s = (x) => (x === undefined ? '—' : x.fullEpochS < 10 ? x.fullEpochS.toFixed(2) : x.fullEpochS.toFixed(1));
  const x = (a, b) => (a && b ? `${(a.seqPerS / b.seqPerS).toFixed(2)}×` : '—');
  const peers = [
    ['native ×1', 'rnnkit-native ×1'],
    ['native ×2', 'rnnkit-native ×2'],
    ['wasm ×1', 'rnnkit-wasm ×1 (SIMD)'],
    ['wasm ×2', 'rnnkit-wasm ×2 (SIMD)'],
    ['PyTorch ×1', 'pytorch ×1'],
    ['PyTorch ×2', 'pytorch ×2'],
    ['tfjs-wasm*', 'tfjs-wasm (SIMD)'],
  ];
  const out = [
    `Training end to end, \`${f.command}\` on ${f.machine.date.slice(0, 10)} (${f.machine.cpu}, CPU family ${f.machine.cpuFamily}, load average ${f.machine.loadavg?.map((v) => v.toFixed(1)).join(' → ') ?? '?'}):`,
    `seconds per epoch over the whole data set (median of ${f.epochsPerPeer}), every peer from the same initial weights; speed-ups in sequences/s at equal threads.`,
    '',
    `| workload | ${peers.map((p) => p[0]).join(' | ')} | native ×1 vs PyTorch ×1 | native ×2 vs PyTorch ×2 | final loss rnnkit ×1 / PyTorch ×1 |`,
    `|---|${peers.map(() => '---|').join('')}---|---|---|`,
  ];
  for (const w of f.workloads) {
    const r = Object.fromEntries(peers.map(([, p]) => [p, row(w.id, p)]));
    const loss = (v) => (v === undefined ? '—' : v.finalLoss.toFixed(3));
    out.push(
      `| ${w.id} ${w.title} (${w.sequences.toLocaleString('en-US')} seq) | ${peers.map(([, p]) => s(r[p])).join(' | ')} | ` +
        `${x(r['rnnkit-native ×1'], r['pytorch ×1'])} | ${x(r['rnnkit-native ×2'], r['pytorch ×2'])} | ${loss(r['rnnkit-native ×1'])} / ${loss(r['pytorch ×1'])} |`,
    );
  }
  out.push('', '\\* tfjs trains on a capped subset; its epoch time is scaled from its sequences/s.');
  if (Math.max(...(f.machine.loadavg ?? [0])) > f.machine.cores) {
    out.push(
      `The machine was shared during this run (load average above its ${f.machine.cores} cores): 2-thread rows lose most, PyTorch ×2 ` +
        "(OpenMP threads spin-waiting for a busy core) by far the most, so the ×2 ratios overstate rnnkit's lead; the ×1 columns are the comparison to quote.",
    );
  }
  const sc = f.scaling.filter((r) => r.msPerBatch !== undefined);
  if (sc.length) {
    out.push('', '| fit() scaling (S1 model, 1 thread) | sequences | ms per mini-batch | peak RSS − baseline during fit | dataset + 2× workspace |', '|---|---|---|---|---|');
    const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    for (const r of sc) {
      out.push(`| ${r.peer} | ${r.sequences.toLocaleString('en-US')}${r.released ? ' (x, y released)' : ''} | ${r.msPerBatch.toFixed(2)} | ${mib((r.peakKb - r.baselineKb) * 1024)} | ${mib(r.datasetBytes + 2 * r.workspaceBytes)} |`);
    }
  }
  return `\n\n${out.join('\n')}`;
}

// The layer-stack training steps (bench/stacks.ts: CR1 CRNN, AT1 attention text classifier) from the newest
// of latest.json and stacks.json (`npx tsx bench/run.ts --only=CR1,AT1 --name=stacks`), in their own block.
function stacksSection() {
  // The newer of a full run (latest.json, which has CR1/AT1 since issue 14) and a run of the stacks alone.
  const runs = ['latest', 'stacks']
    .map((n) => new URL(`bench/results/${n}.json`, root))
    .filter((u) => existsSync(u))
    .map((u) => ({ ...JSON.parse(readFileSync(u, 'utf8')), md: u.pathname.replace(/.*\/bench\//, 'bench/').replace(/json$/, 'md') }))
    .filter((x) => x.rows.some((row) => row.workload === 'CR1' || row.workload === 'AT1'))
    .sort((x, y) => y.machine.date.localeCompare(x.machine.date));
  if (!runs.length) return undefined;
  const st = runs[0];
  const row = (w, peer) => st.rows.find((x) => x.workload === w && x.peer === peer && x.status === 'ok');
  const cell = (x) => (x ? `${fmt(x.medianMs)} (${fmt(x.p25Ms)}–${fmt(x.p75Ms)})` : '—');
  const peers = [
    ['native ×1', 'rnnkit-native ×1'],
    ['native ×2', 'rnnkit-native ×2 (all)'],
    ['wasm ×1', 'rnnkit-wasm ×1 (SIMD)'],
    ['wasm ×2', 'rnnkit-wasm ×2 (all) (SIMD)'],
    ['PyTorch ×1', 'pytorch ×1'],
    ['PyTorch ×2', 'pytorch ×2'],
    ['tfjs-wasm', 'tfjs-wasm (SIMD)'],
    ['tfjs cpu', 'tfjs (cpu)'],
  ];
  const ratios = [
    ['native ×1 vs PyTorch ×1', 'rnnkit-native ×1', 'pytorch ×1'],
    ['native ×2 vs PyTorch ×2', 'rnnkit-native ×2 (all)', 'pytorch ×2'],
    ['wasm ×1 vs tfjs-wasm', 'rnnkit-wasm ×1 (SIMD)', 'tfjs-wasm (SIMD)'],
  ];
  const m = st.machine;
  const out = [
    `Layer stacks, one training step each (batch 32, cross-entropy, Adam), \`${st.command}\` on ${m.date.slice(0, 10)}` +
      ` (${m.cpu}, ${m.cores} cores${m.loadavg ? `, load average ${m.loadavg.map((v) => v.toFixed(1)).join(' → ')}` : ''}): median ms (p25–p75), every peer timed in the same interleaved rounds;` +
      ' same shapes and FLOPs, each peer with its own initial weights. **CR1** CRNN: [32, 200, 40] features → Conv1D(40→64, k 5, same, relu) → MaxPool1D(2) → BiGRU(64) →' +
      ' additive AttentionPooling → Dense(10). **AT1** text classifier: int32 ids [32, 200], vocabulary 5,000 → Embedding(64) → BiLSTM(64) → AttentionPooling → Dense(2).' +
      ` tfjs: attention pooling and the embedding gradient written in tf ops, and on tfjs-wasm the convolution (im2col) too (\`${st.md}\`).`,
    '',
    `| workload | GFLOP | ${peers.map((p) => p[0]).join(' | ')} | ${ratios.map((r) => r[0]).join(' | ')} |`,
    `|---|---|${peers.map(() => '---|').join('')}${ratios.map(() => '---|').join('')}`,
  ];
  for (const w of st.workloads.filter((x) => x.id === 'CR1' || x.id === 'AT1')) {
    out.push(
      `| ${w.id} ${w.title} | ${w.gflop.toFixed(2)} | ${peers.map(([, p]) => cell(row(w.id, p))).join(' | ')} | ` +
        `${ratios.map(([, a, b]) => ratio(row(w.id, a)?.medianMs, row(w.id, b)?.medianMs)).join(' | ')} |`,
    );
  }
  if (Math.max(...(m.loadavg ?? [0])) > m.cores) {
    out.push(
      '',
      `The machine was shared during this run (load average above its ${m.cores} cores): the 2-thread rows lose most, ` +
        'PyTorch ×2 (OpenMP threads spin-waiting for a busy core) most of all, so the ×1 columns are the comparison to quote.',
    );
  }
  return out.join('\n');
}

/** Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` (markers kept). */
function fill(text, name, body) {
  const open = `<!-- ${name}:start -->`;
  const close = `<!-- ${name}:end -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  return start >= 0 && end > start ? `${text.slice(0, start)}${open}\n${body}\n${text.slice(end)}` : text;
}

const readme = new URL('README.md', root);
let text = readFileSync(readme, 'utf8');
const stacks = stacksSection();
if (stacks) text = fill(text, 'bench-stacks', stacks);
// --stacks: only the stacks block (a run of CR1/AT1 alone leaves the other tables and the wasm sizes as they were).
if (process.argv.includes('--stacks')) {
  writeFileSync(readme, text);
  console.log(stacks ?? 'no bench/results/stacks.json');
  process.exit(0);
}
const start = text.indexOf('<!-- bench:start -->');
const end = text.indexOf('<!-- bench:end -->');
const block = `<!-- bench:start -->
Median ms (lower is better) from \`npm run bench\` on ${mc.date.slice(0, 10)}: ${mc.cpu}, ${mc.cores} cores, Node ${mc.node},
PyTorch ${mc.torch} with ${mc.blas.split(' ')[0]}; measured FMA peak ${mc.peak1Gflops.toFixed(0)} GFLOP/s on one core,
${mc.peakAllGflops.toFixed(0)} on all. Ratios are speed-ups measured in that same run (> 1 = rnnkit faster).

${lines.join('\n')}

| file | bytes | gzipped (level 9) |
|---|---|---|
| \`build/rnnkit-simd-threads.wasm\` (SIMD128, threads: Node, isolated Web Workers) | ${n(size('rnnkit-simd-threads.wasm'))} | ${n(gz('rnnkit-simd-threads.wasm'))} |
| \`build/rnnkit-simd.wasm\` (SIMD128) | ${n(size('rnnkit-simd.wasm'))} | ${n(gz('rnnkit-simd.wasm'))} |
| \`build/rnnkit.wasm\` (scalar, for engines without SIMD) | ${n(size('rnnkit.wasm'))} | ${n(gz('rnnkit.wasm'))} |${fitSection()}
<!-- bench:end -->`;
text = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + '<!-- bench:end -->'.length) : text;
writeFileSync(readme, text);
console.log(block);
