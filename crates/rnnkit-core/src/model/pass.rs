//! Forward and backward passes through the layers: inference `forward`, streaming `step`, `trace`,
//! the user-facing `backward`, and the `run` / `run_backward` every training step uses.

use super::batch::*;
use super::*;
use crate::trace::{PanelKind, Trace};

impl<R: Real> Network<R> {
    pub fn forward(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>) -> Result<ForwardResult<R>> {
        self.forward_impl(NetX::Features(x), x_dims, opts, None)
    }

    /// `forward` on token ids (dims `[.., .., 1]`, user layout), read by the first layer as ids.
    pub fn forward_tokens(&mut self, ids: &[i32], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>) -> Result<ForwardResult<R>> {
        self.forward_impl(NetX::Tokens(ids), x_dims, opts, None)
    }

    /// `forward` that writes the output into `output` (exactly `output_dims(x_dims)` elements) and
    /// returns the rest with an empty `output`: a binding passes memory its caller will own (a JS
    /// ArrayBuffer) and saves a copy of the whole output (F1: 3.2 MB).
    pub fn forward_to(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, output: &mut [R]) -> Result<ForwardResult<R>> {
        self.forward_impl(NetX::Features(x), x_dims, opts, Some(output))
    }

    /// `forward_to` on token ids (dims `[.., .., 1]`).
    pub fn forward_tokens_to(&mut self, ids: &[i32], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, output: &mut [R]) -> Result<ForwardResult<R>> {
        self.forward_impl(NetX::Tokens(ids), x_dims, opts, Some(output))
    }

    pub(super) fn forward_impl(&mut self, input: NetX<'_, R>, x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, mut into: Option<&mut [R]>) -> Result<ForwardResult<R>> {
        let (t, b) = match input {
            NetX::Features(x) => self.check_x(x, x_dims)?,
            NetX::Tokens(ids) => self.check_ids(ids, x_dims)?,
        };
        let t_out = self.out_steps(t);
        let output_dims = self.output_dims_for(t_out, b);
        if let Some(out) = &into {
            expect_len("output", out.len(), &output_dims)?;
        }
        self.check_states("states", opts.states, b)?;
        let lengths = opts.lengths.map(|l| check_lengths(l, b, t)).transpose()?;
        self.check_state_values("states", opts.states, t, b, lengths.as_deref())?;
        let bf = self.spec.batch_first;
        let spare = &mut self.spare;
        let (x_tm, ids_tm) = match input {
            NetX::Features(x) => (to_time_major(x, b, t, x_dims[2], bf, || spare.empty(x.len())), None),
            NetX::Tokens(ids) => (Cow::Borrowed(&[][..]), Some(to_time_major(ids, b, t, 1, bf, Vec::new))),
        };
        let net_x = match &ids_tm {
            Some(ids) => NetX::Tokens(ids),
            None => NetX::Features(&x_tm),
        };
        let mut rng = if opts.training && self.uses_rng() { Some(self.rng.fork()) } else { None };
        let mut pass = self.run(net_x, t, b, opts.states, lengths.as_deref(), rng.as_mut(), opts.training, !opts.skip_states, SeqOut::Visible(into.as_deref_mut()));
        let output = match into {
            _ if pass.user_layout => std::mem::take(&mut pass.out),
            Some(out) => {
                self.write_visible_output(&pass, b, out);
                Vec::new()
            }
            None => self.visible_output(&mut pass, b),
        };
        // What the caller does not get back is kept for the next call.
        if let Cow::Owned(v) = x_tm {
            self.spare.give(v);
        }
        self.spare.give(std::mem::take(&mut pass.out));
        self.cache = opts.training.then_some(Cache { batch: b, out_steps: t_out, tokens: ids_tm.is_some(), seq_len: t });
        Ok(ForwardResult { output, output_dims, states: pass.states })
    }

