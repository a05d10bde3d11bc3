//! The C API of introspection (API.md v2 "Introspection" and "Finding what
//! keeps memory alive"): argument checks and error codes around the walks of
//! `crate::introspect` and the debug state of `crate::gc::debug`.
//!
//! Every walk holds the heap lock for its duration (other threads'
//! structural changes wait; their lock-free reads and refcount changes go
//! on) and calls the host's visit function with it held.

use super::live;
use crate::error::{GC_ERR_INVALID, GC_ERR_NULL, GC_OK, fail};
use crate::gc::debug;
use crate::heap::{NUM_GENERATIONS, lock};
use crate::introspect::{self, View, dump};
use crate::object::{GcObject, Header};
use std::ffi::{CStr, c_char, c_int, c_void};

pub use crate::introspect::{GcObjectVisitFn, GcTypeStats, GcTypeStatsFn};

/// Which file format `gc_dump_heap` writes: GC_DUMP_HEAPSNAPSHOT (0) or
/// GC_DUMP_DOT (1). (A C enum in the header, passed as an int.)
pub type GcDumpFormat = c_int;

/// As CPython: lines on stderr for each collection.
pub const GC_DEBUG_STATS: c_int = 1;
/// One line per collectable object found.
pub const GC_DEBUG_COLLECTABLE: c_int = 2;
/// One line per uncollectable object found.
pub const GC_DEBUG_UNCOLLECTABLE: c_int = 4;
/// Keep garbage in the garbage list instead of freeing it.
pub const GC_DEBUG_SAVEALL: c_int = 32;
/// COLLECTABLE | UNCOLLECTABLE | SAVEALL.
pub const GC_DEBUG_LEAK: c_int = 38;

// The collector's own names for the flags (written out above so cbindgen can
// put the values in the header).
const _: () = assert!(
    GC_DEBUG_STATS == debug::DEBUG_STATS
        && GC_DEBUG_COLLECTABLE == debug::DEBUG_COLLECTABLE
        && GC_DEBUG_UNCOLLECTABLE == debug::DEBUG_UNCOLLECTABLE
        && GC_DEBUG_SAVEALL == debug::DEBUG_SAVEALL
        && GC_DEBUG_LEAK == GC_DEBUG_COLLECTABLE | GC_DEBUG_UNCOLLECTABLE | GC_DEBUG_SAVEALL
        && dump::FORMAT_HEAPSNAPSHOT == 0
        && dump::FORMAT_DOT == 1
);

/// Calls `fn(o, ctx)` on each object, stopping at a non-zero return.
fn visitor(
    f: unsafe extern "C" fn(*mut GcObject, *mut c_void) -> c_int,
    ctx: *mut c_void,
) -> impl FnMut(*mut Header) -> c_int {
    // SAFETY: the host passed `f` to be called with its ctx on live objects.
    move |h| unsafe { f(h.cast(), ctx) }
}

/// `gc.get_objects(generation)`: calls `fn(o, ctx)` once per live tracked
/// object of `generation` (0, 1 or 2), or of every generation and then the
/// permanent one when `generation` is -1 (each list oldest first).
/// Unreachable objects that no collection has freed yet are included.
///
/// The objects are borrowed for the duration of the call: `fn` may
/// `obj_incref` one to keep it, and must not create objects, change fields
/// or release references. Called from a hook or callback during a
/// collection, the objects of that collection are not visited.
///
/// Returns: GC_OK, or the non-zero value `fn` returned (the walk stops
/// there); GC_ERR_NULL (`fn` NULL); GC_ERR_INVALID (`generation` not in
/// -1..2).
/// Thread-safe: holds the heap lock for the walk (other threads' structural
/// changes wait; reads do not).
#[unsafe(no_mangle)]
pub extern "C" fn gc_visit_objects(
    generation: c_int,
    r#fn: GcObjectVisitFn,
    ctx: *mut c_void,
) -> c_int {
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_visit_objects: fn is NULL");
    };
    let generation = match generation {
        -1 => None,
        g if (0..NUM_GENERATIONS as c_int).contains(&g) => Some(g as usize),
        _ => {
            return fail(
                GC_ERR_INVALID,
                c"gc_visit_objects: generation must be -1, 0, 1 or 2",
            );
        }
    };
    introspect::visit_objects(&lock(), generation, visitor(f, ctx))
}

