//! Fused element-wise halves of the LSTM and GRU time steps, written once over `Lanes`: one call per
//! step covers every batch row (gate activations, state update, tanh(c), the new h), reading each
//! gate value once while the step's gate block is still in cache. The matching BPTT steps too.
//! Formulas are cell/lstm.rs and cell/gru.rs's (PyTorch gate orders); those files hold the generic
//! (f64 reference) versions, and tests/layer_properties.rs checks these against them.
//! Row layouts: gates [batch, G·H] gate-major per row; states [batch, H]. Inactive rows (a step past
//! the sequence's end) carry c and h unchanged and get zero gate gradients.

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
            let cpv: L = ld(&cp[j..e]);
            let cn = if on { f.mul(cpv).add(i.mul(gg)) } else { cpv };
            st(cn, &mut cr[j..e]);
            let t = tanh(cn);
            st(t, &mut tc[j..e]);
            let hn = if on { o.mul(t) } else { ld(&hp[j..e]) };
            st(hn, &mut hr[j..e]);
        }
    }
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
    let one = L::splat(1.0);
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
            let mut hv: L = ld(&ghr[2 * hd + j..2 * hd + e]);
            if !b_hn.is_empty() {
                hv = hv.add(ld(&b_hn[j..e]));
            }
            let n: L = tanh(ld::<L>(&g[2 * hd + j..2 * hd + e]).add(rg.mul(hv)));
            st(n, &mut g[2 * hd + j..2 * hd + e]);
            st(hv, &mut hnr[j..e]);
            let hpv: L = ld(&hp[j..e]);
            let out = if on { one.sub(z).mul(n).add(z.mul(hpv)) } else { hpv };
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
