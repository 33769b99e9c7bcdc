//! AVX2 + FMA tier: `Lanes for Avx2` (8 f32 in a ymm register), thin `#[target_feature(enable =
//! "avx2,fma")]` entries around the generic bodies, and `plug`, which overlays them on the table.
//! Only `Kernels::for_isa` calls `plug`, after `Isa::Avx2.is_supported()` probed avx2 and fma.

use std::arch::x86_64::*;

use super::gemm::{self, Blocking, PackedB};
use super::{cells, generic};
use super::lanes::Lanes;
use super::Kernels;

#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256);

/// Wraps an intrinsic call of an `Avx2` method.
macro_rules! avx2 {
    ($e:expr) => {
        // SAFETY: `Avx2` values are only created inside the `#[target_feature(enable = "avx2,fma")]`
        // entries below, which run only after for_isa's avx2 + fma probe (see `plug`); pointer
        // arguments come from slices whose length was checked just before.
        unsafe { $e }
    };
}

// SAFETY: see the macro above: this impl only runs inside avx2+fma entries on a probed CPU.
unsafe impl Lanes for Avx2 {
    const LANES: usize = 8;
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        assert!(s.len() >= 8);
        avx2!(Avx2(_mm256_loadu_ps(s.as_ptr())))
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        assert!(s.len() >= 8);
        avx2!(_mm256_storeu_ps(s.as_mut_ptr(), self.0))
    }
    #[inline(always)]
    fn prefetch(p: *const f32) {
        // SAFETY: prefetch is SSE (x86_64 baseline) and never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }
    #[inline(always)]
    fn splat(x: f32) -> Self { avx2!(Avx2(_mm256_set1_ps(x))) }
    #[inline(always)]
    fn add(self, o: Self) -> Self { avx2!(Avx2(_mm256_add_ps(self.0, o.0))) }
    #[inline(always)]
    fn sub(self, o: Self) -> Self { avx2!(Avx2(_mm256_sub_ps(self.0, o.0))) }
    #[inline(always)]
    fn mul(self, o: Self) -> Self { avx2!(Avx2(_mm256_mul_ps(self.0, o.0))) }
    #[inline(always)]
    fn div(self, o: Self) -> Self { avx2!(Avx2(_mm256_div_ps(self.0, o.0))) }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self { avx2!(Avx2(_mm256_fmadd_ps(self.0, b.0, c.0))) }
    #[inline(always)]
    fn max(self, o: Self) -> Self { avx2!(Avx2(_mm256_max_ps(self.0, o.0))) }
    #[inline(always)]
    fn min(self, o: Self) -> Self { avx2!(Avx2(_mm256_min_ps(self.0, o.0))) }
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        // vminps/vmaxps return their second operand when either is NaN: x goes second, so NaN stays.
        avx2!(Avx2(_mm256_max_ps(lo.0, _mm256_min_ps(hi.0, self.0))))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        avx2!(Avx2(_mm256_and_ps(self.0, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)))))
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        avx2!({
            let sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
            Avx2(_mm256_or_ps(_mm256_andnot_ps(sign_bit, self.0), _mm256_and_ps(sign_bit, sign.0)))
        })
    }
    #[inline(always)]
    fn select_lt(a: Self, b: Self, t: Self, f: Self) -> Self {
        avx2!(Avx2(_mm256_blendv_ps(f.0, t.0, _mm256_cmp_ps::<_CMP_LT_OQ>(a.0, b.0))))
    }
    #[inline(always)]
    fn round_even(self) -> Self {
        avx2!(Avx2(_mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)))
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        avx2!({
            let e = _mm256_add_epi32(_mm256_cvtps_epi32(n.0), _mm256_set1_epi32(127));
            Avx2(_mm256_castsi256_ps(_mm256_slli_epi32::<23>(e)))
        })
    }
    #[inline(always)]
    fn hsum(self) -> f32 {
        avx2!({
            let s = _mm_add_ps(_mm256_castps256_ps128(self.0), _mm256_extractf128_ps::<1>(self.0));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s)))
        })
    }
}

/// 6 rows × 2 ymm: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers.
const MR: usize = 6;
const NV: usize = 2;
/// KC: a 16-column B micro-panel of 384 rows is 24 KiB (3/4 of L1d); MC: the 144×384 A block is
/// 216 KiB (L2); NC: the 384×2048 B block is 3 MiB (L2/L3). KC 384 as on AVX-512 (measured when an
/// F1 step GEMM read [x_t | h_{t−1} | 1], k = 321: F1 1.7% / 3.4% faster at 1 / 2 threads than 256,
/// G1 within ±1.5%).
const BLOCKING: Blocking = Blocking { mc: 144, kc: 384, nc: 2048, a_in_place: true };

x86_tier! {
    lanes: Avx2,
    features: "avx2,fma",
    isa: crate::kernels::Isa::Avx2,
    sgemm_name: "avx2_sgemm_6x16",
}
