//! WebAssembly SIMD128 tier: `Lanes for Simd128` (4 f32 in a v128) and `plug`. Compiled only when the
//! build enables simd128 (`-C target-feature=+simd128`), so the whole module already has the feature:
//! wasm decides at build time (the JS side picks the simd or scalar .wasm), never at run time.
//! No FMA here (relaxed-simd is off in Node 20), so `fma` is mul+add, matching the scalar table.

use std::arch::wasm32::*;

use super::gemm::{self, Blocking, PackedB};
use super::{cells, generic};
use super::lanes::Lanes;
use super::{Isa, Kernels};

#[derive(Clone, Copy)]
pub(crate) struct Simd128(v128);

/// Wraps an intrinsic call of a `Simd128` method.
macro_rules! simd {
    ($e:expr) => {
        // SAFETY: this module is compiled only with target_feature = "simd128" enabled for the whole
        // build, so every simd128 instruction is valid; pointer arguments come from slices whose
        // length was checked just before (v128 loads/stores need no alignment).
        #[allow(unused_unsafe)]
        unsafe {
            $e
        }
    };
}

// SAFETY: simd128 is enabled for the whole build (see the module cfg in mod.rs).
unsafe impl Lanes for Simd128 {
    const LANES: usize = 4;
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        assert!(s.len() >= 4);
        simd!(Simd128(v128_load(s.as_ptr() as *const v128)))
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        assert!(s.len() >= 4);
        simd!(v128_store(s.as_mut_ptr() as *mut v128, self.0))
    }
    #[inline(always)]
    fn splat(x: f32) -> Self { simd!(Simd128(f32x4_splat(x))) }
    #[inline(always)]
    fn add(self, o: Self) -> Self { simd!(Simd128(f32x4_add(self.0, o.0))) }
    #[inline(always)]
    fn sub(self, o: Self) -> Self { simd!(Simd128(f32x4_sub(self.0, o.0))) }
    #[inline(always)]
    fn mul(self, o: Self) -> Self { simd!(Simd128(f32x4_mul(self.0, o.0))) }
    #[inline(always)]
    fn div(self, o: Self) -> Self { simd!(Simd128(f32x4_div(self.0, o.0))) }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self { simd!(Simd128(f32x4_add(f32x4_mul(self.0, b.0), c.0))) }
    #[inline(always)]
    fn max(self, o: Self) -> Self { simd!(Simd128(f32x4_max(self.0, o.0))) }
    #[inline(always)]
    fn min(self, o: Self) -> Self { simd!(Simd128(f32x4_min(self.0, o.0))) }
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        // pmin(a, b) = b < a ? b : a and pmax(a, b) = a < b ? b : a: with `self` first, a NaN lane
        // fails both compares and stays NaN. One minps/maxps each under V8, where f32x4.min/max
        // lower to ~8 instructions of NaN and ±0 fix-ups (exp clamps twice per sigmoid/tanh).
        simd!(Simd128(f32x4_pmax(f32x4_pmin(self.0, hi.0), lo.0)))
    }
    #[inline(always)]
    fn abs(self) -> Self { simd!(Simd128(f32x4_abs(self.0))) }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        simd!(Simd128(v128_bitselect(self.0, sign.0, i32x4_splat(i32::MAX))))
    }
    #[inline(always)]
    fn select_lt(a: Self, b: Self, t: Self, f: Self) -> Self {
        simd!(Simd128(v128_bitselect(t.0, f.0, f32x4_lt(a.0, b.0))))
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        // n + 1.5·2²³ is exact for integer |n| < 2²², and its bits are then 0x4B40_0000 + n: the
        // integer without a float→int conversion (i32x4.trunc_sat_f32x4 is ~6 instructions of
        // saturation fix-ups under V8 on x64). Same result as (n as i32 + 127) << 23 for n ∈ [−126, 127].
        const MAGIC: f32 = 12_582_912.0;
        const BIAS: i32 = 127 - 0x4B40_0000;
        simd!(Simd128(i32x4_shl(i32x4_add(f32x4_add(n.0, f32x4_splat(MAGIC)), i32x4_splat(BIAS)), 23)))
    }
    #[inline(always)]
    fn hsum(self) -> f32 {
        simd!((f32x4_extract_lane::<0>(self.0) + f32x4_extract_lane::<2>(self.0)) + (f32x4_extract_lane::<1>(self.0) + f32x4_extract_lane::<3>(self.0)))
    }
}

