//! Behavioural properties of `RecurrentBlock` forward (and its error paths): agreement with the
//! PyTorch formulas written out naively, batch-row independence, seq == repeated single steps,
//! packed-sequence semantics of `lengths`, known outputs for zero weights, reverse direction ==
//! forward on reversed time, stacking == chaining blocks, seeded dropout, buffer reuse across calls,
//! and workspaces kept across training steps (cleared, repacked on a params-version change, released).

mod common;

use common::{assert_close, uniform_vec};
use rnnkit_core::error::Error;
use rnnkit_core::recurrent::{BlockInput, BlockOutput, RecurrentBlock};
use rnnkit_core::params::{block_layout, block_param_count};
use rnnkit_core::real::Real;
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::{CellKind, RecurrentSpec, WeightInit};

const ALL_CELLS: [CellKind; 8] = CellKind::ALL;
/// Same f64 arithmetic in a different order (naive loops vs GEMMs): a few ulps.
const F64_REORDER_TOL: f64 = 1e-12;
/// f32 results that should be equal up to summation order / kernel blocking (a few ε of O(1) values).
const F32_REORDER_TOL: f64 = 1e-5;

fn spec(cell: CellKind, input_size: usize, hidden_size: usize, num_layers: usize, bidirectional: bool, bias: bool) -> RecurrentSpec {
    RecurrentSpec {
        cell,
        input_size,
        hidden_size,
        num_layers,
        bidirectional,
        reverse: false,
        bias,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        weight_init: WeightInit::Uniform,
        recurrent_init: WeightInit::Uniform,
        recurrent_max_abs: None,
        options: Default::default(),
    }
}

/// Inputs of one forward call, owned.
#[derive(Clone)]
struct Call<R> {
    seq_len: usize,
    batch: usize,
    x: Vec<R>,
    h0: Option<Vec<R>>,
    c0: Option<Vec<R>>,
    lengths: Option<Vec<usize>>,
}

impl<R: Real> Call<R> {
    fn random(s: &RecurrentSpec, seq_len: usize, batch: usize, rng: &mut Rng) -> Self {
        // h has state_size features (proj_size with an LSTM projection), c hidden_size.
        let (h_state, c_state) = (s.state_rows() * batch * s.state_size(), s.state_rows() * batch * s.hidden_size);
        Call {
            seq_len,
            batch,
            x: uniform_vec(rng, seq_len * batch * s.input_size, -1.0, 1.0),
            h0: Some(uniform_vec(rng, h_state, -1.0, 1.0)),
            c0: s.cell.has_cell_state().then(|| uniform_vec(rng, c_state, -1.0, 1.0)),
            lengths: None,
        }
    }

    fn run(&self, block: &mut RecurrentBlock<R>, params: &[R]) -> BlockOutput<R> {
        self.forward(block, params, false)
    }

    /// A forward that keeps what `backward` needs.
    fn run_cached(&self, block: &mut RecurrentBlock<R>, params: &[R]) -> BlockOutput<R> {
        self.forward(block, params, true)
    }

    fn forward(&self, block: &mut RecurrentBlock<R>, params: &[R], keep_cache: bool) -> BlockOutput<R> {
        let input = BlockInput {
            tokens: None,
            x: &self.x,
            seq_len: self.seq_len,
            batch: self.batch,
            h0: self.h0.as_deref(),
            c0: self.c0.as_deref(),
            lengths: self.lengths.as_deref(),
            dropout_rng: None,
        };
        block.validate(params.len(), &input).expect("valid input");
        block.forward(params, input, keep_cache)
    }
}

fn run<R: Real>(s: &RecurrentSpec, params: &[R], call: &Call<R>) -> BlockOutput<R> {
    call.run(&mut RecurrentBlock::new(s.clone()), params)
}

/// Rows `rows` (each `width` wide) of a [n, batch, width] tensor with batch index `b`.
fn batch_row<R: Real>(xs: &[R], batch: usize, width: usize, b: usize) -> Vec<R> {
    xs.chunks_exact(width).skip(b).step_by(batch).flatten().copied().collect()
}

/// Sequence `b` of `call` alone, as a batch of one (with its length, if `call` has lengths).
fn row_alone<R: Real>(s: &RecurrentSpec, call: &Call<R>, b: usize) -> Call<R> {
    let (batch, h) = (call.batch, s.hidden_size);
    Call {
        seq_len: call.seq_len,
        batch: 1,
        x: batch_row(&call.x, batch, s.input_size, b),
        h0: call.h0.as_ref().map(|v| batch_row(v, batch, s.state_size(), b)),
        c0: call.c0.as_ref().map(|v| batch_row(v, batch, h, b)),
        lengths: call.lengths.as_ref().map(|l| vec![l[b]]),
    }
}

