//! Gradient checks for the dense head and the losses: f64 central finite differences of
//! loss(dense → activation) w.r.t. W, b and x for every activation × loss, with non-uniform row
//! weights (zeros included); plus hand-derived values, numerical-stability edges and the errors
//! that `loss_and_grad` returns for bad targets and masks.

mod common;

use common::{assert_close, uniform_vec};
use rnnkit_core::dense::{dense_backward, dense_forward};
use rnnkit_core::layers::activation::activation_backward;
use rnnkit_core::loss::{loss_and_grad, Targets};
use rnnkit_core::rng::Rng;
use rnnkit_core::spec::{Activation, DenseSpec, LossKind};

/// Central-difference step: in f64 the truncation error (~EPS²) and the rounding error
/// (~1e-16/EPS) are both far below the tolerances.
const EPS: f64 = 1e-6;
/// Finite differences vs analytic gradients in f64 (PyTorch gradcheck uses atol 1e-5, rtol 1e-3;
/// we are tighter because these functions are smooth and small).
const FD_ATOL: f64 = 1e-7;
const FD_RTOL: f64 = 1e-6;

const ACTIVATIONS: [Activation; 4] = [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Softmax];
const LOSSES: [LossKind; 3] = [LossKind::Mse, LossKind::BceWithLogits, LossKind::CrossEntropy];

fn spec(in_features: usize, units: usize, activation: Activation, bias: bool) -> DenseSpec {
    DenseSpec { in_features, units, activation, bias, return_sequences: true }
}

/// Owned targets, borrowed as `Targets` per call.
enum Tgt {
    Float(Vec<f64>),
    Class(Vec<i32>),
}
impl Tgt {
    fn as_targets(&self) -> Targets<'_, f64> {
        match self {
            Tgt::Float(t) => Targets::Float(t),
            Tgt::Class(c) => Targets::Class(c),
        }
    }
}

/// The head's scalar objective: MSE sees y = act(z), BCE/CE see the logits z.
fn objective(kind: LossKind, s: &DenseSpec, params: &[f64], x: &[f64], rows: usize, t: &Tgt, w: &[f64]) -> f64 {
    let n = rows * s.units;
    let (mut z, mut y) = (vec![0.0; n], vec![0.0; n]);
    dense_forward(s, params, x, rows, &mut z, &mut y);
    let pred = if kind == LossKind::Mse { &y } else { &z };
    loss_and_grad(kind, pred, &t.as_targets(), Some(w), rows, s.units).unwrap().0
}

/// Analytic (dparams, dx) through loss → activation_backward (MSE only) → dense_backward.
fn analytic(kind: LossKind, s: &DenseSpec, params: &[f64], x: &[f64], rows: usize, t: &Tgt, w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = rows * s.units;
    let (mut z, mut y) = (vec![0.0; n], vec![0.0; n]);
    dense_forward(s, params, x, rows, &mut z, &mut y);
    let pred = if kind == LossKind::Mse { &y } else { &z };
    let (_, dpred) = loss_and_grad(kind, pred, &t.as_targets(), Some(w), rows, s.units).unwrap();
    let mut dz = vec![f64::NAN; n];
    if kind == LossKind::Mse {
        activation_backward(s.activation, &z, &y, &dpred, s.units, &mut dz);
    } else {
        dz.copy_from_slice(&dpred);
    }
    let mut grads = vec![0.0; params.len()];
    let mut dx = vec![f64::NAN; x.len()]; // must be overwritten
    dense_backward(s, params, x, rows, &dz, &mut grads, &mut dx);
    (grads, dx)
}

