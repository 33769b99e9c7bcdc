//! rnnkit's Node addon: a hand-written Node-API binding (napi-rs cannot be fetched here) that
//! parses arguments, calls `rnnkit-core`, and converts results and errors. No math lives here.
//!
//! Exports (see exports.rs for each signature):
//! `isa()`, `threads()`, `liveHandles()`, `peakGflops(threads, millis?)`, `datasetNew(x, xDims, y, mask?, lengths?)`,
//! `datasetDispose(ds)`, `datasetDisposed(ds)`, `class Model { constructor(specJson); dispose(); get disposed;
//! specJson(); paramInfo(); getParams(); setParams(); forward(); backward(); compile();
//! trainStep(); trainEpoch(dataset, ...) → Promise; evaluate(); evaluateDataset(); step(); resetState(); trace() }`, plus hidden
//! test-only `__panicForTests()` and `__asyncForTests(ms, panic)`. `ts/backend/native.ts` adapts
//! these to the `Backend` interface.

#![deny(unsafe_op_in_unsafe_fn)]

mod async_work;
mod dataset_wrap;
mod env;
mod error;
mod exports;
mod sys;
mod trampoline;
mod wrap;

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::env::Env;
use crate::error::{throw, NResult};
use crate::sys::*;

export!(js_isa => exports::isa);
export!(js_threads => exports::threads);
export!(js_live_handles => exports::live_handles_fn);
export!(js_peak_gflops => exports::peak_gflops);
export!(js_panic_for_tests => exports::panic_for_tests);
export!(js_dataset_bytes_built => exports::dataset_bytes_built);
export!(js_async_for_tests => exports::async_for_tests);
export!(js_model_new => exports::model_new);
export!(js_dispose => exports::dispose);
export!(js_disposed => exports::is_disposed);
export!(js_spec_json => exports::spec_json);
export!(js_param_info => exports::param_info);
export!(js_get_params => exports::get_params);
export!(js_set_params => exports::set_params);
export!(js_forward => exports::forward);
export!(js_backward => exports::backward);
export!(js_compile => exports::compile);
export!(js_train_step => exports::train_step);
export!(js_train_epoch => exports::train_epoch);
export!(js_evaluate => exports::evaluate);
export!(js_evaluate_dataset => exports::evaluate_dataset);
export!(js_dataset_new => exports::dataset_new);
export!(js_dataset_dispose => exports::dataset_dispose);
export!(js_dataset_disposed => exports::dataset_disposed);
export!(js_step => exports::step);
export!(js_trace => exports::trace);
export!(js_layers_json => exports::layers_json);
export!(js_state_info_json => exports::state_info_json);
export!(js_reset_state => exports::reset_state);

type Shim = unsafe extern "C" fn(napi_env, napi_callback_info) -> napi_value;

/// Module-level functions.
const FUNCTIONS: &[(&CStr, Shim)] = &[
    (c"isa", js_isa),
    (c"threads", js_threads),
    (c"liveHandles", js_live_handles),
    (c"peakGflops", js_peak_gflops),
    (c"__panicForTests", js_panic_for_tests),
    (c"__asyncForTests", js_async_for_tests),
    (c"__datasetBytesBuilt", js_dataset_bytes_built),
    (c"datasetNew", js_dataset_new),
    (c"datasetDispose", js_dataset_dispose),
    (c"datasetDisposed", js_dataset_disposed),
];

/// Methods of `Model.prototype`.
const METHODS: &[(&CStr, Shim)] = &[
    (c"dispose", js_dispose),
    (c"specJson", js_spec_json),
    (c"paramInfo", js_param_info),
    (c"getParams", js_get_params),
    (c"setParams", js_set_params),
    (c"forward", js_forward),
    (c"backward", js_backward),
    (c"compile", js_compile),
    (c"trainStep", js_train_step),
    (c"trainEpoch", js_train_epoch),
    (c"evaluate", js_evaluate),
    (c"evaluateDataset", js_evaluate_dataset),
    (c"step", js_step),
    (c"trace", js_trace),
    (c"layersJson", js_layers_json),
    (c"stateInfoJson", js_state_info_json),
    (c"resetState", js_reset_state),
];

fn method(name: &'static CStr, shim: Shim) -> napi_property_descriptor {
    napi_property_descriptor {
        utf8name: name.as_ptr(),
        name: ptr::null_mut(),
        method: Some(shim),
        getter: None,
        setter: None,
        value: ptr::null_mut(),
        attributes: NAPI_DEFAULT_METHOD,
        data: ptr::null_mut(),
    }
}

fn register(env: Env, exports: napi_value) -> NResult<napi_value> {
    let e = env.0;
    let mut props: Vec<napi_property_descriptor> = METHODS.iter().map(|&(n, f)| method(n, f)).collect();
    props.push(napi_property_descriptor {
        getter: Some(js_disposed),
        method: None,
        attributes: NAPI_CONFIGURABLE,
        ..method(c"disposed", js_disposed)
    });
    let mut class = ptr::null_mut();
    // SAFETY: env/exports come from Node's registration call; `props` outlives the call and its
    // names are static C strings; the shims are valid napi_callbacks.
    unsafe {
        check!(
            e,
            napi_define_class(
                e,
                c"Model".as_ptr(),
                NAPI_AUTO_LENGTH,
                Some(js_model_new),
                ptr::null_mut(),
                props.len(),
                props.as_ptr(),
                &mut class
            )
        )?;
    }
    // Module exports read like a plain CommonJS module's: enumerable, read-only.
    let mut module_props: Vec<napi_property_descriptor> = FUNCTIONS
        .iter()
        .map(|&(n, f)| napi_property_descriptor { attributes: NAPI_ENUMERABLE, ..method(n, f) })
        .collect();
    module_props.push(napi_property_descriptor {
        method: None,
        value: class,
        attributes: NAPI_ENUMERABLE,
        ..method(c"Model", js_model_new)
    });
    // SAFETY: as above; `exports` is the module's exports object.
    unsafe { check!(e, napi_define_properties(e, exports, module_props.len(), module_props.as_ptr()))? };
    Ok(exports)
}

/// Node's entry point for N-API addons (what `NAPI_MODULE_INIT` expands to).
///
/// # Safety
/// Called by Node with a live env and the module's exports object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    match catch_unwind(AssertUnwindSafe(|| register(Env(env), exports))) {
        Ok(Ok(v)) => v,
        Ok(Err(fail)) => {
            // SAFETY: still inside Node's registration callback on the JS thread.
            unsafe { throw(env, fail) };
            ptr::null_mut()
        }
        Err(payload) => {
            let message = trampoline::panic_message(payload.as_ref());
            // SAFETY: as above.
            unsafe { throw(env, rnnkit_core::Error::Internal { message }.into()) };
            ptr::null_mut()
        }
    }
}
