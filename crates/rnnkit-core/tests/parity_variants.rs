//! PyTorch parity of the structural recurrent variants of issue 15 through the `Layer` trait:
//! `direction: "reverse"` on RNN/LSTM/GRU (and `direction: "bidirectional"`). Every case of
//! `test/fixtures/torch_layers/recurrent_variants.json` (written by `recurrent_variants.py`) in f64
//! and f32, checked by `common::torch_layers`: outputs, final states, dx, d(initial states) and every
//! parameter gradient.

mod common;

use common::torch_layers::run_file;

/// Every case recurrent_variants.py writes.
const MIN_CASES: usize = 12;

#[test]
fn recurrent_variants_f64_match_pytorch() {
    assert!(run_file::<f64>("recurrent_variants.json") >= MIN_CASES);
}

#[test]
fn recurrent_variants_f32_match_pytorch() {
    assert!(run_file::<f32>("recurrent_variants.json") >= MIN_CASES);
}
