//! One direction of one layer. Its gate record arrives holding the input projection of every step,
//! [x_t | 1]·[W_ih | b]ᵀ with the biases, computed for the whole layer by one GEMM (projection.rs,
//! PyTorch's `pre_compute_input`). The forward then runs per step one GEMM h_{t−1}·W_hhᵀ accumulated
//! into the step's gate block (into `gh` for a cell with apart gates, `Cell::apart_gates`), and the
//! cell's fused element-wise pass (gate activations, state update) while that block is in cache. A
//! batch-1 step of a cell with a fused row step runs its GEMV and cell together, group by group of
//! hidden units (`Cell::row_step`). How h_{t−1} enters is the cell's `Cell::recurrence()`: that
//! GEMM; for a gated recurrence (GRU reset-before) a GEMM for the other blocks, the cell's
//! `gate_hidden`, then (g ⊙ h_{t−1})·W_hᵀ into the gated blocks; for a diagonal one (IndRNN)
//! u ⊙ h_{t−1} element-wise, no GEMM. The scan knows its cell only through the `Cell` trait, and runs
//! compiled per cell (`with_cell!` once per scan), so the steps are direct calls.
//! An inference forward (`record` false) keeps two state slots and one aux slab, hot in cache.
//! Recurrent dropout (a mask [batch, P or H] in the direction's state, drawn by stack.rs): the step product reads
//! h_{t−1} ⊙ mask (the cell still reads h_{t−1}), BPTT masks that product's dh_{t−1} and dW_hh reads
//! the masked states; without a mask none of this runs.
//!
//! An LSTM with `proj_size` P (PyTorch's projection): the cell writes o ⊙ h(c) ([batch, H], kept in
//! `DirState::hr`), and one more GEMM per step gives h = hr·W_hrᵀ [batch, P], which the step GEMM
//! and the output read; rows past a sequence's end carry their P-wide h. BPTT takes
//! dL/dhr = dh·W_hr before the cell's backward, keeps each step's dh for dW_hr += dhᵀ·hr, and
//! carries dh of finished rows itself (the cell would carry an H-wide one).
//!
//! BPTT mirrors it: per step the cell's gate backward into a [seq_len, batch, G·H] buffer and
//! dh_{t−1} += dGates·W_hh; after the loop dW_ih, dW_hh, db and dX as large GEMMs over all steps.
//!
//! Threads: every step is independent per batch row, so a scan is one `parallel::run` over
//! contiguous blocks of batch rows, each running every step on its own rows (no barrier per step:
//! a block waits only for its own previous step, and the rows' data stays in its core's cache). A
//! row's arithmetic does not depend on which block holds it (gemm.rs's determinism contract; the
//! cells are row-wise), so the result is bit-identical for every thread count. Small scans
//! (`parallel::row_parts`) run inline.

use std::ops::Range;

use super::workspace::{fit, slots, BackScratch, DirState, StepScratch};
use super::LayerX;
use crate::cell::options::PEEPHOLES;
use crate::cell::{as_f32, as_f32_mut, lstm, with_cell, Cell, CellOptions, GateHidden, GateHiddenBackward, Recurrence, RowStep, StepBackward, StepForward};
use crate::kernels::{kernels, pack_row_weights, PackedB};
use crate::parallel::{self, part_rows, row_parts, Disjoint};
use crate::params::CellParams;
use crate::real::Real;
use crate::spec::CellKind;

/// Smallest direction (step GEMM multiply-adds over the scan) that runs beside the other direction
/// of its layer (`Scan::direction_parts`). The other direction usually goes to a parked worker,
/// whose wake-up took ~40–60 µs here: with batch 1, T = 50, I = 16 the directions of H = 64
/// (0.8·10⁶ MACs, ~37 µs each) measured 1.45× faster back to back but 5% slower (p90 +15–26%) with
/// the worker parked between calls; H = 128 (3.3·10⁶, ~140 µs) 1.6× faster either way.
const MIN_DIRECTION_MACS: usize = 1 << 21;

/// How a forward step multiplies h_{t−1} by W_hh, and so how `Scan::pack_recurrent` lays W_hh out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepKernel {
    /// One GEMM h_{t−1}·W_hhᵀ into the gate block, then the cell.
    Gemm,
    /// A one-row step's GEMV and cell fused (`Cell::row_step`).
    Row,
}

/// The fixed arguments of one scan.
pub(crate) struct Scan<'a, R> {
    pub cell: CellKind,
    /// Element-wise options; the fused row step serves only the defaults.
    pub options: CellOptions,
    pub seq_len: usize,
    pub batch: usize,
    pub hidden: usize,
    /// The LSTM's `proj_size` P: h has P features, W_hr projects o ⊙ h(c) to it. 0 = none.
    pub proj: usize,
    /// Processes t = len_b − 1 … 0 for each sequence b (the second direction of a bidirectional layer).
    pub reverse: bool,
    /// Valid steps per sequence; `None` = all `seq_len`.
    pub lengths: Option<&'a [usize]>,
    /// The block's parameters and where this layer+direction's tensors sit in them.
    pub params: &'a [R],
    pub cp: CellParams,
    /// The model's parameter version: packed weights recorded for the same version are reused.
    /// `None` = unknown (always repack).
    pub version: Option<u64>,
    /// Keep every step's states and aux for BPTT. Without it (inference) the forward reuses two
    /// state slots and one aux slab, which stay in cache (the gates always hold every step: the
    /// input projection fills them).
    pub record: bool,
}

/// `Scan::hidden_rows` of `cell` with `hidden` units: (plain rows, apart or gated rows).
fn hidden_rows<C: Cell + ?Sized>(cell: &C, hidden: usize) -> (usize, usize) {
    let special = (cell.apart_gates() + cell.recurrence().gated_blocks()) * hidden;
    (cell.gates() * hidden - special, special)
}

/// gates[b, r] += u[r]·h[b, r mod H] for every row b: a diagonal recurrence's step product
/// (`Recurrence::Diagonal`), `gates` [rows, gs], `h` [rows, H].
fn add_diagonal<R: Real>(gates: &mut [R], gs: usize, hd: usize, u: &[R], h: &[R]) {
    // Block by block (no index arithmetic per element, so the loop vectorises).
    for (g, h) in gates.chunks_exact_mut(gs).zip(h.chunks_exact(hd)) {
        for (block, u) in g.chunks_exact_mut(hd).zip(u.chunks_exact(hd)) {
            block.iter_mut().zip(u).zip(h).for_each(|((a, u), h)| *a += *u * *h);
        }
    }
}

