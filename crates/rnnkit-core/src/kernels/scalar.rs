//! Scalar kernels: portable, and the oracle every SIMD tier is tested against.

pub fn sgemm(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
    crate::real::gemm_reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

pub fn sigmoid(xs: &mut [f32]) {
    for x in xs {
        *x = 1.0 / (1.0 + (-*x).exp());
    }
}

pub fn tanh(xs: &mut [f32]) {
    for x in xs {
        *x = x.tanh();
    }
}

pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}
