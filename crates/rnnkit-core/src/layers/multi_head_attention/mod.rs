//! `MultiHeadAttention`: self-attention [T, B, E] → [T, B, E] with `nn.MultiheadAttention`'s math,
//! parameter names and init (query = key = value = the input). Keys past a sequence's length are
//! masked (PyTorch's key_padding_mask), `causal` masks keys after the query's step (attn_mask =
//! triu(−inf, 1)), and query rows past a length output zeros. No dropout on the attention weights
//! (PyTorch's `dropout` argument is not offered). Streaming needs a KV cache: not implemented.
//!
//! Projections are one GEMM over all T·B rows each (as Dense layers); scores and the weighted sum
//! are GEMMs per (sequence, head) reading Q, K, V in place from the [T·B, 3E] projection (row stride B·3E).

use crate::dense::{dense_backward, dense_forward};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;
use crate::spec::DenseSpec;
use crate::trace::TracePanel;

use super::activation::Activation;
use super::attention_pooling::{buffer_len, checked_len, masked_softmax, masked_softmax_backward, valid};
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape};

/// What one forward computes and backward reads.
struct Pass<R> {
    /// [T·B, 3E]: q | k | v per row.
    qkv: Vec<R>,
    /// Attention weights [B, H, T, T] (query-major); rows of queries past a length are zero.
    p: Vec<R>,
    /// The heads' outputs, concatenated [T·B, E].
    ctx: Vec<R>,
}

struct Cache<R> {
    x: Vec<R>,
    pass: Pass<R>,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
}

pub struct MultiHeadAttention<R> {
    embed_dim: usize,
    num_heads: usize,
    bias: bool,
    causal: bool,
    cache: Option<Cache<R>>,
}

impl<R: Real> MultiHeadAttention<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["embed_dim", "num_heads", "bias", "causal"])?;
        let embed_dim = input_features(&f, "embed_dim", input, true)?;
        let num_heads = f.size("num_heads", None, 1)?;
        if embed_dim % num_heads != 0 {
            return Err(Error::value(f.path("num_heads"), format!("must divide embed_dim {embed_dim}, got {num_heads}")));
        }
        checked_len(&f.path("embed_dim"), "parameter in_proj_weight", &[3, embed_dim, embed_dim])?;
        Ok(MultiHeadAttention { embed_dim, num_heads, bias: f.boolean("bias", true)?, causal: f.boolean("causal", false)?, cache: None })
    }

    /// in_proj (weight then bias) and out_proj as Dense layers over rows.
    fn in_proj(&self) -> DenseSpec {
        DenseSpec { in_features: self.embed_dim, units: 3 * self.embed_dim, activation: Activation::Identity, bias: self.bias, return_sequences: true }
    }

    fn out_proj(&self) -> DenseSpec {
        DenseSpec { units: self.embed_dim, ..self.in_proj() }
    }

    /// Where out_proj's parameters start.
    fn out_offset(&self) -> usize {
        crate::dense::param_count(&self.in_proj())
    }

    /// Where the key part of in_proj_bias sits in the parameters (after in_proj_weight [3E, E] and
    /// the query part), when there is a bias.
    fn key_bias_range(&self) -> Option<std::ops::Range<usize>> {
        let e = self.embed_dim;
        self.bias.then(|| 3 * e * e + e..3 * e * e + 2 * e)
    }

    /// Keys query `i` of a sequence with `len` valid steps attends to: a prefix of the keys.
    fn keys(&self, i: usize, len: usize) -> usize {
        if self.causal { len.min(i + 1) } else { len }
    }

    /// The attention up to the heads' concatenated outputs; `out` gets the output projection with
    /// rows past a length zeroed.
    fn attend(&self, params: &[R], x: &[R], t: usize, b: usize, lengths: Option<&[usize]>, out: &mut [R]) -> Pass<R> {
        let (e, heads) = (self.embed_dim, self.num_heads);
        let d = e / heads;
        let rows = t * b;
        let mut qkv = vec![R::ZERO; buffer_len("MultiHeadAttention q|k|v", &[rows, 3 * e])];
        let mut scratch = vec![R::ZERO; qkv.len()];
        dense_forward(&self.in_proj(), &params[..self.out_offset()], x, rows, &mut scratch, &mut qkv);
        drop(scratch);
        let mut p = vec![R::ZERO; buffer_len("MultiHeadAttention weights", &[b, heads, t, t])];
        let mut ctx = vec![R::ZERO; rows * e];
        let scale = R::ONE / R::from_f64(d as f64).sqrt();
        let ld = b * 3 * e;
        for bi in 0..b {
            let len = valid(lengths, t, bi);
            for h in 0..heads {
                let (q, k, v) = (bi * 3 * e + h * d, bi * 3 * e + e + h * d, bi * 3 * e + 2 * e + h * d);
                let ph = &mut p[(bi * heads + h) * t * t..][..t * t];
                // S = Q·Kᵀ/√d, then a softmax over each query's keys; padded queries keep zero rows.
                R::gemm(false, true, t, t, d, scale, &qkv[q..], ld, &qkv[k..], ld, R::ZERO, ph, t);
                for (i, row) in ph.chunks_exact_mut(t).enumerate() {
                    masked_softmax(row, if i < len { self.keys(i, len) } else { 0 });
                }
                R::gemm(false, false, t, d, t, R::ONE, ph, t, &qkv[v..], ld, R::ZERO, &mut ctx[bi * e + h * d..], b * e);
            }
        }
        let mut z = vec![R::ZERO; rows * e];
        dense_forward(&self.out_proj(), &params[self.out_offset()..], &ctx, rows, &mut z, out);
        if let Some(l) = lengths {
            super::dense::zero_past_lengths(out, b, e, l);
        }
        Pass { qkv, p, ctx }
    }
}

