//! IndRNN cell (Li et al., "Independently Recurrent Neural Network (IndRNN): Building A Longer and
//! Deeper RNN", CVPR 2018): h' = act(W_ih x + b_ih + u ⊙ h + b_hh), act ∈ relu (the paper's) | tanh.
//! Each unit sees only its own previous value through one recurrent weight, u [H], stored as
//! `weight_hh_l{k}` of shape [H] (PyTorch-style names; the vector stands where the other cells'
//! [G·H, H] matrix does). The cell is `Recurrence::Diagonal`: the scan adds u ⊙ h_{t−1} element-wise
//! (no GEMM) and, in BPTT, dh_{t−1} = dpre ⊙ u and du = Σ dpre ⊙ h_{t−1}. Given the pre-activation,
//! the step is the Elman cell's, so it runs that cell's formulas.
//! Init (init.rs): u ~ U(0, 1) as in the authors' code (Sunnydreamrain/IndRNN_pytorch); W_ih and the
//! biases PyTorch's U(±1/√H). The paper's constraint |u| ≤ bound is the layer's `recurrent_max_abs`
//! (`Layer::constrain`, after every optimizer step); for relu over T steps the paper takes
//! bound = 2^(1/T) (so |u|^T ≤ 2: no exploding), and keeps |u| away from 0 for long memory.

use super::rnn::{Nonlinearity, Rnn};
use super::{Cell, Recurrence, StepBackward, StepForward};
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndRnn(pub Nonlinearity);

pub const IND_RNN_RELU: IndRnn = IndRnn(Nonlinearity::Relu);
pub const IND_RNN_TANH: IndRnn = IndRnn(Nonlinearity::Tanh);

impl Cell for IndRnn {
    fn name(&self) -> &'static str {
        match self.0 {
            Nonlinearity::Relu => "indrnn_relu",
            Nonlinearity::Tanh => "indrnn_tanh",
            Nonlinearity::Sigmoid => "indrnn_sigmoid",
        }
    }
    fn layer_type(&self) -> &'static str {
        "IndRNN"
    }
    fn nonlinearity(&self) -> Option<&'static str> {
        Some(self.hidden_activation())
    }
    fn gates(&self) -> usize {
        1
    }
    fn recurrence(&self) -> Recurrence {
        Recurrence::Diagonal
    }
    fn hidden_activation(&self) -> &'static str {
        Rnn(self.0).hidden_activation()
    }
    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>) {
        Rnn(self.0).forward_generic(s)
    }
    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>) {
        Rnn(self.0).backward_generic(s)
    }
}
