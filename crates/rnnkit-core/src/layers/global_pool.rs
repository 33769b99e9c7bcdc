//! `GlobalMeanPool` and `GlobalMaxPool`: a sequence [T, B, F] → one row per sequence [B, F], the
//! mean or the maximum over each sequence's valid steps only (steps past a length never count).
//! The max's gradient goes to the first step that holds the maximum, like `torch.max(dim)`.

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;

use super::{Forward, Layer, LayerGrads, LayerX, Shape};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    Mean,
    Max,
}

struct Cache {
    seq_len: usize,
    batch: usize,
    /// Valid steps per sequence.
    lengths: Vec<usize>,
    /// Max: the step each output element came from, [B, F].
    argmax: Vec<usize>,
}

pub struct GlobalPool {
    pool: Pool,
    features: usize,
    cache: Option<Cache>,
}

impl GlobalPool {
    pub fn from_config(pool: Pool, config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        Fields::new(config, path, &[])?;
        let name = if pool == Pool::Mean { "GlobalMeanPool" } else { "GlobalMaxPool" };
        match input {
            Some(Shape::Seq { features }) => Ok(GlobalPool { pool, features, cache: None }),
            Some(other) => Err(Error::shape(path, "a sequence input [batch, seq, features]", format!("{} (the previous layer's output)", other.describe()))),
            None => Err(Error::value(path, format!("{name} cannot be the first layer (its input size is unknown)"))),
        }
    }
}

impl<R: Real> Layer<R> for GlobalPool {
    fn kind(&self) -> &'static str {
        match self.pool {
            Pool::Mean => "GlobalMeanPool",
            Pool::Max => "GlobalMaxPool",
        }
    }
    fn config(&self) -> Json {
        Json::Obj(Vec::new())
    }
    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.features }
    }
    fn output_shape(&self) -> Shape {
        Shape::Vector { features: self.features }
    }
    fn streams(&self) -> std::result::Result<(), String> {
        Err("a global pooling reads the whole sequence".into())
    }

    fn forward(&mut self, _params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("global pooling reads features, not token ids") };
        let (t, b, f) = (fwd.seq_len, fwd.batch, self.features);
        let lengths: Vec<usize> = fwd.lengths.map_or_else(|| vec![t; b], <[usize]>::to_vec);
        let row = |step: usize, bi: usize| &x[(step * b + bi) * f..(step * b + bi + 1) * f];
        let mut argmax = Vec::new();
        for (bi, (o, &len)) in out.chunks_exact_mut(f).zip(&lengths).enumerate() {
            o.copy_from_slice(row(0, bi));
            match self.pool {
                Pool::Mean => {
                    (1..len).for_each(|s| o.iter_mut().zip(row(s, bi)).for_each(|(a, &v)| *a += v));
                    let inv = R::ONE / R::from_f64(len as f64);
                    o.iter_mut().for_each(|a| *a *= inv);
                }
                Pool::Max => {
                    let mut at = vec![0; f];
                    for s in 1..len {
                        for ((a, i), &v) in o.iter_mut().zip(at.iter_mut()).zip(row(s, bi)) {
                            // Strictly greater: ties keep the first step.
                            if v > *a {
                                (*a, *i) = (v, s);
                            }
                        }
                    }
                    argmax.extend(at);
                }
            }
        }
        if fwd.keep {
            self.cache = Some(Cache { seq_len: t, batch: b, lengths, argmax });
        }
        Vec::new()
    }

    fn backward(&mut self, _params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], _grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        if !want_dx {
            return Ok(LayerGrads { dx: Vec::new(), d_states: Vec::new() });
        }
        let (b, f) = (c.batch, self.features);
        let mut dx = vec![R::ZERO; c.seq_len * b * f];
        for (bi, (dy, &len)) in d_out.chunks_exact(f).zip(&c.lengths).enumerate() {
            match self.pool {
                Pool::Mean => {
                    let inv = R::ONE / R::from_f64(len as f64);
                    for s in 0..len {
                        let r = (s * b + bi) * f;
                        dx[r..r + f].iter_mut().zip(dy).for_each(|(d, &g)| *d = g * inv);
                    }
                }
                Pool::Max => {
                    for (k, &g) in dy.iter().enumerate() {
                        dx[(c.argmax[bi * f + k] * b + bi) * f + k] = g;
                    }
                }
            }
        }
        Ok(LayerGrads { dx, d_states: Vec::new() })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradcheck::{check, layer, Case};
    use super::super::registry::{build, LayerSpec};
    use super::*;

    #[test]
    fn passes_the_finite_difference_check() {
        // Random inputs: no ties, so the max is differentiable at the draw.
        for kind in ["GlobalMeanPool", "GlobalMaxPool"] {
            check(Case { kind, config: "{}", input: Some(Shape::Seq { features: 3 }), seq_len: 4, batch: 3, lengths: Some(vec![4, 1, 2]), ids: None });
            check(Case { kind, config: "{}", input: Some(Shape::Seq { features: 2 }), seq_len: 3, batch: 2, lengths: None, ids: None });
        }
    }

    fn run(kind: &str, x: &[f64], lengths: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let mut l = layer(kind, "{}", Some(Shape::Seq { features: 1 }));
        let b = lengths.len();
        let mut out = vec![0.0; b];
        let fwd = Forward { x: LayerX::Features(x), seq_len: x.len() / b, batch: b, lengths: Some(lengths), states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        let dx = l.backward(&[], &vec![1.0; b], false, &[], &mut [], true).unwrap().dx;
        (out, dx)
    }

    #[test]
    fn only_valid_steps_count_and_max_ties_go_to_the_first() {
        // T = 3, B = 2 (time-major): sequence 0 = [2, 5, 5], sequence 1 = [1, 9 (past its length 1), 7].
        let x = [2.0, 1.0, 5.0, 9.0, 5.0, 7.0];
        let (out, dx) = run("GlobalMaxPool", &x, &[3, 1]);
        assert_eq!(out, [5.0, 1.0]);
        assert_eq!(dx, [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let (out, dx) = run("GlobalMeanPool", &x, &[3, 1]);
        assert_eq!(out, [4.0, 1.0]);
        assert_eq!(dx, [1.0 / 3.0, 1.0, 1.0 / 3.0, 0.0, 1.0 / 3.0, 0.0]);
    }

    #[test]
    fn config_errors_name_the_path() {
        for kind in ["GlobalMeanPool", "GlobalMaxPool"] {
            let build = |config: &str, input| build::<f64>(&LayerSpec::new(kind, Json::parse(config).unwrap()), input, 1).err().unwrap();
            assert_eq!(build(r#"{"dim":1}"#, Some(Shape::Seq { features: 2 })).arg(), Some("spec.layers[1].config.dim"));
            assert_eq!(build("{}", Some(Shape::Vector { features: 2 })).code(), "ERR_RNNKIT_SHAPE");
            assert_eq!(build("{}", None).arg(), Some("spec.layers[1].config"));
        }
    }
}
