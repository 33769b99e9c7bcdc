//! The element-wise linear recurrence of minGRU/minLSTM, `h_t = a_t ⊙ h_{t−1} + b_t`, and its
//! adjoint, split over threads along TIME as a chunked scan: each chunk of `CHUNK_STEPS` steps is
//! scanned from zero (the first from the initial state), then one short pass carries each chunk's
//! end state into the next, then each chunk adds `(Π a) ⊙ carry` to its steps.
//!
//! Why not the paper's log-space scan (log-cumsum-exp, Heinsen 2023): that form exists because a
//! one-shot parallel scan computes h_t = A_t·(h_0 + Σ b_s/A_s) with A_t = Π a, and 1/A_s overflows;
//! taking logs removes the division. A chunked scan never divides — carries are multiplied by
//! products of a ∈ [0, 1], which can only underflow towards the true, negligible contribution — so
//! it is as stable, and it is more precise in f32: log h_t = log A_t + logcumsumexp(…) adds two
//! terms of size |log A_t| (≈ 2800 at T = 4096 with a ≈ 0.5) that cancel, leaving ~|log A_t|·ε ≈ 2e-4
//! relative error, over the 1e-4 bar. It also needs h_0 > 0 and b > 0, which a carried state need not
//! satisfy. The stable-in-log-space part of the paper that matters, the gates, is in `gates.rs`.
//!
//! Chunk boundaries depend only on `CHUNK_STEPS`, never on the thread count, so results are
//! bit-identical for every thread count. They differ from a purely sequential scan (the streaming
//! `step`) by rounding only; a sequence of at most CHUNK_STEPS steps is scanned sequentially.

use std::ops::Range;

use crate::parallel::{self, part_rows, row_parts, Disjoint};
use crate::real::Real;

/// Steps per chunk: enough chunks for every core at the benchmark lengths (T = 512 → 8 chunks),
/// while the carry pass (one row per chunk) stays negligible next to the chunks' own work.
pub(crate) const CHUNK_STEPS: usize = 64;

/// Which way a scan runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    /// `out_t = a_t ⊙ out_{t−1} + b_t`, `out_{−1} = init`: the forward recurrence.
    Forward,
    /// `out_t = a_{t+1} ⊙ out_{t+1} + b_t`, `out_T = init` (a_T = 1): its adjoint, where b is dL/dh_t
    /// from the output and out the total dL/dh_t.
    Reverse,
}

/// One scan's shapes: `steps` rows of `width` independent lanes, time-major.
struct Lanes<'a, R> {
    a: &'a [R],
    steps: usize,
    width: usize,
    direction: Direction,
}

