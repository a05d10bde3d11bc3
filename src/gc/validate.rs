//! Debug-only checks of the collector's invariants between phases (compiled
//! to nothing in release builds; every test build runs them).
//!
//! Checked: each list is a well-formed circular doubly linked list with no
//! flag bits left in its links, and every member is tracked and alive; the
//! result of a reachability pass is closed; `OLD` marks exactly `old`.

use crate::list;
use crate::object::Header;

/// Checks that every list in `heads` is well formed.
pub fn lists(heads: &[*const Header]) {
    if !cfg!(debug_assertions) {
        return;
    }
    for &head in heads {
        let mut p = head;
        let mut n = list::next(head) as *const Header;
        loop {
            assert_eq!(n as usize & 15, 0, "flag bits left in a next link");
            assert_eq!(list::prev(n) as *const Header, p, "broken back link");
            if n == head {
                break;
            }
            // SAFETY: list members are live objects.
            unsafe {
                assert!((*n).is_tracked(), "untracked object in a generation");
                assert!((*n).count() > 0, "object with count 0 in a list");
            }
            p = n;
            n = list::next(n);
        }
    }
}

/// Checks that no object in `reachable` references an object in
/// `unreachable` (the result of a reachability pass is closed).
pub fn closed(reachable: *const Header, unreachable: *const Header) {
    if !cfg!(debug_assertions) {
        return;
    }
    let mut dead = std::collections::HashSet::new();
    let mut h = list::next(unreachable);
    while !std::ptr::eq(h, unreachable) {
        dead.insert(h as usize);
        h = list::next(h);
    }
    let mut h = list::next(reachable);
    while !std::ptr::eq(h, reachable) {
        // SAFETY: lock held; members are live.
        unsafe {
            crate::object::for_each_child(h, |c| {
                assert!(
                    !dead.contains(&(c as usize)),
                    "a reachable object references an unreachable one"
                )
            })
        };
        h = list::next(h);
    }
}

/// Checks that `old` holds every object marked `OLD`, `old_len` of them,
/// and those marked `DIRTY` (and nothing else), each marked on its pool
/// page.
///
/// # Safety
/// Lock held; no collection is scanning.
pub unsafe fn old(st: *mut crate::heap::State) {
    if !cfg!(debug_assertions) {
        return;
    }
    // SAFETY: caller's contract; list members are live.
    unsafe {
        let old = &raw const (*st).old;
        let (mut marked, mut dirty_in_place) = (0, 0);
        for i in 0..crate::heap::NUM_GENERATIONS {
            for head in crate::heap::generation_lists(st, i) {
                let mut h = list::next(head);
                while !std::ptr::eq(h, head) {
                    let is_old = (*h).has(crate::object::OLD);
                    let is_dirty = (*h).has(crate::object::DIRTY);
                    assert!(
                        !(is_old || is_dirty) || std::ptr::eq(head, old),
                        "OLD or DIRTY set outside `old`"
                    );
                    assert!(
                        is_old != is_dirty || !std::ptr::eq(head, old),
                        "an object in `old` without OLD or DIRTY, or with both"
                    );
                    marked += is_old as usize;
                    dirty_in_place += is_dirty as usize;
                    h = list::next(h);
                }
            }
        }
        assert_eq!(
            marked,
            (*st).old_len,
            "old_len is not the number of OLD objects"
        );
        assert_eq!(
            dirty_in_place,
            (*st).pool.marked_count(),
            "the pool's marks are not the DIRTY objects"
        );
    }
}
