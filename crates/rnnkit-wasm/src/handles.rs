//! The slab of live models, addressed by u32 handles `generation << 16 | index`. Freeing a slot
//! bumps its generation, so a stale or disposed handle is `Err(Disposed)`, never another model;
//! a slot whose generation would wrap is retired instead of reused, so handles never alias.
//! Each model carries a result area that JS reads through `rnnkit_result_ptr/len` after a call.

use std::cell::RefCell;

use rnnkit_core::{Error, Model, Result};

/// Result slots of one model. f32 slots hold `Vec<f32>`, `OUTPUT_DIMS` u32s, `TEXT` UTF-8 bytes;
/// `PARAMS` is the model's own parameter buffer (no copy). Mirrored in `ts/backend/wasm.ts`.
pub mod slot {
    pub const OUTPUT: u32 = 0;
    /// Every state of `state_info(batch)`, concatenated in order.
    pub const STATES: u32 = 1;
    pub const DX: u32 = 3;
    /// The initial states' gradients, concatenated likewise.
    pub const D_STATES: u32 = 4;
    pub const GRADS: u32 = 6;
    pub const STEP: u32 = 7;
    /// The loss of train_step / evaluate (one f32); train_epoch: [loss, gradient norm].
    pub const LOSS: u32 = 8;
    /// Number of f32 slots above (they index `Results::f32`).
    pub const F32_SLOTS: usize = 9;
    pub const OUTPUT_DIMS: u32 = 16;
    pub const TEXT: u32 = 17;
    pub const PARAMS: u32 = 18;
}

/// Outputs of the last call on a model, kept until JS has copied them out.
#[derive(Default)]
pub struct Results {
    pub f32: [Vec<f32>; slot::F32_SLOTS],
    pub output_dims: Vec<u32>,
    pub text: String,
}

impl Results {
    pub fn set(&mut self, slot: u32, values: Vec<f32>) {
        self.f32[slot as usize] = values;
    }
    /// Drops every buffer (JS calls this once it has copied the results out).
    pub fn clear(&mut self) {
        *self = Results::default();
    }
}

pub struct Entry {
    pub model: Model,
    pub results: Results,
}

impl Entry {
    /// (pointer, length in elements; bytes for TEXT) of one result slot; (null, 0) if unknown.
    pub fn result(&self, slot: u32) -> (*const u8, usize) {
        match slot {
            s if (s as usize) < slot::F32_SLOTS => {
                let v = &self.results.f32[s as usize];
                (v.as_ptr() as *const u8, v.len())
            }
            slot::OUTPUT_DIMS => (self.results.output_dims.as_ptr() as *const u8, self.results.output_dims.len()),
            slot::TEXT => (self.results.text.as_ptr(), self.results.text.len()),
            slot::PARAMS => {
                let p = self.model.params();
                (p.as_ptr() as *const u8, p.len())
            }
            _ => (std::ptr::null(), 0),
        }
    }
}

const INDEX_BITS: u32 = 16;
const MAX_SLOTS: usize = 1 << INDEX_BITS;

