//! The input projection of one layer: before any recurrence runs, one GEMM
//! [X | 1]·[W_ih | b ; W_ih′ | b′]ᵀ over all seq_len·batch rows of the layer's input and all its
//! directions. The input does not depend on the recurrence, so this share of the work (I/(I+H) of
//! the gate products) runs as one large GEMM, split over every core by rows, instead of inside the
//! sequential time loop. Each direction's columns land in its own gate record (`DirState::gates`,
//! [seq_len, batch, G·H]), which its scan then completes step by step with h_{t−1}·W_hhᵀ (scan.rs).
//!
//! The directions' weights are stacked into one B, each direction's block padded with zero rows to
//! `MAX_NR`, a panel boundary on every tier: the GEMM's column blocks are then exactly the
//! directions, and each is written straight into its own record (no strided gate rows downstream).
//!
//! Token input (ids standing for one-hot rows) needs no GEMM: the projection of id v is column v of
//! W_ih plus the bias, so each direction keeps that [I, G·H] table per parameter version and a row's
//! gates are a copy of its id's row.

use super::scan::Scan;
use super::LayerX;
use super::workspace::{fit, DirState, Projection};
use crate::cell::{as_f32, as_f32_mut};
use crate::kernels::{kernels, MAX_NR};
use crate::parallel::{self, part_rows, row_parts, Disjoint};
use crate::real::Real;

/// Rows of the stacked weights per direction: its G·H gate rows, padded to a panel boundary.
fn block_rows(gate_size: usize) -> usize {
    gate_size.next_multiple_of(MAX_NR)
}

