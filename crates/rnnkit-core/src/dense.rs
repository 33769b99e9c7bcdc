//! Dense head: `z = x·Wᵀ + b`, `y = act(z)` over rows of x ([rows, in_features]), like `nn.Linear`
//! followed by an activation. The matmuls go through `R::gemm`, so f32 uses the kernel table and f64
//! (the gradient checks) the reference loop. Buffer lengths are the caller's contract (the model
//! validates user shapes first), so a mismatch here is a bug and panics with the sizes.

use crate::real::Real;
use crate::layers::activation::activation_forward;
use crate::spec::DenseSpec;

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

/// Elements of the head's parameter slice: units·in_features (+ units with bias).
pub fn param_count(spec: &DenseSpec) -> usize {
    spec.units * spec.in_features + if spec.bias { spec.units } else { 0 }
}

fn check_len(what: &str, got: usize, want: usize) {
    assert!(got == want, "{what}: expected {want} elements, got {got} (caller must validate shapes)");
}
