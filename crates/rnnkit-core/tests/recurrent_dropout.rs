//! Recurrent (variational) dropout (`RecurrentSpec::recurrent_dropout`) against an independent f64
//! reference written here from the equations: gates += (h_{t−1} ⊙ m)·W_hhᵀ with one mask m per
//! layer·direction and sequence, the same at every step, and the carried state unmasked. With the
//! masks a training forward drew (`RecurrentBlock::last_recurrent_masks`), the reference must give
//! the block's outputs and final states, and BPTT must give central differences of the reference
//! loss (and of the block's own loss, the masks held fixed by the seed). Also: the masks are
//! seeded, 0 or 1/(1−p), about a fraction p zero, differ per sequence, unit and layer·direction;
//! without a generator (inference) p changes nothing.

mod common;

use common::{assert_close, central_differences, uniform_vec, BlockData};
use rnnkit_core::params::{block_layout, block_param_count};
use rnnkit_core::recurrent::{BlockInput, RecurrentBlock};
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::{CellKind, RecurrentSpec, WeightInit};

/// As tests/gradcheck_layers.rs: central differences, ~100× headroom over their error.
const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-7;
const RTOL: f64 = 1e-5;
const P: f32 = 0.4;
const CELLS: [CellKind; 4] = [CellKind::RnnTanh, CellKind::Lstm, CellKind::Gru, CellKind::IndRnnTanh];

fn spec(cell: CellKind, num_layers: usize, bidirectional: bool, reverse: bool, p: f32) -> RecurrentSpec {
    RecurrentSpec {
        cell,
        input_size: 2,
        hidden_size: 3,
        num_layers,
        bidirectional,
        reverse,
        bias: true,
        dropout: 0.0,
        recurrent_dropout: p,
        weight_init: WeightInit::Uniform,
        recurrent_init: WeightInit::Uniform,
        recurrent_max_abs: None,
        options: Default::default(),
    }
}

/// One block and its inputs; L = Σ w⊙output + Σ u⊙h_n + Σ v⊙c_n.
struct Case {
    spec: RecurrentSpec,
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    seed: u64,
    params: Vec<f64>,
    x: Vec<f64>,
    h0: Vec<f64>,
    c0: Vec<f64>,
    w: Vec<f64>,
    u: Vec<f64>,
    v: Vec<f64>,
}

impl Case {
    fn new(spec: RecurrentSpec, seq_len: usize, lengths: Option<Vec<usize>>, seed: u64) -> Case {
        let batch = lengths.as_ref().map_or(2, Vec::len);
        let BlockData { params, x, h0, c0, w, u, v } = BlockData::draw(&spec, seq_len, batch, &mut Rng::new(1000 + seed));
        Case { spec, seq_len, batch, lengths, seed, params, x, h0, c0, w, u, v }
    }

    fn input<'a>(&'a self, params_x: (&'a [f64], &'a [f64], &'a [f64]), rng: Option<&'a mut Rng>) -> BlockInput<'a, f64> {
        let (x, h0, c0) = params_x;
        BlockInput { tokens: None, x, seq_len: self.seq_len, batch: self.batch, h0: Some(h0), c0: (!c0.is_empty()).then_some(c0), lengths: self.lengths.as_deref(), dropout_rng: rng }
    }

    fn loss_of(&self, out: &[f64], h_n: &[f64], c_n: &[f64]) -> f64 {
        dot(&self.w, out) + dot(&self.u, h_n) + dot(&self.v, c_n)
    }

    /// The block's training forward (masks from `Rng::new(seed)`): (output, h_n, c_n, masks).
    fn block_forward(&self, params: &[f64], x: &[f64], h0: &[f64], c0: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
        let mut block = RecurrentBlock::<f64>::new(self.spec.clone());
        let mut rng = Rng::new(self.seed);
        let o = block.forward(params, self.input((x, h0, c0), Some(&mut rng)), false);
        (o.output, o.h_n, o.c_n, block.last_recurrent_masks())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// A named tensor of the block's parameters (PyTorch names).
fn tensor<'a>(spec: &RecurrentSpec, params: &'a [f64], name: &str) -> &'a [f64] {
    let info = block_layout(spec, "", 0).into_iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no parameter {name}"));
    &params[info.range()]
}

