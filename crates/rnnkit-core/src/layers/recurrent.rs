//! `RNN`, `LSTM`, `GRU`: one PyTorch recurrent module (all its layers and directions) as a network
//! layer. The math lives in `crate::recurrent` (kernels, schedules, BPTT); this file only adapts it:
//! config, shapes, states (h, and c for cells with a cell state), parameters and init. Which cell a
//! layer type and `nonlinearity` pick is the cells' own answer (`Cell::layer_type`, `nonlinearity`);
//! the element-wise option keys (activations, LSTM peephole/clip/coupled gates) are `CellOptions`'.

use crate::error::Result;
use crate::fields::Fields;
use crate::init::init_block;
use crate::json::Json;
use crate::params::{block_layout, block_param_count};
use crate::real::Real;
use crate::recurrent::{BlockInput, RecurrentBlock};
use crate::rng::Rng;
use crate::spec::{CellKind, CellOptions, RecurrentSpec, WeightInit};
use crate::trace::{trace_block, TracePanel};

use super::{input_features, Forward, Layer, LayerGrads, LayerX, ParamShape, Shape, StateInfo};

const INITS: &[(&str, WeightInit)] =
    &[("uniform", WeightInit::Uniform), ("xavier", WeightInit::Xavier), ("orthogonal", WeightInit::Orthogonal)];

pub struct Recurrent<R: Real> {
    block: RecurrentBlock<R>,
}

impl<R: Real> Recurrent<R> {
    pub fn new(spec: RecurrentSpec) -> Self {
        Recurrent { block: RecurrentBlock::new(spec) }
    }

    /// `kind` is "RNN", "LSTM" or "GRU"; `input` the previous layer's output (None for the first
    /// layer, whose `input_size` is then required).
    pub fn from_config(kind: &str, config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        // The cells this layer type builds, by their `nonlinearity` (the first is the default).
        let cells: Vec<(&str, CellKind)> = CellKind::ALL.iter().filter(|c| c.layer_type() == kind).map(|&c| (c.nonlinearity().unwrap_or(""), c)).collect();
        let mut keys = vec!["input_size", "hidden_size", "num_layers", "bidirectional", "bias", "dropout", "weight_init", "recurrent_init"];
        keys.extend_from_slice(crate::cell::options::KEYS);
        let chooses = cells.iter().any(|(n, _)| !n.is_empty());
        if chooses {
            keys.push("nonlinearity");
        }
        let f = Fields::new(config, path, &keys)?;
        let cell = match cells.first() {
            Some(&(default, _)) if chooses => f.choice("nonlinearity", Some(default), &cells)?,
            Some(&(_, cell)) => cell,
            None => unreachable!("the registry builds this layer for cell layer types only, not {kind}"),
        };
        let (cell, options) = CellOptions::read(&f, cell, f.raw("nonlinearity").is_some())?;
        let spec = RecurrentSpec {
            cell,
            input_size: input_features(&f, "input_size", input, true)?,
            hidden_size: f.size("hidden_size", None, 1)?,
            num_layers: f.size("num_layers", Some(1), 1)?,
            bidirectional: f.boolean("bidirectional", false)?,
            bias: f.boolean("bias", true)?,
            dropout: f.in_range("dropout", 0.0, 0.0, 1.0, true)?,
            weight_init: f.choice("weight_init", Some("uniform"), &INITS[..2])?,
            recurrent_init: f.choice("recurrent_init", Some("uniform"), INITS)?,
            options,
        };
        Ok(Recurrent::new(spec))
    }

    pub fn spec(&self) -> &RecurrentSpec {
        &self.block.spec
    }
}

