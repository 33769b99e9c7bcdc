//! The element-wise options of a recurrent cell (ONNX's LSTM/GRU/RNN attributes, Keras's
//! activations): which activations the gates and the candidate use, and the LSTM's peephole
//! connections, cell clip and coupled input-forget gate. `CellOptions::default()` is PyTorch's cell,
//! which the fused f32 kernels serve; any other options run the cell's generic formulas. Also their
//! config keys: read with every combination checked, written back only where not the default.

use super::activation::GateActivation;
use super::CellKind;
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;

/// Peephole vectors of an LSTM per layer and direction, ONNX's `P` order: i, o, f (each H values).
pub const PEEPHOLES: usize = 3;

/// The option keys of a recurrent layer's config.
pub const KEYS: &[&str] = &["gate_activation", "activation", "cell_activation", "peephole", "cell_clip", "input_forget", "proj_size"];

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CellOptions {
    /// ONNX f / Keras `recurrent_activation`: the gates (LSTM i, f, o; GRU r, z). None: sigmoid.
    pub gate_activation: Option<GateActivation>,
    /// ONNX g / Keras `activation`: the candidate (LSTM g, GRU n, Elman's h). None: the cell's own
    /// (tanh; an Elman cell's nonlinearity).
    pub activation: Option<GateActivation>,
    /// ONNX h: the LSTM's h = o ⊙ h(c). None: the candidate's activation (Keras uses one for both).
    pub cell_activation: Option<GateActivation>,
    /// LSTM: i and f also read P ⊙ c_{t−1}, o reads P ⊙ c_t (parameter `weight_peephole_l{k}`).
    pub peephole: bool,
    /// LSTM: every gate's pre-activation (with its peephole term) is clamped to [−clip, clip]
    /// before its activation; c itself is not (onnxruntime's reference, the ONNX spec's "input of
    /// activations").
    pub cell_clip: Option<f64>,
    /// LSTM (ONNX `input_forget`): f = 1 − i; the forget gate's weights and peephole go unused.
    pub input_forget: bool,
    /// LSTM (PyTorch `proj_size`): h_t = W_hr·(o ⊙ h(c_t)) has this many features (0 = none,
    /// h = o ⊙ h(c)); then W_hh reads the projected h. Checked < hidden_size by the layer.
    pub proj_size: usize,
}

impl CellOptions {
    /// PyTorch's cell: what the fused kernels compute.
    pub fn is_default(&self) -> bool {
        *self == CellOptions::default()
    }

    /// The gates' activation.
    pub fn gate(&self) -> GateActivation {
        self.gate_activation.unwrap_or(GateActivation::Sigmoid)
    }

    /// The candidate's activation, `own` unless set.
    pub fn candidate(&self, own: GateActivation) -> GateActivation {
        self.activation.unwrap_or(own)
    }

    /// The LSTM's activation of c (the candidate's unless set).
    pub fn cell_state(&self, own: GateActivation) -> GateActivation {
        self.cell_activation.unwrap_or(self.candidate(own))
    }

    /// The activation a trace names for a gate panel the cell calls `own` ("sigmoid" gates,
    /// "tanh" candidate), so a report scales it by what really ran.
    pub fn panel_activation(&self, own: &'static str) -> &'static str {
        match own {
            "sigmoid" => self.gate().name(),
            "tanh" => self.candidate(GateActivation::Tanh).name(),
            other => other,
        }
    }

    /// The activation bounding h for a trace (`Cell::hidden_activation` unless an option changed
    /// it): the candidate's (GRU, Elman), or the LSTM's h(c).
    pub fn hidden_activation(&self, cell: CellKind) -> &'static str {
        let own = cell.candidate_activation();
        let a = if cell.has_cell_state() { self.cell_state(own) } else { self.candidate(own) };
        if a == own { cell.hidden_activation() } else { a.name() }
    }

