//! Recurrent layers: a `RecurrentBlock` is one PyTorch module (`nn.RNN/LSTM/GRU`) with all its layers
//! and directions. Forward keeps what BPTT needs when asked; backward returns input and initial-state
//! gradients and accumulates parameter gradients.
//!
//! Layout (all row-major, time-major inside the core):
//! - `x`: [seq_len, batch, input_size]
//! - `output`: [seq_len, batch, directions·hidden_size] (forward direction first on the feature axis)
//! - `h0`, `h_n`, `c0`, `c_n`: [num_layers·directions, batch, hidden_size] (PyTorch's order: layer-major)
//!
//! With an LSTM's `proj_size` P, h (so `output`, `h0`, `h_n`) has P features instead of hidden_size.
//!
//! Parameters: one flat slice laid out by `params::block_layout`.
//!
//! Files: `stack.rs` (layers, directions, dropout), `projection.rs` (a layer's input projection, one
//! GEMM over all steps and directions), `scan.rs` (one direction's recurrence and BPTT),
//! `workspace.rs` (what forward records for backward, reused across calls); cells in `crate::cell`.

mod projection;
mod scan;
mod stack;
mod workspace;

use crate::error::{Error, Result};
use crate::kernels::FlushDenormals;
use crate::params::block_param_count;
use crate::real::Real;
use crate::rng::Rng;
use crate::shape::expect_len;
use crate::spec::RecurrentSpec;
use workspace::Workspace;

pub(crate) use crate::layers::LayerX;

pub struct BlockInput<'a, R: Real> {
    /// [seq_len, batch, input_size]; empty when `tokens` holds the input.
    pub x: &'a [R],
    /// Token ids [seq_len, batch], each in 0..input_size, read as one-hot rows: the first layer's
    /// input projection gathers W_ih's columns instead of multiplying by a one-hot matrix, and its
    /// weight gradient scatters into them (no dL/dx: ids have no gradient).
    pub tokens: Option<&'a [i32]>,
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
    /// BPTT record of the last forward plus scratch, reused across calls (see `workspace.rs`).
    workspace: Workspace<R>,
    /// See `set_params_version`.
    params_version: Option<u64>,
}

impl<R: Real> RecurrentBlock<R> {
    pub fn new(spec: RecurrentSpec) -> Self {
        RecurrentBlock { spec, workspace: Workspace::default(), params_version: None }
    }

    /// Checks every buffer length and the lengths' range against the spec. `forward` requires
    /// input that passes this check (callers validate user input with it first).
    pub fn validate(&self, params_len: usize, input: &BlockInput<'_, R>) -> Result<()> {
        let spec = &self.spec;
        let (t, b, h) = (input.seq_len, input.batch, spec.hidden_size);
        expect_len("params", params_len, &[block_param_count(spec)])?;
        if t == 0 || b == 0 {
            return Err(Error::value("x", format!("expected seq_len >= 1 and batch >= 1, got seq_len {t}, batch {b}")));
        }
        match input.tokens {
            None => expect_len("x", input.x.len(), &[t, b, spec.input_size])?,
            Some(ids) => {
                expect_len("x", ids.len(), &[t, b])?;
                if let Some(i) = ids.iter().position(|&v| v < 0 || v as usize >= spec.input_size) {
                    return Err(Error::value("x", format!("token ids must be in 0..{} (input_size), got {} at index {i}", spec.input_size, ids[i])));
                }
            }
        }
        let state = [spec.state_rows(), b, h];
        if let Some(h0) = input.h0 {
            expect_len("h0", h0.len(), &[spec.state_rows(), b, spec.state_size()])?;
        }
        match (input.c0, spec.cell.has_cell_state()) {
            (Some(c0), true) => expect_len("c0", c0.len(), &state)?,
            (Some(_), false) => return Err(Error::value("c0", format!("only an LSTM has a cell state; this block is {}", spec.cell.name()))),
            (None, _) => {}
        }
        if let Some(lengths) = input.lengths {
            expect_len("lengths", lengths.len(), &[b])?;
            if let Some(i) = lengths.iter().position(|&l| l == 0 || l > t) {
                return Err(Error::value(format!("lengths[{i}]"), format!("expected a length in 1..={t} (seq_len), got {}", lengths[i])));
            }
        }
        Ok(())
    }

    /// Declares that the `params` passed to later calls are unchanged while `version` stays the same,
    /// so weights packed for the kernels are reused across calls (the model bumps its version on
    /// every parameter change). `None` (the default) repacks on every forward: always correct.
    pub fn set_params_version(&mut self, version: Option<u64>) {
        self.params_version = version;
    }