impl<R: Real> Layer<R> for Recurrent<R> {
    fn kind(&self) -> &'static str {
        self.spec().cell.layer_type()
    }

    fn config(&self) -> Json {
        let s = self.spec();
        let init = |w: WeightInit| Json::Str(INITS.iter().find(|(_, x)| *x == w).map_or("uniform", |(n, _)| n).into());
        let mut kv = vec![
            ("input_size".into(), Json::Num(s.input_size as f64)),
            ("hidden_size".into(), Json::Num(s.hidden_size as f64)),
            ("num_layers".into(), Json::Num(s.num_layers as f64)),
            ("bidirectional".into(), Json::Bool(s.bidirectional)),
            ("bias".into(), Json::Bool(s.bias)),
            ("dropout".into(), Json::Num(s.dropout as f64)),
            ("weight_init".into(), init(s.weight_init)),
            ("recurrent_init".into(), init(s.recurrent_init)),
        ];
        // An Elman activation beyond PyTorch's nonlinearities is written as `activation` alone.
        if let Some(n) = s.cell.nonlinearity().filter(|_| s.options.activation.is_none()) {
            kv.push(("nonlinearity".into(), Json::Str(n.into())));
        }
        s.options.write(&mut kv);
        Json::Obj(kv)
    }

    fn input_shape(&self) -> Shape {
        Shape::Seq { features: self.spec().input_size }
    }

    fn output_shape(&self) -> Shape {
        Shape::Seq { features: self.spec().output_size() }
    }

    fn params(&self) -> Vec<ParamShape> {
        block_layout(self.spec(), "", 0).into_iter().map(|p| ParamShape::new(p.name, p.shape)).collect()
    }

    fn param_count(&self) -> usize {
        block_param_count(self.spec())
    }

    fn init(&self, params: &mut [f32], rng: &mut Rng) {
        init_block(self.spec(), params, rng);
    }

    fn states(&self, batch: usize) -> Vec<StateInfo> {
        let s = self.spec();
        let dims = vec![s.state_rows(), batch, s.hidden_size];
        let mut out = vec![StateInfo { name: "h", dims: dims.clone() }];
        if s.cell.has_cell_state() {
            out.push(StateInfo { name: "c", dims });
        }
        out
    }

    fn streams(&self) -> std::result::Result<(), String> {
        if self.spec().bidirectional {
            return Err("a bidirectional layer's reverse direction sees the future".into());
        }
        Ok(())
    }

    fn uses_rng(&self) -> bool {
        self.spec().dropout > 0.0 && self.spec().num_layers > 1
    }

    fn writes_batch_major(&self) -> bool {
        true
    }

    fn reads_ids(&self) -> bool {
        true
    }

    fn forward(&mut self, params: &[R], fwd: Forward<'_, R>, out: &mut [R]) -> Vec<Vec<R>> {
        let (x, tokens) = match fwd.x {
            LayerX::Features(x) => (x, None),
            LayerX::Tokens(ids) => (&[][..], Some(ids)),
        };
        let has_c = self.spec().cell.has_cell_state();
        let input = BlockInput {
            x,
            tokens,
            seq_len: fwd.seq_len,
            batch: fwd.batch,
            h0: fwd.states.first().copied().flatten(),
            c0: if has_c { fwd.states.get(1).copied().flatten() } else { None },
            lengths: fwd.lengths,
            dropout_rng: fwd.rng,
        };
        self.block.set_params_version(Some(fwd.params_version));
        let (h, c) = self.block.forward_into(params, input, fwd.keep, out, fwd.batch_major);
        if has_c { vec![h, c] } else { vec![h] }
    }

    fn backward(&mut self, params: &[R], d_out: &[R], _at_logits: bool, d_states: &[Option<&[R]>], grads: &mut [R], want_dx: bool) -> Result<LayerGrads<R>> {
        let has_c = self.spec().cell.has_cell_state();
        let dh = d_states.first().copied().flatten();
        let dc = if has_c { d_states.get(1).copied().flatten() } else { None };
        let g = self.block.backward_grads(params, d_out, dh, dc, grads, want_dx)?;
        let d_states = if has_c { vec![g.dh0, g.dc0] } else { vec![g.dh0] };
        Ok(LayerGrads { dx: g.dx, d_states })
    }

    fn clear_cache(&mut self) {
        self.block.clear_cache();
    }

    fn trace(&self, params: &[R], x: LayerX<'_, R>, seq_len: usize, _out: &[R]) -> Vec<TracePanel> {
        trace_block(self.spec(), params, x, seq_len)
    }

}

impl RecurrentSpec {
    /// This module as a `layers` entry.
    pub fn to_layer_spec(&self) -> super::LayerSpec {
        super::LayerSpec::new(self.cell.layer_type(), Layer::<f32>::config(&Recurrent::<f32>::new(self.clone())))
    }
}

impl crate::spec::ModelSpec {
    /// Layer `index` read as a recurrent module (an error names it when it is another kind).
    pub fn recurrent_spec(&self, index: usize) -> Result<RecurrentSpec> {
        let l = self.layers.get(index).ok_or_else(|| crate::Error::value("spec.layers", format!("has no layer {index}")))?;
        if !matches!(l.kind.as_str(), "RNN" | "LSTM" | "GRU") {
            return Err(crate::Error::value(format!("spec.layers[{index}].type"), format!("expected RNN, LSTM or GRU, got {}", l.kind)));
        }
        Ok(Recurrent::<f32>::from_config(&l.kind, &l.config, None, &format!("spec.layers[{index}].config"))?.block.spec)
    }
}
