//! rnnkit-wasm: the C-ABI exports of the WebAssembly module (no wasm-bindgen: it cannot be fetched).
//! Every export is one short fn: a handle and (pointer, length) pairs in (a batch as one `RawBatch`
//! descriptor), an i32 status out (0 ok, else `Error::status()`), the message kept in the
//! last-error buffer. Results stay in the model's result area until JS copies them out. No math lives here; `ts/backend/wasm.ts` is the
//! other half of this file.

// The exports take raw pointers from JS yet are safe fns: `memory` checks every (pointer, length)
// against the registry of live `rnnkit_alloc` blocks before touching it, so no argument from JS can
// cause undefined behaviour. That is the design, not an oversight.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod datasets;
pub mod handles;
pub mod memory;
pub mod status;
#[cfg(target_feature = "atomics")]
pub mod threads;

use handles::{slot, Entry, Results};
use rnnkit_core::json::Json;
use rnnkit_core::model::{Batch, BatchRange, Dataset, EpochOptions, EpochTotals, EvalRange, ForwardOptions, Inputs, InputsRef, Targets, TargetsRef};
use rnnkit_core::{Error, Model, Result};

// ---- memory and errors ---------------------------------------------------------------------------

/// A block of `len_bytes` aligned to `align` (power of two ≤ 64) for one call's inputs; null if the
/// request is invalid or memory cannot grow.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_alloc(len_bytes: usize, align: usize) -> *mut u8 {
    memory::alloc(len_bytes, align)
}

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_free(ptr: *mut u8) -> i32 {
    status::run(|| memory::free(ptr))
}

/// Live `rnnkit_alloc` blocks (tests check the facade frees what it allocates).
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_live_blocks() -> usize {
    memory::live_blocks()
}

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_last_error_ptr() -> *const u8 {
    status::last_error_bytes(false).0
}

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_last_error_len() -> usize {
    status::last_error_bytes(false).1
}

/// The argument the last error is about ("" when none), so JS can set `err.arg`.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_last_error_arg_ptr() -> *const u8 {
    status::last_error_bytes(true).0
}

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_last_error_arg_len() -> usize {
    status::last_error_bytes(true).1
}

/// Index in `Isa::ALL` (0 scalar, 1 simd128) of the kernel tier this module really runs.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_isa() -> i32 {
    let isa = rnnkit_core::kernels::kernels().isa;
    rnnkit_core::kernels::Isa::ALL.iter().position(|&i| i == isa).map_or(-1, |i| i as i32)
}

/// Threads a model with `threads: 0` uses now: 1, plus the workers that have joined the pool in
/// the threaded build.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_threads() -> u32 {
    rnnkit_core::parallel::available_threads() as u32
}

/// Models and datasets created and not yet freed.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_live_handles() -> u32 {
    (handles::live() + datasets::live()) as u32
}

/// Test-only: panics, to prove that a trap becomes ERR_RNNKIT_INTERNAL in JS with this message and
/// that the facade recovers with a fresh instance. `in_part` ≠ 0 (threaded build) panics inside a
/// parallel part that a worker thread picks up, to prove the caller then fails instead of hanging.
/// Never called by the facade itself.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_test_panic(in_part: i32) -> i32 {
    status::run(|| {
        #[cfg(target_feature = "atomics")]
        if in_part != 0 {
            rnnkit_core::parallel::wasm_threads::panic_in_worker();
        }
        let _ = in_part;
        panic!("rnnkit_test_panic: deliberate panic for the trap-recovery test")
    })
}

// ---- model lifecycle and introspection -----------------------------------------------------------

