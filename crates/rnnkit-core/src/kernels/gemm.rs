//! Row-major SGEMM `C ← α·op(A)·op(B) + β·C`, shaped like BLIS (and bluss/matrixmultiply): five named
//! loops cut the problem into blocks that fit the cache levels, pack.rs copies the blocks into
//! micro-panels, and register-tile micro-kernels written once over `Lanes` do the FLOPs. Each ISA
//! instantiates `sgemm::<L, MR, NV>` / `sgemm_packed::<L, MR, NV>` inside its own `#[target_feature]` entry.
//!
//! Weights that do not change between calls are packed once into a `PackedB` (NR-column panels over
//! the whole k), so the recurrent step GEMM never re-packs W_hh; `sgemm_packed` reads it directly.
//! op(A) whose rows are stored contiguously is read in place instead of packed on x86 (see `block`),
//! and so are blocks of one or two rows (batch-1 steps, the F2 latency case) on every tier.
//!
//! Tuning record (AMD Zen 4, AVX-512, single thread; lab runs alternating old/new in one process,
//! best-of GFLOP/s because the shared machine is noisy; FMA peak measured ~116):
//! - Accumulators spilled to a stack buffer before α/β are applied (see `tile`): 12×32 step shape
//!   32×256·256×1024 packed 46 → 105, projection 3200×64·64×1024 37 → 81, 1×64·64×256 at 2×.
//! - Whole tiles combined with C from the registers, only edge tiles through the spill buffer: the
//!   k = 64 GEMM 3200×64·64×256 107 → 112, the step shapes +1–2%, F1 / T1 whole calls +1%.
//! - C tile prefetched at the start of each tile: step shape with C rotating over 100 gate blocks
//!   (as in the recurrence) 99 → 103; requested 32 k steps before the end of the tile instead (the
//!   B panel no longer evicts it): ~110 → ~112, F1 calls (step GEMM into the projected gates)
//!   +2.4–2.8%. B prefetch 8/16/32 k-steps ahead: no gain.
//! - Tile shapes (MR×NV zmm): on the step shape 12×2 ≈ 8×3 ≈ 6×4 ≈ 103, 16×1 ≈ 101, 24×1 ≈ 100; on the
//!   projection 6×4 wins (92 vs 80 for 12×2), so AVX-512 runs 6×64 (avx512.rs).
//! - Batch-1 block read in place: 1×64·64×256 0.9 → 0.66 µs (W_hh is 64 KiB, L2 bound from here).
//! - pack.rs four runs at a time: packing a 32×256 A block 8.6 → 2.9 µs.
//! - A read in place when its rows are contiguous, not packed: F1 +2.6–3.3%, T1 +2–3% (whole calls).
//! - pack.rs requests transposed A's source rows 4 ahead: dW 1024×3200ᵀ·3200×320 ~96 → ~101.
//! - One-row blocks walk B's panels in alternating directions (`block`): F2 (LSTM B=1 H=64, whole
//!   call) 51 → 47 µs; one panel per kernel instead of four, same direction every call: no change.
//!
//! Determinism: every element of C sees the same operation sequence whatever m, n, its tile position,
//! the micro-kernel variant that computed it (full tile, short-row tile, multi-panel tile), and
//! whether B was pre-packed: within each KC block the k sum is one FMA chain in order starting from 0,
//! then `C ← α·acc + β·C` (β only for the first block). So a batch row equals the same row computed
//! alone, and splitting n across threads (at panel boundaries) gives bit-identical results.

use std::cell::Cell;

use super::lanes::{Lanes, MAX_LANES};
use super::pack::pack;

