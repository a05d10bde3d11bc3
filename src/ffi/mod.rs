//! The C API: every exported function, written out plainly so cbindgen sees
//! its signature. Each body checks its arguments, maps errors to status codes
//! and `gc_last_error`, and calls one function of the layers below; nothing
//! else lives here.
//!
//! Conventions (README "API conventions"):
//! - "new reference": the caller owns one reference and must `obj_decref` it;
//!   "borrowed": nobody's count changes. The library never steals a reference.
//! - NULL object arguments are a no-op or harmless default for queries and
//!   `GC_ERR_NULL` for operations; errors set `gc_last_error()`.
//! - Every function is thread-safe. Hooks and callbacks run on the calling
//!   thread with the heap lock held and may re-enter the API.
//! - No panic crosses this boundary: the crate is built with `panic = "abort"`
//!   and an unwind out of an `extern "C"` function aborts as well.

// These functions are the C ABI: C has no `unsafe`, so every raw pointer
// argument is covered by the documented contract (a non-NULL handle is a
// live object the caller holds) rather than by an `unsafe fn` marker.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub use crate::error::{
    GC_ERR_INDEX, GC_ERR_INVALID, GC_ERR_IO, GC_ERR_NOMEM, GC_ERR_NULL, GC_ERR_TYPE, GC_OK,
};
pub use crate::heap::{GcCallbackFn, GcCallbackInfo, GcCounts, GcGenStats, GcPhase, GcThresholds};
pub use crate::memory::GcMemStats;
pub use crate::object::{GcObject, GcType, GcVisitFn};
pub use crate::weakref::GcWeakCallback;

mod introspect;
pub use introspect::*;

/// Reads `RCGC_DEBUG` and `RCGC_LEAK_REPORT` when the library is loaded.
/// The entry is here, not beside the function, because a program linked with
/// librcgc.a takes only the object files it references: this module's is in
/// every program that calls the API, a module of its own might not be.
#[used]
#[unsafe(link_section = ".init_array")]
static READ_ENVIRONMENT: extern "C" fn() = crate::introspect::report::init;

use crate::checks;
use crate::error::{self, fail};
use crate::gc;
use crate::heap::{self, NUM_GENERATIONS, with_state};
use crate::object::{self, FINALIZED, Header, Kind};
use crate::refcount;
use crate::weakref;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::Ordering::Acquire;

/// The header behind a handle. In checked mode, aborts with one line unless
/// `o` is NULL or a live object (see checks.rs); otherwise free.
#[inline]
fn live(function: &CStr, o: *const GcObject) -> *mut Header {
    let h = o as *mut Header;
    checks::object(function, h);
    h
}

/// The field slot `i` of `o`, or the error code (with gc_last_error set).
#[inline]
fn slot<'a>(
    function: &CStr,
    o: *const GcObject,
    i: usize,
    null_msg: &'static CStr,
    index_msg: &'static CStr,
) -> Result<&'a std::sync::atomic::AtomicPtr<Header>, c_int> {
    if o.is_null() {
        return Err(fail(GC_ERR_NULL, null_msg));
    }
    // SAFETY: a non-NULL handle is a live object (API contract).
    unsafe { object::fields(live(function, o)) }
        .get(i)
        .ok_or_else(|| fail(GC_ERR_INDEX, index_msg))
}

// ---------------------------------------------------------------- objects

/// Creates an object with `nfields` reference fields (all NULL) and
/// `payload_size` zeroed bytes of host data, 16-byte aligned.
///
/// Objects with at least one field are tracked by the collector, count toward
/// count0 and may trigger an automatic collection before this returns (the
/// new object is never part of it). Once a second thread has made objects,
/// objects of at most 16 fields are made without the heap lock, in a
/// nursery of the calling thread, whose allocations and deaths reach count0
/// in batches of 64: count0 stays exact whenever no other thread is
/// working, and the automatic collection comes up to 64 allocations late
/// per thread (API.md allows 256).
///
/// Returns: new reference (refcount 1), or NULL on failure:
/// GC_ERR_NOMEM (out of memory) or GC_ERR_INVALID (the total size overflows
/// or exceeds PTRDIFF_MAX); see gc_last_error. A failed call counts nothing.
/// Thread-safe; may run a collection (finalizers, callbacks).
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn obj_new(nfields: usize, payload_size: usize) -> *mut GcObject {
    // SAFETY: no type.
    unsafe { new_plain(ptr::null(), nfields, payload_size) }
}