/// Builds a model from spec JSON and writes its handle to `out_handle`.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_create(spec: *const u8, spec_len: usize, out_handle: *mut u32) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the text with rnnkit_alloc and keeps it alive for this call.
        let text = unsafe { memory::str(spec, spec_len, "spec") }?;
        let handle = handles::insert(Model::from_json(text)?)?;
        // SAFETY: the spec slice is no longer used; out_handle is checked inside `write`.
        if let Err(e) = unsafe { memory::write(out_handle, handle, "out_handle") } {
            handles::remove(handle)?; // JS never learns the handle: free it now, not leak it.
            return Err(e);
        }
        Ok(())
    })
}

/// Frees a model; a stale handle is ERR_RNNKIT_DISPOSED (the facade makes double dispose a no-op).
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_free(h: u32) -> i32 {
    status::run(|| handles::remove(h))
}

/// Pointer to one result slot of the last call on `h` (see `handles::slot`); null if stale.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_result_ptr(h: u32, slot: u32) -> *const u8 {
    handles::with(h, |e| Ok(e.result(slot).0)).unwrap_or(std::ptr::null())
}

/// Length of one result slot in elements (bytes for TEXT); 0 if stale.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_result_len(h: u32, slot: u32) -> usize {
    handles::with(h, |e| Ok(e.result(slot).1)).unwrap_or(0)
}

/// Drops the result buffers of `h` once JS has copied them out.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_result_clear(h: u32) -> i32 {
    on_model(h, |e| {
        e.results.clear();
        Ok(())
    })
}

/// Canonical spec JSON → TEXT.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_spec_json(h: u32) -> i32 {
    on_model(h, |e| {
        e.results.text = e.model.spec_json();
        Ok(())
    })
}

/// `[{"name","shape","offset"}, ...]` → TEXT.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_param_info(h: u32) -> i32 {
    on_model(h, |e| {
        e.results.text = param_info_json(&e.model);
        Ok(())
    })
}

/// Checks the handle; JS then reads the parameters in place through the PARAMS slot.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_params(h: u32) -> i32 {
    on_model(h, |_| Ok(()))
}

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_set_params(h: u32, flat: *const f32, flat_len: usize) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the range with rnnkit_alloc and keeps it alive for this call.
        let flat = unsafe { memory::slice(flat, flat_len, "params") }?;
        handles::with(h, |e| e.model.set_params(flat))
    })
}

// ---- inference and gradients ---------------------------------------------------------------------

/// x: `x_dims` = [d0, d1, d2] as documented in `Model` (i32 token ids when `x_tokens` is 1, d2 = 1).
/// states: every state of `state_info(batch)` concatenated in order, or null (zeros); lengths:
/// null when absent. Results: OUTPUT, OUTPUT_DIMS, STATES (concatenated likewise; empty when
/// `skip_states` is 1: the caller does not read them, e.g. a prediction).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rnnkit_model_forward(
    h: u32,
    x: *const f32, x_len: usize, d0: u32, d1: u32, d2: u32,
    states: *const f32, states_len: usize,
    lengths: *const i32, lengths_len: usize,
    training: i32, x_tokens: i32, skip_states: i32,
) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated every range with rnnkit_alloc and keeps them alive for this call.
        let (x, states, lengths) = unsafe {
            (memory::slice(x, x_len, "x")?, memory::opt_slice(states, states_len, "states")?, memory::opt_slice(lengths, lengths_len, "lengths")?)
        };
        let x_dims = dims(d0, d1, d2);
        let training = flag(training, "training")?;
        let tokens = flag(x_tokens, "xTokens")?;
        let skip_states = flag(skip_states, "skipStates")?;
        handles::with(h, |e| {
            let b = if e.model.spec().batch_first { x_dims[0] } else { x_dims[1] };
            let given = states.map(|s| e.model.split_states("states", s, b)).transpose()?.unwrap_or_default();
            let opts = ForwardOptions { states: &given, lengths, training, skip_states };
            let r = if tokens {
                // SAFETY: i32 and f32 have the same size and alignment; the range was checked above.
                let ids = unsafe { std::slice::from_raw_parts(x.as_ptr() as *const i32, x.len()) };
                e.model.forward_tokens(ids, x_dims, &opts)?
            } else {
                e.model.forward(x, x_dims, &opts)?
            };
            e.results.output_dims = r.output_dims.iter().map(|&d| d as u32).collect();
            e.results.set(slot::OUTPUT, r.output);
            e.results.set(slot::STATES, r.states.concat());
            Ok(())
        })
    })
}

