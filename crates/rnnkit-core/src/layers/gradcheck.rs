//! Test support shared by every layer kind: builds a layer from `{"type", "config"}` in f64 and
//! checks `backward` (input, state and parameter gradients) against central finite differences of
//! the scalar L = Σ out ⊙ w (+ Σ final_state ⊙ v) for random params, inputs and weights.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::json::Json;
use crate::rng::Rng;

use super::registry::{build, LayerSpec};
use super::{Forward, Layer, LayerX, Shape};

/// A fresh parameter version per forward: layers may cache weights packed for one version.
static VERSION: AtomicU64 = AtomicU64::new(1);

fn version() -> u64 {
    VERSION.fetch_add(1, Ordering::Relaxed)
}

/// Perturbed (params, x, states) for a step of ±eps.
type Perturbed = (Vec<f64>, Vec<f64>, Vec<Vec<f64>>);

pub struct Case<'a> {
    pub kind: &'a str,
    pub config: &'a str,
    /// The previous layer's output (None = first layer).
    pub input: Option<Shape>,
    pub seq_len: usize,
    pub batch: usize,
    pub lengths: Option<Vec<usize>>,
    /// Token ids instead of features (an Embedding or a first recurrent layer).
    pub ids: Option<Vec<i32>>,
}

pub fn layer(kind: &str, config: &str, input: Option<Shape>) -> Box<dyn Layer<f64>> {
    let spec = LayerSpec::new(kind, Json::parse(config).expect("config JSON"));
    build::<f64>(&spec, input, 0).unwrap_or_else(|e| panic!("{kind} {config}: {e}"))
}