/// One step of one sequence from the equations: (h_t, c_t) from x_t, h_{t−1}, c_{t−1} and the mask.
/// h and the mask are P wide for an LSTM with a projection W_hr [P, H] (`w_hr`, else empty).
#[allow(clippy::too_many_arguments)]
fn step(cell: CellKind, hd: usize, w_ih: &[f64], w_hh: &[f64], w_hr: &[f64], b_ih: &[f64], b_hh: &[f64], x: &[f64], h: &[f64], c: &[f64], m: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (gs, sw) = (w_ih.len() / x.len(), h.len());
    let hm: Vec<f64> = h.iter().zip(m).map(|(h, m)| h * m).collect();
    let gi: Vec<f64> = (0..gs).map(|g| b_ih[g] + x.iter().enumerate().map(|(j, xj)| w_ih[g * x.len() + j] * xj).sum::<f64>()).collect();
    let gh: Vec<f64> = (0..gs)
        .map(|g| match cell {
            CellKind::IndRnnTanh => b_hh[g] + w_hh[g] * hm[g],
            _ => b_hh[g] + (0..sw).map(|k| w_hh[g * sw + k] * hm[k]).sum::<f64>(),
        })
        .collect();
    match cell {
        CellKind::RnnTanh | CellKind::IndRnnTanh => ((0..hd).map(|j| (gi[j] + gh[j]).tanh()).collect(), Vec::new()),
        CellKind::Lstm => {
            // PyTorch's order i, f, g, o.
            let a = |k: usize, j: usize| gi[k * hd + j] + gh[k * hd + j];
            let c_new: Vec<f64> = (0..hd).map(|j| sigmoid(a(1, j)) * c[j] + sigmoid(a(0, j)) * a(2, j).tanh()).collect();
            let hr: Vec<f64> = (0..hd).map(|j| sigmoid(a(3, j)) * c_new[j].tanh()).collect();
            if w_hr.is_empty() {
                return (hr, c_new);
            }
            // PyTorch's projection: h_t = W_hr·(o ⊙ tanh(c_t)).
            ((0..sw).map(|p| dot(&w_hr[p * hd..(p + 1) * hd], &hr)).collect(), c_new)
        }
        CellKind::Gru => {
            // PyTorch's order r, z, n; the blend uses the unmasked h_{t−1}.
            let h_new = (0..hd)
                .map(|j| {
                    let r = sigmoid(gi[j] + gh[j]);
                    let z = sigmoid(gi[hd + j] + gh[hd + j]);
                    let n = (gi[2 * hd + j] + r * gh[2 * hd + j]).tanh();
                    (1.0 - z) * n + z * h[j]
                })
                .collect();
            (h_new, Vec::new())
        }
        other => unreachable!("no reference for {other:?}"),
    }
}

/// The reference forward: (output [T, B, D·S], h_n, c_n) with the given masks [layer·direction][B·S]
/// (S: the h width, P with a projection, else H).
fn reference(case: &Case, params: &[f64], x: &[f64], h0: &[f64], c0: &[f64], masks: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let s = &case.spec;
    let (t_len, batch, hd, sw, dirs) = (case.seq_len, case.batch, s.hidden_size, s.state_size(), s.directions());
    let lstm = s.cell.has_cell_state();
    let mut input = x.to_vec();
    let mut in_w = s.input_size;
    let (mut h_n, mut c_n) = (vec![0.0; h0.len()], vec![0.0; c0.len()]);
    for l in 0..s.num_layers {
        let out_w = dirs * sw;
        let mut out = vec![0.0; t_len * batch * out_w];
        for d in 0..dirs {
            let suffix = if d == 1 { "_reverse" } else { "" };
            let name = |t: &str| format!("{t}_l{l}{suffix}");
            let (w_ih, w_hh) = (tensor(s, params, &name("weight_ih")), tensor(s, params, &name("weight_hh")));
            let (b_ih, b_hh) = (tensor(s, params, &name("bias_ih")), tensor(s, params, &name("bias_hh")));
            let w_hr = if s.options.proj_size > 0 { tensor(s, params, &name("weight_hr")) } else { &[][..] };
            let row = l * dirs + d;
            for b in 0..batch {
                let len = case.lengths.as_ref().map_or(t_len, |ls| ls[b]);
                let (at, at_c) = ((row * batch + b) * sw..(row * batch + b + 1) * sw, (row * batch + b) * hd..(row * batch + b + 1) * hd);
                let mut h = h0[at.clone()].to_vec();
                let mut c = if lstm { c0[at_c.clone()].to_vec() } else { Vec::new() };
                let m = &masks[row][b * sw..(b + 1) * sw];
                let reverse = s.scans_reverse(d);
                for k in 0..len {
                    let t = if reverse { len - 1 - k } else { k };
                    let xt = &input[(t * batch + b) * in_w..(t * batch + b + 1) * in_w];
                    (h, c) = step(s.cell, hd, w_ih, w_hh, w_hr, b_ih, b_hh, xt, &h, &c, m);
                    out[(t * batch + b) * out_w + d * sw..][..sw].copy_from_slice(&h);
                }
                h_n[at].copy_from_slice(&h);
                if lstm {
                    c_n[at_c].copy_from_slice(&c);
                }
            }
        }
        input = out;
        in_w = out_w;
    }
    (input, h_n, c_n)
}

