//! The order objects were made in: when it proves that a collection's
//! members hold no cycle, the collection needs no scan.
//!
//! Number the tracked objects in the order they were made. A reference
//! from an object to one made before it points *back*; one to an object
//! made after it points *forward*. Going round a cycle, the numbers can
//! neither rise at every step nor fall at every step: every cycle holds a
//! reference of each kind (a reference to itself counts as both). So if
//! the members of a collection's set hold only references of one kind, the
//! references among them form no cycle, and the collection finds nothing:
//! a member that no other member references has all its count from
//! outside (a member's count is at least 1), so it is reachable, and by
//! induction down the references so is every member. The collection then
//! only moves the members on, as a scan that found nothing would
//! (gc/mod.rs `promote_all`).
//!
//! Programs that build their data children first (binary-trees; most
//! immutable structures) make only backward references; programs that
//! make each object and store it at once into an older one (a parent
//! first, then its children) make only forward ones. Their collections
//! cost a walk at most.
//!
//! How the references are told apart, cheaply and conservatively:
//! - `LAST` and `PREV` are the two tracked objects made last (`LAST` the
//!   newest), while one thread owns the counts (bias.rs). A store that
//!   involves one of them can often be placed: into `LAST`, or into
//!   `PREV` of anything but `LAST`, it points back; of `LAST` or `PREV`
//!   into anything older, it points forward. Any other store may point
//!   either way.
//! - `DIRECTIONS` has, for each kind of reference, a bit per place objects
//!   live in (generation 0, generation 1, generation 2 with `old` and
//!   `dirty`, the permanent generation): set when an object there may hold
//!   a reference of that kind. A store sets its kind's bits for every
//!   place, since it does not know which generation its holder is in. A
//!   collection of generations 0..=g moves the bits of its members to where
//!   its survivors go (`collecting`); freezing and unfreezing move them as
//!   they move objects. An object that comes back into a generation with
//!   the references it held (a resurrection, a fork child's abandoned
//!   garbage) sets every bit.
//! - A type with a `traverse` hook holds references the library never sees
//!   stored: while any object of such a type lives (`UNSEEN` counts them,
//!   at creation and at the `destroy` step, both under the heap lock), no
//!   collection uses the proof. Once the last one is gone, the references
//!   left were all stored through fields, and the bits hold again.
//!
//! The proof holds only while one thread owns the counts: `LAST` and `PREV`
//! are kept by that thread's creations alone, and only its stores may set
//! fewer than every bit. Another thread that makes an object or changes a
//! count revokes that bias for good first (bias.rs), and a collection uses
//! the proof only while its own thread owns the counts, checked mode off
//! (no bias then) and no death under way.
//!
//! Invariant: whenever an object in a place holds a reference of a kind,
//! that kind's bit for the place is set, or `UNSEEN` is not zero, or the
//! counts bias has been revoked.

use crate::object::{GcType, Header, traverses};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed};

/// The places' bits in a nibble: generations 0, 1, 2 (with `old` and
/// `dirty`), and the permanent generation.
const GEN: [u8; 3] = [1, 2, 4];
const GENERATIONS: u8 = 7;
const FROZEN: u8 = 8;
/// `DIRECTIONS`: the low nibble for forward references, the high one for
/// backward ones.
const FORWARD: u8 = 0x0f;
const BACK: u8 = 0xf0;
const BOTH: u8 = FORWARD | BACK;

static DIRECTIONS: AtomicU8 = AtomicU8::new(0);
static LAST: AtomicUsize = AtomicUsize::new(0);
static PREV: AtomicUsize = AtomicUsize::new(0);
/// Live objects of types with a `traverse` hook. Changed under the heap
/// lock only.
static UNSEEN: AtomicUsize = AtomicUsize::new(0);

/// A tracked object of type `ty` is made (under the heap lock, before its
/// creator returns it): it becomes `LAST`.
///
/// # Safety
/// `ty` is NULL or a valid `GcType`.
#[inline(always)]
pub unsafe fn born(h: *const Header, ty: *const GcType) {
    PREV.store(LAST.load(Relaxed), Relaxed);
    LAST.store(h as usize, Relaxed);
    // SAFETY: caller's contract.
    if unsafe { traverses(ty) } {
        UNSEEN.store(UNSEEN.load(Relaxed) + 1, Relaxed);
    }
}

/// An object of type `ty` dies (its `destroy` step, under the heap lock).
///
/// # Safety
/// `ty` is NULL or a valid `GcType`.
#[inline]
pub unsafe fn died(ty: *const GcType) {
    // SAFETY: caller's contract.
    if unsafe { traverses(ty) } {
        UNSEEN.store(UNSEEN.load(Relaxed).wrapping_sub(1), Relaxed);
    }
}

