//! Initialisers: bounds and moments of PyTorch's uniform and of Xavier, orthogonality of the
//! recurrent blocks, zero biases where documented, and seed reproducibility.

use rnnkit_core::init::{init_block, init_dense, orthogonal};
use rnnkit_core::params::{block_layout, block_param_count, ParamInfo};
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::{Activation, CellKind, DenseSpec, RecurrentSpec, WeightInit};

/// QᵀQ = I for f32-rounded Q: each entry is a length-H dot of values rounded to 2⁻²⁴ relative.
const ORTHO_TOL: f64 = 1e-5;

fn block(cell: CellKind, input: usize, hidden: usize, layers: usize, bidir: bool, w: WeightInit, r: WeightInit) -> RecurrentSpec {
    RecurrentSpec {
        cell,
        input_size: input,
        hidden_size: hidden,
        num_layers: layers,
        bidirectional: bidir,
        reverse: false,
        bias: true,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        weight_init: w,
        recurrent_init: r,
        recurrent_max_abs: None,
        options: Default::default(),
    }
}

fn init(spec: &RecurrentSpec, seed: u64) -> (Vec<f32>, Vec<ParamInfo>) {
    let mut p = vec![f32::NAN; block_param_count(spec)];
    init_block(spec, &mut p, &mut Rng::new(seed));
    (p, block_layout(spec, "", 0))
}

fn values<'a>(p: &'a [f32], layout: &[ParamInfo], prefix: &str) -> Vec<&'a [f32]> {
    layout.iter().filter(|i| i.name.starts_with(prefix)).map(|i| &p[i.range()]).collect()
}

fn mean_var(xs: &[f32]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

#[test]
fn uniform_is_pytorch_default() {
    // LSTM, H = 64: every weight and bias ~ U(−1/8, 1/8); mean 0, variance k²/3.
    let spec = block(CellKind::Lstm, 10, 64, 2, true, WeightInit::Uniform, WeightInit::Uniform);
    let (p, _) = init(&spec, 1);
    let k = 1.0 / 8.0;
    assert!(p.iter().all(|&v| v.abs() <= k as f32), "a value exceeds 1/sqrt(H)");
    let (mean, var) = mean_var(&p);
    assert!(mean.abs() < 0.003, "mean {mean}");
    assert!((var - k * k / 3.0).abs() < 0.03 * k * k / 3.0, "var {var} vs {}", k * k / 3.0);
    // It really spans the interval (not, say, U(0, k) or a narrower bound).
    let (lo, hi) = p.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert!(lo < -0.99 * k as f32 && hi > 0.99 * k as f32, "range [{lo}, {hi}]");
}

#[test]
fn xavier_bounds_and_zero_bias() {
    // GRU, input 5, H = 16: weight_ih gate blocks U(±√(6/(5+16))), weight_hh U(±√(6/32)).
    let spec = block(CellKind::Gru, 5, 16, 2, false, WeightInit::Xavier, WeightInit::Xavier);
    let (p, layout) = init(&spec, 2);
    for info in &layout {
        let v = &p[info.range()];
        let fan_in = info.shape.get(1).copied().unwrap_or(0);
        match info.name.split("_l").next().unwrap() {
            "bias_ih" | "bias_hh" => assert!(v.iter().all(|&b| b == 0.0), "{} not zero", info.name),
            _ => {
                let bound = (6.0 / (fan_in + 16) as f64).sqrt();
                assert!(v.iter().all(|&w| (w as f64).abs() <= bound), "{} exceeds {bound}", info.name);
                let max = v.iter().fold(0f64, |m, &w| m.max((w as f64).abs()));
                assert!(max > 0.9 * bound, "{}: max |w| {max} well under the bound {bound}", info.name);
            }
        }
    }
    // Layer 1 sees H inputs: its weight_ih bound is √(6/32), not layer 0's √(6/21).
    assert_eq!(layout.iter().find(|i| i.name == "weight_ih_l1").unwrap().shape, vec![48, 16]);
}

#[test]
fn orthogonal_recurrent_blocks() {
    // LSTM, H = 24, bidirectional, two layers: each of the 4 gate blocks of every weight_hh is
    // orthogonal; biases zero; weight_ih stays uniform.
    let h = 24;
    let spec = block(CellKind::Lstm, 7, h, 2, true, WeightInit::Uniform, WeightInit::Orthogonal);
    let (p, layout) = init(&spec, 3);
    let w_hh = values(&p, &layout, "weight_hh");
    assert_eq!(w_hh.len(), 4);
    for w in w_hh {
        for gate in w.chunks_exact(h * h) {
            let q: Vec<f64> = gate.iter().map(|&v| v as f64).collect();
            for i in 0..h {
                for j in 0..h {
                    let dot: f64 = (0..h).map(|r| q[r * h + i] * q[r * h + j]).sum(); // (QᵀQ)_ij
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < ORTHO_TOL, "(QᵀQ)[{i}][{j}] = {dot}");
                }
            }
        }
    }
    for b in values(&p, &layout, "bias") {
        assert!(b.iter().all(|&v| v == 0.0), "bias not zero with orthogonal init");
    }
    let k = 1.0 / (h as f32).sqrt();
    for w in values(&p, &layout, "weight_ih") {
        assert!(w.iter().all(|&v| v.abs() <= k) && w.iter().any(|&v| v != 0.0), "weight_ih not U(±1/√H)");
    }
}

