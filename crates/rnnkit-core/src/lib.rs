//! rnnkit-core: all of rnnkit's math, with no dependencies, no I/O and no FFI.
//!
//! Conventions: float32, row-major; parameter layouts, names and gate orders are PyTorch's
//! (LSTM i,f,g,o; GRU r,z,n with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))). Inside the core,
//! sequences are time-major [seq_len, batch, features]; `Model` converts from batch-first.
//! User input never panics: it returns `Error`, which names the argument, expected and actual.

pub mod cell;
pub mod dense;
pub mod dataset;
pub mod error;
pub mod fields;
pub mod init;
pub mod json;
pub mod kernels;
pub mod layers;
mod legacy;
pub mod recurrent;
pub mod loss;
pub mod model;
pub mod optim;
pub mod parallel;
pub mod params;
pub mod peak;
pub mod real;
pub mod rng;
pub mod shape;
pub mod spec;
mod spare;
pub mod trace;

pub use error::{Error, Result};
pub use model::Model;
