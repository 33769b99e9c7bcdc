//! Elman cell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act ∈ tanh | relu | sigmoid (PyTorch's
//! `nn.RNN` nonlinearities plus Elman's original sigmoid), or any `GateActivation` the layer's
//! `CellOptions::activation` names (ONNX RNN's f). The derivative is read from the output.
//! One gate block (h itself), no cell state, nothing stored besides h.

use super::activation::GateActivation;
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
    fn takes_options(&self) -> bool {
        true
    }
    fn candidate_activation(&self) -> GateActivation {
        match self.0 {
            Nonlinearity::Tanh => GateActivation::Tanh,
            Nonlinearity::Relu => GateActivation::Relu,
            Nonlinearity::Sigmoid => GateActivation::Sigmoid,
        }
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
        s.options.candidate(self.candidate_activation()).apply(a);
        s.h[..n].copy_from_slice(a);
        carry_inactive(s.active, s.hidden, s.h_prev, s.h);
    }

    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>) {
        let hd = s.hidden;
        let act = s.options.candidate(self.candidate_activation());
        for b in 0..s.batch {
            let rows = b * hd..(b + 1) * hd;
            if !s.active[b] {
                s.dgx[rows.clone()].fill(R::ZERO);
                s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
                continue;
            }
            for j in rows {
                // dh · act'(h), in this order (the f64 reference's roundings; `backprop` is the gates' order).
                s.dgx[j] = s.dh[j] * act.derivative(s.gates[j]);
                s.dh_prev[j] = R::ZERO;
            }
        }
    }
}
