//! PyTorch parity for any layer kind through the `Layer` trait (`layers::registry::build`): reads a
//! case of `test/fixtures/torch_layers/<name>.json` — `type`, `config` (rnnkit's JSON), `params`
//! ({name: tensor} in layout order, PyTorch's names), `x` [B, T, F], optional `lengths`, `cotangent`
//! (shaped like the output, batch-first), and float64 `output` and `grads` ({"x", every parameter}) —
//! and checks output and every gradient in f32 or f64. Tensors are `{"dims", "data"}`.
#![allow(dead_code)]

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rnnkit_core::json::Json;
use rnnkit_core::layers::{build, Forward, Layer, LayerSpec, LayerX, Shape};
use rnnkit_core::real::Real;

/// f32 against the float64 reference: the bar (the generators redraw a case on which float32
/// PyTorch itself uses > 30% of the tighter native-vs-wasm tolerance, ~3% of this one).
pub const F32_RTOL: f64 = 1e-4;
/// Elements near zero (sums of terms of size ~1 that cancel) carry their terms' absolute error.
pub const F32_ATOL: f64 = 1e-5;
/// f64: the fixtures store 13 significant digits; implementations differ in summation order only.
pub const F64_RTOL: f64 = 1e-9;
pub const F64_ATOL: f64 = 1e-11;

pub fn tol<R: Real>() -> (f64, f64) {
    if is_f32::<R>() { (F32_ATOL, F32_RTOL) } else { (F64_ATOL, F64_RTOL) }
}

pub fn is_f32<R: Real>() -> bool {
    std::mem::size_of::<R>() == 4
}

thread_local! {
    /// Largest |got − want| / (atol + rtol·|want|) in the current case, printed with its `ok` line.
    static WORST: Cell<f64> = const { Cell::new(0.0) };
}

/// `super::assert_close`, recording how much of the tolerance the closest element used.
pub fn assert_close<R: Real>(got: &[R], want: &[R], atol: f64, rtol: f64, what: &str) {
    super::assert_close(got, want, atol, rtol, what);
    let used = got.iter().zip(want).map(|(g, w)| (g.to_f64() - w.to_f64()).abs() / (atol + rtol * w.to_f64().abs())).fold(0.0, f64::max);
    WORST.with(|w| w.set(w.get().max(used)));
}

pub fn load(file: &str) -> Json {
    let path = format!("{}/../../test/fixtures/torch_layers/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (regenerate with /usr/bin/python3 on the .py beside it)"));
    Json::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn field<'a>(j: &'a Json, key: &str) -> &'a Json {
    j.get(key).unwrap_or_else(|| panic!("fixture field `{key}` missing"))
}

pub fn nums(j: &Json) -> Vec<f64> {
    j.as_arr().expect("an array of numbers").iter().map(|v| v.as_f64().expect("a number")).collect()
}

/// `{"dims", "data"}` → (dims, data), the data's length checked against the dims.
pub fn tensor(j: &Json) -> (Vec<usize>, Vec<f64>) {
    let dims: Vec<usize> = nums(field(j, "dims")).iter().map(|&d| d as usize).collect();
    let data = nums(field(j, "data"));
    assert_eq!(data.len(), dims.iter().product::<usize>(), "fixture tensor data does not match its dims {dims:?}");
    (dims, data)
}

/// Inputs are float32 values written with 9 digits: rounding to f32 recovers them exactly.
pub fn input<R: Real>(data: &[f64]) -> Vec<R> {
    data.iter().map(|&v| R::from_f32(v as f32)).collect()
}

pub fn reference<R: Real>(data: &[f64]) -> Vec<R> {
    data.iter().map(|&v| R::from_f64(v)).collect()
}

/// [d0, d1, f] → [d1, d0, f]: batch-first ↔ time-major.
pub fn swap01<T: Copy>(data: &[T], d0: usize, d1: usize, f: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(data.len());
    for j in 0..d1 {
        for i in 0..d0 {
            out.extend_from_slice(&data[(i * d1 + j) * f..(i * d1 + j + 1) * f]);
        }
    }
    out
}

/// One fixture case built for `R`.
pub struct LayerCase<R: Real> {
    pub layer: Box<dyn Layer<R>>,
    pub params: Vec<R>,
    /// x as given, [B, T, F].
    pub x: Vec<R>,
    pub batch: usize,
    pub seq_len: usize,
    pub features: usize,
    pub lengths: Option<Vec<usize>>,
}

