//! `MultiHeadAttention`: self-attention [T, B, E] → [T, B, E] with `nn.MultiheadAttention`'s math,
//! parameter names and init (query = key = value = the input). Keys past a sequence's length are
//! masked (PyTorch's key_padding_mask), `causal` masks keys after the query's step (attn_mask =
//! triu(−inf, 1)), and query rows past a length output zeros. No dropout on the attention weights
//! (PyTorch's `dropout` argument is not offered).
//!
//! A causal layer streams: its states are a key/value cache (`kv_cache.rs`) of `cache_size` steps
//! per sequence (default 1024, at most 2^24), and a call attends to the cached steps before its
//! own, so `step()` after step, or forward after forward on chunks, equals one forward on the whole
//! sequence. Continuing past the cache's capacity is an error naming `cache_size`.
//!
//! Projections are one GEMM over all T·B rows each (as Dense layers); scores and the weighted sum
//! are GEMMs per (sequence, head) reading Q, K, V in place from the [T·B, 3E] projection (row
//! stride B·3E), and the cached K and V in place from the states (row stride E): one more GEMM
//! each, over the cached steps only, so a step costs what is cached, not the cache's size.

mod kv_cache;

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
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape, StateInfo};
use kv_cache::{KvLayout, Past, DEFAULT_CACHE_SIZE, MAX_CACHE_SIZE};

/// What one forward computes and backward reads.
struct Pass<R> {
    /// [T·B, 3E]: q | k | v per row.
    qkv: Vec<R>,
    /// Attention weights [B, H, T, width] (query-major): a sequence's row holds its cached steps'
    /// weights, then its own steps'; rows of queries past a length are zero.
    p: Vec<R>,
    /// T + the most steps a sequence had cached.
    width: usize,
    /// The heads' outputs, concatenated [T·B, E].
    ctx: Vec<R>,
}

struct Cache<R: Real> {
    x: Vec<R>,
    pass: Pass<R>,
    /// The cached steps the forward started from.
    past: Past<'static, R>,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
}

pub struct MultiHeadAttention<R: Real> {
    embed_dim: usize,
    num_heads: usize,
    bias: bool,
    causal: bool,
    /// Steps the key/value cache keeps per sequence (a causal layer's states).
    cache_size: usize,
    /// The config key's full path (`spec.layers[k].config.cache_size`), for the full-cache error.
    cache_key: String,
    cache: Option<Cache<R>>,
    /// An earlier streaming step's states, written over by the next final states.
    spare_states: Option<Vec<Vec<R>>>,
}

