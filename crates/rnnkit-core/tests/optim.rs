//! Optimizers and clipping against two oracles: a straightforward f64 transcription of the
//! torch.optim 1.13 formulas written here, and trajectories computed with PyTorch itself
//! (hard-coded below with the snippet that produced them).

mod common;

use common::assert_close;
use rnnkit_core::optim::{clip_grad_norm, clip_grad_value, Optimizer};
use rnnkit_core::spec::OptimSpec;

/// f64 optimizer vs the f64 formulas: only operation order differs (a few ulps over 5 steps).
const TOL_F64: f64 = 1e-12;
/// f32 optimizer vs f64 truth: f32 rounding of params of size ~1 over 5 steps; Adam/RMSprop divide
/// by √v, which amplifies the relative error of tiny v, hence the margin.
const TOL_F32: f64 = 2e-6;

const P0: [f64; 4] = [0.5, -1.0, 2.0, 0.0];
/// One gradient per step; element 3 starts at exactly 0 to exercise eps on the first Adam/RMSprop step.
const G: [[f64; 4]; 5] = [
    [0.1, -0.2, 0.3, 0.0],
    [0.4, 0.1, -0.5, 0.2],
    [-0.3, 0.2, 0.1, -0.1],
    [0.2, -0.4, 0.0, 0.3],
    [0.05, 0.3, -0.2, -0.25],
];

fn sgd(lr: f32, momentum: f32, nesterov: bool, weight_decay: f32) -> OptimSpec {
    OptimSpec::Sgd { lr, momentum, nesterov, weight_decay }
}
fn adam(weight_decay: f32, decoupled: bool) -> OptimSpec {
    OptimSpec::Adam { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, decoupled }
}
fn rmsprop(momentum: f32, weight_decay: f32) -> OptimSpec {
    OptimSpec::RmsProp { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum, weight_decay }
}

// Values from PyTorch 1.13 (float64, hyperparameters rounded to f32 as OptimSpec stores them):
//   import torch
//   f = lambda x: torch.tensor(x, dtype=torch.float32).item()
//   P0 = [0.5, -1.0, 2.0, 0.0]
//   G = [[0.1,-0.2,0.3,0.0],[0.4,0.1,-0.5,0.2],[-0.3,0.2,0.1,-0.1],[0.2,-0.4,0.0,0.3],[0.05,0.3,-0.2,-0.25]]
//   def run(make):
//       p = torch.tensor(P0, dtype=torch.float64, requires_grad=True); opt = make([p])
//       for g in G:
//           p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
//       return p.detach().tolist()
//   O = torch.optim
//   run(lambda ps: O.SGD(ps, lr=f(0.1)))                                              # "sgd"
//   run(lambda ps: O.SGD(ps, lr=f(0.1), momentum=f(0.9)))                             # "sgd_momentum"
//   run(lambda ps: O.SGD(ps, lr=f(0.1), momentum=f(0.9), nesterov=True))              # "sgd_nesterov"
//   run(lambda ps: O.SGD(ps, lr=f(0.1), momentum=f(0.9), weight_decay=f(0.01)))       # "sgd_momentum_wd"
//   run(lambda ps: O.Adam(ps, lr=f(0.01), betas=(f(0.9), f(0.999)), eps=f(1e-8)))     # "adam"
//   run(lambda ps: O.Adam(ps, lr=f(0.01), betas=(f(0.9), f(0.999)), eps=f(1e-8), weight_decay=f(0.1)))  # "adam_wd"
//   run(lambda ps: O.AdamW(ps, lr=f(0.01), betas=(f(0.9), f(0.999)), eps=f(1e-8), weight_decay=f(0.1))) # "adamw"
//   run(lambda ps: O.RMSprop(ps, lr=f(0.01), alpha=f(0.99), eps=f(1e-8)))             # "rmsprop"
//   run(lambda ps: O.RMSprop(ps, lr=f(0.01), alpha=f(0.99), eps=f(1e-8), momentum=f(0.9), weight_decay=f(0.01)))
#[rustfmt::skip]
fn cases() -> Vec<(&'static str, OptimSpec, [f64; 4])> {
    vec![
        ("sgd", sgd(0.1, 0.0, false, 0.0), [0.45499999932944774, -1.0, 2.030000000447035, -0.01500000022351742]),
        ("sgd_momentum", sgd(0.1, 0.9, false, 0.0), [0.3597890033146888, -0.9606880016701221, 2.0419970008852038, -0.0736799985563755]),
        ("sgd_nesterov", sgd(0.1, 0.9, true, 0.0), [0.3288101056555583, -0.9646192024403809, 2.0677973002424315, -0.0813119971675873]),
        ("sgd_momentum_wd", sgd(0.1, 0.9, false, 0.01), [0.35367101624743635, -0.9477918004589512, 2.0158722489650485, -0.07350750253909354]),
        ("adam", adam(0.0, false), [0.4725001818452429, -0.987161187812497, 1.9975463387234578, -0.016535802786381785]),
        ("adam_wd", adam(0.1, false), [0.4677496457197351, -0.9711948184555873, 1.974680952947352, -0.016457076878948308]),
        ("adamw", adam(0.1, true), [0.4700786249929886, -0.9822169601036879, 1.9875942027969407, -0.0165031509760598]),
        ("rmsprop", rmsprop(0.0, 0.0), [0.3160090694550814, -0.9833905404550654, 2.001349735961851, -0.0796628924010086]),
        ("rmsprop_momentum_wd", rmsprop(0.9, 0.01), [-0.1634431454612504, -0.7989504809940976, 1.846039108785129, -0.31733622383835697]),
    ]
}

