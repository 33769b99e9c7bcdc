//! The activations a recurrent cell may apply to its gates and candidate (ONNX's f, g, h; Keras's
//! `recurrent_activation` and `activation`), written once over `Real`: the value in place, and the
//! derivative read from the output (a cell's BPTT keeps activated gates, not pre-activations). Not
//! `layers::activation`: that one also holds softmax (per row) and GELU (derivative from the input).
//! `Clipped` adds ONNX's cell clip, which bounds an activation's input to [−clip, clip].

use crate::real::Real;

/// Keras-2 / TF.js / ONNX HardSigmoid: clamp(ALPHA·x + BETA, 0, 1).
const HARD_SIGMOID_ALPHA: f64 = 0.2;
const HARD_SIGMOID_BETA: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateActivation {
    Sigmoid,
    /// clamp(0.2·x + 0.5, 0, 1), as Keras 2, TF.js and ONNX (alpha 0.2, beta 0.5) define it.
    HardSigmoid,
    Tanh,
    Relu,
    /// x / (1 + |x|).
    Softsign,
    /// ln(1 + eˣ).
    Softplus,
    /// x for x ≥ 0, eˣ − 1 below (ONNX Elu, alpha 1).
    Elu,
}

impl GateActivation {
    /// Config names (snake_case, as Keras spells them).
    pub const NAMES: &'static [(&'static str, GateActivation)] = &[
        ("sigmoid", GateActivation::Sigmoid),
        ("hard_sigmoid", GateActivation::HardSigmoid),
        ("tanh", GateActivation::Tanh),
        ("relu", GateActivation::Relu),
        ("softsign", GateActivation::Softsign),
        ("softplus", GateActivation::Softplus),
        ("elu", GateActivation::Elu),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, a)| *a == self).map(|(n, _)| *n).expect("every activation is named")
    }

    /// In place, element-wise. Sigmoid and tanh go through the kernel table in f32 (the same
    /// approximation as the fused cell kernels); NaN stays NaN.
    pub fn apply<R: Real>(self, xs: &mut [R]) {
        match self {
            GateActivation::Sigmoid => R::sigmoid_slice(xs),
            GateActivation::Tanh => R::tanh_slice(xs),
            other => xs.iter_mut().for_each(|x| *x = other.value(*x)),
        }
    }

    /// The activation of one value.
    pub fn value<R: Real>(self, x: R) -> R {
        match self {
            GateActivation::Sigmoid => x.sigmoid(),
            GateActivation::Tanh => x.tanh(),
            // Comparisons written so that NaN falls through unchanged (like torch).
            GateActivation::HardSigmoid => {
                let v = R::from_f64(HARD_SIGMOID_ALPHA) * x + R::from_f64(HARD_SIGMOID_BETA);
                if v < R::ZERO { R::ZERO } else if v > R::ONE { R::ONE } else { v }
            }
            GateActivation::Relu => {
                if x < R::ZERO { R::ZERO } else { x }
            }
            GateActivation::Softsign => x / (R::ONE + x.abs()),
            // In f64 for ln_1p / exp_m1, which keep the small tails exact.
            GateActivation::Softplus => {
                let v = x.to_f64();
                R::from_f64(if v > 0.0 { v + (-v).exp().ln_1p() } else { v.exp().ln_1p() })
            }
            GateActivation::Elu => {
                if x < R::ZERO { R::from_f64(x.to_f64().exp_m1()) } else { x }
            }
        }
    }

    /// `d` · act'(x) for the x whose activation is `y`: a gradient through the activation. Sigmoid
    /// multiplies left to right, d·y·(1 − y), as the cells did before options existed, so the f64
    /// reference path (and the training histories recorded from it) keeps its roundings.
    pub fn backprop<R: Real>(self, d: R, y: R) -> R {
        match self {
            GateActivation::Sigmoid => d * y * (R::ONE - y),
            other => d * other.derivative(y),
        }
    }

    /// d act / dx at the x whose activation is `y`.
    pub fn derivative<R: Real>(self, y: R) -> R {
        match self {
            GateActivation::Sigmoid => y * (R::ONE - y),
            GateActivation::Tanh => R::ONE - y * y,
            GateActivation::HardSigmoid => {
                if y > R::ZERO && y < R::ONE { R::from_f64(HARD_SIGMOID_ALPHA) } else { R::ZERO }
            }
            GateActivation::Relu => {
                if y > R::ZERO { R::ONE } else { R::ZERO }
            }
            // 1/(1+|x|)² and |y| = |x|/(1+|x|), so 1/(1+|x|) = 1 − |y|.
            GateActivation::Softsign => {
                let s = R::ONE - y.abs();
                s * s
            }
            // σ(x) = 1 − e^{−y}.
            GateActivation::Softplus => R::from_f64(-(-y.to_f64()).exp_m1()),
            GateActivation::Elu => {
                if y > R::ZERO { R::ONE } else { y + R::ONE }
            }
        }
    }
}