    /// Gradients through the last `forward` with `training: true`. `d_output` is shaped like its
    /// output; `d_states` like its final states (one per `state_info` entry, None = zeros; or empty).
    pub fn backward(&mut self, d_output: &[R], d_states: &[Option<&[R]>]) -> Result<BackwardResult<R>> {
        let Some(cache) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (t, b, t_out, tokens) = (cache.seq_len, cache.batch, cache.out_steps, cache.tokens);
        let out_dims = self.output_dims_for(t_out, b);
        expect_len("dOutput", d_output.len(), &out_dims)?;
        expect_finite("dOutput", d_output)?;
        self.check_states("dStates", d_states, b)?;
        let d_tm = self.output_to_core(d_output, t_out, b);
        let mut grads = vec![R::ZERO; self.params.len()];
        let (dx_tm, d_states) = self.run_backward(OutGrad::Output(&d_tm), d_states, &mut grads, !tokens)?;
        let input = self.input_shape().features();
        // Time-major dx is already in the user's layout: moved, not copied.
        let dx = if self.spec.batch_first && !tokens { from_time_major(&dx_tm, b, t, input, true) } else { dx_tm };
        Ok(BackwardResult { dx: if tokens { Vec::new() } else { dx }, d_states, grads })
    }

    /// Hands an inference pass's buffers back to `spare`.
    pub(super) fn recycle_pass(&mut self, mut pass: Pass<R>) {
        self.spare.give(std::mem::take(&mut pass.out));
    }

    /// Streaming inference: one time step `x_t` [batch, input] from the kept states (zeros after
    /// `reset_state` or a batch-size change). Returns the output for that step: [batch, F]. Every
    /// layer must stream (unidirectional recurrences, causal convolutions, per-step layers).
    pub fn step(&mut self, x_t: &[R], batch: usize) -> Result<Vec<R>> {
        let input = self.input_shape().features();
        self.check_x(x_t, [1, batch, input])?;
        self.step_input(NetX::Features(x_t), batch)
    }

    /// `step` on one token id per sequence (`ids` [batch]).
    pub fn step_tokens(&mut self, ids: &[i32], batch: usize) -> Result<Vec<R>> {
        self.check_ids(ids, [1, batch, 1])?;
        self.step_input(NetX::Tokens(ids), batch)
    }

    fn step_input(&mut self, x: NetX<'_, R>, batch: usize) -> Result<Vec<R>> {
        for (k, l) in self.layers.iter().enumerate() {
            if let Err(why) = l.streams() {
                return Err(Error::value("step", format!("layer {k} ({}) cannot stream one step at a time: {why}", l.kind())));
            }
        }
        if self.stream.as_ref().map(|s| s.batch) != Some(batch) {
            let states = self.state_info(batch).iter().map(|s| vec![R::ZERO; s.info.len()]).collect();
            self.stream = Some(Stream { batch, states });
        }
        let Some(state) = self.stream.take() else { unreachable!("stream state set above") };
        let given: Vec<Option<&[R]>> = state.states.iter().map(|s| Some(&s[..])).collect();
        if let Err(e) = self.check_state_values("step", &given, 1, batch, None) {
            // The states stay as they were: a failed step changes nothing.
            self.stream = Some(state);
            return Err(e);
        }
        let mut pass = self.run(x, 1, batch, &given, None, None, false, true, SeqOut::Core);
        let out = std::mem::take(&mut pass.out);
        self.stream = Some(Stream { batch, states: pass.states });
        // The states this step started from go back to their layers, to hold the next step's.
        let mut old = state.states.into_iter();
        for (l, &n) in self.layers.iter_mut().zip(&self.state_counts) {
            l.recycle_states(old.by_ref().take(n).collect());
        }
        Ok(out)
    }

    pub fn reset_state(&mut self) {
        self.stream = None;
    }

