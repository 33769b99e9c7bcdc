//! `Real`: the two float types the math is written over. f32 runs through the SIMD kernel table;
//! f64 is a plain scalar implementation used by the finite-difference gradient checks, so the same
//! layer code is verified at double precision and shipped at single precision.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::kernels::kernels;

pub trait Real:
    Copy
    + Default
    + Debug
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_f32(x: f32) -> Self;
    fn to_f32(self) -> f32;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn is_finite(self) -> bool;
    fn max(self, other: Self) -> Self {
        if self > other { self } else { other }
    }
    fn min(self, other: Self) -> Self {
        if self < other { self } else { other }
    }
    fn sigmoid(self) -> Self;
    fn tanh(self) -> Self;

    /// Row-major `C ← α·op(A)·op(B) + β·C`, op(A) is m×k, op(B) is k×n, C is m×n.
    /// `ta`: A is stored k×m (row stride lda) and used transposed; likewise `tb`.
    /// When β = 0, C is not read (NaNs in C do not propagate).
    #[allow(clippy::too_many_arguments)]
    fn gemm(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: Self, a: &[Self], lda: usize, b: &[Self], ldb: usize, beta: Self, c: &mut [Self], ldc: usize);
    /// In place, element-wise.
    fn sigmoid_slice(xs: &mut [Self]);
    fn tanh_slice(xs: &mut [Self]);
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    fn from_f64(x: f64) -> f32 { x as f32 }
    fn to_f64(self) -> f64 { self as f64 }
    fn from_f32(x: f32) -> f32 { x }
    fn to_f32(self) -> f32 { self }
    fn exp(self) -> f32 { f32::exp(self) }
    fn ln(self) -> f32 { f32::ln(self) }
    fn sqrt(self) -> f32 { f32::sqrt(self) }
    fn abs(self) -> f32 { f32::abs(self) }
    fn is_finite(self) -> bool { f32::is_finite(self) }
    fn sigmoid(self) -> f32 {
        let mut v = [self];
        (kernels().sigmoid)(&mut v);
        v[0]
    }
    fn tanh(self) -> f32 {
        let mut v = [self];
        (kernels().tanh)(&mut v);
        v[0]
    }
    fn gemm(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
        // Split over the calling model's threads (bit-identical to one thread; see parallel.rs).
        crate::parallel::sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    fn sigmoid_slice(xs: &mut [f32]) { (kernels().sigmoid)(xs) }
    fn tanh_slice(xs: &mut [f32]) { (kernels().tanh)(xs) }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    fn from_f64(x: f64) -> f64 { x }
    fn to_f64(self) -> f64 { self }
    fn from_f32(x: f32) -> f64 { x as f64 }
    fn to_f32(self) -> f32 { self as f32 }
    fn exp(self) -> f64 { f64::exp(self) }
    fn ln(self) -> f64 { f64::ln(self) }
    fn sqrt(self) -> f64 { f64::sqrt(self) }
    fn abs(self) -> f64 { f64::abs(self) }
    fn is_finite(self) -> bool { f64::is_finite(self) }
    fn sigmoid(self) -> f64 { 1.0 / (1.0 + (-self).exp()) }
    fn tanh(self) -> f64 { f64::tanh(self) }
    fn gemm(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f64, a: &[f64], lda: usize, b: &[f64], ldb: usize, beta: f64, c: &mut [f64], ldc: usize) {
        gemm_reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    fn sigmoid_slice(xs: &mut [f64]) { xs.iter_mut().for_each(|x| *x = x.sigmoid()) }
    fn tanh_slice(xs: &mut [f64]) { xs.iter_mut().for_each(|x| *x = x.tanh()) }
}

/// The triple loop every GEMM is checked against. Same contract as `Real::gemm`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_reference<R: Real>(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: R, a: &[R], lda: usize, b: &[R], ldb: usize, beta: R, c: &mut [R], ldc: usize) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = R::ZERO;
            for p in 0..k {
                let av = if ta { a[p * lda + i] } else { a[i * lda + p] };
                let bv = if tb { b[j * ldb + p] } else { b[p * ldb + j] };
                acc += av * bv;
            }
            let out = &mut c[i * ldc + j];
            *out = if beta == R::ZERO { alpha * acc } else { alpha * acc + beta * *out };
        }
    }
}
