//! Checking a batch or dataset against the model and gathering mini-batches into the core's
//! time-major layout (token ids stay ids), plus the layout helpers between user and core order.

use super::*;

impl<R: Real> Network<R> {
    /// Returns (seq_len, batch) for user-layout dims of features.
    pub(super) fn check_x_dims(&self, x_dims: [usize; 3]) -> Result<(usize, usize)> {
        self.check_dims_of(x_dims, false)
    }

    /// (seq_len, batch) for user-layout dims of features, or of token ids (`[.., .., 1]`).
    pub(super) fn check_dims_of(&self, x_dims: [usize; 3], tokens: bool) -> Result<(usize, usize)> {
        let input = self.input_shape();
        let (b, t) = if self.spec.batch_first { (x_dims[0], x_dims[1]) } else { (x_dims[1], x_dims[0]) };
        let axes = if tokens { "1" } else { "input_size" };
        let layout = if self.spec.batch_first { format!("[batch, seq_len, {axes}]") } else { format!("[seq_len, batch, {axes}]") };
        let last = match (input, tokens) {
            (Shape::Ids { .. }, false) => return Err(Error::type_("x", format!("int32 token ids {layout} (the first layer is an {})", self.layers[0].kind()), "float32 features")),
            (Shape::Seq { .. }, true) if !self.layers[0].reads_ids() => {
                return Err(Error::type_("x", format!("float32 features (the first layer, {}, does not read token ids)", self.layers[0].kind()), "int32 token ids"));
            }
            (_, true) => (1, "1 (one token id per step)".to_string()),
            (shape, false) => (shape.features(), format!("input_size = {}", shape.features())),
        };
        if b == 0 || t == 0 || x_dims[2] != last.0 {
            return Err(Error::shape("x", format!("{layout} with batch >= 1, seq_len >= 1, {}", last.1), dims_str(&x_dims)));
        }
        if x_dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).is_none_or(|n| n > (1 << 31)) {
            return Err(Error::shape("x", "at most 2^31 elements", dims_str(&x_dims)));
        }
        self.check_steps(t, &x_dims)?;
        Ok((t, b))
    }

    /// Every layer gets at least the steps it needs (`Layer::min_steps`: a "valid" convolution or
    /// pooling window), following the steps through the layers before it.
    /// Also checks, before anything is allocated, that every layer's output and working buffers
    /// fit (at most 2^31 elements each: a wide Dense or an attention over a long sequence).
    fn check_steps(&self, t: usize, x_dims: &[usize]) -> Result<()> {
        let b = if self.spec.batch_first { x_dims[0] } else { x_dims[1] };
        let mut steps = t;
        for (k, l) in self.layers.iter().enumerate() {
            let sequence = l.input_shape().is_sequence();
            if sequence && steps < l.min_steps() {
                let reason = format!("sequences long enough for layer {k} ({}), which needs at least {} steps ({t} input steps leave it {steps})", l.kind(), l.min_steps());
                return Err(Error::shape("x", reason, dims_str(x_dims)));
            }
            l.check_call(steps, b)?;
            let out = l.output_shape();
            let out_steps = if out.is_sequence() { l.output_steps(steps) } else { 1 };
            let n = [out_steps, b, out.features()].iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if n.is_none_or(|n| n > 1 << 31) {
                let reason = format!("inputs whose layer {k} ({}) output [{out_steps}, {b}, {}] fits in 2^31 elements", l.kind(), out.features());
                return Err(Error::shape("x", reason, dims_str(x_dims)));
            }
            steps = out_steps;
        }
        Ok(())
    }

    pub(super) fn check_x(&self, x: &[R], x_dims: [usize; 3]) -> Result<(usize, usize)> {
        let tb = self.check_x_dims(x_dims)?;
        expect_len("x", x.len(), &x_dims)?;
        expect_finite("x", x)?;
        Ok(tb)
    }

    /// `check_x` for token ids (dims `[.., .., 1]`).
    pub(super) fn check_ids(&self, ids: &[i32], x_dims: [usize; 3]) -> Result<(usize, usize)> {
        let tb = self.check_dims_of(x_dims, true)?;
        expect_len("x", ids.len(), &x_dims)?;
        if let Some(i) = ids.iter().position(|&v| v < 0) {
            return Err(Error::value("x", format!("token ids must be >= 0, got {} at index {i}", ids[i])));
        }
        self.check_max_token(ids.iter().copied().max().unwrap_or(0))?;
        Ok(tb)
    }

    /// Token ids must index the first layer's vocabulary (an Embedding's rows, or a recurrent
    /// layer's one-hot input: 0..input_size).
    pub(super) fn check_max_token(&self, max: i32) -> Result<()> {
        let (vocab, what) = match self.input_shape() {
            Shape::Ids { vocab } => (vocab, "num_embeddings"),
            shape => (shape.features(), "input_size"),
        };
        if max as usize >= vocab {
            return Err(Error::value("x", format!("token ids must be in 0..{vocab} (the first layer's {what}), got {max}")));
        }
        Ok(())
    }

    /// Validates a whole batch and gathers all of it into core layout.
    pub(super) fn prepare(&mut self, batch: &Batch<'_, R>) -> Result<Prepared<R>> {
        let checked = self.validate(batch)?;
        let idx: Vec<usize> = (0..checked.n).collect();
        Ok(self.gather(batch, &checked, &idx))
    }

    /// Checks x, y, mask and lengths of a batch against each other and the compiled loss.
    pub(super) fn validate<'b>(&self, batch: &Batch<'b, R>) -> Result<Checked<'b>> {
        self.check_batch(batch, None)
    }

    /// `validate` for a dataset: its contents were checked when it was built, so only what depends
    /// on this model is checked here, in O(1) from its summary (plus the lengths' cast).
    pub(super) fn validate_dataset<'d>(&self, data: &'d Dataset<R>) -> Result<Checked<'d>> {
        self.check_batch(&data.as_batch(), Some((data.summary(), data.steps())))
    }

    /// With `known` (a dataset's summary), the per-element checks it already passed are skipped.
    pub(super) fn check_batch<'b>(&self, batch: &Batch<'b, R>, known: Option<(DataSummary, Option<&'b [usize]>)>) -> Result<Checked<'b>> {
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
        let t_out = self.out_steps(t);
        let out_dims = self.output_dims_for(t_out, n);
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
                return Err(Error::value("mask", "a per-step mask needs sequence outputs (no LastStep or pooling to a vector)"));
            }
            let dims = if bf { [n, t_out] } else { [t_out, n] };
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
    pub(super) fn gather(&mut self, batch: &Batch<'_, R>, checked: &Checked<'_>, idx: &[usize]) -> Prepared<R> {
        let Checked { t, n, .. } = *checked;
        let bf = self.spec.batch_first;
        let seq_out = self.sequence_output();
        let f_out = self.output_features();
        let input = self.input_shape().features();
        let t_out = self.out_steps(t);
        let nb = idx.len();
        let (x, ids) = match batch.x {
            InputsRef::Float(x) => (gather_time_major(x, n, t, input, bf, idx, self.spare.empty(t * nb * input)), None),
            // Ids stay ids: the first layer gathers W_ih's columns for them (layer/projection.rs).
            InputsRef::Tokens(ids) => (Vec::new(), Some(gather_time_major(ids, n, t, 1, bf, idx, Vec::new()))),
        };
        let (yt, yf) = if seq_out { (t_out, f_out) } else { (1, f_out) };
        let y = match batch.y {
            TargetsRef::Float(y) => Targets::Float(gather_time_major(y, n, yt, yf, bf || !seq_out, idx, self.spare.empty(yt * nb * yf))),
            TargetsRef::Class(y) => Targets::Class(gather_time_major(y, n, yt, 1, bf || !seq_out, idx, Vec::new())),
        };
        let lengths: Option<Vec<usize>> = checked.lengths.as_ref().map(|l| idx.iter().map(|&i| l[i]).collect());
        let mask = batch.mask.map(|m| gather_time_major(m, n, t_out, 1, bf, idx, Vec::new()));
        let weights = if !seq_out {
            None
        } else {
            let out_lengths = lengths.as_ref().map(|l| self.out_lengths(t, l));
            match (&out_lengths, mask) {
                (None, None) => None,
                (len, mask) => {
                    let mut w = mask.unwrap_or_else(|| vec![R::ONE; t_out * nb]);
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
    pub(super) fn recycle(&mut self, p: Prepared<R>) {
        self.spare.give(p.x);
        if let Targets::Float(y) = p.y {
            self.spare.give(y);
        }
    }
}

pub(super) fn check_lengths(lengths: &[i32], batch: usize, seq_len: usize) -> Result<Vec<usize>> {
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
pub(super) fn to_time_major<T: Copy>(x: &[T], b: usize, t: usize, f: usize, batch_first: bool, out: impl FnOnce() -> Vec<T>) -> Cow<'_, [T]> {
    if !batch_first || b == 1 {
        return Cow::Borrowed(x); // batch 1: [1, T, F] and [T, 1, F] are the same layout
    }
    let idx: Vec<usize> = (0..b).collect();
    Cow::Owned(gather_time_major(x, b, t, f, batch_first, &idx, out()))
}

/// Time-major [T, B, F] → [B, T, F] (batch_first) or unchanged.
pub(super) fn from_time_major<T: Copy + Default>(x: &[T], b: usize, t: usize, f: usize, batch_first: bool) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    from_time_major_into(x, b, t, f, batch_first, &mut out);
    out
}

/// `from_time_major` into `out` (same length as `x`).
pub(super) fn from_time_major_into<T: Copy>(x: &[T], b: usize, t: usize, f: usize, batch_first: bool, out: &mut [T]) {
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
pub(super) fn gather_time_major<T: Copy>(x: &[T], n: usize, t: usize, f: usize, batch_first: bool, idx: &[usize], mut out: Vec<T>) -> Vec<T> {
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
