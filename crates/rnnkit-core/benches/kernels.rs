//! Kernel micro-benchmarks: sgemm GFLOP/s (2·m·n·k / time) on the workload shapes, for every tier this
//! machine supports, scalar first so each ISA reads as a ratio against it from the same run, plus the
//! activations in Melem/s. Timings on shared machines are noisy: medians with the p25–p75 spread.
//! The packed section times `sgemm_packed` against weights packed once, as the recurrent layers call
//! it: F1's input projection (every step's [x_t | 1] rows at once, C written), the F1 step (batch 32, and a 16-row block as a two-thread row split issues it), with C rotating
//! over T = 100 gate blocks like the recurrence (so C is cold, as in a real forward), and the F2 step
//! (batch 1, hidden 64), whose 64 KiB of packed W_hh per step streams from L2.
//! Run: `cargo bench -p rnnkit-core --bench kernels` (optional filter argument: a tier name).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rnnkit_core::kernels::{Isa, Kernels, PackedB};

/// (label, m, n, k, ta, tb): C[m×n] = A[m×k]·op(B).
const SHAPES: [(&str, usize, usize, usize, bool, bool); 11] = [
    ("projection B·T×I · (I×4H)ᵀ, 3200×320·320×1024", 3200, 1024, 320, false, true),
    ("recurrent step B×H · (H×4H)ᵀ, 32×256·256×1024", 32, 1024, 256, false, true),
    ("weight grad dWᵀ = Gᵀ·X, 1024×3200ᵀ·3200×320", 1024, 320, 3200, true, false),
    ("weight grad transposed dW = Xᵀ·G, 320×3200ᵀ·3200×1024", 320, 1024, 3200, true, false),
    ("TG1 shared dW = dG[r,z]ᵀ·XH, 512×3200ᵀ·3200×320", 512, 320, 3200, true, false),
    ("TG1 shared dW transposed = XHᵀ·dG[r,z], 320×3200ᵀ·3200×512", 320, 512, 3200, true, false),
    // The T1 training step's other GEMMs (LSTM H=256, I=64, Dense 256→64 at every step).
    ("T1 dW_ih = dGᵀ·X, 1024×3200ᵀ·3200×64", 1024, 64, 3200, true, false),
    ("T1 dW_hh = dGᵀ·H, 1024×3200ᵀ·3200×256", 1024, 256, 3200, true, false),
    ("T1 head forward Z = H·Wᵀ, 3200×256·(64×256)ᵀ", 3200, 64, 256, false, true),
    ("T1 head dW = dZᵀ·H, 64×3200ᵀ·3200×256", 64, 256, 3200, true, false),
    ("T1 head dH = dZ·W, 3200×64·64×256", 3200, 256, 64, false, false),
];
/// (label, m, n, k, steps, β): C[m×n] (one of `steps` gate blocks, in turn) ← A[m×k]·W[n×k]ᵀ + β·C,
/// W packed once.
const PACKED: [(&str, usize, usize, usize, usize, f32); 4] = [
    ("F1 input projection [X | 1] · packed [W_ih | b]ᵀ, 3200×65 · (1024×65)ᵀ", 3200, 1024, 65, 1, 0.0),
    ("F1 step 32×256 · packed (1024×256)ᵀ, C over 100 steps", 32, 1024, 256, 100, 1.0),
    ("F1 step, 16-row block (two-thread row split)", 16, 1024, 256, 100, 1.0),
    ("F2 step 1×64 · packed (256×64)ᵀ, C over 50 steps", 1, 256, 64, 50, 1.0),
];
/// Time budget per (tier, shape): enough samples for a stable median without hogging the shared CPU.
const BUDGET: Duration = Duration::from_millis(600);

/// Runs `f` repeatedly for about BUDGET and returns (median, p25, p75) seconds per call.
fn time(mut f: impl FnMut()) -> (f64, f64, f64) {
    f(); // warm-up: page in buffers, grow the packing scratch
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

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tiers: Vec<Kernels> = Isa::supported()
        .into_iter()
        .filter(|i| filter.as_deref().is_none_or(|f| i.name() == f || *i == Isa::Scalar))
        .map(|i| Kernels::for_isa(i).expect("supported tier"))
        .collect();
    println!("tiers: {}", tiers.iter().map(|k| k.sgemm_name).collect::<Vec<_>>().join(", "));

    for (label, m, n, k, ta, tb) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 104_729) % 1000) as f32 * 1e-3 - 0.5).collect();
        let mut c = vec![0.0f32; m * n];
        let (lda, ldb) = (if ta { m } else { k }, if tb { k } else { n });
        let flops = 2.0 * (m * n * k) as f64;
        println!("\nsgemm {label}");
        let mut scalar_time = None;
        for kern in &tiers {
            let (med, p25, p75) = time(|| {
                (kern.sgemm)(ta, tb, m, n, k, 1.0, black_box(&a), lda, black_box(&b), ldb, 0.0, black_box(&mut c), n)
            });
            let base = *scalar_time.get_or_insert(med);
            println!(
                "  {:<20} {:>7.2} GFLOP/s  (median {:>8.3} ms, p25–p75 {:.3}–{:.3} ms)  {:>5.1}× scalar",
                kern.sgemm_name,
                flops / med * 1e-9,
                med * 1e3,
                p25 * 1e3,
                p75 * 1e3,
                base / med
            );
        }
    }

    for (label, m, n, k, steps, beta) in PACKED {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 104_729) % 1000) as f32 * 1e-3 - 0.5).collect();
        let mut c = vec![0.0f32; steps * m * n];
        let flops = 2.0 * (m * n * k) as f64;
        println!("\nsgemm_packed {label}");
        let mut scalar_time = None;
        for kern in &tiers {
            let mut packed = PackedB::new();
            (kern.pack_b)(true, k, n, &w, k, &mut packed);
            let mut t = 0;
            // One sample = one pass over every step (per-call times are sub-µs for F2).
            let (med, p25, p75) = time(|| {
                for _ in 0..steps {
                    let block = &mut c[t * m * n..(t + 1) * m * n];
                    (kern.sgemm_packed)(false, m, 0, n, k, 1.0, black_box(&a), k, &packed, beta, black_box(block), n);
                    t = (t + 1) % steps;
                }
            });
            let (med, p25, p75) = (med / steps as f64, p25 / steps as f64, p75 / steps as f64);
            let base = *scalar_time.get_or_insert(med);
            println!(
                "  {:<20} {:>7.2} GFLOP/s  (median {:>8.3} µs per call, p25–p75 {:.3}–{:.3} µs)  {:>5.1}× scalar",
                kern.sgemm_name,
                flops / med * 1e-9,
                med * 1e6,
                p25 * 1e6,
                p75 * 1e6,
                base / med
            );
        }
    }

    let len = 32 * 1024; // one step's gates for batch 32, hidden 256, 4 gates
    let x: Vec<f32> = (0..len).map(|i| ((i * 31) % 2000) as f32 * 0.01 - 10.0).collect();
    for (name, pick) in [("sigmoid", 0usize), ("tanh", 1), ("exp", 2)] {
        println!("\n{name} over {len} elements");
        let mut scalar_time = None;
        for kern in &tiers {
            let f = [kern.sigmoid, kern.tanh, kern.exp][pick];
            let mut buf = x.clone();
            let (med, _, _) = time(|| {
                buf.copy_from_slice(&x);
                f(black_box(&mut buf))
            });
            let base = *scalar_time.get_or_insert(med);
            println!("  {:<8} {:>8.0} Melem/s  {:>5.1}× scalar", kern.isa.name(), len as f64 / med * 1e-6, base / med);
        }
    }
}
