//! Recurrent cells: the fused element-wise half of one time step, behind one `Cell` trait. The
//! layer (`recurrent::scan`) does the matrix products (X·W_ihᵀ for all steps, h·W_hhᵀ per step, and
//! the BPTT GEMMs) and asks its cell only through this trait: how many gate blocks, whether there is
//! a cell state, which gates keep their hidden-side pre-activation apart, and the steps themselves.
//! A cell turns the pre-activations of one step into gate activations and the new state, and back
//! again in BPTT. Rows whose step is past their sequence (`active[b] == false`) carry the state
//! through unchanged. One file per cell (rnn.rs, lstm.rs, gru.rs); `CellKind` is the config-level
//! name, and `with_cell!` is the one place that maps a name to its cell. A step also carries the
//! layer's element-wise `CellOptions` (options.rs: activations, LSTM peepholes, clip, coupled gates).

pub mod activation;
pub mod gru;
pub mod gru_reset_before;
pub mod ind_rnn;
pub mod lstm;
pub mod options;
pub mod rnn;

use std::any::TypeId;

pub use activation::GateActivation;
pub use options::CellOptions;

use crate::real::Real;

/// The cells by name, as specs and saved files spell them. `cell()` gives the cell itself (as a
/// trait object, for shapes and names), `with_cell!` runs code on the concrete cell (for the time
/// loops, compiled once per cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    RnnTanh,
    RnnRelu,
    /// Elman's original form, an extra beyond PyTorch.
    RnnSigmoid,
    Lstm,
    Gru,
    /// GRU with the reset gate before the recurrent product (`reset_after: false`).
    GruResetBefore,
    /// IndRNN (Li et al. 2018), relu (the paper's default) or tanh.
    IndRnnRelu,
    IndRnnTanh,
}

/// Runs `$body` with `$c` bound to the concrete cell `$kind` names (a `&'static` value of its
/// type), so `$body` is compiled once per cell and the steps it calls are direct, inlinable calls:
/// the dispatch happens once per scan, never per step. The only `match` on `CellKind`.
macro_rules! with_cell {
    ($kind:expr, |$c:ident| $body:expr) => {
        $crate::cell::with_cell!(@arms $kind, $c, $body,
            RnnTanh => rnn::RNN_TANH, RnnRelu => rnn::RNN_RELU, RnnSigmoid => rnn::RNN_SIGMOID, Lstm => lstm::Lstm, Gru => gru::Gru,
            GruResetBefore => gru_reset_before::GruResetBefore, IndRnnRelu => ind_rnn::IND_RNN_RELU, IndRnnTanh => ind_rnn::IND_RNN_TANH)
    };
    (@arms $kind:expr, $c:ident, $body:expr, $($name:ident => $file:ident::$cell:ident),*) => {
        match $kind {
            $($crate::cell::CellKind::$name => {
                let $c = &$crate::cell::$file::$cell;
                $body
            })*
        }
    };
}
pub(crate) use with_cell;

impl CellKind {
    /// The first cell of a layer type is its default.
    pub const ALL: [CellKind; 8] = [
        CellKind::RnnTanh,
        CellKind::RnnRelu,
        CellKind::RnnSigmoid,
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::GruResetBefore,
        CellKind::IndRnnRelu,
        CellKind::IndRnnTanh,
    ];

    /// The cell this name stands for.
    pub fn cell(self) -> &'static dyn Cell {
        with_cell!(self, |c| c as &'static dyn Cell)
    }
}

/// A `CellKind` reads as its cell: `spec.cell.gates()`.
impl std::ops::Deref for CellKind {
    type Target = dyn Cell;
    fn deref(&self) -> &(dyn Cell + 'static) {
        self.cell()
    }
}

/// How h_{t−1} enters a cell's gate pre-activations. The scan's step products, BPTT, the parameter
/// layout and the trace ask this; none of them asks which cell it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    /// h_{t−1}·W_hhᵀ with W_hh [G·H, H]: one GEMM per step (`Cell::apart_gates` says which gates
    /// the cell scales after it).
    Dense,
    /// The last `blocks` gate blocks read (g ⊙ h_{t−1})·W_hᵀ, g computed from the other blocks: the
    /// step GEMM covers the other blocks, `Cell::gate_hidden` activates them and writes g ⊙ h_{t−1}
    /// (the step's aux), and a second GEMM adds its product into the last blocks (GRU reset-before).
    /// BPTT: d(g ⊙ h) = dG_last·W_h, then `Cell::gate_hidden_backward`.
    Gated { blocks: usize },
    /// u ⊙ h_{t−1} with u [G·H] (W_hh is a vector, row r multiplying unit r mod H): element-wise,
    /// no GEMM; BPTT dh_{t−1} = Σ_g dG_g ⊙ u_g (IndRNN).
    Diagonal,
}

