//! A whole block: `num_layers` layers of one or two directions. Layer l > 0 reads layer l−1's output
//! (directions concatenated, forward first), with inverted dropout between layers in training, and
//! per layer and direction a recurrent-dropout mask (scan.rs applies it) when asked.
//! Each layer's forward is its input projection, one GEMM over all steps and directions
//! (projection.rs), then the recurrences. Bidirectional layers are two `Scan`s writing the two
//! halves of one output's feature axis; their recurrences run at once, one per core, when a
//! direction's own row split would use no more threads (`Scan::direction_parts`: batch-1 latency,
//! small batches on two cores), and so do their BPTT scans (then dL/dx, which both add into,
//! follows them).

use super::projection::project;
use super::scan::{OutRows, Scan};
use super::workspace::{fit, Workspace};
use super::{BlockGrads, BlockInput, LayerX};
use crate::layers::dropout::{apply_dropout, draw_dropout_mask};
use crate::parallel::{self, part_rows, Disjoint};
use crate::params::cell_params;
use crate::real::Real;
use crate::spec::RecurrentSpec;

#[allow(clippy::too_many_arguments)]
pub(super) fn scan<'a, R: Real>(spec: &RecurrentSpec, ws_lengths: Option<&'a [usize]>, params: &'a [R], seq_len: usize, batch: usize, layer: usize, dir: usize, version: Option<u64>, record: bool) -> Scan<'a, R> {
    Scan {
        cell: spec.cell,
        options: spec.options,
        seq_len,
        batch,
        hidden: spec.hidden_size,
        proj: spec.options.proj_size,
        reverse: spec.scans_reverse(dir),
        lengths: ws_lengths,
        params,
        cp: cell_params(spec, layer, dir),
        version,
        record,
    }
}

/// Row `row` ([batch, W], `bh` = batch·W) of an optional [num_layers·D, batch, W] state tensor.
fn state_row<R>(all: Option<&[R]>, row: usize, bh: usize) -> Option<&[R]> {
    all.map(|a| &a[row * bh..(row + 1) * bh])
}

