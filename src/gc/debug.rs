//! The collector's debug flags (`gc_set_debug`, CPython's values), the lines
//! they print on stderr, and the garbage list of `GC_DEBUG_SAVEALL`
//! (`gc.garbage`).
//!
//! Invariants:
//! - `FLAGS` is a plain setting read at the start of each step that prints or
//!   saves; it guards no other memory, so its accesses are Relaxed.
//! - The garbage list is only read or changed by the thread holding the heap
//!   lock (every accessor takes a `&Locked`), and never while user code runs
//!   with a borrow of it: `clear` takes the whole list out before releasing
//!   anything, and visits go by index, re-reading the list each time.
//! - Each entry of the list owns one reference to a live tracked object,
//!   which is in a generation list like any other live object.

use crate::heap::{Locked, NUM_GENERATIONS};
use crate::list;
use crate::object::{COLLECTED, DYING, Header, MARK};
use std::cell::UnsafeCell;
use std::ffi::{CStr, c_int};
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};
use std::time::Duration;

pub(crate) const DEBUG_STATS: c_int = 1;
pub(crate) const DEBUG_COLLECTABLE: c_int = 2;
pub(crate) const DEBUG_UNCOLLECTABLE: c_int = 4;
pub(crate) const DEBUG_SAVEALL: c_int = 32;

static FLAGS: AtomicI32 = AtomicI32::new(0);

/// `gc_set_debug`.
pub fn set_flags(flags: c_int) {
    FLAGS.store(flags, Relaxed);
}

/// `gc_get_debug`.
pub fn flags() -> c_int {
    FLAGS.load(Relaxed)
}

#[inline]
fn on(flag: c_int) -> bool {
    flags() & flag != 0
}

/// The name an object goes by in stats, dumps and debug lines: its type's
/// name, or "(object)" for plain objects, "(weakref)" for weakrefs and
/// "(unnamed)" for a type without a name.
///
/// # Safety
/// `h` is a live object.
pub unsafe fn type_name(h: *const Header) -> &'static CStr {
    // SAFETY: h is live; a type and its name outlive the type's objects
    // (API contract; the name is a C string when non-NULL).
    unsafe {
        if (*h).is_weakref() {
            return c"(weakref)";
        }
        let ty = (*h).ty();
        if ty.is_null() {
            c"(object)"
        } else if (*ty).name.is_null() {
            c"(unnamed)"
        } else {
            CStr::from_ptr((*ty).name)
        }
    }
}

/// Writes one line to stderr (errors ignored: diagnostics must not fail a
/// collection).
fn line(text: &str) {
    let mut s = String::with_capacity(text.len() + 1);
    s.push_str(text);
    s.push('\n');
    // SAFETY: writes a valid buffer to fd 2.
    unsafe { libc::write(2, s.as_ptr().cast(), s.len()) };
}

fn object_line(what: &str, h: *const Header) {
    // SAFETY: callers pass live objects.
    let name = unsafe { type_name(h) }.to_string_lossy();
    line(&format!("gc: {what} <{name} {h:p}>"));
}

/// `GC_DEBUG_STATS` at the start of a collection (CPython's lines).
pub fn collection_start(g: &Locked, generation: usize) {
    if !on(DEBUG_STATS) {
        return;
    }
    // SAFETY: lock held; no user code runs while the state is borrowed.
    let st = unsafe { &*g.st() };
    let len: Vec<usize> = (0..NUM_GENERATIONS)
        .map(|i| {
            // SAFETY: lock held.
            let heads = unsafe { crate::heap::generation_lists(g.st(), i) };
            heads.iter().map(|&h| list::len(h)).sum()
        })
        .collect();
    line(&format!("gc: collecting generation {generation}..."));
    line(&format!(
        "gc: objects in each generation: {} {} {}",
        len[0], len[1], len[2]
    ));
    line(&format!(
        "gc: objects in permanent generation: {}",
        list::len(&st.permanent)
    ));
}

