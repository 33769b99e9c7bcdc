//! Depthwise `Conv1D` (groups == in_channels, any channel multiplier m), forward and backward, as a
//! direct kernel: im2col + GEMM made it one GEMM per group with n = m (≈ 1), all overhead. In the
//! time-major layout a tap of one output step reads B consecutive input rows, so each (tap,
//! multiplier index) of a step is one multiply-add over B·C contiguous values (the weight tiled B
//! times); the inner loop vectorises. Taps come from `Geometry::for_each_run`, as im2col's do.

// Layouts: PyTorch's weight [C·m, 1, k] (output channel o = c·m + i reads input channel c) is packed
// [k, m, C]. The output and its gradient are worked on as [T_out, m, B, C]: for m = 1 the output's
// own layout [T_out, B, C], for m > 1 a scratch permuted to and from the output's [T_out, B, C, m].
//
// Threads: every value a pass writes (output, dW per sequence, dx, the history's gradient) belongs
// to one sequence, so a pass splits into blocks of sequences, each running every run of taps over its
// own sequences (one contiguous piece of B·C per run, as without threads). A value's sum runs over
// the taps in the same order in any block, and dW is summed over the sequences afterwards in a fixed
// order, so the result is bit-identical for every thread count.

use std::ops::Range;

use crate::parallel::{self, part_rows, Disjoint};
use crate::real::Real;

use super::im2col::{Geometry, Source};

/// [C·m, 1, k] → [k, m, C].
pub(super) fn pack<R: Real>(w: &[R], wp: &mut [R], c: usize, m: usize, k: usize) {
    for g in 0..c {
        for i in 0..m {
            for j in 0..k {
                wp[(j * m + i) * c + g] = w[(g * m + i) * k + j];
            }
        }
    }
}

/// ADDS a [k, m, C] gradient into PyTorch's [C·m, 1, k] layout (parameter gradients accumulate).
pub(super) fn unpack_add<R: Real>(dwp: &[R], dw: &mut [R], c: usize, m: usize, k: usize) {
    for g in 0..c {
        for i in 0..m {
            for j in 0..k {
                dw[(g * m + i) * k + j] += dwp[(j * m + i) * c + g];
            }
        }
    }
}

/// acc ← acc + a ⊙ b over acc's length (equal lengths, so the loop vectorises without checks).
#[inline(always)]
fn mul_add<R: Real>(acc: &mut [R], a: &[R], b: &[R]) {
    let n = acc.len();
    let (a, b) = (&a[..n], &b[..n]);
    for i in 0..n {
        acc[i] += a[i] * b[i];
    }
}

/// [T_out, m, B, C] ↔ [T_out, B, C, m] (`to_output`: towards the output's order).
fn permute<R: Real>(src: &[R], dst: &mut [R], m: usize, b_n: usize, c: usize, to_output: bool) {
    let step = m * b_n * c;
    for (s, d) in src.chunks_exact(step).zip(dst.chunks_exact_mut(step)) {
        for i in 0..m {
            for b in 0..b_n {
                for g in 0..c {
                    let (mbc, bcm) = ((i * b_n + b) * c + g, (b * c + g) * m + i);
                    if to_output { d[bcm] = s[mbc] } else { d[mbc] = s[bcm] }
                }
            }
        }
    }
}

/// The packed weight repeated for every sequence: [k, m, B, C], so a run of sequences multiplies one
/// contiguous block.
fn tiled<R: Real>(wp: &[R], k: usize, m: usize, b_n: usize, c: usize) -> Vec<R> {
    let mut t = Vec::with_capacity(k * m * b_n * c);
    for jm in 0..k * m {
        for _ in 0..b_n {
            t.extend_from_slice(&wp[jm * c..(jm + 1) * c]);
        }
    }
    t
}

/// How much more work a part of this kernel needs than a GEMM part (`parallel::row_parts` counts GEMM
/// multiply-adds): each multiply-add here streams its operands from memory, so two cores share one
/// memory bus. Measured (training step of the conv alone, 2 threads vs 1): B 32, T 400, C 64, k 9
/// (7.4·10⁶ multiply-adds forward) 0.90×; B 64, T 1000, C 128 (7.4·10⁷) 1.13×.
const STREAMING_COST: usize = 32;

/// Parts a pass of `macs` multiply-adds over `b_n` sequences splits into.
fn sequence_parts(b_n: usize, macs: usize) -> usize {
    parallel::row_parts(b_n, macs / STREAMING_COST)
}

/// The elements, within one [B, C] step, of the sequences a run of taps covers (`bs`) that are also
/// this part's (`mine`): one contiguous range, or none.
fn own_elements(bs: Range<usize>, mine: &Range<usize>, c: usize) -> Option<Range<usize>> {
    let (lo, hi) = (bs.start.max(mine.start), bs.end.min(mine.end));
    (lo < hi).then(|| lo * c..hi * c)
}

