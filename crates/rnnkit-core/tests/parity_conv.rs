//! PyTorch parity of Conv1D (valid/same/causal, stride, dilation, groups/depthwise, history state,
//! lengths), MaxPool1D and AvgPool1D through the `Layer` trait, in f64 and f32: every case of
//! test/fixtures/torch_layers/conv.json (written by conv.py next to it).

mod common;

#[test]
fn conv_and_pool_layers_match_pytorch() {
    common::torch_layers::run_file("conv.json");
}
