//! Fused element-wise halves of the LSTM and GRU time steps, written once over `Lanes`: one call per
//! step covers every batch row (gate activations, state update, tanh(c), the new h), reading each
//! gate value once while the step's gate block is still in cache. The matching BPTT steps too.
//! For one batch row (latency), `lstm_row_step` / `gru_row_step` also take over the step's
//! recurrent GEMV, so the cell overlaps its weight loads.
//! Formulas are cell/lstm.rs and cell/gru.rs's (PyTorch gate orders); those files hold the generic
//! (f64 reference) versions, and tests/layer_properties.rs checks these against them.
//! Row layouts: gates [batch, G·H] gate-major per row; states [batch, H]. Inactive rows (a step past
//! the sequence's end) carry c and h unchanged and get zero gate gradients.

use super::gemm::aligned_start;
use super::lanes::{Lanes, MAX_LANES};
use super::math::{sigmoid, tanh};

/// Loads up to LANES values (zero padded past the end of `s`).
#[inline(always)]
fn ld<L: Lanes>(s: &[f32]) -> L {
    if s.len() >= L::LANES {
        L::load(s)
    } else {
        let mut b = [0.0f32; MAX_LANES];
        b[..s.len()].copy_from_slice(s);
        L::load(&b)
    }
}

/// Stores the first min(LANES, |s|) lanes.
#[inline(always)]
fn st<L: Lanes>(v: L, s: &mut [f32]) {
    if s.len() >= L::LANES {
        v.store(s)
    } else {
        let mut b = [0.0f32; MAX_LANES];
        v.store(&mut b);
        let n = s.len();
        s.copy_from_slice(&b[..n]);
    }
}

/// LSTM forward. In: `gates` = x·W_ihᵀ + b + h·W_hhᵀ. Out: activated i, f, g, o in `gates`,
/// c = f⊙c_prev + i⊙g, `tanh_c`, h = o⊙tanh(c) (inactive rows: c = c_prev, h = h_prev).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_forward<L: Lanes>(
    batch: usize,
    hd: usize,
    active: &[bool],
    gates: &mut [f32],
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    h_prev: &[f32],
    h: &mut [f32],
) {
    let gs = 4 * hd;
    for b in 0..batch {
        let g = &mut gates[b * gs..(b + 1) * gs];
        // The gate activations first, as plain element-wise passes (i and f are adjacent): every
        // vector is an independent exp chain, so the core overlaps several. Fused with the state
        // update below, one row's few vectors each waited on a dependent chain of five
        // transcendentals (F2, H = 64: the cell took 18% of the call).
        activate_in_place::<L, false>(&mut g[..2 * hd]);
        activate_in_place::<L, true>(&mut g[2 * hd..3 * hd]);
        activate_in_place::<L, false>(&mut g[3 * hd..]);
        let r = b * hd..(b + 1) * hd;
        let (cp, cr, tc, hp, hr) = (&c_prev[r.clone()], &mut c[r.clone()], &mut tanh_c[r.clone()], &h_prev[r.clone()], &mut h[r]);
        let on = active[b];
        for j in (0..hd).step_by(L::LANES) {
            let e = (j + L::LANES).min(hd);
            let (i, f): (L, L) = (ld(&g[j..e]), ld(&g[hd + j..hd + e]));
            let (gg, o): (L, L) = (ld(&g[2 * hd + j..2 * hd + e]), ld(&g[3 * hd + j..3 * hd + e]));
            let (cn, t, hn) = lstm_state(on, [i, f, gg, o], ld(&cp[j..e]), ld(&hp[j..e]));
            st(cn, &mut cr[j..e]);
            st(t, &mut tc[j..e]);
            st(hn, &mut hr[j..e]);
        }
    }
}

/// The LSTM state update of LANES units from their activated gates i, f, g, o: (c, tanh(c), h) with
/// c = f⊙c_prev + i⊙g and h = o⊙tanh(c); an inactive row keeps c_prev and h_prev.
#[inline(always)]
fn lstm_state<L: Lanes>(on: bool, [i, f, g, o]: [L; 4], c_prev: L, h_prev: L) -> (L, L, L) {
    let c = if on { f.mul(c_prev).add(i.mul(g)) } else { c_prev };
    let t = tanh(c);
    (c, t, if on { o.mul(t) } else { h_prev })
}

