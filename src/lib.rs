//! rcgc gives C programs (and anything with a C FFI) the memory management
//! CPython gives its objects: reference counting, a generational cycle
//! collector with the `gc` module's controls, PEP 442 finalizers, and weak
//! references with callbacks. The C contract is `include/rcgc.h`.
//!
//! Modules, bottom up: each uses those listed before it, except that
//! `alloc` reports its mapped pages to `memory`, `memory` takes the
//! heap lock's guard type as proof that its caller holds the lock, and
//! `epoch` counts `sections`' slots as readers.
//! - `bias`: biased ownership of the heap lock and the counts by one thread
//!   (plain loads and stores while one thread uses the library);
//! - `alloc`: the size-class pool and the system allocator (and the test
//!   hook that injects allocation failures);
//! - `error`: status codes, the per-thread last error, `fatal`;
//! - `checks`: checked mode (RCGC_CHECKS): the registry of objects and the
//!   quarantine of freed ones;
//! - `object`: the header and the allocation of header, fields and payload;
//! - `list`: intrusive lists of headers (the generations);
//! - `memory`: the memory figures, the memory limit, when to trim;
//! - `nursery`: per-section-slot lists, block caches and count shares,
//!   where threads without the heap lock's bias make and drop small plain
//!   objects without the lock;
//! - `sync`: the heap lock (re-entrant, on a POSIX mutex) and its holder's
//!   state (library or host code), for fork;
//! - `heap`: the global heap: its lock, counts, thresholds, stats,
//!   callbacks, the death stack, the weakref table, and the fork handlers;
//! - `epoch`: safe reclamation of objects that had weakrefs, for the
//!   lock-free `weakref_get`;
//! - `weakref`: weakref objects and the per-target lists;
//! - `sections`: the lock-free field reads and changes of threads that do
//!   not own the counts, and the stop that keeps them out of a collection;
//! - `order`: the order objects were made in, which proves for many
//!   collections that their members hold no cycle (no scan then);
//! - `refcount`: incref/decref and the iterative death path;
//! - `gc`: one collection (a full one leaves out the old objects no dropped
//!   reference can have cut off), and object creation (which triggers
//!   collections);
//! - `introspect`: walks of the heap for the C API: objects, referents,
//!   referrers, why-alive chains, type stats, heap dumps, the leak report;
//! - `ffi`: the exported C functions.

pub(crate) mod alloc;
pub(crate) mod bias;
pub(crate) mod checks;
pub(crate) mod epoch;
pub(crate) mod error;
pub mod ffi;
pub(crate) mod gate;
pub(crate) mod gc;
pub(crate) mod heap;
pub(crate) mod introspect;
pub(crate) mod list;
pub(crate) mod memory;
pub(crate) mod nursery;
pub(crate) mod object;
pub(crate) mod order;
pub(crate) mod refcount;
pub(crate) mod sections;
pub(crate) mod sync;
pub(crate) mod weakref;

pub use ffi::*;

/// Test hook (not part of the C API): the n-th allocation from now fails.
#[doc(hidden)]
pub use alloc::fail_after as test_fail_allocation_after;

/// Test hook (not part of the C API): how many collections went without a
/// scan because their members could hold no cycle (order.rs).
#[doc(hidden)]
pub use gc::collections_without_scan as test_collections_without_scan;

/// Test hook (not part of the C API): nurseries in use from one thread,
/// with count0 exact (nursery.rs).
#[doc(hidden)]
pub use nursery::fold_every_birth as test_nursery_fold_every_birth;

/// Test hooks (debug builds, not part of the C API): park lock-free field
/// reads between loading a field and taking the reference (sections.rs).
#[doc(hidden)]
#[cfg(debug_assertions)]
pub use sections::{park_reads as test_park_field_reads, parked as test_field_read_parked};
