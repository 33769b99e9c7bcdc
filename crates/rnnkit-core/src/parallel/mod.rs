//! Multi-core execution: one persistent pool of threads (natively std threads, spawned lazily and
//! grown on demand up to the largest thread count a model asks for) behind a scoped `run`, and a
//! deterministic parallel SGEMM. Work is split so every output element is computed by exactly the
//! operation sequence one thread would use, so results are bit-identical whatever the thread count.
//! On wasm32 everything runs inline, except in the threaded build (`+atomics`), where the workers
//! are threads JS started on the module's shared memory (`pool::serve`).

use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::Range;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::OnceLock;
use std::sync::{Mutex, PoisonError};

use crate::kernels::kernels;

/// Most threads a model may ask for (`spec.threads` is validated against it): a guard against
/// absurd specs, far above any core count rnnkit is run on.
pub const MAX_THREADS: usize = 256;

/// Smallest share of a job (multiply-adds per part) worth a dispatch. Measured with
/// `tests/parallel.rs::step_split_timing` on the project's 2-core EPYC: a dispatch to a spinning
/// worker costs 0.2–0.3 µs (two 5 µs parts finish in 2.0 µs… 3.4 µs inline: 1.7×; two 10 µs parts
/// 1.9×); a parked or preempted worker costs nothing extra, as the caller retracts posts nobody
/// took and runs the parts itself. The step GEMMs run at ~50 G multiply-adds/s on one core, so
/// 2^18 MACs ≈ 5 µs: a part at the threshold already gains ~1.7×. F2's batch-1 scans cannot split
/// (one row) and its other GEMMs (≤ 2·10^5 MACs) stay inline; T1's scans (8.4·10^8 MACs of step
/// GEMMs) split.
const MIN_MACS_PER_PART: usize = 1 << 18;

/// A row split gives each part at least this many rows of C; below it the split goes by columns
/// (short, wide products), so each core keeps its own share of B hot in its L2 instead of every
/// core streaming all of it.
const MIN_ROWS_PER_PART: usize = 48;

/// Row parts are multiples of this (a multiple of every tier's MR: 12, 6, 4), so only the last part
/// has a partial micro-tile.
const ROW_ALIGN: usize = 12;

/// Column parts are multiples of this: whole panels of the AVX2 / SIMD128 / scalar kernels (NR 16, 8,
/// 4), half of an AVX-512 panel (64). Alignment is for speed only: an element's result does not
/// depend on its tile (gemm.rs's determinism contract).
const COL_ALIGN: usize = 32;

thread_local! {
    /// The thread count that GEMMs called on this thread may use; set by `ThreadScope`.
    static THREADS: Cell<usize> = const { Cell::new(1) };
}

/// Whether this build can run parts on other threads (not the single-threaded wasm modules).
const THREADED: bool = cfg!(any(not(target_arch = "wasm32"), target_feature = "atomics"));

/// The cores this process may use (`std::thread::available_parallelism`), 1 if unknown. On wasm32:
/// the calling thread plus the workers that have joined the pool (none without `+atomics`).
pub fn available_threads() -> usize {
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    {
        1 + pool::joined()
    }
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    {
        1
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        static AVAILABLE: OnceLock<usize> = OnceLock::new();
        *AVAILABLE.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }
}

/// The thread count a `threads` setting means: 0 = every available core; capped at `MAX_THREADS`;
/// always 1 in a single-threaded wasm module.
pub fn resolve_threads(requested: usize) -> usize {
    if !THREADED {
        return 1;
    }
    match requested {
        0 => available_threads(),
        n => n.min(MAX_THREADS),
    }
}

/// The thread count GEMMs on the current thread use right now (1 outside any `ThreadScope`).
pub fn current_threads() -> usize {
    THREADS.with(Cell::get)
}

/// Sets the current thread's thread count (see `scope_threads`) until dropped, then restores the
/// previous one (scopes nest).
#[must_use = "the thread count applies only while the scope is alive"]
pub struct ThreadScope {
    prev: usize,
}

