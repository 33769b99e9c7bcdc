//! Hand-run timing of Conv1D forward + backward through the `Layer` trait at one thread (ignored:
//! prints, asserts nothing about speed). Run in release:
//! `cargo test --release -p rnnkit-core --test conv_timing -- --ignored --nocapture`.
//! The PyTorch side of the comparison is `/usr/bin/python3 crates/rnnkit-core/tests/conv_timing.py`
//! (nn.Conv1d, same shapes, torch.set_num_threads(1)).

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::uniform_vec;
use rnnkit_core::json::Json;
use rnnkit_core::kernels::FlushDenormals;
use rnnkit_core::layers::{build, Forward, LayerSpec, LayerX, Shape};
use rnnkit_core::real::Real;
use rnnkit_core::rng::Rng;

/// Samples per shape; the median and the minimum are printed (as the PyTorch script does). The
/// minimum is the cost without preemption: on a shared machine one 4 ms time slice lost to another
/// process lands in many samples.
const SAMPLES: usize = 20;

/// (median, min) in ms.
fn stats_ms(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2] * 1e3, v[0] * 1e3)
}

fn show(name: &str, fw: (f64, f64), bw: (f64, f64), total: (f64, f64)) {
    println!("  {name:<28} forward {:7.3} ({:6.3})  backward {:7.3} ({:6.3})  total {:7.3} ({:6.3})", fw.0, fw.1, bw.0, bw.1, total.0, total.1);
}

/// (median, min) ms of forward with keep, backward with dx, and the two together, for one config on
/// [T, B, C_in].
fn time_conv(config: &str, b: usize, t: usize, c_in: usize) -> [(f64, f64); 3] {
    let mut layer = build::<f32>(&LayerSpec::new("Conv1D", Json::parse(config).unwrap()), Some(Shape::Seq { features: c_in }), 0).unwrap();
    let mut rng = Rng::new(3);
    let mut params = vec![0.0f32; layer.param_count()];
    layer.init(&mut params, &mut rng);
    let x: Vec<f32> = uniform_vec(&mut rng, t * b * c_in, -1.0, 1.0);
    let t_out = layer.output_steps(t);
    let c_out = layer.output_shape().features();
    let d_out: Vec<f32> = uniform_vec(&mut rng, t_out * b * c_out, -1.0, 1.0);
    let mut out = vec![0.0f32; t_out * b * c_out];
    let mut grads = vec![0.0f32; params.len()];
    let (mut fw, mut bw, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..SAMPLES + 3 {
        // The weights stay the same: a training step would bump the version, so use a new one each
        // round (the packed weight is rebuilt once per round, as in training).
        let fwd = Forward { x: LayerX::Features(&x), seq_len: t, batch: b, lengths: None, states: &[], keep: true, rng: None, params_version: round as u64 + 1, batch_major: false };
        let s = Instant::now();
        layer.forward(&params, fwd, &mut out);
        let f = s.elapsed().as_secs_f64();
        let s = Instant::now();
        let g = layer.backward(&params, &d_out, false, &[], &mut grads, true).unwrap();
        let bk = s.elapsed().as_secs_f64();
        black_box((&out, &g.dx));
        if round >= 3 {
            fw.push(f);
            bw.push(bk);
            both.push(f + bk);
        }
    }
    [stats_ms(fw), stats_ms(bw), stats_ms(both)]
}

/// Minimum ms of `f` (a kernel alone, for the breakdown).
fn time_fn(mut f: impl FnMut()) -> f64 {
    let mut v = Vec::new();
    for round in 0..SAMPLES + 3 {
        let s = Instant::now();
        f();
        if round >= 3 {
            v.push(s.elapsed().as_secs_f64());
        }
    }
    stats_ms(v).1
}

#[test]
#[ignore]
fn conv1d_forward_backward_timing() {
    let _ftz = FlushDenormals::new();
    let (b, t, c) = (32, 200, 40);
    let cases = [
        ("depthwise C=40 k=5 same", format!(r#"{{"out_channels":{c},"kernel_size":5,"groups":{c},"padding":"same"}}"#)),
        ("depthwise C=40 x2 k=5 same", format!(r#"{{"out_channels":{},"kernel_size":5,"groups":{c},"padding":"same"}}"#, 2 * c)),
        ("groups=1 40->64 k=5 same", r#"{"out_channels":64,"kernel_size":5,"padding":"same"}"#.to_string()),
    ];
    println!("Conv1D B={b} T={t} C_in={c}, 1 thread, median (min) of {SAMPLES}, ms");
    for (name, config) in &cases {
        let [f, bk, total] = time_conv(config, b, t, c);
        show(name, f, bk, total);
    }
    // Where a groups=1 conv's time goes: its three GEMMs alone at the same shapes (minimum of
    // SAMPLES; im2col/col2im, bias and activation are the rest). rows = T·B, width = k·C_in.
    let (rows, width, o) = (t * b, 5 * c, 64);
    let mut rng = Rng::new(5);
    let col: Vec<f32> = uniform_vec(&mut rng, rows * width, -1.0, 1.0);
    let w: Vec<f32> = uniform_vec(&mut rng, o * width, -1.0, 1.0);
    let dz: Vec<f32> = uniform_vec(&mut rng, rows * o, -1.0, 1.0);
    let (mut y, mut dw, mut dcol) = (vec![0.0f32; rows * o], vec![0.0f32; o * width], vec![0.0f32; rows * width]);
    let fwd = time_fn(|| f32::gemm(false, true, rows, o, width, 1.0, &col, width, &w, width, 0.0, &mut y, o));
    let dw_ms = time_fn(|| f32::gemm(true, false, o, width, rows, 1.0, &dz, o, &col, width, 0.0, &mut dw, width));
    let dcol_ms = time_fn(|| f32::gemm(false, false, rows, width, o, 1.0, &dz, o, &w, width, 0.0, &mut dcol, width));
    black_box((&y, &dw, &dcol));
    println!("  groups=1 GEMMs alone: y = col·Wᵀ {fwd:.3}, dW = dzᵀ·col {dw_ms:.3}, dcol = dz·W {dcol_ms:.3}, sum {:.3}", fwd + dw_ms + dcol_ms);
}
