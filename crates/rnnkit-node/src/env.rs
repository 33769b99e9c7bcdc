//! Safe wrappers over the raw N-API calls the exports need: reading arguments (numbers, strings,
//! booleans, dims arrays, zero-copy typed-array views) and building results (numbers, strings,
//! objects, arrays, Float32Arrays written in place). Every status goes through `check!`; every
//! argument check names the argument, what was expected and what was received (a TypeError).
//!
//! Lifetimes: typed-array slices borrow from `CallInfo`, so they cannot outlive the JS call that
//! received them (STYLE §2.3: borrow for the call only, keep no pointer afterwards).

use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr;

use rnnkit_core::Error;

use crate::check;
use crate::error::{napi_fail, NResult};
use crate::sys::*;

/// The env of the current callback. Only valid on the JS thread during that callback.
#[derive(Clone, Copy)]
pub struct Env(pub napi_env);

/// Arguments of one call, read once by the trampoline.
pub struct CallInfo {
    pub env: Env,
    pub this: napi_value,
    pub args: [napi_value; MAX_ARGS],
    info: napi_callback_info,
}

/// No rnnkit export takes more arguments than this; extra ones are ignored like in any JS function.
pub const MAX_ARGS: usize = 16;

impl CallInfo {
    /// # Safety
    /// `env`/`info` must be the ones Node passed to the current callback.
    pub unsafe fn read(env: napi_env, info: napi_callback_info) -> NResult<CallInfo> {
        let mut argc = MAX_ARGS;
        let mut args = [ptr::null_mut(); MAX_ARGS];
        let mut this = ptr::null_mut();
        // SAFETY: env/info come from Node for this callback; `args` has room for `argc` values
        // (Node fills missing ones with undefined; extra ones are ignored); the out-pointers are
        // valid, and a null `data` pointer asks for nothing.
        unsafe { check!(env, napi_get_cb_info(env, info, &mut argc, args.as_mut_ptr(), &mut this, ptr::null_mut()))? };
        Ok(CallInfo { env: Env(env), this, args, info })
    }