impl<R: Real> MultiHeadAttention<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["embed_dim", "num_heads", "bias", "causal", "cache_size"])?;
        let embed_dim = input_features(&f, "embed_dim", input, true)?;
        let num_heads = f.size("num_heads", None, 1)?;
        if embed_dim % num_heads != 0 {
            return Err(Error::value(f.path("num_heads"), format!("must divide embed_dim {embed_dim}, got {num_heads}")));
        }
        checked_len(&f.path("embed_dim"), "parameter in_proj_weight", &[3, embed_dim, embed_dim])?;
        let causal = f.boolean("causal", false)?;
        let cache_key = f.path("cache_size");
        if !causal && f.raw("cache_size").is_some() {
            return Err(Error::value(cache_key, "applies to a causal layer only (causal: true): non-causal attention does not stream"));
        }
        let cache_size = f.size("cache_size", Some(DEFAULT_CACHE_SIZE), 1)?;
        if cache_size > MAX_CACHE_SIZE {
            return Err(Error::value(cache_key, format!("must be at most {MAX_CACHE_SIZE} (2^24 steps: the \"steps\" state counts in float32), got {cache_size}")));
        }
        checked_len(&cache_key, "the key/value cache of one sequence (keys and values, cache_size, embed_dim)", &[2, cache_size, embed_dim])?;
        Ok(MultiHeadAttention { embed_dim, num_heads, bias: f.boolean("bias", true)?, causal, cache_size, cache_key, cache: None, spare_states: None })
    }

    fn kv(&self) -> KvLayout {
        KvLayout { cache_size: self.cache_size, embed_dim: self.embed_dim }
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

    /// Keys query `i` of a sequence with `len` valid steps and `cached` steps before them attends
    /// to: a prefix of the row [cached | own].
    fn keys(&self, i: usize, len: usize, cached: usize) -> usize {
        if i >= len {
            0
        } else if self.causal {
            cached + len.min(i + 1)
        } else {
            len
        }
    }

    /// The cached steps a forward starts from: none for a non-causal layer.
    fn past<'a>(&self, states: &[Option<&'a [R]>], batch: usize) -> Past<'a, R> {
        if self.causal { self.kv().past(states, batch) } else { Past::fresh(batch) }
    }

    /// `forward`, with the final states (the grown cache) only when `want_states`.
    fn forward_with(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R], want_states: bool) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("MultiHeadAttention reads features, not token ids") };
        let (t, b) = (fwd.seq_len, fwd.batch);
        let past = self.past(fwd.states, b);
        let pass = self.attend(params, x, t, b, fwd.lengths, &past, out);
        let states = if self.causal && want_states { self.kv().final_states(&past, &pass.qkv, t, fwd.lengths, self.spare_states.take()) } else { Vec::new() };
        if fwd.keep {
            self.cache = Some(Cache { x: x.to_vec(), pass, past: past.into_owned(), seq_len: t, batch: b, lengths: fwd.lengths.map(<[usize]>::to_vec) });
        }
        states
    }

    /// The attention up to the heads' concatenated outputs; `out` gets the output projection with
    /// rows past a length zeroed.
    #[allow(clippy::too_many_arguments)]
    fn attend(&self, params: &[R], x: &[R], t: usize, b: usize, lengths: Option<&[usize]>, past: &Past<'_, R>, out: &mut [R]) -> Pass<R> {
        let (e, heads) = (self.embed_dim, self.num_heads);
        let (d, block) = (e / heads, self.kv().block());
        let rows = t * b;
        let mut qkv = vec![R::ZERO; buffer_len("MultiHeadAttention q|k|v", &[rows, 3 * e])];
        let mut scratch = vec![R::ZERO; qkv.len()];
        dense_forward(&self.in_proj(), &params[..self.out_offset()], x, rows, &mut scratch, &mut qkv);
        drop(scratch);
        let w = t + past.most();
        let mut p = vec![R::ZERO; buffer_len("MultiHeadAttention weights", &[b, heads, t, w])];
        let mut ctx = vec![R::ZERO; rows * e];
        let scale = R::ONE / R::from_f64(d as f64).sqrt();
        let ld = b * 3 * e;
        for bi in 0..b {
            let (len, n0) = (valid(lengths, t, bi), past.steps[bi]);
            for h in 0..heads {
                let (q, k, v) = (bi * 3 * e + h * d, bi * 3 * e + e + h * d, bi * 3 * e + 2 * e + h * d);
                let cached = bi * block + h * d;
                let ph = &mut p[(bi * heads + h) * t * w..][..t * w];
                // S = Q·Kᵀ/√d over [cached | own] keys, then a softmax over each query's keys;
                // padded queries keep zero rows.
                if n0 > 0 {
                    R::gemm(false, true, t, n0, d, scale, &qkv[q..], ld, &past.keys[cached..], e, R::ZERO, ph, w);
                }
                R::gemm(false, true, t, t, d, scale, &qkv[q..], ld, &qkv[k..], ld, R::ZERO, &mut ph[n0..], w);
                for (i, row) in ph.chunks_exact_mut(w).enumerate() {
                    masked_softmax(row, self.keys(i, len, n0));
                }
                let c = &mut ctx[bi * e + h * d..];
                if n0 > 0 {
                    R::gemm(false, false, t, d, n0, R::ONE, ph, w, &past.values[cached..], e, R::ZERO, c, b * e);
                }
                R::gemm(false, false, t, d, t, R::ONE, &ph[n0..], w, &qkv[v..], ld, if n0 > 0 { R::ONE } else { R::ZERO }, c, b * e);
            }
        }
        let mut z = vec![R::ZERO; rows * e];
        dense_forward(&self.out_proj(), &params[self.out_offset()..], &ctx, rows, &mut z, out);
        if let Some(l) = lengths {
            super::dense::zero_past_lengths(out, b, e, l);
        }
        Pass { qkv, p, width: w, ctx }
    }
}

