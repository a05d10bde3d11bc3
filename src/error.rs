//! Status codes and the per-thread last error (`gc_last_error`).
//!
//! Invariant: the message is a static C string, so recording an error never
//! allocates and the pointer handed to C stays valid forever (the contract
//! only promises "until the next failing call on this thread").

use std::cell::Cell;
use std::ffi::{CStr, c_char};

/// Success.
pub const GC_OK: i32 = 0;
/// A required pointer was NULL.
pub const GC_ERR_NULL: i32 = -1;
/// Field index >= nfields.
pub const GC_ERR_INDEX: i32 = -2;
/// Allocation failed or memory limit reached.
pub const GC_ERR_NOMEM: i32 = -3;
/// Wrong kind of object (e.g. weakref_get on a non-weakref).
pub const GC_ERR_TYPE: i32 = -4;
/// Argument out of range (generation, sizes).
pub const GC_ERR_INVALID: i32 = -5;
/// A file could not be written (gc_dump_heap).
pub const GC_ERR_IO: i32 = -6;

thread_local! {
    static LAST: Cell<(i32, Option<&'static CStr>)> = const { Cell::new((GC_OK, None)) };
}

/// Records a failure on this thread and returns `code`.
pub fn fail(code: i32, msg: &'static CStr) -> i32 {
    LAST.with(|l| l.set((code, Some(msg))));
    code
}

pub fn last_code() -> i32 {
    LAST.with(|l| l.get().0)
}

pub fn last_message() -> *const c_char {
    LAST.with(|l| l.get().1.map_or(std::ptr::null(), CStr::as_ptr))
}

/// Aborts the process with one line `rcgc: <function>(<address>): <what>`
/// on stderr (no unwinding: this is how misuse and broken invariants end).
#[cold]
pub fn fatal(function: &CStr, address: *const std::ffi::c_void, what: &str) -> ! {
    let line = format!(
        "rcgc: {}({address:p}): {what}\n",
        function.to_string_lossy()
    );
    // SAFETY: writing a valid buffer to fd 2; abort never returns.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
        libc::abort()
    }
}
