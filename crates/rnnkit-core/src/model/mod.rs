//! `Model`: recurrent blocks plus an optional dense head, with inference, BPTT, and whole training
//! steps and epochs (forward, loss, backward, clipping, optimizer update) entirely in Rust. This is
//! the one surface the N-API and wasm bindings expose; they only convert arguments.
//!
//! Shapes: `x` is [batch, seq_len, input] when `spec.batch_first`, else [seq_len, batch, input].
//! Sequence outputs follow the same layout; a last-step head gives [batch, units].
//! States (`h0`, `h`, `c0`, `c`) are the blocks' [num_layers·D, batch, H] tensors concatenated in
//! block order (for a lone block exactly PyTorch's `h_n`/`c_n`).

use std::borrow::Cow;
use std::ops::Range;

pub use crate::dataset::{Batch, DataSummary, Dataset, Inputs, InputsRef, Targets, TargetsRef};
use crate::dataset::expect_finite;
use crate::dense::{dense_backward, dense_forward};
use crate::layers::activation::activation_backward;
use crate::error::{Error, Result};
use crate::init::{init_block, init_dense};
use crate::recurrent::{BlockInput, RecurrentBlock};
use crate::loss::{loss_and_grad, loss_parts, Targets as LossTargets};
use crate::optim::{clip_grad_norm, clip_grad_value, Optimizer};
use crate::params::{model_layout, ParamInfo};
use crate::real::Real;
use crate::rng::Rng;
use crate::shape::{dims_str, expect_len};
use crate::spare::Spare;
use crate::spec::{Activation, LossKind, ModelSpec, TrainSpec};

/// The production model: float32 through the SIMD kernels.
pub type Model = Network<f32>;

#[derive(Default)]
pub struct ForwardOptions<'a, R = f32> {
    pub h0: Option<&'a [R]>,
    pub c0: Option<&'a [R]>,
    /// Valid steps per sequence, each in 1..=seq_len.
    pub lengths: Option<&'a [i32]>,
    /// Keep activations for `backward` and apply dropout.
    pub training: bool,
}

pub struct ForwardResult<R = f32> {
    pub output: Vec<R>,
    pub output_dims: Vec<usize>,
    pub h: Vec<R>,
    pub c: Vec<R>,
}

pub struct BackwardResult<R = f32> {
    pub dx: Vec<R>,
    pub dh0: Vec<R>,
    pub dc0: Vec<R>,
    /// Same layout as `params()`.
    pub grads: Vec<R>,
}

mod batch;
mod options;
mod pass;
mod train;

pub use options::{BatchRange, EpochOptions, EpochStats, EpochTotals, EvalParts, EvalRange};

struct Training<R: Real> {
    spec: TrainSpec,
    optimizer: Optimizer<R>,
}

/// The head's input and outputs from the last training forward (rows are time-major (t, b) for a
/// sequence head, b for a last-step head).
struct HeadCache<R> {
    x: Vec<R>,
    z: Vec<R>,
    y: Vec<R>,
    rows: usize,
}

/// What `backward` needs beyond the blocks' own caches.
struct Cache<R> {
    batch: usize,
    seq_len: usize,
    lengths: Option<Vec<usize>>,
    head: Option<HeadCache<R>>,
}

/// Where `run` leaves the last block's output, when the model has no head.
enum SeqOut<'o, R> {
    /// Time-major in `Pass::seq` (what losses and heads read).
    Core,
    /// In the user's layout (`spec.batch_first`): straight into this slice (of exactly the visible
    /// output's length; `Pass::seq` is then empty), or into `Pass::seq`.
    Visible(Option<&'o mut [R]>),
}

/// One forward pass.
struct Pass<R> {
    /// Last block's output: [T, B, F], or in the user's layout after `SeqOut::Visible`; empty when
    /// a sequence head took ownership of it or it went straight into the caller's slice.
    seq: Vec<R>,
    h: Vec<R>,
    c: Vec<R>,
    head: Option<HeadCache<R>>,
}

