//! Models as JS objects. Each JS `Model` instance carries, via `napi_wrap`, a `Box<Rc<Handle>>`;
//! the `Handle` owns the `Box<Model>` in a `Slot`. Memory is freed by whichever comes first: an
//! explicit `dispose()` or the GC finalizer. A running `trainEpoch` borrows the model by moving it
//! out of the slot to the worker thread (`Slot::Busy`) and puts it back when it settles.
//!
//! `liveHandles()` counts `Owned` values: incremented when a model is built, decremented when its
//! `Owned` is dropped, so each model is counted down exactly once however it dies.
//!
//! dispose() during a running fit is deferred, not refused: the object reads as disposed at once
//! (later calls throw ERR_RNNKIT_DISPOSED), the memory is freed when the worker finishes, and the
//! fit Promise rejects with ERR_RNNKIT_DISPOSED. Every other call during a fit throws
//! ERR_RNNKIT_DISPOSED saying the model is busy in fit.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rnnkit_core::{Error, Model};

use crate::check;
use crate::env::{CallInfo, Env};
use crate::error::{Fail, NResult};
use crate::sys::*;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Models and datasets built and not yet freed, across all threads and environments.
pub fn live_handles() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// Counts one more live native object (its owner calls `count_freed` exactly once when it is dropped).
pub(crate) fn count_built() {
    LIVE.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn count_freed() {
    LIVE.fetch_sub(1, Ordering::SeqCst);
}

/// A model counted in `live_handles()`. `Send` (the model is plain data), so it can travel to the
/// worker thread of a fit and back.
pub struct Owned(Box<Model>);

impl Owned {
    pub fn new(model: Model) -> Owned {
        count_built();
        Owned(Box::new(model))
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        count_freed();
    }
}

impl Deref for Owned {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.0
    }
}

impl DerefMut for Owned {
    fn deref_mut(&mut self) -> &mut Model {
        &mut self.0
    }
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Owned>();
};

enum Slot {
    Ready(Owned),
    /// Lent to a running fit; `dispose_requested` when dispose() came in meanwhile.
    Busy { dispose_requested: bool },
    Disposed,
}

/// The native side of one JS `Model`. Lives on the JS thread only (hence `Rc`/`RefCell`).
pub struct Handle {
    slot: RefCell<Slot>,
}

impl Handle {
    fn new(model: Owned) -> Rc<Handle> {
        Rc::new(Handle { slot: RefCell::new(Slot::Ready(model)) })
    }

    /// Runs `f` on the model, or fails with ERR_RNNKIT_DISPOSED (disposed, or busy in fit).
    pub fn with<R>(&self, f: impl FnOnce(&mut Model) -> NResult<R>) -> NResult<R> {
        // A failed borrow means a re-entrant call on the same model while `f` runs, which cannot
        // happen (the core never calls into JS); report it as busy rather than panic.
        let mut slot = self.slot.try_borrow_mut().map_err(|_| Fail::Busy)?;
        match &mut *slot {
            Slot::Ready(model) => f(model),
            Slot::Busy { dispose_requested: false } => Err(Fail::Busy),
            Slot::Busy { dispose_requested: true } | Slot::Disposed => Err(disposed()),
        }
    }

    /// Frees the model now; deferred to the end of a running fit; a no-op when already disposed.
    pub fn dispose(&self) -> NResult<()> {
        let mut slot = self.slot.try_borrow_mut().map_err(|_| Fail::Busy)?;
        match &mut *slot {
            Slot::Ready(_) => *slot = Slot::Disposed, // drops the Owned: memory freed, count down
            Slot::Busy { dispose_requested } => *dispose_requested = true,
            Slot::Disposed => {}
        }
        Ok(())
    }

    /// True once dispose() was called (even if a running fit still holds the memory).
    pub fn is_disposed(&self) -> bool {
        self.slot.try_borrow().map(|s| matches!(*s, Slot::Disposed | Slot::Busy { dispose_requested: true })).unwrap_or(false)
    }

    /// Lends the model to a fit: the slot becomes Busy until `put_back`.
    pub fn lend(&self) -> NResult<Owned> {
        let mut slot = self.slot.try_borrow_mut().map_err(|_| Fail::Busy)?;
        match std::mem::replace(&mut *slot, Slot::Busy { dispose_requested: false }) {
            Slot::Ready(model) => Ok(model),
            other => {
                let busy = matches!(other, Slot::Busy { dispose_requested: false });
                *slot = other;
                Err(if busy { Fail::Busy } else { disposed() })
            }
        }
    }

