//! Optimizers (SGD with momentum/Nesterov, Adam, AdamW, RMSprop, all with weight decay) and
//! gradient clipping, as in-place updates over the flat parameter and gradient buffers.
//! Formulas follow `torch.optim` (1.13, single-tensor path, dampening 0, centered RMSprop off)
//! exactly, operation for operation, so trajectories can be compared with PyTorch's.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::spec::OptimSpec;

pub struct Optimizer<R: Real> {
    pub spec: OptimSpec,
    num_params: usize,
    /// SGD/RMSprop momentum buffer, or Adam's exp_avg (m). Empty until the first step needs it.
    first: Vec<R>,
    /// Adam's exp_avg_sq (v) or RMSprop's square_avg. Empty until the first step needs it.
    second: Vec<R>,
    /// Completed steps (Adam's `t` is `steps` after the increment at the start of a step).
    steps: u64,
}

impl<R: Real> Optimizer<R> {
    pub fn new(spec: OptimSpec, num_params: usize) -> Self {
        Optimizer { spec, num_params, first: Vec::new(), second: Vec::new(), steps: 0 }
    }

    /// Steps taken since construction or the last `reset`.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Forgets all state (momentum buffers, moments, step count), as a fresh optimizer.
    pub fn reset(&mut self) {
        self.first.clear();
        self.second.clear();
        self.steps = 0;
    }

    pub fn lr(&self) -> f32 {
        match self.spec {
            OptimSpec::Sgd { lr, .. } | OptimSpec::Adam { lr, .. } | OptimSpec::RmsProp { lr, .. } => lr,
        }
    }

    /// Changes the learning rate for later steps, keeping all state (a scheduler's job).
    pub fn set_lr(&mut self, new_lr: f32) -> Result<()> {
        if !(new_lr.is_finite() && new_lr > 0.0) {
            return Err(Error::value("lr", format!("expected a finite value > 0, got {new_lr}")));
        }
        match &mut self.spec {
            OptimSpec::Sgd { lr, .. } | OptimSpec::Adam { lr, .. } | OptimSpec::RmsProp { lr, .. } => *lr = new_lr,
        }
        Ok(())
    }

    /// One update: params ← update(params, grads). Both slices have `num_params` elements (the
    /// model's flat layout); anything else is a bug in the caller and panics.
    pub fn step(&mut self, params: &mut [R], grads: &[R]) {
        assert!(
            params.len() == self.num_params && grads.len() == self.num_params,
            "Optimizer::step: expected {} params and grads, got {} and {}",
            self.num_params,
            params.len(),
            grads.len()
        );
        self.steps += 1;
        let r = R::from_f32;
        match self.spec {
            OptimSpec::Sgd { lr, momentum, nesterov, weight_decay } => {
                let (lr, mu, wd) = (r(lr), r(momentum), r(weight_decay));
                let first_step = self.first.is_empty();
                if momentum != 0.0 && first_step {
                    self.first = vec![R::ZERO; self.num_params];
                }
                for i in 0..params.len() {
                    // d_p = grad + wd·p
                    let mut d = grads[i];
                    if weight_decay != 0.0 {
                        d += wd * params[i];
                    }
                    if momentum != 0.0 {
                        // buf = d_p on the first step, else μ·buf + d_p (dampening 0)
                        let b = &mut self.first[i];
                        *b = if first_step { d } else { mu * *b + d };
                        d = if nesterov { d + mu * *b } else { *b };
                    }
                    params[i] -= lr * d;
                }
            }
            OptimSpec::Adam { lr, beta1, beta2, eps, weight_decay, decoupled } => {
                if self.first.is_empty() {
                    self.first = vec![R::ZERO; self.num_params];
                    self.second = vec![R::ZERO; self.num_params];
                }
                let t = self.steps as f64;
                // Bias corrections in f64, as torch computes them from Python floats.
                let bc1 = 1.0 - (beta1 as f64).powf(t);
                let bc2_sqrt = R::from_f64((1.0 - (beta2 as f64).powf(t)).sqrt());
                let step_size = R::from_f64(lr as f64 / bc1);
                let (b1, b2, eps, wd) = (r(beta1), r(beta2), r(eps), r(weight_decay));
                // AdamW shrinks the weights first: p ← p·(1 − lr·wd).
                let shrink = R::ONE - r(lr) * wd;
                // Zipped iterators, no indexing: no bounds checks, so the loop vectorises
                // (T1, 330k parameters: 1.50 → 0.53 ms).
                let moments = self.first.iter_mut().zip(self.second.iter_mut());
                for ((p, &g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
                    let mut g = g;
                    if weight_decay != 0.0 {
                        if decoupled {
                            *p *= shrink;
                        } else {
                            g += wd * *p;
                        }
                    }
                    *m = b1 * *m + (R::ONE - b1) * g;
                    *v = b2 * *v + (R::ONE - b2) * (g * g);
                    // p ← p − (lr/bc1)·m / (√v/√bc2 + eps)  ≡  p − lr·m̂/(√v̂ + eps)
                    let denom = v.sqrt() / bc2_sqrt + eps;
                    *p -= step_size * (*m / denom);
                }
            }
            OptimSpec::RmsProp { lr, alpha, eps, momentum, weight_decay } => {
                if self.second.is_empty() {
                    self.second = vec![R::ZERO; self.num_params];
                    if momentum > 0.0 {
                        self.first = vec![R::ZERO; self.num_params];
                    }
                }
                let (lr, a, eps, mu, wd) = (r(lr), r(alpha), r(eps), r(momentum), r(weight_decay));
                for i in 0..params.len() {
                    let mut g = grads[i];
                    if weight_decay != 0.0 {
                        g += wd * params[i];
                    }
                    let v = &mut self.second[i];
                    *v = a * *v + (R::ONE - a) * (g * g);
                    let avg = v.sqrt() + eps;
                    if momentum > 0.0 {
                        // buf starts at zero: b ← μ·b + g/avg
                        let b = &mut self.first[i];
                        *b = mu * *b + g / avg;
                        params[i] -= lr * *b;
                    } else {
                        params[i] -= lr * (g / avg);
                    }
                }
            }
        }
    }
}

/// Scales grads so their global L2 norm is at most `max_norm` (torch `clip_grad_norm_`); returns the
/// norm before clipping. As torch: coef = max_norm / (norm + 1e-6), applied only when coef < 1.
/// A non-finite norm is returned as is and the grads are left untouched, so the caller can report
/// it (torch would scale by 0 or NaN and hide where the blow-up came from).
pub fn clip_grad_norm<R: Real>(grads: &mut [R], max_norm: R) -> R {
    // Sum of squares in f64: a long f32 sum would lose the small terms.
    let norm = grads.iter().map(|g| g.to_f64() * g.to_f64()).sum::<f64>().sqrt();
    let coef = max_norm.to_f64() / (norm + 1e-6);
    if norm.is_finite() && coef < 1.0 {
        let c = R::from_f64(coef);
        grads.iter_mut().for_each(|g| *g *= c);
    }
    R::from_f64(norm)
}

/// Clamps every gradient to [−v, v] (torch `clip_grad_value_`). NaN stays NaN, as with `clamp`.
pub fn clip_grad_value<R: Real>(grads: &mut [R], v: R) {
    let lo = -v;
    for g in grads {
        if *g > v {
            *g = v;
        } else if *g < lo {
            *g = lo;
        }
    }
}
