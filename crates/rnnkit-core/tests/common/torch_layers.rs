//! Runs a `test/fixtures/torch_layers/<name>.json` file (PyTorch references for one or more layer
//! kinds) through the `Layer` trait in f64 and f32: output, dx, every parameter gradient, final
//! states and state gradients. Any layer kind's parity test is `run_file("<name>.json")`.
//!
//! A case: `type`, `config` (our JSON), `params` {name: {dims, data}} (exactly the layer's names,
//! shapes and order), `x` {dims [B, T, F]}, optional `lengths`, `states` {name: tensor} (initial
//! states, our dims) and `d_states` {name: tensor} (cotangents of the final states), `d_out` shaped
//! like the output (batch-first), and `expected` {out, dx, params, states?, d_states?}.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rnnkit_core::json::Json;
use rnnkit_core::layers::{build, Forward, LayerSpec, LayerX, Shape};
use rnnkit_core::real::Real;

/// f32: one rounding is 6e-8 relative; a layer's sums of a few dozen terms stay far below 1e-4
/// (the bar), and near-zero elements carry their terms' absolute error.
const F32: (f64, f64) = (1e-5, 1e-4);
/// f64: the references keep 13 digits (5e-14); only summation order differs.
const F64: (f64, f64) = (1e-11, 1e-9);

fn get<'a>(j: &'a Json, key: &str) -> &'a Json {
    j.get(key).unwrap_or_else(|| panic!("fixture field `{key}` missing"))
}

/// `{"dims", "data"}` → (dims, data as f64), checked against each other.
fn tensor(j: &Json) -> (Vec<usize>, Vec<f64>) {
    let dims: Vec<usize> = get(j, "dims").as_arr().expect("dims").iter().map(|d| d.as_f64().expect("a dim") as usize).collect();
    let data: Vec<f64> = get(j, "data").as_arr().expect("data").iter().map(|v| v.as_f64().expect("a number")).collect();
    assert_eq!(data.len(), dims.iter().product::<usize>(), "fixture data does not match its dims {dims:?}");
    (dims, data)
}

/// Inputs are float32 values (9 digits): rounding to f32 recovers them exactly.
fn input<R: Real>(j: &Json) -> Vec<R> {
    tensor(j).1.into_iter().map(|v| R::from_f32(v as f32)).collect()
}

/// [d0, d1, f] → [d1, d0, f] (batch-first ↔ time-major).
fn transpose01<R: Copy>(v: &[R], d0: usize, d1: usize) -> Vec<R> {
    let f = v.len().checked_div(d0 * d1).unwrap_or(0);
    (0..d1).flat_map(|j| (0..d0).flat_map(move |i| (0..f).map(move |k| v[(i * d1 + j) * f + k]))).collect()
}

fn close<R: Real>(got: &[R], want: &Json, (atol, rtol): (f64, f64), what: &str) {
    let (_, want) = tensor(want);
    assert_eq!(got.len(), want.len(), "{what}: length {} != {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let g = g.to_f64();
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{i}]: got {g}, want {w} (atol {atol}, rtol {rtol})");
    }
}

fn check_case<R: Real>(case: &Json) {
    let tol = if std::mem::size_of::<R>() == 4 { F32 } else { F64 };
    let spec = LayerSpec::new(get(case, "type").as_str().expect("type"), get(case, "config").clone());
    let (dims, _) = tensor(get(case, "x"));
    let (b, t, f) = (dims[0], dims[1], dims[2]);
    let mut layer = build::<R>(&spec, Some(Shape::Seq { features: f }), 0).expect("fixture config builds");
    let named = get(case, "params");
    let mut params = Vec::new();
    for p in layer.params() {
        let tj = named.get(&p.name).unwrap_or_else(|| panic!("param {} missing", p.name));
        assert_eq!(tensor(tj).0, p.shape, "param {} shape", p.name);
        params.extend(input::<R>(tj));
    }
    assert_eq!(params.len(), layer.param_count());
    let x = transpose01(&input::<R>(get(case, "x")), b, t);
    let lengths: Option<Vec<usize>> = case.get("lengths").map(|l| l.as_arr().expect("lengths").iter().map(|v| v.as_f64().unwrap() as usize).collect());
    let infos = layer.states(b);
    let state = |key: &str| -> Vec<Option<Vec<R>>> { infos.iter().map(|s| case.get(key).and_then(|m| m.get(s.name)).map(input::<R>)).collect() };
    let (states0, d_final) = (state("states"), state("d_states"));
    let sref: Vec<Option<&[R]>> = states0.iter().map(Option::as_deref).collect();

    let sequence = layer.output_shape().is_sequence();
    let t_out = if sequence { layer.output_steps(t) } else { 1 };
    let fo = layer.output_shape().features();
    let mut out = vec![R::ZERO; t_out * b * fo];
    let fwd = Forward { x: LayerX::Features(&x), seq_len: t, batch: b, lengths: lengths.as_deref(), states: &sref, keep: true, rng: None, params_version: 1, batch_major: false };
    let finals = layer.forward(&params, fwd, &mut out);
    let to_batch_first = |v: &[R], steps: usize| if sequence { transpose01(v, steps, b) } else { v.to_vec() };
    let expected = get(case, "expected");
    close(&to_batch_first(&out, t_out), get(expected, "out"), tol, "out");

    let d_out = input::<R>(get(case, "d_out"));
    let d_out = if sequence { transpose01(&d_out, b, t_out) } else { d_out };
    let dref: Vec<Option<&[R]>> = d_final.iter().map(Option::as_deref).collect();
    let mut grads = vec![R::ZERO; params.len()];
    let g = layer.backward(&params, &d_out, false, &dref, &mut grads, true).expect("backward");
    close(&transpose01(&g.dx, t, b), get(expected, "dx"), tol, "dx");
    let mut at = 0;
    for p in layer.params() {
        let n: usize = p.shape.iter().product();
        close(&grads[at..at + n], get(get(expected, "params"), &p.name), tol, &format!("d {}", p.name));
        at += n;
    }
    for (i, s) in infos.iter().enumerate() {
        if let Some(want) = expected.get("states").and_then(|m| m.get(s.name)) {
            close(&finals[i], want, tol, &format!("final {}", s.name));
        }
        if let Some(want) = expected.get("d_states").and_then(|m| m.get(s.name)) {
            close(&g.d_states[i], want, tol, &format!("d {}", s.name));
        }
    }
}

/// Every case of `file` in f64 and f32; prints one line per case, then fails listing every failure.
pub fn run_file(file: &str) {
    let path = format!("{}/../../test/fixtures/torch_layers/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (regenerate with /usr/bin/python3 test/fixtures/torch_layers/<name>.py)"));
    let doc = Json::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases = get(&doc, "cases").as_arr().expect("cases");
    assert!(!cases.is_empty(), "{file}: no cases");
    let mut failed = Vec::new();
    for case in cases {
        let name = get(case, "name").as_str().expect("name");
        for (label, run) in [("f64", check_case::<f64> as fn(&Json)), ("f32", check_case::<f32>)] {
            match catch_unwind(AssertUnwindSafe(|| run(case))) {
                Ok(()) => eprintln!("ok      {label} {name}"),
                Err(e) => {
                    let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                    eprintln!("FAILED  {label} {name}: {msg}");
                    failed.push(format!("{label} {name}: {msg}"));
                }
            }
        }
    }
    assert!(failed.is_empty(), "{file}: {} of {} runs failed:\n  {}", failed.len(), 2 * cases.len(), failed.join("\n  "));
}
