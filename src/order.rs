//! The order objects were made in: when it proves that a collection's
//! members hold no cycle, the collection needs no scan.
//!
//! Number the tracked objects in the order they were made. A reference
//! from an object to one made before it points *back*; any other points
//! *forward*. Going round a cycle, the numbers cannot fall at every step:
//! every cycle holds a forward reference. So if no member of a
//! collection's set holds a forward reference, the references among the
//! members form no cycle, and the collection finds nothing: a member that
//! no other member references has all its count from outside (a member's
//! count is at least 1), so it is reachable, and by induction down the
//! references so is every member. The collection then only moves the
//! members on, as a scan that found nothing would (gc/mod.rs `promote_all`).
//!
//! Programs that build their data children first and never change it
//! afterwards (binary-trees; most immutable structures) make only
//! backward references, and their collections cost a walk at most.
//!
//! How the references are told apart, cheaply and conservatively:
//! - `LAST` is the tracked object made last, while one thread owns the
//!   counts (bias.rs). A store of `value` into a field of the object `LAST`
//!   names, other than itself, points back (every other object was made
//!   before it). Every other store may point forward: it sets every bit of
//!   `FORWARD`, since the store does not know which generation its holder
//!   is in.
//! - `FORWARD` has a bit per place objects live in (generation 0,
//!   generation 1, generation 2 with `old` and `dirty`, the permanent
//!   generation): set when an object there may hold a forward reference.
//!   A collection of generations 0..=g moves the bits of its members to
//!   where its survivors go (`collecting`); freezing and unfreezing move
//!   them as they move objects. An object that comes back into a
//!   generation with the references it held (a resurrection, a fork
//!   child's abandoned garbage) sets the bits of every place.
//! - A type with a `traverse` hook holds references the library never sees
//!   stored: its first object sets `UNSEEN`, for good.
//!
//! The proof holds only while one thread owns the counts: `LAST` is kept
//! by that thread's creations alone, and its stores are the only ones that
//! may skip setting `FORWARD`. Another thread that makes an object or
//! changes a count revokes that bias for good first (bias.rs), and a
//! collection uses the proof only while its own thread owns the counts,
//! checked mode off (no bias then) and no death under way.
//!
//! Invariant: whenever a place holds an object with a forward reference to
//! an object in the same collection set, its bit of `FORWARD` is set, or
//! `UNSEEN` is, or the counts bias has been revoked.

use crate::object::{GcType, Header};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};

/// `FORWARD` bits: generations 0, 1, 2 (with `old` and `dirty`), and the
/// permanent generation.
const GEN: [u8; 3] = [1, 2, 4];
const FROZEN: u8 = 8;
const EVERYWHERE: u8 = 15;

static FORWARD: AtomicU8 = AtomicU8::new(0);
static LAST: AtomicUsize = AtomicUsize::new(0);
static UNSEEN: AtomicBool = AtomicBool::new(false);

/// A tracked object of type `ty` is made (under the heap lock, before its
/// creator returns it): it becomes `LAST`.
///
/// # Safety
/// `ty` is NULL or a valid `GcType`.
#[inline(always)]
pub unsafe fn born(h: *const Header, ty: *const GcType) {
    LAST.store(h as usize, Relaxed);
    // SAFETY: caller's contract.
    if !ty.is_null() && unsafe { (*ty).traverse.is_some() } {
        UNSEEN.store(true, Relaxed);
    }
}

/// The owner of the counts stores `value` (not NULL) in a field of
/// `holder`.
#[inline(always)]
pub fn stored_owned(holder: *const Header, value: *const Header) {
    if holder as usize != LAST.load(Relaxed) || holder == value {
        FORWARD.store(EVERYWHERE, Relaxed);
    }
}

/// Any other store of a reference into a field, or objects coming back
/// into a generation with the references they hold.
#[inline]
pub fn stored_elsewhere() {
    if FORWARD.load(Relaxed) != EVERYWHERE {
        FORWARD.store(EVERYWHERE, Relaxed);
    }
}

/// At the start of a collection of generations 0..=`generation`, its
/// members gathered: whether they may hold a cycle. Their bits move to the
/// place their survivors go (the next generation; generation 2 for a
/// full collection). Lock held.
pub fn collecting(generation: usize) -> bool {
    let bits = FORWARD.load(Relaxed);
    let members: u8 = GEN[..=generation].iter().sum();
    let into = GEN[(generation + 1).min(GEN.len() - 1)];
    let moved = if bits & members != 0 { into } else { 0 };
    FORWARD.store(bits & !members | moved, Relaxed);
    bits & members != 0 || UNSEEN.load(Relaxed)
}

/// `gc_freeze`: every generation's objects become permanent. Lock held.
pub fn frozen() {
    let bits = FORWARD.load(Relaxed);
    let moved = if bits & !FROZEN != 0 { FROZEN } else { 0 };
    FORWARD.store(bits & FROZEN | moved, Relaxed);
}

/// `gc_unfreeze`: the permanent generation joins generation 2. Lock held.
pub fn unfrozen() {
    let bits = FORWARD.load(Relaxed);
    let moved = if bits & FROZEN != 0 { GEN[2] } else { 0 };
    FORWARD.store(bits & !FROZEN | moved, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the statics are the process's.
    #[test]
    fn bits_move_with_the_objects() {
        FORWARD.store(0, Relaxed);
        let a = 0x1000 as *const Header;
        let b = 0x2000 as *const Header;
        // SAFETY: no type.
        unsafe { born(a, std::ptr::null()) };
        stored_owned(a, b);
        assert_eq!(
            FORWARD.load(Relaxed),
            0,
            "a store into the newest object points back"
        );
        stored_owned(a, a);
        assert_eq!(
            FORWARD.load(Relaxed),
            EVERYWHERE,
            "a reference to itself is a cycle"
        );
        FORWARD.store(0, Relaxed);
        stored_owned(b, a);
        assert_eq!(FORWARD.load(Relaxed), EVERYWHERE, "b is not the newest");
        FORWARD.store(GEN[0], Relaxed);
        assert!(collecting(0));
        assert_eq!(FORWARD.load(Relaxed), GEN[1]);
        assert!(!collecting(0));
        assert!(collecting(1));
        assert_eq!(FORWARD.load(Relaxed), GEN[2]);
        frozen();
        assert_eq!(FORWARD.load(Relaxed), FROZEN);
        assert!(!collecting(2));
        unfrozen();
        assert!(collecting(2));
        assert_eq!(
            FORWARD.load(Relaxed),
            GEN[2],
            "a full collection's survivors stay"
        );
        FORWARD.store(0, Relaxed);
    }
}
