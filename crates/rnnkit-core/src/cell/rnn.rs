//! Elman cell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act ∈ tanh | relu | sigmoid (PyTorch's
//! `nn.RNN` nonlinearities plus Elman's original sigmoid). The derivative is read from the output.
//! One gate block (h itself), no cell state, nothing stored besides h.

use super::{add_gh, carry_inactive, Cell, StepBackward, StepForward};
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    Tanh,
    Relu,
    Sigmoid,
}

/// An Elman cell with its nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rnn(pub Nonlinearity);

pub const RNN_TANH: Rnn = Rnn(Nonlinearity::Tanh);
pub const RNN_RELU: Rnn = Rnn(Nonlinearity::Relu);
pub const RNN_SIGMOID: Rnn = Rnn(Nonlinearity::Sigmoid);

impl Cell for Rnn {
    fn name(&self) -> &'static str {
        match self.0 {
            Nonlinearity::Tanh => "rnn_tanh",
            Nonlinearity::Relu => "rnn_relu",
            Nonlinearity::Sigmoid => "rnn_sigmoid",
        }
    }
    fn layer_type(&self) -> &'static str {
        "RNN"
    }
    fn nonlinearity(&self) -> Option<&'static str> {
        Some(self.hidden_activation())
    }
    fn gates(&self) -> usize {
        1
    }
    fn hidden_activation(&self) -> &'static str {
        match self.0 {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::Sigmoid => "sigmoid",
        }
    }

    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>) {
        let n = s.batch * s.hidden;
        add_gh(&mut s.gates[..n], s.gh);
        let a = &mut s.gates[..n];
        match self.0 {
            Nonlinearity::Tanh => R::tanh_slice(a),
            Nonlinearity::Sigmoid => R::sigmoid_slice(a),
            // `<` keeps NaN as NaN, like torch.relu.
            Nonlinearity::Relu => a.iter_mut().filter(|g| **g < R::ZERO).for_each(|g| *g = R::ZERO),
        }
        s.h[..n].copy_from_slice(a);
        carry_inactive(s.active, s.hidden, s.h_prev, s.h);
    }

    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>) {
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
                let d = match self.0 {
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
}
