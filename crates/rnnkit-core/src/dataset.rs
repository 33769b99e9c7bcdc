//! Training data as the core holds it: a `Dataset` owns one copy of a whole training set (float
//! features or int32 token ids, targets, optional mask and lengths), checked once when it is built,
//! so every later epoch or chunk of one reads it in place with O(1) checks. `Batch` is the borrowed
//! form of the same data, for one-call APIs (`train_step`, `evaluate`).
//!
//! Token ids: x holds one id per step ([batch, seq_len, 1] as dims); the model expands each id to
//! a one-hot row of its input size when it gathers a mini-batch, so no one-hot tensor of the whole
//! set ever exists (200 KB of text is 0.8 MB of ids, not 100 MB of floats).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::{dims_str, expect_len};

/// Inputs of a batch: features [.., .., input_size], or one token id per step [.., .., 1].
#[derive(Clone, Copy)]
pub enum InputsRef<'a, R = f32> {
    Float(&'a [R]),
    Tokens(&'a [i32]),
}

impl<R> InputsRef<'_, R> {
    pub fn len(&self) -> usize {
        match self {
            InputsRef::Float(x) => x.len(),
            InputsRef::Tokens(x) => x.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Targets of a batch: floats shaped like the output (MSE, BCE), or class indices (cross-entropy)
/// shaped like the output without its last axis.
#[derive(Clone, Copy)]
pub enum TargetsRef<'a, R = f32> {
    Float(&'a [R]),
    Class(&'a [i32]),
}

pub struct Batch<'a, R = f32> {
    pub x: InputsRef<'a, R>,
    /// [batch, seq_len, features] (batch_first) or [seq_len, batch, features]; features is 1 for tokens.
    pub x_dims: [usize; 3],
    pub y: TargetsRef<'a, R>,
    /// Per-step weights [batch, seq_len] (batch_first) or [seq_len, batch]; sequence outputs only.
    pub mask: Option<&'a [R]>,
    pub lengths: Option<&'a [i32]>,
}

pub enum Inputs<R = f32> {
    Float(Vec<R>),
    Tokens(Vec<i32>),
}

pub enum Targets<R = f32> {
    Float(Vec<R>),
    Class(Vec<i32>),
}

/// What building a dataset learned, so a model checks it against itself in O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DataSummary {
    /// Largest token id (token inputs only).
    pub max_token: Option<i32>,
    /// Largest class index (class targets only; `None` when there are none).
    pub max_class: Option<i32>,
    /// Largest and smallest entry of `lengths`.
    pub length_range: Option<(i32, i32)>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static BYTES_BUILT: AtomicU64 = AtomicU64::new(0);

/// Bytes of every dataset built in this process so far: how tests see that training copies its
/// data once per dataset, not once per epoch or chunk.
pub fn bytes_built() -> u64 {
    BYTES_BUILT.load(Ordering::Relaxed)
}

/// An owned, validated training set. Immutable once built; shared (e.g. `Arc`) between a binding
/// and the fits that read it.
pub struct Dataset<R = f32> {
    x: Inputs<R>,
    x_dims: [usize; 3],
    y: Targets<R>,
    mask: Option<Vec<R>>,
    lengths: Option<Vec<i32>>,
    /// `lengths` as indices (checked >= 1), so a fit borrows them instead of converting per chunk.
    steps: Option<Vec<usize>>,
    summary: DataSummary,
    id: u64,
}

impl<R: Real> Dataset<R> {
    /// Takes ownership of the data and checks what does not depend on a model: element counts
    /// against `x_dims` (the same axis order as the model that will read it), finite values,
    /// ids and class indices >= 0, mask weights finite and >= 0, lengths >= 1. What does depend on
    /// the model (input size, output size, the loss, lengths <= seq_len) is checked per fit.
    pub fn new(x: Inputs<R>, x_dims: [usize; 3], y: Targets<R>, mask: Option<Vec<R>>, lengths: Option<Vec<i32>>) -> Result<Self> {
        let elements = x_dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if x_dims.contains(&0) || elements.is_none() {
            return Err(Error::shape("x", "dims >= 1 whose product fits in memory", dims_str(&x_dims)));
        }
        let mut summary = DataSummary::default();
        match &x {
            Inputs::Float(v) => {
                expect_len("x", v.len(), &x_dims)?;
                expect_finite("x", v)?;
            }
            Inputs::Tokens(ids) => {
                if x_dims[2] != 1 {
                    return Err(Error::shape("x", "token ids as [batch, seq_len] (one id per step)", dims_str(&x_dims)));
                }
                expect_len("x", ids.len(), &x_dims)?;
                summary.max_token = Some(non_negative_max("x", "token ids", ids)?);
            }
        }
        if let Targets::Class(c) = &y {
            summary.max_class = (!c.is_empty()).then(|| non_negative_max("y", "class indices", c)).transpose()?;
        }
        if let Targets::Float(v) = &y {
            expect_finite("y", v)?;
        }
        if let Some(m) = &mask {
            // Its axis order depends on the model's layout, its element count does not.
            expect_len("mask", m.len(), &x_dims[..2])?;
            if let Some(i) = m.iter().position(|v| !v.is_finite() || *v < R::ZERO) {
                return Err(Error::value("mask", format!("expected finite weights >= 0, got {:?} at index {i}", m[i])));
            }
        }
        if let Some(l) = &lengths {
            if let Some(i) = l.iter().position(|&v| v < 1) {
                return Err(Error::value("lengths", format!("each length must be >= 1, got {} at index {i}", l[i])));
            }
            summary.length_range = l.iter().fold(None, |r, &v| Some(r.map_or((v, v), |(lo, hi): (i32, i32)| (lo.min(v), hi.max(v)))));
        }
        let steps = lengths.as_ref().map(|l| l.iter().map(|&v| v as usize).collect());
        let data = Dataset { x, x_dims, y, mask, lengths, steps, summary, id: NEXT_ID.fetch_add(1, Ordering::Relaxed) };
        BYTES_BUILT.fetch_add(data.byte_len() as u64, Ordering::Relaxed);
        Ok(data)
    }

    /// A dataset holding a copy of `batch` (what a binding builds from borrowed JS arrays).
    pub fn copy_of(batch: &Batch<'_, R>) -> Result<Self> {
        let x = match batch.x {
            InputsRef::Float(v) => Inputs::Float(v.to_vec()),
            InputsRef::Tokens(v) => Inputs::Tokens(v.to_vec()),
        };
        let y = match batch.y {
            TargetsRef::Float(v) => Targets::Float(v.to_vec()),
            TargetsRef::Class(v) => Targets::Class(v.to_vec()),
        };
        Self::new(x, batch.x_dims, y, batch.mask.map(<[R]>::to_vec), batch.lengths.map(<[i32]>::to_vec))
    }

    pub fn as_batch(&self) -> Batch<'_, R> {
        Batch {
            x: match &self.x {
                Inputs::Float(v) => InputsRef::Float(v),
                Inputs::Tokens(v) => InputsRef::Tokens(v),
            },
            x_dims: self.x_dims,
            y: match &self.y {
                Targets::Float(v) => TargetsRef::Float(v),
                Targets::Class(v) => TargetsRef::Class(v),
            },
            mask: self.mask.as_deref(),
            lengths: self.lengths.as_deref(),
        }
    }

    pub fn x_dims(&self) -> [usize; 3] {
        self.x_dims
    }

    pub fn summary(&self) -> DataSummary {
        self.summary
    }

    /// `lengths` as step counts (each >= 1), when there are lengths.
    pub fn steps(&self) -> Option<&[usize]> {
        self.steps.as_deref()
    }

    /// Unique per dataset built in this process (a model may cache what it derived from one).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Bytes of data held (what a binding reports to the JS engine as external memory).
    pub fn byte_len(&self) -> usize {
        let r = std::mem::size_of::<R>();
        let x = match &self.x {
            Inputs::Float(v) => v.len() * r,
            Inputs::Tokens(v) => v.len() * 4,
        };
        let y = match &self.y {
            Targets::Float(v) => v.len() * r,
            Targets::Class(v) => v.len() * 4,
        };
        x + y + self.mask.as_ref().map_or(0, |m| m.len() * r) + self.lengths.as_ref().map_or(0, |l| l.len() * 4)
    }
}

pub(crate) fn expect_finite<R: Real>(arg: &str, xs: &[R]) -> Result<()> {
    // Chunks checked without an early exit inside, so the test vectorizes (a scan that stops at the
    // first hit compiles to a scalar loop: ~1% of an F2 call); the index is looked up only on failure.
    if xs.chunks(256).all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite())) {
        return Ok(());
    }
    let i = xs.iter().position(|v| !v.is_finite()).unwrap_or_default();
    Err(Error::value(arg, format!("expected finite numbers, got {:?} at index {i}", xs[i])))
}

/// The largest of `xs`, or an error naming the first negative entry.
fn non_negative_max(arg: &str, what: &str, xs: &[i32]) -> Result<i32> {
    let (min, max) = xs.iter().fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if min < 0 {
        let i = xs.iter().position(|&v| v < 0).unwrap_or_default();
        return Err(Error::value(arg, format!("{what} must be >= 0, got {} at index {i}", xs[i])));
    }
    Ok(max)
}
