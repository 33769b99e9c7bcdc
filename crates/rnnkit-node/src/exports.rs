//! The exported functions, one short body each: read and type-check arguments, call the core,
//! convert the result. No math lives here.
//!
//! Argument order inside each body: plain values (dims, numbers, booleans, strings) are read
//! first and typed arrays last, because reading an array element can run user JS (getters,
//! proxies) that could detach a buffer we had already borrowed.

use rnnkit_core::model::{Batch, BatchRange, Dataset, EpochOptions, EpochTotals, EvalRange, ForwardOptions, InputsRef};
use rnnkit_core::{Error, Model};

use crate::async_work::spawn;
use crate::dataset_wrap::{borrow_dataset, dispose_dataset, wrap_dataset};
use crate::env::CallInfo;
use crate::error::NResult;
use crate::sys::napi_value;
use crate::wrap::{self, disposed, live_handles};

// ---- module functions ----

/// `isa(): string` — the kernel tier selected for this process; throws when `RNNKIT_ISA` forces a
/// tier this CPU lacks (or names none).
pub fn isa(cx: &CallInfo) -> NResult<napi_value> {
    let kernels = rnnkit_core::kernels::init_kernels()?;
    cx.env.string(kernels.isa.name())
}

/// `threads(): number` — the threads a model with `threads: 0` uses: the cores this process may use.
pub fn threads(cx: &CallInfo) -> NResult<napi_value> {
    cx.env.number_value(rnnkit_core::parallel::available_threads() as f64)
}

/// `liveHandles(): number` — models built and not yet freed (disposed or garbage-collected).
pub fn live_handles_fn(cx: &CallInfo) -> NResult<napi_value> {
    cx.env.number_value(live_handles() as f64)
}

/// `peakGflops(threads: number, millis?: number): number` — measured FMA throughput (GFLOP/s, an
/// FMA counts 2) of `threads` std threads running concurrently for `millis` ms (default 200), on
/// the widest FMA this CPU has. Blocks the calling thread; meant for benchmarks' "% of peak".
pub fn peak_gflops(cx: &CallInfo) -> NResult<napi_value> {
    let threads = cx.integer(0, "threads", 1, 1024)?;
    let millis = if cx.env.is_nullish(cx.arg(1))? { 200 } else { cx.integer(1, "millis", 1, 60_000)? };
    let peak = rnnkit_core::peak::peak_gflops(threads as usize, millis);
    cx.env.number_value(peak.gflops)
}

/// `__datasetBytesBuilt(): number` — hidden; bytes of every dataset built in this process (tests
/// check that a fit copies its data once, not per epoch or chunk).
pub fn dataset_bytes_built(cx: &CallInfo) -> NResult<napi_value> {
    cx.env.number_value(rnnkit_core::dataset::bytes_built() as f64)
}

/// `__panicForTests(): never` — hidden; proves a Rust panic becomes ERR_RNNKIT_INTERNAL.
pub fn panic_for_tests(_cx: &CallInfo) -> NResult<napi_value> {
    panic!("deliberate panic from __panicForTests");
}

/// `__asyncForTests(ms: number, panic: boolean): Promise<number>` — hidden; sleeps `ms` on a
/// worker thread (then panics if asked) to test the async path independently of the model.
pub fn async_for_tests(cx: &CallInfo) -> NResult<napi_value> {
    let ms = cx.integer(0, "ms", 0, 60_000)?;
    let panic = cx.opt_bool(1, "panic", false)?;
    spawn(
        cx.env,
        "rnnkit.asyncForTests",
        None,
        move || {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            if panic {
                panic!("deliberate panic on a worker thread from __asyncForTests");
            }
            Ok(ms)
        },
        |env, r| env.number_value(r? as f64),
    )
}

// ---- class Model ----

