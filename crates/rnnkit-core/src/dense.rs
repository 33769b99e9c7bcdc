//! Dense head: `z = x·Wᵀ + b`, `y = act(z)` over rows of x ([rows, in_features]).

use crate::real::Real;
use crate::spec::{Activation, DenseSpec};

/// `params`: the head's slice (`weight` [units, in_features] then `bias` [units] if `spec.bias`).
/// Writes z (pre-activation) and y = act(z), both [rows, units]; softmax is per row.
pub fn dense_forward<R: Real>(_spec: &DenseSpec, _params: &[R], _x: &[R], _rows: usize, _z: &mut [R], _y: &mut [R]) {
    unimplemented!()
}

/// Given dL/dz: ADDS weight/bias gradients into `grads` (the head's slice) and WRITES dL/dx into `dx`.
pub fn dense_backward<R: Real>(_spec: &DenseSpec, _params: &[R], _x: &[R], _rows: usize, _dz: &[R], _grads: &mut [R], _dx: &mut [R]) {
    unimplemented!()
}

/// dL/dz from dL/dy for `act`, using y = act(z). Softmax uses the full per-row Jacobian.
pub fn activation_backward<R: Real>(_act: Activation, _y: &[R], _dy: &[R], _units: usize, _dz: &mut [R]) {
    unimplemented!()
}