/// GEMMs called on this thread while the returned scope lives use `resolve_threads(requested)`
/// threads. A model opens one around each of its computations, with its `spec.threads`.
pub fn scope_threads(requested: usize) -> ThreadScope {
    let prev = THREADS.with(|t| t.replace(resolve_threads(requested)));
    ThreadScope { prev }
}

impl Drop for ThreadScope {
    fn drop(&mut self) {
        THREADS.with(|t| t.set(self.prev));
    }
}

/// Runs `f(0), f(1), …, f(parts − 1)`, each exactly once, and returns when all have finished.
/// `f` may borrow from the caller's stack. The calls run concurrently on the calling thread plus
/// up to `parts − 1` pool workers when the pool is free; when it is busy (a call nested inside a
/// part, or another thread's model running at the same time) or without threads they run inline, in
/// order. Parts are claimed dynamically (a worker that is slow to wake or preempted leaves its
/// share to the others), so which thread runs which part is unspecified: each part must depend
/// only on its index. Workers run the parts in the caller's MXCSR mode (flush-to-zero or not).
/// A panic in any part is re-raised here after every part has finished.
pub fn run<F: Fn(usize) + Sync>(parts: usize, f: F) {
    match parts {
        0 => {}
        1 => f(0),
        _ => {
            #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
            if pool::run(parts, &f) {
                return;
            }
            (0..parts).for_each(f);
        }
    }
}

/// How many parts `run` should split a job of `rows` independent rows and `macs` multiply-adds
/// (or comparable element operations) in total into: at most `current_threads()`, at most one per
/// row, and at least `MIN_MACS_PER_PART` each, so small jobs (F2's batch-1 steps) stay inline.
/// 1 means "call it inline".
pub fn row_parts(rows: usize, macs: usize) -> usize {
    current_threads().min(rows).min(macs / MIN_MACS_PER_PART).max(1)
}

/// The rows of part `p` when `rows` rows are dealt into `parts` contiguous blocks of near-equal
/// size (sizes differ by at most one; blocks are in order and cover 0..rows exactly).
pub fn part_rows(rows: usize, parts: usize, p: usize) -> Range<usize> {
    rows * p / parts..rows * (p + 1) / parts
}

/// A mutable slice lent to the parts of one `run`, each of which takes a disjoint piece of it
/// (a row block). It exists because the pieces are cut inside the parts (no allocation per
/// dispatch), which safe splitting (`chunks_mut`) cannot express across a `Fn` closure.
pub(crate) struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a `Disjoint` is only a `&mut [T]` handed out in non-overlapping pieces (the contract of
// `rows`), so sharing it across threads is sharing disjoint `&mut` pieces: sound for `T: Send`.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    pub fn new(s: &'a mut [T]) -> Self {
        Disjoint { ptr: s.as_mut_ptr(), len: s.len(), _borrow: PhantomData }
    }

    /// Rows `rows` of a row-major matrix with `width` elements per row: elements
    /// `rows.start·width .. rows.end·width`, the end clipped to the buffer (a strided last row may
    /// be shorter than `width`). An empty buffer (an operand a cell does not use) gives an empty slice.
    ///
    /// # Safety
    /// While the returned slice lives, no other slice obtained from this `Disjoint` may overlap it.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn rows(&self, rows: Range<usize>, width: usize) -> &mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        let start = rows.start * width;
        let end = (rows.end * width).min(self.len);
        assert!(start <= end, "Disjoint::rows: rows {rows:?} of width {width} outside a buffer of {}", self.len);
        // SAFETY: start ≤ end ≤ len keeps the piece inside the borrowed slice (alive for 'a); the
        // caller guarantees no other live piece overlaps it.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), end - start) }
    }

    /// Elements `start .. start + len` (pieces narrower than a row, e.g. one direction's columns).
    ///
    /// # Safety
    /// As for `rows`.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn piece(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len, "Disjoint::piece: {start}..{} outside a buffer of {}", start + len, self.len);
        // SAFETY: inside the borrowed slice (asserted); the caller guarantees no overlap.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
