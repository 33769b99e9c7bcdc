//! `Embedding` (`nn.Embedding`): token ids [T, B] → rows of `weight` [T, B, embedding_dim]. The
//! first layer of a network (it reads the int32 ids). `padding_idx` (negative counts from the end,
//! like PyTorch) names a row initialised to zeros whose gradient is always zero.

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;

use super::same_shape::Rows;
use super::{Forward, Layer, LayerGrads, LayerX, ParamShape, Shape};

struct Cache {
    ids: Vec<i32>,
    rows: Rows,
}

pub struct Embedding {
    num_embeddings: usize,
    embedding_dim: usize,
    /// Resolved to 0..num_embeddings.
    padding_idx: Option<usize>,
    cache: Option<Cache>,
}

impl Embedding {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["num_embeddings", "embedding_dim", "padding_idx"])?;
        let num_embeddings = f.size("num_embeddings", None, 1)?;
        let embedding_dim = f.size("embedding_dim", None, 1)?;
        // The weight is one allocation: size-checked like any tensor (at most 2^31 elements).
        if num_embeddings.checked_mul(embedding_dim).is_none_or(|n| n > 1 << 31) {
            return Err(Error::value(f.path("embedding_dim"), format!("num_embeddings × embedding_dim = {num_embeddings} × {embedding_dim} weights; at most 2^31 are allowed")));
        }
        match input {
            None => {}
            Some(Shape::Ids { vocab }) if vocab == num_embeddings => {}
            Some(Shape::Ids { vocab }) => return Err(Error::shape(f.path("num_embeddings"), format!("{vocab} (the input's vocabulary)"), num_embeddings.to_string())),
            Some(other) => return Err(Error::shape(path, format!("{} (an Embedding must be the first layer)", Shape::Ids { vocab: num_embeddings }.describe()), format!("{} (the previous layer's output)", other.describe()))),
        }
        let n = num_embeddings as f64;
        let padding_idx = match f.opt_num("padding_idx")? {
            None => None,
            Some(v) if v.fract() == 0.0 && (-n..n).contains(&v) => Some(if v < 0.0 { (v + n) as usize } else { v as usize }),
            Some(v) => return Err(Error::value(f.path("padding_idx"), format!("expected an integer in [-{num_embeddings}, {}] (num_embeddings = {num_embeddings}), got {v}", num_embeddings - 1))),
        };
        Ok(Embedding { num_embeddings, embedding_dim, padding_idx, cache: None })
    }
}