/// `v[range]`, or `v` itself when empty (an operand the cell does not use).
fn sub<R>(v: &[R], range: Range<usize>) -> &[R] {
    if v.is_empty() { v } else { &v[range] }
}

/// Writes `active[b] = t < len_b`.
fn mark_active(active: &mut [bool], lengths: Option<&[usize]>, t: usize) {
    match lengths {
        Some(lens) => active.iter_mut().zip(lens).for_each(|(a, &len)| *a = t < len),
        None => active.fill(true),
    }
}

/// The operands of one forward step for a block of batch rows (see `Scan::forward_rows`): each
/// slice holds just the block's rows; `out` rows are `out_stride` apart, starting at the block's
/// first output of the step.
struct FwdRows<'v, R> {
    active: &'v [bool],
    /// [rows, P or H]
    h_prev: &'v [R],
    c_prev: &'v [R],
    gates: &'v mut [R],
    gh: &'v mut [R],
    h: &'v mut [R],
    c: &'v mut [R],
    aux: &'v mut [R],
    /// With a projection: [rows, H] o ⊙ h(c), the cell's output (else empty), and [rows, H] zeros
    /// the cell reads as its h_{t−1} (it only carries it into finished rows, whose h the scan carries).
    hr: &'v mut [R],
    zeros: &'v [R],
    /// Recurrent dropout: the block's rows of the mask [rows, P or H], empty = none, and room for h_{t−1} ⊙ mask.
    mask: &'v [R],
    masked_h: &'v mut [R],
}

/// Where a layer's output rows go: h_t of sequence b at
/// `out[offset + (t·batch + b)·width ..][..H]`, or `out[offset + (b·seq_len + t)·width ..][..H]`
/// when `batch_major` (the user's batch-first layout). The two directions of a layer may run at
/// once (stack.rs), each writing its own H columns of every row, so the buffer is lent as a
/// `Disjoint` and written one H-wide piece at a time.
pub(crate) struct OutRows<'a, 'o, R> {
    pub out: &'a Disjoint<'o, R>,
    pub offset: usize,
    pub width: usize,
    pub batch_major: bool,
}

impl<R> OutRows<'_, '_, R> {
    /// Where h_t of sequence `b` starts, and the distance to the next sequence's h_t.
    fn place(&self, seq_len: usize, batch: usize, t: usize, b: usize) -> (usize, usize) {
        if self.batch_major {
            (self.offset + (b * seq_len + t) * self.width, seq_len * self.width)
        } else {
            (self.offset + (t * batch + b) * self.width, self.width)
        }
    }
}

/// How a forward step adds h_{t−1}·W_hhᵀ to the gate block, which holds the step's input projection.
enum StepInput<'v> {
    /// The step GEMM against `packed` (W_hhᵀ of the plain rows, `hidden_rows`), and for a gated
    /// recurrence the second one against `gated` (the gated rows' W_hᵀ).
    Gemm { packed: &'v PackedB, gated: &'v PackedB },
    /// For one row of a cell with a row step: the step product and the cell run fused, group by
    /// group of hidden units, against W_hh packed by `pack_row_weights` (`reverse`: groups from the last).
    Row { w: &'v [f32], reverse: bool },
}

/// The read-only operands of one BPTT step for a block of batch rows (see `Scan::backward_rows`).
struct BackRows<'v, R> {
    active: &'v [bool],
    gates: &'v [R],
    aux: &'v [R],
    h_prev: &'v [R],
    c_prev: &'v [R],
    dy: &'v [R],
    /// Recurrent dropout: the block's rows of the mask; empty = none.
    mask: &'v [R],
}

/// A projected step's BPTT buffers for a block of batch rows (all empty without a projection).
struct ProjBack<'v, R> {
    /// [rows, P], written: this step's dL/dh of the active rows (0 for finished rows), for dW_hr.
    dh: &'v mut [R],
    /// [rows, H]: dL/d(o ⊙ h(c)) = dh·W_hr, and the H-wide dh_{t−1} the cell writes (unused: the
    /// recurrence reads the projected h).
    dhr: &'v mut [R],
    dhr_prev: &'v mut [R],
}

