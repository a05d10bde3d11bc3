//! A `traverse` hook that reports more references than the collector's
//! buffer holds without an allocation (object.rs `Traversed`), with that
//! allocation failing (test hook): the collector then reads the hook's
//! references in batches, calling it again for each. Every collection must
//! still count each reference exactly once: a missed one would leave the
//! cycle uncollected, a counted twice would make it look referenced from
//! outside. One test in its own process: the failure hook is global.

use rcgc::*;
use std::ffi::c_void;
use std::ptr;

/// References the payload holds (more than twice the inline buffer).
const REFS: usize = 40;

unsafe extern "C" fn traverse(o: *mut GcObject, visit: GcVisitFn, ctx: *mut c_void) {
    let refs = obj_payload(o) as *mut *mut GcObject;
    for i in 0..REFS {
        // SAFETY: the payload holds REFS pointers.
        let c = unsafe { *refs.add(i) };
        if !c.is_null() {
            // SAFETY: the library's visitor, with its context.
            unsafe { visit(c, ctx) };
        }
    }
}

unsafe extern "C" fn clear(o: *mut GcObject) {
    let refs = obj_payload(o) as *mut *mut GcObject;
    for i in 0..REFS {
        // SAFETY: the payload holds REFS pointers, each a reference.
        unsafe { obj_decref(std::mem::replace(&mut *refs.add(i), ptr::null_mut())) };
    }
}

static MANY: GcType = GcType {
    name: c"Many".as_ptr(),
    traverse: Some(traverse),
    clear: Some(clear),
    finalize: None,
    destroy: None,
};

/// A `MANY` object whose payload holds `target` REFS times, and which
/// `target`'s field 0 holds: a cycle of two. Returns the `MANY` object.
fn cycle_through_payload(target: *mut GcObject) -> *mut GcObject {
    let many = obj_new_typed(&MANY, 0, REFS * std::mem::size_of::<*mut GcObject>());
    assert!(!many.is_null());
    let refs = obj_payload(many) as *mut *mut GcObject;
    for i in 0..REFS {
        obj_incref(target);
        // SAFETY: the payload holds REFS pointers.
        unsafe { *refs.add(i) = target };
    }
    assert_eq!(obj_set_field(target, 0, many), GC_OK);
    many
}

#[test]
fn traverse_read_in_batches_counts_each_reference_once() {
    gc_disable();
    // The n-th allocation of the collection fails, for each n up to well
    // past the ones a collection of this heap makes.
    for n in 1..=8 {
        // Garbage: nothing outside the cycle holds it.
        let a = obj_new(1, 0);
        obj_decref(cycle_through_payload(a));
        obj_decref(a);
        // Reachable: a reference from outside keeps it.
        let kept = obj_new(1, 0);
        let kept_many = cycle_through_payload(kept);
        obj_decref(kept_many);

        rcgc::test_fail_allocation_after(n);
        let found = gc_collect();
        rcgc::test_fail_allocation_after(0);
        assert_eq!(found, 2, "allocation {n} failing: the garbage cycle");
        assert_eq!(obj_refcount(kept), 1 + REFS, "allocation {n}");
        // Nothing else changed: a second collection finds nothing.
        assert_eq!(gc_collect(), 0, "allocation {n}");
        obj_decref(kept);
        assert_eq!(gc_collect(), 2, "allocation {n}: the released cycle");
    }
}