/// `GC_DEBUG_STATS` at the end of a collection.
pub fn collection_done(found: usize, uncollectable: usize, elapsed: Duration) {
    if on(DEBUG_STATS) {
        line(&format!(
            "gc: done, {found} unreachable, {uncollectable} uncollectable, {:.4}s elapsed",
            elapsed.as_secs_f64()
        ));
    }
}

/// `GC_DEBUG_COLLECTABLE`: `h`, found unreachable, is about to be freed or
/// saved.
pub fn collectable(h: *const Header) {
    if on(DEBUG_COLLECTABLE) {
        object_line("collectable", h);
    }
}

/// Whether `collectable` prints anything (`GC_DEBUG_COLLECTABLE` is set).
pub fn noting_collectable() -> bool {
    on(DEBUG_COLLECTABLE)
}

/// `GC_DEBUG_UNCOLLECTABLE`: `h`, found unreachable, was kept alive by a
/// hook that held on to a reference.
pub fn uncollectable(h: *const Header) {
    if on(DEBUG_UNCOLLECTABLE) {
        object_line("uncollectable", h);
    }
}

struct Garbage(UnsafeCell<Vec<*mut Header>>);

// SAFETY: the list is only touched by the thread holding the heap lock
// (module invariants).
unsafe impl Sync for Garbage {}

static GARBAGE: Garbage = Garbage(UnsafeCell::new(Vec::new()));

/// Whether `GC_DEBUG_SAVEALL` is on: a collection's garbage is kept.
pub fn saving() -> bool {
    on(DEBUG_SAVEALL)
}

/// `GC_DEBUG_SAVEALL`, after steps 1-3 of the death order: instead of being
/// cleared and freed, the final garbage moves to `old` intact, each object
/// with one more reference, owned by the garbage list. Returns whether it
/// did (false without SAVEALL, or when the list cannot grow: then the
/// garbage is freed as usual).
///
/// # Safety
/// Lock held (`g`); `garbage` is the collector's list of final garbage
/// (live, marked `DYING | COLLECTED`), `old` a generation list.
pub unsafe fn save_garbage(_g: &Locked, garbage: *const Header, old: *const Header) -> bool {
    if !on(DEBUG_SAVEALL) {
        return false;
    }
    // SAFETY: lock held (module invariants); no user code runs below.
    let saved = unsafe { &mut *GARBAGE.0.get() };
    let n = list::len(garbage);
    if !crate::alloc::reserve(|| saved.try_reserve(n)) {
        return false;
    }
    let mut h = list::next(garbage);
    while !std::ptr::eq(h, garbage) {
        collectable(h);
        // SAFETY: h is live garbage, ours alone until it is back in a
        // generation (see Header::set_exclusive).
        unsafe {
            (*h).unset(DYING | COLLECTED | MARK);
            crate::object::incref_raw(h);
        }
        saved.push(h);
        h = list::next(h);
    }
    list::merge(garbage, old);
    true
}

/// `gc_visit_garbage`: `f` on each saved object, oldest first, until it
/// returns non-zero (which is returned).
pub fn visit_garbage(_g: &Locked, mut f: impl FnMut(*mut Header) -> c_int) -> c_int {
    let mut i = 0;
    loop {
        // SAFETY: lock held; the borrow ends before `f` runs.
        let Some(&h) = (unsafe { &*GARBAGE.0.get() }).get(i) else {
            return 0;
        };
        let r = f(h);
        if r != 0 {
            return r;
        }
        i += 1;
    }
}

/// `gc_clear_garbage`: releases the list's references; returns how many.
pub fn clear_garbage(g: &Locked) -> usize {
    // SAFETY: lock held; the list is taken out before any user code runs.
    let saved = std::mem::take(unsafe { &mut *GARBAGE.0.get() });
    let n = saved.len();
    for h in saved {
        // SAFETY: the list owned one reference to each entry.
        unsafe { crate::refcount::decref_locked(g, h) };
    }
    n
}
