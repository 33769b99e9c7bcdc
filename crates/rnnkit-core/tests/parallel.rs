//! Multi-core execution (`parallel.rs`): the pool's `run` (every part once, borrowed data, panics
//! propagate, nesting and concurrent callers, the caller's float mode on workers), the batch-row
//! split of recurrent scans, the parallel SGEMM bit-identical to one thread on row and column splits, and
//! whole models — outputs, gradients and training runs, batch sizes 1, 19 and 33 — bit-identical
//! for threads = 1, 2, 3, 4. Timing (not asserted): `cargo test --release -p rnnkit-core --test
//! parallel -- --ignored --nocapture` (T1/TG1 steps, and the per-step pieces at T1's shape).

mod common;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::uniform_vec;
use rnnkit_core::kernels::{kernels, FlushDenormals, PackedB};
use rnnkit_core::model::{Dataset, EpochOptions, ForwardOptions, Inputs, Targets};
use rnnkit_core::parallel::{self, gemm_split, part_rows, row_parts, run, scope_threads, GemmSplit};
use rnnkit_core::real::gemm_reference;
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::ModelSpec;
use rnnkit_core::Model;

/// Asserts two f32 buffers are identical bit for bit (NaN payloads included), naming the first difference.
fn assert_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length {} != {}", got.len(), want.len());
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g.to_bits() != w.to_bits()) {
        panic!("{what}[{i}]: got {:e}, want {:e} (not bit-identical)", got[i], want[i]);
    }
}

// ---- run -------------------------------------------------------------------------------------