    /// `keep_cache`: store activations for a following `backward`. Panics on input that fails
    /// `validate` (a caller bug: user input is validated before it gets here).
    pub fn forward(&mut self, params: &[R], input: BlockInput<'_, R>, keep_cache: bool) -> BlockOutput<R> {
        let mut output = vec![R::ZERO; input.seq_len * input.batch * self.spec.output_size()];
        let (h_n, c_n) = self.forward_into(params, input, keep_cache, &mut output, false);
        BlockOutput { output, h_n, c_n }
    }

    /// `forward`, writing the output sequence into `output` (exactly seq_len·batch·D·H elements,
    /// every one written): time-major, or rows ordered [batch, seq_len] when `batch_major` (a
    /// model's visible output in its user's layout, with no copy afterwards). Returns (h_n, c_n).
    pub(crate) fn forward_into(&mut self, params: &[R], input: BlockInput<'_, R>, keep_cache: bool, output: &mut [R], batch_major: bool) -> (Vec<R>, Vec<R>) {
        if let Err(e) = self.validate(params.len(), &input) {
            panic!("RecurrentBlock::forward called with unvalidated input: {e}");
        }
        let _ftz = FlushDenormals::new(); // restored on return: the caller may be Node's JS thread
        self.workspace.params_version = self.params_version;
        stack::forward(&self.spec, params, input, keep_cache, &mut self.workspace, output, batch_major)
    }

    /// BPTT through the last forward run with `keep_cache`. `dy`: [seq_len, batch, D·H];
    /// `dh_n`/`dc_n`: cotangents of the final states (zeros when `None`). Parameter gradients are
    /// ADDED into `grads` (same layout as the params). `dy` at steps past a sequence's length is
    /// ignored (those outputs are constant zeros).
    pub fn backward(&mut self, params: &[R], dy: &[R], dh_n: Option<&[R]>, dc_n: Option<&[R]>, grads: &mut [R]) -> Result<BlockGrads<R>> {
        self.backward_grads(params, dy, dh_n, dc_n, grads, true)
    }

    /// `backward`, leaving `dx` empty unless `want_dx`: a training step never uses the gradient of
    /// the data, and skipping it saves the seq_len·batch × input × G·H GEMM (~7% of T1).
    pub(crate) fn backward_grads(&mut self, params: &[R], dy: &[R], dh_n: Option<&[R]>, dc_n: Option<&[R]>, grads: &mut [R], want_dx: bool) -> Result<BlockGrads<R>> {
        let spec = &self.spec;
        let ws = &mut self.workspace;
        if !ws.cached {
            return Err(Error::value("backward", "call forward with training (keep_cache) before backward"));
        }
        let n = block_param_count(spec);
        expect_len("params", params.len(), &[n])?;
        expect_len("grads", grads.len(), &[n])?;
        expect_len("dy", dy.len(), &[ws.seq_len, ws.batch, spec.output_size()])?;
        let state = [spec.state_rows(), ws.batch, spec.hidden_size];
        if let Some(d) = dh_n {
            expect_len("dh_n", d.len(), &[spec.state_rows(), ws.batch, spec.state_size()])?;
        }
        match (dc_n, spec.cell.has_cell_state()) {
            (Some(d), true) => expect_len("dc_n", d.len(), &state)?,
            (Some(_), false) => return Err(Error::shape("dc_n", "none (only an LSTM has a cell state)", format!("{} elements", dc_n.map_or(0, <[R]>::len)))),
            (None, _) => {}
        }
        let _ftz = FlushDenormals::new();
        Ok(stack::backward(spec, params, dy, dh_n, dc_n, grads, ws, want_dx))
    }

    /// Forgets the cached activations: a `backward` now needs a new forward with `keep_cache`. The
    /// buffers stay allocated for the next call (a model calls this after every training step, and
    /// re-allocating the tens of MB of a T1-sized record each step cost page faults on every touch);
    /// packed weights are kept too and repacked only when the params version changes.
    pub fn clear_cache(&mut self) {
        self.workspace.cached = false;
    }

    /// Frees the whole workspace (record, scratch, packed weights); the next call re-allocates.
    pub fn release_memory(&mut self) {
        self.workspace = Workspace::default();
    }

    /// The recurrent-dropout masks of the last forward, per layer·direction (PyTorch's state row
    /// order) [batch, P or H] (the h width) of 0 or 1/(1−p), each empty when that forward drew
    /// none. For tests that recompute a training forward from the equations.
    #[doc(hidden)]
    pub fn last_recurrent_masks(&self) -> Vec<Vec<R>> {
        self.workspace.dirs.iter().map(|d| d.rmask.clone()).collect()
    }

    /// Whether a `backward` can run now.
    pub fn has_cache(&self) -> bool {
        self.workspace.cached
    }
}
