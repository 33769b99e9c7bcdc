//! `LayerNorm` (`nn.LayerNorm(F)`): each row of F features (a sequence step or a vector) is
//! normalised to zero mean and unit variance (biased variance, eps inside the root, like PyTorch),
//! then scaled by `weight` and shifted by `bias`. Rows past a sequence's length output zeros.

use crate::error::Result;
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;

use super::same_shape::Rows;
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape};

struct Cache<R> {
    /// x̂ = (x − mean)·rstd per row (zeros for invalid rows).
    xhat: Vec<R>,
    /// 1/√(var + eps) per row.
    rstd: Vec<R>,
    rows: Rows,
}

pub struct LayerNorm<R> {
    features: usize,
    eps: f64,
    affine: bool,
    shape: Shape,
    cache: Option<Cache<R>>,
}

impl<R: Real> LayerNorm<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["normalized_shape", "eps", "elementwise_affine"])?;
        let features = input_features(&f, "normalized_shape", input, false)?;
        f.positive("eps", Some(1e-5))?;
        let eps = f.num("eps", Some(1e-5))?;
        let affine = f.boolean("elementwise_affine", true)?;
        // A first layer reads sequences.
        let shape = input.unwrap_or(Shape::Seq { features });
        Ok(LayerNorm { features, eps, affine, shape, cache: None })
    }
}

