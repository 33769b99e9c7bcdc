//! Raw Node-API declarations: exactly the `napi_*` functions this addon calls, with the types and
//! status codes from Node's `js_native_api_types.h` / `node_api_types.h`, grouped by the N-API
//! version that introduced them (version 1, except the object type tags of N-API 8; Node 20
//! offers 9). Nothing is linked: on Linux these symbols stay undefined in the
//! `.so` and resolve against the `node` process when the addon is loaded.
//!
//! C enums are declared as `i32` aliases plus constants, never as Rust enums, so a value Node adds
//! in a later version can never become an invalid Rust discriminant.

#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_void};

// ---- Opaque handles (js_native_api_types.h) ----
#[repr(C)]
pub struct napi_env__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_value__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_ref__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_callback_info__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_deferred__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_async_work__ {
    _private: [u8; 0],
}

pub type napi_env = *mut napi_env__;
pub type napi_value = *mut napi_value__;
pub type napi_ref = *mut napi_ref__;
pub type napi_callback_info = *mut napi_callback_info__;
pub type napi_deferred = *mut napi_deferred__;
pub type napi_async_work = *mut napi_async_work__;

// ---- napi_status ----
pub type napi_status = i32;
pub const NAPI_OK: napi_status = 0;
pub const NAPI_INVALID_ARG: napi_status = 1;
pub const NAPI_OBJECT_EXPECTED: napi_status = 2;
pub const NAPI_STRING_EXPECTED: napi_status = 3;
pub const NAPI_NAME_EXPECTED: napi_status = 4;
pub const NAPI_FUNCTION_EXPECTED: napi_status = 5;
pub const NAPI_NUMBER_EXPECTED: napi_status = 6;
pub const NAPI_BOOLEAN_EXPECTED: napi_status = 7;
pub const NAPI_ARRAY_EXPECTED: napi_status = 8;
pub const NAPI_GENERIC_FAILURE: napi_status = 9;
pub const NAPI_PENDING_EXCEPTION: napi_status = 10;
pub const NAPI_CANCELLED: napi_status = 11;

// ---- napi_valuetype ----
pub type napi_valuetype = i32;
pub const NAPI_UNDEFINED: napi_valuetype = 0;
pub const NAPI_NULL: napi_valuetype = 1;
pub const NAPI_BOOLEAN: napi_valuetype = 2;
pub const NAPI_NUMBER: napi_valuetype = 3;
pub const NAPI_STRING: napi_valuetype = 4;
pub const NAPI_SYMBOL: napi_valuetype = 5;
pub const NAPI_OBJECT: napi_valuetype = 6;
pub const NAPI_FUNCTION: napi_valuetype = 7;
pub const NAPI_EXTERNAL: napi_valuetype = 8;
pub const NAPI_BIGINT: napi_valuetype = 9;

// ---- napi_typedarray_type ----
pub type napi_typedarray_type = i32;
pub const NAPI_INT8_ARRAY: napi_typedarray_type = 0;
pub const NAPI_UINT8_ARRAY: napi_typedarray_type = 1;
pub const NAPI_UINT8_CLAMPED_ARRAY: napi_typedarray_type = 2;
pub const NAPI_INT16_ARRAY: napi_typedarray_type = 3;
pub const NAPI_UINT16_ARRAY: napi_typedarray_type = 4;
pub const NAPI_INT32_ARRAY: napi_typedarray_type = 5;
pub const NAPI_UINT32_ARRAY: napi_typedarray_type = 6;
pub const NAPI_FLOAT32_ARRAY: napi_typedarray_type = 7;
pub const NAPI_FLOAT64_ARRAY: napi_typedarray_type = 8;
pub const NAPI_BIGINT64_ARRAY: napi_typedarray_type = 9;
pub const NAPI_BIGUINT64_ARRAY: napi_typedarray_type = 10;