impl<R: Real> Lanes<'_, R> {
    /// The time step of the s-th step in scan order.
    fn step(&self, s: usize) -> usize {
        match self.direction {
            Direction::Forward => s,
            Direction::Reverse => self.steps - 1 - s,
        }
    }

    /// The coefficient that carries the state into the s-th step in scan order (None = 1).
    fn coefficient(&self, s: usize) -> Option<&[R]> {
        let t = match self.direction {
            Direction::Forward => s,
            Direction::Reverse if s == 0 => return None,
            Direction::Reverse => self.steps - s,
        };
        Some(&self.a[t * self.width..][..self.width])
    }

    /// The time rows chunk `k` covers (scan-order steps k·C .. (k+1)·C, mapped to time).
    fn rows(&self, k: usize) -> Range<usize> {
        let s = self.chunk(k);
        match self.direction {
            Direction::Forward => s,
            Direction::Reverse => self.steps - s.end..self.steps - s.start,
        }
    }

    fn chunk(&self, k: usize) -> Range<usize> {
        k * CHUNK_STEPS..((k + 1) * CHUNK_STEPS).min(self.steps)
    }

    /// Scans chunk `k` into its rows of `out` (time rows `rows(k)`, starting at `first_row`), from
    /// `start` (None = zeros); returns the product of its coefficients when `product` is asked for.
    fn scan_chunk(&self, k: usize, b: &[R], start: Option<&[R]>, out: &mut [R], first_row: usize, product: Option<&mut [R]>) {
        let w = self.width;
        let mut prev: Option<usize> = None;
        for s in self.chunk(k) {
            let t = self.step(s);
            let local = (t - first_row) * w;
            let (row, prev_row): (&mut [R], Option<&[R]>) = match prev {
                None => (&mut out[local..local + w], start),
                Some(p) => {
                    // The previous step's row is written; split so it can be read beside this one.
                    let (lo, hi) = out.split_at_mut(local.max(p));
                    if local > p { (&mut hi[..w], Some(&lo[p..p + w])) } else { (&mut lo[local..local + w], Some(&hi[..w])) }
                }
            };
            let bt = &b[t * w..][..w];
            match (self.coefficient(s), prev_row) {
                (Some(a), Some(h)) => row.iter_mut().zip(a.iter().zip(h).zip(bt)).for_each(|(o, ((&a, &h), &b))| *o = a * h + b),
                (None, Some(h)) => row.iter_mut().zip(h.iter().zip(bt)).for_each(|(o, (&h, &b))| *o = h + b),
                (_, None) => row.copy_from_slice(bt),
            }
            prev = Some(local);
        }
        if let Some(p) = product {
            self.running_product(k, |_, acc| p.copy_from_slice(acc));
        }
    }

    /// Calls `visit(s, Π_{chunk start ≤ s' ≤ s} coefficient(s'))` for each step s of chunk k in scan
    /// order. The one place products are formed, so the carry pass and the fix-up agree bit for bit.
    fn running_product(&self, k: usize, mut visit: impl FnMut(usize, &[R])) {
        let mut acc = vec![R::ONE; self.width];
        for s in self.chunk(k) {
            if let Some(a) = self.coefficient(s) {
                acc.iter_mut().zip(a).for_each(|(p, &a)| *p *= a);
            }
            visit(s, &acc);
        }
    }
}

