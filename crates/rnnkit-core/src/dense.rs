//! Dense head: `z = x·Wᵀ + b`, `y = act(z)` over rows of x ([rows, in_features]), like `nn.Linear`
//! followed by an activation. The matmuls go through `R::gemm`, so f32 uses the kernel table and f64
//! (the gradient checks) the reference loop. Buffer lengths are the caller's contract (the model
//! validates user shapes first), so a mismatch here is a bug and panics with the sizes.

use crate::real::Real;
use crate::spec::{Activation, DenseSpec};

/// `params`: the head's slice (`weight` [units, in_features] then `bias` [units] if `spec.bias`).
/// Writes z (pre-activation) and y = act(z), both [rows, units]; softmax is per row.
pub fn dense_forward<R: Real>(spec: &DenseSpec, params: &[R], x: &[R], rows: usize, z: &mut [R], y: &mut [R]) {
    let (units, inf) = (spec.units, spec.in_features);
    check_len("dense_forward params", params.len(), param_count(spec));
    check_len("dense_forward x", x.len(), rows * inf);
    check_len("dense_forward z", z.len(), rows * units);
    check_len("dense_forward y", y.len(), rows * units);
    let w = &params[..units * inf];
    // z ← x·Wᵀ  (x: rows×in, W: units×in stored row-major, used transposed); β = 0 never reads z.
    R::gemm(false, true, rows, units, inf, R::ONE, x, inf, w, inf, R::ZERO, z, units);
    if spec.bias {
        let b = &params[units * inf..units * inf + units];
        for zr in z.chunks_exact_mut(units) {
            for (zj, bj) in zr.iter_mut().zip(b) {
                *zj += *bj;
            }
        }
    }
    y.copy_from_slice(z);
    activation_forward(spec.activation, y, units);
}

/// In place: y ← act(y) for rows of `units` values. Softmax subtracts each row's max before `exp`,
/// so large logits cannot overflow.
pub fn activation_forward<R: Real>(act: Activation, y: &mut [R], units: usize) {
    match act {
        Activation::Identity => {}
        Activation::Sigmoid => R::sigmoid_slice(y),
        Activation::Tanh => R::tanh_slice(y),
        Activation::Softmax => {
            if units == 0 {
                return;
            }
            for row in y.chunks_exact_mut(units) {
                let max = row.iter().fold(row[0], |m, &v| m.max(v));
                let mut sum = R::ZERO;
                for v in row.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                // sum ≥ 1 (the max element contributes e^0), so the division is safe.
                let inv = R::ONE / sum;
                for v in row.iter_mut() {
                    *v *= inv;
                }
            }
        }
    }
}

/// Given dL/dz: ADDS weight/bias gradients into `grads` (the head's slice) and WRITES dL/dx into `dx`.
///   dW += dzᵀ·x   ([units, rows]·[rows, in]),   db += Σ_rows dz,   dx = dz·W   ([rows, units]·[units, in]).
pub fn dense_backward<R: Real>(spec: &DenseSpec, params: &[R], x: &[R], rows: usize, dz: &[R], grads: &mut [R], dx: &mut [R]) {
    let (units, inf) = (spec.units, spec.in_features);
    check_len("dense_backward params", params.len(), param_count(spec));
    check_len("dense_backward grads", grads.len(), param_count(spec));
    check_len("dense_backward x", x.len(), rows * inf);
    check_len("dense_backward dz", dz.len(), rows * units);
    check_len("dense_backward dx", dx.len(), rows * inf);
    let (gw, gb) = grads.split_at_mut(units * inf);
    // dW ← 1·dzᵀ·x + 1·dW  (dz stored rows×units, used transposed).
    R::gemm(true, false, units, inf, rows, R::ONE, dz, units, x, inf, R::ONE, gw, inf);
    if spec.bias {
        for dzr in dz.chunks_exact(units) {
            for (g, d) in gb.iter_mut().zip(dzr) {
                *g += *d;
            }
        }
    }
    // dx ← dz·W; β = 0 so whatever dx held is overwritten, never read.
    R::gemm(false, false, rows, inf, units, R::ONE, dz, units, &params[..units * inf], inf, R::ZERO, dx, inf);
}

/// dL/dz from dL/dy for `act`, using y = act(z). Softmax uses the full per-row Jacobian:
/// ∂y_i/∂z_j = y_i(δ_ij − y_j), so dz = y ⊙ (dy − Σ_j y_j·dy_j).
pub fn activation_backward<R: Real>(act: Activation, y: &[R], dy: &[R], units: usize, dz: &mut [R]) {
    check_len("activation_backward dy", dy.len(), y.len());
    check_len("activation_backward dz", dz.len(), y.len());
    match act {
        Activation::Identity => dz.copy_from_slice(dy),
        Activation::Sigmoid => {
            for ((d, &yv), &g) in dz.iter_mut().zip(y).zip(dy) {
                *d = g * yv * (R::ONE - yv);
            }
        }
        Activation::Tanh => {
            for ((d, &yv), &g) in dz.iter_mut().zip(y).zip(dy) {
                *d = g * (R::ONE - yv * yv);
            }
        }
        Activation::Softmax => {
            if units == 0 {
                return;
            }
            for ((dzr, yr), dyr) in dz.chunks_exact_mut(units).zip(y.chunks_exact(units)).zip(dy.chunks_exact(units)) {
                let mut s = R::ZERO;
                for (&yv, &g) in yr.iter().zip(dyr) {
                    s += yv * g;
                }
                for ((d, &yv), &g) in dzr.iter_mut().zip(yr).zip(dyr) {
                    *d = yv * (g - s);
                }
            }
        }
    }
}

/// Elements of the head's parameter slice: units·in_features (+ units with bias).
pub fn param_count(spec: &DenseSpec) -> usize {
    spec.units * spec.in_features + if spec.bias { spec.units } else { 0 }
}

fn check_len(what: &str, got: usize, want: usize) {
    assert!(got == want, "{what}: expected {want} elements, got {got} (caller must validate shapes)");
}
