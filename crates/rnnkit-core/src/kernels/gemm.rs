//! Row-major SGEMM `C ← α·op(A)·op(B) + β·C`, shaped like BLIS (and bluss/matrixmultiply): five named
//! loops cut the problem into blocks that fit the cache levels, pack.rs copies the blocks into
//! micro-panels, and an MR×NR register-tile micro-kernel written once over `Lanes` does the FLOPs.
//! Each ISA instantiates `sgemm::<L, MR, NV>` inside its own `#[target_feature]` entry.
//!
//! Every element of C sees the same operation sequence whatever m, n and its tile position (the k sum
//! runs in order within each KC block, tails go through the same vector code), so a batch row equals
//! the same row computed alone, bit for bit.

use std::cell::Cell;

use super::lanes::{Lanes, MAX_LANES};
use super::pack::pack;

/// Cache blocking: each constant is named after the loop it cuts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blocking {
    /// LOOP 3 cuts m into MC rows: the packed A block (MC×KC) should sit in L2.
    pub mc: usize,
    /// LOOP 4 cuts k into KC: one B micro-panel (KC×NR) should sit in L1 while LOOP 1 sweeps A.
    pub kc: usize,
    /// LOOP 5 cuts n into NC columns: the packed B block (KC×NC) should sit in L3.
    pub nc: usize,
}

/// Widest micro-tile row any tier uses (AVX-512: 2 vectors of 16); sizes the edge row buffer.
const MAX_NR: usize = 4 * MAX_LANES;

thread_local! {
    /// Packing scratch, reused across calls on this thread. Taken out of the cell for the duration
    /// of a call (a nested call would simply allocate its own), so no borrow is held across the loops.
    static PACK: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Checks that a row-major `rows × cols` matrix with row stride `ld` fits in `len` floats.
/// A violation is a bug in the caller (the core validates user shapes long before), hence a panic.
#[inline(always)]
fn check_matrix(name: &str, len: usize, rows: usize, cols: usize, ld: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(ld >= cols, "sgemm: {name}: row stride {ld} < {cols} columns");
    let need = (rows - 1) * ld + cols;
    assert!(len >= need, "sgemm: {name}: {rows}×{cols} with stride {ld} needs {need} floats, got {len}");
}

/// The loop nest. `MR` rows × `NV` vectors of `L` (NR = NV·LANES columns) is the register tile.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm<L: Lanes, const MR: usize, const NV: usize>(
    blk: Blocking,
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let nr = NV * L::LANES;
    debug_assert!(nr <= MAX_NR);
    if ta { check_matrix("a (k×m, transposed)", a.len(), k, m, lda) } else { check_matrix("a (m×k)", a.len(), m, k, lda) }
    if tb { check_matrix("b (n×k, transposed)", b.len(), n, k, ldb) } else { check_matrix("b (k×n)", b.len(), k, n, ldb) }
    check_matrix("c (m×n)", c.len(), m, n, ldc);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // Empty sum: C ← β·C, and β = 0 writes zeros without reading C.
        for row in c.chunks_mut(ldc).take(m) {
            for x in &mut row[..n] {
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
        }
        return;
    }

    // Strides of op(A) (i, p) and op(B) (j, p), the form pack() takes.
    let (a_rs, a_cs) = if ta { (1, lda) } else { (lda, 1) };
    let (b_rs, b_cs) = if tb { (ldb, 1) } else { (1, ldb) };

    let kc_max = blk.kc.min(k);
    let a_len = blk.mc.min(m.next_multiple_of(MR)) * kc_max;
    let b_len = blk.nc.min(n.next_multiple_of(nr)) * kc_max;
    let mut scratch = PACK.take();
    let (apack, bpack) = aligned_split(&mut scratch, a_len, b_len);

    // LOOP 5: split n into NC-column blocks (B, C).
    for jc in (0..n).step_by(blk.nc) {
        let nc = blk.nc.min(n - jc);
        // LOOP 4: split k into KC-deep blocks (A, B); pack the B block once per (jc, pc).
        for pc in (0..k).step_by(blk.kc) {
            let kc = blk.kc.min(k - pc);
            pack(bpack, b, b_rs, b_cs, jc, nc, pc, kc, nr);
            // β applies once: later k blocks accumulate onto what the first one wrote.
            let beta_k = if pc == 0 { beta } else { 1.0 };
            // LOOP 3: split m into MC-row blocks (A, C); pack the A block.
            for ic in (0..m).step_by(blk.mc) {
                let mc = blk.mc.min(m - ic);
                pack(apack, a, a_rs, a_cs, ic, mc, pc, kc, MR);
                // LOOP 2: through the NR-column micro-panels of packed B.
                for (jr, bp) in (0..nc).step_by(nr).zip(bpack.chunks_exact(kc * nr)) {
                    let cols = nr.min(nc - jr);
                    // LOOP 1: through the MR-row micro-panels of packed A.
                    for (ir, ap) in (0..mc).step_by(MR).zip(apack.chunks_exact(kc * MR)) {
                        let rows = MR.min(mc - ir);
                        let off = (ic + ir) * ldc + jc + jr;
                        micro_kernel::<L, MR, NV>(ap, bp, alpha, beta_k, &mut c[off..], ldc, rows, cols);
                    }
                }
            }
        }
    }
    PACK.set(scratch);
}

