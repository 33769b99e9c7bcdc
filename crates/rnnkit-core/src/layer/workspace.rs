//! Buffers a `RecurrentBlock` keeps between calls: what BPTT reads (per layer+direction gate
//! activations and states, per layer inputs and dropout masks) and per-step scratch. Buffers only
//! grow (`fit` resizes without freeing), so repeated calls of one shape never touch the allocator.

use crate::cell::aux_width;
use super::scan::Schedule;
use crate::kernels::{PackedB, RowWeights};
use crate::real::Real;
use crate::spec::CellKind;

/// Resizes to exactly `n` elements, reusing capacity. Contents are unspecified: callers overwrite.
pub(crate) fn fit<R: Real>(v: &mut Vec<R>, n: usize) {
    if v.len() != n {
        v.resize(n, R::ZERO);
    }
}

/// One layer+direction's forward record. A forward that does not record for BPTT (inference) keeps
/// one step slab and two state slots instead (scan.rs `Scan::record`).
#[derive(Default)]
pub(crate) struct DirState<R> {
    /// [seq_len, batch, G·H]: x·W_ihᵀ + b before the step, gate activations after it.
    pub gates: Vec<R>,
    /// [seq_len + 1, batch, H]: the state after each step, indexed so that the previous states of
    /// all steps form one contiguous [seq_len·batch, H] matrix (the operand of dW_hh's GEMM).
    /// Forward direction: slot 0 = h0, slot t+1 = h_t. Reverse: slot t = h_t, slot seq_len = h0.
    pub hs: Vec<R>,
    /// Same layout as `hs`, LSTM only.
    pub cs: Vec<R>,
    /// W_hhᵀ packed for the split schedule's step GEMM and [W_ih | b]ᵀ for its input projection
    /// (f32 only; see `prepared`).
    pub w_hh_t: PackedB,
    pub w_ih_t: PackedB,
    /// [G·H, I (+H) (+1)]: the input GEMM's weights, rows [W_ih | W_hh | b] (fused schedule, scan.rs
    /// `fuses_projection`) or [W_ih | b]; for f32 packed transposed into `w_xh_t` (fused) or
    /// `w_ih_t` (split). [seq_len, batch, I (+H) (+1)]: the rows that GEMM reads, [x_t | h_{t−1} | 1]
    /// or [x_t | 1] (recorded for BPTT on the fused schedule).
    pub w_cat: Vec<R>,
    pub w_xh_t: PackedB,
    pub xh: Vec<R>,
    /// W_hh packed for the fused one-row LSTM / GRU step instead of `w_hh_t` (`Schedule::SplitRows`).
    pub w_hh_rows: RowWeights,
    /// The parameter version and schedule `w_cat` and the packed weights were prepared for.
    pub prepared: Option<(u64, Schedule)>,
    /// [seq_len, batch, H]: LSTM tanh(c_t), GRU W_hn·h_{t−1} + b_hn; empty for Elman cells.
    pub aux: Vec<R>,
}

impl<R: Real> DirState<R> {
    /// Sizes the buffers for `gate_steps` step slabs of gates (and of `xh` when `xh_width` > 0),
    /// `steps` slabs of aux and `steps + 1` state slots.
    pub fn fit(&mut self, cell: CellKind, gate_steps: usize, steps: usize, batch: usize, hidden: usize, xh_width: usize) {
        let bh = batch * hidden;
        fit(&mut self.gates, gate_steps * batch * cell.gates() * hidden);
        fit(&mut self.xh, gate_steps * batch * xh_width);
        fit(&mut self.hs, (steps + 1) * bh);
        fit(&mut self.cs, if cell.has_cell_state() { (steps + 1) * bh } else { 0 });
        fit(&mut self.aux, steps * batch * aux_width(cell, hidden));
    }
}

/// Slot of `hs`/`cs` holding the state after step `t` and the slot holding the state before it.
pub(crate) fn slots(t: usize, reverse: bool) -> (usize, usize) {
    if reverse { (t + 1, t) } else { (t, t + 1) }
}

/// Scratch of one forward scan.
#[derive(Default)]
pub(crate) struct StepScratch<R> {
    /// [batch, G·H], GRU only: h_{t−1}·W_hhᵀ (the cell needs the n block's apart).
    pub gh: Vec<R>,
    /// [batch]
    pub active: Vec<bool>,
}

/// Scratch of one backward scan (shared by the layers of a call; one per direction running at once).
#[derive(Default)]
pub(crate) struct BackScratch<R> {
    /// [seq_len, batch, G·H]: dL/d(x-side pre-activations) of every step.
    pub dgx: Vec<R>,
    /// [seq_len, batch, H], GRU only: dL/d(W_hn·h + b_hn) (cell/mod.rs `StepBackward::dgh`).
    pub dgh: Vec<R>,
    /// [batch, H]: dL/dh carried backwards, and the next one being built.
    pub dh: Vec<R>,
    pub dh_next: Vec<R>,
    /// [batch, H], LSTM only.
    pub dc: Vec<R>,
    pub active: Vec<bool>,
    /// W_hh packed for the BPTT step GEMM dh += dGh·W_hh (f32 only), once per backward pass; for
    /// GRU only its r and z rows, and `w_hn_n` its n rows (they multiply `dgh`, the rest `dgx`).
    pub w_hh_n: PackedB,
    pub w_hn_n: PackedB,
    /// f32: [seq_len·batch, input + H] rows [x_t | h_{t−1}], and [G·H, input + H] the
    /// [dW_ih | dW_hh] rows one weight-gradient GEMM writes for the gates they share (scan.rs).
    pub xh: Vec<R>,
    pub dw: Vec<R>,
}

/// Everything a block remembers between `forward` and `backward`.
#[derive(Default)]
pub(crate) struct Workspace<R> {
    pub seq_len: usize,
    pub batch: usize,
    /// Copy of the forward call's lengths (empty = all `seq_len`).
    pub lengths: Vec<usize>,
    /// [num_layers]: each layer's input [seq_len, batch, features]. Entry 0 (a copy of x) is filled
    /// only when the forward kept its cache; entry l > 0 is layer l−1's output after dropout.
    pub inputs: Vec<Vec<R>>,
    /// [num_layers]: the inverted-dropout mask (0 or 1/(1−p)) applied to `inputs[l]`; empty = none.
    pub masks: Vec<Vec<R>>,
    /// [num_layers·directions]
    pub dirs: Vec<DirState<R>>,
    /// One per direction: the two directions of a layer may run at once (stack.rs).
    pub steps: [StepScratch<R>; 2],
    /// One per direction, as `steps` (the second only grows when the directions run at once).
    pub back: [BackScratch<R>; 2],
    /// [seq_len, batch, max features]: gradient w.r.t. a layer's output, and w.r.t. its input.
    pub dy_a: Vec<R>,
    pub dy_b: Vec<R>,
    /// The block's `set_params_version`, for the packed weights in `dirs`.
    pub params_version: Option<u64>,
    /// True after a forward with `keep_cache`: `backward` may run.
    pub cached: bool,
}