mod pool;

/// The threaded wasm build's entry points for worker threads (see `pool::serve`).
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub mod wasm_threads {
    /// Joins the pool as a worker and never returns (JS calls it on a worker's own instance).
    pub fn serve() -> ! {
        super::pool::serve()
    }

    /// Marks the pool broken after a worker trapped (JS calls it on that worker's instance).
    pub fn worker_trapped() {
        super::pool::worker_trapped()
    }

    /// Test hook: a two-part job whose second part panics, on a worker if one claims it within
    /// ~0.1 s (else on the caller). Either way the caller must fail, not hang.
    pub fn panic_in_worker() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let claimed = AtomicBool::new(false);
        let _threads = super::scope_threads(2);
        super::run(2, |p| {
            if p == 1 {
                claimed.store(true, Ordering::SeqCst);
                panic!("rnnkit_test_panic: deliberate panic in a parallel part");
            }
            for _ in 0..50_000_000u32 {
                if claimed.load(Ordering::SeqCst) {
                    return;
                }
                std::hint::spin_loop();
            }
        });
    }
}

/// Locks, ignoring poison (every holder leaves the data consistent: it only stores or takes).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A raw pointer that may cross threads. Used only where each thread touches disjoint elements.
#[derive(Clone, Copy)]
struct SyncPtr(*mut f32);
// SAFETY: the pointer is only dereferenced for elements that exactly one part owns (see `sgemm`).
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// Through a method, so closures capture the whole `SyncPtr` (edition-2021 closures would
    /// otherwise capture the bare, non-`Sync` pointer field).
    fn get(self) -> *mut f32 {
        self.0
    }
}

thread_local! {
    /// Per-thread C block for column-split GEMMs, reused across calls.
    static COL_SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Row-major `C ← α·op(A)·op(B) + β·C` (the contract of `Real::gemm`) on `current_threads()`
/// threads through the selected kernel table's single-thread sgemm.
///
/// Split: by rows of C (disjoint row blocks, each part a plain sub-GEMM) when there are enough rows,
/// else by columns (each part computes its column block into its own scratch, then copies it into
/// C). Either way every element of C goes through the same kernel operation sequence as on one
/// thread (gemm.rs: the result of an element does not depend on m, n or its tile position), so the
/// result is bit-identical for every thread count. β = 0 never reads C.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize) {
    let kernel = kernels().sgemm;
    let whole = |c: &mut [f32]| kernel(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    let plan = Plan::new(m, n, k, c.len(), ldc);
    match plan {
        Plan::Inline => whole(c),
        Plan::Rows { rows } => split_rows(m, rows, c, ldc, |i0, mi, c_part| {
            // op(A) rows i0.. : A stored m×k → row offset; stored k×m (transposed) → column offset.
            let a_part = if ta { &a[i0..] } else { &a[i0 * lda..] };
            kernel(ta, tb, mi, n, k, alpha, a_part, lda, b, ldb, beta, c_part, ldc);
        }),
        Plan::Cols { cols } => split_cols(m, n, cols, beta, c, ldc, |j0, nj, c_part, ldc_part| {
            // op(B) columns j0.. : B stored k×n → column offset; stored n×k (transposed) → row offset.
            let b_part = if tb { &b[j0 * ldb..] } else { &b[j0..] };
            kernel(ta, tb, m, nj, k, alpha, a, lda, b_part, ldb, beta, c_part, ldc_part);
        }),
    }
}

/// How `sgemm` would split an m×n×k GEMM (C with row stride n) on the current thread right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmSplit {
    /// One call on the calling thread (too little work, or one thread).
    Inline,
    /// This many row blocks of C.
    Rows(usize),
    /// This many column blocks of C.
    Cols(usize),
}

