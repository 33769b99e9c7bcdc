//! Shared by the layers whose output is shaped like their input (the activation layers, Dropout,
//! LayerNorm) and by Embedding: which input such a layer accepts, and which rows of one forward are
//! valid (a sequence's steps past its length are not: they stay zero and get no gradient).

use crate::error::{Error, Result};
use crate::real::Real;

use super::dense::zero_past_lengths;
use super::Shape;

/// The input of a layer that needs a previous layer's features (sequence or vector) and maps them
/// to the same shape.
pub(crate) fn features_input(input: Option<Shape>, path: &str, kind: &str) -> Result<Shape> {
    match input {
        None => Err(Error::value(path, format!("{kind} cannot be the first layer (its input size is unknown)"))),
        Some(Shape::Ids { .. }) => Err(Error::shape(path, "features [batch, seq, F] or [batch, F]", "token ids (only the first layer reads ids)")),
        Some(shape) => Ok(shape),
    }
}

/// The rows of one forward: `rows` rows (T·B time-major, or B for a vector) of which the steps
/// past each sequence's length are invalid.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    pub rows: usize,
    batch: usize,
    /// Per-sequence lengths of a sequence input; None = every row valid.
    lengths: Option<Vec<usize>>,
}

impl Rows {
    pub fn new(shape: Shape, seq_len: usize, batch: usize, lengths: Option<&[usize]>) -> Rows {
        let (rows, lengths) = if shape.is_sequence() { (seq_len * batch, lengths.map(<[usize]>::to_vec)) } else { (batch, None) };
        Rows { rows, batch, lengths }
    }

    /// Row r = t·B + b is valid when t < lengths[b].
    pub fn valid(&self, r: usize) -> bool {
        self.lengths.as_ref().is_none_or(|l| r / self.batch < l[r % self.batch])
    }

    /// Zeroes the invalid rows of `v` ([rows, width]).
    pub fn zero_invalid<R: Real>(&self, v: &mut [R], width: usize) {
        if let Some(lengths) = &self.lengths {
            zero_past_lengths(v, self.batch, width, lengths);
        }
    }
}