    /// Ends a loan. `None` means the model was lost (a panic on the worker dropped it). Returns
    /// `false` when the model is no longer usable: dispose() was requested meanwhile, or it was lost.
    pub fn put_back(&self, model: Option<Owned>) -> bool {
        let mut slot = self.slot.borrow_mut();
        let keep = matches!(*slot, Slot::Busy { dispose_requested: false }) && model.is_some();
        *slot = match model {
            Some(m) if keep => Slot::Ready(m),
            _ => Slot::Disposed, // drops `model` if any: freed, count down
        };
        keep
    }
}

pub fn disposed() -> Fail {
    Error::Disposed { what: "Model".into() }.into()
}

/// Builds the model for a `new Model(spec)` call and ties it to `this`.
pub fn wrap_new(cx: &CallInfo, model: Model) -> NResult<()> {
    let handle = Box::new(Handle::new(Owned::new(model)));
    let raw = Box::into_raw(handle);
    let env = cx.env.0;
    // SAFETY: env is live; `cx.this` is the object under construction; `raw` stays valid until
    // `finalize` reclaims it (Node calls it exactly once, when the object is collected or the env
    // is torn down). A null result pointer means no reference is created.
    let status = unsafe { check!(env, napi_wrap(env, cx.this, raw.cast(), Some(finalize), ptr::null_mut(), ptr::null_mut())) };
    if let Err(fail) = status {
        // SAFETY: wrapping failed, so Node holds no copy of `raw`; reclaim it (frees the model).
        drop(unsafe { Box::from_raw(raw) });
        return Err(fail);
    }
    tag(cx.env, cx.this, &MODEL_TAG)
}

/// Tags of the two wrapped types (random constants), checked before every unwrap: an object of the
/// other kind (a dataset passed as a model's `this`) is a TypeError, never a reinterpreted pointer.
pub(crate) const MODEL_TAG: napi_type_tag = napi_type_tag { lower: 0x7a1c_55e2_93d4_0b61, upper: 0xc2f8_0e47_1b9a_d305 };
pub(crate) const DATASET_TAG: napi_type_tag = napi_type_tag { lower: 0x4e9b_3f20_a7c1_58d6, upper: 0x1d63_b8f4_e025_97ac };

pub(crate) fn tag(env: Env, object: napi_value, tag: &napi_type_tag) -> NResult<()> {
    // SAFETY: env is live; `object` is a value of this env; `tag` outlives the call.
    unsafe { check!(env.0, napi_type_tag_object(env.0, object, tag)) }
}

/// True when `object` carries `tag`.
pub(crate) fn has_tag(env: Env, object: napi_value, tag: &napi_type_tag) -> bool {
    let mut ok = false;
    // SAFETY: as in `tag`; a non-object gives a non-ok status and leaves `ok` false.
    let status = unsafe { napi_check_object_type_tag(env.0, object, tag, &mut ok) };
    status == NAPI_OK && ok
}

/// The handle behind `this`, or a TypeError when `this` is not a native Model.
pub fn unwrap(cx: &CallInfo) -> NResult<Rc<Handle>> {
    unwrap_value(cx.env, cx.this)
}

pub fn unwrap_value(env: Env, object: napi_value) -> NResult<Rc<Handle>> {
    let mut raw: *mut c_void = ptr::null_mut();
    // SAFETY: env is live; `object` is a value of this env and carries the Model tag, so what it
    // wraps is a `Box<Rc<Handle>>`. Non-objects give a non-ok status, handled below.
    let status = if has_tag(env, object, &MODEL_TAG) { unsafe { napi_unwrap(env.0, object, &mut raw) } } else { NAPI_INVALID_ARG };
    if status != NAPI_OK || raw.is_null() {
        return Err(Error::type_("this", "an rnnkit native Model", env.describe(object)).into());
    }
    // SAFETY: the only pointers rnnkit wraps are `Box<Rc<Handle>>` from `wrap_new`, and the object
    // is alive (it is `this` of the running call), so the finalizer has not freed it.
    let handle: &Rc<Handle> = unsafe { &*(raw as *const Rc<Handle>) };
    Ok(handle.clone())
}

/// GC finalizer: drops the `Rc<Handle>`; if no fit holds another, the model is freed.
unsafe extern "C" fn finalize(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Rc<Handle>>` leaked in `wrap_new`; Node calls this exactly once.
    let handle = unsafe { Box::from_raw(data as *mut Rc<Handle>) };
    // Dropping a model cannot panic today; if it ever did, unwinding into Node is worse than a leak.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(handle)));
}