/// Cache blocking: each constant is named after the loop it cuts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blocking {
    /// LOOP 3 cuts m into MC rows: the packed A block (MC×KC) should sit in L2.
    pub mc: usize,
    /// LOOP 4 cuts k into KC. Part of the numerical contract (it fixes where β applies and how the
    /// k sum is split), so `sgemm` and `sgemm_packed` of one tier must use the same KC.
    pub kc: usize,
    /// LOOP 5 cuts n into NC columns: the B block (KC×NC) should sit in L2/L3.
    pub nc: usize,
    /// Read op(A) in place when its rows are contiguous (see `block`). x86 only: in the SIMD128 module
    /// the extra inlined tiles made V8's code for the whole loop nest slower (wasm F1 65 → 92 ms).
    pub a_in_place: bool,
}

/// Widest panel any tier packs (AVX-512: 4 vectors of 16); every tier's NR divides it, so a column
/// offset that is a multiple of it is a panel boundary on every tier.
pub(crate) const MAX_NR: usize = 4 * MAX_LANES;

thread_local! {
    /// Packing scratch, reused across calls on this thread. Taken out of the cell for the duration
    /// of a call (a nested call would simply allocate its own), so no borrow is held across the loops.
    static PACK: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    /// Flips on every one-row block (see `block`): the direction its panels are walked in.
    static SERPENTINE: Cell<bool> = const { Cell::new(false) };
}

/// op(B) (k×n) packed once into ⌈n/NR⌉ panels of k·NR floats: panel q holds, for p = 0..k, the NR
/// values op(B)[p, q·NR..q·NR + NR] (zero padded past n). The layout depends only on NR, so a
/// column range starting at a panel boundary is a plain offset. Built by `Kernels::pack_b`, read by
/// `Kernels::sgemm_packed` of the same tier (the NR is checked).
#[derive(Clone, Default, Debug)]
pub struct PackedB {
    data: Vec<f32>,
    /// Start of the first panel inside `data` (64-byte alignment).
    off: usize,
    k: usize,
    n: usize,
    nr: usize,
}

impl PackedB {
    pub fn new() -> PackedB {
        PackedB::default()
    }
    /// Rows of op(B) (the shared dimension).
    pub fn k(&self) -> usize {
        self.k
    }
    /// Columns of op(B).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Panel width of the tier that packed it; column ranges given to `sgemm_packed` start at multiples of it.
    pub fn nr(&self) -> usize {
        self.nr
    }
    fn panels(&self) -> &[f32] {
        &self.data[self.off..self.off + self.n.div_ceil(self.nr.max(1)) * self.k * self.nr]
    }
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

/// Packs op(B) (k×n; `tb`: B stored n×k) into `out` with panel width `nr`, reusing its buffer.
pub(crate) fn pack_b(nr: usize, tb: bool, k: usize, n: usize, b: &[f32], ldb: usize, out: &mut PackedB) {
    if tb { check_matrix("b (n×k, transposed)", b.len(), n, k, ldb) } else { check_matrix("b (k×n)", b.len(), k, n, ldb) }
    let len = n.div_ceil(nr) * k * nr;
    out.off = aligned_start(&mut out.data, len);
    out.k = k;
    out.n = n;
    out.nr = nr;
    let (b_rs, b_cs) = if tb { (ldb, 1) } else { (1, ldb) };
    if k > 0 && n > 0 {
        pack::<f32>(&mut out.data[out.off..out.off + len], b, b_rs, b_cs, 0, n, 0, k, nr);
    }
}

/// Where the micro-kernels find B: panel q, row p at `base + q·panel_stride + p·NR`.
#[derive(Clone, Copy)]
struct BView {
    base: *const f32,
    panel_stride: usize,
}

/// The loop nest over unpacked B: packs each KC×NC block of op(B) into scratch.
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
    if trivial(m, n, k, beta, c, ldc) {
        return;
    }
    let (b_rs, b_cs) = if tb { (ldb, 1) } else { (1, ldb) };
    let kc_max = blk.kc.min(k);
    let b_len = blk.nc.min(n).next_multiple_of(nr) * kc_max;
    let mut scratch = PACK.take();
    // Rounded up after the min: an MC that is not a multiple of MR still gets room for its last,
    // short micro-panel (`pack` asserts the room).
    let (apack, bpack) = aligned_split(&mut scratch, blk.mc.min(m).next_multiple_of(MR) * kc_max, b_len);
    // LOOP 5: split n into NC-column blocks (B, C).
    for jc in (0..n).step_by(blk.nc) {
        let nc = blk.nc.min(n - jc);
        // LOOP 4: split k into KC-deep blocks (A, B); pack the B block once per (jc, pc).
        for pc in (0..k).step_by(blk.kc) {
            let kc = blk.kc.min(k - pc);
            pack::<L>(bpack, b, b_rs, b_cs, jc, nc, pc, kc, nr);
            let bv = BView { base: bpack.as_ptr(), panel_stride: kc * nr };
            let beta_k = if pc == 0 { beta } else { 1.0 };
            block::<L, MR, NV>(blk, ta, m, nc, kc, pc, alpha, a, lda, bv, beta_k, &mut c[jc..], ldc, apack);
        }
    }
    PACK.set(scratch);
}

