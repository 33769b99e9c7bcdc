//! `RNN`, `LSTM`, `GRU`, `IndRNN`: one PyTorch-style recurrent module (all its layers and
//! directions) as a network layer. The math lives in `crate::recurrent` (kernels, schedules, BPTT);
//! this file only adapts it: config, shapes, states (h, and c for cells with a cell state),
//! parameters and init. Which cell a layer type, `nonlinearity` and `reset_after` pick is the cells'
//! own answer (`Cell::layer_type`, `nonlinearity`, `reset_after`); the element-wise option keys
//! (activations, LSTM peephole/clip/coupled gates) are `CellOptions`'.

use crate::error::Result;
use crate::fields::Fields;
use crate::init::init_block;
use crate::json::Json;
use crate::cell::Recurrence;
use crate::params::{block_layout, block_param_count, cell_params};
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

    /// `kind` is "RNN", "LSTM", "GRU" or "IndRNN"; `input` the previous layer's output (None for the first
    /// layer, whose `input_size` is then required).
    pub fn from_config(kind: &str, config: &Json, input: Option<Shape>, path: &str) -> Result<Self> {
        // The cells this layer type builds; its `nonlinearity` and `reset_after` keys (when its cells
        // differ in them) pick one, the first cell's values being the defaults.
        let cells: Vec<CellKind> = CellKind::ALL.iter().copied().filter(|c| c.layer_type() == kind).collect();
        let Some(&first) = cells.first() else { unreachable!("the registry builds this layer for cell layer types only, not {kind}") };
        let mut keys = vec!["input_size", "hidden_size", "num_layers", "bidirectional", "direction", "bias", "dropout", "recurrent_dropout", "weight_init", "recurrent_init"];
        keys.extend_from_slice(crate::cell::options::KEYS);
        let nonlinearities: Vec<(&str, &str)> = cells.iter().filter_map(|c| c.nonlinearity()).map(|n| (n, n)).collect();
        let chooses_reset = cells.iter().any(|c| c.reset_after().is_some());
        if !nonlinearities.is_empty() {
            keys.push("nonlinearity");
        }
        if chooses_reset {
            keys.push("reset_after");
        }
        // A diagonal recurrence (IndRNN) has a vector, not a matrix, to initialise, and a bound.
        let diagonal = first.recurrence() == Recurrence::Diagonal;
        if diagonal {
            keys.retain(|k| *k != "recurrent_init");
            keys.push("recurrent_max_abs");
        }
        let f = Fields::new(config, path, &keys)?;
        let nonlinearity = first.nonlinearity().map(|default| f.choice("nonlinearity", Some(default), &nonlinearities)).transpose()?;
        let reset_after = first.reset_after().map(|default| f.boolean("reset_after", default)).transpose()?;
        let Some(&cell) = cells.iter().find(|c| c.nonlinearity() == nonlinearity && c.reset_after() == reset_after) else {
            unreachable!("every {kind} choice names a cell (cell::tests::names_are_unique_and_consistent)")
        };
        let (cell, options) = CellOptions::read(&f, cell, f.raw("nonlinearity").is_some())?;
        let (bidirectional, reverse) = direction(&f)?;
        let spec = RecurrentSpec {
            cell,
            input_size: input_features(&f, "input_size", input, true)?,
            hidden_size: f.size("hidden_size", None, 1)?,
            num_layers: f.size("num_layers", Some(1), 1)?,
            bidirectional,
            reverse,
            bias: f.boolean("bias", true)?,
            dropout: f.in_range("dropout", 0.0, 0.0, 1.0, true)?,
            recurrent_dropout: recurrent_dropout(&f, cell)?,
            weight_init: f.choice("weight_init", Some("uniform"), &INITS[..2])?,
            recurrent_init: f.choice("recurrent_init", Some("uniform"), INITS)?,
            recurrent_max_abs: recurrent_max_abs(&f)?,
            options,
        };
        if spec.options.proj_size >= spec.hidden_size {
            return Err(crate::Error::value(f.path("proj_size"), format!("expected 0 (none) or a size < hidden_size ({}), got {}", spec.hidden_size, spec.options.proj_size)));
        }
        Ok(Recurrent::new(spec))
    }

    pub fn spec(&self) -> &RecurrentSpec {
        &self.block.spec
    }
}

