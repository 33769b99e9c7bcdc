//! Model and training specifications, read from JSON with every field checked. Field names are
//! snake_case; defaults follow PyTorch (`torch.nn.LSTM`, `torch.optim.*`). Errors name the field path,
//! e.g. `spec.blocks[1].hidden_size`.

pub use crate::cell::{CellKind, CellOptions};
use crate::error::{Error, Result};
use crate::fields::Fields;
pub use crate::layers::Activation;
use crate::layers::LayerSpec;
use crate::json::Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightInit {
    /// PyTorch's default: U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
    Uniform,
    /// Glorot/Xavier uniform over each gate block; biases zero.
    Xavier,
    /// Orthogonal H x H blocks per gate (recurrent weights only); biases zero.
    Orthogonal,
}

/// One PyTorch-style recurrent module (`nn.LSTM(...)` with all its layers and directions).
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentSpec {
    pub cell: CellKind,
    pub input_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub bidirectional: bool,
    /// Reverse-only (config `direction: "reverse"`, Keras `go_backwards`, ONNX `reverse`): the one
    /// direction runs t = len_b − 1 … 0, as the second direction of a bidirectional layer does, and
    /// writes each output at its own time index. Never set together with `bidirectional`. Its one
    /// direction has PyTorch's plain `_l{k}` parameter names.
    pub reverse: bool,
    pub bias: bool,
    /// Dropout on the outputs of every layer but the last, in training only.
    pub dropout: f32,
    /// Recurrent (variational) dropout, in training only: per sequence, layer and direction one mask
    /// over the hidden units, drawn once per forward, on h_{t−1} where it enters the recurrent
    /// product (Gal & Ghahramani 2016, Keras `recurrent_dropout`); the carried state is not masked.
    pub recurrent_dropout: f32,
    pub weight_init: WeightInit,
    pub recurrent_init: WeightInit,
    /// A diagonal recurrence's bound (IndRNN `recurrent_max_abs`): |u| ≤ bound, drawn within it at
    /// init and clipped to it after every optimizer step (`Layer::constrain`). None: unbounded.
    pub recurrent_max_abs: Option<f64>,
    /// Element-wise cell options (activations; LSTM peepholes, clip, coupled gates).
    pub options: CellOptions,
}

impl RecurrentSpec {
    pub fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }
    /// Whether direction `dir` of a layer scans from the last step: the second direction of a
    /// bidirectional layer, or the only one of a reverse-only layer.
    pub fn scans_reverse(&self, dir: usize) -> bool {
        dir == 1 || self.reverse
    }
    /// The config's `direction`: "forward", "reverse" or "bidirectional".
    pub fn direction_name(&self) -> &'static str {
        match (self.bidirectional, self.reverse) {
            (true, _) => "bidirectional",
            (false, true) => "reverse",
            (false, false) => "forward",
        }
    }
    /// Features of the output sequence: directions * state_size.
    pub fn output_size(&self) -> usize {
        self.directions() * self.state_size()
    }
    /// Features of h (each direction's output, h0, h_n): the LSTM's `proj_size` when set, else
    /// hidden_size (c always has hidden_size).
    pub fn state_size(&self) -> usize {
        if self.options.proj_size > 0 { self.options.proj_size } else { self.hidden_size }
    }
    /// Rows of h0/h_n (and c0/c_n): num_layers * directions.
    pub fn state_rows(&self) -> usize {
        self.num_layers * self.directions()
    }
}


/// A dense head `y = act(x W^T + b)` after the last recurrent block.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseSpec {
    pub in_features: usize,
    pub units: usize,
    pub activation: Activation,
    pub bias: bool,
    /// true: applied at every step, output [B, T, units]; false: at each sequence's last valid step, [B, units].
    pub return_sequences: bool,
}