impl<R: Real> Layer<R> for Embedding {
    fn kind(&self) -> &'static str {
        "Embedding"
    }
    fn config(&self) -> Json {
        let mut kv = vec![("num_embeddings".into(), Json::Num(self.num_embeddings as f64)), ("embedding_dim".into(), Json::Num(self.embedding_dim as f64))];
        kv.push(("padding_idx".into(), self.padding_idx.map_or(Json::Null, |p| Json::Num(p as f64))));
        Json::Obj(kv)
    }
    fn input_shape(&self) -> Shape {
        Shape::Ids { vocab: self.num_embeddings }
    }
    fn output_shape(&self) -> Shape {
        Shape::Seq { features: self.embedding_dim }
    }
    fn params(&self) -> Vec<ParamShape> {
        vec![ParamShape::new("weight", vec![self.num_embeddings, self.embedding_dim])]
    }
    /// N(0, 1) like PyTorch, the padding row zero.
    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        params.iter_mut().for_each(|p| *p = rng.normal() as f32);
        if let Some(pad) = self.padding_idx {
            let d = self.embedding_dim;
            params[pad * d..(pad + 1) * d].fill(0.0);
        }
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Tokens(ids) = fwd.x else { panic!("Embedding reads token ids, not features") };
        let d = self.embedding_dim;
        let rows = Rows::new(Shape::Seq { features: d }, fwd.seq_len, fwd.batch, fwd.lengths);
        for (r, (&id, yr)) in ids.iter().zip(out.chunks_exact_mut(d)).enumerate() {
            if rows.valid(r) {
                let id = id as usize;
                yr.copy_from_slice(&params[id * d..(id + 1) * d]);
            } else {
                yr.fill(R::ZERO);
            }
        }
        if fwd.keep {
            self.cache = Some(Cache { ids: ids.to_vec(), rows });
        }
        Vec::new()
    }

    /// dweight[id] += dy for every valid step, except the padding row; no dx (ids).
    fn backward(&mut self, _params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], grads: &mut [R], _want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let d = self.embedding_dim;
        for (r, (&id, dy)) in c.ids.iter().zip(d_out.chunks_exact(d)).enumerate() {
            let id = id as usize;
            if c.rows.valid(r) && Some(id) != self.padding_idx {
                grads[id * d..(id + 1) * d].iter_mut().zip(dy).for_each(|(g, &v)| *g += v);
            }
        }
        Ok(LayerGrads { dx: Vec::new(), d_states: Vec::new() })
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
        // T = 3, B = 2; id 3 repeats (its gradient accumulates). The padding row (4) is not read:
        // its gradient is zero by definition, not by the finite difference (see the test below).
        let ids = vec![3, 0, 1, 3, 3, 2];
        let config = r#"{"num_embeddings":5,"embedding_dim":2,"padding_idx":-1}"#;
        check(Case { kind: "Embedding", config, input: None, seq_len: 3, batch: 2, lengths: Some(vec![3, 1]), ids: Some(ids.clone()) });
        check(Case { kind: "Embedding", config: r#"{"num_embeddings":4,"embedding_dim":3}"#, input: Some(Shape::Ids { vocab: 4 }), seq_len: 3, batch: 2, lengths: None, ids: Some(ids) });
    }

    #[test]
    fn padding_row_inits_to_zero_and_gets_no_gradient() {
        let mut l = layer("Embedding", r#"{"num_embeddings":4,"embedding_dim":2,"padding_idx":-3}"#, None);
        assert_eq!(l.config().get("padding_idx").and_then(Json::as_f64), Some(1.0));
        let mut p32 = vec![0f32; 8];
        l.init(&mut p32, &mut Rng::new(3));
        assert_eq!(&p32[2..4], &[0.0, 0.0]);
        assert!(p32[..2].iter().chain(&p32[4..]).all(|&v| v != 0.0));
        // The padding row reads whatever it holds (PyTorch), but never learns.
        let p = [0.5, 0.5, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        let ids = [1, 0, 1]; // T = 3, B = 1
        let mut out = [0.0; 6];
        let fwd = Forward { x: LayerX::Tokens(&ids), seq_len: 3, batch: 1, lengths: Some(&[2]), states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&p, fwd, &mut out);
        assert_eq!(out, [1.0, 2.0, 0.5, 0.5, 0.0, 0.0], "step 2 is past the length");
        let mut grads = [0.0; 8];
        l.backward(&p, &[1.0; 6], false, &[], &mut grads, false).unwrap();
        assert_eq!(grads, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn config_errors_name_the_path() {
        let bad = |config: &str, input: Option<Shape>, index: usize| build::<f64>(&LayerSpec::new("Embedding", Json::parse(config).unwrap()), input, index).err().unwrap_or_else(|| panic!("{config} accepted"));
        for (config, arg) in [
            (r#"{"num_embeddings":5,"embedding_dim":2,"padding_idx":5}"#, "padding_idx"),
            (r#"{"num_embeddings":5,"embedding_dim":2,"padding_idx":-6}"#, "padding_idx"),
            (r#"{"num_embeddings":5,"embedding_dim":2,"padding_idx":1.5}"#, "padding_idx"),
            (r#"{"num_embeddings":0,"embedding_dim":2}"#, "num_embeddings"),
            (r#"{"embedding_dim":2}"#, "num_embeddings"),
            (r#"{"num_embeddings":5}"#, "embedding_dim"),
            (r#"{"num_embeddings":5,"embedding_dim":2,"max_norm":1}"#, "max_norm"),
            (r#"{"num_embeddings":1000000000,"embedding_dim":1000000000}"#, "embedding_dim"),
        ] {
            assert_eq!(bad(config, None, 0).arg(), Some(format!("spec.layers[0].config.{arg}").as_str()), "{config}");
        }
        let ok = r#"{"num_embeddings":5,"embedding_dim":2}"#;
        let e = bad(ok, Some(Shape::Ids { vocab: 6 }), 0);
        assert_eq!((e.code(), e.arg()), ("ERR_RNNKIT_SHAPE", Some("spec.layers[0].config.num_embeddings")));
        let e = bad(ok, Some(Shape::Seq { features: 3 }), 2);
        assert_eq!((e.code(), e.arg()), ("ERR_RNNKIT_SHAPE", Some("spec.layers[2].config")));
        assert!(e.to_string().contains("[batch, seq, 3]") && e.to_string().contains("first layer"), "{e}");
    }
}
