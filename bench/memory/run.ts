/**
 * The long-memory reproduction (issue 15; not run by CI): the adding problem at T = 100, 500, 1000
 * and a selective-copying task, trained with rnnkit's recurrent layers on fresh data every round
 * until a wall-time budget runs out or the task is solved, scaled down from the papers to what 2 CPU
 * cores do in under an hour (the reductions are printed with the table). Writes
 * bench/results/memory.{json,md}.
 *
 *   npx tsx bench/memory/run.ts [--tasks=adding,copying] [--steps=100,500,1000] [--models=LSTM,GRU,...]
 *                               [--budget=SECONDS per run] [--threads=N]
 *
 * Models whose layer type this build does not have are listed as unavailable, not skipped silently.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layerFromJSON, LAYER_TYPES, ready, Sequential, tensor, backendInfo } from '../../ts/index.js';
import { addingProblem, copyingVocab, selectiveCopying, type CopyingShape } from './tasks.js';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const TASKS = arg('tasks', 'adding,copying').split(',');
const STEPS = arg('steps', '100,500,1000').split(',').map(Number);
const MODELS = arg('models', 'LSTM,GRU,IndRNN,MinGRU,MinLSTM').split(',');
const BUDGET_S = Number(arg('budget', '150'));
const THREADS = Number(arg('threads', '0'));

/** Hidden units of every recurrent layer; two layers per model, as in the IndRNN paper's adding runs. */
const HIDDEN = 64;
const BATCH = 50;
/** Sequences trained between two evaluations (fresh each round: the papers' infinite-data regime). */
const ROUND = 20 * BATCH;
const TEST = 500;
/** The adding problem counts as solved below this test MSE (the IndRNN paper's curves reach ~1e-4). */
const ADDING_SOLVED = 0.01;
const COPYING: CopyingShape = { context: 128, tokens: 8, symbols: 8 };
const COPYING_SOLVED = 0.99;

type LayerJson = { type: string; config: Record<string, unknown> };

/** Two recurrent layers of `type` reading `input` features (or ids when an Embedding comes first). */
function recurrent(type: string, input: number | undefined, steps: number): LayerJson[] {
  const first = input === undefined ? {} : { input_size: input };
  switch (type) {
    case 'LSTM':
    case 'GRU':
      return [{ type, config: { ...first, hidden_size: HIDDEN, num_layers: 2 } }];
    case 'IndRNN':
      // The paper's bound for relu IndRNN over T steps: |u| ≤ 2^(1/T).
      return [{ type, config: { ...first, hidden_size: HIDDEN, num_layers: 2, nonlinearity: 'relu', recurrent_max_abs: 2 ** (1 / steps) } }];
    default:
      return [{ type, config: { ...first, hidden_size: HIDDEN } }, { type, config: { hidden_size: HIDDEN } }];
  }
}

interface Row {
  task: string;
  steps: number;
  model: string;
  params?: number;
  metric?: number;
  metricName: string;
  solved?: boolean;
  secondsToSolve?: number;
  seconds?: number;
  sequences?: number;
  unavailable?: string;
}

function build(layers: LayerJson[]): Sequential {
  return new Sequential(layers.map((l, k) => layerFromJSON(l, `layers[${k}]`)) as never, { seed: 1, threads: THREADS });
}

/** Trains `model` on `round(seed)` batches until the budget is spent or `solved(metric)`. */
async function trainUntil(model: Sequential, round: (seed: number) => Promise<void>, score: () => number, solved: (m: number) => boolean) {
  const start = performance.now();
  let metric = score();
  let sequences = 0;
  let secondsToSolve: number | undefined;
  for (let r = 1; (performance.now() - start) / 1000 < BUDGET_S; r++) {
    await round(r);
    sequences += ROUND;
    metric = score();
    if (!Number.isFinite(metric)) break;
    if (solved(metric)) {
      secondsToSolve = (performance.now() - start) / 1000;
      break;
    }
  }
  return { metric, sequences, secondsToSolve, seconds: (performance.now() - start) / 1000 };
}

async function adding(type: string, steps: number): Promise<Row> {
  const model = build([...recurrent(type, 2, steps), { type: 'LastStep', config: {} }, { type: 'Dense', config: { units: 1 } }]);
  model.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 2e-3 }, clipNorm: 1 });
  const test = addingProblem(TEST, steps, 999_999);
  const testX = tensor(test.x, [TEST, steps, 2]);
  const score = () => {
    const p = model.predict(testX).data;
    let s = 0;
    for (let i = 0; i < TEST; i++) s += (p[i] - test.y[i]) ** 2;
    return s / TEST;
  };
  const round = async (seed: number) => {
    const d = addingProblem(ROUND, steps, seed);
    await model.fit(tensor(d.x, [ROUND, steps, 2]), tensor(d.y, [ROUND, 1]), { epochs: 1, batchSize: BATCH });
  };
  const r = await trainUntil(model, round, score, (m) => m < ADDING_SOLVED);
  const row: Row = { task: 'adding', steps, model: type, params: model.numParameters, metricName: 'test MSE', ...r, solved: r.metric < ADDING_SOLVED };
  model.dispose();
  return row;
}

