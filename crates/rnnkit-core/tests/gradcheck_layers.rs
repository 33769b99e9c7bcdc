//! Finite-difference gradient checks of `RecurrentBlock` BPTT in f64 (PyTorch gradcheck style):
//! central differences of L = Σ w⊙output + Σ u⊙h_n (+ Σ v⊙c_n), with random non-uniform w, u, v,
//! w.r.t. every parameter element, every x element, h0 and c0, for every cell kind × layers × directions
//! × bias × lengths, plus dropout with a fixed seed. Also f32 vs f64 agreement on a larger case.

mod common;

use common::{assert_close, central_differences, BlockData};
use rnnkit_core::recurrent::{BlockInput, RecurrentBlock};
use rnnkit_core::params::block_layout;
use rnnkit_core::real::Real;
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::{CellKind, RecurrentSpec, WeightInit};

/// Central-difference step: truncation error ~EPS²·|L'''| ≈ 1e-12, rounding ~1e-16·|L|/EPS ≈ 1e-10.
const EPS: f64 = 1e-6;
/// Both bounds leave ~100× headroom over the error budget above for |L| ≲ 10.
const ATOL: f64 = 1e-7;
const RTOL: f64 = 1e-5;
/// f32 forward vs f64: T·B-long chains of O(H)-term dots in f32 (ε ≈ 6e-8) stay well below this.
const F32_FWD_ATOL: f64 = 2e-5;
/// f32 gradients accumulate over every step and batch row (the big weight-gradient GEMMs).
const F32_GRAD_ATOL: f64 = 2e-4;
const F32_GRAD_RTOL: f64 = 1e-3;

const SEQ_LEN: usize = 3;
const INPUT: usize = 2;
const HIDDEN: usize = 3;
/// The packed-sequence case of the brief: one full, one length-1, one in between.
const LENGTHS: [usize; 3] = [3, 1, 2];

fn spec(cell: CellKind, num_layers: usize, bidirectional: bool, bias: bool, dropout: f32) -> RecurrentSpec {
    RecurrentSpec {
        cell,
        input_size: INPUT,
        hidden_size: HIDDEN,
        num_layers,
        bidirectional,
        reverse: false,
        bias,
        dropout,
        recurrent_dropout: 0.0,
        weight_init: WeightInit::Uniform,
        recurrent_init: WeightInit::Uniform,
        recurrent_max_abs: None,
        options: Default::default(),
    }
}

/// One gradcheck problem: a block, its inputs, and the loss weights.
struct Problem<R> {
    spec: RecurrentSpec,
    batch: usize,
    lengths: Option<Vec<usize>>,
    dropout_seed: Option<u64>,
    params: Vec<R>,
    x: Vec<R>,
    h0: Vec<R>,
    c0: Vec<R>,
    w: Vec<R>,
    u: Vec<R>,
    v: Vec<R>,
}

impl<R: Real> Problem<R> {
    fn new(spec: RecurrentSpec, seq_len: usize, batch: usize, lengths: Option<Vec<usize>>, dropout_seed: Option<u64>, seed: u64) -> Self {
        let BlockData { params, x, h0, c0, w, u, v } = BlockData::draw(&spec, seq_len, batch, &mut Rng::new(seed));
        Problem { spec, batch, lengths, dropout_seed, params, x, h0, c0, w, u, v }
    }

    fn seq_len(&self) -> usize {
        self.x.len() / (self.batch * self.spec.input_size)
    }

