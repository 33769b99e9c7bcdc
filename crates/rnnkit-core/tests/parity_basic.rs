//! PyTorch parity of the basic layer kinds through the `Layer` trait (`layers::registry::build`):
//! Embedding with padding_idx, LayerNorm with and without affine, ReLU/GELU/Tanh/Sigmoid and global
//! mean/max pooling with lengths. Every case of `test/fixtures/torch_layers/basic.json` (written by
//! `basic.py` with torch 1.13, references in float64) runs in f64 and in f32, checking the output,
//! dx and every parameter gradient; each case prints `ok`/`FAILED`, then the test fails listing all
//! failing cases.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::fixture::{field, input, load, nums, panic_text, reference, swap01, tensor};
use rnnkit_core::json::Json;
use rnnkit_core::layers::registry::{build, LayerSpec};
use rnnkit_core::layers::{Forward, LayerX, Shape};
use rnnkit_core::real::Real;

/// f32 against the float64 reference: the bar. These layers chain at most a length-F sum
/// and one nonlinearity (f32 rounding ~1e-7 relative; basic.py redraws any case where float32 torch
/// uses more than 30% of a 10× tighter tolerance), so 1e-4 has wide headroom.
const F32_RTOL: f64 = 1e-4;
/// Near-zero elements (LayerNorm's dx is a cancelling difference) carry their terms' absolute error.
const F32_ATOL: f64 = 1e-5;
/// f64: the fixtures store 13 digits and the implementations differ only in summation order.
const F64_RTOL: f64 = 1e-9;
const F64_ATOL: f64 = 1e-11;

/// Gradients start here (f64 only) and the layer must ADD into them, as `Layer::backward` says.
const GRAD_CANARY: f64 = 0.25;

fn check_case<R: Real>(case: &Json) {
    let f64_run = std::mem::size_of::<R>() == 8;
    let (atol, rtol) = if f64_run { (F64_ATOL, F64_RTOL) } else { (F32_ATOL, F32_RTOL) };
    let close = |got: &[R], want: &[f64], what: &str| common::assert_close(got, &reference::<R>(want), atol, rtol, what);
    let kind = field(case, "type").as_str().expect("type");
    let spec = LayerSpec::new(kind, field(case, "config").clone());

    // Input: ids [B, T] (a first layer), or x [B, T, F] / [B, F] from a previous layer.
    let (ids, x, input_shape, seq_len, batch) = match case.get("ids") {
        Some(j) => {
            let (d, v) = tensor(j);
            let ids: Vec<i32> = swap01(&v, d[0], d[1], 1).iter().map(|&id| id as i32).collect();
            (ids, Vec::new(), None, d[1], d[0])
        }
        None => {
            let (d, v) = tensor(field(case, "x"));
            match d[..] {
                [b, t, f] => (Vec::new(), input::<R>(&swap01(&v, b, t, f)), Some(Shape::Seq { features: f }), t, b),
                [b, f] => (Vec::new(), input::<R>(&v), Some(Shape::Vector { features: f }), 1, b),
                _ => panic!("x: dims {d:?}"),
            }
        }
    };
    let mut layer = build::<R>(&spec, input_shape, 0).expect("fixture config builds");
    // The canonical config builds the same layer.
    let again = build::<R>(&LayerSpec::new(kind, layer.config()), input_shape, 0).expect("canonical config builds");
    assert_eq!(again.config(), layer.config(), "config round trip");

    // Parameters in layout order, named like PyTorch's.
    let Json::Obj(named) = field(case, "params") else { panic!("params: expected an object") };
    let layout = layer.params();
    let names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, named.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), "parameter names/order");
    let mut params = Vec::new();
    for (p, (_, j)) in layout.iter().zip(named) {
        let (dims, v) = tensor(j);
        assert_eq!(dims, p.shape, "{} shape", p.name);
        params.extend(input::<R>(&v));
    }

    let lengths: Option<Vec<usize>> = case.get("lengths").map(|l| nums(l).iter().map(|&v| v as usize).collect());
    let x_in = if ids.is_empty() { LayerX::Features(&x) } else { LayerX::Tokens(&ids) };
    let out_shape = layer.output_shape();
    let f_out = out_shape.features();
    let seq_out = out_shape.is_sequence();
    let out_rows = if seq_out { seq_len * batch } else { batch };
    let to_fixture = |v: &[R]| if seq_out { swap01(v, seq_len, batch, f_out) } else { v.to_vec() };
    let mut out = vec![R::ZERO; out_rows * f_out];
    let fwd = Forward { x: x_in, seq_len, batch, lengths: lengths.as_deref(), states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
    assert!(layer.forward(&params, fwd, &mut out).is_empty(), "no final states");
    close(&to_fixture(&out), &tensor(field(case, "out")).1, "out");

    let (d_dims, d_out) = tensor(field(case, "d_out"));
    let d_out: Vec<R> = input(&if d_dims.len() == 3 { swap01(&d_out, batch, seq_len, f_out) } else { d_out });
    let canary = if f64_run { GRAD_CANARY } else { 0.0 };
    let mut grads = vec![R::from_f64(canary); params.len()];
    let g = layer.backward(&params, &d_out, false, &[], &mut grads, true).expect("backward");
    if let Some(dx) = case.get("dx") {
        let f_in = layer.input_shape().features();
        let dx_fixture = if layer.input_shape().is_sequence() { swap01(&g.dx, seq_len, batch, f_in) } else { g.dx.clone() };
        close(&dx_fixture, &tensor(dx).1, "dx");
    }
    let mut at = 0;
    for p in &layout {
        let n: usize = p.shape.iter().product();
        let want: Vec<f64> = tensor(field(field(case, "grads"), &p.name)).1.iter().map(|v| v + canary).collect();
        close(&grads[at..at + n], &want, &format!("grad {}", p.name));
        at += n;
    }
}

fn run_all<R: Real>(label: &str) {
    let doc = load("torch_layers/basic.json", "test/fixtures/torch_layers/basic.py");
    let cases = field(&doc, "cases").as_arr().expect("cases");
    assert!(cases.len() >= 15, "basic.json: {} cases", cases.len());
    let mut failed = Vec::new();
    for case in cases {
        let name = field(case, "name").as_str().expect("name");
        match catch_unwind(AssertUnwindSafe(|| check_case::<R>(case))) {
            Ok(()) => eprintln!("ok      {label} {name}"),
            Err(e) => {
                eprintln!("FAILED  {label} {name}: {}", panic_text(&*e));
                failed.push(format!("{name}: {}", panic_text(&*e)));
            }
        }
    }
    assert!(failed.is_empty(), "{label}: {} of {} cases failed:\n  {}", failed.len(), cases.len(), failed.join("\n  "));
}

#[test]
fn basic_layers_f64_match_pytorch() {
    run_all::<f64>("f64");
}

#[test]
fn basic_layers_f32_match_pytorch() {
    run_all::<f32>("f32");
}