/// Step `t` of a [seq_len, batch, width] tensor.
fn step<R: Real>(xs: &[R], batch: usize, width: usize, t: usize) -> Vec<R> {
    xs[t * batch * width..(t + 1) * batch * width].to_vec()
}

/// Copies the parameters of `from` (spec `sf`) into a new buffer for spec `st`, naming each target
/// tensor's source with `source(target_name)`.
fn remap(sf: &RecurrentSpec, from: &[f64], st: &RecurrentSpec, source: impl Fn(&str) -> String) -> Vec<f64> {
    let src = block_layout(sf, "", 0);
    let mut out = vec![0.0; block_param_count(st)];
    for info in block_layout(st, "", 0) {
        let name = source(&info.name);
        let s = src.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(s.shape, info.shape, "{name}");
        out[info.range()].copy_from_slice(&from[s.range()]);
    }
    out
}

// ---- naive reference: PyTorch's documented formulas, one scalar at a time -------------------

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One unidirectional single-layer run, no lengths. Returns (output [T,B,H], h_n, c_n).
fn reference(s: &RecurrentSpec, params: &[f64], call: &Call<f64>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    assert!(s.num_layers == 1 && !s.bidirectional);
    let (i_sz, h_sz, g) = (s.input_size, s.hidden_size, s.cell.gates());
    let layout = block_layout(s, "", 0);
    let get = |name: &str| layout.iter().find(|p| p.name == name).map(|p| &params[p.range()]);
    let (w_ih, w_hh) = (get("weight_ih_l0").unwrap(), get("weight_hh_l0").unwrap());
    let zeros = vec![0.0; g * h_sz];
    let (b_ih, b_hh) = (get("bias_ih_l0").unwrap_or(&zeros), get("bias_hh_l0").unwrap_or(&zeros));
    let mut out = vec![0.0; call.seq_len * call.batch * h_sz];
    let mut h_n = call.h0.clone().unwrap_or(vec![0.0; call.batch * h_sz]);
    let mut c_n = call.c0.clone().unwrap_or(vec![0.0; call.batch * h_sz]);
    for t in 0..call.seq_len {
        for b in 0..call.batch {
            let x = &call.x[(t * call.batch + b) * i_sz..][..i_sz];
            let h = h_n[b * h_sz..][..h_sz].to_vec();
            let c = c_n[b * h_sz..][..h_sz].to_vec();
            // W_i· x + b_i·  and  W_h· h + b_h·  for gate row k.
            let wx = |k: usize| b_ih[k] + (0..i_sz).map(|i| w_ih[k * i_sz + i] * x[i]).sum::<f64>();
            let wh = |k: usize| b_hh[k] + (0..h_sz).map(|j| w_hh[k * h_sz + j] * h[j]).sum::<f64>();
            for j in 0..h_sz {
                let (new_h, new_c) = match s.cell {
                    CellKind::RnnTanh => ((wx(j) + wh(j)).tanh(), 0.0),
                    CellKind::RnnRelu => ((wx(j) + wh(j)).max(0.0), 0.0),
                    CellKind::RnnSigmoid => (sigmoid(wx(j) + wh(j)), 0.0),
                    CellKind::Lstm => {
                        let gate = |q: usize| wx(q * h_sz + j) + wh(q * h_sz + j);
                        let (i, f, gg, o) = (sigmoid(gate(0)), sigmoid(gate(1)), gate(2).tanh(), sigmoid(gate(3)));
                        let c2 = f * c[j] + i * gg;
                        (o * c2.tanh(), c2)
                    }
                    CellKind::Gru => {
                        let r = sigmoid(wx(j) + wh(j));
                        let z = sigmoid(wx(h_sz + j) + wh(h_sz + j));
                        let n = (wx(2 * h_sz + j) + r * wh(2 * h_sz + j)).tanh();
                        ((1.0 - z) * n + z * h[j], 0.0)
                    }
                    CellKind::GruResetBefore => {
                        // n reads W_hn (r ⊙ h) + b_hn: the reset gate before the product.
                        let r = |i: usize| sigmoid(wx(i) + wh(i));
                        let z = sigmoid(wx(h_sz + j) + wh(h_sz + j));
                        let k = 2 * h_sz + j;
                        let n = (wx(k) + b_hh[k] + (0..h_sz).map(|i| w_hh[k * h_sz + i] * r(i) * h[i]).sum::<f64>()).tanh();
                        ((1.0 - z) * n + z * h[j], 0.0)
                    }
                    // u ⊙ h: W_hh is the vector u.
                    CellKind::IndRnnRelu => ((wx(j) + b_hh[j] + w_hh[j] * h[j]).max(0.0), 0.0),
                    CellKind::IndRnnTanh => ((wx(j) + b_hh[j] + w_hh[j] * h[j]).tanh(), 0.0),
                };
                out[(t * call.batch + b) * h_sz + j] = new_h;
                h_n[b * h_sz + j] = new_h;
                c_n[b * h_sz + j] = new_c;
            }
        }
    }
    if !s.cell.has_cell_state() {
        c_n.clear();
    }
    (out, h_n, c_n)
}

