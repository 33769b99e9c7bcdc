//! Packing for the BLIS loop nest (gemm.rs): copies a kc-deep block of op(A) into MR-row micro-panels
//! and of op(B) into NR-column micro-panels, so the micro-kernel reads both strictly sequentially.
//! Transposes are resolved here (strides), and edges are zero padded to a full MR / NR, so the
//! micro-kernel always computes a whole tile and never needs an edge variant.

/// Packs the `len × kc` block X[q0.., p0..] of a strided matrix, element (q, p) at `src[q·rs + p·cs]`,
/// into ⌈len/w⌉ micro-panels of `kc·w` floats each: panel t holds, for p = 0..kc, the `w` values
/// X[q0 + t·w + 0..w, p0 + p] (rows past `len` are zeros).
///
/// op(A) (m×k) is packed with q = i, w = MR; op(B) (k×n) with q = j, w = NR.
/// `dst` must hold at least ⌈len/w⌉·kc·w floats; `src` must cover every element read (the caller,
/// `gemm::sgemm`, asserted the slice lengths).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack(dst: &mut [f32], src: &[f32], rs: usize, cs: usize, q0: usize, len: usize, p0: usize, kc: usize, w: usize) {
    let panels = len.div_ceil(w);
    for (t, out) in dst.chunks_exact_mut(kc * w).take(panels).enumerate() {
        let q = q0 + t * w;
        let width = w.min(len - t * w);
        if rs == 1 {
            // The w values of one p are contiguous in src (A transposed, or B as stored): row copies.
            for (p, o) in out.chunks_exact_mut(w).enumerate() {
                let s = (p0 + p) * cs + q;
                o[..width].copy_from_slice(&src[s..s + width]);
                o[width..].fill(0.0);
            }
        } else {
            // Each q is a contiguous run along p (A as stored, or B transposed): scatter with stride w.
            for c in 0..width {
                let row = (q + c) * rs + p0 * cs;
                for p in 0..kc {
                    out[p * w + c] = src[row + p * cs];
                }
            }
            if width < w {
                for o in out.chunks_exact_mut(w) {
                    o[width..].fill(0.0);
                }
            }
        }
    }
}
