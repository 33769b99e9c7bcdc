//! Exports of the threaded build (`+atomics`, shared imported memory): what `ts/backend/wasm-threads.ts`
//! needs to start worker threads on the module. A worker instantiates the module on the shared
//! memory, points its own `__stack_pointer` at a stack from `rnnkit_thread_alloc`, initialises its
//! TLS block with `__wasm_init_tls`, then calls `rnnkit_thread_main`, which never returns.

use std::alloc::{alloc_zeroed, Layout};

/// A stack or TLS block for one worker thread: `len_bytes` aligned to `align` (a power of two), never
/// freed (a worker lives as long as its memory). Null if the request is invalid or memory cannot grow.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_thread_alloc(len_bytes: usize, align: usize) -> *mut u8 {
    match Layout::from_size_align(len_bytes.max(1), align) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc_zeroed(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Joins the thread pool as a worker and serves it for good.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_thread_main() {
    rnnkit_core::parallel::wasm_threads::serve()
}

/// Called by JS on a worker's instance after it trapped, so a caller waiting for it fails (a trap
/// in turn) rather than hangs.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_thread_trapped() {
    rnnkit_core::parallel::wasm_threads::worker_trapped()
}
