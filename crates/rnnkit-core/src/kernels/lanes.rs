//! `Lanes`: the handful of SIMD operations the generic kernel bodies (`generic.rs`, `math.rs`,
//! `gemm.rs`) are written over. One impl per ISA (`f32` here for scalar, `Avx2`, `Avx512`, `Simd128`
//! in their own files), so every algorithm exists once and the ISA files stay thin.

/// A vector of `LANES` f32 values.
///
/// # Safety
/// Implementations for an instruction set execute its instructions in safe methods. A SIMD impl may
/// therefore only be used inside a function compiled with that `#[target_feature]` (or a build that
/// enables it globally), which is only entered after the runtime probe succeeded. The impls are
/// private to `kernels`, and the only code that instantiates them is those entry points.
pub(crate) unsafe trait Lanes: Copy {
    /// Number of f32 in one vector. At most `MAX_LANES`.
    const LANES: usize;
    /// Reads `LANES` values from the front of `s`. Panics if `s.len() < LANES`.
    fn load(s: &[f32]) -> Self;
    /// Writes `LANES` values to the front of `s`. Panics if `s.len() < LANES`.
    fn store(self, s: &mut [f32]);
    fn splat(x: f32) -> Self;
    /// `load` from a raw pointer (the GEMM micro-kernels, which address packed panels directly).
    ///
    /// # Safety
    /// `p` must be valid for reading `LANES` floats.
    #[inline(always)]
    unsafe fn load_ptr(p: *const f32) -> Self {
        // SAFETY: the caller guarantees LANES readable floats at p.
        Self::load(unsafe { std::slice::from_raw_parts(p, Self::LANES) })
    }
    /// `store` to a raw pointer.
    ///
    /// # Safety
    /// `p` must be valid for writing `LANES` floats, and not aliased by a live reference.
    #[inline(always)]
    unsafe fn store_ptr(self, p: *mut f32) {
        // SAFETY: the caller guarantees LANES writable, unaliased floats at p.
        self.store(unsafe { std::slice::from_raw_parts_mut(p, Self::LANES) })
    }
    /// Hints that the cache line holding `p` will be read soon. Never faults (any address is fine);
    /// a no-op where the ISA has no prefetch.
    #[inline(always)]
    fn prefetch(_p: *const f32) {}
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// IEEE division, correctly rounded on every ISA (no reciprocal approximations).
    fn div(self, o: Self) -> Self;
    /// `self·b + c`: fused (one rounding) where the ISA has FMA (AVX2, AVX-512), `mul` then `add`
    /// on scalar and SIMD128. This is the only place tiers may round differently.
    fn fma(self, b: Self, c: Self) -> Self;
    /// Lane-wise maximum / minimum. NaN handling is ISA-specific: use `clamp` where NaN must survive.
    /// (Not called yet: they are for the fused relu/clip kernels that plug in next.)
    #[allow(dead_code)]
    fn max(self, o: Self) -> Self;
    #[allow(dead_code)]
    fn min(self, o: Self) -> Self;
    /// `lo ≤ x ≤ hi` lane-wise; a NaN lane stays NaN on every ISA.
    fn clamp(self, lo: Self, hi: Self) -> Self;
    fn abs(self) -> Self;
    /// |self| with the sign bit of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// Lane-wise `if a < b { t } else { f }` (false for NaN).
    fn select_lt(a: Self, b: Self, t: Self, f: Self) -> Self;
    /// 2^n for lanes holding integer values n ∈ [−126, 127] (exact, built from exponent bits).
    fn pow2i(n: Self) -> Self;
    /// The nearest integer, ties to even, for |self| < 2²²: adding and subtracting 1.5·2²³ (two
    /// plain adds, exact on every ISA). A tier with a rounding instruction overrides it (same values).
    #[inline(always)]
    fn round_even(self) -> Self {
        const MAGIC: f32 = 12_582_912.0;
        self.add(Self::splat(MAGIC)).sub(Self::splat(MAGIC))
    }
    /// self·2^n for lanes holding integer n ∈ [−126, 127]: one correctly rounded multiplication by
    /// `pow2i(n)`. AVX-512 overrides it with vscalefps, which rounds the same exact product the same way.
    #[inline(always)]
    fn mul_pow2(self, n: Self) -> Self {
        self.mul(Self::pow2i(n))
    }
    /// Sum of the lanes, in an order fixed per ISA.
    fn hsum(self) -> f32;
}

