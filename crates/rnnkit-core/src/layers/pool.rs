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
use crate::rng::Rng;

use super::window::{Padding, Window};
use super::{Forward, Layer, LayerGrads, LayerX, ParamShape, Shape};

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

    fn output_steps(&self, seq_len: usize) -> usize {
        self.win.out_steps(seq_len)
    }

    fn min_steps(&self) -> usize {
        self.win.min_steps()
    }

    fn output_lengths(&self, seq_len: usize, lengths: &[usize]) -> Vec<usize> {
        self.win.out_lengths(seq_len, lengths)
    }

    fn params(&self) -> Vec<ParamShape> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _rng: &mut Rng) {}

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
