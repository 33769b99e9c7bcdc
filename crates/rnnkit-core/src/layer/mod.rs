//! Recurrent layers: a `RecurrentBlock` is one PyTorch module (`nn.RNN/LSTM/GRU`) with all its layers
//! and directions. Forward keeps what BPTT needs when asked; backward returns input and initial-state
//! gradients and accumulates parameter gradients.
//!
//! Layout (all row-major, time-major inside the core):
//! - `x`: [seq_len, batch, input_size]
//! - `output`: [seq_len, batch, directions·hidden_size] (forward direction first on the feature axis)
//! - `h0`, `h_n`, `c0`, `c_n`: [num_layers·directions, batch, hidden_size] (PyTorch's order: layer-major)
//! Parameters: one flat slice laid out by `params::block_layout`.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::rng::Rng;
use crate::spec::RecurrentSpec;

pub struct BlockInput<'a, R: Real> {
    pub x: &'a [R],
    pub seq_len: usize,
    pub batch: usize,
    /// Zeros when `None`.
    pub h0: Option<&'a [R]>,
    /// LSTM only; zeros when `None`.
    pub c0: Option<&'a [R]>,
    /// Valid steps per sequence, each in 1..=seq_len (validated by the caller). Outputs past a
    /// sequence's length are zero and its final state is the state at its last valid step; the reverse
    /// direction of a bidirectional layer starts at each sequence's last valid step (packed-sequence
    /// semantics). `None` means every sequence has `seq_len` steps.
    pub lengths: Option<&'a [usize]>,
    /// Training with inter-layer dropout: masks are drawn from this generator. `None` = no dropout.
    pub dropout_rng: Option<&'a mut Rng>,
}

pub struct BlockOutput<R> {
    pub output: Vec<R>,
    pub h_n: Vec<R>,
    /// Empty unless LSTM.
    pub c_n: Vec<R>,
}

pub struct BlockGrads<R> {
    /// [seq_len, batch, input_size]
    pub dx: Vec<R>,
    /// [num_layers·directions, batch, hidden_size]
    pub dh0: Vec<R>,
    /// Empty unless LSTM.
    pub dc0: Vec<R>,
}

pub struct RecurrentBlock<R: Real> {
    pub spec: RecurrentSpec,
    _cache: Option<Vec<R>>,
}

impl<R: Real> RecurrentBlock<R> {
    pub fn new(spec: RecurrentSpec) -> Self {
        RecurrentBlock { spec, _cache: None }
    }

    /// `keep_cache`: store activations for a following `backward`.
    pub fn forward(&mut self, _params: &[R], _input: BlockInput<'_, R>, _keep_cache: bool) -> BlockOutput<R> {
        unimplemented!("RecurrentBlock::forward")
    }

    /// BPTT through the last forward run with `keep_cache`. `dy`: [seq_len, batch, D·H];
    /// `dh_n`/`dc_n`: cotangents of the final states (zeros when `None`). Parameter gradients are
    /// ADDED into `grads` (same layout as the params).
    pub fn backward(&mut self, _params: &[R], _dy: &[R], _dh_n: Option<&[R]>, _dc_n: Option<&[R]>, _grads: &mut [R]) -> Result<BlockGrads<R>> {
        Err(Error::value("backward", "call forward with training before backward"))
    }

    /// Drops the cached activations (frees memory after a training step).
    pub fn clear_cache(&mut self) {
        self._cache = None;
    }
}