/// An activation whose input is first clamped to [−clip, clip] when `clip` is set (ONNX's `clip`),
/// over one gate block of `hidden` values at a time. The gradient of a clamped input is 0, and
/// BPTT, which keeps only outputs, recognises one by its output: act(±clip) exactly, computed here
/// once per position of the block by the same slice call as the block itself (the kernel table's
/// f32 result for an element depends on its value and its position in the slice only, never its
/// neighbours). An unclamped input whose output equals act(±clip) lies where the activation is flat
/// up to ±clip, so its derivative is 0 anyway (or within a rounding of it).
#[derive(Debug, Clone)]
pub struct Clipped<R> {
    act: GateActivation,
    /// (clip, act(−clip) per position, act(clip) per position).
    clip: Option<(R, Vec<R>, Vec<R>)>,
}

impl<R: Real> Clipped<R> {
    pub fn new(act: GateActivation, clip: Option<f64>, hidden: usize) -> Self {
        let clip = clip.map(|c| {
            let c = R::from_f64(c);
            let (mut lo, mut hi) = (vec![-c; hidden], vec![c; hidden]);
            act.apply(&mut lo);
            act.apply(&mut hi);
            (c, lo, hi)
        });
        Clipped { act, clip }
    }

    /// One gate block ([hidden]) in place.
    pub fn apply(&self, xs: &mut [R]) {
        if let Some((c, _, _)) = &self.clip {
            let c = *c;
            // NaN stays NaN.
            xs.iter_mut().for_each(|x| *x = if *x < -c { -c } else if *x > c { c } else { *x });
        }
        self.act.apply(xs);
    }

    /// `GateActivation::backprop` for position `j` of a block, 0 for a clamped input.
    pub fn backprop(&self, j: usize, d: R, y: R) -> R {
        match &self.clip {
            Some((_, lo, hi)) if y == lo[j] || y == hi[j] => R::ZERO,
            _ => self.act.backprop(d, y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each derivative, read from the output, equals the central difference of the value in f64,
    /// at points away from the kinks (relu 0, hard sigmoid ±2.5, elu 0).
    #[test]
    fn derivatives_match_finite_differences() {
        let xs = [-3.7, -2.0, -0.6, -0.05, 0.3, 1.1, 2.2, 4.5];
        for &(name, act) in GateActivation::NAMES {
            for &x in &xs {
                let eps = 1e-6;
                let fd = (act.value(x + eps) - act.value(x - eps)) / (2.0 * eps);
                let d = act.derivative(act.value(x));
                assert!((d - fd).abs() < 1e-7, "{name}'({x}) = {d}, finite difference {fd}");
            }
        }
    }

    #[test]
    fn values_match_their_definitions() {
        for x in [-4.0f64, -1.5, -0.2, 0.0, 0.7, 3.0, 30.0] {
            assert_eq!(GateActivation::HardSigmoid.value(x), (0.2 * x + 0.5f64).clamp(0.0, 1.0));
            assert!((GateActivation::Softplus.value(x) - (1.0 + x.exp()).ln()).abs() < 1e-12 * (1.0 + x.abs()));
            assert!((GateActivation::Elu.value(x) - if x >= 0.0 { x } else { x.exp() - 1.0 }).abs() < 1e-15);
            assert!((GateActivation::Softsign.value(x) - x / (1.0 + x.abs())).abs() < 1e-15);
        }
        assert!(GateActivation::Relu.value(f64::NAN).is_nan() && GateActivation::HardSigmoid.value(f64::NAN).is_nan());
    }

    /// A clamped input gets gradient 0, an unclamped one the activation's, in f32 too (where
    /// sigmoid is the kernel table's approximation, SIMD lanes and scalar tail alike).
    #[test]
    fn clip_zeroes_the_gradient_of_clamped_inputs() {
        fn check<R: Real>() {
            // 37 values: clamped ones in SIMD lanes and in the scalar tail of every ISA.
            let xs: Vec<f64> = (0..37).map(|j| [-3.0, -1.0, 0.4, 1.5, 2.0, 9.0, -1.5][j % 7]).collect();
            let c = Clipped::<R>::new(GateActivation::Sigmoid, Some(1.5), xs.len());
            let mut v: Vec<R> = xs.iter().map(|&x| R::from_f64(x)).collect();
            c.apply(&mut v);
            for (j, (&x, &y)) in xs.iter().zip(&v).enumerate() {
                let d = c.backprop(j, R::ONE, y).to_f64();
                // Exactly at the bound counts as clamped (measure zero in practice).
                if x.abs() >= 1.5 {
                    assert_eq!(d, 0.0, "x = {x} at {j}");
                } else {
                    assert!(d > 0.1, "x = {x} at {j}: {d}");
                }
            }
        }
        check::<f32>();
        check::<f64>();
    }
}
