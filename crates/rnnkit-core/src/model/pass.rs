//! Forward and backward passes through the blocks and the head: inference `forward`, streaming
//! `step`, `trace`, the user-facing `backward`, and the `run` / `backward_with` every training step uses.

use super::batch::*;
use super::*;

impl<R: Real> Network<R> {
    pub fn forward(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>) -> Result<ForwardResult<R>> {
        self.forward_impl(x, x_dims, opts, None)
    }

    /// `forward` that writes the output into `output` (exactly `output_dims(x_dims)` elements) and
    /// returns the rest with an empty `output`: a binding passes memory its caller will own (a JS
    /// ArrayBuffer) and saves a copy of the whole output (F1: 3.2 MB).
    pub fn forward_to(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, output: &mut [R]) -> Result<ForwardResult<R>> {
        self.forward_impl(x, x_dims, opts, Some(output))
    }

    pub(super) fn forward_impl(&mut self, x: &[R], x_dims: [usize; 3], opts: &ForwardOptions<'_, R>, into: Option<&mut [R]>) -> Result<ForwardResult<R>> {
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

    /// Hands an inference pass's buffers back to `spare`.
    pub(super) fn recycle_pass(&mut self, mut pass: Pass<R>) {
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
        let mut panels = Vec::new();
        let mut input = x.to_vec();
        for (k, (bs, r)) in self.spec.blocks.iter().zip(&self.block_ranges).enumerate() {
            let mut ps = crate::trace::trace_block(bs, &self.params[r.clone()], &input, t);
            for p in &mut ps {
                p.block = k;
                if self.spec.blocks.len() > 1 {
                    p.name = format!("block {k} {}", p.name);
                }
            }
            let mut rb = RecurrentBlock::new(bs.clone());
            input = rb.forward(&self.params[r.clone()], BlockInput { x: &input, tokens: None, seq_len: t, batch: 1, h0: None, c0: None, lengths: None, dropout_rng: None }, false).output;
            panels.extend(ps);
        }
        Ok(crate::trace::Trace { steps: t, panels })
    }

    /// The visible output (user layout) of a pass. A time-major sequence output without a head is
    /// moved out of `pass` rather than copied (F1: a 3.2 MB copy into freshly faulted pages).
    pub(super) fn visible_output(&self, pass: &mut Pass<R>, t: usize, b: usize) -> Vec<R> {
        if pass.head.is_none() && self.sequence_output() && (!self.spec.batch_first || b == 1) {
            return std::mem::take(&mut pass.seq); // already in the user's layout
        }
        let mut out = vec![R::ZERO; self.output_features() * if self.sequence_output() { t * b } else { b }];
        self.write_visible_output(pass, t, b, &mut out);
        out
    }

    /// Writes the visible output (user layout) of a pass into `out`, which has exactly its length.
    pub(super) fn write_visible_output(&self, pass: &Pass<R>, t: usize, b: usize, out: &mut [R]) {
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
    pub(super) fn output_to_core<'d>(&self, d: &'d [R], t: usize, b: usize) -> Cow<'d, [R]> {
        if self.sequence_output() { to_time_major(d, b, t, self.output_features(), self.spec.batch_first, Vec::new) } else { Cow::Borrowed(d) }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(&mut self, x: &[R], tokens: Option<&[i32]>, t: usize, b: usize, h0: Option<&[R]>, c0: Option<&[R]>, lengths: Option<&[usize]>, mut rng: Option<&mut Rng>, keep: bool, mut seq_out: SeqOut<'_, R>) -> Pass<R> {
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
    pub(super) fn run_backward(&mut self, g: OutGrad<'_, R>, dh: Option<&[R]>, dc: Option<&[R]>, grads: &mut [R], want_dx: bool) -> Result<(Vec<R>, Vec<R>, Vec<R>)> {
        let _threads = crate::parallel::scope_threads(self.spec.threads);
        let Some(cache) = self.cache.take() else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let result = self.backward_with(&cache, g, dh, dc, grads, want_dx);
        self.cache = Some(cache);
        result
    }

    pub(super) fn backward_with(&mut self, cache: &Cache<R>, g: OutGrad<'_, R>, dh: Option<&[R]>, dc: Option<&[R]>, grads: &mut [R], want_dx: bool) -> Result<(Vec<R>, Vec<R>, Vec<R>)> {
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
                        activation_backward(hs.activation, &hc.z, &hc.y, dy, hs.units, &mut dz);
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
}