/// The owner of the counts stores `value` (not NULL) in a field of
/// `holder`. (Plain load and store: only this thread writes the bits
/// while it owns the counts, and nothing reads them once it does not.)
#[inline(always)]
pub fn stored_owned(holder: *const Header, value: *const Header) {
    let bits = DIRECTIONS.load(Relaxed);
    if bits == BOTH {
        return; // (mostly: a program that stores both ways)
    }
    let kind = place(holder as usize, value as usize, &LAST, &PREV);
    if bits & kind != kind {
        DIRECTIONS.store(bits | kind, Relaxed);
    }
}

/// The kind of a reference from `h` to `v`, given the two objects made
/// last: `BACK`, `FORWARD`, or `BOTH` where the order does not say (and
/// for a reference to itself). `prev` is read only where it matters.
#[inline(always)]
fn place(h: usize, v: usize, last: &AtomicUsize, prev: &AtomicUsize) -> u8 {
    let last = last.load(Relaxed);
    if h == last {
        return if v == h { BOTH } else { BACK };
    }
    let prev = prev.load(Relaxed);
    if h == v {
        BOTH
    } else if h == prev {
        if v == last { FORWARD } else { BACK }
    } else if v == last || v == prev {
        FORWARD
    } else {
        BOTH
    }
}

/// Any other store of a reference into a field, or objects coming back
/// into a generation with the references they hold.
#[inline]
pub fn stored_elsewhere() {
    if DIRECTIONS.load(Relaxed) != BOTH {
        DIRECTIONS.store(BOTH, Relaxed);
    }
}

/// Moves the bits of `from` (a set of places) to the place `into`, in both
/// nibbles.
fn moved(bits: u8, from: u8, into: u8) -> u8 {
    let mut out = bits & !(from | from << 4);
    if bits & from != 0 {
        out |= into;
    }
    if bits >> 4 & from != 0 {
        out |= into << 4;
    }
    out
}

/// At the start of a collection of generations 0..=`generation`, its
/// members gathered: whether they may hold a cycle. Their bits move to the
/// place their survivors go (the next generation; generation 2 for a
/// full collection). Lock held.
pub fn collecting(generation: usize) -> bool {
    let (may_cycle, bits) = collected(DIRECTIONS.load(Relaxed), generation);
    DIRECTIONS.store(bits, Relaxed);
    may_cycle || UNSEEN.load(Relaxed) != 0
}

/// `collecting` on the bits `bits`: whether the members hold both kinds,
/// and the bits after.
fn collected(bits: u8, generation: usize) -> (bool, u8) {
    let members: u8 = GEN[..=generation].iter().sum();
    let into = GEN[(generation + 1).min(GEN.len() - 1)];
    (
        bits & members != 0 && bits >> 4 & members != 0,
        moved(bits, members, into),
    )
}

/// `gc_freeze`: every generation's objects become permanent. Lock held.
pub fn frozen() {
    let bits = DIRECTIONS.load(Relaxed);
    DIRECTIONS.store(moved(bits, GENERATIONS, FROZEN), Relaxed);
}

/// `gc_unfreeze`: the permanent generation joins generation 2. Lock held.
pub fn unfrozen() {
    let bits = DIRECTIONS.load(Relaxed);
    DIRECTIONS.store(moved(bits, FROZEN, GEN[2]), Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_placed_by_the_objects_made_last() {
        let (a, b, c, d) = (0x1000, 0x2000, 0x3000, 0x4000);
        // c made last, b before it; a and d older.
        let (last, prev) = (AtomicUsize::new(c), AtomicUsize::new(b));
        let kind = |h, v| place(h, v, &last, &prev);
        assert_eq!(kind(c, a), BACK, "into the newest");
        assert_eq!(kind(b, a), BACK, "into the one before, of an older one");
        assert_eq!(kind(b, c), FORWARD, "of the newest into the one before");
        assert_eq!(kind(a, c), FORWARD, "of the newest into an older one");
        assert_eq!(kind(a, b), FORWARD, "of the one before into an older one");
        assert_eq!(kind(c, c), BOTH, "a reference to itself is a cycle");
        assert_eq!(kind(b, b), BOTH);
        assert_eq!(kind(a, d), BOTH, "two older ones");
    }

    #[test]
    fn bits_move_with_the_objects() {
        let (g0, g1, g2) = (GEN[0], GEN[1], GEN[2]);
        let both = |p: u8| p | p << 4;
        assert_eq!(
            collected(g0 | g1 << 4, 0),
            (false, both(g1)),
            "forward in 0, back in 1: no cycle among generation 0"
        );
        assert_eq!(collected(both(g1), 1), (true, both(g2)));
        assert_eq!(collected(both(g0), 1), (true, both(g2)));
        assert_eq!(
            collected(both(g2), 2),
            (true, both(g2)),
            "a full collection's survivors stay"
        );
        assert_eq!(collected(g2 << 4, 0), (false, g2 << 4), "nothing young");
        assert_eq!(moved(both(g0 | g2), GENERATIONS, FROZEN), both(FROZEN));
        assert_eq!(moved(both(FROZEN) | g1, FROZEN, g2), both(g2) | g1);
    }
}
