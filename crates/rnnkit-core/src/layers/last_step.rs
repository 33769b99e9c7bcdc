//! `LastStep`: a sequence [T, B, F] → each sequence's last *valid* step [B, F] (Keras's
//! `return_sequences=False`; with lengths, the step at `lengths[b] − 1`, packed-sequence style).

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;

use super::{input_features, Forward, Layer, LayerGrads, LayerX, Shape};

pub struct LastStep {
    features: usize,
    /// (seq_len, batch, lengths) of the last training forward.
    cache: Option<(usize, usize, Option<Vec<usize>>)>,
}

impl LastStep {
    /// `features` (optional) is the width of the sequence it reads: inferred from the previous
    /// layer, and required when LastStep is the first layer.
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["features"])?;
        Ok(LastStep { features: input_features(&f, "features", input, true)?, cache: None })
    }
}

fn last<'a>(lengths: Option<&'a [usize]>, t: usize) -> impl Fn(usize) -> usize + 'a {
    move |b| lengths.map_or(t, |l| l[b]) - 1
}

impl<R: Real> Layer<R> for LastStep {
    fn kind(&self) -> &'static str {
        "LastStep"
    }
    fn config(&self) -> Json {
        Json::Obj(vec![("features".into(), Json::Num(self.features as f64))])
    }
    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.features }
    }
    fn output_shape(&self) -> Shape {
        Shape::Vector { features: self.features }
    }

    fn forward(&mut self, _params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("LastStep reads features, not token ids") };
        let (t, b, f) = (fwd.seq_len, fwd.batch, self.features);
        let last = last(fwd.lengths, t);
        for bi in 0..b {
            let r = last(bi) * b + bi;
            out[bi * f..(bi + 1) * f].copy_from_slice(&x[r * f..(r + 1) * f]);
        }
        if fwd.keep {
            self.cache = Some((t, b, fwd.lengths.map(<[usize]>::to_vec)));
        }
        Vec::new()
    }

    fn backward(&mut self, _params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], _grads: &mut [R], _want_dx: bool) -> Result<LayerGrads<R>> {
        let Some((t, b, lengths)) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (t, b, f) = (*t, *b, self.features);
        let mut dx = vec![R::ZERO; t * b * f];
        let last = last(lengths.as_deref(), t);
        for bi in 0..b {
            let r = last(bi) * b + bi;
            dx[r * f..(r + 1) * f].copy_from_slice(&d_out[bi * f..(bi + 1) * f]);
        }
        Ok(LayerGrads { dx, d_states: Vec::new() })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }

    fn trace(&self, _params: &[R], _x: LayerX<'_, R>, _seq_len: usize, _out: &[R]) -> Vec<crate::trace::TracePanel> {
        Vec::new() // the last column of the layer before
    }
}