#[test]
fn run_calls_every_part_exactly_once_with_borrowed_data() {
    let data: Vec<usize> = (0..64).map(|i| i * 3).collect();
    for parts in 0..12 {
        let hits: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
        let sum = AtomicUsize::new(0);
        run(parts, |p| {
            hits[p].fetch_add(1, Ordering::Relaxed);
            sum.fetch_add(data[p], Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "parts {parts}: some part not run exactly once");
        assert_eq!(sum.into_inner(), (0..parts).map(|p| p * 3).sum::<usize>(), "parts {parts}");
    }
}

#[test]
fn run_uses_pool_workers_when_the_pool_is_free() {
    // Other tests of this binary use the pool concurrently (then `run` goes inline), so retry
    // until one call finds it free.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ids = Mutex::new(HashSet::new());
        run(2, |_| {
            ids.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(Duration::from_millis(2)); // keep both parts alive at once
        });
        if ids.into_inner().unwrap().len() == 2 {
            return;
        }
        assert!(Instant::now() < deadline, "run(2, ..) never ran on two threads");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_panicking_part_propagates_and_the_pool_keeps_working() {
    for round in 0..20 {
        // Every part but 0 panics, so whenever a worker takes a part, the panic is a worker's.
        let result = catch_unwind(AssertUnwindSafe(|| {
            run(3, |p| {
                if p != 0 {
                    panic!("boom in part {p}");
                }
            })
        }));
        let payload = result.expect_err("a panicking part must make run panic");
        let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.starts_with("boom in part"), "round {round}: unexpected payload {msg:?}");
        let count = AtomicUsize::new(0);
        run(3, |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.into_inner(), 3, "round {round}: the pool lost parts after a panic");
    }
}

#[test]
fn nested_runs_complete() {
    let total = AtomicUsize::new(0);
    run(3, |_| {
        run(4, |q| {
            total.fetch_add(q + 1, Ordering::Relaxed);
        });
    });
    assert_eq!(total.into_inner(), 3 * (1 + 2 + 3 + 4));
}

#[test]
fn thread_scopes_resolve_nest_and_restore() {
    assert_eq!(parallel::current_threads(), 1, "outside any scope GEMMs run on one thread");
    {
        let _a = scope_threads(3);
        assert_eq!(parallel::current_threads(), 3);
        {
            let _b = scope_threads(0);
            assert_eq!(parallel::current_threads(), parallel::available_threads());
        }
        assert_eq!(parallel::current_threads(), 3);
    }
    assert_eq!(parallel::current_threads(), 1);
    assert_eq!(parallel::resolve_threads(10_000), parallel::MAX_THREADS);
}

#[test]
fn a_slow_worker_never_blocks_the_caller_from_finishing_the_parts() {
    // Parts are claimed, not dealt: when the caller is done with the parts and a worker has not
    // picked up its post yet, the caller runs them itself. Here every part is slow, so the worker
    // (if it shows up at all) takes some; either way all run exactly once.
    for _ in 0..50 {
        let hits: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        run(4, |p| {
            hits[p].fetch_add(1, Ordering::Relaxed);
            std::hint::black_box((0..2000).sum::<u64>());
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn workers_run_parts_in_the_callers_float_mode() {
    // MXCSR is per thread: a worker must flush subnormals exactly when its caller does (else a
    // part's result would depend on which thread ran it), and drop back to its own mode after.
    assert!(!FlushDenormals::active(), "test threads start without FTZ/DAZ");
    let deadline = Instant::now() + Duration::from_secs(20);
    for flush in [true, false, true, false] {
        loop {
            let _ftz = flush.then(FlushDenormals::new);
            let seen = Mutex::new(Vec::new());
            run(2, |_| {
                std::thread::sleep(Duration::from_millis(2)); // so the worker takes a part
                seen.lock().unwrap().push((std::thread::current().id(), FlushDenormals::active()));
            });
            let seen = seen.into_inner().unwrap();
            assert!(seen.iter().all(|&(_, on)| on == flush), "flush {flush}: a part ran in another float mode: {seen:?}");
            if seen[0].0 != seen[1].0 {
                break; // a worker really ran one of the parts
            }
            assert!(Instant::now() < deadline, "run(2, ..) never ran on two threads");
        }
    }
    assert!(!FlushDenormals::active(), "the caller's mode was not restored");
}

#[test]
fn part_rows_cover_every_row_once_in_near_equal_blocks() {
    for rows in 0..40 {
        for parts in 1..=6 {
            let blocks: Vec<_> = (0..parts).map(|p| part_rows(rows, parts, p)).collect();
            assert_eq!(blocks[0].start, 0);
            assert_eq!(blocks[parts - 1].end, rows);
            assert!(blocks.windows(2).all(|w| w[0].end == w[1].start), "rows {rows} parts {parts}: {blocks:?}");
            let (min, max) = (blocks.iter().map(|b| b.len()).min().unwrap(), blocks.iter().map(|b| b.len()).max().unwrap());
            assert!(max - min <= 1, "rows {rows} parts {parts}: {blocks:?}");
        }
    }
}

/// How scan.rs splits a scan: blocks of batch rows, each running every step, decided by the step
/// GEMMs' multiply-adds over the whole scan.
#[test]
fn recurrent_scans_split_by_rows_only_when_worth_it() {
    let scan = |b: usize, gates: usize, h: usize, steps: usize| row_parts(b, steps * b * gates * h * h);
    assert_eq!(scan(32, 4, 256, 100), 1, "one thread: always inline");
    let _t = scope_threads(2);
    assert_eq!(scan(32, 4, 256, 100), 2, "T1's scan (B=32, H=256)");
    assert_eq!(scan(32, 3, 256, 100), 2, "TG1's scan");
    assert_eq!(scan(1, 4, 64, 50), 1, "F2's batch-1 scan");
    assert_eq!(scan(1, 4, 1024, 100), 1, "one row cannot be split");
    assert_eq!(scan(4, 4, 8, 2), 1, "a tiny scan is not worth a dispatch");
    assert_eq!(scan(B, 4, H, T), 2, "the model tests below do split");
    let _t = scope_threads(4);
    assert_eq!(scan(32, 4, 256, 100), 4);
    assert_eq!(scan(3, 4, 256, 100), 3, "at most one part per row");
}

// ---- sgemm -----------------------------------------------------------------------------------

/// One GEMM case: C gets `pad` NaN canary columns past n (ldc = n + pad).
struct Case {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    beta: f32,
}

fn run_case(case: &Case, threads: usize, seed: u64) -> Vec<f32> {
    let Case { ta, tb, m, n, k, beta } = *case;
    let mut rng = Rng::new(seed);
    let (lda, ldb, ldc) = (if ta { m + 1 } else { k + 2 }, if tb { k + 3 } else { n + 1 }, n + 5);
    let a: Vec<f32> = uniform_vec(&mut rng, if ta { k * lda } else { m * lda }, -1.0, 1.0);
    let b: Vec<f32> = uniform_vec(&mut rng, if tb { n * ldb } else { k * ldb }, -1.0, 1.0);
    let mut c_in: Vec<f32> = uniform_vec(&mut rng, m * ldc, -1.0, 1.0);
    for row in c_in.chunks_mut(ldc) {
        row[n..].fill(f32::NAN); // canaries: must survive
        if beta == 0.0 {
            row[..n].fill(f32::NAN); // β = 0 must not read C
        }
    }
    let mut c = c_in.clone();
    {
        let _t = scope_threads(threads);
        parallel::sgemm(ta, tb, m, n, k, 0.75, &a, lda, &b, ldb, beta, &mut c, ldc);
    }
    for (i, row) in c.chunks(ldc).enumerate() {
        assert!(row[n..].iter().all(|v| v.is_nan()), "threads {threads}: canary past column {n} overwritten in row {i}");
        assert!(row[..n].iter().all(|v| v.is_finite()), "threads {threads}: non-finite value in row {i}");
    }
    if threads == 1 {
        // Sanity against the triple loop (the bit-identity checks compare thread counts with each other).
        let mut want = c_in.clone();
        gemm_reference(ta, tb, m, n, k, 0.75, &a, lda, &b, ldb, beta, &mut want, ldc);
        for i in 0..m {
            for j in 0..n {
                let (g, w) = (c[i * ldc + j], want[i * ldc + j]);
                // K·ε-scale tolerance for a length-k f32 dot product of values in [−1, 1).
                assert!((g - w).abs() <= 1e-6 * k as f32 * (1.0 + w.abs()), "C[{i},{j}] = {g}, reference {w}");
            }
        }
    }
    c
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for &(ta, tb) in &[(false, false), (false, true), (true, false), (true, true)] {
        for &beta in &[0.0f32, 1.0, -0.5] {
            // Row splits (tall C), column splits (short, wide C), and odd sizes around the tiles.
            v.push(Case { ta, tb, m: 301, n: 77, k: 53, beta });
            v.push(Case { ta, tb, m: 19, n: 1037, k: 61, beta });
            v.push(Case { ta, tb, m: 7, n: 389, k: 300, beta });
        }
    }
    v
}

#[test]
fn sgemm_is_bit_identical_for_every_thread_count() {
    for (i, case) in cases().iter().enumerate() {
        let one = run_case(case, 1, i as u64);
        for threads in 2..=4 {
            let what = format!("case {i} (ta {} tb {} m {} n {} k {} β {}) threads {threads}", case.ta, case.tb, case.m, case.n, case.k, case.beta);
            assert_bits(&run_case(case, threads, i as u64), &one, &what);
        }
    }
}

#[test]
fn the_test_shapes_really_split() {
    let _t = scope_threads(2);
    assert!(matches!(gemm_split(301, 77, 53), GemmSplit::Rows(2)), "{:?}", gemm_split(301, 77, 53));
    assert!(matches!(gemm_split(19, 1037, 61), GemmSplit::Cols(2)), "{:?}", gemm_split(19, 1037, 61));
    assert!(matches!(gemm_split(7, 389, 300), GemmSplit::Cols(2)), "{:?}", gemm_split(7, 389, 300));
    let _t = scope_threads(4);
    assert!(matches!(gemm_split(301, 77, 53), GemmSplit::Rows(n) if n >= 3), "{:?}", gemm_split(301, 77, 53));
    // F2's step GEMM (B=1, 4H=256, H=64) is far too small to be worth a dispatch.
    assert_eq!(gemm_split(1, 256, 64), GemmSplit::Inline);
    let _t = scope_threads(1);
    assert_eq!(gemm_split(3200, 1024, 64), GemmSplit::Inline);
}

#[test]
fn concurrent_callers_get_correct_results() {
    // Several std threads (like models training on several JS workers) share one pool: whoever finds
    // it busy runs inline; every result must still equal the one-thread result.
    let want: Vec<Vec<f32>> = cases().iter().take(6).enumerate().map(|(i, c)| run_case(c, 1, i as u64)).collect();
    std::thread::scope(|s| {
        for caller in 0..4 {
            let want = &want;
            s.spawn(move || {
                for round in 0..3 {
                    for (i, case) in cases().iter().take(6).enumerate() {
                        let threads = 2 + (caller + round + i) % 3;
                        assert_bits(&run_case(case, threads, i as u64), &want[i], &format!("caller {caller} round {round} case {i}"));
                    }
                }
            });
        }
    });
}

// ---- models ----------------------------------------------------------------------------------

/// Odd sizes big enough that the input projection splits by rows and the recurrent step by columns.
const B: usize = 19;
const T: usize = 9;
const I: usize = 37;
const H: usize = 131;
const UNITS: usize = 5;

fn model_json(cell: &str, threads: usize) -> String {
    format!(
        r#"{{"batch_first":true,"seed":11,"threads":{threads},"blocks":[{{"cell":"{cell}","input_size":{I},"hidden_size":{H},"bidirectional":true}},
            {{"cell":"{cell}","input_size":{},"hidden_size":{H}}}],"head":{{"units":{UNITS}}}}}"#,
        2 * H
    )
}

#[test]
fn model_shapes_really_split() {
    let _t = scope_threads(2);
    for gates in [1, 3, 4] {
        assert!(matches!(gemm_split(T * B, gates * H, I), GemmSplit::Rows(2)), "input projection, {gates} gates");
    }
    for gates in [3, 4] {
        assert!(matches!(gemm_split(B, gates * H, H), GemmSplit::Cols(2)), "step GEMM, {gates} gates");
    }
}

/// `model_json`'s shapes with cell options: a bidirectional LSTM with peepholes, clip and hard-sigmoid
/// gates (the generic f32 formulas and the peephole gradients), then a softsign GRU.
fn options_model_json(threads: usize) -> String {
    format!(
        r#"{{"batch_first":true,"seed":11,"threads":{threads},"layers":[
            {{"type":"LSTM","config":{{"input_size":{I},"hidden_size":{H},"bidirectional":true,"peephole":true,"cell_clip":0.5,"gate_activation":"hard_sigmoid"}}}},
            {{"type":"GRU","config":{{"hidden_size":{H},"activation":"softsign"}}}},{{"type":"Dense","config":{{"units":{UNITS}}}}}]}}"#
    )
}