/// Gradients through the last training forward. d_states: the final states' gradients
/// concatenated as in `rnnkit_model_forward`, or null (zeros). Results: DX, D_STATES, GRADS.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_backward(h: u32, d_output: *const f32, d_output_len: usize, d_states: *const f32, d_states_len: usize) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated every range with rnnkit_alloc and keeps them alive for this call.
        let (d_output, d_states) = unsafe { (memory::slice(d_output, d_output_len, "dOutput")?, memory::opt_slice(d_states, d_states_len, "dStates")?) };
        handles::with(h, |e| {
            let b = e.model.last_batch().unwrap_or(0);
            let given = d_states.map(|s| e.model.split_states("dStates", s, b)).transpose()?.unwrap_or_default();
            let r = e.model.backward(d_output, &given)?;
            e.results.set(slot::DX, r.dx);
            e.results.set(slot::D_STATES, r.d_states.concat());
            e.results.set(slot::GRADS, r.grads);
            Ok(())
        })
    })
}

/// The model's layers as JSON (`Model::layers_json`) → TEXT.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_layers_json(h: u32) -> i32 {
    on_model(h, |e| {
        e.results.text = e.model.layers_json();
        Ok(())
    })
}

/// The states for a batch of `batch` as JSON (`Model::state_info_json`) → TEXT.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_state_info_json(h: u32, batch: u32) -> i32 {
    on_model(h, |e| {
        e.results.text = e.model.state_info_json(batch as usize);
        Ok(())
    })
}

/// Streaming inference of one step x_t [batch, input] (or one i32 token id per sequence when `x_tokens` is 1) → STEP.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_step(h: u32, x_t: *const f32, x_t_len: usize, batch: u32, x_tokens: i32) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the range with rnnkit_alloc and keeps it alive for this call.
        let x_t = unsafe { memory::slice(x_t, x_t_len, "xT") }?;
        let tokens = flag(x_tokens, "xTokens")?;
        handles::with(h, |e| {
            let y = if tokens {
                // SAFETY: i32 and f32 have the same size and alignment; the range was checked above.
                let ids = unsafe { std::slice::from_raw_parts(x_t.as_ptr() as *const i32, x_t.len()) };
                e.model.step_tokens(ids, batch as usize)?
            } else {
                e.model.step(x_t, batch as usize)?
            };
            e.results.set(slot::STEP, y);
            Ok(())
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_reset_state(h: u32) -> i32 {
    on_model(h, |e| {
        e.model.reset_state();
        Ok(())
    })
}

// ---- training ------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_compile(h: u32, train: *const u8, train_len: usize) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the text with rnnkit_alloc and keeps it alive for this call.
        let text = unsafe { memory::str(train, train_len, "train") }?;
        handles::with(h, |e| e.model.compile(text))
    })
}

/// One training step on a batch → LOSS.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_train_step(h: u32, batch: *const RawBatch) -> i32 {
    with_batch(h, batch, |e, b| store_loss(&mut e.results, e.model.train_step(b)))
}

/// Loss on a batch without updating → LOSS.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_evaluate(h: u32, batch: *const RawBatch) -> i32 {
    with_batch(h, batch, |e, b| store_loss(&mut e.results, e.model.evaluate(b)))
}

