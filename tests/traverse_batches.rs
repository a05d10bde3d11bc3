//! A `traverse` hook that reports more references than the collector's
//! buffer holds without an allocation (object.rs `Traversed`), with that
//! allocation failing (test hook): the collector then reads the hook's
//! references in batches, calling it again for each. Every collection must
//! still count each reference exactly once: a missed one would leave the
//! cycle uncollected, a counted twice would make it look referenced from
//! outside. One test in its own process: the failure hook is global.

#[path = "common/payload_refs.rs"]
mod payload_refs;

use payload_refs::REFS;
use rcgc::*;

static MANY: GcType = GcType {
    name: c"Many".as_ptr(),
    traverse: Some(payload_refs::traverse),
    clear: Some(payload_refs::clear),
    finalize: None,
    destroy: None,
};

/// A `MANY` object whose payload holds `target` REFS times, and which
/// `target`'s field 0 holds: a cycle of two. Returns the `MANY` object.
fn cycle_through_payload(target: *mut GcObject) -> *mut GcObject {
    let many = obj_new_typed(&MANY, 0, payload_refs::PAYLOAD);
    assert!(!many.is_null());
    payload_refs::hold(many, target);
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