#[test]
fn matches_pytorch_formulas() {
    let mut rng = Rng::new(11);
    for cell in ALL_CELLS {
        for bias in [true, false] {
            let s = spec(cell, 3, 4, 1, false, bias);
            let params: Vec<f64> = uniform_vec(&mut rng, block_param_count(&s), -0.7, 0.7);
            let call = Call::random(&s, 4, 3, &mut rng);
            let got = run(&s, &params, &call);
            let (out, h_n, c_n) = reference(&s, &params, &call);
            let what = format!("{} bias={bias}", cell.name());
            assert_close(&got.output, &out, F64_REORDER_TOL, 0.0, &format!("{what}: output"));
            assert_close(&got.h_n, &h_n, F64_REORDER_TOL, 0.0, &format!("{what}: h_n"));
            assert_close(&got.c_n, &c_n, F64_REORDER_TOL, 0.0, &format!("{what}: c_n"));
        }
    }
}

/// f32 against the f64 formulas: one rounding per operation over T = 4 steps of O(1) values.
const F32_VS_F64_TOL: f64 = 2e-6;

/// The f32 forward projects all steps in one GEMM (projection.rs) and adds h·W_hhᵀ per step, by a
/// step GEMM then the cell, or for batch-1 LSTM and GRU steps with H a multiple of every tier's vector
/// width (H = 16 here) by the fused row step (scan.rs `StepKernel`). Both must follow the formulas,
/// with and without biases, for every batch size.
#[test]
fn f32_schedules_match_pytorch_formulas() {
    let mut rng = Rng::new(31);
    for (cell, hidden) in ALL_CELLS.into_iter().flat_map(|c| [(c, 5), (c, 16)]) {
        for bias in [true, false] {
            for batch in [1, 2, 3, 6] {
                let s = spec(cell, 3, hidden, 1, false, bias);
                let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.7, 0.7);
                let call: Call<f32> = Call::random(&s, 4, batch, &mut rng);
                let got = run(&s, &params, &call);
                let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
                let call64 = Call { seq_len: call.seq_len, batch, x: wide(&call.x), h0: call.h0.as_deref().map(wide), c0: call.c0.as_deref().map(wide), lengths: None };
                let (out, h_n, c_n) = reference(&s, &wide(&params), &call64);
                let what = format!("{} H={hidden} bias={bias} batch={batch}", cell.name());
                assert_close(&wide(&got.output), &out, F32_VS_F64_TOL, F32_VS_F64_TOL, &format!("{what}: output"));
                assert_close(&wide(&got.h_n), &h_n, F32_VS_F64_TOL, F32_VS_F64_TOL, &format!("{what}: h_n"));
                assert_close(&wide(&got.c_n), &c_n, F32_VS_F64_TOL, F32_VS_F64_TOL, &format!("{what}: c_n"));
            }
        }
    }
}

/// An inference forward keeps one step of gates and two state slots instead of the whole record
/// (scan.rs `Scan::record`): outputs and final states must be bit-identical to a recording forward,
/// on both schedules, both directions, with lengths, and when one block alternates between the two;
/// H = 16 runs batch-1 LSTM and GRU steps on the fused row step.
#[test]
fn inference_forward_equals_recording_forward() {
    let mut rng = Rng::new(32);
    for (cell, hidden) in ALL_CELLS.into_iter().flat_map(|c| [(c, 6), (c, 16)]) {
        for batch in [1, 5] {
            let s = spec(cell, 3, hidden, 2, true, true);
            let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
            let mut call: Call<f32> = Call::random(&s, 5, batch, &mut rng);
            call.lengths = Some([5, 2, 4, 1, 3][..batch].to_vec());
            let mut block = RecurrentBlock::new(s.clone());
            let recorded = call.run_cached(&mut block, &params);
            for _ in 0..2 {
                let inferred = call.run(&mut block, &params);
                let what = format!("{} H={hidden} batch={batch}", cell.name());
                assert_eq!(inferred.output, recorded.output, "{what}: output");
                assert_eq!(inferred.h_n, recorded.h_n, "{what}: h_n");
                assert_eq!(inferred.c_n, recorded.c_n, "{what}: c_n");
                assert_eq!(call.run_cached(&mut block, &params).output, recorded.output, "{what}: recording again");
            }
        }
    }
}