/// Central differences of `f` w.r.t. every element of `v`, perturbing in place and restoring.
fn numeric(v: &mut [f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    (0..v.len())
        .map(|i| {
            let orig = v[i];
            v[i] = orig + EPS;
            let up = f(v);
            v[i] = orig - EPS;
            let down = f(v);
            v[i] = orig;
            (up - down) / (2.0 * EPS)
        })
        .collect()
}

#[test]
fn dense_activation_loss_matches_finite_differences() {
    let (in_features, units, rows) = (3, 4, 5);
    // Non-uniform weights, one masked row: each row gets its own cotangent.
    let w = [1.0, 0.0, 2.5, 0.5, 1.25];
    let mut rng = Rng::new(42);
    for bias in [true, false] {
        for act in ACTIVATIONS {
            for kind in LOSSES {
                let s = spec(in_features, units, act, bias);
                let np = units * in_features + if bias { units } else { 0 };
                let mut params: Vec<f64> = uniform_vec(&mut rng, np, -1.0, 1.0);
                let mut x: Vec<f64> = uniform_vec(&mut rng, rows * in_features, -2.0, 2.0);
                let t = match kind {
                    LossKind::CrossEntropy => Tgt::Class((0..rows).map(|_| rng.below(units) as i32).collect()),
                    _ => Tgt::Float(uniform_vec(&mut rng, rows * units, 0.0, 1.0)),
                };
                let what = format!("{kind:?} on {act:?} bias={bias}");
                let (dparams, dx) = analytic(kind, &s, &params, &x, rows, &t, &w);

                let xc = x.clone();
                let num_p = numeric(&mut params, |p| objective(kind, &s, p, &xc, rows, &t, &w));
                assert_close(&dparams, &num_p, FD_ATOL, FD_RTOL, &format!("{what}: d params"));
                let pc = params.clone();
                let num_x = numeric(&mut x, |xv| objective(kind, &s, &pc, xv, rows, &t, &w));
                assert_close(&dx, &num_x, FD_ATOL, FD_RTOL, &format!("{what}: dx"));

                // The masked row (w = 0) gets exactly zero input gradient; the rest do not.
                assert!(dx[in_features..2 * in_features].iter().all(|&v| v == 0.0), "{what}: masked row leaked");
                assert!(dx.iter().any(|&v| v.abs() > 1e-6), "{what}: gradient vanished");
            }
        }
    }
}

#[test]
fn losses_match_finite_differences_on_pred() {
    // Directly on the prediction, with logits up to ±30 so the stable forms are exercised.
    let (rows, units) = (4, 3);
    let w = [0.5, 0.0, 2.0, 1.0];
    let mut rng = Rng::new(7);
    for kind in LOSSES {
        let mut pred: Vec<f64> = uniform_vec(&mut rng, rows * units, -30.0, 30.0);
        let t = match kind {
            LossKind::CrossEntropy => Tgt::Class(vec![0, 2, 1, 2]),
            _ => Tgt::Float(uniform_vec(&mut rng, rows * units, 0.0, 1.0)),
        };
        let (_, grad) = loss_and_grad(kind, &pred, &t.as_targets(), Some(&w), rows, units).unwrap();
        let num = numeric(&mut pred, |p| loss_and_grad(kind, p, &t.as_targets(), Some(&w), rows, units).unwrap().0);
        assert_close(&grad, &num, FD_ATOL, FD_RTOL, &format!("{kind:?} d pred"));
        assert!(grad[units..2 * units].iter().all(|&g| g == 0.0), "{kind:?}: masked row has gradient");
    }
}

#[test]
fn activation_backward_matches_finite_differences() {
    // L = Σ c ⊙ act(z) with a non-uniform cotangent c, so every Jacobian entry matters (softmax's
    // off-diagonal terms included).
    let (rows, units) = (3, 4);
    let mut rng = Rng::new(3);
    for act in ACTIVATIONS {
        let mut z: Vec<f64> = uniform_vec(&mut rng, rows * units, -3.0, 3.0);
        let c: Vec<f64> = uniform_vec(&mut rng, rows * units, -1.0, 1.0);
        let s = spec(units, units, act, false);
        let apply = |z: &[f64]| -> Vec<f64> {
            // Identity weight: y = act(z) through the real forward path.
            let mut eye = vec![0.0; units * units];
            (0..units).for_each(|i| eye[i * units + i] = 1.0);
            let (mut zz, mut y) = (vec![0.0; z.len()], vec![0.0; z.len()]);
            dense_forward(&s, &eye, z, rows, &mut zz, &mut y);
            y
        };
        let y = apply(&z);
        let mut dz = vec![f64::NAN; z.len()];
        activation_backward(act, &z, &y, &c, units, &mut dz);
        let num = numeric(&mut z, |zv| apply(zv).iter().zip(&c).map(|(a, b)| a * b).sum());
        assert_close(&dz, &num, FD_ATOL, FD_RTOL, &format!("{act:?} activation_backward"));
    }
}

#[test]
fn hand_derived_losses() {
    let one = |kind, pred: &[f64], t: Targets<'_, f64>, w: Option<&[f64]>, rows, units| {
        loss_and_grad(kind, pred, &t, w, rows, units).unwrap()
    };
    // MSE of [1, 2] vs [0, 0]: (1² + 2²)/2 = 2.5; d/dp = 2(p − t)/2 = [1, 2].
    let (l, g) = one(LossKind::Mse, &[1.0, 2.0], Targets::Float(&[0.0, 0.0]), None, 1, 2);
    assert_close(&[l], &[2.5], 1e-15, 0.0, "mse");
    assert_close(&g, &[1.0, 2.0], 1e-15, 0.0, "mse grad");

    // Weighted MSE, rows [1] and [3] vs 0, weights [2, 1]: (2·1 + 1·9)/(1·(2+1)) = 11/3;
    // d/dp_r = 2·w_r·p_r/3 = [4/3, 2].
    let (l, g) = one(LossKind::Mse, &[1.0, 3.0], Targets::Float(&[0.0, 0.0]), Some(&[2.0, 1.0]), 2, 1);
    assert_close(&[l], &[11.0 / 3.0], 1e-15, 1e-15, "weighted mse");
    assert_close(&g, &[4.0 / 3.0, 2.0], 1e-15, 1e-15, "weighted mse grad");
    // Weight 0 on the second row: only (1−0)² counts, N = 1 → loss 1, grad [2, 0].
    let (l, g) = one(LossKind::Mse, &[1.0, 3.0], Targets::Float(&[0.0, 0.0]), Some(&[1.0, 0.0]), 2, 1);
    assert_eq!((l, g), (1.0, vec![2.0, 0.0]));

    // BCE-with-logits at z = 0: ℓ = ln(1 + e⁰) = ln 2 whatever t; d/dz = (σ(0) − t)/N.
    // z = [0, 0], t = [1, 0], N = 2: loss ln 2, grad [(0.5 − 1)/2, 0.5/2] = [−0.25, 0.25].
    let (l, g) = one(LossKind::BceWithLogits, &[0.0, 0.0], Targets::Float(&[1.0, 0.0]), None, 1, 2);
    assert_close(&[l], &[std::f64::consts::LN_2], 1e-15, 1e-15, "bce");
    assert_close(&g, &[-0.25, 0.25], 1e-15, 0.0, "bce grad");

    // CE, z = [0, ln 3], class 0: softmax = [1/4, 3/4], loss = −ln(1/4) = ln 4,
    // d/dz = softmax − onehot = [−3/4, 3/4].
    let (l, g) = one(LossKind::CrossEntropy, &[0.0, 3f64.ln()], Targets::Class(&[0]), None, 1, 2);
    assert_close(&[l], &[4f64.ln()], 1e-15, 1e-15, "ce");
    assert_close(&g, &[-0.75, 0.75], 1e-15, 1e-15, "ce grad");
    // Two rows weighted [1, 3], both z = [0, 0]: each ℓ = ln 2, loss = (ln 2 + 3 ln 2)/4 = ln 2;
    // row grads (softmax − onehot)·w_r/4: [0.5, −0.5]/4 and [−0.5, 0.5]·3/4.
    let (l, g) = one(LossKind::CrossEntropy, &[0.0; 4], Targets::Class(&[1, 0]), Some(&[1.0, 3.0]), 2, 2);
    assert_close(&[l], &[std::f64::consts::LN_2], 1e-15, 1e-15, "weighted ce");
    assert_close(&g, &[0.125, -0.125, -0.375, 0.375], 1e-15, 0.0, "weighted ce grad");
}

