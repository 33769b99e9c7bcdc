//! Errors at the boundary. `Fail` is what every binding function returns: a core `Error` (mapped to
//! a JS error of the right class with `code` and `arg`, the table of STYLE §2.3), a failed N-API
//! call (a bug in this addon: ERR_RNNKIT_INTERNAL naming the call), a model lent to a running fit
//! (ERR_RNNKIT_DISPOSED, "busy"), or a JS exception that is already pending (left as it is). `check!` turns every `napi_status` into one of these.

use std::ffi::CStr;
use std::ptr;

use rnnkit_core::Error;

use crate::sys::*;

#[derive(Debug)]
pub enum Fail {
    Core(Error),
    /// `call` returned `status`; `detail` is Node's last-error message.
    Napi { call: &'static str, status: napi_status, detail: String },
    /// The model is lent to a running `trainEpoch` (ERR_RNNKIT_DISPOSED, "busy in fit").
    Busy,
    /// A JS exception is already pending (e.g. thrown by a getter we triggered): let it propagate.
    Pending,
}

pub type NResult<T> = std::result::Result<T, Fail>;

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Core(e)
    }
}

/// Evaluates an `unsafe` N-API call and converts a non-`napi_ok` status into `Err(Fail)`.
/// The caller writes the `unsafe` block (with its `// SAFETY:` line) around the macro.
#[macro_export]
macro_rules! check {
    ($env:expr, $call:ident ( $($arg:expr),* $(,)? )) => {{
        let status = $crate::sys::$call($($arg),*);
        if status == $crate::sys::NAPI_OK {
            Ok(())
        } else {
            Err($crate::error::napi_fail($env, stringify!($call), status))
        }
    }};
}

/// Builds the `Fail` for a failed call: `Pending` when that call left a JS exception behind.
///
/// # Safety
/// `env` must be the live env of the current callback.
pub unsafe fn napi_fail(env: napi_env, call: &'static str, status: napi_status) -> Fail {
    let mut pending = false;
    // SAFETY: env is live (caller contract); `pending` is a valid out-pointer.
    if status == NAPI_PENDING_EXCEPTION
        || (unsafe { napi_is_exception_pending(env, &mut pending) } == NAPI_OK && pending)
    {
        return Fail::Pending;
    }
    let mut info: *const napi_extended_error_info = ptr::null();
    let mut detail = String::new();
    // SAFETY: env is live; Node owns the returned struct until the next N-API call, and we copy
    // the message out before making another.
    if unsafe { napi_get_last_error_info(env, &mut info) } == NAPI_OK && !info.is_null() {
        // SAFETY: info points to Node's struct (checked non-null above).
        let msg = unsafe { (*info).error_message };
        if !msg.is_null() {
            // SAFETY: Node's error messages are static NUL-terminated strings.
            detail = unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned();
        }
    }
    Fail::Napi { call, status, detail }
}

/// Which JS constructor an error uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    Error,
    TypeError,
    RangeError,
}

/// Everything a JS error is built from.
pub struct Parts {
    pub code: &'static str,
    pub class: Class,
    pub message: String,
    pub arg: Option<String>,
}

impl Parts {
    /// The STYLE §2.3 table: Type → TypeError, Shape/Value → RangeError, the rest Error.
    pub fn of(err: &Error) -> Parts {
        let class = match err {
            Error::Type { .. } => Class::TypeError,
            Error::Shape { .. } | Error::Value { .. } => Class::RangeError,
            _ => Class::Error,
        };
        Parts { code: err.code(), class, message: err.to_string(), arg: err.arg().map(str::to_string) }
    }
}

impl Fail {
    /// What this failure is reported as (`None` for a pending JS exception).
    pub fn parts(self) -> Option<Parts> {
        match self {
            Fail::Core(e) => Some(Parts::of(&e)),
            Fail::Napi { call, status, detail } => Some(Parts::of(&Error::Internal {
                message: format!("{call} failed with napi_status {status} ({detail})"),
            })),
            Fail::Busy => Some(Parts {
                code: "ERR_RNNKIT_DISPOSED",
                class: Class::Error,
                message: "Model is busy in fit(): a trainEpoch Promise on it has not settled yet; \
                          await it before using the model"
                    .into(),
                arg: None,
            }),
            Fail::Pending => None,
        }
    }
}

/// The JS error object for `parts`: `code` is set by Node's `napi_create_*error`, `arg` added when
/// there is one.
///
/// # Safety
/// `env` must be the live env of the current callback (JS thread, inside a handle scope).
pub unsafe fn js_error(env: napi_env, parts: &Parts) -> NResult<napi_value> {
    // SAFETY: env is live (caller contract).
    let code = unsafe { string(env, parts.code) }?;
    // SAFETY: as above.
    let msg = unsafe { string(env, &parts.message) }?;
    let mut out = ptr::null_mut();
    // SAFETY: env is live; code/msg are strings of this env; `out` is a valid out-pointer.
    unsafe {
        match parts.class {
            Class::TypeError => check!(env, napi_create_type_error(env, code, msg, &mut out))?,
            Class::RangeError => check!(env, napi_create_range_error(env, code, msg, &mut out))?,
            Class::Error => check!(env, napi_create_error(env, code, msg, &mut out))?,
        }
    }
    if let Some(arg) = &parts.arg {
        // SAFETY: env is live (caller contract).
        let value = unsafe { string(env, arg) }?;
        // SAFETY: `out` is the error object just created; the name is NUL-terminated.
        unsafe { check!(env, napi_set_named_property(env, out, c"arg".as_ptr(), value))? };
    }
    Ok(out)
}

/// Throws `fail` as a JS exception (nothing to do when one is already pending).
///
/// # Safety
/// As for `js_error`.
pub unsafe fn throw(env: napi_env, fail: Fail) {
    let Some(parts) = fail.parts() else { return };
    // SAFETY: forwarded caller contract.
    if let Ok(value) = unsafe { js_error(env, &parts) } {
        // SAFETY: env is live; `value` is an error object of this env.
        unsafe { napi_throw(env, value) };
    }
    // Else the error could not even be built (out of memory, terminating env): Node has an
    // exception pending or is shutting down; nothing better to do.
}

/// A JS string (used by the error path, which cannot depend on `env.rs`).
unsafe fn string(env: napi_env, s: &str) -> NResult<napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: env is live; `s` is valid for s.len() bytes of UTF-8 (an explicit length, so no NUL needed).
    unsafe { check!(env, napi_create_string_utf8(env, s.as_ptr().cast(), s.len(), &mut out))? };
    Ok(out)
}