/// The formulas of the torch.optim docs, one element at a time, in f64, with no shared code.
fn reference(spec: OptimSpec, p0: &[f64], grads: &[[f64; 4]]) -> Vec<f64> {
    let mut p = p0.to_vec();
    let n = p.len();
    let (mut buf, mut m, mut v) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for (step, g_t) in grads.iter().enumerate() {
        let t = (step + 1) as i32;
        for i in 0..n {
            let mut g = g_t[i];
            match spec {
                OptimSpec::Sgd { lr, momentum, nesterov, weight_decay } => {
                    let (lr, mu, wd) = (lr as f64, momentum as f64, weight_decay as f64);
                    g += wd * p[i];
                    if mu != 0.0 {
                        buf[i] = if t == 1 { g } else { mu * buf[i] + g };
                        g = if nesterov { g + mu * buf[i] } else { buf[i] };
                    }
                    p[i] -= lr * g;
                }
                OptimSpec::Adam { lr, beta1, beta2, eps, weight_decay, decoupled } => {
                    let (lr, b1, b2, eps, wd) = (lr as f64, beta1 as f64, beta2 as f64, eps as f64, weight_decay as f64);
                    if decoupled {
                        p[i] *= 1.0 - lr * wd;
                    } else {
                        g += wd * p[i];
                    }
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    let m_hat = m[i] / (1.0 - b1.powi(t));
                    let v_hat = v[i] / (1.0 - b2.powi(t));
                    p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
                }
                OptimSpec::RmsProp { lr, alpha, eps, momentum, weight_decay } => {
                    let (lr, a, eps, mu, wd) = (lr as f64, alpha as f64, eps as f64, momentum as f64, weight_decay as f64);
                    g += wd * p[i];
                    v[i] = a * v[i] + (1.0 - a) * g * g;
                    if mu > 0.0 {
                        buf[i] = mu * buf[i] + g / (v[i].sqrt() + eps);
                        p[i] -= lr * buf[i];
                    } else {
                        p[i] -= lr * g / (v[i].sqrt() + eps);
                    }
                }
            }
        }
    }
    p
}