impl Recurrence {
    /// Columns of each W_hh row: H for a matrix.
    pub fn weight_cols(self, hidden: usize) -> usize {
        match self {
            Recurrence::Dense | Recurrence::Gated { .. } => hidden,
            Recurrence::Diagonal => 1,
        }
    }
    /// Gate blocks, counted from the last, whose hidden side is not the step GEMM of h_{t−1}.
    pub fn gated_blocks(self) -> usize {
        match self {
            Recurrence::Gated { blocks } => blocks,
            Recurrence::Dense | Recurrence::Diagonal => 0,
        }
    }
}

/// One recurrent cell. Gate blocks are PyTorch's, in its order (`[i f g o]` LSTM, `[r z n]` GRU),
/// each H rows of W_ih and W_hh. The shape and naming methods are object safe (`CellKind::cell`);
/// the steps are generic over the float type and reached through `with_cell!`.
pub trait Cell: Sync {
    /// The spec name ("lstm", "gru", "rnn_tanh", …), as the older `blocks` format and errors spell it.
    fn name(&self) -> &'static str;
    /// The layer type that builds this cell ("RNN", "LSTM", "GRU").
    fn layer_type(&self) -> &'static str;
    /// The layer's `nonlinearity` config value that picks this cell among its type's, if it has one.
    fn nonlinearity(&self) -> Option<&'static str> {
        None
    }
    /// The GRU layer's `reset_after` config value that picks this cell among its type's, if it has one.
    fn reset_after(&self) -> Option<bool> {
        None
    }
    /// How h_{t−1} enters the gates (see `Recurrence`).
    fn recurrence(&self) -> Recurrence {
        Recurrence::Dense
    }
    /// Gate blocks per weight matrix: weight_ih is [gates·H, input_size].
    fn gates(&self) -> usize;
    /// Whether the cell carries a cell state c beside h (LSTM).
    fn has_cell_state(&self) -> bool {
        false
    }
    /// Extra per-step values a forward step stores for BPTT besides gates and states, per row.
    fn aux_width(&self, _hidden: usize) -> usize {
        0
    }
    /// How many gate blocks, counted from the last, need their hidden-side pre-activation
    /// W_h·h + b_h apart from the input side (GRU's n: r ⊙ (W_hn h + b_hn)). Their b_hh stays out
    /// of the projection's folded bias (`StepForward::b_hh_apart`), the step GEMM writes h·W_hhᵀ
    /// into `StepForward::gh` instead of the gate block, and BPTT takes their hidden-side gradient
    /// from `StepBackward::dgh`. 0: every gate is act(W_i x + b_i + W_h h + b_h).
    fn apart_gates(&self) -> usize {
        0
    }
    /// Name and activation ("sigmoid", "tanh") of each gate block for traces; none when the single
    /// gate is h itself (Elman).
    fn gate_panels(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// The activation bounding h, for a trace's colour scale: "tanh", "sigmoid" or "relu".
    fn hidden_activation(&self) -> &'static str {
        "tanh"
    }
    /// Whether the steps honour `CellOptions` (else any non-default option is a config error).
    fn takes_options(&self) -> bool {
        false
    }
    /// The candidate's activation when `CellOptions::activation` is unset.
    fn candidate_activation(&self) -> GateActivation {
        GateActivation::Tanh
    }
    /// Whether `row_step` exists: a one-row f32 step with its recurrent GEMV fused in (default
    /// options only: the scan asks for it only then).
    fn has_row_step(&self) -> bool {
        false
    }
    /// One batch row's forward step with h_{t−1}·W_hhᵀ fused in (see `RowStep`); only called when
    /// `has_row_step`. Bit-identical to the step GEMM followed by `forward_step`.
    fn row_step(&self, _s: RowStep<'_>) {
        unreachable!("{}: no fused row step (has_row_step is false)", self.name())
    }
    /// `Recurrence::Gated`, between the two step products: activates the gate blocks before the gated
    /// ones and writes g ⊙ h_{t−1} into `gated_h`.
    fn gate_hidden<R: Real>(&self, _s: GateHidden<'_, R>)
    where
        Self: Sized,
    {
        unreachable!("{}: not a gated recurrence", self.name())
    }
    /// `Recurrence::Gated` BPTT, after `backward_step` and d(g ⊙ h) = dG_gated·W_h: writes the
    /// gradient of g's pre-activation into `dgx` and adds the part of dh_{t−1} through g ⊙ h.
    fn gate_hidden_backward<R: Real>(&self, _s: GateHiddenBackward<'_, R>)
    where
        Self: Sized,
    {
        unreachable!("{}: not a gated recurrence", self.name())
    }
    /// One forward step in f32: the fused SIMD kernels of the kernel table where the cell has them.
    fn forward_f32(&self, s: StepForward<'_, f32>)
    where
        Self: Sized,
    {
        self.forward_generic(s)
    }
    /// One backward step in f32, as `forward_f32`.
    fn backward_f32(&self, s: StepBackward<'_, f32>)
    where
        Self: Sized,
    {
        self.backward_generic(s)
    }
    /// The formulas written once over `Real`: the f64 oracle of the gradient checks.
    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>)
    where
        Self: Sized;
    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>)
    where
        Self: Sized;
    /// One forward step: `forward_f32` for f32, `forward_generic` otherwise.
    #[inline]
    fn forward_step<R: Real>(&self, s: StepForward<'_, R>)
    where
        Self: Sized,
    {
        match s.into_f32() {
            Ok(s) => self.forward_f32(s),
            Err(s) => self.forward_generic(s),
        }
    }
    /// One backward step, as `forward_step`.
    #[inline]
    fn backward_step<R: Real>(&self, s: StepBackward<'_, R>)
    where
        Self: Sized,
    {
        match s.into_f32() {
            Ok(s) => self.backward_f32(s),
            Err(s) => self.backward_generic(s),
        }
    }
}

/// One forward step over a batch. Row-major; `G·H` rows are gate-major (PyTorch's order).
pub struct StepForward<'a, R> {
    pub batch: usize,
    pub hidden: usize,
    /// [batch]: whether this step is inside each sequence.
    pub active: &'a [bool],
    /// [batch, G·H]. In: x·W_ihᵀ + folded biases (plus h_prev·W_hhᵀ when `gh` is empty).
    /// Out: gate activations (what BPTT reads).
    pub gates: &'a mut [R],
    /// [batch, G·H]: h_prev·W_hhᵀ (no bias). Required when the cell has `apart_gates`; other cells
    /// add it to `gates` when given, and take it as already included when empty (the layer's step
    /// GEMM accumulates straight into the gate block).
    pub gh: &'a [R],
    /// [apart_gates·H]: the hidden-side biases of the apart gates (GRU's b_hn), which cannot be
    /// folded. `None` without biases or apart gates.
    pub b_hh_apart: Option<&'a [R]>,
    /// [batch, H]
    pub h_prev: &'a [R],
    /// [batch, H], written.
    pub h: &'a mut [R],
    /// [batch, H] with a cell state, empty otherwise.
    pub c_prev: &'a [R],
    pub c: &'a mut [R],
    /// [batch, aux_width], written (LSTM tanh(c), GRU W_hn h + b_hn).
    pub aux: &'a mut [R],
    /// The layer's element-wise options.
    pub options: &'a CellOptions,
    /// [PEEPHOLES·H] in ONNX's order i, o, f with `options.peephole`, else empty.
    pub peephole: &'a [R],
}

/// One backward step over a batch: the gradient of the loss w.r.t. h_t becomes gradients of the
/// pre-activations (dGates) and of the previous state.
pub struct StepBackward<'a, R> {
    pub batch: usize,
    pub hidden: usize,
    pub active: &'a [bool],
    /// What the forward step stored: gates [batch, G·H], aux [batch, aux_width], h_prev, c_prev.
    pub gates: &'a [R],
    pub aux: &'a [R],
    pub h_prev: &'a [R],
    pub c_prev: &'a [R],
    /// [batch, H]: dL/dh_t (for active rows already including dL/d output_t).
    pub dh: &'a [R],
    /// [batch, H] with a cell state (else empty). In: dL/dc_t. Out: dL/dc_{t−1}.
    pub dc: &'a mut [R],
    /// [batch, G·H], written: dL/d(x-side pre-activation); zero rows for inactive steps.
    pub dgx: &'a mut [R],
    /// [batch, apart_gates·H] (else empty), written: dL/d(W_h·h + b_h) of the apart gates. Every
    /// other gate's hidden-side gradient equals its `dgx` column, so the caller reuses `dgx` there.
    pub dgh: &'a mut [R],
    /// [batch, H], written: the part of dL/dh_{t−1} that does not flow through W_hh (GRU's z ⊙ dh,
    /// the carried gradient of inactive rows, else 0). The caller then adds dGh·W_hh.
    pub dh_prev: &'a mut [R],
    /// As in `StepForward`. (The peephole gradients are the caller's: sums of `dgx` times c.)
    pub options: &'a CellOptions,
    pub peephole: &'a [R],
}

/// The first phase of a `Recurrence::Gated` step over a batch.
pub struct GateHidden<'a, R> {
    pub batch: usize,
    pub hidden: usize,
    /// [batch, G·H]: the blocks before the gated ones hold their pre-activations (input and hidden
    /// side) and are activated in place.
    pub gates: &'a mut [R],
    pub h_prev: &'a [R],
    /// [batch, H], written: g ⊙ h_{t−1}.
    pub gated_h: &'a mut [R],
    /// The layer's element-wise options (the gate activation).
    pub options: &'a CellOptions,
}

