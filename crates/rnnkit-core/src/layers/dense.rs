//! `Dense`: `y = act(x·Wᵀ + b)` like `nn.Linear` plus an activation, on every step of a sequence
//! (steps past a sequence's length output zeros) or on a vector. Math in `crate::dense`.

use crate::dense::{dense_backward, dense_forward};
use crate::error::Result;
use crate::fields::Fields;
use crate::init::init_dense;
use crate::json::Json;
use crate::real::Real;
use crate::rng::Rng;
use crate::spec::DenseSpec;

use super::activation::{activation_backward, Activation};
use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape};

/// What the last training forward kept besides the buffers (x, y) of `Dense`.
struct Cache {
    rows: usize,
    /// Per-step input: the rows past each sequence's length, masked in backward.
    steps: Option<(usize, Option<Vec<usize>>)>,
}

pub struct Dense<R> {
    spec: DenseSpec,
    sequence: bool,
    cache: Option<Cache>,
    /// Pre-activation of the last forward (training or not): what a loss on logits reads.
    z: Vec<R>,
    /// The last training forward's input (adopted from the network, never copied) and output, and
    /// backward's dL/dz: kept allocated across steps (a T1 head's input is 3.3 MB; a copy or fresh
    /// pages each step cost ~1% of the step).
    x: Vec<R>,
    y: Vec<R>,
    dz: Vec<R>,
    /// Backward's dx, handed back by the network after use (`take_back`).
    dx: Vec<R>,
}

impl<R: Real> Dense<R> {
    pub fn from_config(config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        let f = Fields::new(config, path, &["in_features", "units", "activation", "bias"])?;
        let in_features = input_features(&f, "in_features", input, false)?;
        let spec = DenseSpec {
            in_features,
            units: f.size("units", None, 1)?,
            activation: f.choice("activation", Some("identity"), Activation::NAMES)?,
            bias: f.boolean("bias", true)?,
            return_sequences: true,
        };
        // The first layer of a network reads sequences.
        let sequence = input.is_none_or(Shape::is_sequence);
        Ok(Dense { spec, sequence, cache: None, z: Vec::new(), x: Vec::new(), y: Vec::new(), dz: Vec::new(), dx: Vec::new() })
    }
}

/// `dst` ← `src`, reusing `dst`'s allocation.
pub(crate) fn refill<T: Copy>(dst: &mut Vec<T>, src: &[T]) {
    dst.clear();
    dst.extend_from_slice(src);
}

/// Zeroes the rows (t, b) of a time-major [T, B, width] buffer at steps past `lengths[b]`.
pub(crate) fn zero_past_lengths<R: Real>(v: &mut [R], batch: usize, width: usize, lengths: &[usize]) {
    for (r, row) in v.chunks_exact_mut(width).enumerate() {
        if r / batch >= lengths[r % batch] {
            row.fill(R::ZERO);
        }
    }
}

impl<R: Real> Layer<R> for Dense<R> {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn config(&self) -> Json {
        let s = &self.spec;
        Json::Obj(vec![
            ("in_features".into(), Json::Num(s.in_features as f64)),
            ("units".into(), Json::Num(s.units as f64)),
            ("activation".into(), Json::Str(s.activation.name().into())),
            ("bias".into(), Json::Bool(s.bias)),
        ])
    }

    fn input_shape(&self) -> Shape {
        let features = self.spec.in_features;
        if self.sequence { Shape::Seq { features } } else { Shape::Vector { features } }
    }

    fn output_shape(&self) -> Shape {
        let features = self.spec.units;
        if self.sequence { Shape::Seq { features } } else { Shape::Vector { features } }
    }

    fn params(&self) -> Vec<ParamShape> {
        let s = &self.spec;
        let mut out = vec![ParamShape::new("weight", vec![s.units, s.in_features])];
        if s.bias {
            out.push(ParamShape::new("bias", vec![s.units]));
        }
        out
    }

    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        init_dense(&self.spec, params, rng);
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let LayerX::Features(x) = fwd.x else { panic!("Dense reads features, not token ids") };
        let (units, b) = (self.spec.units, fwd.batch);
        let rows = if self.sequence { fwd.seq_len * b } else { b };
        let mut z = std::mem::take(&mut self.z);
        z.clear();
        z.resize(rows * units, R::ZERO);
        dense_forward(&self.spec, params, x, rows, &mut z, out);
        if let (true, Some(len)) = (self.sequence, fwd.lengths) {
            zero_past_lengths(&mut z, b, units, len);
            zero_past_lengths(out, b, units, len);
        }
        if fwd.keep {
            let steps = self.sequence.then(|| (b, fwd.lengths.map(<[usize]>::to_vec)));
            // x arrives through `adopt_input` (the network's buffer, not a copy).
            refill(&mut self.y, out);
            self.cache = Some(Cache { rows, steps });
        }
        self.z = z;
        Vec::new()
    }

    fn backward(&mut self, params: &[R], d_out: &[R], at_logits: bool, _d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let Some(c) = &self.cache else {
            return Err(crate::Error::value("backward", "needs a preceding forward with training: true"));
        };
        let units = self.spec.units;
        let mut dz = std::mem::take(&mut self.dz);
        if at_logits {
            refill(&mut dz, d_out);
        } else {
            dz.resize(d_out.len(), R::ZERO);
            activation_backward(self.spec.activation, &self.z, &self.y, d_out, units, &mut dz);
        }
        if let Some((b, Some(len))) = &c.steps {
            zero_past_lengths(&mut dz, *b, units, len);
        }
        // dense_backward overwrites dx (β = 0), so a kept buffer of the right length needs no zeroing.
        let mut dx = std::mem::take(&mut self.dx);
        if dx.len() != c.rows * self.spec.in_features {
            dx.clear();
            dx.resize(c.rows * self.spec.in_features, R::ZERO);
        }
        dense_backward(&self.spec, params, &self.x, c.rows, &dz, grads, &mut dx);
        self.dz = dz;
        Ok(LayerGrads { dx: if want_dx { dx } else { Vec::new() }, d_states: Vec::new() })
    }

    fn wants_input(&self) -> bool {
        true
    }

    fn adopt_input(&mut self, input: Vec<R>) -> Option<Vec<R>> {
        Some(std::mem::replace(&mut self.x, input))
    }

    fn take_back(&mut self, dx: Vec<R>) -> Option<Vec<R>> {
        Some(std::mem::replace(&mut self.dx, dx)).filter(|v| v.capacity() > 0)
    }

    fn clear_cache(&mut self) {
        self.cache = None;
    }

    fn final_activation(&self) -> Activation {
        self.spec.activation
    }

    fn logits(&self) -> Option<&[R]> {
        Some(&self.z)
    }
}
