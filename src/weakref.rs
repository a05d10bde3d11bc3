//! Weak reference objects and the per-target weakref lists.
//!
//! A weakref is an ordinary tracked object (no fields) whose internal data
//! (`WeakData`) follows the header in its payload. The weakrefs to one target
//! form a doubly linked list, newest first, whose head is found in the heap's
//! side table (`State::weak`, keyed by target address); a target pays only the
//! `WEAKREFED` bit in its header.
//!
//! Invariants (all under the heap lock):
//! - `data.target` is non-NULL exactly while the weakref is in its target's
//!   list, and the table holds an entry for a target exactly while its list is
//!   non-empty.
//! - A target with weakrefs has `WEAKREFED` set; the bit is never cleared, so
//!   its memory is released through the epoch (refcount.rs) and a lock-free
//!   reader that loaded `data.target` before it was cleared reads valid memory.
//! - `data.target` is set to NULL (Release) before the target's memory is
//!   handed to the epoch.

use crate::heap::State;
use crate::object::{COLLECTED, Counts, DYING, GcObject, Header, MARK, WEAKREFED};
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{
    AtomicPtr, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

/// Called once when the target of `weakref` dies (after the weakref is
/// cleared, so `weakref_get(weakref)` returns NULL).
pub type GcWeakCallback = Option<unsafe extern "C" fn(weakref: *mut GcObject, ctx: *mut c_void)>;

#[repr(C)]
pub struct WeakData {
    pub target: AtomicPtr<Header>,
    pub cb: GcWeakCallback,
    pub ctx: *mut c_void,
    /// Older weakref to the same target.
    older: AtomicUsize,
    /// Newer weakref to the same target (NULL for the list head).
    newer: AtomicUsize,
    /// Next weakref in a pending-callback list.
    pending: AtomicUsize,
}

pub(crate) const DATA_SIZE: usize = size_of::<WeakData>();

/// The weakref data of `wr`.
///
/// # Safety
/// `wr` is a live weakref object.
#[inline]
pub unsafe fn data<'a>(wr: *mut Header) -> &'a WeakData {
    // SAFETY: weakref objects are created with a payload of DATA_SIZE bytes
    // that `attach` initializes.
    unsafe { &*(crate::object::payload(wr) as *const WeakData) }
}

fn link(p: *mut Header) -> usize {
    p as usize
}
fn at(a: &AtomicUsize) -> *mut Header {
    a.load(Relaxed) as *mut Header
}

/// Makes the fresh weakref object `wr` point at `target`, newest first.
/// Fails (changing nothing) when the table cannot grow.
///
/// # Safety
/// Heap lock held; `wr` is a new weakref object; `target` is live.
pub unsafe fn attach(
    st: &mut State,
    wr: *mut Header,
    target: *mut Header,
    cb: GcWeakCallback,
    ctx: *mut c_void,
) -> Result<(), ()> {
    if !crate::alloc::reserve(|| st.weak.try_reserve(1)) {
        return Err(());
    }
    let head = st
        .weak
        .get(&(target as usize))
        .copied()
        .unwrap_or(ptr::null_mut());
    // SAFETY: wr's payload is DATA_SIZE zeroed bytes we may initialize; head
    // (if any) is a live weakref in target's list.
    unsafe {
        (crate::object::payload(wr) as *mut WeakData).write(WeakData {
            target: AtomicPtr::new(target),
            cb,
            ctx,
            older: AtomicUsize::new(link(head)),
            newer: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
        });
        if !head.is_null() {
            data(head).newer.store(link(wr), Relaxed);
        }
        (*target).set(WEAKREFED);
    }
    st.weak.insert(target as usize, wr);
    Ok(())
}

/// Removes the dying weakref object `wr` from its target's list.
///
/// # Safety
/// Heap lock held; `wr` is a weakref object that is dying.
pub unsafe fn detach(st: &mut State, wr: *mut Header) {
    // SAFETY: wr and its list neighbours are live weakrefs (invariants).
    unsafe {
        let d = data(wr);
        let target = d.target.load(Relaxed);
        if target.is_null() {
            return;
        }
        let older = at(&d.older);
        let newer = at(&d.newer);
        if !older.is_null() {
            data(older).newer.store(link(newer), Relaxed);
        }
        if newer.is_null() {
            if older.is_null() {
                st.weak.remove(&(target as usize));
            } else if let Some(h) = st.weak.get_mut(&(target as usize)) {
                *h = older;
            }
        } else {
            data(newer).older.store(link(older), Relaxed);
        }
        d.target.store(ptr::null_mut(), Release);
    }
}

/// Weakrefs whose callbacks are due, in call order, each holding a strong
/// reference taken by `clear_target`.
pub struct Pending {
    pub head: *mut Header,
    tail: *mut Header,
}

impl Pending {
    pub fn new() -> Pending {
        Pending {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
        }
    }
    /// The weakref after `wr` in this list.
    ///
    /// # Safety
    /// `wr` is in this list and still alive.
    pub unsafe fn next(wr: *mut Header) -> *mut Header {
        // SAFETY: caller's contract.
        at(unsafe { &data(wr).pending })
    }
}

/// Clears every weakref to `target` (so `weakref_get` returns NULL) and
/// appends those whose callback must run to `pending`, newest first.
///
/// Which weakrefs get a callback follows CPython, where deaths are
/// immediate: a weakref in the same cyclic garbage (`COLLECTED`) gets none; a
/// live one does, and so does one whose death is still queued: deaths run
/// depth first (refcount.rs), so the deaths the target's own death caused
/// (its finalizer's, say) are complete by now, and a weakref still queued
/// was released before the target's death began: in CPython the target
/// would have died first. The reference taken here keeps a weakref alive
/// through its callback.
///
/// # Safety
/// Heap lock held; `target` is dying and certain not to be resurrected.
pub unsafe fn clear_target(st: &mut State, target: *mut Header, pending: &mut Pending) {
    let Some(mut wr) = st.weak.remove(&(target as usize)) else {
        return;
    };
    while !wr.is_null() {
        // SAFETY: list members are live weakref objects.
        unsafe {
            let d = data(wr);
            let older = at(&d.older);
            d.target.store(ptr::null_mut(), Release);
            d.older.store(0, Relaxed);
            d.newer.store(0, Relaxed);
            let gets_callback = !(*wr).has(COLLECTED);
            if d.cb.is_some() && gets_callback {
                crate::object::incref_raw(wr);
                d.pending.store(0, Relaxed);
                if pending.tail.is_null() {
                    pending.head = wr;
                } else {
                    data(pending.tail).pending.store(link(wr), Relaxed);
                }
                pending.tail = wr;
            }
            wr = older;
        }
    }
}

/// Live weakref objects pointing at `target`.
///
/// # Safety
/// Heap lock held.
pub unsafe fn count(st: &State, target: *mut Header) -> usize {
    let mut n = 0;
    let mut wr = st
        .weak
        .get(&(target as usize))
        .copied()
        .unwrap_or(ptr::null_mut());
    while !wr.is_null() {
        n += 1;
        // SAFETY: list members are live weakref objects.
        wr = at(unsafe { &data(wr).older });
    }
    n
}

/// `weakref_get`: a new reference to the target of the weakref object `wr`,
/// or NULL once the target is dead.
///
/// While the counts are this thread's (bias.rs), a plain load of the target
/// and a plain increment: no other thread can change a count, take the
/// lock (so clear a target or free an object) until it has revoked the
/// bias, which waits for this. Otherwise lock-free when the target's count
/// is above zero and no collection is
/// examining it: the increment is a CAS from a non-zero, unmarked count, so it
/// can neither revive an object whose count reached zero nor slip past a
/// collection (which marks before it decides, see gc/mod.rs). Otherwise it
/// takes the lock, which waits for the death or collection in progress; on
/// the collecting thread itself (a finalizer) a success is a resurrection,
/// which the collector's check after finalizers sees.
///
/// # Safety
/// `wr` is a live weakref object.
pub unsafe fn get(wr: *mut Header) -> *mut Header {
    // Whether a target with count word `v` takes a reference without the
    // lock: alive, not dying or being collected, and (else `incref` under
    // the lock reports the overflow) not full.
    fn takes_lock_free(v: Counts) -> bool {
        v.count() != 0 && !v.has(MARK | DYING) && !v.is_full()
    }
    // SAFETY: wr is live (caller). The target, if loaded non-NULL, has
    // WEAKREFED set, so its memory is released only through the epoch
    // (epoch.rs) after `target` is cleared; the pin keeps it valid while we
    // look at it.
    unsafe {
        let d = data(wr);
        let owned = crate::bias::with_owned_counts(|| {
            let t = d.target.load(Relaxed);
            if t.is_null() {
                return Some(t);
            }
            let v = (*t).rc.load();
            if !takes_lock_free(v) {
                return None;
            }
            (*t).rc.store_exclusive(v.plus_one());
            Some(t)
        });
        if let Some(Some(t)) = owned {
            return t;
        }
        {
            let _pin = crate::epoch::pin();
            let t = d.target.load(Acquire);
            if t.is_null() {
                return t;
            }
            let rc = &(*t).rc;
            crate::bias::before_shared_count_change();
            let mut cur = rc.load();
            while takes_lock_free(cur) {
                match rc.compare_exchange_weak(cur, cur.plus_one(), Acquire) {
                    Ok(_) => return t,
                    Err(seen) => cur = seen,
                }
            }
        }
        let _g = crate::heap::lock();
        let t = d.target.load(Relaxed);
        if !t.is_null() {
            crate::object::incref_raw(t);
        }
        t
    }
}
