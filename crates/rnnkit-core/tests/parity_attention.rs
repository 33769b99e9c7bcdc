//! PyTorch parity of the attention layers (`test/fixtures/torch_layers/attention.json`, written by
//! attention.py): `AttentionPooling` against the reference module in that script, `MultiHeadAttention`
//! against `nn.MultiheadAttention` — outputs and every gradient in f64 and f32, and the attention
//! weights through `trace()` of each sequence alone, checked by `common::torch_layers`; a causal one
//! also from a key/value cache (its streaming states) against attention.py's `cached_mha`, itself
//! checked there against `nn.MultiheadAttention` over the earlier steps and the new ones.

mod common;

use common::torch_layers::run_file;

/// Every score × lengths and head × bias × causal variant attention.py writes, and the three
/// causal ones continuing from a key/value cache (states, final states and their gradients).
const MIN_CASES: usize = 17;

#[test]
fn attention_layers_match_pytorch_in_f64() {
    assert!(run_file::<f64>("attention.json") >= MIN_CASES);
}

#[test]
fn attention_layers_match_pytorch_in_f32() {
    assert!(run_file::<f32>("attention.json") >= MIN_CASES);
}
