/**
 * Keeps the weights of the epoch whose last-step forecasts of the tuning rows (the end of the training
 * rows, not trained on) have the lowest squared error, and restores them after training. A forecaster on
 * noisy data overfits after a few epochs; which epoch is best is decided inside the training rows, never
 * on the held-out tail the model is scored on.
 */

import { tensor, type Sequential } from '../../index.js';
import type { Tensor, Tensor3D } from '../../tensor.js';
import type { Split } from '../datasets/types.js';

export class BestEpoch {
  readonly #model: Sequential;
  readonly #x: Tensor3D;
  readonly #y: Float32Array;
  readonly #perStep: boolean;
  #best = Infinity;
  #bestEpoch = -1;
  #epochs = 0;
  #weights: Record<string, Tensor<'float32'>> | undefined;

  /** `tune` holds last-step targets [n, horizon]; `perStep`: the head outputs every step. */
  constructor(model: Sequential, tune: Split, perStep: boolean) {
    this.#model = model;
    this.#x = tensor(tune.x, tune.xDims) as Tensor3D;
    this.#y = tune.y as Float32Array;
    this.#perStep = perStep;
  }

  /** Scores the model after `epoch` (0-based) and snapshots it when it is the best so far. */
  observe(epoch: number): number {
    const out = this.#model.predict(this.#x).data as Float32Array;
    const [n, w] = this.#x.shape;
    const h = this.#y.length / n;
    let se = 0;
    for (let k = 0; k < n; k++) {
      const at = this.#perStep ? (k * w + w - 1) * h : k * h;
      for (let u = 0; u < h; u++) se += (out[at + u] - this.#y[k * h + u]) ** 2;
    }
    const mse = se / this.#y.length;
    this.#epochs = epoch + 1;
    if (mse < this.#best) {
      this.#best = mse;
      this.#bestEpoch = epoch;
      this.#weights = this.#model.stateDict();
    }
    return mse;
  }

  /** Restores the best epoch's weights: its 1-based number and a one-line note (undefined when nothing was observed). */
  restore(): { epoch: number; note: string } | undefined {
    if (!this.#weights) return undefined;
    if (this.#bestEpoch < this.#epochs - 1) this.#model.loadStateDict(this.#weights);
    return { epoch: this.#bestEpoch + 1, note: `kept epoch ${this.#bestEpoch + 1} of ${this.#epochs} (lowest error on the tuning rows)` };
  }
}
