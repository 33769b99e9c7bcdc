//! `MaxPool1D` / `AvgPool1D`: pooling over time of a sequence [T, B, F] → [T_out, B, F] (CRNN
//! downsampling). `pool_size`, `stride` (default pool_size), padding "valid" | "same" (Keras's
//! rule). A window's padding and its steps past a sequence's length are excluded: a max never sees
//! them, an average divides by the steps it did see (Keras; with "valid" and full windows this is
//! nn.MaxPool1d / nn.AvgPool1d). Lengths map like `Conv1D`'s (`Window::out_length`); every valid
//! output's window holds at least one valid step. Max backward goes to the first maximum (PyTorch).

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;

use super::window::{window_steps, Padding, Window};
use super::{Forward, Layer, LayerGrads, LayerX, Shape};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

struct Cache {
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    /// Max: the input step each output element came from.
    argmax: Vec<usize>,
}

pub struct Pool {
    kind: PoolKind,
    features: usize,
    win: Window,
    cache: Option<Cache>,
}

impl Pool {
    pub fn from_config(kind: PoolKind, config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["pool_size", "stride", "padding"])?;
        let win = Window::from_fields(&f, "pool_size", false, &Padding::NAMES[..2])?;
        match input {
            Some(Shape::Seq { features }) => Ok(Pool { kind, features, win, cache: None }),
            Some(other) => Err(Error::shape(path, "a sequence input [batch, seq, features]", format!("{} (the previous layer's output)", other.describe()))),
            None => Err(Error::value(path, "a pooling layer cannot be the first layer (its input size is unknown)")),
        }
    }

    /// Calls `f(out_row, in_lo, in_hi)` for each valid output row (o, b): the window's valid input
    /// steps are in_lo..in_hi (never empty).
    fn windows(&self, t: usize, batch: usize, lengths: Option<&[usize]>, mut f: impl FnMut(usize, usize, usize)) {
        for o in 0..self.win.out_steps(t) {
            let start = self.win.start(o, t);
            for b in 0..batch {
                let len = lengths.map_or(t, |l| l[b]);
                if o >= self.win.out_length(len, t) {
                    continue;
                }
                let lo = start.max(0) as usize;
                let hi = ((start + self.win.kernel as isize).max(0) as usize).min(len);
                debug_assert!(lo < hi, "a valid output's window holds a valid step");
                f(o * batch + b, lo, hi);
            }
        }
    }
}

