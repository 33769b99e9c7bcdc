//! PyTorch parity of the attention layers (`test/fixtures/torch_layers/attention.json`, written by
//! attention.py): `AttentionPooling` against the reference module in that script, `MultiHeadAttention`
//! against `nn.MultiheadAttention` — outputs and every gradient in f64 and f32, and the attention
//! weights through `trace()` of each sequence alone (its valid steps, batch 1).

mod common;

use common::fixtures::{assert_close, field, reference, run_cases, swap01, tensor, tol};
use common::layer_parity::{check_case, LayerCase};
use rnnkit_core::json::Json;
use rnnkit_core::layers::LayerX;
use rnnkit_core::real::Real;
use rnnkit_core::trace::PanelKind;

/// Trace panels hold f32: in an f64 run the weights carry one f32 rounding (≤ 6e-8 of values ≤ 1).
fn weight_tol<R: Real>() -> (f64, f64) {
    let (atol, rtol) = tol::<R>();
    (atol.max(1e-7), rtol.max(1e-6))
}

/// For each sequence b alone (its first len_b steps, batch 1): the trace's attention panels equal the
/// reference weights of b restricted to its valid steps, and its forward equals b's rows of the batch.
fn check_weights<R: Real>(case: &Json, c: &mut LayerCase<R>) {
    let (b, t, f) = (c.batch, c.seq_len, c.features);
    let (dims, w) = tensor(field(case, "weights"));
    // [B, H, T, T] for MultiHeadAttention (a sequence output), [B, T] for AttentionPooling.
    let per_step = dims.len() == 4;
    let heads = if per_step { dims[1] } else { 1 };
    let (atol, rtol) = tol::<R>();
    let (watol, wrtol) = weight_tol::<R>();
    let lengths = c.lengths.clone();
    let batch_out = c.forward(&swap01(&c.x, b, t, f), t, b, lengths.as_deref(), false);
    for bi in 0..b {
        let len = lengths.as_ref().map_or(t, |l| l[bi]);
        let x: Vec<R> = c.x[bi * t * f..(bi * t + len) * f].to_vec();
        let out = c.forward(&x, len, 1, None, false);
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
                assert_eq!(p.units, len);
                w[bi * t..bi * t + len].to_vec()
            };
            assert_close(&got, &reference::<R>(&want), watol, wrtol, &format!("sequence {bi} head {h} weights"));
        }
    }
}

fn check<R: Real>(case: &Json) {
    let mut c = check_case::<R>(case);
    check_weights(case, &mut c);
}

#[test]
fn attention_layers_match_pytorch_in_f64() {
    assert!(run_cases("torch_layers/attention.json", "f64", check::<f64>) >= 14);
}

#[test]
fn attention_layers_match_pytorch_in_f32() {
    assert!(run_cases("torch_layers/attention.json", "f32", check::<f32>) >= 14);
}
