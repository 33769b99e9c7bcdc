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
use crate::dense::{activation_backward, dense_backward, dense_forward};
use crate::error::{Error, Result};
use crate::init::{init_block, init_dense};
use crate::layer::{BlockInput, RecurrentBlock};
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
    fn means<R: Real>(&self) -> (f64, f64) {
        let n = self.updates.max(1) as f64;
        // Losses are f32-valued; round the mean the same way the single-step API does.
        (R::from_f64(self.loss_sum / n).to_f64(), self.grad_norm_sum / n)
    }
}

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

    pub fn forward(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>) -> Result<ForwardResult<R>> {
        self.forward_impl(x, x_dims, opts, None)
    }

    /// `forward` that writes the output into `output` (exactly `output_dims(x_dims)` elements) and
    /// returns the rest with an empty `output`: a binding passes memory its caller will own (a JS
    /// ArrayBuffer) and saves a copy of the whole output (F1: 3.2 MB).
    pub fn forward_to(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, output: &mut [R]) -> Result<ForwardResult<R>> {
        self.forward_impl(x, x_dims, opts, Some(output))
    }

    fn forward_impl(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, into: Option<&mut [R]>) -> Result<ForwardResult<R>> {
        let (t, b) = self.check_x(x, x_dims)?;
        let output_dims = self.output_dims_for(t, b);
        if let Some(out) = &into {
            expect_len("output", out.len(), &output_dims)?;
        }
        let (h_len, c_len) = self.state_len(b);
        check_state("h0", opts.h0, h_len, true)?;
        check_state("c0", opts.c0, c_len, c_len > 0)?;
        let lengths = opts.lengths.map(|l| check_lengths(l, b, t)).transpose()?;
        let spare = &mut self.spare;
        let x_tm = to_time_major(x, b, t, x_dims[2], self.spec.batch_first, || spare.empty(x.len()));
        let mut rng = if opts.training && self.has_dropout() { Some(self.rng.fork()) } else { None };
        // Without a head the recurrent output is the visible one: the last block writes it in the
        // user's layout, into `into` when given (F1: no 3.2 MB copy or batch-first reorder after).
        let direct = self.spec.head.is_none();
        let (seq_out, into) = if direct { (SeqOut::Visible(into), None) } else { (SeqOut::Core, into) };
        let mut pass = self.run(&x_tm, None, t, b, opts.h0, opts.c0, lengths.as_deref(), rng.as_mut(), opts.training, seq_out);
        let output = match into {
            _ if direct => std::mem::take(&mut pass.seq),
            Some(out) => {
                self.write_visible_output(&pass, t, b, out);
                Vec::new()
            }
            None => self.visible_output(&mut pass, t, b),
        };
        // What the caller does not get back is kept for the next call (inference keeps no head cache).
        if let Cow::Owned(v) = x_tm {
            self.spare.give(v);
        }
        self.spare.give(std::mem::take(&mut pass.seq));
        if !opts.training {
            if let Some(HeadCache { x, z, y, .. }) = pass.head.take() {
                [x, z, y].into_iter().for_each(|v| self.spare.give(v));
            }
        }
        let result = ForwardResult { output, output_dims, h: pass.h, c: pass.c };
        self.cache = opts.training.then_some(Cache { batch: b, seq_len: t, lengths, head: pass.head });
        Ok(result)
    }

    /// Gradients through the last `forward` with `training: true`. `d_output` is shaped like its
    /// output; `dh`/`dc` like its `h`/`c` (zeros when `None`).
    pub fn backward(&mut self, d_output: &[R], dh: Option<&[R]>, dc: Option<&[R]>) -> Result<BackwardResult<R>> {
        let Some(cache) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (t, b) = (cache.seq_len, cache.batch);
        let out_dims = self.output_dims_for(t, b);
        expect_len("dOutput", d_output.len(), &out_dims)?;
        expect_finite("dOutput", d_output)?;
        let (h_len, c_len) = self.state_len(b);
        check_state("dh", dh, h_len, true)?;
        check_state("dc", dc, c_len, c_len > 0)?;
        let d_tm = self.output_to_core(d_output, t, b);
        let mut grads = vec![R::ZERO; self.params.len()];
        let (dx_tm, dh0, dc0) = self.run_backward(OutGrad::Output(&d_tm), dh, dc, &mut grads, true)?;
        let input = self.spec.blocks[0].input_size;
        // Time-major dx is already in the user's layout: moved, not copied.
        let dx = if self.spec.batch_first { from_time_major(&dx_tm, b, t, input, true) } else { dx_tm };
        Ok(BackwardResult { dx, dh0, dc0, grads })
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

    /// One step (forward, loss, BPTT, clip, update); returns the batch loss before the update.
    pub fn train_step(&mut self, batch: &Batch<'_, R>) -> Result<R> {
        self.check_compiled()?;
        let p = self.prepare(batch)?;
        let mut rng = self.rng.fork();
        let loss = self.train_prepared(&p, &mut rng);
        self.recycle(p);
        loss
    }

    /// One pass over `data` in mini-batches; returns the mean batch loss and gradient norm.
    pub fn train_epoch(&mut self, data: &Dataset<R>, opts: &EpochOptions) -> Result<EpochStats> {
        self.train_batches(data, opts, &BatchRange::default())
    }

    /// Part of an epoch: mini-batches `range.first ..` (at most `range.max` of them) of the epoch
    /// `opts` describes. Chunks that cover an epoch in order, each given the previous one's
    /// totals as `carry`, leave the model and the final stats exactly as one `train_epoch` would.
    pub fn train_batches(&mut self, data: &Dataset<R>, opts: &EpochOptions, range: &BatchRange) -> Result<EpochStats> {
        self.check_compiled()?;
        let whole = data.as_batch();
        // Every check is O(1) against what building the dataset learned (plus the lengths' cast),
        // so a chunk of an epoch costs its mini-batches and nothing that grows with the dataset.
        let checked = self.validate_dataset(data)?;
        let n = checked.n;
        if opts.batch_size == 0 {
            return Err(Error::value("batchSize", "expected an integer >= 1, got 0"));
        }
        if opts.tbptt == Some(0) {
            return Err(Error::value("tbptt", "expected an integer >= 1, got 0"));
        }
        let epoch_batches = n.div_ceil(opts.batch_size);
        if range.first > epoch_batches {
            return Err(Error::value("firstBatch", format!("expected an integer in 0..={epoch_batches} (the epoch's mini-batches), got {}", range.first)));
        }
        if range.max == Some(0) {
            return Err(Error::value("maxBatches", "expected an integer >= 1, got 0"));
        }
        let carry = range.carry;
        for (name, v) in [("carryLossSum", carry.loss_sum), ("carryGradNormSum", carry.grad_norm_sum)] {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::value(name, format!("expected a finite number >= 0, got {v}")));
            }
        }
        // The epoch's order (and the stream after shuffling) is made once per (dataset, seed,
        // shuffle) and kept, so later chunks of the epoch do not redo O(n) work.
        let key = (data.id(), opts.seed, opts.shuffle);
        let EpochOrder { order, rng, .. } = match self.epoch_order.take() {
            Some(kept) if kept.key == key && kept.order.len() == n => kept,
            _ => {
                let mut rng = Rng::new(opts.seed);
                let mut order: Vec<usize> = (0..n).collect();
                if opts.shuffle {
                    rng.shuffle(&mut order);
                }
                EpochOrder { key, order, rng }
            }
        };
        self.epoch_order = Some(EpochOrder { key, order: Vec::new(), rng: rng.clone() });
        let mut rng = rng;
        // Batch i trains with the i-th fork of the epoch stream. A fork consumes one draw, so
        // skipping the first batches' draws gives batch `first` exactly the stream one whole-epoch
        // call would have given it (and keeps histories identical to before chunking existed).
        for _ in 0..range.first {
            rng.next_u64();
        }
        let end = range.max.map_or(epoch_batches, |m| range.first.saturating_add(m).min(epoch_batches));
        let mut totals = carry;
        let mut samples = 0usize;
        for i in range.first..end {
            let idx = &order[i * opts.batch_size..((i + 1) * opts.batch_size).min(n)];
            let p = self.gather(&whole, &checked, idx);
            let mut step_rng = rng.fork();
            let updates = match opts.tbptt {
                Some(k) if k < p.seq_len => self.train_truncated(&p, k, &mut step_rng)?,
                _ => vec![self.train_prepared_stats(&p, &mut step_rng)?],
            };
            self.recycle(p);
            for (loss, norm) in updates {
                totals.loss_sum += loss.to_f64();
                totals.grad_norm_sum += norm;
                totals.updates += 1;
            }
            samples += idx.len();
        }
        if let Some(kept) = &mut self.epoch_order {
            kept.order = order;
        }
        let (loss, grad_norm) = totals.means::<R>();
        Ok(EpochStats { loss, grad_norm, totals, batches: end - range.first, samples, next_batch: end, epoch_batches })
    }

    /// Loss on a batch without updating (uses the compiled loss).
    pub fn evaluate(&mut self, batch: &Batch<'_, R>) -> Result<R> {
        self.check_compiled()?;
        let p = self.prepare(batch)?;
        let pass = self.run(&p.x, p.ids.as_deref(), p.seq_len, p.batch, None, None, p.lengths.as_deref(), None, false, SeqOut::Core);
        let loss = self.loss_of(&pass, &p).map(|(loss, grad)| {
            self.spare.give(grad);
            loss
        });
        self.recycle_pass(pass);
        self.recycle(p);
        loss
    }

    /// Loss on a whole dataset without updating: exactly the compiled loss over all of it at once
    /// (Σ of the batches' unreduced losses over Σ of their denominators), `batch_size` samples at a
    /// time in order, so memory is one mini-batch's.
    pub fn evaluate_dataset(&mut self, data: &Dataset<R>, batch_size: usize) -> Result<f64> {
        let parts = self.evaluate_batches(data, batch_size, &EvalRange::default())?;
        Ok(parts.loss())
    }

    /// Part of `evaluate_dataset`: batches `range.first ..` (at most `range.max`), continuing the
    /// sums in `range`, so a caller can score a large set in chunks (progress, responsiveness) with
    /// the same result as one call.
    pub fn evaluate_batches(&mut self, data: &Dataset<R>, batch_size: usize, range: &EvalRange) -> Result<EvalParts> {
        self.check_compiled()?;
        if batch_size == 0 {
            return Err(Error::value("batchSize", "expected an integer >= 1, got 0"));
        }
        if !(range.total.is_finite() && range.weight.is_finite() && range.weight >= 0.0) {
            return Err(Error::value("carry", format!("expected finite sums (weight >= 0), got total {} and weight {}", range.total, range.weight)));
        }
        let checked = self.validate_dataset(data)?;
        let batches = checked.n.div_ceil(batch_size);
        if range.first > batches {
            return Err(Error::value("firstBatch", format!("expected an integer in 0..={batches} (the dataset's batches), got {}", range.first)));
        }
        let end = range.max.map_or(batches, |m| range.first.saturating_add(m.max(1)).min(batches));
        let whole = data.as_batch();
        let (mut total, mut weight) = (range.total, range.weight);
        for i in range.first..end {
            let idx: Vec<usize> = (i * batch_size..((i + 1) * batch_size).min(checked.n)).collect();
            let p = self.gather(&whole, &checked, &idx);
            let pass = self.run(&p.x, p.ids.as_deref(), p.seq_len, p.batch, None, None, p.lengths.as_deref(), None, false, SeqOut::Core);
            let parts = self.loss_input(&pass, &p).and_then(|l| loss_parts(l.kind, l.pred, &l.targets, p.weights.as_deref(), l.rows, l.units));
            self.recycle_pass(pass);
            self.recycle(p);
            let (t, n) = parts?;
            total += t;
            weight += n;
        }
        if !total.is_finite() {
            return Err(Error::value("loss", format!("is {total}: the model's outputs are not finite on this data")));
        }
        Ok(EvalParts { total, weight, next_batch: end, batches })
    }

    /// Hands an inference pass's buffers back to `spare`.
    fn recycle_pass(&mut self, mut pass: Pass<R>) {
        self.spare.give(std::mem::take(&mut pass.seq));
        if let Some(HeadCache { x, z, y, .. }) = pass.head.take() {
            [x, z, y].into_iter().for_each(|v| self.spare.give(v));
        }
    }

    /// Streaming inference: one time step `x_t` [batch, input] from the kept state (zeros after
    /// `reset_state` or a batch-size change). Returns the head output [batch, units], or the last
    /// block's output [batch, D·H] without a head. Requires unidirectional blocks.
    pub fn step(&mut self, x_t: &[R], batch: usize) -> Result<Vec<R>> {
        if self.spec.blocks.iter().any(|b| b.bidirectional) {
            return Err(Error::value("step", "streaming needs unidirectional layers (a reverse direction sees the future)"));
        }
        let input = self.spec.blocks[0].input_size;
        self.check_x(x_t, [1, batch, input])?;
        let (h_len, c_len) = self.state_len(batch);
        if self.stream.as_ref().map(|s| s.batch) != Some(batch) {
            self.stream = Some(Stream { batch, h: vec![R::ZERO; h_len], c: vec![R::ZERO; c_len] });
        }
        let Some(state) = self.stream.take() else { unreachable!("stream state set above") };
        let mut pass = self.run(x_t, None, 1, batch, Some(&state.h), Some(&state.c), None, None, false, SeqOut::Core);
        let out = self.visible_output(&mut pass, 1, batch);
        self.stream = Some(Stream { batch, h: pass.h, c: pass.c });
        Ok(out)
    }

    pub fn reset_state(&mut self) {
        self.stream = None;
    }

    /// Hidden states, cell states and gate activations of every layer for ONE sequence `x`
    /// (`x_dims` with batch 1, layout as for `forward`), from zero states, without dropout. For
    /// reports and plots; see `trace.rs`.
    pub fn trace(&self, x: &[R], x_dims: [usize; 3]) -> Result<crate::trace::Trace> {
        let (t, b) = self.check_x(x, x_dims)?;
        if b != 1 {
            let layout = if self.spec.batch_first { "[1, seq_len, input_size]" } else { "[seq_len, 1, input_size]" };
            return Err(Error::shape("x", format!("one sequence: {layout}"), dims_str(&x_dims)));
        }
        // With batch 1 both layouts hold the same [T, input] buffer.
        Ok(crate::trace::trace(&self.spec, &self.params, &self.block_ranges, x, t))
    }

    // ---- internals ---------------------------------------------------------------------------

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

    /// Returns (seq_len, batch) for user-layout dims of features.
    fn check_x_dims(&self, x_dims: [usize; 3]) -> Result<(usize, usize)> {
        self.check_dims_of(x_dims, false)
    }

    /// (seq_len, batch) for user-layout dims of features, or of token ids (`[.., .., 1]`).
    fn check_dims_of(&self, x_dims: [usize; 3], tokens: bool) -> Result<(usize, usize)> {
        let input = self.spec.blocks[0].input_size;
        let (b, t) = if self.spec.batch_first { (x_dims[0], x_dims[1]) } else { (x_dims[1], x_dims[0]) };
        let (last, what) = if tokens { (1, "1 (one token id per step)".to_string()) } else { (input, format!("input_size = {input}")) };
        let axes = if tokens { "1" } else { "input_size" };
        let layout = if self.spec.batch_first { format!("[batch, seq_len, {axes}]") } else { format!("[seq_len, batch, {axes}]") };
        if b == 0 || t == 0 || x_dims[2] != last {
            return Err(Error::shape("x", format!("{layout} with batch >= 1, seq_len >= 1, {what}"), dims_str(&x_dims)));
        }
        if x_dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).is_none_or(|n| n > (1 << 31)) {
            return Err(Error::shape("x", "at most 2^31 elements", dims_str(&x_dims)));
        }
        Ok((t, b))
    }

    fn check_x(&self, x: &[R], x_dims: [usize; 3]) -> Result<(usize, usize)> {
        let tb = self.check_x_dims(x_dims)?;
        expect_len("x", x.len(), &x_dims)?;
        expect_finite("x", x)?;
        Ok(tb)
    }

    /// Token ids must index the first layer's one-hot input: in 0..input_size.
    fn check_max_token(&self, max: i32) -> Result<()> {
        let input = self.spec.blocks[0].input_size;
        if max as usize >= input {
            return Err(Error::value("x", format!("token ids must be in 0..{input} (the first layer's input_size), got {max}")));
        }
        Ok(())
    }

    /// One-hot features for token ids `ids` (dims `[.., .., 1]`, user layout): `[.., .., input_size]`
    /// in the same layout, for the one-call APIs (`forward`); training gathers batch by batch instead.
    pub fn expand_tokens(&self, ids: &[i32], x_dims: [usize; 3]) -> Result<(Vec<R>, [usize; 3])> {
        self.check_dims_of(x_dims, true)?;
        expect_len("x", ids.len(), &x_dims)?;
        if let Some(i) = ids.iter().position(|&v| v < 0) {
            return Err(Error::value("x", format!("token ids must be >= 0, got {} at index {i}", ids[i])));
        }
        self.check_max_token(ids.iter().copied().max().unwrap_or(0))?;
        let input = self.spec.blocks[0].input_size;
        let mut out = vec![R::ZERO; ids.len() * input];
        one_hot_into(ids, input, &mut out);
        Ok((out, [x_dims[0], x_dims[1], input]))
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

    /// The visible output (user layout) of a pass. A time-major sequence output without a head is
    /// moved out of `pass` rather than copied (F1: a 3.2 MB copy into freshly faulted pages).
    fn visible_output(&self, pass: &mut Pass<R>, t: usize, b: usize) -> Vec<R> {
        if pass.head.is_none() && self.sequence_output() && (!self.spec.batch_first || b == 1) {
            return std::mem::take(&mut pass.seq); // already in the user's layout
        }
        let mut out = vec![R::ZERO; self.output_features() * if self.sequence_output() { t * b } else { b }];
        self.write_visible_output(pass, t, b, &mut out);
        out
    }

    /// Writes the visible output (user layout) of a pass into `out`, which has exactly its length.
    fn write_visible_output(&self, pass: &Pass<R>, t: usize, b: usize, out: &mut [R]) {
        let core: &[R] = match &pass.head {
            Some(h) => &h.y,
            None => &pass.seq,
        };
        if self.sequence_output() {
            from_time_major_into(core, b, t, self.output_features(), self.spec.batch_first, out);
        } else {
            out.copy_from_slice(core);
        }
    }

    /// A user-layout output-shaped buffer in core layout.
    fn output_to_core<'d>(&self, d: &'d [R], t: usize, b: usize) -> Cow<'d, [R]> {
        if self.sequence_output() { to_time_major(d, b, t, self.output_features(), self.spec.batch_first, Vec::new) } else { Cow::Borrowed(d) }
    }

    #[allow(clippy::too_many_arguments)]
    fn run(&mut self, x: &[R], tokens: Option<&[i32]>, t: usize, b: usize, h0: Option<&[R]>, c0: Option<&[R]>, lengths: Option<&[usize]>, mut rng: Option<&mut Rng>, keep: bool, mut seq_out: SeqOut<'_, R>) -> Pass<R> {
        let _threads = crate::parallel::scope_threads(self.spec.threads);
        let mut h = Vec::with_capacity(self.state_len(b).0);
        let mut c = Vec::new();
        let (mut h_off, mut c_off) = (0, 0);
        let mut seq: Vec<R> = Vec::new();
        for k in 0..self.blocks.len() {
            let spec = &self.spec.blocks[k];
            let n = spec.state_rows() * b * spec.hidden_size;
            let block_h0 = h0.map(|s| &s[h_off..h_off + n]);
            h_off += n;
            let block_c0 = if spec.cell.has_cell_state() {
                c_off += n;
                c0.map(|s| &s[c_off - n..c_off])
            } else {
                None
            };
            let input: &[R] = if k == 0 { x } else { &seq };
            self.blocks[k].set_params_version(Some(self.params_version));
            let params = &self.params[self.block_ranges[k].clone()];
            let block_input = BlockInput { x: input, tokens: if k == 0 { tokens } else { None }, seq_len: t, batch: b, h0: block_h0, c0: block_c0, lengths, dropout_rng: rng.as_deref_mut() };
            // The last block of a model without a head writes the visible output in its user's
            // layout, into the caller's slice when there is one.
            let visible = match &mut seq_out {
                SeqOut::Visible(into) if k + 1 == self.blocks.len() && self.spec.head.is_none() => Some(into.as_deref_mut()),
                _ => None,
            };
            let mut buf = if matches!(visible, Some(Some(_))) { Vec::new() } else { self.spare.take(t * b * spec.output_size()) };
            let batch_major = visible.is_some() && self.spec.batch_first && b > 1;
            let out = visible.flatten().unwrap_or(&mut buf);
            let (h_n, c_n) = self.blocks[k].forward_into(params, block_input, keep, out, batch_major);
            let input = std::mem::replace(&mut seq, buf);
            self.spare.give(input);
            h.extend_from_slice(&h_n);
            c.extend_from_slice(&c_n);
        }
        let head = self.spec.head.clone().map(|hs| {
            let f = hs.in_features;
            let (hx, rows) = if hs.return_sequences {
                (std::mem::take(&mut seq), t * b)
            } else {
                (gather_last(&seq, t, b, f, lengths), b)
            };
            let (mut z, mut y) = (self.spare.take(rows * hs.units), self.spare.take(rows * hs.units));
            dense_forward(&hs, &self.params[self.head_range.clone()], &hx, rows, &mut z, &mut y);
            if let (true, Some(len)) = (hs.return_sequences, lengths) {
                // Steps past a sequence's end output zeros, like the recurrent layers.
                for (r, (zr, yr)) in z.chunks_mut(hs.units).zip(y.chunks_mut(hs.units)).enumerate() {
                    if r / b >= len[r % b] {
                        zr.fill(R::ZERO);
                        yr.fill(R::ZERO);
                    }
                }
            }
            HeadCache { x: hx, z, y, rows }
        });
        Pass { seq, h, c, head }
    }

    /// BPTT from the model's output; ADDS parameter gradients into `grads`.
    /// Returns (dx time-major, empty unless `want_dx`; dh0; dc0).
    fn run_backward(&mut self, g: OutGrad<'_, R>, dh: Option<&[R]>, dc: Option<&[R]>, grads: &mut [R], want_dx: bool) -> Result<(Vec<R>, Vec<R>, Vec<R>)> {
        let _threads = crate::parallel::scope_threads(self.spec.threads);
        let Some(cache) = self.cache.take() else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let result = self.backward_with(&cache, g, dh, dc, grads, want_dx);
        self.cache = Some(cache);
        result
    }

    fn backward_with(&mut self, cache: &Cache<R>, g: OutGrad<'_, R>, dh: Option<&[R]>, dc: Option<&[R]>, grads: &mut [R], want_dx: bool) -> Result<(Vec<R>, Vec<R>, Vec<R>)> {
        let (t, b) = (cache.seq_len, cache.batch);
        let lengths = cache.lengths.as_deref();
        let mut d_seq: Vec<R> = match (&self.spec.head, &cache.head) {
            (Some(hs), Some(hc)) => {
                let mut dz = match g {
                    OutGrad::Logits(d) => {
                        let mut dz = self.spare.take(d.len());
                        dz.copy_from_slice(d);
                        dz
                    }
                    OutGrad::Output(dy) => {
                        let mut dz = self.spare.take(dy.len());
                        activation_backward(hs.activation, &hc.y, dy, hs.units, &mut dz);
                        dz
                    }
                };
                if let (true, Some(len)) = (hs.return_sequences, lengths) {
                    for (r, row) in dz.chunks_mut(hs.units).enumerate() {
                        if r / b >= len[r % b] {
                            row.fill(R::ZERO);
                        }
                    }
                }
                let mut dx_head = self.spare.take(hc.rows * hs.in_features);
                let range = self.head_range.clone();
                dense_backward(hs, &self.params[range.clone()], &hc.x, hc.rows, &dz, &mut grads[range], &mut dx_head);
                self.spare.give(dz);
                if hs.return_sequences {
                    dx_head
                } else {
                    scatter_last(&dx_head, t, b, hs.in_features, lengths)
                }
            }
            _ => match g {
                OutGrad::Output(d) | OutGrad::Logits(d) => d.to_vec(),
            },
        };
        let (h_len, c_len) = self.state_len(b);
        let mut dh0 = vec![R::ZERO; h_len];
        let mut dc0 = vec![R::ZERO; c_len];
        // Offsets of each block's states inside the concatenated h/c.
        let mut offsets = Vec::new();
        let (mut h_off, mut c_off) = (0, 0);
        for spec in &self.spec.blocks {
            let n = spec.state_rows() * b * spec.hidden_size;
            let c_range = spec.cell.has_cell_state().then(|| c_off..c_off + n);
            offsets.push((h_off..h_off + n, c_range));
            h_off += n;
            if spec.cell.has_cell_state() {
                c_off += n;
            }
        }
        for k in (0..self.blocks.len()).rev() {
            let (hr, cr) = offsets[k].clone();
            let block_dh = dh.map(|d| &d[hr.clone()]);
            let block_dc = match (&cr, dc) {
                (Some(r), Some(d)) => Some(&d[r.clone()]),
                _ => None,
            };
            let range = self.block_ranges[k].clone();
            let g = self.blocks[k].backward_grads(&self.params[range.clone()], &d_seq, block_dh, block_dc, &mut grads[range], want_dx || k > 0)?;
            dh0[hr].copy_from_slice(&g.dh0);
            if let Some(r) = cr {
                dc0[r].copy_from_slice(&g.dc0);
            }
            let used = std::mem::replace(&mut d_seq, g.dx);
            self.spare.give(used);
        }
        Ok((d_seq, dh0, dc0))
    }

    /// Validates a whole batch and gathers all of it into core layout.
    fn prepare(&mut self, batch: &Batch<'_, R>) -> Result<Prepared<R>> {
        let checked = self.validate(batch)?;
        let idx: Vec<usize> = (0..checked.n).collect();
        Ok(self.gather(batch, &checked, &idx))
    }

    /// Checks x, y, mask and lengths of a batch against each other and the compiled loss.
    fn validate<'b>(&self, batch: &Batch<'b, R>) -> Result<Checked<'b>> {
        self.check_batch(batch, None)
    }

    /// `validate` for a dataset: its contents were checked when it was built, so only what depends
    /// on this model is checked here, in O(1) from its summary (plus the lengths' cast).
    fn validate_dataset<'d>(&self, data: &'d Dataset<R>) -> Result<Checked<'d>> {
        self.check_batch(&data.as_batch(), Some((data.summary(), data.steps())))
    }

    /// With `known` (a dataset's summary), the per-element checks it already passed are skipped.
    fn check_batch<'b>(&self, batch: &Batch<'b, R>, known: Option<(DataSummary, Option<&'b [usize]>)>) -> Result<Checked<'b>> {
        let steps = known.and_then(|(_, steps)| steps);
        let known = known.map(|(summary, _)| summary);
        let (t, n) = match batch.x {
            InputsRef::Float(x) => {
                let tn = self.check_x_dims(batch.x_dims)?;
                expect_len("x", x.len(), &batch.x_dims)?;
                if known.is_none() {
                    expect_finite("x", x)?;
                }
                tn
            }
            InputsRef::Tokens(ids) => {
                let tn = self.check_dims_of(batch.x_dims, true)?;
                expect_len("x", ids.len(), &batch.x_dims)?;
                let max = match known.and_then(|k| k.max_token) {
                    Some(max) => max,
                    None => {
                        if let Some(i) = ids.iter().position(|&v| v < 0) {
                            return Err(Error::value("x", format!("token ids must be >= 0, got {} at index {i}", ids[i])));
                        }
                        ids.iter().copied().max().unwrap_or(0)
                    }
                };
                self.check_max_token(max)?;
                tn
            }
        };
        let bf = self.spec.batch_first;
        let seq_out = self.sequence_output();
        let f_out = self.output_features();
        let out_dims = self.output_dims_for(t, n);
        let class_dims = &out_dims[..out_dims.len() - 1];
        let loss = self.training.as_ref().map(|tr| tr.spec.loss).unwrap_or(LossKind::Mse);
        match (batch.y, loss) {
            (TargetsRef::Float(y), LossKind::Mse | LossKind::BceWithLogits) => {
                expect_len("y", y.len(), &out_dims)?;
                if known.is_none() {
                    expect_finite("y", y)?;
                }
            }
            (TargetsRef::Class(y), LossKind::CrossEntropy) => {
                expect_len("y", y.len(), class_dims)?;
                let bad = match known {
                    Some(k) => k.max_class.filter(|&m| m as usize >= f_out).map(|m| y.iter().position(|&c| c == m).unwrap_or_default()),
                    None => y.iter().position(|&c| c < 0 || c as usize >= f_out),
                };
                if let Some(i) = bad {
                    return Err(Error::value("y", format!("class indices must be in 0..{f_out}, got {} at index {i}", y[i])));
                }
            }
            (TargetsRef::Float(_), LossKind::CrossEntropy) => {
                return Err(Error::type_("y", "int32 class indices for loss cross_entropy", "float32 values"));
            }
            (TargetsRef::Class(_), _) => {
                return Err(Error::type_("y", format!("float32 targets for loss {loss:?}"), "int32 class indices"));
            }
        }
        let lengths = match (steps, known.and_then(|k| k.length_range)) {
            (Some(s), Some((_, hi))) if hi as usize <= t && s.len() == n => Some(Cow::Borrowed(s)),
            _ => batch.lengths.map(|l| check_lengths(l, n, t)).transpose()?.map(Cow::Owned),
        };
        if let Some(m) = batch.mask {
            if !seq_out {
                return Err(Error::value("mask", "a per-step mask needs sequence outputs (a head with return_sequences)"));
            }
            let dims = if bf { [n, t] } else { [t, n] };
            expect_len("mask", m.len(), &dims)?;
            if known.is_none() {
                if let Some(i) = m.iter().position(|v| !v.is_finite() || *v < R::ZERO) {
                    return Err(Error::value("mask", format!("expected finite weights >= 0, got {:?} at index {i}", m[i])));
                }
            }
        }
        Ok(Checked { t, n, lengths })
    }

    /// Samples `idx` of a validated batch, in core layout with per-row loss weights.
    fn gather(&mut self, batch: &Batch<'_, R>, checked: &Checked<'_>, idx: &[usize]) -> Prepared<R> {
        let Checked { t, n, .. } = *checked;
        let bf = self.spec.batch_first;
        let seq_out = self.sequence_output();
        let f_out = self.output_features();
        let input = self.spec.blocks[0].input_size;
        let nb = idx.len();
        let (x, ids) = match batch.x {
            InputsRef::Float(x) => (gather_time_major(x, n, t, input, bf, idx, self.spare.empty(t * nb * input)), None),
            // Ids stay ids: the first layer gathers W_ih's columns for them (layer/projection.rs).
            InputsRef::Tokens(ids) => (Vec::new(), Some(gather_time_major(ids, n, t, 1, bf, idx, Vec::new()))),
        };
        let (yt, yf) = if seq_out { (t, f_out) } else { (1, f_out) };
        let y = match batch.y {
            TargetsRef::Float(y) => Targets::Float(gather_time_major(y, n, yt, yf, bf || !seq_out, idx, self.spare.empty(yt * nb * yf))),
            TargetsRef::Class(y) => Targets::Class(gather_time_major(y, n, yt, 1, bf || !seq_out, idx, Vec::new())),
        };
        let lengths: Option<Vec<usize>> = checked.lengths.as_ref().map(|l| idx.iter().map(|&i| l[i]).collect());
        let mask = batch.mask.map(|m| gather_time_major(m, n, t, 1, bf, idx, Vec::new()));
        let weights = if !seq_out {
            None
        } else {
            match (&lengths, mask) {
                (None, None) => None,
                (len, mask) => {
                    let mut w = mask.unwrap_or_else(|| vec![R::ONE; t * nb]);
                    if let Some(len) = len {
                        for (r, wr) in w.iter_mut().enumerate() {
                            if r / nb >= len[r % nb] {
                                *wr = R::ZERO;
                            }
                        }
                    }
                    Some(w)
                }
            }
        };
        Prepared { x, ids, seq_len: t, batch: nb, lengths, y, weights }
    }

    /// Hands a finished batch's gathered inputs and targets back to `spare`.
    fn recycle(&mut self, p: Prepared<R>) {
        self.spare.give(p.x);
        if let Targets::Float(y) = p.y {
            self.spare.give(y);
        }
    }

    /// Loss of a pass and its gradient w.r.t. the loss's input (output or logits, core layout).
    fn loss_of(&self, pass: &Pass<R>, p: &Prepared<R>) -> Result<(R, Vec<R>)> {
        let LossInput { kind, pred, targets, rows, units } = self.loss_input(pass, p)?;
        let (loss, grad) = loss_and_grad(kind, pred, &targets, p.weights.as_deref(), rows, units)?;
        if !loss.is_finite() {
            return Err(Error::value("loss", format!("is {loss:?}: training diverged; lower the learning rate or clip gradients")));
        }
        Ok((loss, grad))
    }

    /// What the compiled loss reads from a pass.
    fn loss_input<'p>(&self, pass: &'p Pass<R>, p: &'p Prepared<R>) -> Result<LossInput<'p, R>> {
        let Some(tr) = &self.training else { return Err(Error::value("model", "not compiled")) };
        let kind = tr.spec.loss;
        let pred: &[R] = match (&pass.head, kind) {
            (Some(h), LossKind::Mse) => &h.y,
            (Some(h), _) => &h.z,
            (None, _) => &pass.seq,
        };
        let units = self.output_features();
        let targets = match &p.y {
            Targets::Float(v) => LossTargets::Float(v),
            Targets::Class(v) => LossTargets::Class(v),
        };
        Ok(LossInput { kind, pred, targets, rows: pred.len() / units, units })
    }

    /// Forward, loss, BPTT, clipping and one optimizer update on a prepared batch.
    fn train_prepared(&mut self, p: &Prepared<R>, rng: &mut Rng) -> Result<R> {
        self.train_prepared_stats(p, rng).map(|(loss, _)| loss)
    }

    /// As `train_prepared`, also returning the gradient norm before clipping.
    fn train_prepared_stats(&mut self, p: &Prepared<R>, rng: &mut Rng) -> Result<(R, f64)> {
        self.train_chunk(p, None, None, rng).map(|(loss, norm, _, _)| (loss, norm))
    }

    /// One update on `p` from initial states (h0, c0); returns (loss, gradient norm before
    /// clipping, h_n, c_n).
    fn train_chunk(&mut self, p: &Prepared<R>, h0: Option<&[R]>, c0: Option<&[R]>, rng: &mut Rng) -> Result<(R, f64, Vec<R>, Vec<R>)> {
        let dropout = self.has_dropout();
        let pass = self.run(&p.x, p.ids.as_deref(), p.seq_len, p.batch, h0, c0, p.lengths.as_deref(), if dropout { Some(rng) } else { None }, true, SeqOut::Core);
        let (loss, grad) = self.loss_of(&pass, p)?;
        let kind = self.training.as_ref().map(|t| t.spec.loss).unwrap_or(LossKind::Mse);
        self.cache = Some(Cache { batch: p.batch, seq_len: p.seq_len, lengths: p.lengths.clone(), head: pass.head });
        let mut grads = self.spare.zeros(self.params.len());
        let g = if kind == LossKind::Mse { OutGrad::Output(&grad) } else { OutGrad::Logits(&grad) };
        self.run_backward(g, None, None, &mut grads, false)?;
        self.drop_caches();
        let norm = self.apply_update(&mut grads)?;
        [grads, grad, pass.seq].into_iter().for_each(|v| self.spare.give(v));
        Ok((loss, norm, pass.h, pass.c))
    }

    /// Truncated BPTT: consecutive chunks of `k` steps, state carried across without gradient.
    /// Returns (loss, gradient norm before clipping) per update.
    fn train_truncated(&mut self, p: &Prepared<R>, k: usize, rng: &mut Rng) -> Result<Vec<(R, f64)>> {
        if !self.sequence_output() {
            return Err(Error::value("tbptt", "truncated BPTT needs sequence outputs (a head with return_sequences)"));
        }
        if self.spec.blocks.iter().any(|b| b.bidirectional) {
            return Err(Error::value("tbptt", "truncated BPTT needs unidirectional layers"));
        }
        let (b, input) = (p.batch, self.spec.blocks[0].input_size);
        let units = self.output_features();
        let (mut h, mut c): (Option<Vec<R>>, Option<Vec<R>>) = (None, None);
        let mut losses = Vec::new();
        let mut t0 = 0;
        while t0 < p.seq_len {
            let t1 = (t0 + k).min(p.seq_len);
            let steps = t1 - t0;
            // Time-major layout makes a chunk a contiguous slice of every per-step buffer.
            let weights = p.weights.as_ref().map(|w| w[t0 * b..t1 * b].to_vec());
            // A sequence that already ended keeps running on padding with weight 0; its state no
            // longer matters, and the layer needs at least one step per sequence.
            let lengths = p.lengths.as_ref().map(|l| l.iter().map(|&len| len.saturating_sub(t0).clamp(1, steps)).collect());
            let y = match &p.y {
                Targets::Float(v) => Targets::Float(v[t0 * b * units..t1 * b * units].to_vec()),
                Targets::Class(v) => Targets::Class(v[t0 * b..t1 * b].to_vec()),
            };
            let ids = p.ids.as_ref().map(|v| v[t0 * b..t1 * b].to_vec());
            let x = if ids.is_some() { Vec::new() } else { p.x[t0 * b * input..t1 * b * input].to_vec() };
            let chunk = Prepared { x, ids, seq_len: steps, batch: b, lengths, y, weights };
            let skip = chunk.weights.as_ref().is_some_and(|w| w.iter().all(|v| *v == R::ZERO));
            if !skip {
                let (loss, norm, hn, cn) = self.train_chunk(&chunk, h.as_deref(), c.as_deref(), rng)?;
                losses.push((loss, norm));
                h = Some(hn);
                c = Some(cn);
            }
            t0 = t1;
        }
        Ok(losses)
    }

    /// Clips and applies one update; returns the global gradient L2 norm before clipping.
    fn apply_update(&mut self, grads: &mut [R]) -> Result<f64> {
        let Some(tr) = &mut self.training else { return Err(Error::value("model", "not compiled")) };
        if let Some(i) = grads.iter().position(|g| !g.is_finite()) {
            let name = self.layout.iter().find(|p| p.range().contains(&i)).map(|p| p.name.as_str()).unwrap_or("?");
            return Err(Error::value("gradients", format!("non-finite gradient in {name}: training diverged; lower the learning rate or clip gradients")));
        }
        // Sum of squares in f64, as clip_grad_norm does (a long f32 sum would lose small terms).
        let norm = grads.iter().map(|g| g.to_f64() * g.to_f64()).sum::<f64>().sqrt();
        if let Some(v) = tr.spec.clip_value {
            clip_grad_value(grads, R::from_f32(v));
        }
        if let Some(n) = tr.spec.clip_norm {
            clip_grad_norm(grads, R::from_f32(n));
        }
        tr.optimizer.step(&mut self.params, grads);
        self.params_version += 1;
        Ok(norm)
    }
}