/// Central differences of `f` w.r.t. every element of `at`.
fn numeric(at: &[f64], f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    central_differences(at, EPS, f)
}

fn check(case: &Case, label: &str) {
    let (out, h_n, c_n, masks) = case.block_forward(&case.params, &case.x, &case.h0, &case.c0);
    assert_eq!(masks.len(), case.spec.state_rows(), "{label}: one mask per layer·direction");
    assert!(masks.iter().all(|m| m.len() == case.batch * case.spec.state_size()), "{label}: each mask is [batch, h width]");
    let all: Vec<f64> = masks.concat();
    assert!(all.contains(&0.0) && all.iter().any(|&m| m > 1.0), "{label}: the masks must drop some units and keep others");

    // Forward: the reference with the same masks.
    let (r_out, r_h, r_c) = reference(case, &case.params, &case.x, &case.h0, &case.c0, &masks);
    assert_close(&out, &r_out, 1e-12, 1e-12, &format!("{label}: output"));
    assert_close(&h_n, &r_h, 1e-12, 1e-12, &format!("{label}: h_n"));
    assert_close(&c_n, &r_c, 1e-12, 1e-12, &format!("{label}: c_n"));

    // BPTT with the same masks (the same seed).
    let mut block = RecurrentBlock::<f64>::new(case.spec.clone());
    let mut rng = Rng::new(case.seed);
    block.forward(&case.params, case.input((&case.x, &case.h0, &case.c0), Some(&mut rng)), true);
    assert_eq!(block.last_recurrent_masks(), masks, "{label}: same seed, same masks");
    let mut grads = vec![0.0; case.params.len()];
    let dc_n = (!case.v.is_empty()).then_some(&case.v[..]);
    let g = block.backward(&case.params, &case.w, Some(&case.u), dc_n, &mut grads).expect("backward");
    assert!(grads.iter().any(|g| g.abs() > 1e-3), "{label}: parameter gradients are all ~0");

    // Against the reference loss (independent of the block's forward) and the block's own loss.
    let ref_loss = |p: &[f64], x: &[f64], h0: &[f64], c0: &[f64]| {
        let (o, h, c) = reference(case, p, x, h0, c0, &masks);
        case.loss_of(&o, &h, &c)
    };
    let own_loss = |p: &[f64], x: &[f64], h0: &[f64], c0: &[f64]| {
        let (o, h, c, _) = case.block_forward(p, x, h0, c0);
        case.loss_of(&o, &h, &c)
    };
    for (what, loss) in [("reference", &ref_loss as &dyn Fn(&[f64], &[f64], &[f64], &[f64]) -> f64), ("finite differences", &own_loss)] {
        let n_params = numeric(&case.params, |q| loss(q, &case.x, &case.h0, &case.c0));
        for info in block_layout(&case.spec, "", 0) {
            let r = info.range();
            assert_close(&grads[r.clone()], &n_params[r], ATOL, RTOL, &format!("{label} vs {what}: d{}", info.name));
        }
        assert_close(&g.dx, &numeric(&case.x, |q| loss(&case.params, q, &case.h0, &case.c0)), ATOL, RTOL, &format!("{label} vs {what}: dx"));
        assert_close(&g.dh0, &numeric(&case.h0, |q| loss(&case.params, &case.x, q, &case.c0)), ATOL, RTOL, &format!("{label} vs {what}: dh0"));
        assert_close(&g.dc0, &numeric(&case.c0, |q| loss(&case.params, &case.x, &case.h0, q)), ATOL, RTOL, &format!("{label} vs {what}: dc0"));
    }
}

