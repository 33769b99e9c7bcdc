//! Conv1D: finite-difference checks over a grid of configs, config errors, and streaming (a causal
//! conv run step by step through its history state equals the whole-sequence forward).

use crate::json::Json;
use crate::layers::gradcheck::{check, layer, Case};
use crate::layers::registry::{build, LayerSpec};
use crate::layers::{Forward, LayerX, Shape};
use crate::rng::Rng;

const C_IN: usize = 4;
const T: usize = 9;

#[test]
fn gradients_match_finite_differences_over_the_config_grid() {
    let mut n = 0;
    for padding in ["valid", "same", "causal"] {
        for k in 1..=5 {
            for stride in 1..=3 {
                if padding == "same" && stride > 1 {
                    continue;
                }
                for dilation in 1..=2 {
                    for groups in [1, 2, C_IN] {
                        // Lengths: one full, one short enough to clamp (valid, k=5, d=2 needs 9).
                        for lengths in [None, Some(vec![T, 3])] {
                            let activation = ["identity", "tanh", "gelu"][n % 3];
                            let bias = n % 4 != 3;
                            let config = format!(r#"{{"out_channels":{},"kernel_size":{k},"stride":{stride},"dilation":{dilation},"groups":{groups},"padding":"{padding}","activation":"{activation}","bias":{bias}}}"#, if groups == C_IN { 4 } else { 2 * groups });
                            check(Case { kind: "Conv1D", config: &config, input: Some(Shape::Seq { features: C_IN }), seq_len: T, batch: 2, lengths, ids: None });
                            n += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(n > 300, "{n} cases");
}

/// The depthwise kernel with channel multipliers 1, 2 and 3 over paddings, strides, dilations,
/// activations and lengths, a short sequence between two long ones (its rows split a step's run).
#[test]
fn depthwise_multipliers_match_finite_differences() {
    let mut n = 0;
    for m in [1, 2, 3] {
        for padding in ["valid", "same", "causal"] {
            for (k, stride, dilation) in [(3, 1, 1), (2, 2, 1), (3, 1, 2), (4, 3, 1)] {
                if padding == "same" && stride > 1 {
                    continue;
                }
                for lengths in [None, Some(vec![T, 4, T - 2])] {
                    let activation = ["identity", "tanh", "gelu"][n % 3];
                    let config = format!(r#"{{"out_channels":{},"kernel_size":{k},"stride":{stride},"dilation":{dilation},"groups":{C_IN},"padding":"{padding}","activation":"{activation}","bias":{}}}"#, m * C_IN, n % 2 == 0);
                    check(Case { kind: "Conv1D", config: &config, input: Some(Shape::Seq { features: C_IN }), seq_len: T, batch: 3, lengths, ids: None });
                    n += 1;
                }
            }
        }
    }
    assert!(n >= 60, "{n} cases");
}

#[test]
fn first_layer_reads_in_channels_and_bias_free_depthwise_multiplier_checks() {
    check(Case { kind: "Conv1D", config: r#"{"in_channels":3,"out_channels":6,"kernel_size":3,"groups":3,"bias":false,"padding":"causal","activation":"relu"}"#, input: None, seq_len: 5, batch: 3, lengths: Some(vec![5, 1, 2]), ids: None });
    // Sequences shorter than the history (T < dilation·(k−1)): the final history reaches back into the initial one.
    check(Case { kind: "Conv1D", config: r#"{"out_channels":2,"kernel_size":3,"dilation":2,"padding":"causal"}"#, input: Some(Shape::Seq { features: 2 }), seq_len: 3, batch: 2, lengths: Some(vec![3, 1]), ids: None });
}

fn err(config: &str, input: Option<Shape>) -> String {
    let spec = LayerSpec::new("Conv1D", Json::parse(config).unwrap());
    match build::<f64>(&spec, input, 2) {
        Ok(_) => panic!("{config}: expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_configs_name_the_key() {
    let seq = Some(Shape::Seq { features: 4 });
    let e = err(r#"{"out_channels":2,"kernel_size":3,"kernal":2}"#, seq);
    assert!(e.contains("spec.layers[2].config.kernal") && e.contains("unknown field"), "{e}");
    let e = err(r#"{"out_channels":2,"kernel_size":3,"groups":3}"#, seq);
    assert!(e.contains("config.groups") && e.contains("in_channels (4)") && e.contains("got 3"), "{e}");
    let e = err(r#"{"out_channels":3,"kernel_size":3,"groups":2}"#, seq);
    assert!(e.contains("config.groups") && e.contains("out_channels (3)"), "{e}");
    let e = err(r#"{"out_channels":2,"kernel_size":3,"padding":"same","stride":2}"#, seq);
    assert!(e.contains("config.stride") && e.contains("same") && e.contains("got 2"), "{e}");
    for key in ["out_channels", "kernel_size", "stride", "dilation", "groups"] {
        let config = format!(r#"{{"out_channels":2,"kernel_size":3,"{key}":0}}"#).replacen(r#""out_channels":2,"#, "", usize::from(key == "out_channels")).replacen(r#""kernel_size":3,"#, "", usize::from(key == "kernel_size"));
        let e = err(&config, seq);
        assert!(e.contains(&format!("config.{key}")) && e.contains(">= 1, got 0"), "{e}");
    }
    let e = err(r#"{"out_channels":2,"kernel_size":3,"padding":"full"}"#, seq);
    assert!(e.contains("config.padding") && e.contains("valid, same, causal"), "{e}");
    let e = err(r#"{"out_channels":2,"kernel_size":3,"activation":"softmax"}"#, seq);
    assert!(e.contains("config.activation"), "{e}");
    let e = err(r#"{"out_channels":2,"kernel_size":3}"#, None);
    assert!(e.contains("config.in_channels") && e.contains("required"), "{e}");
    let e = err(r#"{"in_channels":3,"out_channels":2,"kernel_size":3}"#, seq);
    assert!(e.contains("config.in_channels") && e.contains("4"), "{e}");
    let e = err(r#"{"out_channels":2,"kernel_size":3}"#, Some(Shape::Vector { features: 4 }));
    assert!(e.contains("sequence"), "{e}");
    let e = err(r#"{"out_channels":100000,"kernel_size":100000}"#, seq);
    assert!(e.contains("too many"), "{e}");
}

#[test]
fn shapes_states_and_streaming_reasons() {
    let seq = Some(Shape::Seq { features: 4 });
    let l = layer("Conv1D", r#"{"out_channels":6,"kernel_size":3,"dilation":2,"stride":2}"#, seq);
    assert_eq!((l.output_steps(10), l.output_steps(4), l.min_steps()), (3, 0, 5));
    assert_eq!(l.output_lengths(10, &[10, 6, 2]), vec![3, 1, 1]);
    assert!(l.states(2).is_empty());
    assert!(l.streams().unwrap_err().contains("causal"));
    let l = layer("Conv1D", r#"{"out_channels":2,"kernel_size":3,"padding":"causal","stride":2}"#, seq);
    assert!(l.streams().unwrap_err().contains("stride 2"));
    let l = layer("Conv1D", r#"{"out_channels":2,"kernel_size":3,"dilation":2,"padding":"causal"}"#, seq);
    assert!(l.streams().is_ok());
    assert_eq!(l.states(3)[0].dims, vec![4, 3, 4]);
    assert_eq!(l.states(3)[0].name, "history");
    let names: Vec<_> = l.params().into_iter().map(|p| (p.name, p.shape)).collect();
    assert_eq!(names, vec![("weight".to_string(), vec![2, 4, 3]), ("bias".to_string(), vec![2])]);
    let mut p = vec![0f32; l.param_count()];
    l.init(&mut p, &mut Rng::new(1));
    let bound = 1.0 / 12f32.sqrt();
    assert!(p.iter().all(|v| v.abs() <= bound) && p.iter().any(|v| v.abs() > bound * 0.8));
}

/// Runs `x` [t, B, C] from `state` and returns (output, final history).
fn run(l: &mut dyn crate::layers::Layer<f64>, p: &[f64], x: &[f64], t: usize, batch: usize, state: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let states = [Some(state)];
    let mut out = vec![0.0; t * batch * l.output_shape().features()];
    let fwd = Forward { x: LayerX::Features(x), seq_len: t, batch, lengths: None, states: &states, keep: false, rng: None, params_version: 1, batch_major: false };
    let mut s = l.forward(p, fwd, &mut out);
    (out, s.remove(0))
}

#[test]
fn causal_conv_streams_step_by_step_through_its_history() {
    // GEMM path, then the depthwise kernel with a channel multiplier of 2.
    for (c, config) in [
        (3, r#"{"out_channels":2,"kernel_size":3,"dilation":2,"padding":"causal","activation":"tanh"}"#),
        (3, r#"{"out_channels":6,"groups":3,"kernel_size":3,"dilation":2,"padding":"causal","activation":"tanh"}"#),
    ] {
        streams_step_by_step(c, config);
    }
}

fn streams_step_by_step(c: usize, config: &str) {
    let (t, b) = (7, 2);
    let mut l = layer("Conv1D", config, Some(Shape::Seq { features: c }));
    let mut rng = Rng::new(3);
    let p: Vec<f64> = (0..l.param_count()).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let x: Vec<f64> = (0..t * b * c).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let h0: Vec<f64> = (0..l.states(b)[0].len()).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (whole, h_whole) = run(&mut *l, &p, &x, t, b, &h0);
    let mut state = h0.clone();
    let mut stepped = Vec::new();
    for s in 0..t {
        let (o, h) = run(&mut *l, &p, &x[s * b * c..(s + 1) * b * c], 1, b, &state);
        stepped.extend(o);
        state = h;
    }
    for (i, (a, w)) in stepped.iter().zip(&whole).enumerate() {
        assert!((a - w).abs() < 1e-12, "out[{i}]: stepped {a} vs whole {w}");
    }
    assert_eq!(stepped.len(), whole.len());
    for (a, w) in state.iter().zip(&h_whole) {
        assert!((a - w).abs() < 1e-15);
    }
}

#[test]
fn canonical_config_round_trips_and_fills_every_default() {
    let l = layer("Conv1D", r#"{"out_channels":4,"kernel_size":3}"#, Some(Shape::Seq { features: 2 }));
    let config = l.config();
    assert_eq!(config.to_string(), r#"{"in_channels":2,"out_channels":4,"kernel_size":3,"stride":1,"dilation":1,"groups":1,"padding":"valid","bias":true,"activation":"identity"}"#);
    let again = build::<f64>(&LayerSpec::new("Conv1D", config.clone()), None, 0).unwrap();
    assert_eq!(again.config(), config);
}

/// The network checks `min_steps()` and reports a user error; a layer called anyway is a bug.
#[test]
#[should_panic(expected = "an input of 4 steps is shorter than the kernel (kernel_size 3, dilation 2: 5 steps)")]
fn forward_below_min_steps_is_a_bug_naming_length_and_kernel() {
    let mut l = layer("Conv1D", r#"{"out_channels":1,"kernel_size":3,"dilation":2}"#, Some(Shape::Seq { features: 1 }));
    let p = vec![0.0; l.param_count()];
    let fwd = Forward { x: LayerX::Features(&[0.0; 4]), seq_len: 4, batch: 1, lengths: None, states: &[], keep: false, rng: None, params_version: 1, batch_major: false };
    l.forward(&p, fwd, &mut []);
}

/// Forward of `x` [t, B, C] under `version`; with `keep`, then backward of Σ out ⊙ d_out: (out, grads).
fn run_version(l: &mut dyn crate::layers::Layer<f64>, p: &[f64], x: &[f64], t: usize, version: u64, keep: bool) -> (Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; l.output_steps(t) * 2 * l.output_shape().features()];
    let fwd = Forward { x: LayerX::Features(x), seq_len: t, batch: 2, lengths: None, states: &[], keep, rng: None, params_version: version, batch_major: false };
    l.forward(p, fwd, &mut out);
    let mut grads = vec![0.0; p.len()];
    if keep {
        let d_out: Vec<f64> = (0..out.len()).map(|i| (i % 7) as f64 - 3.0).collect();
        l.backward(p, &d_out, false, &[], &mut grads, true).unwrap();
    }
    (out, grads)
}

/// The packed weight is rebuilt when the version changes, and backward reads the weights of its
/// own forward even when an inference forward with other weights came in between.
#[test]
fn packed_weight_follows_the_params_version() {
    let (t, c) = (6, 4);
    for config in [r#"{"out_channels":3,"kernel_size":3}"#, r#"{"out_channels":8,"groups":4,"kernel_size":3,"padding":"same"}"#] {
        let mut rng = Rng::new(11);
        let mut l = layer("Conv1D", config, Some(Shape::Seq { features: c }));
        let fresh = || layer("Conv1D", config, Some(Shape::Seq { features: c }));
        let p1: Vec<f64> = (0..l.param_count()).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let p2: Vec<f64> = (0..l.param_count()).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let x: Vec<f64> = (0..t * 2 * c).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (o1, _) = run_version(&mut *l, &p1, &x, t, 1, false);
        let (o2, _) = run_version(&mut *l, &p2, &x, t, 2, false);
        assert_eq!(o1, run_version(&mut *fresh(), &p1, &x, t, 1, false).0, "{config}: version 1");
        assert_eq!(o2, run_version(&mut *fresh(), &p2, &x, t, 1, false).0, "{config}: stale packed weight after a version change");
        assert_ne!(o1, o2);
        // Training forward on p1 (v3), inference on p2 (v4), then backward: p1's gradients.
        let mut out = vec![0.0; o1.len()];
        let fwd = Forward { x: LayerX::Features(&x), seq_len: t, batch: 2, lengths: None, states: &[], keep: true, rng: None, params_version: 3, batch_major: false };
        l.forward(&p1, fwd, &mut out);
        run_version(&mut *l, &p2, &x, t, 4, false);
        let d_out: Vec<f64> = (0..out.len()).map(|i| (i % 7) as f64 - 3.0).collect();
        let mut grads = vec![0.0; p1.len()];
        let g = l.backward(&p1, &d_out, false, &[], &mut grads, true).unwrap();
        let mut f = fresh();
        let (_, want) = run_version(&mut *f, &p1, &x, t, 1, true);
        assert_eq!(grads, want, "{config}: parameter gradients");
        let mut grads2 = vec![0.0; p1.len()];
        assert_eq!(g.dx, f.backward(&p1, &d_out, false, &[], &mut grads2, true).unwrap().dx, "{config}: dx");
    }
}
