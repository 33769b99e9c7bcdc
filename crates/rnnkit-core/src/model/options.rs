//! The plain option and result types of training and evaluation calls (epochs in chunks, dataset
//! evaluation in chunks), shared by the core and both bindings.

use crate::real::Real;

/// Which batches of a dataset one `evaluate_batches` call scores, and the sums of those before.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EvalRange {
    pub first: usize,
    /// At most this many batches; `None`: through the end.
    pub max: Option<usize>,
    /// Σ unreduced loss and Σ denominator of the batches before `first`.
    pub total: f64,
    pub weight: f64,
}

/// Running sums of an evaluation (see `EvalRange`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalParts {
    pub total: f64,
    pub weight: f64,
    /// The batch a following call starts at.
    pub next_batch: usize,
    /// Batches in the whole dataset.
    pub batches: usize,
}

impl EvalParts {
    /// The mean loss so far (0 when every row so far was masked out).
    pub fn loss(&self) -> f64 {
        if self.weight > 0.0 { self.total / self.weight } else { 0.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochOptions {
    pub batch_size: usize,
    pub shuffle: bool,
    /// Seeds this epoch's shuffle and dropout.
    pub seed: u64,
    /// Truncated BPTT: train each batch in chunks of this many steps, carrying the state across
    /// chunks without gradient. `None`: the whole sequence at once.
    pub tbptt: Option<usize>,
}

/// Which mini-batches of an epoch one `train_batches` call trains, so a caller can run an epoch in
/// chunks (progress, cancellation) with results identical bit for bit to one `train_epoch` call:
/// the epoch's sample order and batch `i`'s dropout stream depend only on (`seed`, `i`), and the
/// running sums continue from `carry` in the same order as one call would add them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchRange {
    /// First mini-batch to train, in the epoch's (seeded) order; at most the epoch's batch count.
    pub first: usize,
    /// Train at most this many mini-batches (>= 1); `None`: through the end of the epoch.
    pub max: Option<usize>,
    /// The totals the epoch's batches before `first` produced (the previous chunk's
    /// `EpochStats::totals`; zeros when `first` is 0).
    pub carry: EpochTotals,
}

/// Running sums of an epoch, in the order updates happened.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EpochTotals {
    /// Optimizer updates so far (one per mini-batch; with TBPTT one per trained window).
    pub updates: usize,
    /// Sum of the updates' losses (each taken before its update).
    pub loss_sum: f64,
    /// Sum of the updates' global gradient L2 norms before clipping.
    pub grad_norm_sum: f64,
}

/// What one epoch (or the part of it trained so far) measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Mean batch loss (each loss taken before its update) over the epoch so far, carry included.
    pub loss: f64,
    /// Mean over the epoch's updates so far of the global gradient L2 norm, before any clipping:
    /// how big the gradients really are (vanishing or exploding gradients show here).
    pub grad_norm: f64,
    /// The epoch's running sums after this call (pass them as the next chunk's `carry`).
    pub totals: EpochTotals,
    /// Mini-batches trained by this call.
    pub batches: usize,
    /// Samples in those mini-batches.
    pub samples: usize,
    /// The mini-batch the next chunk starts at (`first + batches`).
    pub next_batch: usize,
    /// Mini-batches in the whole epoch (`ceil(samples / batch_size)`).
    pub epoch_batches: usize,
}

impl EpochTotals {
    /// (mean loss, mean gradient norm); zeros before any update.
    pub(super) fn means<R: Real>(&self) -> (f64, f64) {
        let n = self.updates.max(1) as f64;
        // Losses are f32-valued; round the mean the same way the single-step API does.
        (R::from_f64(self.loss_sum / n).to_f64(), self.grad_norm_sum / n)
    }
}