    /// Reads the option keys of a recurrent layer's config (`f` allows `KEYS`). `cell` is the cell
    /// the layer type and `nonlinearity` chose; for an Elman layer an `activation` it has a cell for
    /// picks that cell instead (it must agree with a given `nonlinearity`), so each model has one
    /// spelling. Keys the cell has no use for are errors naming them.
    pub fn read(f: &Fields<'_>, cell: CellKind, nonlinearity_given: bool) -> Result<(CellKind, CellOptions)> {
        let act = |key: &str| -> Result<Option<GateActivation>> {
            match f.raw(key) {
                None => Ok(None),
                Some(_) => f.choice(key, None, GateActivation::NAMES).map(Some),
            }
        };
        let lstm_only = |key: &str| Error::value(f.path(key), format!("only an LSTM has this option; this layer is a {}", cell.layer_type()));
        let mut cell = cell;
        let mut o = CellOptions { gate_activation: act("gate_activation")?, activation: act("activation")?, cell_activation: act("cell_activation")?, ..Default::default() };
        if o.gate_activation.is_some() && cell.gates() == 1 {
            return Err(Error::value(f.path("gate_activation"), format!("an {} cell has no gates; its activation is `activation`", cell.layer_type())));
        }
        if let (Some(a), Some(own)) = (o.activation, cell.nonlinearity()) {
            // Elman: `activation` and PyTorch's `nonlinearity` name the same function.
            if nonlinearity_given && a.name() != own {
                return Err(Error::value(f.path("activation"), format!("conflicts with nonlinearity \"{own}\" (the same function); give one of them, got \"{}\"", a.name())));
            }
            if let Some(&named) = CellKind::ALL.iter().find(|c| c.layer_type() == cell.layer_type() && c.nonlinearity() == Some(a.name())) {
                cell = named;
                o.activation = None;
            }
        }
        if !cell.has_cell_state() {
            for key in ["cell_activation", "peephole", "cell_clip", "input_forget", "proj_size"] {
                if f.raw(key).is_some() {
                    return Err(lstm_only(key));
                }
            }
        }
        o.peephole = f.boolean("peephole", false)?;
        o.input_forget = f.boolean("input_forget", false)?;
        o.proj_size = f.size("proj_size", Some(0), 0)?;
        if let Some(c) = f.opt_num("cell_clip")? {
            if c <= 0.0 {
                return Err(Error::value(f.path("cell_clip"), format!("expected a finite number > 0, got {c}")));
            }
            o.cell_clip = Some(c);
        }
        // Explicit defaults are the defaults: one spelling per model, and the fused kernels serve it.
        let own = cell.candidate_activation();
        o.gate_activation = o.gate_activation.filter(|&a| a != GateActivation::Sigmoid);
        o.activation = o.activation.filter(|&a| a != own);
        o.cell_activation = o.cell_activation.filter(|&a| a != o.candidate(own));
        if let (Some(a), Some(_), false) = (o.activation, cell.nonlinearity(), cell.takes_options()) {
            // A cell whose activation is its nonlinearity and nothing else (IndRNN).
            let names: Vec<&str> = CellKind::ALL.iter().filter(|c| c.layer_type() == cell.layer_type()).filter_map(|c| c.nonlinearity()).collect();
            return Err(Error::value(f.path("activation"), format!("an {} layer's activation is its nonlinearity: expected one of {}, got \"{}\"", cell.layer_type(), names.join(", "), a.name())));
        }
        if !o.is_default() && !cell.takes_options() {
            return Err(Error::value(f.path(KEYS.iter().find(|k| f.raw(k).is_some()).unwrap_or(&"activation")), format!("the {} cell takes no options", cell.name())));
        }
        Ok((cell, o))
    }

