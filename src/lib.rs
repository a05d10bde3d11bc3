//! rcgc gives C programs (and anything with a C FFI) the memory management
//! CPython gives its objects: reference counting, a generational cycle
//! collector with the `gc` module's controls, PEP 442 finalizers, and weak
//! references with callbacks. The C contract is `include/rcgc.h`.
//!
//! Modules, each using only those listed before it:
//! - `error`: status codes and the per-thread last error;
//! - `object`: the header and the allocation of header, fields and payload;
//! - `list`: intrusive lists of headers (the generations);
//! - `heap`: the global heap: its re-entrant lock, counts, thresholds,
//!   stats, callbacks, the death queue and the weakref table;
//! - `weakref`: weakref objects and the per-target lists;
//! - `refcount`: incref/decref and the iterative death path;
//! - `gc`: one collection, and object creation (which triggers collections);
//! - `ffi`: the exported C functions.

pub(crate) mod error;
pub mod ffi;
pub(crate) mod gc;
pub(crate) mod heap;
pub(crate) mod list;
pub(crate) mod object;
pub(crate) mod refcount;
pub(crate) mod weakref;

pub use ffi::*;
