//! One direction of one layer (PyTorch's `pre_compute_input` schedule). Forward: one GEMM X·W_ihᵀ + b
//! over all seq_len·batch rows, then per step one GEMM h·W_hhᵀ and the cell's fused element-wise pass.
//! BPTT mirrors it: per step the cell's gate backward into a [seq_len, batch, G·H] buffer and
//! dh_{t−1} = dGates·W_hh; after the loop dW_ih, dW_hh, db and dX as large GEMMs over all steps.

use super::workspace::{fit, slots, BackScratch, DirState, StepScratch};
use crate::cell::{self, as_f32, as_f32_mut, aux_width, StepBackward, StepForward};
use crate::kernels::{kernels, PackedB};
use crate::params::CellParams;
use crate::real::Real;
use crate::spec::CellKind;

/// The fixed arguments of one scan.
pub(crate) struct Scan<'a, R> {
    pub cell: CellKind,
    pub seq_len: usize,
    pub batch: usize,
    pub hidden: usize,
    /// Processes t = len_b − 1 … 0 for each sequence b (the second direction of a bidirectional layer).
    pub reverse: bool,
    /// Valid steps per sequence; `None` = all `seq_len`.
    pub lengths: Option<&'a [usize]>,
    /// The block's parameters and where this layer+direction's tensors sit in them.
    pub params: &'a [R],
    pub cp: CellParams,
    /// The model's parameter version: packed weights recorded for the same version are reused.
    /// `None` = unknown (always repack).
    pub version: Option<u64>,
}

/// Writes `active[b] = t < len_b`.
fn mark_active(active: &mut [bool], lengths: Option<&[usize]>, t: usize) {
    match lengths {
        Some(lens) => active.iter_mut().zip(lens).for_each(|(a, &len)| *a = t < len),
        None => active.fill(true),
    }
}

/// Disjoint views of two slots of a [slots, n] buffer: (`read`, `write`). Empty buffers give empty views.
fn read_write<R>(buf: &mut [R], read: usize, write: usize, n: usize) -> (&[R], &mut [R]) {
    if buf.is_empty() {
        return (&[], &mut []);
    }
    if read < write {
        let (lo, hi) = buf.split_at_mut(write * n);
        (&lo[read * n..(read + 1) * n], &mut hi[..n])
    } else {
        let (lo, hi) = buf.split_at_mut(read * n);
        (&hi[..n], &mut lo[write * n..(write + 1) * n])
    }
}

