//! Per-call buffers in linear memory: `rnnkit_alloc`/`rnnkit_free`, and the checks that turn a
//! (pointer, length) pair from JS into a slice. Every block handed out is recorded with its layout,
//! so a range from JS is accepted only if it lies inside a live block, aligned, without overflow:
//! a wrong pointer from JS is an `Err`, never undefined behaviour.

// `free` takes a raw pointer yet is safe: it only deallocates pointers found in the registry.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::BTreeMap;

use rnnkit_core::{Error, Result};

/// Largest alignment JS may ask for (a cache line is the most any kernel wants).
pub const MAX_ALIGN: usize = 64;

thread_local! {
    // start address -> layout of every block from `alloc` not yet freed.
    static LIVE: RefCell<BTreeMap<usize, Layout>> = const { RefCell::new(BTreeMap::new()) };
}

/// A block of at least `len_bytes` (a zero-length request still gets a real, distinct block),
/// aligned to `align` (a power of two ≤ MAX_ALIGN). Null when the request is invalid or memory
/// cannot grow; JS turns null into an error naming the argument it was allocating for.
pub fn alloc(len_bytes: usize, align: usize) -> *mut u8 {
    if align > MAX_ALIGN {
        return std::ptr::null_mut();
    }
    let Ok(layout) = Layout::from_size_align(len_bytes.max(1), align) else {
        return std::ptr::null_mut();
    };
    // SAFETY: layout has a non-zero size (max(1) above).
    let ptr = unsafe { std::alloc::alloc(layout) };
    if !ptr.is_null() {
        LIVE.with(|live| live.borrow_mut().insert(ptr as usize, layout));
    }
    ptr
}

/// Frees a block from `alloc`. Anything else (null, freed twice, an interior pointer) is an error.
pub fn free(ptr: *mut u8) -> Result<()> {
    let layout = LIVE.with(|live| live.borrow_mut().remove(&(ptr as usize)));
    match layout {
        Some(layout) => {
            // SAFETY: `ptr` was returned by `alloc` with exactly this layout and was live until the
            // remove above, so it is freed once.
            unsafe { std::alloc::dealloc(ptr, layout) };
            Ok(())
        }
        None => Err(Error::value("ptr", format!("{:#x} is not a live block from rnnkit_alloc", ptr as usize))),
    }
}

/// Takes over the block at `ptr` holding `len` elements of T as a `Vec` (the block leaves the
/// registry: JS must not free it). A block allocated as exactly `len` T's with T's alignment is
/// adopted without copying; any other live block is copied and freed. Not a live block start: `Err`.
///
/// # Safety
/// As for `slice`; in addition no slice over the block may be alive.
pub unsafe fn take_vec<T: Copy>(ptr: *const T, len: usize, arg: &str) -> Result<Vec<T>> {
    check(ptr, len, arg)?;
    let layout = LIVE.with(|live| live.borrow().get(&(ptr as usize)).copied());
    let Some(layout) = layout else {
        return Err(Error::value(arg, format!("{:#x} is not the start of a block from rnnkit_alloc", ptr as usize)));
    };
    if Layout::array::<T>(len).is_ok_and(|l| l == layout) && len > 0 {
        LIVE.with(|live| live.borrow_mut().remove(&(ptr as usize)));
        // SAFETY: the block was allocated by the global allocator with exactly Vec<T>'s layout for
        // capacity `len` (checked just above), holds `len` initialised elements (every bit pattern
        // of the f32/i32 used here is valid), and left the registry, so it is owned once, by the Vec.
        return Ok(unsafe { Vec::from_raw_parts(ptr as *mut T, len, len) });
    }
    // SAFETY: `check` passed; the copy ends before the block is freed.
    let copy = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
    free(ptr as *mut u8)?;
    Ok(copy)
}

/// Number of live blocks (tests check that JS frees everything it allocates).
pub fn live_blocks() -> usize {
    LIVE.with(|live| live.borrow().len())
}

/// Checks that `len` elements of T at `ptr` are non-null, aligned and inside one live block.
fn check<T>(ptr: *const T, len: usize, arg: &str) -> Result<()> {
    let addr = ptr as usize;
    if ptr.is_null() {
        return Err(Error::value(arg, "null pointer"));
    }
    if !addr.is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::value(arg, format!("pointer {addr:#x} is not aligned to {}", std::mem::align_of::<T>())));
    }
    let end = len
        .checked_mul(std::mem::size_of::<T>())
        .and_then(|bytes| addr.checked_add(bytes))
        .ok_or_else(|| Error::value(arg, format!("length {len} overflows the address space")))?;
    let inside = LIVE.with(|live| {
        live.borrow()
            .range(..=addr)
            .next_back()
            .is_some_and(|(&start, layout)| end <= start + layout.size())
    });
    if !inside {
        return Err(Error::value(arg, format!("range {addr:#x}..{end:#x} is not inside a block from rnnkit_alloc")));
    }
    Ok(())
}

