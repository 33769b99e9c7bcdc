//! `x86_tier!`: the `#[target_feature]` entries around the generic kernel bodies and the `plug` that
//! overlays them, stamped once per x86 tier. AVX2 and AVX-512 differ only in their `Lanes` type,
//! feature string, tile and blocking, so one definition serves both (tract's per-ISA macros).

/// Expands, inside a tier's module (which defines `MR`, `NV`, `BLOCKING` and its `Lanes` type),
/// to the unsafe entries and `pub(super) fn plug(k: &mut Kernels)`.
macro_rules! x86_tier {
    (lanes: $lanes:ty, features: $features:literal, isa: $isa:expr, sgemm_name: $sgemm_name:literal $(,)?) => {
        /// # Safety
        /// The CPU must support the tier's features (checked by `Isa::is_supported()` before `plug`).
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn sgemm_f32(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
            gemm::sgemm::<$lanes, MR, NV>(BLOCKING, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }

        /// # Safety
        /// As for `sgemm_f32`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn sgemm_packed_f32(ta: bool, m: usize, j0: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &PackedB, beta: f32, c: &mut [f32], ldc: usize) {
            gemm::sgemm_packed::<$lanes, MR, NV>(BLOCKING, ta, m, j0, n, k, alpha, a, lda, b, beta, c, ldc)
        }

        /// # Safety
        /// As for `sgemm_f32`.
        #[target_feature(enable = $features)]
        unsafe fn exp_f32(xs: &mut [f32]) { generic::exp::<$lanes>(xs) }
        /// # Safety
        /// As for `sgemm_f32`.
        #[target_feature(enable = $features)]
        unsafe fn sigmoid_f32(xs: &mut [f32]) { generic::sigmoid::<$lanes>(xs) }
        /// # Safety
        /// As for `sgemm_f32`.
        #[target_feature(enable = $features)]
        unsafe fn tanh_f32(xs: &mut [f32]) { generic::tanh::<$lanes>(xs) }
        /// # Safety
        /// As for `sgemm_f32`.
        #[target_feature(enable = $features)]
        unsafe fn axpy_f32(a: f32, x: &[f32], y: &mut [f32]) { generic::axpy::<$lanes>(a, x, y) }
        /// # Safety
        /// As for `sgemm_f32`.
        #[target_feature(enable = $features)]
        unsafe fn dot_f32(x: &[f32], y: &[f32]) -> f32 { generic::dot::<$lanes>(x, y) }

        /// # Safety
        /// As for the sgemm entry.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn lstm_forward_f32(b: usize, hd: usize, act: &[bool], g: &mut [f32], cp: &[f32], c: &mut [f32], tc: &mut [f32], hp: &[f32], h: &mut [f32]) {
            cells::lstm_forward::<$lanes>(b, hd, act, g, cp, c, tc, hp, h)
        }
        /// # Safety
        /// As for `lstm_forward_f32`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn lstm_row_step_f32(hd: usize, on: bool, rev: bool, w: &[f32], g: &mut [f32], cp: &[f32], c: &mut [f32], tc: &mut [f32], hp: &[f32], h: &mut [f32]) {
            cells::lstm_row_step::<$lanes>(BLOCKING.kc, hd, on, rev, w, g, cp, c, tc, hp, h)
        }
        /// # Safety
        /// As for `lstm_forward_f32`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn lstm_backward_f32(b: usize, hd: usize, act: &[bool], g: &[f32], tc: &[f32], cp: &[f32], dh: &[f32], dc: &mut [f32], dgx: &mut [f32], dhp: &mut [f32]) {
            cells::lstm_backward::<$lanes>(b, hd, act, g, tc, cp, dh, dc, dgx, dhp)
        }
        /// # Safety
        /// As for `lstm_forward_f32`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn gru_forward_f32(b: usize, hd: usize, act: &[bool], g: &mut [f32], gh: &[f32], bhn: &[f32], hp: &[f32], h: &mut [f32], hn: &mut [f32]) {
            cells::gru_forward::<$lanes>(b, hd, act, g, gh, bhn, hp, h, hn)
        }
        /// # Safety
        /// As for `lstm_forward_f32`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn gru_row_step_f32(hd: usize, on: bool, rev: bool, w: &[f32], bhn: &[f32], g: &mut [f32], hp: &[f32], h: &mut [f32], hn: &mut [f32]) {
            cells::gru_row_step::<$lanes>(BLOCKING.kc, hd, on, rev, w, bhn, g, hp, h, hn)
        }
        /// # Safety
        /// As for `lstm_forward_f32`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn gru_backward_f32(b: usize, hd: usize, act: &[bool], g: &[f32], hn: &[f32], hp: &[f32], dh: &[f32], dgx: &mut [f32], dgh: &mut [f32], dhp: &mut [f32]) {
            cells::gru_backward::<$lanes>(b, hd, act, g, hn, hp, dh, dgx, dgh, dhp)
        }

        /// Overlays this tier's kernels. Call only when the tier's `Isa::is_supported()`.
        pub(super) fn plug(k: &mut Kernels) {
            debug_assert!($isa.is_supported());
            // Soundness of every unsafe below: only `Kernels::for_isa` calls plug, after the tier's
            // Isa::is_supported() detected its features on this CPU.
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.sgemm = |ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc| unsafe { sgemm_f32(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc) };
            // SAFETY: as for sgemm above.
            k.sgemm_packed = |ta, m, j0, n, kk, alpha, a, lda, b, beta, c, ldc| unsafe { sgemm_packed_f32(ta, m, j0, n, kk, alpha, a, lda, b, beta, c, ldc) };
            k.pack_b = |tb, kk, n, b, ldb, out| gemm::pack_b(NV * <$lanes>::LANES, tb, kk, n, b, ldb, out);
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.exp = |xs| unsafe { exp_f32(xs) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.sigmoid = |xs| unsafe { sigmoid_f32(xs) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.tanh = |xs| unsafe { tanh_f32(xs) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.axpy = |a, x, y| unsafe { axpy_f32(a, x, y) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.dot = |x, y| unsafe { dot_f32(x, y) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.lstm_forward = |b, hd, act, g, cp, c, tc, hp, h| unsafe { lstm_forward_f32(b, hd, act, g, cp, c, tc, hp, h) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.lstm_row_step = |hd, on, rev, w, g, cp, c, tc, hp, h| unsafe { lstm_row_step_f32(hd, on, rev, w, g, cp, c, tc, hp, h) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.lstm_backward = |b, hd, act, g, tc, cp, dh, dc, dgx, dhp| unsafe { lstm_backward_f32(b, hd, act, g, tc, cp, dh, dc, dgx, dhp) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.gru_forward = |b, hd, act, g, gh, bhn, hp, h, hn| unsafe { gru_forward_f32(b, hd, act, g, gh, bhn, hp, h, hn) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.gru_row_step = |hd, on, rev, w, bhn, g, hp, h, hn| unsafe { gru_row_step_f32(hd, on, rev, w, bhn, g, hp, h, hn) };
            // SAFETY: the tier's features were detected by for_isa's Isa::is_supported probe.
            k.gru_backward = |b, hd, act, g, hn, hp, dh, dgx, dgh, dhp| unsafe { gru_backward_f32(b, hd, act, g, hn, hp, dh, dgx, dgh, dhp) };
            k.sgemm_name = $sgemm_name;
            k.lanes = <$lanes>::LANES;
        }

        #[cfg(test)]
        mod tests {
            use super::*;

            /// The tier's rounding/scaling instructions give what `exp`'s portable formulas give.
            #[test]
            fn lanes_overrides_match_the_portable_formulas() {
                if !$isa.is_supported() {
                    return;
                }
                #[target_feature(enable = $features)]
                unsafe fn check() {
                    crate::kernels::lanes::check_overrides::<$lanes>();
                }
                // SAFETY: the probe above found the tier's features.
                unsafe { check() }
            }
        }
    };
}