impl<R: Real> Layer<R> for LayerNorm<R> {
    fn kind(&self) -> &'static str {
        "LayerNorm"
    }
    fn config(&self) -> Json {
        Json::Obj(vec![
            ("normalized_shape".into(), Json::Num(self.features as f64)),
            ("eps".into(), Json::Num(self.eps)),
            ("elementwise_affine".into(), Json::Bool(self.affine)),
        ])
    }
    fn input_shape(&self) -> Shape {
        self.shape
    }
    fn output_shape(&self) -> Shape {
        self.shape
    }
    fn params(&self) -> Vec<ParamShape> {
        if self.affine {
            vec![ParamShape::new("weight", vec![self.features]), ParamShape::new("bias", vec![self.features])]
        } else {
            Vec::new()
        }
    }
    fn init(&self, params: &mut [f32], _rng: &mut Rng) {
        if self.affine {
            let (w, b) = params.split_at_mut(self.features);
            w.fill(1.0);
            b.fill(0.0);
        }
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("LayerNorm reads features, not token ids") };
        let f = self.features;
        let rows = Rows::new(self.shape, fwd.seq_len, fwd.batch, fwd.lengths);
        let (n, eps) = (R::from_f64(f as f64), R::from_f64(self.eps));
        let mut rstd = vec![R::ZERO; rows.rows];
        for (r, (xr, yr)) in x.chunks_exact(f).zip(out.chunks_exact_mut(f)).enumerate() {
            if !rows.valid(r) {
                yr.fill(R::ZERO);
                continue;
            }
            let mean = xr.iter().fold(R::ZERO, |s, &v| s + v) / n;
            let var = xr.iter().fold(R::ZERO, |s, &v| s + (v - mean) * (v - mean)) / n;
            rstd[r] = R::ONE / (var + eps).sqrt();
            for (y, &v) in yr.iter_mut().zip(xr) {
                *y = (v - mean) * rstd[r];
            }
        }
        let xhat = if fwd.keep { out.to_vec() } else { Vec::new() };
        if self.affine {
            let (w, b) = params.split_at(f);
            for (r, yr) in out.chunks_exact_mut(f).enumerate() {
                if rows.valid(r) {
                    yr.iter_mut().zip(w.iter().zip(b)).for_each(|(y, (&wv, &bv))| *y = *y * wv + bv);
                }
            }
        }
        if fwd.keep {
            self.cache = Some(Cache { xhat, rstd, rows });
        }
        Vec::new()
    }

    /// With g = dy ⊙ weight: dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂)); dweight = Σ dy ⊙ x̂, dbias = Σ dy.
    fn backward(&mut self, params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(crate::Error::value("backward", "needs a preceding forward with training: true"));
        };
        let f = self.features;
        let n = R::from_f64(f as f64);
        let mut dx = vec![R::ZERO; if want_dx { d_out.len() } else { 0 }];
        let mut g = vec![R::ZERO; f];
        for r in (0..c.rows.rows).filter(|&r| c.rows.valid(r)) {
            let (dy, xh) = (&d_out[r * f..(r + 1) * f], &c.xhat[r * f..(r + 1) * f]);
            if self.affine {
                let (gw, gb) = grads.split_at_mut(f);
                for k in 0..f {
                    gw[k] += dy[k] * xh[k];
                    gb[k] += dy[k];
                    g[k] = dy[k] * params[k];
                }
            } else {
                g.copy_from_slice(dy);
            }
            if want_dx {
                let mean_g = g.iter().fold(R::ZERO, |s, &v| s + v) / n;
                let mean_gx = g.iter().zip(xh).fold(R::ZERO, |s, (&a, &b)| s + a * b) / n;
                for (k, d) in dx[r * f..(r + 1) * f].iter_mut().enumerate() {
                    *d = c.rstd[r] * (g[k] - mean_g - xh[k] * mean_gx);
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
        let seq = Some(Shape::Seq { features: 4 });
        for config in ["{}", r#"{"elementwise_affine":false,"eps":0.1}"#] {
            check(Case { kind: "LayerNorm", config, input: seq, seq_len: 3, batch: 2, lengths: Some(vec![2, 3]), ids: None });
            check(Case { kind: "LayerNorm", config, input: Some(Shape::Vector { features: 3 }), seq_len: 1, batch: 2, lengths: None, ids: None });
        }
        check(Case { kind: "LayerNorm", config: r#"{"normalized_shape":2}"#, input: None, seq_len: 2, batch: 2, lengths: None, ids: None });
    }

    #[test]
    fn init_is_ones_and_zeros_and_output_is_normalised() {
        let mut l = layer("LayerNorm", "{}", Some(Shape::Vector { features: 4 }));
        assert_eq!(l.params(), vec![ParamShape::new("weight", vec![4]), ParamShape::new("bias", vec![4])]);
        let mut p = vec![7f32; 8];
        l.init(&mut p, &mut Rng::new(1));
        assert_eq!(p, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let p: Vec<f64> = p.iter().map(|&v| v as f64).collect();
        let x = [1.0, 2.0, 3.0, 6.0];
        let mut out = [0.0; 4];
        let fwd = Forward { x: LayerX::Features(&x), seq_len: 1, batch: 1, lengths: None, states: &[], keep: false, rng: None, params_version: 1, batch_major: false };
        l.forward(&p, fwd, &mut out);
        // mean 3, biased var (4 + 1 + 0 + 9)/4 = 3.5.
        let s = (3.5f64 + 1e-5).sqrt();
        for (o, v) in out.iter().zip(x) {
            assert!((o - (v - 3.0) / s).abs() < 1e-15);
        }
    }

    #[test]
    fn config_errors_name_the_path() {
        let seq = Some(Shape::Seq { features: 3 });
        for (config, arg) in [(r#"{"eps":0}"#, "eps"), (r#"{"eps":-1}"#, "eps"), (r#"{"normalized_shape":4}"#, "normalized_shape"), (r#"{"elementwise_affine":1}"#, "elementwise_affine"), (r#"{"bias":false}"#, "bias")] {
            let e = build::<f64>(&LayerSpec::new("LayerNorm", Json::parse(config).unwrap()), seq, 1).err().unwrap_or_else(|| panic!("{config} accepted"));
            assert_eq!(e.arg(), Some(format!("spec.layers[1].config.{arg}").as_str()), "{config}");
        }
        let e = build::<f64>(&LayerSpec::new("LayerNorm", Json::parse("{}").unwrap()), None, 0).err().unwrap();
        assert_eq!(e.arg(), Some("spec.layers[0].config.normalized_shape"));
    }
}