impl<R: Real> Scan<'_, R> {
    fn gate_size(&self) -> usize {
        self.cell.gates() * self.hidden
    }
    fn w_ih(&self) -> &[R] {
        &self.params[self.cp.w_ih..self.cp.w_ih + self.gate_size() * self.cp.input_size]
    }
    fn w_hh(&self) -> &[R] {
        &self.params[self.cp.w_hh..self.cp.w_hh + self.gate_size() * self.hidden]
    }
    fn bias(&self, offset: Option<usize>) -> Option<&[R]> {
        offset.map(|o| &self.params[o..o + self.gate_size()])
    }

    /// `out` [batch, G·H] ← h_prev·W_hhᵀ + β·out: the packed-weight kernel for f32 (`packed` holds
    /// W_hhᵀ), the generic GEMM otherwise.
    fn step_gemm(&self, packed: &PackedB, h_prev: &[R], beta: R, out: &mut [R]) {
        let (batch, hd, gs) = (self.batch, self.hidden, self.gate_size());
        if let (Some(hp), Some(o)) = (as_f32(h_prev), as_f32_mut(&mut *out)) {
            return (kernels().sgemm_packed)(false, batch, 0, gs, hd, 1.0, hp, hd, packed, beta.to_f32(), o, gs);
        }
        R::gemm(false, true, batch, gs, hd, R::ONE, h_prev, hd, self.w_hh(), hd, beta, out, gs);
    }

    /// Runs the recurrence over `x` [seq_len, batch, input_size], recording into `st`. Writes h_t
    /// (zeros past a sequence's end) to `out[(t·batch + b)·out_stride + out_offset ..][..H]`.
    /// The final states are left in `st` (see `final_state`).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(&self, x: &[R], h0: Option<&[R]>, c0: Option<&[R]>, st: &mut DirState<R>, sc: &mut StepScratch<R>, out: &mut [R], out_offset: usize, out_stride: usize) {
        let (steps, batch, hd, gs, input) = (self.seq_len, self.batch, self.hidden, self.gate_size(), self.cp.input_size);
        let bh = batch * hd;
        st.fit(self.cell, steps, batch, hd);
        sc.active.resize(batch, true);

        // Input projection for every step at once, then the folded biases.
        R::gemm(false, true, steps * batch, gs, input, R::ONE, x, input, self.w_ih(), input, R::ZERO, &mut st.gates, gs);
        let b_hn = match (self.bias(self.cp.b_ih), self.bias(self.cp.b_hh)) {
            (Some(b_ih), Some(b_hh)) => {
                // GRU keeps b_hn out: it is scaled by r inside the cell.
                let folded = if self.cell == CellKind::Gru { 2 * hd } else { gs };
                fit(&mut sc.bias, gs);
                sc.bias.copy_from_slice(b_ih);
                sc.bias[..folded].iter_mut().zip(b_hh).for_each(|(b, h)| *b += *h);
                for row in st.gates.chunks_exact_mut(gs) {
                    row.iter_mut().zip(&sc.bias).for_each(|(g, b)| *g += *b);
                }
                (self.cell == CellKind::Gru).then(|| &b_hh[2 * hd..])
            }
            _ => None,
        };

        let init = if self.reverse { steps } else { 0 };
        let seed = |buf: &mut [R], s: Option<&[R]>| match s {
            Some(s) => buf[init * bh..(init + 1) * bh].copy_from_slice(s),
            None => buf[init * bh..(init + 1) * bh].fill(R::ZERO),
        };
        seed(&mut st.hs, h0);
        if self.cell.has_cell_state() {
            seed(&mut st.cs, c0);
        }

        // W_hhᵀ packed once per weight version (f32 path), not per call or step.
        if as_f32(self.params).is_some() && (self.version.is_none() || st.packed_version != self.version) {
            let w = as_f32(self.w_hh()).unwrap_or(&[]);
            (kernels().pack_b)(true, hd, gs, w, hd, &mut st.w_hh_t);
            st.packed_version = self.version;
        }
        let gru = self.cell == CellKind::Gru;
        fit(&mut sc.gh, if gru { batch * gs } else { 0 });
        let aux_w = aux_width(self.cell, hd) * batch;
        for k in 0..steps {
            let t = if self.reverse { steps - 1 - k } else { k };
            let (prev, cur) = slots(t, self.reverse);
            mark_active(&mut sc.active, self.lengths, t);
            // h_{t−1}·W_hhᵀ: accumulated straight into the step's gate block (Elman, LSTM), or into
            // `gh` for GRU, whose n gate needs it apart. The cell then runs on the block while it is hot.
            let gates_t = &mut st.gates[t * batch * gs..(t + 1) * batch * gs];
            let (acc, beta) = if gru { (&mut sc.gh[..], R::ZERO) } else { (gates_t, R::ONE) };
            self.step_gemm(&st.w_hh_t, &st.hs[prev * bh..(prev + 1) * bh], beta, acc);
            let (h_prev, h) = read_write(&mut st.hs, prev, cur, bh);
            let (c_prev, c) = read_write(&mut st.cs, prev, cur, bh);
            cell::forward_step(
                self.cell,
                StepForward {
                    batch,
                    hidden: hd,
                    active: &sc.active,
                    gates: &mut st.gates[t * batch * gs..(t + 1) * batch * gs],
                    gh: &sc.gh,
                    b_hn,
                    h_prev,
                    h: &mut *h,
                    c_prev,
                    c,
                    aux: &mut st.aux[t * aux_w..(t + 1) * aux_w],
                },
            );
            for b in 0..batch {
                let o = (t * batch + b) * out_stride + out_offset;
                let dst = &mut out[o..o + hd];
                if sc.active[b] {
                    dst.copy_from_slice(&h[b * hd..(b + 1) * hd]);
                } else {
                    dst.fill(R::ZERO);
                }
            }
        }
    }

    /// The state after the whole scan, [batch, H]: per sequence the state after its last valid step
    /// (forward) or after step 0 (reverse). `buf` is `st.hs` or `st.cs`.
    pub fn final_state<'b>(&self, buf: &'b [R]) -> &'b [R] {
        let bh = self.batch * self.hidden;
        let slot = if self.reverse { 0 } else { self.seq_len };
        &buf[slot * bh..(slot + 1) * bh]
    }

    /// BPTT through the last `forward` recorded in `st`. `dy` is the gradient of the layer output,
    /// read at `dy[(t·batch + b)·dy_stride + dy_offset ..][..H]` (ignored past a sequence's end);
    /// `dh_n`/`dc_n` [batch, H] are the final-state cotangents. Parameter gradients are added into
    /// `grads` (block layout); dL/dx is written (`dx_beta` = 0) or added (`dx_beta` = 1) into `dx`;
    /// dL/dh0 and dL/dc0 are written into `dh0`/`dc0` ([batch, H]; `dc0` empty unless LSTM).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        x: &[R],
        dy: &[R],
        dy_offset: usize,
        dy_stride: usize,
        dh_n: Option<&[R]>,
        dc_n: Option<&[R]>,
        st: &DirState<R>,
        sc: &mut BackScratch<R>,
        grads: &mut [R],
        dx: &mut [R],
        dx_beta: R,
        dh0: &mut [R],
        dc0: &mut [R],
    ) {
        let (steps, batch, hd, gs, input) = (self.seq_len, self.batch, self.hidden, self.gate_size(), self.cp.input_size);
        let bh = batch * hd;
        let gru = self.cell == CellKind::Gru;
        let lstm = self.cell.has_cell_state();
        fit(&mut sc.dgx, steps * batch * gs);
        fit(&mut sc.dgh, if gru { steps * batch * gs } else { 0 });
        fit(&mut sc.dh_next, bh);
        sc.active.resize(batch, true);
        sc.dh.clear();
        match dh_n {
            Some(d) => sc.dh.extend_from_slice(d),
            None => sc.dh.resize(bh, R::ZERO),
        }
        sc.dc.clear();
        if lstm {
            match dc_n {
                Some(d) => sc.dc.extend_from_slice(d),
                None => sc.dc.resize(bh, R::ZERO),
            }
        }

        let aux_w = aux_width(self.cell, hd) * batch;
        let w_hh = self.w_hh();
        if let Some(w) = as_f32(w_hh) {
            (kernels().pack_b)(false, gs, hd, w, hd, &mut sc.w_hh_n);
        }
        for k in 0..steps {
            // Reverse of the forward's processing order.
            let t = if self.reverse { k } else { steps - 1 - k };
            let (prev, _) = slots(t, self.reverse);
            mark_active(&mut sc.active, self.lengths, t);
            for b in (0..batch).filter(|&b| sc.active[b]) {
                let o = (t * batch + b) * dy_stride + dy_offset;
                sc.dh[b * hd..(b + 1) * hd].iter_mut().zip(&dy[o..o + hd]).for_each(|(d, y)| *d += *y);
            }
            let g = t * batch * gs..(t + 1) * batch * gs;
            cell::backward_step(
                self.cell,
                StepBackward {
                    batch,
                    hidden: hd,
                    active: &sc.active,
                    gates: &st.gates[g.clone()],
                    aux: &st.aux[t * aux_w..(t + 1) * aux_w],
                    h_prev: &st.hs[prev * bh..(prev + 1) * bh],
                    c_prev: if lstm { &st.cs[prev * bh..(prev + 1) * bh] } else { &[] },
                    dh: &sc.dh,
                    dc: &mut sc.dc,
                    dgx: &mut sc.dgx[g.clone()],
                    dgh: if gru { &mut sc.dgh[g.clone()] } else { &mut [] },
                    dh_prev: &mut sc.dh_next,
                },
            );
            // dh_{t−1} += dGh_t·W_hh, against W_hh packed once for this backward pass (f32).
            let dgh_t = if gru { &sc.dgh[g] } else { &sc.dgx[g] };
            match (as_f32(dgh_t), as_f32_mut(&mut sc.dh_next)) {
                (Some(d), Some(dh)) => (kernels().sgemm_packed)(false, batch, 0, hd, gs, 1.0, d, gs, &sc.w_hh_n, 1.0, dh, hd),
                _ => R::gemm(false, false, batch, hd, gs, R::ONE, dgh_t, gs, w_hh, hd, R::ONE, &mut sc.dh_next, hd),
            }
            std::mem::swap(&mut sc.dh, &mut sc.dh_next);
        }
        dh0.copy_from_slice(&sc.dh);
        if lstm {
            dc0.copy_from_slice(&sc.dc);
        }

        // Weight gradients as GEMMs over all seq_len·batch rows at once.
        let rows = steps * batch;
        let dgh = if gru { &sc.dgh } else { &sc.dgx };
        let w_ih_len = gs * input;
        R::gemm(true, false, gs, input, rows, R::ONE, &sc.dgx, gs, x, input, R::ONE, &mut grads[self.cp.w_ih..self.cp.w_ih + w_ih_len], input);
        let h_prev = if self.reverse { bh } else { 0 };
        R::gemm(true, false, gs, hd, rows, R::ONE, dgh, gs, &st.hs[h_prev..h_prev + rows * hd], hd, R::ONE, &mut grads[self.cp.w_hh..self.cp.w_hh + gs * hd], hd);
        if let (Some(bi), Some(bh_)) = (self.cp.b_ih, self.cp.b_hh) {
            column_sums(&sc.dgx, gs, &mut grads[bi..bi + gs]);
            column_sums(dgh, gs, &mut grads[bh_..bh_ + gs]);
        }
        R::gemm(false, false, rows, input, gs, R::ONE, &sc.dgx, gs, self.w_ih(), input, dx_beta, dx, input);
    }
}

/// out[j] += Σ_rows m[row, j] for a row-major matrix with `cols` columns.
fn column_sums<R: Real>(m: &[R], cols: usize, out: &mut [R]) {
    for row in m.chunks_exact(cols) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += *v);
    }
}
