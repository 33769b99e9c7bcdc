//! Losses with per-row weights (masks). Each returns the value and its gradient w.r.t. the prediction.
//! They reduce like PyTorch's `MSELoss`, `BCEWithLogitsLoss` and `CrossEntropyLoss` with
//! `reduction="mean"`, generalised so a row of weight 0 (a padded step) contributes nothing.
//! Sums run in f64 whatever `R` is: the loss is one scalar over a whole batch, and cheap next to BPTT.

use crate::error::{Error, Result};
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
/// (arg "mask"): negative or non-finite weights. Every row is validated, masked or not.
pub fn loss_and_grad<R: Real>(kind: LossKind, pred: &[R], targets: &Targets<'_, R>, weights: Option<&[R]>, rows: usize, units: usize) -> Result<(R, Vec<R>)> {
    let mut grad = vec![R::ZERO; pred.len()];
    let (total, n) = accumulate(kind, pred, targets, weights, rows, units, Some(&mut grad))?;
    Ok((if n > 0.0 { R::from_f64(total / n) } else { R::ZERO }, grad))
}

/// The loss's unreduced parts: (Σ_r w_r·ℓ_r, N), so a loss over several batches is Σ totals / Σ N
/// exactly (see `loss_and_grad` for ℓ_r and N). No gradient is computed.
pub fn loss_parts<R: Real>(kind: LossKind, pred: &[R], targets: &Targets<'_, R>, weights: Option<&[R]>, rows: usize, units: usize) -> Result<(f64, f64)> {
    accumulate(kind, pred, targets, weights, rows, units, None)
}

/// (Σ_r w_r·ℓ_r, N), writing dloss/dpred = ∂(total/N)/∂pred into `grad` when given.
fn accumulate<R: Real>(kind: LossKind, pred: &[R], targets: &Targets<'_, R>, weights: Option<&[R]>, rows: usize, units: usize, mut grad: Option<&mut [R]>) -> Result<(f64, f64)> {
    validate(kind, pred, targets, weights, rows, units)?;
    let w = |r: usize| weights.map_or(1.0, |w| w[r].to_f64());
    let wsum: f64 = (0..rows).map(w).sum();
    let n = match kind {
        LossKind::Mse | LossKind::BceWithLogits => wsum * units as f64,
        LossKind::CrossEntropy => wsum,
    };
    if n <= 0.0 {
        return Ok((0.0, 0.0));
    }
    let mut total = 0.0f64;
    for r in 0..rows {
        let wr = w(r);
        if wr == 0.0 {
            continue; // masked: no loss and zero gradient
        }
        let scale = wr / n;
        let p = &pred[r * units..(r + 1) * units];
        let mut g = grad.as_deref_mut().map(|g| &mut g[r * units..(r + 1) * units]);
        match (kind, targets) {
            (LossKind::Mse, Targets::Float(t)) => {
                let t = &t[r * units..(r + 1) * units];
                let mut l = 0.0;
                for j in 0..units {
                    let d = p[j].to_f64() - t[j].to_f64();
                    l += d * d;
                    if let Some(g) = g.as_deref_mut() {
                        g[j] = R::from_f64(2.0 * d * scale);
                    }
                }
                total += wr * l;
            }
            (LossKind::BceWithLogits, Targets::Float(t)) => {
                let t = &t[r * units..(r + 1) * units];
                let mut l = 0.0;
                for j in 0..units {
                    let (z, tj) = (p[j].to_f64(), t[j].to_f64());
                    // softplus form: never exponentiates a positive number.
                    l += z.max(0.0) - z * tj + (-z.abs()).exp().ln_1p();
                    if let Some(g) = g.as_deref_mut() {
                        g[j] = R::from_f64((sigmoid(z) - tj) * scale);
                    }
                }
                total += wr * l;
            }
            (LossKind::CrossEntropy, Targets::Class(c)) => {
                let class = c[r] as usize;
                // log-sum-exp shifted by the row max.
                let max = p.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = p.iter().map(|v| (v.to_f64() - max).exp()).sum();
                let lse = max + sum.ln();
                total += wr * (lse - p[class].to_f64());
                if let Some(g) = g {
                    for j in 0..units {
                        let softmax = (p[j].to_f64() - lse).exp();
                        let onehot = if j == class { 1.0 } else { 0.0 };
                        g[j] = R::from_f64((softmax - onehot) * scale);
                    }
                }
            }
            _ => unreachable!("validate() rejected mismatched target kinds"),
        }
    }
    Ok((total, n))
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn loss_name(kind: LossKind) -> &'static str {
    match kind {
        LossKind::Mse => "mse",
        LossKind::BceWithLogits => "bce_with_logits",
        LossKind::CrossEntropy => "cross_entropy",
    }
}

fn validate<R: Real>(kind: LossKind, pred: &[R], targets: &Targets<'_, R>, weights: Option<&[R]>, rows: usize, units: usize) -> Result<()> {
    if pred.len() != rows * units {
        return Err(Error::shape("pred", format!("{} elements ([{rows}, {units}])", rows * units), format!("{} elements", pred.len())));
    }
    match (kind, targets) {
        (LossKind::Mse | LossKind::BceWithLogits, Targets::Float(t)) => {
            if t.len() != rows * units {
                return Err(Error::shape("y", format!("{} elements ([{rows}, {units}])", rows * units), format!("{} elements", t.len())));
            }
            if let Some((i, v)) = t.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Error::value("y", format!("targets must be finite; element {i} is {}", v.to_f64())));
            }
        }
        (LossKind::CrossEntropy, Targets::Class(c)) => {
            if c.len() != rows {
                return Err(Error::shape("y", format!("{rows} class indices"), format!("{} elements", c.len())));
            }
            if let Some((i, v)) = c.iter().enumerate().find(|(_, v)| **v < 0 || **v as usize >= units) {
                return Err(Error::value("y", format!("class index {v} at position {i} is outside [0, {units})")));
            }
        }
        (LossKind::CrossEntropy, Targets::Float(_)) => {
            return Err(Error::type_("y", "int32 class indices for loss cross_entropy", "float targets"));
        }
        (_, Targets::Class(_)) => {
            return Err(Error::type_("y", format!("float targets for loss {}", loss_name(kind)), "int32 class indices"));
        }
    }
    if let Some(w) = weights {
        if w.len() != rows {
            return Err(Error::shape("mask", format!("{rows} row weights"), format!("{} elements", w.len())));
        }
        if let Some((i, v)) = w.iter().enumerate().find(|(_, v)| !v.is_finite() || **v < R::ZERO) {
            return Err(Error::value("mask", format!("weights must be finite and >= 0; element {i} is {}", v.to_f64())));
        }
    }
    Ok(())
}