/// Mini-batches `first_batch..` (at most `max_batches`, 0 = through the end) of one epoch,
/// synchronously (wasm has no worker thread here), continuing the running sums of the epoch's
/// earlier batches (`carry_*`; zeros for a whole epoch) → LOSS holding [mean loss, mean gradient
/// norm before clipping] over the epoch so far, and TEXT holding every `EpochStats` field as JSON
/// with exact f64 values (`{"loss", "gradNorm", "batches", "samples", "nextBatch", "epochBatches",
/// "updates", "lossSum", "gradNormSum"}`) so JS can carry the sums into the next chunk bit for bit.
/// `tbptt` 0 means whole sequences.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rnnkit_model_train_epoch(
    h: u32,
    dataset: u32,
    batch_size: u32, shuffle: i32, seed: u32, tbptt: u32,
    first_batch: u32, max_batches: u32,
    carry_updates: f64, carry_loss_sum: f64, carry_grad_norm_sum: f64,
) -> i32 {
    status::run(|| {
        let opts = EpochOptions {
            batch_size: batch_size as usize,
            shuffle: flag(shuffle, "shuffle")?,
            seed: u64::from(seed),
            tbptt: (tbptt > 0).then_some(tbptt as usize),
        };
        if !(carry_updates.is_finite() && carry_updates >= 0.0 && carry_updates.fract() == 0.0 && carry_updates <= 9_007_199_254_740_992.0) {
            return Err(Error::value("carryUpdates", format!("expected a non-negative integer, got {carry_updates}")));
        }
        let range = BatchRange {
            first: first_batch as usize,
            max: (max_batches > 0).then_some(max_batches as usize),
            carry: EpochTotals { updates: carry_updates as usize, loss_sum: carry_loss_sum, grad_norm_sum: carry_grad_norm_sum },
        };
        datasets::with(dataset, |data| handles::with(h, |e| {
            let stats = e.model.train_batches(data, &opts, &range)?;
            e.results.set(slot::LOSS, vec![stats.loss as f32, stats.grad_norm as f32]);
            // f64 `Display` prints the shortest text that parses back to the same value, and every
            // value here is finite (the core rejects non-finite losses, gradients and carries).
            e.results.text = format!(
                r#"{{"loss":{},"gradNorm":{},"batches":{},"samples":{},"nextBatch":{},"epochBatches":{},"updates":{},"lossSum":{},"gradNormSum":{}}}"#,
                stats.loss, stats.grad_norm, stats.batches, stats.samples, stats.next_batch, stats.epoch_batches,
                stats.totals.updates, stats.totals.loss_sum, stats.totals.grad_norm_sum,
            );
            Ok(())
        }))
    })
}

/// The compiled loss over batches `first_batch..` (at most `max_batches`, 0 = through the end) of a
/// dataset, continuing `carry_total` / `carry_weight` → TEXT holding `{"loss", "total", "weight",
/// "nextBatch", "batches"}` with exact f64 values (see `Model::evaluate_batches`).
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_evaluate_dataset(h: u32, dataset: u32, batch_size: u32, first_batch: u32, max_batches: u32, carry_total: f64, carry_weight: f64) -> i32 {
    status::run(|| {
        let range = EvalRange {
            first: first_batch as usize,
            max: (max_batches > 0).then_some(max_batches as usize),
            total: carry_total,
            weight: carry_weight,
        };
        datasets::with(dataset, |data| {
            handles::with(h, |e| {
                let p = e.model.evaluate_batches(data, batch_size as usize, &range)?;
                e.results.text = format!(
                    r#"{{"loss":{},"total":{},"weight":{},"nextBatch":{},"batches":{}}}"#,
                    p.loss(), p.total, p.weight, p.next_batch, p.batches
                );
                Ok(())
            })
        })
    })
}

// ---- datasets ------------------------------------------------------------------------------------

