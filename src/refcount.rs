//! Reference counting and the death path.
//!
//! `decref` is lock-free while the count stays above zero. The transition to
//! zero happens under the heap lock (a count of 1 sends `decref` to the slow
//! path, which takes the lock and decrements there), so a collection, which
//! holds the lock throughout, never meets an object another thread is
//! killing, and a lock-free `weakref_get` (which only increments a non-zero
//! count) can never revive an object whose count reached zero.
//!
//! Death order (API.md), for one object whose count reached zero:
//! 1. finalize (once per object's life); a count above zero afterwards means
//!    it was resurrected: it goes back to generation 0 intact;
//! 2. (the resurrection check is that count test)
//! 3. its weakrefs are cleared, then their callbacks run, newest first;
//! 4. its fields are released, then its `clear` hook runs;
//! 5. its `destroy` hook runs and its memory is freed.
//!
//! Deaths are iterative: an object whose count reaches zero is set `DYING`,
//! unlinked from its list and appended to the heap's death queue (linked
//! through `next`); the outermost death or collection drains the queue in
//! order, so a chain of any length is released in constant stack and objects
//! die in the order their counts reached zero (a weakref released after its
//! target still sees the target die first and gets its callback). `DYING` stops a second
//! transition to zero (after a resurrection inside the finalizer, say) from
//! queueing the object twice, and marks collector garbage whose teardown the
//! collector owns.

use crate::alloc::{Pool, sys_free};
use crate::checks;
use crate::error::{GC_ERR_INVALID, fail};
use crate::heap::{Locked, State, lock};
use crate::list;
use crate::object::{
    COUNT_MASK, DYING, FINALIZED, GcObject, Header, PROMOTED, WEAKREFED, allocation_of, fields,
};
use crate::weakref::{self, Pending};
use std::sync::atomic::Ordering::{AcqRel, Relaxed, Release};

pub use crate::object::incref_raw as incref;

/// Drops one reference; at zero the object dies (see the module docs).
///
/// # Safety
/// `h` is a live object and the caller owns the reference it drops.
#[inline]
pub unsafe fn decref(h: *mut Header) {
    // SAFETY: caller's contract: h is live.
    let rc = unsafe { &(*h).rc };
    let mut cur = rc.load(Relaxed);
    loop {
        if cur & COUNT_MASK <= 1 {
            // SAFETY: caller's contract.
            return unsafe { decref_slow(h) };
        }
        // Release: this thread's writes to the object happen before its death
        // (the death path's AcqRel decrement synchronizes with it).
        match rc.compare_exchange_weak(cur, cur - 1, Release, Relaxed) {
            Ok(_) => return,
            Err(seen) => cur = seen,
        }
    }
}

#[cold]
unsafe fn decref_slow(h: *mut Header) {
    let g = lock();
    // SAFETY: caller's contract; the lock is held.
    unsafe { decref_locked(&g, h) }
}

/// `decref` for a caller that already holds the lock (the death path and
/// the collector release many references in a row).
///
/// # Safety
/// `h` is a live object, the caller owns the reference it drops, and `g` is
/// this thread's lock guard.
pub unsafe fn decref_locked(g: &Locked, h: *mut Header) {
    // SAFETY: h is live (caller's contract) and the lock is held.
    let rc = unsafe { &(*h).rc };
    let mut cur = rc.load(Relaxed);
    loop {
        if cur & COUNT_MASK == 0 {
            if crate::checks::enabled() {
                crate::checks::underflow(c"obj_decref", h);
            }
            fail(GC_ERR_INVALID, c"obj_decref: reference count is already 0");
            return;
        }
        // The transition to zero sets DYING in the same step.
        let new = if cur & COUNT_MASK == 1 {
            (cur - 1) | DYING
        } else {
            cur - 1
        };
        // AcqRel: acquire every other thread's releasing decrement before the
        // object may die.
        match rc.compare_exchange_weak(cur, new, AcqRel, Relaxed) {
            Ok(_) => break,
            Err(seen) => cur = seen,
        }
    }
    if cur & COUNT_MASK == 1 && cur & DYING == 0 {
        // SAFETY: the count just reached zero under the lock.
        unsafe { start_death(g, h) };
    }
}