/// Gradient arriving at the model's output: of the visible output, or of the head's logits.
enum OutGrad<'a, R> {
    Output(&'a [R]),
    Logits(&'a [R]),
}

/// A batch validated and converted to time-major.
struct Prepared<R> {
    /// Token ids [T, B] time-major when the input is ids (then `x` is empty: the first layer reads them).
    ids: Option<Vec<i32>>,
    x: Vec<R>,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    y: Targets<R>,
    /// Per-row loss weights (sequence outputs), time-major [T, B]; None = all 1.
    weights: Option<Vec<R>>,
}

/// What validation learned about a batch: (seq_len, samples, lengths).
struct Checked<'a> {
    t: usize,
    n: usize,
    lengths: Option<Cow<'a, [usize]>>,
}

/// What the compiled loss reads from a pass.
struct LossInput<'p, R> {
    kind: LossKind,
    /// [rows, units]: the head's y for MSE, its logits otherwise, or the last block's output.
    pred: &'p [R],
    targets: LossTargets<'p, R>,
    rows: usize,
    units: usize,
}

/// An epoch's sample order and the epoch stream right after shuffling, for (dataset id, seed, shuffle).
struct EpochOrder {
    key: (u64, u64, bool),
    order: Vec<usize>,
    rng: Rng,
}

/// Streaming state for `step`.
struct Stream<R> {
    batch: usize,
    h: Vec<R>,
    c: Vec<R>,
}

pub struct Network<R: Real> {
    spec: ModelSpec,
    layout: Vec<ParamInfo>,
    params: Vec<R>,
    block_ranges: Vec<Range<usize>>,
    head_range: Range<usize>,
    blocks: Vec<RecurrentBlock<R>>,
    training: Option<Training<R>>,
    cache: Option<Cache<R>>,
    stream: Option<Stream<R>>,
    rng: Rng,
    /// Bumped on every parameter change, so blocks reuse weights packed for the kernels until then.
    params_version: u64,
    /// Large per-step buffers handed back after a training step, for the next one.
    spare: Spare<R>,
    /// The order of the epoch being trained in chunks (see `train_batches`).
    epoch_order: Option<EpochOrder>,
}

impl<R: Real> Network<R> {
    /// Builds and initialises (seeded by `spec.seed`) a model from spec JSON (see `spec.rs`).
    pub fn from_json(spec_json: &str) -> Result<Self> {
        crate::kernels::init_kernels()?;
        Self::new(ModelSpec::from_json(spec_json)?)
    }

