//! Status codes and the last-error buffer. Every export returns an i32 status (0 ok, else
//! `Error::status()`) and leaves the message and argument here for `wasm.ts` to read through
//! `rnnkit_last_error_ptr/len` and `rnnkit_last_error_arg_ptr/len`. On wasm the panic hook writes the
//! panic message here too, just before panic=abort traps, so JS can report what the bug was.

use std::cell::RefCell;

use rnnkit_core::{Error, Result};

/// What `wasm.ts` reads after a non-zero status (or after a trap).
#[derive(Default)]
pub struct LastError {
    pub message: String,
    pub arg: String,
}

thread_local! {
    // wasm32-unknown-unknown without atomics has one thread, so this is a plain static there;
    // natively (unit tests) each test thread gets its own, which keeps tests independent.
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError::default());
}

/// Runs one export body: clears the last error, maps `Err` to its status and records the message.
pub fn run(f: impl FnOnce() -> Result<()>) -> i32 {
    install_panic_hook();
    // Cleared first so a trap without a message (e.g. out of memory) never shows a stale one.
    set_last("", "");
    match f() {
        Ok(()) => 0,
        Err(e) => record(&e),
    }
}

/// Stores `e` as the last error and returns its status.
pub fn record(e: &Error) -> i32 {
    set_last(&e.to_string(), e.arg().unwrap_or(""));
    e.status()
}

fn set_last(message: &str, arg: &str) {
    LAST_ERROR.with(|cell| {
        // try_borrow_mut: the panic hook may run while some reader holds a borrow; losing the
        // message then beats a double panic.
        if let Ok(mut last) = cell.try_borrow_mut() {
            last.message.clear();
            last.message.push_str(message);
            last.arg.clear();
            last.arg.push_str(arg);
        }
    });
}

/// (ptr, len) of the last message or argument, valid until the next export call.
pub fn last_error_bytes(arg: bool) -> (*const u8, usize) {
    LAST_ERROR.with(|cell| match cell.try_borrow() {
        Ok(last) => {
            let s = if arg { &last.arg } else { &last.message };
            (s.as_ptr(), s.len())
        }
        Err(_) => (std::ptr::null(), 0),
    })
}

/// Reads the last error as owned strings (for unit tests).
pub fn last_error() -> (String, String) {
    LAST_ERROR.with(|cell| {
        let last = cell.borrow();
        (last.message.clone(), last.arg.clone())
    })
}

/// On wasm: a panic records "panicked at <file:line>: <message>" as the last error before the
/// abort traps. Natively (tests) the default hook stays, so test output is unchanged.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                // Display gives "panicked at <file:line:col>:\n<message>".
                set_last(&info.to_string(), "");
            }));
        });
    }
}