/// W_hh packed for the one-row steps (`lstm_row_step`, `gru_row_step`) by `pack_row_weights`,
/// starting on a 64-byte boundary like `PackedB`: the steps are bound by these loads, and a vector
/// load straddling two cache lines costs two (F2 measured 0.040 or 0.047 ms per call depending on
/// where the allocator put the buffer).
#[derive(Clone, Default, Debug)]
pub struct RowWeights {
    data: Vec<f32>,
    off: usize,
    len: usize,
}

impl RowWeights {
    pub fn as_slice(&self) -> &[f32] {
        &self.data[self.off..self.off + self.len]
    }
}

/// W_hh [G·H, H] (gate-major rows in PyTorch's order: LSTM i, f, g, o; GRU r, z, n) packed for the
/// one-row steps with `lanes` units per group: group q holds, for k = 0..H, the G gates' weights of
/// units q·lanes.. as [k][gate][lane], so one group's recurrent product reads one contiguous run.
/// H must be a multiple of `lanes`.
pub fn pack_row_weights(gates: usize, lanes: usize, hd: usize, w_hh: &[f32], out: &mut RowWeights) {
    assert!(hd.is_multiple_of(lanes) && w_hh.len() == gates * hd * hd, "pack_row_weights: H = {hd} with {lanes} lanes, {} weights for {gates} gates", w_hh.len());
    let len = gates * hd * hd;
    out.off = aligned_start(&mut out.data, len);
    out.len = len;
    let mut dst = out.data[out.off..out.off + len].iter_mut();
    for q in (0..hd).step_by(lanes) {
        for k in 0..hd {
            for g in 0..gates {
                for u in q..q + lanes {
                    *dst.next().expect("sized above") = w_hh[(g * hd + u) * hd + k];
                }
            }
        }
    }
}

/// h_{t−1}·W_hhᵀ for the G gates of LANES units `u..` (`w` from `pack_row_weights`), as gemm.rs's
/// one-row step GEMM computes them: per `kc`-deep block of k one FMA chain from 0, combined as its
/// C ← 1·acc + β·C does (β = 0 for the first block, so C = acc, then 1: one rounding of C + acc).
/// Starting from `init` (Some: β = 1 into those values, the input projection's gates).
#[inline(always)]
fn row_product<L: Lanes, const G: usize>(kc: usize, hd: usize, u: usize, w: &[f32], h_prev: &[f32], init: Option<[L; G]>) -> [L; G] {
    let n = L::LANES;
    let wq = w[G * u * hd..G * (u + n) * hd].as_ptr();
    let mut sum = init;
    for k0 in (0..hd).step_by(kc) {
        let mut acc = [L::splat(0.0); G];
        for (k, &hk) in h_prev.iter().enumerate().take((k0 + kc).min(hd)).skip(k0) {
            let hk = L::splat(hk);
            for (gate, a) in acc.iter_mut().enumerate() {
                // SAFETY: (k·G + gate)·n + n ≤ G·n·hd, inside this group's run of `w` (sliced above).
                *a = hk.fma(unsafe { L::load_ptr(wq.add((k * G + gate) * n)) }, *a);
            }
        }
        sum = Some(match sum {
            Some(mut c) => {
                for (c, a) in c.iter_mut().zip(acc) {
                    *c = c.add(a);
                }
                c
            }
            None => acc,
        });
    }
    sum.expect("H ≥ 1")
}

