//! Argument checks that build `Error`s, so no caller formats its own message.

use crate::error::{Error, Result};

/// Formats dims the way messages show them: `[2, 3, 4]`.
pub fn dims_str(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

pub fn expect_shape(arg: &str, actual: &[usize], expected: &[usize]) -> Result<()> {
    if actual == expected {
        return Ok(());
    }
    Err(Error::shape(arg, format!("shape {}", dims_str(expected)), format!("shape {}", dims_str(actual))))
}

/// A flat buffer must hold exactly `product(dims)` elements.
pub fn expect_len(arg: &str, actual: usize, dims: &[usize]) -> Result<()> {
    let want: usize = dims.iter().product();
    if actual == want {
        return Ok(());
    }
    Err(Error::shape(arg, format!("{want} elements (shape {})", dims_str(dims)), format!("{actual} elements")))
}

/// Every element must be finite; the message names the first offending index.
pub fn expect_finite(arg: &str, xs: &[f32]) -> Result<()> {
    match xs.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::value(arg, format!("expected finite numbers, got {} at index {i}", xs[i]))),
    }
}

/// A dimension that must be at least 1.
pub fn expect_positive(arg: &str, value: usize) -> Result<()> {
    if value >= 1 {
        return Ok(());
    }
    Err(Error::value(arg, format!("expected a positive integer, got {value}")))
}
