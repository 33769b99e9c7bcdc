//! Reading the PyTorch reference fixtures (`test/fixtures/**.json`, written by the generator scripts
//! there): fields, `{"dims", "data"}` tensors, float32 inputs and float64 references, the
//! batch-first ↔ time-major swap, the tolerances, and `run_cases`, which checks every case of a file
//! and reports each one with the share of the tolerance it used. Shared by every parity test.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rnnkit_core::json::Json;
use rnnkit_core::real::Real;

/// f32 against the float64 reference. One f32 rounding is 6e-8 relative; a recurrent case chains
/// T = 4 steps of length-(I+H) dot products and gate nonlinearities (rnnkit's own exp/tanh
/// approximation), twice over for 2 layers and again backwards, which grows to ~1e-5 on the worst
/// elements; the other layers chain far less. 1e-4 is the bar; the generators redraw any case
/// on which float32 PyTorch itself uses > 30% of the tighter native-vs-wasm tolerance (1e-5 + 1e-6),
/// i.e. > ~3% of this one.
pub const F32_RTOL: f64 = 1e-4;
/// Elements near zero (a sum of terms of size ~1 that cancel) carry the absolute error of their terms.
pub const F32_ATOL: f64 = 1e-5;
/// f64 against the float64 reference: the fixtures store 13 significant digits (5e-14 relative) and
/// the two implementations differ only in summation order (~1e-15 per sum), so 1e-9 is loose enough
/// never to flake yet catches any real formula difference (those show up at 1e-3 and above).
pub const F64_RTOL: f64 = 1e-9;
pub const F64_ATOL: f64 = 1e-11;

/// Accumulation canary (f64 only, where it costs no precision): grads start here and the code under
/// test must ADD into them, as its contract says.
pub const GRAD_CANARY: f64 = 0.25;

pub fn is_f32<R: Real>() -> bool {
    std::mem::size_of::<R>() == 4
}

/// (atol, rtol) for `R`.
pub fn tol<R: Real>() -> (f64, f64) {
    if is_f32::<R>() { (F32_ATOL, F32_RTOL) } else { (F64_ATOL, F64_RTOL) }
}

thread_local! {
    /// Largest |got − want| / (atol + rtol·|want|) seen in the current case: printed with each `ok`
    /// line, so the headroom under each tolerance is visible (1.0 = at the limit).
    static WORST: Cell<f64> = const { Cell::new(0.0) };
}

/// `common::assert_close`, recording how much of the tolerance the closest call used.
pub fn assert_close<R: Real>(got: &[R], want: &[R], atol: f64, rtol: f64, what: &str) {
    super::assert_close(got, want, atol, rtol, what);
    let used = got.iter().zip(want).map(|(g, w)| (g.to_f64() - w.to_f64()).abs() / (atol + rtol * w.to_f64().abs())).fold(0.0, f64::max);
    WORST.with(|w| w.set(w.get().max(used)));
}

// ---- reading fixtures ----------------------------------------------------------------------------

/// The script that writes `file`: `torch_layers/<name>.json` ← `torch_layers/<name>.py`, the rest ←
/// `gen_torch.py`.
fn generator(file: &str) -> String {
    match file.strip_prefix("torch_layers/").and_then(|f| f.strip_suffix(".json")) {
        Some(stem) => format!("test/fixtures/torch_layers/{stem}.py"),
        None => "test/fixtures/gen_torch.py".into(),
    }
}

/// `test/fixtures/<file>`, parsed; the message names the generator when it is missing.
pub fn load(file: &str) -> Json {
    let path = format!("{}/../../test/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (regenerate with /usr/bin/python3 {})", generator(file)));
    Json::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn field<'a>(j: &'a Json, key: &str) -> &'a Json {
    j.get(key).unwrap_or_else(|| panic!("fixture field `{key}` missing"))
}

pub fn nums(j: &Json) -> Vec<f64> {
    j.as_arr().expect("an array of numbers").iter().map(|v| v.as_f64().expect("a number")).collect()
}

pub fn usize_of(j: &Json) -> usize {
    j.as_f64().expect("a number") as usize
}

pub fn bool_of(j: &Json) -> bool {
    match j {
        Json::Bool(b) => *b,
        other => panic!("expected a boolean, got {}", other.kind()),
    }
}

/// `{"dims": [...], "data": [...]}` → (dims, data), data length checked against the dims.
pub fn tensor(j: &Json) -> (Vec<usize>, Vec<f64>) {
    let dims: Vec<usize> = field(j, "dims").as_arr().expect("dims").iter().map(usize_of).collect();
    let data = nums(field(j, "data"));
    assert_eq!(data.len(), dims.iter().product::<usize>(), "fixture tensor data does not match its dims {dims:?}");
    (dims, data)
}

/// Fixture inputs are float32 values written with 9 digits: rounding to f32 recovers them exactly, so
/// the f64 run sees the very numbers PyTorch used.
pub fn input<R: Real>(data: &[f64]) -> Vec<R> {
    data.iter().map(|&v| R::from_f32(v as f32)).collect()
}

/// References are f64; compared as f64 by `assert_close`.
pub fn reference<R: Real>(data: &[f64]) -> Vec<R> {
    data.iter().map(|&v| R::from_f64(v)).collect()
}

/// [d0, d1, f] ↔ [d1, d0, f]: batch-first ↔ time-major.
pub fn swap01<T: Copy>(data: &[T], d0: usize, d1: usize, f: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(data.len());
    for j in 0..d1 {
        for i in 0..d0 {
            out.extend_from_slice(&data[(i * d1 + j) * f..(i * d1 + j + 1) * f]);
        }
    }
    out
}

/// A caught panic's message.
pub fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
}

/// Runs `check` on every case of `file`, printing one line per case (with the share of the tolerance
/// it used, or its snippet and message), then fails listing the failing names. Returns the number of
/// cases (each test asserts a minimum, so an emptied file fails).
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
    assert!(failed.is_empty(), "{file} ({label}): {} of {} cases failed:\n  {}", failed.len(), cases.len(), failed.join("\n  "));
    cases.len()
}
