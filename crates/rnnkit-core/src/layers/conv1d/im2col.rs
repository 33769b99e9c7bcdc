//! im2col / col2im for `Conv1D`: the one place that knows which input row feeds which column of the
//! unrolled matrix, so forward (a copy) and backward (an add back) cannot disagree.
//!
//! Column matrix: [T_out·B, groups·kernel·Cg] (Cg = in_channels / groups), row (o, b) time-major
//! like every sequence, columns ordered (group, tap j, channel c). A group's block is then one
//! contiguous run of each row (one GEMM per group with lda = the full width), and each tap copies
//! Cg contiguous channels of one input row. Entries reading padding or steps past a sequence's
//! length stay zero.

use std::ops::Range;

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

impl Source {
    /// The same step's row `b` further on.
    fn offset(self, b: usize) -> Source {
        match self {
            Source::Input(r) => Source::Input(r + b),
            Source::History(r) => Source::History(r + b),
        }
    }
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

    /// Calls `f(tap, row0, source0, bs)` for every run of consecutive sequences `bs` whose tap of one
    /// output step reads real values: output rows row0 + b and source rows source0 + b for b in bs
    /// (time-major, so a run is one contiguous block of rows on both sides). The source step of a tap
    /// is the same for every sequence; only lengths split a step's rows into runs.
    pub(super) fn for_each_run(&self, mut f: impl FnMut(usize, usize, Source, Range<usize>)) {
        let (b_n, h) = (self.batch, self.history as isize);
        for o in 0..self.t_out() {
            let start = self.win.start(o, self.seq_len);
            for j in 0..self.win.kernel {
                let t = start + (j * self.win.dilation) as isize;
                if t < 0 {
                    if t + h >= 0 {
                        f(j, o * b_n, Source::History((t + h) as usize * b_n), 0..b_n);
                    }
                    continue;
                }
                let t = t as usize;
                match self.lengths {
                    None if t < self.seq_len => f(j, o * b_n, Source::Input(t * b_n), 0..b_n),
                    None => {}
                    Some(lengths) => {
                        // Runs of sequences long enough to have step t.
                        let mut b = 0;
                        while b < b_n {
                            let b0 = b;
                            while b < b_n && lengths[b] > t {
                                b += 1;
                            }
                            if b > b0 {
                                f(j, o * b_n, Source::Input(t * b_n), b0..b);
                            }
                            b += 1;
                        }
                    }
                }
            }
        }
    }

    /// Calls `f(row, tap, source)` for every (output row, tap) that reads a real value.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, Source)) {
        self.for_each_run(|j, row0, src, bs| {
            for b in bs {
                f(row0 + b, j, src.offset(b));
            }
        });
    }

    /// Fills `col` ([T_out·B, width], any previous contents) from `x` [T, B, C] and `history`
    /// [H, B, C] (None = zeros).
    pub fn im2col<R: Real>(&self, x: &[R], history: Option<&[R]>, col: &mut [R]) {
        let (c, cg, k, w) = (self.channels, self.channels / self.groups, self.win.kernel, self.width());
        // Entries no tap writes are zeros: only output steps with a tap in padding (or past the
        // shortest length) have such entries, so only their rows are cleared (a few edge steps,
        // not the whole T_out·B·width matrix).
        let (h, rows_per_step) = (self.history as isize, self.batch * w);
        let min_len = self.lengths.map_or(self.seq_len, |l| l.iter().copied().min().unwrap_or(0));
        for o in 0..self.t_out() {
            let start = self.win.start(o, self.seq_len);
            let real = |j: usize| {
                let t = start + (j * self.win.dilation) as isize;
                if t < 0 { history.is_some() && t + h >= 0 } else { (t as usize) < min_len }
            };
            if !(0..k).all(real) {
                col[o * rows_per_step..(o + 1) * rows_per_step].fill(R::ZERO);
            }
        }
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
                // One channel per group: a strided store beats a 1-element memcpy.
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