/// The last phase of a `Recurrence::Gated` BPTT step over a batch.
pub struct GateHiddenBackward<'a, R> {
    pub batch: usize,
    pub hidden: usize,
    /// [batch, G·H]: what the forward step stored.
    pub gates: &'a [R],
    pub h_prev: &'a [R],
    /// [batch, H]: dL/d(g ⊙ h_{t−1}).
    pub d_gated_h: &'a [R],
    /// [batch, G·H]: g's block written.
    pub dgx: &'a mut [R],
    /// [batch, H]: added to.
    pub dh_prev: &'a mut [R],
    /// The layer's element-wise options (the gate activation).
    pub options: &'a CellOptions,
}

/// One batch row's f32 forward step with its recurrent product fused in (`Cell::row_step`).
pub struct RowStep<'a> {
    pub hidden: usize,
    pub active: bool,
    /// Walk the unit groups from the last (the scan alternates, so the weights read last stay in L1).
    pub reverse: bool,
    /// W_hh packed by `kernels::pack_row_weights` for the kernel table's lanes.
    pub w: &'a [f32],
    /// As `StepForward::b_hh_apart`; empty when absent.
    pub b_hh_apart: &'a [f32],
    /// [G·H]: in the row's input projection, out its gate activations.
    pub gates: &'a mut [f32],
    pub h_prev: &'a [f32],
    pub h: &'a mut [f32],
    pub c_prev: &'a [f32],
    pub c: &'a mut [f32],
    pub aux: &'a mut [f32],
}