impl<R: Real> Scan<'_, R> {
    pub(super) fn gate_size(&self) -> usize {
        self.cell.gates() * self.hidden
    }
    pub(super) fn w_ih(&self) -> &[R] {
        &self.params[self.cp.w_ih..self.cp.w_ih + self.gate_size() * self.cp.input_size]
    }
    fn w_hh(&self) -> &[R] {
        &self.params[self.cp.w_hh..self.cp.w_hh + self.gate_size() * self.cell.recurrence().weight_cols(self.state_width())]
    }
    /// Features of h: P with a projection, else H.
    pub(super) fn state_width(&self) -> usize {
        if self.proj > 0 { self.proj } else { self.hidden }
    }
    /// W_hr [P, H], empty without a projection.
    fn w_hr(&self) -> &[R] {
        self.cp.w_hr.map_or(&[], |o| &self.params[o..o + self.proj * self.hidden])
    }
    pub(super) fn bias(&self, offset: Option<usize>) -> Option<&[R]> {
        offset.map(|o| &self.params[o..o + self.gate_size()])
    }
    /// The LSTM's peephole weights [PEEPHOLES·H], empty without.
    fn peephole(&self) -> &[R] {
        self.cp.peephole_in(self.params, self.hidden)
    }

    /// Gate rows whose hidden-side pre-activation is W_hh's share of the gate block (their
    /// hidden-side gradient is dgx), and the apart gates' rows after them (`Cell::apart_gates`).
    pub(super) fn shared_apart_rows(&self) -> (usize, usize) {
        let apart = self.cell.apart_gates() * self.hidden;
        (self.gate_size() - apart, apart)
    }

    /// W_hh's rows that multiply h_{t−1} in the step GEMM, and the rows after them, which are the
    /// apart gates' (`Cell::apart_gates`, also times h_{t−1}, kept apart) or the gated blocks'
    /// (`Recurrence::Gated`, times g ⊙ h_{t−1}).
    pub(super) fn hidden_rows(&self) -> (usize, usize) {
        hidden_rows(self.cell.cell(), self.hidden)
    }

    /// The apart gates' b_hh (GRU's b_hn), which the cell applies itself; `None` without.
    fn b_hh_apart(&self) -> Option<&[R]> {
        let (shared, apart) = self.shared_apart_rows();
        self.bias(self.cp.b_hh).filter(|_| apart > 0).map(|b| &b[shared..])
    }

    /// `out` [rows, n] (rows `ldc` apart) ← h·W_hh[w_rows]ᵀ + β·out for `rows` batch rows of `h`
    /// [rows, P or H], n = |w_rows|: the packed-weight kernel for f32 (`packed` holds those rows of W_hh,
    /// transposed), the generic GEMM otherwise.
    #[allow(clippy::too_many_arguments)]
    fn step_gemm(&self, packed: &PackedB, w_rows: Range<usize>, rows: usize, h: &[R], beta: R, out: &mut [R], ldc: usize) {
        let (hd, n) = (self.state_width(), w_rows.len());
        if let (Some(hp), Some(o)) = (as_f32(h), as_f32_mut(&mut *out)) {
            return (kernels().sgemm_packed)(false, rows, 0, n, hd, 1.0, hp, hd, packed, beta.to_f32(), o, ldc);
        }
        R::gemm(false, true, rows, n, hd, R::ONE, h, hd, &self.w_hh()[w_rows.start * hd..w_rows.end * hd], hd, beta, out, ldc);
    }

    /// How many blocks of batch rows a scan is split into, each running every step on its own
    /// rows: the step GEMMs' multiply-adds over the whole scan decide (the cell's element-wise work
    /// is proportional and much smaller).
    fn scan_parts(&self) -> usize {
        row_parts(self.batch, self.step_macs())
    }

    /// The step GEMMs' multiply-adds over the whole scan.
    fn step_macs(&self) -> usize {
        // With a projection, also its [P, H] GEMM per row and step.
        self.seq_len * self.batch * (self.gate_size() * self.cell.recurrence().weight_cols(self.state_width()) + self.proj * self.hidden)
    }

    /// How many of a layer's `dirs` directions (this scan is one of them) should run at once, each
    /// on one core: all of them when there are threads for them, a direction's own row split
    /// (`scan_parts`) would use no more, and each direction has at least MIN_DIRECTION_MACS; else
    /// 1, one direction after the other, each split by rows. With one direction per core each core
    /// streams only its direction's weights, and a batch-1 model (latency) gets a second core at
    /// all. Measured with both cores (bidirectional LSTM, old and new addons interleaved): batch 1
    /// H = 256 T = 100 1.79× faster, batch 2 H = 128 two layers 1.21×, batch 4 1.11×, batch 32 the
    /// same as the row split; a training step (BPTT split the same way) at batch 1 1.41×, GRU batch 4
    /// 1.14×.
    pub fn direction_parts(&self, dirs: usize) -> usize {
        let parts = row_parts(dirs, dirs * self.step_macs());
        if parts == dirs && self.step_macs() >= MIN_DIRECTION_MACS && self.scan_parts() <= dirs { dirs } else { 1 }
    }

    /// The forward's step kernel: `Row` for f32 cells with a row step (LSTM, GRU) at batch 1 and H a
    /// multiple of the vector width: the cell's transcendental chains then overlap the GEMV's
    /// weight loads, which stream W_hh from L2 (F2: 0.048 → 0.041 ms per call, old and new addons
    /// interleaved). Its sums are the step GEMM's, so the results are bit-identical. (An Elman cell
    /// has one tanh per unit: nothing to overlap.)
    fn step_kernel(&self, masked: bool) -> StepKernel {
        if !masked && as_f32(self.params).is_some() && self.cell.has_row_step() && self.options.is_default() && self.batch == 1 && self.hidden.is_multiple_of(kernels().lanes) {
            StepKernel::Row
        } else {
            StepKernel::Gemm
        }
    }

    /// Where state slot `slot` (workspace.rs `slots`) lives: itself in a record, else one of two
    /// slots used in turn.
    fn slot(&self, slot: usize) -> usize {
        if self.record { slot } else { slot % 2 }
    }

    /// One forward step for a block of batch rows: the recurrent product (see `StepInput`), the
    /// fused cell, the output rows (the block's first at `out_at.0` of `out`, `out_at.1` apart).
    fn forward_rows<C: Cell>(&self, cell: &C, input: StepInput<'_>, b_apart: Option<&[R]>, v: FwdRows<'_, R>, out: &Disjoint<'_, R>, out_at: (usize, usize)) {
        let FwdRows { active, h_prev, c_prev, gates, gh, h, c, aux, hr, zeros, mask, masked_h } = v;
        let (rows, hd, sw) = (active.len(), self.hidden, self.state_width());
        // The concrete cell's shape (no lookup per step).
        let gs = cell.gates() * hd;
        // The row step runs the cell itself.
        let cell_done = matches!(input, StepInput::Row { .. });
        // The recurrent product's operand: h_{t−1}, or with recurrent dropout h_{t−1} ⊙ mask (the
        // cell itself still reads h_{t−1}: the carried state is not masked).
        let h_rec: &[R] = if mask.is_empty() {
            h_prev
        } else {
            masked_h.iter_mut().zip(h_prev).zip(mask).for_each(|((o, h), m)| *o = *h * *m);
            masked_h
        };
        match input {
            StepInput::Gemm { .. } if cell.recurrence() == Recurrence::Diagonal => add_diagonal(gates, gs, hd, self.w_hh(), h_rec),
            StepInput::Gemm { packed, gated } => {
                // h_{t−1}·W_hhᵀ: accumulated straight into the step's gate block, or into `gh` for a
                // cell with apart gates. The cell then runs on the block while it is hot.
                let plain = gs - cell.recurrence().gated_blocks() * hd;
                if cell.apart_gates() > 0 {
                    self.step_gemm(packed, 0..gs, rows, h_rec, R::ZERO, gh, gs);
                } else {
                    self.step_gemm(packed, 0..plain, rows, h_rec, R::ONE, gates, gs);
                }
                if plain < gs {
                    debug_assert!(mask.is_empty(), "no recurrent dropout on a gated recurrence (layers/recurrent.rs)");
                    // Gated: the cell activates the other blocks and leaves g ⊙ h_{t−1} in aux, whose
                    // product the gated blocks add.
                    cell.gate_hidden(GateHidden { batch: rows, hidden: hd, gates: &mut *gates, h_prev, gated_h: &mut *aux, options: &self.options });
                    self.step_gemm(gated, plain..gs, rows, aux, R::ONE, &mut gates[plain..], gs);
                }
            }
            StepInput::Row { w, reverse } => {
                let (Some(g), Some(hp), Some(hn), Some(ax), Some(cp), Some(cn)) =
                    (as_f32_mut(&mut *gates), as_f32(h_prev), as_f32_mut(&mut *h), as_f32_mut(&mut *aux), as_f32(c_prev), as_f32_mut(&mut *c))
                else {
                    unreachable!("the fused row step runs in f32 only (`Scan::step_kernel`)");
                };
                let b_hh_apart = b_apart.and_then(as_f32).unwrap_or(&[]);
                cell.row_step(RowStep { hidden: hd, active: active[0], reverse, w, b_hh_apart, gates: g, h_prev: hp, h: hn, c_prev: cp, c: cn, aux: ax });
            }
        }
        if !cell_done {
            let (options, peephole) = (&self.options, self.peephole());
            if self.proj > 0 {
                cell.forward_step(StepForward { batch: rows, hidden: hd, active, gates, gh, b_hh_apart: b_apart, h_prev: zeros, h: &mut *hr, c_prev, c, aux, options, peephole });
                self.project(active, hr, h_prev, h);
            } else {
                cell.forward_step(StepForward { batch: rows, hidden: hd, active, gates, gh, b_hh_apart: b_apart, h_prev, h: &mut *h, c_prev, c, aux, options, peephole });
            }
        }
        for (b, &on) in active.iter().enumerate() {
            // SAFETY: this step's piece of sequence b for this direction: no other part or
            // direction writes it (`Scan::forward`).
            let dst = unsafe { out.piece(out_at.0 + b * out_at.1, sw) };
            if on {
                dst.copy_from_slice(&h[b * sw..(b + 1) * sw]);
            } else {
                dst.fill(R::ZERO);
            }
        }
    }

    /// h [rows, P] = hr·W_hrᵀ for the active rows; finished rows carry h_prev.
    fn project(&self, active: &[bool], hr: &[R], h_prev: &[R], h: &mut [R]) {
        let (rows, hd, p) = (active.len(), self.hidden, self.proj);
        R::gemm(false, true, rows, p, hd, R::ONE, hr, hd, self.w_hr(), hd, R::ZERO, h, p);
        for (b, _) in active.iter().enumerate().filter(|(_, on)| !**on) {
            h[b * p..(b + 1) * p].copy_from_slice(&h_prev[b * p..(b + 1) * p]);
        }
    }

    /// W_hh packed for the forward's step kernel (f32), into `st`: once per weight version, not per
    /// call or step.
    fn pack_recurrent(&self, st: &mut DirState<R>, step: StepKernel) {
        // A diagonal recurrence reads its vector as it is.
        let dense = self.cell.recurrence() != Recurrence::Diagonal;
        if let Some(w_hh) = as_f32(self.w_hh()).filter(|_| dense) {
            match step {
                StepKernel::Row => pack_row_weights(self.cell.gates(), kernels().lanes, self.hidden, w_hh, &mut st.w_hh_rows),
                StepKernel::Gemm => {
                    // The plain rows for the step GEMM; a gated recurrence's rows for its second GEMM.
                    let gated = self.cell.recurrence().gated_blocks() * self.hidden;
                    let plain = self.gate_size() - gated;
                    let sw = self.state_width();
                    (kernels().pack_b)(true, sw, plain, &w_hh[..plain * sw], sw, &mut st.w_hh_t);
                    if gated > 0 {
                        (kernels().pack_b)(true, self.hidden, gated, &w_hh[plain * self.hidden..], self.hidden, &mut st.w_gated_t);
                    }
                }
            }
        }
        st.prepared = self.version.map(|v| (v, step));
    }

    /// Runs the recurrence, recording into `st` (two state slots and one aux slab unless `record`),
    /// whose gate record holds the input projection of every step (projection.rs). Writes h_t (zeros
    /// past a sequence's end) where `out` says. The final states are left in `st` (see `final_state`).
    pub fn forward(&self, h0: Option<&[R]>, c0: Option<&[R]>, st: &mut DirState<R>, sc: &mut StepScratch<R>, out: OutRows<'_, '_, R>) {
        let (steps, batch, hd, gs, sw) = (self.seq_len, self.batch, self.hidden, self.gate_size(), self.state_width());
        let masked = !st.rmask.is_empty();
        let step = self.step_kernel(masked);
        // Slabs kept of aux and hr (the states keep `steps + 1` slots or two, `slot`).
        let steps_kept = if self.record { steps } else { 1 };
        st.fit(self.cell.cell(), steps_kept, batch, hd, self.proj);
        debug_assert_eq!(st.gates.len(), steps * batch * gs, "the input projection fills every step's gates");
        sc.active.resize(batch, true);
        if self.version.is_none() || st.prepared != self.version.map(|v| (v, step)) {
            self.pack_recurrent(st, step);
        }

        // The apart gates' b_hh (GRU's b_hn) stays out of the projection: the cell applies it.
        let b_apart = self.b_hh_apart();

        let init = self.slot(if self.reverse { steps } else { 0 });
        let seed = |buf: &mut [R], s: Option<&[R]>, bw: usize| match s {
            Some(s) => buf[init * bw..(init + 1) * bw].copy_from_slice(s),
            None => buf[init * bw..(init + 1) * bw].fill(R::ZERO),
        };
        seed(&mut st.hs, h0, batch * sw);
        if self.cell.has_cell_state() {
            seed(&mut st.cs, c0, batch * hd);
        }

        fit(&mut sc.gh, if self.cell.apart_gates() > 0 { batch * gs } else { 0 });
        fit(&mut sc.zeros, if self.proj > 0 { batch * hd } else { 0 });
        sc.zeros.fill(R::ZERO);
        let hr_w = if self.proj > 0 { hd } else { 0 };
        fit(&mut sc.masked_h, if masked { batch * sw } else { 0 });
        let aux_w = self.cell.aux_width(hd);
        let parts = self.scan_parts();
        let (packed_hh, packed_gated, w_rows) = (&st.w_hh_t, &st.w_gated_t, st.w_hh_rows.as_slice());
        let (gates_all, gh_all, active_all) = (Disjoint::new(&mut st.gates), Disjoint::new(&mut sc.gh), Disjoint::new(&mut sc.active));
        let (hs, cs, aux_all, hr_all) = (Disjoint::new(&mut st.hs), Disjoint::new(&mut st.cs), Disjoint::new(&mut st.aux), Disjoint::new(&mut st.hr));
        let zeros = &sc.zeros;
        let (rmask, masked_all) = (&st.rmask, Disjoint::new(&mut sc.masked_h));
        // Compiled per cell: every step below calls it directly.
        with_cell!(self.cell, |cell| {
            parallel::run(parts, |p| {
                let r = part_rows(batch, parts, p);
                // Rows r of the [·, batch, ·] record slab `slab` (a step or a state slot).
                let at = |slab: usize| slab * batch + r.start..slab * batch + r.end;
                let lengths = self.lengths.map(|l| &l[r.clone()]);
                // SAFETY: `part_rows` gives each part its own batch rows, and every piece below is those
                // rows of one buffer (of one slab), so no two live pieces of different parts overlap;
                // within the part, `active` and `gh` are taken once and the per-step pieces differ in slab.
                let (active, gh, masked_h) = unsafe { (active_all.rows(r.clone(), 1), gh_all.rows(r.clone(), gs), masked_all.rows(r.clone(), sw)) };
                let mask = sub(rmask, r.start * sw..r.end * sw);
                for k in 0..steps {
                    let t = if self.reverse { steps - 1 - k } else { k };
                    let (prev, cur) = slots(t, self.reverse);
                    let (prev, cur) = (self.slot(prev), self.slot(cur));
                    // The step's slab of aux.
                    let ta = if steps_kept == steps { t } else { 0 };
                    mark_active(active, lengths, t);
                    // SAFETY: as above; `prev` ≠ `cur`, so the two pieces of `hs` (and of `cs`) are disjoint.
                    let (gates, h_prev, h, c_prev, c, aux, hr) = unsafe {
                        (gates_all.rows(at(t), gs), hs.rows(at(prev), sw), hs.rows(at(cur), sw), cs.rows(at(prev), hd), cs.rows(at(cur), hd), aux_all.rows(at(ta), aux_w), hr_all.rows(at(ta), hr_w))
                    };
                    let step_input = match step {
                        StepKernel::Row => StepInput::Row { w: w_rows, reverse: k % 2 == 1 },
                        StepKernel::Gemm => StepInput::Gemm { packed: packed_hh, gated: packed_gated },
                    };
                    let zeros = if hr_w > 0 { &zeros[r.start * hd..r.end * hd] } else { &[][..] };
                    let v = FwdRows { active: &*active, h_prev, c_prev, gates, gh: &mut *gh, h, c, aux, hr, zeros, mask, masked_h: &mut *masked_h };
                    // Each part writes the output pieces of its own rows, each direction its own columns.
                    self.forward_rows(cell, step_input, b_apart, v, out.out, out.place(steps, batch, t, r.start));
                }
            });
        });
    }

    /// One BPTT step for a block of batch rows (every slice holds just the block's rows; `in_.dy`
    /// starts at the block's first row, rows `dy_stride` apart): adds dy into dh, runs the cell's
    /// backward, then dh_{t−1} += dGh·W_hh against W_hh packed once per backward pass (f32).
    #[allow(clippy::too_many_arguments)]
    fn backward_rows<C: Cell>(&self, cell: &C, packed: (&PackedB, &PackedB), in_: BackRows<'_, R>, dy_stride: usize, dh: &mut [R], dc: &mut [R], dgx: &mut [R], dgh: &mut [R], dh_next: &mut [R], proj: ProjBack<'_, R>, dh_rec: &mut [R]) {
        let (rows, hd, sw) = (in_.active.len(), self.hidden, self.state_width());
        // The concrete cell's shape (no lookup per step): as `hidden_rows`; `gated` > 0 for a gated
        // recurrence, whose d(g ⊙ h) [rows, H] goes through `dgh`.
        let (gs, gated) = (cell.gates() * hd, cell.recurrence().gated_blocks() * hd);
        let (k, special) = hidden_rows(cell, hd);
        for (b, _) in in_.active.iter().enumerate().filter(|(_, on)| **on) {
            let y = &in_.dy[b * dy_stride..b * dy_stride + sw];
            dh[b * sw..(b + 1) * sw].iter_mut().zip(y).for_each(|(d, y)| *d += *y);
        }
        let projected = self.proj > 0;
        if projected {
            // dL/d(o ⊙ h(c)) = dh·W_hr from the active rows' dh (kept for dW_hr); finished rows carry dh.
            for (b, &on) in in_.active.iter().enumerate() {
                let (src, dst) = (&dh[b * sw..(b + 1) * sw], &mut proj.dh[b * sw..(b + 1) * sw]);
                if on { dst.copy_from_slice(src) } else { dst.fill(R::ZERO) }
                let carried = &mut dh_next[b * sw..(b + 1) * sw];
                if on { carried.fill(R::ZERO) } else { carried.copy_from_slice(src) }
            }
            R::gemm(false, false, rows, hd, sw, R::ONE, proj.dh, sw, self.w_hr(), hd, R::ZERO, proj.dhr, hd);
        }
        cell.backward_step(StepBackward {
            batch: rows,
            hidden: hd,
            active: in_.active,
            gates: in_.gates,
            aux: in_.aux,
            // An LSTM's backward reads no h_{t−1}: with a projection there is no H-wide one.
            h_prev: if projected { &[] } else { in_.h_prev },
            c_prev: in_.c_prev,
            dh: if projected { &*proj.dhr } else { dh },
            dc,
            dgx: &mut *dgx,
            dgh: if gated > 0 { &mut [] } else { &mut *dgh },
            dh_prev: if projected { &mut *proj.dhr_prev } else { &mut *dh_next },
            options: &self.options,
            peephole: self.peephole(),
        });
        let w_hh = self.w_hh();
        if gated > 0 {
            // d(g ⊙ h) = dG_gated·W_h (`packed.1`), then the cell's dg and dh_{t−1} through g ⊙ h.
            match (as_f32(dgx), as_f32_mut(&mut *dgh)) {
                (Some(dx), Some(dgh)) => (kernels().sgemm_packed)(false, rows, 0, hd, special, 1.0, &dx[k..], gs, packed.1, 0.0, dgh, hd),
                _ => R::gemm(false, false, rows, hd, special, R::ONE, &dgx[k..], gs, &w_hh[k * hd..], hd, R::ZERO, dgh, hd),
            }
            cell.gate_hidden_backward(GateHiddenBackward { batch: rows, hidden: hd, gates: in_.gates, h_prev: in_.h_prev, d_gated_h: dgh, dgx: &mut *dgx, dh_prev: &mut *dh_next, options: &self.options });
        }
        if in_.mask.is_empty() {
            self.add_recurrent_grad(cell, packed, rows, dgx, dgh, dh_next);
        } else {
            // Recurrent dropout: the product read h_{t−1} ⊙ mask, so its gradient is masked the same.
            dh_rec.fill(R::ZERO);
            self.add_recurrent_grad(cell, packed, rows, dgx, dgh, dh_rec);
            dh_next.iter_mut().zip(&*dh_rec).zip(in_.mask).for_each(|((o, d), m)| *o += *d * *m);
        }
    }

    /// dh += dGh·(the recurrent product's weights) for `rows` rows: the dense product's gradient
    /// (against W_hh packed once per backward pass, f32), or a diagonal one's element-wise.
    fn add_recurrent_grad<C: Cell>(&self, cell: &C, packed: (&PackedB, &PackedB), rows: usize, dgx: &[R], dgh: &[R], dh_next: &mut [R]) {
        let (hd, sw) = (self.hidden, self.state_width());
        let (gs, ka) = (cell.gates() * hd, cell.apart_gates() * hd);
        let (k, _) = hidden_rows(cell, hd);
        let w_hh = self.w_hh();
        if cell.recurrence() == Recurrence::Diagonal {
            // dh_{t−1} += Σ_g dG_g ⊙ u_g: no GEMM.
            for (d, dn) in dgx.chunks_exact(gs).zip(dh_next.chunks_exact_mut(hd)) {
                for (d, u) in d.chunks_exact(hd).zip(w_hh.chunks_exact(hd)) {
                    dn.iter_mut().zip(d).zip(u).for_each(|((o, d), u)| *o += *d * *u);
                }
            }
            return;
        }
        // dh_{t−1} += dGh·W_hh. dGh is dgx, except the apart gates' block (`dgh`): the other
        // columns of dgx times their W_hh rows (`packed.0`), then `dgh` times the apart rows (`packed.1`).
        match (as_f32(dgx), as_f32(dgh), as_f32_mut(&mut *dh_next)) {
            (Some(dx), Some(dn), Some(dhn)) => {
                let gemm = kernels().sgemm_packed;
                gemm(false, rows, 0, sw, k, 1.0, dx, gs, packed.0, 1.0, dhn, sw);
                if ka > 0 {
                    gemm(false, rows, 0, hd, ka, 1.0, dn, ka, packed.1, 1.0, dhn, hd);
                }
            }
            _ => {
                R::gemm(false, false, rows, sw, k, R::ONE, dgx, gs, &w_hh[..k * sw], sw, R::ONE, dh_next, sw);
                if ka > 0 {
                    R::gemm(false, false, rows, hd, ka, R::ONE, dgh, ka, &w_hh[k * hd..], hd, R::ONE, dh_next, hd);
                }
            }
        }
    }

    /// The state after the whole scan, [batch, width]: per sequence the state after its last valid
    /// step (forward) or after step 0 (reverse). `buf` is `st.hs` (width `state_width`) or `st.cs` (H).
    pub fn final_state<'b>(&self, buf: &'b [R], width: usize) -> &'b [R] {
        let bh = self.batch * width;
        let slot = self.slot(if self.reverse { 0 } else { self.seq_len });
        &buf[slot * bh..(slot + 1) * bh]
    }

    /// BPTT through the last `forward` recorded in `st`. `dy` is the gradient of the layer output,
    /// read at `dy[(t·batch + b)·dy_stride + dy_offset ..][..H]` (ignored past a sequence's end);
    /// `dh_n`/`dc_n` [batch, H] are the final-state cotangents. Parameter gradients are added into
    /// `grads`, this layer+direction's block (`cp.len` values from its W_ih); dL/dx is written
    /// (`dx_beta` = 0) or added (`dx_beta` = 1) into `dx`; an empty `dx` skips dL/dx. dL/dh0 and
    /// dL/dc0 are written into `dh0`/`dc0` ([batch, H]; `dc0` empty unless LSTM).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        x: LayerX<'_, R>,
        dy: &[R],
        dy_offset: usize,
        dy_stride: usize,
        dh_n: Option<&[R]>,
        dc_n: Option<&[R]>,
        st: &DirState<R>,
        sc: &mut BackScratch<R>,
        grads: &mut [R],
        dx: &mut [R],
        dx_beta: R,
        dh0: &mut [R],
        dc0: &mut [R],
    ) {
        let (steps, batch, hd, gs, input, sw) = (self.seq_len, self.batch, self.hidden, self.gate_size(), self.cp.input_size, self.state_width());
        // dh and the h record are sw wide, dc and the c record H.
        let (bh, bc) = (batch * sw, batch * hd);
        // Bias rows whose hidden-side gradient is dgx's (all but the apart gates'), and the apart
        // gates' rows, whose is dgh's; W_hh's plain rows (times h_{t−1}) and the apart or gated rows
        // after them (see `backward_rows`). A gated recurrence's dgh holds d(g ⊙ h) [batch, H] per step.
        let (k_dgx, ka) = self.shared_apart_rows();
        let (plain, special) = self.hidden_rows();
        let gated = self.cell.recurrence().gated_blocks() * hd;
        let dgh_w = if gated > 0 { hd } else { ka };
        let lstm = self.cell.has_cell_state();
        fit(&mut sc.dgx, steps * batch * gs);
        fit(&mut sc.dgh, steps * batch * dgh_w);
        fit(&mut sc.dh_next, bh);
        let pw = self.proj;
        fit(&mut sc.dh_proj, steps * batch * pw);
        fit(&mut sc.dhr, if pw > 0 { 2 * bc } else { 0 });
        let masked = !st.rmask.is_empty();
        fit(&mut sc.dh_rec, if masked { bh } else { 0 });
        sc.active.resize(batch, true);
        sc.dh.clear();
        match dh_n {
            Some(d) => sc.dh.extend_from_slice(d),
            None => sc.dh.resize(bh, R::ZERO),
        }
        sc.dc.clear();
        if lstm {
            match dc_n {
                Some(d) => sc.dc.extend_from_slice(d),
                None => sc.dc.resize(bc, R::ZERO),
            }
        }

        let aux_w = self.cell.aux_width(hd);
        let diagonal = self.cell.recurrence() == Recurrence::Diagonal;
        if let Some(w) = as_f32(self.w_hh()).filter(|_| !diagonal) {
            let pack = kernels().pack_b;
            pack(false, plain, sw, &w[..plain * sw], sw, &mut sc.w_hh_n);
            if special > 0 {
                pack(false, special, hd, &w[plain * hd..], hd, &mut sc.w_hn_n);
            }
        }
        let parts = self.scan_parts();
        let packed = (&sc.w_hh_n, &sc.w_hn_n);
        let (dh_all, dc_all, dh_next_all) = (Disjoint::new(&mut sc.dh), Disjoint::new(&mut sc.dc), Disjoint::new(&mut sc.dh_next));
        let (dgx_all, dgh_all, active_all) = (Disjoint::new(&mut sc.dgx), Disjoint::new(&mut sc.dgh), Disjoint::new(&mut sc.active));
        let (dh_proj_all, dhr_all) = (Disjoint::new(&mut sc.dh_proj), Disjoint::new(&mut sc.dhr));
        let dh_rec_all = Disjoint::new(&mut sc.dh_rec);
        // Compiled per cell: every step below calls it directly.
        with_cell!(self.cell, |cell| {
            parallel::run(parts, |p| {
                let r = part_rows(batch, parts, p);
                // Rows r of the [·, batch, ·] slab `slab` (a step or a state slot), and that range scaled to `width`.
                let at = |slab: usize| slab * batch + r.start..slab * batch + r.end;
                let wide = |slab: usize, width: usize| at(slab).start * width..at(slab).end * width;
                let lengths = self.lengths.map(|l| &l[r.clone()]);
                // SAFETY: `part_rows` gives each part its own batch rows, and every piece below is those
                // rows of one buffer (of one step for dgx/dgh), so no two live pieces of different parts
                // overlap; within the part each buffer is cut once, or once per step at a different step.
                let (active, dc) = unsafe { (active_all.rows(r.clone(), 1), dc_all.rows(r.clone(), hd)) };
                let (mut dh, mut dh_next, dh_rec) = unsafe { (dh_all.rows(r.clone(), sw), dh_next_all.rows(r.clone(), sw), dh_rec_all.rows(r.clone(), sw)) };
                // `dhr` holds two [batch, H] halves: dL/dhr and the cell's unused dh_{t−1}.
                let (dhr, dhr_prev) = unsafe { (dhr_all.rows(r.clone(), hd * usize::from(pw > 0)), dhr_all.rows(batch + r.start..batch + r.end, hd * usize::from(pw > 0))) };
                let mask = sub(&st.rmask, r.start * sw..r.end * sw);
                for k in 0..steps {
                    // Reverse of the forward's processing order.
                    let t = if self.reverse { k } else { steps - 1 - k };
                    let (prev, _) = slots(t, self.reverse);
                    mark_active(active, lengths, t);
                    // SAFETY: as above.
                    let (dgx, dgh) = unsafe { (dgx_all.rows(at(t), gs), dgh_all.rows(at(t), dgh_w)) };
                    let rows = BackRows {
                        active: &*active,
                        gates: &st.gates[wide(t, gs)],
                        aux: sub(&st.aux, wide(t, aux_w)),
                        h_prev: &st.hs[wide(prev, sw)],
                        c_prev: sub(&st.cs, wide(prev, hd)),
                        // dy of this step's rows, row b at b·dy_stride (the slice may end inside the last row's stride).
                        dy: &dy[at(t).start * dy_stride + dy_offset..],
                        mask,
                    };
                    // SAFETY: as above (this step's rows).
                    let proj = ProjBack { dh: unsafe { dh_proj_all.rows(at(t), pw) }, dhr: &mut *dhr, dhr_prev: &mut *dhr_prev };
                    self.backward_rows(cell, packed, rows, dy_stride, &mut *dh, &mut *dc, dgx, dgh, &mut *dh_next, proj, &mut *dh_rec);
                    std::mem::swap(&mut dh, &mut dh_next);
                }
            });
        });
        // Every part swapped its dh and dh_next pieces once per step: the gradient ends in `dh_next`
        // when the step count is odd.
        if steps % 2 == 1 {
            std::mem::swap(&mut sc.dh, &mut sc.dh_next);
        }
        dh0.copy_from_slice(&sc.dh);
        if lstm {
            dc0.copy_from_slice(&sc.dc);
        }

        // Weight gradients as GEMMs over all seq_len·batch rows at once. W_hh's plain rows take their
        // gradient from dgx times h_{t−1}, the apart gates' rows from dgh, the gated rows from dgx
        // times g ⊙ h_{t−1}.
        let rows = steps * batch;
        let w_ih_len = gs * input;
        // `grads` starts at this layer+direction's W_ih (params.rs: [W_ih | W_hh | b_ih | b_hh]).
        let (g_ih, g_hh) = (0, self.cp.w_hh - self.cp.w_ih);
        let h_prev = if self.reverse { bh } else { 0 };
        let mut hs = &st.hs[h_prev..h_prev + rows * sw];
        if masked {
            // The recurrent weights multiplied h_{t−1} ⊙ mask (the same mask at every step).
            fit(&mut sc.hs_masked, rows * sw);
            for (o, h) in sc.hs_masked.chunks_exact_mut(bh).zip(hs.chunks_exact(bh)) {
                o.iter_mut().zip(h).zip(&st.rmask).for_each(|((o, h), m)| *o = *h * *m);
            }
            hs = &sc.hs_masked;
        }
        match x {
            LayerX::Features(x) if as_f32(x).is_some() && !diagonal => {
                // Those shared rows use one GEMM for dW_ih and dW_hh against [x | h_{t−1}], which packs
                // dGᵀ once (T1: 1024×3200ᵀ·3200×320 ~95 GFLOP/s, against ~72 and ~90 for the two apart).
                let w = input + sw;
                fit(&mut sc.xh, rows * w);
                for ((row, xr), hr) in sc.xh.chunks_exact_mut(w).zip(x.chunks_exact(input)).zip(hs.chunks_exact(sw)) {
                    row[..input].copy_from_slice(xr);
                    row[input..].copy_from_slice(hr);
                }
                fit(&mut sc.dw, plain * w);
                R::gemm(true, false, plain, w, rows, R::ONE, &sc.dgx, gs, &sc.xh, w, R::ZERO, &mut sc.dw, w);
                for (i, d) in sc.dw.chunks_exact(w).enumerate() {
                    grads[g_ih + i * input..g_ih + (i + 1) * input].iter_mut().zip(&d[..input]).for_each(|(g, v)| *g += *v);
                    grads[g_hh + i * sw..g_hh + (i + 1) * sw].iter_mut().zip(&d[input..]).for_each(|(g, v)| *g += *v);
                }
                if special > 0 {
                    R::gemm(true, false, special, input, rows, R::ONE, &sc.dgx[plain..], gs, x, input, R::ONE, &mut grads[g_ih + plain * input..g_ih + w_ih_len], input);
                }
            }
            x => {
                let g_w_ih = &mut grads[g_ih..g_ih + w_ih_len];
                match x {
                    LayerX::Features(x) => R::gemm(true, false, gs, input, rows, R::ONE, &sc.dgx, gs, x, input, R::ONE, g_w_ih, input),
                    LayerX::Tokens(ids) => add_token_weight_grads(ids, &sc.dgx, gs, input, &mut sc.dw, g_w_ih),
                }
                if diagonal {
                    // du_r = Σ_rows dG[row, r]·h_{t−1}[row, r mod H].
                    let du = &mut grads[g_hh..g_hh + gs];
                    for (d, h) in sc.dgx.chunks_exact(gs).zip(hs.chunks_exact(hd)) {
                        for (du, d) in du.chunks_exact_mut(hd).zip(d.chunks_exact(hd)) {
                            du.iter_mut().zip(d).zip(h).for_each(|((g, d), h)| *g += *d * *h);
                        }
                    }
                } else {
                    R::gemm(true, false, plain, sw, rows, R::ONE, &sc.dgx, gs, hs, sw, R::ONE, &mut grads[g_hh..g_hh + plain * sw], sw);
                }
            }
        }
        if ka > 0 {
            R::gemm(true, false, ka, hd, rows, R::ONE, &sc.dgh, ka, hs, hd, R::ONE, &mut grads[g_hh + k_dgx * hd..g_hh + gs * hd], hd);
        }
        if gated > 0 {
            // The gated rows read g ⊙ h_{t−1}, which the forward kept as aux ([seq_len·batch, H], step order).
            R::gemm(true, false, gated, hd, rows, R::ONE, &sc.dgx[plain..], gs, &st.aux, hd, R::ONE, &mut grads[g_hh + plain * hd..g_hh + gs * hd], hd);
        }
        if let (Some(bi), Some(bh_)) = (self.cp.b_ih.map(|o| o - self.cp.w_ih), self.cp.b_hh.map(|o| o - self.cp.w_ih)) {
            // db_ih sums dgx; db_hh sums the same columns 0..k_dgx (one pass feeds both), then dgh.
            let (lo, hi) = grads.split_at_mut(bi.max(bh_));
            let (first, second) = (&mut lo[bi.min(bh_)..bi.min(bh_) + gs], &mut hi[..gs]);
            let (b_ih, b_hh) = if bi < bh_ { (first, second) } else { (second, first) };
            column_sums(&sc.dgx, gs, b_ih, &mut b_hh[..k_dgx]);
            if ka > 0 {
                column_sums(&sc.dgh, ka, &mut b_hh[k_dgx..], &mut []);
            }
        }
        if let Some(p) = self.cp.peephole {
            // dP from the whole record at once (see `lstm::add_peephole_grads`).
            let dp = &mut grads[p - self.cp.w_ih..][..PEEPHOLES * hd];
            for t in 0..steps {
                let (prev, cur) = slots(t, self.reverse);
                lstm::add_peephole_grads(hd, &sc.dgx[t * batch * gs..(t + 1) * batch * gs], &st.cs[prev * bc..(prev + 1) * bc], &st.cs[cur * bc..(cur + 1) * bc], dp);
            }
        }
        if let Some(w) = self.cp.w_hr {
            // dW_hr += dhᵀ·hr over every step (dh is 0 past a sequence's end).
            R::gemm(true, false, pw, hd, rows, R::ONE, &sc.dh_proj, pw, &st.hr, hd, R::ONE, &mut grads[w - self.cp.w_ih..][..pw * hd], hd);
        }
        if !dx.is_empty() {
            self.input_gradient(sc, dx, dx_beta);
        }
    }

    /// dL/dx = dG·W_ih over all steps from the `dgx` a `backward` left in `sc`, written (`beta` = 0)
    /// or added (`beta` = 1) into `dx` [seq_len, batch, input].
    pub fn input_gradient(&self, sc: &BackScratch<R>, dx: &mut [R], beta: R) {
        let (rows, input) = (self.seq_len * self.batch, self.cp.input_size);
        R::gemm(false, false, rows, input, self.gate_size(), R::ONE, &sc.dgx, self.gate_size(), self.w_ih(), input, beta, dx, input);
    }
}