/// Same as obj_new, with the hooks of `type` (see GcType). An object with a
/// `traverse` hook is tracked even without fields.
///
/// Returns: new reference, or NULL on failure (as obj_new).
/// Arguments: `type` borrowed, must outlive the object; NULL = obj_new.
/// Thread-safe; may run a collection.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn obj_new_typed(
    r#type: *const GcType,
    nfields: usize,
    payload_size: usize,
) -> *mut GcObject {
    // SAFETY: the API contract makes `type` NULL or a GcType outliving the
    // object.
    unsafe { new_plain(r#type, nfields, payload_size) }
}

/// `obj_new_typed`, inlined into `obj_new` too (a call of the exported
/// symbol would go through the GOT, which may interpose it).
///
/// # Safety
/// `ty` is NULL or a GcType that outlives the object.
#[inline(always)]
unsafe fn new_plain(ty: *const GcType, nfields: usize, payload_size: usize) -> *mut GcObject {
    // SAFETY: caller's contract.
    unsafe {
        // The common case with no call on the way (no stack frame).
        if let Some(h) = gc::new_object_quick(ty, nfields, payload_size, Kind::Plain) {
            return h as *mut GcObject;
        }
        gc::new_object(ty, nfields, payload_size, Kind::Plain) as *mut GcObject
    }
}

/// Adds one reference to `o`. NULL is a no-op.
///
/// The largest reference count is 2^33 - 1 (8589934591): one more
/// increment aborts the process with one line on stderr naming the object's
/// type and the limit, instead of wrapping around.
///
/// Arguments: `o` borrowed. Thread-safe and lock-free.
#[unsafe(no_mangle)]
pub extern "C" fn obj_incref(o: *mut GcObject) {
    if !o.is_null() {
        // SAFETY: the caller holds a reference to the live object o
        // (validated first in checked mode).
        unsafe { crate::object::incref_host(o.cast()) }
    }
}

/// Drops one reference to `o`. NULL is a no-op. At zero the object dies at
/// once, in the death order (finalize, resurrection check, weakrefs cleared
/// and their callbacks, fields released and `clear`, `destroy`, free).
/// Deaths caused while another death is in progress are queued and all
/// complete before the outermost call returns; chains of any length release
/// in constant stack.
///
/// Arguments: `o`: the caller's reference, given up.
/// Thread-safe; lock-free unless the count reaches zero (and then too for an
/// untracked object with no type that never had weakrefs, made while
/// several threads used the library: one made while a single thread did
/// came from the library's pool and goes back to it under the heap lock;
/// and for an object obj_new made in a thread's nursery, see there, whose
/// last reference that thread drops: the values its fields held die the
/// same way, or under the lock); may run finalizers, weakref callbacks and
/// hooks.
#[unsafe(no_mangle)]
pub extern "C" fn obj_decref(o: *mut GcObject) {
    if !o.is_null() {
        // SAFETY: the caller owns the reference it drops (the object is
        // validated first in checked mode).
        unsafe { refcount::decref_host(o.cast()) }
    }
}

/// Returns: the current reference count of `o`; 0 for NULL.
/// Arguments: `o` borrowed. Thread-safe (a snapshot).
#[unsafe(no_mangle)]
pub extern "C" fn obj_refcount(o: *const GcObject) -> usize {
    if o.is_null() {
        return 0;
    }
    // SAFETY: non-NULL handles are live objects.
    unsafe { (*live(c"obj_refcount", o)).count() as usize }
}

/// Stores `value` in field `i` of `o`: the field takes its own reference to
/// `value` (NULL clears the field), then the old value is released (so the
/// old value's finalizer already sees the new contents).
///
/// Returns: GC_OK; GC_ERR_NULL if `o` is NULL; GC_ERR_INDEX if
/// `i >= obj_nfields(o)`.
/// Arguments: `o` and `value` borrowed (the caller keeps its references).
/// Thread-safe; releasing the old value may run its death. The store takes
/// no lock (unless a collection or a heap walk is running, or in checked
/// mode), so it does not wait for another thread's gc_lock; releasing the
/// old value's last reference does.
#[unsafe(no_mangle)]
pub extern "C" fn obj_set_field(o: *mut GcObject, i: usize, value: *mut GcObject) -> c_int {
    // The common case (the counts this thread's, so checked mode off) in
    // a straight line with no call, as obj_get_field's.
    let owned = if o.is_null() {
        None
    } else {
        // SAFETY: o is a live object (no checked mode with the counts
        // bias, bias.rs); the caller holds a reference to value.
        unsafe { refcount::set_field_owned(o.cast(), i, value.cast()) }
    };
    match owned {
        Some(old) if old.is_null() => GC_OK,
        Some(old) => release_old_value(old),
        None => set_field_general(o, i, value),
    }
}

/// `obj_set_field`'s release of a field's old value whose count the common
/// case could not just decrement (it dies, or is old).
#[inline(never)]
fn release_old_value(old: *mut Header) -> c_int {
    // SAFETY: the field owned this reference; it was just replaced.
    unsafe { refcount::decref(old) };
    GC_OK
}

/// `obj_set_field` outside its common case.
#[inline(never)]
fn set_field_general(o: *mut GcObject, i: usize, value: *mut GcObject) -> c_int {
    let slot = match slot(
        c"obj_set_field",
        o,
        i,
        c"obj_set_field: object is NULL",
        c"obj_set_field: field index out of range",
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let value = live(c"obj_set_field", value);
    // SAFETY: slot is a field of the live object o; the caller holds a
    // reference to value (API contract).
    unsafe { refcount::set_field(slot, value, o as *const Header) };
    GC_OK
}

/// Returns: new reference to the value of field `i` of `o`, or NULL when the
/// field is empty or on error (GC_ERR_NULL: `o` NULL; GC_ERR_INDEX: `i` out
/// of range; only errors set gc_last_error).
/// Arguments: `o` borrowed. Thread-safe; takes no lock (unless a collection
/// or a heap walk is running, or in checked mode), so it does not wait for
/// another thread's gc_lock.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn obj_get_field(o: *const GcObject, i: usize) -> *mut GcObject {
    // The common case (the counts this thread's, so checked mode off) in
    // a straight line with no call, so that it needs no stack frame.
    if !o.is_null() {
        // SAFETY: o is a live object (no checked mode with the counts
        // bias, bias.rs).
        if let Some(v) = unsafe { refcount::get_field_owned(o.cast(), i) } {
            return v as *mut GcObject;
        }
    }
    get_field_general(o, i)
}

/// `obj_get_field` outside its common case.
#[inline(never)]
fn get_field_general(o: *const GcObject, i: usize) -> *mut GcObject {
    let Ok(slot) = slot(
        c"obj_get_field",
        o,
        i,
        c"obj_get_field: object is NULL",
        c"obj_get_field: field index out of range",
    ) else {
        return ptr::null_mut();
    };
    // SAFETY: slot is a field of the live object o.
    unsafe {
        if !checks::enabled()
            && let Some(v) = refcount::get_field_shared(slot)
        {
            return v as *mut GcObject;
        }
        refcount::get_field(slot, o as *const Header) as *mut GcObject
    }
}

/// Returns: borrowed reference to the value of field `i` of `o` (no count
/// changes), or NULL when the field is empty or on error (as obj_get_field).
/// Valid only while `o` keeps that reference (until field `i` changes or `o`
/// dies). For hot single-threaded traversals; where another thread may change
/// the field, use obj_get_field. To keep the value, obj_incref it; if another
/// thread may be collecting meanwhile, do the borrow and the obj_incref under
/// gc_lock() (or use obj_get_field): the collector relies on every owned
/// reference having come from one it could see.
/// Arguments: `o` borrowed. Thread-safe and lock-free.
#[unsafe(no_mangle)]
pub extern "C" fn obj_borrow_field(o: *const GcObject, i: usize) -> *mut GcObject {
    match slot(
        c"obj_borrow_field",
        o,
        i,
        c"obj_borrow_field: object is NULL",
        c"obj_borrow_field: field index out of range",
    ) {
        // Acquire: pairs with obj_set_field's Release store.
        Ok(slot) => slot.load(Acquire) as *mut GcObject,
        Err(_) => ptr::null_mut(),
    }
}

/// Returns: the number of reference fields of `o`; 0 for NULL (weakref
/// objects have none).
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn obj_nfields(o: *const GcObject) -> usize {
    if o.is_null() {
        return 0;
    }
    // SAFETY: non-NULL handles are live objects.
    unsafe { object::nfields(live(c"obj_nfields", o)) }
}

/// Returns: borrowed pointer to the host payload of `o` (16-byte aligned,
/// valid until `o` is freed), or NULL when `o` is NULL, its payload size is
/// 0, or it is a weakref object.
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn obj_payload(o: *mut GcObject) -> *mut c_void {
    let h = live(c"obj_payload", o);
    // SAFETY: non-NULL handles are live objects.
    if h.is_null() || unsafe { (*h).is_weakref() } {
        return ptr::null_mut();
    }
    // SAFETY: as above.
    unsafe { object::payload(h) }
}

/// Returns: the payload size of `o` in bytes, as passed at creation; 0 for
/// NULL and for weakref objects.
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn obj_payload_size(o: *const GcObject) -> usize {
    let h = live(c"obj_payload_size", o);
    // SAFETY: non-NULL handles are live objects.
    if h.is_null() || unsafe { (*h).is_weakref() } {
        return 0;
    }
    // SAFETY: as above.
    unsafe { object::payload_size(h) }
}

/// Returns: the type passed at creation (borrowed); NULL for plain objects,
/// weakref objects and NULL.
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn obj_type(o: *const GcObject) -> *const GcType {
    if o.is_null() {
        return ptr::null();
    }
    // SAFETY: non-NULL handles are live objects.
    unsafe { (*live(c"obj_type", o)).ty() }
}

/// Returns: the message of the last failing call on this thread (borrowed,
/// static storage), or NULL if no call has failed.
/// Thread-safe (per-thread state).
#[unsafe(no_mangle)]
pub extern "C" fn gc_last_error() -> *const c_char {
    error::last_message()
}

/// Returns: the status code of the last failing call on this thread, GC_OK
/// if none.
/// Thread-safe (per-thread state).
#[unsafe(no_mangle)]
pub extern "C" fn gc_last_error_code() -> c_int {
    error::last_code()
}

// -------------------------------------------------------------- collector

/// Full collection (generation 2, and so every generation).
///
/// Returns: the number of unreachable tracked objects found (collected plus
/// uncollectable), as CPython counts them: resurrected objects and untracked
/// objects freed along the way are not counted; 0 immediately when called
/// during a collection (from a finalizer, hook or callback). Afterwards,
/// returns the pool's empty pages to the system when they are at least
/// 1 MiB and a quarter of the pool (see gc_trim).
/// Thread-safe; runs finalizers, weakref callbacks, hooks and gc callbacks on
/// this thread.
#[unsafe(no_mangle)]
pub extern "C" fn gc_collect() -> i64 {
    gc::collect_generation(2)
}

/// Collects `generation` and every younger one; survivors move to the next
/// older generation.
///
/// Returns: as gc_collect; GC_ERR_INVALID unless 0 <= generation <= 2.
/// Thread-safe; runs user code as gc_collect.
#[unsafe(no_mangle)]
pub extern "C" fn gc_collect_generation(generation: c_int) -> i64 {
    gc::collect_generation(generation)
}

/// Returns: count0 (tracked allocations minus tracked deallocations since the
/// last generation-0 collection, never below 0; with those still in the
/// threads' nurseries, see obj_new), count1 (generation-0
/// collections since the last generation-1 collection), count2 (generation-1
/// collections since the last full collection).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_count() -> GcCounts {
    with_state(|st| GcCounts {
        // With the births and deaths still in the nurseries' shares.
        count0: (st.count[0] as isize)
            .saturating_add(crate::nursery::births())
            .max(0) as usize,
        count1: st.count[1],
        count2: st.count[2],
    })
}

/// Sets the automatic collection thresholds (defaults 700, 10, 10). A tracked
/// allocation adds 1 to count0 and collects when count0 then exceeds
/// threshold0 (with threshold0 = 10, the 11th allocation collects), taking the
/// oldest generation whose count exceeds its threshold, as CPython 3.12 does,
/// except that a full collection is skipped while long_lived_pending <
/// long_lived_total / 4 where long_lived_pending counts the objects promoted
/// into generation 2 since the last full collection that are still alive
/// (CPython 3.12 also counts those that died since; where every promoted
/// object lives the two rules agree). threshold0 = 0 disables automatic
/// collection.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_set_threshold(threshold0: usize, threshold1: usize, threshold2: usize) {
    with_state(|st| st.threshold = [threshold0, threshold1, threshold2]);
}