impl<R: Real> LayerCase<R> {
    pub fn new(case: &Json) -> Self {
        let (dims, x) = tensor(field(case, "x"));
        let [batch, seq_len, features] = dims[..] else { panic!("x: expected [B, T, F], got {dims:?}") };
        let kind = field(case, "type").as_str().expect("type");
        let spec = LayerSpec::new(kind, field(case, "config").clone());
        let layer = build::<R>(&spec, Some(Shape::Seq { features }), 0).unwrap_or_else(|e| panic!("{kind}: {e}"));
        // The fixture's names, in order, must be the layer's layout (PyTorch's named_parameters()).
        let Json::Obj(named) = field(case, "params") else { panic!("params: expected an object") };
        let layout = layer.params();
        let names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, named.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), "parameter names/order differ from PyTorch's");
        let mut params = Vec::with_capacity(layer.param_count());
        for (p, (_, t)) in layout.iter().zip(named) {
            let (d, v) = tensor(t);
            assert_eq!(d, p.shape, "{}: shape", p.name);
            params.extend(input::<R>(&v));
        }
        let lengths = case.get("lengths").map(|l| nums(l).iter().map(|&v| v as usize).collect());
        LayerCase { layer, params, x: input(&x), batch, seq_len, features, lengths }
    }

    /// (steps, features) of the output; steps = None for a vector output.
    fn out_dims(&self) -> (Option<usize>, usize) {
        match self.layer.output_shape() {
            Shape::Vector { features } => (None, features),
            s => (Some(self.layer.output_steps(self.seq_len)), s.features()),
        }
    }

    /// Forward of `x_tm` (time-major) with `keep`; the output batch-first.
    pub fn forward(&mut self, x_tm: &[R], seq_len: usize, batch: usize, lengths: Option<&[usize]>, keep: bool) -> Vec<R> {
        let (steps, f) = self.out_dims();
        let steps = steps.map(|_| self.layer.output_steps(seq_len));
        let mut out = vec![R::ZERO; steps.unwrap_or(1) * batch * f];
        let fwd = Forward { x: LayerX::Features(x_tm), seq_len, batch, lengths, states: &[], keep, rng: None, params_version: 1, batch_major: false };
        self.layer.forward(&self.params, fwd, &mut out);
        match steps {
            Some(t) => swap01(&out, t, batch, f),
            None => out,
        }
    }
}

/// Accumulation canary (f64 only, where it costs no precision): grads start here and the layer must
/// ADD into them, as its contract says.
const GRAD_CANARY: f64 = 0.25;

/// Output and every gradient of one case against the reference; returns the built case for
/// kind-specific checks.
pub fn check_case<R: Real>(case: &Json) -> LayerCase<R> {
    let (atol, rtol) = tol::<R>();
    let mut c = LayerCase::<R>::new(case);
    let (b, t, f) = (c.batch, c.seq_len, c.features);
    let x_tm = swap01(&c.x, b, t, f);
    let lengths = c.lengths.clone();
    let out = c.forward(&x_tm, t, b, lengths.as_deref(), true);
    let want = |j: &Json| reference::<R>(&tensor(j).1);
    assert_close(&out, &want(field(case, "output")), atol, rtol, "output");

    let (steps, fo) = c.out_dims();
    let cot: Vec<R> = input(&tensor(field(case, "cotangent")).1);
    let d_out = steps.map_or_else(|| cot.clone(), |so| swap01(&cot, b, so, fo));
    let canary = if is_f32::<R>() { 0.0 } else { GRAD_CANARY };
    let mut grads = vec![R::from_f64(canary); c.params.len()];
    let g = c.layer.backward(&c.params, &d_out, false, &[], &mut grads, true).expect("backward");
    grads.iter_mut().for_each(|v| *v -= R::from_f64(canary));

    let expected = field(case, "grads");
    assert_close(&swap01(&g.dx, t, b, f), &want(field(expected, "x")), atol, rtol, "dx");
    let mut offset = 0;
    for p in c.layer.params() {
        let n: usize = p.shape.iter().product();
        assert_close(&grads[offset..offset + n], &want(field(expected, &p.name)), atol, rtol, &format!("d {}", p.name));
        offset += n;
    }
    c
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
}

/// Runs `check` on every case of `file`, one line per case, then fails listing every failing case
/// (so one bug does not hide the rest). Returns the number of cases.
pub fn run_cases(file: &str, label: &str, check: impl Fn(&Json)) -> usize {
    let doc = load(file);
    let cases = field(&doc, "cases").as_arr().expect("cases");
    assert!(!cases.is_empty(), "{file}: no cases");
    let mut failed = Vec::new();
    for case in cases {
        let name = field(case, "name").as_str().expect("name").to_string();
        let snippet = case.get("snippet").and_then(Json::as_str).unwrap_or("");
        WORST.with(|w| w.set(0.0));
        match catch_unwind(AssertUnwindSafe(|| check(case))) {
            Ok(()) => eprintln!("ok      {label} {name} (uses {:.1e} of the tolerance)", WORST.with(Cell::get)),
            Err(e) => {
                let msg = panic_text(&*e);
                eprintln!("FAILED  {label} {name}  [{snippet}]: {msg}");
                failed.push(format!("{name}: {msg}"));
            }
        }
    }
    assert!(failed.is_empty(), "{label}: {} of {} fixtures failed:\n  {}", failed.len(), cases.len(), failed.join("\n  "));
    cases.len()
}