/// Fills each direction's `states[d].gates` with [x | 1]·[W_ih | b]ᵀ for every step, where `scans`
/// are the layer's directions (they share every shape) and `x` its input [seq_len, batch, I].
pub(crate) fn project<R: Real>(scans: &[Scan<'_, R>], x: LayerX<'_, R>, proj: &mut Projection<R>, states: &mut [DirState<R>]) {
    let x = match x {
        LayerX::Features(x) => x,
        LayerX::Tokens(ids) => return gather(scans, ids, proj, states),
    };
    let s = &scans[0];
    let (rows, input, gs) = (s.seq_len * s.batch, s.cp.input_size, s.gate_size());
    // The biases ride on a column of ones (bit-identical to adding them after an unpacked GEMM).
    let xw = input + usize::from(s.cp.b_ih.is_some());
    let stride = block_rows(gs);
    if s.version.is_none() || proj.prepared != s.version {
        stack_weights(scans, proj, xw, stride);
    }
    let a: &[R] = if xw > input {
        fit(&mut proj.xs, rows * xw);
        for (row, xr) in proj.xs.chunks_exact_mut(xw).zip(x.chunks_exact(input)) {
            row[..input].copy_from_slice(xr);
            row[input] = R::ONE;
        }
        &proj.xs
    } else {
        x
    };
    for st in states.iter_mut() {
        fit(&mut st.gates, rows * gs);
    }

    let Some(af) = as_f32(a) else {
        for (d, st) in states.iter_mut().enumerate() {
            let w = &proj.w_cat[d * stride * xw..][..gs * xw];
            R::gemm(false, true, rows, gs, xw, R::ONE, a, xw, w, xw, R::ZERO, &mut st.gates, gs);
        }
        return;
    };
    let (kernel, packed) = (kernels().sgemm_packed, &proj.packed);
    debug_assert!(stride.is_multiple_of(packed.nr()), "a direction's block must start at a panel boundary");
    // Rows split over the cores, each part through every direction's columns. A row's result does
    // not depend on the split (gemm.rs's determinism contract), so it is bit-identical for every
    // thread count.
    let parts = row_parts(rows, rows * states.len() * gs * xw);
    let outs: Vec<Disjoint<'_, R>> = states.iter_mut().map(|st| Disjoint::new(&mut st.gates)).collect();
    parallel::run(parts, |p| {
        let r = part_rows(rows, parts, p);
        for (d, out) in outs.iter().enumerate() {
            // SAFETY: part p alone takes rows r of each direction's record.
            let Some(g) = as_f32_mut(unsafe { out.rows(r.clone(), gs) }) else { unreachable!("f32 like the input") };
            kernel(false, r.len(), d * stride, gs, xw, 1.0, &af[r.start * xw..], xw, packed, 0.0, g, gs);
        }
    });
}

/// Token input: each row's gates are its id's row of the direction's table (see the file comment),
/// built once per parameter version. Ids were validated against input_size by the caller.
fn gather<R: Real>(scans: &[Scan<'_, R>], ids: &[i32], proj: &mut Projection<R>, states: &mut [DirState<R>]) {
    let s = &scans[0];
    let (vocab, gs) = (s.cp.input_size, s.gate_size());
    if s.version.is_none() || proj.table_prepared != s.version {
        fit(&mut proj.table, scans.len() * vocab * gs);
        for (s, table) in scans.iter().zip(proj.table.chunks_exact_mut(vocab * gs)) {
            let bias: Vec<R> = (0..gs).map(|g| folded_bias(s, g).unwrap_or(R::ZERO)).collect();
            let w_ih = s.w_ih();
            for (v, row) in table.chunks_exact_mut(gs).enumerate() {
                for (g, out) in row.iter_mut().enumerate() {
                    *out = w_ih[g * vocab + v] + bias[g];
                }
            }
        }
        proj.table_prepared = s.version;
    }
    for (st, table) in states.iter_mut().zip(proj.table.chunks_exact(vocab * gs)) {
        fit(&mut st.gates, ids.len() * gs);
        for (row, &id) in st.gates.chunks_exact_mut(gs).zip(ids) {
            row.copy_from_slice(&table[id as usize * gs..][..gs]);
        }
    }
}

/// Gate row g's bias in the projection: b_ih + b_hh folded, except in the cell's apart gates (GRU's
/// n, whose b_hn is scaled by r inside the cell), where it is b_ih alone; `None` without biases.
fn folded_bias<R: Real>(s: &Scan<'_, R>, g: usize) -> Option<R> {
    let (folded, _) = s.shared_apart_rows();
    let (b_ih, b_hh) = s.bias(s.cp.b_ih).zip(s.bias(s.cp.b_hh))?;
    Some(if g < folded { b_ih[g] + b_hh[g] } else { b_ih[g] })
}

/// Stacks every direction's [W_ih | b] rows into `proj.w_cat` (each block `stride` rows, zero
/// padded) and, for f32, packs them: once per parameter version, not per call (re-packing W_ih per
/// call measured ~1 µs of F2's 53 µs).
fn stack_weights<R: Real>(scans: &[Scan<'_, R>], proj: &mut Projection<R>, xw: usize, stride: usize) {
    let (input, gs) = (scans[0].cp.input_size, scans[0].gate_size());
    fit(&mut proj.w_cat, scans.len() * stride * xw);
    for (s, block) in scans.iter().zip(proj.w_cat.chunks_exact_mut(stride * xw)) {
        let w_ih = s.w_ih();
        for (g, row) in block.chunks_exact_mut(xw).enumerate() {
            if g >= gs {
                row.fill(R::ZERO);
                continue;
            }
            row[..input].copy_from_slice(&w_ih[g * input..(g + 1) * input]);
            if let Some(b) = folded_bias(s, g) {
                row[input] = b;
            }
        }
    }
    if let Some(w) = as_f32(&proj.w_cat) {
        (kernels().pack_b)(true, xw, scans.len() * stride, w, xw, &mut proj.packed);
    }
    proj.prepared = scans[0].version;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrent::stack::scan;
    use crate::params::block_param_count;
    use crate::rng::Rng;
    use crate::spec::{ModelSpec, RecurrentSpec};

    fn bidirectional(cell: &str, bias: bool) -> RecurrentSpec {
        let json = format!(r#"{{"blocks":[{{"cell":"{cell}","input_size":3,"hidden_size":5,"bidirectional":true,"bias":{bias}}}]}}"#);
        ModelSpec::from_json(&json).unwrap().recurrent_spec(0).unwrap()
    }

    /// x·W_ihᵀ + b for every row of x and gate g of direction `dir`, from the formulas in f64
    /// (b = b_ih + b_hh, except b_ih alone for the apart gates: GRU's n).
    fn reference(spec: &RecurrentSpec, params: &[f64], x: &[f64], dir: usize) -> Vec<f64> {
        let s = scan(spec, None, params, 1, 1, 0, dir, None, false);
        let (input, gs) = (spec.input_size, s.gate_size());
        let bias = |o: Option<usize>, g: usize| o.map_or(0.0, |o| params[o + g]);
        let folded = (spec.cell.gates() - spec.cell.apart_gates()) * spec.hidden_size;
        x.chunks_exact(input)
            .flat_map(|xr| {
                (0..gs).map(move |g| {
                    let dot: f64 = xr.iter().enumerate().map(|(i, v)| v * params[s.cp.w_ih + g * input + i]).sum();
                    let b_hh = if g >= folded { 0.0 } else { bias(s.cp.b_hh, g) };
                    dot + bias(s.cp.b_ih, g) + b_hh
                })
            })
            .collect()
    }

    /// One GEMM over both directions (G·H = 15 or 20 rows each, padded to a panel boundary) fills
    /// each direction's own record with the formula's values, in f32 through the packed kernels and
    /// in f64 through the generic GEMM, with and without biases; the packed B holds both directions.
    #[test]
    fn one_gemm_fills_both_directions_records() {
        let (steps, batch) = (4, 3);
        let mut rng = Rng::new(7);
        for (cell, bias) in [("lstm", true), ("gru", true), ("gru", false), ("rnn_tanh", true)] {
            let spec = bidirectional(cell, bias);
            let params: Vec<f64> = (0..block_param_count(&spec)).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let x: Vec<f64> = (0..steps * batch * spec.input_size).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let want: Vec<Vec<f64>> = (0..2).map(|d| reference(&spec, &params, &x, d)).collect();

            let mut states: Vec<DirState<f64>> = (0..2).map(|_| DirState::default()).collect();
            let scans: Vec<Scan<'_, f64>> = (0..2).map(|d| scan(&spec, None, &params, steps, batch, 0, d, None, false)).collect();
            project(&scans, LayerX::Features(&x), &mut Projection::default(), &mut states);
            for (d, st) in states.iter().enumerate() {
                let err = st.gates.iter().zip(&want[d]).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                assert!(err < 1e-12, "{cell} bias={bias} f64 direction {d}: max error {err}");
            }

            let (p32, x32): (Vec<f32>, Vec<f32>) = (params.iter().map(|&v| v as f32).collect(), x.iter().map(|&v| v as f32).collect());
            let mut states: Vec<DirState<f32>> = (0..2).map(|_| DirState::default()).collect();
            let scans: Vec<Scan<'_, f32>> = (0..2).map(|d| scan(&spec, None, &p32, steps, batch, 0, d, None, false)).collect();
            let mut proj = Projection::default();
            project(&scans, LayerX::Features(&x32), &mut proj, &mut states);
            assert_eq!(proj.packed.n(), 2 * MAX_NR, "{cell}: one packed B with both directions' blocks");
            for (d, st) in states.iter().enumerate() {
                assert_eq!(st.gates.len(), want[d].len());
                let err = st.gates.iter().zip(&want[d]).map(|(&a, b)| (f64::from(a) - b).abs()).fold(0.0, f64::max);
                assert!(err < 1e-5, "{cell} bias={bias} f32 direction {d}: max error {err}");
            }
        }
    }
}