/// Queues `h`, whose count just reached zero (and which was just set
/// `DYING`), and drains the queue unless an outer death or collection will.
///
/// # Safety
/// Lock held; `h` has count 0 and was set `DYING` by this transition.
unsafe fn start_death(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is live; no user code runs while `st` is borrowed.
    unsafe {
        if (*h).is_tracked() {
            list::remove(h);
            if (*h).has(PROMOTED) {
                // It leaves generation 2 (API v2: pending counts promoted
                // objects still alive; resurrected, it rejoins generation 0).
                (*h).unset(PROMOTED);
                (*g.st()).long_lived_pending -= 1;
            }
        }
        let st = &mut *g.st();
        if !st.draining && (*h).ty().is_null() && !(*h).has(WEAKREFED) && !(*h).is_weakref() {
            // The common death, outside any other: no hooks, no weakrefs, so
            // steps 1-3 are empty and no user code can run; release the
            // fields and free at once, then drain the deaths that caused.
            st.draining = true;
            release_references(g, h);
            free(g.st(), h);
            (*g.st()).draining = false;
            if !(*g.st()).death_queue.is_null() {
                drain(g);
            }
            return;
        }
        st.death_seq += 1;
        (*h).prev.store(st.death_seq << 4, Relaxed);
        list::set_next(h, std::ptr::null());
        if st.death_tail.is_null() {
            st.death_queue = h;
        } else {
            list::set_next(st.death_tail, h);
        }
        st.death_tail = h;
        if !st.draining {
            drain(g);
        }
    }
}

/// Runs every queued death, including those queued while it runs. May nest
/// (inside a death or a collection, to settle deaths user code queued before
/// a resurrection check); `draining` is restored on return.
pub fn drain(g: &Locked) {
    // SAFETY: lock held; borrows of the state end before user code runs.
    unsafe {
        let was_draining = (*g.st()).draining;
        (*g.st()).draining = true;
        loop {
            let st = &mut *g.st();
            let h = st.death_queue;
            if h.is_null() {
                break;
            }
            st.death_queue = list::next(h);
            if st.death_queue.is_null() {
                st.death_tail = std::ptr::null_mut();
            }
            list::set_next(h, std::ptr::null());
            die(g, h);
        }
        (*g.st()).draining = was_draining;
    }
}

/// The death order for one queued object.
///
/// # Safety
/// Lock held; `h` is `DYING`, unlinked, and was queued with count 0.
unsafe fn die(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h stays allocated until we free it below.
    unsafe {
        // Deaths queued from here on happen inside this one (see
        // weakref::clear_target).
        let started = (*g.st()).death_seq;
        (*h).prev.store(0, Relaxed);
        if (*h).count() > 0 {
            return revive(g, h);
        }
        if !(*h).has(FINALIZED)
            && let Some(finalize) = (*h).hook(|t| t.finalize)
        {
            (*h).set(FINALIZED);
            finalize(h as *mut GcObject);
            if (*h).count() > 0 {
                // Deaths the finalizer queued (a temporary that held `h`,
                // say) would have happened at once in CPython: settle them
                // before deciding that `h` was resurrected.
                drain(g);
                if (*h).count() > 0 {
                    return revive(g, h);
                }
            }
        }
        if (*h).has(WEAKREFED) {
            let mut pending = Pending::new();
            weakref::clear_target(&mut *g.st(), h, &mut pending, Some(started));
            run_weak_callbacks(pending);
        }
        release_references(g, h);
        destroy(h);
        free(g.st(), h);
    }
}

/// A queued object that got a new reference before it died: back to
/// generation 0, intact.
unsafe fn revive(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is live.
    unsafe {
        (*h).unset(DYING);
        if (*h).is_tracked() {
            list::append(h, &(*g.st()).gens[0]);
        }
    }
}

