//! GRU cell, PyTorch's gate order r, z, n: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
//! n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h' = (1−z)⊙n + z⊙h. Because b_hn sits inside r⊙(…),
//! the hidden-side gradient of the n block differs from the input-side one, so BPTT writes it
//! apart from dGates (r's and z's hidden-side gradients are their input-side ones).

use super::{as_f32, as_f32_mut, carry_inactive, StepBackward, StepForward};
use crate::kernels::kernels;
use crate::real::Real;

pub fn forward_step<R: Real>(s: StepForward<'_, R>) {
    let hd = s.hidden;
    let gs = 3 * hd;
    if let (Some(g), Some(gh), Some(hp), Some(h), Some(hn)) = (as_f32_mut(&mut *s.gates), as_f32(s.gh), as_f32(s.h_prev), as_f32_mut(&mut *s.h), as_f32_mut(&mut *s.aux)) {
        let b_hn = s.b_hn.and_then(as_f32).unwrap_or(&[]);
        return (kernels().gru_forward)(s.batch, hd, s.active, g, gh, b_hn, hp, h, hn);
    }
    for b in 0..s.batch {
        let gate = &mut s.gates[b * gs..(b + 1) * gs];
        let gh = &s.gh[b * gs..(b + 1) * gs];
        for j in 0..2 * hd {
            gate[j] += gh[j];
        }
        R::sigmoid_slice(&mut gate[..2 * hd]); // r, z
        let hn = &mut s.aux[b * hd..(b + 1) * hd];
        for j in 0..hd {
            hn[j] = gh[2 * hd + j] + s.b_hn.map_or(R::ZERO, |bn| bn[j]);
            gate[2 * hd + j] += gate[j] * hn[j];
        }
        R::tanh_slice(&mut gate[2 * hd..]); // n
        for j in 0..hd {
            let (z, n) = (gate[hd + j], gate[2 * hd + j]);
            s.h[b * hd + j] = (R::ONE - z) * n + z * s.h_prev[b * hd + j];
        }
    }
    carry_inactive(s.active, hd, s.h_prev, s.h);
}

pub fn backward_step<R: Real>(s: StepBackward<'_, R>) {
    let hd = s.hidden;
    let gs = 3 * hd;
    if let (Some(g), Some(hn), Some(hp), Some(dh), Some(dgx), Some(dgh), Some(dhp)) =
        (as_f32(s.gates), as_f32(s.aux), as_f32(s.h_prev), as_f32(s.dh), as_f32_mut(&mut *s.dgx), as_f32_mut(&mut *s.dgh), as_f32_mut(&mut *s.dh_prev))
    {
        return (kernels().gru_backward)(s.batch, hd, s.active, g, hn, hp, dh, dgx, dgh, dhp);
    }
    for b in 0..s.batch {
        let rows = b * hd..(b + 1) * hd;
        let (dgx, dgh) = (&mut s.dgx[b * gs..(b + 1) * gs], &mut s.dgh[rows.clone()]);
        if !s.active[b] {
            dgx.fill(R::ZERO);
            dgh.fill(R::ZERO);
            s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
            continue;
        }
        let gate = &s.gates[b * gs..(b + 1) * gs];
        for j in 0..hd {
            let k = b * hd + j;
            let (r, z, n) = (gate[j], gate[hd + j], gate[2 * hd + j]);
            let dh = s.dh[k];
            let dn_pre = dh * (R::ONE - z) * (R::ONE - n * n);
            let dr_pre = dn_pre * s.aux[k] * r * (R::ONE - r);
            let dz_pre = dh * (s.h_prev[k] - n) * z * (R::ONE - z);
            dgx[j] = dr_pre;
            dgx[hd + j] = dz_pre;
            dgx[2 * hd + j] = dn_pre;
            dgh[j] = dn_pre * r;
            s.dh_prev[k] = dh * z;
        }
    }
}
