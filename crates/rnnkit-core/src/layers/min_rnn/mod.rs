//! `MinGRU` and `MinLSTM` (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201): gates
//! that read only x_t, so a layer is one input GEMM over all steps (`pre = x·weightᵀ + bias`) and a
//! linear recurrence `h_t = a_t ⊙ h_{t−1} + b_t` (gates.rs: the cells; scan.rs: the chunked,
//! thread-split scan and its adjoint). Input [T, B, input_size] or token ids, output [T, B, H],
//! state `h` [B, H]; steps past a sequence's length output zeros and leave h unchanged.
//!
//! Parameters (nn.Linear's names for the fused projection): `weight` [G·H, input_size] and `bias`
//! [G·H], gate blocks in the order z, h̃ (minGRU; the paper's linear_z, linear_h) or f, i, h̃ (minLSTM:
//! linear_f, linear_i, linear_h). Init: nn.Linear's U(±1/√input_size).

mod gates;
mod scan;
#[cfg(test)]
mod tests;

pub use gates::MinCell;

use std::ops::Range;

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::init::init_dense;
use crate::json::Json;
use crate::layers::activation::Activation;
use crate::parallel::{self, part_rows, row_parts, Disjoint};
use crate::real::Real;
use crate::rng::Rng;
use crate::spec::DenseSpec;

use super::attention_pooling::checked_len;
use super::dense::{refill, zero_past_lengths};
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape, StateInfo};
use gates::{backward_row, forward_row};
use scan::{linear_scan, Direction, CHUNK_STEPS};

/// What the last training forward ran on (its buffers stay in the layer).
struct Call {
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    tokens: bool,
}

pub struct MinRnn<R> {
    cell: MinCell,
    input_size: usize,
    hidden_size: usize,
    bias: bool,
    /// The last training forward; None before one, and after its backward (which overwrites `pre`).
    call: Option<Call>,
    /// Biased pre-activations [T·B, G·H]; backward turns them into their gradients in place.
    pre: Vec<R>,
    /// Recurrence coefficients [T, B·H]: a, then b (which backward reuses for a masked dL/dy).
    a: Vec<R>,
    b: Vec<R>,
    /// States h_t [T, B·H] of a training forward, and backward's total dL/dh_t.
    h: Vec<R>,
    g: Vec<R>,
    h0: Vec<R>,
    /// A training forward's input: features (time-major, handed over by the network through
    /// `adopt_input`, not copied) or ids.
    x: Vec<R>,
    ids: Vec<i32>,
}

/// Runs `f(rows)` over contiguous blocks of `rows` on the model's threads: for element-wise row
/// work, where the split cannot change a result. `cost`: operations in total.
fn split_rows(rows: usize, cost: usize, f: impl Fn(Range<usize>) + Sync) {
    let parts = row_parts(rows, cost);
    parallel::run(parts, |p| f(part_rows(rows, parts, p)));
}

/// `sums[j] += Σ_r m[r, j]` for a row-major `m` of `width` columns, split over the model's threads by
/// columns: each column is summed in row order by one part, so the result is the same for every split
/// (a 1×rows GEMM would pack all of `m` first).
fn add_column_sums<R: Real>(m: &[R], width: usize, sums: &mut [R]) {
    let parts = row_parts(width, m.len());
    let out = Disjoint::new(sums);
    parallel::run(parts, |p| {
        let cols = part_rows(width, parts, p);
        // SAFETY: each part takes its own columns of `sums`.
        let acc = unsafe { out.piece(cols.start, cols.len()) };
        for row in m.chunks_exact(width) {
            acc.iter_mut().zip(&row[cols.clone()]).for_each(|(s, &v)| *s += v);
        }
    });
}

/// Whether row r = t·batch + b of a time-major buffer is inside its sequence.
fn valid(r: usize, batch: usize, lengths: Option<&[usize]>) -> bool {
    lengths.is_none_or(|l| r / batch < l[r % batch])
}

