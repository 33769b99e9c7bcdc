//! Parity of the recurrent cell options with their ONNX-equation references through the `Layer`
//! trait: LSTM peepholes, cell clip and coupled input-forget gates, and gate / candidate / cell
//! activations (hard sigmoid, relu, softsign, softplus, elu) for LSTM, GRU and RNN, with lengths,
//! initial states, two layers and both directions. Every case of
//! `test/fixtures/torch_layers/lstm_options.json` (written by `lstm_options.py`, PyTorch float64,
//! itself checked against ONNX's numpy reference) in f64 and f32, checked by `common::torch_layers`:
//! output, final h/c, dx, dh0/dc0 and every parameter gradient including the peepholes'.

mod common;

use common::torch_layers::run_file;

/// Every case lstm_options.py writes.
const MIN_CASES: usize = 21;

#[test]
fn cell_options_f64_match_the_references() {
    assert!(run_file::<f64>("lstm_options.json") >= MIN_CASES);
}

#[test]
fn cell_options_f32_match_the_references() {
    assert!(run_file::<f32>("lstm_options.json") >= MIN_CASES);
}