/// `gc.get_referents(o)`: calls `fn(r, ctx)` on each object `o` references
/// directly: its non-NULL fields in index order, then each reference its
/// type's `traverse` hook reports (once per report). A weakref's target is
/// not a referent (weak references are never strong edges).
///
/// Objects are borrowed, as for gc_visit_objects.
/// Returns: GC_OK, or the non-zero value `fn` returned; GC_ERR_NULL (`o` or
/// `fn` NULL).
/// Thread-safe: holds the heap lock for the walk, and other threads'
/// field changes wait for its end.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_referents(
    o: *mut GcObject,
    r#fn: GcObjectVisitFn,
    ctx: *mut c_void,
) -> c_int {
    if o.is_null() {
        return fail(GC_ERR_NULL, c"gc_get_referents: object is NULL");
    }
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_get_referents: fn is NULL");
    };
    let h = live(c"gc_get_referents", o);
    let g = lock();
    // The fields stay as read, and so their values alive, while `fn` runs
    // (another thread's obj_set_field waits, sections.rs).
    let _stop = crate::sections::stop(&g);
    // SAFETY: lock held; o is a live object (API contract).
    let children = unsafe { introspect::referents(h) };
    let mut visit = visitor(f, ctx);
    children
        .into_iter()
        .map(&mut visit)
        .find(|&r| r != 0)
        .unwrap_or(GC_OK)
}

/// `gc.get_referrers(target)`: calls `fn(r, ctx)` once on each live tracked
/// object that references `target` (through a field or its `traverse`
/// hook), however many times it does, in gc_visit_objects(-1) order.
/// Weakrefs to `target` are not referrers. Cost: one walk of the tracked
/// heap.
///
/// Objects are borrowed, as for gc_visit_objects.
/// Returns: GC_OK, or the non-zero value `fn` returned; GC_ERR_NULL
/// (`target` or `fn` NULL).
/// Thread-safe: holds the heap lock for the walk.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_referrers(
    target: *mut GcObject,
    r#fn: GcObjectVisitFn,
    ctx: *mut c_void,
) -> c_int {
    if target.is_null() {
        return fail(GC_ERR_NULL, c"gc_get_referrers: target is NULL");
    }
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_get_referrers: fn is NULL");
    };
    let h = live(c"gc_get_referrers", target);
    introspect::visit_referrers(&lock(), h, visitor(f, ctx))
}

/// Sets the debug flags (CPython's values: GC_DEBUG_STATS,
/// GC_DEBUG_COLLECTABLE, GC_DEBUG_UNCOLLECTABLE, GC_DEBUG_SAVEALL,
/// GC_DEBUG_LEAK; other bits are kept and ignored). The start value comes
/// from `RCGC_DEBUG=<decimal number>` in the environment (0 without it).
///
/// Lines go to stderr: with GC_DEBUG_STATS, at the start of each collection
/// `gc: collecting generation N...`, `gc: objects in each generation: A B C`,
/// `gc: objects in permanent generation: P`, and at its end
/// `gc: done, U unreachable, K uncollectable, S.SSSSs elapsed`; with
/// GC_DEBUG_COLLECTABLE `gc: collectable <Type 0x...>` for each unreachable
/// object about to be freed (or saved); with GC_DEBUG_UNCOLLECTABLE
/// `gc: uncollectable <Type 0x...>` for each one a hook kept alive. Plain
/// objects are named `(object)`, weakrefs `(weakref)`.
///
/// Thread-safe (a process-wide setting; takes effect at the next step that
/// reads it).
#[unsafe(no_mangle)]
pub extern "C" fn gc_set_debug(flags: c_int) {
    debug::set_flags(flags)
}

/// Returns: the debug flags (see gc_set_debug). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_debug() -> c_int {
    debug::flags()
}

/// `gc.garbage`: calls `fn(o, ctx)` on each object of the garbage list,
/// oldest first. With GC_DEBUG_SAVEALL a collection does not clear or free
/// the objects it finds unreachable: after their finalizers ran, their
/// weakrefs were cleared and the callbacks ran (steps 1-3 of the death
/// order), they are appended to the list, which holds one reference to each,
/// and stay intact and tracked (in the next older generation). gc_collect
/// counts them as collected, as CPython does.
///
/// Objects are borrowed, as for gc_visit_objects.
/// Returns: GC_OK, or the non-zero value `fn` returned; GC_ERR_NULL (`fn`
/// NULL).
/// Thread-safe: holds the heap lock for the walk.
#[unsafe(no_mangle)]
pub extern "C" fn gc_visit_garbage(r#fn: GcObjectVisitFn, ctx: *mut c_void) -> c_int {
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_visit_garbage: fn is NULL");
    };
    debug::visit_garbage(&lock(), visitor(f, ctx))
}

/// `del gc.garbage[:]`: releases the garbage list's references (the objects
/// then die, or stay as cyclic garbage for the next collection to free).
///
/// Returns: how many objects the list held.
/// Thread-safe; may run deaths (finalizers that have not run, callbacks,
/// hooks).
#[unsafe(no_mangle)]
pub extern "C" fn gc_clear_garbage() -> usize {
    debug::clear_garbage(&lock())
}