    /// `new.target`: null unless called as a constructor. Read on demand: only the constructor
    /// asks, and every other call would pay for it.
    pub fn new_target(&self) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env/info are this callback's (`read`'s contract), and `self` lives only for the
        // callback; the out-pointer is valid.
        unsafe { check!(self.env.0, napi_get_new_target(self.env.0, self.info, &mut out))? };
        Ok(out)
    }

    /// Argument `i` (undefined when not passed).
    pub fn arg(&self, i: usize) -> napi_value {
        self.args[i]
    }

    /// A Float32Array argument, borrowed without copying for the rest of this call.
    pub fn f32_array(&self, i: usize, name: &str) -> NResult<&[f32]> {
        match self.env.typed_array(self.arg(i))? {
            Some(view) if view.kind == NAPI_FLOAT32_ARRAY => {
                // SAFETY: Node guarantees `data` points to `len` elements of the given type (the
                // pointer is already advanced by the view's byte offset); `view_slice` checks
                // alignment and null. The borrow is tied to `self`, i.e. this JS call, during which
                // no JS runs that could detach or resize the buffer (arguments of other kinds are
                // read before typed arrays; see exports.rs).
                unsafe { view_slice::<f32>(view, name) }
            }
            _ => Err(Error::type_(name, "a Float32Array", self.env.describe(self.arg(i))).into()),
        }
    }

    /// An Int32Array argument, borrowed like `f32_array`.
    pub fn i32_array(&self, i: usize, name: &str) -> NResult<&[i32]> {
        match self.env.typed_array(self.arg(i))? {
            // SAFETY: as in `f32_array`.
            Some(view) if view.kind == NAPI_INT32_ARRAY => unsafe { view_slice::<i32>(view, name) },
            _ => Err(Error::type_(name, "an Int32Array", self.env.describe(self.arg(i))).into()),
        }
    }

    /// `None` for undefined/null, else as `f32_array`.
    pub fn opt_f32_array(&self, i: usize, name: &str) -> NResult<Option<&[f32]>> {
        if self.env.is_nullish(self.arg(i))? { Ok(None) } else { self.f32_array(i, name).map(Some) }
    }

    pub fn opt_i32_array(&self, i: usize, name: &str) -> NResult<Option<&[i32]>> {
        if self.env.is_nullish(self.arg(i))? { Ok(None) } else { self.i32_array(i, name).map(Some) }
    }

    /// Inputs: a Float32Array of features or an Int32Array of token ids.
    pub fn inputs(&self, i: usize, name: &str) -> NResult<rnnkit_core::model::InputsRef<'_>> {
        use rnnkit_core::model::InputsRef;
        match self.env.typed_array(self.arg(i))? {
            // SAFETY: as in `f32_array`.
            Some(view) if view.kind == NAPI_FLOAT32_ARRAY => Ok(InputsRef::Float(unsafe { view_slice::<f32>(view, name) }?)),
            // SAFETY: as in `f32_array`.
            Some(view) if view.kind == NAPI_INT32_ARRAY => Ok(InputsRef::Tokens(unsafe { view_slice::<i32>(view, name) }?)),
            _ => Err(Error::type_(name, "a Float32Array (features) or Int32Array (token ids)", self.env.describe(self.arg(i))).into()),
        }
    }

    /// Targets: a Float32Array (regression, BCE) or an Int32Array (class indices).
    pub fn targets(&self, i: usize, name: &str) -> NResult<rnnkit_core::model::TargetsRef<'_>> {
        use rnnkit_core::model::TargetsRef;
        match self.env.typed_array(self.arg(i))? {
            Some(view) if view.kind == NAPI_FLOAT32_ARRAY => {
                // SAFETY: as in `f32_array`.
                Ok(TargetsRef::Float(unsafe { view_slice::<f32>(view, name) }?))
            }
            // SAFETY: as in `f32_array`.
            Some(view) if view.kind == NAPI_INT32_ARRAY => Ok(TargetsRef::Class(unsafe { view_slice::<i32>(view, name) }?)),
            _ => Err(Error::type_(name, "a Float32Array or Int32Array", self.env.describe(self.arg(i))).into()),
        }
    }

    pub fn string(&self, i: usize, name: &str) -> NResult<String> {
        self.env.string_value(self.arg(i), name)
    }

    /// A finite number.
    pub fn number(&self, i: usize, name: &str) -> NResult<f64> {
        let v = self.arg(i);
        let Some(x) = self.env.try_f64(v)? else {
            return Err(Error::type_(name, "a number", self.env.describe(v)).into());
        };
        if !x.is_finite() {
            return Err(Error::value(name, format!("expected a finite number, got {x}")).into());
        }
        Ok(x)
    }

    /// An integer in `min..=max` (a number of any other value is a RangeError naming the range).
    pub fn integer(&self, i: usize, name: &str, min: u64, max: u64) -> NResult<u64> {
        let x = self.number(i, name)?;
        if x.fract() != 0.0 || x < min as f64 || x > max as f64 {
            return Err(Error::value(name, format!("expected an integer in {min}..={max}, got {x}")).into());
        }
        Ok(x as u64)
    }

    /// A boolean; undefined/null mean `default`.
    pub fn opt_bool(&self, i: usize, name: &str, default: bool) -> NResult<bool> {
        let v = self.arg(i);
        let mut out = false;
        // SAFETY: env is live; `v` is a value of this env. A non-boolean gives
        // napi_boolean_expected, never a bogus value.
        let status = unsafe { napi_get_value_bool(self.env.0, v, &mut out) };
        match self.env.read_status(status, NAPI_BOOLEAN_EXPECTED, "napi_get_value_bool", out)? {
            Some(b) => Ok(b),
            None if self.env.is_nullish(v)? => Ok(default),
            None => Err(Error::type_(name, "a boolean", self.env.describe(v)).into()),
        }
    }

    /// `[d0, d1, d2]`: an array of three non-negative integers.
    pub fn dims3(&self, i: usize, name: &str) -> NResult<[usize; 3]> {
        let env = self.env;
        let v = self.arg(i);
        let Some(len) = env.try_array_len(v)? else {
            return Err(Error::type_(name, "an array of 3 non-negative integers", env.describe(v)).into());
        };
        if len != 3 {
            return Err(Error::shape(name, "3 dims", format!("{len} dims")).into());
        }
        let mut dims = [0usize; 3];
        for (k, d) in dims.iter_mut().enumerate() {
            let e = env.element(v, k as u32)?;
            let x = env.try_f64(e)?.unwrap_or(f64::NAN);
            if !(x >= 0.0 && x.fract() == 0.0 && x <= u32::MAX as f64) {
                return Err(Error::value(
                    format!("{name}[{k}]"),
                    format!("expected a non-negative integer, got {}", env.describe(e)),
                )
                .into());
            }
            *d = x as usize;
        }
        Ok(dims)
    }
}

/// What `napi_get_typedarray_info` reports.
#[derive(Clone, Copy)]
pub struct TypedArrayView {
    pub kind: napi_typedarray_type,
    pub len: usize,
    /// First element (Node has already added the view's byte offset).
    pub data: *mut c_void,
}

