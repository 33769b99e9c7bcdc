//! GRU with the reset gate applied BEFORE the recurrent product (config `reset_after: false`; Keras
//! `reset_after=False`, the TF.js GRU, ONNX `linear_before_reset=0`). PyTorch's gate order and
//! parameter names: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
//! n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), h' = (1−z)⊙n + z⊙h.
//! The n block's hidden side needs r first, so the cell is `Recurrence::Gated`: the scan runs the
//! step product for r and z, `gate_hidden` activates them and writes r ⊙ h_{t−1} (kept as aux for
//! dW_hn), the scan adds (r ⊙ h)·W_hnᵀ into the n block, and `forward_step` finishes. b_hn sits
//! outside r ⊙ (…), so every bias folds into the input projection (no apart gates). BPTT mirrors
//! it: `backward_step` gives dz, dn and z ⊙ dh; the scan computes d(r⊙h) = dn·W_hn; then
//! `gate_hidden_backward` gives dr and adds r ⊙ d(r⊙h) to dh_{t−1}. Generic code in f32 too (no
//! fused kernel): the same on every instruction set. It takes the GRU's options (`CellOptions`:
//! `gate_activation` for r and z, `activation` for n), so a Keras/TF.js GRU with its default
//! hard-sigmoid gates loads as it is.

use super::activation::GateActivation;
use super::gru::{blend, GATE_PANELS};
use super::{carry_inactive, Cell, GateHidden, GateHiddenBackward, Recurrence, StepBackward, StepForward};
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GruResetBefore;

impl Cell for GruResetBefore {
    fn name(&self) -> &'static str {
        "gru_reset_before"
    }
    fn layer_type(&self) -> &'static str {
        "GRU"
    }
    fn reset_after(&self) -> Option<bool> {
        Some(false)
    }
    fn gates(&self) -> usize {
        3
    }
    /// r ⊙ h_{t−1}, the operand of W_hn.
    fn aux_width(&self, hidden: usize) -> usize {
        hidden
    }
    fn recurrence(&self) -> Recurrence {
        Recurrence::Gated { blocks: 1 }
    }
    fn gate_panels(&self) -> &'static [(&'static str, &'static str)] {
        GATE_PANELS
    }
    fn takes_options(&self) -> bool {
        true
    }

    fn gate_hidden<R: Real>(&self, s: GateHidden<'_, R>) {
        let hd = s.hidden;
        for b in 0..s.batch {
            let gate = &mut s.gates[b * 3 * hd..b * 3 * hd + 2 * hd];
            s.options.gate().apply(gate); // r, z
            let (h, rh) = (&s.h_prev[b * hd..(b + 1) * hd], &mut s.gated_h[b * hd..(b + 1) * hd]);
            rh.iter_mut().zip(&gate[..hd]).zip(h).for_each(|((o, r), h)| *o = *r * *h);
        }
    }

    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>) {
        let hd = s.hidden;
        let cand = s.options.candidate(GateActivation::Tanh);
        for b in 0..s.batch {
            let gate = &mut s.gates[b * 3 * hd..(b + 1) * 3 * hd];
            cand.apply(&mut gate[2 * hd..]); // n; r and z are activated by `gate_hidden`
            blend(gate, &s.h_prev[b * hd..(b + 1) * hd], &mut s.h[b * hd..(b + 1) * hd]);
        }
        carry_inactive(s.active, hd, s.h_prev, s.h);
    }

    /// dz, dn and dh_{t−1} = z ⊙ dh; the r block is left zero for `gate_hidden_backward`.
    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>) {
        let hd = s.hidden;
        let gs = 3 * hd;
        let (gate_act, cand) = (s.options.gate(), s.options.candidate(GateActivation::Tanh));
        for b in 0..s.batch {
            let rows = b * hd..(b + 1) * hd;
            let dgx = &mut s.dgx[b * gs..(b + 1) * gs];
            if !s.active[b] {
                dgx.fill(R::ZERO);
                s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
                continue;
            }
            let gate = &s.gates[b * gs..(b + 1) * gs];
            for j in 0..hd {
                let k = b * hd + j;
                let (z, n) = (gate[hd + j], gate[2 * hd + j]);
                let dh = s.dh[k];
                dgx[j] = R::ZERO;
                dgx[hd + j] = gate_act.backprop(dh * (s.h_prev[k] - n), z);
                dgx[2 * hd + j] = cand.backprop(dh * (R::ONE - z), n);
                s.dh_prev[k] = dh * z;
            }
        }
    }

    /// dr_pre = d(r⊙h) ⊙ h ⊙ f'(r); dh_{t−1} += d(r⊙h) ⊙ r. Inactive rows have d(r⊙h) = 0 (their dn is).
    fn gate_hidden_backward<R: Real>(&self, s: GateHiddenBackward<'_, R>) {
        let hd = s.hidden;
        let gate_act = s.options.gate();
        for b in 0..s.batch {
            let (rs, dr) = (&s.gates[b * 3 * hd..b * 3 * hd + hd], &mut s.dgx[b * 3 * hd..b * 3 * hd + hd]);
            for (j, (&r, dr)) in rs.iter().zip(dr).enumerate() {
                let k = b * hd + j;
                let d = s.d_gated_h[k];
                *dr = gate_act.backprop(d * s.h_prev[k], r);
                s.dh_prev[k] += d * r;
            }
        }
    }
}
