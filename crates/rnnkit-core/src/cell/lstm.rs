//! LSTM cell, PyTorch's gate order i, f, g, o: c' = f⊙c + i⊙g, h' = o⊙tanh(c'), with i, f, o
//! sigmoid and g tanh. The forward step keeps the activated gates and tanh(c') (aux) for BPTT.
//! In f32 the steps run the kernel table's fused kernels (kernels/cells.rs); the generic versions
//! here are their reference, and serve the non-default `CellOptions` (ONNX's activations f, g, h,
//! peepholes P, clip and input_forget) in f32 as well.

use super::activation::{Clipped, GateActivation};
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
    fn takes_options(&self) -> bool {
        true
    }
    fn has_row_step(&self) -> bool {
        true
    }
    fn row_step(&self, s: RowStep<'_>) {
        (kernels().lstm_row_step)(s.hidden, s.active, s.reverse, s.w, s.gates, s.c_prev, s.c, s.aux, s.h_prev, s.h)
    }

    fn forward_f32(&self, s: StepForward<'_, f32>) {
        if !s.options.is_default() {
            return self.forward_generic(s);
        }
        let n = s.batch * 4 * s.hidden;
        add_gh(&mut s.gates[..n], s.gh);
        (kernels().lstm_forward)(s.batch, s.hidden, s.active, &mut s.gates[..n], s.c_prev, s.c, s.aux, s.h_prev, s.h)
    }

    fn backward_f32(&self, s: StepBackward<'_, f32>) {
        if !s.options.is_default() {
            return self.backward_generic(s);
        }
        (kernels().lstm_backward)(s.batch, s.hidden, s.active, s.gates, s.aux, s.c_prev, s.dh, s.dc, s.dgx, s.dh_prev)
    }

    fn forward_generic<R: Real>(&self, s: StepForward<'_, R>) {
        let hd = s.hidden;
        let gs = 4 * hd;
        let n = s.batch * gs;
        let o = s.options;
        let (gate, cand) = (Clipped::<R>::new(o.gate(), o.cell_clip, hd), Clipped::<R>::new(o.candidate(GateActivation::Tanh), o.cell_clip, hd));
        let peep = Peepholes::new(s.peephole, hd);
        add_gh(&mut s.gates[..n], s.gh);
        for b in 0..s.batch {
            let row = &mut s.gates[b * gs..(b + 1) * gs];
            let rows = b * hd..(b + 1) * hd;
            let (c, cp) = (&mut s.c[rows.clone()], &s.c_prev[rows]);
            if let Some(p) = peep {
                add_product(&mut row[..hd], p.i, cp);
                add_product(&mut row[hd..2 * hd], p.f, cp);
            }
            gate.apply(&mut row[..hd]); // i
            if o.input_forget {
                let (i, f) = row.split_at_mut(hd);
                f[..hd].iter_mut().zip(&*i).for_each(|(f, i)| *f = R::ONE - *i);
            } else {
                gate.apply(&mut row[hd..2 * hd]); // f
            }
            cand.apply(&mut row[2 * hd..3 * hd]); // g
            if s.active[b] {
                for j in 0..hd {
                    c[j] = row[hd + j] * cp[j] + row[j] * row[2 * hd + j];
                }
            } else {
                c.copy_from_slice(cp);
            }
            if let Some(p) = peep {
                add_product(&mut row[3 * hd..], p.o, c);
            }
            gate.apply(&mut row[3 * hd..]); // o, which reads c_t through its peephole
        }
        let m = s.batch * hd;
        s.aux[..m].copy_from_slice(&s.c[..m]);
        o.cell_state(GateActivation::Tanh).apply(&mut s.aux[..m]);
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
        let o = s.options;
        let (gate, cand) = (Clipped::<R>::new(o.gate(), o.cell_clip, hd), Clipped::<R>::new(o.candidate(GateActivation::Tanh), o.cell_clip, hd));
        let cell_act = o.cell_state(GateActivation::Tanh);
        let peep = Peepholes::new(s.peephole, hd);
        for b in 0..s.batch {
            let dgx = &mut s.dgx[b * gs..(b + 1) * gs];
            let rows = b * hd..(b + 1) * hd;
            if !s.active[b] {
                // c and h were carried unchanged: their gradients pass through, the gates get none.
                dgx.fill(R::ZERO);
                s.dh_prev[rows.clone()].copy_from_slice(&s.dh[rows]);
                continue;
            }
            let g_row = &s.gates[b * gs..(b + 1) * gs];
            for j in 0..hd {
                let k = b * hd + j;
                let (i, f, g, og) = (g_row[j], g_row[hd + j], g_row[2 * hd + j], g_row[3 * hd + j]);
                let tc = s.aux[k];
                let dh = s.dh[k];
                let d_o = gate.backprop(j, dh * tc, og);
                let mut dc = s.dc[k] + dh * og * cell_act.derivative(tc);
                if let Some(p) = peep {
                    dc += d_o * p.o[j];
                }
                let cp = s.c_prev[k];
                // dL/di and dL/df; with coupled gates f = 1 − i passes its gradient on to i.
                let (mut di, df) = (dc * g, dc * cp);
                if o.input_forget {
                    di -= df;
                }
                let d_i = gate.backprop(j, di, i);
                let d_f = if o.input_forget { R::ZERO } else { gate.backprop(j, df, f) };
                dgx[j] = d_i;
                dgx[hd + j] = d_f;
                dgx[2 * hd + j] = cand.backprop(j, dc * i, g);
                dgx[3 * hd + j] = d_o;
                s.dc[k] = match peep {
                    Some(p) => dc * f + d_i * p.i[j] + d_f * p.f[j],
                    None => dc * f,
                };
                s.dh_prev[k] = R::ZERO;
            }
        }
    }
}

