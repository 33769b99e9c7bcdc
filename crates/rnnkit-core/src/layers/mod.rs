//! Layer kinds and the one trait every kind implements. A network (`crate::model`) is an ordered
//! list of `Box<dyn Layer>` over one flat parameter buffer; loss, optimizer, epochs, truncated BPTT,
//! streaming and traces sit on top of this trait and never ask which kind a layer is.
//!
//! Data between layers, time-major inside the core:
//! - `Shape::Ids`: int32 token ids [T, B] (only ever the network's input);
//! - `Shape::Seq`: a sequence [T, B, F], with per-sequence valid lengths (steps past a sequence's
//!   length hold zeros, and no layer lets them change a valid step);
//! - `Shape::Vector`: one row per sequence [B, F].
//!
//! A new kind is one file here implementing `Layer`, plus one line in `registry.rs`.

pub mod activation;
pub mod activation_layer;
pub mod attention_pooling;
pub mod conv1d;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod global_pool;
pub mod last_step;
pub mod layer_norm;
pub mod min_rnn;
pub mod multi_head_attention;
pub mod recurrent;
pub mod registry;
pub mod pool;
pub(crate) mod same_shape;
pub mod window;
#[cfg(test)]
pub(crate) mod gradcheck;

pub use activation::Activation;
pub use registry::{build, LayerSpec};

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;
use crate::trace::TracePanel;

/// What flows into or out of a layer (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Ids { vocab: usize },
    Seq { features: usize },
    Vector { features: usize },
}

impl Shape {
    pub fn features(self) -> usize {
        match self {
            Shape::Ids { .. } => 1,
            Shape::Seq { features } | Shape::Vector { features } => features,
        }
    }
    pub fn is_sequence(self) -> bool {
        !matches!(self, Shape::Vector { .. })
    }
    /// For messages: "[batch, seq, 12]", "[batch, 12]", "int32 ids [batch, seq] < 5000".
    pub fn describe(self) -> String {
        match self {
            Shape::Ids { vocab } => format!("int32 ids [batch, seq] in 0..{vocab}"),
            Shape::Seq { features } => format!("[batch, seq, {features}]"),
            Shape::Vector { features } => format!("[batch, {features}]"),
        }
    }
}

/// A layer's input values.
#[derive(Clone, Copy)]
pub enum LayerX<'a, R> {
    /// [T, B, F] (time-major) or [B, F].
    Features(&'a [R]),
    /// [T, B] token ids, each in 0..vocab (checked by the network before the first layer runs).
    Tokens(&'a [i32]),
}

/// A state a layer carries from one call to the next (`step`, truncated BPTT, `h0`/`h_n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateInfo {
    /// "h", "c", "history", ...
    pub name: &'static str,
    /// Dims for the batch asked about, e.g. [num_layers·directions, batch, hidden_size].
    pub dims: Vec<usize>,
}

impl StateInfo {
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One forward call.
pub struct Forward<'a, R: Real> {
    pub x: LayerX<'a, R>,
    /// Steps of a sequence input (1 for a `Vector` input).
    pub seq_len: usize,
    pub batch: usize,
    /// Valid steps per sequence of a sequence input, each in 1..=seq_len; None = all seq_len.
    pub lengths: Option<&'a [usize]>,
    /// Initial states, one entry per `states(batch)` entry; None = zeros.
    pub states: &'a [Option<&'a [R]>],
    /// Training: keep what `backward` needs.
    pub keep: bool,
    /// Training with dropout: the masks' generator. None = no dropout.
    pub rng: Option<&'a mut Rng>,
    /// Bumped on every parameter change: weights packed for the kernels may be reused until it changes.
    pub params_version: u64,
    /// Write `out` batch-major ([B, T, F]) instead of time-major; only asked when
    /// `writes_batch_major()` (the network's visible output, saving a reorder).
    pub batch_major: bool,
}