/// Builds a dataset from the batch the descriptor describes (checked once, see
/// rnnkit_core::dataset) and writes its handle to `out`. The x, y, mask and lengths blocks are
/// taken over, not copied (JS must not free them, whatever the outcome): the set then sits in
/// linear memory once, where a copy would need twice its size, and wasm memory never shrinks.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_dataset_create(batch: *const RawBatch, out: *mut u32) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the descriptor and every block in it with rnnkit_alloc, keeps them
        // alive for this call, holds no view of them, and hands the data blocks over (see above).
        let data = unsafe {
            let r = memory::read(batch, "batch")?;
            let x = if flag(r.x_tokens, "xTokens")? {
                Inputs::Tokens(memory::take_vec(r.x as *const i32, r.x_len, "x")?)
            } else {
                Inputs::Float(memory::take_vec(r.x, r.x_len, "x")?)
            };
            let y = if flag(r.y_class, "yClass")? {
                Targets::Class(memory::take_vec(r.y as *const i32, r.y_len, "y")?)
            } else {
                Targets::Float(memory::take_vec(r.y, r.y_len, "y")?)
            };
            let mask = if r.mask.is_null() { None } else { Some(memory::take_vec(r.mask, r.mask_len, "mask")?) };
            let lengths = if r.lengths.is_null() { None } else { Some(memory::take_vec(r.lengths, r.lengths_len, "lengths")?) };
            Dataset::new(x, dims(r.x_dims[0], r.x_dims[1], r.x_dims[2]), y, mask, lengths)?
        };
        let handle = datasets::insert(data)?;
        // SAFETY: `out` is checked inside `write`.
        if let Err(e) = unsafe { memory::write(out, handle, "out") } {
            datasets::remove(handle); // JS never learns the handle: free it now, not leak it.
            return Err(e);
        }
        Ok(())
    })
}

/// Frees a dataset; a second call (or a handle never made) is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_dataset_free(dataset: u32) -> i32 {
    status::run(|| {
        datasets::remove(dataset);
        Ok(())
    })
}

/// Activations for one sequence (batch 1; i32 token ids when `x_tokens` is 1) → OUTPUT (every panel's values, concatenated) and TEXT
/// (`Trace::meta_json`: names, kinds, units and offsets into OUTPUT).
#[unsafe(no_mangle)]
pub extern "C" fn rnnkit_model_trace(h: u32, x: *const f32, x_len: usize, d0: u32, d1: u32, d2: u32, x_tokens: i32) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the range with rnnkit_alloc and keeps it alive for this call.
        let x = unsafe { memory::slice(x, x_len, "x") }?;
        let tokens = flag(x_tokens, "xTokens")?;
        handles::with(h, |e| {
            let t = if tokens {
                // SAFETY: i32 and f32 have the same size and alignment; the range was checked above.
                let ids = unsafe { std::slice::from_raw_parts(x.as_ptr() as *const i32, x.len()) };
                e.model.trace_tokens(ids, dims(d0, d1, d2))?
            } else {
                e.model.trace(x, dims(d0, d1, d2))?
            };
            e.results.text = t.meta_json();
            e.results.set(slot::OUTPUT, t.flat_values());
            Ok(())
        })
    })
}

// ---- helpers -------------------------------------------------------------------------------------

fn dims(d0: u32, d1: u32, d2: u32) -> [usize; 3] {
    [d0 as usize, d1 as usize, d2 as usize]
}

/// Booleans cross as i32 0/1; anything else is a type error naming the argument.
fn flag(v: i32, arg: &str) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::type_(arg, "a boolean (0 or 1)", v.to_string())),
    }
}

fn store_loss(results: &mut Results, loss: Result<f32>) -> Result<()> {
    results.set(slot::LOSS, vec![loss?]);
    Ok(())
}

/// A batch as JS passes it: one `rnnkit_alloc`ed descriptor instead of twelve arguments per export.
/// On wasm32 every field is 4 bytes (52 bytes, no padding); `ts/backend/wasm.ts` `writeBatch` fills
/// it in this order. `y` holds f32 targets, or i32 class indices when `y_class` is 1; `mask` and
/// `lengths` are null when absent.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RawBatch {
    pub x: *const f32,
    pub x_len: usize,
    pub x_dims: [u32; 3],
    pub y: *const f32,
    pub y_len: usize,
    pub y_class: i32,
    pub mask: *const f32,
    pub mask_len: usize,
    pub lengths: *const i32,
    pub lengths_len: usize,
    /// 1: `x` holds i32 token ids (x_dims [.., .., 1]); 0: f32 features.
    pub x_tokens: i32,
}

