//! Reading the PyTorch reference fixtures (`test/fixtures/**.json`): fields, `{"dims", "data"}`
//! tensors, float32 inputs and float64 references, and the batch-first ↔ time-major swap.

use rnnkit_core::json::Json;
use rnnkit_core::real::Real;

/// `test/fixtures/<file>`, parsed; `generator` is named in the message when it is missing.
pub fn load(file: &str, generator: &str) -> Json {
    let path = format!("{}/../../test/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (regenerate with /usr/bin/python3 {generator})"));
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