impl<R: Real> MinRnn<R> {
    pub fn from_config(cell: MinCell, config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["input_size", "hidden_size", "bias"])?;
        let input_size = input_features(&f, "input_size", input, true)?;
        let hidden_size = f.size("hidden_size", None, 1)?;
        checked_len(&f.path("hidden_size"), &format!("{} weight (gates, hidden_size, input_size)", cell.layer_type()), &[cell.gates(), hidden_size, input_size])?;
        Ok(MinRnn {
            cell,
            input_size,
            hidden_size,
            bias: f.boolean("bias", true)?,
            call: None,
            pre: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
            h: Vec::new(),
            g: Vec::new(),
            h0: Vec::new(),
            x: Vec::new(),
            ids: Vec::new(),
        })
    }

    fn gate_size(&self) -> usize {
        self.cell.gates() * self.hidden_size
    }

    /// `pre` ← x·weightᵀ for time-major rows `rows` of the input (one GEMM), or for ids each
    /// row's column of `weight`.
    fn project(&mut self, weight: &[R], x: LayerX<'_, R>, rows: Range<usize>) {
        let (input, gs) = (self.input_size, self.gate_size());
        resize(&mut self.pre, rows.len() * gs);
        match x {
            LayerX::Features(x) => {
                let x = &x[rows.start * input..rows.end * input];
                R::gemm(false, true, rows.len(), gs, input, R::ONE, x, input, weight, input, R::ZERO, &mut self.pre, gs)
            }
            LayerX::Tokens(ids) => {
                for (row, &id) in self.pre.chunks_exact_mut(gs).zip(&ids[rows]) {
                    for (g, v) in row.iter_mut().enumerate() {
                        *v = weight[g * input + id as usize];
                    }
                }
            }
        }
    }

    /// The recurrence coefficients `a`, `b` of the rows `pre` holds (time-major rows from
    /// `first_row` on), adding `bias` into `pre` first; rows past a length get a = 1, b = 0.
    fn coefficients(&mut self, bias: &[R], first_row: usize, batch: usize, lengths: Option<&[usize]>) {
        let (h, gs, cell) = (self.hidden_size, self.gate_size(), self.cell);
        let rows = self.pre.len() / gs;
        resize(&mut self.a, rows * h);
        resize(&mut self.b, rows * h);
        let (pre, a, b) = (Disjoint::new(&mut self.pre), Disjoint::new(&mut self.a), Disjoint::new(&mut self.b));
        split_rows(rows, rows * gs * 8, |r| {
            // SAFETY: each part takes its own rows of each buffer.
            let (pre, a, b) = unsafe { (pre.rows(r.clone(), gs), a.rows(r.clone(), h), b.rows(r.clone(), h)) };
            let mut scratch = vec![R::ZERO; cell.scratch_per_unit() * h];
            for (k, row) in r.enumerate() {
                let (p, a, b) = (&mut pre[k * gs..][..gs], &mut a[k * h..][..h], &mut b[k * h..][..h]);
                if !bias.is_empty() {
                    p.iter_mut().zip(bias).for_each(|(p, &b)| *p += b);
                }
                if valid(first_row + row, batch, lengths) {
                    forward_row(cell, p, a, b, &mut scratch);
                } else {
                    // Past the length: h carries over unchanged.
                    a.fill(R::ONE);
                    b.fill(R::ZERO);
                }
            }
        });
    }
}

/// `v` resized to `n` (values left as they are: every caller overwrites them).
fn resize<R: Real>(v: &mut Vec<R>, n: usize) {
    if v.len() != n {
        v.resize(n, R::ZERO);
    }
}