/// Every cell × (two bidirectional layers with lengths, reverse-only, two forward layers).
#[test]
fn matches_the_reference_forward_and_gradients() {
    let mut seed = 1;
    for cell in CELLS {
        for (layers, bidirectional, reverse, lengths) in [(2, true, false, Some(vec![4, 1, 3])), (1, false, true, Some(vec![2, 4])), (2, false, false, None)] {
            let label = format!("{} layers={layers} bidirectional={bidirectional} reverse={reverse} lengths={lengths:?}", cell.name());
            check(&Case::new(spec(cell, layers, bidirectional, reverse, P), 4, lengths, seed), &label);
            seed += 1;
        }
    }
}

/// An LSTM with `proj_size` (the mask is [batch, P]: it multiplies the projected h_{t−1} that enters
/// the recurrent product), with peepholes off: two bidirectional layers with lengths, and reverse-only.
#[test]
fn projected_lstm_matches_the_reference_forward_and_gradients() {
    for (seed, (layers, bidirectional, reverse, lengths)) in [(40, (2, true, false, Some(vec![4, 1, 3]))), (41, (1, false, true, Some(vec![2, 4])))] {
        let mut s = spec(CellKind::Lstm, layers, bidirectional, reverse, P);
        s.hidden_size = 4;
        s.options.proj_size = 2;
        let label = format!("LSTM proj_size=2 layers={layers} bidirectional={bidirectional} reverse={reverse}");
        check(&Case::new(s, 4, lengths, seed), &label);
    }
}

/// The masks: 0 or 1/(1−p), about a fraction p zero, different per sequence, unit and
/// layer·direction; a seed reproduces them and another seed draws others.
#[test]
fn masks_are_seeded_scaled_and_about_p() {
    let p = 0.3f32;
    let mut s = spec(CellKind::Lstm, 2, true, false, p);
    s.hidden_size = 64;
    let (batch, hd) = (64, 64);
    let params = uniform_vec::<f32>(&mut Rng::new(3), block_param_count(&s), -0.3, 0.3);
    let x = uniform_vec::<f32>(&mut Rng::new(4), 5 * batch * s.input_size, -1.0, 1.0);
    let run = |seed: u64| {
        let mut block = RecurrentBlock::<f32>::new(s.clone());
        let mut rng = Rng::new(seed);
        let out = block.forward(&params, BlockInput { tokens: None, x: &x, seq_len: 5, batch, h0: None, c0: None, lengths: None, dropout_rng: Some(&mut rng) }, true);
        (out.output, block.last_recurrent_masks())
    };
    let (out, masks) = run(7);
    let keep = 1.0 / (1.0 - p);
    assert_eq!(masks.len(), 4);
    for (k, m) in masks.iter().enumerate() {
        assert_eq!(m.len(), batch * hd);
        assert!(m.iter().all(|&v| v == 0.0 || v == keep), "mask {k}: values other than 0 and 1/(1−p)");
        let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / m.len() as f64;
        // 4096 draws: σ ≈ 0.007, so ±0.035 is 5σ.
        assert!((dropped - f64::from(p)).abs() < 0.035, "mask {k}: dropped {dropped}, p {p}");
        let rows: Vec<&[f32]> = m.chunks(hd).collect();
        assert!(rows.windows(2).any(|w| w[0] != w[1]), "mask {k}: every sequence has the same mask");
        assert!(rows.iter().any(|r| r.iter().any(|&v| v != r[0])), "mask {k}: constant over units");
    }
    for a in 0..masks.len() {
        for b in a + 1..masks.len() {
            assert_ne!(masks[a], masks[b], "layer·directions {a} and {b} share a mask");
        }
    }
    let (out2, masks2) = run(7);
    assert_eq!((&out2, &masks2), (&out, &masks), "same seed");
    let (out3, masks3) = run(8);
    assert_ne!(masks3, masks, "another seed, the same masks");
    assert_ne!(out3, out, "another seed, the same output");
}

