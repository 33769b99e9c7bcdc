//! Whole-model checks through the public `Network` API: the full training path (blocks → head →
//! loss → BPTT) against finite differences in f64, layouts, streaming, truncated BPTT, determinism
//! and the errors users get for bad input.

mod common;

use common::network_grad::{central_differences, numeric_gradient, train_gradient};
use common::{assert_close, uniform_vec};
use rnnkit_core::model::{Batch, Dataset, EpochOptions, ForwardOptions, Inputs, InputsRef, Network, Targets, TargetsRef};
use rnnkit_core::rng::Rng;
use rnnkit_core::{Error, Model};

/// Tolerances for f64 (PyTorch gradcheck's defaults).
const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-3;

fn spec(cell: &str, head: &str, batch_first: bool) -> String {
    format!(
        r#"{{"batch_first":{batch_first},"seed":3,"blocks":[{{"cell":"{cell}","input_size":2,"hidden_size":3,"num_layers":2}},
            {{"cell":"gru","input_size":3,"hidden_size":3,"bidirectional":true}}],"head":{head}}}"#
    )
}

#[test]
fn training_gradients_match_finite_differences_for_every_loss_and_head() {
    let (b, t) = (3usize, 4usize);
    let mut rng = Rng::new(11);
    let x: Vec<f64> = uniform_vec(&mut rng, b * t * 2, -1.0, 1.0);
    let lengths = [4, 2, 3];
    let mask: Vec<f64> = uniform_vec(&mut rng, b * t, 0.0, 2.0);
    let cases = [
        ("lstm", r#"{"units":2,"activation":"tanh"}"#, "mse", true),
        ("lstm", r#"{"units":2,"activation":"softmax","return_sequences":false}"#, "mse", true),
        ("rnn_tanh", r#"{"units":2,"activation":"sigmoid"}"#, "bce_with_logits", false),
        ("gru", r#"{"units":3,"activation":"softmax"}"#, "cross_entropy", true),
        ("lstm", r#"{"units":3,"return_sequences":false}"#, "cross_entropy", false),
        ("gru", "null", "mse", true),
    ];
    for (cell, head, loss, batch_first) in cases {
        let mut net = Network::<f64>::from_json(&spec(cell, head, batch_first)).unwrap();
        net.compile(&format!(r#"{{"loss":"{loss}","optimizer":{{"type":"sgd","lr":1}}}}"#)).unwrap();
        let out_dims = net.output_dims(if batch_first { [b, t, 2] } else { [t, b, 2] }).unwrap();
        let units = *out_dims.last().unwrap();
        let n_out: usize = out_dims.iter().product();
        let y_float: Vec<f64> = uniform_vec(&mut rng, n_out, 0.0, 1.0);
        let y_class: Vec<i32> = (0..n_out / units).map(|i| (i * 7 % units) as i32).collect();
        let y = if loss == "cross_entropy" { TargetsRef::Class(&y_class) } else { TargetsRef::Float(&y_float) };
        let sequence = out_dims.len() == 3;
        for (use_lengths, use_mask) in [(false, false), (true, false), (true, true)] {
            if use_mask && !sequence {
                continue;
            }
            let batch = Batch {
                x: InputsRef::Float(&x),
                x_dims: if batch_first { [b, t, 2] } else { [t, b, 2] },
                y,
                mask: use_mask.then_some(&mask[..]),
                lengths: use_lengths.then_some(&lengths[..]),
            };
            let analytic = train_gradient(&mut net, &batch);
            let numeric = numeric_gradient(&mut net, &batch);
            let what = format!("{cell} head={head} loss={loss} lengths={use_lengths} mask={use_mask}");
            assert!(numeric.iter().any(|g| g.abs() > 1e-6), "{what}: gradient vanished");
            assert_close(&analytic, &numeric, ATOL, RTOL, &what);
        }
    }
}

#[test]
fn backward_matches_finite_differences_of_weighted_outputs_and_states() {
    let (b, t) = (2usize, 3usize);
    let mut rng = Rng::new(5);
    let mut net = Network::<f64>::from_json(&spec("lstm", "null", false)).unwrap();
    let x: Vec<f64> = uniform_vec(&mut rng, b * t * 2, -1.0, 1.0);
    let info = net.state_info(b);
    let names: Vec<(usize, &str)> = info.iter().map(|s| (s.layer, s.info.name)).collect();
    assert_eq!(names, [(0, "h"), (0, "c"), (1, "h")], "an LSTM's h and c, then the GRU's h");
    let s0: Vec<Vec<f64>> = info.iter().map(|s| uniform_vec(&mut rng, s.info.len(), -0.5, 0.5)).collect();
    let dims = [t, b, 2];
    let st: Vec<Option<&[f64]>> = s0.iter().map(|v| Some(v.as_slice())).collect();
    let fwd = net.forward(&x, dims, &ForwardOptions { states: &st, lengths: Some(&[3, 1]), training: true, skip_states: false }).unwrap();
    let w: Vec<f64> = uniform_vec(&mut rng, fwd.output.len(), -1.0, 1.0);
    let u: Vec<Vec<f64>> = fwd.states.iter().map(|s| uniform_vec(&mut rng, s.len(), -1.0, 1.0)).collect();
    let ur: Vec<Option<&[f64]>> = u.iter().map(|v| Some(v.as_slice())).collect();
    let bwd = net.backward(&w, &ur).unwrap();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let objective = |net: &mut Network<f64>, x: &[f64], s: &[Vec<f64>]| {
        let sr: Vec<Option<&[f64]>> = s.iter().map(|v| Some(v.as_slice())).collect();
        let r = net.forward(x, dims, &ForwardOptions { states: &sr, lengths: Some(&[3, 1]), training: false, skip_states: false }).unwrap();
        dot(&r.output, &w) + r.states.iter().zip(&u).map(|(a, b)| dot(a, b)).sum::<f64>()
    };
    let numeric_x = central_differences(&x, |v| objective(&mut net, v, &s0));
    assert_close(&bwd.dx, &numeric_x, ATOL, RTOL, "dx");
    for k in 0..s0.len() {
        let numeric = central_differences(&s0[k], |v| {
            let mut s = s0.clone();
            s[k] = v.to_vec();
            objective(&mut net, &x, &s)
        });
        assert_close(&bwd.d_states[k], &numeric, ATOL, RTOL, &format!("d state {k} ({:?})", names[k]));
    }
}

/// Batch-first input and output are the time-major ones transposed, bit for bit: with a head, and
/// without one (the last block then writes batch-first rows itself), for each cell, with sequence
/// lengths.
#[test]
fn batch_first_is_a_transpose_of_time_major() {
    let (b, t, i) = (3usize, 4usize, 2usize);
    // One bidirectional block of two layers: its last layer writes the visible output without a head.
    let spec = |cell: &str, head: &str, batch_first: bool| {
        format!(r#"{{"batch_first":{batch_first},"seed":3,"blocks":[{{"cell":"{cell}","input_size":2,"hidden_size":3,"num_layers":2,"bidirectional":true}}],"head":{head}}}"#)
    };
    for (cell, head) in ["lstm", "gru", "rnn_tanh"].iter().flat_map(|c| [(c, r#"{"units":2}"#), (c, "null")]) {
        let mut tm = Model::from_json(&spec(cell, head, false)).unwrap();
        let mut bf = Model::from_json(&spec(cell, head, true)).unwrap();
        let f = if head == "null" { 6 } else { 2 }; // the block's 2·3 features, or the head's
        let mut rng = Rng::new(1);
        let x_bf: Vec<f32> = uniform_vec(&mut rng, b * t * i, -1.0, 1.0);
        let mut x_tm = vec![0.0; x_bf.len()];
        for bi in 0..b {
            for ti in 0..t {
                for k in 0..i {
                    x_tm[(ti * b + bi) * i + k] = x_bf[(bi * t + ti) * i + k];
                }
            }
        }
        let opts = ForwardOptions { lengths: Some(&[4, 2, 3]), ..ForwardOptions::default() };
        let a = bf.forward(&x_bf, [b, t, i], &opts).unwrap();
        let c = tm.forward(&x_tm, [t, b, i], &opts).unwrap();
        let what = format!("{cell}, head {head}");
        assert_eq!(a.output_dims, vec![b, t, f], "{what}");
        assert_eq!(c.output_dims, vec![t, b, f], "{what}");
        for bi in 0..b {
            for ti in 0..t {
                for k in 0..f {
                    assert_eq!(a.output[(bi * t + ti) * f + k], c.output[(ti * b + bi) * f + k], "{what}: [{bi}, {ti}, {k}]");
                }
            }
        }
        assert_eq!(a.states, c.states, "{what}");
    }
}

/// `forward_to` (what the N-API binding calls, writing into a JS buffer) gives `forward`'s output for
/// every output layout: batch- and time-major sequences (batch 1, where the two coincide, too),
/// with and without a head, and a last-step head; a buffer of the wrong length is an error.
#[test]
fn forward_to_writes_what_forward_returns() {
    let heads = ["null", r#"{"units":2}"#, r#"{"units":2,"return_sequences":false}"#];
    for (head, batch_first, b) in heads.iter().flat_map(|h| [(h, true, 3), (h, false, 3), (h, true, 1)]) {
        let mut m = Model::from_json(&spec("lstm", head, batch_first)).unwrap();
        let dims = if batch_first { [b, 4, 2] } else { [4, b, 2] };
        let x: Vec<f32> = uniform_vec(&mut Rng::new(2), b * 4 * 2, -1.0, 1.0);
        let whole = m.forward(&x, dims, &ForwardOptions::default()).unwrap();
        let mut out = vec![f32::NAN; whole.output.len()];
        let into = m.forward_to(&x, dims, &ForwardOptions::default(), &mut out).unwrap();
        assert_eq!(out, whole.output, "head {head}, batch_first {batch_first}, batch {b}");
        assert!(into.output.is_empty());
        assert_eq!((into.output_dims, into.states), (whole.output_dims, whole.states));
        let mut short = vec![0.0; out.len() - 1];
        let Err(e) = m.forward_to(&x, dims, &ForwardOptions::default(), &mut short) else { panic!("a short output buffer was accepted") };
        assert_eq!(e.arg(), Some("output"), "{e}");
    }
}

/// `model.step` over every step of a time-major `x` ([T, batch, features]), outputs concatenated.
fn step_through(model: &mut Model, x: &[f32], batch: usize, features: usize) -> Vec<f32> {
    x.chunks_exact(batch * features).flat_map(|x_t| model.step(x_t, batch).unwrap()).collect()
}

#[test]
fn streaming_steps_equal_one_forward() {
    let json = r#"{"seed":9,"blocks":[{"cell":"lstm","input_size":2,"hidden_size":4,"num_layers":2},{"cell":"gru","input_size":4,"hidden_size":3}],"head":{"units":2,"activation":"tanh"}}"#;
    let mut model = Model::from_json(json).unwrap();
    let (b, t) = (2usize, 5usize);
    let mut rng = Rng::new(2);
    let x: Vec<f32> = uniform_vec(&mut rng, t * b * 2, -1.0, 1.0);
    let full = model.forward(&x, [t, b, 2], &ForwardOptions::default()).unwrap();
    assert_close(&step_through(&mut model, &x, b, 2), &full.output, 1e-6, 1e-5, "step vs forward");
    model.reset_state();
    let first = model.step(&x[..b * 2], b).unwrap();
    assert_close(&first, &full.output[..b * 2], 1e-6, 1e-5, "after reset");
}

/// Cell options stream too: a peephole LSTM with clip and hard-sigmoid gates, a GRU with a relu
/// candidate and an Elman softsign layer, stepped, give one forward's output (the model's `step`
/// carries h and c through the options' cells, and a saved spec builds the same model again).
#[test]
fn streaming_with_cell_options_equals_one_forward() {
    let json = r#"{"seed":5,"layers":[
        {"type":"LSTM","config":{"input_size":2,"hidden_size":4,"num_layers":2,"peephole":true,"cell_clip":1.5,"gate_activation":"hard_sigmoid"}},
        {"type":"GRU","config":{"hidden_size":3,"activation":"relu"}},
        {"type":"RNN","config":{"hidden_size":3,"activation":"softsign"}},{"type":"Dense","config":{"units":2}}]}"#;
    let mut model = Model::from_json(json).unwrap();
    let (b, t) = (3usize, 6usize);
    let mut rng = Rng::new(3);
    let x: Vec<f32> = uniform_vec(&mut rng, t * b * 2, -2.0, 2.0);
    let full = model.forward(&x, [t, b, 2], &ForwardOptions::default()).unwrap();
    assert_close(&step_through(&mut model, &x, b, 2), &full.output, 1e-6, 1e-5, "step vs forward");
    let mut again = Model::from_json(&model.spec_json()).unwrap();
    assert!(model.spec_json().contains(r#""peephole":true"#), "{}", model.spec_json());
    again.set_params(model.params()).unwrap();
    let copy = again.forward(&x, [t, b, 2], &ForwardOptions::default()).unwrap();
    assert_eq!(copy.output, full.output, "the canonical spec builds the same model");
}

/// Any streamable stack streams: token ids through an Embedding, a causal convolution (its input
/// history is the state), a LayerNorm, an LSTM and a per-step Dense give, step by step, what one
/// forward over the whole sequence gives; layers that cannot stream are refused by name.
#[test]
fn streaming_token_ids_through_embedding_causal_conv_and_lstm_equals_one_forward() {
    let json = r#"{"seed":4,"layers":[{"type":"Embedding","config":{"num_embeddings":7,"embedding_dim":3}},
        {"type":"Conv1D","config":{"out_channels":4,"kernel_size":3,"dilation":2,"padding":"causal","activation":"relu"}},
        {"type":"LayerNorm"},{"type":"LSTM","config":{"hidden_size":5}},{"type":"Dense","config":{"units":2}}]}"#;
    let mut model = Model::from_json(json).unwrap();
    let names: Vec<(usize, &str)> = model.state_info(2).iter().map(|s| (s.layer, s.info.name)).collect();
    assert_eq!(names, [(1, "history"), (3, "h"), (3, "c")]);
    let (b, t) = (2usize, 9usize);
    let ids: Vec<i32> = (0..t * b).map(|i| (i * 5 % 7) as i32).collect(); // time-major [T, B]
    let full = model.forward_tokens(&ids, [t, b, 1], &ForwardOptions::default()).unwrap();
    let mut stepped = Vec::new();
    for ti in 0..t {
        stepped.extend(model.step_tokens(&ids[ti * b..(ti + 1) * b], b).unwrap());
    }
    assert_close(&stepped, &full.output, 1e-6, 1e-5, "step vs forward");
    let pooled = r#"{"layers":[{"type":"LSTM","config":{"input_size":2,"hidden_size":3}},{"type":"GlobalMeanPool"}]}"#;
    let e = Model::from_json(pooled).unwrap().step(&[0.0; 2], 1).unwrap_err();
    assert!(e.to_string().contains("layer 1 (GlobalMeanPool)"), "{e}");
}

fn sine_dataset(n: usize, t: usize, seed: u64) -> Dataset<f32> {
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * t);
    let mut y = Vec::with_capacity(n * t);
    for _ in 0..n {
        let phase = rng.uniform(0.0, std::f64::consts::TAU);
        for k in 0..t {
            x.push(((phase + 0.3 * k as f64).sin()) as f32);
            y.push(((phase + 0.3 * (k + 1) as f64).sin()) as f32);
        }
    }
    Dataset::new(Inputs::Float(x), [n, t, 1], Targets::Float(y), None, None).unwrap()
}

const SINE: &str = r#"{"batch_first":true,"seed":4,"blocks":[{"cell":"lstm","input_size":1,"hidden_size":8}],"head":{"units":1}}"#;

#[test]
fn epochs_learn_and_are_reproducible() {
    let data = sine_dataset(64, 12, 7);
    let run = |tbptt: Option<usize>| {
        let mut m = Model::from_json(SINE).unwrap();
        m.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.02}}"#).unwrap();
        let losses: Vec<f64> = (0..30)
            .map(|e| m.train_epoch(&data, &EpochOptions { batch_size: 16, shuffle: true, seed: e, tbptt }).unwrap().loss)
            .collect();
        (losses, m.params().to_vec())
    };
    let (a, pa) = run(None);
    let (b, pb) = run(None);
    assert_eq!(a, b, "same seed, same history");
    assert_eq!(pa, pb);
    assert!(a[29] < 0.1 * a[0], "loss fell from {} to {}", a[0], a[29]);
    let (c, _) = run(Some(12));
    assert_eq!(a, c, "tbptt >= seq_len is plain BPTT");
    let (d, pd) = run(Some(4));
    assert_ne!(pa, pd, "truncation changes the updates");
    assert!(d[29] < 0.2 * d[0], "tbptt loss fell from {} to {}", d[0], d[29]);
}

/// The epoch's gradient norm is measured before clipping: with one full batch and SGD at lr = 1
/// the update exposes the gradient (see `train_gradient`), whose L2 norm it must equal, whatever
/// clip_norm does to the update itself.
#[test]
fn epoch_grad_norm_is_the_unclipped_global_norm() {
    let data = sine_dataset(8, 5, 3);
    let n = data.x_dims()[0];
    let Batch { x: InputsRef::Float(x), y: TargetsRef::Float(y), .. } = data.as_batch() else { unreachable!("sine data are floats") };
    let spec = SINE.replace("\"seed\":4", "\"seed\":5");
    let mut reference: Network<f64> = Network::from_json(&spec).unwrap();
    reference.compile(r#"{"loss":"mse","optimizer":{"type":"sgd","lr":1}}"#).unwrap();
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let y: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
    let batch = Batch { x: InputsRef::Float(&x), x_dims: data.x_dims(), y: TargetsRef::Float(&y), mask: None, lengths: None };
    let g = train_gradient(&mut reference, &batch);
    let want = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(want > 1e-3, "a meaningful gradient, got norm {want}");

    let dataset = Dataset::new(Inputs::Float(x), data.x_dims(), Targets::Float(y), None, None).unwrap();
    for clip in ["", r#","clip_norm":1e-4"#] {
        let mut m: Network<f64> = Network::from_json(&spec).unwrap();
        m.compile(&format!(r#"{{"loss":"mse","optimizer":{{"type":"sgd","lr":1}}{clip}}}"#)).unwrap();
        let stats = m.train_epoch(&dataset, &EpochOptions { batch_size: n, shuffle: false, seed: 0, tbptt: None }).unwrap();
        assert!((stats.grad_norm - want).abs() <= 1e-9 * want, "clip {clip:?}: grad_norm {} vs {want}", stats.grad_norm);
        assert!(stats.loss > 0.0);
    }
    // Several updates: the mean of their norms, finite and positive.
    let mut m = Model::from_json(SINE).unwrap();
    m.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.01},"clip_norm":0.5}"#).unwrap();
    let stats = m.train_epoch(&data, &EpochOptions { batch_size: 2, shuffle: true, seed: 1, tbptt: Some(2) }).unwrap();
    assert!(stats.grad_norm.is_finite() && stats.grad_norm > 0.0, "{stats:?}");
}

#[test]
fn bad_input_names_the_argument() {
    let mut m = Model::from_json(SINE).unwrap();
    let x = vec![0.0f32; 2 * 3];
    let arg = |e: Error| e.arg().map(str::to_string);
    let fwd = |m: &mut Model, x: &[f32], dims: [usize; 3], o: ForwardOptions<'_>| m.forward(x, dims, &o).err();
    assert_eq!(fwd(&mut m, &x, [2, 3, 2], ForwardOptions::default()).map(arg), Some(Some("x".into())));
    assert_eq!(fwd(&mut m, &x[..5], [2, 3, 1], ForwardOptions::default()).map(arg), Some(Some("x".into())));
    assert_eq!(fwd(&mut m, &[f32::NAN; 6], [2, 3, 1], ForwardOptions::default()).map(arg), Some(Some("x".into())));
    let o = ForwardOptions { lengths: Some(&[1, 4]), ..Default::default() };
    assert_eq!(fwd(&mut m, &x, [2, 3, 1], o).map(arg), Some(Some("lengths".into())));
    let o = ForwardOptions { states: &[Some(&[0.0; 3])], ..Default::default() };
    assert_eq!(fwd(&mut m, &x, [2, 3, 1], o).map(arg), Some(Some("states".into())), "an LSTM has 2 states");
    let o = ForwardOptions { states: &[Some(&[0.0; 3]), None], ..Default::default() };
    assert_eq!(fwd(&mut m, &x, [2, 3, 1], o).map(arg), Some(Some("states[0]".into())), "h has 2·8 values");
    assert!(matches!(m.backward(&[0.0; 6], &[]), Err(Error::Value { .. })));
    let batch = Batch { x: InputsRef::Float(&x), x_dims: [2, 3, 1], y: TargetsRef::Float(&[0.0; 6]), mask: None, lengths: None };
    assert_eq!(m.train_step(&batch).err().and_then(arg), Some("model".into()));
    m.compile(r#"{"loss":"mse"}"#).unwrap();
    let bad_y = Batch { y: TargetsRef::Float(&[0.0; 5]), ..batch };
    assert_eq!(m.train_step(&bad_y).err().and_then(arg), Some("y".into()));
    let class_y = Batch { y: TargetsRef::Class(&[0; 6]), ..batch };
    assert!(matches!(m.train_step(&class_y), Err(Error::Type { .. })));
    let bad_mask = Batch { mask: Some(&[1.0, -1.0, 1.0, 1.0, 1.0, 1.0]), ..batch };
    assert_eq!(m.train_step(&bad_mask).err().and_then(arg), Some("mask".into()));
    assert!(m.compile(r#"{"loss":"cross_entropy"}"#).is_ok(), "an identity head gives logits");
    let mut tanh_head = Model::from_json(r#"{"blocks":[{"cell":"gru","input_size":1,"hidden_size":2}],"head":{"units":2,"activation":"tanh"}}"#).unwrap();
    assert_eq!(tanh_head.compile(r#"{"loss":"bce_with_logits"}"#).err().and_then(arg), Some("train.loss".into()));
    let mut bi = Model::from_json(r#"{"blocks":[{"cell":"gru","input_size":1,"hidden_size":2,"bidirectional":true}]}"#).unwrap();
    assert_eq!(bi.step(&[0.0], 1).err().and_then(arg), Some("step".into()));
}

/// Working buffers are sized before anything is allocated: self-attention over 50k steps needs a
/// 2.5·10⁹-element weight matrix, and a Dense of 2^20 units over 4096 rows a 2^32-element output;
/// both are errors naming x, not an abort or a multi-GB allocation.
#[test]
fn buffers_beyond_the_element_limit_are_errors_naming_x_before_allocating() {
    let mha = r#"{"batch_first":true,"layers":[{"type":"MultiHeadAttention","config":{"embed_dim":4,"num_heads":1}}]}"#;
    let mut m = Model::from_json(mha).unwrap();
    let t = 50_000;
    let e = m.forward(&vec![0.0; t * 4], [1, t, 4], &ForwardOptions::default()).err().expect("an error");
    assert_eq!(e.arg(), Some("x"), "{e}");
    let wide = r#"{"batch_first":true,"layers":[{"type":"Dense","config":{"in_features":1,"units":1048576}}]}"#;
    let mut m = Model::from_json(wide).unwrap();
    let e = m.forward(&vec![0.0; 4096], [1, 4096, 1], &ForwardOptions::default()).err().expect("an error");
    assert_eq!(e.arg(), Some("x"), "{e}");
}

/// IndRNN's `recurrent_max_abs`: u is drawn within the bound, and after every optimizer step the
/// network clips each layer and direction's u back to [−bound, bound] (`Layer::constrain`); the other
/// parameters train freely. SGD at lr = 50 pushes u far past the bound in one step.
#[test]
fn indrnn_recurrent_weights_stay_within_their_bound_after_each_update() {
    let bound = 0.25;
    let json = format!(
        r#"{{"seed":2,"layers":[{{"type":"IndRNN","config":{{"input_size":2,"hidden_size":4,"num_layers":2,"direction":"bidirectional","recurrent_max_abs":{bound}}}}},
            {{"type":"Dense","config":{{"units":1}}}}]}}"#
    );
    let mut net = Network::<f64>::from_json(&json).unwrap();
    let u_ranges: Vec<_> = net.param_info().iter().filter(|p| p.name.contains("weight_hh")).map(|p| (p.name.clone(), p.shape.clone(), p.range())).collect();
    assert_eq!(u_ranges.len(), 4, "two layers × two directions");
    for (name, shape, r) in &u_ranges {
        assert_eq!(shape, &vec![4], "{name}: a vector [H]");
        assert!(net.params()[r.clone()].iter().all(|&u| (0.0..bound).contains(&u)), "{name}: drawn in [0, {bound})");
    }
    net.compile(r#"{"loss":"mse","optimizer":{"type":"sgd","lr":50}}"#).unwrap();
    let mut rng = Rng::new(4);
    let (t, b) = (5, 3);
    let x: Vec<f64> = uniform_vec(&mut rng, t * b * 2, -1.0, 1.0);
    let y = vec![10.0; t * b];
    let before = net.params().to_vec();
    net.train_step(&Batch { x: InputsRef::Float(&x), x_dims: [t, b, 2], y: TargetsRef::Float(&y), mask: None, lengths: None }).unwrap();
    let after = net.params();
    let mut clipped = 0;
    for (name, _, r) in &u_ranges {
        assert!(after[r.clone()].iter().all(|u| u.abs() <= bound), "{name}: |u| <= {bound} after the update: {:?}", &after[r.clone()]);
        clipped += after[r.clone()].iter().filter(|u| u.abs() == bound).count();
    }
    assert!(clipped > 0, "the step pushed some u past the bound (else this test checks nothing)");
    assert!(before.iter().zip(after).any(|(a, b)| a != b && (a.abs() > bound || b.abs() > bound)), "other parameters move freely");
}
