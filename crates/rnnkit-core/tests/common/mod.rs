//! Shared test helpers: seeded data and `assert_close`, which reports index, got, want and tolerance;
//! `fixture` reads the PyTorch reference fixtures and `torch_layers` runs the per-layer ones;
//! `network_grad` checks a whole network's training gradient by finite differences.
#![allow(dead_code)]

pub mod fixture;
pub mod network_grad;
pub mod torch_layers;

use rnnkit_core::real::Real;
use rnnkit_core::rng::Rng;

/// `n` values uniform in [lo, hi), seeded.
pub fn uniform_vec<R: Real>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<R> {
    (0..n).map(|_| R::from_f64(rng.uniform(lo, hi))).collect()
}

/// |got − want| ≤ atol + rtol·|want| element-wise; panics naming the first offending index.
pub fn assert_close<R: Real>(got: &[R], want: &[R], atol: f64, rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length {} != {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.to_f64(), w.to_f64());
        let ok = (g - w).abs() <= atol + rtol * w.abs() || (g.is_nan() && w.is_nan());
        assert!(ok, "{what}[{i}]: got {g}, want {w} (atol {atol}, rtol {rtol})");
    }
}
