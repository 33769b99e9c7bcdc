//! PyTorch parity of Conv1D (valid/same/causal, stride, dilation, groups/depthwise, history state,
//! lengths), MaxPool1D and AvgPool1D through the `Layer` trait, in f64 and f32: every case of
//! test/fixtures/torch_layers/conv.json (written by conv.py next to it), checked by
//! `common::torch_layers`.

mod common;

use common::torch_layers::run_file;

/// Every conv and pool variant conv.py writes.
const MIN_CASES: usize = 21;

#[test]
fn conv_and_pool_layers_f64_match_pytorch() {
    assert!(run_file::<f64>("conv.json") >= MIN_CASES);
}

#[test]
fn conv_and_pool_layers_f32_match_pytorch() {
    assert!(run_file::<f32>("conv.json") >= MIN_CASES);
}
