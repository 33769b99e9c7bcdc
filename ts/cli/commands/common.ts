/**
 * Pieces every subcommand shares: the --backend and --help flags, picking the backend, turning a data
 * split into tensors, and the task's metrics (perplexity, accuracy and confusion, ...), computed from real
 * predictions so `train`, `eval` and the report agree. Forecast scores live in forecast/metrics.ts.
 */

import { backendInfo, dataset, ready, setBackend, tensor, type BackendName, type Dataset, type SequenceInput, type Sequential } from '../../index.js';
import type { Tensor, Tensor3D } from '../../tensor.js';
import { CliError, type FlagSpec } from '../args.js';
import { charScores, type CharScores } from '../datasets/char-baselines.js';
import type { CsvFlags } from '../datasets/index.js';
import { MISSING_POLICIES, type MissingPolicy } from '../datasets/missing.js';
import type { DataMeta, Split } from '../datasets/types.js';

/** `--backend`, as every command that computes offers it. */
export const BACKEND_FLAG: FlagSpec = {
  name: 'backend',
  type: 'string',
  choices: ['native', 'wasm'],
  help: 'compute backend',
  default: 'native, else wasm',
};

/** How to read a CSV's dates and missing values; train, eval and predict all take these. */
export const CSV_READ_FLAGS: FlagSpec[] = [
  { name: 'date', type: 'string', help: 'CSV date/time column (x axis, frequency, season)', default: 'detected' },
  { name: 'no-date', type: 'boolean', help: 'no date column: rows are steps' },
  { name: 'missing', type: 'string', choices: MISSING_POLICIES, help: 'missing CSV values: interpolate linearly, drop rows, or fail', default: "interpolate (eval/predict: the model's)" },
];

/** The CSV-reading flags' values (see CSV_READ_FLAGS; train adds --columns, --exclude and --covariates). */
export function csvFlags(flags: Record<string, unknown>): CsvFlags {
  return {
    date: flags.date as string | undefined,
    noDate: flags['no-date'] === true,
    columns: flags.columns as string | undefined,
    exclude: flags.exclude as string | undefined,
    missing: flags.missing as MissingPolicy | undefined,
    covariates: flags.covariates as string | undefined,
  };
}

/** Notices about the input on stderr, one per line (stdout stays the command's result). */
export function printNotices(notices: readonly string[] | undefined): void {
  for (const n of notices ?? []) process.stderr.write(`note: ${n}\n`);
}

export const HELP_FLAG: FlagSpec = { name: 'help', type: 'boolean', help: 'show this help' };

/** Loads the backend asked for (or the fastest available) and returns what runs. */
export async function selectBackend(name: string | undefined): Promise<{ name: string; isa: string }> {
  try {
    if (name === undefined) await ready();
    else await setBackend(name as BackendName);
  } catch (e) {
    throw new CliError(`the ${name ?? 'default'} backend does not load: ${(e as Error).message}`);
  }
  return backendInfo();
}

export interface SplitTensors {
  x: SequenceInput;
  y: Tensor<'float32'> | Tensor<'int32'>;
  lengths?: number[];
}

/** The model input of split `s`: features [n, window, f], or token ids [n, window] (one-hot inside the core). */
function inputTensor(s: Split): SequenceInput {
  if (s.x instanceof Int32Array) return tensor(s.x, s.xDims as [number, number]);
  return tensor(s.x, s.xDims as [number, number, number]) as Tensor3D;
}

export function splitTensors(s: Split): SplitTensors {
  const x = inputTensor(s);
  const y = s.y instanceof Int32Array ? tensor(s.y, s.yDims) : tensor(s.y, s.yDims);
  return s.lengths ? { x, y, lengths: s.lengths } : { x, y };
}

export interface TaskMetrics {
  metrics: Record<string, number>;
  /** The headline number and its name, printed as "final validation <name>: <value>". */
  headline: [string, number];
  classification?: { accuracy: number; classes: string[]; confusion: number[][] };
  /** Character models: loss per character next to the unigram/bigram baselines on the same characters. */
  charScores?: CharScores;
}

/** Split `s` copied into the backend once, for `evaluate` (batched there) and `fit`; dispose it after use. */
export function splitDataset(s: Split): Dataset {
  const t = splitTensors(s);
  return dataset(t.x, t.y, t.lengths ? { lengths: t.lengths } : {});
}

/** The model's mean loss on split `s`, evaluated a batch at a time. */
function splitLoss(model: Sequential, s: Split): number {
  const d = splitDataset(s);
  try {
    return model.evaluate(d);
  } finally {
    d.dispose();
  }
}

