//! Epochs trained in chunks of mini-batches (`Network::train_batches`, what the facade uses for
//! per-batch progress and mid-epoch Ctrl-C) must equal one `train_epoch` call bit for bit: the same
//! weights, optimizer state, loss and gradient-norm means, with shuffling, inter-layer dropout,
//! truncated BPTT, per-sequence lengths and masks. Golden values recorded from the whole-epoch
//! implementation before chunking existed pin that histories did not change for a given seed.

use rnnkit_core::model::{BatchRange, Dataset, EpochOptions, EpochStats, EpochTotals, Inputs, Network, Targets};
use rnnkit_core::real::Real;
use rnnkit_core::rng::Rng;
use rnnkit_core::{Error, Model};

/// A stacked LSTM with dropout between its layers and a per-step head: the hardest case (dropout
/// streams, TBPTT windows, lengths and a mask all interact).
const SEQ_SPEC: &str = r#"{"batch_first":true,"seed":11,"blocks":[{"cell":"lstm","input_size":2,"hidden_size":5,"num_layers":2,"dropout":0.3}],"head":{"units":1,"return_sequences":true}}"#;
/// A bidirectional GRU block with dropout, then a last-step classifier (cross-entropy).
const CLS_SPEC: &str = r#"{"batch_first":false,"seed":12,"blocks":[{"cell":"gru","input_size":2,"hidden_size":4,"num_layers":2,"dropout":0.25,"bidirectional":true}],"head":{"units":3,"return_sequences":false}}"#;

/// 13 sequences of 9 steps (so batches of 4 leave a partial last batch), lengths 3..=9 and a mask.
fn seq_data<R: Real>() -> Dataset<R> {
    let (n, t) = (13, 9);
    let mut rng = Rng::new(5);
    let x = (0..n * t * 2).map(|_| R::from_f64(rng.uniform(-1.0, 1.0))).collect();
    let y = (0..n * t).map(|_| R::from_f64(rng.uniform(-0.5, 0.5))).collect();
    let mask = (0..n * t).map(|i| R::from_f64(if i % 7 == 3 { 0.0 } else { 1.0 })).collect();
    let lengths = (0..n).map(|i| 3 + (i as i32 * 5) % 7).collect();
    Dataset::new(Inputs::Float(x), [n, t, 2], Targets::Float(y), Some(mask), Some(lengths)).unwrap()
}

/// 11 sequences of 6 steps, time-major, class targets, lengths.
fn cls_data<R: Real>() -> Dataset<R> {
    let (n, t) = (11, 6);
    let mut rng = Rng::new(6);
    let x = (0..n * t * 2).map(|_| R::from_f64(rng.uniform(-1.0, 1.0))).collect();
    let y = (0..n).map(|i| (i % 3) as i32).collect();
    let lengths = (0..n).map(|i| 2 + (i as i32) % 5).collect();
    Dataset::new(Inputs::Float(x), [t, n, 2], Targets::Class(y), None, Some(lengths)).unwrap()
}

struct Case {
    spec: &'static str,
    train: &'static str,
    opts: EpochOptions,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            spec: SEQ_SPEC,
            train: r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.01},"clip_norm":1}"#,
            opts: EpochOptions { batch_size: 4, shuffle: true, seed: 0, tbptt: Some(4) },
        },
        Case {
            spec: SEQ_SPEC,
            train: r#"{"loss":"mse","optimizer":{"type":"sgd","lr":0.05,"momentum":0.9}}"#,
            opts: EpochOptions { batch_size: 3, shuffle: false, seed: 0, tbptt: None },
        },
        Case {
            spec: CLS_SPEC,
            train: r#"{"loss":"cross_entropy","optimizer":{"type":"rmsprop","lr":0.01}}"#,
            opts: EpochOptions { batch_size: 2, shuffle: true, seed: 0, tbptt: None },
        },
    ]
}

fn data_for<R: Real>(case: &Case) -> Dataset<R> {
    if case.spec == SEQ_SPEC {
        seq_data()
    } else {
        cls_data()
    }
}

