//! The one way into Rust from JS. Every exported function and method is an `extern "C"` shim made
//! by `export!`, which calls `run`: read the call's arguments, run the body inside `catch_unwind`,
//! and turn `Err` into a thrown JS error (error.rs) and a panic into ERR_RNNKIT_INTERNAL. Unwinding
//! into Node's C++ frames would be undefined behaviour, so nothing may bypass this.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use rnnkit_core::Error;

use crate::env::CallInfo;
use crate::error::{throw, NResult};
use crate::sys::{napi_callback_info, napi_env, napi_value};

/// A binding body: arguments in, JS value out.
pub type Body = fn(&CallInfo) -> NResult<napi_value>;

/// Runs `body` for the current callback. Returns its value, or null after throwing (Node then
/// returns undefined to JS and raises the pending exception).
///
/// # Safety
/// `env`/`info` must be the ones Node passed to the current callback.
pub unsafe fn run(env: napi_env, info: napi_callback_info, body: Body) -> napi_value {
    // AssertUnwindSafe: after a panic nothing from inside the closure is used again except the
    // panic payload; model state a panic may have left half-updated is reported as a bug.
    // SAFETY: env/info are this callback's (caller contract).
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { CallInfo::read(env, info) }.and_then(|cx| body(&cx))));
    let fail = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(fail)) => fail,
        Err(payload) => Error::Internal { message: panic_message(payload.as_ref()) }.into(),
    };
    // Throwing allocates JS objects and could itself panic only through a bug in this crate; keep
    // that from unwinding into Node too.
    // SAFETY: same env, still inside the callback.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { throw(env, fail) }));
    ptr::null_mut()
}

/// The message of a panic payload (`panic!("...")` gives &str or String).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    };
    format!("panic: {text}")
}

/// Defines `unsafe extern "C" fn $shim(env, info) -> napi_value` that runs `$body` through `run`.
#[macro_export]
macro_rules! export {
    ($shim:ident => $body:path) => {
        unsafe extern "C" fn $shim(env: $crate::sys::napi_env, info: $crate::sys::napi_callback_info) -> $crate::sys::napi_value {
            // SAFETY: Node calls this shim as a napi_callback with its own env and info.
            unsafe { $crate::trampoline::run(env, info, $body) }
        }
    };
}
