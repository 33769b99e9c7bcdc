//! Streaming a causal `MultiHeadAttention` through the public `Network` API: `step()` after
//! `step()`, and `forward` on chunks with the states passed back in, equal one forward over the
//! whole sequence (batch > 1, several heads, with and without bias, after a reset, with lengths);
//! a full key/value cache is an error naming `cache_size`, its capacity and the step, and leaves
//! the states as they were; non-causal attention still refuses to stream.

mod common;

use common::{assert_close, uniform_vec};
use rnnkit_core::model::{Dataset, EpochOptions, ForwardOptions, Inputs, Network, Targets};
use rnnkit_core::rng::Rng;
use rnnkit_core::Model;

/// f32 step vs whole-sequence forward: the same sums, split into other GEMM calls (the cached keys
/// and the step's own), so a few roundings apart.
const F32_ATOL: f64 = 1e-6;
const F32_RTOL: f64 = 1e-6;

fn text_model(heads: usize, bias: bool, cache_size: usize) -> String {
    format!(
        r#"{{"seed":5,"layers":[{{"type":"Embedding","config":{{"num_embeddings":11,"embedding_dim":6}}}},
        {{"type":"LSTM","config":{{"hidden_size":8}}}},
        {{"type":"MultiHeadAttention","config":{{"num_heads":{heads},"bias":{bias},"causal":true,"cache_size":{cache_size}}}}},
        {{"type":"Dense","config":{{"units":3}}}}]}}"#
    )
}

/// Random token ids, time-major [T, B].
fn ids(t: usize, b: usize, seed: u64) -> Vec<i32> {
    let mut rng = Rng::new(seed);
    (0..t * b).map(|_| (rng.uniform(0.0, 11.0) as i32).min(10)).collect()
}

fn step_all<R: rnnkit_core::real::Real>(m: &mut Network<R>, ids: &[i32], t: usize, b: usize) -> Vec<R> {
    (0..t).flat_map(|ti| m.step_tokens(&ids[ti * b..(ti + 1) * b], b).unwrap()).collect()
}

#[test]
fn embedding_lstm_causal_attention_dense_steps_equal_one_forward() {
    let (t, b) = (9, 3);
    for (heads, bias) in [(2, true), (4, false), (1, true)] {
        let mut m = Model::from_json(&text_model(heads, bias, 16)).unwrap();
        let names: Vec<(usize, &str, Vec<usize>)> = m.state_info(b).into_iter().map(|s| (s.layer, s.info.name, s.info.dims)).collect();
        assert_eq!(names[2..], [(2, "keys", vec![b, 16, 8]), (2, "values", vec![b, 16, 8]), (2, "steps", vec![b])]);
        let x = ids(t, b, heads as u64);
        let whole = m.forward_tokens(&x, [t, b, 1], &ForwardOptions::default()).unwrap();
        let what = format!("heads {heads}, bias {bias}");
        assert_close(&step_all(&mut m, &x, t, b), &whole.output, F32_ATOL, F32_RTOL, &format!("{what}: steps"));
        // The final states count every step and hold them.
        assert_eq!(whole.states[4], vec![t as f32; b], "{what}: steps state");
        m.reset_state();
        assert_close(&step_all(&mut m, &x, t, b), &whole.output, F32_ATOL, F32_RTOL, &format!("{what}: after reset_state"));
        // A batch of another size starts afresh too (and the recycled buffers do not leak into it).
        let x1 = ids(t, 1, 99);
        let whole1 = m.forward_tokens(&x1, [t, 1, 1], &ForwardOptions::default()).unwrap();
        assert_close(&step_all(&mut m, &x1, t, 1), &whole1.output, F32_ATOL, F32_RTOL, &format!("{what}: batch 1"));
    }
}

