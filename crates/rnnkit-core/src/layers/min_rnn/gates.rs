//! The two minimal cells of Feng et al. 2024 ("Were RNNs All We Needed?") as the coefficients of
//! the linear recurrence `h_t = a_t ⊙ h_{t−1} + b_t` (scan.rs runs it), and their gradients. Gates
//! read only the input projection of x_t, one row [G·H] of pre-activations per (t, b), blocks:
//! - minGRU (G = 2: z, h̃): z = σ(k_z), h̃ = g(k_h); a = 1 − z = σ(−k_z), b = z ⊙ h̃.
//! - minLSTM (G = 3: f, i, h̃): f = σ(k_f), i = σ(k_i), h̃ = g(k_h); a = f/(f + i), b = i/(f + i) ⊙ h̃.
//!
//! g is the paper's log-space candidate, g(x) = x + ½ (x ≥ 0), σ(x) (x < 0), so h̃ > 0. Computed as
//! the paper's log-space version computes them: z and 1 − z both from σ(−|k|) (never 1 − σ(k) where
//! that is the small one: it is 0 for z ≈ 1),
//! and f/(f + i) = σ(log f − log i) with log σ(k) = −softplus(−k) once f or i is so small that
//! f + i would leave the normal f32 range (below, the direct ratio is exact to a few ulps and fast).

use crate::real::Real;

/// Which minimal cell a layer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinCell {
    Gru,
    Lstm,
}

/// Below this pre-activation (σ ≈ 9e-14) minLSTM's normalisation takes the log-space form.
const LOG_SPACE_BELOW: f64 = -30.0;

impl MinCell {
    /// Gate blocks per row of the input projection (and of `weight`).
    pub fn gates(self) -> usize {
        match self {
            MinCell::Gru => 2,
            MinCell::Lstm => 3,
        }
    }

    /// The registry's type name.
    pub fn layer_type(self) -> &'static str {
        match self {
            MinCell::Gru => "MinGRU",
            MinCell::Lstm => "MinLSTM",
        }
    }

    /// Lanes of per-row scratch `forward_row`/`backward_row` need, per hidden unit.
    pub(crate) fn scratch_per_unit(self) -> usize {
        5
    }
}

/// g(x) from x and σ(x).
fn candidate<R: Real>(x: R, sig: R) -> R {
    if x >= R::ZERO { x + R::from_f64(0.5) } else { sig }
}

/// g′(x) from x and σ(x); 1 − σ(x) is exact enough where it is read (x < 0: σ(x) < ½).
fn candidate_slope<R: Real>(x: R, sig: R) -> R {
    if x >= R::ZERO { R::ONE } else { sig * (R::ONE - sig) }
}

/// softplus(x) = log(1 + eˣ), without overflow.
fn softplus<R: Real>(x: R) -> R {
    x.max(R::ZERO) + (R::ONE + (-x.abs()).exp()).ln()
}

fn logistic<R: Real>(x: R) -> R {
    R::ONE / (R::ONE + (-x).exp())
}

/// minLSTM's normalised gates (f′, i′) = (f, i)/(f + i) from the pre-activations and σ of them.
fn normalised<R: Real>(kf: R, ki: R, f: R, i: R) -> (R, R) {
    if kf.min(ki) >= R::from_f64(LOG_SPACE_BELOW) {
        let s = f + i;
        (f / s, i / s)
    } else {
        // log f − log i = softplus(−k_i) − softplus(−k_f).
        let d = softplus(-ki) - softplus(-kf);
        (logistic(d), logistic(-d))
    }
}

/// `dst` ← σ(src), through the kernel table for f32.
fn sigmoid_into<R: Real>(src: &[R], dst: &mut [R]) {
    dst.copy_from_slice(src);
    R::sigmoid_slice(dst);
}

/// `pos` ← σ(k), `neg` ← σ(−k) from one sigmoid: s = σ(−|k|) is the smaller of the two and 1 − s
/// the larger (≥ ½, so the subtraction costs no relative precision).
fn sigmoid_pair<R: Real>(k: &[R], pos: &mut [R], neg: &mut [R]) {
    for (n, &v) in neg.iter_mut().zip(k) {
        *n = -v.abs();
    }
    R::sigmoid_slice(neg);
    for ((p, n), &v) in pos.iter_mut().zip(neg.iter_mut()).zip(k) {
        let (small, large) = (*n, R::ONE - *n);
        (*p, *n) = if v >= R::ZERO { (large, small) } else { (small, large) };
    }
}

