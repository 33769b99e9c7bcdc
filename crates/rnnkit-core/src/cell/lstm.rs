//! LSTM cell, PyTorch's gate order i, f, g, o: c' = f⊙c + i⊙g, h' = o⊙tanh(c'), with i, f, o
//! sigmoid and g tanh. The forward step keeps the activated gates and tanh(c') for BPTT.

use super::{add_gh, as_f32, as_f32_mut, carry_inactive, StepBackward, StepForward};
use crate::kernels::kernels;
use crate::real::Real;

pub fn forward_step<R: Real>(s: StepForward<'_, R>) {
    let hd = s.hidden;
    let gs = 4 * hd;
    let n = s.batch * gs;
    add_gh(&mut s.gates[..n], s.gh);
    if let (Some(g), Some(cp), Some(c), Some(tc), Some(hp), Some(h)) =
        (as_f32_mut(&mut s.gates[..n]), as_f32(s.c_prev), as_f32_mut(&mut *s.c), as_f32_mut(&mut *s.aux), as_f32(s.h_prev), as_f32_mut(&mut *s.h))
    {
        return (kernels().lstm_forward)(s.batch, hd, s.active, g, cp, c, tc, hp, h);
    }
    for row in s.gates[..n].chunks_exact_mut(gs) {
        R::sigmoid_slice(&mut row[..2 * hd]); // i, f
        R::tanh_slice(&mut row[2 * hd..3 * hd]); // g
        R::sigmoid_slice(&mut row[3 * hd..]); // o
    }
    for b in 0..s.batch {
        let gate = &s.gates[b * gs..(b + 1) * gs];
        let (c, cp) = (&mut s.c[b * hd..(b + 1) * hd], &s.c_prev[b * hd..(b + 1) * hd]);
        if s.active[b] {
            for j in 0..hd {
                c[j] = gate[hd + j] * cp[j] + gate[j] * gate[2 * hd + j];
            }
        } else {
            c.copy_from_slice(cp);
        }
    }
    let m = s.batch * hd;
    s.aux[..m].copy_from_slice(&s.c[..m]);
    R::tanh_slice(&mut s.aux[..m]);
    for b in 0..s.batch {
        let o = &s.gates[b * gs + 3 * hd..(b + 1) * gs];
        let rows = b * hd..(b + 1) * hd;
        for ((h, o), tc) in s.h[rows.clone()].iter_mut().zip(o).zip(&s.aux[rows]) {
            *h = *o * *tc;
        }
    }
    carry_inactive(s.active, hd, s.h_prev, s.h);
}

pub fn backward_step<R: Real>(s: StepBackward<'_, R>) {
    let hd = s.hidden;
    let gs = 4 * hd;
    if let (Some(g), Some(tc), Some(cp), Some(dh), Some(dc), Some(dgx), Some(dhp)) =
        (as_f32(s.gates), as_f32(s.aux), as_f32(s.c_prev), as_f32(s.dh), as_f32_mut(&mut *s.dc), as_f32_mut(&mut *s.dgx), as_f32_mut(&mut *s.dh_prev))
    {
        return (kernels().lstm_backward)(s.batch, hd, s.active, g, tc, cp, dh, dc, dgx, dhp);
    }
    for b in 0..s.batch {
        let dgx = &mut s.dgx[b * gs..(b + 1) * gs];
        let rows = b * hd..(b + 1) * hd;
        if !s.active[b] {
            // c and h were carried unchanged: their gradients pass through, the gates get none.
            dgx.fill(R::ZERO);
            s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
            continue;
        }
        let gate = &s.gates[b * gs..(b + 1) * gs];
        for j in 0..hd {
            let k = b * hd + j;
            let (i, f, g, o) = (gate[j], gate[hd + j], gate[2 * hd + j], gate[3 * hd + j]);
            let tc = s.aux[k];
            let dh = s.dh[k];
            let dc = s.dc[k] + dh * o * (R::ONE - tc * tc);
            dgx[j] = dc * g * i * (R::ONE - i);
            dgx[hd + j] = dc * s.c_prev[k] * f * (R::ONE - f);
            dgx[2 * hd + j] = dc * i * (R::ONE - g * g);
            dgx[3 * hd + j] = dh * tc * o * (R::ONE - o);
            s.dc[k] = dc * f;
            s.dh_prev[k] = R::ZERO;
        }
    }
}
