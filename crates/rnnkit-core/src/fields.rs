//! Reading a JSON object's fields with every value checked: unknown keys are errors, and every
//! error names the field's path (e.g. `spec.layers[2].config.kernel_size`). Used by the model and
//! train specs and by every layer's config.

use crate::error::{Error, Result};
use crate::json::Json;

pub struct Fields<'a> {
    obj: &'a Json,
    path: String,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Json, path: &str, allowed: &[&str]) -> Result<Self> {
        let Json::Obj(kv) = obj else {
            return Err(Error::type_(path, "an object", obj.kind()));
        };
        for (k, _) in kv {
            if !allowed.contains(&k.as_str()) {
                // An object without fields (an activation layer's config) says so, not "one of" nothing.
                let expected = if allowed.is_empty() { "expected none (this object takes no fields)".to_string() } else { format!("expected one of {}", allowed.join(", ")) };
                return Err(Error::value(format!("{path}.{k}"), format!("unknown field; {expected}")));
            }
        }
        Ok(Fields { obj, path: path.to_string() })
    }

    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// Absent and null both mean "use the default".
    pub fn raw(&self, key: &str) -> Option<&'a Json> {
        self.obj.get(key).filter(|v| **v != Json::Null)
    }

    pub fn num(&self, key: &str, default: Option<f64>) -> Result<f64> {
        match self.raw(key) {
            None => default.ok_or_else(|| Error::value(self.path(key), "is required")),
            Some(Json::Num(v)) if v.is_finite() => Ok(*v),
            Some(v) => Err(Error::type_(self.path(key), "a finite number", v.kind())),
        }
    }

    pub fn opt_num(&self, key: &str) -> Result<Option<f64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(_) => self.num(key, None).map(Some),
        }
    }

    pub fn size(&self, key: &str, default: Option<usize>, min: usize) -> Result<usize> {
        let v = self.num(key, default.map(|d| d as f64))?;
        if v.fract() != 0.0 || v < min as f64 || v > 1e9 {
            return Err(Error::value(self.path(key), format!("expected an integer >= {min}, got {v}")));
        }
        Ok(v as usize)
    }

    pub fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.raw(key) {
            None => Ok(default),
            Some(Json::Bool(b)) => Ok(*b),
            Some(v) => Err(Error::type_(self.path(key), "a boolean", v.kind())),
        }
    }

    pub fn choice<T: Copy>(&self, key: &str, default: Option<&str>, options: &[(&str, T)]) -> Result<T> {
        let name = match self.raw(key) {
            None => default.ok_or_else(|| Error::value(self.path(key), "is required"))?,
            Some(Json::Str(s)) => s.as_str(),
            Some(v) => return Err(Error::type_(self.path(key), "a string", v.kind())),
        };
        options.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            Error::value(self.path(key), format!("expected one of {}, got \"{name}\"", names.join(", ")))
        })
    }

    /// A number in [lo, hi] (hi_open excludes hi).
    pub fn in_range(&self, key: &str, default: f64, lo: f64, hi: f64, hi_open: bool) -> Result<f32> {
        let v = self.num(key, Some(default))?;
        if v < lo || v > hi || (hi_open && v == hi) {
            let close = if hi_open { ")" } else { "]" };
            return Err(Error::value(self.path(key), format!("expected a value in [{lo}, {hi}{close}, got {v}")));
        }
        Ok(v as f32)
    }

    pub fn positive(&self, key: &str, default: Option<f64>) -> Result<f32> {
        let v = self.num(key, default)?;
        if v <= 0.0 {
            return Err(Error::value(self.path(key), format!("expected a value > 0, got {v}")));
        }
        Ok(v as f32)
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_names_what_is_allowed() {
        let obj = Json::parse(r#"{"approximate":"tanh"}"#).unwrap();
        let e = Fields::new(&obj, "spec.layers[1].config", &[]).err().unwrap().to_string();
        assert!(e.contains("spec.layers[1].config.approximate: unknown field; expected none (this object takes no fields)"), "{e}");
        let e = Fields::new(&obj, "c", &["p", "q"]).err().unwrap().to_string();
        assert!(e.contains("c.approximate: unknown field; expected one of p, q"), "{e}");
    }
}