/// The split `sgemm` would use for an m×n×k product (for tests and benches that must know whether a
/// shape really runs in parallel).
pub fn gemm_split(m: usize, n: usize, k: usize) -> GemmSplit {
    match Plan::new(m, n, k, m * n, n) {
        Plan::Inline => GemmSplit::Inline,
        Plan::Rows { rows } => GemmSplit::Rows(m.div_ceil(rows)),
        Plan::Cols { cols } => GemmSplit::Cols(n.div_ceil(cols)),
    }
}

/// How one GEMM is split.
enum Plan {
    Inline,
    /// Parts of `rows` rows of C (a multiple of ROW_ALIGN; the last part may be shorter).
    Rows { rows: usize },
    /// Parts of `cols` columns of C (a multiple of the column alignment; the last may be shorter).
    Cols { cols: usize },
}

impl Plan {
    fn new(m: usize, n: usize, k: usize, c_len: usize, ldc: usize) -> Plan {
        let threads = current_threads();
        let parts = threads.min(m.saturating_mul(n).saturating_mul(k) / MIN_MACS_PER_PART);
        // Malformed buffers (a caller bug) go to the kernel whole, which reports them as on one thread.
        let c_fits = m > 0 && n > 0 && ldc >= n && c_len >= (m - 1) * ldc + n;
        if parts <= 1 || !c_fits {
            return Plan::Inline;
        }
        if m / parts >= MIN_ROWS_PER_PART || n < 2 * COL_ALIGN {
            let rows = m.div_ceil(parts).next_multiple_of(ROW_ALIGN);
            return if rows >= m { Plan::Inline } else { Plan::Rows { rows } };
        }
        let cols = n.div_ceil(parts).next_multiple_of(COL_ALIGN);
        if cols >= n { Plan::Inline } else { Plan::Cols { cols } }
    }
}

/// Runs `part(i0, rows_i, c_rows)` for consecutive row blocks of C (`c_rows` starts at row i0),
/// one block per part; the blocks are disjoint slices, so this is plain safe splitting.
fn split_rows(m: usize, rows: usize, c: &mut [f32], ldc: usize, part: impl Fn(usize, usize, &mut [f32]) + Sync) {
    let blocks: Vec<Mutex<&mut [f32]>> = c.chunks_mut(rows * ldc).map(Mutex::new).collect();
    run(blocks.len(), |p| {
        let mut block = lock(&blocks[p]);
        let i0 = p * rows;
        part(i0, rows.min(m - i0), &mut block);
    });
}

/// Runs `part(j0, n_j, scratch, ldc_scratch)` for consecutive column blocks of C: each part computes
/// its m × n_j block into its own thread's scratch (holding the block of C first when β ≠ 0), then
/// copies it into C. Columns of one row belong to different parts, so C is reached through a raw
/// pointer and each part touches only its own elements.
fn split_cols(m: usize, n: usize, cols: usize, beta: f32, c: &mut [f32], ldc: usize, part: impl Fn(usize, usize, &mut [f32], usize) + Sync) {
    let c_ptr = SyncPtr(c.as_mut_ptr());
    run(n.div_ceil(cols), |p| {
        let j0 = p * cols;
        let nj = cols.min(n - j0);
        let mut scratch = COL_SCRATCH.take();
        scratch.resize(m * nj, 0.0);
        if beta != 0.0 {
            for (i, row) in scratch.chunks_exact_mut(nj).enumerate() {
                // SAFETY: C[i, j0..j0+nj] is in bounds (Plan checked (m−1)·ldc + n ≤ c.len()) and belongs
                // to this part alone: other parts touch only their own columns, and the caller's `c`
                // is not used while `run` executes.
                unsafe { std::ptr::copy_nonoverlapping(c_ptr.get().add(i * ldc + j0), row.as_mut_ptr(), nj) };
            }
        }
        part(j0, nj, &mut scratch, nj);
        for (i, row) in scratch.chunks_exact(nj).enumerate() {
            // SAFETY: as above; `scratch` is this thread's own buffer, so the ranges do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), c_ptr.get().add(i * ldc + j0), nj) };
        }
        COL_SCRATCH.set(scratch);
    });
}
