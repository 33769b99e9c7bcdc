/**
 * Two builds of the native addon, A and B, on one workload in one process: calls alternate A, B /
 * B, A round by round, so load from other tenants of a shared machine hits both alike, and a change
 * worth 1–3% shows up as a ratio that a separate run of each would drown in noise. Also reports
 * whether the two give bit-identical outputs (and training losses), which a pure speed change must.
 *
 *   npx tsx bench/ab.ts OLD.node NEW.node [--cell=lstm|gru|rnn_tanh] [--shape=B,T,I,H]
 *       [--threads=N] [--mode=forward|train] [--bidirectional] [--rounds=N]
 *
 * Defaults: the F1 shape (32,100,64,256), LSTM, 1 thread, forward, 40 rounds. `train` adds a
 * Dense(H→64) head at every step and times Adam training steps on MSE (T1 with --cell=lstm, TG1 with
 * gru). Keep a build with `npm run build:native && cp build/rnnkit.node /tmp/old.node`, change the
 * code, build again, then compare /tmp/old.node with build/rnnkit.node.
 */

import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { quantileSorted } from './stats.js';

interface RawModel {
  /** [output, states…, ...dims]: the states as h and c apart (older addons) or one buffer. */
  forward(x: Float32Array, xDims: number[]): (Float32Array | number)[];
  compile(options: string): void;
  trainStep(x: Float32Array, xDims: number[], y: Float32Array): number;
  dispose(): void;
}
interface Addon {
  Model: new (spec: string) => RawModel;
}

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flag = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
if (positional.length !== 2) {
  console.error('usage: npx tsx bench/ab.ts OLD.node NEW.node [--cell=lstm] [--shape=B,T,I,H] [--threads=1] [--mode=forward|train] [--bidirectional] [--rounds=40]');
  process.exit(2);
}
const [batch, seqLen, inputSize, hiddenSize] = flag('shape', '32,100,64,256').split(',').map(Number);
const cell = flag('cell', 'lstm');
const threads = Number(flag('threads', '1'));
const train = flag('mode', 'forward') === 'train';
const rounds = Number(flag('rounds', '40'));
const HEAD_UNITS = 64;

const spec = JSON.stringify({
  batch_first: true,
  seed: 1,
  threads,
  blocks: [{ cell, input_size: inputSize, hidden_size: hiddenSize, bidirectional: process.argv.includes('--bidirectional') }],
  ...(train ? { head: { units: HEAD_UNITS, return_sequences: true } } : {}),
});
const dims = [batch, seqLen, inputSize];
const x = Float32Array.from({ length: batch * seqLen * inputSize }, (_, i) => Math.sin(i));
const y = Float32Array.from({ length: batch * seqLen * HEAD_UNITS }, (_, i) => Math.cos(i));

function load(path: string): RawModel {
  const addon = createRequire(import.meta.url)(resolve(path)) as Addon;
  const m = new addon.Model(spec);
  if (train) m.compile(JSON.stringify({ loss: 'mse', optimizer: { type: 'adam', lr: 1e-3 } }));
  return m;
}
const models = positional.map(load);

/** One timed call: a forward or a training step. */
const call = (m: RawModel): unknown => (train ? m.trainStep(x, dims, y) : m.forward(x, dims));
/** What a call returns, as bits: the output and the final states (forward) or the loss (train).
 * The states are every array after the output, concatenated: older addons return h and c apart,
 * newer ones one buffer of all states (h then c), so both compare alike. */
const bits = (m: RawModel): Uint32Array[] => {
  if (train) return [new Uint32Array(Float32Array.of(m.trainStep(x, dims, y)).buffer)];
  const [output, ...states] = m.forward(x, dims).filter((a): a is Float32Array => a instanceof Float32Array);
  const flat = Float32Array.from(states.flatMap((s) => Array.from(s)));
  return [output, flat].map((a) => new Uint32Array(a.buffer, a.byteOffset, a.length));
};
const sameBits = (p: Uint32Array, q: Uint32Array) => p.length === q.length && p.every((v, i) => v === q[i]);
// Three calls each (a training run's first steps), compared call by call; they also warm up.
const results = models.map((m) => [0, 1, 2].flatMap(() => bits(m)));
const identical = results[0].every((r, i) => sameBits(r, results[1][i]));

const samples: number[][] = [[], []];
for (let r = 0; r < 2 * rounds; r++) {
  for (const k of r % 2 ? [0, 1] : [1, 0]) {
    const t0 = process.hrtime.bigint();
    call(models[k]);
    samples[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
models.forEach((m) => m.dispose());

const [a, b] = samples.map((s) => [...s].sort((p, q) => p - q));
const show = (s: number[]) => `${quantileSorted(s, 0.5).toFixed(4)} ms (p25–p75 ${quantileSorted(s, 0.25).toFixed(4)}–${quantileSorted(s, 0.75).toFixed(4)})`;
console.log(`${cell}${process.argv.includes('--bidirectional') ? ' bidirectional' : ''} B=${batch} T=${seqLen} I=${inputSize} H=${hiddenSize}, ${threads} thread(s), ${train ? 'train step' : 'forward'}, ${rounds} rounds`);
console.log(`  A ${positional[0]}: ${show(a)}`);
console.log(`  B ${positional[1]}: ${show(b)}`);
console.log(`  A / B = ${(quantileSorted(a, 0.5) / quantileSorted(b, 0.5)).toFixed(3)} (> 1: B faster); results ${identical ? 'bit-identical' : 'DIFFER'}`);