/// Splits `buf` into two 64-byte aligned regions of `a_len` and `b_len` floats (full-width loads of
/// packed panels then never straddle a cache line), growing it if needed.
fn aligned_split(buf: &mut Vec<f32>, a_len: usize, b_len: usize) -> (&mut [f32], &mut [f32]) {
    const ALIGN_F32: usize = 16; // 64 bytes
    let a_cap = a_len.next_multiple_of(ALIGN_F32);
    let need = a_cap + b_len + ALIGN_F32;
    if buf.len() < need {
        *buf = vec![0.0; need];
    }
    let off = buf.as_ptr().align_offset(64);
    let off = if off < ALIGN_F32 { off } else { 0 };
    let (a, b) = buf[off..].split_at_mut(a_cap);
    (&mut a[..a_len], &mut b[..b_len])
}

/// One MR×NR tile: acc = Σ_p a[p]·b[p]ᵀ over the packed micro-panels, then C ← α·acc + β·C on the
/// `rows × cols` part that exists (`c` starts at the tile's top-left, row stride `ldc`).
/// β = 0 never reads C. Edge tiles round-trip through a row buffer with the same vector ops.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn micro_kernel<L: Lanes, const MR: usize, const NV: usize>(
    a: &[f32],
    b: &[f32],
    alpha: f32,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    let nr = NV * L::LANES;
    let mut acc = [[L::splat(0.0); NV]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(nr)) {
        let mut bv = [L::splat(0.0); NV];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = L::load(&bp[v * L::LANES..]);
        }
        for r in 0..MR {
            let ar = L::splat(ap[r]);
            for v in 0..NV {
                acc[r][v] = ar.fma(bv[v], acc[r][v]);
            }
        }
    }

    let (av, bv) = (L::splat(alpha), L::splat(beta));
    if rows == MR && cols == nr {
        for (r, acc_r) in acc.iter().enumerate() {
            let row = &mut c[r * ldc..r * ldc + nr];
            for (v, &x) in acc_r.iter().enumerate() {
                combine(x, av, bv, beta == 0.0, &mut row[v * L::LANES..]);
            }
        }
    } else {
        for (r, acc_r) in acc.iter().enumerate().take(rows) {
            let row = &mut c[r * ldc..r * ldc + cols];
            let mut buf = [0.0f32; MAX_NR];
            if beta != 0.0 {
                buf[..cols].copy_from_slice(row);
            }
            for (v, &x) in acc_r.iter().enumerate() {
                combine(x, av, bv, beta == 0.0, &mut buf[v * L::LANES..]);
            }
            row.copy_from_slice(&buf[..cols]);
        }
    }
}

/// out ← α·x + β·out for one vector; with β = 0 `out` is not read.
#[inline(always)]
fn combine<L: Lanes>(x: L, alpha: L, beta: L, beta_is_zero: bool, out: &mut [f32]) {
    let y = if beta_is_zero { x.mul(alpha) } else { L::load(out).fma(beta, x.mul(alpha)) };
    y.store(out);
}
