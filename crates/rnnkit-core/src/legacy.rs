//! The model format saved before layers existed — `{"blocks": [{"cell", "input_size", ...}],
//! "head": {"units", "activation", "bias", "return_sequences"} | null}` — read as a `layers` list, so
//! every file written by earlier versions still loads: each block becomes an RNN/LSTM/GRU layer and
//! a head becomes a Dense layer, after a LastStep when it read only the last step.

use crate::cell::CellKind;
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::json::Json;
use crate::layers::LayerSpec;

const BLOCK_KEYS: &[&str] = &["cell", "input_size", "hidden_size", "num_layers", "bidirectional", "bias", "dropout", "weight_init", "recurrent_init"];

pub fn layers_from_blocks(blocks: &Json, head: Option<&Json>) -> Result<Vec<LayerSpec>> {
    let blocks = match blocks {
        Json::Arr(a) if !a.is_empty() => a,
        Json::Arr(_) => return Err(Error::value("spec.blocks", "expected at least one recurrent block")),
        v => return Err(Error::type_("spec.blocks", "an array", v.kind())),
    };
    let mut layers = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        let path = format!("spec.blocks[{k}]");
        let f = Fields::new(b, &path, BLOCK_KEYS)?;
        // A cell's old name ("lstm", "rnn_relu") stands for its layer type and nonlinearity.
        let cells: Vec<(&str, CellKind)> = CellKind::ALL.iter().map(|&c| (c.name(), c)).collect();
        let cell = f.choice("cell", None, &cells)?;
        let (kind, nonlinearity) = (cell.layer_type(), cell.nonlinearity());
        let Json::Obj(kv) = b else { unreachable!("Fields::new checked it is an object") };
        let mut config: Vec<(String, Json)> = kv.iter().filter(|(key, _)| key != "cell").cloned().collect();
        if let Some(n) = nonlinearity {
            config.push(("nonlinearity".into(), Json::Str(n.into())));
        }
        if let Some(r) = cell.reset_after() {
            config.push(("reset_after".into(), Json::Bool(r)));
        }
        layers.push(LayerSpec::from_source(kind, Json::Obj(config), path));
    }
    if let Some(h) = head {
        let f = Fields::new(h, "spec.head", &["units", "activation", "bias", "return_sequences"])?;
        if !f.boolean("return_sequences", true)? {
            layers.push(LayerSpec::from_source("LastStep", Json::Obj(Vec::new()), "spec.head".into()));
        }
        let Json::Obj(kv) = h else { unreachable!("Fields::new checked it is an object") };
        layers.push(LayerSpec::from_source("Dense", Json::Obj(kv.iter().filter(|(key, _)| key != "return_sequences").cloned().collect()), "spec.head".into()));
    }
    Ok(layers)
}