/// What `backward` returns besides the parameter gradients it adds.
pub struct LayerGrads<R> {
    /// Shaped like the input; empty when not asked for (or the input was token ids).
    pub dx: Vec<R>,
    /// One per state, shaped like the initial state.
    pub d_states: Vec<Vec<R>>,
}

/// A parameter tensor of a layer: name without the network's prefix, and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamShape {
    pub name: String,
    pub shape: Vec<usize>,
}

impl ParamShape {
    pub fn new(name: impl Into<String>, shape: Vec<usize>) -> Self {
        ParamShape { name: name.into(), shape }
    }
}

/// One layer kind. Buffers handed in have the lengths the layer's shapes promise (the network
/// validates user input first), so a mismatch is a bug and may panic.
pub trait Layer<R: Real>: Send {
    /// The registry's name, e.g. "LSTM", "Conv1D".
    fn kind(&self) -> &'static str;
    /// Canonical config (every default filled in, sizes included): `{"type", "config"}`'s config.
    fn config(&self) -> Json;
    fn input_shape(&self) -> Shape;
    fn output_shape(&self) -> Shape;
    /// Output steps for `seq_len` input steps (sequence outputs).
    fn output_steps(&self, seq_len: usize) -> usize {
        seq_len
    }
    /// Fewest input steps `forward` accepts (`output_steps` is 0 below it, e.g. a "valid" conv
    /// shorter than its kernel): the network checks this before running and names the layer.
    fn min_steps(&self) -> usize {
        1
    }
    /// Valid output steps per sequence for the input's (each ≥ 1 and ≤ `output_steps`).
    fn output_lengths(&self, seq_len: usize, lengths: &[usize]) -> Vec<usize> {
        let _ = seq_len;
        lengths.to_vec()
    }
    /// Checks, before anything is allocated, that a call on `seq_len` steps of `batch` sequences fits
    /// the buffers it needs (beyond its output, which the network checks); an error names `x`.
    fn check_call(&self, seq_len: usize, batch: usize) -> Result<()> {
        let _ = (seq_len, batch);
        Ok(())
    }
    /// Parameter tensors in layout order (PyTorch's names and shapes); none by default.
    fn params(&self) -> Vec<ParamShape> {
        Vec::new()
    }
    fn param_count(&self) -> usize {
        self.params().iter().map(|p| p.shape.iter().product::<usize>()).sum()
    }
    /// Fills this layer's slice (PyTorch's default init unless the config says otherwise).
    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        let _ = (params, rng);
    }
    /// The states carried between calls for a batch of `batch`; none by default.
    fn states(&self, batch: usize) -> Vec<StateInfo> {
        let _ = batch;
        Vec::new()
    }
    /// Whether `step()` (one time step at a time from carried states) gives the same result as a
    /// whole-sequence forward; Err says why not (e.g. "a reverse direction sees the future").
    fn streams(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Checks the values of a call's initial states (the network has checked their lengths and
    /// that they are finite) for `seq_len` steps of `batch` sequences with `lengths`: Err says what
    /// does not fit (e.g. a key/value cache that cannot hold the new steps). None = zeros.
    fn check_state_values(&self, states: &[Option<&[R]>], seq_len: usize, batch: usize, lengths: Option<&[usize]>) -> std::result::Result<(), String> {
        let _ = (states, seq_len, batch, lengths);
        Ok(())
    }
    /// After a streaming step: the states it started from (which this layer returned the step
    /// before), for the layer to write its next final states into instead of allocating.
    fn recycle_states(&mut self, states: Vec<Vec<R>>) {
        let _ = states;
    }
    /// Draws from `Forward::rng` in training (dropout).
    fn uses_rng(&self) -> bool {
        false
    }
    fn writes_batch_major(&self) -> bool {
        false
    }
    /// As a first layer whose input is `Shape::Seq { features }`, also reads token ids in
    /// 0..features as one-hot rows (a recurrent layer gathers W_ih's columns instead of multiplying).
    fn reads_ids(&self) -> bool {
        false
    }
    /// Writes the output (`output_steps(T)·B·F` or `B·F` values) into `out` and returns the final
    /// states (one per `states(batch)` entry).
    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>>;
    /// `forward` for a caller that does not read the final states: a layer whose states are costly
    /// to build (a key/value cache) skips them. Default: `forward`, its states dropped.
    fn forward_discarding_states(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) {
        self.forward(params, fwd, out);
    }
    /// Gradients through the last forward with `keep`: `d_out` is shaped like its output (or like
    /// the logits `final_activation()` applies to, when `at_logits`), `d_states` like the final
    /// states (None = zero). ADDS parameter gradients into `grads` (this layer's slice).
    fn backward(&mut self, params: &[R], d_out: &[R], at_logits: bool, d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>>;
    /// Whether a training forward keeps its input for backward by taking the network's buffer
    /// (`adopt_input`) instead of copying it. Whoever runs such a layer's training forward hands it
    /// the input right after (the network does; so do the test harnesses).
    fn wants_input(&self) -> bool {
        false
    }
    /// After a training forward of a layer that `wants_input`: its input, owned. Returns the buffer
    /// it held before, for reuse.
    fn adopt_input(&mut self, input: Vec<R>) -> Option<Vec<R>> {
        Some(input)
    }
    /// Backward's `dx`, handed back once the layer before has read it: a layer may keep it for its
    /// next backward (no fresh pages per step). Returns it when unwanted.
    fn take_back(&mut self, dx: Vec<R>) -> Option<Vec<R>> {
        Some(dx)
    }
    /// Drops what the last training forward kept.
    fn clear_cache(&mut self);
    /// Projects this layer's slice of the parameters back onto its constraint after every
    /// optimizer update (IndRNN's |u| ≤ recurrent_max_abs); none by default.
    fn constrain(&self, params: &mut [R]) {
        let _ = params;
    }
    /// The activation that maps this layer's logits to its output, when a loss may read the logits
    /// instead (sigmoid for BCE-with-logits, softmax for cross-entropy); Identity otherwise.
    fn final_activation(&self) -> Activation {
        Activation::Identity
    }
    /// The logits of the last forward, training or not (see `final_activation`), [rows, F].
    fn logits(&self) -> Option<&[R]> {
        None
    }
    /// Report panels for ONE sequence (batch 1): `x` is this layer's input and `out` its output
    /// from an inference forward. Default: the output itself.
    fn trace(&self, params: &[R], x: LayerX<'_, R>, seq_len: usize, out: &[R]) -> Vec<TracePanel> {
        let _ = (params, x, seq_len);
        vec![TracePanel::output(self.output_shape().features(), out)]
    }
}

/// A layer's input width: its config's `key` when given (which must match the previous layer's
/// output), else the previous layer's output; required for the first layer. `sequence`: the layer
/// reads a sequence [batch, seq, F] (else a vector [batch, F] or either).
pub(crate) fn input_features(f: &Fields<'_>, key: &str, input: Option<Shape>, sequence: bool) -> Result<usize> {
    let given = f.opt_num(key)?.map(|_| f.size(key, None, 1)).transpose()?;
    match input {
        None => given.ok_or_else(|| Error::value(f.path(key), "is required for the first layer (nothing before it sets it)")),
        Some(shape) => {
            if sequence && !shape.is_sequence() {
                return Err(Error::shape(f.path(key), "a sequence input [batch, seq, features]", format!("{} (the previous layer's output)", shape.describe())));
            }
            if let Shape::Ids { .. } = shape {
                return Err(Error::shape(f.path(key), "features", "token ids (only the first layer reads ids)"));
            }
            let features = shape.features();
            match given {
                Some(g) if g != features => Err(Error::shape(f.path(key), format!("{features} (the previous layer's output {})", shape.describe()), g.to_string())),
                _ => Ok(features),
            }
        }
    }
}
