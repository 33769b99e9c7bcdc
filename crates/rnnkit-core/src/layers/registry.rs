//! The one map from a layer's type name to its implementation, and the serialised layer format
//! `{"type": "LSTM", "config": {...}}` used by the core spec, the bindings, the TS layers, the
//! worker protocol, the CLI's JSON config and saved files.

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::real::Real;

use super::activation_layer::ActivationLayer;
use super::attention_pooling::AttentionPooling;
use super::conv1d::Conv1D;
use super::dense::Dense;
use super::dropout::Dropout;
use super::embedding::Embedding;
use super::global_pool::{GlobalPool, Pool as Reduce};
use super::last_step::LastStep;
use super::layer_norm::LayerNorm;
use super::min_rnn::{MinCell, MinRnn};
use super::multi_head_attention::MultiHeadAttention;
use super::pool::{Pool, PoolKind};
use super::recurrent::Recurrent;
use super::{Layer, Shape};

/// Every type name the registry knows, for messages and the bindings.
pub const KINDS: &[&str] = &["RNN", "LSTM", "GRU", "IndRNN", "Dense", "LastStep", "Embedding", "LayerNorm", "Dropout", "ReLU", "GELU", "Tanh", "Sigmoid", "GlobalMeanPool", "GlobalMaxPool", "AttentionPooling", "MultiHeadAttention", "Conv1D", "MaxPool1D", "AvgPool1D", "MinGRU", "MinLSTM"];

/// One entry of a spec's `layers` list.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    pub kind: String,
    pub config: Json,
    /// Where the config came from, for error paths: `spec.layers[k].config` unless read from the
    /// older format (`spec.blocks[k]`, `spec.head`). Not part of the spec's value.
    pub source: Option<String>,
}

impl PartialEq for LayerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.config == other.config
    }
}

impl LayerSpec {
    pub fn new(kind: &str, config: Json) -> Self {
        LayerSpec { kind: kind.to_string(), config, source: None }
    }

    /// A spec whose config errors name `source` (the older format's path).
    pub fn from_source(kind: &str, config: Json, source: String) -> Self {
        LayerSpec { kind: kind.to_string(), config, source: Some(source) }
    }

    /// Reads `{"type", "config"}` (config optional: `{}`).
    pub fn from_json(v: &Json, path: &str) -> Result<Self> {
        let f = Fields::new(v, path, &["type", "config"])?;
        let kind = match f.raw("type") {
            Some(Json::Str(s)) => s.clone(),
            Some(other) => return Err(Error::type_(f.path("type"), "a layer type name", other.kind())),
            None => return Err(Error::value(f.path("type"), format!("is required: one of {}", KINDS.join(", ")))),
        };
        if !KINDS.contains(&kind.as_str()) {
            return Err(Error::value(f.path("type"), format!("unknown layer type \"{kind}\"; expected one of {}", KINDS.join(", "))));
        }
        let config = f.raw("config").cloned().unwrap_or(Json::Obj(Vec::new()));
        Ok(LayerSpec { kind, config, source: None })
    }

    pub fn to_json(&self) -> Json {
        Json::Obj(vec![("type".into(), Json::Str(self.kind.clone())), ("config".into(), self.config.clone())])
    }
}

/// Builds layer `index` of a network from its spec and the previous layer's output (None for the
/// first layer). Errors name `spec.layers[index].config.<key>`.
pub fn build<R: Real>(spec: &LayerSpec, input: Option<Shape>, index: usize) -> Result<Box<dyn Layer<R>>> {
    let path = spec.source.clone().unwrap_or_else(|| format!("spec.layers[{index}].config"));
    let c = &spec.config;
    Ok(match spec.kind.as_str() {
        "RNN" | "LSTM" | "GRU" | "IndRNN" => Box::new(Recurrent::<R>::from_config(&spec.kind, c, input, &path)?),
        "Dense" => Box::new(Dense::<R>::from_config(c, input, &path)?),
        "LastStep" => Box::new(LastStep::from_config(c, input, &path)?),
        "Embedding" => Box::new(Embedding::from_config(c, input, &path)?),
        "LayerNorm" => Box::new(LayerNorm::<R>::from_config(c, input, &path)?),
        "Dropout" => Box::new(Dropout::<R>::from_config(c, input, &path)?),
        "ReLU" | "GELU" | "Tanh" | "Sigmoid" => Box::new(ActivationLayer::<R>::from_config(&spec.kind, c, input, &path)?),
        "GlobalMeanPool" => Box::new(GlobalPool::from_config(Reduce::Mean, c, input, &path)?),
        "GlobalMaxPool" => Box::new(GlobalPool::from_config(Reduce::Max, c, input, &path)?),
        "AttentionPooling" => Box::new(AttentionPooling::<R>::from_config(c, input, &path)?),
        "MultiHeadAttention" => Box::new(MultiHeadAttention::<R>::from_config(c, input, &path)?),
        "Conv1D" => Box::new(Conv1D::<R>::from_config(c, input, &path)?),
        "MaxPool1D" => Box::new(Pool::from_config(PoolKind::Max, c, input, &path)?),
        "AvgPool1D" => Box::new(Pool::from_config(PoolKind::Avg, c, input, &path)?),
        "MinGRU" => Box::new(MinRnn::<R>::from_config(MinCell::Gru, c, input, &path)?),
        "MinLSTM" => Box::new(MinRnn::<R>::from_config(MinCell::Lstm, c, input, &path)?),
        other => return Err(Error::value(format!("spec.layers[{index}].type"), format!("unknown layer type \"{other}\"; expected one of {}", KINDS.join(", ")))),
    })
}