/// The buffer and first row a tap's source reads (None: history steps that are zeros).
fn source<'a, R>(src: Source, x: &'a [R], history: Option<&'a [R]>) -> Option<(&'a [R], usize)> {
    match src {
        Source::Input(r) => Some((x, r)),
        Source::History(r) => history.map(|hb| (hb, r)),
    }
}

/// out [T_out·B, C·m] ← the convolution of `x` [T, B, C] (and `history` [H, B, C]; None = zeros)
/// with the packed weight `wp`, no bias. Every element of `out` is written.
pub(super) fn forward<R: Real>(geo: &Geometry<'_>, m: usize, wp: &[R], x: &[R], history: Option<&[R]>, out: &mut [R]) {
    let (c, b_n, k) = (geo.channels, geo.batch, geo.win.kernel);
    let (wt, bc) = (tiled(wp, k, m, b_n, c), b_n * c);
    let mut scratch = if m > 1 { vec![R::ZERO; out.len()] } else { Vec::new() };
    let acc: &mut [R] = if m > 1 { &mut scratch } else { out.fill(R::ZERO); &mut *out };
    let parts = sequence_parts(b_n, geo.t_out() * k * m * bc);
    let acc_all = Disjoint::new(acc);
    parallel::run(parts, |p| {
        let mine = part_rows(b_n, parts, p);
        geo.for_each_run(|j, row0, src, bs| {
            let Some((buf, r0)) = source(src, x, history) else { return };
            let Some(e) = own_elements(bs, &mine, c) else { return };
            let (o, s) = (row0 / b_n, &buf[r0 * c + e.start..r0 * c + e.end]);
            for i in 0..m {
                let (a, w) = ((o * m + i) * bc, (j * m + i) * bc);
                // SAFETY: the elements of sequences `mine` are this part's alone.
                let dst = unsafe { acc_all.piece(a + e.start, e.len()) };
                mul_add(dst, &wt[w + e.start..w + e.end], s);
            }
        });
    });
    if m > 1 {
        permute(&scratch, out, m, b_n, c, true);
    }
}

/// The adjoint of `forward` for the output gradient `dz` [T_out·B, C·m]: ADDS the packed weight
/// gradient into `dwp` [k, m, C], and, when given, the input gradient into `dx` [T, B, C] and the
/// initial history's into `dh` [H, B, C] (its gradient is wanted even when it was zeros).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<R: Real>(geo: &Geometry<'_>, m: usize, wp: &[R], x: &[R], history: Option<&[R]>, dz: &[R], dwp: &mut [R], mut dx: Option<(&mut [R], &mut [R])>) {
    let (c, b_n, k) = (geo.channels, geo.batch, geo.win.kernel);
    let (wt, bc) = (tiled(wp, k, m, b_n, c), b_n * c);
    let permuted;
    let g_all: &[R] = if m > 1 {
        let mut p = vec![R::ZERO; dz.len()];
        permute(dz, &mut p, m, b_n, c, false);
        permuted = p;
        &permuted
    } else {
        dz
    };
    // dW per sequence, [k, m, B, C], summed over the sequences at the end.
    let mut dwt = vec![R::ZERO; k * m * bc];
    let parts = sequence_parts(b_n, geo.t_out() * k * m * bc * if dx.is_some() { 2 } else { 1 });
    let dwt_all = Disjoint::new(&mut dwt);
    let (dx_all, dh_all) = match dx.as_mut() {
        Some((dxb, dhb)) => (Some(Disjoint::new(&mut dxb[..])), Some(Disjoint::new(&mut dhb[..]))),
        None => (None, None),
    };
    parallel::run(parts, |p| {
        let mine = part_rows(b_n, parts, p);
        geo.for_each_run(|j, row0, src, bs| {
            let Some(e) = own_elements(bs, &mine, c) else { return };
            let (o, input) = (row0 / b_n, source(src, x, history));
            for i in 0..m {
                let (a, w) = ((o * m + i) * bc, (j * m + i) * bc);
                let g = &g_all[a + e.start..a + e.end];
                if let Some((buf, r0)) = input {
                    // SAFETY: the elements of sequences `mine` are this part's alone (also below).
                    let dst = unsafe { dwt_all.piece(w + e.start, e.len()) };
                    mul_add(dst, g, &buf[r0 * c + e.start..r0 * c + e.end]);
                }
                let (d, r0) = match src {
                    Source::Input(r) => (&dx_all, r),
                    Source::History(r) => (&dh_all, r),
                };
                if let Some(d) = d {
                    let dst = unsafe { d.piece(r0 * c + e.start, e.len()) };
                    mul_add(dst, &wt[w + e.start..w + e.end], g);
                }
            }
        });
    });
    for (dw, per_b) in dwp.chunks_exact_mut(c).zip(dwt.chunks_exact(bc)) {
        for row in per_b.chunks_exact(c) {
            dw.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
        }
    }
}