fn run<R: rnnkit_core::real::Real>(spec: OptimSpec) -> Vec<R> {
    let mut p: Vec<R> = P0.iter().map(|&x| R::from_f64(x)).collect();
    let mut opt = Optimizer::<R>::new(spec, p.len());
    for g in &G {
        let g: Vec<R> = g.iter().map(|&x| R::from_f64(x)).collect();
        opt.step(&mut p, &g);
    }
    assert_eq!(opt.steps(), G.len() as u64);
    p
}

#[test]
fn matches_formulas_in_f64() {
    for (name, spec, _) in cases() {
        let want = reference(spec, &P0, &G);
        assert_close(&run::<f64>(spec), &want, TOL_F64, TOL_F64, &format!("{name} vs formulas"));
    }
}

#[test]
fn matches_pytorch_trajectories() {
    for (name, spec, torch) in cases() {
        assert_close(&run::<f64>(spec), &torch, TOL_F64, TOL_F64, &format!("{name} f64 vs torch"));
        assert_close(&run::<f32>(spec), &torch.map(|x| x as f32), TOL_F32, TOL_F32, &format!("{name} f32 vs torch"));
        // The formulas agree with torch too, so the oracles confirm each other.
        assert_close(&reference(spec, &P0, &G), &torch, TOL_F64, TOL_F64, &format!("{name} formulas vs torch"));
    }
}

#[test]
fn every_configuration_moves_the_params() {
    // Guards against a case silently doing nothing (which both oracles would have to share).
    for (name, spec, _) in cases() {
        let p = run::<f64>(spec);
        assert!(p.iter().zip(&P0).any(|(a, b)| (a - b).abs() > 1e-3), "{name}: params barely moved: {p:?}");
    }
}

#[test]
fn sgd_first_step_is_lr_times_grad() {
    // torch starts the momentum buffer at g itself, so step 1 is p − lr·g with momentum, and
    // p − lr·(g + μ·g) = p − lr·(1+μ)·g with Nesterov.
    for (nesterov, factor) in [(false, 1.0), (true, 1.5)] {
        let mut p = vec![1.0f64, -2.0];
        let mut opt = Optimizer::<f64>::new(sgd(0.5, 0.5, nesterov, 0.0), 2);
        opt.step(&mut p, &[0.25, 1.0]);
        assert_close(&p, &[1.0 - 0.5 * 0.25 * factor, -2.0 - 0.5 * factor], 1e-15, 0.0, "sgd step 1");
    }
}

#[test]
fn adam_first_step_is_lr_times_sign() {
    // Bias correction makes step 1 exactly m̂/√v̂ = g/|g|, so each param moves by lr (eps aside).
    let mut p = vec![0.0f64, 0.0, 0.0];
    let mut opt = Optimizer::<f64>::new(adam(0.0, false), 3);
    opt.step(&mut p, &[3.0, -0.5, 0.0]);
    assert_close(&p, &[-0.01, 0.01, 0.0], 1e-9, 0.0, "adam step 1");
}