impl<R: Real> Layer<R> for MinRnn<R> {
    fn kind(&self) -> &'static str {
        self.cell.layer_type()
    }

    fn config(&self) -> Json {
        Json::Obj(vec![
            ("input_size".into(), Json::Num(self.input_size as f64)),
            ("hidden_size".into(), Json::Num(self.hidden_size as f64)),
            ("bias".into(), Json::Bool(self.bias)),
        ])
    }

    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.input_size }
    }

    fn output_shape(&self) -> Shape {
        Shape::Seq { features: self.hidden_size }
    }

    fn check_call(&self, seq_len: usize, batch: usize) -> Result<()> {
        checked_len("x", &format!("{} input projection (seq_len, batch, gates·hidden_size)", self.kind()), &[seq_len, batch, self.gate_size()]).map(|_| ())
    }

    fn params(&self) -> Vec<ParamShape> {
        let mut out = vec![ParamShape::new("weight", vec![self.gate_size(), self.input_size])];
        if self.bias {
            out.push(ParamShape::new("bias", vec![self.gate_size()]));
        }
        out
    }

    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        let spec = DenseSpec { in_features: self.input_size, units: self.gate_size(), activation: Activation::Identity, bias: self.bias, return_sequences: true };
        init_dense(&spec, params, rng);
    }

    fn states(&self, batch: usize) -> Vec<StateInfo> {
        vec![StateInfo { name: "h", dims: vec![batch, self.hidden_size] }]
    }

    fn reads_ids(&self) -> bool {
        true
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let (batch, h, gs) = (fwd.batch, self.hidden_size, self.gate_size());
        let (rows, width) = (fwd.seq_len * batch, batch * h);
        let (weight, bias) = params.split_at(gs * self.input_size);
        self.h0.clear();
        match fwd.states.first().copied().flatten() {
            Some(h0) => self.h0.extend_from_slice(h0),
            None => self.h0.resize(width, R::ZERO),
        }
        let final_h = if fwd.keep {
            // Training: every step's pre-activations, coefficients and state stay for backward.
            self.project(weight, fwd.x, 0..rows);
            self.coefficients(bias, 0, batch, fwd.lengths);
            resize(&mut self.h, rows * h);
            linear_scan(Direction::Forward, &self.a, &self.b, &self.h0, &mut self.h, width);
            out.copy_from_slice(&self.h);
            self.call = Some(Call { seq_len: fwd.seq_len, batch, lengths: fwd.lengths.map(<[usize]>::to_vec), tokens: matches!(fwd.x, LayerX::Tokens(_)) });
            if let LayerX::Tokens(ids) = fwd.x {
                refill(&mut self.ids, ids);
            }
            self.h[(fwd.seq_len - 1) * width..].to_vec()
        } else {
            // Inference keeps nothing, so it runs chunk by chunk of CHUNK_STEPS steps: projection,
            // coefficients and a sequential scan from the previous chunk's end state, all in cache
            // (the whole-sequence buffers are 3·T·B·H values of memory traffic: at T = 4096 this path
            // took half the time). The sequential scan is the streaming `step`'s arithmetic; it
            // differs from training's chunked scan by rounding only (a few ulps: both are the same
            // sums of products of a ∈ [0, 1], combined in another order).
            let mut state = self.h0.clone();
            for t0 in (0..fwd.seq_len).step_by(CHUNK_STEPS) {
                let steps = t0..(t0 + CHUNK_STEPS).min(fwd.seq_len);
                let chunk = steps.start * batch..steps.end * batch;
                self.project(weight, fwd.x, chunk.clone());
                self.coefficients(bias, chunk.start, batch, fwd.lengths);
                let dst = &mut out[chunk.start * h..chunk.end * h];
                linear_scan(Direction::Forward, &self.a, &self.b, &state, dst, width);
                state.copy_from_slice(&dst[dst.len() - width..]);
            }
            state
        };
        if let Some(lengths) = fwd.lengths {
            zero_past_lengths(out, batch, h, lengths);
        }
        vec![final_h]
    }

    fn backward(&mut self, params: &[R], d_out: &[R], _at_logits: bool, d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(call) = self.call.take() else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (batch, h, gs, input, cell) = (call.batch, self.hidden_size, self.gate_size(), self.input_size, self.cell);
        let (rows, width) = (call.seq_len * batch, batch * h);
        let lengths = call.lengths.as_deref();
        // Total dL/dh_t = dL/dy_t (zero past a length) + a_{t+1} ⊙ dL/dh_{t+1}, from dL/dh_n.
        let dy = match lengths {
            Some(lengths) => {
                self.b.copy_from_slice(d_out);
                zero_past_lengths(&mut self.b, batch, h, lengths);
                &self.b[..]
            }
            None => d_out,
        };
        let dh_n = match d_states.first().copied().flatten() {
            Some(d) => d.to_vec(),
            None => vec![R::ZERO; width],
        };
        resize(&mut self.g, rows * h);
        linear_scan(Direction::Reverse, &self.a, dy, &dh_n, &mut self.g, width);
        let dh0: Vec<R> = self.a[..width].iter().zip(&self.g[..width]).map(|(&a, &g)| a * g).collect();
        {
            let (pre, hs, g, h0) = (Disjoint::new(&mut self.pre), &self.h, &self.g, &self.h0);
            split_rows(rows, rows * gs * 10, |r| {
                // SAFETY: each part takes its own rows of `pre`.
                let pre = unsafe { pre.rows(r.clone(), gs) };
                let mut scratch = vec![R::ZERO; (cell.scratch_per_unit() + cell.gates()) * h];
                let (row_copy, scratch) = scratch.split_at_mut(gs);
                for (k, row) in r.enumerate() {
                    let d_pre = &mut pre[k * gs..][..gs];
                    if !valid(row, batch, lengths) {
                        d_pre.fill(R::ZERO);
                        continue;
                    }
                    let h_prev = if row < batch { &h0[row * h..][..h] } else { &hs[(row - batch) * h..][..h] };
                    row_copy.copy_from_slice(d_pre);
                    backward_row(cell, row_copy, &g[row * h..][..h], h_prev, d_pre, scratch);
                }
            });
        }
        let d_pre = &self.pre;
        let (gw, gb) = grads.split_at_mut(gs * input);
        if self.bias {
            add_column_sums(d_pre, gs, gb);
        }
        let weight = &params[..gs * input];
        let mut dx = Vec::new();
        if call.tokens {
            for (row, &id) in d_pre.chunks_exact(gs).zip(&self.ids) {
                for (g, &d) in row.iter().enumerate() {
                    gw[g * input + id as usize] += d;
                }
            }
        } else {
            // dW += d_preᵀ·x;  dx = d_pre·W.
            R::gemm(true, false, gs, input, rows, R::ONE, d_pre, gs, &self.x, input, R::ONE, gw, input);
            if want_dx {
                dx = vec![R::ZERO; rows * input];
                R::gemm(false, false, rows, input, gs, R::ONE, d_pre, gs, weight, input, R::ZERO, &mut dx, input);
            }
        }
        Ok(LayerGrads { dx, d_states: vec![dh0] })
    }

    fn wants_input(&self) -> bool {
        true
    }

    fn adopt_input(&mut self, input: Vec<R>) -> Option<Vec<R>> {
        Some(std::mem::replace(&mut self.x, input))
    }

    fn clear_cache(&mut self) {
        self.call = None;
    }
}