/// (output, states, dx, state gradients, grads) of one forward + backward of the model `json` on a
/// batch of `batch` sequences of `steps` steps.
fn forward_backward_of(json: &str, batch: usize, steps: usize) -> Vec<Vec<f32>> {
    let mut m = Model::from_json(json).unwrap();
    let mut rng = Rng::new(5);
    let x: Vec<f32> = uniform_vec(&mut rng, batch * steps * I, -1.0, 1.0);
    let lengths: Vec<i32> = (0..batch).map(|b| (steps - b % 4) as i32).collect();
    let fwd = m.forward(&x, [batch, steps, I], &ForwardOptions { lengths: Some(&lengths), training: true, ..Default::default() }).unwrap();
    let dy: Vec<f32> = uniform_vec(&mut rng, fwd.output.len(), -1.0, 1.0);
    let ds: Vec<Vec<f32>> = fwd.states.iter().map(|s| uniform_vec(&mut rng, s.len(), -1.0, 1.0)).collect();
    let given: Vec<Option<&[f32]>> = ds.iter().map(|s| Some(s.as_slice())).collect();
    let bwd = m.backward(&dy, &given).unwrap();
    let mut out = vec![fwd.output];
    out.extend(fwd.states);
    out.push(bwd.dx);
    out.extend(bwd.d_states);
    out.push(bwd.grads);
    out
}