/// `n` H-lane pieces of `scratch`.
fn lanes<R, const N: usize>(scratch: &mut [R], h: usize) -> [&mut [R]; N] {
    let mut pieces = scratch.chunks_exact_mut(h);
    std::array::from_fn(|_| pieces.next().expect("scratch holds scratch_per_unit() pieces"))
}

/// One row: `pre` [G·H] (bias included) → `a`, `b` [H].
pub(crate) fn forward_row<R: Real>(cell: MinCell, pre: &[R], a: &mut [R], b: &mut [R], scratch: &mut [R]) {
    let h = a.len();
    match cell {
        MinCell::Gru => {
            let [z, sh] = lanes(scratch, h);
            sigmoid_pair(&pre[..h], z, a);
            sigmoid_into(&pre[h..2 * h], sh);
            for j in 0..h {
                b[j] = z[j] * candidate(pre[h + j], sh[j]);
            }
        }
        MinCell::Lstm => {
            let [f, i, sh] = lanes(scratch, h);
            for (block, dst) in [&mut *f, &mut *i, &mut *sh].into_iter().enumerate() {
                sigmoid_into(&pre[block * h..][..h], dst);
            }
            for j in 0..h {
                let (fa, ia) = normalised(pre[j], pre[h + j], f[j], i[j]);
                a[j] = fa;
                b[j] = ia * candidate(pre[2 * h + j], sh[j]);
            }
        }
    }
}

/// One row's gradient: `g` = dL/dh_t (total), `h_prev` = h_{t−1}; WRITES dL/d`pre` [G·H].
/// With da = g ⊙ h_prev and db = g:
/// - minGRU: dk_z = z(1 − z) ⊙ g ⊙ (h̃ − h_prev), dk_h = g ⊙ z ⊙ g′(k_h);
/// - minLSTM, d = log f − log i (a = σ(d), i′ = σ(−d)): dd = a i′ ⊙ g ⊙ (h_prev − h̃),
///   dk_f = dd ⊙ σ(−k_f), dk_i = −dd ⊙ σ(−k_i), dk_h = g ⊙ i′ ⊙ g′(k_h).
pub(crate) fn backward_row<R: Real>(cell: MinCell, pre: &[R], g: &[R], h_prev: &[R], d_pre: &mut [R], scratch: &mut [R]) {
    let h = g.len();
    match cell {
        MinCell::Gru => {
            let [z, one_minus_z, sh] = lanes(scratch, h);
            sigmoid_pair(&pre[..h], z, one_minus_z);
            sigmoid_into(&pre[h..2 * h], sh);
            let (dz, dh) = d_pre.split_at_mut(h);
            for j in 0..h {
                let kh = pre[h + j];
                dz[j] = z[j] * one_minus_z[j] * g[j] * (candidate(kh, sh[j]) - h_prev[j]);
                dh[j] = g[j] * z[j] * candidate_slope(kh, sh[j]);
            }
        }
        MinCell::Lstm => {
            let [f, i, sh, f_neg, i_neg] = lanes(scratch, h);
            sigmoid_pair(&pre[..h], f, f_neg);
            sigmoid_pair(&pre[h..2 * h], i, i_neg);
            sigmoid_into(&pre[2 * h..3 * h], sh);
            let (df, rest) = d_pre.split_at_mut(h);
            let (di, dh) = rest.split_at_mut(h);
            for j in 0..h {
                let kh = pre[2 * h + j];
                let (fa, ia) = normalised(pre[j], pre[h + j], f[j], i[j]);
                let dd = fa * ia * g[j] * (h_prev[j] - candidate(kh, sh[j]));
                df[j] = dd * f_neg[j];
                di[j] = -dd * i_neg[j];
                dh[j] = g[j] * ia * candidate_slope(kh, sh[j]);
            }
        }
    }
}
