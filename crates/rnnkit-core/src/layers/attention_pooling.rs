//! `AttentionPooling`: a sequence [T, B, F] → one vector per sequence [B, F], the weighted sum
//! Σ_t α_t·x_t of its valid steps, α = softmax over the steps < length of a learned score (steps past
//! a sequence's length get weight exactly 0). Scores:
//! - "additive" (Bahdanau): e_t = vᵀ·tanh(W·x_t + b), `weight` [A, F], `bias` [A], `v` [A];
//! - "dot": a learned query, e_t = qᵀ·x_t / √F, `query` [F].
//!
//! There is no torch module for it: test/fixtures/torch_layers/attention.py holds the reference.
//! Also home of the helpers both attention layers share (masked softmax, checked sizes).

use crate::dense::{dense_backward, dense_forward};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;
use crate::spec::DenseSpec;
use crate::trace::TracePanel;

use super::activation::{activation_backward, activation_forward, Activation};
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Score {
    Additive,
    Dot,
}

const SCORES: &[(&str, Score)] = &[("additive", Score::Additive), ("dot", Score::Dot)];

/// Largest parameter tensor or per-call buffer (elements), like the network's input limit.
const MAX_ELEMENTS: usize = 1 << 31;

/// The product of `dims`, or an error at `path` when it overflows or exceeds `MAX_ELEMENTS`
/// (sizes are checked before anything is allocated; usize is 32 bits on wasm).
pub(super) fn checked_len(path: &str, what: &str, dims: &[usize]) -> Result<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS).ok_or_else(|| {
        let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
        Error::value(path, format!("{what} [{}] would exceed {MAX_ELEMENTS} elements", dims.join(", ")))
    })
}

/// A per-call buffer's size; the `Layer` trait's forward cannot return an error, so an impossible
/// size is a panic with the sizes rather than a wrapped multiplication.
pub(super) fn buffer_len(what: &str, dims: &[usize]) -> usize {
    checked_len(what, "buffer", dims).unwrap_or_else(|e| panic!("{e}"))
}

/// Softmax over `row[..valid]` and zeros after it: masked entries get weight exactly 0.
pub(super) fn masked_softmax<R: Real>(row: &mut [R], valid: usize) {
    activation_forward(Activation::Softmax, &mut row[..valid], valid);
    row[valid..].fill(R::ZERO);
}

/// dL/de from dL/dα through `masked_softmax` (α its output); zero on the masked entries.
pub(super) fn masked_softmax_backward<R: Real>(alpha: &[R], d_alpha: &[R], valid: usize, de: &mut [R]) {
    activation_backward(Activation::Softmax, &alpha[..valid], &alpha[..valid], &d_alpha[..valid], valid, &mut de[..valid]);
    de[valid..].fill(R::ZERO);
}

/// Valid steps of sequence `b`.
pub(super) fn valid(lengths: Option<&[usize]>, seq_len: usize, b: usize) -> usize {
    lengths.map_or(seq_len, |l| l[b])
}

struct Cache<R> {
    x: Vec<R>,
    /// tanh(W·x + b) [T·B, A] (additive) or empty.
    h: Vec<R>,
    /// α [T, B].
    alpha: Vec<R>,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
}

pub struct AttentionPooling<R> {
    features: usize,
    score: Score,
    /// A (additive only).
    attention_size: usize,
    cache: Option<Cache<R>>,
}