fn forward_backward(cell: &str, threads: usize, batch: usize) -> Vec<Vec<f32>> {
    forward_backward_of(&model_json(cell, threads), batch, T)
}

#[test]
fn outputs_and_gradients_are_bit_identical_for_every_thread_count() {
    for (cell, batch) in [("lstm", B), ("gru", B), ("rnn_tanh", B), ("lstm", 33), ("gru", 1), ("rnn_relu", 33), ("gru_reset_before", B), ("gru_reset_before", 1), ("indrnn_relu", B), ("indrnn_tanh", 33)] {
        let one = forward_backward(cell, 1, batch);
        for threads in 2..=4 {
            for (k, (got, want)) in forward_backward(cell, threads, batch).iter().zip(&one).enumerate() {
                assert_bits(got, want, &format!("{cell} batch {batch} threads {threads}: result {k} (output, states, dx, state gradients, grads)"));
            }
        }
    }
}

/// A depthwise Conv1D (channel multiplier 2) with a history state in front of an LSTM: its passes
/// split into blocks of sequences (3600 steps · 7 taps · 2 · 19 rows · 37 channels ≈ 3.5·10⁷ MACs:
/// 4 parts at 4 threads after depthwise.rs's streaming cost of 32).
#[test]
fn depthwise_conv_is_bit_identical_for_every_thread_count() {
    let json = |threads: usize| {
        format!(
            r#"{{"batch_first":true,"seed":3,"threads":{threads},"layers":[
                {{"type":"Conv1D","config":{{"in_channels":{I},"out_channels":{},"kernel_size":7,"groups":{I},"padding":"causal"}}}},
                {{"type":"LSTM","config":{{"hidden_size":16}}}},{{"type":"Dense","config":{{"units":{UNITS}}}}}]}}"#,
            2 * I
        )
    };
    let one = forward_backward_of(&json(1), B, 3600);
    for threads in 2..=4 {
        for (k, (got, want)) in forward_backward_of(&json(threads), B, 3600).iter().zip(&one).enumerate() {
            assert_bits(got, want, &format!("depthwise conv, threads {threads}: result {k} (output, states, dx, state gradients, grads)"));
        }
    }
}

