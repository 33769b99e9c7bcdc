/**
 * The files the fit driver (bench/fit/run.ts) hands to its children (bench/fit/worker.ts,
 * bench/torch_fit.py): DIR/<id>.x and DIR/<id>.y as raw little-endian int32 (token ids) or float32
 * (values), and DIR/<id>.weights.json, the initial parameters by PyTorch name, so that every peer
 * starts from the same weights and trains on the same bytes.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FitData, FitWorkload } from './workloads.js';

/** Parameters by rnnkit/PyTorch name ('0.weight_ih_l0', …, '1.weight', '1.bias'), row-major. */
export type StateDict = Record<string, { shape: number[]; data: number[] }>;

export function writeFitFiles(dir: string, data: FitData, weights: StateDict): void {
  const id = data.workload.id;
  const raw = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(join(dir, `${id}.x`), raw(data.x));
  writeFileSync(join(dir, `${id}.y`), raw(data.y));
  writeFileSync(join(dir, `${id}.weights.json`), JSON.stringify(weights));
}

function readRaw(path: string, tokens: boolean): Int32Array | Float32Array {
  const bytes = new Uint8Array(readFileSync(path));
  return tokens ? new Int32Array(bytes.buffer, 0, bytes.byteLength / 4) : new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
}

/** The workload's data as written, cut to its first `cap` sequences when given. */
export function readFitData(w: FitWorkload, dir: string, sequences: number, cap?: number): FitData {
  const n = cap === undefined ? sequences : Math.min(cap, sequences);
  const x = readRaw(join(dir, `${w.id}.x`), w.tokens);
  const y = readRaw(join(dir, `${w.id}.y`), w.tokens);
  const per = x.length / sequences;
  return { workload: w, sequences: n, x: n === sequences ? x : x.slice(0, n * per), y: n === sequences ? y : y.slice(0, n * per) };
}

export function readWeights(w: FitWorkload, dir: string): StateDict {
  return JSON.parse(readFileSync(join(dir, `${w.id}.weights.json`), 'utf8')) as StateDict;
}