#[test]
fn batch_rows_are_independent() {
    let mut rng = Rng::new(12);
    for cell in ALL_CELLS {
        let s = spec(cell, 5, 6, 2, true, true);
        let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
        let (seq_len, batch, h) = (4, 5, s.hidden_size);
        let mut call = Call::random(&s, seq_len, batch, &mut rng);
        call.lengths = Some(vec![4, 2, 3, 1, 4]);
        let all = run(&s, &params, &call);
        for b in 0..batch {
            let one = run(&s, &params, &row_alone(&s, &call, b));
            let what = format!("{} row {b}", cell.name());
            assert_close(&batch_row(&all.output, batch, s.output_size(), b), &one.output, F32_REORDER_TOL, 0.0, &format!("{what}: output"));
            assert_close(&batch_row(&all.h_n, batch, h, b), &one.h_n, F32_REORDER_TOL, 0.0, &format!("{what}: h_n"));
            assert_close(&batch_row(&all.c_n, batch, h, b), &one.c_n, F32_REORDER_TOL, 0.0, &format!("{what}: c_n"));
        }
    }
}

#[test]
fn sequence_equals_repeated_single_steps() {
    let mut rng = Rng::new(13);
    for cell in ALL_CELLS {
        let s = spec(cell, 3, 5, 2, false, true);
        let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
        let (seq_len, batch) = (6, 3);
        let call = Call::random(&s, seq_len, batch, &mut rng);
        let whole = run(&s, &params, &call);
        let mut block = RecurrentBlock::new(s.clone()); // one block for all steps: also exercises buffer reuse
        let (mut h, mut c) = (call.h0.clone(), call.c0.clone());
        for t in 0..seq_len {
            let one = Call { seq_len: 1, batch, x: step(&call.x, batch, s.input_size, t), h0: h, c0: c, lengths: None };
            let out = one.run(&mut block, &params);
            let what = format!("{} step {t}", cell.name());
            assert_close(&out.output, &step(&whole.output, batch, s.output_size(), t), F32_REORDER_TOL, 0.0, &what);
            h = Some(out.h_n);
            c = s.cell.has_cell_state().then_some(out.c_n);
        }
        assert_close(h.as_ref().unwrap(), &whole.h_n, F32_REORDER_TOL, 0.0, &format!("{}: h_n", cell.name()));
        assert_close(c.as_deref().unwrap_or(&[]), &whole.c_n, F32_REORDER_TOL, 0.0, &format!("{}: c_n", cell.name()));
    }
}

#[test]
fn lengths_zero_the_padding_and_match_truncated_runs() {
    let mut rng = Rng::new(14);
    for cell in ALL_CELLS {
        let s = spec(cell, 3, 4, 2, true, true);
        let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
        let (seq_len, batch, h, ow) = (5, 3, s.hidden_size, s.output_size());
        let mut call = Call::random(&s, seq_len, batch, &mut rng);
        let lengths = vec![2, 5, 1];
        call.lengths = Some(lengths.clone());
        let padded = run(&s, &params, &call);
        for (b, &len) in lengths.iter().enumerate() {
            let row = batch_row(&padded.output, batch, ow, b);
            assert!(row[len * ow..].iter().all(|&v| v == 0.0), "{} row {b}: output past length {len} not exactly 0", cell.name());
            // The same sequence, cut to its length and run alone.
            let x = batch_row(&call.x, batch, s.input_size, b);
            let alone = Call {
                seq_len: len,
                batch: 1,
                x: x[..len * s.input_size].to_vec(),
                h0: call.h0.as_ref().map(|v| batch_row(v, batch, h, b)),
                c0: call.c0.as_ref().map(|v| batch_row(v, batch, h, b)),
                lengths: None,
            };
            let one = run(&s, &params, &alone);
            let what = format!("{} row {b} len {len}", cell.name());
            assert_close(&row[..len * ow], &one.output, F32_REORDER_TOL, 0.0, &format!("{what}: output"));
            assert_close(&batch_row(&padded.h_n, batch, h, b), &one.h_n, F32_REORDER_TOL, 0.0, &format!("{what}: h_n"));
            assert_close(&batch_row(&padded.c_n, batch, h, b), &one.c_n, F32_REORDER_TOL, 0.0, &format!("{what}: c_n"));
        }
        // Full lengths are the same as no lengths.
        let mut full = call.clone();
        full.lengths = Some(vec![seq_len; batch]);
        let mut none = call.clone();
        none.lengths = None;
        assert_eq!(run(&s, &params, &full).output, run(&s, &params, &none).output, "{}: full lengths != no lengths", cell.name());
    }
}