    fn input<'a>(&'a self, x: &'a [R], h0: &'a [R], c0: &'a [R], rng: Option<&'a mut Rng>) -> BlockInput<'a, R> {
        BlockInput {
            tokens: None,
            x,
            seq_len: self.seq_len(),
            batch: self.batch,
            h0: Some(h0),
            c0: (!c0.is_empty()).then_some(c0),
            lengths: self.lengths.as_deref(),
            dropout_rng: rng,
        }
    }

    /// L(params, x, h0, c0) with a fresh dropout generator, so every evaluation draws the same masks.
    fn loss(&self, params: &[R], x: &[R], h0: &[R], c0: &[R]) -> f64 {
        let mut block = RecurrentBlock::<R>::new(self.spec.clone());
        let mut rng = self.dropout_seed.map(Rng::new);
        let out = block.forward(params, self.input(x, h0, c0, rng.as_mut()), false);
        dot(&self.w, &out.output) + dot(&self.u, &out.h_n) + dot(&self.v, &out.c_n)
    }

    /// (d params, dx, dh0, dc0) by BPTT.
    fn analytic(&self) -> (Vec<R>, Vec<R>, Vec<R>, Vec<R>) {
        let mut block = RecurrentBlock::<R>::new(self.spec.clone());
        let mut rng = self.dropout_seed.map(Rng::new);
        block.forward(&self.params, self.input(&self.x, &self.h0, &self.c0, rng.as_mut()), true);
        let mut grads = vec![R::ZERO; self.params.len()];
        let dc_n = (!self.v.is_empty()).then_some(&self.v[..]);
        let g = block.backward(&self.params, &self.w, Some(&self.u), dc_n, &mut grads).expect("backward");
        (grads, g.dx, g.dh0, g.dc0)
    }
}

fn dot<R: Real>(a: &[R], b: &[R]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x.to_f64() * y.to_f64()).sum()
}

/// Central differences of `f` w.r.t. every element of `at`.
fn numeric(at: &[f64], f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    central_differences(at, EPS, f)
}

fn gradcheck(p: &Problem<f64>, label: &str) {
    let (dparams, dx, dh0, dc0) = p.analytic();
    let nparams = numeric(&p.params, |q| p.loss(q, &p.x, &p.h0, &p.c0));
    for info in block_layout(&p.spec, "", 0) {
        let r = info.range();
        assert_close(&dparams[r.clone()], &nparams[r], ATOL, RTOL, &format!("{label}: d{}", info.name));
    }
    assert_close(&dx, &numeric(&p.x, |q| p.loss(&p.params, q, &p.h0, &p.c0)), ATOL, RTOL, &format!("{label}: dx"));
    assert_close(&dh0, &numeric(&p.h0, |q| p.loss(&p.params, &p.x, q, &p.c0)), ATOL, RTOL, &format!("{label}: dh0"));
    assert_close(&dc0, &numeric(&p.c0, |q| p.loss(&p.params, &p.x, &p.h0, q)), ATOL, RTOL, &format!("{label}: dc0"));
    // A vacuous check (all-zero gradients) would pass the comparisons above.
    assert!(dparams.iter().any(|g| g.abs() > 1e-3), "{label}: parameter gradients are all ~0");
}

/// Every combination of layers × directions (forward, reverse-only, bidirectional) × bias × lengths
/// for one cell kind.
fn gradcheck_cell(cell: CellKind) {
    let mut seed = 1;
    for num_layers in [1, 2] {
        for (bidirectional, reverse) in [(false, false), (false, true), (true, false)] {
            for bias in [true, false] {
                for lengths in [None, Some(LENGTHS.to_vec())] {
                    let batch = lengths.as_ref().map_or(2, Vec::len);
                    let label = format!("{} layers={num_layers} bidirectional={bidirectional} reverse={reverse} bias={bias} lengths={lengths:?}", cell.name());
                    let s = RecurrentSpec { reverse, ..spec(cell, num_layers, bidirectional, bias, 0.0) };
                    let p = Problem::<f64>::new(s, SEQ_LEN, batch, lengths, None, seed);
                    gradcheck(&p, &label);
                    seed += 1;
                }
            }
        }
    }
}

#[test]
fn gradcheck_rnn_tanh() {
    gradcheck_cell(CellKind::RnnTanh);
}

/// ReLU's kink at 0: with continuous random inputs a pre-activation within EPS of 0 has probability
/// ~1e-6 per element, and the fixed seeds here were checked to stay clear of it.
#[test]
fn gradcheck_rnn_relu() {
    gradcheck_cell(CellKind::RnnRelu);
}

#[test]
fn gradcheck_rnn_sigmoid() {
    gradcheck_cell(CellKind::RnnSigmoid);
}

#[test]
fn gradcheck_lstm() {
    gradcheck_cell(CellKind::Lstm);
}

#[test]
fn gradcheck_gru() {
    gradcheck_cell(CellKind::Gru);
}

#[test]
fn gradcheck_gru_reset_before() {
    gradcheck_cell(CellKind::GruResetBefore);
}

#[test]
fn gradcheck_indrnn_relu() {
    gradcheck_cell(CellKind::IndRnnRelu);
}

