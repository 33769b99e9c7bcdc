//! Live datasets, addressed by u32 handles that are never reused (a disposed handle stays an
//! `Err(Disposed)` for good). A dataset is copied in once by `rnnkit_dataset_create` and read in
//! place by every later fit and evaluation (see rnnkit_core::dataset).

use std::cell::RefCell;
use std::collections::HashMap;

use rnnkit_core::model::Dataset;
use rnnkit_core::{Error, Result};

#[derive(Default)]
struct Registry {
    next: u32,
    live: HashMap<u32, Dataset>,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// Stores a dataset and returns its handle (never 0).
pub fn insert(data: Dataset) -> Result<u32> {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        let handle = r.next.checked_add(1).ok_or_else(|| Error::value("dataset", "more than 2^32 datasets were created in this module"))?;
        r.next = handle;
        r.live.insert(handle, data);
        Ok(handle)
    })
}

/// Frees a dataset; a handle that is not live (disposed, or never made) is a no-op.
pub fn remove(handle: u32) {
    let freed = REGISTRY.with(|r| r.borrow_mut().live.remove(&handle));
    drop(freed); // outside the borrow
}

/// Runs `f` on a live dataset; `Err(Disposed)` for any other handle.
pub fn with<R>(handle: u32, f: impl FnOnce(&Dataset) -> Result<R>) -> Result<R> {
    REGISTRY.with(|r| match r.borrow().live.get(&handle) {
        Some(d) => f(d),
        None => Err(Error::Disposed { what: format!("Dataset (handle {handle})") }),
    })
}

pub fn live() -> usize {
    REGISTRY.with(|r| r.borrow().live.len())
}