/// The loop nest over a pre-packed B: C[:, 0..n] ← α·op(A)·op(B)[:, j0..j0+n] + β·C. `j0` must be a
/// multiple of `b.nr()` (a panel boundary) and `j0 + n ≤ b.n()`; `c` starts at column j0's element.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm_packed<L: Lanes, const MR: usize, const NV: usize>(
    blk: Blocking,
    ta: bool,
    m: usize,
    j0: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &PackedB,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let nr = NV * L::LANES;
    assert!(b.nr == nr, "sgemm_packed: B was packed with panel width {}, this kernel needs {nr}", b.nr);
    assert!(b.k == k, "sgemm_packed: B was packed with k = {}, called with k = {k}", b.k);
    assert!(j0.is_multiple_of(nr) && j0 + n <= b.n, "sgemm_packed: columns {j0}..{} of a packed B with {} columns (panels of {nr})", j0 + n, b.n);
    if ta { check_matrix("a (k×m, transposed)", a.len(), k, m, lda) } else { check_matrix("a (m×k)", a.len(), m, k, lda) }
    check_matrix("c (m×n)", c.len(), m, n, ldc);
    if trivial(m, n, k, beta, c, ldc) {
        return;
    }
    let panels = b.panels();
    // One or two rows never pack A (see `block`): skip the scratch, part of the per-call cost that
    // a batch-1 recurrent step pays 2·T times.
    let small = m <= 2;
    let mut scratch = if small { Vec::new() } else { PACK.take() };
    let (apack, _) = if small { (&mut [][..], &mut [][..]) } else { aligned_split(&mut scratch, blk.mc.min(m).next_multiple_of(MR) * blk.kc.min(k), 0) };
    for jc in (0..n).step_by(blk.nc) {
        let nc = blk.nc.min(n - jc);
        for pc in (0..k).step_by(blk.kc) {
            let kc = blk.kc.min(k - pc);
            let first = ((j0 + jc) / nr) * k * nr + pc * nr;
            let bv = BView { base: panels[first..].as_ptr(), panel_stride: k * nr };
            let beta_k = if pc == 0 { beta } else { 1.0 };
            block::<L, MR, NV>(blk, ta, m, nc, kc, pc, alpha, a, lda, bv, beta_k, &mut c[jc..], ldc, apack);
        }
    }
    if !small {
        PACK.set(scratch);
    }
}

/// Handles m = 0, n = 0 and k = 0 (C ← β·C; β = 0 writes zeros without reading C). True if done.
#[inline(always)]
fn trivial(m: usize, n: usize, k: usize, beta: f32, c: &mut [f32], ldc: usize) -> bool {
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        for row in c.chunks_mut(ldc).take(m) {
            for x in &mut row[..n] {
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
        }
        return true;
    }
    false
}

