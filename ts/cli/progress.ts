/**
 * Training progress for people and machines. On a terminal: a live bar (npm `cli-progress`) over all
 * training steps (mini-batches), advanced after every chunk of mini-batches fit() runs (a few times a
 * second), with the epoch, the loss so far, gradient norm, throughput in sequences/s and ETA. Piped
 * (no TTY): one plain line per epoch, so logs stay readable. `--quiet`: nothing. `--json`: one JSON
 * object per line on stdout (`start`, `batch` (at most one per BATCH_EVENT_MS), `epoch`, `stopping`,
 * `done` events) and no human text at all, so a program can read stdout line by line.
 */

import { createRequire } from 'node:module';

import type * as CliProgress from 'cli-progress';

export type OutputMode = 'bar' | 'lines' | 'quiet' | 'json';

export interface EpochEvent {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  gradNorm: number;
  seqPerSec: number;
  elapsedSec: number;
}

/** Progress inside an epoch, after a chunk of mini-batches. */
export interface BatchEvent {
  /** 1-based, like EpochEvent's. */
  epoch: number;
  epochs: number;
  /** Mini-batches of this epoch done. */
  batch: number;
  /** Mini-batches per epoch. */
  batches: number;
  /** Mean loss over this epoch's mini-batches so far. */
  loss: number;
  /** Sequences per second over this epoch so far. */
  seqPerSec: number;
  elapsedSec: number;
}

/** Least time between two JSON `batch` events: live enough for a dashboard, few lines per epoch. */
export const BATCH_EVENT_MS = 250;

/** Picks the mode from the flags and whether stderr is a terminal. */
export function outputMode(flags: { quiet?: boolean; json?: boolean }): OutputMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  return process.stderr.isTTY ? 'bar' : 'lines';
}

/** Compact number for the progress line: 4 significant digits, exponent when tiny or huge. */
export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return x === undefined ? '-' : String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : x.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

export class Progress {
  readonly mode: OutputMode;
  #bar: CliProgress.SingleBar | undefined;
  readonly #stepsPerEpoch: number;
  readonly #epochs: number;
  #lastBatchEvent = -Infinity;
  /** Validation loss and gradient norm of the last finished epoch, shown while the next one runs. */
  #lastVal = '-';
  #lastGrad = '-';

  constructor(mode: OutputMode, epochs: number, stepsPerEpoch: number) {
    this.mode = mode;
    this.#stepsPerEpoch = stepsPerEpoch;
    this.#epochs = epochs;
  }

  /** Shows the bar (bar mode): call once the preamble is printed, right before training starts. */
  begin(): void {
    if (this.mode === 'bar' && !this.#bar) {
      const { SingleBar, Presets } = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
      const epochs = this.#epochs;
      this.#bar = new SingleBar(
        {
          format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | val {val} | |g| {grad} | {speed} seq/s | ETA {eta_formatted}',
          hideCursor: true,
          stopOnComplete: false,
          clearOnComplete: false,
          etaBuffer: 4,
          stream: process.stderr,
        },
        Presets.shades_classic,
      );
      this.#bar.start(epochs * this.#stepsPerEpoch, 0, { epoch: 0, epochs, loss: '-', val: '-', grad: '-', speed: '-' });
    }
  }

  /** A JSON-lines event (json mode only). */
  event(name: string, fields: Record<string, unknown>): void {
    if (this.mode === 'json') process.stdout.write(JSON.stringify({ event: name, ...fields }) + '\n');
  }

  /** Human information on stderr (bar and lines modes). */
  info(text: string): void {
    if (this.mode === 'bar' || this.mode === 'lines') {
      if (this.#bar) this.#bar.stop();
      process.stderr.write(text + '\n');
      this.#bar = undefined;
    }
  }

  /** Mid-epoch progress: advances the bar; a throttled `batch` event in JSON mode; nothing in lines mode. */
  batch(e: BatchEvent): void {
    const step = (e.epoch - 1) * this.#stepsPerEpoch + e.batch;
    const total = this.#epochs * this.#stepsPerEpoch;
    switch (this.mode) {
      case 'json': {
        if (e.batch >= e.batches) break; // the epoch event follows at once
        const now = performance.now();
        if (now - this.#lastBatchEvent < BATCH_EVENT_MS) break;
        this.#lastBatchEvent = now;
        const etaSec = step > 0 ? (e.elapsedSec / step) * (total - step) : undefined;
        this.event('batch', { ...e, step, steps: total, ...(etaSec !== undefined ? { etaSec } : {}) });
        break;
      }
      case 'bar':
        this.#bar?.update(step, {
          epoch: e.epoch,
          epochs: e.epochs,
          loss: fmt(e.loss),
          val: this.#lastVal,
          grad: this.#lastGrad,
          speed: Math.round(e.seqPerSec),
        });
        break;
      default:
        break;
    }
  }

  epoch(e: EpochEvent): void {
    this.#lastVal = fmt(e.valLoss);
    this.#lastGrad = fmt(e.gradNorm);
    switch (this.mode) {
      case 'json':
        this.event('epoch', { ...e });
        break;
      case 'bar':
        if (!this.#bar) {
          // The bar was closed for a message (e.g. Ctrl-C): the remaining epochs print as lines.
          process.stderr.write(`epoch ${e.epoch}/${e.epochs}  loss ${fmt(e.loss)}  val ${fmt(e.valLoss)}  |g| ${fmt(e.gradNorm)}\n`);
          break;
        }
        this.#bar.update(e.epoch * this.#stepsPerEpoch, {
          epoch: e.epoch,
          epochs: e.epochs,
          loss: fmt(e.loss),
          val: fmt(e.valLoss),
          grad: fmt(e.gradNorm),
          speed: Math.round(e.seqPerSec),
        });
        break;
      case 'lines':
        process.stderr.write(
          `epoch ${e.epoch}/${e.epochs}  loss ${fmt(e.loss)}  val ${fmt(e.valLoss)}  |g| ${fmt(e.gradNorm)}  ` +
            `${Math.round(e.seqPerSec)} seq/s  ${e.elapsedSec.toFixed(1)}s\n`,
        );
        break;
      case 'quiet':
        break;
    }
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