#[test]
fn zero_weights_give_known_outputs() {
    let mut rng = Rng::new(15);
    let (seq_len, batch, h) = (3, 2, 4);
    for cell in ALL_CELLS {
        // Two layers, both directions: every layer sees the same all-zero pre-activations.
        let s = spec(cell, 3, h, 2, true, true);
        let params = vec![0.0f64; block_param_count(&s)];
        let call = Call::random(&s, seq_len, batch, &mut rng);
        let out = run(&s, &params, &call);
        let h0 = call.h0.as_ref().unwrap();
        let rows = s.state_rows() * batch * h;
        // Per state element k: the (h_t, c_t) sequence a zero cell produces from (h0, c0).
        let mut want_h = vec![0.0; rows];
        let mut want_c = vec![0.0; rows];
        for k in 0..rows {
            let (mut hk, mut ck) = (h0[k], call.c0.as_ref().map_or(0.0, |c| c[k]));
            for _ in 0..seq_len {
                (hk, ck) = match cell {
                    CellKind::RnnTanh | CellKind::RnnRelu | CellKind::IndRnnRelu | CellKind::IndRnnTanh => (0.0, 0.0),
                    CellKind::RnnSigmoid => (0.5, 0.0),
                    // i = f = o = σ(0) = ½, g = tanh(0) = 0: c' = ½c, h' = ½·tanh(c').
                    CellKind::Lstm => (0.5 * (0.5 * ck).tanh(), 0.5 * ck),
                    // r = z = ½, n = tanh(0 + ½·0) = 0: h' = ½h.
                    CellKind::Gru | CellKind::GruResetBefore => (0.5 * hk, 0.0),
                };
            }
            want_h[k] = hk;
            want_c[k] = ck;
        }
        assert_close(&out.h_n, &want_h, 1e-15, 0.0, &format!("{}: h_n", cell.name()));
        if cell == CellKind::Lstm {
            assert_close(&out.c_n, &want_c, 1e-15, 0.0, "lstm: c_n");
        }
        // Elman outputs are constant: act(0).
        let constant = match cell {
            CellKind::RnnSigmoid => Some(0.5),
            CellKind::RnnTanh | CellKind::RnnRelu => Some(0.0),
            _ => None,
        };
        if let Some(v) = constant {
            assert!(out.output.iter().all(|&o| o == v), "{}: output not all {v}", cell.name());
        }
    }
    // Zero weights with biases: h = tanh(b_ih + b_hh) at every step, checks the bias folding.
    let s = spec(CellKind::RnnTanh, 2, 3, 1, false, true);
    let mut params = vec![0.0f64; block_param_count(&s)];
    let layout = block_layout(&s, "", 0);
    params[layout[2].range()].copy_from_slice(&[0.1, -0.2, 0.3]);
    params[layout[3].range()].copy_from_slice(&[0.4, 0.5, -0.6]);
    let out = run(&s, &params, &Call::random(&s, 2, 1, &mut rng));
    let want: Vec<f64> = [0.5f64, 0.3, -0.3].iter().map(|v| v.tanh()).collect();
    assert_close(&out.output, &[want.clone(), want].concat(), 1e-15, 0.0, "rnn bias only");
}

#[test]
fn reverse_direction_is_forward_on_reversed_time() {
    let mut rng = Rng::new(16);
    for cell in ALL_CELLS {
        let bi = spec(cell, 3, 4, 1, true, true);
        let uni = spec(cell, 3, 4, 1, false, true);
        let params: Vec<f64> = uniform_vec(&mut rng, block_param_count(&bi), -0.6, 0.6);
        let rev_params = remap(&bi, &params, &uni, |n| format!("{n}_reverse"));
        let (seq_len, batch, h) = (5, 3, 4);
        let mut call = Call::random(&bi, seq_len, batch, &mut rng);
        let lengths = vec![5, 3, 1];
        call.lengths = Some(lengths.clone());
        let both = run(&bi, &params, &call);
        for (b, &len) in lengths.iter().enumerate() {
            // Sequence b, its valid steps reversed in time, run forward with the reverse weights.
            let x = batch_row(&call.x, batch, 3, b);
            let xr: Vec<f64> = x[..len * 3].chunks_exact(3).rev().flatten().copied().collect();
            let state = |v: &Option<Vec<f64>>| v.as_ref().map(|v| v[(batch + b) * h..(batch + b + 1) * h].to_vec());
            let alone = Call { seq_len: len, batch: 1, x: xr, h0: state(&call.h0), c0: state(&call.c0), lengths: None };
            let one = run(&uni, &rev_params, &alone);
            let got = batch_row(&both.output, batch, 2 * h, b);
            let got_rev: Vec<f64> = got[..len * 2 * h].chunks_exact(2 * h).rev().flat_map(|r| r[h..].to_vec()).collect();
            let what = format!("{} row {b}", cell.name());
            assert_close(&got_rev, &one.output, F64_REORDER_TOL, 0.0, &format!("{what}: reverse half"));
            assert_close(&both.h_n[(batch + b) * h..(batch + b + 1) * h], &one.h_n, F64_REORDER_TOL, 0.0, &format!("{what}: h_n reverse"));
            if cell == CellKind::Lstm {
                assert_close(&both.c_n[(batch + b) * h..(batch + b + 1) * h], &one.c_n, F64_REORDER_TOL, 0.0, &format!("{what}: c_n reverse"));
            }
        }
    }
}