/// Runs the scan `direction` asks for: `a` and `b` [steps, width], `init` [width] (the state before
/// the first step in scan order), result into `out` [steps, width], every element written.
pub(crate) fn linear_scan<R: Real>(direction: Direction, a: &[R], b: &[R], init: &[R], out: &mut [R], width: usize) {
    let steps = b.len() / width.max(1);
    assert!(a.len() == b.len() && out.len() == b.len() && init.len() == width && steps * width == b.len(), "linear_scan: a {}, b {}, out {}, init {} for width {width}", a.len(), b.len(), out.len(), init.len());
    if steps == 0 || width == 0 {
        return;
    }
    let lanes = Lanes { a, steps, width, direction };
    let chunks = steps.div_ceil(CHUNK_STEPS);
    // ~2 multiply-adds per element over the passes.
    let parts = row_parts(chunks, 2 * steps * width);
    let mut products = vec![R::ZERO; chunks * width];
    {
        let (outs, prods) = (Disjoint::new(out), Disjoint::new(&mut products));
        parallel::run(parts, |p| {
            for k in part_rows(chunks, parts, p) {
                let rows = lanes.rows(k);
                // SAFETY: chunk k alone owns its time rows of `out` and row k of `products`.
                let (o, prod) = unsafe { (outs.rows(rows.clone(), width), prods.rows(k..k + 1, width)) };
                let start = (k == 0).then_some(init);
                lanes.scan_chunk(k, b, start, o, rows.start, (k > 0).then_some(prod));
            }
        });
    }
    // Carry pass: the state entering chunk k is chunk k−1's corrected end state.
    let mut carries = vec![R::ZERO; chunks * width];
    for k in 1..chunks {
        let end = lanes.step(lanes.chunk(k - 1).end - 1);
        let (before, here) = carries.split_at_mut(k * width);
        let carry = &mut here[..width];
        carry.copy_from_slice(&out[end * width..][..width]);
        if k > 1 {
            let (prev, prod) = (&before[(k - 1) * width..], &products[(k - 1) * width..][..width]);
            carry.iter_mut().zip(prod.iter().zip(prev)).for_each(|(c, (&p, &v))| *c += p * v);
        }
    }
    // Fix-up: every step of chunk k ≥ 1 gains (Π a up to it) ⊙ carry_k.
    let outs = Disjoint::new(out);
    parallel::run(parts, |p| {
        for k in part_rows(chunks, parts, p).filter(|&k| k > 0) {
            let rows = lanes.rows(k);
            // SAFETY: chunk k alone owns its time rows of `out`.
            let o = unsafe { outs.rows(rows.clone(), width) };
            let carry = &carries[k * width..][..width];
            lanes.running_product(k, |s, acc| {
                let row = &mut o[(lanes.step(s) - rows.start) * width..][..width];
                row.iter_mut().zip(acc.iter().zip(carry)).for_each(|(h, (&p, &c))| *h += p * c);
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::scope_threads;
    use crate::rng::Rng;

    /// The recurrence step by step, in f64.
    fn sequential(direction: Direction, a: &[f64], b: &[f64], init: &[f64], width: usize) -> Vec<f64> {
        let steps = b.len() / width;
        let mut out = vec![0.0; b.len()];
        let mut h = init.to_vec();
        for s in 0..steps {
            let (t, coef) = match direction {
                Direction::Forward => (s, Some(s)),
                Direction::Reverse => (steps - 1 - s, (s > 0).then(|| steps - s)),
            };
            for j in 0..width {
                let c = coef.map_or(1.0, |c| a[c * width + j]);
                h[j] = c * h[j] + b[t * width + j];
                out[t * width + j] = h[j];
            }
        }
        out
    }

    /// Lengths around the chunk boundaries, both directions, against the step-by-step recurrence.
    #[test]
    fn chunked_scan_equals_the_sequential_recurrence() {
        let mut rng = Rng::new(3);
        let width = 5;
        for steps in [1, 2, CHUNK_STEPS - 1, CHUNK_STEPS, CHUNK_STEPS + 1, 3 * CHUNK_STEPS + 7] {
            let a: Vec<f64> = (0..steps * width).map(|_| rng.uniform(0.0, 1.0)).collect();
            let b: Vec<f64> = (0..steps * width).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let init: Vec<f64> = (0..width).map(|_| rng.uniform(-1.0, 1.0)).collect();
            for direction in [Direction::Forward, Direction::Reverse] {
                let want = sequential(direction, &a, &b, &init, width);
                let mut out = vec![f64::NAN; b.len()];
                linear_scan(direction, &a, &b, &init, &mut out, width);
                let err = out.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                assert!(err < 1e-12, "{direction:?} T={steps}: max error {err}");
            }
        }
    }

    /// A scan big enough to split (several parts of ≥ 2^18 operations) gives the same bits on 1, 2
    /// and 3 threads, in both directions.
    #[test]
    fn chunked_scan_is_bit_identical_for_every_thread_count() {
        let mut rng = Rng::new(5);
        let (steps, width) = (9 * CHUNK_STEPS + 3, 1024);
        assert!(row_parts(steps.div_ceil(CHUNK_STEPS), 2 * steps * width) == 1, "outside a thread scope: one part");
        let draw = |rng: &mut Rng, n: usize, lo: f64| -> Vec<f32> { (0..n).map(|_| rng.uniform(lo, 1.0) as f32).collect() };
        let (a, b, init) = (draw(&mut rng, steps * width, 0.0), draw(&mut rng, steps * width, -1.0), draw(&mut rng, width, -1.0));
        for direction in [Direction::Forward, Direction::Reverse] {
            let mut first: Option<Vec<f32>> = None;
            for threads in [1, 2, 3] {
                let _scope = scope_threads(threads);
                assert_eq!(row_parts(steps.div_ceil(CHUNK_STEPS), 2 * steps * width), threads, "the scan splits into one part per thread");
                let mut out = vec![f32::NAN; b.len()];
                linear_scan(direction, &a, &b, &init, &mut out, width);
                match &first {
                    None => first = Some(out),
                    Some(f) => assert!(f.iter().zip(&out).all(|(x, y)| x.to_bits() == y.to_bits()), "{direction:?}: {threads} threads differ bitwise from 1"),
                }
            }
        }
    }
}
