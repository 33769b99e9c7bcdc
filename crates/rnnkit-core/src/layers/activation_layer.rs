//! The activation layers `ReLU`, `GELU` (exact, PyTorch's default), `Tanh` and `Sigmoid`: an
//! element-wise function of a sequence [T, B, F] or a vector [B, F], same shape out, no config.
//! The math is `activation.rs`'s, shared with `Dense`; steps past a sequence's length stay zero.

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;

use super::activation::{activation_backward, activation_forward, Activation};
use super::same_shape::{features_input, Rows};
use super::{Forward, Layer, LayerGrads, LayerX, Shape};

/// The registry's names and what each computes.
pub const KINDS: &[(&str, Activation)] = &[("ReLU", Activation::Relu), ("GELU", Activation::Gelu), ("Tanh", Activation::Tanh), ("Sigmoid", Activation::Sigmoid)];

struct Cache<R> {
    /// The input (GELU's derivative reads it; also the logits `final_activation` maps).
    z: Vec<R>,
    y: Vec<R>,
    rows: Rows,
}

pub struct ActivationLayer<R> {
    kind: &'static str,
    act: Activation,
    shape: Shape,
    cache: Option<Cache<R>>,
}

impl<R: Real> ActivationLayer<R> {
    /// `kind` is one of `KINDS`' names.
    pub fn from_config(kind: &str, config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let &(kind, act) = KINDS.iter().find(|(n, _)| *n == kind).ok_or_else(|| Error::value(path, format!("not an activation layer: \"{kind}\"")))?;
        Fields::new(config, path, &[])?;
        let shape = features_input(input, path, kind)?;
        Ok(ActivationLayer { kind, act, shape, cache: None })
    }
}

impl<R: Real> Layer<R> for ActivationLayer<R> {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn config(&self) -> Json {
        Json::Obj(Vec::new())
    }
    fn input_shape(&self) -> Shape {
        self.shape
    }
    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn forward(&mut self, _params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("{} reads features, not token ids", self.kind) };
        let f = self.shape.features();
        let rows = Rows::new(self.shape, fwd.seq_len, fwd.batch, fwd.lengths);
        out.copy_from_slice(x);
        // Zeroed before and after: sigmoid(0) is not 0, and a step past a length may hold anything.
        rows.zero_invalid(out, f);
        let z = if fwd.keep { out.to_vec() } else { Vec::new() };
        activation_forward(self.act, out, f);
        rows.zero_invalid(out, f);
        if fwd.keep {
            self.cache = Some(Cache { z, y: out.to_vec(), rows });
        }
        Vec::new()
    }

    fn backward(&mut self, _params: &[R], d_out: &[R], at_logits: bool, _d_states: &[Option<&[R]>], _grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        if !want_dx {
            return Ok(LayerGrads { dx: Vec::new(), d_states: Vec::new() });
        }
        let f = self.shape.features();
        let mut dx = d_out.to_vec();
        if !at_logits {
            activation_backward(self.act, &c.z, &c.y, d_out, f, &mut dx);
        }
        c.rows.zero_invalid(&mut dx, f);
        Ok(LayerGrads { dx, d_states: Vec::new() })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }

    fn final_activation(&self) -> Activation {
        self.act
    }

    fn logits(&self) -> Option<&[R]> {
        self.cache.as_ref().map(|c| &c.z[..])
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradcheck::{check, layer, Case};
    use super::super::registry::{build, LayerSpec};
    use super::*;

    #[test]
    fn every_activation_passes_the_finite_difference_check() {
        for &(kind, _) in KINDS {
            check(Case { kind, config: "{}", input: Some(Shape::Seq { features: 3 }), seq_len: 3, batch: 2, lengths: Some(vec![1, 3]), ids: None });
            check(Case { kind, config: "{}", input: Some(Shape::Vector { features: 4 }), seq_len: 1, batch: 3, lengths: None, ids: None });
        }
    }

    #[test]
    fn steps_past_a_length_stay_zero() {
        let mut l = layer("Sigmoid", "{}", Some(Shape::Seq { features: 2 }));
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]; // T=2, B=2, F=2
        let mut out = [9.0; 8];
        let fwd = Forward { x: LayerX::Features(&x), seq_len: 2, batch: 2, lengths: Some(&[2, 1]), states: &[], keep: false, rng: None, params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        assert_eq!(&out[6..], &[0.0, 0.0]);
        assert!((out[0] - 1.0f64.sigmoid()).abs() < 1e-15);
    }

    #[test]
    fn config_errors_name_the_path() {
        let seq = Some(Shape::Seq { features: 3 });
        let e = build::<f64>(&LayerSpec::new("ReLU", Json::parse(r#"{"inplace":true}"#).unwrap()), seq, 2).err().unwrap();
        assert_eq!(e.arg(), Some("spec.layers[2].config.inplace"));
        let e = build::<f64>(&LayerSpec::new("GELU", Json::parse("{}").unwrap()), None, 0).err().unwrap();
        assert_eq!((e.code(), e.arg()), ("ERR_RNNKIT_VALUE", Some("spec.layers[0].config")));
        let e = build::<f64>(&LayerSpec::new("Tanh", Json::parse("{}").unwrap()), Some(Shape::Ids { vocab: 5 }), 1).err().unwrap();
        assert_eq!(e.code(), "ERR_RNNKIT_SHAPE");
    }
}