#[test]
fn stacked_block_equals_chained_single_layer_blocks() {
    let mut rng = Rng::new(17);
    for cell in ALL_CELLS {
        for bidirectional in [false, true] {
            let (h, d) = (4, if bidirectional { 2 } else { 1 });
            let s2 = spec(cell, 3, h, 2, bidirectional, true);
            let first = spec(cell, 3, h, 1, bidirectional, true);
            let second = spec(cell, d * h, h, 1, bidirectional, true);
            let params: Vec<f64> = uniform_vec(&mut rng, block_param_count(&s2), -0.6, 0.6);
            let p1 = remap(&s2, &params, &first, |n| n.to_string());
            let p2 = remap(&s2, &params, &second, |n| n.replace("_l0", "_l1"));
            let (seq_len, batch) = (4, 2);
            let mut call = Call::random(&s2, seq_len, batch, &mut rng);
            call.lengths = Some(vec![4, 2]);
            let stacked = run(&s2, &params, &call);
            let half = |v: &Option<Vec<f64>>, k: usize| v.as_ref().map(|v| v[k * d * batch * h..(k + 1) * d * batch * h].to_vec());
            let a = run(&first, &p1, &Call { h0: half(&call.h0, 0), c0: half(&call.c0, 0), ..call.clone() });
            let b = run(&second, &p2, &Call { x: a.output.clone(), h0: half(&call.h0, 1), c0: half(&call.c0, 1), ..call.clone() });
            let what = format!("{} bidirectional={bidirectional}", cell.name());
            assert_close(&stacked.output, &b.output, F64_REORDER_TOL, 0.0, &format!("{what}: output"));
            assert_close(&stacked.h_n, &[a.h_n, b.h_n].concat(), F64_REORDER_TOL, 0.0, &format!("{what}: h_n"));
            assert_close(&stacked.c_n, &[a.c_n, b.c_n].concat(), F64_REORDER_TOL, 0.0, &format!("{what}: c_n"));
        }
    }
}

#[test]
fn dropout_is_seeded_and_only_with_a_generator() {
    let mut rng = Rng::new(18);
    let mut s = spec(CellKind::Lstm, 3, 8, 3, true, true);
    s.dropout = 0.5;
    let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
    let call = Call::random(&s, 4, 3, &mut rng);
    let with_seed = |seed: u64| {
        let mut g = Rng::new(seed);
        let input = BlockInput { tokens: None, x: &call.x, seq_len: 4, batch: 3, h0: call.h0.as_deref(), c0: call.c0.as_deref(), lengths: None, dropout_rng: Some(&mut g) };
        RecurrentBlock::new(s.clone()).forward(&params, input, true).output
    };
    assert_eq!(with_seed(5), with_seed(5), "same seed, different masks");
    assert_ne!(with_seed(5), with_seed(6), "different seeds, same masks");
    let mut s0 = s.clone();
    s0.dropout = 0.0;
    let plain = run(&s0, &params, &call);
    assert_eq!(run(&s, &params, &call).output, plain.output, "no generator must mean no dropout");
    assert_ne!(with_seed(5), plain.output, "dropout 0.5 dropped nothing");
}

#[test]
fn buffers_reused_across_calls_of_different_shapes() {
    let mut rng = Rng::new(19);
    for cell in ALL_CELLS {
        let s = spec(cell, 3, 4, 2, true, true);
        let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
        let mut big = Call::random(&s, 6, 4, &mut rng);
        big.lengths = Some(vec![6, 1, 4, 2]);
        let mut small = Call::random(&s, 3, 2, &mut rng);
        small.h0 = None;
        small.c0 = None;
        let mut block = RecurrentBlock::new(s.clone());
        for call in [&big, &small, &big, &small] {
            let (got, fresh) = (call.run(&mut block, &params), run(&s, &params, call));
            assert_eq!(got.output, fresh.output, "{}: reused block differs", cell.name());
            assert_eq!(got.h_n, fresh.h_n, "{}: reused block h_n differs", cell.name());
        }
    }
}

fn value_arg(e: Error) -> String {
    match e {
        Error::Value { arg, .. } | Error::Shape { arg, .. } => arg,
        other => panic!("unexpected error kind {other:?}"),
    }
}