/// The batch view the descriptor at `raw` describes, each range checked like any other argument.
///
/// # Safety
/// As for `memory::slice`: the descriptor and its ranges stay allocated and unaliased for the
/// export call.
unsafe fn read_batch<'a>(raw: *const RawBatch) -> Result<Batch<'a>> {
    // SAFETY: forwarded contract; f32 and i32 have the same size and alignment.
    unsafe {
        let r = memory::read(raw, "batch")?;
        Ok(Batch {
            x: if flag(r.x_tokens, "xTokens")? {
                InputsRef::Tokens(memory::slice(r.x as *const i32, r.x_len, "x")?)
            } else {
                InputsRef::Float(memory::slice(r.x, r.x_len, "x")?)
            },
            x_dims: dims(r.x_dims[0], r.x_dims[1], r.x_dims[2]),
            y: if flag(r.y_class, "yClass")? {
                TargetsRef::Class(memory::slice(r.y as *const i32, r.y_len, "y")?)
            } else {
                TargetsRef::Float(memory::slice(r.y, r.y_len, "y")?)
            },
            mask: memory::opt_slice(r.mask, r.mask_len, "mask")?,
            lengths: memory::opt_slice(r.lengths, r.lengths_len, "lengths")?,
        })
    }
}

/// The body of every export that takes no input but the handle: run `f` on model `h`.
fn on_model(h: u32, f: impl FnOnce(&mut Entry) -> Result<()>) -> i32 {
    status::run(|| handles::with(h, f))
}