/// `new Model(specJson: string)`.
pub fn model_new(cx: &CallInfo) -> NResult<napi_value> {
    if cx.new_target()?.is_null() {
        return Err(Error::type_("Model", "a call with `new`", "a plain call").into());
    }
    let spec = cx.string(0, "spec")?;
    // A bad RNNKIT_ISA makes every model refuse to exist, rather than run on an unasked-for tier.
    rnnkit_core::kernels::init_kernels()?;
    let model = Model::from_json(&spec)?;
    wrap::wrap_new(cx, model)?;
    Ok(cx.this)
}

/// `dispose(): void` — frees now (deferred to the end of a running fit); a second call is a no-op.
pub fn dispose(cx: &CallInfo) -> NResult<napi_value> {
    wrap::unwrap(cx)?.dispose()?;
    cx.env.undefined()
}

/// getter `disposed: boolean`.
pub fn is_disposed(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    cx.env.boolean(handle.is_disposed())
}

/// `specJson(): string`.
pub fn spec_json(cx: &CallInfo) -> NResult<napi_value> {
    let json = wrap::unwrap(cx)?.with(|m| Ok(m.spec_json()))?;
    cx.env.string(&json)
}

/// `paramInfo(): {name, shape, offset}[]`.
pub fn param_info(cx: &CallInfo) -> NResult<napi_value> {
    let env = cx.env;
    wrap::unwrap(cx)?.with(|m| {
        let infos = m.param_info();
        let arr = env.array(infos.len())?;
        for (i, p) in infos.iter().enumerate() {
            let o = env.object_with([
                (c"name", env.string(&p.name)?),
                (c"shape", env.number_array(p.shape.iter().map(|&d| d as f64))?),
                (c"offset", env.number_value(p.offset as f64)?),
            ])?;
            env.set_element(arr, i, o)?;
        }
        Ok(arr)
    })
}

/// `getParams(): Float32Array` — a copy, written straight into a new ArrayBuffer.
pub fn get_params(cx: &CallInfo) -> NResult<napi_value> {
    let env = cx.env;
    wrap::unwrap(cx)?.with(|m| env.f32_array_from(m.params()))
}

/// `setParams(flat: Float32Array): void`.
pub fn set_params(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let flat = cx.f32_array(0, "params")?;
    handle.with(|m| Ok(m.set_params(flat)?))?;
    cx.env.undefined()
}

/// `forward(x, xDims, states?, lengths?, training?, finalStates?): [output, states, ...outputDims]`
/// (`finalStates` false: the caller does not read them, `states` comes back empty) — a flat
/// array, not the `{output, outputDims, states}` of `ModelHandle`: ts/backend/native.ts builds that
/// object in JS, where a literal is nearly free, while named properties plus a dims array cost
/// ~0.8 µs through N-API. `states` (in and out) are every state of `stateInfo(batch)`
/// concatenated in order; ts/backend/native.ts splits and joins them.
///
/// Tuning notes (bench/napi-overhead.ts, old and new addon interleaved in one process, medians,
/// 2 shared cores): T=1 B=1 I=1 H=1 4.41 → 3.31 µs, F2 54.2 → 52.6 µs. Steps: one-call argument
/// reads (no typeof before a value read, no is_typedarray/is_array before info/length, new.target
/// only in the constructor) and static keys ~0.15 µs; the states in one ArrayBuffer (`output`
/// keeps its own: users transfer `tensor.data.buffer`) ~0.2 µs; the flat array ~0.4 µs.
pub fn forward(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let x_dims = cx.dims3(1, "xDims")?;
    let training = cx.opt_bool(4, "training", false)?;
    let x = cx.inputs(0, "x")?;
    let states = cx.opt_f32_array(2, "states")?;
    let lengths = cx.opt_i32_array(3, "lengths")?;
    let final_states = cx.opt_bool(5, "finalStates", true)?;
    let env = cx.env;
    // The model writes the output straight into the Float32Array JS gets back.
    let (output, r) = handle.with(|m| {
        let b = if m.spec().batch_first { x_dims[0] } else { x_dims[1] };
        let given = states.map(|s| m.split_states("states", s, b)).transpose()?.unwrap_or_default();
        let opts = ForwardOptions { states: &given, lengths, training, skip_states: !final_states };
        let tokens = matches!(x, InputsRef::Tokens(_));
        let (output, out_data) = env.new_f32_array(m.output_dims_of(x_dims, tokens)?.iter().product())?;
        let r = match x {
            InputsRef::Float(x) => m.forward_to(x, x_dims, &opts, out_data)?,
            InputsRef::Tokens(ids) => m.forward_tokens_to(ids, x_dims, &opts, out_data)?,
        };
        Ok((output, r))
    })?;
    let states = env.f32_array_from(&r.states.concat())?;
    let arr = env.array(2 + r.output_dims.len())?;
    env.set_element(arr, 0, output)?;
    env.set_element(arr, 1, states)?;
    for (i, &d) in r.output_dims.iter().enumerate() {
        env.set_element(arr, 2 + i, env.number_value(d as f64)?)?;
    }
    Ok(arr)
}

