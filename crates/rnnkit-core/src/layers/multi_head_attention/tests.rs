//! Unit tests of `MultiHeadAttention`: finite differences, masks, trace, init, config errors, and
//! streaming with the key/value cache (step by step = one forward).

use super::super::gradcheck::{check, check_from, layer, Case};
use super::kv_cache::Past;
use super::*;

#[test]
fn gradients_match_finite_differences() {
    let seq = Some(Shape::Seq { features: 4 });
    for config in [
        r#"{"num_heads":1}"#,
        r#"{"num_heads":2}"#,
        r#"{"num_heads":4}"#,
        r#"{"num_heads":2,"causal":true,"cache_size":6}"#,
        r#"{"num_heads":2,"bias":false}"#,
        r#"{"num_heads":2,"bias":false,"causal":true,"cache_size":6}"#,
    ] {
        for lengths in [None, Some(vec![4, 1, 3])] {
            check(Case { kind: "MultiHeadAttention", config, input: seq, seq_len: 4, batch: 3, lengths, ids: None });
        }
    }
    check(Case { kind: "MultiHeadAttention", config: r#"{"embed_dim":2,"num_heads":2}"#, input: None, seq_len: 3, batch: 1, lengths: None, ids: None });
}

/// From a key/value cache: sequences with 2, 0 and 5 cached steps (random keys and values, and
/// random gradients on the final cache), so every gradient crosses [cached | own] keys; the third
/// overflows a cache of 6 (its last steps are not kept, and get no gradient from the final cache).
#[test]
fn gradients_through_the_key_value_cache_match_finite_differences() {
    let seq = Some(Shape::Seq { features: 4 });
    let mut rng = Rng::new(11);
    let mut random = |n: usize| (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect::<Vec<f64>>();
    for config in [r#"{"num_heads":2,"causal":true,"cache_size":6}"#, r#"{"num_heads":1,"bias":false,"causal":true,"cache_size":6}"#, r#"{"num_heads":4,"causal":true,"cache_size":6}"#] {
        for lengths in [None, Some(vec![4, 1, 3])] {
            let states = vec![random(3 * 6 * 4), random(3 * 6 * 4), vec![2.0, 0.0, 5.0]];
            check_from(Case { kind: "MultiHeadAttention", config, input: seq, seq_len: 4, batch: 3, lengths, ids: None }, Some(states));
        }
    }
}

/// The key bias cannot change the output, so it gets exactly no gradient (added onto a canary).
#[test]
fn key_bias_gets_no_gradient() {
    let (t, b, e) = (5, 3, 8);
    for config in [r#"{"num_heads":2}"#, r#"{"num_heads":4,"causal":true}"#] {
        let mut l = MultiHeadAttention::<f32>::from_config(&Json::parse(config).unwrap(), Some(Shape::Seq { features: e }), "c").unwrap();
        let mut rng = Rng::new(9);
        let mut p = vec![0f32; l.param_count()];
        l.init(&mut p, &mut rng);
        p.iter_mut().for_each(|v| *v += rng.uniform(-0.3, 0.3) as f32);
        let x: Vec<f32> = (0..t * b * e).map(|_| rng.uniform(-2.0, 2.0) as f32).collect();
        let mut out = vec![0f32; t * b * e];
        let lengths = [5, 2, 4];
        let fwd = Forward { x: LayerX::Features(&x), seq_len: t, batch: b, lengths: Some(&lengths), states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
        l.forward(&p, fwd, &mut out);
        let dy: Vec<f32> = (0..t * b * e).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
        let mut g = vec![0.25f32; p.len()];
        l.backward(&p, &dy, false, &[], &mut g, true).unwrap();
        let r = l.key_bias_range().unwrap();
        assert!(g[r.clone()].iter().all(|&v| v == 0.25), "{config}: key bias gradient {:?}", &g[r.clone()]);
        // The query and value parts of the bias do get gradients.
        assert!(g[r.start - e..r.start].iter().chain(&g[r.end..r.end + e]).any(|&v| v != 0.25), "{config}");
    }
}

/// Inference forward with the layer's init and random x; returns (params, x, out).
fn run(l: &mut dyn Layer<f64>, t: usize, b: usize, lengths: Option<&[usize]>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(5);
    let e = l.input_shape().features();
    let mut p32 = vec![0f32; l.param_count()];
    l.init(&mut p32, &mut rng);
    let p: Vec<f64> = p32.iter().map(|&v| v as f64 + rng.uniform(-0.1, 0.1)).collect();
    let x: Vec<f64> = (0..t * b * e).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let mut out = vec![0.0; t * b * e];
    let fwd = Forward { x: LayerX::Features(&x), seq_len: t, batch: b, lengths, states: &[], keep: true, rng: None, params_version: 1, batch_major: false };
    l.forward(&p, fwd, &mut out);
    (p, x, out)
}

#[test]
fn masks_padding_and_the_future_and_traces_one_sequence() {
    let (t, b, e) = (5, 2, 4);
    let lengths = [5, 3];
    let mut l = MultiHeadAttention::<f64>::from_config(&Json::parse(r#"{"num_heads":2,"causal":true}"#).unwrap(), Some(Shape::Seq { features: e }), "c").unwrap();
    let (p, x, out) = run(&mut l, t, b, Some(&lengths));
    let w = &l.cache.as_ref().unwrap().pass.p;
    for bi in 0..b {
        for h in 0..2 {
            for i in 0..t {
                let row = &w[((bi * 2 + h) * t + i) * t..][..t];
                let keys = if i < lengths[bi] { (i + 1).min(lengths[bi]) } else { 0 };
                assert!(row[keys..].iter().all(|&v| v == 0.0), "masked weight in row {i} of sequence {bi}");
                if keys > 0 {
                    assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                }
            }
        }
    }
    // Query rows past a length are zeros.
    assert!((3..t).all(|ti| out[(ti * b + 1) * e..(ti * b + 2) * e].iter().all(|&v| v == 0.0)));
    // The trace of sequence 1's valid prefix alone: its weights and its output rows.
    let seq: Vec<f64> = (0..3).flat_map(|ti| x[(ti * b + 1) * e..(ti * b + 2) * e].to_vec()).collect();
    let seq_out: Vec<f64> = (0..3).flat_map(|ti| out[(ti * b + 1) * e..(ti * b + 2) * e].to_vec()).collect();
    let panels = l.trace(&p, LayerX::Features(&seq), 3, &seq_out);
    assert_eq!(panels.iter().map(|q| q.name.as_str()).collect::<Vec<_>>(), ["head 0 attention", "head 1 attention", "output"]);
    for h in 0..2 {
        let want: Vec<f32> = (0..3).flat_map(|i| w[((2 + h) * t + i) * t..][..3].iter().map(|&v| v as f32).collect::<Vec<_>>()).collect();
        common_close(&panels[h].values, &want);
    }
    let mut y = vec![0.0; 3 * e];
    l.attend(&p, &seq, 3, 1, None, &Past::fresh(1), &mut y);
    common_close(&y.iter().map(|&v| v as f32).collect::<Vec<_>>(), &seq_out.iter().map(|&v| v as f32).collect::<Vec<_>>());
}

fn common_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6), "{a:?} vs {b:?}");
}

#[test]
fn init_follows_pytorch() {
    let l = layer("MultiHeadAttention", r#"{"num_heads":2}"#, Some(Shape::Seq { features: 8 }));
    let mut p = vec![f32::NAN; l.param_count()];
    l.init(&mut p, &mut Rng::new(1));
    let (w_in, rest) = p.split_at(3 * 64);
    let xavier = (6.0f32 / 32.0).sqrt();
    assert!(w_in.iter().all(|v| v.abs() <= xavier) && w_in.iter().any(|v| v.abs() > 0.5 * xavier));
    assert!(rest[..24].iter().all(|&v| v == 0.0), "in_proj_bias zero");
    assert!(rest[24..88].iter().all(|v| v.abs() <= 1.0 / 8f32.sqrt()) && rest[24..88].iter().any(|&v| v != 0.0));
    assert!(rest[88..].iter().all(|&v| v == 0.0) && rest.len() == 96, "out_proj.bias zero");
}

#[test]
fn config_is_canonical_and_errors_name_the_key() {
    let seq = Some(Shape::Seq { features: 6 });
    let l = layer("MultiHeadAttention", r#"{"num_heads":3}"#, seq);
    assert_eq!(l.config().to_string(), r#"{"embed_dim":6,"num_heads":3,"bias":true,"causal":false}"#);
    let names: Vec<(String, Vec<usize>)> = l.params().into_iter().map(|p| (p.name, p.shape)).collect();
    assert_eq!(names, [("in_proj_weight".into(), vec![18, 6]), ("in_proj_bias".into(), vec![18]), ("out_proj.weight".into(), vec![6, 6]), ("out_proj.bias".into(), vec![6])]);
    assert_eq!(layer("MultiHeadAttention", r#"{"num_heads":3,"bias":false}"#, seq).param_count(), 18 * 6 + 36);
    assert!(l.streams().unwrap_err().contains("later steps"));
    assert!(l.states(2).is_empty(), "non-causal attention carries no states");
    let causal = layer("MultiHeadAttention", r#"{"num_heads":1,"causal":true}"#, seq);
    assert!(causal.streams().is_ok());
    assert_eq!(causal.config().to_string(), r#"{"embed_dim":6,"num_heads":1,"bias":true,"causal":true,"cache_size":1024}"#);
    let states: Vec<(&str, Vec<usize>)> = causal.states(2).into_iter().map(|s| (s.name, s.dims)).collect();
    assert_eq!(states, [("keys", vec![2, 1024, 6]), ("values", vec![2, 1024, 6]), ("steps", vec![2])]);
    let err = |config: &str, input: Option<Shape>| {
        let spec = crate::layers::LayerSpec::new("MultiHeadAttention", Json::parse(config).unwrap());
        crate::layers::build::<f64>(&spec, input, 1).err().expect("an error").to_string()
    };
    let e = err(r#"{"num_heads":4}"#, seq);
    assert!(e.contains("spec.layers[1].config.num_heads") && e.contains("divide embed_dim 6") && e.contains('4'), "{e}");
    let e = err("{}", seq);
    assert!(e.contains("config.num_heads") && e.contains("required"), "{e}");
    let e = err(r#"{"num_heads":0}"#, seq);
    assert!(e.contains("config.num_heads") && e.contains(">= 1"), "{e}");
    let e = err(r#"{"num_heads":2,"embed_dim":4}"#, seq);
    assert!(e.contains("config.embed_dim") && e.contains('6') && e.contains('4'), "{e}");
    let e = err(r#"{"num_heads":2,"causal":1}"#, seq);
    assert!(e.contains("config.causal") && e.contains("boolean"), "{e}");
    let e = err(r#"{"num_heads":2,"dropout":0.1}"#, seq);
    assert!(e.contains("config.dropout") && e.contains("unknown"), "{e}");
    let e = err(r#"{"num_heads":2,"cache_size":8}"#, seq);
    assert!(e.contains("config.cache_size") && e.contains("causal"), "{e}");
    let e = err(r#"{"num_heads":2,"causal":true,"cache_size":0}"#, seq);
    assert!(e.contains("config.cache_size") && e.contains(">= 1") && e.contains('0'), "{e}");
    let e = err(r#"{"num_heads":2,"causal":true,"cache_size":2.5}"#, seq);
    assert!(e.contains("config.cache_size") && e.contains("2.5"), "{e}");
    let e = err(r#"{"num_heads":2,"causal":true,"cache_size":16777217}"#, seq);
    assert!(e.contains("config.cache_size") && e.contains("16777216") && e.contains("16777217"), "{e}");
    // 2·cache_size·embed_dim per sequence, counted without wrapping before anything exists.
    let e = err(r#"{"num_heads":1,"causal":true,"cache_size":16777216}"#, Some(Shape::Seq { features: 128 }));
    assert!(e.contains("config.cache_size") && e.contains("exceed"), "{e}");
    let e = err(r#"{"num_heads":1}"#, Some(Shape::Vector { features: 6 }));
    assert!(e.contains("config.embed_dim") && e.contains("sequence"), "{e}");
    let e = err(r#"{"num_heads":1}"#, Some(Shape::Seq { features: 40000 }));
    assert!(e.contains("config.embed_dim") && e.contains("exceed"), "{e}");
}