#[test]
fn gradcheck_indrnn_tanh() {
    gradcheck_cell(CellKind::IndRnnTanh);
}

/// Inter-layer dropout: masks come from a fresh `Rng::new(seed)` per evaluation, so the loss is a
/// smooth function of the inputs and BPTT must route gradients through the same masks.
#[test]
fn gradcheck_dropout() {
    for (k, cell) in [CellKind::RnnTanh, CellKind::Lstm, CellKind::Gru].into_iter().enumerate() {
        for lengths in [None, Some(LENGTHS.to_vec())] {
            let batch = lengths.as_ref().map_or(2, Vec::len);
            let p = Problem::<f64>::new(spec(cell, 3, true, true, 0.4), SEQ_LEN, batch, lengths.clone(), Some(77 + k as u64), 100 + k as u64);
            // The masks must really drop something, or this is just the no-dropout check again.
            let no_drop = Problem::<f64>::new(spec(cell, 3, true, true, 0.4), SEQ_LEN, batch, lengths.clone(), None, 100 + k as u64);
            let with = p.loss(&p.params, &p.x, &p.h0, &p.c0);
            let without = no_drop.loss(&no_drop.params, &no_drop.x, &no_drop.h0, &no_drop.c0);
            assert!((with - without).abs() > 1e-6, "{}: dropout changed nothing", cell.name());
            gradcheck(&p, &format!("{} dropout=0.4 lengths={lengths:?}", cell.name()));
        }
    }
}

fn to_f32(xs: &[f64]) -> Vec<f32> {
    xs.iter().map(|&x| x as f32).collect()
}

/// The shipped f32 path (SIMD kernel table) agrees with the f64 reference path on a larger random
/// case, forward and backward, when both start from the same f32-representable numbers.
#[test]
fn f32_matches_f64() {
    let (seq_len, batch) = (7, 4);
    let lengths = vec![7, 3, 5, 1];
    for (k, cell) in [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::RnnSigmoid, CellKind::Lstm, CellKind::Gru].into_iter().enumerate() {
        let mut s = spec(cell, 2, true, true, 0.0);
        s.input_size = 5;
        s.hidden_size = 8;
        let mut p64 = Problem::<f64>::new(s, seq_len, batch, Some(lengths.clone()), None, 500 + k as u64);
        // Round every input to f32 so the two runs see identical numbers.
        for v in [&mut p64.params, &mut p64.x, &mut p64.h0, &mut p64.c0, &mut p64.w, &mut p64.u, &mut p64.v] {
            v.iter_mut().for_each(|x| *x = *x as f32 as f64);
        }
        let p32 = Problem::<f32> {
            spec: p64.spec.clone(),
            batch,
            lengths: p64.lengths.clone(),
            dropout_seed: None,
            params: to_f32(&p64.params),
            x: to_f32(&p64.x),
            h0: to_f32(&p64.h0),
            c0: to_f32(&p64.c0),
            w: to_f32(&p64.w),
            u: to_f32(&p64.u),
            v: to_f32(&p64.v),
        };
        let name = cell.name();
        let run64 = RecurrentBlock::<f64>::new(p64.spec.clone()).forward(&p64.params, p64.input(&p64.x, &p64.h0, &p64.c0, None), false);
        let run32 = RecurrentBlock::<f32>::new(p32.spec.clone()).forward(&p32.params, p32.input(&p32.x, &p32.h0, &p32.c0, None), false);
        assert_close(&run32.output, &to_f32(&run64.output), F32_FWD_ATOL, 0.0, &format!("{name}: output"));
        assert_close(&run32.h_n, &to_f32(&run64.h_n), F32_FWD_ATOL, 0.0, &format!("{name}: h_n"));
        assert_close(&run32.c_n, &to_f32(&run64.c_n), F32_FWD_ATOL, 0.0, &format!("{name}: c_n"));
        let (g64, g32) = (p64.analytic(), p32.analytic());
        for (what, a, b) in [("params", &g32.0, &g64.0), ("dx", &g32.1, &g64.1), ("dh0", &g32.2, &g64.2), ("dc0", &g32.3, &g64.3)] {
            assert_close(a, &to_f32(b), F32_GRAD_ATOL, F32_GRAD_RTOL, &format!("{name}: d{what}"));
        }
    }
}
