//! Allocation failure: a scenario that touches every allocating path (pool
//! objects, system objects, large objects, weakref objects and the weakref
//! table, the callback list, automatic and explicit collections) runs once
//! per N with the N-th allocation made to fail, until it completes with no
//! failure. Every failing call must return NULL / GC_ERR_NOMEM with
//! gc_last_error set, and afterwards the heap must be consistent: a full
//! collection frees exactly what the scenario dropped, every object is
//! destroyed exactly once, and the counts return to zero.
//!
//! Shared by tests/alloc_failure.rs (unchecked) and
//! tests/alloc_failure_checked.rs (checked mode, which also allocates
//! registry entries); each is one process with one global heap.

use super::payload_refs;
use rcgc::*;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static CREATED: AtomicUsize = AtomicUsize::new(0);
static DESTROYED: AtomicUsize = AtomicUsize::new(0);
static WEAK_CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn destroy(_: *mut GcObject) {
    DESTROYED.fetch_add(1, Relaxed);
}
unsafe extern "C" fn weak_cb(_: *mut GcObject, _: *mut c_void) {
    WEAK_CALLS.fetch_add(1, Relaxed);
}
unsafe extern "C" fn gc_cb(_: GcPhase, _: *const GcCallbackInfo, _: *mut c_void) {}

static NODE: GcType = GcType {
    name: c"Node".as_ptr(),
    traverse: None,
    clear: None,
    finalize: None,
    destroy: Some(destroy),
};

static MANY: GcType = GcType {
    name: c"Many".as_ptr(),
    traverse: Some(payload_refs::traverse),
    clear: Some(payload_refs::clear),
    finalize: None,
    destroy: Some(destroy),
};

/// Handles the scenario owns; dropped at the end of each attempt.
#[derive(Default)]
struct Owned(Vec<*mut GcObject>);

impl Owned {
    /// Keeps `o` (counting it as created) or checks the failure was reported
    /// as out of memory.
    fn keep(&mut self, o: *mut GcObject, typed: bool) -> Result<*mut GcObject, ()> {
        if o.is_null() {
            assert_eq!(gc_last_error_code(), GC_ERR_NOMEM);
            assert!(!gc_last_error().is_null());
            return Err(());
        }
        if typed {
            CREATED.fetch_add(1, Relaxed);
        }
        self.0.push(o);
        Ok(o)
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        for &o in self.0.iter().rev() {
            obj_decref(o);
        }
    }
}

/// Runs the scenario; Err when an injected failure stopped it (after the
/// failing call reported it correctly).
fn scenario(own: &mut Owned) -> Result<(), ()> {
    let nomem = |code: i32| {
        if code == GC_OK {
            Ok(())
        } else {
            assert_eq!(code, GC_ERR_NOMEM);
            Err(())
        }
    };
    nomem(gc_callback_add(Some(gc_cb), ptr::null_mut()))?;
    let a = own.keep(obj_new_typed(&NODE, 2, 0), true)?; // pool
    let b = own.keep(obj_new_typed(&NODE, 2, 24), true)?; // pool, prefix + payload
    let leaf = own.keep(obj_new_typed(&NODE, 0, 8), true)?; // untracked: system
    let big = own.keep(obj_new_typed(&NODE, 100, 0), true)?; // beyond the pool
    assert_eq!(obj_set_field(a, 0, b), GC_OK);
    assert_eq!(obj_set_field(b, 0, a), GC_OK); // a <-> b cycle
    assert_eq!(obj_set_field(b, 1, leaf), GC_OK);
    assert_eq!(obj_set_field(big, 0, a), GC_OK);
    // A payload that holds `a` payload_refs::REFS times, in the cycle
    // through a's second field: each collection must subtract every one.
    let many = own.keep(obj_new_typed(&MANY, 0, payload_refs::PAYLOAD), true)?;
    payload_refs::hold(many, a);
    assert_eq!(obj_set_field(a, 1, many), GC_OK);
    let w1 = own.keep(weakref_new(a, Some(weak_cb), ptr::null_mut()), false)?;
    let _w2 = own.keep(weakref_new(leaf, Some(weak_cb), ptr::null_mut()), false)?;
    // Enough tracked allocations to run automatic collections.
    for _ in 0..30 {
        let o = own.keep(obj_new_typed(&NODE, 1, 0), true)?;
        assert_eq!(obj_set_field(o, 0, big), GC_OK);
    }
    assert!(gc_collect() >= 0);
    let got = weakref_get(w1);
    assert_eq!(got, a);
    obj_decref(got);
    Ok(())
}

/// Runs the scenario with the N-th allocation failing, for every N until it
/// completes; returns how many allocations it makes.
pub fn fail_every_allocation_in_turn() -> usize {
    // The straight creation paths count too: once warmed up, the next
    // creation is the one that fails.
    for _ in 0..100 {
        obj_decref(obj_new(2, 0));
        obj_decref(obj_new(0, 16));
    }
    for (nfields, payload) in [(2, 0), (0, 16)] {
        rcgc::test_fail_allocation_after(1);
        assert!(obj_new(nfields, payload).is_null());
        assert_eq!(gc_last_error_code(), GC_ERR_NOMEM);
    }
    rcgc::test_fail_allocation_after(0);
    gc_set_threshold(10, 2, 2);
    let mut completed = false;
    let mut n = 1;
    while !completed {
        CREATED.store(0, Relaxed);
        DESTROYED.store(0, Relaxed);
        WEAK_CALLS.store(0, Relaxed);
        rcgc::test_fail_allocation_after(n);
        {
            let mut own = Owned::default();
            completed = scenario(&mut own).is_ok();
            rcgc::test_fail_allocation_after(0);
            // `own` drops every handle here: the a <-> b cycle is garbage.
        }
        while gc_callback_remove(Some(gc_cb), ptr::null_mut()) == GC_OK {}
        gc_collect();
        assert_eq!(
            DESTROYED.load(Relaxed),
            CREATED.load(Relaxed),
            "failure at allocation {n}: not every object was freed exactly once"
        );
        let c = gc_get_count();
        assert_eq!(
            (c.count0, c.count1, c.count2),
            (0, 0, 0),
            "at allocation {n}"
        );
        n += 1;
        assert!(n < 10_000, "the scenario never completed");
    }
    n - 1
}