/// # Safety
/// `view` must describe a live typed array whose elements are of type `T`, and the returned slice
/// must not be used after JS runs again.
unsafe fn view_slice<'a, T>(view: TypedArrayView, name: &str) -> NResult<&'a [T]> {
    if view.len == 0 {
        // A zero-length or detached view may report a null pointer: never build a slice from it.
        return Ok(&[]);
    }
    if view.data.is_null() || !(view.data as usize).is_multiple_of(std::mem::align_of::<T>()) {
        // JS forbids misaligned Float32Array/Int32Array views, so this is a bug, not user input.
        return Err(Error::Internal { message: format!("{name}: typed array data pointer is null or misaligned") }.into());
    }
    // SAFETY: non-null, aligned, `len` elements of T live in the buffer (caller contract).
    Ok(unsafe { std::slice::from_raw_parts(view.data as *const T, view.len) })
}

impl Env {
    pub fn type_of(self, v: napi_value) -> NResult<napi_valuetype> {
        let mut t = NAPI_UNDEFINED;
        // SAFETY: env is live (type invariant); `v` is a value of this env.
        unsafe { check!(self.0, napi_typeof(self.0, v, &mut t))? };
        Ok(t)
    }

    pub fn is_nullish(self, v: napi_value) -> NResult<bool> {
        Ok(matches!(self.type_of(v)?, NAPI_UNDEFINED | NAPI_NULL))
    }

    /// `Some(length)` for an array, `None` for any other value (one call instead of two).
    pub fn try_array_len(self, v: napi_value) -> NResult<Option<u32>> {
        let mut out = 0;
        // SAFETY: env is live; `v` is a value of this env. A non-array gives napi_array_expected.
        let status = unsafe { napi_get_array_length(self.0, v, &mut out) };
        self.read_status(status, NAPI_ARRAY_EXPECTED, "napi_get_array_length", out)
    }