/// The widest vector any impl has (AVX-512: 16 f32); sizes the stack buffers used for tails.
pub(crate) const MAX_LANES: usize = 16;

// SAFETY: plain f32 arithmetic, valid on every target.
unsafe impl Lanes for f32 {
    const LANES: usize = 1;
    #[inline(always)]
    fn load(s: &[f32]) -> f32 { s[0] }
    #[inline(always)]
    fn store(self, s: &mut [f32]) { s[0] = self }
    #[inline(always)]
    fn splat(x: f32) -> f32 { x }
    #[inline(always)]
    fn add(self, o: f32) -> f32 { self + o }
    #[inline(always)]
    fn sub(self, o: f32) -> f32 { self - o }
    #[inline(always)]
    fn mul(self, o: f32) -> f32 { self * o }
    #[inline(always)]
    fn div(self, o: f32) -> f32 { self / o }
    // Unfused on purpose: scalar matches SIMD128 bit for bit, and needs no libm fmaf call.
    #[inline(always)]
    fn fma(self, b: f32, c: f32) -> f32 { self * b + c }
    #[inline(always)]
    fn max(self, o: f32) -> f32 { f32::max(self, o) }
    #[inline(always)]
    fn min(self, o: f32) -> f32 { f32::min(self, o) }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> f32 {
        // f32::clamp keeps NaN; written out so lo > hi can never panic.
        if self < lo { lo } else if self > hi { hi } else { self }
    }
    #[inline(always)]
    fn abs(self) -> f32 { f32::abs(self) }
    #[inline(always)]
    fn copysign(self, sign: f32) -> f32 { f32::copysign(self, sign) }
    #[inline(always)]
    fn select_lt(a: f32, b: f32, t: f32, f: f32) -> f32 { if a < b { t } else { f } }
    #[inline(always)]
    fn pow2i(n: f32) -> f32 { f32::from_bits(((n as i32 + 127) as u32) << 23) }
    #[inline(always)]
    fn hsum(self) -> f32 { self }
}

/// Test helper for tiers that override `round_even` / `mul_pow2`: both must give what the portable
/// formulas give over the range `exp` uses them on (n ∈ [−126, 127], mantissas of e^r on [0.7, 1.42],
/// ties included, results down to subnormal): `mul_pow2` bit for bit; `round_even` as a value (a
/// rounding instruction gives −0 for t ∈ (−0.5, 0), the adds +0, and exp treats the two alike).
#[cfg(test)]
#[inline(always)]
pub(crate) fn check_overrides<L: Lanes>() {
    const MAGIC: f32 = 12_582_912.0;
    let mut t = [0.0f32; MAX_LANES];
    let mut got = [0.0f32; MAX_LANES];
    let mut want = [0.0f32; MAX_LANES];
    for i in 0..40_000 {
        for (l, v) in t[..L::LANES].iter_mut().enumerate() {
            *v = -130.0 + (i * L::LANES + l) as f32 * 0.000_43; // crosses every .5 tie on the way
        }
        L::load(&t).round_even().store(&mut got);
        L::load(&t).add(L::splat(MAGIC)).sub(L::splat(MAGIC)).store(&mut want);
        assert_eq!(got, want, "round_even at {t:?}");
    }
    for n in -126..=127 {
        for i in 0..256 {
            let m: [f32; MAX_LANES] = std::array::from_fn(|l| 0.7 + (i * MAX_LANES + l) as f32 * (0.72 / 4096.0));
            L::load(&m).mul_pow2(L::splat(n as f32)).store(&mut got);
            L::load(&m).mul(L::pow2i(L::splat(n as f32))).store(&mut want);
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "mul_pow2 at n = {n}");
        }
    }
}