// ---- napi_property_attributes ----
pub type napi_property_attributes = i32;
pub const NAPI_DEFAULT: napi_property_attributes = 0;
pub const NAPI_WRITABLE: napi_property_attributes = 1 << 0;
pub const NAPI_ENUMERABLE: napi_property_attributes = 1 << 1;
pub const NAPI_CONFIGURABLE: napi_property_attributes = 1 << 2;
/// `napi_default_method` (N-API 8 names it; the bits are valid everywhere).
pub const NAPI_DEFAULT_METHOD: napi_property_attributes = NAPI_WRITABLE | NAPI_CONFIGURABLE;

/// `NAPI_AUTO_LENGTH`: the string is NUL-terminated.
pub const NAPI_AUTO_LENGTH: usize = usize::MAX;

/// A 128-bit tag stamped on a wrapped object, so an unwrap can tell which Rust type it carries (N-API 8).
#[repr(C)]
pub struct napi_type_tag {
    pub lower: u64,
    pub upper: u64,
}

pub type napi_callback = Option<unsafe extern "C" fn(env: napi_env, info: napi_callback_info) -> napi_value>;
pub type napi_finalize =
    Option<unsafe extern "C" fn(env: napi_env, finalize_data: *mut c_void, finalize_hint: *mut c_void)>;
pub type napi_async_execute_callback = Option<unsafe extern "C" fn(env: napi_env, data: *mut c_void)>;
pub type napi_async_complete_callback =
    Option<unsafe extern "C" fn(env: napi_env, status: napi_status, data: *mut c_void)>;

#[repr(C)]
pub struct napi_property_descriptor {
    pub utf8name: *const c_char,
    pub name: napi_value,
    pub method: napi_callback,
    pub getter: napi_callback,
    pub setter: napi_callback,
    pub value: napi_value,
    pub attributes: napi_property_attributes,
    pub data: *mut c_void,
}

#[repr(C)]
pub struct napi_extended_error_info {
    pub error_message: *const c_char,
    pub engine_reserved: *mut c_void,
    pub engine_error_code: u32,
    pub error_code: napi_status,
}