/// Forward of every layer and direction, the last layer's output into `output` (see
/// `RecurrentBlock::forward_into`); returns (h_n, c_n). Inputs were validated by the caller.
pub(crate) fn forward<R: Real>(spec: &RecurrentSpec, params: &[R], input: BlockInput<'_, R>, keep_cache: bool, ws: &mut Workspace<R>, output: &mut [R], batch_major: bool) -> (Vec<R>, Vec<R>) {
    let (steps, batch, hd, sw) = (input.seq_len, input.batch, spec.hidden_size, spec.state_size());
    let (layers, dirs) = (spec.num_layers, spec.directions());
    // h rows have sw features (proj_size with a projection), c rows hd.
    let (bh, bc, out_w) = (batch * sw, batch * hd, spec.output_size());
    let lstm = spec.cell.has_cell_state();

    ws.cached = false;
    ws.seq_len = steps;
    ws.batch = batch;
    ws.lengths.clear();
    ws.lengths.extend_from_slice(input.lengths.unwrap_or(&[]));
    ws.inputs.resize_with(layers, Vec::new);
    ws.masks.resize_with(layers, Vec::new);
    ws.dirs.resize_with(layers * dirs, Default::default);
    ws.projections.resize_with(layers, Default::default);
    ws.tokens.clear();
    if keep_cache {
        ws.inputs[0].clear();
        ws.inputs[0].extend_from_slice(input.x);
        ws.tokens.extend_from_slice(input.tokens.unwrap_or(&[]));
    }

    let mut h_n = vec![R::ZERO; layers * dirs * bh];
    let mut c_n = if lstm { vec![R::ZERO; layers * dirs * bc] } else { Vec::new() };
    let p = f64::from(spec.dropout);
    let p_rec = f64::from(spec.recurrent_dropout);
    let mut rng = input.dropout_rng;
    let lengths = input.lengths;

    for l in 0..layers {
        let (done, next) = ws.inputs.split_at_mut(l + 1);
        let x = match input.tokens {
            Some(ids) if l == 0 => LayerX::Tokens(ids),
            _ => LayerX::Features(if l == 0 && !keep_cache { input.x } else { &done[l] }),
        };
        let last = l + 1 == layers;
        let out: &mut [R] = if last {
            &mut *output
        } else {
            fit(&mut next[0], steps * batch * out_w);
            &mut next[0]
        };
        let version = ws.params_version;
        let scans: Vec<Scan<'_, R>> = (0..dirs).map(|d| scan(spec, lengths, params, steps, batch, l, d, version, keep_cache)).collect();
        let layer_states = &mut ws.dirs[l * dirs..(l + 1) * dirs];
        project(&scans, x, &mut ws.projections[l], layer_states);
        // Recurrent dropout: one mask per direction, drawn before this layer's output dropout.
        for st in layer_states.iter_mut() {
            match rng.as_deref_mut() {
                Some(rng) if p_rec > 0.0 => draw_dropout_mask(rng, p_rec, bh, &mut st.rmask),
                _ => st.rmask.clear(),
            }
        }
        let dir_parts = scans[0].direction_parts(dirs);
        let (states, scratch) = (Disjoint::new(layer_states), Disjoint::new(&mut ws.steps[..dirs]));
        let (h_all, c_all) = (Disjoint::new(&mut h_n), Disjoint::new(&mut c_n));
        let out_all = Disjoint::new(&mut *out);
        parallel::run(dir_parts, |p| {
            for d in part_rows(dirs, dir_parts, p) {
                let (row, s) = (l * dirs + d, &scans[d]);
                // SAFETY: each direction takes its own state, scratch, h_n and c_n rows (c_n is
                // empty unless LSTM), and its own columns of the output (`OutRows`).
                let (st, sc, h_row, c_row) = unsafe { (&mut states.rows(d..d + 1, 1)[0], &mut scratch.rows(d..d + 1, 1)[0], h_all.rows(row..row + 1, bh), c_all.rows(row..row + 1, bc)) };
                let rows = OutRows { out: &out_all, offset: d * sw, width: out_w, batch_major: last && batch_major };
                s.forward(state_row(input.h0, row, bh), state_row(input.c0, row, bc), st, sc, rows);
                h_row.copy_from_slice(s.final_state(&st.hs, sw));
                if lstm {
                    c_row.copy_from_slice(s.final_state(&st.cs, hd));
                }
            }
        });
        if l + 1 < layers {
            match rng.as_deref_mut() {
                Some(rng) if p > 0.0 => apply_dropout(rng, p, out, &mut ws.masks[l + 1]),
                _ => ws.masks[l + 1].clear(),
            }
        }
    }
    ws.cached = keep_cache;
    (h_n, c_n)
}

