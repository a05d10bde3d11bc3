//! Safe reclamation of objects that have had weakrefs, for the lock-free
//! `weakref_get` (which reads a target's header without the heap lock), and
//! of any object whose count reaches zero while a lock-free section
//! (sections.rs: `obj_get_field` and `obj_set_field` of threads that do not
//! own the counts) is in progress: a section's slot holds the epoch it
//! began in, and counts as a reader here.
//!
//! A reader announces itself in one of `SLOTS` reader slots (the global
//! epoch it saw) for the few instructions it looks at a target; a dead
//! object's memory is retired with a tag (the epoch at its retirement), and
//! is released, under the heap lock, once no slot holds an epoch at or
//! below its tag. The epoch advances only when retired blocks are
//! released: in batches (refcount.rs `free` releases once `RETIRE_BATCH`
//! blocks wait), so a death costs a link in the list, not a write of a
//! line every reader reads. Readers never wait for the heap lock (nor for anything but a
//! free slot); the heap lock's holders never wait for readers (a block
//! that is not yet safe waits for a later release). No thread-local state,
//! so nothing is left behind by a thread that exits or does not survive a
//! fork: a fork child clears every slot (heap.rs).
//!
//! Why it is safe: the dying object's weakrefs were cleared (Release) before
//! it is retired. A reader publishes its slot, then a SeqCst fence, then
//! loads the target; the releaser advances the epoch, makes its SeqCst
//! fence, then reads the slots. Either it sees the reader's slot (with an
//! epoch read before that increment, so at or below the tag: the block
//! stays), or the reader sees the cleared target (it never touches the
//! block). A reader whose epoch is above the tag loaded the epoch after an
//! increment made, under the lock, after the retirement (Acquire, pairing
//! with the increment's Release), so it sees the cleared target too.
//!
//! Invariants: a slot is 0 (free) or holds the epoch its reader saw; the
//! retired list (in the heap state, under the heap lock) is in tag order,
//! each block's `next` linking it and `prev` holding its tag.

use crate::heap::State;
use crate::object::Header;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
    fence,
};

const NSLOTS: usize = 64;

/// A slot a reader announces itself in (here, and a section in
/// sections.rs), on its own cache line pair, so that threads never write a
/// line another thread writes.
#[repr(align(128))]
pub struct Slot(pub AtomicUsize);

impl Slot {
    pub const fn free() -> Slot {
        Slot(AtomicUsize::new(0))
    }
}

static SLOTS: [Slot; NSLOTS] = [const { Slot::free() }; NSLOTS];
static EPOCH: AtomicUsize = AtomicUsize::new(1);

/// A reader's announcement; cleared on drop.
pub struct Pin(&'static AtomicUsize);

/// The epoch now, for a section (sections.rs) about to begin: SeqCst, so
/// that it is read before the section's slot is stored in the single
/// order (a block retired after that is tagged with this epoch or a later
/// one).
#[inline]
pub fn current() -> usize {
    EPOCH.load(SeqCst)
}

/// Announces a reader (see the module docs).
#[inline]
pub fn pin() -> Pin {
    // Acquire: pairs with the AcqRel increment in `retire`, so a reader that
    // sees an epoch above a block's tag sees that block's target cleared.
    let e = EPOCH.load(Acquire);
    // Threads start at different slots (Fibonacci hashing of the thread
    // id, whose low bits are alike), so readers rarely share one.
    // SAFETY: pthread_self has no preconditions.
    let id = unsafe { libc::pthread_self() } as u64;
    let mut i = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % NSLOTS;
    loop {
        let slot = &SLOTS[i].0;
        if slot.load(Relaxed) == 0 && slot.compare_exchange(0, e, Relaxed, Relaxed).is_ok() {
            // The fence of the store-buffering pair (module docs).
            fence(SeqCst);
            return Pin(slot);
        }
        i = (i + 1) % NSLOTS;
        std::hint::spin_loop();
    }
}

impl Drop for Pin {
    #[inline]
    fn drop(&mut self) {
        // Release: the reader's reads of the target happen before a
        // releaser that sees the slot free (Acquire in `release_safe`).
        self.0.store(0, Release);
    }
}

/// Retires the memory of the dead object `h` (it has had weakrefs, all
/// cleared): `release_safe` releases it once no reader can hold it.
///
/// # Safety
/// Heap lock held (`st` is the heap state); `h` is dead and unlinked.
pub unsafe fn retire(st: *mut State, h: *mut Header) {
    // The epoch now (only holders of the lock change it, in
    // `release_safe`): a reader or section that began before has an epoch
    // at or below the tag.
    let tag = EPOCH.load(Relaxed);
    // SAFETY: lock held; h's header words are ours now.
    unsafe {
        let st = &mut *st;
        st.retired_len += 1;
        (*h).prev.store(tag, Relaxed);
        (*h).next.store(0, Relaxed);
        if st.retired_tail.is_null() {
            st.retired = h;
        } else {
            (*st.retired_tail).next.store(h as usize, Relaxed);
        }
        st.retired_tail = h;
    }
}

/// Releases (with `release`) every retired block no reader can hold.
///
/// # Safety
/// Heap lock held (`st` is the heap state).
pub unsafe fn release_safe(st: *mut State, mut release: impl FnMut(*mut Header)) {
    // SAFETY: lock held; retired blocks are dead and ours.
    unsafe {
        if (*st).retired.is_null() {
            return;
        }
        // Readers and sections that begin from now on have epochs above
        // every tag so far. Release: pairs with the Acquire load in `pin`
        // (a reader that reads the new epoch sees the targets of every
        // block retired before cleared); SeqCst, before the sections'
        // loads in the single order (sections.rs `enter`).
        EPOCH.fetch_add(1, SeqCst);
        fence(SeqCst);
        // Acquire: pairs with the Release store of a reader leaving its
        // slot (Pin::drop), so its reads of a block happen before the block
        // is released.
        let oldest_reader = SLOTS
            .iter()
            .map(|s| s.0.load(Acquire))
            .filter(|&e| e != 0)
            .min()
            .unwrap_or(usize::MAX)
            .min(crate::sections::oldest());
        while !(*st).retired.is_null() {
            let h = (*st).retired;
            if (*h).prev.load(Relaxed) >= oldest_reader {
                break;
            }
            (*st).retired = (*h).next.load(Relaxed) as *mut Header;
            (*st).retired_len -= 1;
            if (*st).retired.is_null() {
                (*st).retired_tail = std::ptr::null_mut();
            }
            release(h);
        }
    }
}

/// In a fork child: no reader survived the fork.
///
/// # Safety
/// Only in a fork child, before any other thread exists.
pub unsafe fn reset_in_child() {
    for s in &SLOTS {
        s.0.store(0, Relaxed);
    }
}