/// LOOPS 3–1 for one (NC, KC) block: `c` starts at the block's first column; B panels cover its
/// `nc` columns (the last one zero padded), each `kc` rows deep starting at k offset `pc` of A.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<L: Lanes, const MR: usize, const NV: usize>(
    blk: Blocking,
    ta: bool,
    m: usize,
    nc: usize,
    kc: usize,
    pc: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: BView,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    apack: &mut [f32],
) {
    let nr = NV * L::LANES;
    let (a_rs, a_cs) = if ta { (1, lda) } else { (lda, 1) };
    let npanels = nc.div_ceil(nr);
    // Every tile write stays inside the m×nc region of c, checked once here for the raw-pointer kernels.
    assert!(m == 0 || c.len() >= (m - 1) * ldc + nc);
    // LOOP 3: split m into MC-row blocks (A, C); pack the A block.
    for ic in (0..m).step_by(blk.mc) {
        let mc = blk.mc.min(m - ic);
        // SAFETY (every `tile` call below): a micro-panel of `apack` holds kc·MR packed floats, and the
        // unpacked A read by the short-block path covers rows ic..ic + mc, columns pc..pc + kc of op(A),
        // inside `a` (the callers' check_matrix); the B panels hold kc·NR floats each from `b.base` for
        // every panel < npanels (the packing covered the block); C writes stay in rows < m and columns
        // < nc of `c` (asserted above), the tile's `rows`/`cols` bounding every store. Direct calls (no
        // fn pointers) so each kernel inlines into the caller's `#[target_feature]` entry.
        unsafe {
            let c0 = c.as_mut_ptr().add(ic * ldc);
            let cols = |q: usize, np: usize| (nc - q * nr).min(np * nr);
            if mc <= 2 {
                // One or two rows (batch-1 steps): A is read in place (packing it would copy a whole
                // MR-wide micro-panel, mostly zeros, for one row: measured ~0.4 µs of a 0.9 µs
                // 1×64·64×256 step), several panels per kernel for independent accumulators.
                let a0 = a.as_ptr().add(ic * a_rs + pc * a_cs);
                macro_rules! direct {
                    ($r:expr, $np:expr, $q:expr) => {
                        tile::<L, { $r }, NV, { $np }, true>(
                            kc, a0, a_rs, a_cs, b.base.add($q * b.panel_stride), b.panel_stride,
                            alpha, beta, c0.add($q * nr), ldc, mc, cols($q, $np),
                        )
                    };
                }
                // Panels per kernel: for one row 1 when a panel already gives NV ≥ 4 independent
                // vector accumulators (AVX-512: 16 KiB panels, fine-grained for the walk below), else 4;
                // 2 for two rows. At most 4·NV·2 accumulators (8 of AVX2's 16 ymm).
                let step = match mc {
                    1 if NV >= 4 && L::LANES >= 8 => 1,
                    1 => 4,
                    _ => 2,
                };
                // A one-row GEMV against a B larger than L1 (F2's 64 KiB W_hh, 2·T calls) is bound by
                // L2 bandwidth. Every other call walks the panels backwards, so it starts on the
                // panels the previous call read last, still in L1. Column order does not change any
                // element's operation sequence (see Determinism above). Plain loops, not closures:
                // a closure body is compiled without the entry's target features (10× slower).
                let backwards = mc == 1 && SERPENTINE.with(|f| f.replace(!f.get()));
                let groups = npanels / step;
                for i in 0..npanels - groups * (step - 1) {
                    // Position i in walking order: `groups` groups of `step` panels, then single panels.
                    let i = if backwards { npanels - groups * (step - 1) - 1 - i } else { i };
                    if i < groups {
                        let q = i * step;
                        match (mc, step) {
                            (1, 1) => direct!(1, 1, q),
                            (1, _) => direct!(1, 4, q),
                            _ => direct!(2, 2, q),
                        }
                    } else {
                        let q = groups * step + (i - groups);
                        if mc == 1 { direct!(1, 1, q) } else { direct!(2, 1, q) }
                    }
                }
                continue;
            }
            let full = mc / MR;
            let (rows, ir) = (mc - full * MR, full * MR);
            if blk.a_in_place && a_cs == 1 {
                // Rows of op(A) stored contiguously are read in place: a tile's broadcasts read MR rows
                // as easily as one packed micro-panel, and packing would copy every element once more.
                // Measured against packing (old and new addons interleaved): F1 +2.6–3.3%, T1 +2–3%
                // (the per-step GEMMs' A rows, then [x_t | h_{t−1} | 1] and dG_t); with one B panel each
                // element is read once, so packing doubled the traffic (T1's head forward
                // 3200×256·(64×256)ᵀ: 86 → 112 GFLOP/s). A transposed op(A) is still packed: read in
                // place, each k step touched a new cache line (dW_ih = dGᵀ·X: 71 → 61 GFLOP/s).
                let a0 = a.as_ptr().add(ic * a_rs + pc * a_cs);
                // LOOP 2 and LOOP 1 as below, over A in place.
                for q in 0..npanels {
                    macro_rules! direct {
                        ($r:expr, $ir:expr, $rows:expr) => {
                            tile::<L, { $r }, NV, 1, true>(
                                kc, a0.add($ir * a_rs), a_rs, a_cs, b.base.add(q * b.panel_stride), b.panel_stride,
                                alpha, beta, c0.add($ir * ldc + q * nr), ldc, $rows, cols(q, 1),
                            )
                        };
                    }
                    for ir in (0..full * MR).step_by(MR) {
                        direct!(MR, ir, MR);
                    }
                    // In place there is no zero padding: the last tile has exactly the rows left.
                    match rows {
                        0 => {}
                        1 => direct!(1, ir, 1),
                        2 => direct!(2, ir, 2),
                        3 => direct!(3, ir, 3),
                        4 => direct!(4, ir, 4),
                        5 => direct!(5, ir, 5),
                        _ => unreachable!("micro-tiles have at most 6 rows"),
                    }
                }
                continue;
            }
            pack::<L>(apack, a, a_rs, a_cs, ic, mc, pc, kc, MR);
            macro_rules! run {
                ($r:expr, $q:expr, $ir:expr, $rows:expr) => {
                    tile::<L, { $r }, NV, 1, false>(
                        kc, apack.as_ptr().add($ir * kc), 1, MR, b.base.add($q * b.panel_stride), b.panel_stride,
                        alpha, beta, c0.add($ir * ldc + $q * nr), ldc, $rows, cols($q, 1),
                    )
                };
            }
            // LOOP 2: through the NR-column panels of B (one stays in L1 while LOOP 1 sweeps A).
            for q in 0..npanels {
                // LOOP 1: through the full MR-row micro-panels of packed A.
                for ir in (0..full * MR).step_by(MR) {
                    run!(MR, q, ir, MR);
                }
                // The short micro-panel left over (m not a multiple of MR), with the smallest kernel
                // that covers it, while this B panel is still in L1.
                match rows {
                    0 => {}
                    1 => run!(1, q, ir, 1),
                    2 => run!(2, q, ir, 2),
                    3 | 4 if MR > 4 => run!(4, q, ir, rows),
                    5..=8 if MR > 8 => run!(8, q, ir, rows),
                    _ => run!(MR, q, ir, rows),
                }
            }
        }
    }
}