impl<R: Real> Layer<R> for Pool {
    fn kind(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "MaxPool1D",
            PoolKind::Avg => "AvgPool1D",
        }
    }

    fn config(&self) -> Json {
        Json::Obj(vec![
            ("pool_size".into(), Json::Num(self.win.kernel as f64)),
            ("stride".into(), Json::Num(self.win.stride as f64)),
            ("padding".into(), Json::Str(self.win.padding.name().into())),
        ])
    }

    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.features }
    }

    fn output_shape(&self) -> Shape {
        Shape::Seq { features: self.features }
    }

    window_steps!();



    fn streams(&self) -> std::result::Result<(), String> {
        if self.win.kernel == 1 && self.win.stride == 1 {
            return Ok(());
        }
        Err(format!("a pool over {} steps with stride {} needs steps that step() has not seen yet", self.win.kernel, self.win.stride))
    }

    fn forward(&mut self, _params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("a pooling layer reads features, not token ids") };
        let (t, b, f) = (fwd.seq_len, fwd.batch, self.features);
        assert!(t >= self.win.min_steps(), "{}: an input of {t} steps is shorter than pool_size {}; the network checks min_steps() first", <Self as Layer<R>>::kind(self), self.win.kernel);
        out.fill(R::ZERO);
        let mut argmax = if self.kind == PoolKind::Max { vec![0usize; out.len()] } else { Vec::new() };
        self.windows(t, b, fwd.lengths, |row, lo, hi| {
            let dst = &mut out[row * f..(row + 1) * f];
            let bi = row % b;
            let at = |s: usize| &x[(s * b + bi) * f..(s * b + bi + 1) * f];
            match self.kind {
                PoolKind::Max => {
                    let arg = &mut argmax[row * f..(row + 1) * f];
                    dst.copy_from_slice(at(lo));
                    arg.fill(lo);
                    for s in lo + 1..hi {
                        for ((d, a), &v) in dst.iter_mut().zip(arg.iter_mut()).zip(at(s)) {
                            // Strictly greater: the first maximum wins ties.
                            if v > *d {
                                *d = v;
                                *a = s;
                            }
                        }
                    }
                }
                PoolKind::Avg => {
                    for s in lo..hi {
                        dst.iter_mut().zip(at(s)).for_each(|(d, &v)| *d += v);
                    }
                    let inv = R::ONE / R::from_f64((hi - lo) as f64);
                    dst.iter_mut().for_each(|d| *d *= inv);
                }
            }
        });
        if fwd.keep {
            self.cache = Some(Cache { seq_len: t, batch: b, lengths: fwd.lengths.map(<[usize]>::to_vec), argmax });
        }
        Vec::new()
    }

    fn backward(&mut self, _params: &[R], d_out: &[R], _at_logits: bool, _d_states: &[Option<&[R]>], _grads: &mut [R], _want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(Error::value("backward", "needs a preceding forward with training: true"));
        };
        let (b, f) = (c.batch, self.features);
        let mut dx = vec![R::ZERO; c.seq_len * b * f];
        self.windows(c.seq_len, b, c.lengths.as_deref(), |row, lo, hi| {
            let bi = row % b;
            let dy = &d_out[row * f..(row + 1) * f];
            match self.kind {
                PoolKind::Max => {
                    for (k, (&g, &s)) in dy.iter().zip(&c.argmax[row * f..(row + 1) * f]).enumerate() {
                        dx[(s * b + bi) * f + k] += g;
                    }
                }
                PoolKind::Avg => {
                    let inv = R::ONE / R::from_f64((hi - lo) as f64);
                    for s in lo..hi {
                        dx[(s * b + bi) * f..(s * b + bi + 1) * f].iter_mut().zip(dy).for_each(|(d, &g)| *d += g * inv);
                    }
                }
            }
        });
        Ok(LayerGrads { dx, d_states: Vec::new() })
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, layer, Case};

    const SEQ: Option<Shape> = Some(Shape::Seq { features: 3 });

    #[test]
    fn gradients_match_finite_differences_over_the_config_grid() {
        for kind in ["MaxPool1D", "AvgPool1D"] {
            for padding in ["valid", "same"] {
                for pool in 1..=4 {
                    for stride in 1..=3 {
                        for lengths in [None, Some(vec![8, 3, 1])] {
                            let config = format!(r#"{{"pool_size":{pool},"stride":{stride},"padding":"{padding}"}}"#);
                            check(Case { kind, config: &config, input: SEQ, seq_len: 8, batch: 3, lengths, ids: None });
                        }
                    }
                }
            }
        }
    }

    fn forward(kind: &str, config: &str, x: &[f64], t: usize, lengths: Option<&[usize]>) -> Vec<f64> {
        let mut l = layer(kind, config, Some(Shape::Seq { features: 1 }));
        let b = lengths.map_or(1, <[usize]>::len);
        let mut out = vec![f64::NAN; l.output_steps(t) * b];
        let fwd = Forward { x: LayerX::Features(x), seq_len: t, batch: b, lengths, states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        out
    }

    #[test]
    fn padding_and_steps_past_a_length_never_win_a_max_nor_count_in_an_average() {
        let x = [-3.0, -1.0, -2.0, -5.0, -4.0];
        // Keras same, pool 2 stride 2 on 5 steps: windows [0,1] [2,3] [4,pad].
        assert_eq!(forward("MaxPool1D", r#"{"pool_size":2,"padding":"same"}"#, &x, 5, None), vec![-1.0, -2.0, -4.0]);
        assert_eq!(forward("AvgPool1D", r#"{"pool_size":2,"padding":"same"}"#, &x, 5, None), vec![-2.0, -3.5, -4.0]);
        // Pool 3 stride 1 same: pad 1 each side; the edges average 2 steps.
        assert_eq!(forward("AvgPool1D", r#"{"pool_size":3,"stride":1,"padding":"same"}"#, &[1.0, 2.0, 3.0, 6.0], 4, None), vec![1.5, 2.0, 11.0 / 3.0, 4.5]);
        // Two sequences, time-major [4, 2, 1]: the second has length 2 (its steps 2, 3 hold 9s that must be ignored).
        let x = [1.0, -1.0, 2.0, -2.0, 3.0, 9.0, 4.0, 9.0];
        let out = forward("MaxPool1D", r#"{"pool_size":3,"stride":1}"#, &x, 4, Some(&[4, 2]));
        // Output steps 2; second sequence's length maps to 1 (clamped): its window sees steps 0..2 only.
        assert_eq!(out, vec![3.0, -1.0, 4.0, 0.0]);
        let out = forward("AvgPool1D", r#"{"pool_size":3,"stride":1}"#, &x, 4, Some(&[4, 2]));
        assert_eq!(out, vec![2.0, -1.5, 3.0, 0.0]);
    }

    #[test]
    fn max_backward_goes_to_the_first_maximum() {
        let mut l = layer("MaxPool1D", r#"{"pool_size":3}"#, Some(Shape::Seq { features: 1 }));
        let x = [2.0, 5.0, 5.0, 1.0, 1.0, 1.0];
        let mut out = vec![0.0; 2];
        let fwd = Forward { x: LayerX::Features(&x), seq_len: 6, batch: 1, lengths: None, states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&[], fwd, &mut out);
        let g = l.backward(&[], &[1.0, 1.0], false, &[], &mut [], true).unwrap();
        assert_eq!(g.dx, vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn configs_shapes_and_errors() {
        let l = layer("MaxPool1D", r#"{"pool_size":3}"#, SEQ);
        assert_eq!(l.config().to_string(), r#"{"pool_size":3,"stride":3,"padding":"valid"}"#);
        assert_eq!((l.output_steps(10), l.output_steps(2), l.min_steps()), (3, 0, 3));
        assert!(l.streams().is_err());
        let l = layer("AvgPool1D", r#"{"pool_size":2,"padding":"same"}"#, SEQ);
        assert_eq!((l.output_steps(7), l.min_steps()), (4, 1));
        assert_eq!(l.output_lengths(7, &[7, 4, 1]), vec![4, 2, 1]);
        let build = |kind: &str, config: &str, input: Option<Shape>| {
            let spec = crate::layers::LayerSpec::new(kind, Json::parse(config).unwrap());
            crate::layers::build::<f64>(&spec, input, 1).err().map(|e| e.to_string()).unwrap_or_default()
        };
        let e = build("MaxPool1D", r#"{"pool_size":2,"padding":"causal"}"#, SEQ);
        assert!(e.contains("spec.layers[1].config.padding") && e.contains("valid, same"), "{e}");
        let e = build("AvgPool1D", r#"{"pool_size":0}"#, SEQ);
        assert!(e.contains("config.pool_size") && e.contains(">= 1, got 0"), "{e}");
        let e = build("AvgPool1D", r#"{"pool_size":2,"stride":0}"#, SEQ);
        assert!(e.contains("config.stride"), "{e}");
        let e = build("AvgPool1D", r#"{"kernel_size":2}"#, SEQ);
        assert!(e.contains("config.kernel_size") && e.contains("unknown field"), "{e}");
        let e = build("MaxPool1D", r#"{"pool_size":2}"#, None);
        assert!(e.contains("first layer"), "{e}");
        let e = build("MaxPool1D", r#"{"pool_size":2}"#, Some(Shape::Vector { features: 3 }));
        assert!(e.contains("sequence"), "{e}");
    }
}
