/**
 * Character-level language modelling: text → one-hot sequences whose target at every step is the next
 * character's class id. The vocabulary (sorted distinct characters of the training text) is stored with
 * the model, so `rnnkit generate` and `rnnkit eval` encode and decode identically.
 */

import { CliError, readUserFile } from '../args.js';
import type { CharMeta, GeneratorMeta, PreparedData, Split } from './types.js';

export interface CharOptions {
  window: number;
  stride: number;
  valSplit: number;
}

export function readText(path: string): string {
  const text = readUserFile(path, 'text file', 'utf8');
  if (text.length === 0) throw new CliError(`text file ${path} is empty`);
  return text;
}

/** Class ids of `chars`; a character outside the vocabulary is an error naming it and its position. */
export function encode(chars: readonly string[], vocab: readonly string[], what: string): Int32Array {
  const index = new Map(vocab.map((c, i) => [c, i]));
  return Int32Array.from(chars, (c, i) => {
    const id = index.get(c);
    if (id === undefined) {
      throw new CliError(`${what}: character ${JSON.stringify(c)} at position ${i} is not in the model's vocabulary (${vocab.length} characters seen in training)`);
    }
    return id;
  });
}

/** One-hot x [n, window, V] and next-character targets y [n, window] for windows starting at `starts`. */
function windows(ids: Int32Array, starts: number[], window: number, v: number): Split {
  const n = starts.length;
  const x = new Float32Array(n * window * v);
  const y = new Int32Array(n * window);
  starts.forEach((s, k) => {
    for (let t = 0; t < window; t++) {
      x[(k * window + t) * v + ids[s + t]] = 1;
      y[k * window + t] = ids[s + t + 1];
    }
  });
  return { x, xDims: [n, window, v], y, yDims: [n, window] };
}

function starts(from: number, to: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = from; s + window + 1 <= to; s += stride) out.push(s);
  return out;
}

/** A prompt from the start of the text: up to ~20 characters, cut at a word boundary when there is one. */
function defaultPrompt(chars: readonly string[]): string {
  const head = chars.slice(0, 24).join('');
  const cut = head.lastIndexOf(' ');
  return cut >= 4 ? head.slice(0, cut + 1) : head.slice(0, 12);
}

export function charData(
  text: string,
  name: string,
  source: 'text' | 'dataset',
  o: CharOptions,
  vocab?: readonly string[],
  generator?: GeneratorMeta,
): PreparedData {
  const chars = Array.from(text);
  if (chars.length < o.window + 1) {
    throw new CliError(
      `--window ${o.window} is longer than the series: ${name} has ${chars.length} characters, and a window of ${o.window} ` +
        `needs at least ${o.window + 1} (each step predicts the next character). Use a smaller --window.`,
    );
  }
  let split = o.valSplit > 0 ? Math.floor(chars.length * (1 - o.valSplit)) : chars.length;
  if (split < o.window + 1) split = chars.length;
  // The alphabet of the whole text: a character first seen in the validation tail still needs an id.
  const v = vocab ? [...vocab] : [...new Set(chars)].sort();
  const ids = encode(chars, v, name);
  const trainStarts = starts(0, split, o.window, o.stride);
  const valStarts = split < chars.length ? starts(split, chars.length, o.window, o.stride) : [];
  const meta: CharMeta = {
    task: 'charlm',
    source,
    name,
    vocab: v,
    window: o.window,
    prompt: defaultPrompt(chars),
    ...(generator ? { generator } : {}),
  };
  return {
    meta,
    inputSize: v.length,
    outputUnits: v.length,
    returnSequences: true,
    loss: 'cross_entropy',
    headActivation: 'softmax',
    train: windows(ids, trainStarts, o.window, v.length),
    val: valStarts.length > 0 ? windows(ids, valStarts, o.window, v.length) : undefined,
    summary:
      `${name}: ${chars.length} characters, vocabulary of ${v.length} → ${trainStarts.length} training windows of ${o.window} ` +
      `characters, ${valStarts.length > 0 ? `${valStarts.length} validation windows` : o.valSplit > 0 ? 'no validation split (text too short)' : 'no split'}`,
    text,
  };
}