/// Returns: the automatic collection thresholds.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_threshold() -> GcThresholds {
    with_state(|st| GcThresholds {
        threshold0: st.threshold[0],
        threshold1: st.threshold[1],
        threshold2: st.threshold[2],
    })
}

/// Turns automatic collection on (the default).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_enable() {
    with_state(|st| st.enabled = true);
}

/// Turns automatic collection off; explicit gc_collect* still works.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_disable() {
    with_state(|st| st.enabled = false);
}

/// Returns: whether automatic collection is on.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_isenabled() -> bool {
    with_state(|st| st.enabled)
}

/// Returns: the cumulative figures of `generation` since the start; all
/// zeroes (and GC_ERR_INVALID in gc_last_error) for a bad generation.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_stats(generation: c_int) -> GcGenStats {
    if !(0..NUM_GENERATIONS as c_int).contains(&generation) {
        fail(
            GC_ERR_INVALID,
            c"gc_get_stats: generation must be 0, 1 or 2",
        );
        return GcGenStats::default();
    }
    with_state(|st| st.stats[generation as usize])
}

/// Returns: whether the collector tracks `o` (every object with a field or a
/// `traverse` hook, and every weakref object, from creation to death); false
/// for NULL.
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_is_tracked(o: *const GcObject) -> bool {
    // SAFETY: non-NULL handles are live objects.
    !o.is_null() && unsafe { (*live(c"gc_is_tracked", o)).is_tracked() }
}