    pub fn new(spec: ModelSpec) -> Result<Self> {
        let layout = model_layout(&spec);
        let total: usize = layout.iter().map(ParamInfo::len).sum();
        if total > (1 << 31) {
            return Err(Error::value("spec", format!("{total} parameters is more than rnnkit supports (2^31)")));
        }
        let mut rng = Rng::new(spec.seed);
        let mut flat = vec![0f32; total];
        let mut block_ranges = Vec::new();
        let mut start = 0;
        for b in &spec.blocks {
            let n = crate::params::block_param_count(b);
            init_block(b, &mut flat[start..start + n], &mut rng);
            block_ranges.push(start..start + n);
            start += n;
        }
        if let Some(h) = &spec.head {
            init_dense(h, &mut flat[start..], &mut rng);
        }
        let head_range = start..total;
        let blocks = spec.blocks.iter().map(|b| RecurrentBlock::new(b.clone())).collect();
        Ok(Network {
            params: flat.into_iter().map(R::from_f32).collect(),
            layout,
            block_ranges,
            head_range,
            blocks,
            training: None,
            cache: None,
            stream: None,
            rng,
            params_version: 0,
            spare: Spare::default(),
            epoch_order: None,
            spec,
        })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Canonical spec JSON (all defaults filled in), as stored in saved files.
    pub fn spec_json(&self) -> String {
        self.spec.to_json()
    }

    /// Names, shapes and offsets, in the order of `params()`.
    pub fn param_info(&self) -> &[ParamInfo] {
        &self.layout
    }

    pub fn params(&self) -> &[R] {
        &self.params
    }

    /// Replaces all parameters (length checked, values must be finite).
    pub fn set_params(&mut self, flat: &[R]) -> Result<()> {
        expect_len("params", flat.len(), &[self.params.len()])?;
        if let Some(i) = flat.iter().position(|v| !v.is_finite()) {
            let name = self.layout.iter().find(|p| p.range().contains(&i)).map(|p| p.name.as_str()).unwrap_or("?");
            return Err(Error::value("params", format!("expected finite numbers, got {:?} in {name}", flat[i])));
        }
        self.params.copy_from_slice(flat);
        self.params_version += 1;
        self.drop_caches();
        Ok(())
    }

    /// Elements of h and c (0 unless some block is an LSTM) for a batch of `batch`.
    pub fn state_len(&self, batch: usize) -> (usize, usize) {
        let h: usize = self.spec.blocks.iter().map(|b| b.state_rows() * batch * b.hidden_size).sum();
        let c: usize = self.spec.blocks.iter().filter(|b| b.cell.has_cell_state()).map(|b| b.state_rows() * batch * b.hidden_size).sum();
        (h, c)
    }

    /// Output dims for input dims (validates x_dims).
    pub fn output_dims(&self, x_dims: [usize; 3]) -> Result<Vec<usize>> {
        let (t, b) = self.check_x_dims(x_dims)?;
        Ok(self.output_dims_for(t, b))
    }

    /// Sets loss, optimizer and clipping from train-spec JSON; resets optimizer state.
    pub fn compile(&mut self, train_json: &str) -> Result<()> {
        let spec = TrainSpec::from_json(train_json)?;
        let act = self.spec.head.as_ref().map(|h| h.activation).unwrap_or(Activation::Identity);
        let ok = match spec.loss {
            LossKind::Mse => true,
            LossKind::BceWithLogits => matches!(act, Activation::Identity | Activation::Sigmoid),
            LossKind::CrossEntropy => matches!(act, Activation::Identity | Activation::Softmax),
        };
        if !ok {
            let wanted = if spec.loss == LossKind::CrossEntropy { "identity or softmax" } else { "identity or sigmoid" };
            return Err(Error::value("train.loss", format!("{:?} needs a head activation of {wanted} (it is computed on the logits), got {act:?}", spec.loss)));
        }
        let optimizer = Optimizer::new(spec.optimizer, self.params.len());
        self.training = Some(Training { spec, optimizer });
        Ok(())
    }

    fn has_dropout(&self) -> bool {
        self.spec.blocks.iter().any(|b| b.dropout > 0.0 && b.num_layers > 1)
    }

    fn drop_caches(&mut self) {
        if let Some(HeadCache { x, z, y, .. }) = self.cache.take().and_then(|c| c.head) {
            [x, z, y].into_iter().for_each(|v| self.spare.give(v));
        }
        self.blocks.iter_mut().for_each(RecurrentBlock::clear_cache);
    }

    fn check_compiled(&self) -> Result<()> {
        if self.training.is_none() {
            return Err(Error::value("model", "call compile() with a loss and optimizer before training or evaluating"));
        }
        Ok(())
    }

    fn output_features(&self) -> usize {
        match &self.spec.head {
            Some(h) => h.units,
            None => self.spec.recurrent_output_size(),
        }
    }

    fn sequence_output(&self) -> bool {
        self.spec.head.as_ref().is_none_or(|h| h.return_sequences)
    }

    fn output_dims_for(&self, t: usize, b: usize) -> Vec<usize> {
        let f = self.output_features();
        match (self.sequence_output(), self.spec.batch_first) {
            (false, _) => vec![b, f],
            (true, true) => vec![b, t, f],
            (true, false) => vec![t, b, f],
        }
    }
}