// ---- N-API 1: js_native_api.h ----
extern "C" {
    pub fn napi_get_last_error_info(env: napi_env, result: *mut *const napi_extended_error_info) -> napi_status;

    pub fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_get_boolean(env: napi_env, value: bool, result: *mut napi_value) -> napi_status;

    pub fn napi_create_object(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_create_array_with_length(env: napi_env, length: usize, result: *mut napi_value) -> napi_status;
    pub fn napi_create_double(env: napi_env, value: f64, result: *mut napi_value) -> napi_status;
    pub fn napi_create_string_utf8(env: napi_env, str: *const c_char, length: usize, result: *mut napi_value)
        -> napi_status;
    pub fn napi_create_error(env: napi_env, code: napi_value, msg: napi_value, result: *mut napi_value) -> napi_status;
    pub fn napi_create_type_error(env: napi_env, code: napi_value, msg: napi_value, result: *mut napi_value)
        -> napi_status;
    pub fn napi_create_range_error(env: napi_env, code: napi_value, msg: napi_value, result: *mut napi_value)
        -> napi_status;

    pub fn napi_typeof(env: napi_env, value: napi_value, result: *mut napi_valuetype) -> napi_status;
    pub fn napi_get_value_double(env: napi_env, value: napi_value, result: *mut f64) -> napi_status;
    pub fn napi_get_value_bool(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    pub fn napi_get_value_string_utf8(
        env: napi_env,
        value: napi_value,
        buf: *mut c_char,
        bufsize: usize,
        result: *mut usize,
    ) -> napi_status;

    pub fn napi_set_named_property(env: napi_env, object: napi_value, utf8name: *const c_char, value: napi_value)
        -> napi_status;
    pub fn napi_set_element(env: napi_env, object: napi_value, index: u32, value: napi_value) -> napi_status;
    pub fn napi_get_element(env: napi_env, object: napi_value, index: u32, result: *mut napi_value) -> napi_status;
    pub fn napi_get_array_length(env: napi_env, value: napi_value, result: *mut u32) -> napi_status;
    pub fn napi_define_properties(
        env: napi_env,
        object: napi_value,
        property_count: usize,
        properties: *const napi_property_descriptor,
    ) -> napi_status;

    pub fn napi_get_cb_info(
        env: napi_env,
        cbinfo: napi_callback_info,
        argc: *mut usize,
        argv: *mut napi_value,
        this_arg: *mut napi_value,
        data: *mut *mut c_void,
    ) -> napi_status;
    pub fn napi_get_new_target(env: napi_env, cbinfo: napi_callback_info, result: *mut napi_value) -> napi_status;
    pub fn napi_define_class(
        env: napi_env,
        utf8name: *const c_char,
        length: usize,
        constructor: napi_callback,
        data: *mut c_void,
        property_count: usize,
        properties: *const napi_property_descriptor,
        result: *mut napi_value,
    ) -> napi_status;

    pub fn napi_wrap(
        env: napi_env,
        js_object: napi_value,
        native_object: *mut c_void,
        finalize_cb: napi_finalize,
        finalize_hint: *mut c_void,
        result: *mut napi_ref,
    ) -> napi_status;
    pub fn napi_unwrap(env: napi_env, js_object: napi_value, result: *mut *mut c_void) -> napi_status;
    pub fn napi_adjust_external_memory(env: napi_env, change_in_bytes: i64, adjusted_value: *mut i64) -> napi_status;
    pub fn napi_type_tag_object(env: napi_env, value: napi_value, type_tag: *const napi_type_tag) -> napi_status;
    pub fn napi_check_object_type_tag(env: napi_env, value: napi_value, type_tag: *const napi_type_tag, result: *mut bool)
        -> napi_status;

    pub fn napi_create_reference(env: napi_env, value: napi_value, initial_refcount: u32, result: *mut napi_ref)
        -> napi_status;
    pub fn napi_delete_reference(env: napi_env, r#ref: napi_ref) -> napi_status;

    pub fn napi_throw(env: napi_env, error: napi_value) -> napi_status;
    pub fn napi_is_exception_pending(env: napi_env, result: *mut bool) -> napi_status;
    pub fn napi_get_and_clear_last_exception(env: napi_env, result: *mut napi_value) -> napi_status;

    pub fn napi_create_arraybuffer(env: napi_env, byte_length: usize, data: *mut *mut c_void, result: *mut napi_value)
        -> napi_status;
    pub fn napi_is_typedarray(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    pub fn napi_create_typedarray(
        env: napi_env,
        r#type: napi_typedarray_type,
        length: usize,
        arraybuffer: napi_value,
        byte_offset: usize,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_get_typedarray_info(
        env: napi_env,
        typedarray: napi_value,
        r#type: *mut napi_typedarray_type,
        length: *mut usize,
        data: *mut *mut c_void,
        arraybuffer: *mut napi_value,
        byte_offset: *mut usize,
    ) -> napi_status;

    pub fn napi_create_promise(env: napi_env, deferred: *mut napi_deferred, promise: *mut napi_value) -> napi_status;
    pub fn napi_resolve_deferred(env: napi_env, deferred: napi_deferred, resolution: napi_value) -> napi_status;
    pub fn napi_reject_deferred(env: napi_env, deferred: napi_deferred, rejection: napi_value) -> napi_status;
}

// ---- N-API 1: node_api.h ----
extern "C" {
    pub fn napi_create_async_work(
        env: napi_env,
        async_resource: napi_value,
        async_resource_name: napi_value,
        execute: napi_async_execute_callback,
        complete: napi_async_complete_callback,
        data: *mut c_void,
        result: *mut napi_async_work,
    ) -> napi_status;
    pub fn napi_delete_async_work(env: napi_env, work: napi_async_work) -> napi_status;
    pub fn napi_queue_async_work(env: napi_env, work: napi_async_work) -> napi_status;
}