/// `backward(dOutput, dStates?): {dx, dStates, grads}` (states concatenated as in `forward`).
pub fn backward(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let d_output = cx.f32_array(0, "dOutput")?;
    let d_states = cx.opt_f32_array(1, "dStates")?;
    let r = handle.with(|m| {
        let b = m.last_batch().unwrap_or(0);
        let given = d_states.map(|s| m.split_states("dStates", s, b)).transpose()?.unwrap_or_default();
        Ok(m.backward(d_output, &given)?)
    })?;
    let env = cx.env;
    // As in `forward`: `dx` gets its own ArrayBuffer, the rest share one.
    let dx = env.f32_array_from(&r.dx)?;
    let [d_states, grads] = env.f32_arrays_from([&r.d_states.concat(), &r.grads])?;
    env.object_with([(c"dx", dx), (c"dStates", d_states), (c"grads", grads)])
}

/// `layersJson(): string` — `Model::layers_json`.
pub fn layers_json(cx: &CallInfo) -> NResult<napi_value> {
    let json = wrap::unwrap(cx)?.with(|m| Ok(m.layers_json()))?;
    cx.env.string(&json)
}

/// `stateInfoJson(batch): string` — `Model::state_info_json`.
pub fn state_info_json(cx: &CallInfo) -> NResult<napi_value> {
    let batch = cx.integer(0, "batch", 1, u32::MAX as u64)? as usize;
    let json = wrap::unwrap(cx)?.with(|m| Ok(m.state_info_json(batch)))?;
    cx.env.string(&json)
}

/// `compile(trainJson: string): void`.
pub fn compile(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let json = cx.string(0, "train")?;
    handle.with(|m| Ok(m.compile(&json)?))?;
    cx.env.undefined()
}

/// Arguments 0..=4 of trainStep/evaluate/datasetNew: `x, xDims, y, mask?, lengths?`, borrowed.
fn read_batch(cx: &CallInfo) -> NResult<Batch<'_>> {
    let x_dims = cx.dims3(1, "xDims")?;
    Ok(Batch {
        x: cx.inputs(0, "x")?,
        x_dims,
        y: cx.targets(2, "y")?,
        mask: cx.opt_f32_array(3, "mask")?,
        lengths: cx.opt_i32_array(4, "lengths")?,
    })
}

/// `trainStep(x, xDims, y, mask?, lengths?): number` — the batch loss before the update.
pub fn train_step(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let batch = read_batch(cx)?;
    let loss = handle.with(|m| Ok(m.train_step(&batch)?))?;
    cx.env.number_value(loss as f64)
}

/// `evaluate(x, xDims, y, mask?, lengths?): number`.
pub fn evaluate(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let batch = read_batch(cx)?;
    let loss = handle.with(|m| Ok(m.evaluate(&batch)?))?;
    cx.env.number_value(loss as f64)
}