#[test]
fn cell_options_are_bit_identical_for_every_thread_count() {
    for batch in [B, 1] {
        let one = forward_backward_of(&options_model_json(1), batch, T);
        for threads in 2..=4 {
            for (k, (got, want)) in forward_backward_of(&options_model_json(threads), batch, T).iter().zip(&one).enumerate() {
                assert_bits(got, want, &format!("options model batch {batch} threads {threads}: result {k}"));
            }
        }
    }
}

/// A two-layer bidirectional LSTM with a projection (and peepholes) then a projected LSTM: the
/// per-step projection GEMMs and the dW_hr record split by rows like the rest of the scan.
#[test]
fn lstm_projection_is_bit_identical_for_every_thread_count() {
    let json = |threads: usize| {
        format!(
            r#"{{"batch_first":true,"seed":13,"threads":{threads},"layers":[
                {{"type":"LSTM","config":{{"input_size":{I},"hidden_size":{H},"proj_size":29,"num_layers":2,"bidirectional":true,"peephole":true}}}},
                {{"type":"LSTM","config":{{"hidden_size":{H},"proj_size":7}}}},{{"type":"Dense","config":{{"units":{UNITS}}}}}]}}"#
        )
    };
    for batch in [B, 1] {
        let one = forward_backward_of(&json(1), batch, T);
        for threads in 2..=4 {
            for (k, (got, want)) in forward_backward_of(&json(threads), batch, T).iter().zip(&one).enumerate() {
                assert_bits(got, want, &format!("projected LSTM batch {batch} threads {threads}: result {k}"));
            }
        }
    }
}

