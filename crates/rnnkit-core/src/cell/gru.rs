//! GRU cell, PyTorch's gate order r, z, n: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
//! n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h' = (1−z)⊙n + z⊙h. Because b_hn sits inside r⊙(…),
//! n is an apart gate (`Cell::apart_gates`): its hidden-side pre-activation arrives apart (`gh`,
//! `b_hh_apart`), is kept as aux, and BPTT writes its hidden-side gradient to `dgh` (r's and z's
//! hidden-side gradients are their input-side ones). In f32 the steps run the kernel table's fused
//! kernels (kernels/cells.rs); the generic versions here are their reference, and serve other
//! gate / candidate activations (`CellOptions`: ONNX's f and g) in f32 as well.

use super::activation::GateActivation;
use super::{carry_inactive, Cell, RowStep, StepBackward, StepForward};
use crate::kernels::kernels;
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gru;

/// Both GRU forms' gate blocks, for traces.
pub(super) const GATE_PANELS: &[(&str, &str)] = &[("r (reset)", "sigmoid"), ("z (update)", "sigmoid"), ("n (candidate)", "tanh")];

/// h' = (1−z)⊙n + z⊙h for one row, from its activated gates [r z n] (both GRU forms).
pub(super) fn blend<R: Real>(gate: &[R], h_prev: &[R], h: &mut [R]) {
    let hd = h.len();
    for (j, (out, hp)) in h.iter_mut().zip(h_prev).enumerate() {
        let (z, n) = (gate[hd + j], gate[2 * hd + j]);
        *out = (R::ONE - z) * n + z * *hp;
    }
}

impl Cell for Gru {
    fn name(&self) -> &'static str {
        "gru"
    }
    fn layer_type(&self) -> &'static str {
        "GRU"
    }
    fn reset_after(&self) -> Option<bool> {
        Some(true)
    }
    fn gates(&self) -> usize {
        3
    }
    /// W_hn·h_{t−1} + b_hn.
    fn aux_width(&self, hidden: usize) -> usize {
        hidden
    }
    fn apart_gates(&self) -> usize {
        1
    }
    fn gate_panels(&self) -> &'static [(&'static str, &'static str)] {
        GATE_PANELS
    }
    /// h is a convex mix of h_0 and tanh values: it stays in (−1, 1).
    fn hidden_activation(&self) -> &'static str {
        "tanh"
    }
    fn takes_options(&self) -> bool {
        true
    }
    fn has_row_step(&self) -> bool {
        true
    }
    fn row_step(&self, s: RowStep<'_>) {
        (kernels().gru_row_step)(s.hidden, s.active, s.reverse, s.w, s.b_hh_apart, s.gates, s.h_prev, s.h, s.aux)
    }

    fn forward_f32(&self, s: StepForward<'_, f32>) {
        if !s.options.is_default() {
            return self.forward_generic(s);
        }
        let b_hn = s.b_hh_apart.unwrap_or(&[]);
        (kernels().gru_forward)(s.batch, s.hidden, s.active, s.gates, s.gh, b_hn, s.h_prev, s.h, s.aux)
    }

    fn backward_f32(&self, s: StepBackward<'_, f32>) {
        if !s.options.is_default() {
            return self.backward_generic(s);
        }
        (kernels().gru_backward)(s.batch, s.hidden, s.active, s.gates, s.aux, s.h_prev, s.dh, s.dgx, s.dgh, s.dh_prev)
    }

    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>) {
        let hd = s.hidden;
        let gs = 3 * hd;
        let (gate_act, cand) = (s.options.gate(), s.options.candidate(GateActivation::Tanh));
        for b in 0..s.batch {
            let gate = &mut s.gates[b * gs..(b + 1) * gs];
            let gh = &s.gh[b * gs..(b + 1) * gs];
            for j in 0..2 * hd {
                gate[j] += gh[j];
            }
            gate_act.apply(&mut gate[..2 * hd]); // r, z
            let hn = &mut s.aux[b * hd..(b + 1) * hd];
            for j in 0..hd {
                hn[j] = gh[2 * hd + j] + s.b_hh_apart.map_or(R::ZERO, |bn| bn[j]);
                gate[2 * hd + j] += gate[j] * hn[j];
            }
            cand.apply(&mut gate[2 * hd..]); // n
            blend(gate, &s.h_prev[b * hd..(b + 1) * hd], &mut s.h[b * hd..(b + 1) * hd]);
        }
        carry_inactive(s.active, hd, s.h_prev, s.h);
    }

    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>) {
        let hd = s.hidden;
        let gs = 3 * hd;
        let (gate_act, cand) = (s.options.gate(), s.options.candidate(GateActivation::Tanh));
        for b in 0..s.batch {
            let rows = b * hd..(b + 1) * hd;
            let (dgx, dgh) = (&mut s.dgx[b * gs..(b + 1) * gs], &mut s.dgh[rows.clone()]);
            if !s.active[b] {
                dgx.fill(R::ZERO);
                dgh.fill(R::ZERO);
                s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
                continue;
            }
            let gate = &s.gates[b * gs..(b + 1) * gs];
            for j in 0..hd {
                let k = b * hd + j;
                let (r, z, n) = (gate[j], gate[hd + j], gate[2 * hd + j]);
                let dh = s.dh[k];
                let dn_pre = cand.backprop(dh * (R::ONE - z), n);
                let dr_pre = gate_act.backprop(dn_pre * s.aux[k], r);
                let dz_pre = gate_act.backprop(dh * (s.h_prev[k] - n), z);
                dgx[j] = dr_pre;
                dgx[hd + j] = dz_pre;
                dgx[2 * hd + j] = dn_pre;
                dgh[j] = dn_pre * r;
                s.dh_prev[k] = dh * z;
            }
        }
    }
}