/// One batch row's LSTM step with its recurrent product fused in (batch-1 steps: F2's latency
/// case). `gates` holds the row's projection [x_t | 1]·[W_ih | b]ᵀ; `w` is W_hh from
/// `pack_row_weights`. Per group of LANES units, h_{t−1}·W_hhᵀ's i, f, g, o columns accumulate in
/// four registers and the cell update runs on them at once, so its transcendental chains overlap
/// the next group's weight loads instead of waiting for the whole GEMV. Bit-identical to the step
/// GEMM (`sgemm_packed`, one row, β = 1) followed by `lstm_forward`: the same sums (`row_product`)
/// and element-wise formulas. `reverse` walks the groups from the last (as gemm.rs's serpentine
/// walk: the weights read last are still in L1).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_row_step<L: Lanes>(kc: usize, hd: usize, active: bool, reverse: bool, w: &[f32], gates: &mut [f32], c_prev: &[f32], c: &mut [f32], tanh_c: &mut [f32], h_prev: &[f32], h: &mut [f32]) {
    let n = L::LANES;
    assert!(hd.is_multiple_of(n) && kc > 0 && w.len() >= 4 * hd * hd && gates.len() >= 4 * hd, "lstm_row_step: H = {hd}, {} weights, {} gates", w.len(), gates.len());
    assert!(c_prev.len() >= hd && c.len() >= hd && tanh_c.len() >= hd && h_prev.len() >= hd && h.len() >= hd);
    let groups = hd / n;
    for i in 0..groups {
        let u = if reverse { (groups - 1 - i) * n } else { i * n };
        // (Plain expressions, no closures, in kernel bodies: see `activate_in_place`.)
        let projected = [L::load(&gates[u..]), L::load(&gates[hd + u..]), L::load(&gates[2 * hd + u..]), L::load(&gates[3 * hd + u..])];
        let [i_, f, gg, o] = row_product::<L, 4>(kc, hd, u, w, h_prev, Some(projected));
        let (i_, f, gg, o) = (sigmoid(i_), sigmoid(f), tanh(gg), sigmoid(o));
        for (gate, v) in [i_, f, gg, o].into_iter().enumerate() {
            v.store(&mut gates[gate * hd + u..]);
        }
        let r = u..u + n;
        let (cn, t, hn) = lstm_state(active, [i_, f, gg, o], L::load(&c_prev[r.clone()]), L::load(&h_prev[r.clone()]));
        cn.store(&mut c[r.clone()]);
        t.store(&mut tanh_c[r.clone()]);
        hn.store(&mut h[r]);
    }
}

/// One batch row's GRU step with its recurrent product fused in, as `lstm_row_step`: `gates` holds
/// the row's projection, and per group the r, z, n columns of h_{t−1}·W_hhᵀ (the step GEMM's `gh`,
/// β = 0) feed `gru_forward`'s formulas at once. Bit-identical to that GEMM followed by `gru_forward`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_row_step<L: Lanes>(kc: usize, hd: usize, active: bool, reverse: bool, w: &[f32], b_hn: &[f32], gates: &mut [f32], h_prev: &[f32], h: &mut [f32], hn: &mut [f32]) {
    let n = L::LANES;
    assert!(hd.is_multiple_of(n) && kc > 0 && w.len() >= 3 * hd * hd && gates.len() >= 3 * hd, "gru_row_step: H = {hd}, {} weights, {} gates", w.len(), gates.len());
    assert!((b_hn.is_empty() || b_hn.len() >= hd) && h_prev.len() >= hd && h.len() >= hd && hn.len() >= hd);
    let groups = hd / n;
    for i in 0..groups {
        let u = if reverse { (groups - 1 - i) * n } else { i * n };
        let [gh_r, gh_z, gh_n] = row_product::<L, 3>(kc, hd, u, w, h_prev, None);
        let r = u..u + n;
        let (gr, gz, gn) = (u, hd + u, 2 * hd + u);
        let rg = sigmoid(L::load(&gates[gr..]).add(gh_r));
        let z = sigmoid(L::load(&gates[gz..]).add(gh_z));
        let bias = if b_hn.is_empty() { None } else { Some(L::load(&b_hn[r.clone()])) };
        let (nv, hv, out) = gru_state(active, rg, z, L::load(&gates[gn..]), gh_n, bias, L::load(&h_prev[r.clone()]));
        rg.store(&mut gates[gr..]);
        z.store(&mut gates[gz..]);
        nv.store(&mut gates[gn..]);
        hv.store(&mut hn[r.clone()]);
        out.store(&mut h[r]);
    }
}