fn is_f32<R: 'static>() -> bool {
    TypeId::of::<R>() == TypeId::of::<f32>()
}

/// `xs` as f32 when `R` is f32: the production path then runs the packed kernels of the kernel
/// table, while f64 (the gradient-check oracle) runs the generic code.
pub(crate) fn as_f32<R: Real>(xs: &[R]) -> Option<&[f32]> {
    is_f32::<R>().then(|| {
        // SAFETY: R is f32 (same TypeId), so this reinterprets a slice as its own type.
        unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<f32>(), xs.len()) }
    })
}

/// Mutable `as_f32`.
pub(crate) fn as_f32_mut<R: Real>(xs: &mut [R]) -> Option<&mut [f32]> {
    is_f32::<R>().then(|| {
        // SAFETY: R is f32 (same TypeId); the returned borrow replaces `xs` for its lifetime.
        unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr().cast::<f32>(), xs.len()) }
    })
}

/// `as_f32` of a slice known to be f32 (the caller checked `is_f32`).
fn f32s<R: Real>(xs: &[R]) -> &[f32] {
    as_f32(xs).expect("checked: R is f32")
}

fn f32s_mut<R: Real>(xs: &mut [R]) -> &mut [f32] {
    as_f32_mut(xs).expect("checked: R is f32")
}