#[test]
fn all_masked_gives_zero() {
    for kind in LOSSES {
        let t = match kind {
            LossKind::CrossEntropy => Tgt::Class(vec![1, 0]),
            _ => Tgt::Float(vec![0.5; 4]),
        };
        let (l, g) = loss_and_grad(kind, &[1.0, -2.0, 3.0, 0.5], &t.as_targets(), Some(&[0.0, 0.0]), 2, 2).unwrap();
        assert_eq!((l, g), (0.0, vec![0.0; 4]), "{kind:?}");
    }
}

#[test]
fn losses_are_stable_for_extreme_logits() {
    // CE with z = [1000, 0]: log-sum-exp = 1000 exactly in f64, so loss 0 for class 0 and 1000 for class 1.
    let (l, g) = loss_and_grad::<f32>(LossKind::CrossEntropy, &[1000.0, 0.0], &Targets::Class(&[0]), None, 1, 2).unwrap();
    assert_eq!(l, 0.0);
    assert_eq!(g, vec![0.0, 0.0]);
    let (l, g) = loss_and_grad::<f32>(LossKind::CrossEntropy, &[1000.0, 0.0], &Targets::Class(&[1]), None, 1, 2).unwrap();
    assert_eq!(l, 1000.0);
    assert_eq!(g, vec![1.0, -1.0]);
    // BCE: z = 1000, t = 0 and z = −1000, t = 1 each cost 1000 (softplus, no overflow); grads ±1/2.
    let (l, g) = loss_and_grad::<f32>(LossKind::BceWithLogits, &[1000.0, -1000.0], &Targets::Float(&[0.0, 1.0]), None, 1, 2).unwrap();
    assert_eq!(l, 1000.0);
    assert_eq!(g, vec![0.5, -0.5]);
    // Softmax forward of huge equal logits is [1/2, 1/2], not NaN.
    let s = spec(1, 2, Activation::Softmax, true);
    let (mut z, mut y) = (vec![0.0f32; 2], vec![0.0f32; 2]);
    dense_forward(&s, &[1.0, 1.0, 0.0, 0.0], &[1e30], 1, &mut z, &mut y);
    assert_eq!(y, vec![0.5, 0.5]);
}