/// dW_ih += dGᵀ·X for one-hot rows X given as ids: dW_ih[g, v] sums dG[row, g] over the rows whose
/// id is v, in row order (as the GEMM would), first per id into contiguous [I, G·H] rows of
/// `scratch`, then added transposed into `g_w_ih` ([G·H, I]).
fn add_token_weight_grads<R: Real>(ids: &[i32], dgx: &[R], gs: usize, input: usize, scratch: &mut Vec<R>, g_w_ih: &mut [R]) {
    fit(scratch, input * gs);
    scratch.fill(R::ZERO);
    for (d, &id) in dgx.chunks_exact(gs).zip(ids) {
        scratch[id as usize * gs..][..gs].iter_mut().zip(d).for_each(|(a, v)| *a += *v);
    }
    for (v, d) in scratch.chunks_exact(gs).enumerate() {
        for (g, dv) in d.iter().enumerate() {
            g_w_ih[g * input + v] += *dv;
        }
    }
}

/// out[j] += Σ_rows m[row, j] for a row-major matrix with `cols` columns, rows added in order; the
/// same into `out2[j]` for its first |out2| ≤ cols columns. On one thread: the only split that keeps
/// every element's order is by columns, and two cores each streaming every row of a 10 MB dG for
/// half its columns took twice as long as one core (TG1 at 2 threads: 3.8% of the time, against
/// 1%; the step 1.5–3.8% faster serial).
fn column_sums<R: Real>(m: &[R], cols: usize, out: &mut [R], out2: &mut [R]) {
    let n2 = out2.len();
    for row in m.chunks_exact(cols) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += *v);
        out2.iter_mut().zip(&row[..n2]).for_each(|(o, v)| *o += *v);
    }
}
