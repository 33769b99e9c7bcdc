//! Activation traces for reports: the inside of the network for ONE input sequence — per block, layer
//! and direction, the hidden state h [T, H], the LSTM cell state c [T, H] and every gate's activation
//! [T, H] (the cell's `gate_panels`: LSTM i, f, g, o; GRU r, z, n). It steps the cells one time step
//! at a time with plain dot products and `Cell::forward_step`, so it is independent of the layer's
//! GEMM schedule; it is for
//! plots, where clarity beats speed. Rows are indexed by time position t (also for reverse directions).

use crate::cell::{with_cell, Cell, GateHidden, Recurrence, StepForward};
use crate::layers::LayerX;
use crate::json::Json;
use crate::params::cell_params;
use crate::real::Real;
use crate::spec::RecurrentSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    Hidden,
    Cell,
    Gate,
    /// A layer's output sequence (or vector, as one step).
    Output,
    /// Attention weights: `units` keys per query step.
    Attention,
}

impl PanelKind {
    pub fn name(self) -> &'static str {
        match self {
            PanelKind::Hidden => "hidden",
            PanelKind::Cell => "cell",
            PanelKind::Gate => "gate",
            PanelKind::Output => "output",
            PanelKind::Attention => "attention",
        }
    }
}

/// One heatmap: `units` rows over `steps` columns, stored step-major [T, units].
#[derive(Debug, Clone, PartialEq)]
pub struct TracePanel {
    /// e.g. "layer 0 hidden state h", "block 1 layer 0 reverse gate f (forget)".
    pub name: String,
    pub kind: PanelKind,
    pub block: usize,
    pub layer: usize,
    /// 0 forward, 1 reverse.
    pub direction: usize,
    pub units: usize,
    /// The function that produced the values, so a plot can pick its colour scale: "sigmoid" (0..1),
    /// "tanh" (−1..1), "relu" (≥ 0) or "none" (a cell state: unbounded).
    pub activation: &'static str,
    /// [T, units]
    pub values: Vec<f32>,
}

impl TracePanel {
    /// A layer's output [T, units] (a vector output is one step), for any layer kind.
    pub fn output<R: Real>(units: usize, values: &[R]) -> TracePanel {
        TracePanel { name: "output".into(), kind: PanelKind::Output, block: 0, layer: 0, direction: 0, units, activation: "none", values: to_f32(values) }
    }

