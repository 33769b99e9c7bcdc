//! Measured machine peak: an FMA-throughput loop per instruction set, so benchmarks can report
//! "% of peak" against what this CPU really sustains (turbo, power limits, shared cores) rather
//! than a datasheet number. Each thread runs independent FMA chains that never touch memory;
//! `peak_gflops(threads, ms)` runs one copy per std thread concurrently and sums the rates.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Independent accumulator chains per loop iteration. An FMA has a latency of ~4 cycles and the
/// widest cores retire 2 per cycle, so ≥ 8 chains are needed to keep both ports busy; 12 leaves
/// margin for a 6-cycle latency and still fits the 16 ymm (AVX2) / 32 zmm (AVX-512) registers.
const CHAINS: usize = 12;

/// Loop iterations between clock reads: 12 chains × 4096 ≈ 50k FMAs, a few µs at full speed, so
/// the clock costs nothing measurable and the time box is still respected closely.
const INNER: usize = 4096;

/// What one measurement ran on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Sum over threads of floating-point operations per second / 1e9 (an FMA counts 2).
    pub gflops: f64,
    /// Instruction set of the loop: "avx512", "avx2" or "scalar".
    pub isa: &'static str,
    pub threads: usize,
}

/// One thread's loop: `(flops, isa)` done until `deadline`.
type Body = fn(Instant) -> (f64, &'static str);

/// The widest FMA this CPU supports, probed at run time (not RNNKIT_ISA: the peak is a property
/// of the machine, not of the kernel tier a user forced).
fn best_body() -> Body {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return |d| (x86::run_avx512(d), "avx512");
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return |d| (x86::run_avx2(d), "avx2");
        }
    }
    |d| (run_scalar(d), "scalar")
}

/// GFLOP/s of `threads` concurrent FMA loops, each running for about `millis` ms.
/// `threads` and `millis` are clamped to at least 1.
pub fn peak_gflops(threads: usize, millis: u64) -> Peak {
    let threads = threads.max(1);
    let span = Duration::from_millis(millis.max(1));
    let body = best_body();
    // All threads start together so they really compete for shared resources (SMT siblings,
    // power budget), as the benchmark's multi-threaded runs do.
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let (flops, isa) = body(start + span);
                (flops / start.elapsed().as_secs_f64(), isa)
            })
        })
        .collect();
    let mut gflops = 0.0;
    let mut isa = "scalar";
    for h in handles {
        // A panic here would be a bug in this file; report zero rather than unwinding into callers.
        if let Ok((rate, name)) = h.join() {
            gflops += rate / 1e9;
            isa = name;
        }
    }
    Peak {
        gflops,
        isa,
        threads,
    }
}

/// Portable fallback: plain multiply-add chains (the compiler may or may not vectorise them).
fn run_scalar(deadline: Instant) -> f64 {
    let (m, c) = (black_box(0.999f32), black_box(0.001f32));
    let mut acc = [1.0f32; CHAINS];
    let mut flops = 0.0;
    loop {
        for _ in 0..INNER {
            for a in acc.iter_mut() {
                *a = *a * m + c;
            }
        }
        flops += (2 * CHAINS * INNER) as f64;
        if Instant::now() >= deadline {
            break;
        }
    }
    black_box(acc);
    flops
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, INNER};
    use std::arch::x86_64::*;
    use std::hint::black_box;
    use std::time::Instant;

    /// `acc ← acc·m + c` converges to 1 (m < 1), so values stay normal forever: no denormal or
    /// overflow slow paths can distort the rate.
    macro_rules! fma_loop {
        ($deadline:ident, $lanes:expr, $set1:ident, $fmadd:ident, $store:ident) => {{
            let m = $set1(black_box(0.999f32));
            let c = $set1(black_box(0.001f32));
            let mut acc = [$set1(1.0); CHAINS];
            let mut flops = 0.0f64;
            loop {
                for _ in 0..INNER {
                    // Fully unrolled by the compiler: CHAINS independent FMAs per iteration.
                    for a in acc.iter_mut() {
                        *a = $fmadd(*a, m, c);
                    }
                }
                flops += (2 * $lanes * CHAINS * INNER) as f64;
                if Instant::now() >= $deadline {
                    break;
                }
            }
            let mut out = [0.0f32; $lanes];
            for a in acc {
                // SAFETY: `out` holds exactly one vector of f32 lanes; unaligned store.
                unsafe { $store(out.as_mut_ptr(), a) };
                black_box(out);
            }
            flops
        }};
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512(deadline: Instant) -> f64 {
        fma_loop!(
            deadline,
            16,
            _mm512_set1_ps,
            _mm512_fmadd_ps,
            _mm512_storeu_ps
        )
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(deadline: Instant) -> f64 {
        fma_loop!(
            deadline,
            8,
            _mm256_set1_ps,
            _mm256_fmadd_ps,
            _mm256_storeu_ps
        )
    }

    pub(super) fn run_avx512(deadline: Instant) -> f64 {
        // SAFETY: only reached from best_body after is_x86_feature_detected!("avx512f").
        unsafe { avx512(deadline) }
    }

    pub(super) fn run_avx2(deadline: Instant) -> f64 {
        // SAFETY: only reached from best_body after detecting avx2 and fma.
        unsafe { avx2(deadline) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_positive_rate_on_the_best_isa() {
        let p = peak_gflops(1, 5);
        assert!(p.gflops > 0.0 && p.gflops.is_finite(), "{p:?}");
        assert_eq!(p.threads, 1);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert_eq!(p.isa, "avx512");
        }
    }

    #[test]
    fn clamps_zero_threads_and_millis() {
        let p = peak_gflops(0, 0);
        assert_eq!(p.threads, 1);
        assert!(p.gflops > 0.0);
    }

    #[test]
    fn scalar_loop_counts_two_flops_per_multiply_add() {
        let flops = run_scalar(Instant::now());
        assert_eq!(flops, (2 * CHAINS * INNER) as f64);
    }
}
