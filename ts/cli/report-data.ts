/**
 * The data contract between `rnnkit train` (ts/cli, which fills it in) and the HTML report renderer
 * (ts/cli/report.ts, which draws it). Kept in its own file, free of runtime code, so both sides can import
 * it without pulling in the renderer or the training loop.
 */

import type { CharScores } from './datasets/char-baselines.js';

/** Everything a training report shows; produced by the CLI (`rnnkit train`), rendered by ts/cli/report.ts. */
export interface ReportData {
  /** e.g. "rnnkit train — lstm on seasonal". */
  title: string;
  /** ISO date of the run. */
  createdAt: string;
  /** The command line that produced the report. */
  command: string;
  /** Flat key → value table (cell, hidden, layers, optimizer, lr, ...). */
  config: Record<string, string | number | boolean>;
  backend: { name: string; isa: string };
  modelPath?: string;
  /** Per epoch; gradNorm = mean global gradient L2 norm before clipping. */
  history: { loss: number[]; valLoss?: number[]; gradNorm?: number[] };
  /** Forecast vs truth for one series. */
  forecast?: {
    truth: number[];
    predicted: number[];
    startIndex: number;
    label: string;
    /** Epoch ms (UTC), one per point: dates on the x axis instead of row numbers. */
    dates?: number[];
    /** Baseline forecasts of the same rows (drawn as lines). */
    baselines?: Array<{ name: string; values: number[] }>;
    /** A prediction interval around `predicted` (drawn as a band). */
    band?: { lower: number[]; upper: number[]; level: number };
    /** How the numbers below were computed, one sentence. */
    definition?: string;
    /** Per-horizon RMSE of the model and each baseline (rows: horizons, then "all"). */
    table?: { columns: string[]; rows: Array<{ label: string; values: number[] }> };
    /** One line: skill and which baseline is better, or a warning. */
    verdict?: { text: string; warn: boolean };
  };
  /** Sampled text for character models: continuations of `prompt` (which `text` does not repeat). */
  samples?: Array<{ prompt: string; text: string; temperature: number }>;
  /** Character models: per-character loss next to unigram/bigram baselines; `split` names the characters scored. */
  charScores?: CharScores & { split: string };
  classification?: { accuracy: number; classes: string[]; confusion: number[][] };
  /** The inside of the network for ONE input sequence. */
  activations?: {
    /** T. */
    steps: number;
    inputLabel?: string;
    /** The input sequence (first feature), length T, drawn above the heatmaps. */
    input?: number[];
    /** Symbolic input (characters of a text), length T: one label per time step under every heatmap. */
    inputChars?: string[];
    panels: Array<{
      /** e.g. "layer 0 hidden state h", "layer 0 gate i (input)". */
      name: string;
      kind: 'hidden' | 'cell' | 'gate' | 'output' | 'attention';
      /** Rows of the heatmap. */
      units: number;
      /** [T][units]. */
      values: number[][];
      /** Colour scale, e.g. [-1, 1] for h, [0, 1] for gates. */
      range: [number, number];
    }>;
  };
  /** Final validation MSE, RMSE, accuracy, perplexity, ... */
  metrics?: Record<string, number>;
}
