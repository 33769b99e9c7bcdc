//! MinGRU/MinLSTM: finite differences (every gradient, lengths, ids, across chunk boundaries), an
//! independent step-by-step f64 reference on a long sequence with saturated gates, streaming one step
//! at a time, inference (chunked sequential) against training (chunked scan with carries) forward,
//! bit-identical results for every thread count, and config errors.

use super::super::gradcheck::{check, layer, Case};
use super::super::registry::{build, LayerSpec};
use super::gates::MinCell;
use super::scan::CHUNK_STEPS;
use super::*;
use crate::parallel::scope_threads;

const KINDS: [&str; 2] = ["MinGRU", "MinLSTM"];

#[test]
fn passes_the_finite_difference_check() {
    let seq = Some(Shape::Seq { features: 3 });
    for kind in KINDS {
        check(Case { kind, config: r#"{"input_size":3,"hidden_size":2}"#, input: None, seq_len: 4, batch: 2, lengths: Some(vec![4, 2]), ids: None });
        check(Case { kind, config: r#"{"hidden_size":3,"bias":false}"#, input: seq, seq_len: 3, batch: 2, lengths: None, ids: None });
        check(Case { kind, config: r#"{"input_size":5,"hidden_size":2}"#, input: None, seq_len: 3, batch: 2, lengths: Some(vec![1, 3]), ids: Some(vec![4, 0, 2, 2, 1, 3]) });
        // Three chunks: the carries and the reverse scan's chunk boundaries.
        let t = 2 * CHUNK_STEPS + 5;
        check(Case { kind, config: r#"{"input_size":1,"hidden_size":2}"#, input: None, seq_len: t, batch: 2, lengths: Some(vec![t, CHUNK_STEPS + 3]), ids: None });
    }
}

/// The paper's equations one step at a time in f64, independent of gates.rs and scan.rs:
/// outputs [T, B, H] (zero past lengths) and the final h.
fn reference(kind: &str, params: &[f64], x: &[f64], input: usize, hidden: usize, batch: usize, lengths: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let gates = if kind == "MinGRU" { 2 } else { 3 };
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let g = |v: f64| if v >= 0.0 { v + 0.5 } else { sig(v) };
    let (weight, bias) = params.split_at(gates * hidden * input);
    let steps = x.len() / (batch * input);
    let mut h = vec![0.0; batch * hidden];
    let mut out = vec![0.0; steps * batch * hidden];
    for t in 0..steps {
        for b in (0..batch).filter(|&b| t < lengths[b]) {
            let xr = &x[(t * batch + b) * input..][..input];
            let k = |gate: usize, j: usize| -> f64 {
                let row = gate * hidden + j;
                bias[row] + (0..input).map(|i| weight[row * input + i] * xr[i]).sum::<f64>()
            };
            for j in 0..hidden {
                let prev = h[b * hidden + j];
                let next = if kind == "MinGRU" {
                    let z = sig(k(0, j));
                    (1.0 - z) * prev + z * g(k(1, j))
                } else {
                    // f/(f + i) in log space: f and i underflow f64 too at these pre-activations.
                    let (lf, li) = (-softplus_f64(-k(0, j)), -softplus_f64(-k(1, j)));
                    let m = lf.max(li);
                    let (ef, ei) = ((lf - m).exp(), (li - m).exp());
                    (ef * prev + ei * g(k(2, j))) / (ef + ei)
                };
                h[b * hidden + j] = next;
                out[(t * batch + b) * hidden + j] = next;
            }
        }
    }
    (out, h)
}

fn softplus_f64(v: f64) -> f64 {
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

#[allow(clippy::too_many_arguments)]
fn forward<R: Real>(l: &mut dyn Layer<R>, params: &[R], x: &[R], seq_len: usize, batch: usize, lengths: Option<&[usize]>, h0: Option<&[R]>, keep: bool) -> (Vec<R>, Vec<R>) {
    let states = [h0];
    let mut out = vec![R::ZERO; seq_len * batch * l.output_shape().features()];
    let fwd = Forward { x: LayerX::Features(x), seq_len, batch, lengths, states: &states, keep, rng: None, params_version: 1, batch_major: false };
    let mut finals = l.forward(params, fwd, &mut out);
    if keep && l.wants_input() {
        l.adopt_input(x.to_vec());
    }
    (out, finals.remove(0))
}

/// T = 4096 with pre-activations up to ±60 (gates at 0 and 1 to f32 precision, minLSTM's f and i
/// both below 1e-13 at times): the f32 layer stays finite and matches the f64 reference to 1e-4,
/// outputs, final state and every gradient (against the f64 layer, which the finite differences check).
#[test]
fn long_sequences_with_saturated_gates_stay_accurate() {
    let (t, batch, input, hidden) = (4096, 2, 2, 3);
    let lengths = [t, t - 1000];
    let mut rng = Rng::new(11);
    for kind in KINDS {
        let config = r#"{"input_size":2,"hidden_size":3}"#;
        let (mut l64, mut l32) = (layer(kind, config, None), build::<f32>(&LayerSpec::new(kind, Json::parse(config).unwrap()), None, 0).unwrap());
        let params: Vec<f64> = (0..l64.param_count()).map(|_| rng.uniform(-30.0, 30.0)).collect();
        let x: Vec<f64> = (0..t * batch * input).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (p32, x32): (Vec<f32>, Vec<f32>) = (params.iter().map(|&v| v as f32).collect(), x.iter().map(|&v| v as f32).collect());
        // The f32 inputs exactly, so the reference sees the same numbers.
        let (params, x): (Vec<f64>, Vec<f64>) = (p32.iter().map(|&v| v.into()).collect(), x32.iter().map(|&v| v.into()).collect());
        let (want_out, want_h) = reference(kind, &params, &x, input, hidden, batch, &lengths);
        let (out, h_n) = forward(l32.as_mut(), &p32, &x32, t, batch, Some(&lengths), None, true);
        let close = |got: &[f32], want: &[f64], what: &str| {
            for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                assert!(g.is_finite() && (f64::from(g) - w).abs() <= 1e-5 + 1e-4 * w.abs(), "{kind} {what}[{i}]: {g} vs f64 {w}");
            }
        };
        close(&out, &want_out, "out");
        close(&h_n, &want_h, "h_n");

        let d_out: Vec<f64> = (0..out.len()).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let d32: Vec<f32> = d_out.iter().map(|&v| v as f32).collect();
        let d_out: Vec<f64> = d32.iter().map(|&v| v.into()).collect();
        forward(l64.as_mut(), &params, &x, t, batch, Some(&lengths), None, true);
        let mut g64 = vec![0.0; params.len()];
        let want = l64.backward(&params, &d_out, false, &[None], &mut g64, true).unwrap();
        let mut g32 = vec![0.0; p32.len()];
        let got = l32.backward(&p32, &d32, false, &[None], &mut g32, true).unwrap();
        // Parameter gradients sum 8192 rows: relative to the largest term, not to a cancelling sum.
        let scale = g64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (&g, &w)) in g32.iter().zip(&g64).enumerate() {
            assert!(g.is_finite() && (f64::from(g) - w).abs() <= 1e-4 * scale, "{kind} d param {i}: {g} vs f64 {w} (largest {scale})");
        }
        close(&got.dx, &want.dx, "dx");
        close(&got.d_states[0], &want.d_states[0], "d h0");
    }
}

/// One step at a time with the carried state gives the whole-sequence forward (f64: to rounding;
/// the chunked scan adds in another order past the first chunk).
#[test]
fn stepping_equals_the_whole_sequence() {
    let (t, batch, input, hidden) = (CHUNK_STEPS + 20, 2, 3, 4);
    let mut rng = Rng::new(5);
    for kind in KINDS {
        let mut l = layer(kind, r#"{"input_size":3,"hidden_size":4}"#, None);
        let params: Vec<f64> = (0..l.param_count()).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let x: Vec<f64> = (0..t * batch * input).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let h0: Vec<f64> = (0..batch * hidden).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (whole, h_n) = forward(l.as_mut(), &params, &x, t, batch, None, Some(&h0), false);
        let mut h = h0.clone();
        for s in 0..t {
            let (y, next) = forward(l.as_mut(), &params, &x[s * batch * input..][..batch * input], 1, batch, None, Some(&h), false);
            let want = &whole[s * batch * hidden..][..batch * hidden];
            assert!(y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{kind} step {s}");
            h = next;
        }
        assert!(h.iter().zip(&h_n).all(|(a, b)| (a - b).abs() < 1e-12), "{kind} final state");
    }
}

/// Inference runs chunk by chunk with a sequential scan, training scans the whole sequence in
/// chunks with carries: the same outputs and final state up to rounding, with lengths and h0.
#[test]
fn inference_forward_equals_training_forward() {
    let (t, batch, input, hidden) = (3 * CHUNK_STEPS + 11, 3, 2, 4);
    let lengths = [t, 2 * CHUNK_STEPS + 1, 5];
    let mut rng = Rng::new(21);
    for kind in KINDS {
        let config = r#"{"input_size":2,"hidden_size":4}"#;
        let mut l = layer(kind, config, None);
        let params: Vec<f64> = (0..l.param_count()).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let x: Vec<f64> = (0..t * batch * input).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let h0: Vec<f64> = (0..batch * hidden).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y_inf, h_inf) = forward(l.as_mut(), &params, &x, t, batch, Some(&lengths), Some(&h0), false);
        let (y_train, h_train) = forward(l.as_mut(), &params, &x, t, batch, Some(&lengths), Some(&h0), true);
        let err = y_inf.iter().chain(&h_inf).zip(y_train.iter().chain(&h_train)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err < 1e-12, "{kind}: inference and training forward differ by {err}");

        let mut l32 = build::<f32>(&LayerSpec::new(kind, Json::parse(config).unwrap()), None, 0).unwrap();
        let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (p32, x32, h032) = (to32(&params), to32(&x), to32(&h0));
        let (y_inf, _) = forward(l32.as_mut(), &p32, &x32, t, batch, Some(&lengths), Some(&h032), false);
        let (y_train, _) = forward(l32.as_mut(), &p32, &x32, t, batch, Some(&lengths), Some(&h032), true);
        let err = y_inf.iter().zip(&y_train).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 1e-6, "{kind} f32: inference and training forward differ by {err}");
    }
}

/// Forward, backward (dx, every parameter, dh0) give the same bits on 1, 2 and 3 threads with a
/// problem large enough that every pass splits.
#[test]
fn results_are_bit_identical_for_every_thread_count() {
    let (t, batch, input, hidden) = (5 * CHUNK_STEPS + 9, 4, 8, 256);
    let mut rng = Rng::new(9);
    for kind in KINDS {
        let config = r#"{"input_size":8,"hidden_size":256}"#;
        let mut l = build::<f32>(&LayerSpec::new(kind, Json::parse(config).unwrap()), None, 0).unwrap();
        let draw = |rng: &mut Rng, n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect() };
        let (params, x, d_out) = (draw(&mut rng, l.param_count()), draw(&mut rng, t * batch * input), draw(&mut rng, t * batch * hidden));
        let lengths = [t, t - 70, 3, t - 1];
        let mut first: Option<Vec<Vec<f32>>> = None;
        for threads in [1, 2, 3] {
            let _scope = scope_threads(threads);
            let (out, h_n) = forward(l.as_mut(), &params, &x, t, batch, Some(&lengths), None, true);
            let mut grads = vec![0.0; params.len()];
            let g = l.backward(&params, &d_out, false, &[None], &mut grads, true).unwrap();
            let all = vec![out, h_n, grads, g.dx, g.d_states[0].clone()];
            match &first {
                None => first = Some(all),
                Some(f) => {
                    for (k, (a, b)) in f.iter().zip(&all).enumerate() {
                        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "{kind}: result {k} on {threads} threads differs bitwise from 1 thread");
                    }
                }
            }
        }
    }
}

#[test]
fn parameters_are_the_fused_linear_layout() {
    for (kind, gates) in [("MinGRU", 2), ("MinLSTM", 3)] {
        let l = layer(kind, r#"{"input_size":3,"hidden_size":4}"#, None);
        assert_eq!(l.params(), vec![ParamShape::new("weight", vec![gates * 4, 3]), ParamShape::new("bias", vec![gates * 4])]);
        assert_eq!(l.states(5), vec![StateInfo { name: "h", dims: vec![5, 4] }]);
        let mut p = vec![9f32; l.param_count()];
        l.init(&mut p, &mut Rng::new(1));
        let bound = 1.0 / 3f32.sqrt();
        assert!(p.iter().all(|v| v.abs() <= bound) && p.iter().any(|v| v.abs() > bound / 2.0), "{kind}: U(±1/√input_size)");
        let l = layer(kind, r#"{"input_size":3,"hidden_size":4,"bias":false}"#, None);
        assert_eq!(l.params().len(), 1);
        assert_eq!(MinCell::Gru.gates() + 1, MinCell::Lstm.gates());
    }
}

#[test]
fn config_errors_name_the_path() {
    let seq = Some(Shape::Seq { features: 3 });
    for kind in KINDS {
        for (config, arg) in [(r#"{}"#, "hidden_size"), (r#"{"hidden_size":0}"#, "hidden_size"), (r#"{"hidden_size":2,"input_size":4}"#, "input_size"), (r#"{"hidden_size":2,"bias":1}"#, "bias"), (r#"{"hidden_size":2,"num_layers":2}"#, "num_layers"), (r#"{"hidden_size":4294967296,"input_size":3}"#, "hidden_size")] {
            let e = build::<f64>(&LayerSpec::new(kind, Json::parse(config).unwrap()), seq, 1).err().unwrap_or_else(|| panic!("{kind} {config} accepted"));
            assert_eq!(e.arg(), Some(format!("spec.layers[1].config.{arg}").as_str()), "{kind} {config}: {e}");
        }
        let e = build::<f64>(&LayerSpec::new(kind, Json::parse(r#"{"hidden_size":2}"#).unwrap()), None, 0).err().unwrap();
        assert_eq!(e.arg(), Some("spec.layers[0].config.input_size"));
        let e = build::<f64>(&LayerSpec::new(kind, Json::parse(r#"{"hidden_size":2}"#).unwrap()), Some(Shape::Vector { features: 3 }), 2).err().unwrap();
        assert_eq!(e.arg(), Some("spec.layers[2].config.input_size"), "a vector input is refused");
        let l = layer(kind, r#"{"input_size":3,"hidden_size":2}"#, None);
        assert!(l.check_call(1 << 20, 1 << 10).is_err(), "{kind}: a projection over 2^31 elements is refused before allocating");
    }
}
