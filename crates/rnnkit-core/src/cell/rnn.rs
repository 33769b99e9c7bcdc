//! Elman cell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act ∈ tanh | relu | sigmoid (PyTorch's
//! `nn.RNN` nonlinearities plus Elman's original sigmoid). The derivative is read from the output.

use super::{add_gh, carry_inactive, StepBackward, StepForward};
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    Tanh,
    Relu,
    Sigmoid,
}

pub fn forward_step<R: Real>(act: Nonlinearity, s: StepForward<'_, R>) {
    let n = s.batch * s.hidden;
    add_gh(&mut s.gates[..n], s.gh);
    let a = &mut s.gates[..n];
    match act {
        Nonlinearity::Tanh => R::tanh_slice(a),
        Nonlinearity::Sigmoid => R::sigmoid_slice(a),
        // `<` keeps NaN as NaN, like torch.relu.
        Nonlinearity::Relu => a.iter_mut().filter(|g| **g < R::ZERO).for_each(|g| *g = R::ZERO),
    }
    s.h[..n].copy_from_slice(a);
    carry_inactive(s.active, s.hidden, s.h_prev, s.h);
}

pub fn backward_step<R: Real>(act: Nonlinearity, s: StepBackward<'_, R>) {
    let hd = s.hidden;
    for b in 0..s.batch {
        let rows = b * hd..(b + 1) * hd;
        if !s.active[b] {
            s.dgx[rows.clone()].fill(R::ZERO);
            s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
            continue;
        }
        for j in rows {
            let a = s.gates[j];
            let d = match act {
                Nonlinearity::Tanh => R::ONE - a * a,
                Nonlinearity::Sigmoid => a * (R::ONE - a),
                Nonlinearity::Relu => {
                    if a > R::ZERO { R::ONE } else { R::ZERO }
                }
            };
            s.dgx[j] = s.dh[j] * d;
            s.dh_prev[j] = R::ZERO;
        }
    }
}
