//! Shared test helpers: seeded data and `assert_close`, which reports index, got, want and tolerance;
//! `fixture` reads the PyTorch reference fixtures and `torch_layers` runs the per-layer ones;
//! `network_grad` checks a whole network's training gradient by finite differences.
#![allow(dead_code)]

pub mod fixture;
pub mod network_grad;
pub mod torch_layers;

use rnnkit_core::params::block_param_count;
use rnnkit_core::real::Real;
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::RecurrentSpec;

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

/// Central differences (f(a + eps) − f(a − eps)) / 2eps of `f` w.r.t. every element of `at`.
pub fn central_differences(at: &[f64], eps: f64, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut p = at.to_vec();
    (0..at.len())
        .map(|i| {
            let orig = p[i];
            p[i] = orig + eps;
            let plus = f(&p);
            p[i] = orig - eps;
            let minus = f(&p);
            p[i] = orig;
            (plus - minus) / (2.0 * eps)
        })
        .collect()
}

/// A recurrent block's random parameters, inputs and loss weights for a gradient check of
/// L = Σ w⊙output + Σ u⊙h_n + Σ v⊙c_n (`c0` and `v` empty unless LSTM).
pub struct BlockData<R> {
    pub params: Vec<R>,
    pub x: Vec<R>,
    pub h0: Vec<R>,
    pub c0: Vec<R>,
    pub w: Vec<R>,
    pub u: Vec<R>,
    pub v: Vec<R>,
}

impl<R: Real> BlockData<R> {
    pub fn draw(spec: &RecurrentSpec, seq_len: usize, batch: usize, rng: &mut Rng) -> Self {
        // h rows have the state width (an LSTM's proj_size when set), c rows hidden_size.
        let (h_state, c_state) = (spec.state_rows() * batch * spec.state_size(), spec.state_rows() * batch * spec.hidden_size);
        let lstm = spec.cell.has_cell_state();
        BlockData {
            params: uniform_vec(rng, block_param_count(spec), -0.8, 0.8),
            x: uniform_vec(rng, seq_len * batch * spec.input_size, -1.0, 1.0),
            h0: uniform_vec(rng, h_state, -1.0, 1.0),
            c0: if lstm { uniform_vec(rng, c_state, -1.0, 1.0) } else { Vec::new() },
            w: uniform_vec(rng, seq_len * batch * spec.output_size(), -1.0, 1.0),
            u: uniform_vec(rng, h_state, -1.0, 1.0),
            v: if lstm { uniform_vec(rng, c_state, -1.0, 1.0) } else { Vec::new() },
        }
    }
}