async function copying(type: string): Promise<Row> {
  const steps = COPYING.context + COPYING.tokens;
  const vocab = copyingVocab(COPYING);
  const model = build([
    { type: 'Embedding', config: { num_embeddings: vocab, embedding_dim: HIDDEN } },
    ...recurrent(type, undefined, steps),
    { type: 'Dense', config: { units: vocab, activation: 'softmax' } },
  ]);
  model.compile({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: 2e-3 }, clipNorm: 1 });
  const test = selectiveCopying(TEST, COPYING, 999_999);
  const testX = tensor(test.x, [TEST, steps]);
  const score = () => {
    const p = model.predict(testX).data;
    let right = 0;
    let total = 0;
    for (let i = 0; i < TEST * steps; i++) {
      if (!test.mask[i]) continue;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (p[i * vocab + v] > p[i * vocab + best]) best = v;
      right += best === test.y[i] ? 1 : 0;
      total++;
    }
    return right / total;
  };
  const round = async (seed: number) => {
    const d = selectiveCopying(ROUND, COPYING, seed);
    await model.fit(tensor(d.x, [ROUND, steps]), tensor(d.y, [ROUND, steps]), { epochs: 1, batchSize: BATCH, mask: tensor(d.mask, [ROUND, steps]) });
  };
  const r = await trainUntil(model, round, score, (m) => m >= COPYING_SOLVED);
  const row: Row = { task: 'copying', steps, model: type, params: model.numParameters, metricName: 'test accuracy', ...r, solved: r.metric >= COPYING_SOLVED };
  model.dispose();
  return row;
}

function table(rows: Row[]): string {
  const lines = ['| task | T | model | params | result | solved | time to solve (s) | time (s) | sequences |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    if (r.unavailable) {
      lines.push(`| ${r.task} | ${r.steps} | ${r.model} | | ${r.unavailable} | | | | |`);
      continue;
    }
    const metric = r.metricName === 'test MSE' ? r.metric!.toExponential(2) : `${(100 * r.metric!).toFixed(1)}%`;
    lines.push(`| ${r.task} | ${r.steps} | ${r.model} | ${r.params} | ${r.metricName} ${metric} | ${r.solved ? 'yes' : 'no'} | ${r.secondsToSolve?.toFixed(0) ?? '—'} | ${r.seconds!.toFixed(0)} | ${r.sequences} |`);
  }
  return lines.join('\n');
}

await ready();
const rows: Row[] = [];
const jobs: { task: string; steps: number; run: (type: string) => Promise<Row> }[] = [];
if (TASKS.includes('adding')) for (const t of STEPS) jobs.push({ task: 'adding', steps: t, run: (m) => adding(m, t) });
if (TASKS.includes('copying')) jobs.push({ task: 'copying', steps: COPYING.context + COPYING.tokens, run: copying });
for (const job of jobs) {
  for (const m of MODELS) {
    if (!LAYER_TYPES.includes(m)) {
      rows.push({ task: job.task, steps: job.steps, model: m, metricName: '', unavailable: `no ${m} layer in this build` });
      continue;
    }
    const row = await job.run(m);
    rows.push(row);
    console.log(table([row]).split('\n')[2]);
  }
}

const machine = { date: new Date().toISOString(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, backend: backendInfo(), loadavg: loadavg() };
const setup = `Two recurrent layers of ${HIDDEN} units (LSTM, GRU, IndRNN: one module with num_layers 2; MinGRU/MinLSTM: two layers), Adam lr 2e-3, clipNorm 1, batches of ${BATCH}, ${ROUND} fresh sequences per round, scored on ${TEST} held-out sequences after every round, at most ${BUDGET_S} s per run. Adding: 2 inputs per step → LastStep → Dense(1), solved below MSE ${ADDING_SOLVED} (predicting 1 scores 0.167). Selective copying: ${COPYING.tokens} tokens of ${COPYING.symbols} symbols among ${COPYING.context} noise steps, then ${COPYING.tokens} marker steps; Embedding(${HIDDEN}) → layers → Dense(softmax), cross-entropy on the marker steps only; solved at ${100 * COPYING_SOLVED}% accuracy (chance ${(100 / COPYING.symbols).toFixed(1)}%).`;
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results');
mkdirSync(out, { recursive: true });
const command = `npx tsx bench/memory/run.ts ${process.argv.slice(2).join(' ')}`.trim();
writeFileSync(join(out, 'memory.json'), JSON.stringify({ command, machine, setup, rows }, null, 2) + '\n');
const md = `# Long-memory reproduction\n\n\`${command}\` on ${machine.date.slice(0, 10)} (${machine.cpu}, ${machine.cores} cores, ${machine.backend.name} ${machine.backend.isa ?? ''}).\n\n${setup}\n\n${table(rows)}\n`;
writeFileSync(join(out, 'memory.md'), md);
console.log(`\n${md}`);