/**
 * Sequences per predict call when scoring a split: the core's workspace grows with the sequences of a
 * call (the validation windows of 200 KB of text in one call took ~250 MB), so it is bounded by this.
 */
const PREDICT_ROWS = 256;

/** Calls `use(out, first)` with the model's outputs for sequences first..first+PREDICT_ROWS−1 of `s`, in order. */
function forEachPrediction(model: Sequential, s: Split, use: (out: Float32Array, first: number) => void): void {
  const n = s.xDims[0];
  const perSeq = s.x.length / n;
  for (let first = 0; first < n; first += PREDICT_ROWS) {
    const rows = Math.min(PREDICT_ROWS, n - first);
    const x = s.x.subarray(first * perSeq, (first + rows) * perSeq);
    const dims = [rows, ...s.xDims.slice(1)];
    const input = x instanceof Int32Array ? tensor(x, dims as [number, number]) : (tensor(x, dims as [number, number, number]) as Tensor3D);
    const lengths = s.lengths?.slice(first, first + rows);
    use(model.predict(input, lengths ? { lengths } : {}).data as Float32Array, first);
  }
}

/** Every output of split `s`, predicted PREDICT_ROWS sequences at a time. */
function predictSplit(model: Sequential, s: Split): Float32Array {
  const chunks: Float32Array[] = [];
  forEachPrediction(model, s, (out) => chunks.push(out));
  const all = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  return all;
}

/** Metrics of `model` on split `s` for the task in `meta`. */
export function taskMetrics(model: Sequential, meta: DataMeta, s: Split): TaskMetrics {
  const loss = splitLoss(model, s);
  // Character models score their (large: windows × steps × vocabulary) outputs chunk by chunk instead.
  const pred = meta.task === 'charlm' ? new Float32Array(0) : predictSplit(model, s);
  switch (meta.task) {
    case 'forecast': {
      // Forecasters are scored on their held-out tail by forecast/metrics.ts; without one (e.g. --val-split 0)
      // only the training loss on the encoded target is left, and it is named so.
      return { metrics: { loss_encoded_target: loss }, headline: ['MSE of the encoded target', loss] };
    }
    case 'charlm': {
      const y = s.y as Int32Array;
      const v = meta.vocab.length;
      const perSeq = s.xDims[1];
      let hit = 0;
      forEachPrediction(model, s, (out, first) => {
        for (let r = 0; r < out.length / v; r++) if (argmax(out, r * v, v) === y[first * perSeq + r]) hit++;
      });
      return {
        metrics: { cross_entropy: loss, bits_per_char: loss / Math.LN2, perplexity: Math.exp(loss), accuracy: hit / y.length },
        headline: ['perplexity', Math.exp(loss)],
        charScores: charScores(loss, meta.counts, v, s.x as Int32Array, y),
      };
    }
    case 'classify': {
      const y = s.y as Int32Array;
      const classes = meta.classes ?? [];
      const k = classes.length;
      const confusion = classes.map(() => new Array<number>(k).fill(0));
      let hit = 0;
      for (let r = 0; r < y.length; r++) {
        const p = argmax(pred, r * k, k);
        confusion[y[r]][p]++;
        if (p === y[r]) hit++;
      }
      const accuracy = hit / y.length;
      return { metrics: { cross_entropy: loss, accuracy }, headline: ['accuracy', accuracy], classification: { accuracy, classes, confusion } };
    }
    case 'next-symbol': {
      // A step is right when the symbols predicted above 0.5 are exactly the legal ones.
      const y = s.y as Float32Array;
      const [n, w] = s.xDims;
      const v = s.yDims[2];
      let steps = 0;
      let right = 0;
      for (let b = 0; b < n; b++) {
        for (let t = 0; t < (s.lengths?.[b] ?? w); t++) {
          const o = (b * w + t) * v;
          let ok = true;
          for (let j = 0; j < v; j++) if (pred[o + j] > 0.5 !== y[o + j] > 0.5) ok = false;
          steps++;
          if (ok) right++;
        }
      }
      return { metrics: { bce: loss, step_accuracy: right / steps }, headline: ['next-symbol accuracy', right / steps] };
    }
    case 'regression':
      return { metrics: { mse: loss, rmse: Math.sqrt(loss) }, headline: ['MSE', loss] };
  }
}

export function argmax(xs: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (xs[offset + j] > xs[offset + best]) best = j;
  return best;
}