/// The user's round trip: forward on chunks of 4, 1 and 4 steps, each from the states the chunk
/// before returned, equals one forward (f64: to rounding). With lengths: a sequence that ends
/// inside the last chunk gets zeros past its end and the same valid outputs, and its count stops.
#[test]
fn chunks_with_the_states_passed_back_equal_one_forward() {
    let (t, b, e) = (9, 3, 4);
    let spec = r#"{"seed":2,"layers":[{"type":"MultiHeadAttention","config":{"embed_dim":4,"num_heads":2,"causal":true,"cache_size":12}},{"type":"Dense","config":{"units":2}}]}"#;
    let mut m = Network::<f64>::from_json(spec).unwrap();
    let x: Vec<f64> = uniform_vec(&mut Rng::new(3), t * b * e, -2.0, 2.0);
    for lengths in [None, Some(vec![9, 6, 8])] {
        let l32: Option<Vec<i32>> = lengths.as_ref().map(|l| l.iter().map(|&v| v as i32).collect());
        let opts = ForwardOptions { lengths: l32.as_deref(), ..ForwardOptions::default() };
        let whole = m.forward(&x, [t, b, e], &opts).unwrap();
        let mut states: Vec<Vec<f64>> = Vec::new();
        let mut chunked = Vec::new();
        for (t0, t1) in [(0, 4), (4, 5), (5, 9)] {
            let n = t1 - t0;
            let given: Vec<Option<&[f64]>> = states.iter().map(|s| Some(&s[..])).collect();
            let len: Option<Vec<i32>> = lengths.as_ref().map(|l| l.iter().map(|&v| (v.min(t1) - t0) as i32).collect());
            let opts = ForwardOptions { states: &given, lengths: len.as_deref(), training: false, skip_states: false };
            let r = m.forward(&x[t0 * b * e..t1 * b * e], [n, b, e], &opts).unwrap();
            chunked.extend(r.output);
            states = r.states;
        }
        assert_close(&chunked, &whole.output, 1e-12, 1e-10, &format!("chunks, lengths {lengths:?}"));
        assert_eq!(states[2], whole.states[2], "steps");
        assert_close(&states[0], &whole.states[0], 1e-12, 1e-10, "keys");
        assert_close(&states[1], &whole.states[1], 1e-12, 1e-10, "values");
    }
}

#[test]
fn a_full_cache_is_an_error_naming_cache_size_and_the_step() {
    let (b, cap) = (2, 4);
    let mut m = Model::from_json(&text_model(2, true, cap)).unwrap();
    let x = ids(6, b, 1);
    let whole = m.forward_tokens(&x[..cap * b], [cap, b, 1], &ForwardOptions::default()).unwrap();
    assert_close(&step_all(&mut m, &x, cap, b), &whole.output, F32_ATOL, F32_RTOL, "4 steps fit");
    for _ in 0..2 {
        let e = m.step_tokens(&x[cap * b..(cap + 1) * b], b).unwrap_err();
        assert_eq!(e.arg(), Some("step"), "{e}");
        let text = e.to_string();
        assert!(text.contains("layer 2 (MultiHeadAttention)") && text.contains("spec.layers[2].config.cache_size is 4") && text.contains("step 5"), "{text}");
    }
    // The failed steps changed nothing: after a reset the stream starts again.
    m.reset_state();
    assert_close(&m.step_tokens(&x[..b], b).unwrap(), &whole.output[..b * 3], F32_ATOL, F32_RTOL, "after reset");

    // A fresh forward may be longer than the cache (one forward needs none) and counts its steps;
    // continuing from its states is the same error, named by the argument that carried them.
    let long = m.forward_tokens(&x, [6, b, 1], &ForwardOptions::default()).unwrap();
    assert_eq!(long.states[4], vec![6.0; b]);
    let given: Vec<Option<&[f32]>> = long.states.iter().map(|s| Some(&s[..])).collect();
    let e = m.forward_tokens(&x[..b], [1, b, 1], &ForwardOptions { states: &given, ..ForwardOptions::default() }).err().expect("an error");
    assert_eq!(e.arg(), Some("states"), "{e}");
    assert!(e.to_string().contains("cache_size is 4") && e.to_string().contains("step 7"), "{e}");
    // A count that is not a whole number of steps.
    let mut bad = long.states.clone();
    bad[4] = vec![1.5, 0.0];
    let given: Vec<Option<&[f32]>> = bad.iter().map(|s| Some(&s[..])).collect();
    let e = m.forward_tokens(&x[..b], [1, b, 1], &ForwardOptions { states: &given, ..ForwardOptions::default() }).err().expect("an error");
    assert!(e.to_string().contains("\"steps\"") && e.to_string().contains("1.5"), "{e}");
}