impl<R: Real> AttentionPooling<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["features", "score", "attention_size"])?;
        let features = input_features(&f, "features", input, true)?;
        let score = f.choice("score", Some("additive"), SCORES)?;
        let attention_size = match score {
            Score::Additive => f.size("attention_size", Some(features), 1)?,
            Score::Dot if f.raw("attention_size").is_some() => {
                return Err(Error::value(f.path("attention_size"), "applies only to score \"additive\" (score \"dot\" has no attention projection)"));
            }
            Score::Dot => 0,
        };
        checked_len(&f.path("attention_size"), "parameter weight", &[attention_size, features])?;
        Ok(AttentionPooling { features, score, attention_size, cache: None })
    }

    /// tanh(W·x + b) over `rows` rows, as a Dense layer with weight and bias at the slice's start.
    fn projection(&self) -> DenseSpec {
        DenseSpec { in_features: self.features, units: self.attention_size, activation: Activation::Tanh, bias: true, return_sequences: true }
    }

    /// Offsets of `weight`, `bias` and `v` (additive).
    fn v_offset(&self) -> usize {
        self.attention_size * (self.features + 1)
    }

    /// Scores e [rows] and, for additive, h = tanh(W·x + b) [rows, A].
    fn scores(&self, params: &[R], x: &[R], rows: usize) -> (Vec<R>, Vec<R>) {
        let f = self.features;
        let mut e = vec![R::ZERO; rows];
        match self.score {
            Score::Additive => {
                let a = self.attention_size;
                let n = buffer_len("AttentionPooling scores", &[rows, a]);
                let (mut z, mut h) = (vec![R::ZERO; n], vec![R::ZERO; n]);
                dense_forward(&self.projection(), &params[..self.v_offset()], x, rows, &mut z, &mut h);
                // e = h·v: one GEMM with a single output column.
                R::gemm(false, false, rows, 1, a, R::ONE, &h, a, &params[self.v_offset()..], 1, R::ZERO, &mut e, 1);
                (e, h)
            }
            Score::Dot => {
                let scale = R::ONE / R::from_f64(f as f64).sqrt();
                R::gemm(false, false, rows, 1, f, scale, x, f, &params[..f], 1, R::ZERO, &mut e, 1);
                (e, Vec::new())
            }
        }
    }

    /// α [T, B] from the scores e [T, B]: a softmax over each sequence's valid steps.
    fn weights(e: &[R], seq_len: usize, batch: usize, lengths: Option<&[usize]>) -> Vec<R> {
        let mut alpha = vec![R::ZERO; e.len()];
        let mut row = vec![R::ZERO; seq_len];
        for b in 0..batch {
            (0..seq_len).for_each(|t| row[t] = e[t * batch + b]);
            masked_softmax(&mut row, valid(lengths, seq_len, b));
            (0..seq_len).for_each(|t| alpha[t * batch + b] = row[t]);
        }
        alpha
    }
}

