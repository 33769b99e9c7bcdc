//! Datasets: token ids train exactly like their one-hot floats, a dataset's contents are checked
//! once when it is built (bad ids, classes, lengths and masks name the argument), and
//! `evaluate_dataset` in batches equals `evaluate` over the whole set.

use rnnkit_core::model::{Batch, Dataset, EpochOptions, ForwardOptions, Inputs, InputsRef, Model, Targets, TargetsRef};
use rnnkit_core::rng::Rng;
use rnnkit_core::Error;

const V: usize = 7;
const CHAR_LM: &str = r#"{"batch_first":true,"seed":3,"blocks":[{"cell":"lstm","input_size":7,"hidden_size":6}],"head":{"units":7,"activation":"softmax"}}"#;
const COMPILE: &str = r#"{"loss":"cross_entropy","optimizer":{"type":"adam","lr":0.01},"clip_norm":1.0}"#;

/// `n` sequences of `t` ids in 0..V and their next-id targets.
fn ids(n: usize, t: usize, seed: u64) -> (Vec<i32>, Vec<i32>) {
    let mut rng = Rng::new(seed);
    let stream: Vec<i32> = (0..n * t + 1).map(|_| (rng.next_u64() % V as u64) as i32).collect();
    (stream[..n * t].to_vec(), stream[1..].to_vec())
}

fn one_hot(ids: &[i32]) -> Vec<f32> {
    let mut x = vec![0.0; ids.len() * V];
    for (k, &id) in ids.iter().enumerate() {
        x[k * V + id as usize] = 1.0;
    }
    x
}

fn trained(x: Inputs, dims: [usize; 3], y: &[i32]) -> Vec<f32> {
    let mut m = Model::from_json(CHAR_LM).unwrap();
    m.compile(COMPILE).unwrap();
    let data = Dataset::new(x, dims, Targets::Class(y.to_vec()), None, None).unwrap();
    for epoch in 0..2 {
        m.train_epoch(&data, &EpochOptions { batch_size: 4, shuffle: true, seed: epoch, tbptt: None }).unwrap();
    }
    m.params().to_vec()
}

#[test]
fn token_ids_train_exactly_like_their_one_hot_floats() {
    let (n, t) = (11, 9);
    let (x, y) = ids(n, t, 1);
    let from_ids = trained(Inputs::Tokens(x.clone()), [n, t, 1], &y);
    let from_floats = trained(Inputs::Float(one_hot(&x)), [n, t, V], &y);
    assert_eq!(from_ids, from_floats, "ids and one-hot floats must give bit-identical training");
}

#[test]
fn forward_on_token_ids_equals_forward_on_their_one_hot_rows() {
    let mut m = Model::from_json(CHAR_LM).unwrap();
    let (x, _) = ids(2, 3, 2);
    let a = m.forward_tokens(&x, [2, 3, 1], &ForwardOptions::default()).unwrap();
    let b = m.forward(&one_hot(&x), [2, 3, V], &ForwardOptions::default()).unwrap();
    assert_eq!((a.output, a.output_dims, a.states), (b.output, b.output_dims, b.states));
}

#[test]
fn forward_on_ids_of_a_large_vocabulary_never_builds_their_one_hot_rows() {
    let spec = r#"{"batch_first":true,"blocks":[{"cell":"lstm","input_size":4096,"hidden_size":2}]}"#;
    let mut m = Model::from_json(spec).unwrap();
    // 2^18 ids of a 4096-symbol vocabulary: 2^30 one-hot elements (4 GiB) if it were built.
    let ids: Vec<i32> = (0..1i32 << 18).map(|i| i * 7 % 4096).collect();
    let r = m.forward_tokens(&ids, [1, 1 << 18, 1], &ForwardOptions::default()).unwrap();
    assert_eq!(r.output_dims, [1, 1 << 18, 2]);
    match m.forward_tokens(&[4096], [1, 1, 1], &ForwardOptions::default()) {
        Err(Error::Value { arg, .. }) => assert_eq!(arg, "x"),
        other => panic!("expected a value error naming x, got {:?}", other.map(|r| r.output_dims)),
    }
}

#[test]
fn evaluate_dataset_in_batches_equals_evaluate_on_the_whole_set() {
    let (n, t) = (13, 5);
    let (x, y) = ids(n, t, 3);
    let mut m = Model::from_json(CHAR_LM).unwrap();
    m.compile(COMPILE).unwrap();
    let mask: Vec<f32> = (0..n * t).map(|i| if i % 5 == 2 { 0.0 } else { 1.0 + (i % 3) as f32 }).collect();
    let whole = m
        .evaluate(&Batch { x: InputsRef::Tokens(&x), x_dims: [n, t, 1], y: TargetsRef::Class(&y), mask: Some(&mask), lengths: None })
        .unwrap() as f64;
    let data = Dataset::new(Inputs::Tokens(x), [n, t, 1], Targets::Class(y), Some(mask), None).unwrap();
    for batch_size in [1, 4, 13, 100] {
        let batched = m.evaluate_dataset(&data, batch_size).unwrap();
        assert!((batched - whole).abs() <= 1e-6 * whole.abs(), "batch {batch_size}: {batched} vs {whole}");
    }
}

