//! Parameter layout: names, shapes and offsets into one flat buffer, in PyTorch's `named_parameters()`
//! order (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, then the `_reverse` direction,
//! then the next layer). Gradients use the same layout, so optimizers see two flat slices. An LSTM
//! with peepholes adds `weight_peephole_l{k}[_reverse]` [3·H] after each cell's bias_hh: ONNX's P,
//! in ONNX's order i, o, f (PyTorch has no peepholes; its names for the rest are unchanged). An LSTM
//! with `proj_size` P has W_hh [4H, P] and adds `weight_hr_l{k}[_reverse]` [P, H] last in each
//! cell's block (after the biases, as PyTorch; after the peepholes when both are set).

use crate::cell::options::PEEPHOLES;
use crate::cell::Recurrence;
use crate::spec::RecurrentSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// Offset of the first element in the flat buffer.
    pub offset: usize,
}

impl ParamInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Where one layer+direction's tensors sit inside its block's slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellParams {
    pub input_size: usize,
    /// [gates·H, input_size]
    pub w_ih: usize,
    /// [gates·H, H], or [gates·H] for a diagonal recurrence (`Recurrence::Diagonal`: IndRNN's u)
    pub w_hh: usize,
    /// [gates·H], `None` when the block has no bias.
    pub b_ih: Option<usize>,
    pub b_hh: Option<usize>,
    /// [PEEPHOLES·H] (ONNX's P: i, o, f), `None` without peepholes.
    pub peephole: Option<usize>,
    /// [proj_size, H]: the LSTM's output projection W_hr, `None` without `proj_size`.
    pub w_hr: Option<usize>,
    /// Values in this layer+direction's block [W_ih | W_hh | b_ih | b_hh | P | W_hr], which starts at `w_ih`.
    pub len: usize,
}

impl CellParams {
    /// The peephole weights [PEEPHOLES·hidden] in `params` (the block's slice), empty without.
    pub fn peephole_in<'p, R>(&self, params: &'p [R], hidden: usize) -> &'p [R] {
        self.peephole.map_or(&[], |o| &params[o..o + PEEPHOLES * hidden])
    }
}

/// Offsets (relative to the block's first parameter) for layer `layer`, direction `dir` (1 = reverse).
pub fn cell_params(spec: &RecurrentSpec, layer: usize, dir: usize) -> CellParams {
    let g = spec.cell.gates() * spec.hidden_size;
    // Columns of W_hh's rows: h's features (H, or proj_size), or 1 for a vector (`Recurrence::Diagonal`).
    let h = spec.cell.recurrence().weight_cols(spec.state_size());
    let peephole = if spec.options.peephole { PEEPHOLES * spec.hidden_size } else { 0 };
    let w_hr = spec.options.proj_size * spec.hidden_size;
    let per_cell = |input: usize| g * input + g * h + if spec.bias { 2 * g } else { 0 } + peephole + w_hr;
    let mut offset = 0;
    for l in 0..=layer {
        let input = if l == 0 { spec.input_size } else { spec.output_size() };
        for d in 0..spec.directions() {
            if l == layer && d == dir {
                let w_ih = offset;
                let w_hh = w_ih + g * input;
                let b_ih = spec.bias.then_some(w_hh + g * h);
                let b_hh = b_ih.map(|b| b + g);
                let p = b_hh.map_or(w_hh + g * h, |b| b + g);
                let peephole = spec.options.peephole.then_some(p);
                let w_hr = (w_hr > 0).then_some(p + peephole.map_or(0, |_| PEEPHOLES * spec.hidden_size));
                return CellParams { input_size: input, w_ih, w_hh, b_ih, b_hh, peephole, w_hr, len: per_cell(input) };
            }
            offset += per_cell(input);
        }
    }
    unreachable!("cell_params: layer {layer} dir {dir} outside the block")
}

/// PyTorch names and shapes of one recurrent block, offsets relative to `base`.
pub fn block_layout(spec: &RecurrentSpec, prefix: &str, base: usize) -> Vec<ParamInfo> {
    let g = spec.cell.gates() * spec.hidden_size;
    let mut out = Vec::new();
    for l in 0..spec.num_layers {
        for d in 0..spec.directions() {
            let c = cell_params(spec, l, d);
            let suffix = if d == 1 { "_reverse" } else { "" };
            let mut push = |name: &str, shape: Vec<usize>, off: usize| {
                out.push(ParamInfo { name: format!("{prefix}{name}_l{l}{suffix}"), shape, offset: base + off })
            };
            push("weight_ih", vec![g, c.input_size], c.w_ih);
            let diagonal = spec.cell.recurrence() == Recurrence::Diagonal;
            push("weight_hh", if diagonal { vec![g] } else { vec![g, spec.state_size()] }, c.w_hh);
            if let (Some(bi), Some(bh)) = (c.b_ih, c.b_hh) {
                push("bias_ih", vec![g], bi);
                push("bias_hh", vec![g], bh);
            }
            if let Some(p) = c.peephole {
                push("weight_peephole", vec![PEEPHOLES * spec.hidden_size], p);
            }
            if let Some(w) = c.w_hr {
                push("weight_hr", vec![spec.options.proj_size, spec.hidden_size], w);
            }
        }
    }
    out
}

