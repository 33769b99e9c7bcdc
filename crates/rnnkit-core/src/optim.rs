//! Optimizers (SGD with momentum/Nesterov, Adam, AdamW, RMSprop, all with weight decay) and
//! gradient clipping, as in-place updates over the flat parameter and gradient buffers.
//! Formulas follow `torch.optim` exactly so trajectories can be compared.

use crate::real::Real;
use crate::spec::OptimSpec;

pub struct Optimizer<R: Real> {
    pub spec: OptimSpec,
    _state: Vec<R>,
}

impl<R: Real> Optimizer<R> {
    pub fn new(spec: OptimSpec, _num_params: usize) -> Self {
        Optimizer { spec, _state: Vec::new() }
    }

    /// One update: params ← update(params, grads).
    pub fn step(&mut self, _params: &mut [R], _grads: &[R]) {
        unimplemented!()
    }
}

/// Scales grads so their global L2 norm is at most `max_norm` (torch `clip_grad_norm_`); returns the
/// norm before clipping.
pub fn clip_grad_norm<R: Real>(_grads: &mut [R], _max_norm: R) -> R {
    unimplemented!()
}

/// Clamps every gradient to [−v, v] (torch `clip_grad_value_`).
pub fn clip_grad_value<R: Real>(_grads: &mut [R], _v: R) {
    unimplemented!()
}