/// One R×(NP·NR) tile: acc = Σ_p a[p]·b[p]ᵀ over `kc` steps, then C ← α·acc + β·C on the
/// `rows × cols` part that exists. A's element (r, p) sits at `a + r·a_rs + p·a_cs`: packed micro-panels
/// (`DIRECT = false`: a_rs is taken as 1, a_cs = MR) or op(A) read in place (`DIRECT`, any strides).
/// B panel t's row p at `b + t·b_panel_stride + p·NR`. β = 0 never reads C.
///
/// # Safety
/// `a` must be readable at every (r < R, p < kc) offset above, `b` must hold NP panels of kc·NR floats
/// at the given stride, and `c` must be writable for `rows` rows of `cols` columns at row stride
/// `ldc`; 1 ≤ rows ≤ R, 1 ≤ cols ≤ NP·NR.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<L: Lanes, const R: usize, const NV: usize, const NP: usize, const DIRECT: bool>(
    kc: usize,
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_panel_stride: usize,
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    let nr = NV * L::LANES;
    // Packed A: rows are adjacent (a constant the compiler folds into the broadcasts' addresses).
    let a_rs = if DIRECT { a_rs } else { 1 };
    let mut acc = [[[L::splat(0.0); NV]; NP]; R];
    let (mut ap, mut bp) = (a, b);
    // The k loop in two runs, with the C tile requested between them, C_AHEAD steps before the
    // end: in the per-step GEMM each tile reads a gate block that the input projection wrote long
    // before (L3). Requested at the start instead, the lines were evicted again by the B panel
    // streaming through L1 (64 KiB at kc = 256). Measured on the F1 step shape with C rotating over
    // 100 gate blocks: nothing ~99, at the start ~103–110, C_AHEAD before the end ~112 GFLOP/s;
    // whole F1 calls (step GEMM into the projected gates) +2.4–2.8%, T1 +1.5%. (Prefetching B ahead measured no
    // gain: the hardware prefetcher keeps up with it.)
    let lead = kc.saturating_sub(C_AHEAD);
    for (run, steps) in [lead, kc - lead].into_iter().enumerate() {
        if run == 1 {
            prefetch_tile::<L>(c, ldc, rows, cols);
        }
        for _ in 0..steps {
            let mut bv = [[L::splat(0.0); NV]; NP];
            for (t, bt) in bv.iter_mut().enumerate() {
                for (v, x) in bt.iter_mut().enumerate() {
                    *x = L::load_ptr(bp.add(t * b_panel_stride + v * L::LANES));
                }
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let ar = L::splat(*ap.add(r * a_rs));
                for t in 0..NP {
                    for v in 0..NV {
                        acc_r[t][v] = ar.fma(bv[t][v], acc_r[t][v]);
                    }
                }
            }
            ap = ap.add(a_cs);
            bp = bp.add(nr);
        }
    }

    // Every index into `acc` below is a constant (loops LLVM always unrolls), so `acc` lives in
    // registers through the k loop. Applying α/β straight from `acc` with the data-dependent
    // `rows`/`cols` bounds made LLVM keep `acc` in memory and store all of it every k step (seen in
    // the disassembly: 24 zmm stores per iteration of the 12×32 loop, ~45 GFLOP/s instead of ~90).
    // A whole tile is combined from the registers; an edge tile spills them first.
    let (av, bv) = (L::splat(alpha), L::splat(beta));
    let beta0 = beta == 0.0;
    let w = NP * NV * L::LANES;
    if rows == R && cols == w {
        for (r, acc_r) in acc.iter().enumerate() {
            for (t, acc_t) in acc_r.iter().enumerate() {
                for (v, x) in acc_t.iter().enumerate() {
                    combine(*x, av, bv, beta0, c.add(r * ldc + (t * NV + v) * L::LANES));
                }
            }
        }
        return;
    }
    const { assert!(R * NP * NV * L::LANES <= SPILL, "tile larger than the spill buffer") };
    let mut spill = std::mem::MaybeUninit::<[f32; SPILL]>::uninit();
    let sp = spill.as_mut_ptr() as *mut f32;
    for (r, acc_r) in acc.iter().enumerate() {
        for (t, acc_t) in acc_r.iter().enumerate() {
            for (v, x) in acc_t.iter().enumerate() {
                x.store_ptr(sp.add(r * w + (t * NV + v) * L::LANES));
            }
        }
    }
    let full = cols / L::LANES;
    let tail = cols - full * L::LANES;
    for r in 0..rows {
        let (src, dst) = (sp.add(r * w), c.add(r * ldc));
        for v in 0..full {
            combine(L::load_ptr(src.add(v * L::LANES)), av, bv, beta0, dst.add(v * L::LANES));
        }
        if tail > 0 {
            // Edge: round-trip through a lane buffer with the same vector ops, so a column's result
            // does not depend on where the tile ends.
            let mut buf = [0.0f32; MAX_LANES];
            let d = dst.add(full * L::LANES);
            if !beta0 {
                std::ptr::copy_nonoverlapping(d, buf.as_mut_ptr(), tail);
            }
            combine(L::load_ptr(src.add(full * L::LANES)), av, bv, beta0, buf.as_mut_ptr());
            std::ptr::copy_nonoverlapping(buf.as_ptr(), d, tail);
        }
    }
}

