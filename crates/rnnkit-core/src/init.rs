//! Parameter initialisers: PyTorch's default U(−1/√H, 1/√H), Xavier/Glorot uniform, orthogonal.

use crate::rng::Rng;
use crate::spec::{DenseSpec, RecurrentSpec};

/// Fills one block's flat params (layout `params::block_layout`) per `spec.weight_init` (weight_ih)
/// and `spec.recurrent_init` (weight_hh). Uniform: every weight and bias ~ U(−1/√H, 1/√H).
/// Xavier: each gate's [H, fan_in] block ~ U(±√(6/(fan_in+H))), biases 0. Orthogonal: each gate's
/// H×H block of weight_hh orthogonal (QR of a normal matrix with sign correction), biases 0.
pub fn init_block(_spec: &RecurrentSpec, _params: &mut [f32], _rng: &mut Rng) {
    unimplemented!()
}

/// `nn.Linear` default: weight and bias ~ U(−1/√in, 1/√in).
pub fn init_dense(_spec: &DenseSpec, _params: &mut [f32], _rng: &mut Rng) {
    unimplemented!()
}