fn check_state<R>(arg: &str, s: Option<&[R]>, len: usize, allowed: bool) -> Result<()> {
    match s {
        None => Ok(()),
        Some(_) if !allowed => Err(Error::value(arg, "this model has no LSTM block, so it has no cell state")),
        Some(v) => {
            expect_len(arg, v.len(), &[len])?;
            Ok(())
        }
    }
}

fn check_lengths(lengths: &[i32], batch: usize, seq_len: usize) -> Result<Vec<usize>> {
    expect_len("lengths", lengths.len(), &[batch])?;
    lengths
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if l >= 1 && l as usize <= seq_len {
                Ok(l as usize)
            } else {
                Err(Error::value("lengths", format!("each length must be in 1..={seq_len} (the sequence length), got {l} at index {i}")))
            }
        })
        .collect()
}

/// [B, T, F] (batch_first) or [T, B, F] → time-major [T, B, F], written into a buffer from `out`
/// (asked for only when a copy is needed); input that is already time-major is borrowed.
fn to_time_major<T: Copy>(x: &[T], b: usize, t: usize, f: usize, batch_first: bool, out: impl FnOnce() -> Vec<T>) -> Cow<'_, [T]> {
    if !batch_first || b == 1 {
        return Cow::Borrowed(x); // batch 1: [1, T, F] and [T, 1, F] are the same layout
    }
    let idx: Vec<usize> = (0..b).collect();
    Cow::Owned(gather_time_major(x, b, t, f, batch_first, &idx, out()))
}