/// The shortest chain of references from an object held from outside to
/// `o`: calls `fn(x, ctx)` on each object of the chain, the held one first
/// and `o` last (borrowed, as for gc_visit_objects; a non-zero return stops
/// the calls but not the result). An object is held from outside when its
/// reference count exceeds the references to it from the fields and
/// `traverse` hooks of live tracked objects (weakrefs never count). Ties
/// between chains of the same length go to the held object met first in
/// gc_visit_objects(-1) order.
///
/// Returns: the chain's length (1 when `o` itself is held from outside); 0
/// when no held object reaches `o` (it is cyclic garbage awaiting
/// collection; `fn` is not called); GC_ERR_NULL (`o` or `fn` NULL);
/// GC_ERR_NOMEM (no memory for the walk).
/// Thread-safe: holds the heap lock for the walk (two walks of the tracked
/// heap).
#[unsafe(no_mangle)]
pub extern "C" fn gc_why_alive(o: *mut GcObject, r#fn: GcObjectVisitFn, ctx: *mut c_void) -> i64 {
    if o.is_null() {
        return fail(GC_ERR_NULL, c"gc_why_alive: object is NULL").into();
    }
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_why_alive: fn is NULL").into();
    };
    let h = live(c"gc_why_alive", o);
    let g = lock();
    let view = match View::new(&g) {
        Ok(v) => v,
        Err(code) => return code.into(),
    };
    // SAFETY: lock held; o is live (API contract).
    let Some(chain) = (unsafe { view.chain(h) }) else {
        return 0;
    };
    drop(view);
    let mut visit = visitor(f, ctx);
    for &x in &chain {
        if visit(x) != 0 {
            break;
        }
    }
    chain.len() as i64
}

/// Calls `fn(stats, ctx)` once per group of live objects: tracked objects
/// grouped by type, plain objects as "(object)" and weakrefs as
/// "(weakref)" (`type` NULL), and the untracked objects as one group
/// "(untracked)" (`type` NULL; present only when there are some). Ordered by
/// bytes, largest first (ties: more objects first, then by name). `stats`
/// is valid during the call only. Bytes are counted as gc_get_memory counts
/// `bytes_in_use`, so the groups add up to it; the "(untracked)" group is
/// what gc_get_memory counts beyond the tracked objects (exact when no other
/// thread is allocating or freeing).
///
/// Returns: GC_OK, or the non-zero value `fn` returned; GC_ERR_NULL (`fn`
/// NULL).
/// Thread-safe: holds the heap lock while it counts, not while it calls
/// `fn`.
#[unsafe(no_mangle)]
pub extern "C" fn gc_visit_type_stats(r#fn: GcTypeStatsFn, ctx: *mut c_void) -> c_int {
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_visit_type_stats: fn is NULL");
    };
    let groups = introspect::type_stats(&lock());
    for s in &groups {
        // SAFETY: the host passed `f` to be called with its ctx.
        let r = unsafe { f(s, ctx) };
        if r != 0 {
            return r;
        }
    }
    GC_OK
}

/// Writes every live tracked object, and every untracked object one of them
/// references (or a weakref targets), to the file `path` (created or
/// truncated).
///
/// GC_DUMP_HEAPSNAPSHOT: the V8/Chrome heap snapshot JSON format (open it in
/// the Memory tab of Chrome or Edge DevTools, or with memlab): node 0 is the
/// synthetic root, whose one edge leads to the synthetic node "(held from
/// outside)", which has an `element` edge to every object held from outside
/// (see gc_why_alive), so the retainers view shows why-alive chains; object
/// nodes are named by type name ("(object)", "(weakref)" for plain objects
/// and weakrefs), their self size is the object's bytes; a field is an
/// `element` edge named by its index, a payload reference (traverse hook) an
/// `internal` edge named "payload", a weakref's target a `weak` edge named
/// "target". GC_DUMP_DOT: the same graph (without the root) for Graphviz,
/// meant for small heaps.
///
/// Returns: GC_OK; GC_ERR_NULL (`path` NULL); GC_ERR_INVALID (`format`);
/// GC_ERR_IO (the file could not be created or written); GC_ERR_NOMEM.
/// Thread-safe: holds the heap lock while it reads the heap, not while it
/// writes the file.
#[unsafe(no_mangle)]
pub extern "C" fn gc_dump_heap(path: *const c_char, format: GcDumpFormat) -> c_int {
    if path.is_null() {
        return fail(GC_ERR_NULL, c"gc_dump_heap: path is NULL");
    }
    if format != dump::FORMAT_HEAPSNAPSHOT && format != dump::FORMAT_DOT {
        return fail(
            GC_ERR_INVALID,
            c"gc_dump_heap: format must be GC_DUMP_HEAPSNAPSHOT or GC_DUMP_DOT",
        );
    }
    // SAFETY: a non-NULL path is a C string (API contract).
    let path = unsafe { CStr::from_ptr(path) };
    match dump::dump(path, format) {
        Ok(()) => GC_OK,
        Err(code) => code,
    }
}
