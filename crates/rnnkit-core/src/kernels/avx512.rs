//! AVX-512F tier: `Lanes for Avx512` (16 f32 in a zmm register), thin `#[target_feature(enable =
//! "avx512f")]` entries around the generic bodies, and `plug`, which overlays them on the table.
//! Only `Kernels::for_isa` calls `plug`, after `Isa::Avx512.is_supported()` probed avx2, fma and avx512f.

use std::arch::x86_64::*;

use super::gemm::{self, Blocking, PackedB};
use super::{cells, generic};
use super::lanes::Lanes;
use super::Kernels;

#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512);

/// Wraps an intrinsic call of an `Avx512` method.
macro_rules! avx512 {
    ($e:expr) => {
        // SAFETY: `Avx512` values are only created inside the `#[target_feature(enable = "avx512f")]`
        // entries below, which run only after for_isa's avx512f probe (see `plug`); pointer
        // arguments come from slices whose length was checked just before.
        unsafe { $e }
    };
}

// SAFETY: see the macro above: this impl only runs inside avx512f entries on a probed CPU.
unsafe impl Lanes for Avx512 {
    const LANES: usize = 16;
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        assert!(s.len() >= 16);
        avx512!(Avx512(_mm512_loadu_ps(s.as_ptr())))
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        assert!(s.len() >= 16);
        avx512!(_mm512_storeu_ps(s.as_mut_ptr(), self.0))
    }
    #[inline(always)]
    fn prefetch(p: *const f32) {
        // SAFETY: prefetch is SSE (x86_64 baseline) and never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }
    #[inline(always)]
    fn splat(x: f32) -> Self { avx512!(Avx512(_mm512_set1_ps(x))) }
    #[inline(always)]
    fn add(self, o: Self) -> Self { avx512!(Avx512(_mm512_add_ps(self.0, o.0))) }
    #[inline(always)]
    fn sub(self, o: Self) -> Self { avx512!(Avx512(_mm512_sub_ps(self.0, o.0))) }
    #[inline(always)]
    fn mul(self, o: Self) -> Self { avx512!(Avx512(_mm512_mul_ps(self.0, o.0))) }
    #[inline(always)]
    fn div(self, o: Self) -> Self { avx512!(Avx512(_mm512_div_ps(self.0, o.0))) }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self { avx512!(Avx512(_mm512_fmadd_ps(self.0, b.0, c.0))) }
    #[inline(always)]
    fn max(self, o: Self) -> Self { avx512!(Avx512(_mm512_max_ps(self.0, o.0))) }
    #[inline(always)]
    fn min(self, o: Self) -> Self { avx512!(Avx512(_mm512_min_ps(self.0, o.0))) }
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        // vminps/vmaxps return their second operand when either is NaN: x goes second, so NaN stays.
        avx512!(Avx512(_mm512_max_ps(lo.0, _mm512_min_ps(hi.0, self.0))))
    }
    #[inline(always)]
    fn abs(self) -> Self { avx512!(Avx512(_mm512_abs_ps(self.0))) }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        avx512!({
            let mag = _mm512_castps_si512(_mm512_abs_ps(self.0));
            let s = _mm512_and_si512(_mm512_castps_si512(sign.0), _mm512_set1_epi32(i32::MIN));
            Avx512(_mm512_castsi512_ps(_mm512_or_si512(mag, s)))
        })
    }
    #[inline(always)]
    fn select_lt(a: Self, b: Self, t: Self, f: Self) -> Self {
        avx512!(Avx512(_mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a.0, b.0), f.0, t.0)))
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        avx512!({
            let e = _mm512_add_epi32(_mm512_cvtps_epi32(n.0), _mm512_set1_epi32(127));
            Avx512(_mm512_castsi512_ps(_mm512_slli_epi32::<23>(e)))
        })
    }
    #[inline(always)]
    fn round_even(self) -> Self {
        avx512!(Avx512(_mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)))
    }
    #[inline(always)]
    fn mul_pow2(self, n: Self) -> Self { avx512!(Avx512(_mm512_scalef_ps(self.0, n.0))) }
    #[inline(always)]
    fn hsum(self) -> f32 { avx512!(_mm512_reduce_add_ps(self.0)) }
}

/// 6 rows × 4 zmm (6×64): 24 accumulators + 4 B vectors + 1 broadcast of the 32 zmm registers; each
/// k step is 4 loads + 6 broadcasts for 24 FMAs. Measured against 12×32 (the previous kernel), 8×48,
/// 16×16 and 24×16 on Zen 4 (best-of GFLOP/s, one thread, peak ~116; see gemm.rs's tuning record):
/// 3200×64·64×1024 (input projection) 6×64 92 vs 12×32 80; 3200×320·320×1024 100 vs 95; the
/// 32×256·256×1024 recurrent step 103–105 for every shape. The 4 lines per C row a tile writes also
/// spread its C lines over more L1 sets than 12 rows do when ldc is a multiple of 4 KiB (gate rows).
/// Also measured: the 256-bit kernels (AVX2 6×16, and 12×16 using AVX-512VL's 32 ymm) run the step
/// shape at the same speed as 512-bit on this double-pumped core, so the 512-bit tier stays.
const MR: usize = 6;
const NV: usize = 4;
/// KC: A micro-panels of 6×384 floats (9 KiB) stay in L1 while a 64×384 B panel (96 KiB) streams from
/// L2; MC: the 192×384 A block is 288 KiB (L2); NC: the 384×2048 B block is 3 MiB (L3). KC is part of
/// the numerics (where the k sum splits). 384 was measured when the forward's step GEMM read
/// [x_t | h_{t−1} | 1] rows (k = 64 + 256 + 1, one block): against 256, F1 3.3% faster, T1 2.6%,
/// TG1 1.6%, G1 / R1 within ±1% (old and new addons interleaved in one process); 512 the same as
/// 384. Since the steps multiply h_{t−1} alone (k = H), F1 fits one block either way and T1 measured
/// the same (256 0.5% slower, within noise). MC 96 / 384 and KC 128 measured no better.
const BLOCKING: Blocking = Blocking { mc: 192, kc: 384, nc: 2048, a_in_place: true };

x86_tier! {
    lanes: Avx512,
    features: "avx512f",
    isa: crate::kernels::Isa::Avx512,
    sgemm_name: "avx512_sgemm_6x64",
}
