//! Whether object creation may take its straight paths: one byte that
//! holds every reason it may not, so that `obj_new`'s common case tests
//! one byte instead of three settings owned by three modules.
//!
//! Invariant: a reason's bit is set whenever its condition may hold:
//! - `CHECKS`: checked mode is not known to be off for good (checks.rs,
//!   cleared once, when the mode is fixed OFF, and never set again);
//! - `LIMIT`: a memory limit may be set, or `RCGC_MEMORY_LIMIT` has not
//!   been read yet (memory.rs, after every change of the limit);
//! - `FAILURE`: a failure injection is armed (alloc.rs, test hook).
//!
//! A bit may stay set while its condition no longer holds (the straight
//! path is then merely not taken); the owners keep it from being clear
//! while the condition holds. A change races with creations on other
//! threads as a change of the setting itself always did: a creation that
//! read the byte before the change completes as before it.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed, Ordering::SeqCst};

/// A reason creation must take the general path (a bit of `CLOSED`).
#[derive(Clone, Copy)]
pub(crate) struct Reason(u8);

pub(crate) const CHECKS: Reason = Reason(1);
pub(crate) const LIMIT: Reason = Reason(2);
pub(crate) const FAILURE: Reason = Reason(4);

static CLOSED: AtomicU8 = AtomicU8::new(CHECKS.0 | LIMIT.0);

/// Whether no reason holds (one load).
#[inline(always)]
pub(crate) fn open() -> bool {
    CLOSED.load(Relaxed) == 0
}

/// Makes the bit of `reason` say `holds(now)`, where `now` is read by
/// `read` after the bit changed, until two reads agree: a concurrent change
/// of the setting is then followed by its own thread's call, whose bit
/// write comes after this one's. SeqCst: the bit writes and the reads of
/// the setting (the callers' stores of it are SeqCst too) fall in one
/// order.
pub(crate) fn follow<T: PartialEq + Copy>(
    reason: Reason,
    read: impl Fn() -> T,
    holds: impl Fn(T) -> bool,
) {
    loop {
        let now = read();
        if holds(now) {
            CLOSED.fetch_or(reason.0, SeqCst);
        } else {
            CLOSED.fetch_and(!reason.0, SeqCst);
        }
        if read() == now {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn follow_sets_and_clears_one_bit() {
        // A reason bit no module uses, so the test does not disturb them.
        const SPARE: Reason = Reason(0x80);
        let setting = AtomicUsize::new(5);
        let read = || setting.load(SeqCst);
        follow(SPARE, read, |n| n != 0);
        assert_ne!(CLOSED.load(SeqCst) & SPARE.0, 0);
        assert!(!open());
        setting.store(0, SeqCst);
        follow(SPARE, read, |n| n != 0);
        assert_eq!(CLOSED.load(SeqCst) & SPARE.0, 0);
    }
}