#[test]
fn bad_calls_are_errors_naming_the_argument() {
    let mut rng = Rng::new(20);
    let s = spec(CellKind::Gru, 2, 3, 1, false, true);
    let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
    let call = Call::random(&s, 3, 2, &mut rng);
    let mut block = RecurrentBlock::new(s.clone());
    let dy = vec![0.0f32; 3 * 2 * 3];
    let mut grads = vec![0.0f32; params.len()];
    assert_eq!(value_arg(block.backward(&params, &dy, None, None, &mut grads).err().unwrap()), "backward");
    call.run(&mut block, &params); // inference: no cache
    assert_eq!(value_arg(block.backward(&params, &dy, None, None, &mut grads).err().unwrap()), "backward");

    fn input<'a>(lengths: Option<&'a [usize]>, x: &'a [f32], c0: Option<&'a [f32]>) -> BlockInput<'a, f32> {
        BlockInput { tokens: None, x, seq_len: 3, batch: 2, h0: None, c0, lengths, dropout_rng: None }
    }
    let x = &call.x[..];
    assert_eq!(value_arg(block.validate(params.len(), &input(Some(&[3, 0]), x, None)).unwrap_err()), "lengths[1]");
    assert_eq!(value_arg(block.validate(params.len(), &input(Some(&[4, 1]), x, None)).unwrap_err()), "lengths[0]");
    assert_eq!(value_arg(block.validate(params.len(), &input(Some(&[3]), x, None)).unwrap_err()), "lengths");
    assert_eq!(value_arg(block.validate(params.len(), &input(None, &x[1..], None)).unwrap_err()), "x");
    assert_eq!(value_arg(block.validate(params.len(), &input(None, x, Some(&[0.0; 6]))).unwrap_err()), "c0");
    assert_eq!(value_arg(block.validate(params.len() - 1, &input(None, x, None)).unwrap_err()), "params");

    let mut g = Rng::new(1);
    let inp = BlockInput { tokens: None, x, seq_len: 3, batch: 2, h0: None, c0: None, lengths: None, dropout_rng: Some(&mut g) };
    block.forward(&params, inp, true);
    assert_eq!(value_arg(block.backward(&params, &dy[1..], None, None, &mut grads).err().unwrap()), "dy");
    assert_eq!(value_arg(block.backward(&params, &dy, Some(&[0.0; 5]), None, &mut grads).err().unwrap()), "dh_n");
    assert_eq!(value_arg(block.backward(&params, &dy, None, Some(&[0.0; 6]), &mut grads).err().unwrap()), "dc_n");
    assert_eq!(value_arg(block.backward(&params, &dy, None, None, &mut grads[1..]).err().unwrap()), "grads");
    assert!(block.backward(&params, &dy, None, None, &mut grads).is_ok());
    block.clear_cache();
    assert!(!block.has_cache());
    assert_eq!(value_arg(block.backward(&params, &dy, None, None, &mut grads).err().unwrap()), "backward");
}

/// Gradients are ADDED into `grads`, and the cache survives a backward (a second one adds again).
#[test]
fn backward_accumulates() {
    let mut rng = Rng::new(21);
    let s = spec(CellKind::Lstm, 2, 3, 2, true, true);
    let params: Vec<f64> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
    let call = Call::random(&s, 3, 2, &mut rng);
    let dy: Vec<f64> = uniform_vec(&mut rng, 3 * 2 * 6, -1.0, 1.0);
    let mut block = RecurrentBlock::new(s.clone());
    let input = BlockInput { tokens: None, x: &call.x, seq_len: 3, batch: 2, h0: call.h0.as_deref(), c0: call.c0.as_deref(), lengths: None, dropout_rng: None };
    block.forward(&params, input, true);
    let mut once = vec![0.0; params.len()];
    let g1 = block.backward(&params, &dy, None, None, &mut once).unwrap();
    let mut twice = once.clone();
    let g2 = block.backward(&params, &dy, None, None, &mut twice).unwrap();
    let doubled: Vec<f64> = once.iter().map(|g| 2.0 * g).collect();
    assert_close(&twice, &doubled, F64_REORDER_TOL, 0.0, "grads after two backwards");
    assert_eq!(g1.dx, g2.dx);
    assert_eq!(g1.dh0, g2.dh0);
    assert_eq!(g1.dc0, g2.dc0);
}