/// The GRU update of LANES units from activated r and z, the x-side n pre-activation `g_n` and the
/// hidden side W_hn·h_{t−1} (`gh_n`, plus b_hn when given): (n, W_hn·h + b_hn, h) with
/// n = tanh(g_n + r⊙(W_hn·h + b_hn)) and h = (1−z)⊙n + z⊙h_prev; an inactive row keeps h_prev.
#[inline(always)]
fn gru_state<L: Lanes>(on: bool, r: L, z: L, g_n: L, gh_n: L, b_hn: Option<L>, h_prev: L) -> (L, L, L) {
    let hv = match b_hn {
        Some(b) => gh_n.add(b),
        None => gh_n,
    };
    let n = tanh(g_n.add(r.mul(hv)));
    let out = if on { L::splat(1.0).sub(z).mul(n).add(z.mul(h_prev)) } else { h_prev };
    (n, hv, out)
}

/// x ← tanh(x) (`TANH`) or sigmoid(x) over a slice, LANES at a time. (A const parameter, not a
/// function argument: a function passed in is compiled without the caller's target features.)
#[inline(always)]
fn activate_in_place<L: Lanes, const TANH: bool>(xs: &mut [f32]) {
    for chunk in xs.chunks_mut(L::LANES) {
        let x: L = ld(chunk);
        st(if TANH { tanh(x) } else { sigmoid(x) }, chunk);
    }
}

/// LSTM BPTT step. `dc` in: dL/dc_t, out: dL/dc_{t−1}. Writes dL/d(pre-activations) to `dgx` and the
/// part of dL/dh_{t−1} not through W_hh to `dh_prev` (0, or dh for an inactive row).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_backward<L: Lanes>(
    batch: usize,
    hd: usize,
    active: &[bool],
    gates: &[f32],
    tanh_c: &[f32],
    c_prev: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    dgx: &mut [f32],
    dh_prev: &mut [f32],
) {
    let gs = 4 * hd;
    let one = L::splat(1.0);
    for b in 0..batch {
        let d = &mut dgx[b * gs..(b + 1) * gs];
        let r = b * hd..(b + 1) * hd;
        if !active[b] {
            d.fill(0.0);
            dh_prev[r.clone()].copy_from_slice(&dh[r]);
            continue;
        }
        let g = &gates[b * gs..(b + 1) * gs];
        let (tc, cp, dhr, dcr, dhp) = (&tanh_c[r.clone()], &c_prev[r.clone()], &dh[r.clone()], &mut dc[r.clone()], &mut dh_prev[r]);
        for j in (0..hd).step_by(L::LANES) {
            let e = (j + L::LANES).min(hd);
            let (i, f): (L, L) = (ld(&g[j..e]), ld(&g[hd + j..hd + e]));
            let (gg, o): (L, L) = (ld(&g[2 * hd + j..2 * hd + e]), ld(&g[3 * hd + j..3 * hd + e]));
            let (t, dhv): (L, L) = (ld(&tc[j..e]), ld(&dhr[j..e]));
            let dcv = ld::<L>(&dcr[j..e]).add(dhv.mul(o).mul(one.sub(t.mul(t))));
            st(dcv.mul(gg).mul(i).mul(one.sub(i)), &mut d[j..e]);
            st(dcv.mul(ld(&cp[j..e])).mul(f).mul(one.sub(f)), &mut d[hd + j..hd + e]);
            st(dcv.mul(i).mul(one.sub(gg.mul(gg))), &mut d[2 * hd + j..2 * hd + e]);
            st(dhv.mul(t).mul(o).mul(one.sub(o)), &mut d[3 * hd + j..3 * hd + e]);
            st(dcv.mul(f), &mut dcr[j..e]);
            st(L::splat(0.0), &mut dhp[j..e]);
        }
    }
}