/// An LSTM's peephole weights split by gate (ONNX's P order i, o, f).
#[derive(Clone, Copy)]
struct Peepholes<'a, R> {
    i: &'a [R],
    o: &'a [R],
    f: &'a [R],
}

impl<'a, R> Peepholes<'a, R> {
    /// None when `p` is empty (no peepholes).
    fn new(p: &'a [R], hidden: usize) -> Option<Self> {
        (!p.is_empty()).then(|| Peepholes { i: &p[..hidden], o: &p[hidden..2 * hidden], f: &p[2 * hidden..3 * hidden] })
    }
}

/// xs += p ⊙ c.
fn add_product<R: Real>(xs: &mut [R], p: &[R], c: &[R]) {
    xs.iter_mut().zip(p).zip(c).for_each(|((x, p), c)| *x += *p * *c);
}

/// Adds one step's peephole gradients into `dp` ([PEEPHOLES·H], ONNX's order i, o, f): dP_i and
/// dP_f sum the gate's pre-activation gradient times c_{t−1}, dP_o times c_t, over the batch rows
/// of `dgx` ([batch, 4H], what `backward_step` wrote; zero for inactive rows). The caller sums over
/// the steps after the BPTT loop, so the rows' threads never share `dp`.
pub(crate) fn add_peephole_grads<R: Real>(hidden: usize, dgx: &[R], c_prev: &[R], c: &[R], dp: &mut [R]) {
    let hd = hidden;
    let (dp_i, rest) = dp.split_at_mut(hd);
    let (dp_o, dp_f) = rest.split_at_mut(hd);
    for ((d, cp), ct) in dgx.chunks_exact(4 * hd).zip(c_prev.chunks_exact(hd)).zip(c.chunks_exact(hd)) {
        add_product(dp_i, &d[..hd], cp);
        add_product(&mut dp_f[..hd], &d[hd..2 * hd], cp);
        add_product(dp_o, &d[3 * hd..], ct);
    }
}