/// A model clears the cache after every training step but keeps the buffers (and packed weights)
/// for the next step: results after `clear_cache` equal a fresh block's, packed weights follow a
/// params-version change, and `release_memory` frees everything without changing results.
#[test]
fn cleared_and_released_workspaces_give_fresh_results() {
    let mut rng = Rng::new(23);
    for cell in ALL_CELLS {
        let s = spec(cell, 5, 7, 2, true, true);
        let n = block_param_count(&s);
        let p1: Vec<f32> = uniform_vec(&mut rng, n, -0.5, 0.5);
        let p2: Vec<f32> = uniform_vec(&mut rng, n, -0.5, 0.5);
        let call = Call::random(&s, 4, 3, &mut rng);
        let dy: Vec<f32> = uniform_vec(&mut rng, 4 * 3 * s.output_size(), -1.0, 1.0);
        let train = |block: &mut RecurrentBlock<f32>, params: &[f32]| {
            let out = call.run_cached(block, params);
            let mut grads = vec![0.0; n];
            let g = block.backward(params, &dy, None, None, &mut grads).unwrap();
            (out.output, out.h_n, g.dx, grads)
        };
        let fresh = |params: &[f32]| {
            let mut b = RecurrentBlock::new(s.clone());
            b.set_params_version(Some(7));
            train(&mut b, params)
        };
        let (want1, want2) = (fresh(&p1), fresh(&p2));
        let mut block = RecurrentBlock::new(s.clone());
        block.set_params_version(Some(1));
        assert!(train(&mut block, &p1) == want1, "{}: first call differs from a fresh block", cell.name());
        block.clear_cache();
        assert!(!block.has_cache(), "{}: cache survived clear_cache", cell.name());
        assert!(block.backward(&p1, &dy, None, None, &mut vec![0.0; n]).is_err(), "{}: backward after clear_cache", cell.name());
        assert!(train(&mut block, &p1) == want1, "{}: call after clear_cache differs", cell.name());
        // New weights under a new version: the kept packed W_hh must be repacked.
        block.clear_cache();
        block.set_params_version(Some(2));
        assert!(train(&mut block, &p2) == want2, "{}: stale packed weights after a version change", cell.name());
        block.release_memory();
        assert!(!block.has_cache(), "{}: cache survived release_memory", cell.name());
        assert!(train(&mut block, &p2) == want2, "{}: call after release_memory differs", cell.name());
    }
}

/// Cell options (`spec.options`) in f32 keep both properties above, at H = 16, a multiple of every
/// ISA's lane count: a batch-1 row (where default options take the fused row step) equals its row of
/// a batch-3 run (the step GEMM and the generic formulas), and a sequence equals repeated single steps
/// (streaming `step()` carries h and c through the options' cell).
#[test]
fn cell_options_keep_rows_independent_and_stream() {
    use rnnkit_core::cell::{CellOptions, GateActivation};
    let mut rng = Rng::new(15);
    let hard = Some(GateActivation::HardSigmoid);
    let variants = [
        (CellKind::Lstm, CellOptions { peephole: true, cell_clip: Some(0.8), ..Default::default() }),
        (CellKind::Lstm, CellOptions { input_forget: true, gate_activation: hard, ..Default::default() }),
        (CellKind::Lstm, CellOptions { proj_size: 5, ..Default::default() }),
        (CellKind::Lstm, CellOptions { proj_size: 3, peephole: true, ..Default::default() }),
        (CellKind::Gru, CellOptions { gate_activation: hard, activation: Some(GateActivation::Relu), ..Default::default() }),
        (CellKind::RnnTanh, CellOptions { activation: Some(GateActivation::Softsign), ..Default::default() }),
    ];
    for (cell, options) in variants {
        let mut s = spec(cell, 4, 16, 2, false, true);
        s.options = options;
        let params: Vec<f32> = uniform_vec(&mut rng, block_param_count(&s), -0.5, 0.5);
        let (seq_len, batch, h) = (5, 3, s.hidden_size);
        let call = Call::random(&s, seq_len, batch, &mut rng);
        let all = run(&s, &params, &call);
        for b in 0..batch {
            let one = run(&s, &params, &row_alone(&s, &call, b));
            let what = format!("{} {options:?} row {b}", cell.name());
            assert_close(&batch_row(&all.output, batch, s.output_size(), b), &one.output, F32_REORDER_TOL, 0.0, &format!("{what}: output"));
            assert_close(&batch_row(&all.c_n, batch, h, b), &one.c_n, F32_REORDER_TOL, 0.0, &format!("{what}: c_n"));
        }
        let mut block = RecurrentBlock::new(s.clone());
        let (mut hs, mut cs) = (call.h0.clone(), call.c0.clone());
        for t in 0..seq_len {
            let one = Call { seq_len: 1, batch, x: step(&call.x, batch, s.input_size, t), h0: hs, c0: cs, lengths: None };
            let out = one.run(&mut block, &params);
            assert_close(&out.output, &step(&all.output, batch, s.output_size(), t), F32_REORDER_TOL, 0.0, &format!("{} {options:?} step {t}", cell.name()));
            hs = Some(out.h_n);
            cs = s.cell.has_cell_state().then_some(out.c_n);
        }
        assert_close(cs.as_deref().unwrap_or(&[]), &all.c_n, F32_REORDER_TOL, 0.0, &format!("{} {options:?}: c_n", cell.name()));
    }
}
