//! Training and evaluation on batches and datasets: whole steps (forward, loss, BPTT, clipping,
//! optimizer update), epochs in chunks with their running sums, truncated BPTT, and the compiled
//! loss over a dataset in batches.

use super::*;

impl<R: Real> Network<R> {
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
        let (total, weight) = self.score(p)?;
        finite_loss(total)?;
        // Rounded to R as a training step's loss is (loss_and_grad's total / N).
        Ok(if weight > 0.0 { R::from_f64(total / weight) } else { R::ZERO })
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
            let (t, n) = self.score(p)?;
            total += t;
            weight += n;
        }
        finite_loss(total)?;
        Ok(EvalParts { total, weight, next_batch: end, batches })
    }

    /// The compiled loss's unreduced parts (Σ weighted row losses, denominator) on a prepared batch,
    /// from an inference pass (no gradient); the batch's buffers go back to `spare`.
    fn score(&mut self, p: Prepared<R>) -> Result<(f64, f64)> {
        let pass = self.run(p.input(), p.seq_len, p.batch, &[], p.lengths.as_deref(), None, false, false, SeqOut::Core);
        let parts = self.loss_input(&pass, &p).and_then(|l| loss_parts(l.kind, l.pred, &l.targets, p.weights.as_deref(), l.rows, l.units));
        self.recycle_pass(pass);
        self.recycle(p);
        parts
    }

    /// Loss of a pass and its gradient w.r.t. the loss's input (output or logits, core layout),
    /// and whether that input was the logits.
    pub(super) fn loss_of(&self, pass: &Pass<R>, p: &Prepared<R>) -> Result<(R, Vec<R>, bool)> {
        let LossInput { kind, pred, targets, rows, units, at_logits } = self.loss_input(pass, p)?;
        let (loss, grad) = loss_and_grad(kind, pred, &targets, p.weights.as_deref(), rows, units)?;
        if !loss.is_finite() {
            return Err(Error::value("loss", format!("is {loss:?}: training diverged; lower the learning rate or clip gradients")));
        }
        Ok((loss, grad, at_logits))
    }

    /// What the compiled loss reads from a pass: the output, or the last layer's logits for a loss
    /// computed on them (BCE-with-logits after a sigmoid, cross-entropy after a softmax).
    pub(super) fn loss_input<'p>(&'p self, pass: &'p Pass<R>, p: &'p Prepared<R>) -> Result<LossInput<'p, R>> {
        let Some(tr) = &self.training else { return Err(Error::value("model", "not compiled")) };
        let kind = tr.spec.loss;
        let last = self.last();
        let at_logits = kind != LossKind::Mse && last.final_activation() != Activation::Identity;
        let pred: &[R] = match (at_logits, last.logits()) {
            (false, _) => &pass.out,
            (true, Some(z)) => z,
            (true, None) => return Err(Error::value("loss", format!("{:?} is computed on logits, and the last layer ({}) keeps none", kind, last.kind()))),
        };
        let units = self.output_features();
        let targets = match &p.y {
            Targets::Float(v) => LossTargets::Float(v),
            Targets::Class(v) => LossTargets::Class(v),
        };
        Ok(LossInput { kind, pred, targets, rows: pred.len() / units, units, at_logits })
    }

    /// Forward, loss, BPTT, clipping and one optimizer update on a prepared batch.
    pub(super) fn train_prepared(&mut self, p: &Prepared<R>, rng: &mut Rng) -> Result<R> {
        self.train_prepared_stats(p, rng).map(|(loss, _)| loss)
    }

    /// As `train_prepared`, also returning the gradient norm before clipping.
    pub(super) fn train_prepared_stats(&mut self, p: &Prepared<R>, rng: &mut Rng) -> Result<(R, f64)> {
        self.train_chunk(p, &[], false, rng).map(|(loss, norm, _)| (loss, norm))
    }

    /// One update on `p` from initial states (one per `state_info` entry, or empty for zeros);
    /// returns (loss, gradient norm before clipping, final states: empty unless `want_states`).
    pub(super) fn train_chunk(&mut self, p: &Prepared<R>, states: &[Option<&[R]>], want_states: bool, rng: &mut Rng) -> Result<(R, f64, Vec<Vec<R>>)> {
        let dropout = self.uses_rng();
        self.check_state_values("tbptt", states, p.seq_len, p.batch, p.lengths.as_deref())?;
        let mut pass = self.run(p.input(), p.seq_len, p.batch, states, p.lengths.as_deref(), if dropout { Some(rng) } else { None }, true, want_states, SeqOut::Core);
        self.cache = Some(Cache { batch: p.batch, out_steps: pass.out_steps, tokens: p.ids.is_some(), seq_len: p.seq_len });
        let (loss, grad, at_logits) = self.loss_of(&pass, p)?;
        let mut grads = self.spare.zeros(self.params.len());
        let g = if at_logits { OutGrad::Logits(&grad) } else { OutGrad::Output(&grad) };
        self.run_backward(g, &[], &mut grads, false)?;
        self.drop_caches();
        let norm = self.apply_update(&mut grads)?;
        [grads, grad, std::mem::take(&mut pass.out)].into_iter().for_each(|v| self.spare.give(v));
        Ok((loss, norm, pass.states))
    }

    /// Truncated BPTT: consecutive chunks of `k` steps, state carried across without gradient.
    /// Returns (loss, gradient norm before clipping) per update.
    pub(super) fn train_truncated(&mut self, p: &Prepared<R>, k: usize, rng: &mut Rng) -> Result<Vec<(R, f64)>> {
        if !self.sequence_output() {
            return Err(Error::value("tbptt", "truncated BPTT needs sequence outputs (no LastStep or pooling to a vector)"));
        }
        if self.out_steps(p.seq_len) != p.seq_len {
            return Err(Error::value("tbptt", "truncated BPTT needs layers that keep the sequence length (no strides or pooling)"));
        }
        for (k, l) in self.layers.iter().enumerate() {
            if let Err(why) = l.streams() {
                return Err(Error::value("tbptt", format!("truncated BPTT carries states across chunks; layer {k} ({}) cannot: {why}", l.kind())));
            }
        }
        let (b, input) = (p.batch, self.input_shape().features());
        let units = self.output_features();
        let mut states: Vec<Vec<R>> = Vec::new();
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
                let given: Vec<Option<&[R]>> = states.iter().map(|s| Some(&s[..])).collect();
                let (loss, norm, next) = self.train_chunk(&chunk, &given, true, rng)?;
                losses.push((loss, norm));
                states = next;
            }
            t0 = t1;
        }
        Ok(losses)
    }

    /// Clips and applies one update; returns the global gradient L2 norm before clipping.
    pub(super) fn apply_update(&mut self, grads: &mut [R]) -> Result<f64> {
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
        for (layer, range) in self.layers.iter().zip(&self.ranges) {
            layer.constrain(&mut self.params[range.clone()]);
        }
        self.params_version += 1;
        Ok(norm)
    }
}

/// A non-finite evaluation loss is an error, never a silent NaN.
fn finite_loss(total: f64) -> Result<()> {
    if total.is_finite() {
        return Ok(());
    }
    Err(Error::value("loss", format!("is {total}: the model's outputs are not finite on this data")))
}