/// Returns: whether the finalize hook of `o` has run; false for NULL.
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_is_finalized(o: *const GcObject) -> bool {
    // SAFETY: non-NULL handles are live objects.
    !o.is_null() && unsafe { (*live(c"gc_is_finalized", o)).has(FINALIZED) }
}

/// Moves every tracked object to the permanent generation, which is never
/// collected, and resets count0 (as CPython's gc.freeze). Frozen objects no
/// longer count in long_lived_pending (see gc_set_threshold); this walks
/// generation 2 once.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_freeze() {
    gc::freeze();
}

/// Moves the permanent generation back into the oldest generation.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_unfreeze() {
    gc::unfreeze();
}

/// Returns: the number of objects in the permanent generation (frozen and
/// still alive). Walks the list: O(frozen objects).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_freeze_count() -> usize {
    with_state(|st| crate::list::len(&st.permanent))
}

/// Registers `fn(phase, info, ctx)` to be called at the start and stop of
/// every collection, on the collecting thread with the heap lock held, after
/// the callbacks added before it. The same pair may be added twice (it is
/// then called twice).
///
/// Returns: GC_OK; GC_ERR_NULL if `fn` is NULL; GC_ERR_NOMEM.
/// Arguments: `ctx` is passed back untouched.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_callback_add(r#fn: GcCallbackFn, ctx: *mut c_void) -> c_int {
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_callback_add: fn is NULL");
    };
    with_state(|st| {
        if !crate::alloc::reserve(|| st.callbacks.try_reserve(1)) {
            return fail(GC_ERR_NOMEM, c"gc_callback_add: out of memory");
        }
        st.callbacks.push((f, ctx));
        GC_OK
    })
}