fn arg_of(e: Error) -> String {
    match e {
        Error::Value { arg, .. } | Error::Shape { arg, .. } | Error::Type { arg, .. } => arg,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn bad_contents_fail_when_the_dataset_is_built_or_first_used() {
    let (x, y) = ids(2, 3, 4);
    let build = |x: Vec<i32>, y: Vec<i32>, mask: Option<Vec<f32>>, lengths: Option<Vec<i32>>| {
        Dataset::new(Inputs::Tokens(x), [2, 3, 1], Targets::Class(y), mask, lengths)
    };
    let mut neg = x.clone();
    neg[4] = -1;
    assert_eq!(arg_of(build(neg, y.clone(), None, None).err().unwrap()), "x");
    let mut neg_y = y.clone();
    neg_y[0] = -3;
    assert_eq!(arg_of(build(x.clone(), neg_y, None, None).err().unwrap()), "y");
    assert_eq!(arg_of(build(x.clone(), y.clone(), Some(vec![1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0]), None).err().unwrap()), "mask");
    assert_eq!(arg_of(build(x.clone(), y.clone(), None, Some(vec![0, 2])).err().unwrap()), "lengths");
    assert_eq!(arg_of(Dataset::<f32>::new(Inputs::Tokens(x.clone()), [2, 3, 2], Targets::Class(y.clone()), None, None).err().unwrap()), "x");
    assert_eq!(arg_of(Dataset::new(Inputs::Float(vec![0.0, f32::INFINITY]), [1, 2, 1], Targets::Float(vec![0.0; 2]), None, None).err().unwrap()), "x");

    // What depends on the model fails at the first use, before any update.
    let mut m = Model::from_json(CHAR_LM).unwrap();
    m.compile(COMPILE).unwrap();
    let before = m.params().to_vec();
    let opts = EpochOptions { batch_size: 2, shuffle: false, seed: 0, tbptt: None };
    let mut big = x.clone();
    big[5] = V as i32;
    let too_big_id = build(big, y.clone(), None, None).unwrap();
    assert_eq!(arg_of(m.train_epoch(&too_big_id, &opts).err().unwrap()), "x");
    let mut big_class = y.clone();
    big_class[1] = V as i32;
    let too_big_class = build(x.clone(), big_class, None, None).unwrap();
    assert_eq!(arg_of(m.train_epoch(&too_big_class, &opts).err().unwrap()), "y");
    let too_long = build(x.clone(), y.clone(), None, Some(vec![3, 4])).unwrap();
    assert_eq!(arg_of(m.train_epoch(&too_long, &opts).err().unwrap()), "lengths");
    assert_eq!(m.params(), &before[..], "no update happened");
}

/// A bidirectional 2-layer GRU with lengths, on 480-row batches (more rows than one GEMM k-block):
/// token ids (gathered W_ih columns, scattered dW_ih) train like one-hot floats within f32 rounding,
/// for every weight including the GRU n gate's and the reverse direction's.
#[test]
fn token_ids_match_one_hot_floats_for_bidirectional_stacked_gru_with_lengths() {
    const SPEC: &str = r#"{"batch_first":true,"seed":5,"blocks":[{"cell":"gru","input_size":7,"hidden_size":5,"num_layers":2,"bidirectional":true}],"head":{"units":7,"activation":"softmax"}}"#;
    let (n, t) = (40, 12);
    let (x, y) = ids(n, t, 9);
    let lengths: Vec<i32> = (0..n).map(|i| 4 + (i as i32 * 5) % 9).collect();
    let train = |inputs: Inputs, dims: [usize; 3]| {
        let mut m = Model::from_json(SPEC).unwrap();
        m.compile(COMPILE).unwrap();
        let data = Dataset::new(inputs, dims, Targets::Class(y.clone()), None, Some(lengths.clone())).unwrap();
        for epoch in 0..2 {
            m.train_epoch(&data, &EpochOptions { batch_size: n, shuffle: true, seed: epoch, tbptt: None }).unwrap();
        }
        m.params().to_vec()
    };
    let from_ids = train(Inputs::Tokens(x.clone()), [n, t, 1]);
    let from_floats = train(Inputs::Float(one_hot(&x)), [n, t, V]);
    let worst = from_ids.iter().zip(&from_floats).map(|(a, b)| (a - b).abs() / b.abs().max(1e-2)).fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "ids vs one-hot: worst relative difference {worst}");
}