impl<'a, R: Real> StepForward<'a, R> {
    /// The same step typed f32 when `R` is f32, else itself back. (Both sides are the same few
    /// borrowed views, moved once per step.)
    #[allow(clippy::result_large_err)]
    fn into_f32(self) -> Result<StepForward<'a, f32>, Self> {
        if !is_f32::<R>() {
            return Err(self);
        }
        let StepForward { batch, hidden, active, gates, gh, b_hh_apart, h_prev, h, c_prev, c, aux, options, peephole } = self;
        Ok(StepForward {
            batch,
            hidden,
            active,
            gates: f32s_mut(gates),
            gh: f32s(gh),
            b_hh_apart: b_hh_apart.map(f32s),
            h_prev: f32s(h_prev),
            h: f32s_mut(h),
            c_prev: f32s(c_prev),
            c: f32s_mut(c),
            aux: f32s_mut(aux),
            options,
            peephole: f32s(peephole),
        })
    }
}

impl<'a, R: Real> StepBackward<'a, R> {
    /// The same step typed f32 when `R` is f32, else itself back. (Both sides are the same few
    /// borrowed views, moved once per step.)
    #[allow(clippy::result_large_err)]
    fn into_f32(self) -> Result<StepBackward<'a, f32>, Self> {
        if !is_f32::<R>() {
            return Err(self);
        }
        let StepBackward { batch, hidden, active, gates, aux, h_prev, c_prev, dh, dc, dgx, dgh, dh_prev, options, peephole } = self;
        Ok(StepBackward {
            batch,
            hidden,
            active,
            gates: f32s(gates),
            aux: f32s(aux),
            h_prev: f32s(h_prev),
            c_prev: f32s(c_prev),
            dh: f32s(dh),
            dc: f32s_mut(dc),
            dgx: f32s_mut(dgx),
            dgh: f32s_mut(dgh),
            dh_prev: f32s_mut(dh_prev),
            options,
            peephole: f32s(peephole),
        })
    }
}

/// Adds `gh` into `gates` (cells given h·W_hhᵀ separately; no-op when empty).
pub(crate) fn add_gh<R: Real>(gates: &mut [R], gh: &[R]) {
    gates.iter_mut().zip(gh).for_each(|(g, h)| *g += *h);
}

