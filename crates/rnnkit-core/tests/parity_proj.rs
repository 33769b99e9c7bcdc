//! PyTorch parity of the LSTM projection (`proj_size`, issue 15) through the `Layer` trait: every
//! case of `test/fixtures/torch_layers/lstm_proj.json` (written by `lstm_proj.py` with
//! nn.LSTM(proj_size=...) itself) in f64 and f32, checked by `common::torch_layers`: outputs, final
//! states, dx, d(h0, c0) and every parameter gradient including weight_hr.

mod common;

use common::torch_layers::run_file;

/// Every case lstm_proj.py writes.
const MIN_CASES: usize = 4;

#[test]
fn lstm_proj_f64_matches_pytorch() {
    assert!(run_file::<f64>("lstm_proj.json") >= MIN_CASES);
}

#[test]
fn lstm_proj_f32_matches_pytorch() {
    assert!(run_file::<f32>("lstm_proj.json") >= MIN_CASES);
}
