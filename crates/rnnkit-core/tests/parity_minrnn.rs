//! PyTorch parity of MinGRU and MinLSTM through the `Layer` trait: the paper's equations in float64
//! (`test/fixtures/torch_layers/minrnn.py`, which also checks them against the paper's log-space
//! parallel form) — outputs, final h, dx, dh0 and every parameter gradient, with lengths, an initial
//! state, token ids and sequences past the scan's 64-step chunks; in f64 and f32.

mod common;

use common::torch_layers::run_file;

/// Every cell × variant minrnn.py writes.
const MIN_CASES: usize = 12;

#[test]
fn min_rnn_layers_f64_match_pytorch() {
    assert!(run_file::<f64>("minrnn.json") >= MIN_CASES);
}

#[test]
fn min_rnn_layers_f32_match_pytorch() {
    assert!(run_file::<f32>("minrnn.json") >= MIN_CASES);
}
