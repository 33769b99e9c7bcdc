/**
 * ONNX Runtime's GRU (onnxruntime-node; ONNX's default form `linear_before_reset=0`, the reset gate
 * before the recurrent product) against rnnkit's `GRU({ resetAfter: false })`, with per-sequence
 * lengths (`sequence_lens`) and an initial state, in the directions `reverse` and `bidirectional`.
 * The models (test/fixtures/onnx/gru_*.onnx, written by gru_variants.py) take the weights as inputs;
 * they are drawn here at random. ONNX's gate order is z, r, h: W [D, 3H, I], R [D, 3H, H] and
 * B [D, 6H] = [Wb | Rb] map to weight_ih_l0{,_reverse}, weight_hh_l0…, bias_ih_l0…, bias_hh_l0… in
 * PyTorch's order r, z, n. ONNX writes a reverse direction's Y[t] at its own time index t, as
 * rnnkit and PyTorch do (Keras `go_backwards` instead returns the sequence reversed).
 */

import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { Random } from '../ts/cli/datasets/random.js';
import { GRU, Tensor } from '../ts/index.js';

const [T, B, I, H] = [5, 3, 3, 4];
const LENGTHS = [3, 5, 1];
const TOL = 1e-5;

function uniform(rng: Random, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** Direction d's [3H, cols] block of an ONNX [D, 3H, cols] tensor, gate blocks z, r, h → r, z, n. */
function rzn(w: Float32Array, d: number, cols: number): Float32Array {
  const block = (g: number) => w.subarray((d * 3 + g) * H * cols, (d * 3 + g + 1) * H * cols);
  const out = new Float32Array(3 * H * cols);
  [1, 0, 2].forEach((from, to) => out.set(block(from), to * H * cols));
  return out;
}

describe.each(['reverse', 'bidirectional'] as const)('ONNX Runtime GRU (linear_before_reset=0), direction %s', (direction) => {
  it('rnnkit GRU({ resetAfter: false }) gives its Y and Y_h to 1e-5, with lengths and initial_h', async () => {
    const dirs = direction === 'bidirectional' ? 2 : 1;
    const rng = new Random(direction === 'reverse' ? 21 : 22);
    const W = uniform(rng, dirs * 3 * H * I, 0.9);
    const R = uniform(rng, dirs * 3 * H * H, 0.9);
    const Bias = uniform(rng, dirs * 6 * H, 0.5);
    const X = uniform(rng, T * B * I, 1.5);
    const h0 = uniform(rng, dirs * B * H, 0.8);

    const session = await ort.InferenceSession.create(fileURLToPath(new URL(`./fixtures/onnx/gru_${direction}.onnx`, import.meta.url)));
    const res = await session.run({
      X: new ort.Tensor('float32', X, [T, B, I]),
      W: new ort.Tensor('float32', W, [dirs, 3 * H, I]),
      R: new ort.Tensor('float32', R, [dirs, 3 * H, H]),
      B: new ort.Tensor('float32', Bias, [dirs, 6 * H]),
      sequence_lens: new ort.Tensor('int32', Int32Array.from(LENGTHS), [B]),
      initial_h: new ort.Tensor('float32', h0, [dirs, B, H]),
    });
    const Y = res.Y.data as Float32Array; // [T, D, B, H]
    const Yh = res.Y_h.data as Float32Array; // [D, B, H]

    const gru = new GRU({ inputSize: I, hiddenSize: H, direction, resetAfter: false });
    const dict: Record<string, Float32Array> = {};
    for (let d = 0; d < dirs; d++) {
      const sfx = d === 1 ? '_reverse' : '';
      dict[`weight_ih_l0${sfx}`] = rzn(W, d, I);
      dict[`weight_hh_l0${sfx}`] = rzn(R, d, H);
      const b = Bias.subarray(d * 6 * H, (d + 1) * 6 * H);
      dict[`bias_ih_l0${sfx}`] = rzn(b.slice(0, 3 * H), 0, 1);
      dict[`bias_hh_l0${sfx}`] = rzn(b.slice(3 * H), 0, 1);
    }
    gru.loadStateDict(dict);
    const out = gru.forward(new Tensor(X, [T, B, I] as const), { h0: new Tensor(h0, [dirs, B, H] as const), lengths: Int32Array.from(LENGTHS) });
    const o = out.output.data as Float32Array; // [T, B, D·H]

    let worst = 0;
    const check = (got: number, want: number) => (worst = Math.max(worst, Math.abs(got - want) / (TOL + TOL * Math.abs(want))));
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < dirs; d++) {
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < H; j++) check(o[(t * B + b) * dirs * H + d * H + j], Y[((t * dirs + d) * B + b) * H + j]);
        }
      }
    }
    (out.h.data as Float32Array).forEach((v, k) => check(v, Yh[k]));
    expect(worst, 'max |rnnkit − ORT| / (1e-5 + 1e-5·|ORT|) over Y and Y_h').toBeLessThan(1);
    // Not a vacuous match: the outputs move.
    expect(Math.max(...Y.map(Math.abs))).toBeGreaterThan(0.1);
    gru.dispose();
    await session.release();
  });
});
