//! Recurrent cells: the fused element-wise half of one time step. The layer (`layer::scan`) does the
//! matrix products (X·W_ihᵀ for all steps, h·W_hhᵀ per step, and the BPTT GEMMs); a cell turns the
//! pre-activations of one step into gate activations and the new state, and back again in BPTT.
//! Rows whose step is past their sequence (`active[b] == false`) carry the state through unchanged.

pub mod gru;
pub mod lstm;
pub mod rnn;

use std::any::TypeId;

use crate::real::Real;
use crate::spec::CellKind;

/// One forward step over a batch. Row-major; `G·H` rows are gate-major (`[i f g o]` for LSTM,
/// `[r z n]` for GRU), PyTorch's order.
pub struct StepForward<'a, R> {
    pub batch: usize,
    pub hidden: usize,
    /// [batch]: whether this step is inside each sequence.
    pub active: &'a [bool],
    /// [batch, G·H]. In: x·W_ihᵀ + folded biases (Elman, LSTM: plus h_prev·W_hhᵀ when `gh` is empty).
    /// Out: gate activations (what BPTT reads).
    pub gates: &'a mut [R],
    /// [batch, G·H]: h_prev·W_hhᵀ (no bias). Required for GRU (r⊙(W_hn h + b_hn) needs it apart);
    /// Elman and LSTM cells add it to `gates` when given, and take it as already included when empty
    /// (the layer's step GEMM accumulates straight into the gate block).
    pub gh: &'a [R],
    /// [H]: GRU's b_hn, which sits inside r ⊙ (W_hn h + b_hn) and cannot be folded. `None` otherwise.
    pub b_hn: Option<&'a [R]>,
    /// [batch, H]
    pub h_prev: &'a [R],
    /// [batch, H], written.
    pub h: &'a mut [R],
    /// [batch, H] for LSTM, empty otherwise.
    pub c_prev: &'a [R],
    pub c: &'a mut [R],
    /// [batch, H], written: LSTM tanh(c), GRU W_hn h + b_hn; empty for Elman cells.
    pub aux: &'a mut [R],
}

/// One backward step over a batch: the gradient of the loss w.r.t. h_t becomes gradients of the
/// pre-activations (dGates) and of the previous state.
pub struct StepBackward<'a, R> {
    pub batch: usize,
    pub hidden: usize,
    pub active: &'a [bool],
    /// What the forward step stored: gates [batch, G·H], aux [batch, H] (or empty), h_prev, c_prev.
    pub gates: &'a [R],
    pub aux: &'a [R],
    pub h_prev: &'a [R],
    pub c_prev: &'a [R],
    /// [batch, H]: dL/dh_t (for active rows already including dL/d output_t).
    pub dh: &'a [R],
    /// [batch, H], LSTM only (else empty). In: dL/dc_t. Out: dL/dc_{t−1}.
    pub dc: &'a mut [R],
    /// [batch, G·H], written: dL/d(x-side pre-activation); zero rows for inactive steps.
    pub dgx: &'a mut [R],
    /// [batch, H], GRU only (else empty), written: dL/d(W_hn·h + b_hn), the hidden-side gradient of
    /// the n block. Every other hidden-side gradient (Elman, LSTM, GRU's r and z) equals its `dgx`
    /// column, so the caller reuses `dgx` for those.
    pub dgh: &'a mut [R],
    /// [batch, H], written: the part of dL/dh_{t−1} that does not flow through W_hh (GRU's z ⊙ dh,
    /// the carried gradient of inactive rows, else 0). The caller then adds dGh·W_hh.
    pub dh_prev: &'a mut [R],
}

/// Extra per-step state a cell stores besides gates and h (and c): H values per row, or none.
pub fn aux_width(cell: CellKind, hidden: usize) -> usize {
    match cell {
        CellKind::Lstm | CellKind::Gru => hidden,
        _ => 0,
    }
}

/// `xs` as f32 when `R` is f32: the production path then runs the fused SIMD cell kernels of the
/// kernel table, while f64 (the gradient-check oracle) runs the generic code in this module.
pub(crate) fn as_f32<R: Real>(xs: &[R]) -> Option<&[f32]> {
    (TypeId::of::<R>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: R is f32 (same TypeId), so this reinterprets a slice as its own type.
        unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<f32>(), xs.len()) }
    })
}

/// Mutable `as_f32`.
pub(crate) fn as_f32_mut<R: Real>(xs: &mut [R]) -> Option<&mut [f32]> {
    (TypeId::of::<R>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: R is f32 (same TypeId); the returned borrow replaces `xs` for its lifetime.
        unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr().cast::<f32>(), xs.len()) }
    })
}

/// Adds `gh` into `gates` (Elman and LSTM cells given h·W_hhᵀ separately; no-op when empty).
pub(crate) fn add_gh<R: Real>(gates: &mut [R], gh: &[R]) {
    gates.iter_mut().zip(gh).for_each(|(g, h)| *g += *h);
}

pub fn forward_step<R: Real>(cell: CellKind, s: StepForward<'_, R>) {
    match cell {
        CellKind::RnnTanh => rnn::forward_step(rnn::Nonlinearity::Tanh, s),
        CellKind::RnnRelu => rnn::forward_step(rnn::Nonlinearity::Relu, s),
        CellKind::RnnSigmoid => rnn::forward_step(rnn::Nonlinearity::Sigmoid, s),
        CellKind::Lstm => lstm::forward_step(s),
        CellKind::Gru => gru::forward_step(s),
    }
}

pub fn backward_step<R: Real>(cell: CellKind, s: StepBackward<'_, R>) {
    match cell {
        CellKind::RnnTanh => rnn::backward_step(rnn::Nonlinearity::Tanh, s),
        CellKind::RnnRelu => rnn::backward_step(rnn::Nonlinearity::Relu, s),
        CellKind::RnnSigmoid => rnn::backward_step(rnn::Nonlinearity::Sigmoid, s),
        CellKind::Lstm => lstm::backward_step(s),
        CellKind::Gru => gru::backward_step(s),
    }
}

/// Copies row `b` of `src` into `dst` for every inactive row: the state carried past a sequence's end.
pub(crate) fn carry_inactive<R: Real>(active: &[bool], hidden: usize, src: &[R], dst: &mut [R]) {
    for (b, _) in active.iter().enumerate().filter(|(_, a)| !**a) {
        dst[b * hidden..(b + 1) * hidden].copy_from_slice(&src[b * hidden..(b + 1) * hidden]);
    }
}