/// GRU forward. In: `gates` = x·W_ihᵀ + b (r, z with b_hh folded in), `gh` = h·W_hhᵀ, `b_hn` [H] or
/// empty. Out: r, z, n in `gates`, `hn` = W_hn·h + b_hn, h = (1−z)⊙n + z⊙h_prev (inactive: h_prev).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_forward<L: Lanes>(
    batch: usize,
    hd: usize,
    active: &[bool],
    gates: &mut [f32],
    gh: &[f32],
    b_hn: &[f32],
    h_prev: &[f32],
    h: &mut [f32],
    hn: &mut [f32],
) {
    let gs = 3 * hd;
    for b in 0..batch {
        let g = &mut gates[b * gs..(b + 1) * gs];
        let ghr = &gh[b * gs..(b + 1) * gs];
        let r = b * hd..(b + 1) * hd;
        let (hp, hr, hnr) = (&h_prev[r.clone()], &mut h[r.clone()], &mut hn[r]);
        let on = active[b];
        // r and z first, as one element-wise pass (independent chains; see `lstm_forward`).
        for (gc, hc) in g[..2 * hd].chunks_mut(L::LANES).zip(ghr[..2 * hd].chunks(L::LANES)) {
            st(sigmoid(ld::<L>(gc).add(ld(hc))), gc);
        }
        for j in (0..hd).step_by(L::LANES) {
            let e = (j + L::LANES).min(hd);
            let (rg, z): (L, L) = (ld(&g[j..e]), ld(&g[hd + j..hd + e]));
            let bias = if b_hn.is_empty() { None } else { Some(ld(&b_hn[j..e])) };
            let (n, hv, out) = gru_state(on, rg, z, ld(&g[2 * hd + j..2 * hd + e]), ld(&ghr[2 * hd + j..2 * hd + e]), bias, ld(&hp[j..e]));
            st(n, &mut g[2 * hd + j..2 * hd + e]);
            st(hv, &mut hnr[j..e]);
            st(out, &mut hr[j..e]);
        }
    }
}

/// GRU BPTT step: dL/d(x-side pre-activations) to `dgx` [batch, 3H], dL/d(W_hn·h + b_hn) to `dgh`
/// [batch, H] (r's and z's hidden-side gradients equal their `dgx` columns and are not written
/// twice), and the part of dL/dh_{t−1} not through W_hh (z⊙dh, or dh for an inactive row) to `dh_prev`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_backward<L: Lanes>(
    batch: usize,
    hd: usize,
    active: &[bool],
    gates: &[f32],
    hn: &[f32],
    h_prev: &[f32],
    dh: &[f32],
    dgx: &mut [f32],
    dgh: &mut [f32],
    dh_prev: &mut [f32],
) {
    let gs = 3 * hd;
    let one = L::splat(1.0);
    for b in 0..batch {
        let r = b * hd..(b + 1) * hd;
        let (dx, dhh) = (&mut dgx[b * gs..(b + 1) * gs], &mut dgh[r.clone()]);
        if !active[b] {
            dx.fill(0.0);
            dhh.fill(0.0);
            dh_prev[r.clone()].copy_from_slice(&dh[r]);
            continue;
        }
        let g = &gates[b * gs..(b + 1) * gs];
        let (hnr, hp, dhr, dhp) = (&hn[r.clone()], &h_prev[r.clone()], &dh[r.clone()], &mut dh_prev[r]);
        for j in (0..hd).step_by(L::LANES) {
            let e = (j + L::LANES).min(hd);
            let (rg, z, n): (L, L, L) = (ld(&g[j..e]), ld(&g[hd + j..hd + e]), ld(&g[2 * hd + j..2 * hd + e]));
            let dhv: L = ld(&dhr[j..e]);
            let dn = dhv.mul(one.sub(z)).mul(one.sub(n.mul(n)));
            let dr = dn.mul(ld(&hnr[j..e])).mul(rg).mul(one.sub(rg));
            let dz = dhv.mul(ld::<L>(&hp[j..e]).sub(n)).mul(z).mul(one.sub(z));
            st(dr, &mut dx[j..e]);
            st(dz, &mut dx[hd + j..hd + e]);
            st(dn, &mut dx[2 * hd + j..2 * hd + e]);
            st(dn.mul(rg), &mut dhh[j..e]);
            st(dhv.mul(z), &mut dhp[j..e]);
        }
    }
}