impl<R: Real> Layer<R> for MultiHeadAttention<R> {
    fn kind(&self) -> &'static str {
        "MultiHeadAttention"
    }

    fn config(&self) -> Json {
        let mut fields = vec![
            ("embed_dim".into(), Json::Num(self.embed_dim as f64)),
            ("num_heads".into(), Json::Num(self.num_heads as f64)),
            ("bias".into(), Json::Bool(self.bias)),
            ("causal".into(), Json::Bool(self.causal)),
        ];
        if self.causal {
            fields.push(("cache_size".into(), Json::Num(self.cache_size as f64)));
        }
        Json::Obj(fields)
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
        checked_len("x", "MultiHeadAttention attention weights (batch, heads, seq_len, seq_len)", &[batch, self.num_heads, seq_len, seq_len])?;
        if self.causal {
            checked_len("x", "MultiHeadAttention key/value cache (keys and values, batch, cache_size, embed_dim)", &[2, batch, self.cache_size, self.embed_dim])?;
        }
        Ok(())
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

    fn states(&self, batch: usize) -> Vec<StateInfo> {
        if self.causal { self.kv().states(batch) } else { Vec::new() }
    }

    fn streams(&self) -> std::result::Result<(), String> {
        if self.causal { Ok(()) } else { Err("non-causal self-attention lets every step attend to later steps".into()) }
    }

    fn check_state_values(&self, states: &[Option<&[R]>], seq_len: usize, batch: usize, lengths: Option<&[usize]>) -> std::result::Result<(), String> {
        if !self.causal {
            return Ok(());
        }
        self.kv().check_steps(states, seq_len, lengths, &self.cache_key)?;
        let most = self.kv().cached_steps(states, batch).into_iter().max().unwrap_or(0);
        let width = seq_len.saturating_add(most);
        checked_len("x", "MultiHeadAttention attention weights (batch, heads, seq_len, cached + seq_len)", &[batch, self.num_heads, seq_len, width]).map(|_| ()).map_err(|e| e.to_string())
    }

    fn recycle_states(&mut self, states: Vec<Vec<R>>) {
        if self.causal {
            self.spare_states = Some(states);
        }
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        self.forward_with(params, fwd, out, true)
    }

    /// A prediction does not copy the cache (batch·cache_size·embed_dim values per state).
    fn forward_discarding_states(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) {
        self.forward_with(params, fwd, out, false);
    }

    fn backward(&mut self, params: &[R], d_out: &[R], _at_logits: bool, d_states: &[Option<&[R]>], grads: &mut [R], _want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (e, heads, t, b) = (self.embed_dim, self.num_heads, c.seq_len, c.batch);
        let (d, rows, ld, oo) = (e / heads, t * b, b * 3 * e, self.out_offset());
        let Pass { qkv, p, width: w, ctx } = &c.pass;
        let (w, past, block) = (*w, &c.past, self.kv().block());
        // Outputs past a length are constant zeros: their cotangent reaches nothing.
        let mut dy = d_out.to_vec();
        if let Some(l) = &c.lengths {
            super::dense::zero_past_lengths(&mut dy, b, e, l);
        }
        let mut d_ctx = vec![R::ZERO; rows * e];
        dense_backward(&self.out_proj(), &params[oo..], ctx, rows, &dy, &mut grads[oo..], &mut d_ctx);
        let scale = R::ONE / R::from_f64(d as f64).sqrt();
        let mut d_qkv = vec![R::ZERO; qkv.len()];
        let (mut dp, mut ds) = (vec![R::ZERO; t * w], vec![R::ZERO; t * w]);
        let cache_len = if self.causal { b * block } else { 0 };
        let (mut d_keys, mut d_values) = (vec![R::ZERO; cache_len], vec![R::ZERO; cache_len]);
        for bi in 0..b {
            let (len, n0) = (valid(c.lengths.as_deref(), t, bi), past.steps[bi]);
            let beta = if n0 > 0 { R::ONE } else { R::ZERO };
            for h in 0..heads {
                let (q, k, v) = (bi * 3 * e + h * d, bi * 3 * e + e + h * d, bi * 3 * e + 2 * e + h * d);
                let cached = bi * block + h * d;
                let ph = &p[(bi * heads + h) * t * w..][..t * w];
                let dc = &d_ctx[bi * e + h * d..];
                // Over the keys [cached | own]: dP = dC·Vᵀ, dV = Pᵀ·dC, dS through each row's
                // softmax, dQ = dS·K/√d, dK = dSᵀ·Q/√d.
                if n0 > 0 {
                    R::gemm(false, true, t, n0, d, R::ONE, dc, b * e, &past.values[cached..], e, R::ZERO, &mut dp, w);
                    R::gemm(true, false, n0, d, t, R::ONE, ph, w, dc, b * e, R::ZERO, &mut d_values[cached..], e);
                }
                R::gemm(false, true, t, t, d, R::ONE, dc, b * e, &qkv[v..], ld, R::ZERO, &mut dp[n0..], w);
                R::gemm(true, false, t, d, t, R::ONE, &ph[n0..], w, dc, b * e, R::ZERO, &mut d_qkv[v..], ld);
                for (i, ((dsr, pr), dpr)) in ds.chunks_exact_mut(w).zip(ph.chunks_exact(w)).zip(dp.chunks_exact(w)).enumerate() {
                    masked_softmax_backward(pr, dpr, self.keys(i, len, n0), dsr);
                }
                if n0 > 0 {
                    R::gemm(false, false, t, d, n0, scale, &ds, w, &past.keys[cached..], e, R::ZERO, &mut d_qkv[q..], ld);
                    R::gemm(true, false, n0, d, t, scale, &ds, w, &qkv[q..], ld, R::ZERO, &mut d_keys[cached..], e);
                }
                R::gemm(false, false, t, d, t, scale, &ds[n0..], w, &qkv[k..], ld, beta, &mut d_qkv[q..], ld);
                R::gemm(true, false, t, d, t, scale, &ds[n0..], w, &qkv[q..], ld, R::ZERO, &mut d_qkv[k..], ld);
            }
        }
        if self.causal {
            self.kv().final_states_backward(&past.steps, t, c.lengths.as_deref(), d_states, &mut d_keys, &mut d_values, &mut d_qkv);
        }
        let mut dx = vec![R::ZERO; rows * e];
        // With no cached keys and no gradient on the final keys, the key bias adds q·b_k to every
        // score of a query's row, which the row's softmax cancels: its exact gradient is zero.
        // Computed (Σ dK) it is rounding residue that differs between backends and that Adam,
        // dividing by its size, turns into a random walk; so it adds nothing.
        let cancels = past.most() == 0 && d_states.first().copied().flatten().is_none();
        let key_bias = self.key_bias_range().filter(|_| cancels).map(|r| (r.clone(), grads[r].to_vec()));
        dense_backward(&self.in_proj(), &params[..oo], &c.x, rows, &d_qkv, &mut grads[..oo], &mut dx);
        if let Some((r, before)) = key_bias {
            grads[r].copy_from_slice(&before);
        }
        let d_states = if self.causal { vec![d_keys, d_values, vec![R::ZERO; b]] } else { Vec::new() };
        Ok(LayerGrads { dx, d_states })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }

    /// One [T, T] panel per head (row = query step, column = key step), then the output.
    fn trace(&self, params: &[R], x: LayerX<'_, R>, seq_len: usize, out: &[R]) -> Vec<TracePanel> {
        let LayerX::Features(x) = x else { panic!("MultiHeadAttention reads features, not token ids") };
        let mut y = vec![R::ZERO; out.len()];
        let pass = self.attend(params, x, seq_len, 1, None, &Past::fresh(1), &mut y);
        let tt = seq_len * seq_len;
        let mut panels: Vec<TracePanel> = (0..self.num_heads).map(|h| TracePanel::attention(format!("head {h} attention"), seq_len, &pass.p[h * tt..(h + 1) * tt])).collect();
        panels.push(TracePanel::output(self.embed_dim, out));
        panels
    }
}

#[cfg(test)]
mod tests;