/// Time-major [T, B, F] → [B, T, F] (batch_first) or unchanged.
fn from_time_major<T: Copy + Default>(x: &[T], b: usize, t: usize, f: usize, batch_first: bool) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    from_time_major_into(x, b, t, f, batch_first, &mut out);
    out
}

/// `from_time_major` into `out` (same length as `x`).
fn from_time_major_into<T: Copy>(x: &[T], b: usize, t: usize, f: usize, batch_first: bool, out: &mut [T]) {
    if !batch_first || b == 1 {
        out.copy_from_slice(x); // batch 1: [1, T, F] and [T, 1, F] are the same layout
        return;
    }
    for (bi, rows) in out.chunks_exact_mut(t * f).enumerate() {
        for (ti, row) in rows.chunks_exact_mut(f).enumerate() {
            row.copy_from_slice(&x[(ti * b + bi) * f..(ti * b + bi + 1) * f]);
        }
    }
}

/// Samples `idx` of a [N, T, F] (batch_first) or [T, N, F] buffer, as time-major [T, idx.len(), F],
/// written into `out` (cleared first; its capacity is reused).
fn gather_time_major<T: Copy>(x: &[T], n: usize, t: usize, f: usize, batch_first: bool, idx: &[usize], mut out: Vec<T>) -> Vec<T> {
    out.clear();
    out.reserve(t * idx.len() * f);
    for ti in 0..t {
        for &i in idx {
            let start = if batch_first { (i * t + ti) * f } else { (ti * n + i) * f };
            out.extend_from_slice(&x[start..start + f]);
        }
    }
    out
}

