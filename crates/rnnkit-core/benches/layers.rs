//! Whole-layer benchmarks on the issue's workloads, timed directly on `Model` in Rust (no binding
//! in the way): F1 / G1 / R1 inference at B=32 T=100 I=64 H=256, F2 LSTM latency at B=1 T=50 I=16
//! H=64, and the T1 / TG1 training steps (F1 + Dense(256→64) at every step, MSE, Adam). Prints the
//! median (p25–p75) in ms and GFLOP/s by the issue's FLOP formulas (training ≈ 3× forward).
//! Run: `cargo bench -p rnnkit-core --bench layers [-- FILTER]` (FILTER: a workload name such as F1);
//! `RNNKIT_ISA=avx2` etc. selects the tier. Timings on shared machines are noisy: compare within a run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rnnkit_core::model::{Batch, ForwardOptions, TargetsRef};
use rnnkit_core::Model;

/// Time budget per workload: enough samples for a stable median without hogging the shared CPU.
const BUDGET: Duration = Duration::from_millis(1500);

/// Runs `f` for about BUDGET (at least 5 calls) after two warm-ups; returns (median, p25, p75) seconds.
fn time(mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    f();
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < BUDGET || samples.len() < 5 {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (q(0.5), q(0.25), q(0.75))
}

struct Workload {
    name: &'static str,
    cell: &'static str,
    gates: usize,
    b: usize,
    t: usize,
    i: usize,
    h: usize,
    train: bool,
}

const WORKLOADS: [Workload; 6] = [
    Workload { name: "F1", cell: "lstm", gates: 4, b: 32, t: 100, i: 64, h: 256, train: false },
    Workload { name: "F2", cell: "lstm", gates: 4, b: 1, t: 50, i: 16, h: 64, train: false },
    Workload { name: "G1", cell: "gru", gates: 3, b: 32, t: 100, i: 64, h: 256, train: false },
    Workload { name: "R1", cell: "rnn_tanh", gates: 1, b: 32, t: 100, i: 64, h: 256, train: false },
    Workload { name: "T1", cell: "lstm", gates: 4, b: 32, t: 100, i: 64, h: 256, train: true },
    Workload { name: "TG1", cell: "gru", gates: 3, b: 32, t: 100, i: 64, h: 256, train: true },
];

/// Deterministic values in [−0.5, 0.5).
fn data(n: usize, salt: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919 + salt * 104_729) % 1000) as f32 * 1e-3 - 0.5).collect()
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    println!("kernels: {}", rnnkit_core::kernels::kernels().sgemm_name);
    for w in WORKLOADS.iter().filter(|w| filter.as_deref().is_none_or(|f| f == w.name)) {
        let head = if w.train { r#"{"units":64}"# } else { "null" };
        let spec = format!(
            r#"{{"seed":1,"blocks":[{{"cell":"{}","input_size":{},"hidden_size":{}}}],"head":{head}}}"#,
            w.cell, w.i, w.h
        );
        let mut model = Model::from_json(&spec).expect("valid spec");
        let x = data(w.t * w.b * w.i, 1);
        let fwd = 2.0 * (w.b * w.t * w.gates * w.h * (w.i + w.h)) as f64;
        let (flops, (med, p25, p75)) = if w.train {
            model.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.0001}}"#).expect("valid train spec");
            let y = data(w.t * w.b * 64, 2);
            let batch = Batch { x: &x, x_dims: [w.t, w.b, w.i], y: TargetsRef::Float(&y), mask: None, lengths: None };
            let head = 2.0 * (w.b * w.t * w.h * 64) as f64;
            (3.0 * (fwd + head), time(|| {
                black_box(model.train_step(black_box(&batch)).expect("train step"));
            }))
        } else {
            let opts = ForwardOptions::default();
            (fwd, time(|| {
                black_box(model.forward(black_box(&x), [w.t, w.b, w.i], &opts).expect("forward"));
            }))
        };
        println!(
            "{:<4} {:<9} B={:<3} T={:<4} I={:<3} H={:<4} {:>9.3} ms (p25–p75 {:.3}–{:.3})  {:>7.2} GFLOP/s",
            w.name,
            w.cell,
            w.b,
            w.t,
            w.i,
            w.h,
            med * 1e3,
            p25 * 1e3,
            p75 * 1e3,
            flops / med * 1e-9
        );
    }
}
