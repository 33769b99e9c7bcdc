//! Scalar kernels: the same generic bodies as every SIMD tier, instantiated with `f32` as a
//! one-lane vector (unfused mul+add, so it matches SIMD128 bit for bit). Portable; the baseline
//! every other tier is tested against, and what non-x86, non-SIMD128 builds run.

use super::gemm::{self, Blocking, PackedB};
use super::generic;

/// MR×NR = 4×4 scalar accumulators fit the 16 general FP registers of x86_64 / wasm locals.
const MR: usize = 4;
const NV: usize = 4;
/// KC: a 4-column B micro-panel of 256 rows is 4 KiB (L1); MC: the 128×256 A block is 128 KiB (L2).
const BLOCKING: Blocking = Blocking { mc: 128, kc: 256, nc: 2048, a_in_place: false };

/// `scalar_sgemm_4x4`: the BLIS nest of gemm.rs around a 4×4 scalar tile.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_4x4(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
    gemm::sgemm::<f32, MR, NV>(BLOCKING, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// The scalar GEMM against a pre-packed B (see `SgemmPackedFn`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_packed(ta: bool, m: usize, j0: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &PackedB, beta: f32, c: &mut [f32], ldc: usize) {
    gemm::sgemm_packed::<f32, MR, NV>(BLOCKING, ta, m, j0, n, k, alpha, a, lda, b, beta, c, ldc)
}

/// Packs op(B) into NR = 4 column panels for `sgemm_packed`.
pub fn pack_b(tb: bool, k: usize, n: usize, b: &[f32], ldb: usize, out: &mut PackedB) {
    gemm::pack_b(NV, tb, k, n, b, ldb, out)
}

/// The fused one-row LSTM and GRU steps (`cells::lstm_row_step`), k blocks cut at this tier's KC.
#[allow(clippy::too_many_arguments)]
pub fn lstm_row_step(hd: usize, on: bool, rev: bool, w: &[f32], g: &mut [f32], cp: &[f32], c: &mut [f32], tc: &mut [f32], hp: &[f32], h: &mut [f32]) {
    super::cells::lstm_row_step::<f32>(BLOCKING.kc, hd, on, rev, w, g, cp, c, tc, hp, h)
}
#[allow(clippy::too_many_arguments)]
pub fn gru_row_step(hd: usize, on: bool, rev: bool, w: &[f32], bhn: &[f32], g: &mut [f32], hp: &[f32], h: &mut [f32], hn: &mut [f32]) {
    super::cells::gru_row_step::<f32>(BLOCKING.kc, hd, on, rev, w, bhn, g, hp, h, hn)
}

/// Table slot alias: the scalar GEMM.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
    sgemm_4x4(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

pub fn exp(xs: &mut [f32]) {
    generic::exp::<f32>(xs)
}

pub fn sigmoid(xs: &mut [f32]) {
    generic::sigmoid::<f32>(xs)
}

pub fn tanh(xs: &mut [f32]) {
    generic::tanh::<f32>(xs)
}

pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    generic::axpy::<f32>(a, x, y)
}

pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    generic::dot::<f32>(x, y)
}