/// `trainEpoch(dataset, batchSize, shuffle, seed, tbptt, firstBatch?, maxBatches?,
/// carryUpdates?, carryLossSum?, carryGradNormSum?): Promise<{loss, gradNorm, batches, samples,
/// nextBatch, epochBatches, updates, lossSum, gradNormSum}>` — mini-batches `firstBatch..` (at most
/// `maxBatches`; all when omitted) of one epoch, continuing the running sums of the earlier ones
/// (`Model::train_batches`); `loss`/`gradNorm` are the means over the epoch so far.
/// The dataset (from `datasetNew`) is shared with the worker, never copied; the model moves to the
/// worker and back (see wrap.rs for busy/dispose rules).
pub fn train_epoch(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let batch_size = cx.integer(1, "batchSize", 1, u32::MAX as u64)? as usize;
    let shuffle = cx.opt_bool(2, "shuffle", false)?;
    let seed = cx.integer(3, "seed", 0, u32::MAX as u64)?;
    let tbptt = cx.integer(4, "tbptt", 0, u32::MAX as u64)? as usize;
    let present = |i: usize| cx.env.is_nullish(cx.arg(i)).map(|nullish| !nullish);
    let first = if present(5)? { cx.integer(5, "firstBatch", 0, u32::MAX as u64)? as usize } else { 0 };
    let max = if present(6)? { Some(cx.integer(6, "maxBatches", 1, u32::MAX as u64)? as usize) } else { None };
    let carry = EpochTotals {
        updates: if present(7)? { cx.integer(7, "carryUpdates", 0, 1 << 53)? as usize } else { 0 },
        loss_sum: if present(8)? { cx.number(8, "carryLossSum")? } else { 0.0 },
        grad_norm_sum: if present(9)? { cx.number(9, "carryGradNormSum")? } else { 0.0 },
    };
    let data = borrow_dataset(cx.env, cx.arg(0), "dataset")?;
    let opts = EpochOptions { batch_size, shuffle, seed, tbptt: (tbptt > 0).then_some(tbptt) };
    let range = BatchRange { first, max, carry };
    let mut model = handle.lend()?;
    spawn(
        cx.env,
        "rnnkit.trainEpoch",
        Some(cx.this),
        move || {
            let stats = model.train_batches(&data.0, &opts, &range);
            Ok((model, stats))
        },
        move |env, result| match result {
            Ok((model, stats)) => {
                if !handle.put_back(Some(model)) {
                    return Err(disposed());
                }
                let stats = stats?;
                let n = |x: f64| env.number_value(x);
                env.object_with([
                    (c"loss", n(stats.loss)?),
                    (c"gradNorm", n(stats.grad_norm)?),
                    (c"batches", n(stats.batches as f64)?),
                    (c"samples", n(stats.samples as f64)?),
                    (c"nextBatch", n(stats.next_batch as f64)?),
                    (c"epochBatches", n(stats.epoch_batches as f64)?),
                    (c"updates", n(stats.totals.updates as f64)?),
                    (c"lossSum", n(stats.totals.loss_sum)?),
                    (c"gradNormSum", n(stats.totals.grad_norm_sum)?),
                ])
            }
            Err(e) => {
                // The model did not come back (a panic dropped it): the handle reads as disposed.
                handle.put_back(None);
                Err(e.into())
            }
        },
    )
}