/// A diagonal recurrence's optional bound: a number > 0 (kept as given, so the config reads back as written).
fn recurrent_max_abs(f: &Fields<'_>) -> Result<Option<f64>> {
    match f.opt_num("recurrent_max_abs")? {
        Some(b) if b <= 0.0 => Err(crate::Error::value(f.path("recurrent_max_abs"), format!("expected a value > 0, got {b}"))),
        b => Ok(b),
    }
}

/// `recurrent_dropout` in [0, 1): for the cells whose recurrent input is h_{t−1} itself through a
/// matrix or a vector (not the reset-before GRU, whose gated product reads r ⊙ h_{t−1}).
fn recurrent_dropout(f: &Fields<'_>, cell: CellKind) -> Result<f32> {
    let p = f.in_range("recurrent_dropout", 0.0, 0.0, 1.0, true)?;
    if p > 0.0 && cell.recurrence().gated_blocks() > 0 {
        return Err(crate::Error::value(f.path("recurrent_dropout"), format!("expected 0 for the {} cell (reset_after false: its gated product reads r ⊙ h_{{t−1}}), got {p}", cell.name())));
    }
    Ok(p)
}

/// (bidirectional, reverse) from `direction` ("forward" | "reverse" | "bidirectional") and the older
/// `bidirectional` flag, which stays accepted; both given must agree.
fn direction(f: &Fields<'_>) -> Result<(bool, bool)> {
    const DIRECTIONS: &[(&str, (bool, bool))] = &[("forward", (false, false)), ("reverse", (false, true)), ("bidirectional", (true, false))];
    let flag = f.raw("bidirectional").map(|_| f.boolean("bidirectional", false)).transpose()?;
    let Some(named) = f.raw("direction").map(|_| f.choice("direction", None, DIRECTIONS)).transpose()? else {
        return Ok((flag.unwrap_or(false), false));
    };
    match flag {
        Some(b) if b != named.0 => {
            let name = DIRECTIONS.iter().find(|(_, d)| *d == named).map_or("", |(n, _)| *n);
            Err(crate::Error::value(f.path("bidirectional"), format!("expected {} (direction is \"{name}\"), got {b}; give one of the two", named.0)))
        }
        _ => Ok(named),
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
            ("direction".into(), Json::Str(s.direction_name().into())),
            ("bias".into(), Json::Bool(s.bias)),
            ("dropout".into(), Json::Num(s.dropout as f64)),
            ("weight_init".into(), init(s.weight_init)),
            ("recurrent_init".into(), init(s.recurrent_init)),
        ];
        // Written only when set, so configs without it read back as before.
        if s.recurrent_dropout > 0.0 {
            kv.push(("recurrent_dropout".into(), Json::Num(s.recurrent_dropout as f64)));
        }
        if s.cell.recurrence() == Recurrence::Diagonal {
            kv.retain(|(k, _)| k != "recurrent_init");
            kv.push(("recurrent_max_abs".into(), s.recurrent_max_abs.map_or(Json::Null, Json::Num)));
        }
        // An Elman activation beyond PyTorch's nonlinearities is written as `activation` alone.
        if let Some(n) = s.cell.nonlinearity().filter(|_| s.options.activation.is_none()) {
            kv.push(("nonlinearity".into(), Json::Str(n.into())));
        }
        if let Some(r) = s.cell.reset_after() {
            kv.push(("reset_after".into(), Json::Bool(r)));
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
        // h has proj_size features with a projection; c keeps hidden_size.
        let mut out = vec![StateInfo { name: "h", dims: vec![s.state_rows(), batch, s.state_size()] }];
        if s.cell.has_cell_state() {
            out.push(StateInfo { name: "c", dims: vec![s.state_rows(), batch, s.hidden_size] });
        }
        out
    }

    fn streams(&self) -> std::result::Result<(), String> {
        if self.spec().bidirectional {
            return Err("a bidirectional layer's reverse direction sees the future".into());
        }
        if self.spec().reverse {
            return Err("a reverse layer starts from the last step: it sees the future".into());
        }
        Ok(())
    }

    fn uses_rng(&self) -> bool {
        (self.spec().dropout > 0.0 && self.spec().num_layers > 1) || self.spec().recurrent_dropout > 0.0
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

    /// |u| ≤ recurrent_max_abs for every layer and direction's recurrent vector (IndRNN): the paper's
    /// constraint, applied after each optimizer step.
    fn constrain(&self, params: &mut [R]) {
        let s = self.spec();
        let Some(bound) = s.recurrent_max_abs.map(R::from_f64) else { return };
        let n = s.cell.gates() * s.hidden_size * s.cell.recurrence().weight_cols(s.state_size());
        for l in 0..s.num_layers {
            for d in 0..s.directions() {
                let w = cell_params(s, l, d).w_hh;
                params[w..w + n].iter_mut().for_each(|u| *u = u.max(-bound).min(bound));
            }
        }
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
        if !matches!(l.kind.as_str(), "RNN" | "LSTM" | "GRU" | "IndRNN") {
            return Err(crate::Error::value(format!("spec.layers[{index}].type"), format!("expected RNN, LSTM, GRU or IndRNN, got {}", l.kind)));
        }
        Ok(Recurrent::<f32>::from_config(&l.kind, &l.config, None, &format!("spec.layers[{index}].config"))?.block.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradcheck::{check, Case};
    use super::*;

    /// The structural variants through the `Layer` trait (config, states, params as the network sees
    /// them) against central finite differences: every parameter, x and h0, with lengths.
    #[test]
    fn structural_variants_pass_the_finite_difference_check() {
        let seq = Some(Shape::Seq { features: 3 });
        for (kind, config) in [
            ("GRU", r#"{"hidden_size":3,"reset_after":false,"direction":"reverse","num_layers":2}"#),
            ("GRU", r#"{"hidden_size":2,"reset_after":false,"direction":"bidirectional","bias":false}"#),
            ("LSTM", r#"{"hidden_size":2,"direction":"reverse"}"#),
            ("IndRNN", r#"{"hidden_size":3,"direction":"bidirectional","num_layers":2,"nonlinearity":"tanh"}"#),
            ("IndRNN", r#"{"hidden_size":4,"direction":"reverse","recurrent_max_abs":0.5}"#),
        ] {
            check(Case { kind, config, input: seq, seq_len: 4, batch: 3, lengths: Some(vec![4, 1, 3]), ids: None });
        }
    }

    fn build(config: &str) -> Result<Recurrent<f64>> {
        Recurrent::<f64>::from_config("GRU", &Json::parse(config).unwrap(), None, "spec.layers[0].config")
    }

    /// `direction` and the older `bidirectional` flag: each alone, both when they agree; a clash and
    /// an unknown direction are errors naming the key, the expected and the given value.
    #[test]
    fn direction_and_bidirectional_agree_or_fail() {
        let dir = |c: &str| build(c).map(|r| (r.spec().bidirectional, r.spec().reverse));
        assert_eq!(dir(r#"{"input_size":2,"hidden_size":3}"#).unwrap(), (false, false));
        assert_eq!(dir(r#"{"input_size":2,"hidden_size":3,"direction":"reverse"}"#).unwrap(), (false, true));
        assert_eq!(dir(r#"{"input_size":2,"hidden_size":3,"bidirectional":true}"#).unwrap(), (true, false));
        assert_eq!(dir(r#"{"input_size":2,"hidden_size":3,"direction":"bidirectional","bidirectional":true}"#).unwrap(), (true, false));
        assert_eq!(dir(r#"{"input_size":2,"hidden_size":3,"direction":"reverse","bidirectional":false}"#).unwrap(), (false, true));
        let e = build(r#"{"input_size":2,"hidden_size":3,"direction":"reverse","bidirectional":true}"#).err().unwrap().to_string();
        assert!(e.contains("spec.layers[0].config.bidirectional") && e.contains("expected false (direction is \"reverse\"), got true"), "{e}");
        let e = build(r#"{"input_size":2,"hidden_size":3,"direction":"backward"}"#).err().unwrap().to_string();
        assert!(e.contains("spec.layers[0].config.direction") && e.contains("forward, reverse, bidirectional") && e.contains("\"backward\""), "{e}");
    }

    /// A reverse layer names its one direction like a forward one (PyTorch's plain `_l{k}`), writes
    /// `direction` in its canonical config, and does not stream (it starts from the last step).
    #[test]
    fn a_reverse_layer_has_plain_names_and_does_not_stream() {
        let r = build(r#"{"input_size":2,"hidden_size":3,"num_layers":2,"direction":"reverse"}"#).unwrap();
        let names: Vec<String> = Layer::<f64>::params(&r).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]);
        assert_eq!(Layer::<f64>::config(&r).get("direction"), Some(&Json::Str("reverse".into())));
        assert!(Layer::<f64>::streams(&r).unwrap_err().contains("sees the future"));
    }

    fn build_kind(kind: &str, config: &str) -> Result<Recurrent<f64>> {
        Recurrent::<f64>::from_config(kind, &Json::parse(config).unwrap(), None, "spec.layers[0].config")
    }

    /// IndRNN: relu by default, u a vector [H] per layer and direction, `recurrent_max_abs` > 0 (in
    /// the canonical config, null when unset), no `recurrent_init` (u is a vector, drawn U(0, 1));
    /// `reset_after` belongs to GRU alone. Errors name the key.
    #[test]
    fn indrnn_config_names_and_errors() {
        let r = build_kind("IndRNN", r#"{"input_size":2,"hidden_size":3,"direction":"bidirectional"}"#).unwrap();
        assert_eq!(r.spec().cell, CellKind::IndRnnRelu);
        let shapes: Vec<(String, Vec<usize>)> = Layer::<f64>::params(&r).into_iter().map(|p| (p.name, p.shape)).collect();
        assert_eq!(shapes[1], ("weight_hh_l0".to_string(), vec![3]));
        assert_eq!(shapes[5], ("weight_hh_l0_reverse".to_string(), vec![3]));
        let c = Layer::<f64>::config(&r);
        assert_eq!((c.get("nonlinearity"), c.get("recurrent_max_abs"), c.get("recurrent_init")), (Some(&Json::Str("relu".into())), Some(&Json::Null), None));
        let t = build_kind("IndRNN", r#"{"input_size":2,"hidden_size":3,"nonlinearity":"tanh","recurrent_max_abs":1.5}"#).unwrap();
        assert_eq!((t.spec().cell, t.spec().recurrent_max_abs), (CellKind::IndRnnTanh, Some(1.5)));
        for (config, key, says) in [
            (r#"{"input_size":2,"hidden_size":3,"recurrent_max_abs":0}"#, "recurrent_max_abs", "expected a value > 0, got 0"),
            (r#"{"input_size":2,"hidden_size":3,"recurrent_init":"orthogonal"}"#, "recurrent_init", "unknown field"),
            (r#"{"input_size":2,"hidden_size":3,"nonlinearity":"sigmoid"}"#, "nonlinearity", "expected one of relu, tanh"),
            (r#"{"input_size":2,"hidden_size":3,"reset_after":false}"#, "reset_after", "unknown field"),
        ] {
            let e = build_kind("IndRNN", config).err().unwrap().to_string();
            assert!(e.contains(&format!("spec.layers[0].config.{key}")) && e.contains(says), "{config}: {e}");
        }
        let e = build_kind("LSTM", r#"{"input_size":2,"hidden_size":3,"recurrent_max_abs":1}"#).err().unwrap().to_string();
        assert!(e.contains("spec.layers[0].config.recurrent_max_abs: unknown field"), "{e}");
        let g = build_kind("GRU", r#"{"input_size":2,"hidden_size":3,"reset_after":false}"#).unwrap();
        assert_eq!(g.spec().cell, CellKind::GruResetBefore);
        assert_eq!(Layer::<f64>::config(&g).get("reset_after"), Some(&Json::Bool(false)));
        let e = build_kind("GRU", r#"{"input_size":2,"hidden_size":3,"reset_after":"no"}"#).err().unwrap().to_string();
        assert!(e.contains("spec.layers[0].config.reset_after") && e.contains("boolean"), "{e}");
    }

    /// LSTM `proj_size`: h (states, output) has proj_size features, c hidden_size; the config reads
    /// back; 0 is none; it must be < hidden_size, and other cells have none. Errors name the key.
    #[test]
    fn lstm_proj_size_shapes_config_and_errors() {
        let r = build_kind("LSTM", r#"{"input_size":2,"hidden_size":5,"proj_size":3,"num_layers":2,"direction":"bidirectional"}"#).unwrap();
        let dims: Vec<Vec<usize>> = Layer::<f64>::states(&r, 7).into_iter().map(|s| s.dims).collect();
        assert_eq!(dims, vec![vec![4, 7, 3], vec![4, 7, 5]]);
        assert_eq!(Layer::<f64>::output_shape(&r), Shape::Seq { features: 6 });
        let c = Layer::<f64>::config(&r);
        assert_eq!(c.get("proj_size"), Some(&Json::Num(3.0)));
        assert_eq!(Recurrent::<f64>::from_config("LSTM", &c, None, "p").unwrap().spec(), r.spec());
        let none = build_kind("LSTM", r#"{"input_size":2,"hidden_size":5,"proj_size":0}"#).unwrap();
        assert_eq!((none.spec().options.proj_size, Layer::<f64>::config(&none).get("proj_size")), (0, None));
        for (kind, config, says) in [
            ("LSTM", r#"{"input_size":2,"hidden_size":3,"proj_size":3}"#, "expected 0 (none) or a size < hidden_size (3), got 3"),
            ("LSTM", r#"{"input_size":2,"hidden_size":3,"proj_size":1.5}"#, "expected an integer >= 0, got 1.5"),
            ("GRU", r#"{"input_size":2,"hidden_size":3,"proj_size":1}"#, "only an LSTM has this option"),
            ("RNN", r#"{"input_size":2,"hidden_size":3,"proj_size":1}"#, "only an LSTM has this option"),
        ] {
            let e = build_kind(kind, config).err().unwrap().to_string();
            assert!(e.contains("spec.layers[0].config.proj_size") && e.contains(says), "{config}: {e}");
        }
    }

    /// `recurrent_dropout` in [0, 1) on RNN, LSTM, GRU (reset-after) and IndRNN, written in the
    /// canonical config only when set, makes the layer draw from the rng; the reset-before GRU and
    /// out-of-range values are errors naming the key, the expected and the given value.
    #[test]
    fn recurrent_dropout_config_and_errors() {
        for kind in ["RNN", "LSTM", "GRU", "IndRNN"] {
            let r = build_kind(kind, r#"{"input_size":2,"hidden_size":3,"recurrent_dropout":0.25}"#).unwrap();
            assert_eq!(r.spec().recurrent_dropout, 0.25, "{kind}");
            assert_eq!(Layer::<f64>::config(&r).get("recurrent_dropout"), Some(&Json::Num(0.25)), "{kind}");
            assert!(Layer::<f64>::uses_rng(&r), "{kind}");
            let plain = build_kind(kind, r#"{"input_size":2,"hidden_size":3}"#).unwrap();
            assert_eq!((plain.spec().recurrent_dropout, Layer::<f64>::config(&plain).get("recurrent_dropout")), (0.0, None), "{kind}");
            assert!(!Layer::<f64>::uses_rng(&plain), "{kind}");
        }
        for (kind, config, says) in [
            ("LSTM", r#"{"input_size":2,"hidden_size":3,"recurrent_dropout":1}"#, "expected a value in [0, 1), got 1"),
            ("GRU", r#"{"input_size":2,"hidden_size":3,"recurrent_dropout":-0.1}"#, "expected a value in [0, 1), got -0.1"),
            ("GRU", r#"{"input_size":2,"hidden_size":3,"reset_after":false,"recurrent_dropout":0.5}"#, "expected 0 for the gru_reset_before cell"),
        ] {
            let e = build_kind(kind, config).err().unwrap().to_string();
            assert!(e.contains("spec.layers[0].config.recurrent_dropout") && e.contains(says), "{config}: {e}");
        }
        assert!(build_kind("GRU", r#"{"input_size":2,"hidden_size":3,"reset_after":false,"recurrent_dropout":0}"#).is_ok());
    }
}