/// BPTT through every layer, top to bottom. Lengths were validated by the caller. The gradient of
/// the block's input is computed only when `want_dx` (else `dx` comes back empty).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<R: Real>(spec: &RecurrentSpec, params: &[R], dy: &[R], dh_n: Option<&[R]>, dc_n: Option<&[R]>, grads: &mut [R], ws: &mut Workspace<R>, want_dx: bool) -> BlockGrads<R> {
    let (steps, batch, hd, sw) = (ws.seq_len, ws.batch, spec.hidden_size, spec.state_size());
    let (layers, dirs) = (spec.num_layers, spec.directions());
    let (bh, bc, out_w) = (batch * sw, batch * hd, spec.output_size());
    let lstm = spec.cell.has_cell_state();
    let lengths = (!ws.lengths.is_empty()).then_some(&ws.lengths[..]);

    // Token ids have no gradient: dx stays empty for them.
    let mut dx = if want_dx && ws.tokens.is_empty() { vec![R::ZERO; steps * batch * spec.input_size] } else { Vec::new() };
    let mut dh0 = vec![R::ZERO; layers * dirs * bh];
    let mut dc0 = if lstm { vec![R::ZERO; layers * dirs * bc] } else { Vec::new() };
    // dy_a: gradient of the current layer's output (below the top); dy_b: of its input.
    fit(&mut ws.dy_a, if layers > 1 { steps * batch * out_w } else { 0 });
    fit(&mut ws.dy_b, if layers > 1 { steps * batch * out_w } else { 0 });
    let mut dy_a = std::mem::take(&mut ws.dy_a);
    let mut dy_b = std::mem::take(&mut ws.dy_b);

    for l in (0..layers).rev() {
        let d_out: &[R] = if l + 1 == layers { dy } else { &dy_a };
        let d_in: &mut [R] = if l == 0 { &mut dx } else { &mut dy_b };
        // The directions run at once as in the forward, each with its own scratch; both add into
        // dL/dx, so then each direction's share of it is computed after both have run.
        let dir_parts = scan(spec, lengths, params, steps, batch, l, 0, None, true).direction_parts(dirs);
        let together = dir_parts > 1;
        let beta = |d: usize| if d == 0 { R::ZERO } else { R::ONE };
        let x = if l == 0 && !ws.tokens.is_empty() { LayerX::Tokens(&ws.tokens) } else { LayerX::Features(&ws.inputs[l]) };
        let d_in_len = d_in.len();
        {
            let (scratch, grads_all) = (Disjoint::new(&mut ws.back[..]), Disjoint::new(&mut *grads));
            let (dh0_all, dc0_all, d_in_all) = (Disjoint::new(&mut dh0), Disjoint::new(&mut dc0), Disjoint::new(&mut *d_in));
            parallel::run(dir_parts, |p| {
                for d in part_rows(dirs, dir_parts, p) {
                    let row = l * dirs + d;
                    let s = scan(spec, lengths, params, steps, batch, l, d, None, true);
                    // SAFETY: part p alone uses scratch p; direction d alone its parameter block and
                    // its dh0 / dc0 rows (dc0 is empty unless LSTM); dL/dx is taken only when one
                    // part runs the directions in turn, once per direction.
                    let (sc, g, dh0_row, dc0_row) = unsafe { (&mut scratch.rows(p..p + 1, 1)[0], grads_all.piece(s.cp.w_ih, s.cp.len), dh0_all.rows(row..row + 1, bh), dc0_all.rows(row..row + 1, bc)) };
                    let dx_part: &mut [R] = if together { &mut [] } else { unsafe { d_in_all.piece(0, d_in_len) } };
                    s.backward(x, d_out, d * sw, out_w, state_row(dh_n, row, bh), state_row(dc_n, row, bc), &ws.dirs[row], sc, g, dx_part, beta(d), dh0_row, dc0_row);
                }
            });
        }
        if together && !d_in.is_empty() {
            for (d, sc) in ws.back.iter().enumerate().take(dirs) {
                scan(spec, lengths, params, steps, batch, l, d, None, true).input_gradient(sc, d_in, beta(d));
            }
        }
        if l > 0 {
            // Through the dropout that produced this layer's input.
            let mask = &ws.masks[l];
            if !mask.is_empty() {
                d_in.iter_mut().zip(mask).for_each(|(g, m)| *g *= *m);
            }
            std::mem::swap(&mut dy_a, &mut dy_b);
        }
    }
    ws.dy_a = dy_a;
    ws.dy_b = dy_b;
    BlockGrads { dx, dh0, dc0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::block_param_count;
    use crate::parallel::scope_threads;
    use crate::spec::ModelSpec;

    /// How many directions of a bidirectional LSTM layer (input 16, hidden `h`) run at once.
    fn direction_parts(threads: usize, batch: usize, steps: usize, h: usize) -> usize {
        let json = format!(r#"{{"blocks":[{{"cell":"lstm","input_size":16,"hidden_size":{h},"bidirectional":true}}]}}"#);
        let spec = ModelSpec::from_json(&json).unwrap().recurrent_spec(0).unwrap();
        let params = vec![0.0f32; block_param_count(&spec)];
        let _t = scope_threads(threads);
        scan(&spec, None, &params, steps, batch, 0, 0, None, false).direction_parts(2)
    }

    #[test]
    fn directions_run_at_once_when_rows_leave_cores_idle_and_the_work_is_worth_it() {
        assert_eq!(direction_parts(1, 1, 100, 256), 1, "one thread");
        assert_eq!(direction_parts(2, 1, 100, 256), 2, "batch 1, 6.5·10⁶ MACs per direction");
        assert_eq!(direction_parts(2, 1, 50, 64), 1, "F2-sized directions: below MIN_DIRECTION_MACS");
        assert_eq!(direction_parts(2, 32, 100, 256), 2, "two threads: the row split uses no more cores");
        assert_eq!(direction_parts(4, 32, 100, 256), 1, "four threads: the row split uses them all");
        assert_eq!(direction_parts(4, 2, 100, 256), 2, "four threads, two rows");
        assert_eq!(direction_parts(2, 19, 9, 131), 2, "tests/parallel.rs's models (bit-identity at 2 threads)");
    }
}
