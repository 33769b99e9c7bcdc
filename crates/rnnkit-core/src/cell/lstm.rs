//! LSTM cell, PyTorch's gate order i, f, g, o: c' = f⊙c + i⊙g, h' = o⊙tanh(c'), with i, f, o
//! sigmoid and g tanh. The forward step keeps the activated gates and tanh(c') (aux) for BPTT.
//! In f32 the steps run the kernel table's fused kernels (kernels/cells.rs); the generic versions
//! here are their reference.

use super::{add_gh, carry_inactive, Cell, RowStep, StepBackward, StepForward};
use crate::kernels::kernels;
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lstm;

impl Cell for Lstm {
    fn name(&self) -> &'static str {
        "lstm"
    }
    fn layer_type(&self) -> &'static str {
        "LSTM"
    }
    fn gates(&self) -> usize {
        4
    }
    fn has_cell_state(&self) -> bool {
        true
    }
    /// tanh(c_t).
    fn aux_width(&self, hidden: usize) -> usize {
        hidden
    }
    fn gate_panels(&self) -> &'static [(&'static str, &'static str)] {
        &[("i (input)", "sigmoid"), ("f (forget)", "sigmoid"), ("g (candidate)", "tanh"), ("o (output)", "sigmoid")]
    }
    /// h = o ⊙ tanh(c) stays in (−1, 1).
    fn hidden_activation(&self) -> &'static str {
        "tanh"
    }
    fn has_row_step(&self) -> bool {
        true
    }
    fn row_step(&self, s: RowStep<'_>) {
        (kernels().lstm_row_step)(s.hidden, s.active, s.reverse, s.w, s.gates, s.c_prev, s.c, s.aux, s.h_prev, s.h)
    }

    fn forward_f32(&self, s: StepForward<'_, f32>) {
        let n = s.batch * 4 * s.hidden;
        add_gh(&mut s.gates[..n], s.gh);
        (kernels().lstm_forward)(s.batch, s.hidden, s.active, &mut s.gates[..n], s.c_prev, s.c, s.aux, s.h_prev, s.h)
    }

    fn backward_f32(&self, s: StepBackward<'_, f32>) {
        (kernels().lstm_backward)(s.batch, s.hidden, s.active, s.gates, s.aux, s.c_prev, s.dh, s.dc, s.dgx, s.dh_prev)
    }

    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>) {
        let hd = s.hidden;
        let gs = 4 * hd;
        let n = s.batch * gs;
        add_gh(&mut s.gates[..n], s.gh);
        for row in s.gates[..n].chunks_exact_mut(gs) {
            R::sigmoid_slice(&mut row[..2 * hd]); // i, f
            R::tanh_slice(&mut row[2 * hd..3 * hd]); // g
            R::sigmoid_slice(&mut row[3 * hd..]); // o
        }
        for b in 0..s.batch {
            let gate = &s.gates[b * gs..(b + 1) * gs];
            let (c, cp) = (&mut s.c[b * hd..(b + 1) * hd], &s.c_prev[b * hd..(b + 1) * hd]);
            if s.active[b] {
                for j in 0..hd {
                    c[j] = gate[hd + j] * cp[j] + gate[j] * gate[2 * hd + j];
                }
            } else {
                c.copy_from_slice(cp);
            }
        }
        let m = s.batch * hd;
        s.aux[..m].copy_from_slice(&s.c[..m]);
        R::tanh_slice(&mut s.aux[..m]);
        for b in 0..s.batch {
            let o = &s.gates[b * gs + 3 * hd..(b + 1) * gs];
            let rows = b * hd..(b + 1) * hd;
            for ((h, o), tc) in s.h[rows.clone()].iter_mut().zip(o).zip(&s.aux[rows]) {
                *h = *o * *tc;
            }
        }
        carry_inactive(s.active, hd, s.h_prev, s.h);
    }

    fn backward_generic<R: Real>(&self, s: StepBackward<'_, R>) {
        let hd = s.hidden;
        let gs = 4 * hd;
        for b in 0..s.batch {
            let dgx = &mut s.dgx[b * gs..(b + 1) * gs];
            let rows = b * hd..(b + 1) * hd;
            if !s.active[b] {
                // c and h were carried unchanged: their gradients pass through, the gates get none.
                dgx.fill(R::ZERO);
                s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
                continue;
            }
            let gate = &s.gates[b * gs..(b + 1) * gs];
            for j in 0..hd {
                let k = b * hd + j;
                let (i, f, g, o) = (gate[j], gate[hd + j], gate[2 * hd + j], gate[3 * hd + j]);
                let tc = s.aux[k];
                let dh = s.dh[k];
                let dc = s.dc[k] + dh * o * (R::ONE - tc * tc);
                dgx[j] = dc * g * i * (R::ONE - i);
                dgx[hd + j] = dc * s.c_prev[k] * f * (R::ONE - f);
                dgx[2 * hd + j] = dc * i * (R::ONE - g * g);
                dgx[3 * hd + j] = dh * tc * o * (R::ONE - o);
                s.dc[k] = dc * f;
                s.dh_prev[k] = R::ZERO;
            }
        }
    }
}