/// `evaluateDataset(dataset, batchSize, firstBatch?, maxBatches?, carryTotal?, carryWeight?):
/// {loss, total, weight, nextBatch, batches}` — the compiled loss over batches `firstBatch..` (at most
/// `maxBatches`; all when omitted) of the dataset, continuing the sums of earlier calls
/// (`Model::evaluate_batches`); `loss` is the mean over every batch scored so far.
pub fn evaluate_dataset(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let batch_size = cx.integer(1, "batchSize", 1, u32::MAX as u64)? as usize;
    let present = |i: usize| cx.env.is_nullish(cx.arg(i)).map(|nullish| !nullish);
    let range = EvalRange {
        first: if present(2)? { cx.integer(2, "firstBatch", 0, u32::MAX as u64)? as usize } else { 0 },
        max: if present(3)? { Some(cx.integer(3, "maxBatches", 1, u32::MAX as u64)? as usize) } else { None },
        total: if present(4)? { cx.number(4, "carryTotal")? } else { 0.0 },
        weight: if present(5)? { cx.number(5, "carryWeight")? } else { 0.0 },
    };
    let data = borrow_dataset(cx.env, cx.arg(0), "dataset")?;
    let parts = handle.with(|m| Ok(m.evaluate_batches(&data.0, batch_size, &range)?))?;
    let env = cx.env;
    let n = |x: f64| env.number_value(x);
    env.object_with([
        (c"loss", n(parts.loss())?),
        (c"total", n(parts.total)?),
        (c"weight", n(parts.weight)?),
        (c"nextBatch", n(parts.next_batch as f64)?),
        (c"batches", n(parts.batches as f64)?),
    ])
}

// ---- datasets ----

/// `datasetNew(x, xDims, y, mask?, lengths?): object` — copies a training set into the core once
/// (x: Float32Array features or Int32Array token ids with xDims [.., .., 1]) and returns its handle.
pub fn dataset_new(cx: &CallInfo) -> NResult<napi_value> {
    let data = Dataset::copy_of(&read_batch(cx)?)?;
    wrap_dataset(cx.env, data)
}

/// `datasetDispose(dataset): void` — frees now (or when a running fit on it settles); idempotent.
pub fn dataset_dispose(cx: &CallInfo) -> NResult<napi_value> {
    dispose_dataset(cx.env, cx.arg(0))?;
    cx.env.undefined()
}

/// `datasetDisposed(dataset): boolean`.
pub fn dataset_disposed(cx: &CallInfo) -> NResult<napi_value> {
    let d = crate::dataset_wrap::is_disposed(cx.env, cx.arg(0))?;
    cx.env.boolean(d)
}

/// `trace(x, xDims): {meta: string, values: Float32Array}` — every layer's panels for one sequence
/// (batch 1; features or token ids); `meta` is `Trace::meta_json`, offsets index `values`.
pub fn trace(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let x_dims = cx.dims3(1, "xDims")?;
    let x = cx.inputs(0, "x")?;
    let t = handle.with(|m| match x {
        InputsRef::Float(x) => Ok(m.trace(x, x_dims)?),
        InputsRef::Tokens(ids) => Ok(m.trace_tokens(ids, x_dims)?),
    })?;
    let env = cx.env;
    env.object_with([(c"meta", env.string(&t.meta_json())?), (c"values", env.f32_array_from(&t.flat_values())?)])
}

/// `step(xT: Float32Array | Int32Array, batch: number): Float32Array` (one token id per sequence for ids).
pub fn step(cx: &CallInfo) -> NResult<napi_value> {
    let handle = wrap::unwrap(cx)?;
    let batch = cx.integer(1, "batch", 1, u32::MAX as u64)? as usize;
    let x_t = cx.inputs(0, "xT")?;
    let y = handle.with(|m| match x_t {
        InputsRef::Float(x) => Ok(m.step(x, batch)?),
        InputsRef::Tokens(ids) => Ok(m.step_tokens(ids, batch)?),
    })?;
    cx.env.f32_array_from(&y)
}

/// `resetState(): void`.
pub fn reset_state(cx: &CallInfo) -> NResult<napi_value> {
    wrap::unwrap(cx)?.with(|m| {
        m.reset_state();
        Ok(())
    })?;
    cx.env.undefined()
}