/// Copies row `b` of `src` into `dst` for every inactive row: the state carried past a sequence's end.
pub(crate) fn carry_inactive<R: Real>(active: &[bool], hidden: usize, src: &[R], dst: &mut [R]) {
    for (b, _) in active.iter().enumerate().filter(|(_, a)| !**a) {
        dst[b * hidden..(b + 1) * hidden].copy_from_slice(&src[b * hidden..(b + 1) * hidden]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Inputs of one step for `cell`: batch 3 (row 1 past its sequence), H = 5 (not a multiple of
    /// any vector width), every operand the cell reads filled from `rng`.
    struct Case {
        active: Vec<bool>,
        gates: Vec<f64>,
        gh: Vec<f64>,
        b_apart: Vec<f64>,
        h_prev: Vec<f64>,
        c_prev: Vec<f64>,
        dh: Vec<f64>,
        dc: Vec<f64>,
        options: CellOptions,
        /// [PEEPHOLES·H] with `options.peephole`.
        peephole: Vec<f64>,
    }
    const B: usize = 3;
    const H: usize = 5;

    fn case(cell: &dyn Cell, options: CellOptions, rng: &mut Rng) -> Case {
        let mut v = |n: usize| (0..n).map(|_| rng.uniform(-1.5, 1.5)).collect::<Vec<f64>>();
        let (gs, c) = (cell.gates() * H, if cell.has_cell_state() { B * H } else { 0 });
        let gh = if cell.apart_gates() > 0 { v(B * gs) } else { Vec::new() };
        let peephole = if options.peephole { v(options::PEEPHOLES * H) } else { Vec::new() };
        Case { active: vec![true, false, true], gates: v(B * gs), gh, b_apart: v(cell.apart_gates() * H), h_prev: v(B * H), c_prev: v(c), dh: v(B * H), dc: v(c), options, peephole }
    }

    /// Every output of one forward and one backward step, run in `R` through `Cell::forward_step`
    /// and `backward_step` (f32: the fused kernels of `forward_f32`; f64: the generic formulas).
    fn run<R: Real, C: Cell>(cell: &C, k: &Case) -> Vec<Vec<f64>> {
        let r = |x: &[f64]| x.iter().map(|&v| R::from_f64(v)).collect::<Vec<R>>();
        let (gs, aux_w) = (cell.gates() * H, cell.aux_width(H));
        let (mut gates, mut h, mut c, mut aux) = (r(&k.gates), vec![R::ZERO; B * H], vec![R::ZERO; k.c_prev.len()], vec![R::ZERO; B * aux_w]);
        let (h_prev, c_prev, b_apart) = (r(&k.h_prev), r(&k.c_prev), r(&k.b_apart));
        let b_hh_apart = (!b_apart.is_empty()).then_some(&b_apart[..]);
        let (gh, peephole) = (r(&k.gh), r(&k.peephole));
        let options = &k.options;
        cell.forward_step(StepForward { batch: B, hidden: H, active: &k.active, gates: &mut gates, gh: &gh, b_hh_apart, h_prev: &h_prev, h: &mut h, c_prev: &c_prev, c: &mut c, aux: &mut aux, options, peephole: &peephole });
        let (mut dc, mut dgx, mut dgh, mut dh_prev) = (r(&k.dc), vec![R::ZERO; B * gs], vec![R::ZERO; B * cell.apart_gates() * H], vec![R::ZERO; B * H]);
        let dh = r(&k.dh);
        cell.backward_step(StepBackward { batch: B, hidden: H, active: &k.active, gates: &gates, aux: &aux, h_prev: &h_prev, c_prev: &c_prev, dh: &dh, dc: &mut dc, dgx: &mut dgx, dgh: &mut dgh, dh_prev: &mut dh_prev, options, peephole: &peephole });
        [gates, h, c, aux, dc, dgx, dgh, dh_prev].iter().map(|x| x.iter().map(|v| v.to_f64()).collect()).collect()
    }

    /// Each cell's f32 step (the kernel table's fused kernels where it has them, the generic
    /// formulas in f32 with options) agrees with its generic formulas in f64, forward and backward,
    /// for every operand the trait routes: the f32 entry gets the same fields the generic one does.
    #[test]
    fn f32_steps_match_the_generic_formulas() {
        let mut rng = Rng::new(11);
        let hard = Some(GateActivation::HardSigmoid);
        let lstm_options = CellOptions { gate_activation: hard, activation: Some(GateActivation::Softsign), cell_activation: Some(GateActivation::Tanh), peephole: true, cell_clip: Some(1.2), input_forget: false, proj_size: 0 };
        let variants = [
            (None, CellOptions::default()),
            (Some(CellKind::Lstm), lstm_options),
            (Some(CellKind::Lstm), CellOptions { input_forget: true, cell_clip: None, ..lstm_options }),
            (Some(CellKind::Gru), CellOptions { gate_activation: hard, activation: Some(GateActivation::Relu), ..Default::default() }),
            (Some(CellKind::RnnTanh), CellOptions { activation: Some(GateActivation::Elu), ..Default::default() }),
        ];
        for kind in CellKind::ALL {
            for &(only, options) in &variants {
                if only.is_some_and(|o| o != kind) {
                    continue;
                }
                with_cell!(kind, |cell| {
                    let k = case(cell, options, &mut rng);
                    let (got, want) = (run::<f32, _>(cell, &k), run::<f64, _>(cell, &k));
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert_eq!(g.len(), w.len(), "{kind:?} {options:?} output {i}");
                        let err = g.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                        assert!(err < 1e-5, "{kind:?} {options:?} output {i}: max error {err}");
                    }
                });
            }
        }
    }

    /// Every name is distinct and finds its cell again: what `layers::recurrent` and the older
    /// `blocks` format rely on to map a config back to its cell.
    #[test]
    fn names_are_unique_and_consistent() {
        for a in CellKind::ALL {
            for b in CellKind::ALL {
                let same = (a.layer_type(), a.nonlinearity(), a.reset_after()) == (b.layer_type(), b.nonlinearity(), b.reset_after());
                assert_eq!(same, a == b, "{a:?} {b:?}");
                assert_eq!(a.name() == b.name(), a == b, "{a:?} {b:?}");
            }
            assert!(a.gate_panels().is_empty() || a.gate_panels().len() == a.gates(), "{a:?}");
            assert!(a.apart_gates() < a.gates() || a.apart_gates() == 0, "{a:?}");
        }
    }
}