/// Unregisters the earliest registration of the pair (`fn`, `ctx`).
///
/// Returns: GC_OK; GC_ERR_NULL if `fn` is NULL; GC_ERR_INVALID if the pair
/// is not registered.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_callback_remove(r#fn: GcCallbackFn, ctx: *mut c_void) -> c_int {
    let Some(f) = r#fn else {
        return fail(GC_ERR_NULL, c"gc_callback_remove: fn is NULL");
    };
    with_state(|st| {
        match st
            .callbacks
            .iter()
            .position(|&(g, c)| std::ptr::fn_addr_eq(g, f) && c == ctx)
        {
            Some(i) => {
                st.callbacks.remove(i);
                GC_OK
            }
            None => fail(
                GC_ERR_INVALID,
                c"gc_callback_remove: this (fn, ctx) pair is not registered",
            ),
        }
    })
}

/// Takes the heap lock (re-entrant). Hold it while changing references kept
/// in payloads (those a `traverse` hook reports), and while turning a
/// borrowed reference (obj_borrow_field, a payload reference) into an owned
/// one with obj_incref, when other threads may collect. Every gc_lock needs
/// one gc_unlock on the same thread. Other threads' obj_set_field and
/// obj_get_field calls still change and read fields meanwhile (they take no
/// lock); a value they take out of a field and drop dies once the lock is
/// free, unless it is untracked and has no type (such objects die without
/// the lock, as ever).
/// Thread-safe; blocks while another thread collects or holds the lock.
///
/// fork(): the library installs pthread_atfork handlers, so a child forked
/// while other threads use the library gets a working heap: every object
/// with its count, the lock free, lock-free readers forgotten. fork() never
/// waits for another thread's host code (holding gc_lock, or a hook or
/// callback of a death or a collection), but it may wait briefly for
/// another thread's library work in progress to reach its next hook or its
/// end. In the child, the work a thread that did not survive left half done
/// is finished or given back: an abandoned collection's garbage returns to
/// the oldest generation (a later collection finds it again; finalizers
/// that ran never run again), deaths in progress complete at the next
/// release without rerunning the interrupted hook. References that thread's
/// host code held (a local, say) are never released, as in any fork child;
/// an object whose hook (a weakref callback, `clear` or `destroy`) was
/// interrupted is not freed in the child.
#[unsafe(no_mangle)]
pub extern "C" fn gc_lock() {
    heap::user_lock();
}