/// Recurrent dropout (a bidirectional LSTM, then a GRU and an IndRNN): the masks come from the
/// model's rng before any split, and each row's masked product is the same arithmetic on any core.
#[test]
fn recurrent_dropout_is_bit_identical_for_every_thread_count() {
    let json = |threads: usize| {
        format!(
            r#"{{"batch_first":true,"seed":11,"threads":{threads},"layers":[
                {{"type":"LSTM","config":{{"input_size":{I},"hidden_size":{H},"bidirectional":true,"recurrent_dropout":0.3}}}},
                {{"type":"GRU","config":{{"hidden_size":{H},"recurrent_dropout":0.4,"num_layers":2,"dropout":0.2}}}},
                {{"type":"IndRNN","config":{{"hidden_size":{H},"recurrent_dropout":0.25}}}},{{"type":"Dense","config":{{"units":{UNITS}}}}}]}}"#
        )
    };
    for batch in [B, 1] {
        let one = forward_backward_of(&json(1), batch, T);
        for threads in 2..=4 {
            for (k, (got, want)) in forward_backward_of(&json(threads), batch, T).iter().zip(&one).enumerate() {
                assert_bits(got, want, &format!("recurrent dropout batch {batch} threads {threads}: result {k}"));
            }
        }
    }
}

/// A depthwise Conv1D (B=32 T=400 C=64, kernel 9, same) + Dense(64→8) per step: one training step.
#[test]
#[ignore]
fn depthwise_conv_training_step_timing() {
    let (b, t, c, u) = (32, 400, 64, 8);
    let json = |threads: usize| {
        format!(
            r#"{{"batch_first":true,"threads":{threads},"layers":[{{"type":"Conv1D","config":{{"in_channels":{c},"out_channels":{c},"kernel_size":9,"groups":{c},"padding":"same"}}}},
                {{"type":"Dense","config":{{"units":{u}}}}}]}}"#
        )
    };
    let (one, two) = train_step_ms(&json, (b, t, c), u);
    println!("depthwise Conv1D training step: threads=1 {one:.2} ms, threads=2 {two:.2} ms, speedup {:.2}x", one / two);
}

/// Parameters after 3 epochs of Adam on a fixed dataset of `n` sequences in batches of `batch_size`.
fn train(cell: &str, threads: usize, batch_size: usize, n: usize) -> Vec<f32> {
    let mut m = Model::from_json(&model_json(cell, threads)).unwrap();
    m.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.01},"clip_norm":1.0}"#).unwrap();
    let mut rng = Rng::new(9);
    let x = uniform_vec(&mut rng, n * T * I, -1.0, 1.0);
    let y = uniform_vec(&mut rng, n * T * UNITS, -1.0, 1.0);
    let data = Dataset::new(Inputs::Float(x), [n, T, I], Targets::Float(y), None, None).unwrap();
    for epoch in 0..3 {
        m.train_epoch(&data, &EpochOptions { batch_size, shuffle: true, seed: epoch, tbptt: None }).unwrap();
    }
    m.params().to_vec()
}

#[test]
fn training_runs_are_bit_identical_for_every_thread_count() {
    // Batches of 19 (and a last one of 3), of 33 (and 4), and of 1.
    for (cell, batch_size, n) in [("lstm", B, 2 * B + 3), ("gru", B, 2 * B + 3), ("rnn_tanh", B, 2 * B + 3), ("lstm", 33, 70), ("gru", 33, 70), ("lstm", 1, 3), ("gru_reset_before", 33, 70), ("indrnn_relu", 33, 70)] {
        let one = train(cell, 1, batch_size, n);
        for threads in 2..=4 {
            assert_bits(&train(cell, threads, batch_size, n), &one, &format!("{cell} batches of {batch_size}: params after 3 epochs, threads {threads}"));
        }
    }
}

// ---- spec ------------------------------------------------------------------------------------

#[test]
fn threads_spec_is_validated_and_round_trips() {
    let base = r#""blocks":[{"cell":"gru","input_size":2,"hidden_size":3}]"#;
    for bad in ["-1", "1.5", "1e9", "\"2\"", "true"] {
        let e = ModelSpec::from_json(&format!("{{{base},\"threads\":{bad}}}")).unwrap_err();
        assert_eq!(e.arg(), Some("spec.threads"), "threads {bad}: {e}");
    }
    assert_eq!(ModelSpec::from_json(&format!("{{{base}}}")).unwrap().threads, 0, "absent means all cores");
    assert_eq!(ModelSpec::from_json(&format!("{{{base},\"threads\":null}}")).unwrap().threads, 0);
    let s = ModelSpec::from_json(&format!("{{{base},\"threads\":3}}")).unwrap();
    assert_eq!(s.threads, 3);
    assert_eq!(ModelSpec::from_json(&s.to_json()).unwrap(), s);
    assert!(s.to_json().contains("\"threads\":3"), "{}", s.to_json());
}

