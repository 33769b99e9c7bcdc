//! The one exp / sigmoid / tanh approximation of rnnkit, written once over `Lanes` so the scalar
//! table and every SIMD tier evaluate the same formula with the same constants: native and wasm
//! results then differ only by FMA vs mul+add rounding. Polynomials are Cephes' `expf`/`tanhf`.
//!
//! Measured against f64 std (tests/kernels.rs `math_accuracy_against_f64`: 2·10⁶ points on |x| ≤ 30,
//! the whole exp range, tanh near 0), identical on scalar, AVX2 and AVX-512 to two digits:
//! exp ≤ 8.3e-8 relative on [EXP_MIN, EXP_MAX]; sigmoid ≤ 8.9e-8 absolute; tanh ≤ 7.5e-8 absolute and
//! ≤ 7.3e-8 relative for |x| < TANH_SMALL. (Targets the test enforces: 5e-7, 2e-7, 2e-7, 2e-7.)

// Constants are written as published (LN2_HI exactly 355/512); each literal rounds to the intended f32.
#![allow(clippy::excessive_precision)]

use super::lanes::Lanes;

/// exp clamps its input to [EXP_MIN, EXP_MAX] so the result is always a finite normal float:
/// round(EXP_MIN·log2e) = −126 and round(EXP_MAX·log2e) = 127 stay inside the exponent range
/// (EXP_MAX sits below ln(f32::MAX) = 88.376 so that the rounding can never reach 128).
pub(crate) const EXP_MIN: f32 = -87.3;
pub(crate) const EXP_MAX: f32 = 88.3;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln2 split in two (Cody–Waite): LN2_HI has 9 significant bits, so n·LN2_HI is exact for |n| ≤ 128
/// and x − n·LN2_HI is exact too, with or without FMA.
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;
/// e^r ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2 (Cephes expf), highest degree first.
const EXP_P: [f32; 6] = [1.987_569_2e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1];

/// Below this |x|, tanh uses the odd polynomial (relative accuracy near 0); above, 1 − 2/(e^{2|x|}+1).
pub(crate) const TANH_SMALL: f32 = 0.625;
/// tanh(|x|) ≈ |x| + |x|·z·Q(z), z = x², on |x| < TANH_SMALL (Cephes tanhf), highest degree first.
const TANH_Q: [f32; 5] = [-5.704_988_7e-3, 2.063_908_9e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328_2e-1];

/// e^x. Finite input never gives inf or NaN (clamped to [EXP_MIN, EXP_MAX]); NaN gives NaN.
#[inline(always)]
pub(crate) fn exp<L: Lanes>(x: L) -> L {
    let x = x.clamp(L::splat(EXP_MIN), L::splat(EXP_MAX));
    // n = round(x·log2e): the product rounded first (never fused into the rounding), so every ISA
    // gets the same n.
    let n = x.mul(L::splat(LOG2E)).round_even();
    // r = x − n·ln2 ∈ [−ln2/2, ln2/2]; the LN2_HI step is exact on every ISA.
    let r = n.fma(L::splat(-LN2_HI), x);
    let r = n.fma(L::splat(-LN2_LO), r);
    let mut p = L::splat(EXP_P[0]);
    for &c in &EXP_P[1..] {
        p = p.fma(r, L::splat(c));
    }
    let r2 = r.mul(r);
    let er = p.fma(r2, r).add(L::splat(1.0));
    er.mul_pow2(n)
}

/// 1 / (1 + e^(−x)); in [0, 1] for every non-NaN input.
#[inline(always)]
pub(crate) fn sigmoid<L: Lanes>(x: L) -> L {
    let one = L::splat(1.0);
    one.div(one.add(exp(L::splat(0.0).sub(x))))
}

/// tanh(x), odd by construction (sign copied from x, so tanh(−0) = −0); in [−1, 1].
#[inline(always)]
pub(crate) fn tanh<L: Lanes>(x: L) -> L {
    let a = x.abs();
    let one = L::splat(1.0);
    // Small |x|: odd polynomial, accurate in relative terms down to subnormals.
    let z = a.mul(a);
    let mut q = L::splat(TANH_Q[0]);
    for &c in &TANH_Q[1..] {
        q = q.fma(z, L::splat(c));
    }
    let small = q.mul(z).fma(a, a);
    // Large |x|: 1 − 2/(e^{2|x|} + 1); exp's clamp makes this exactly 1 for |x| ≳ 9 and NaN for NaN.
    let large = one.sub(L::splat(2.0).div(exp(a.add(a)).add(one)));
    L::select_lt(a, L::splat(TANH_SMALL), small, large).copysign(x)
}