#[test]
fn orthogonal_is_distinct_per_gate_and_rectangular_is_semi_orthogonal() {
    let mut rng = Rng::new(9);
    let (a, b) = (orthogonal(5, 5, &mut rng), orthogonal(5, 5, &mut rng));
    assert_ne!(a, b);
    // Wide 3×7: orthonormal rows (QQᵀ = I); tall 7×3: orthonormal columns (QᵀQ = I).
    for (rows, cols) in [(3usize, 7usize), (7, 3)] {
        let q = orthogonal(rows, cols, &mut rng);
        let small = rows.min(cols);
        for i in 0..small {
            for j in 0..small {
                let dot: f64 = if rows <= cols {
                    (0..cols).map(|c| q[i * cols + c] * q[j * cols + c]).sum()
                } else {
                    (0..rows).map(|r| q[r * cols + i] * q[r * cols + j]).sum()
                };
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "{rows}x{cols}: [{i}][{j}] = {dot}");
            }
        }
    }
}

#[test]
fn orthogonal_entries_look_haar() {
    // For a Haar-random H×H orthogonal matrix each entry has mean 0 and variance 1/H; a plain
    // identity or a sign-biased Q (no sign correction) would fail the mean or the variance.
    let h = 32;
    let mut rng = Rng::new(5);
    let mut entries = Vec::new();
    let mut diag = 0.0;
    for _ in 0..20 {
        let q = orthogonal(h, h, &mut rng);
        diag += (0..h).map(|i| q[i * h + i]).sum::<f64>();
        entries.extend(q.iter().map(|&v| v as f32));
    }
    let (mean, var) = mean_var(&entries);
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((var * h as f64 - 1.0).abs() < 0.05, "variance·H = {}", var * h as f64);
    // The trace of a Haar orthogonal matrix has mean 0 and variance 1: over 20 draws |Σ| ≪ 20.
    assert!(diag.abs() < 15.0, "trace sum {diag}");
}

#[test]
fn dense_is_linear_default() {
    let spec = DenseSpec { in_features: 25, units: 40, activation: Activation::Identity, bias: true, return_sequences: true };
    let mut p = vec![f32::NAN; 25 * 40 + 40];
    init_dense(&spec, &mut p, &mut Rng::new(4));
    let k = 0.2; // 1/√25
    assert!(p.iter().all(|&v| v.abs() <= k), "value outside ±1/√in");
    let (mean, var) = mean_var(&p);
    assert!(mean.abs() < 0.015 && (var - 0.04 / 3.0).abs() < 0.1 * 0.04 / 3.0, "mean {mean} var {var}");
    assert!(p[1000..].iter().any(|&b| b != 0.0), "bias not drawn");
    // Without bias the slice is the weight alone.
    let nb = DenseSpec { bias: false, ..spec };
    let mut w = vec![f32::NAN; 1000];
    init_dense(&nb, &mut w, &mut Rng::new(4));
    assert!(w.iter().all(|v| v.is_finite()));
}

#[test]
fn seeds_reproduce_and_differ() {
    for (w, r) in [
        (WeightInit::Uniform, WeightInit::Uniform),
        (WeightInit::Xavier, WeightInit::Orthogonal),
        (WeightInit::Uniform, WeightInit::Orthogonal),
    ] {
        let spec = block(CellKind::Gru, 3, 6, 2, true, w, r);
        let (a, _) = init(&spec, 123);
        let (b, _) = init(&spec, 123);
        let (c, _) = init(&spec, 124);
        assert!(a.iter().all(|v| v.is_finite()), "{w:?}/{r:?}: a value was left unfilled");
        assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_ne!(a, c, "{w:?}/{r:?}: different seeds gave the same params");
    }
    let spec = DenseSpec { in_features: 4, units: 3, activation: Activation::Sigmoid, bias: true, return_sequences: false };
    let run = |seed| {
        let mut p = vec![0.0f32; 15];
        init_dense(&spec, &mut p, &mut Rng::new(seed));
        p
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn no_bias_blocks_fill_everything() {
    for cell in [CellKind::RnnTanh, CellKind::Lstm, CellKind::Gru] {
        let mut spec = block(cell, 4, 5, 3, true, WeightInit::Xavier, WeightInit::Orthogonal);
        spec.bias = false;
        let (p, _) = init(&spec, 8);
        assert!(p.iter().all(|v| v.is_finite() && *v != 0.0), "{cell:?}: unfilled or zero weights");
    }
}

/// LSTM peephole weights are drawn like biases (U(−1/√H, 1/√H), zero under Xavier/orthogonal), after
/// each cell's biases, so the first cell's W_ih, W_hh and biases are the draws of a model without them.
#[test]
fn peepholes_are_drawn_like_biases() {
    let with = |w: WeightInit, r: WeightInit| {
        let mut s = block(CellKind::Lstm, 3, 16, 2, true, w, r);
        s.options.peephole = true;
        s
    };
    let u = WeightInit::Uniform;
    let (p, layout) = init(&with(u, u), 4);
    let peep = values(&p, &layout, "weight_peephole");
    assert_eq!(peep.len(), 4, "one per layer and direction");
    for v in &peep {
        assert!(v.iter().all(|&x| x.abs() <= 0.25) && v.iter().any(|&x| x != 0.0));
    }
    let (plain, plain_layout) = init(&block(CellKind::Lstm, 3, 16, 2, true, u, u), 4);
    let first_cell = |p: &[f32], l: &[ParamInfo]| l.iter().take(4).flat_map(|i| p[i.range()].to_vec()).collect::<Vec<f32>>();
    assert_eq!(first_cell(&p, &layout), first_cell(&plain, &plain_layout));
    let (px, lx) = init(&with(WeightInit::Xavier, WeightInit::Orthogonal), 4);
    assert!(values(&px, &lx, "weight_peephole").iter().all(|v| v.iter().all(|&x| x == 0.0)));
}