struct Slot {
    /// Generation of the handle that owns the slot now (or will, when free); 0 = retired.
    generation: u16,
    entry: Option<Box<Entry>>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

thread_local! {
    static SLAB: RefCell<Slab> = RefCell::new(Slab::default());
}

fn split(handle: u32) -> (usize, u16) {
    ((handle & (MAX_SLOTS as u32 - 1)) as usize, (handle >> INDEX_BITS) as u16)
}

fn disposed(handle: u32) -> Error {
    Error::Disposed { what: format!("model (wasm handle {handle:#x})") }
}

/// Stores a model and returns its handle (never 0: generations start at 1).
pub fn insert(model: Model) -> Result<u32> {
    SLAB.with(|slab| {
        let mut slab = slab.borrow_mut();
        let index = match slab.free.pop() {
            Some(i) => i,
            None if slab.slots.len() < MAX_SLOTS => {
                slab.slots.push(Slot { generation: 1, entry: None });
                slab.slots.len() - 1
            }
            None => {
                return Err(Error::Unsupported { feature: format!("more than {} live models in one wasm instance", MAX_SLOTS) })
            }
        };
        let slot = &mut slab.slots[index];
        slot.entry = Some(Box::new(Entry { model, results: Results::default() }));
        let handle = (u32::from(slot.generation) << INDEX_BITS) | index as u32;
        slab.live += 1;
        Ok(handle)
    })
}

/// Frees a model. A stale handle is `Err(Disposed)`; the facade makes a second dispose() a no-op.
pub fn remove(handle: u32) -> Result<()> {
    // Take the entry out first, so the model is dropped after the slab borrow ends.
    let entry = SLAB.with(|slab| {
        let mut slab = slab.borrow_mut();
        let (index, generation) = split(handle);
        let slot = slab.slots.get_mut(index).filter(|s| s.generation == generation && generation != 0);
        let entry = slot.and_then(|s| {
            let e = s.entry.take()?;
            s.generation = s.generation.wrapping_add(1);
            Some(e)
        });
        if entry.is_some() {
            slab.live -= 1;
            if slab.slots[index].generation != 0 {
                slab.free.push(index);
            } // else: generation wrapped; the slot stays retired so old handles can never alias.
        }
        entry
    });
    entry.map(drop).ok_or_else(|| disposed(handle))
}

/// Runs `f` on a live model; `Err(Disposed)` for a stale handle.
pub fn with<R>(handle: u32, f: impl FnOnce(&mut Entry) -> Result<R>) -> Result<R> {
    SLAB.with(|slab| {
        let mut slab = slab.borrow_mut();
        let (index, generation) = split(handle);
        match slab.slots.get_mut(index) {
            Some(Slot { generation: g, entry: Some(entry) }) if *g == generation && generation != 0 => f(entry),
            _ => Err(disposed(handle)),
        }
    })
}

pub fn live() -> usize {
    SLAB.with(|slab| slab.borrow().live)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{"blocks":[{"cell":"gru","input_size":2,"hidden_size":3}]}"#;

    #[test]
    fn stale_handles_are_disposed_errors() {
        let a = insert(Model::from_json(SPEC).unwrap()).unwrap();
        assert_ne!(a, 0);
        assert_eq!(live(), 1);
        assert!(with(a, |_| Ok(())).is_ok());
        remove(a).unwrap();
        assert_eq!(live(), 0);
        assert_eq!(with(a, |_| Ok(())).unwrap_err().code(), "ERR_RNNKIT_DISPOSED");
        assert_eq!(remove(a).unwrap_err().code(), "ERR_RNNKIT_DISPOSED");
        // The slot is reused with a new generation: the old handle still misses.
        let b = insert(Model::from_json(SPEC).unwrap()).unwrap();
        assert_ne!(a, b);
        assert_eq!(split(a).0, split(b).0);
        assert!(with(a, |_| Ok(())).is_err());
        assert!(with(b, |_| Ok(())).is_ok());
        assert!(with(0, |_| Ok(())).is_err());
        assert!(with(u32::MAX, |_| Ok(())).is_err());
        remove(b).unwrap();
    }

    #[test]
    fn a_wrapped_slot_is_retired_not_reused() {
        let first = insert(Model::from_json(SPEC).unwrap()).unwrap();
        let index = split(first).0;
        remove(first).unwrap();
        // Walk the slot's generation to the end of its range.
        SLAB.with(|s| s.borrow_mut().slots[index].generation = u16::MAX);
        let last = insert(Model::from_json(SPEC).unwrap()).unwrap();
        assert_eq!(split(last), (index, u16::MAX));
        remove(last).unwrap();
        let next = insert(Model::from_json(SPEC).unwrap()).unwrap();
        assert_ne!(split(next).0, index, "retired slot must not be reused");
        assert!(with(last, |_| Ok(())).is_err());
        remove(next).unwrap();
        assert_eq!(live(), 0);
    }
}
