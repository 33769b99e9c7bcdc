//! Buffers a `RecurrentBlock` keeps between calls: what BPTT reads (per layer+direction gate
//! activations and states, per layer inputs and dropout masks) and per-step scratch. Buffers only
//! grow (`fit` resizes without freeing), so repeated calls of one shape never touch the allocator.

use super::scan::StepKernel;
use crate::cell::Cell;
use crate::kernels::{PackedB, RowWeights};
use crate::real::Real;

/// Resizes to exactly `n` elements, reusing capacity. Contents are unspecified: callers overwrite.
pub(crate) fn fit<R: Real>(v: &mut Vec<R>, n: usize) {
    if v.len() != n {
        v.resize(n, R::ZERO);
    }
}

/// One layer+direction's forward record. A forward that does not record for BPTT (inference) keeps
/// two state slots and one aux slab instead (scan.rs `Scan::record`); the gates hold every step
/// either way, as the input projection fills them.
#[derive(Default)]
pub(crate) struct DirState<R> {
    /// [seq_len, batch, G·H]: x·W_ihᵀ + b (projection.rs) before the step, gate activations after it.
    pub gates: Vec<R>,
    /// [seq_len + 1, batch, P or H] (`proj_size` P with a projection): the state after each step, indexed so that the previous states of
    /// all steps form one contiguous [seq_len·batch, H] matrix (the operand of dW_hh's GEMM).
    /// Forward direction: slot 0 = h0, slot t+1 = h_t. Reverse: slot t = h_t, slot seq_len = h0.
    pub hs: Vec<R>,
    /// Same layout as `hs`, for a cell with a cell state (LSTM).
    pub cs: Vec<R>,
    /// [batch, P or H] (the h width): the recurrent-dropout mask (0 or 1/(1−p)) this forward multiplies h_{t−1} by
    /// where it enters the recurrent product, the same at every step; empty = none (stack.rs).
    pub rmask: Vec<R>,
    /// W_hhᵀ packed for the step GEMM (f32 only; see `prepared`).
    pub w_hh_t: PackedB,
    /// A gated recurrence's (`Recurrence::Gated`) gated rows of W_hh, transposed and packed for the
    /// step's second GEMM (then `w_hh_t` holds the other rows only).
    pub w_gated_t: PackedB,
    /// W_hh packed for the fused one-row LSTM / GRU step instead of `w_hh_t` (`StepKernel::Row`).
    pub w_hh_rows: RowWeights,
    /// The parameter version and step kernel the packed W_hh was prepared for.
    pub prepared: Option<(u64, StepKernel)>,
    /// [seq_len, batch, aux_width]: what the cell keeps per step (LSTM tanh(c_t), GRU
    /// W_hn·h_{t−1} + b_hn); empty for Elman cells.
    pub aux: Vec<R>,
    /// [seq_len, batch, H] with a projection (else empty): o ⊙ h(c) before W_hr, for dW_hr.
    pub hr: Vec<R>,
}

impl<R: Real> DirState<R> {
    /// Sizes the buffers for `steps` slabs of aux and `steps + 1` state slots (the gates are sized by
    /// the input projection, projection.rs, which fills them).
    /// `proj`: the LSTM's projection size (0 = none), h's width when set.
    pub fn fit(&mut self, cell: &dyn Cell, steps: usize, batch: usize, hidden: usize, proj: usize) {
        let bh = batch * hidden;
        let h_width = if proj > 0 { proj } else { hidden };
        fit(&mut self.hs, (steps + 1) * batch * h_width);
        fit(&mut self.cs, if cell.has_cell_state() { (steps + 1) * bh } else { 0 });
        fit(&mut self.aux, steps * batch * cell.aux_width(hidden));
        fit(&mut self.hr, if proj > 0 { steps * bh } else { 0 });
    }
}

