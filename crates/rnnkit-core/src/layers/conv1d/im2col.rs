//! im2col / col2im for `Conv1D`: the one place that knows which input row feeds which column of the
//! unrolled matrix, so forward (a copy) and backward (an add back) cannot disagree.
//!
//! Column matrix: [T_out·B, groups·kernel·Cg] (Cg = in_channels / groups), row (o, b) time-major
//! like every sequence, columns ordered (group, tap j, channel c). A group's block is then one
//! contiguous run of each row (one GEMM per group with lda = the full width), and each tap copies
//! Cg contiguous channels of one input row. Entries reading padding or steps past a sequence's
//! length stay zero.

use crate::real::Real;

use crate::layers::window::Window;

/// Where one tap of one output row reads.
#[derive(Clone, Copy)]
pub(super) enum Source {
    /// Row `t·B + b` of the input [T, B, C].
    Input(usize),
    /// Row `h·B + b` of the history state [H, B, C] (steps before t = 0 of a causal conv).
    History(usize),
}

/// One call's geometry.
pub(super) struct Geometry<'a> {
    pub win: Window,
    pub seq_len: usize,
    pub batch: usize,
    pub channels: usize,
    pub groups: usize,
    pub lengths: Option<&'a [usize]>,
    /// Rows of history before t = 0 (0 without a history state: those steps are zero padding).
    pub history: usize,
}

impl Geometry<'_> {
    pub fn t_out(&self) -> usize {
        self.win.out_steps(self.seq_len)
    }

    /// Width of a column row: kernel · in_channels.
    pub fn width(&self) -> usize {
        self.win.kernel * self.channels
    }

    /// Calls `f(row, tap, source)` for every (output row, tap) that reads a real value, rows in order.
    pub(super) fn for_each_tap(&self, mut f: impl FnMut(usize, usize, Source)) {
        let (b_n, h) = (self.batch, self.history as isize);
        for o in 0..self.t_out() {
            let start = self.win.start(o, self.seq_len);
            for b in 0..b_n {
                let len = self.lengths.map_or(self.seq_len, |l| l[b]) as isize;
                let row = o * b_n + b;
                for j in 0..self.win.kernel {
                    let t = start + (j * self.win.dilation) as isize;
                    if t >= 0 && t < len {
                        f(row, j, Source::Input(t as usize * b_n + b));
                    } else if t < 0 && t + h >= 0 {
                        f(row, j, Source::History((t + h) as usize * b_n + b));
                    }
                }
            }
        }
    }

    /// Fills `col` ([T_out·B, width], zeroed by the caller) from `x` [T, B, C] and `history` [H, B, C]
    /// (None = zeros).
    pub fn im2col<R: Real>(&self, x: &[R], history: Option<&[R]>, col: &mut [R]) {
        let (c, cg, k, w) = (self.channels, self.channels / self.groups, self.win.kernel, self.width());
        self.for_each_tap(|row, j, src| {
            let (buf, r) = match src {
                Source::Input(r) => (x, r),
                Source::History(r) => match history {
                    Some(hb) => (hb, r),
                    None => return,
                },
            };
            let src = &buf[r * c..(r + 1) * c];
            let dst = &mut col[row * w..(row + 1) * w];
            if cg == 1 {
                // Depthwise: one value per group; a strided store beats a 1-element memcpy.
                dst[j..].iter_mut().step_by(k).zip(src).for_each(|(d, &v)| *d = v);
            } else {
                for (g, s) in src.chunks_exact(cg).enumerate() {
                    dst[(g * k + j) * cg..][..cg].copy_from_slice(s);
                }
            }
        });
    }

    /// The adjoint of `im2col`: adds `dcol` into `dx` [T, B, C] and `dhistory` [H, B, C].
    pub fn col2im<R: Real>(&self, dcol: &[R], dx: &mut [R], dhistory: &mut [R]) {
        let (c, cg, k, w) = (self.channels, self.channels / self.groups, self.win.kernel, self.width());
        self.for_each_tap(|row, j, src| {
            let (buf, r) = match src {
                Source::Input(r) => (&mut *dx, r),
                Source::History(r) => (&mut *dhistory, r),
            };
            let dst = &mut buf[r * c..(r + 1) * c];
            let src = &dcol[row * w..(row + 1) * w];
            if cg == 1 {
                dst.iter_mut().zip(src[j..].iter().step_by(k)).for_each(|(d, &v)| *d += v);
            } else {
                for (g, d) in dst.chunks_exact_mut(cg).enumerate() {
                    d.iter_mut().zip(&src[(g * k + j) * cg..][..cg]).for_each(|(d, &v)| *d += v);
                }
            }
        });
    }
}

/// [out, Cg, k] (PyTorch's weight layout) → [out, k, Cg] (the column order), or back with `back`,
/// ADDING into `dst` when `add` (parameter gradients accumulate).
pub(super) fn permute_weight<R: Real>(src: &[R], dst: &mut [R], cg: usize, k: usize, back: bool, add: bool) {
    for (s, d) in src.chunks_exact(cg * k).zip(dst.chunks_exact_mut(cg * k)) {
        for c in 0..cg {
            for j in 0..k {
                let (from, to) = if back { (j * cg + c, c * k + j) } else { (c * k + j, j * cg + c) };
                if add { d[to] += s[from] } else { d[to] = s[from] }
            }
        }
    }
}