impl<R: Real> Layer<R> for MultiHeadAttention<R> {
    fn kind(&self) -> &'static str {
        "MultiHeadAttention"
    }

    fn config(&self) -> Json {
        Json::Obj(vec![
            ("embed_dim".into(), Json::Num(self.embed_dim as f64)),
            ("num_heads".into(), Json::Num(self.num_heads as f64)),
            ("bias".into(), Json::Bool(self.bias)),
            ("causal".into(), Json::Bool(self.causal)),
        ])
    }

    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.embed_dim }
    }

    fn output_shape(&self) -> Shape {
        Shape::Seq { features: self.embed_dim }
    }

    fn check_call(&self, seq_len: usize, batch: usize) -> Result<()> {
        let rows = seq_len.saturating_mul(batch);
        checked_len("x", "MultiHeadAttention projections", &[rows, 3 * self.embed_dim])?;
        checked_len("x", "MultiHeadAttention attention weights (batch, heads, seq_len, seq_len)", &[batch, self.num_heads, seq_len, seq_len]).map(|_| ())
    }

    fn params(&self) -> Vec<ParamShape> {
        let e = self.embed_dim;
        let mut out = vec![ParamShape::new("in_proj_weight", vec![3 * e, e])];
        if self.bias {
            out.push(ParamShape::new("in_proj_bias", vec![3 * e]));
        }
        out.push(ParamShape::new("out_proj.weight", vec![e, e]));
        if self.bias {
            out.push(ParamShape::new("out_proj.bias", vec![e]));
        }
        out
    }

    /// PyTorch's: in_proj_weight xavier_uniform (fan_in E, fan_out 3E), out_proj.weight nn.Linear's
    /// U(±1/√E), both biases zero.
    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        let e = self.embed_dim;
        params.fill(0.0);
        let mut fill = |xs: &mut [f32], bound: f64| xs.iter_mut().for_each(|x| *x = rng.uniform(-bound, bound) as f32);
        fill(&mut params[..3 * e * e], (6.0 / (4 * e) as f64).sqrt());
        let oo = self.out_offset();
        fill(&mut params[oo..oo + e * e], 1.0 / (e as f64).sqrt());
    }

    fn streams(&self) -> std::result::Result<(), String> {
        Err(if self.causal {
            "causal self-attention would stream with a cache of past keys and values, which is not implemented yet".into()
        } else {
            "non-causal self-attention lets every step attend to later steps".into()
        })
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("MultiHeadAttention reads features, not token ids") };
        let pass = self.attend(params, x, fwd.seq_len, fwd.batch, fwd.lengths, out);
        if fwd.keep {
            self.cache = Some(Cache { x: x.to_vec(), pass, seq_len: fwd.seq_len, batch: fwd.batch, lengths: fwd.lengths.map(<[usize]>::to_vec) });
        }
        Vec::new()
    }

    fn backward(&mut self, params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], grads: &mut [R], _want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (e, heads, t, b) = (self.embed_dim, self.num_heads, c.seq_len, c.batch);
        let (d, rows, ld, oo) = (e / heads, t * b, b * 3 * e, self.out_offset());
        let Pass { qkv, p, ctx } = &c.pass;
        // Outputs past a length are constant zeros: their cotangent reaches nothing.
        let mut dy = d_out.to_vec();
        if let Some(l) = &c.lengths {
            super::dense::zero_past_lengths(&mut dy, b, e, l);
        }
        let mut d_ctx = vec![R::ZERO; rows * e];
        dense_backward(&self.out_proj(), &params[oo..], ctx, rows, &dy, &mut grads[oo..], &mut d_ctx);
        let scale = R::ONE / R::from_f64(d as f64).sqrt();
        let mut d_qkv = vec![R::ZERO; qkv.len()];
        let (mut dp, mut ds) = (vec![R::ZERO; t * t], vec![R::ZERO; t * t]);
        for bi in 0..b {
            let len = valid(c.lengths.as_deref(), t, bi);
            for h in 0..heads {
                let (q, k, v) = (bi * 3 * e + h * d, bi * 3 * e + e + h * d, bi * 3 * e + 2 * e + h * d);
                let ph = &p[(bi * heads + h) * t * t..][..t * t];
                let dc = &d_ctx[bi * e + h * d..];
                // dP = dC·Vᵀ, dV = Pᵀ·dC, dS through each row's softmax, dQ = dS·K/√d, dK = dSᵀ·Q/√d.
                R::gemm(false, true, t, t, d, R::ONE, dc, b * e, &qkv[v..], ld, R::ZERO, &mut dp, t);
                R::gemm(true, false, t, d, t, R::ONE, ph, t, dc, b * e, R::ZERO, &mut d_qkv[v..], ld);
                for (i, ((dsr, pr), dpr)) in ds.chunks_exact_mut(t).zip(ph.chunks_exact(t)).zip(dp.chunks_exact(t)).enumerate() {
                    masked_softmax_backward(pr, dpr, if i < len { self.keys(i, len) } else { 0 }, dsr);
                }
                R::gemm(false, false, t, d, t, scale, &ds, t, &qkv[k..], ld, R::ZERO, &mut d_qkv[q..], ld);
                R::gemm(true, false, t, d, t, scale, &ds, t, &qkv[q..], ld, R::ZERO, &mut d_qkv[k..], ld);
            }
        }
        let mut dx = vec![R::ZERO; rows * e];
        // The key bias adds q·b_k to every score of a query's row, which the row's softmax cancels:
        // its exact gradient is zero. Computed (Σ dK) it is rounding residue that differs between
        // backends and that Adam, dividing by its size, turns into a random walk; so it adds nothing.
        let key_bias = self.key_bias_range().map(|r| (r.clone(), grads[r].to_vec()));
        dense_backward(&self.in_proj(), &params[..oo], &c.x, rows, &d_qkv, &mut grads[..oo], &mut dx);
        if let Some((r, before)) = key_bias {
            grads[r].copy_from_slice(&before);
        }
        Ok(LayerGrads { dx, d_states: Vec::new() })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }

    /// One [T, T] panel per head (row = query step, column = key step), then the output.
    fn trace(&self, params: &[R], x: LayerX<'_, R>, seq_len: usize, out: &[R]) -> Vec<TracePanel> {
        let LayerX::Features(x) = x else { panic!("MultiHeadAttention reads features, not token ids") };
        let mut y = vec![R::ZERO; out.len()];
        let pass = self.attend(params, x, seq_len, 1, None, &mut y);
        let tt = seq_len * seq_len;
        let mut panels: Vec<TracePanel> = (0..self.num_heads).map(|h| TracePanel::attention(format!("head {h} attention"), seq_len, &pass.p[h * tt..(h + 1) * tt])).collect();
        panels.push(TracePanel::output(self.embed_dim, out));
        panels
    }
}

#[cfg(test)]
mod tests;