/// Releases one gc_lock taken by this thread. Without one, does nothing and
/// sets GC_ERR_INVALID in gc_last_error.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_unlock() {
    if !heap::user_unlock() {
        fail(
            GC_ERR_INVALID,
            c"gc_unlock: this thread holds no lock taken by gc_lock",
        );
    }
}

/// Turns checked mode on or off. In checked mode every handle passed in is
/// validated, freed objects are poisoned and quarantined, and use after free,
/// double decref, decref of a pointer rcgc never allocated, set_field on a
/// freed object and refcount underflow abort the process with one line on
/// stderr: `rcgc: <function>(<address>): <what>`, naming the type. Setting
/// `RCGC_CHECKS=1` in the environment has the same effect. The mode is fixed
/// by the first allocation: call this before it. Checked mode is slow (a
/// registry lookup per call, and no single-thread fast paths: the biases
/// of the heap lock and counts are never taken in it, and turning it on
/// ends them); outside it, the thread that owns the biases pays nothing
/// for it, and the others one load per call.
///
/// On error (called after the first allocation with a different value) the
/// mode is unchanged and GC_ERR_INVALID is recorded in gc_last_error.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_set_checks(on: bool) {
    if !checks::set(on) {
        fail(
            GC_ERR_INVALID,
            c"gc_set_checks: the mode is fixed once an object exists",
        );
    }
}

/// Returns: whether checked mode is on.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_checks_enabled() -> bool {
    checks::enabled()
}

// --------------------------------------------------------- weak references

/// Creates a weak reference to `target`. When the target dies (after its
/// finalizer, once it is certain not to be resurrected) the weakref is
/// cleared, then `cb(weakref, ctx)` runs once, newest weakref first, unless
/// the weakref object died first or is part of the same cyclic garbage.
/// Weakref objects are tracked objects without fields.
///
/// Returns: new reference to the weakref object, or NULL: GC_ERR_NULL if
/// `target` is NULL; GC_ERR_NOMEM.
/// Arguments: `target` borrowed; `cb` may be NULL; `ctx` passed to `cb`.
/// Thread-safe; may run a collection.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn weakref_new(
    target: *mut GcObject,
    cb: GcWeakCallback,
    ctx: *mut c_void,
) -> *mut GcObject {
    if target.is_null() {
        fail(GC_ERR_NULL, c"weakref_new: target is NULL");
        return ptr::null_mut();
    }
    let target = live(c"weakref_new", target);
    let g = heap::lock();
    // SAFETY: a NULL type is allowed.
    let wr = unsafe { gc::new_object(ptr::null(), 0, weakref::DATA_SIZE, Kind::Weakref) };
    if wr.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: lock held; wr is new; the caller holds a reference to target.
    if unsafe { weakref::attach(&mut *g.st(), wr, target, cb, ctx) }.is_err() {
        // SAFETY: wr is ours; unattached, its death is plain.
        unsafe { refcount::decref(wr) };
        fail(GC_ERR_NOMEM, c"weakref_new: out of memory");
        return ptr::null_mut();
    }
    wr as *mut GcObject
}

