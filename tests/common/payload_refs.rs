//! A host type that keeps `REFS` references in its payload, reported by its
//! `traverse` hook and released by its `clear` hook: more than a traverse
//! batch holds without an allocation (src/object.rs `Traversed`), so that a
//! failed allocation there makes the collector read them in batches.

use rcgc::*;
use std::ffi::c_void;
use std::ptr;

/// References the payload holds (more than twice the inline buffer).
pub const REFS: usize = 40;

/// The payload size of such an object.
pub const PAYLOAD: usize = REFS * std::mem::size_of::<*mut GcObject>();

/// The `traverse` hook: every non-NULL payload reference.
pub unsafe extern "C" fn traverse(o: *mut GcObject, visit: GcVisitFn, ctx: *mut c_void) {
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

/// The `clear` hook: drops every payload reference.
pub unsafe extern "C" fn clear(o: *mut GcObject) {
    let refs = obj_payload(o) as *mut *mut GcObject;
    for i in 0..REFS {
        // SAFETY: the payload holds REFS pointers, each a reference.
        unsafe { obj_decref(std::mem::replace(&mut *refs.add(i), ptr::null_mut())) };
    }
}

/// Fills the payload of `o` (an object of such a type, payload `PAYLOAD`
/// bytes) with `REFS` new references to `target`.
pub fn hold(o: *mut GcObject, target: *mut GcObject) {
    let refs = obj_payload(o) as *mut *mut GcObject;
    for i in 0..REFS {
        obj_incref(target);
        // SAFETY: the payload holds REFS pointers.
        unsafe { *refs.add(i) = target };
    }
}