/// Each sequence's output at its last valid step: [T, B, F] → [B, F].
fn gather_last<R: Real>(seq: &[R], t: usize, b: usize, f: usize, lengths: Option<&[usize]>) -> Vec<R> {
    let mut out = Vec::with_capacity(b * f);
    for bi in 0..b {
        let last = lengths.map_or(t, |l| l[bi]) - 1;
        out.extend_from_slice(&seq[(last * b + bi) * f..(last * b + bi + 1) * f]);
    }
    out
}

/// Inverse of `gather_last` for gradients: [B, F] → zeros [T, B, F] with each row at its last step.
fn scatter_last<R: Real>(d: &[R], t: usize, b: usize, f: usize, lengths: Option<&[usize]>) -> Vec<R> {
    let mut out = vec![R::ZERO; t * b * f];
    for bi in 0..b {
        let last = lengths.map_or(t, |l| l[bi]) - 1;
        out[(last * b + bi) * f..(last * b + bi + 1) * f].copy_from_slice(&d[bi * f..(bi + 1) * f]);
    }
    out
}

/// Writes the one-hot rows of `ids` into `out` ([ids.len(), width], already zero).
fn one_hot_into<R: Real>(ids: &[i32], width: usize, out: &mut [R]) {
    for (row, &id) in out.chunks_exact_mut(width).zip(ids) {
        row[id as usize] = R::ONE;
    }
}