    /// Attention weights [steps, units] (a query step's weights over `units` keys), any layer kind.
    /// Softmax weights lie in [0, 1]: the "sigmoid" colour scale.
    pub fn attention<R: Real>(name: String, units: usize, values: &[R]) -> TracePanel {
        TracePanel { name, kind: PanelKind::Attention, block: 0, layer: 0, direction: 0, units, activation: "sigmoid", values: to_f32(values) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub steps: usize,
    pub panels: Vec<TracePanel>,
}

impl Trace {
    /// `{"steps": T, "panels": [{"name", "kind", "block", "layer", "direction", "units",
    /// "activation", "offset"}]}`, `offset` indexing `flat_values()`. What the bindings hand to JS.
    pub fn meta_json(&self) -> String {
        let mut offset = 0usize;
        let panels = self
            .panels
            .iter()
            .map(|p| {
                let o = offset;
                offset += p.values.len();
                Json::Obj(vec![
                    ("name".into(), Json::Str(p.name.clone())),
                    ("kind".into(), Json::Str(p.kind.name().into())),
                    ("block".into(), Json::Num(p.block as f64)),
                    ("layer".into(), Json::Num(p.layer as f64)),
                    ("direction".into(), Json::Num(p.direction as f64)),
                    ("units".into(), Json::Num(p.units as f64)),
                    ("activation".into(), Json::Str(p.activation.into())),
                    ("offset".into(), Json::Num(o as f64)),
                ])
            })
            .collect();
        Json::Obj(vec![("steps".into(), Json::Num(self.steps as f64)), ("panels".into(), Json::Arr(panels))]).to_string()
    }

    /// Every panel's values, concatenated in panel order.
    pub fn flat_values(&self) -> Vec<f32> {
        self.panels.iter().flat_map(|p| p.values.iter().copied()).collect()
    }
}

/// What one direction of one layer recorded.
struct DirTrace<R> {
    h: Vec<R>,
    c: Vec<R>,
    gates: Vec<R>,
}

/// Runs one direction over `x` [T, input] from zero state, one step at a time.
fn run_direction<R: Real>(spec: &RecurrentSpec, params: &[R], layer: usize, dir: usize, x: LayerX<'_, R>, steps: usize) -> DirTrace<R> {
    with_cell!(spec.cell, |cell| run_cell(cell, spec, params, layer, dir, x, steps))
}

/// `run_direction` for one cell.
fn run_cell<R: Real, C: Cell>(cell: &C, spec: &RecurrentSpec, params: &[R], layer: usize, dir: usize, x: LayerX<'_, R>, steps: usize) -> DirTrace<R> {
    let cp = cell_params(spec, layer, dir);
    // h has sw features: an LSTM's proj_size with a projection (W_hr·(o ⊙ h(c))), else H.
    let (hd, input, sw) = (spec.hidden_size, cp.input_size, spec.state_size());
    let gs = cell.gates() * hd;
    // Gate rows from here on are the apart gates' (`Cell::apart_gates`): their b_hh stays apart.
    let shared = gs - cell.apart_gates() * hd;
    let w_ih = &params[cp.w_ih..cp.w_ih + gs * input];
    let w_hh = &params[cp.w_hh..cp.w_hh + gs * cell.recurrence().weight_cols(sw)];
    let w_hr = cp.w_hr.map(|o| &params[o..o + sw * hd]);
    let b_ih = cp.b_ih.map(|o| &params[o..o + gs]);
    let b_hh = cp.b_hh.map(|o| &params[o..o + gs]);
    let lstm = cell.has_cell_state();
    let dot = |w: &[R], v: &[R]| w.iter().zip(v).fold(R::ZERO, |acc, (a, b)| acc + *a * *b);

    let mut out = DirTrace { h: vec![R::ZERO; steps * sw], c: vec![R::ZERO; if lstm { steps * hd } else { 0 }], gates: vec![R::ZERO; steps * gs] };
    let mut h = vec![R::ZERO; sw];
    // The cell's h_{t−1} with a projection (it reads none for an active row).
    let zeros = vec![R::ZERO; hd];
    let mut c = vec![R::ZERO; if lstm { hd } else { 0 }];
    let mut aux = vec![R::ZERO; cell.aux_width(hd)];
    for k in 0..steps {
        let t = if spec.scans_reverse(dir) { steps - 1 - k } else { k };
        // x-side pre-activations with the biases folded in, except the apart gates' b_hh (GRU's b_hn,
        // inside r ⊙ (…)). A token id stands for a one-hot row: its product with W_ih is W_ih's column.
        let mut gates: Vec<R> = (0..gs)
            .map(|r| {
                let folded_hh = if r >= shared { R::ZERO } else { b_hh.map_or(R::ZERO, |b| b[r]) };
                let wx = match x {
                    LayerX::Features(x) => dot(&w_ih[r * input..(r + 1) * input], &x[t * input..(t + 1) * input]),
                    LayerX::Tokens(ids) => w_ih[r * input + ids[t] as usize],
                };
                wx + b_ih.map_or(R::ZERO, |b| b[r]) + folded_hh
            })
            .collect();
        let mut gh: Vec<R> = match cell.recurrence() {
            // u ⊙ h: row r reads unit r mod H.
            Recurrence::Diagonal => (0..gs).map(|r| w_hh[r] * h[r % hd]).collect(),
            _ => (0..gs).map(|r| dot(&w_hh[r * sw..(r + 1) * sw], &h)).collect(),
        };
        if let Recurrence::Gated { blocks } = cell.recurrence() {
            // The two phases of `Recurrence::Gated`: g from the other blocks, then the gated blocks
            // read g ⊙ h (left in aux) through their rows of W_hh; the step then gets no `gh`.
            let plain = gs - blocks * hd;
            gates.iter_mut().zip(&gh[..plain]).for_each(|(g, v)| *g += *v);
            cell.gate_hidden(GateHidden { batch: 1, hidden: hd, gates: &mut gates, h_prev: &h, gated_h: &mut aux, options: &spec.options });
            for r in plain..gs {
                gates[r] += dot(&w_hh[r * hd..(r + 1) * hd], &aux);
            }
            gh.clear();
        }
        let mut h_new = vec![R::ZERO; hd];
        let mut c_new = vec![R::ZERO; c.len()];
        cell.forward_step(StepForward {
            batch: 1,
            hidden: hd,
            active: &[true],
            gates: &mut gates,
            gh: &gh,
            b_hh_apart: b_hh.filter(|_| shared < gs).map(|b| &b[shared..]),
            h_prev: if w_hr.is_some() { &zeros } else { &h },
            h: &mut h_new,
            c_prev: &c,
            c: &mut c_new,
            aux: &mut aux,
            options: &spec.options,
            peephole: cp.peephole_in(params, hd),
        });
        if let Some(w) = w_hr {
            h_new = w.chunks_exact(hd).map(|row| dot(row, &h_new)).collect();
        }
        out.h[t * sw..(t + 1) * sw].copy_from_slice(&h_new);
        if lstm {
            out.c[t * hd..(t + 1) * hd].copy_from_slice(&c_new);
        }
        out.gates[t * gs..(t + 1) * gs].copy_from_slice(&gates);
        h = h_new;
        c = c_new;
    }
    out
}

fn to_f32<R: Real>(xs: &[R]) -> Vec<f32> {
    xs.iter().map(|v| v.to_f32()).collect()
}

/// Column block `j` (width `w`) of a [T, width·n] buffer, as [T, w].
fn column_block<R: Real>(xs: &[R], steps: usize, row: usize, j: usize, w: usize) -> Vec<f32> {
    (0..steps).flat_map(|t| xs[t * row + j * w..t * row + (j + 1) * w].iter().map(|v| v.to_f32())).collect()
}

/// Traces one recurrent module (`spec`, its parameter slice `params`) on one sequence `x`
/// (time-major [T, 1, input] = [T, input]) from zero initial states, in inference mode (no
/// dropout). Panel names are "layer {l}[ forward|reverse] ..."; `block` is left 0 for the network
/// to set. Input is validated by the caller.
pub fn trace_block<R: Real>(bs: &RecurrentSpec, bp: &[R], x: LayerX<'_, R>, steps: usize) -> Vec<TracePanel> {
    let mut panels = Vec::new();
    let mut input: Vec<R> = Vec::new();
    let (hd, dirs, sw) = (bs.hidden_size, bs.directions(), bs.state_size());
    for l in 0..bs.num_layers {
        let width = bs.output_size();
        let mut layer_out = vec![R::ZERO; steps * width];
        for d in 0..dirs {
            let lx = if l == 0 { x } else { LayerX::Features(&input) };
            let dt = run_direction(bs, bp, l, d, lx, steps);
            for t in 0..steps {
                layer_out[t * width + d * sw..t * width + (d + 1) * sw].copy_from_slice(&dt.h[t * sw..(t + 1) * sw]);
            }
            let direction = if bs.bidirectional { if d == 0 { " forward" } else { " reverse" } } else if bs.reverse { " reverse" } else { "" };
            let prefix = format!("layer {l}{direction}");
            let panel = |name: String, kind: PanelKind, activation: &'static str, values: Vec<f32>| TracePanel {
                name,
                kind,
                block: 0,
                layer: l,
                direction: d,
                units: hd,
                activation,
                values,
            };
            // A projected h (sw units) is a linear map of o ⊙ h(c): unbounded.
            let h_activation = if sw == hd { bs.options.hidden_activation(bs.cell) } else { "none" };
            panels.push(TracePanel { units: sw, ..panel(format!("{prefix} hidden state h"), PanelKind::Hidden, h_activation, to_f32(&dt.h)) });
            if bs.cell.has_cell_state() {
                panels.push(panel(format!("{prefix} cell state c"), PanelKind::Cell, "none", to_f32(&dt.c)));
            }
            let gs = bs.cell.gates() * hd;
            for (j, (gate, act)) in bs.cell.gate_panels().iter().enumerate() {
                panels.push(panel(format!("{prefix} gate {gate}"), PanelKind::Gate, bs.options.panel_activation(act), column_block(&dt.gates, steps, gs, j, hd)));
            }
        }
        input = layer_out;
    }
    panels
}