fn uniform(n: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Σ out⊙w + Σ states⊙v for one inference forward.
fn objective(l: &mut dyn Layer<f64>, p: &[f64], c: &Case, x: &[f64], states0: &[Vec<f64>], w: &[f64], v: &[Vec<f64>]) -> f64 {
    let sref: Vec<Option<&[f64]>> = states0.iter().map(|s| Some(&s[..])).collect();
    let mut out = vec![0.0; w.len()];
    let lx = match &c.ids {
        Some(ids) => LayerX::Tokens(ids),
        None => LayerX::Features(x),
    };
    let fwd = Forward { x: lx, seq_len: c.seq_len, batch: c.batch, lengths: c.lengths.as_deref(), states: &sref, keep: false, rng: None, params_version: version(), batch_major: false };
    let sn = l.forward(p, fwd, &mut out);
    let mut s: f64 = out.iter().zip(w).map(|(a, b)| a * b).sum();
    for (a, b) in sn.iter().zip(v) {
        s += a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    }
    s
}

/// Finite-difference check of every gradient `backward` returns; panics with the worst mismatch.
pub fn check(c: Case) {
    check_from(c, None);
}

/// `check` from the given initial states (one per `states(batch)` entry) instead of random ones:
/// for states whose values must make sense (a key/value cache's step counts).
pub fn check_from(c: Case, given_states: Option<Vec<Vec<f64>>>) {
    let mut l = layer(c.kind, c.config, c.input);
    let mut rng = Rng::new(7);
    let n_params = l.param_count();
    let mut p32 = vec![0f32; n_params];
    l.init(&mut p32, &mut rng);
    // Random params rather than the init (biases may init to zero, hiding their gradient).
    let p = uniform(n_params, &mut rng);
    let in_features = l.input_shape().features();
    let x = if c.ids.is_some() { Vec::new() } else { uniform(c.seq_len * c.batch * in_features, &mut rng) };
    let out_len = match l.output_shape() {
        Shape::Vector { features } => c.batch * features,
        s => l.output_steps(c.seq_len) * c.batch * s.features(),
    };
    let w = uniform(out_len, &mut rng);
    let infos = l.states(c.batch);
    let random_states: Vec<Vec<f64>> = infos.iter().map(|s| uniform(s.len(), &mut rng)).collect();
    let states0 = given_states.unwrap_or(random_states);
    assert!(states0.len() == infos.len() && states0.iter().zip(&infos).all(|(s, i)| s.len() == i.len()), "{}: given states must match states(batch)", c.kind);
    let v: Vec<Vec<f64>> = infos.iter().map(|s| uniform(s.len(), &mut rng)).collect();

    // Analytic.
    let sref: Vec<Option<&[f64]>> = states0.iter().map(|s| Some(&s[..])).collect();
    let mut out = vec![0.0; out_len];
    let lx = match &c.ids {
        Some(ids) => LayerX::Tokens(ids),
        None => LayerX::Features(&x),
    };
    let fwd = Forward { x: lx, seq_len: c.seq_len, batch: c.batch, lengths: c.lengths.as_deref(), states: &sref, keep: true, rng: None, params_version: version(), batch_major: false };
    l.forward(&p, fwd, &mut out);
    if l.wants_input() {
        l.adopt_input(x.clone());
    }
    let vref: Vec<Option<&[f64]>> = v.iter().map(|s| Some(&s[..])).collect();
    let mut grads = vec![0.0; n_params];
    let g = l.backward(&p, &w, false, &vref, &mut grads, c.ids.is_none()).expect("backward");

    let eps = 1e-6;
    let fd = |l: &mut dyn Layer<f64>, which: &mut dyn FnMut(f64) -> Perturbed| {
        let (pp, xp, sp) = which(eps);
        let (pm, xm, sm) = which(-eps);
        (objective(l, &pp, &c, &xp, &sp, &w, &v) - objective(l, &pm, &c, &xm, &sm, &w, &v)) / (2.0 * eps)
    };
    let close = |what: String, a: f64, n: f64| {
        assert!((a - n).abs() <= 1e-6 + 1e-5 * n.abs(), "{} {}: {what}: analytic {a} vs finite difference {n}", c.kind, c.config);
    };
    for i in 0..n_params {
        let num = fd(&mut *l, &mut |e| {
            let mut q = p.clone();
            q[i] += e;
            (q, x.clone(), states0.clone())
        });
        close(format!("param {i}"), grads[i], num);
    }
    if c.ids.is_none() {
        assert_eq!(g.dx.len(), x.len(), "{}: dx length", c.kind);
        for i in 0..x.len() {
            let num = fd(&mut *l, &mut |e| {
                let mut y = x.clone();
                y[i] += e;
                (p.clone(), y, states0.clone())
            });
            close(format!("dx[{i}]"), g.dx[i], num);
        }
    }
    assert_eq!(g.d_states.len(), states0.len(), "{}: one state gradient per state", c.kind);
    for (k, s) in states0.iter().enumerate() {
        for i in 0..s.len() {
            let num = fd(&mut *l, &mut |e| {
                let mut st = states0.clone();
                st[k][i] += e;
                (p.clone(), x.clone(), st)
            });
            close(format!("d_state{k}[{i}]"), g.d_states[k][i], num);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_kinds_pass_the_finite_difference_check() {
        let seq = Some(Shape::Seq { features: 3 });
        for (kind, config) in [("LSTM", r#"{"input_size":3,"hidden_size":2,"bidirectional":true}"#), ("GRU", r#"{"input_size":3,"hidden_size":2,"num_layers":2}"#), ("Dense", r#"{"units":2,"activation":"gelu"}"#), ("LastStep", "{}")] {
            let input = if kind == "LSTM" || kind == "GRU" { None } else { seq };
            check(Case { kind, config, input, seq_len: 4, batch: 2, lengths: Some(vec![4, 2]), ids: None });
        }
        check(Case { kind: "Dense", config: r#"{"units":3,"activation":"softmax"}"#, input: Some(Shape::Vector { features: 2 }), seq_len: 1, batch: 3, lengths: None, ids: None });
    }
}
