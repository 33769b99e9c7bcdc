/**
 * The benchmark harness's own arithmetic (bench/): FLOP formulas of the workloads, the
 * quantile/median helpers, the layout conversions used to feed peers, and the ONNX encoder's output
 * framing. Never timings.
 */

import { describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../bench/onnx/build.js';
import { gflops, quantileSorted, speedup, summarize } from '../bench/stats.js';
import { makeData, recurrentForwardFlops, reorderGates, seededUniform, toTimeMajor, transpose, WORKLOADS, workloadFlops } from '../bench/workloads.js';

const byId = (id: string) => WORKLOADS.find((w) => w.id === id)!;

describe('bench workloads: FLOP formulas', () => {
  it('F1 is 2·B·T·4H·(I+H) = 2.097 GFLOP (the issue quotes 2.10)', () => {
    expect(workloadFlops(byId('F1'))).toBe(2 * 32 * 100 * 4 * 256 * (64 + 256));
    expect(workloadFlops(byId('F1')) / 1e9).toBeCloseTo(2.097, 3);
  });
  it('GRU and RNN scale by 3H and 1H at the F1 shape', () => {
    expect(workloadFlops(byId('G1'))).toBe((workloadFlops(byId('F1')) * 3) / 4);
    expect(workloadFlops(byId('R1'))).toBe(workloadFlops(byId('F1')) / 4);
  });
  it('F2 (B=1 T=50 I=16 H=64)', () => {
    expect(recurrentForwardFlops(byId('F2'))).toBe(2 * 1 * 50 * 256 * 80);
  });
  it('a training step is 3 × (recurrent + head forward)', () => {
    const head = 2 * 32 * 100 * 256 * 64;
    expect(workloadFlops(byId('T1'))).toBe(3 * (workloadFlops(byId('F1')) + head));
    expect(workloadFlops(byId('TG1'))).toBe(3 * (workloadFlops(byId('G1')) + head));
  });
});

describe('bench stats', () => {
  it('quantiles interpolate linearly between order statistics (numpy default)', () => {
    const s = [1, 2, 3, 4];
    expect(quantileSorted(s, 0.5)).toBe(2.5);
    expect(quantileSorted(s, 0.25)).toBe(1.75);
    expect(quantileSorted(s, 0.75)).toBe(3.25);
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(4);
    expect(quantileSorted([7], 0.25)).toBe(7);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });
  it('summarize sorts, drops non-finite samples and reports median and spread', () => {
    const s = summarize([5, 1, NaN, 3, 2, 4]);
    expect(s).toEqual({ samples: 5, medianMs: 3, p25Ms: 2, p75Ms: 4, minMs: 1 });
  });
  it('rates and ratios', () => {
    expect(gflops(2e9, 10)).toBeCloseTo(200, 10); // 2 GFLOP in 10 ms
    expect(speedup(5, 10)).toBe(2); // ours 5 ms vs theirs 10 ms: 2× faster
  });
});

describe('bench data and layouts', () => {
  it('seeded inputs are deterministic and in range', () => {
    const a = seededUniform(1000, 42, -1, 1);
    expect(a).toEqual(seededUniform(1000, 42, -1, 1));
    expect(a).not.toEqual(seededUniform(1000, 43, -1, 1));
    expect(Math.max(...a)).toBeLessThan(1);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
  });
  it('makeData sizes every buffer from the workload', () => {
    const d = makeData(byId('T1'));
    expect(d.x.length).toBe(32 * 100 * 64);
    expect(d.y!.length).toBe(32 * 100 * 64);
    expect(d.weights.weightIh.length).toBe(1024 * 64);
    expect(d.weights.weightHh.length).toBe(1024 * 256);
    expect(d.weights.headWeight!.length).toBe(64 * 256);
  });
  it('toTimeMajor moves [b, t] to [t, b]; transpose and reorderGates move blocks', () => {
    const x = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // [B=2, T=3, F=2]
    expect([...toTimeMajor(x, 2, 3, 2)]).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
    expect([...transpose(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3)]).toEqual([1, 4, 2, 5, 3, 6]);
    // 3 gates of H=1 row × width 2: order [1, 0, 2] swaps the first two blocks.
    expect([...reorderGates(Float32Array.from([1, 1, 2, 2, 3, 3]), 1, 2, [1, 0, 2])]).toEqual([2, 2, 1, 1, 3, 3]);
  });
  it('the ONNX model carries every weight byte and the op name', () => {
    const d = makeData(byId('F2'));
    const bytes = buildOnnxModel(d);
    const weightBytes = 4 * (d.weights.weightIh.length + d.weights.weightHh.length + 2 * d.weights.biasIh.length);
    expect(bytes.length).toBeGreaterThan(weightBytes);
    expect(bytes.length).toBeLessThan(weightBytes + 1024);
    expect(Buffer.from(bytes).includes(Buffer.from('LSTM'))).toBe(true);
    expect(bytes[0]).toBe(0x08); // field 1 (ir_version), varint
  });
});
