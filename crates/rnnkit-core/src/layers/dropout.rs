//! `Dropout` (`nn.Dropout(p)`): in training (a forward with `keep` and an rng), each element is
//! zeroed with probability p and the rest scaled by 1/(1−p) (inverted dropout, so inference is the
//! identity); masks come from the network's seeded rng, so a seed reproduces them. Sequences or vectors.

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;

use super::same_shape::{features_input, Rows};
use super::{Forward, Layer, LayerGrads, LayerX, Shape};

/// Fills `mask` with 0 (probability p) or 1/(1−p), drawn in element order, and applies it to `xs`.
/// Also the recurrent layers' inter-layer dropout.
pub(crate) fn apply_dropout<R: Real>(rng: &mut Rng, p: f64, xs: &mut [R], mask: &mut Vec<R>) {
    draw_dropout_mask(rng, p, xs.len(), mask);
    xs.iter_mut().zip(mask.iter()).for_each(|(x, m)| *x *= *m);
}

/// Fills `mask` with `n` values 0 (probability p) or 1/(1−p), drawn in element order. Also the
/// recurrent layers' recurrent-dropout masks (recurrent/stack.rs).
pub(crate) fn draw_dropout_mask<R: Real>(rng: &mut Rng, p: f64, n: usize, mask: &mut Vec<R>) {
    mask.resize(n, R::ZERO);
    let keep = if p < 1.0 { R::from_f64(1.0 / (1.0 - p)) } else { R::ZERO };
    for m in mask.iter_mut() {
        *m = if rng.next_f64() < p { R::ZERO } else { keep };
    }
}

struct Cache<R> {
    /// Empty when the forward drew no mask (identity).
    mask: Vec<R>,
    rows: Rows,
}

pub struct Dropout<R> {
    p: f64,
    shape: Shape,
    cache: Option<Cache<R>>,
}

impl<R: Real> Dropout<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["p"])?;
        // p = 1 would zero everything and scale by 1/0.
        f.in_range("p", 0.5, 0.0, 1.0, true)?;
        let p = f.num("p", Some(0.5))?;
        let shape = features_input(input, path, "Dropout")?;
        Ok(Dropout { p, shape, cache: None })
    }
}

impl<R: Real> Layer<R> for Dropout<R> {
    fn kind(&self) -> &'static str {
        "Dropout"
    }
    fn config(&self) -> Json {
        Json::Obj(vec![("p".into(), Json::Num(self.p))])
    }
    fn input_shape(&self) -> Shape {
        self.shape
    }
    fn output_shape(&self) -> Shape {
        self.shape
    }
    fn uses_rng(&self) -> bool {
        self.p > 0.0
    }

    fn forward(&mut self, _params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("Dropout reads features, not token ids") };
        let f = self.shape.features();
        let rows = Rows::new(self.shape, fwd.seq_len, fwd.batch, fwd.lengths);
        out.copy_from_slice(x);
        rows.zero_invalid(out, f);
        let mut mask = Vec::new();
        if let (true, Some(rng), true) = (fwd.keep, fwd.rng, self.p > 0.0) {
            apply_dropout(rng, self.p, out, &mut mask);
        }
        if fwd.keep {
            self.cache = Some(Cache { mask, rows });
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
        let mut dx = d_out.to_vec();
        if !c.mask.is_empty() {
            dx.iter_mut().zip(&c.mask).for_each(|(d, &m)| *d *= m);
        }
        c.rows.zero_invalid(&mut dx, self.shape.features());
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
    fn inference_is_the_identity_and_passes_the_finite_difference_check() {
        check(Case { kind: "Dropout", config: r#"{"p":0.3}"#, input: Some(Shape::Seq { features: 3 }), seq_len: 3, batch: 2, lengths: Some(vec![3, 2]), ids: None });
        check(Case { kind: "Dropout", config: "{}", input: Some(Shape::Vector { features: 4 }), seq_len: 1, batch: 2, lengths: None, ids: None });
    }

    /// One training forward (T = 50, B = 4, F = 10, all ones) with `Rng::new(seed)`; (out, dx for d_out = 2·index).
    fn train(p: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut l = layer("Dropout", &format!(r#"{{"p":{p}}}"#), Some(Shape::Seq { features: 10 }));
        let x = vec![1.0; 2000];
        let mut out = vec![0.0; 2000];
        let mut rng = Rng::new(seed);
        let fwd = Forward { x: LayerX::Features(&x), seq_len: 50, batch: 4, lengths: None, states: &[], keep: true, rng: Some(&mut rng), params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        let d_out: Vec<f64> = (0..2000).map(|i| 2.0 * i as f64).collect();
        let g = l.backward(&[], &d_out, false, &[], &mut [], true).unwrap();
        (out, g.dx)
    }

    #[test]
    fn training_masks_are_seeded_scaled_and_reused_by_backward() {
        let p = 0.3;
        let (out, dx) = train(p, 11);
        assert_eq!(train(p, 11), (out.clone(), dx.clone()), "same seed, same mask");
        assert_ne!(train(p, 12).0, out, "another seed, another mask");
        let zeros = out.iter().filter(|&&v| v == 0.0).count();
        // Binomial(2000, 0.3): mean 600, sd 20.5; ±5 sd.
        assert!((500..=700).contains(&zeros), "{zeros} of 2000 zeroed at p = {p}");
        let scale = 1.0 / (1.0 - p);
        for (i, (&o, &d)) in out.iter().zip(&dx).enumerate() {
            assert!(o == 0.0 || o == scale, "out[{i}] = {o}: neither 0 nor 1/(1−p)");
            assert_eq!(d, o * 2.0 * i as f64, "dx[{i}]: the forward's mask times d_out");
        }
    }

    #[test]
    fn no_rng_or_no_keep_or_p_zero_is_the_identity() {
        let mut l = layer("Dropout", r#"{"p":0.9}"#, Some(Shape::Vector { features: 3 }));
        let x = [1.0, -2.0, 3.0];
        let mut out = [0.0; 3];
        let fwd = Forward { x: LayerX::Features(&x), seq_len: 1, batch: 1, lengths: None, states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        assert_eq!(out, x);
        let mut rng = Rng::new(1);
        let fwd = Forward { x: LayerX::Features(&x), seq_len: 1, batch: 1, lengths: None, states: &[], keep: false, rng: Some(&mut rng), params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        assert_eq!(out, x);
        assert!(l.uses_rng());
        assert!(!layer("Dropout", r#"{"p":0}"#, Some(Shape::Vector { features: 3 })).uses_rng());
    }

    #[test]
    fn config_errors_name_the_path() {
        let seq = Some(Shape::Seq { features: 3 });
        for (config, arg) in [(r#"{"p":1}"#, "p"), (r#"{"p":-0.1}"#, "p"), (r#"{"p":"half"}"#, "p"), (r#"{"rate":0.1}"#, "rate")] {
            let e = build::<f64>(&LayerSpec::new("Dropout", Json::parse(config).unwrap()), seq, 3).err().unwrap_or_else(|| panic!("{config} accepted"));
            assert_eq!(e.arg(), Some(format!("spec.layers[3].config.{arg}").as_str()), "{config}");
        }
        let e = build::<f64>(&LayerSpec::new("Dropout", Json::parse("{}").unwrap()), None, 0).err().unwrap();
        assert_eq!(e.arg(), Some("spec.layers[0].config"));
    }
}