fn compiled<R: Real>(case: &Case) -> Network<R> {
    let mut m: Network<R> = Network::from_json(case.spec).unwrap();
    m.compile(case.train).unwrap();
    m
}

/// Trains epoch `seed` of `case` in chunks of the given sizes (cycled), carrying totals across.
fn chunked<R: Real>(m: &mut Network<R>, data: &Dataset<R>, opts: &EpochOptions, sizes: &[usize]) -> (EpochStats, Vec<EpochStats>) {
    let mut range = BatchRange::default();
    let mut parts = Vec::new();
    for &size in sizes.iter().cycle() {
        range.max = Some(size);
        let s = m.train_batches(data, opts, &range).unwrap();
        parts.push(s);
        if s.next_batch == s.epoch_batches {
            return (s, parts);
        }
        range = BatchRange { first: s.next_batch, max: None, carry: s.totals };
    }
    unreachable!("cycle() never ends")
}

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn chunked_epochs_equal_whole_epochs_bit_for_bit() {
    for (ci, case) in cases().iter().enumerate() {
        let data = data_for::<f32>(case);
        for sizes in [&[1usize][..], &[2, 1, 3], &[100]] {
            let mut whole: Model = compiled(case);
            let mut parts: Model = compiled(case);
            for epoch in 0..3u64 {
                let opts = EpochOptions { seed: 100 + epoch, ..case.opts };
                let w = whole.train_epoch(&data, &opts).unwrap();
                let (c, pieces) = chunked(&mut parts, &data, &opts, sizes);
                let what = format!("case {ci}, chunks {sizes:?}, epoch {epoch}");
                assert_eq!(c.loss.to_bits(), w.loss.to_bits(), "{what}: loss {} vs {}", c.loss, w.loss);
                assert_eq!(c.grad_norm.to_bits(), w.grad_norm.to_bits(), "{what}: grad norm");
                assert_eq!(c.totals, w.totals, "{what}: totals");
                assert_eq!(bits(parts.params()), bits(whole.params()), "{what}: parameters");
                // Counts add up: every batch once, every sample once, in increasing order.
                assert_eq!(pieces.iter().map(|p| p.batches).sum::<usize>(), w.epoch_batches, "{what}");
                assert_eq!(pieces.iter().map(|p| p.samples).sum::<usize>(), w.samples, "{what}");
                assert_eq!(w.samples, if case.spec == SEQ_SPEC { 13 } else { 11 });
                assert!(pieces.windows(2).all(|p| p[0].next_batch < p[1].next_batch && p[0].totals.updates <= p[1].totals.updates));
            }
            // The optimizer state matches too: one more identical whole epoch stays identical.
            let opts = EpochOptions { seed: 7, ..case.opts };
            whole.train_epoch(&data, &opts).unwrap();
            parts.train_epoch(&data, &opts).unwrap();
            assert_eq!(bits(parts.params()), bits(whole.params()), "case {ci}, chunks {sizes:?}: after another epoch");
        }
    }
}

#[test]
fn chunk_stats_report_progress_of_the_epoch_so_far() {
    let case = &cases()[0];
    let data = seq_data::<f32>();
    let mut m: Model = compiled(case);
    let opts = EpochOptions { seed: 3, ..case.opts };
    let first = m.train_batches(&data, &opts, &BatchRange { first: 0, max: Some(2), carry: EpochTotals::default() }).unwrap();
    assert_eq!((first.batches, first.samples, first.next_batch, first.epoch_batches), (2, 8, 2, 4));
    // TBPTT 4 over 9 steps: up to 3 windows per batch (a window where every weight is 0 is skipped).
    assert!(first.totals.updates >= 2 && first.totals.updates <= 6, "{first:?}");
    let mean = first.totals.loss_sum / first.totals.updates as f64;
    assert_eq!(first.loss, mean as f32 as f64, "loss is the f32-rounded mean so far");
    let rest = m.train_batches(&data, &opts, &BatchRange { first: 2, max: None, carry: first.totals }).unwrap();
    assert_eq!((rest.batches, rest.samples, rest.next_batch), (2, 5, 4));
    assert!(rest.totals.updates > first.totals.updates);
    // An empty range at the end trains nothing and reports the carried means.
    let params = m.params().to_vec();
    let none = m.train_batches(&data, &opts, &BatchRange { first: 4, max: None, carry: rest.totals }).unwrap();
    assert_eq!((none.batches, none.samples, none.totals), (0, 0, rest.totals));
    assert_eq!(none.loss, rest.loss);
    assert_eq!(m.params(), &params[..]);
}

