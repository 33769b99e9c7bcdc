//! A whole network's training gradient against finite differences of its loss (f64): the gradient a
//! training step used, read off one plain-SGD update, and central differences of `evaluate`.

use rnnkit_core::model::{Batch, Network};

/// Central-difference step for f64 (PyTorch gradcheck's default).
pub const EPS: f64 = 1e-6;

/// With plain SGD at lr = 1 one update is exactly `p ← p − g`, which exposes the gradient the
/// training step computed, so it can be compared with finite differences of `evaluate`.
pub fn train_gradient(net: &mut Network<f64>, batch: &Batch<'_, f64>) -> Vec<f64> {
    let before = net.params().to_vec();
    net.train_step(batch).unwrap();
    let after = net.params().to_vec();
    net.set_params(&before).unwrap();
    before.iter().zip(&after).map(|(b, a)| b - a).collect()
}

/// ∂f/∂v by central differences, one element at a time.
pub fn central_differences(v: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut probe = v.to_vec();
    (0..v.len())
        .map(|i| {
            probe[i] = v[i] + EPS;
            let plus = f(&probe);
            probe[i] = v[i] - EPS;
            let minus = f(&probe);
            probe[i] = v[i];
            (plus - minus) / (2.0 * EPS)
        })
        .collect()
}

/// ∂loss/∂params by central differences of `evaluate` on `batch`.
pub fn numeric_gradient(net: &mut Network<f64>, batch: &Batch<'_, f64>) -> Vec<f64> {
    let base = net.params().to_vec();
    let grad = central_differences(&base, |p| {
        net.set_params(p).unwrap();
        net.evaluate(batch).unwrap()
    });
    net.set_params(&base).unwrap();
    grad
}
