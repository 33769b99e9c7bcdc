//! The one PyTorch-parity runner for any layer kind: every case of a
//! `test/fixtures/torch_layers/<name>.json` file (format: test/fixtures/README.md) through the `Layer`
//! trait in f64 or f32 — parameter names/order/shapes, config round trip, output, dx, every parameter
//! gradient (onto a canary in f64), final states and their gradients, and attention weights through
//! `trace()`. A parity test is `run_file::<R>("<name>.json")`.

use rnnkit_core::json::Json;
use rnnkit_core::layers::{build, Forward, Layer, LayerSpec, LayerX, Shape};
use rnnkit_core::real::Real;
use rnnkit_core::trace::PanelKind;

use super::fixture::{assert_close, field, input, is_f32, nums, reference, run_cases, swap01, tensor, tol, GRAD_CANARY};

/// The case's input, time-major as the core reads it.
enum CaseX<R> {
    Features(Vec<R>),
    Tokens(Vec<i32>),
}

/// One fixture case built for `R`.
struct LayerCase<R: Real> {
    layer: Box<dyn Layer<R>>,
    params: Vec<R>,
    x: CaseX<R>,
    /// x as given ([B, T, F] or [B, F]); empty for token ids.
    x_given: Vec<R>,
    batch: usize,
    /// 1 for a vector input [B, F].
    seq_len: usize,
    lengths: Option<Vec<usize>>,
}

impl<R: Real> LayerCase<R> {
    fn new(case: &Json) -> Self {
        // Input: ids [B, T] (a first layer), or x [B, T, F] / [B, F] from a previous layer.
        let (x, x_given, shape, seq_len, batch) = match case.get("ids") {
            Some(j) => {
                let (d, v) = tensor(j);
                let [b, t] = d[..] else { panic!("ids: expected [B, T], got {d:?}") };
                (CaseX::Tokens(swap01(&v, b, t, 1).iter().map(|&id| id as i32).collect()), Vec::new(), None, t, b)
            }
            None => {
                let (d, v) = tensor(field(case, "x"));
                let given = input::<R>(&v);
                match d[..] {
                    [b, t, f] => (CaseX::Features(swap01(&given, b, t, f)), given, Some(Shape::Seq { features: f }), t, b),
                    [b, f] => (CaseX::Features(given.clone()), given, Some(Shape::Vector { features: f }), 1, b),
                    _ => panic!("x: expected [B, T, F] or [B, F], got {d:?}"),
                }
            }
        };
        let kind = field(case, "type").as_str().expect("type");
        let layer = build::<R>(&LayerSpec::new(kind, field(case, "config").clone()), shape, 0).unwrap_or_else(|e| panic!("{kind}: {e}"));
        // The canonical config builds the same layer.
        let again = build::<R>(&LayerSpec::new(kind, layer.config()), shape, 0).expect("canonical config builds");
        assert_eq!(again.config(), layer.config(), "config round trip");

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
        assert_eq!(params.len(), layer.param_count(), "param_count");
        let lengths = case.get("lengths").map(|l| nums(l).iter().map(|&v| v as usize).collect());
        LayerCase { layer, params, x, x_given, batch, seq_len, lengths }
    }

    /// Forward of the case's own input with `states`; (output batch-first, final states).
    fn forward(&mut self, states: &[Option<&[R]>], keep: bool) -> (Vec<R>, Vec<Vec<R>>) {
        let LayerCase { layer, params, x, batch, seq_len, lengths, .. } = self;
        let x = match x {
            CaseX::Features(x) => LayerX::Features(x),
            CaseX::Tokens(ids) => LayerX::Tokens(ids),
        };
        forward_layer(layer.as_mut(), params, x, *seq_len, *batch, lengths.as_deref(), states, keep)
    }
}

