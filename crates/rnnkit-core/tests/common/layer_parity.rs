//! PyTorch parity for any layer kind through the `Layer` trait (`layers::registry::build`): reads a
//! case of a `test/fixtures/torch_layers/<name>.json` (see `super::fixtures`) — `type`, `config` (rnnkit's JSON), `params`
//! ({name: tensor} in layout order, PyTorch's names), `x` [B, T, F], optional `lengths`, `cotangent`
//! (shaped like the output, batch-first), and float64 `output` and `grads` ({"x", every parameter}) —
//! and checks output and every gradient in f32 or f64. Tensors are `{"dims", "data"}`.
#![allow(dead_code)]

use rnnkit_core::json::Json;
use rnnkit_core::layers::{build, Forward, Layer, LayerSpec, LayerX, Shape};
use rnnkit_core::real::Real;

use super::fixtures::{assert_close, field, input, is_f32, nums, reference, swap01, tensor, tol, GRAD_CANARY};

/// One fixture case built for `R`.
pub struct LayerCase<R: Real> {
    pub layer: Box<dyn Layer<R>>,
    pub params: Vec<R>,
    /// x as given, [B, T, F].
    pub x: Vec<R>,
    pub batch: usize,
    pub seq_len: usize,
    pub features: usize,
    pub lengths: Option<Vec<usize>>,
}

impl<R: Real> LayerCase<R> {
    pub fn new(case: &Json) -> Self {
        let (dims, x) = tensor(field(case, "x"));
        let [batch, seq_len, features] = dims[..] else { panic!("x: expected [B, T, F], got {dims:?}") };
        let kind = field(case, "type").as_str().expect("type");
        let spec = LayerSpec::new(kind, field(case, "config").clone());
        let layer = build::<R>(&spec, Some(Shape::Seq { features }), 0).unwrap_or_else(|e| panic!("{kind}: {e}"));
        // The fixture's names, in order, must be the layer's layout (PyTorch's named_parameters()).
        let Json::Obj(named) = field(case, "params") else { panic!("params: expected an object") };
        let layout = layer.params();
        let names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, named.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), "parameter names/order differ from PyTorch's");
        let mut params = Vec::with_capacity(layer.param_count());
        for (p, (_, t)) in layout.iter().zip(named) {
            let (d, v) = tensor(t);
            assert_eq!(d, p.shape, "{}: shape", p.name);
            params.extend(input::<R>(&v));
        }
        let lengths = case.get("lengths").map(|l| nums(l).iter().map(|&v| v as usize).collect());
        LayerCase { layer, params, x: input(&x), batch, seq_len, features, lengths }
    }

    /// (steps, features) of the output; steps = None for a vector output.
    fn out_dims(&self) -> (Option<usize>, usize) {
        match self.layer.output_shape() {
            Shape::Vector { features } => (None, features),
            s => (Some(self.layer.output_steps(self.seq_len)), s.features()),
        }
    }

    /// Forward of `x_tm` (time-major) with `keep`; the output batch-first.
    pub fn forward(&mut self, x_tm: &[R], seq_len: usize, batch: usize, lengths: Option<&[usize]>, keep: bool) -> Vec<R> {
        let (steps, f) = self.out_dims();
        let steps = steps.map(|_| self.layer.output_steps(seq_len));
        let mut out = vec![R::ZERO; steps.unwrap_or(1) * batch * f];
        let fwd = Forward { x: LayerX::Features(x_tm), seq_len, batch, lengths, states: &[], keep, rng: None, params_version: 1, batch_major: false };
        self.layer.forward(&self.params, fwd, &mut out);
        match steps {
            Some(t) => swap01(&out, t, batch, f),
            None => out,
        }
    }
}

/// Output and every gradient of one case against the reference; returns the built case for
/// kind-specific checks.
pub fn check_case<R: Real>(case: &Json) -> LayerCase<R> {
    let (atol, rtol) = tol::<R>();
    let mut c = LayerCase::<R>::new(case);
    let (b, t, f) = (c.batch, c.seq_len, c.features);
    let x_tm = swap01(&c.x, b, t, f);
    let lengths = c.lengths.clone();
    let out = c.forward(&x_tm, t, b, lengths.as_deref(), true);
    let want = |j: &Json| reference::<R>(&tensor(j).1);
    assert_close(&out, &want(field(case, "output")), atol, rtol, "output");

    let (steps, fo) = c.out_dims();
    let cot: Vec<R> = input(&tensor(field(case, "cotangent")).1);
    let d_out = steps.map_or_else(|| cot.clone(), |so| swap01(&cot, b, so, fo));
    let canary = if is_f32::<R>() { 0.0 } else { GRAD_CANARY };
    let mut grads = vec![R::from_f64(canary); c.params.len()];
    let g = c.layer.backward(&c.params, &d_out, false, &[], &mut grads, true).expect("backward");
    grads.iter_mut().for_each(|v| *v -= R::from_f64(canary));

    let expected = field(case, "grads");
    assert_close(&swap01(&g.dx, t, b, f), &want(field(expected, "x")), atol, rtol, "dx");
    let mut offset = 0;
    for p in c.layer.params() {
        let n: usize = p.shape.iter().product();
        assert_close(&grads[offset..offset + n], &want(field(expected, &p.name)), atol, rtol, &format!("d {}", p.name));
        offset += n;
    }
    c
}
