//! The one error type of rnnkit. Every message names the argument, what was expected and what was
//! received, so the bindings never format messages of their own. Codes and statuses are mirrored in
//! `ts/errors.ts` (a test compares the two lists).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A value of the wrong kind (a string where a number belongs, an Int32Array where Float32Array does).
    Type { arg: String, expected: String, actual: String },
    /// A buffer or dimension of the wrong size.
    Shape { arg: String, expected: String, actual: String },
    /// A value of the right kind and size that is not allowed (NaN, lr <= 0, unknown name).
    Value { arg: String, reason: String },
    /// An object used after `dispose()`, or busy in a running `fit`.
    Disposed { what: String },
    /// A requested instruction set or feature that this machine or build lacks.
    Unsupported { feature: String },
    /// A file or byte stream that is not what it claims to be.
    Format { reason: String },
    /// A bug: a caught panic or trap. Never caused by user input.
    Internal { message: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Stable machine-readable code, the `code` property of the JS error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Type { .. } => "ERR_RNNKIT_TYPE",
            Error::Shape { .. } => "ERR_RNNKIT_SHAPE",
            Error::Value { .. } => "ERR_RNNKIT_VALUE",
            Error::Disposed { .. } => "ERR_RNNKIT_DISPOSED",
            Error::Unsupported { .. } => "ERR_RNNKIT_UNSUPPORTED",
            Error::Format { .. } => "ERR_RNNKIT_FORMAT",
            Error::Internal { .. } => "ERR_RNNKIT_INTERNAL",
        }
    }

    /// Status number returned by the wasm exports (0 is success).
    pub fn status(&self) -> i32 {
        match self {
            Error::Type { .. } => 1,
            Error::Shape { .. } => 2,
            Error::Value { .. } => 3,
            Error::Disposed { .. } => 4,
            Error::Unsupported { .. } => 5,
            Error::Format { .. } => 6,
            Error::Internal { .. } => 100,
        }
    }

    /// The argument the error is about, when there is one.
    pub fn arg(&self) -> Option<&str> {
        match self {
            Error::Type { arg, .. } | Error::Shape { arg, .. } | Error::Value { arg, .. } => Some(arg),
            _ => None,
        }
    }

    pub fn value(arg: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Value { arg: arg.into(), reason: reason.into() }
    }

    pub fn shape(arg: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Error {
        Error::Shape { arg: arg.into(), expected: expected.into(), actual: actual.into() }
    }

    pub fn type_(arg: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Error {
        Error::Type { arg: arg.into(), expected: expected.into(), actual: actual.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Type { arg, expected, actual } => write!(f, "{arg}: expected {expected}, got {actual}"),
            Error::Shape { arg, expected, actual } => write!(f, "{arg}: expected {expected}, got {actual}"),
            Error::Value { arg, reason } => write!(f, "{arg}: {reason}"),
            Error::Disposed { what } => write!(f, "{what} has been disposed"),
            Error::Unsupported { feature } => write!(f, "unsupported: {feature}"),
            Error::Format { reason } => write!(f, "invalid format: {reason}"),
            Error::Internal { message } => write!(f, "internal error (a bug in rnnkit): {message}"),
        }
    }
}

impl std::error::Error for Error {}