    pub fn element(self, v: napi_value, i: u32) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env is live; `v` is an object of this env.
        unsafe { check!(self.0, napi_get_element(self.0, v, i, &mut out))? };
        Ok(out)
    }

    /// `Some(x)` for a number, `None` for any other value: one call where typeof + read takes two.
    pub fn try_f64(self, v: napi_value) -> NResult<Option<f64>> {
        let mut out = 0.0;
        // SAFETY: env is live; `v` is a value of this env. A non-number gives
        // napi_number_expected, never a bogus value.
        let status = unsafe { napi_get_value_double(self.0, v, &mut out) };
        self.read_status(status, NAPI_NUMBER_EXPECTED, "napi_get_value_double", out)
    }

    /// `Some(view)` when `v` is a typed array of any element type.
    pub fn typed_array(self, v: napi_value) -> NResult<Option<TypedArrayView>> {
        let (mut kind, mut len, mut data) = (0, 0, ptr::null_mut());
        // SAFETY: env is live; `v` is a value of this env; the out-pointers are valid (null ones ask
        // for nothing). Any value that is not a typed array gives napi_invalid_arg (Node checks
        // `IsTypedArray` first), so one call replaces napi_is_typedarray + info.
        let status = unsafe {
            napi_get_typedarray_info(self.0, v, &mut kind, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
        };
        self.read_status(status, NAPI_INVALID_ARG, "napi_get_typedarray_info", TypedArrayView { kind, len, data })
    }

    /// The outcome of a call that reads a value of one kind: `Some(value)` on success, `None` when
    /// `status` is `other_kind` (the value is of another kind: one call replaces typeof + read), an
    /// error for any other status.
    fn read_status<T>(self, status: napi_status, other_kind: napi_status, call: &'static str, value: T) -> NResult<Option<T>> {
        match status {
            NAPI_OK => Ok(Some(value)),
            s if s == other_kind => Ok(None),
            // SAFETY: env is live (this callback's).
            s => Err(unsafe { napi_fail(self.0, call, s) }),
        }
    }

    pub fn string_value(self, v: napi_value, name: &str) -> NResult<String> {
        if self.type_of(v)? != NAPI_STRING {
            return Err(Error::type_(name, "a string", self.describe(v)).into());
        }
        let mut len = 0usize;
        // SAFETY: env is live; `v` is a string; a null buffer asks for the UTF-8 length only.
        unsafe { check!(self.0, napi_get_value_string_utf8(self.0, v, ptr::null_mut(), 0, &mut len))? };
        let mut buf = vec![0u8; len + 1];
        let mut written = 0usize;
        // SAFETY: `buf` has room for `len` bytes plus the NUL Node writes.
        unsafe {
            check!(self.0, napi_get_value_string_utf8(self.0, v, buf.as_mut_ptr().cast(), buf.len(), &mut written))?
        };
        buf.truncate(written);
        // Node writes valid UTF-8 (lone surrogates become U+FFFD).
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// "Int32Array(6)", "number 3", "undefined", "string \"abc\"", "Array(2)" — for "got ..." in messages.
    /// Never fails: a description is only ever used to build another error.
    pub fn describe(self, v: napi_value) -> String {
        let Ok(t) = self.type_of(v) else { return "an unknown value".into() };
        match t {
            NAPI_UNDEFINED => "undefined".into(),
            NAPI_NULL => "null".into(),
            NAPI_BOOLEAN => "a boolean".into(),
            NAPI_NUMBER => match self.try_f64(v) {
                Ok(Some(x)) => format!("number {x}"),
                _ => "a number".into(),
            },
            NAPI_STRING => "a string".into(),
            NAPI_SYMBOL => "a symbol".into(),
            NAPI_FUNCTION => "a function".into(),
            NAPI_BIGINT => "a bigint".into(),
            NAPI_EXTERNAL => "an external".into(),
            _ => {
                if let Ok(Some(view)) = self.typed_array(v) {
                    return format!("{}({})", typed_array_name(view.kind), view.len);
                }
                if let Ok(Some(len)) = self.try_array_len(v) {
                    return format!("Array({len})");
                }
                "an object".into()
            }
        }
    }

    // ---- results ----

    pub fn undefined(self) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid.
        unsafe { check!(self.0, napi_get_undefined(self.0, &mut out))? };
        Ok(out)
    }

    pub fn boolean(self, b: bool) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid.
        unsafe { check!(self.0, napi_get_boolean(self.0, b, &mut out))? };
        Ok(out)
    }

    pub fn number_value(self, x: f64) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid.
        unsafe { check!(self.0, napi_create_double(self.0, x, &mut out))? };
        Ok(out)
    }

    pub fn string(self, s: &str) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env is live; `s` is valid UTF-8 for s.len() bytes (explicit length, no NUL needed).
        unsafe { check!(self.0, napi_create_string_utf8(self.0, s.as_ptr().cast(), s.len(), &mut out))? };
        Ok(out)
    }

    pub fn object(self) -> NResult<napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid.
        unsafe { check!(self.0, napi_create_object(self.0, &mut out))? };
        Ok(out)
    }

    /// A plain object `{key: value, ...}`: every property defined in one N-API call, with static
    /// keys (nothing allocated for them). Properties are writable, enumerable and configurable,
    /// like an object literal's.
    pub fn object_with<const N: usize>(self, fields: [(&'static CStr, napi_value); N]) -> NResult<napi_value> {
        let obj = self.object()?;
        let props = fields.map(|(key, value)| napi_property_descriptor {
            utf8name: key.as_ptr(),
            name: ptr::null_mut(),
            method: None,
            getter: None,
            setter: None,
            value,
            attributes: NAPI_WRITABLE | NAPI_ENUMERABLE | NAPI_CONFIGURABLE,
            data: ptr::null_mut(),
        });
        // SAFETY: env is live; `obj` is a fresh object of this env; `props` holds N descriptors
        // with NUL-terminated static names and values of this env, and outlives the call.
        unsafe { check!(self.0, napi_define_properties(self.0, obj, N, props.as_ptr()))? };
        Ok(obj)
    }

    /// A JS array of numbers.
    pub fn number_array(self, xs: impl ExactSizeIterator<Item = f64>) -> NResult<napi_value> {
        let mut arr = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid.
        unsafe { check!(self.0, napi_create_array_with_length(self.0, xs.len(), &mut arr))? };
        for (i, x) in xs.enumerate() {
            let v = self.number_value(x)?;
            self.set_element(arr, i, v)?;
        }
        Ok(arr)
    }

    pub fn array(self, len: usize) -> NResult<napi_value> {
        let mut arr = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid.
        unsafe { check!(self.0, napi_create_array_with_length(self.0, len, &mut arr))? };
        Ok(arr)
    }

    pub fn set_element(self, arr: napi_value, i: usize, v: napi_value) -> NResult<()> {
        let i = u32::try_from(i).map_err(|_| Error::Internal { message: "array index past u32".into() })?;
        // SAFETY: env is live; `arr` is an array of this env.
        unsafe { check!(self.0, napi_set_element(self.0, arr, i, v))? };
        Ok(())
    }

    /// A fresh ArrayBuffer of `len` f32s (zero-initialised by Node) and its data pointer, checked
    /// non-null and f32-aligned unless `len` is 0.
    fn f32_arraybuffer(self, len: usize) -> NResult<(napi_value, *mut f32)> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        // SAFETY: env is live; out-pointers valid.
        unsafe { check!(self.0, napi_create_arraybuffer(self.0, len * std::mem::size_of::<f32>(), &mut data, &mut buffer))? };
        if len > 0 && (data.is_null() || !(data as usize).is_multiple_of(std::mem::align_of::<f32>())) {
            return Err(Error::Internal { message: "ArrayBuffer data is null or misaligned".into() }.into());
        }
        Ok((buffer, data.cast()))
    }

    /// A fresh zero-filled Float32Array of `len` elements on its own ArrayBuffer, and its elements
    /// for the caller to fill in place (no copy) before returning the array to JS.
    pub fn new_f32_array<'a>(self, len: usize) -> NResult<(napi_value, &'a mut [f32])> {
        let (buffer, data) = self.f32_arraybuffer(len)?;
        let mut view = ptr::null_mut();
        // SAFETY: env is live; out-pointer valid; the view covers the whole buffer.
        unsafe { check!(self.0, napi_create_typedarray(self.0, NAPI_FLOAT32_ARRAY, len, buffer, 0, &mut view))? };
        // SAFETY: `data` is `len` aligned, initialised f32s that only this call can reach until it
        // returns the array to JS (the caller's `'a` must end by then); the ArrayBuffer is
        // referenced by `view` in the current handle scope, so V8 keeps its backing store alive
        // (and backing stores never move).
        let elements = if len == 0 { &mut [][..] } else { unsafe { std::slice::from_raw_parts_mut(data, len) } };
        Ok((view, elements))
    }

    /// A new Float32Array of `src.len()` elements, written directly into its own fresh ArrayBuffer.
    pub fn f32_array_from(self, src: &[f32]) -> NResult<napi_value> {
        let [out] = self.f32_arrays_from([src])?;
        Ok(out)
    }

    /// One Float32Array per slice, each exactly that slice's length, all viewing ONE fresh
    /// ArrayBuffer that holds them back to back. An ArrayBuffer costs three mallocs (backing
    /// store, its bookkeeping, V8's extension) plus sweeping after GC; sharing one cuts that cost
    /// and the GC pressure it causes N-fold. Only for arrays a caller treats as one result.
    pub fn f32_arrays_from<const N: usize>(self, srcs: [&[f32]; N]) -> NResult<[napi_value; N]> {
        let total: usize = srcs.iter().map(|s| s.len()).sum();
        let (buffer, data) = self.f32_arraybuffer(total)?;
        let mut out = [ptr::null_mut(); N];
        let mut offset = 0; // in elements
        for (src, view) in srcs.iter().zip(&mut out) {
            // SAFETY: env is live; out-pointers valid. Node returned a zero-initialised backing
            // store of `total` f32s (V8 allocates ArrayBuffers with at least 8-byte alignment;
            // checked above), and `offset + src.len() <= total`, so the copy is in bounds and
            // aligned; nothing else can see the buffer yet. The view's byte offset is a multiple
            // of 4, as Float32Array requires.
            unsafe {
                if !src.is_empty() {
                    ptr::copy_nonoverlapping(src.as_ptr(), data.cast::<f32>().add(offset), src.len());
                }
                check!(self.0, napi_create_typedarray(self.0, NAPI_FLOAT32_ARRAY, src.len(), buffer, offset * 4, view))?;
            }
            offset += src.len();
        }
        Ok(out)
    }
}

fn typed_array_name(kind: napi_typedarray_type) -> &'static str {
    match kind {
        NAPI_INT8_ARRAY => "Int8Array",
        NAPI_UINT8_ARRAY => "Uint8Array",
        NAPI_UINT8_CLAMPED_ARRAY => "Uint8ClampedArray",
        NAPI_INT16_ARRAY => "Int16Array",
        NAPI_UINT16_ARRAY => "Uint16Array",
        NAPI_INT32_ARRAY => "Int32Array",
        NAPI_UINT32_ARRAY => "Uint32Array",
        NAPI_FLOAT32_ARRAY => "Float32Array",
        NAPI_FLOAT64_ARRAY => "Float64Array",
        NAPI_BIGINT64_ARRAY => "BigInt64Array",
        NAPI_BIGUINT64_ARRAY => "BigUint64Array",
        _ => "TypedArray",
    }
}