#[test]
fn set_lr_and_reset() {
    let spec = adam(0.0, false);
    let mut a = Optimizer::<f64>::new(spec, 4);
    assert_eq!(a.lr(), 0.01);
    assert_eq!(a.set_lr(0.0).unwrap_err().arg(), Some("lr"));
    assert_eq!(a.set_lr(f32::NAN).unwrap_err().arg(), Some("lr"));
    a.set_lr(0.02).unwrap();
    assert_eq!(a.lr(), 0.02);

    // Halving lr after two steps keeps the moments and t: compare with the formulas applied piecewise.
    let mut p = P0.to_vec();
    let mut opt = Optimizer::<f64>::new(spec, 4);
    for (t, g) in G.iter().enumerate() {
        if t == 2 {
            opt.set_lr(0.005).unwrap();
        }
        opt.step(&mut p, g);
    }
    let mut want = P0.to_vec();
    let (mut m, mut v) = ([0.0f64; 4], [0.0f64; 4]);
    let (b1, b2, eps) = (0.9f32 as f64, 0.999f32 as f64, 1e-8f32 as f64);
    for (t, g) in G.iter().enumerate() {
        let lr = if t < 2 { 0.01f32 as f64 } else { 0.005f32 as f64 };
        let k = (t + 1) as i32;
        for i in 0..4 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            want[i] -= lr * (m[i] / (1.0 - b1.powi(k))) / ((v[i] / (1.0 - b2.powi(k))).sqrt() + eps);
        }
    }
    assert_close(&p, &want, TOL_F64, TOL_F64, "adam with lr change");

    // reset() forgets moments and t: the next step is a first step again (each param moves by lr).
    opt.reset();
    assert_eq!(opt.steps(), 0);
    let mut z = vec![0.0f64; 4];
    opt.step(&mut z, &[1.0, -1.0, 2.0, 0.0]);
    assert_close(&z, &[-0.005, 0.005, -0.005, 0.0], 1e-9, 0.0, "adam after reset");
}

// PyTorch 1.13:
//   g = torch.tensor([3.0, -4.0, 12.0], dtype=torch.float64, requires_grad=True); g.grad = g.detach().clone()
//   torch.nn.utils.clip_grad_norm_([g], 6.5)   # -> 13.0, g.grad = [1.4999998846153937, -1.9999998461538582, 5.999999538461575]
//   g.grad = torch.tensor([3.0, -4.0, 12.0], dtype=torch.float64); torch.nn.utils.clip_grad_value_([g], 3.5)
//                                              # -> [3.0, -3.5, 3.5]
#[test]
fn clip_grad_norm_matches_torch() {
    let mut g = vec![3.0f64, -4.0, 12.0]; // ‖g‖ = 13
    let norm = clip_grad_norm(&mut g, 6.5);
    assert_eq!(norm, 13.0);
    assert_close(&g, &[1.4999998846153937, -1.9999998461538582, 5.999999538461575], 1e-15, 1e-14, "clipped");
    let after = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(after <= 6.5, "norm after clipping {after} > 6.5");

    // f32: same result, and the norm after clipping is at most max_norm.
    let mut g32 = vec![3.0f32, -4.0, 12.0];
    assert_eq!(clip_grad_norm(&mut g32, 6.5f32), 13.0);
    let after32 = g32.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
    assert!(after32 <= 6.5 + 1e-6, "f32 norm after clipping {after32}");

    // Below the threshold nothing changes, but the norm is still reported.
    let mut small = vec![0.3f64, 0.4];
    assert!((clip_grad_norm(&mut small, 1.0) - 0.5).abs() < 1e-15);
    assert_eq!(small, vec![0.3, 0.4]);

    // Empty and all-zero gradients: norm 0, untouched, no NaN.
    let mut zeros = vec![0.0f64; 3];
    assert_eq!(clip_grad_norm(&mut zeros, 1.0), 0.0);
    assert_eq!(zeros, vec![0.0; 3]);
    assert_eq!(clip_grad_norm::<f64>(&mut [], 1.0), 0.0);

    // A non-finite norm is reported and the grads are left for the caller to judge.
    let mut bad = vec![f64::INFINITY, 1.0];
    assert!(!clip_grad_norm(&mut bad, 1.0).is_finite());
    assert_eq!(bad[1], 1.0);
}

#[test]
fn clip_grad_value_clamps() {
    let mut g = vec![3.0f64, -4.0, 12.0];
    clip_grad_value(&mut g, 3.5);
    assert_eq!(g, vec![3.0, -3.5, 3.5]);
    let mut g32 = vec![-0.1f32, 0.1, 7.0, -7.0, f32::NAN];
    clip_grad_value(&mut g32, 0.5);
    assert_eq!(&g32[..4], &[-0.1, 0.1, 0.5, -0.5]);
    assert!(g32[4].is_nan(), "clamp keeps NaN, as torch.clamp does");
}
