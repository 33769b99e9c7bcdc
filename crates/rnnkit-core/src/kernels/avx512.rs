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
    fn hsum(self) -> f32 { avx512!(_mm512_reduce_add_ps(self.0)) }
}

/// 12 rows × 2 zmm: 24 accumulators + 2 B vectors (broadcasts can fold into the FMAs as memory operands)
/// of the 32 zmm registers; each k step is 2 loads + 12 broadcasts for 24 FMAs.
const MR: usize = 12;
const NV: usize = 2;
/// KC: one 32-column B micro-panel of 256 rows is 32 KiB, streamed against L1-resident A micro-panels
/// (12×256 = 12 KiB); MC: the 192×256 A block is 192 KiB (L2); NC: the 256×2048 B block is 2 MiB (L3).
/// benches/kernels.rs on this machine (Zen 4, noisy, medians): 8×32 with KC 128 gave 76 / 55 / 51
/// GFLOP/s on projection / step / weight-grad; 12×32 with KC 256 gives 81 / 53 / 90. A later issue tunes.
const BLOCKING: Blocking = Blocking { mc: 192, kc: 256, nc: 2048 };

/// # Safety
/// The CPU must support avx512f (checked by `Isa::Avx512.is_supported()`).
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_12x32(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
    gemm::sgemm::<Avx512, MR, NV>(BLOCKING, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// # Safety
/// As for `sgemm_12x32`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_12x32_packed(ta: bool, m: usize, j0: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &PackedB, beta: f32, c: &mut [f32], ldc: usize) {
    gemm::sgemm_packed::<Avx512, MR, NV>(BLOCKING, ta, m, j0, n, k, alpha, a, lda, b, beta, c, ldc)
}

/// # Safety
/// As for `sgemm_12x32`.
#[target_feature(enable = "avx512f")]
unsafe fn exp_f32(xs: &mut [f32]) { generic::exp::<Avx512>(xs) }
/// # Safety
/// As for `sgemm_12x32`.
#[target_feature(enable = "avx512f")]
unsafe fn sigmoid_f32(xs: &mut [f32]) { generic::sigmoid::<Avx512>(xs) }
/// # Safety
/// As for `sgemm_12x32`.
#[target_feature(enable = "avx512f")]
unsafe fn tanh_f32(xs: &mut [f32]) { generic::tanh::<Avx512>(xs) }
/// # Safety
/// As for `sgemm_12x32`.
#[target_feature(enable = "avx512f")]
unsafe fn axpy_f32(a: f32, x: &[f32], y: &mut [f32]) { generic::axpy::<Avx512>(a, x, y) }
/// # Safety
/// As for `sgemm_12x32`.
#[target_feature(enable = "avx512f")]
unsafe fn dot_f32(x: &[f32], y: &[f32]) -> f32 { generic::dot::<Avx512>(x, y) }

/// # Safety
/// The CPU must support avx512f (as for the sgemm entry).
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn lstm_forward_f32(b: usize, hd: usize, act: &[bool], g: &mut [f32], cp: &[f32], c: &mut [f32], tc: &mut [f32], hp: &[f32], h: &mut [f32]) {
    cells::lstm_forward::<Avx512>(b, hd, act, g, cp, c, tc, hp, h)
}
/// # Safety
/// As for `lstm_forward_f32`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn lstm_backward_f32(b: usize, hd: usize, act: &[bool], g: &[f32], tc: &[f32], cp: &[f32], dh: &[f32], dc: &mut [f32], dgx: &mut [f32], dhp: &mut [f32]) {
    cells::lstm_backward::<Avx512>(b, hd, act, g, tc, cp, dh, dc, dgx, dhp)
}
/// # Safety
/// As for `lstm_forward_f32`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn gru_forward_f32(b: usize, hd: usize, act: &[bool], g: &mut [f32], gh: &[f32], bhn: &[f32], hp: &[f32], h: &mut [f32], hn: &mut [f32]) {
    cells::gru_forward::<Avx512>(b, hd, act, g, gh, bhn, hp, h, hn)
}
/// # Safety
/// As for `lstm_forward_f32`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn gru_backward_f32(b: usize, hd: usize, act: &[bool], g: &[f32], hn: &[f32], hp: &[f32], dh: &[f32], dgx: &mut [f32], dgh: &mut [f32], dhp: &mut [f32]) {
    cells::gru_backward::<Avx512>(b, hd, act, g, hn, hp, dh, dgx, dgh, dhp)
}

/// Overlays the AVX-512 kernels. Call only when `Isa::Avx512.is_supported()`.
pub(super) fn plug(k: &mut Kernels) {
    debug_assert!(super::Isa::Avx512.is_supported());
    // Soundness of every unsafe below: only `Kernels::for_isa` calls plug, after Isa::Avx512.is_supported()
    // detected avx512f (and avx2 + fma) on this CPU.
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.sgemm = |ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc| unsafe { sgemm_12x32(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc) };
    // SAFETY: as for sgemm above.
    k.sgemm_packed = |ta, m, j0, n, kk, alpha, a, lda, b, beta, c, ldc| unsafe { sgemm_12x32_packed(ta, m, j0, n, kk, alpha, a, lda, b, beta, c, ldc) };
    k.pack_b = |tb, kk, n, b, ldb, out| gemm::pack_b(NV * Avx512::LANES, tb, kk, n, b, ldb, out);
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.exp = |xs| unsafe { exp_f32(xs) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.sigmoid = |xs| unsafe { sigmoid_f32(xs) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.tanh = |xs| unsafe { tanh_f32(xs) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.axpy = |a, x, y| unsafe { axpy_f32(a, x, y) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.dot = |x, y| unsafe { dot_f32(x, y) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.lstm_forward = |b, hd, act, g, cp, c, tc, hp, h| unsafe { lstm_forward_f32(b, hd, act, g, cp, c, tc, hp, h) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.lstm_backward = |b, hd, act, g, tc, cp, dh, dc, dgx, dhp| unsafe { lstm_backward_f32(b, hd, act, g, tc, cp, dh, dc, dgx, dhp) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.gru_forward = |b, hd, act, g, gh, bhn, hp, h, hn| unsafe { gru_forward_f32(b, hd, act, g, gh, bhn, hp, h, hn) };
    // SAFETY: avx512f detected by for_isa's Isa::is_supported probe.
    k.gru_backward = |b, hd, act, g, hn, hp, dh, dgx, dgh, dhp| unsafe { gru_backward_f32(b, hd, act, g, hn, hp, dh, dgx, dgh, dhp) };
    k.sgemm_name = "avx512_sgemm_12x32";
}