/// One layer's input projection (projection.rs): the weights of all its directions stacked, and
/// the input rows with their bias column.
#[derive(Default)]
pub(crate) struct Projection<R> {
    /// [directions · block rows, I (+1)]: each direction's rows [W_ih | b], b = b_ih + b_hh (GRU's n
    /// gate: b_in alone), its block padded with zero rows to a panel boundary; for f32 packed
    /// transposed into `packed`.
    pub w_cat: Vec<R>,
    pub packed: PackedB,
    /// [seq_len·batch, I + 1]: the layer's input rows [x | 1] (only with biases).
    pub xs: Vec<R>,
    /// The parameter version `w_cat` and `packed` were prepared for.
    pub prepared: Option<u64>,
    /// Token input: [directions, I (vocabulary), G·H], row v of a direction = W_ih[:, v] + b, the
    /// projection of the one-hot row of token v (what [x | 1]·[W_ih | b]ᵀ gives for it, bit for bit).
    pub table: Vec<R>,
    /// The parameter version `table` was built for.
    pub table_prepared: Option<u64>,
}

/// Slot of `hs`/`cs` holding the state after step `t` and the slot holding the state before it.
pub(crate) fn slots(t: usize, reverse: bool) -> (usize, usize) {
    if reverse { (t + 1, t) } else { (t, t + 1) }
}

/// Scratch of one forward scan.
#[derive(Default)]
pub(crate) struct StepScratch<R> {
    /// [batch, G·H], for a cell with apart gates only: h_{t−1}·W_hhᵀ (`Cell::apart_gates`).
    pub gh: Vec<R>,
    /// [batch]
    pub active: Vec<bool>,
    /// [batch, H] zeros with a projection (else empty): the cell's h_{t−1} (`FwdRows::zeros`).
    pub zeros: Vec<R>,
    /// [batch, P or H] with recurrent dropout only: h_{t−1} ⊙ mask, the step product's operand.
    pub masked_h: Vec<R>,
}

/// Scratch of one backward scan (shared by the layers of a call; one per direction running at once).
#[derive(Default)]
pub(crate) struct BackScratch<R> {
    /// [seq_len, batch, G·H]: dL/d(x-side pre-activations) of every step.
    pub dgx: Vec<R>,
    /// [seq_len, batch, apart gates·H]: dL/d(W_h·h + b_h) of the apart gates (`StepBackward::dgh`).
    pub dgh: Vec<R>,
    /// [batch, P or H]: dL/dh carried backwards, and the next one being built.
    pub dh: Vec<R>,
    pub dh_next: Vec<R>,
    /// [batch, H], for a cell with a cell state only.
    pub dc: Vec<R>,
    /// With a projection P (else empty): [seq_len, batch, P] every step's dL/dh (for dW_hr), and
    /// [2, batch, H] dL/d(o ⊙ h(c)) and the cell's unused H-wide dh_{t−1} (scan.rs `ProjBack`).
    pub dh_proj: Vec<R>,
    pub dhr: Vec<R>,
    pub active: Vec<bool>,
    /// W_hh packed for the BPTT step GEMM dh += dGh·W_hh (f32 only), once per backward pass: its
    /// rows that multiply `dgx`, and in `w_hn_n` the apart gates' rows (GRU's n), which multiply `dgh`.
    pub w_hh_n: PackedB,
    pub w_hn_n: PackedB,
    /// f32: [seq_len·batch, input + H] rows [x_t | h_{t−1}], and [G·H, input + H] the
    /// [dW_ih | dW_hh] rows one weight-gradient GEMM writes for the gates they share (scan.rs).
    pub xh: Vec<R>,
    pub dw: Vec<R>,
    /// With recurrent dropout only: [batch, P or H] a step's dGh·W_hh before the mask, and
    /// [seq_len·batch, P or H] every step's h_{t−1} ⊙ mask (dW_hh's operand).
    pub dh_rec: Vec<R>,
    pub hs_masked: Vec<R>,
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
    /// Token ids [seq_len, batch] of layer 0 when the block's input is ids (then `inputs[0]` is
    /// empty), kept with the cache.
    pub tokens: Vec<i32>,
    /// [num_layers]: the inverted-dropout mask (0 or 1/(1−p)) applied to `inputs[l]`; empty = none.
    pub masks: Vec<Vec<R>>,
    /// [num_layers·directions]
    pub dirs: Vec<DirState<R>>,
    /// [num_layers]
    pub projections: Vec<Projection<R>>,
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