/// Runs the callbacks of cleared weakrefs in order and drops the references
/// `clear_target` took on them.
///
/// # Safety
/// Lock held; `pending` came from `weakref::clear_target`.
pub unsafe fn run_weak_callbacks(pending: Pending) {
    let mut wr = pending.head;
    while !wr.is_null() {
        // SAFETY: each pending weakref is kept alive by the reference taken
        // in clear_target until the decref below.
        unsafe {
            let next = Pending::next(wr);
            let d = weakref::data(wr);
            if let Some(cb) = d.cb {
                cb(wr as *mut GcObject, d.ctx);
            }
            decref(wr);
            wr = next;
        }
    }
}

/// Step 4 of the death order: releases every field (and the target link of a
/// weakref object), then runs the `clear` hook.
///
/// # Safety
/// Lock held; `h` is dying and certain not to be resurrected.
pub unsafe fn release_references(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is live; field values are strong references.
    unsafe {
        if (*h).is_weakref() {
            weakref::detach(&mut *g.st(), h);
        }
        for slot in fields(h) {
            // Fields change only under the lock we hold: no RMW needed.
            let child = slot.load(Relaxed);
            if !child.is_null() {
                slot.store(std::ptr::null_mut(), Relaxed);
                decref_locked(g, child);
            }
        }
        if let Some(clear) = (*h).hook(|t| t.clear) {
            clear(h as *mut GcObject);
        }
    }
}

/// Step 5, first half: the `destroy` hook.
///
/// # Safety
/// `h` is dying, after step 4.
pub unsafe fn destroy(h: *mut Header) {
    // SAFETY: h is live until freed.
    unsafe {
        if let Some(destroy) = (*h).hook(|t| t.destroy) {
            destroy(h as *mut GcObject);
        }
    }
}

/// Step 5, second half: counts the deallocation and releases the memory, at
/// once or, for an object that has had weakrefs, once no lock-free reader can
/// still hold its address.
///
/// # Safety
/// Lock held (`st` is the heap state); `h` is unlinked and never used again.
pub unsafe fn free(st: *mut State, h: *mut Header) {
    struct SendPtr(*mut Header);
    // SAFETY: the pointer is only used to free the allocation, which may
    // happen on any thread.
    unsafe impl Send for SendPtr {}
    // SAFETY: lock held; h is live until its memory is released.
    unsafe {
        let tracked = (*h).is_tracked();
        if tracked {
            let st = &mut *st;
            st.count[0] = st.count[0].saturating_sub(1);
        }
        let (base, size) = allocation_of(h);
        crate::memory::on_free(
            crate::memory::charge(size),
            tracked,
            from_pool(tracked, size),
        );
        if checks::enabled() {
            checks::on_death(h);
        }
        if (*h).has(WEAKREFED) {
            let p = SendPtr(h);
            crossbeam_epoch::pin().defer_unchecked(move || {
                let p = p;
                let g = lock();
                let (base, size) = allocation_of(p.0);
                release_memory(g.st(), p.0, base, size);
            });
        } else {
            release_memory(st, h, base, size);
        }
    }
}

/// Returns the memory of `h` to the pool or the system, where it came from.
///
/// # Safety
/// Lock held (`st` is the heap state); `h` is dead and never used again;
/// `(base, size)` is its `allocation_of`.
unsafe fn release_memory(st: *mut State, h: *mut Header, base: *mut u8, size: usize) {
    // SAFETY: h's header is still readable; the block goes back to the
    // allocator that made it (tracked + small = pool, see gc::new_object).
    unsafe {
        if checks::enabled() {
            for (b, s) in checks::quarantine(h, base, size) {
                sys_free(b as *mut u8, s);
            }
        } else if (*h).is_tracked() && Pool::serves(size) {
            // (from_pool, minus the checked-mode test just made)
            (*st).pool.free(base, size);
        } else {
            sys_free(base, size);
        }
    }
}

/// Whether an object's memory comes from the pool: tracked objects (which
/// are allocated and freed under the heap lock) that are small, outside
/// checked mode. gc::new_object and release_memory both decide by this.
#[inline]
pub fn from_pool(tracked: bool, size: usize) -> bool {
    tracked && Pool::serves(size) && !checks::enabled()
}
