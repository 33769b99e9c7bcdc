//! Element-wise activations: the `Dense` layer's output activation and the activation layers
//! (`ReLU`, `GELU`, `Tanh`, `Sigmoid`). Softmax is per row of `units` values.

use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Sigmoid,
    Tanh,
    Softmax,
    Relu,
    /// The exact GELU, x·Φ(x) (PyTorch's default `approximate='none'`).
    Gelu,
}

impl Activation {
    pub const NAMES: &'static [(&'static str, Activation)] = &[
        ("identity", Activation::Identity),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("softmax", Activation::Softmax),
        ("relu", Activation::Relu),
        ("gelu", Activation::Gelu),
    ];
    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, a)| *a == self).map(|(n, _)| *n).unwrap_or("identity")
    }
}

/// In place: y ← act(y) for rows of `units` values. Softmax subtracts each row's max before `exp`,
/// so large logits cannot overflow.
pub fn activation_forward<R: Real>(act: Activation, y: &mut [R], units: usize) {
    match act {
        Activation::Identity => {}
        Activation::Sigmoid => R::sigmoid_slice(y),
        Activation::Tanh => R::tanh_slice(y),
        Activation::Relu => y.iter_mut().for_each(|v| *v = v.max(R::ZERO)),
        Activation::Gelu => y.iter_mut().for_each(|v| *v = gelu(*v)),
        Activation::Softmax => {
            if units == 0 {
                return;
            }
            for row in y.chunks_exact_mut(units) {
                let max = row.iter().fold(row[0], |m, &v| m.max(v));
                let mut sum = R::ZERO;
                for v in row.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                // sum ≥ 1 (the max element contributes e^0), so the division is safe.
                let inv = R::ONE / sum;
                for v in row.iter_mut() {
                    *v *= inv;
                }
            }
        }
    }
}

/// dL/dz from dL/dy for `act`, using y = act(z) (GELU also reads z). Softmax uses the full per-row Jacobian:
/// ∂y_i/∂z_j = y_i(δ_ij − y_j), so dz = y ⊙ (dy − Σ_j y_j·dy_j).
pub fn activation_backward<R: Real>(act: Activation, z: &[R], y: &[R], dy: &[R], units: usize, dz: &mut [R]) {
    assert!(dy.len() == y.len() && dz.len() == y.len(), "activation_backward: dy, dz must be shaped like y");
    match act {
        Activation::Identity => dz.copy_from_slice(dy),
        Activation::Sigmoid => {
            for ((d, &yv), &g) in dz.iter_mut().zip(y).zip(dy) {
                *d = g * yv * (R::ONE - yv);
            }
        }
        Activation::Tanh => {
            for ((d, &yv), &g) in dz.iter_mut().zip(y).zip(dy) {
                *d = g * (R::ONE - yv * yv);
            }
        }
        Activation::Relu => {
            for ((d, &yv), &g) in dz.iter_mut().zip(y).zip(dy) {
                *d = if yv > R::ZERO { g } else { R::ZERO };
            }
        }
        Activation::Gelu => {
            for ((d, &zv), &g) in dz.iter_mut().zip(z).zip(dy) {
                *d = g * gelu_grad(zv);
            }
        }
        Activation::Softmax => {
            if units == 0 {
                return;
            }
            for ((dzr, yr), dyr) in dz.chunks_exact_mut(units).zip(y.chunks_exact(units)).zip(dy.chunks_exact(units)) {
                let mut s = R::ZERO;
                for (&yv, &g) in yr.iter().zip(dyr) {
                    s += yv * g;
                }
                for ((d, &yv), &g) in dzr.iter_mut().zip(yr).zip(dyr) {
                    *d = yv * (g - s);
                }
            }
        }
    }
}


/// Φ(x), the standard normal CDF, to double precision (erfc by W. J. Cody's rational fits is
/// overkill here; a series and a continued fraction meet at |x| = 3 within 1e-15).
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 3.0 {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)); 60 terms converge for x < 3.
        let (mut term, mut sum, x2) = (x, x, x * x);
        for n in 1..80 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // Lentz-free continued fraction, evaluated bottom-up: erfc(x) = e^{-x²}/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))).
    let mut f = x;
    for k in (1..60).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

fn gelu<R: Real>(x: R) -> R {
    let v = x.to_f64();
    R::from_f64(v * normal_cdf(v))
}

/// d GELU / dx = Φ(x) + x·φ(x).
fn gelu_grad<R: Real>(x: R) -> R {
    let v = x.to_f64();
    let pdf = (-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt();
    R::from_f64(normal_cdf(v) + v * pdf)
}
