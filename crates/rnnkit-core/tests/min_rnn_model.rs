//! MinGRU and MinLSTM inside a whole `Network` (issue 15): a stack of both, with the paper's causal
//! Conv1D and LayerNorm in front, trains with gradients equal to finite differences of the loss
//! (lengths, batch-first and time-major), and a MinGRU network learns a sine continuation.

mod common;

use common::network_grad::{numeric_gradient, train_gradient};
use common::{assert_close, uniform_vec};
use rnnkit_core::model::{Batch, Dataset, EpochOptions, Inputs, InputsRef, Network, Targets, TargetsRef};
use rnnkit_core::rng::Rng;
use rnnkit_core::Model;

/// Tolerances for f64 (PyTorch gradcheck's defaults).
const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-3;

fn stack(batch_first: bool) -> String {
    format!(
        r#"{{"batch_first":{batch_first},"seed":3,"layers":[
            {{"type":"Conv1D","config":{{"in_channels":2,"out_channels":3,"kernel_size":2,"padding":"causal"}}}},
            {{"type":"LayerNorm","config":{{}}}},
            {{"type":"MinGRU","config":{{"hidden_size":4}}}},
            {{"type":"MinLSTM","config":{{"hidden_size":3,"bias":false}}}},
            {{"type":"Dense","config":{{"units":2}}}}]}}"#
    )
}

#[test]
fn stacked_min_layers_train_with_finite_difference_gradients() {
    let (b, t) = (3usize, 5usize);
    let mut rng = Rng::new(13);
    let x: Vec<f64> = uniform_vec(&mut rng, b * t * 2, -1.0, 1.0);
    let y: Vec<f64> = uniform_vec(&mut rng, b * t * 2, -1.0, 1.0);
    let lengths = [5, 2, 4];
    for batch_first in [true, false] {
        let mut net = Network::<f64>::from_json(&stack(batch_first)).unwrap();
        net.compile(r#"{"loss":"mse","optimizer":{"type":"sgd","lr":1}}"#).unwrap();
        // Random parameters: the init's zero biases and small weights would hide a wrong term.
        let p: Vec<f64> = uniform_vec(&mut rng, net.params().len(), -1.0, 1.0);
        net.set_params(&p).unwrap();
        for use_lengths in [false, true] {
            let dims = if batch_first { [b, t, 2] } else { [t, b, 2] };
            let batch = Batch { x: InputsRef::Float(&x), x_dims: dims, y: TargetsRef::Float(&y), mask: None, lengths: use_lengths.then_some(&lengths[..]) };
            let analytic = train_gradient(&mut net, &batch);
            let numeric = numeric_gradient(&mut net, &batch);
            let what = format!("batch_first={batch_first} lengths={use_lengths}");
            assert!(numeric.iter().any(|g| g.abs() > 1e-6), "{what}: gradient vanished");
            assert_close(&analytic, &numeric, ATOL, RTOL, &what);
        }
    }
}

/// Next value of a sine from its past, as tests/model.rs's LSTM does: minGRU has no recurrent weights
/// (its gates read x_t only), yet its state still carries the phase.
#[test]
fn a_min_gru_network_learns_a_sine_continuation() {
    let (n, t) = (64, 12);
    let mut rng = Rng::new(7);
    let (mut x, mut y) = (Vec::with_capacity(n * t), Vec::with_capacity(n * t));
    for _ in 0..n {
        let phase = rng.uniform(0.0, std::f64::consts::TAU);
        for k in 0..t {
            x.push((phase + 0.3 * k as f64).sin() as f32);
            y.push((phase + 0.3 * (k + 1) as f64).sin() as f32);
        }
    }
    let data = Dataset::new(Inputs::Float(x), [n, t, 1], Targets::Float(y), None, None).unwrap();
    let spec = r#"{"batch_first":true,"seed":4,"layers":[{"type":"MinGRU","config":{"input_size":1,"hidden_size":16}},{"type":"Dense","config":{"units":1}}]}"#;
    let mut m = Model::from_json(spec).unwrap();
    m.compile(r#"{"loss":"mse","optimizer":{"type":"adam","lr":0.02}}"#).unwrap();
    let losses: Vec<f64> = (0..40).map(|e| m.train_epoch(&data, &EpochOptions { batch_size: 16, shuffle: true, seed: e, tbptt: None }).unwrap().loss).collect();
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[39] < 0.2 * losses[0], "loss fell from {} to {}", losses[0], losses[39]);
}