    /// The non-default options as config entries (what `read` reads back to the same options).
    pub fn write(&self, kv: &mut Vec<(String, Json)>) {
        let mut act = |key: &str, a: Option<GateActivation>| {
            if let Some(a) = a {
                kv.push((key.into(), Json::Str(a.name().into())));
            }
        };
        act("gate_activation", self.gate_activation);
        act("activation", self.activation);
        act("cell_activation", self.cell_activation);
        if self.peephole {
            kv.push(("peephole".into(), Json::Bool(true)));
        }
        if let Some(c) = self.cell_clip {
            kv.push(("cell_clip".into(), Json::Num(c)));
        }
        if self.input_forget {
            kv.push(("input_forget".into(), Json::Bool(true)));
        }
        if self.proj_size > 0 {
            kv.push(("proj_size".into(), Json::Num(self.proj_size as f64)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(kind: CellKind, config: &str) -> Result<(CellKind, CellOptions)> {
        let json = Json::parse(config).unwrap();
        let mut keys = KEYS.to_vec();
        keys.push("nonlinearity");
        let f = Fields::new(&json, "spec.layers[0].config", &keys)?;
        CellOptions::read(&f, kind, f.raw("nonlinearity").is_some())
    }

    #[test]
    fn defaults_and_round_trip() {
        assert_eq!(read(CellKind::Lstm, "{}").unwrap(), (CellKind::Lstm, CellOptions::default()));
        let explicit = r#"{"gate_activation":"sigmoid","activation":"tanh","cell_activation":"tanh","peephole":false}"#;
        assert_eq!(read(CellKind::Lstm, explicit).unwrap().1, CellOptions::default());
        let (_, o) = read(CellKind::Lstm, r#"{"gate_activation":"hard_sigmoid","activation":"relu","peephole":true,"cell_clip":3,"input_forget":true}"#).unwrap();
        assert_eq!((o.gate(), o.candidate(GateActivation::Tanh), o.cell_state(GateActivation::Tanh)), (GateActivation::HardSigmoid, GateActivation::Relu, GateActivation::Relu));
        let mut kv = Vec::new();
        o.write(&mut kv);
        assert_eq!(read(CellKind::Lstm, &Json::Obj(kv).to_string()).unwrap().1, o);
    }

    /// Traces name what ran, so a report scales its panels by the real ranges.
    #[test]
    fn trace_names_follow_the_options() {
        let d = CellOptions::default();
        assert_eq!((d.hidden_activation(CellKind::Lstm), d.hidden_activation(CellKind::RnnRelu)), ("tanh", "relu"));
        let o = CellOptions { gate_activation: Some(GateActivation::HardSigmoid), activation: Some(GateActivation::Relu), ..d };
        assert_eq!((o.panel_activation("sigmoid"), o.panel_activation("tanh")), ("hard_sigmoid", "relu"));
        assert_eq!((o.hidden_activation(CellKind::Gru), o.hidden_activation(CellKind::Lstm)), ("relu", "relu"));
        let keep_h = CellOptions { cell_activation: Some(GateActivation::Tanh), ..o };
        assert_eq!(keep_h.hidden_activation(CellKind::Lstm), "tanh");
    }

    #[test]
    fn elman_activation_and_nonlinearity_are_one_choice() {
        assert_eq!(read(CellKind::RnnTanh, r#"{"activation":"relu"}"#).unwrap(), (CellKind::RnnRelu, CellOptions::default()));
        assert_eq!(read(CellKind::RnnRelu, r#"{"activation":"relu","nonlinearity":"relu"}"#).unwrap().0, CellKind::RnnRelu);
        let (cell, o) = read(CellKind::RnnTanh, r#"{"activation":"softsign"}"#).unwrap();
        assert_eq!((cell, o.activation), (CellKind::RnnTanh, Some(GateActivation::Softsign)));
        let e = read(CellKind::RnnRelu, r#"{"activation":"tanh","nonlinearity":"relu"}"#).unwrap_err();
        assert_eq!(e.arg(), Some("spec.layers[0].config.activation"));
    }

    /// IndRNN's `activation` is another spelling of its nonlinearity (as for Elman's RNN).
    #[test]
    fn ind_rnn_activation_is_its_nonlinearity() {
        assert_eq!(read(CellKind::IndRnnRelu, r#"{"activation":"tanh"}"#).unwrap(), (CellKind::IndRnnTanh, CellOptions::default()));
        assert_eq!(read(CellKind::IndRnnRelu, r#"{"activation":"relu"}"#).unwrap(), (CellKind::IndRnnRelu, CellOptions::default()));
        let e = read(CellKind::IndRnnRelu, r#"{"activation":"softsign"}"#).unwrap_err();
        assert!(e.to_string().contains(r#"an IndRNN layer's activation is its nonlinearity: expected one of relu, tanh, got "softsign""#), "{e}");
        let e = read(CellKind::IndRnnRelu, r#"{"gate_activation":"sigmoid"}"#).unwrap_err();
        assert!(e.to_string().contains("an IndRNN cell has no gates"), "{e}");
    }

    #[test]
    fn options_a_cell_has_no_use_for_are_errors_naming_the_key() {
        for (kind, config, key) in [
            (CellKind::Gru, r#"{"peephole":true}"#, "peephole"),
            (CellKind::Gru, r#"{"cell_clip":1}"#, "cell_clip"),
            (CellKind::Gru, r#"{"input_forget":false}"#, "input_forget"),
            (CellKind::RnnTanh, r#"{"gate_activation":"sigmoid"}"#, "gate_activation"),
            (CellKind::RnnTanh, r#"{"cell_activation":"tanh"}"#, "cell_activation"),
            (CellKind::Lstm, r#"{"cell_clip":0}"#, "cell_clip"),
            (CellKind::Lstm, r#"{"cell_clip":-2}"#, "cell_clip"),
            (CellKind::Lstm, r#"{"activation":"swish"}"#, "activation"),
            (CellKind::Lstm, r#"{"peephole":1}"#, "peephole"),
            // IndRNN: one activation, its nonlinearity; no gates, no LSTM options.
            (CellKind::IndRnnRelu, r#"{"gate_activation":"hard_sigmoid"}"#, "gate_activation"),
            (CellKind::IndRnnRelu, r#"{"activation":"softsign"}"#, "activation"),
            (CellKind::IndRnnTanh, r#"{"activation":"relu","nonlinearity":"tanh"}"#, "activation"),
            (CellKind::IndRnnTanh, r#"{"peephole":true}"#, "peephole"),
            (CellKind::IndRnnRelu, r#"{"cell_clip":1}"#, "cell_clip"),
            (CellKind::Gru, r#"{"proj_size":2}"#, "proj_size"),
            (CellKind::Lstm, r#"{"proj_size":-1}"#, "proj_size"),
        ] {
            let e = read(kind, config).unwrap_err();
            assert_eq!(e.arg(), Some(format!("spec.layers[0].config.{key}").as_str()), "{kind:?} {config}: {e}");
        }
    }

    /// Every option's BPTT (every parameter including the peepholes, x, h0, c0) against f64 central
    /// differences, through the layer, for one and two layers, forward, bidirectional and
    /// reverse-only, with and without lengths; the GRU's options in both its forms. Kinks (relu 0, hard sigmoid ±2.5, the clip bounds) have measure zero: the
    /// fixed draws were checked to stay clear of them.
    #[test]
    fn every_option_passes_the_gradient_check() {
        use crate::layers::gradcheck::{check, Case};
        let configs = [
            ("LSTM", r#""peephole":true"#),
            ("LSTM", r#""peephole":true,"cell_clip":0.6"#),
            ("LSTM", r#""input_forget":true,"peephole":true"#),
            ("LSTM", r#""input_forget":true,"cell_clip":0.5,"bias":false"#),
            ("LSTM", r#""proj_size":2"#),
            ("LSTM", r#""proj_size":1,"peephole":true,"cell_clip":0.6"#),
            ("LSTM", r#""gate_activation":"hard_sigmoid","activation":"relu","cell_activation":"softsign""#),
            ("LSTM", r#""gate_activation":"softsign","activation":"elu","cell_activation":"softplus""#),
            ("GRU", r#""gate_activation":"hard_sigmoid","activation":"softsign""#),
            ("GRU", r#""activation":"relu""#),
            ("GRU", r#""reset_after":false,"gate_activation":"hard_sigmoid","activation":"softsign""#),
            ("GRU", r#""reset_after":false,"gate_activation":"softsign","activation":"elu""#),
            ("RNN", r#""activation":"elu""#),
            ("RNN", r#""activation":"softplus""#),
        ];
        for (kind, options) in configs {
            for shape in [r#""num_layers":1"#, r#""num_layers":2,"bidirectional":true"#, r#""num_layers":2,"direction":"reverse""#] {
                for lengths in [None, Some(vec![3, 1, 2])] {
                    let config = format!(r#"{{"input_size":2,"hidden_size":3,{shape},{options}}}"#);
                    check(Case { kind, config: &config, input: None, seq_len: 3, batch: 3, lengths, ids: None });
                }
            }
        }
    }
}
