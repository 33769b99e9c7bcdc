//! Depthwise `Conv1D` (groups == in_channels, any channel multiplier m) as a direct kernel, forward
//! and backward: as im2col + GEMM it was one GEMM per group with n = m (≈ 1), all overhead. Here each
//! real tap of each output row is one multiply-add over the C contiguous channels of a time-major
//! input row [T, B, C] (the taps come from `Geometry::for_each_tap`, so padding, lengths and history
//! read exactly as im2col reads them), and the channel loop vectorises.
//!
//! Layouts: PyTorch's weight [C·m, 1, k] (output channel o = c·m + i reads input channel c) is packed
//! [k, m, C] (tap, multiplier index, channel); with m > 1 the output and its gradient are computed
//! [rows, m, C] in a scratch buffer and permuted to the output's [rows, C, m].

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

/// [rows, m, C] ↔ [rows, C, m] (`to_cm`: towards the output's channel order).
fn permute_rows<R: Real>(src: &[R], dst: &mut [R], c: usize, m: usize, to_cm: bool) {
    let w = c * m;
    for (s, d) in src.chunks_exact(w).zip(dst.chunks_exact_mut(w)) {
        for i in 0..m {
            for g in 0..c {
                let (mc, cm) = (i * c + g, g * m + i);
                if to_cm { d[cm] = s[mc] } else { d[mc] = s[cm] }
            }
        }
    }
}

/// out [T_out·B, C·m] ← the convolution of `x` [T, B, C] (and `history` [H, B, C]; None = zeros)
/// with the packed weight `wp`, no bias. Every element of `out` is written.
pub(super) fn forward<R: Real>(geo: &Geometry<'_>, m: usize, wp: &[R], x: &[R], history: Option<&[R]>, out: &mut [R]) {
    let c = geo.channels;
    let w = c * m;
    let mut scratch = if m > 1 { vec![R::ZERO; out.len()] } else { Vec::new() };
    let acc: &mut [R] = if m > 1 { &mut scratch } else { out.fill(R::ZERO); &mut *out };
    geo.for_each_tap(|row, j, src| {
        let s = match src {
            Source::Input(r) => &x[r * c..(r + 1) * c],
            Source::History(r) => match history {
                Some(hb) => &hb[r * c..(r + 1) * c],
                None => return,
            },
        };
        let dst = &mut acc[row * w..(row + 1) * w];
        for i in 0..m {
            mul_add(&mut dst[i * c..(i + 1) * c], &wp[(j * m + i) * c..][..c], s);
        }
    });
    if m > 1 {
        permute_rows(&scratch, out, c, m, true);
    }
}

/// The adjoint of `forward` for the output gradient `dz` [T_out·B, C·m]: ADDS the packed weight
/// gradient into `dwp` [k, m, C], and, when given, the input gradient into `dx` [T, B, C] and the
/// initial history's into `dh` [H, B, C] (its gradient is wanted even when it was zeros).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<R: Real>(geo: &Geometry<'_>, m: usize, wp: &[R], x: &[R], history: Option<&[R]>, dz: &[R], dwp: &mut [R], mut dx: Option<(&mut [R], &mut [R])>) {
    let c = geo.channels;
    let w = c * m;
    let permuted;
    let dz: &[R] = if m > 1 {
        let mut p = vec![R::ZERO; dz.len()];
        permute_rows(dz, &mut p, c, m, false);
        permuted = p;
        &permuted
    } else {
        dz
    };
    geo.for_each_tap(|row, j, src| {
        let g = &dz[row * w..(row + 1) * w];
        let input = match src {
            Source::Input(r) => Some(&x[r * c..(r + 1) * c]),
            Source::History(r) => history.map(|hb| &hb[r * c..(r + 1) * c]),
        };
        if let Some(s) = input {
            for i in 0..m {
                mul_add(&mut dwp[(j * m + i) * c..][..c], &g[i * c..(i + 1) * c], s);
            }
        }
        if let Some((dx, dh)) = dx.as_mut() {
            let d = match src {
                Source::Input(r) => &mut dx[r * c..(r + 1) * c],
                Source::History(r) => &mut dh[r * c..(r + 1) * c],
            };
            for i in 0..m {
                mul_add(d, &wp[(j * m + i) * c..][..c], &g[i * c..(i + 1) * c]);
            }
        }
    });
}
