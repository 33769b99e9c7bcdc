//! Work off the JS thread, settled as a Promise (`napi_create_async_work` + `napi_create_promise`).
//! The task is a `Send` closure that owns everything it touches (the caller copies JS inputs into
//! Rust buffers and moves the model in before queueing), runs on a libuv worker under
//! `catch_unwind`, and hands its result back to `complete`, which runs on the JS thread, restores
//! the caller's state and produces the resolution value. A panic in either becomes a rejection
//! with ERR_RNNKIT_INTERNAL. A `napi_ref` keeps a chosen JS object (the model) alive until then.

use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use rnnkit_core::{Error, Result};

use crate::check;
use crate::env::Env;
use crate::error::{js_error, Fail, NResult, Parts};
use crate::sys::*;
use crate::trampoline::panic_message;

/// One queued job. Field ownership by thread: `task` and `result` belong to the worker while the
/// work runs (the JS thread does not touch them between queueing and `complete`); everything else
/// is touched on the JS thread only.
struct Work<T, R, C> {
    task: Option<T>,
    result: Option<Result<R>>,
    complete: Option<C>,
    deferred: napi_deferred,
    keep_alive: napi_ref,
    work: napi_async_work,
}

/// Queues `task` on the libuv pool and returns its Promise. `complete(env, result)` runs on the JS
/// thread when the task has finished (or could not be queued: then with `Err`, so the caller can
/// restore its state, and `spawn` returns that failure to be thrown synchronously).
pub fn spawn<T, R, C>(env: Env, name: &str, keep_alive: Option<napi_value>, task: T, complete: C) -> NResult<napi_value>
where
    T: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
    C: FnOnce(Env, Result<R>) -> NResult<napi_value> + 'static,
{
    let mut work = Box::new(Work {
        task: Some(task),
        result: None,
        complete: Some(complete),
        deferred: ptr::null_mut(),
        keep_alive: ptr::null_mut(),
        work: ptr::null_mut(),
    });
    let mut promise = ptr::null_mut();
    let setup = (|| -> NResult<()> {
        let e = env.0;
        let resource_name = env.string(name)?;
        // SAFETY: env is live (JS thread, inside a callback); all out-pointers are fields of the
        // boxed `work`, which does not move; `execute`/`complete_cb` are instantiated for exactly
        // this `Work<T, R, C>`, the type `data` points to.
        unsafe {
            check!(e, napi_create_promise(e, &mut work.deferred, &mut promise))?;
            if let Some(obj) = keep_alive {
                check!(e, napi_create_reference(e, obj, 1, &mut work.keep_alive))?;
            }
            let data: *mut Work<T, R, C> = &mut *work;
            check!(
                e,
                napi_create_async_work(
                    e,
                    ptr::null_mut(),
                    resource_name,
                    Some(execute::<T, R, C>),
                    Some(complete_cb::<T, R, C>),
                    data.cast::<c_void>(),
                    &mut work.work,
                )
            )?;
            check!(e, napi_queue_async_work(e, work.work))?;
        }
        Ok(())
    })();
    match setup {
        Ok(()) => {
            // Queued: from here Node owns the allocation until `complete_cb` reclaims it.
            let _ = Box::into_raw(work);
            Ok(promise)
        }
        Err(fail) => {
            // Not queued: undo in reverse, let the caller restore its state, throw synchronously.
            // SAFETY: env is live; each handle is either null (never created) or ours to delete.
            unsafe {
                if !work.work.is_null() {
                    napi_delete_async_work(env.0, work.work);
                }
                if !work.keep_alive.is_null() {
                    napi_delete_reference(env.0, work.keep_alive);
                }
                if !work.deferred.is_null() {
                    // Nobody holds the promise; settle it quietly (a rejection would be unhandled).
                    if let Ok(undefined) = env.undefined() {
                        napi_resolve_deferred(env.0, work.deferred, undefined);
                    }
                }
            }
            drop(work.task.take()); // frees anything the task owned
            if let Some(c) = work.complete.take() {
                let reason = Error::Internal { message: "async work could not be queued".into() };
                let _ = catch_unwind(AssertUnwindSafe(|| c(env, Err(reason))));
            }
            Err(fail)
        }
    }
}