/// A network: an ordered list of layers (`{"type", "config"}`, see `layers::registry`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Layout of x and of sequence outputs: [batch, seq_len, features] if true, else [seq_len, batch, features].
    pub batch_first: bool,
    pub seed: u64,
    pub layers: Vec<LayerSpec>,
    /// Threads for this model's computations: 0 = every available core (the default), else at most
    /// `parallel::MAX_THREADS`. Results are bit-identical for every value; wasm always runs 1.
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    Mse,
    /// Binary cross-entropy on logits (the head's pre-activation), like `BCEWithLogitsLoss`.
    BceWithLogits,
    /// Softmax cross-entropy on logits with integer class targets, like `CrossEntropyLoss`.
    CrossEntropy,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimSpec {
    Sgd { lr: f32, momentum: f32, nesterov: bool, weight_decay: f32 },
    /// `decoupled` false is Adam (L2 added to the gradient), true is AdamW.
    Adam { lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, decoupled: bool },
    RmsProp { lr: f32, alpha: f32, eps: f32, momentum: f32, weight_decay: f32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainSpec {
    pub loss: LossKind,
    pub optimizer: OptimSpec,
    pub clip_norm: Option<f32>,
    pub clip_value: Option<f32>,
}

impl ModelSpec {
    /// Reads `{"batch_first", "seed", "threads", "layers": [{"type", "config"}, ...]}`, or the format
    /// files were saved in before layers existed, `{"blocks": [...], "head": {...} | null}` (see
    /// `legacy.rs`). Layer configs are checked when the network builds them.
    pub fn from_json(text: &str) -> Result<ModelSpec> {
        let root = Json::parse(text)?;
        let f = Fields::new(&root, "spec", &["batch_first", "seed", "layers", "blocks", "head", "threads"])?;
        let seed = f.num("seed", Some(0.0))?;
        if seed < 0.0 || seed.fract() != 0.0 || seed > 9007199254740991.0 {
            return Err(Error::value("spec.seed", format!("expected a non-negative integer, got {seed}")));
        }
        let layers = match (f.raw("layers"), f.raw("blocks")) {
            (Some(_), Some(_)) => return Err(Error::value("spec.blocks", "give either \"layers\" or the older \"blocks\" + \"head\", not both")),
            (None, Some(blocks)) => crate::legacy::layers_from_blocks(blocks, f.raw("head"))?,
            (Some(Json::Arr(a)), None) if !a.is_empty() => a.iter().enumerate().map(|(k, l)| LayerSpec::from_json(l, &format!("spec.layers[{k}]"))).collect::<Result<_>>()?,
            (Some(Json::Arr(_)), None) => return Err(Error::value("spec.layers", "expected at least one layer")),
            (Some(v), None) => return Err(Error::type_("spec.layers", "an array of {\"type\", \"config\"} layers", v.kind())),
            (None, None) => return Err(Error::value("spec.layers", "is required")),
        };
        if f.raw("head").is_some() && f.raw("blocks").is_none() {
            return Err(Error::value("spec.head", "belongs to the older \"blocks\" format; with \"layers\", end the list with a Dense layer"));
        }
        let threads = f.num("threads", Some(0.0))?;
        if threads.fract() != 0.0 || threads < 0.0 || threads > crate::parallel::MAX_THREADS as f64 {
            let max = crate::parallel::MAX_THREADS;
            return Err(Error::value("spec.threads", format!("expected an integer in 0..={max} (0 = all available cores), got {threads}")));
        }
        Ok(ModelSpec { batch_first: f.boolean("batch_first", false)?, seed: seed as u64, layers, threads: threads as usize })
    }

    pub fn to_json(&self) -> String {
        Json::Obj(vec![
            ("batch_first".into(), Json::Bool(self.batch_first)),
            ("seed".into(), Json::Num(self.seed as f64)),
            ("layers".into(), Json::Arr(self.layers.iter().map(LayerSpec::to_json).collect())),
            ("threads".into(), Json::Num(self.threads as f64)),
        ])
        .to_string()
    }
}

impl TrainSpec {
    /// Reads `{"loss", "optimizer": {"type", "lr", ...}, "clip_norm", "clip_value"}`.
    pub fn from_json(text: &str) -> Result<TrainSpec> {
        let root = Json::parse(text)?;
        let f = Fields::new(&root, "train", &["loss", "optimizer", "clip_norm", "clip_value"])?;
        let loss = f.choice(
            "loss",
            Some("mse"),
            &[("mse", LossKind::Mse), ("bce_with_logits", LossKind::BceWithLogits), ("cross_entropy", LossKind::CrossEntropy)],
        )?;
        let default_opt = Json::Obj(vec![("type".into(), Json::Str("adam".into()))]);
        let opt = f.raw("optimizer").unwrap_or(&default_opt);
        let kind = Fields::new(opt, "train.optimizer", &["type", "lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2", "eps", "alpha"])?
            .choice("type", None, &[("sgd", 0), ("adam", 1), ("adamw", 2), ("rmsprop", 3)])?;
        let allowed: &[&str] = match kind {
            0 => &["type", "lr", "momentum", "nesterov", "weight_decay"],
            1 | 2 => &["type", "lr", "beta1", "beta2", "eps", "weight_decay"],
            _ => &["type", "lr", "alpha", "eps", "momentum", "weight_decay"],
        };
        let o = Fields::new(opt, "train.optimizer", allowed)?;
        let optimizer = match kind {
            0 => {
                let momentum = o.in_range("momentum", 0.0, 0.0, 1.0, true)?;
                let nesterov = o.boolean("nesterov", false)?;
                if nesterov && momentum == 0.0 {
                    return Err(Error::value("train.optimizer.nesterov", "Nesterov momentum requires momentum > 0"));
                }
                OptimSpec::Sgd { lr: o.positive("lr", Some(0.01))?, momentum, nesterov, weight_decay: o.in_range("weight_decay", 0.0, 0.0, 1e6, false)? }
            }
            1 | 2 => OptimSpec::Adam {
                lr: o.positive("lr", Some(0.001))?,
                beta1: o.in_range("beta1", 0.9, 0.0, 1.0, true)?,
                beta2: o.in_range("beta2", 0.999, 0.0, 1.0, true)?,
                eps: o.positive("eps", Some(1e-8))?,
                weight_decay: o.in_range("weight_decay", if kind == 2 { 0.01 } else { 0.0 }, 0.0, 1e6, false)?,
                decoupled: kind == 2,
            },
            _ => OptimSpec::RmsProp {
                lr: o.positive("lr", Some(0.01))?,
                alpha: o.in_range("alpha", 0.99, 0.0, 1.0, true)?,
                eps: o.positive("eps", Some(1e-8))?,
                momentum: o.in_range("momentum", 0.0, 0.0, 1.0, true)?,
                weight_decay: o.in_range("weight_decay", 0.0, 0.0, 1e6, false)?,
            },
        };
        let clip = |key: &str| -> Result<Option<f32>> {
            match f.opt_num(key)? {
                None => Ok(None),
                Some(v) if v > 0.0 => Ok(Some(v as f32)),
                Some(v) => Err(Error::value(format!("train.{key}"), format!("expected a value > 0, got {v}"))),
            }
        };
        Ok(TrainSpec { loss, optimizer, clip_norm: clip("clip_norm")?, clip_value: clip("clip_value")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_layers_and_the_older_blocks_format() {
        let s = ModelSpec::from_json(r#"{"layers":[{"type":"LSTM","config":{"input_size":3,"hidden_size":5}},{"type":"Dense","config":{"units":2}}]}"#).unwrap();
        assert_eq!(s.layers.len(), 2);
        assert_eq!(ModelSpec::from_json(&s.to_json()).unwrap(), s);
        let old = ModelSpec::from_json(r#"{"blocks":[{"cell":"rnn_relu","input_size":3,"hidden_size":5}],"head":{"units":2,"return_sequences":false}}"#).unwrap();
        let kinds: Vec<&str> = old.layers.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(kinds, ["RNN", "LastStep", "Dense"]);
        assert_eq!(old.layers[0].config.get("nonlinearity"), Some(&Json::Str("relu".into())));
    }

    #[test]
    fn errors_name_the_field() {
        let e = ModelSpec::from_json(r#"{"blocks":[{"cell":"lstm","input_size":3,"hidden_size":2,"activ8tion":1}]}"#).unwrap_err();
        assert_eq!(e.arg(), Some("spec.blocks[0].activ8tion"));
        let e = ModelSpec::from_json(r#"{"layers":[{"type":"LSTN"}]}"#).unwrap_err();
        assert_eq!(e.arg(), Some("spec.layers[0].type"));
        let e = TrainSpec::from_json(r#"{"optimizer":{"type":"adam","lr":-1}}"#).unwrap_err();
        assert_eq!(e.arg(), Some("train.optimizer.lr"));
        let e = TrainSpec::from_json(r#"{"optimizer":{"type":"sgd","beta1":0.5}}"#).unwrap_err();
        assert_eq!(e.arg(), Some("train.optimizer.beta1"));
    }
}