// ---- timing (ignored: prints, asserts nothing about speed) -----------------------------------

/// Median milliseconds of one training step (MSE, Adam) of the model `json(threads)` at 1 and 2
/// threads, interleaved, on random data of `dims` with `units` targets per step.
fn train_step_ms(json: &dyn Fn(usize) -> String, (b, t, i): (usize, usize, usize), units: usize) -> (f64, f64) {
    let mut rng = Rng::new(1);
    let x: Vec<f32> = uniform_vec(&mut rng, b * t * i, -1.0, 1.0);
    let y: Vec<f32> = uniform_vec(&mut rng, b * t * units, -1.0, 1.0);
    let mut models: Vec<Model> = [1, 2]
        .iter()
        .map(|&n| {
            let mut m = Model::from_json(&json(n)).unwrap();
            m.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.001}}"#).unwrap();
            m
        })
        .collect();
    let batch = rnnkit_core::model::Batch { x: rnnkit_core::model::InputsRef::Float(&x), x_dims: [b, t, i], y: rnnkit_core::model::TargetsRef::Float(&y), mask: None, lengths: None };
    let mut samples = [Vec::new(), Vec::new()];
    for round in 0..14 {
        for (k, m) in models.iter_mut().enumerate() {
            let start = Instant::now();
            m.train_step(&batch).unwrap();
            if round >= 2 {
                samples[k].push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut samples[0]), median(&mut samples[1]))
}