/// Output steps (None: a vector output [B, F]) and features for an input of `seq_len` steps.
fn out_dims<R: Real>(layer: &dyn Layer<R>, seq_len: usize) -> (Option<usize>, usize) {
    let shape = layer.output_shape();
    (shape.is_sequence().then(|| layer.output_steps(seq_len)), shape.features())
}

/// Forward of a time-major `x`; (output batch-first, final states).
#[allow(clippy::too_many_arguments)]
fn forward_layer<R: Real>(layer: &mut dyn Layer<R>, params: &[R], x: LayerX<'_, R>, seq_len: usize, batch: usize, lengths: Option<&[usize]>, states: &[Option<&[R]>], keep: bool) -> (Vec<R>, Vec<Vec<R>>) {
    let (steps, f) = out_dims(layer, seq_len);
    let mut out = vec![R::ZERO; steps.unwrap_or(1) * batch * f];
    let fwd = Forward { x, seq_len, batch, lengths, states, keep, rng: None, params_version: 1, batch_major: false };
    let finals = layer.forward(params, fwd, &mut out);
    if let (true, true, LayerX::Features(x)) = (keep, layer.wants_input(), x) {
        layer.adopt_input(x.to_vec());
    }
    (steps.map_or_else(|| out.clone(), |t| swap01(&out, t, batch, f)), finals)
}

/// Every check of one case.
fn check_case<R: Real>(case: &Json) {
    let (atol, rtol) = tol::<R>();
    let close = |got: &[R], want: &Json, what: &str| assert_close(got, &reference::<R>(&tensor(want).1), atol, rtol, what);
    let mut c = LayerCase::<R>::new(case);
    let (b, t) = (c.batch, c.seq_len);
    let expected = field(case, "expected");

    // Initial states and final-state cotangents by the names `states()` gives.
    let infos = c.layer.states(b);
    let by_name = |key: &str| -> Vec<Option<Vec<R>>> {
        if let Some(Json::Obj(m)) = case.get(key) {
            for (name, _) in m {
                assert!(infos.iter().any(|s| s.name == name), "{key}.{name}: not a state of this layer");
            }
        }
        infos.iter().map(|s| case.get(key).and_then(|m| m.get(s.name)).map(|j| input::<R>(&tensor(j).1))).collect()
    };
    let (states0, d_final) = (by_name("states"), by_name("d_states"));
    let sref: Vec<Option<&[R]>> = states0.iter().map(Option::as_deref).collect();
    let (out, finals) = c.forward(&sref, true);
    close(&out, field(expected, "out"), "out");
    assert_eq!(finals.len(), infos.len(), "one final state per states() entry");

    let (steps, fo) = out_dims(c.layer.as_ref(), t);
    let d_out = input::<R>(&tensor(field(case, "d_out")).1);
    let d_out = steps.map_or_else(|| d_out.clone(), |so| swap01(&d_out, b, so, fo));
    let dref: Vec<Option<&[R]>> = d_final.iter().map(Option::as_deref).collect();
    let canary = if is_f32::<R>() { 0.0 } else { GRAD_CANARY };
    let mut grads = vec![R::from_f64(canary); c.params.len()];
    let g = c.layer.backward(&c.params, &d_out, false, &dref, &mut grads, true).expect("backward");
    grads.iter_mut().for_each(|v| *v -= R::from_f64(canary));

    match (&c.x, expected.get("dx")) {
        (CaseX::Features(_), Some(want)) => {
            let fi = c.layer.input_shape().features();
            let dx = if c.layer.input_shape().is_sequence() { swap01(&g.dx, t, b, fi) } else { g.dx.clone() };
            close(&dx, want, "dx");
        }
        (CaseX::Tokens(_), None) => assert!(g.dx.is_empty(), "no dx for token ids"),
        (CaseX::Features(_), None) => panic!("expected.dx missing for a float input"),
        (CaseX::Tokens(_), Some(_)) => panic!("expected.dx given for token ids"),
    }
    let mut at = 0;
    for p in c.layer.params() {
        let n: usize = p.shape.iter().product();
        close(&grads[at..at + n], field(field(expected, "params"), &p.name), &format!("d {}", p.name));
        at += n;
    }
    for (i, s) in infos.iter().enumerate() {
        if let Some(want) = expected.get("states").and_then(|m| m.get(s.name)) {
            close(&finals[i], want, &format!("final {}", s.name));
        }
        if let Some(want) = expected.get("d_states").and_then(|m| m.get(s.name)) {
            close(&g.d_states[i], want, &format!("d {}", s.name));
        }
    }
    if let Some(w) = expected.get("weights") {
        check_weights(w, &mut c);
    }
}

