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


/// Φ(x), the standard normal CDF, to double precision: erfc by its Taylor series below 1.5 and
/// its continued fraction above, together within 6e-14 relative of erfc (switching at 3 instead, the
/// series' cancellation cost 1e-9 relative in the tail that GELU(x < −4) reads).
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 1.5 {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)); about 30 terms converge for x < 1.5.
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
    // 200/x² + 10 terms reach 5e-15 relative for every x ≥ 1.5 (76 are needed at 1.5, 26 at 3, 9 at 10).
    for k in (1..(200.0 / (x * x)) as usize + 10).rev() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (x, gelu(x), gelu'(x)) from torch 1.13 in float64: `F.gelu(x)` and its autograd gradient.
    const TORCH_GELU: &[(f64, f64, f64)] = &[
        (-9.0, -0.0, -9.251796214502024e-18),
        (-5.5, -1.0444259362918373e-07, -5.733472398618467e-07),
        (-4.16, -6.619549963144067e-05, -0.0002739154624568353),
        (-3.0, -0.00404969409489031, -0.01194564720418392),
        (-2.1, -0.037515283181914785, -0.07450113099608054),
        (-1.0, -0.15865525393145702, -0.08331547058768635),
        (-0.3, -0.1146265733433142, 0.26767223317289013),
        (-0.001, -0.000499601057786089, 0.4992021157051586),
        (0.0, 0.0, 0.5),
        (0.0002, 0.00010001595769110968, 0.5001595769100329),
        (0.7, 0.5306254434438489, 0.9766141011336599),
        (1.06, 0.9067533623562558, 1.0965455107409194),
        (2.12, 2.0839535919870187, 1.0723891241113204),
        (3.0, 2.99595030590511, 1.011945647204184),
        (4.5, 4.4999847104709385, 1.0000685291618563),
        (8.0, 7.999999999999995, 1.0000000000000397),
    ];

    #[test]
    fn gelu_matches_torch_to_1e12() {
        // torch computes 0.5·x·(1 + erf(x/√2)), whose tail cancels (gelu(−9) is −0 there, −1e-18
        // here): absolute 1e-12 is the bar, relative 1e-12 where the value is not a cancelled tail.
        for &(x, y, g) in TORCH_GELU {
            let (gy, gg) = (gelu(x), gelu_grad(x));
            assert!((gy - y).abs() <= 1e-12 * (1.0 + y.abs()), "gelu({x}) = {gy}, torch {y}");
            assert!((gg - g).abs() <= 1e-12 * (1.0 + g.abs()), "gelu'({x}) = {gg}, torch {g}");
        }
    }
}