#[test]
fn dense_hand_case_and_accumulation() {
    // W = [[1, 2], [3, 4]], b = [0.5, −1], x = [1, 1]: z = [1+2+0.5, 3+4−1] = [3.5, 6].
    let s = spec(2, 2, Activation::Identity, true);
    let params = [1.0, 2.0, 3.0, 4.0, 0.5, -1.0];
    let (mut z, mut y) = (vec![f64::NAN; 2], vec![f64::NAN; 2]);
    dense_forward(&s, &params, &[1.0, 1.0], 1, &mut z, &mut y);
    assert_eq!(z, vec![3.5, 6.0]);
    assert_eq!(y, z);
    // dz = [1, −1]: dW = dzᵀ·x = [[1, 1], [−1, −1]], db = [1, −1], dx = dz·W = [1−3, 2−4] = [−2, −2].
    let mut grads = vec![0.0; 6];
    let mut dx = vec![f64::NAN; 2];
    dense_backward(&s, &params, &[1.0, 1.0], 1, &[1.0, -1.0], &mut grads, &mut dx);
    assert_eq!(grads, vec![1.0, 1.0, -1.0, -1.0, 1.0, -1.0]);
    assert_eq!(dx, vec![-2.0, -2.0]);
    // A second call ADDS to the parameter gradients and OVERWRITES dx.
    dense_backward(&s, &params, &[1.0, 1.0], 1, &[1.0, -1.0], &mut grads, &mut dx);
    assert_eq!(grads, vec![2.0, 2.0, -2.0, -2.0, 2.0, -2.0]);
    assert_eq!(dx, vec![-2.0, -2.0]);
}

#[test]
fn f32_head_agrees_with_f64() {
    // The f32 path runs the selected kernel table (SIMD sgemm, sigmoid, tanh); f64 the reference loop.
    // Odd sizes so GEMM tails are covered. Tolerance: K·ε_f32 for a length-K dot, K = 37.
    let (inf, units, rows) = (37, 19, 13);
    let mut rng = Rng::new(11);
    let p64: Vec<f64> = uniform_vec(&mut rng, units * inf + units, -0.5, 0.5);
    let x64: Vec<f64> = uniform_vec(&mut rng, rows * inf, -1.0, 1.0);
    let dz64: Vec<f64> = uniform_vec(&mut rng, rows * units, -1.0, 1.0);
    let to32 = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let (p32, x32, dz32) = (to32(&p64), to32(&x64), to32(&dz64));
    for act in ACTIVATIONS {
        let s = spec(inf, units, act, true);
        let (mut z64, mut y64) = (vec![0.0; rows * units], vec![0.0; rows * units]);
        let (mut z32, mut y32) = (vec![0.0f32; rows * units], vec![0.0f32; rows * units]);
        dense_forward(&s, &p64, &x64, rows, &mut z64, &mut y64);
        dense_forward(&s, &p32, &x32, rows, &mut z32, &mut y32);
        assert_close(&y32, &to32(&y64), 1e-5, 1e-5, &format!("{act:?} y f32 vs f64"));
        let (mut g64, mut dx64) = (vec![0.0; p64.len()], vec![0.0; x64.len()]);
        let (mut g32, mut dx32) = (vec![0.0f32; p64.len()], vec![0.0f32; x64.len()]);
        dense_backward(&s, &p64, &x64, rows, &dz64, &mut g64, &mut dx64);
        dense_backward(&s, &p32, &x32, rows, &dz32, &mut g32, &mut dx32);
        assert_close(&g32, &to32(&g64), 1e-5, 1e-5, &format!("{act:?} grads f32 vs f64"));
        assert_close(&dx32, &to32(&dx64), 1e-5, 1e-5, &format!("{act:?} dx f32 vs f64"));
    }
}

