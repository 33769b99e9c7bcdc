/**
 * Training progress for people and machines. On a terminal: a live bar (npm `cli-progress`) over all
 * training steps, updated after every epoch, with the epoch, losses, gradient norm, throughput in
 * sequences/s and ETA. Piped (no TTY): one plain line per epoch, so logs stay readable. `--quiet`: nothing.
 * `--json`: one JSON object per line on stdout (`start`, `epoch`, `stopping`, `done` events) and no
 * human text at all, so a program can read stdout line by line.
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

  epoch(e: EpochEvent): void {
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
