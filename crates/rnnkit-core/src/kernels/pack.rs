//! Packing for the BLIS loop nest (gemm.rs): copies a kc-deep block of op(A) into MR-row micro-panels
//! and of op(B) into NR-column micro-panels, so the micro-kernel reads both strictly sequentially.
//! Transposes are resolved here (strides), and edges are zero padded to a full MR / NR, so the
//! micro-kernel always computes a whole tile and never needs an edge variant.

use super::lanes::Lanes;

/// Source rows requested ahead by the row-wise path of `pack`. Each row of a transposed op(A) (dG,
/// 4 KiB apart) starts a new page, where the hardware prefetcher stops; asking for row p + 4 while
/// copying row p took the shared dW GEMM 1024×3200ᵀ·3200×320 from ~96 to ~101 GFLOP/s (1, 2, 8 and
/// 16 rows ahead measured within noise of 4), T1 and TG1 +2.5–3.3%.
const AHEAD: usize = 4;

/// Packs the `len × kc` block X[q0.., p0..] of a strided matrix, element (q, p) at `src[q·rs + p·cs]`,
/// into ⌈len/w⌉ micro-panels of `kc·w` floats each: panel t holds, for p = 0..kc, the `w` values
/// X[q0 + t·w + 0..w, p0 + p] (rows past `len` are zeros).
///
/// op(A) (m×k) is packed with q = i, w = MR; op(B) (k×n) with q = j, w = NR.
/// `dst` must hold at least ⌈len/w⌉·kc·w floats; `src` must cover every element read (the caller,
/// `gemm::sgemm`, asserted the slice lengths).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack<L: Lanes>(dst: &mut [f32], src: &[f32], rs: usize, cs: usize, q0: usize, len: usize, p0: usize, kc: usize, w: usize) {
    let panels = len.div_ceil(w);
    // A short `dst` would silently leave the last panels unpacked (stale data in the product).
    assert!(dst.len() >= panels * kc * w, "pack: {panels} panels of {kc}×{w} need {} floats, got {}", panels * kc * w, dst.len());
    if rs == 1 {
        // The values of one p are contiguous in src (A transposed, or B as stored): walk p in the
        // outer loop and deal each source row out to the panels, reading every source line once.
        // A full panel's copy has a constant length (w is the inlined caller's MR or NR), so it is
        // a few vector moves, not a memmove call per 6 floats (perf had memmove at 14% of T1; the
        // time moved into the kernel, measured the same within noise: the copy itself is the cost).
        for p in 0..kc {
            if p + AHEAD < kc {
                // One request per 64-byte line.
                src[(p0 + p + AHEAD) * cs + q0..][..len].iter().step_by(16).for_each(|v| L::prefetch(v));
            }
            let row = &src[(p0 + p) * cs + q0..][..len];
            for (t, chunk) in row.chunks(w).enumerate() {
                let o = &mut dst[t * kc * w + p * w..][..w];
                if chunk.len() == w {
                    o.copy_from_slice(chunk);
                } else {
                    o[..chunk.len()].copy_from_slice(chunk);
                    o[chunk.len()..].fill(0.0);
                }
            }
        }
        return;
    }
    for (t, out) in dst.chunks_exact_mut(kc * w).take(panels).enumerate() {
        let q = q0 + t * w;
        let width = w.min(len - t * w);
        // Each q is a contiguous run along p (A as stored, or B transposed): four runs at a time,
        // each p writing four adjacent floats (one element per run and store was ~1 ns/element).
        let run = |c: usize| &src[(q + c) * rs + p0 * cs..][..(kc - 1) * cs + 1];
        let mut c = 0;
        while c + 4 <= width {
            let (r0, r1, r2, r3) = (run(c), run(c + 1), run(c + 2), run(c + 3));
            for (p, o) in out.chunks_exact_mut(w).enumerate() {
                let o = &mut o[c..c + 4];
                let s = p * cs;
                o[0] = r0[s];
                o[1] = r1[s];
                o[2] = r2[s];
                o[3] = r3[s];
            }
            c += 4;
        }
        for c in c..width {
            let r = run(c);
            for (p, o) in out.chunks_exact_mut(w).enumerate() {
                o[c] = r[p * cs];
            }
        }
        if width < w {
            for o in out.chunks_exact_mut(w) {
                o[width..].fill(0.0);
            }
        }
    }
}