/// The body of every export that takes one batch: decode it, then run `f` on model `h`.
fn with_batch(h: u32, raw: *const RawBatch, f: impl FnOnce(&mut Entry, &Batch<'_>) -> Result<()>) -> i32 {
    status::run(|| {
        // SAFETY: JS allocated the descriptor and every range in it with rnnkit_alloc and keeps
        // them alive for this call.
        let b = unsafe { read_batch(raw) }?;
        handles::with(h, |e| f(e, &b))
    })
}

/// `[{"name": "weight_ih_l0", "shape": [12, 4], "offset": 0}, ...]`
fn param_info_json(model: &Model) -> String {
    let items = model
        .param_info()
        .iter()
        .map(|p| {
            Json::Obj(vec![
                ("name".into(), Json::Str(p.name.clone())),
                ("shape".into(), Json::Arr(p.shape.iter().map(|&d| Json::Num(d as f64)).collect())),
                ("offset".into(), Json::Num(p.offset as f64)),
            ])
        })
        .collect();
    Json::Arr(items).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_in(s: &str) -> (*mut u8, usize) {
        let p = rnnkit_alloc(s.len(), 1);
        // SAFETY: the block holds s.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len()) };
        (p, s.len())
    }

    fn last() -> (String, String) {
        status::last_error()
    }

    #[test]
    fn create_free_and_errors_through_the_exports() {
        let (spec, spec_len) = text_in(r#"{"blocks":[{"cell":"lstm","input_size":3,"hidden_size":4}]}"#);
        let out = rnnkit_alloc(4, 4) as *mut u32;
        assert_eq!(rnnkit_model_create(spec, spec_len, out), 0, "{:?}", last());
        // SAFETY: `out` is a live 4-byte block the export just wrote.
        let h = unsafe { out.read() };
        assert_eq!(rnnkit_live_handles(), 1);
        assert_eq!(rnnkit_model_spec_json(h), 0);
        let text_len = rnnkit_result_len(h, slot::TEXT);
        assert!(text_len > 0);
        assert_eq!(rnnkit_model_free(h), 0);
        assert_eq!(rnnkit_model_free(h), 4, "second free: disposed");
        assert!(last().0.contains("disposed"));
        assert_eq!(rnnkit_result_len(h, slot::TEXT), 0);
        assert_eq!(rnnkit_live_handles(), 0);

        // Bad spec: status and arg come from the core.
        let (bad, bad_len) = text_in(r#"{"blocks":[{"cell":"lstm","input_size":0,"hidden_size":4}]}"#);
        let status = rnnkit_model_create(bad, bad_len, out);
        assert!(status == 2 || status == 3, "status {status}");
        assert!(last().1.starts_with("spec"), "arg {:?}", last());

        // An out-parameter outside our blocks is refused and the model is not leaked.
        assert_eq!(rnnkit_model_create(spec, spec_len, 8 as *mut u32), 3);
        assert_eq!(last().1, "out_handle");
        assert_eq!(rnnkit_live_handles(), 0);

        for p in [spec, bad, out as *mut u8] {
            assert_eq!(rnnkit_free(p), 0);
        }
        assert_eq!(rnnkit_free(spec), 3, "double free is refused");
    }

    #[test]
    fn bad_pointers_are_value_errors_naming_the_argument() {
        let (spec, spec_len) = text_in(r#"{"blocks":[{"cell":"gru","input_size":2,"hidden_size":3}]}"#);
        let out = rnnkit_alloc(4, 4) as *mut u32;
        assert_eq!(rnnkit_model_create(spec, spec_len, out), 0);
        // SAFETY: `out` was just written by the export.
        let h = unsafe { out.read() };
        let x = rnnkit_alloc(8, 4) as *const f32;
        let status = rnnkit_model_forward(h, x, 3, 1, 1, 3, std::ptr::null(), 0, std::ptr::null(), 0, 0, 0, 0);
        assert_eq!((status, last().1.as_str()), (3, "x"), "x_len past its block");
        let status = rnnkit_model_forward(h, x, 2, 1, 1, 2, std::ptr::null(), 0, std::ptr::null(), 0, 7, 0, 0);
        assert_eq!((status, last().1.as_str()), (1, "training"));
        assert_eq!(rnnkit_model_free(h), 0);
        for p in [spec, out as *mut u8, x as *mut u8] {
            assert_eq!(rnnkit_free(p), 0);
        }
    }

    /// A `RawBatch` in a block of its own, over ranges allocated with `rnnkit_alloc`.
    fn raw_batch(x: &[f32], x_dims: [u32; 3], y: &[f32], y_class: i32) -> (*mut RawBatch, Vec<*mut u8>) {
        let copy = |v: &[f32]| {
            let p = rnnkit_alloc(v.len() * 4, 4) as *mut f32;
            // SAFETY: the block holds v.len() f32s.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, v.len()) };
            p
        };
        let (xp, yp) = (copy(x), copy(y));
        let raw = RawBatch {
            x: xp, x_len: x.len(), x_dims,
            y: yp, y_len: y.len(), y_class,
            mask: std::ptr::null(), mask_len: 0,
            lengths: std::ptr::null(), lengths_len: 0,
            x_tokens: 0,
        };
        let rp = rnnkit_alloc(std::mem::size_of::<RawBatch>(), std::mem::align_of::<RawBatch>()) as *mut RawBatch;
        // SAFETY: the block holds one RawBatch.
        unsafe { rp.write(raw) };
        (rp, vec![xp as *mut u8, yp as *mut u8, rp as *mut u8])
    }

    #[test]
    fn batch_exports_read_the_descriptor_and_name_bad_fields() {
        let (spec, spec_len) = text_in(r#"{"batch_first":true,"blocks":[{"cell":"rnn_tanh","input_size":1,"hidden_size":2}],"head":{"units":1}}"#);
        let out = rnnkit_alloc(4, 4) as *mut u32;
        assert_eq!(rnnkit_model_create(spec, spec_len, out), 0, "{:?}", last());
        // SAFETY: `out` was just written by the export.
        let h = unsafe { out.read() };
        let (train, train_len) = text_in(r#"{"loss":"mse","optimizer":{"type":"sgd","lr":0.1}}"#);
        assert_eq!(rnnkit_model_compile(h, train, train_len), 0, "{:?}", last());

        let (good, good_blocks) = raw_batch(&[0.5, -0.5, 1.0, 0.25], [2, 2, 1], &[1.0, -1.0, 0.5, 0.0], 0);
        assert_eq!(rnnkit_model_evaluate(h, good), 0, "{:?}", last());
        let before = rnnkit_result_len(h, slot::LOSS);
        assert_eq!(before, 1, "evaluate stores one loss");
        assert_eq!(rnnkit_model_train_step(h, good), 0, "{:?}", last());
        let ds_out = rnnkit_alloc(4, 4) as *mut u32;
        let (for_dataset, dataset_blocks) = raw_batch(&[0.5, -0.5, 1.0, 0.25], [2, 2, 1], &[1.0, -1.0, 0.5, 0.0], 0);
        let blocks_before = rnnkit_live_blocks();
        assert_eq!(rnnkit_dataset_create(for_dataset, ds_out), 0, "{:?}", last());
        assert_eq!(rnnkit_live_blocks(), blocks_before - 2, "x and y were taken over, not copied");
        assert_eq!(rnnkit_free(dataset_blocks[2]), 0, "the descriptor stays the caller's");
        // SAFETY: `ds_out` was just written by the export.
        let ds = unsafe { ds_out.read() };
        assert_eq!(rnnkit_live_handles(), 2, "a dataset counts as a live handle");
        assert_eq!(rnnkit_model_train_epoch(h, ds, 1, 0, 7, 0, 0, 0, 0.0, 0.0, 0.0), 0, "{:?}", last());
        assert_eq!(rnnkit_result_len(h, slot::LOSS), 2, "train_epoch stores [loss, gradNorm]");
        assert_eq!(rnnkit_model_evaluate_dataset(h, ds, 1, 0, 0, 0.0, 0.0), 0, "{:?}", last());
        assert_eq!(rnnkit_dataset_free(ds), 0);
        assert_eq!(rnnkit_dataset_free(ds), 0, "a second free is a no-op");
        assert_eq!((rnnkit_model_train_epoch(h, ds, 1, 0, 7, 0, 0, 0, 0.0, 0.0, 0.0), last().1.as_str()), (4, ""), "a freed dataset is disposed");
        assert_eq!(rnnkit_live_handles(), 1);
        assert_eq!(rnnkit_free(ds_out as *mut u8), 0);

        let (bad_class, bad_blocks) = raw_batch(&[0.5, -0.5, 1.0, 0.25], [2, 2, 1], &[1.0, -1.0], 2);
        assert_eq!((rnnkit_model_train_step(h, bad_class), last().1.as_str()), (1, "yClass"));
        assert_eq!((rnnkit_model_evaluate(h, std::ptr::null()), last().1.as_str()), (3, "batch"));
        assert_eq!((rnnkit_model_evaluate(h, std::ptr::dangling::<RawBatch>()), last().1.as_str()), (3, "batch"));

        assert_eq!(rnnkit_model_free(h), 0);
        for p in good_blocks.into_iter().chain(bad_blocks).chain([spec, train, out as *mut u8]) {
            assert_eq!(rnnkit_free(p), 0);
        }
    }

    #[test]
    fn param_info_is_json_with_names_shapes_offsets() {
        let model = Model::from_json(r#"{"blocks":[{"cell":"gru","input_size":2,"hidden_size":3}]}"#).unwrap();
        let parsed = Json::parse(&param_info_json(&model)).unwrap();
        assert_eq!(parsed.as_arr().unwrap().len(), model.param_info().len());
    }
}