/// Inference (no generator) ignores p: bit-identical to p = 0, with or without keeping the cache;
/// and p = 0 with a generator draws nothing.
#[test]
fn inference_and_p_zero_are_unaffected() {
    for cell in CELLS {
        let case = Case::new(spec(cell, 2, true, false, 0.0), 4, Some(vec![4, 1, 3]), 50);
        let plain = RecurrentBlock::<f64>::new(case.spec.clone()).forward(&case.params, case.input((&case.x, &case.h0, &case.c0), None), false);
        for keep in [false, true] {
            let mut block = RecurrentBlock::<f64>::new(RecurrentSpec { recurrent_dropout: 0.5, ..case.spec.clone() });
            let o = block.forward(&case.params, case.input((&case.x, &case.h0, &case.c0), None), keep);
            assert_eq!((&o.output, &o.h_n, &o.c_n), (&plain.output, &plain.h_n, &plain.c_n), "{}: inference with p = 0.5", cell.name());
            assert!(block.last_recurrent_masks().iter().all(Vec::is_empty));
        }
        let mut block = RecurrentBlock::<f64>::new(case.spec.clone());
        let mut rng = Rng::new(9);
        let o = block.forward(&case.params, case.input((&case.x, &case.h0, &case.c0), Some(&mut rng)), true);
        assert_eq!((&o.output, &o.h_n), (&plain.output, &plain.h_n), "{}: p = 0 with a generator", cell.name());
        assert!(block.last_recurrent_masks().iter().all(Vec::is_empty));
        // A training forward with p > 0 then an inference one: the old masks are gone.
        let mut block = RecurrentBlock::<f64>::new(RecurrentSpec { recurrent_dropout: 0.5, ..case.spec.clone() });
        let mut rng = Rng::new(9);
        block.forward(&case.params, case.input((&case.x, &case.h0, &case.c0), Some(&mut rng)), true);
        let o = block.forward(&case.params, case.input((&case.x, &case.h0, &case.c0), None), false);
        assert_eq!(o.output, plain.output, "{}: inference after training", cell.name());
    }
}

/// The shipped f32 path (packed SIMD step GEMM) with masks agrees with f64 on the same masks (every
/// cell, and an LSTM with proj_size, whose step GEMM and mask are P wide).
#[test]
fn f32_matches_f64_with_masks() {
    for (cell, proj_size) in CELLS.map(|c| (c, 0)).into_iter().chain([(CellKind::Lstm, 5)]) {
        let mut s = spec(cell, 2, true, false, P);
        s.hidden_size = 8;
        s.options.proj_size = proj_size;
        let label = format!("{} proj_size={proj_size}", cell.name());
        let case = Case::new(s, 6, Some(vec![6, 2, 5, 1]), 70);
        let round = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (p32, x32, h32, c32) = (round(&case.params), round(&case.x), round(&case.h0), round(&case.c0));
        let back = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let (p64, x64, h64, c64) = (back(&p32), back(&x32), back(&h32), back(&c32));
        let (o64, hn64, _, m64) = case.block_forward(&p64, &x64, &h64, &c64);
        let mut block = RecurrentBlock::<f32>::new(case.spec.clone());
        let mut rng = Rng::new(case.seed);
        let input = BlockInput { tokens: None, x: &x32, seq_len: case.seq_len, batch: case.batch, h0: Some(&h32), c0: (!c32.is_empty()).then_some(&c32[..]), lengths: case.lengths.as_deref(), dropout_rng: Some(&mut rng) };
        let o32 = block.forward(&p32, input, true);
        let m32 = block.last_recurrent_masks();
        let dropped = |m: &[Vec<f64>]| m.iter().map(|m| m.iter().map(|&v| v == 0.0).collect::<Vec<_>>()).collect::<Vec<_>>();
        assert_eq!(dropped(&m32.iter().map(|m| back(m)).collect::<Vec<_>>()), dropped(&m64), "{label}: the same units dropped in f32 and f64");
        assert_close(&back(&o32.output), &o64, 2e-5, 0.0, &format!("{label}: f32 output"));
        assert_close(&back(&o32.h_n), &hn64, 2e-5, 0.0, &format!("{label}: f32 h_n"));
        // Gradients: f32 BPTT against f64 BPTT.
        let w32 = round(&case.w);
        let mut g32 = vec![0.0f32; p32.len()];
        block.backward(&p32, &w32, None, None, &mut g32).unwrap();
        let mut b64 = RecurrentBlock::<f64>::new(case.spec.clone());
        let mut rng = Rng::new(case.seed);
        b64.forward(&p64, case.input((&x64, &h64, &c64), Some(&mut rng)), true);
        let mut g64 = vec![0.0f64; p64.len()];
        b64.backward(&p64, &back(&w32), None, None, &mut g64).unwrap();
        assert_close(&back(&g32), &g64, 2e-4, 1e-3, &format!("{label}: f32 parameter gradients"));
    }
}