#[test]
fn loss_errors_name_the_argument() {
    let p = [0.1f32, 0.2, 0.3, 0.4];
    let code = |r: rnnkit_core::Result<(f32, Vec<f32>)>| {
        let e = r.unwrap_err();
        (e.code(), e.arg().map(str::to_owned))
    };
    let y = Some("y".to_owned());
    let mask = Some("mask".to_owned());
    // Wrong target kind for the loss.
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p, &Targets::Class(&[0, 1]), None, 2, 2)), ("ERR_RNNKIT_TYPE", y.clone()));
    assert_eq!(code(loss_and_grad(LossKind::BceWithLogits, &p, &Targets::Class(&[0, 1]), None, 2, 2)), ("ERR_RNNKIT_TYPE", y.clone()));
    assert_eq!(code(loss_and_grad(LossKind::CrossEntropy, &p, &Targets::Float(&p), None, 2, 2)), ("ERR_RNNKIT_TYPE", y.clone()));
    // Class index out of range, either side.
    assert_eq!(code(loss_and_grad(LossKind::CrossEntropy, &p, &Targets::Class(&[0, 2]), None, 2, 2)), ("ERR_RNNKIT_VALUE", y.clone()));
    assert_eq!(code(loss_and_grad(LossKind::CrossEntropy, &p, &Targets::Class(&[-1, 0]), None, 2, 2)), ("ERR_RNNKIT_VALUE", y.clone()));
    // Non-finite targets.
    let bad = [0.0f32, f32::NAN, 0.0, 0.0];
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p, &Targets::Float(&bad), None, 2, 2)), ("ERR_RNNKIT_VALUE", y.clone()));
    let inf = [0.0f32, 0.0, f32::INFINITY, 0.0];
    assert_eq!(code(loss_and_grad(LossKind::BceWithLogits, &p, &Targets::Float(&inf), None, 2, 2)), ("ERR_RNNKIT_VALUE", y.clone()));
    // Sizes.
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p, &Targets::Float(&p[..3]), None, 2, 2)), ("ERR_RNNKIT_SHAPE", y.clone()));
    assert_eq!(code(loss_and_grad(LossKind::CrossEntropy, &p, &Targets::Class(&[0]), None, 2, 2)), ("ERR_RNNKIT_SHAPE", y.clone()));
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p, &Targets::Float(&p), Some(&[1.0]), 2, 2)), ("ERR_RNNKIT_SHAPE", mask.clone()));
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p[..3], &Targets::Float(&p), None, 2, 2)).0, "ERR_RNNKIT_SHAPE");
    // Bad weights.
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p, &Targets::Float(&p), Some(&[1.0, -0.5]), 2, 2)), ("ERR_RNNKIT_VALUE", mask.clone()));
    assert_eq!(code(loss_and_grad(LossKind::Mse, &p, &Targets::Float(&p), Some(&[f32::NAN, 1.0]), 2, 2)), ("ERR_RNNKIT_VALUE", mask));
    // The message says what was expected and what came.
    let e = loss_and_grad(LossKind::Mse, &p, &Targets::Class(&[0, 1]), None, 2, 2).unwrap_err();
    assert_eq!(e.to_string(), "y: expected float targets for loss mse, got int32 class indices");
}