    /// Per-layer activations for ONE sequence `x` (`x_dims` with batch 1, layout as for `forward`),
    /// from zero states, without dropout: each layer's own panels (a recurrent layer's hidden and
    /// cell states and gates, attention weights, or its output). For reports; see `trace.rs`.
    pub fn trace(&mut self, x: &[R], x_dims: [usize; 3]) -> Result<Trace> {
        let (t, b) = self.check_x(x, x_dims)?;
        self.trace_input(NetX::Features(x), t, b, x_dims)
    }

    /// `trace` on token ids (dims `[.., .., 1]`).
    pub fn trace_tokens(&mut self, ids: &[i32], x_dims: [usize; 3]) -> Result<Trace> {
        let (t, b) = self.check_ids(ids, x_dims)?;
        self.trace_input(NetX::Tokens(ids), t, b, x_dims)
    }

    fn trace_input(&mut self, x: NetX<'_, R>, t: usize, b: usize, x_dims: [usize; 3]) -> Result<Trace> {
        if b != 1 {
            let layout = if self.spec.batch_first { "[1, seq_len, input_size]" } else { "[seq_len, 1, input_size]" };
            return Err(Error::shape("x", format!("one sequence: {layout}"), dims_str(&x_dims)));
        }
        let _threads = crate::parallel::scope_threads(self.spec.threads);
        // With batch 1 both layouts hold the same [T, input] buffer.
        let many = self.layers.len() > 1;
        let mut panels = Vec::new();
        let mut cur: Vec<R> = Vec::new();
        let mut steps = t;
        for k in 0..self.layers.len() {
            let layer = &mut self.layers[k];
            let params = &self.params[self.ranges[k].clone()];
            let lx = match (k, x) {
                (0, NetX::Tokens(ids)) => LayerX::Tokens(ids),
                (0, NetX::Features(x)) => LayerX::Features(x),
                _ => LayerX::Features(&cur),
            };
            let shape = layer.output_shape();
            let out_steps = if shape.is_sequence() { layer.output_steps(steps) } else { 1 };
            let mut out = vec![R::ZERO; out_steps * shape.features()];
            let fwd = Forward { x: lx, seq_len: steps, batch: 1, lengths: None, states: &[], keep: false, rng: None, params_version: self.params_version, batch_major: false };
            layer.forward(params, fwd, &mut out);
            for mut p in layer.trace(params, lx, steps, &out) {
                p.block = k;
                if p.kind == PanelKind::Output {
                    p.name = format!("{} {}", layer.kind(), p.name);
                }
                if many {
                    p.name = format!("block {k} {}", p.name);
                }
                panels.push(p);
            }
            cur = out;
            steps = out_steps;
        }
        Ok(Trace { steps: t, panels })
    }

    /// The visible output (user layout) of a pass. A core-layout output already in the user's
    /// layout is moved out of `pass` rather than copied (F1: a 3.2 MB copy into freshly faulted pages).
    pub(super) fn visible_output(&self, pass: &mut Pass<R>, b: usize) -> Vec<R> {
        if pass.user_layout || !self.sequence_output() || !self.spec.batch_first || b == 1 {
            return std::mem::take(&mut pass.out);
        }
        let mut out = vec![R::ZERO; pass.out.len()];
        self.write_visible_output(pass, b, &mut out);
        out
    }

    /// Writes the visible output (user layout) of a core-layout pass into `out` (exactly its length).
    pub(super) fn write_visible_output(&self, pass: &Pass<R>, b: usize, out: &mut [R]) {
        if self.sequence_output() {
            from_time_major_into(&pass.out, b, pass.out_steps, self.output_features(), self.spec.batch_first, out);
        } else {
            out.copy_from_slice(&pass.out);
        }
    }