/// T1: LSTM B=32 T=100 I=64 H=256 + Dense(256→64) at every step, MSE, Adam; one training step.
#[test]
#[ignore]
fn t1_training_step_timing() {
    for cell in ["lstm", "gru"] {
        let (b, t, i, h, u) = (32, 100, 64, 256, 64);
        let json = |threads: usize| {
            format!(r#"{{"batch_first":true,"threads":{threads},"blocks":[{{"cell":"{cell}","input_size":{i},"hidden_size":{h}}}],"head":{{"units":{u}}}}}"#)
        };
        let (one, two) = train_step_ms(&json, (b, t, i), u);
        println!("T1-like {cell} training step: threads=1 {one:.2} ms, threads=2 {two:.2} ms, speedup {:.2}x (isa {:?})", one / two, kernels().isa);
    }
    // What two threads buy on this machine right now: F1's FLOPs as one GEMM, (3200×320)·(320×1024).
    let (m, n, k) = (3200, 1024, 320);
    let mut rng = Rng::new(2);
    let a: Vec<f32> = uniform_vec(&mut rng, m * k, -1.0, 1.0);
    let b: Vec<f32> = uniform_vec(&mut rng, k * n, -1.0, 1.0);
    let mut c = vec![0f32; m * n];
    let mut samples = [Vec::new(), Vec::new()];
    for round in 0..22 {
        for (idx, threads) in [1, 2].into_iter().enumerate() {
            let _t = scope_threads(threads);
            let start = Instant::now();
            parallel::sgemm(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut c, n);
            if round >= 2 {
                samples[idx].push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one, two) = (median(&mut samples[0]), median(&mut samples[1]));
    let gflop = 2.0 * (m * n * k) as f64 / 1e9;
    println!("GEMM 3200x1024x320: threads=1 {one:.2} ms ({:.0} GFLOP/s), threads=2 {two:.2} ms ({:.0} GFLOP/s), speedup {:.2}x", gflop / one * 1e3, gflop / two * 1e3, one / two);
}

/// The per-step recurrent work at T1's shape on one and two threads: the dispatch cost of `run`,
/// the step GEMM (B=32, 4H=1024, H=256) whole, split by rows and by columns, and the fused cell.
#[test]
#[ignore]
fn step_split_timing() {
    let k_ = kernels();
    let time = |reps: usize, f: &mut dyn FnMut()| -> f64 {
        let mut s = Vec::new();
        for _ in 0..21 {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            s.push(t.elapsed().as_secs_f64() * 1e6 / reps as f64);
        }
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let noop = time(2000, &mut || run(2, |p| {
        std::hint::black_box(p);
    }));
    println!("run(2, noop): {noop:.2} us per dispatch (the caller may run both parts itself)");
    // Dispatch cost with real parts: two equal parts, inline (2w) vs run(2) (ideally w).
    let spin = |n: u64| std::hint::black_box((0..n).fold(0u64, |a, i| a.wrapping_mul(31).wrapping_add(std::hint::black_box(i))));
    for n in [1_000u64, 2_000, 5_000, 10_000, 20_000, 80_000] {
        let inline = time(200, &mut || {
            spin(n);
            spin(n);
        });
        let par = time(200, &mut || run(2, |_| {
            spin(n);
        }));
        let w = inline / 2.0;
        println!("two parts of {w:6.2} us: inline {inline:7.2} us, run(2) {par:7.2} us -> overhead {:5.2} us, speedup {:.2}x", par - w, inline / par);
    }
    for &(b, gs, hd) in &[(32usize, 1024usize, 256usize), (32, 768, 256), (32, 256, 1024), (8, 1024, 256), (4, 256, 64), (1, 256, 64)] {
        let mut rng = Rng::new(1);
        let a: Vec<f32> = uniform_vec(&mut rng, b * hd, -1.0, 1.0);
        let w: Vec<f32> = uniform_vec(&mut rng, gs * hd, -1.0, 1.0);
        let mut packed = PackedB::new();
        (k_.pack_b)(true, hd, gs, &w, hd, &mut packed);
        let mut c = vec![0f32; b * gs];
        let whole = time(50, &mut || (k_.sgemm_packed)(false, b, 0, gs, hd, 1.0, &a, hd, &packed, 1.0, &mut c, gs));
        let half = b / 2;
        let top = time(50, &mut || (k_.sgemm_packed)(false, half.max(1), 0, gs, hd, 1.0, &a, hd, &packed, 1.0, &mut c, gs));
        let left = time(50, &mut || (k_.sgemm_packed)(false, b, 0, gs / 2, hd, 1.0, &a, hd, &packed, 1.0, &mut c, gs));
        let cs: Vec<Mutex<Vec<f32>>> = (0..2).map(|_| Mutex::new(vec![0f32; b * gs])).collect();
        let rows2 = time(50, &mut || run(2, |p| {
            let mut c = cs[p].lock().unwrap();
            let r0 = p * half;
            (k_.sgemm_packed)(false, half.max(1), 0, gs, hd, 1.0, &a[r0 * hd..], hd, &packed, 1.0, &mut c[r0 * gs..], gs);
        }));
        let cols2 = time(50, &mut || run(2, |p| {
            let mut c = cs[p].lock().unwrap();
            let j0 = p * gs / 2;
            (k_.sgemm_packed)(false, b, j0, gs / 2, hd, 1.0, &a, hd, &packed, 1.0, &mut c[j0..], gs);
        }));
        let gflop = |us: f64| 2.0 * (b * gs * hd) as f64 / us * 1e-3;
        println!(
            "B={b} n={gs} k={hd}: whole {whole:.1} us ({:.0} GF/s) | 1 thread m={half}: {top:.1} us, n/2: {left:.1} us | 2 threads rows {rows2:.1} us ({:.2}x), cols {cols2:.1} us ({:.2}x)",
            gflop(whole),
            whole / rows2,
            whole / cols2
        );
    }
    let (b, hd) = (32, 256);
    let mut rng = Rng::new(2);
    let mut g: Vec<f32> = uniform_vec(&mut rng, b * 4 * hd, -1.0, 1.0);
    let cp: Vec<f32> = uniform_vec(&mut rng, b * hd, -1.0, 1.0);
    let hp = cp.clone();
    let (mut c, mut tc, mut h) = (vec![0f32; b * hd], vec![0f32; b * hd], vec![0f32; b * hd]);
    let active = vec![true; b];
    let cell = time(50, &mut || (k_.lstm_forward)(b, hd, &active, &mut g, &cp, &mut c, &mut tc, &hp, &mut h));
    println!("lstm_forward B={b} H={hd}: {cell:.1} us");
}