/// Returns: new reference to the target of the weakref `weakref`, or NULL
/// once the target is dead; NULL with GC_ERR_NULL if `weakref` is NULL, or
/// GC_ERR_TYPE if it is not a weakref object.
/// Arguments: `weakref` borrowed.
/// Thread-safe; lock-free unless the target is dying or being collected.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn weakref_get(weakref: *mut GcObject) -> *mut GcObject {
    if weakref.is_null() {
        fail(GC_ERR_NULL, c"weakref_get: weakref is NULL");
        return ptr::null_mut();
    }
    let wr = live(c"weakref_get", weakref);
    // SAFETY: non-NULL handles are live objects.
    if !unsafe { (*wr).is_weakref() } {
        fail(GC_ERR_TYPE, c"weakref_get: object is not a weakref");
        return ptr::null_mut();
    }
    // SAFETY: wr is a live weakref object.
    unsafe { weakref::get(wr) as *mut GcObject }
}

/// Returns: whether `o` is a weakref object; false for NULL.
/// Arguments: `o` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn obj_is_weakref(o: *const GcObject) -> bool {
    // SAFETY: non-NULL handles are live objects.
    !o.is_null() && unsafe { (*live(c"obj_is_weakref", o)).is_weakref() }
}

/// Returns: the number of live weakref objects pointing at `target`; 0 for
/// NULL.
/// Arguments: `target` borrowed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn weakref_count(target: *const GcObject) -> usize {
    if target.is_null() {
        return 0;
    }
    // SAFETY: lock held inside with_state; the walk runs no user code.
    with_state(|st| unsafe { weakref::count(st, live(c"weakref_count", target)) })
}

// ----------------------------------------------------------------- memory

/// Returns: the memory figures now (see GcMemStats): live objects and how
/// many of them are tracked, the bytes they take as allocated (a pool
/// block's size class, or the size rounded up to 16 for objects of more
/// than 512 bytes, untracked objects and checked mode, which have their own
/// allocation), the most that has been, the bytes obtained from the system
/// and not returned (pool pages plus those own allocations), and the limit.
/// Exact whenever no other thread is allocating or freeing; otherwise each
/// figure is a recent value. The peak is exact while one thread uses the
/// library; once several do, it may miss up to 64 KiB per thread of
/// untracked objects (counted per thread, see memory.rs) that lived only
/// between two reads of the figures. Does not wait for any lock.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_memory() -> GcMemStats {
    crate::memory::figures()
}

/// Sets a hard limit on `bytes_in_use` (0: no limit, the default; the
/// environment variable `RCGC_MEMORY_LIMIT=<bytes>[K|M|G]`, powers of 1024,
/// sets one at start, unless this is called first). An allocation
/// (`obj_new`, `obj_new_typed`, `weakref_new`) whose object would take
/// `bytes_in_use` over the limit first runs a full collection (unless one is
/// running or collection is disabled), then fails with GC_ERR_NOMEM and
/// `gc_last_error()` "...: memory limit reached" if it still does not fit;
/// a failed allocation counts nothing. Finalizers and callbacks that
/// allocate during that collection see the same limit. A limit below the
/// current use is allowed: later allocations fail until memory is freed.
/// With several threads allocating at once, each checks the figure it
/// reads, so the limit may be passed by the objects being created at that
/// moment.
///
/// Returns: GC_OK (every value is accepted; SIZE_MAX, which no use can
/// reach, reads back as 0: no limit).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_set_memory_limit(bytes: usize) -> c_int {
    crate::memory::set_limit(bytes);
    GC_OK
}

/// Returns: the memory limit in bytes, 0 when there is none.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn gc_get_memory_limit() -> usize {
    crate::memory::limit()
}

/// Returns the pool's pages that hold no live object to the system (with
/// glibc, also asks malloc to return its free memory). Never moves an
/// object; a page returned and taken again later is a fresh zeroed one.
/// The library also does this on its own, when at least 1 MiB and a
/// quarter of the pool's pages would go back: at the end of every explicit
/// full collection (`gc_collect`, `gc_collect_generation(2)`), and at the end
/// of an automatic full collection for the pages that have stayed empty
/// through the last four full collections (the pages recent garbage
/// emptied are kept: a program that builds and drops big structures in
/// turn would otherwise return and fault in the same memory over and over).
///
/// Returns: the bytes of pool pages returned to the system.
/// Thread-safe (takes the heap lock; waits for another thread's gc_lock).
#[unsafe(no_mangle)]
pub extern "C" fn gc_trim() -> usize {
    gc::trim()
}