/// Floats in a tile's accumulator spill buffer: R · NP · NR for the largest tile any tier runs
/// (AVX-512 1×(4·32) = 128, 12×32 = 384).
const SPILL: usize = 512;

/// k steps before the end of a tile's k loop at which its C lines are requested (see `tile`):
/// ~800 cycles of AVX-512 FMAs, enough for an L3 or DRAM miss. On F1 calls 64 measured the same,
/// 16 2.6% slower.
const C_AHEAD: usize = 32;

/// Hints the `rows × cols` tile of C at `c` (row stride `ldc`) into L1, one request per 64-byte line.
#[inline(always)]
unsafe fn prefetch_tile<L: Lanes>(c: *mut f32, ldc: usize, rows: usize, cols: usize) {
    for r in 0..rows {
        // SAFETY: address arithmetic within the tile the caller may write (`tile`'s contract);
        // prefetches never fault anyway.
        let row = unsafe { c.add(r * ldc) } as *const f32;
        let mut j = 0;
        while j < cols {
            L::prefetch(row.wrapping_add(j));
            j += 16;
        }
        L::prefetch(row.wrapping_add(cols - 1));
    }
}

/// out ← α·x + β·out for one vector; with β = 0 `out` is not read.
///
/// # Safety
/// `out` must be valid for LANES reads and writes.
#[inline(always)]
unsafe fn combine<L: Lanes>(x: L, alpha: L, beta: L, beta_is_zero: bool, out: *mut f32) {
    let y = if beta_is_zero { x.mul(alpha) } else { L::load_ptr(out).fma(beta, x.mul(alpha)) };
    y.store_ptr(out);
}

/// Floats in 64 bytes, a cache line.
const ALIGN_F32: usize = 16;

/// Grows `buf` (if needed) so that `len` floats fit from a 64-byte boundary, and returns that
/// boundary's index: full-width loads of the packed data then never straddle a cache line.
pub(crate) fn aligned_start(buf: &mut Vec<f32>, len: usize) -> usize {
    if buf.len() < len + ALIGN_F32 {
        *buf = vec![0.0; len + ALIGN_F32];
    }
    let off = buf.as_ptr().align_offset(64);
    if off < ALIGN_F32 { off } else { 0 }
}

/// Splits `buf` into two 64-byte aligned regions of `a_len` and `b_len` floats, growing it if needed.
fn aligned_split(buf: &mut Vec<f32>, a_len: usize, b_len: usize) -> (&mut [f32], &mut [f32]) {
    let a_cap = a_len.next_multiple_of(ALIGN_F32);
    let off = aligned_start(buf, a_cap + b_len);
    let (a, b) = buf[off..].split_at_mut(a_cap);
    (&mut a[..a_len], &mut b[..b_len])
}
