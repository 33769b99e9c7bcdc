//! `Model`: recurrent blocks plus an optional dense head, with inference, BPTT, and whole training
//! steps and epochs (forward, loss, backward, clipping, optimizer update) entirely in Rust. This is
//! the one surface the N-API and wasm bindings expose; they only convert arguments.
//!
//! Shapes: `x` is [batch, seq_len, input] when `spec.batch_first`, else [seq_len, batch, input].
//! Sequence outputs follow the same layout; a last-step head gives [batch, units].
//! States (`h0`, `h`, `c0`, `c`) are the blocks' [num_layers·D, batch, H] tensors concatenated in
//! block order (for a lone block exactly PyTorch's `h_n`/`c_n`).

use crate::error::{Error, Result};
use crate::params::ParamInfo;
use crate::spec::{ModelSpec, TrainSpec};

#[derive(Default)]
pub struct ForwardOptions<'a> {
    pub h0: Option<&'a [f32]>,
    pub c0: Option<&'a [f32]>,
    /// Valid steps per sequence, each in 1..=seq_len.
    pub lengths: Option<&'a [i32]>,
    /// Keep activations for `backward` and apply dropout.
    pub training: bool,
}

pub struct ForwardResult {
    pub output: Vec<f32>,
    pub output_dims: Vec<usize>,
    pub h: Vec<f32>,
    pub c: Vec<f32>,
}

pub struct BackwardResult {
    pub dx: Vec<f32>,
    pub dh0: Vec<f32>,
    pub dc0: Vec<f32>,
    /// Same layout as `params()`.
    pub grads: Vec<f32>,
}

/// Targets of a batch: floats shaped like the output (MSE, BCE), or class indices (cross-entropy)
/// shaped like the output without its last axis.
#[derive(Clone, Copy)]
pub enum TargetsRef<'a> {
    Float(&'a [f32]),
    Class(&'a [i32]),
}

pub struct Batch<'a> {
    pub x: &'a [f32],
    pub x_dims: [usize; 3],
    pub y: TargetsRef<'a>,
    /// Per-step weights [batch, seq_len] (batch_first) or [seq_len, batch]; sequence heads only.
    pub mask: Option<&'a [f32]>,
    pub lengths: Option<&'a [i32]>,
}

/// An owned copy of a training set, for `train_epoch` (async callers copy before leaving the JS thread).
pub enum Targets {
    Float(Vec<f32>),
    Class(Vec<i32>),
}

pub struct Dataset {
    pub x: Vec<f32>,
    pub x_dims: [usize; 3],
    pub y: Targets,
    pub mask: Option<Vec<f32>>,
    pub lengths: Option<Vec<i32>>,
}

pub struct EpochOptions {
    pub batch_size: usize,
    pub shuffle: bool,
    /// Seeds this epoch's shuffle and dropout.
    pub seed: u64,
    /// Truncated BPTT: train each batch in chunks of this many steps, carrying the state across
    /// chunks without gradient. `None`: the whole sequence at once.
    pub tbptt: Option<usize>,
}

pub struct Model {
    spec: ModelSpec,
}

impl Model {
    /// Builds and initialises (seeded by `spec.seed`) a model from spec JSON (see `spec.rs`).
    pub fn from_json(spec_json: &str) -> Result<Model> {
        let spec = ModelSpec::from_json(spec_json)?;
        Ok(Model { spec })
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
        &[]
    }

    pub fn params(&self) -> &[f32] {
        &[]
    }

    /// Replaces all parameters (length checked, values must be finite).
    pub fn set_params(&mut self, _flat: &[f32]) -> Result<()> {
        Err(not_yet())
    }

    /// Elements of h (and c, 0 unless some block is an LSTM) for a batch of `batch`.
    pub fn state_len(&self, _batch: usize) -> (usize, usize) {
        (0, 0)
    }

    /// Output dims for input dims (validates x_dims).
    pub fn output_dims(&self, _x_dims: [usize; 3]) -> Result<Vec<usize>> {
        Err(not_yet())
    }

    pub fn forward(&mut self, _x: &[f32], _x_dims: [usize; 3], _opts: &ForwardOptions<'_>) -> Result<ForwardResult> {
        Err(not_yet())
    }

    /// Gradients through the last `forward` with `training: true`. `d_output` is shaped like its
    /// output; `dh`/`dc` like its `h`/`c` (zeros when `None`).
    pub fn backward(&mut self, _d_output: &[f32], _dh: Option<&[f32]>, _dc: Option<&[f32]>) -> Result<BackwardResult> {
        Err(not_yet())
    }

    /// Sets loss, optimizer and clipping from train-spec JSON; resets optimizer state.
    pub fn compile(&mut self, _train_json: &str) -> Result<()> {
        Err(not_yet())
    }

    /// One step (forward, loss, BPTT, clip, update); returns the batch loss before the update.
    pub fn train_step(&mut self, _batch: &Batch<'_>) -> Result<f32> {
        Err(not_yet())
    }

    /// One pass over `data` in mini-batches; returns the mean batch loss.
    pub fn train_epoch(&mut self, _data: &Dataset, _opts: &EpochOptions) -> Result<f32> {
        Err(not_yet())
    }

    /// Loss on a batch without updating (uses the compiled loss).
    pub fn evaluate(&mut self, _batch: &Batch<'_>) -> Result<f32> {
        Err(not_yet())
    }

    /// Streaming inference: one time step `x_t` [batch, input] from the kept state (zeros after
    /// `reset_state` or a batch-size change). Returns the head output [batch, units], or the last
    /// block's output [batch, D·H] without a head. Requires unidirectional blocks.
    pub fn step(&mut self, _x_t: &[f32], _batch: usize) -> Result<Vec<f32>> {
        Err(not_yet())
    }

    pub fn reset_state(&mut self) {}
}

fn not_yet() -> Error {
    Error::Unsupported { feature: "model operation (under construction)".into() }
}
