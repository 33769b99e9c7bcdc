//! Whole-layer benchmarks on the issue's workloads, timed directly on `Model` in Rust (no binding
//! in the way): F1 / G1 / R1 inference at B=32 T=100 I=64 H=256, F2 LSTM latency at B=1 T=50 I=16
//! H=64 (and F0, an LSTM with one unit and one step: the fixed cost of a `Model::forward` call), and the T1 / TG1 training steps (F1 + Dense(256→64) at every step, MSE, Adam). Prints the
//! median (p25–p75) in ms and GFLOP/s by the issue's FLOP formulas (training ≈ 3× forward), for
//! 1 thread and for every available core (the `threads` spec option), then the speedup. The two
//! thread counts run alternately, sample by sample, in one process, so load from other processes
//! on a shared machine hits both alike. Run: `cargo bench -p rnnkit-core --bench layers [-- FILTER]`
//! (FILTER: a workload name such as F1); `RNNKIT_ISA=avx2` etc. selects the tier;
//! `RNNKIT_BENCH_THREADS=1,2,4` overrides the thread counts.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rnnkit_core::model::{Batch, ForwardOptions, InputsRef, TargetsRef};
use rnnkit_core::Model;

/// Time budget per workload and thread count: enough samples for a stable median without hogging
/// the shared CPU.
const BUDGET: Duration = Duration::from_millis(1500);

/// Runs every `fs[i]` about BUDGET each (at least 5 calls) after two warm-ups, round-robin one call
/// at a time; returns (median, p25, p75) seconds per closure.
fn time(fs: &mut [Box<dyn FnMut() + '_>]) -> Vec<(f64, f64, f64)> {
    for f in fs.iter_mut() {
        f();
        f();
    }
    let mut samples = vec![Vec::new(); fs.len()];
    let start = Instant::now();
    while start.elapsed() < BUDGET * fs.len() as u32 || samples[0].len() < 5 {
        for (f, s) in fs.iter_mut().zip(&mut samples) {
            let t = Instant::now();
            f();
            s.push(t.elapsed().as_secs_f64());
        }
    }
    samples
        .iter_mut()
        .map(|s| {
            s.sort_by(|a, b| a.total_cmp(b));
            let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
            (q(0.5), q(0.25), q(0.75))
        })
        .collect()
}

/// The thread counts to compare: `RNNKIT_BENCH_THREADS` (comma-separated), else 1 and all cores.
fn thread_counts() -> Vec<usize> {
    if let Ok(list) = std::env::var("RNNKIT_BENCH_THREADS") {
        let counts: Vec<usize> = list.split(',').filter_map(|t| t.trim().parse().ok()).filter(|&t| t > 0).collect();
        if !counts.is_empty() {
            return counts;
        }
    }
    let all = rnnkit_core::parallel::available_threads();
    if all > 1 { vec![1, all] } else { vec![1] }
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

const WORKLOADS: [Workload; 7] = [
    Workload { name: "F0", cell: "lstm", gates: 4, b: 1, t: 1, i: 1, h: 1, train: false },
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
    let threads = thread_counts();
    println!("kernels: {}, threads {threads:?}", rnnkit_core::kernels::kernels().sgemm_name);
    for w in WORKLOADS.iter().filter(|w| filter.as_deref().is_none_or(|f| f == w.name)) {
        let head = if w.train { r#"{"units":64}"# } else { "null" };
        let spec = |n: usize| {
            format!(
                r#"{{"seed":1,"threads":{n},"blocks":[{{"cell":"{}","input_size":{},"hidden_size":{}}}],"head":{head}}}"#,
                w.cell, w.i, w.h
            )
        };
        let mut models: Vec<Model> = threads.iter().map(|&n| Model::from_json(&spec(n)).expect("valid spec")).collect();
        let x = data(w.t * w.b * w.i, 1);
        let y = data(w.t * w.b * 64, 2);
        let fwd = 2.0 * (w.b * w.t * w.gates * w.h * (w.i + w.h)) as f64;
        let head_flops = 2.0 * (w.b * w.t * w.h * 64) as f64;
        let flops = if w.train { 3.0 * (fwd + head_flops) } else { fwd };
        let batch = Batch { x: InputsRef::Float(&x), x_dims: [w.t, w.b, w.i], y: TargetsRef::Float(&y), mask: None, lengths: None };
        let opts = ForwardOptions::default();
        let mut fs: Vec<Box<dyn FnMut() + '_>> = models
            .iter_mut()
            .map(|model| -> Box<dyn FnMut() + '_> {
                if w.train {
                    model.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.0001}}"#).expect("valid train spec");
                    Box::new(|| {
                        black_box(model.train_step(black_box(&batch)).expect("train step"));
                    })
                } else {
                    Box::new(|| {
                        black_box(model.forward(black_box(&x), [w.t, w.b, w.i], &opts).expect("forward"));
                    })
                }
            })
            .collect();
        let results = time(&mut fs);
        for (&n, &(med, p25, p75)) in threads.iter().zip(&results) {
            let speedup = if n == threads[0] { String::new() } else { format!("  {:.2}x vs {} thread(s)", results[0].0 / med, threads[0]) };
            println!(
                "{:<4} {:<9} B={:<3} T={:<4} I={:<3} H={:<4} threads={n:<2} {:>9.3} ms (p25–p75 {:.3}–{:.3})  {:>7.2} GFLOP/s{speedup}",
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
}
