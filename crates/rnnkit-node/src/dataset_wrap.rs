//! Datasets as JS objects: `datasetNew(...)` copies a training set into the core once (checked
//! there, see rnnkit_core::dataset) and ties it to a plain JS object with `napi_wrap`; fits and
//! evaluations then borrow it by reference (`Arc`), so no call copies it again. Freed by
//! `datasetDispose` or the GC finalizer, whichever comes first; a fit still running on it keeps
//! its `Arc` until it settles. V8 is told about the bytes held, so forgotten datasets get collected.

use std::cell::RefCell;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use rnnkit_core::model::Dataset;
use rnnkit_core::Error;

use crate::check;
use crate::env::Env;
use crate::error::NResult;
use crate::sys::*;
use crate::wrap::{count_built, count_freed, has_tag, tag, DATASET_TAG};

/// A dataset counted in `liveHandles()` while it lives (dropped when the last fit using it ends).
pub struct Counted(pub Dataset);

impl Counted {
    fn new(data: Dataset) -> Counted {
        count_built();
        Counted(data)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        count_freed();
    }
}

/// What the JS object carries: the shared dataset until it is disposed.
struct Slot {
    data: RefCell<Option<Arc<Counted>>>,
    bytes: i64,
}

fn adjust_external(env: napi_env, bytes: i64) {
    let mut total = 0i64;
    // SAFETY: env is live (a callback's or a finalizer's on the JS thread). A failure only means V8
    // schedules collection without this hint.
    let _ = unsafe { napi_adjust_external_memory(env, bytes, &mut total) };
}

/// Wraps `data` in a new JS object.
pub fn wrap_dataset(env: Env, data: Dataset) -> NResult<napi_value> {
    let object = env.object()?;
    let bytes = i64::try_from(data.byte_len()).unwrap_or(i64::MAX);
    let slot = Box::new(Slot { data: RefCell::new(Some(Arc::new(Counted::new(data)))), bytes });
    let raw = Box::into_raw(slot);
    // SAFETY: env is live; `object` was just created; `raw` stays valid until `finalize` reclaims it
    // (Node calls it exactly once). A null result pointer means no reference is created.
    let status = unsafe { check!(env.0, napi_wrap(env.0, object, raw.cast(), Some(finalize), ptr::null_mut(), ptr::null_mut())) };
    if let Err(fail) = status {
        // SAFETY: wrapping failed, so Node holds no copy of `raw`; reclaim it (frees the data).
        drop(unsafe { Box::from_raw(raw) });
        return Err(fail);
    }
    // Counted before anything else can fail: the finalizer subtracts it whatever happens next.
    adjust_external(env.0, bytes);
    tag(env, object, &DATASET_TAG)?;
    Ok(object)
}

fn slot<'a>(env: Env, object: napi_value, arg: &str) -> NResult<&'a Slot> {
    let mut raw: *mut c_void = ptr::null_mut();
    // SAFETY: env is live; `object` carries the dataset tag, so what it wraps is a `Box<Slot>`.
    let status = if has_tag(env, object, &DATASET_TAG) { unsafe { napi_unwrap(env.0, object, &mut raw) } } else { NAPI_INVALID_ARG };
    if status != NAPI_OK || raw.is_null() {
        return Err(Error::type_(arg, "an rnnkit dataset (from dataset())", env.describe(object)).into());
    }
    // SAFETY: objects with the dataset tag wrap a `Box<Slot>` from `wrap_dataset`, and the object is
    // alive (an argument of the running call), so the finalizer has not freed it.
    Ok(unsafe { &*(raw as *const Slot) })
}

/// The dataset behind `object`, shared; ERR_RNNKIT_DISPOSED after `dispose_dataset`.
pub fn borrow_dataset(env: Env, object: napi_value, arg: &str) -> NResult<Arc<Counted>> {
    let slot = slot(env, object, arg)?;
    let data = slot.data.borrow().clone();
    data.ok_or_else(|| Error::Disposed { what: "Dataset".into() }.into())
}

/// Frees now (or when the last running fit on it settles); a second call is a no-op.
pub fn dispose_dataset(env: Env, object: napi_value) -> NResult<()> {
    let slot = slot(env, object, "dataset")?;
    if slot.data.borrow_mut().take().is_some() {
        adjust_external(env.0, -slot.bytes);
    }
    Ok(())
}

pub fn is_disposed(env: Env, object: napi_value) -> NResult<bool> {
    Ok(slot(env, object, "dataset")?.data.borrow().is_none())
}

/// GC finalizer: drops the slot (and the dataset, unless a fit still holds it).
unsafe extern "C" fn finalize(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Slot>` leaked in `wrap_dataset`; Node calls this exactly once.
    let slot = unsafe { Box::from_raw(data as *mut Slot) };
    if slot.data.borrow().is_some() {
        adjust_external(env, -slot.bytes);
    }
    // Dropping data cannot panic today; if it ever did, unwinding into Node is worse than a leak.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(slot)));
}