    /// A user-layout output-shaped buffer in core layout.
    pub(super) fn output_to_core<'d>(&self, d: &'d [R], t_out: usize, b: usize) -> Cow<'d, [R]> {
        if self.sequence_output() { to_time_major(d, b, t_out, self.output_features(), self.spec.batch_first, Vec::new) } else { Cow::Borrowed(d) }
    }

    /// Each layer in turn; `states` holds initial states (one per `state_info` entry) or is empty.
    /// `want_states`: the caller reads the final states (else `Pass::states` is empty).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(&mut self, x: NetX<'_, R>, t: usize, b: usize, states: &[Option<&[R]>], lengths: Option<&[usize]>, mut rng: Option<&mut Rng>, keep: bool, want_states: bool, mut seq_out: SeqOut<'_, R>) -> Pass<R> {
        let _threads = crate::parallel::scope_threads(self.spec.threads);
        let n = self.layers.len();
        let mut cur: Vec<R> = Vec::new();
        let mut steps = t;
        let mut cur_len: Option<Cow<'_, [usize]>> = lengths.map(Cow::Borrowed);
        let mut final_states = Vec::new();
        let mut user_layout = false;
        let mut state_at = 0;
        for k in 0..n {
            let layer = &mut self.layers[k];
            let given: Vec<Option<&[R]>> = (0..self.state_counts[k]).map(|i| states.get(state_at + i).copied().flatten()).collect();
            state_at += given.len();
            let shape = layer.output_shape();
            let (out_steps, out_len) = if shape.is_sequence() {
                (layer.output_steps(steps), cur_len.as_deref().map(|l| Cow::Owned(layer.output_lengths(steps, l))))
            } else {
                (1, None)
            };
            let size = out_steps * b * shape.features();
            // The last layer writes the visible output in its user's layout when it can: into the
            // caller's slice when there is one (F1: no 3.2 MB copy or batch-first reorder after).
            let reorder = shape.is_sequence() && self.spec.batch_first && b > 1;
            let visible = match &mut seq_out {
                SeqOut::Visible(into) if k + 1 == n && (!reorder || layer.writes_batch_major()) => Some(into.as_deref_mut()),
                _ => None,
            };
            user_layout = visible.is_some();
            let batch_major = visible.is_some() && reorder;
            let mut buf = if matches!(visible, Some(Some(_))) { Vec::new() } else { self.spare.take(size) };
            let out = visible.flatten().unwrap_or(&mut buf);
            let lx = match (k, x) {
                (0, NetX::Tokens(ids)) => LayerX::Tokens(ids),
                (0, NetX::Features(x)) => LayerX::Features(x),
                _ => LayerX::Features(&cur),
            };
            let fwd = Forward {
                x: lx,
                seq_len: steps,
                batch: b,
                lengths: cur_len.as_deref(),
                states: &given,
                keep,
                rng: if layer.uses_rng() { rng.as_deref_mut() } else { None },
                params_version: self.params_version,
                batch_major,
            };
            let params = &self.params[self.ranges[k].clone()];
            if want_states {
                final_states.extend(layer.forward(params, fwd, out));
            } else {
                layer.forward_discarding_states(params, fwd, out);
            }
            let input = std::mem::replace(&mut cur, buf);
            // A layer that keeps its input for backward takes the buffer (the first layer's input is
            // the caller's, so it gets a copy).
            let input = match (keep && layer.wants_input(), k, x) {
                (false, _, _) => Some(input),
                (true, 0, NetX::Features(x)) => layer.adopt_input(x.to_vec()),
                (true, 0, NetX::Tokens(_)) => Some(input),
                (true, _, _) => layer.adopt_input(input),
            };
            if let Some(v) = input {
                self.spare.give(v);
            }
            steps = out_steps;
            cur_len = out_len;
        }
        Pass { out: cur, user_layout, out_steps: steps, states: final_states }
    }

    /// BPTT from the model's output; ADDS parameter gradients into `grads`.
    /// Returns (dx time-major, empty unless `want_dx`; the initial states' gradients).
    pub(super) fn run_backward(&mut self, g: OutGrad<'_, R>, d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<(Vec<R>, Vec<Vec<R>>)> {
        let _threads = crate::parallel::scope_threads(self.spec.threads);
        if self.cache.is_none() {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        }
        let counts = &self.state_counts;
        let mut starts: Vec<usize> = counts.iter().scan(0, |acc, &c| { let s = *acc; *acc += c; Some(s) }).collect();
        starts.push(counts.iter().sum());
        let mut d_states0: Vec<Vec<R>> = vec![Vec::new(); starts[counts.len()]];
        let (top, at_logits) = match g {
            OutGrad::Output(d) => (d, false),
            OutGrad::Logits(d) => (d, true),
        };
        let mut d: Vec<R> = Vec::new();
        for k in (0..self.layers.len()).rev() {
            let last = k + 1 == self.layers.len();
            let given: Vec<Option<&[R]>> = (starts[k]..starts[k] + counts[k]).map(|i| d_states.get(i).copied().flatten()).collect();
            let range = self.ranges[k].clone();
            let d_out: &[R] = if last { top } else { &d };
            let lg = self.layers[k].backward(&self.params[range.clone()], d_out, last && at_logits, &given, &mut grads[range], want_dx || k > 0)?;
            for (i, s) in lg.d_states.into_iter().enumerate() {
                d_states0[starts[k] + i] = s;
            }
            // `d` was layer k+1's dx, now read by layer k: back to the layer that made it.
            let used = std::mem::replace(&mut d, lg.dx);
            let unwanted = match self.layers.get_mut(k + 1) {
                Some(made_it) => made_it.take_back(used),
                None => Some(used),
            };
            if let Some(v) = unwanted {
                self.spare.give(v);
            }
        }
        Ok((d, d_states0))
    }

    /// Each layer's check of its initial states' values (`Layer::check_state_values`: e.g. a
    /// key/value cache that cannot hold the new steps), following the steps and lengths through
    /// the layers as `run` does; the error names `arg` and the layer.
    pub(super) fn check_state_values(&self, arg: &str, states: &[Option<&[R]>], t: usize, b: usize, lengths: Option<&[usize]>) -> Result<()> {
        let (mut steps, mut len, mut at) = (t, lengths.map(<[usize]>::to_vec), 0);
        for (k, (l, &n)) in self.layers.iter().zip(&self.state_counts).enumerate() {
            let given: Vec<Option<&[R]>> = (at..at + n).map(|i| states.get(i).copied().flatten()).collect();
            at += n;
            l.check_state_values(&given, steps, b, len.as_deref()).map_err(|why| Error::value(arg, format!("layer {k} ({}): {why}", l.kind())))?;
            if !l.output_shape().is_sequence() {
                break;
            }
            len = len.map(|v| l.output_lengths(steps, &v));
            steps = l.output_steps(steps);
        }
        Ok(())
    }

    /// Checks a list of states (or their gradients) against `state_info(batch)`: empty, or one
    /// entry per state with its exact length.
    pub(super) fn check_states(&self, arg: &str, states: &[Option<&[R]>], batch: usize) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        let info = self.state_info(batch);
        if states.len() != info.len() {
            let names: Vec<String> = info.iter().map(|s| format!("layer {} {}", s.layer, s.info.name)).collect();
            return Err(Error::shape(arg, format!("{} states ({})", info.len(), names.join(", ")), format!("{} states", states.len())));
        }
        for (i, (s, want)) in states.iter().zip(&info).enumerate() {
            if let Some(v) = s {
                if v.len() != want.info.len() {
                    let expected = format!("{} = {} values (layer {} state {})", dims_str(&want.info.dims), want.info.len(), want.layer, want.info.name);
                    return Err(Error::shape(format!("{arg}[{i}]"), expected, format!("{} values", v.len())));
                }
                expect_finite(&format!("{arg}[{i}]"), v)?;
            }
        }
        Ok(())
    }
}
