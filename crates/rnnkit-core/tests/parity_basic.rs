//! PyTorch parity of the basic layer kinds through the `Layer` trait: Embedding with padding_idx,
//! LayerNorm with and without affine, ReLU/GELU/Tanh/Sigmoid and global mean/max pooling with
//! lengths. Every case of `test/fixtures/torch_layers/basic.json` (written by `basic.py`) in f64 and
//! f32, checked by `common::torch_layers`.

mod common;

use common::torch_layers::run_file;

/// Every kind × variant basic.py writes.
const MIN_CASES: usize = 15;

#[test]
fn basic_layers_f64_match_pytorch() {
    assert!(run_file::<f64>("basic.json") >= MIN_CASES);
}

#[test]
fn basic_layers_f32_match_pytorch() {
    assert!(run_file::<f32>("basic.json") >= MIN_CASES);
}