#[test]
fn non_causal_attention_still_refuses_to_stream_and_carries_no_states() {
    let spec = r#"{"layers":[{"type":"MultiHeadAttention","config":{"embed_dim":4,"num_heads":2}}]}"#;
    let mut m = Model::from_json(spec).unwrap();
    assert!(m.state_info(2).is_empty());
    let e = m.step(&[0.0; 8], 2).unwrap_err();
    assert_eq!(e.arg(), Some("step"));
    assert!(e.to_string().contains("layer 0 (MultiHeadAttention)") && e.to_string().contains("later steps"), "{e}");
}

/// Truncated BPTT carries the cache from chunk to chunk (each chunk attends to the steps before
/// it, without gradient into them) and trains; a cache shorter than the sequence is refused
/// before the chunk that would not fit.
#[test]
fn truncated_bptt_carries_the_cache_across_chunks() {
    let (n, t) = (16, 12);
    let mut rng = Rng::new(8);
    let x: Vec<f32> = uniform_vec(&mut rng, n * t, -1.0, 1.0);
    // Target: a running mean of the inputs so far, which attention over the past can express.
    let y: Vec<f32> = (0..n).flat_map(|i| (0..t).map(move |k| (i, k))).map(|(i, k)| x[i * t..=i * t + k].iter().sum::<f32>() / (k + 1) as f32).collect();
    let data = Dataset::new(Inputs::Float(x), [n, t, 1], Targets::Float(y), None, None).unwrap();
    let spec = |cache: usize| {
        format!(
            r#"{{"batch_first":true,"seed":1,"layers":[{{"type":"Dense","config":{{"in_features":1,"units":8}}}},
            {{"type":"MultiHeadAttention","config":{{"num_heads":2,"causal":true,"cache_size":{cache}}}}},{{"type":"Dense","config":{{"units":1}}}}]}}"#
        )
    };
    let mut m = Model::from_json(&spec(12)).unwrap();
    m.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.01}}"#).unwrap();
    let losses: Vec<f64> = (0..40).map(|e| m.train_epoch(&data, &EpochOptions { batch_size: 8, shuffle: true, seed: e, tbptt: Some(4) }).unwrap().loss).collect();
    assert!(losses.iter().all(|l| l.is_finite()) && losses[39] < 0.5 * losses[0], "loss went from {} to {}", losses[0], losses[39]);
    let mut short = Model::from_json(&spec(8)).unwrap();
    short.compile(r#"{"loss":"mse"}"#).unwrap();
    let e = short.train_epoch(&data, &EpochOptions { batch_size: 8, shuffle: false, seed: 0, tbptt: Some(4) }).unwrap_err();
    assert_eq!(e.arg(), Some("tbptt"), "{e}");
    assert!(e.to_string().contains("cache_size is 8") && e.to_string().contains("step 9"), "{e}");
}

/// A prediction that does not read the final states (`skip_states`) gets the same output and no
/// states: the cache (batch·cache_size·embed_dim values per state) is neither built nor copied.
#[test]
fn skip_states_gives_the_same_output_and_no_states() {
    let (t, b) = (7, 2);
    let mut m = Model::from_json(&text_model(2, true, 64)).unwrap();
    let x = ids(t, b, 4);
    let with = m.forward_tokens(&x, [t, b, 1], &ForwardOptions::default()).unwrap();
    let without = m.forward_tokens(&x, [t, b, 1], &ForwardOptions { skip_states: true, ..ForwardOptions::default() }).unwrap();
    assert_eq!(with.output, without.output);
    assert_eq!(with.states.len(), 5);
    assert!(without.states.is_empty());
}