#[test]
fn bad_ranges_name_the_argument_and_change_nothing() {
    let case = &cases()[1];
    let data = seq_data::<f32>();
    let mut m: Model = compiled(case);
    let params = m.params().to_vec();
    let arg = |r: Result<EpochStats, Error>| r.err().and_then(|e| e.arg().map(str::to_string));
    let opts = case.opts; // batch 3 over 13 samples: 5 batches
    let range = |first, max, loss_sum| BatchRange { first, max, carry: EpochTotals { updates: 1, loss_sum, grad_norm_sum: 0.0 } };
    assert_eq!(arg(m.train_batches(&data, &opts, &range(6, None, 0.0))), Some("firstBatch".into()));
    assert_eq!(arg(m.train_batches(&data, &opts, &range(0, Some(0), 0.0))), Some("maxBatches".into()));
    assert_eq!(arg(m.train_batches(&data, &opts, &range(1, None, f64::NAN))), Some("carryLossSum".into()));
    assert_eq!(arg(m.train_batches(&data, &opts, &range(1, None, -1.0))), Some("carryLossSum".into()));
    assert_eq!(m.params(), &params[..], "a rejected range trains nothing");
    let s = m.train_batches(&data, &opts, &range(3, Some(usize::MAX), 0.0)).unwrap();
    assert_eq!((s.batches, s.next_batch), (2, 5), "max past the end stops at the end");
}

/// Per epoch: the f64 loss and gradient-norm means (as bits) and a parameter checksum, on the
/// scalar f64 path (the same on every CPU) for every case.
fn history_f64() -> Vec<[u64; 3]> {
    let mut out = Vec::new();
    for case in cases() {
        let data = data_for::<f64>(&case);
        let mut m: Network<f64> = compiled(&case);
        for epoch in 0..2u64 {
            let s = m.train_epoch(&data, &EpochOptions { seed: 40 + epoch, ..case.opts }).unwrap();
            let checksum: f64 = m.params().iter().enumerate().map(|(i, p)| p * (1.0 + (i % 7) as f64)).sum();
            out.push([s.loss.to_bits(), s.grad_norm.to_bits(), checksum.to_bits()]);
        }
    }
    out
}

/// Recorded by running `history_f64` against the whole-epoch implementation (commit 97844e3, before
/// `train_batches` existed): chunking must not change what a seed trains. (The GRU records follow a
/// later, deliberate change of GRU BPTT's summation order: see the file's header.)
const GOLDEN_F64: [[u64; 3]; 6] = include!("epoch_chunks_golden.txt");

#[test]
fn histories_are_unchanged_from_the_whole_epoch_implementation() {
    let got = history_f64();
    for (i, (g, w)) in got.iter().zip(GOLDEN_F64.iter()).enumerate() {
        let f = |b: &[u64; 3]| b.map(f64::from_bits);
        assert_eq!(g, w, "epoch record {i}: got {:?}, want {:?}", f(g), f(w));
    }
    // And chunked f64 training reproduces them as well.
    let case = &cases()[0];
    let data = data_for::<f64>(case);
    let mut m: Network<f64> = compiled(case);
    for (epoch, want) in GOLDEN_F64[..2].iter().enumerate() {
        let (s, _) = chunked(&mut m, &data, &EpochOptions { seed: 40 + epoch as u64, ..case.opts }, &[1, 2]);
        assert_eq!([s.loss.to_bits(), s.grad_norm.to_bits()], [want[0], want[1]], "chunked f64 epoch {epoch}");
    }
}