impl<R: Real> Layer<R> for AttentionPooling<R> {
    fn kind(&self) -> &'static str {
        "AttentionPooling"
    }

    fn config(&self) -> Json {
        let mut kv = vec![
            ("features".into(), Json::Num(self.features as f64)),
            ("score".into(), Json::Str(SCORES.iter().find(|(_, s)| *s == self.score).map_or("additive", |(n, _)| n).into())),
        ];
        if self.score == Score::Additive {
            kv.push(("attention_size".into(), Json::Num(self.attention_size as f64)));
        }
        Json::Obj(kv)
    }

    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.features }
    }

    fn output_shape(&self) -> Shape {
        Shape::Vector { features: self.features }
    }

    fn params(&self) -> Vec<ParamShape> {
        let (a, f) = (self.attention_size, self.features);
        match self.score {
            Score::Additive => vec![ParamShape::new("weight", vec![a, f]), ParamShape::new("bias", vec![a]), ParamShape::new("v", vec![a])],
            Score::Dot => vec![ParamShape::new("query", vec![f])],
        }
    }

    /// weight, bias like nn.Linear's U(±1/√F); v U(±1/√A); query U(±1/√F).
    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        let bound = |n: usize| 1.0 / (n as f64).sqrt();
        let (fb, ab) = (bound(self.features), bound(self.attention_size.max(1)));
        let split = if self.score == Score::Additive { self.v_offset() } else { params.len() };
        for (i, p) in params.iter_mut().enumerate() {
            let k = if i < split { fb } else { ab };
            *p = rng.uniform(-k, k) as f32;
        }
    }

    fn streams(&self) -> std::result::Result<(), String> {
        Err("attention pooling weighs every step of the sequence, so it has no output until the sequence ends".into())
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("AttentionPooling reads features, not token ids") };
        let (t, b, f) = (fwd.seq_len, fwd.batch, self.features);
        let (e, h) = self.scores(params, x, t * b);
        let alpha = Self::weights(&e, t, b, fwd.lengths);
        out.fill(R::ZERO);
        for (r, &a) in alpha.iter().enumerate() {
            // α = 0 past a length: skip rather than multiply, so nothing there can reach the output.
            if a != R::ZERO {
                let o = &mut out[(r % b) * f..(r % b + 1) * f];
                o.iter_mut().zip(&x[r * f..(r + 1) * f]).for_each(|(o, &xv)| *o += a * xv);
            }
        }
        if fwd.keep {
            self.cache = Some(Cache { x: x.to_vec(), h, alpha, seq_len: t, batch: b, lengths: fwd.lengths.map(<[usize]>::to_vec) });
        }
        Vec::new()
    }

    fn backward(&mut self, params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], grads: &mut [R], _want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (t, b, f) = (c.seq_len, c.batch, self.features);
        let rows = t * b;
        // dα_r = d_out_b · x_r; then de through each sequence's softmax.
        let d_alpha: Vec<R> = (0..rows).map(|r| d_out[(r % b) * f..(r % b + 1) * f].iter().zip(&c.x[r * f..(r + 1) * f]).fold(R::ZERO, |s, (&d, &xv)| s + d * xv)).collect();
        let mut de = vec![R::ZERO; rows];
        let (mut a_row, mut da_row, mut de_row) = (vec![R::ZERO; t], vec![R::ZERO; t], vec![R::ZERO; t]);
        for bi in 0..b {
            (0..t).for_each(|ti| (a_row[ti], da_row[ti]) = (c.alpha[ti * b + bi], d_alpha[ti * b + bi]));
            masked_softmax_backward(&a_row, &da_row, valid(c.lengths.as_deref(), t, bi), &mut de_row);
            (0..t).for_each(|ti| de[ti * b + bi] = de_row[ti]);
        }
        let mut dx = vec![R::ZERO; rows * f];
        match self.score {
            Score::Additive => {
                let (a, vo) = (self.attention_size, self.v_offset());
                let v = &params[vo..vo + a];
                // dv += hᵀ·de; dz = de·vᵀ ⊙ (1 − h²); then W, b and dx = dz·W as a Dense layer.
                R::gemm(true, false, a, 1, rows, R::ONE, &c.h, a, &de, 1, R::ONE, &mut grads[vo..vo + a], 1);
                let mut dz = vec![R::ZERO; rows * a];
                for (r, (dzr, hr)) in dz.chunks_exact_mut(a).zip(c.h.chunks_exact(a)).enumerate() {
                    dzr.iter_mut().zip(hr).zip(v).for_each(|((d, &hv), &vv)| *d = de[r] * vv * (R::ONE - hv * hv));
                }
                dense_backward(&self.projection(), &params[..vo], &c.x, rows, &dz, &mut grads[..vo], &mut dx);
            }
            Score::Dot => {
                let scale = R::ONE / R::from_f64(f as f64).sqrt();
                // dq += xᵀ·de / √F;  dx = de·qᵀ / √F.
                R::gemm(true, false, f, 1, rows, scale, &c.x, f, &de, 1, R::ONE, &mut grads[..f], 1);
                R::gemm(false, false, rows, f, 1, scale, &de, 1, &params[..f], f, R::ZERO, &mut dx, f);
            }
        }
        // The weighted sum's own path: dx_r += α_r · d_out_b.
        for (r, &a) in c.alpha.iter().enumerate() {
            dx[r * f..(r + 1) * f].iter_mut().zip(&d_out[(r % b) * f..(r % b + 1) * f]).for_each(|(d, &g)| *d += a * g);
        }
        Ok(LayerGrads { dx, d_states: Vec::new() })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }

    /// The weights α over the sequence's steps (a [T, 1] panel), then the pooled output.
    fn trace(&self, params: &[R], x: LayerX<'_, R>, seq_len: usize, out: &[R]) -> Vec<TracePanel> {
        let LayerX::Features(x) = x else { panic!("AttentionPooling reads features, not token ids") };
        let (e, _) = self.scores(params, x, seq_len);
        let alpha = Self::weights(&e, seq_len, 1, None);
        // One weight per step, as a [T, 1] panel: it lines up with the input's steps in a report.
        vec![TracePanel::attention("attention weights".into(), 1, &alpha), TracePanel::output(self.features, out)]
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradcheck::{check, layer, Case};
    use super::*;

    const SEQ: Option<Shape> = Some(Shape::Seq { features: 3 });

    #[test]
    fn gradients_match_finite_differences() {
        for config in [r#"{"score":"additive","attention_size":4}"#, r#"{"score":"dot"}"#, "{}"] {
            for lengths in [None, Some(vec![4, 1, 2])] {
                check(Case { kind: "AttentionPooling", config, input: SEQ, seq_len: 4, batch: 3, lengths, ids: None });
            }
        }
        // As the first layer (features given).
        check(Case { kind: "AttentionPooling", config: r#"{"features":2,"score":"dot"}"#, input: None, seq_len: 3, batch: 2, lengths: Some(vec![2, 3]), ids: None });
    }

    fn run(l: &mut dyn Layer<f64>, x: &[f64], seq_len: usize, batch: usize, lengths: Option<&[usize]>) -> Vec<f64> {
        let mut p32 = vec![0f32; l.param_count()];
        l.init(&mut p32, &mut Rng::new(3));
        let p: Vec<f64> = p32.iter().map(|&v| v as f64).collect();
        let mut out = vec![0.0; batch * l.output_shape().features()];
        let fwd = Forward { x: LayerX::Features(x), seq_len, batch, lengths, states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&p, fwd, &mut out);
        out
    }

    #[test]
    fn weights_sum_to_one_over_valid_steps_and_are_exactly_zero_past_a_length() {
        let (t, b, f) = (5, 3, 3);
        let mut rng = Rng::new(11);
        let x: Vec<f64> = (0..t * b * f).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let lengths = [5, 2, 1];
        for config in [r#"{"score":"additive"}"#, r#"{"score":"dot"}"#] {
            let mut l = AttentionPooling::<f64>::from_config(&Json::parse(config).unwrap(), SEQ, "c").unwrap();
            let out = run(&mut l, &x, t, b, Some(&lengths));
            let alpha = l.cache.as_ref().unwrap().alpha.clone();
            for (bi, &len) in lengths.iter().enumerate() {
                let sum: f64 = (0..len).map(|ti| alpha[ti * b + bi]).sum();
                assert!((sum - 1.0).abs() < 1e-12, "{config}: Σα = {sum}");
                assert!((0..len).all(|ti| alpha[ti * b + bi] > 0.0));
                assert!((len..t).all(|ti| alpha[ti * b + bi] == 0.0), "{config}: weight past length {len}");
            }
            // One valid step: the output is that step.
            assert_eq!(&out[2 * f..3 * f], &x[2 * f..3 * f]);
            // Garbage (even NaN) past a length changes nothing.
            let mut y = x.clone();
            (2..t).for_each(|ti| y[(ti * b + 1) * f..(ti * b + 2) * f].fill(f64::NAN));
            assert_eq!(run(&mut l, &y, t, b, Some(&lengths))[f..2 * f], out[f..2 * f]);
            // The trace's weights are the forward's for that sequence alone.
            let seq: Vec<f64> = (0..2).flat_map(|ti| x[(ti * b + 1) * f..(ti * b + 2) * f].to_vec()).collect();
            let mut p32 = vec![0f32; l.param_count()];
            l.init(&mut p32, &mut Rng::new(3));
            let p: Vec<f64> = p32.iter().map(|&v| v as f64).collect();
            let panels = l.trace(&p, LayerX::Features(&seq), 2, &out[f..2 * f]);
            assert_eq!(panels.len(), 2);
            assert_eq!((panels[0].units, panels[0].kind), (1, crate::trace::PanelKind::Attention));
            let want: Vec<f32> = (0..2).map(|ti| alpha[ti * b + 1] as f32).collect();
            assert_eq!(panels[0].values, want);
        }
    }

    #[test]
    fn init_bounds() {
        // F = 4: weight, bias U(±1/2); A = 16: v U(±1/4). Dot: query U(±1/2).
        let l = layer("AttentionPooling", r#"{"attention_size":16}"#, Some(Shape::Seq { features: 4 }));
        let mut p = vec![f32::NAN; l.param_count()];
        l.init(&mut p, &mut Rng::new(2));
        let (wb, v) = p.split_at(16 * 5);
        assert!(wb.iter().all(|x| x.abs() <= 0.5) && wb.iter().any(|x| x.abs() > 0.25));
        assert!(v.len() == 16 && v.iter().all(|x| x.abs() <= 0.25) && v.iter().any(|x| x.abs() > 0.125));
        let l = layer("AttentionPooling", r#"{"score":"dot"}"#, Some(Shape::Seq { features: 4 }));
        let mut q = vec![f32::NAN; 4];
        l.init(&mut q, &mut Rng::new(2));
        assert!(q.iter().all(|x| x.abs() <= 0.5));
    }

    #[test]
    fn config_is_canonical_and_errors_name_the_key() {
        let l = layer("AttentionPooling", "{}", SEQ);
        assert_eq!(l.config().to_string(), r#"{"features":3,"score":"additive","attention_size":3}"#);
        assert_eq!(l.params().iter().map(|p| (p.name.as_str(), p.shape.clone())).collect::<Vec<_>>(), [("weight", vec![3, 3]), ("bias", vec![3]), ("v", vec![3])]);
        let l = layer("AttentionPooling", r#"{"score":"dot"}"#, SEQ);
        assert_eq!(l.config().to_string(), r#"{"features":3,"score":"dot"}"#);
        assert_eq!(l.param_count(), 3);
        assert!(l.streams().is_err());
        let err = |config: &str, input: Option<Shape>| {
            let spec = crate::layers::LayerSpec::new("AttentionPooling", Json::parse(config).unwrap());
            crate::layers::build::<f64>(&spec, input, 2).err().expect("an error").to_string()
        };
        let e = err(r#"{"score":"mul"}"#, SEQ);
        assert!(e.contains("spec.layers[2].config.score") && e.contains("additive, dot") && e.contains("mul"), "{e}");
        let e = err(r#"{"score":"dot","attention_size":4}"#, SEQ);
        assert!(e.contains("spec.layers[2].config.attention_size"), "{e}");
        let e = err(r#"{"attention_size":0}"#, SEQ);
        assert!(e.contains("config.attention_size") && e.contains(">= 1"), "{e}");
        let e = err(r#"{"features":4}"#, SEQ);
        assert!(e.contains("config.features") && e.contains('3') && e.contains('4'), "{e}");
        let e = err("{}", Some(Shape::Vector { features: 3 }));
        assert!(e.contains("config.features") && e.contains("sequence"), "{e}");
        let e = err("{}", None);
        assert!(e.contains("config.features") && e.contains("required"), "{e}");
        let e = err(r#"{"atention_size":4}"#, SEQ);
        assert!(e.contains("config.atention_size") && e.contains("unknown"), "{e}");
        let e = err(r#"{"attention_size":1000000000}"#, Some(Shape::Seq { features: 1000 }));
        assert!(e.contains("config.attention_size") && e.contains("exceed"), "{e}");
    }
}
