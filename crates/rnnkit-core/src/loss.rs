//! Losses with per-row weights (masks). Each returns the value and its gradient w.r.t. the prediction.

use crate::error::Result;
use crate::real::Real;
use crate::spec::LossKind;

pub enum Targets<'a, R> {
    /// Same shape as the prediction: [rows, units].
    Float(&'a [R]),
    /// One class index per row: [rows], each in 0..units.
    Class(&'a [i32]),
}

/// `pred` [rows, units]: y (after the activation) for MSE, logits z for BCE-with-logits and
/// cross-entropy. `weights` [rows]: per-row weight (0 masks a step out); `None` = all 1.
/// loss = Σ_r w_r·ℓ_r / N with
///   MSE: ℓ_r = Σ_j (p_rj − t_rj)², N = units·Σ_r w_r   (torch `MSELoss` mean over kept elements)
///   BCE: ℓ_r = Σ_j max(z,0) − z·t + ln(1 + e^−|z|), N = units·Σ_r w_r
///   CE:  ℓ_r = −ln softmax(z_r)[t_r], N = Σ_r w_r
/// Returns (loss, dloss/dpred). If Σ w = 0 the loss and gradient are 0.
/// Errors (arg "y"): targets not finite, wrong kind for the loss, class index out of range;
/// (arg "mask"): negative or non-finite weights.
pub fn loss_and_grad<R: Real>(_kind: LossKind, _pred: &[R], _targets: &Targets<'_, R>, _weights: Option<&[R]>, _rows: usize, _units: usize) -> Result<(R, Vec<R>)> {
    unimplemented!()
}