/// Elements of a block's parameter slice: where its last cell's last tensor ends. Offsets, not
/// `block_layout`: every forward and backward checks it, and building the names was ~15% of a
/// tiny forward call.
pub fn block_param_count(spec: &RecurrentSpec) -> usize {
    let last = cell_params(spec, spec.num_layers.saturating_sub(1), spec.directions() - 1);
    last.w_ih + last.len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{CellKind, WeightInit};

    fn spec(cell: CellKind, num_layers: usize, bidirectional: bool, bias: bool) -> RecurrentSpec {
        let u = WeightInit::Uniform;
        RecurrentSpec { cell, input_size: 3, hidden_size: 5, num_layers, bidirectional, reverse: false, bias, dropout: 0.0, recurrent_dropout: 0.0, weight_init: u, recurrent_init: u, recurrent_max_abs: None, options: Default::default() }
    }

    #[test]
    fn matches_pytorch_names_and_offsets() {
        let s = spec(CellKind::Lstm, 2, true, true);
        let layout = block_layout(&s, "", 0);
        let names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(&names[..5], &["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]);
        assert_eq!(layout[8].shape, vec![20, 10]); // weight_ih_l1 sees both directions
        for w in layout.windows(2) {
            assert_eq!(w[0].offset + w[0].len(), w[1].offset);
        }
        assert_eq!(block_param_count(&s), layout.iter().map(ParamInfo::len).sum::<usize>());
    }

    #[test]
    fn block_param_count_matches_the_layout() {
        for cell in [CellKind::RnnTanh, CellKind::Lstm, CellKind::Gru] {
            for (layers, bidirectional, bias) in [(1, false, true), (1, true, false), (3, false, false), (2, true, true)] {
                let s = spec(cell, layers, bidirectional, bias);
                let sum: usize = block_layout(&s, "", 0).iter().map(ParamInfo::len).sum();
                assert_eq!(block_param_count(&s), sum, "{s:?}");
            }
        }
    }

    #[test]
    fn projection_follows_each_cells_biases_as_in_pytorch() {
        let mut s = spec(CellKind::Lstm, 2, true, true);
        s.options.proj_size = 2;
        let layout = block_layout(&s, "", 0);
        let names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
        // [n for n, _ in nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True).named_parameters()]
        assert_eq!(&names[..6], &["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l0_reverse"]);
        assert_eq!(names.last(), Some(&"weight_hr_l1_reverse"));
        assert_eq!((layout[1].shape.clone(), layout[4].shape.clone()), (vec![20, 2], vec![2, 5]));
        assert_eq!(layout[10].shape, vec![20, 4]); // weight_ih_l1 sees both directions' projected h
        for w in layout.windows(2) {
            assert_eq!(w[0].offset + w[0].len(), w[1].offset);
        }
        assert_eq!(block_param_count(&s), layout.iter().map(ParamInfo::len).sum::<usize>());
        s.options.peephole = true;
        let layout = block_layout(&s, "", 0);
        assert_eq!((layout[4].name.as_str(), layout[5].name.as_str()), ("weight_peephole_l0", "weight_hr_l0"));
        assert_eq!(block_param_count(&s), layout.iter().map(ParamInfo::len).sum::<usize>());
    }

    #[test]
    fn peepholes_follow_each_cells_biases() {
        for bias in [true, false] {
            let mut s = spec(CellKind::Lstm, 2, true, bias);
            s.options.peephole = true;
            let layout = block_layout(&s, "", 0);
            let names: Vec<&str> = layout.iter().map(|p| p.name.as_str()).collect();
            let first: &[&str] = if bias { &["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_peephole_l0"] } else { &["weight_ih_l0", "weight_hh_l0", "weight_peephole_l0"] };
            assert_eq!(&names[..first.len()], first);
            assert_eq!(names.last(), Some(&"weight_peephole_l1_reverse"));
            assert!(layout.iter().filter(|p| p.name.starts_with("weight_peephole")).all(|p| p.shape == vec![15]));
            for w in layout.windows(2) {
                assert_eq!(w[0].offset + w[0].len(), w[1].offset);
            }
            assert_eq!(block_param_count(&s), layout.iter().map(ParamInfo::len).sum::<usize>());
        }
    }
}