/// 4 rows × 2 v128: 8 accumulators, 2 B vectors and a broadcast stay well under the 16 registers
/// V8 allocates to SIMD on x86_64 hosts. Measured under Node 20 (Zen 4, LSTM forward through the wasm
/// backend, medians of interleaved runs): 6×8 (12 accumulators) and 4×12 run F1 at 95–110 ms against
/// 70–78 ms for 4×8 — V8 spills the larger tiles — so 4×8 stays. The generic gemm.rs changes of the
/// same round (accumulator spill, batch-1 rows read in place) took F2 from 0.24 to 0.22 ms.
/// V8's TurboFan code for this k loop (`node --no-liftoff --print-wasm-code`) is already tight: 2 B
/// loads, 4 vbroadcastss, 8 vmulps + 8 vaddps, and V8 peels/unrolls it itself; unrolling k by 4 in
/// gemm.rs made F1 slower (67 → 97 ms, spills). F1's step GEMM runs ~42 GFLOP/s, near mul+add peak.
const MR: usize = 4;
const NV: usize = 2;
/// KC: an 8-column B micro-panel of 256 rows is 8 KiB (L1); MC: the 128×256 A block is 128 KiB (L2).
const BLOCKING: Blocking = Blocking { mc: 128, kc: 256, nc: 2048, a_in_place: false };

/// `simd128_sgemm_4x8`.
#[allow(clippy::too_many_arguments)]
fn sgemm_4x8(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
    gemm::sgemm::<Simd128, MR, NV>(BLOCKING, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// `simd128_sgemm_4x8` against a pre-packed B.
#[allow(clippy::too_many_arguments)]
fn sgemm_4x8_packed(ta: bool, m: usize, j0: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &PackedB, beta: f32, c: &mut [f32], ldc: usize) {
    gemm::sgemm_packed::<Simd128, MR, NV>(BLOCKING, ta, m, j0, n, k, alpha, a, lda, b, beta, c, ldc)
}

/// Overlays the SIMD128 kernels (safe: the feature is a build-time fact here).
/// The whole table of a SIMD128 build. It names every slot itself (no scalar base to overlay), so
/// the scalar kernels are not linked into rnnkit-simd.wasm; engines without SIMD get rnnkit.wasm.
pub(super) fn table() -> Kernels {
    Kernels {
        isa: Isa::Simd128,
        lanes: Simd128::LANES,
        sgemm: sgemm_4x8,
        sgemm_packed: sgemm_4x8_packed,
        pack_b: |tb, kk, n, b, ldb, out| gemm::pack_b(NV * Simd128::LANES, tb, kk, n, b, ldb, out),
        sgemm_name: "simd128_sgemm_4x8",
        exp: |xs| generic::exp::<Simd128>(xs),
        sigmoid: |xs| generic::sigmoid::<Simd128>(xs),
        tanh: |xs| generic::tanh::<Simd128>(xs),
        axpy: |a, x, y| generic::axpy::<Simd128>(a, x, y),
        dot: |x, y| generic::dot::<Simd128>(x, y),
        lstm_forward: cells::lstm_forward::<Simd128>,
        lstm_row_step: |hd, on, rev, w, g, cp, c, tc, hp, h| cells::lstm_row_step::<Simd128>(BLOCKING.kc, hd, on, rev, w, g, cp, c, tc, hp, h),
        lstm_backward: cells::lstm_backward::<Simd128>,
        gru_forward: cells::gru_forward::<Simd128>,
        gru_row_step: |hd, on, rev, w, bhn, g, hp, h, hn| cells::gru_row_step::<Simd128>(BLOCKING.kc, hd, on, rev, w, bhn, g, hp, h, hn),
        gru_backward: cells::gru_backward::<Simd128>,
    }
}