/// Trace panels hold f32: in an f64 run the weights carry one f32 rounding (≤ 6e-8 of values ≤ 1).
fn weight_tol<R: Real>() -> (f64, f64) {
    let (atol, rtol) = tol::<R>();
    (atol.max(1e-7), rtol.max(1e-6))
}

/// For each sequence b alone (its first len_b steps, batch 1): the trace's attention panels equal the
/// reference weights of b restricted to its valid steps, and its forward equals b's rows of the batch.
fn check_weights<R: Real>(weights: &Json, c: &mut LayerCase<R>) {
    let (b, t) = (c.batch, c.seq_len);
    assert!(matches!(c.x, CaseX::Features(_)), "attention weights need a float input");
    let f = c.x_given.len() / (b * t);
    let (dims, w) = tensor(weights);
    // [B, H, T, T] for a sequence output (MultiHeadAttention), [B, T] for a pooled one.
    let per_step = dims.len() == 4;
    let heads = if per_step { dims[1] } else { 1 };
    let (atol, rtol) = tol::<R>();
    let (watol, wrtol) = weight_tol::<R>();
    let lengths = c.lengths.clone();
    let (batch_out, _) = c.forward(&[], false);
    for bi in 0..b {
        let len = lengths.as_ref().map_or(t, |l| l[bi]);
        let x: Vec<R> = c.x_given[bi * t * f..(bi * t + len) * f].to_vec();
        let (out, _) = forward_layer(c.layer.as_mut(), &c.params, LayerX::Features(&x), len, 1, None, &[], false);
        let want_out = if per_step { &batch_out[bi * t * f..(bi * t + len) * f] } else { &batch_out[bi * f..(bi + 1) * f] };
        assert_close(&out, want_out, atol, rtol, &format!("sequence {bi} alone: output"));
        let panels = c.layer.trace(&c.params, LayerX::Features(&x), len, &out);
        let attention: Vec<_> = panels.iter().filter(|p| p.kind == PanelKind::Attention).collect();
        assert_eq!(attention.len(), heads, "one attention panel per head");
        assert_eq!(panels.last().map(|p| p.kind), Some(PanelKind::Output), "the output panel last");
        for (h, p) in attention.iter().enumerate() {
            let got: Vec<R> = p.values.iter().map(|&v| R::from_f32(v)).collect();
            let want: Vec<f64> = if per_step {
                assert_eq!((p.name.as_str(), p.units), (format!("head {h} attention").as_str(), len));
                (0..len).flat_map(|i| w[((bi * heads + h) * t + i) * t..][..len].to_vec()).collect()
            } else {
                assert_eq!((p.units, p.values.len()), (1, len), "one weight per step: a [T, 1] panel");
                w[bi * t..bi * t + len].to_vec()
            };
            assert_close(&got, &reference::<R>(&want), watol, wrtol, &format!("sequence {bi} head {h} weights"));
        }
    }
}

/// Every case of `torch_layers/<file>` in `R`, one line each; returns the number of cases.
pub fn run_file<R: Real>(file: &str) -> usize {
    let label = if is_f32::<R>() { "f32" } else { "f64" };
    run_cases(&format!("torch_layers/{file}"), label, check_case::<R>)
}