/// Runs on a libuv worker thread.
unsafe extern "C" fn execute<T, R, C>(_env: napi_env, data: *mut c_void)
where
    T: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
{
    let work = data as *mut Work<T, R, C>;
    // SAFETY: `data` is the queued `Work<T, R, C>`, alive until `complete_cb`; during `execute`
    // only this thread touches `task` and `result`, and only through these field places (no
    // reference to the whole struct, whose JS-thread fields are not Send, is formed here).
    let task = unsafe { (*work).task.take() };
    let result = match task {
        Some(task) => match catch_unwind(AssertUnwindSafe(task)) {
            Ok(r) => r,
            // The task's captures (the model included) were dropped while unwinding.
            Err(payload) => Err(Error::Internal { message: panic_message(payload.as_ref()) }),
        },
        None => Err(Error::Internal { message: "async task ran twice".into() }),
    };
    // SAFETY: as above.
    unsafe { (*work).result = Some(result) };
}

/// Runs on the JS thread (Node opens a handle scope around it) after `execute`, or on cancellation.
unsafe extern "C" fn complete_cb<T, R, C>(env: napi_env, status: napi_status, data: *mut c_void)
where
    T: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
    C: FnOnce(Env, Result<R>) -> NResult<napi_value> + 'static,
{
    // SAFETY: `data` is the `Box<Work>` leaked by `spawn`; the worker is done with it (Node calls
    // complete after execute returns), so ownership comes back here exactly once.
    let mut work = unsafe { Box::from_raw(data as *mut Work<T, R, C>) };
    let env_w = Env(env);
    let result = match (status, work.result.take()) {
        (NAPI_OK, Some(r)) => r,
        (NAPI_CANCELLED, _) => Err(Error::Internal { message: "async work was cancelled".into() }),
        (s, _) => Err(Error::Internal { message: format!("async work finished with napi_status {s}") }),
    };
    let settle = work.complete.take();
    let outcome = catch_unwind(AssertUnwindSafe(|| match settle {
        Some(c) => c(env_w, result),
        None => Err(Error::Internal { message: "async completion ran twice".into() }.into()),
    }));
    let settled: NResult<napi_value> = match outcome {
        Ok(r) => r,
        Err(payload) => Err(Error::Internal { message: panic_message(payload.as_ref()) }.into()),
    };
    // Settling and cleanup must not unwind into Node either.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: JS thread inside Node's scope for this completion; deferred/ref/work are ours and
        // each is settled or deleted exactly once here.
        unsafe {
            settle_deferred(env_w, work.deferred, settled);
            if !work.keep_alive.is_null() {
                napi_delete_reference(env, work.keep_alive);
            }
            napi_delete_async_work(env, work.work);
        }
    }));
}

/// Resolves with the value or rejects with the mapped error (or the pending JS exception).
///
/// # Safety
/// JS thread, live env, `deferred` not yet settled.
unsafe fn settle_deferred(env: Env, deferred: napi_deferred, settled: NResult<napi_value>) {
    let e = env.0;
    let rejection = match settled {
        Ok(value) => {
            // SAFETY: caller contract. A failure here means the env is shutting down: nobody to tell.
            unsafe { napi_resolve_deferred(e, deferred, value) };
            return;
        }
        Err(Fail::Pending) => {
            let mut exc = ptr::null_mut();
            // SAFETY: caller contract; the out-pointer is a local.
            unsafe { napi_get_and_clear_last_exception(e, &mut exc) };
            exc
        }
        Err(fail) => {
            let parts = fail.parts().unwrap_or_else(|| Parts::of(&Error::Internal { message: "unknown".into() }));
            // SAFETY: caller contract.
            match unsafe { js_error(e, &parts) } {
                Ok(v) => v,
                Err(_) => ptr::null_mut(),
            }
        }
    };
    if !rejection.is_null() {
        // SAFETY: caller contract; `rejection` is a value of this env.
        unsafe { napi_reject_deferred(e, deferred, rejection) };
    } else if let Ok(undefined) = env.undefined() {
        // SAFETY: caller contract.
        unsafe { napi_reject_deferred(e, deferred, undefined) };
    }
}
