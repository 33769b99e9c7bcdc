//! What the network tells the bindings about itself, as JSON: its layers (canonical configs,
//! shapes, parameter counts) and the states they carry. The bindings pass these through, so they
//! never learn about individual layer kinds.

use super::*;
use crate::json::Json;

fn shape_json(s: Shape) -> Json {
    let (kind, key, n) = match s {
        Shape::Ids { vocab } => ("ids", "vocab", vocab),
        Shape::Seq { features } => ("sequence", "features", features),
        Shape::Vector { features } => ("vector", "features", features),
    };
    Json::Obj(vec![("kind".into(), Json::Str(kind.into())), (key.into(), Json::Num(n as f64))])
}

impl<R: Real> Network<R> {
    /// `[{"type", "config", "input": {"kind", "features"|"vocab"}, "output": {...}, "params"}]`.
    pub fn layers_json(&self) -> String {
        let layers = self
            .layer_summaries()
            .into_iter()
            .zip(&self.spec.layers)
            .map(|(s, ls)| {
                Json::Obj(vec![
                    ("type".into(), Json::Str(s.kind.into())),
                    ("config".into(), ls.config.clone()),
                    ("input".into(), shape_json(s.input)),
                    ("output".into(), shape_json(s.output)),
                    ("params".into(), Json::Num(s.params as f64)),
                ])
            })
            .collect();
        Json::Arr(layers).to_string()
    }

    /// `[{"layer", "name", "dims"}]` for a batch of `batch` (`state_info`).
    pub fn state_info_json(&self, batch: usize) -> String {
        let states = self
            .state_info(batch)
            .into_iter()
            .map(|s| {
                Json::Obj(vec![
                    ("layer".into(), Json::Num(s.layer as f64)),
                    ("name".into(), Json::Str(s.info.name.into())),
                    ("dims".into(), Json::Arr(s.info.dims.iter().map(|&d| Json::Num(d as f64)).collect())),
                ])
            })
            .collect();
        Json::Arr(states).to_string()
    }

    /// Splits states concatenated in `state_info` order (what the bindings pass: one buffer) into
    /// the list `forward`/`backward` take; `flat` must hold exactly all of them.
    pub fn split_states<'a>(&self, arg: &str, flat: &'a [R], batch: usize) -> Result<Vec<Option<&'a [R]>>> {
        let info = self.state_info(batch);
        let total: usize = info.iter().map(|s| s.info.len()).sum();
        if flat.len() != total {
            let parts: Vec<String> = info.iter().map(|s| format!("layer {} {} {}", s.layer, s.info.name, dims_str(&s.info.dims))).collect();
            return Err(Error::shape(arg, format!("{total} values: the states {} concatenated", parts.join(", ")), format!("{} values", flat.len())));
        }
        let mut at = 0;
        Ok(info
            .iter()
            .map(|s| {
                at += s.info.len();
                Some(&flat[at - s.info.len()..at])
            })
            .collect())
    }
}