/// A slice over JS-provided memory, after `check`.
///
/// # Safety
/// The caller must not let the slice outlive the export call, and must not free the block (or hand
/// out a mutable view of it) while the slice is alive. Within one export call nothing else runs.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize, arg: &str) -> Result<&'a [T]> {
    check(ptr, len, arg)?;
    // SAFETY: `check` proved the range is aligned and inside a live allocation of ours; the caller
    // upholds the lifetime rule above. Every bit pattern is a valid f32/i32/u8.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// `None` for a null pointer (an absent optional argument), else `slice`.
///
/// # Safety
/// As for `slice`.
pub unsafe fn opt_slice<'a, T>(ptr: *const T, len: usize, arg: &str) -> Result<Option<&'a [T]>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { slice(ptr, len, arg) }.map(Some)
}

/// UTF-8 text (spec or train JSON) from JS memory.
///
/// # Safety
/// As for `slice`.
pub unsafe fn str<'a>(ptr: *const u8, len: usize, arg: &str) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { slice(ptr, len, arg) }?;
    std::str::from_utf8(bytes).map_err(|e| Error::type_(arg, "UTF-8 text", format!("invalid byte at {}", e.valid_up_to())))
}

/// Reads one value (a descriptor such as `RawBatch`) that JS wrote into a block it allocated.
///
/// # Safety
/// As for `slice`; `T` must be valid for any bit pattern JS may write (plain integers, floats and
/// raw pointers, which are checked again before they are dereferenced).
pub unsafe fn read<T: Copy>(ptr: *const T, arg: &str) -> Result<T> {
    check(ptr, 1, arg)?;
    // SAFETY: `check` proved the source is aligned and inside a live block; the caller vouches
    // that every bit pattern is a valid T.
    Ok(unsafe { ptr.read() })
}

/// Writes one value to an out-parameter that JS allocated.
///
/// # Safety
/// No slice over the same block may be alive (call it after the inputs have been used).
pub unsafe fn write<T: Copy>(ptr: *mut T, value: T, arg: &str) -> Result<()> {
    check(ptr as *const T, 1, arg)?;
    // SAFETY: `check` proved the target is aligned and inside a live block; no borrow aliases it.
    unsafe { ptr.write(value) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ranges_inside_live_blocks_only() {
        let p = alloc(16, 4) as *const f32;
        assert!(!p.is_null());
        // SAFETY: each call is checked; the block stays live while the slices are used.
        unsafe {
            assert_eq!(slice(p, 4, "x").unwrap().len(), 4);
            assert_eq!(slice(p.add(1), 3, "x").unwrap().len(), 3);
            assert_eq!(slice(p, 5, "x").unwrap_err().arg(), Some("x"));
            assert!(slice(p, usize::MAX, "x").is_err()); // overflow
            assert!(slice((p as *const u8).add(1) as *const f32, 1, "x").is_err()); // misaligned
            assert!(slice(std::ptr::null::<f32>(), 0, "x").is_err());
            assert!(opt_slice(std::ptr::null::<f32>(), 3, "h0").unwrap().is_none());
            assert!(slice(p.add(64), 1, "x").is_err()); // past the block
        }
        free(p as *mut u8).unwrap();
        // SAFETY: must be rejected: the block is gone.
        assert!(unsafe { slice(p, 1, "x") }.is_err());
        assert!(free(p as *mut u8).is_err(), "double free is an error");
    }

    #[test]
    fn rejects_bad_layouts_and_counts_blocks() {
        let before = live_blocks();
        assert!(alloc(8, 3).is_null());
        assert!(alloc(8, 128).is_null());
        assert!(alloc(usize::MAX - 8, 8).is_null());
        let a = alloc(0, 4);
        let b = alloc(0, 4);
        assert!(!a.is_null() && a != b, "zero-length blocks are distinct");
        assert_eq!(live_blocks(), before + 2);
        free(a).unwrap();
        free(b).unwrap();
        assert_eq!(live_blocks(), before);
    }

    #[test]
    fn text_must_be_utf8() {
        let p = alloc(2, 1);
        // SAFETY: the block is 2 bytes and live.
        unsafe {
            p.write(0xff);
            p.add(1).write(b'a');
            assert_eq!(str(p, 2, "spec").unwrap_err().code(), "ERR_RNNKIT_TYPE");
        }
        free(p).unwrap();
    }
}
