//! Reference counting and the death path.
//!
//! `decref` is lock-free while the count stays above zero. The transition to
//! zero happens under the heap lock (a count of 1 sends `decref` to the slow
//! path, which takes the lock and decrements there), so a collection, which
//! holds the lock throughout, never meets an object another thread is
//! killing, and a lock-free `weakref_get` (which only increments a non-zero
//! count) can never revive an object whose count reached zero.
//!
//! Fields are written by the owner of the counts (bias.rs, a plain load and
//! store: no other thread writes then), or with an atomic exchange in a
//! lock-free section (sections.rs; a collection keeps them out) or under
//! the lock. A thread that does not own the counts reads a field in a
//! section too (`get_field_shared`), incrementing the value's count only
//! while it is above zero; once sections exist, a dead object's memory is
//! retired (epoch.rs) until no section that began before its death can
//! hold it. The locked `get_field` stops the sections, so no field it
//! reads changes before its increment.
//!
//! Death order (API.md), for one object whose count reached zero:
//! 1. finalize (once per object's life); a count above zero afterwards means
//!    it was resurrected: it goes back to generation 0 intact;
//! 2. (the resurrection check is that count test)
//! 3. its weakrefs are cleared, then their callbacks run, newest first;
//! 4. its fields are released, then its `clear` hook runs;
//! 5. its `destroy` hook runs and its memory is freed.
//!
//! Deaths are iterative and depth first, so no native stack grows with the
//! number of deaths, whatever the hooks do:
//! - an object whose count reaches zero is set `DYING`, unlinked from its
//!   list and appended to `fresh` (the deaths the running step caused);
//! - the outermost death (or a collection) runs `drain`: it pushes `fresh`
//!   onto the death stack as one group (oldest on top, so siblings die in
//!   the order their counts reached zero) and works on the top object, one
//!   step at a time, until the stack is back to where it started;
//! - a step is: the finalizer (then the object stays on the stack, with
//!   `RESUME_MARK`'s address in `prev`); or, from the resurrection check
//!   on, the rest of the death (the object leaves the stack first). An
//!   object with no type has no finalizer: its death is that one step. So the deaths a
//!   finalizer caused (a temporary holder of its object, say) complete
//!   before its object's resurrection check, as they would at once in
//!   CPython, without nesting; deaths queued earlier wait below.
//! - An object that dies simply (no type, no weakrefs, not a weakref: no
//!   user code runs, so no one sees the order) skips the stack: the death
//!   of one frees it, then every object that dies simply because of it, in
//!   one loop (`die_simply`, a worklist through their `next` links); the
//!   others whose count reaches zero there go to `fresh` as above.
//! - A nursery object (nursery.rs) whose last reference is dropped by the
//!   holder of its owner's section slot dies in that section with no lock
//!   (`die_in_nursery`), with the nursery objects its death frees; what
//!   needs the lock (other values whose count reaches zero, `OLD` ones)
//!   follows under the lock. Any other death of a nursery object takes it
//!   out of its nursery with every section stopped (`unlink_dying`).
//! - The commonest deaths of all, of a pool object that dies simply and
//!   has no field set (young if tracked), dropped by the thread that owns
//!   the biases, are done by `die_quick` with no call on the way, before
//!   `decref_slow` and its stack frame.
//!
//! `DYING` stops a second transition to zero (after a resurrection inside
//! the finalizer, say) from queueing the object twice, and marks collector
//! garbage whose teardown the collector owns.
//!
//! Invariants: an object is on the death stack (`deaths` or `fresh`), or
//! on `die_simply`'s worklist, at most once, only while `DYING` and
//! unlinked from every generation; `fresh` is
//! empty whenever no step is running; a drain only pops objects it pushed
//! (those above the top it found).
//!
//! Memory of an object that has had weakrefs goes back only once no
//! lock-free `weakref_get` can hold its address (epoch.rs): it is retired,
//! and every later `free` under the lock releases what has become safe.
//! Nothing on that path waits for the heap lock or for a reader.

use crate::alloc::sys_free;
use crate::checks;
use crate::error::{GC_ERR_INVALID, fail};
use crate::heap::{Locked, State, lock};
use crate::list;
use crate::object::{
    COLLECTED, Counts, DIRTY, DYING, FINALIZED, GcObject, Header, MARK, OLD, POOLED, PROMOTED,
    WEAKREFED, allocation_of, fields,
};
use crate::weakref::{self, Pending};
use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};

pub use crate::object::incref_raw as incref;

/// Drops one reference; at zero the object dies (see the module docs).
///
/// # Safety
/// `h` is a live object and the caller owns the reference it drops.
#[inline]
pub unsafe fn decref(h: *mut Header) {
    // SAFETY: caller's contract.
    unsafe { decref_with::<false>(h) }
}

/// `obj_decref`'s `decref` of a handle the host passed: validated first in
/// checked mode, which a thread that owns the counts bias never is in
/// (bias.rs), so the owner's path reads the object before any test.
///
/// # Safety
/// As `decref`, outside checked mode.
#[inline(always)]
pub unsafe fn decref_host(h: *mut Header) {
    // SAFETY: caller's contract.
    unsafe { decref_with::<true>(h) }
}

/// `decref_host` in checked mode (or before the mode is fixed).
#[cold]
#[inline(never)]
unsafe fn decref_validated(h: *mut Header) {
    checks::object(c"obj_decref", h);
    // SAFETY: validated (it aborts otherwise), or outside checked mode.
    unsafe { decref(h) }
}

/// `decref`; with `HOST`, `decref_host`.
///
/// # Safety
/// As `decref_host` with `HOST`, else as `decref`.
#[inline(always)]
unsafe fn decref_with<const HOST: bool>(h: *mut Header) {
    // The counts are this thread's (bias.rs): a plain decrement unless it
    // would reach zero.
    // An `OLD` object's first loss of a reference moves it (under the lock)
    // to the dirty list, so it takes the slow path too.
    if crate::bias::enter_owned_counts() {
        // SAFETY: caller's contract: h is live (no checked mode here).
        let rc = unsafe { &(*h).rc };
        let v = rc.load();
        if v.count() > 1 {
            if !v.has(OLD) {
                rc.store_exclusive(v.minus_one());
                crate::bias::exit_owned_counts();
                return;
            }
            // An old object's first loss of a reference: no death to try.
            crate::bias::exit_owned_counts();
            // SAFETY: caller's contract.
            return unsafe { decref_slow(h) };
        }
        // SAFETY: caller's contract; inside the counts bias.
        return unsafe { decref_last(h) };
    }
    if HOST && !checks::fixed_off() {
        // SAFETY: caller's contract.
        return unsafe { decref_validated(h) };
    }
    crate::bias::before_shared_count_change();
    // SAFETY: caller's contract (a host's handle was validated first in
    // checked mode).
    let rc = unsafe { &(*h).rc };
    let mut cur = rc.load();
    loop {
        // `MARK`: a collection is scanning the object (gc/scan.rs
        // `read_count`); the lock waits for its end.
        if cur.count() <= 1 || cur.has(OLD | MARK) {
            // SAFETY: caller's contract.
            return unsafe { decref_slow(h) };
        }
        // Release: this thread's writes to the object happen before its death
        // (the death path's AcqRel decrement synchronizes with it).
        match rc.compare_exchange_weak(cur, cur.minus_one(), Release) {
            Ok(_) => return,
            Err(seen) => cur = seen,
        }
    }
}

/// `obj_get_field`'s common case: a new reference to the value of field
/// `i` of `o` (NULL when empty) while the counts are this thread's
/// (bias.rs; so checked mode is off, and `o` needs no validation) and the
/// count is not full, or None (nothing changed) for `get_field`, also when
/// `i` is out of range. No other thread can change a count or collect
/// meanwhile (taking the lock revokes the counts first, and waits for
/// this), so the load and the increment need no lock.
///
/// # Safety
/// `o` is a live object, outside checked mode; nothing reads it before
/// the counts are found this thread's.
#[inline(always)]
pub unsafe fn get_field_owned(o: *const Header, i: usize) -> Option<*mut Header> {
    crate::bias::with_owned_counts(|| {
        // SAFETY: caller's contract.
        let slot = unsafe { fields(o) }.get(i)?;
        let v = slot.load(Relaxed);
        if v.is_null() {
            return Some(v);
        }
        // SAFETY: the field holds a reference, so v is live.
        let rc = unsafe { &(*v).rc };
        let cur = rc.load();
        if cur.is_full() {
            return None;
        }
        rc.store_exclusive(cur.plus_one());
        Some(v)
    })
    .flatten()
}

/// `obj_get_field` in every case (`get_field_owned` is its common one):
/// a new reference to the value of `slot`, a field of `holder` (NULL when
/// empty), under the heap lock, which keeps the value from being released
/// in between.
///
/// # Safety
/// `slot` is a field of the live object `holder`.
#[inline]
pub unsafe fn get_field(slot: &AtomicPtr<Header>, holder: *const Header) -> *mut Header {
    let g = lock();
    // No section changes the field before the increment (sections.rs).
    let _stop = crate::sections::stop(&g);
    // Acquire: pairs with the Release of `set_field`'s exchange (made
    // without the lock), so the value's initialization is seen.
    let v = slot.load(Acquire);
    if !v.is_null() {
        checks::referenced(c"obj_get_field", v, holder);
        // SAFETY: the field holds a reference, so v is live; neither the
        // lock's holders nor sections change the field meanwhile.
        unsafe { incref(v) };
    }
    v
}

/// `obj_get_field` for a thread that does not own the counts, without the
/// lock: in a section (sections.rs), the value of `slot` with its count
/// incremented while above zero. None (nothing changed) when a collection
/// or heap walk is running, or the value's count is zero (it is dying: the
/// field no longer holds it) or full: `get_field`'s turn. The value's
/// memory stays readable meanwhile: an object whose count reaches zero
/// while a section is in progress is retired, not released (epoch.rs).
///
/// # Safety
/// `slot` is a field of a live object.
#[inline]
pub unsafe fn get_field_shared(slot: &AtomicPtr<Header>) -> Option<*mut Header> {
    crate::bias::before_shared_count_change();
    let _section = crate::sections::enter()?;
    // SeqCst: after the section's slot in the single order (sections.rs
    // `quiet`); Acquire too, pairing with `set_field`'s exchange so the
    // value's initialization is seen.
    let v = slot.load(SeqCst);
    if v.is_null() {
        return Some(v);
    }
    crate::sections::park_point();
    // SAFETY: v was in the field in this section, so its memory is not
    // released before the section ends (above).
    let rc = unsafe { &(*v).rc };
    let mut cur = rc.load();
    loop {
        if cur.count() == 0 || cur.is_full() {
            return None;
        }
        // Relaxed: a new reference made from the field's (as `increment`).
        match rc.compare_exchange_weak(cur, cur.plus_one(), Relaxed) {
            Ok(_) => return Some(v),
            Err(seen) => cur = seen,
        }
    }
}

/// `obj_set_field`'s common case, without the lock (as
/// `get_field_owned`): while the counts are this thread's and `value`'s
/// count is not full, stores `value` and takes the old value's reference
/// off its count where a plain decrement does (as `decref`'s own fast
/// path). Returns None when nothing changed (`set_field`'s turn), else the
/// old value if its reference is still to be dropped (`decref`), or NULL.
///
/// # Safety
/// As `set_field`, for field `i` of `o` (None when out of range); `o` as
/// in `get_field_owned`.
#[inline(always)]
pub unsafe fn set_field_owned(o: *mut Header, i: usize, value: *mut Header) -> Option<*mut Header> {
    crate::bias::with_owned_counts(|| {
        // SAFETY: caller's contract.
        let slot = unsafe { fields(o) }.get(i)?;
        if !value.is_null() {
            // SAFETY: the caller holds a reference to value.
            let rc = unsafe { &(*value).rc };
            let cur = rc.load();
            if cur.is_full() {
                return None;
            }
            rc.store_exclusive(cur.plus_one());
            crate::order::stored_owned(o, value);
        }
        // While the counts are this thread's, no other thread writes a
        // field (it revokes the bias first, sections.rs), so a load and a
        // store (no locked exchange). Release: pairs with
        // obj_borrow_field's lock-free Acquire load, so a thread that
        // borrows `value` from the field also sees what was written to it
        // before.
        let old = slot.load(Relaxed);
        slot.store(value, Release);
        if old.is_null() {
            return Some(old);
        }
        // SAFETY: the field owned a reference to old.
        let rc = unsafe { &(*old).rc };
        let cur = rc.load();
        if cur.count() > 1 && !cur.has(OLD) {
            rc.store_exclusive(cur.minus_one());
            return Some(std::ptr::null_mut());
        }
        Some(old)
    })
    .flatten()
}

/// `obj_set_field` in every case (`set_field_owned` is its common one):
/// `slot`, a field of `holder`, takes a new reference to `value` (NULL
/// clears it); the old value is released after the store. Without the heap
/// lock, in a section (sections.rs), unless in checked mode or while a
/// collection runs.
///
/// # Safety
/// `slot` is a field of the live object `holder`; `value` is NULL or live
/// and the caller holds a reference to it.
#[inline]
pub unsafe fn set_field(slot: &AtomicPtr<Header>, value: *mut Header, holder: *const Header) {
    // Revokes another thread's counts bias first: not inside the section,
    // which must not wait.
    crate::bias::before_shared_count_change();
    if !value.is_null() {
        crate::order::stored_elsewhere();
    }
    // (Decided before the match: a section must not be held while the
    // lock is waited for.)
    let section = if checks::enabled() {
        None
    } else {
        crate::sections::enter()
    };
    let old = match section {
        Some(section) => {
            // SAFETY: the caller holds a reference to value.
            unsafe { incref_shared(value) };
            let old = slot.swap(value, SeqCst);
            drop(section);
            old
        }
        None => {
            let _g = lock();
            // SAFETY: as above.
            unsafe { incref_shared(value) };
            let old = slot.swap(value, SeqCst);
            if !old.is_null() {
                checks::referenced(c"obj_set_field", old, holder);
            }
            old
        }
    };
    if !old.is_null() {
        // SAFETY: the field owned a reference to old; it is ours now.
        unsafe { decref(old) };
    }
}

/// `set_field`'s increment of the new value: atomic (the counts are not
/// this thread's), calling nothing that waits.
///
/// # Safety
/// `value` is NULL or live, and the caller holds a reference to it.
#[inline(always)]
unsafe fn incref_shared(value: *mut Header) {
    if value.is_null() {
        return;
    }
    // SAFETY: caller's contract.
    if unsafe { (*value).rc.increment() }.is_full() {
        crate::object::overflow(value);
    }
}

/// The commonest death with no call on the way (as `gc::new_object_quick`
/// for creation), so that it needs no stack frame: the last reference to a
/// pool object with no type, no weakrefs and no field set (a tracked one
/// young), dropped while the heap lock's bias is this thread's, checked
/// mode is off for good, no section has ever run and no death or
/// collection is under way, when its block goes back to its page's free
/// list with no page moving. What `start_death` (or, untracked,
/// `die_untracked_plain`) would do for it: the count's last step, out of
/// generation 0 and count0 if tracked, the memory figures, the block.
/// False (nothing done) otherwise: `decref_slow`'s turn.
///
/// # Safety
/// As `decref`, inside the counts bias (`bias::enter_owned_counts`),
/// which the caller exits after. (The fields are read before the count:
/// what they hold matters only if the count is 1, and then no other
/// thread holds a reference to change them with.)
#[inline(always)]
unsafe fn die_quick<const TRACKED: bool>(h: *mut Header) -> bool {
    // SAFETY: caller's contract: h is live; the lock the counts bias
    // implies is held until the caller exits it, with no user code
    // between.
    unsafe {
        // (A pool block, tested below, is never a checked-mode object:
        // the pool serves objects only once the mode is fixed OFF.)
        if !(*h).is_plain() {
            return false;
        }
        let fields = fields(h);
        if fields.len() > crate::object::QUICK_WORDS
            || fields.iter().any(|f| !f.load(Relaxed).is_null())
        {
            return false;
        }
        let Some(g) = crate::heap::lock_under_counts() else {
            return false;
        };
        let st = g.st();
        // (POOLED never changes: read before the pool looks at the block,
        // which must be one of its own.)
        if (*st).busy.any() || !(*h).has(POOLED) {
            return false;
        }
        debug_assert!(checks::fixed_off());
        let base = crate::object::base_of(h);
        let quiet = (*st).pool.frees_here(base);
        // With a count of 1, ours is the only reference: no other thread
        // can change the count (as in `die_untracked_plain`; no weakref to
        // get it from, no section to read it from a field), so a plain load
        // and store, with or without the counts bias.
        let v = (*h).rc.load();
        let dead =
            quiet && v.count() == 1 && !v.has(WEAKREFED | DYING | MARK | PROMOTED | OLD | DIRTY);
        if dead {
            (*h).rc.store_exclusive(v.minus_one().with(DYING));
            if TRACKED {
                list::unlink(h);
                (*st).count[0] = (*st).count[0].saturating_sub(1);
            }
            let bytes = crate::alloc::Pool::block_size_of(base);
            crate::memory::on_free(bytes, TRACKED, true);
            (*st).pool.free_here(base);
        }
        dead
    }
}

/// The owner's drop of what may be an object's last reference, inside
/// the counts bias (which it exits): `die_quick` under the lock the bias
/// implies, else `decref_slow`. Out of line, so that `decref`'s common
/// case keeps no register across a call.
///
/// # Safety
/// As `decref`; the caller is inside `bias::enter_owned_counts`.
#[cold]
#[inline(never)]
unsafe fn decref_last(h: *mut Header) {
    // SAFETY: caller's contract; die_quick runs no user code, and the
    // guard is not used after the exit.
    unsafe {
        let done = if (*h).is_tracked() {
            die_quick::<true>(h)
        } else {
            die_quick::<false>(h)
        };
        crate::bias::exit_owned_counts();
        if !done {
            decref_slow(h);
        }
    }
}

#[cold]
unsafe fn decref_slow(h: *mut Header) {
    // SAFETY: caller's contract.
    if unsafe { die_untracked_plain(h) || die_in_nursery(h) } {
        return;
    }
    let g = lock();
    // SAFETY: caller's contract; the lock is held.
    unsafe {
        let cur = count_down(h);
        after_count_down(&g, h, cur);
    }
}

/// The death of a nursery object (nursery.rs) when the caller drops its
/// last reference while holding the section slot of its owner: no lock.
/// In that section its count goes to zero, it leaves its nursery's list,
/// its fields are released, and its block joins the nursery's `fresh`
/// list; so do the values whose count the release takes to zero and that
/// die the same way, in one loop (a worklist through their `next`
/// links). Other values whose count would reach zero, and `OLD` ones, are
/// released after the section under the heap lock, as are the dead
/// objects whose fields no longer fit the buffer for those. False
/// (nothing done) for any other object, or when no section can begin, or
/// the count is not 1 any more: the locked path decides then.
///
/// # Safety
/// As `decref`.
#[inline(never)]
unsafe fn die_in_nursery(h: *mut Header) -> bool {
    use crate::object::NURSERY;
    // SAFETY: caller's contract: h is live. While the section lasts, only
    // this thread changes nursery i and takes a NURSERY object of owner i
    // to zero, and nobody clears NURSERY (stoppers wait for the section).
    unsafe {
        // (`dies_in_nursery` checks the rest in the section.)
        if !(*h).has(NURSERY) {
            return false;
        }
        let Some(section) = crate::sections::enter() else {
            return false;
        };
        let i = section.index();
        if !dies_in_nursery(h, i) {
            return false;
        }
        list::remove(h);
        // References whose release waits for the lock, and objects that
        // died in the section whose fields wait with them.
        let mut later = [ptr::null_mut::<Header>(); 2 * crate::nursery::MAX_FIELDS];
        let mut n_later = 0;
        let mut due = false;
        let mut todo = h;
        while !todo.is_null() {
            let x = todo;
            let fields = fields(x);
            if n_later + fields.len() > later.len() {
                break;
            }
            todo = list::next(x);
            for slot in fields {
                let c = slot.load(Relaxed);
                if c.is_null() {
                    continue;
                }
                if release_in_section(c) {
                    continue;
                }
                if dies_in_nursery(c, i) {
                    list::remove(c);
                    list::set_next(c, todo);
                    todo = c;
                } else {
                    later[n_later] = c;
                    n_later += 1;
                }
            }
            let (base, size) = allocation_of(x);
            due |= crate::nursery::died(i, base, crate::memory::charge(size));
        }
        let shares = due.then(|| crate::nursery::take_shares(i));
        drop(section);
        if shares.is_none() && n_later == 0 && todo.is_null() {
            return true;
        }
        let g = lock();
        if let Some(shares) = shares {
            shares.fold(&g, 0);
        }
        for &c in &later[..n_later] {
            decref_locked(&g, c);
        }
        while !todo.is_null() {
            let x = todo;
            todo = list::next(x);
            queue_death(&g, x);
        }
        if !(*g.st()).busy.draining && !(*g.st()).fresh.is_null() {
            drain(&g);
        }
        true
    }
}

/// Drops one reference to `c` without the lock if that leaves its count
/// above zero and it is not `OLD` (whose first loss makes it dirty, under
/// the lock). False (nothing done) otherwise.
///
/// # Safety
/// `c` is live and the caller owns the reference it drops.
#[inline(always)]
unsafe fn release_in_section(c: *mut Header) -> bool {
    // SAFETY: caller's contract.
    let rc = unsafe { &(*c).rc };
    let mut cur = rc.load();
    while cur.count() > 1 && !cur.has(OLD | MARK) {
        // Release: as in `decref`.
        match rc.compare_exchange_weak(cur, cur.minus_one(), Release) {
            Ok(_) => return true,
            Err(seen) => cur = seen,
        }
    }
    false
}

/// Takes the count of `c` from 1 to zero (`DYING`, no more `NURSERY`) if
/// it is an object of nursery `i` that dies there: no type, no weakrefs.
/// False (nothing done) otherwise.
///
/// # Safety
/// `c` is live, the caller owns the reference it drops and holds section
/// slot `i`.
#[inline(always)]
unsafe fn dies_in_nursery(c: *mut Header, i: usize) -> bool {
    use crate::object::NURSERY;
    // SAFETY: caller's contract.
    unsafe {
        if !(*c).is_plain() {
            return false;
        }
        let rc = &(*c).rc;
        let mut cur = rc.load();
        while cur.count() == 1
            && cur.has(NURSERY)
            && cur.owner() == i
            && !cur.has(WEAKREFED | DYING | MARK)
        {
            // AcqRel: as the death path's transition to zero (`count_down`).
            match rc.compare_exchange_weak(
                cur,
                cur.minus_one().with(DYING).without(NURSERY),
                AcqRel,
            ) {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
        false
    }
}

/// The death of an untracked object with no type that never had weakrefs,
/// when the caller drops its last reference: no hook, no weakref, no field,
/// no list, so no lock either (but to give a pool block back); only the
/// count's last step, the figures and the memory. False (nothing done) for
/// any other object, or when the count is not 1 any more, or in checked
/// mode: the locked path decides then.
///
/// # Safety
/// `h` is a live object and the caller owns the reference it drops.
unsafe fn die_untracked_plain(h: *mut Header) -> bool {
    // SAFETY: caller's contract: h is live.
    unsafe {
        if (*h).is_tracked() || !(*h).ty().is_null() || (*h).is_weakref() || checks::enabled() {
            return false;
        }
        let rc = &(*h).rc;
        // With a count of 1, ours is the only reference: no other thread
        // can change the count (it would need a reference to incref from;
        // a field holding the object would count; `weakref_get` needs
        // WEAKREFED, which only a holder of a reference can set). So a
        // plain load and store, with or without the counts bias.
        let last = |cur: Counts| cur.count() == 1 && !cur.has(WEAKREFED | DYING);
        // Acquire: pairs with the Release decrements of the threads that
        // held the other references, so their writes happen before the free.
        let cur = rc.load_acquire();
        if !last(cur) {
            return false;
        }
        if crate::sections::used() {
            return die_untracked_watched(h, cur);
        }
        rc.store_exclusive(cur.minus_one().with(DYING));
        free_untracked(h, cur, true);
        true
    }
}

/// `die_untracked_plain` once some thread has begun a section: a section's
/// obj_get_field may have read the object from a field before the field
/// changed and be incrementing the count, so the last step is a
/// compare-and-swap (false, nothing done, when it lost: the locked path
/// decides), and the memory is retired while a section is in progress.
///
/// # Safety
/// As `die_untracked_plain`; `cur` is the count word it read.
#[cold]
#[inline(never)]
unsafe fn die_untracked_watched(h: *mut Header, mut cur: Counts) -> bool {
    let last = |cur: Counts| cur.count() == 1 && !cur.has(WEAKREFED | DYING);
    // SAFETY: caller's contract: h is live.
    let rc = unsafe { &(*h).rc };
    loop {
        // Acquire: as in `die_untracked_plain`.
        match rc.compare_exchange_weak(cur, cur.minus_one().with(DYING), Acquire) {
            Ok(_) => break,
            Err(seen) if last(seen) => cur = seen,
            Err(_) => return false,
        }
    }
    // SAFETY: the count is zero: the object is ours.
    unsafe { free_untracked(h, cur, crate::sections::quiet()) };
    true
}

/// The end of an untracked object's death without the lock: the figures
/// and the memory (`quiet`: whether no section can be reading the header;
/// if one may, the memory is retired, epoch.rs). `cur` is its count word
/// before the last step.
///
/// # Safety
/// `h` is an untracked object whose count this thread took to zero.
#[inline(always)]
unsafe fn free_untracked(h: *mut Header, cur: Counts, quiet: bool) {
    // SAFETY: caller's contract.
    unsafe {
        let (base, size) = allocation_of(h);
        let bytes = crate::memory::charge(size);
        let pooled = cur.has(POOLED);
        // A pool block goes back under the heap lock (one made while the
        // lock was biased to its creator, usually this thread); a system
        // allocation needs no lock, and is counted under the lock while its
        // bias is this thread's (plain accesses), in this thread's share
        // otherwise.
        if pooled || !quiet || crate::bias::lock_is_mine() {
            let g = lock();
            crate::memory::on_free(bytes, false, pooled);
            if !quiet {
                crate::epoch::retire(g.st(), h);
                return;
            }
            if pooled {
                (*g.st()).pool.free(base, size);
                return;
            }
        } else {
            crate::memory::on_free_unlocked(bytes);
        }
        sys_free(base, size);
    }
}

/// `decref` for a caller that already holds the lock (the death path and
/// the collector release many references in a row).
///
/// # Safety
/// `h` is a live object, the caller owns the reference it drops, and `g` is
/// this thread's lock guard.
pub unsafe fn decref_locked(g: &Locked, h: *mut Header) {
    // SAFETY: caller's contract.
    unsafe {
        let cur = count_down(h);
        after_count_down(g, h, cur);
    }
}

/// `decref_locked`'s change of the count word; returns the word before.
///
/// # Safety
/// As `decref_locked`.
#[inline(always)]
unsafe fn count_down(h: *mut Header) -> Counts {
    // SAFETY: h is live (caller's contract) and the lock is held.
    let rc = unsafe { &(*h).rc };
    // The new count word for the old one `v`, None when the count is 0; the
    // transition to zero sets DYING and takes the object off its list's
    // books (`start_death` settles them from the old word) in the same
    // step, and a loss that leaves an `OLD` object alive clears `OLD` (it
    // moves to `dirty` below).
    let next = |v: Counts| match v.count() {
        0 => None,
        1 => Some(
            v.minus_one()
                .with(DYING)
                .without(PROMOTED | OLD | DIRTY | crate::object::NURSERY),
        ),
        _ => Some(v.minus_one().without(OLD)),
    };
    // The counts are this thread's (bias.rs): plain accesses, same result.
    let owned = crate::bias::with_owned_counts(|| {
        let v = rc.load();
        if let Some(n) = next(v) {
            rc.store_exclusive(n);
        }
        v
    });
    match owned {
        Some(v) => v,
        None => {
            crate::bias::before_shared_count_change();
            let mut cur = rc.load();
            while let Some(new) = next(cur) {
                // AcqRel: acquire every other thread's releasing decrement
                // before the object may die.
                match rc.compare_exchange_weak(cur, new, AcqRel) {
                    Ok(_) => break,
                    Err(seen) => cur = seen,
                }
            }
            cur
        }
    }
}

/// The rest of `decref_locked`, for `h` whose count word was `cur` before
/// `count_down`.
///
/// # Safety
/// As `decref_locked`, after `count_down(h)` returned `cur`.
#[inline(always)]
unsafe fn after_count_down(g: &Locked, h: *mut Header, cur: Counts) {
    if cur.count() == 0 {
        if crate::checks::enabled() {
            crate::checks::underflow(c"obj_decref", h);
        }
        fail(GC_ERR_INVALID, c"obj_decref: reference count is already 0");
        return;
    }
    if dies(cur) {
        // SAFETY: the count just reached zero under the lock.
        unsafe { start_death(g, h, cur) };
    } else if cur.count() > 1 && cur.has(OLD) {
        // SAFETY: lock held; h is live, and was in `old` until this step.
        unsafe { make_dirty(g, h, false) };
    }
}

/// `h` just lost `OLD` with a reference: the next full collection starts
/// there, looking for objects that reference may have cut off (gc/mod.rs).
/// It stays in `old`, marked `DIRTY` and on its pool page (`Pool::mark`,
/// which counts them), so that the collection takes it in address
/// order rather than in the order the program dropped references; unless
/// `moving`, or it is not a pool block, or its page can get no marks: then
/// it moves to `dirty` at once, or, while the collector's scan walks the
/// list it may be in (`State::passing`), once the walk is over
/// (`gc::move_deferred_dirty`).
///
/// # Safety
/// Lock held; `h` is live, in `old` (or a survivor of the running full
/// collection, to join it), and its `OLD` was just cleared.
#[cold]
unsafe fn make_dirty(g: &Locked, h: *mut Header, moving: bool) {
    // SAFETY: lock held; no user code runs while `st` is borrowed; h is a
    // live pool block when POOLED says so.
    unsafe {
        let st = &mut *g.st();
        st.old_len = st.old_len.wrapping_sub(1);
        if !moving && (*h).has(POOLED) && st.pool.mark(h as *mut u8) {
            (*h).change_fast(DIRTY, 0);
        } else if !st.passing {
            list::move_to(h, &st.dirty);
        } else if crate::alloc::reserve(|| st.deferred_dirty.try_reserve(1)) {
            st.deferred_dirty.push(h);
        } else {
            st.deferred_lost = true;
        }
    }
}

/// Makes every `OLD` object `h` references dirty (as if it had lost a
/// reference): `h` may be what holds them now, and it is not `OLD`. With
/// `reached`, each such object is also pushed on it, for the caller to
/// do the same to its children (a walk of the closure that leaves the
/// objects in place, marked on their pages, so that the collection takes
/// them in address order); one that cannot be pushed moves to `dirty` at
/// once instead. In checked mode each reference is validated first, for
/// `api`.
///
/// # Safety
/// Lock held; `h` is live.
pub unsafe fn make_children_dirty(
    g: &Locked,
    h: *mut Header,
    api: &CStr,
    mut reached: Option<&mut Vec<*mut Header>>,
) {
    let checked = checks::enabled();
    // SAFETY: lock held; h is live and its children are live objects.
    unsafe {
        crate::object::for_each_child(h, |c| {
            if checked {
                checks::referenced(api, c, h);
            }
            if (*c).has(OLD) {
                (*c).change_fast(0, OLD);
                match reached.as_deref_mut() {
                    None => make_dirty(g, c, false),
                    Some(stack) => {
                        if crate::alloc::reserve(|| stack.try_reserve(1)) {
                            // (One the pool does not hold moves to `dirty`
                            // all the same; the caller's walk of `dirty`
                            // then finds its children no longer `OLD`.)
                            make_dirty(g, c, false);
                            // Its line is in cache: start the loads of its
                            // children before its turn on the stack.
                            crate::object::prefetch_children(c);
                            stack.push(c);
                        } else {
                            make_dirty(g, c, true);
                        }
                    }
                }
            }
        });
    }
}

/// Its address, in `prev` of an object on the death stack: its finalizer
/// has run (or had nothing to do), the next step starts at the resurrection
/// check. An address, 16-aligned like every header, because a collection
/// run by that finalizer may meet the object as a child of a member, and
/// reads `prev` to tell members (low bits set, gc/scan.rs) from others (a
/// plain link, or 0).
static RESUME_MARK: Header = list::sentinel();

#[inline]
fn resume() -> usize {
    &RESUME_MARK as *const Header as usize
}

/// `after_count_down`, not inlined (for the loops that release many
/// references: `die_simply`'s and `release_fields`').
///
/// # Safety
/// As `after_count_down`.
#[inline(never)]
unsafe fn after_count_down_outlined(g: &Locked, h: *mut Header, cur: Counts) {
    // SAFETY: caller's contract.
    unsafe { after_count_down(g, h, cur) }
}

/// Queues `h`, whose count just reached zero (and which was just set
/// `DYING`, its list flags cleared; `v` is its word before), and drains
/// the queue unless an outer death or collection will.
///
/// # Safety
/// Lock held; `h` has count 0 and was set `DYING` by this transition.
#[inline(always)]
unsafe fn start_death(g: &Locked, h: *mut Header, v: Counts) {
    // SAFETY: lock held; h is live; no user code runs while `st` is borrowed.
    unsafe {
        unlink_dying(g, h, v);
        let st = &mut *g.st();
        if !st.busy.draining && dies_simply(h) {
            // The common death, outside any other: no hooks, no weakrefs, so
            // steps 1-3 are empty and no user code can run; release the
            // fields and free at once, then drain the deaths that caused.
            st.busy.draining = true;
            die_simply(g, h);
            (*g.st()).busy.draining = false;
            if !(*g.st()).fresh.is_null() {
                drain(g);
            }
            return;
        }
        queue_death(g, h);
        if !(*g.st()).busy.draining {
            drain(g);
        }
    }
}

/// Queues `h` on the death stack (`fresh`), for a drain.
///
/// # Safety
/// Lock held; `h` has count 0, is `DYING` and unlinked from every list.
unsafe fn queue_death(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; no user code runs while `st` is borrowed.
    unsafe {
        let st = &mut *g.st();
        (*h).prev.store(0, Relaxed);
        list::set_next(h, std::ptr::null());
        if st.fresh_tail.is_null() {
            st.fresh = h;
        } else {
            list::set_next(st.fresh_tail, h);
        }
        st.fresh_tail = h;
    }
}

/// Takes `h`, whose count just reached zero (`v`: its word before), off
/// its generation's list and books.
///
/// # Safety
/// Lock held; `h` has count 0 and was set `DYING` by this transition.
#[inline(always)]
unsafe fn unlink_dying(g: &Locked, h: *mut Header, v: Counts) {
    // SAFETY: lock held; h is live.
    unsafe {
        if (*h).is_tracked() {
            // Out of a nursery's list with every section stopped, the
            // nursery's births counted before this death.
            let _stop = v.has(crate::object::NURSERY).then(|| {
                let stop = crate::sections::stop(g);
                crate::nursery::fold_owner(g, v.owner());
                stop
            });
            // (Its own links: the caller's, which sets or frees them.)
            list::unlink(h);
            // (One test for the young objects most deaths are.)
            if !v.has(PROMOTED | OLD | DIRTY) {
            } else if v.has(PROMOTED) {
                // It leaves generation 2 (API v2: pending counts promoted
                // objects still alive; resurrected, it rejoins generation 0).
                (*g.st()).long_lived_pending -= 1;
            } else if v.has(OLD) {
                // It leaves `old` (and, resurrected, rejoins generation 0).
                (*g.st()).old_len = (*g.st()).old_len.wrapping_sub(1);
            } else {
                (*g.st()).pool.unmark(h as *mut u8);
            }
        }
    }
}

/// Whether the death of `h` runs no user code and touches no weakref: it
/// has no type and is not a weakref, and never had weakrefs.
///
/// # Safety
/// `h` is live.
#[inline(always)]
pub unsafe fn dies_simply(h: *mut Header) -> bool {
    // SAFETY: caller's contract.
    unsafe { (*h).is_plain() && !(*h).has(WEAKREFED) }
}

/// Steps 4-5 of the death of `h` and of every object whose count its
/// releases take to zero and that dies simply too (`dies_simply`), in one
/// loop: a worklist through their `next` links instead of a step of the
/// death stack each (no user code runs, so the order is not seen). Others
/// whose count reaches zero are queued in `fresh`, for the caller's drain.
///
/// # Safety
/// Lock held, `draining` set; `h` dies simply, has count 0, is `DYING` and
/// unlinked from every list.
#[inline(always)]
unsafe fn die_simply(g: &Locked, h: *mut Header) {
    let checked = checks::enabled();
    let mut books = Freed::default();
    // SAFETY: lock held; every object on the worklist is dying, unlinked
    // and ours; field values are strong references.
    unsafe {
        list::set_next(h, std::ptr::null());
        let mut todo = h;
        while !todo.is_null() {
            let x = todo;
            todo = list::next(x);
            for slot in fields(x) {
                // (The field is left as it is: x is freed below, and no
                // user code runs to read it meanwhile.)
                let Some((c, cur)) = release_field(slot, x, checked, false) else {
                    continue;
                };
                // (`dies` and `dies_simply` with the count word in hand; a
                // nursery object dies through the death stack below.)
                let nursery = crate::object::NURSERY;
                if cur.count() == 1 && !cur.has(DYING | WEAKREFED | nursery) && (*c).is_plain() {
                    unlink_dying(g, c, cur);
                    list::set_next(c, todo);
                    todo = c;
                } else {
                    // A nursery object's death folds its nursery's shares
                    // into the memory figures and checks the peak
                    // (`unlink_dying`): the books of the frees so far first.
                    if cur.has(nursery) {
                        books.settle(g.st());
                    }
                    // (Unfiltered by `rare`: a value that survives costs a
                    // call that finds nothing to do, and testing for it here
                    // cost binary-trees more instructions than it saved.)
                    after_count_down_outlined(g, c, cur);
                }
            }
            free_counted(g.st(), x, checked, &mut books);
        }
        books.settle(g.st());
    }
}

/// Completes every death queued above the current top of the death stack,
/// including those queued while it runs, one step at a time (module docs).
/// May nest (a collection inside a hook settles the deaths it caused);
/// `draining` is restored on return.
pub fn drain(g: &Locked) {
    // SAFETY: lock held; borrows of the state end before user code runs.
    unsafe {
        let st = &mut *g.st();
        let was_draining = st.busy.draining;
        st.busy.draining = true;
        // The outermost drain owns the whole stack (after a fork, deaths a
        // thread that did not survive left there too); a nested one only
        // what is pushed above the top it found.
        let floor = if was_draining {
            st.deaths
        } else {
            std::ptr::null_mut()
        };
        loop {
            let st = &mut *g.st();
            if !st.fresh.is_null() {
                list::set_next(st.fresh_tail, st.deaths);
                st.deaths = st.fresh;
                st.fresh = std::ptr::null_mut();
                st.fresh_tail = std::ptr::null_mut();
            }
            let h = st.deaths;
            if h == floor {
                break;
            }
            step(g, h);
        }
        (*g.st()).busy.draining = was_draining;
    }
}

/// Takes `h`, the top of the death stack, off it.
///
/// # Safety
/// Lock held; `h` is the top of the death stack.
unsafe fn pop(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is on the stack.
    unsafe {
        let st = &mut *g.st();
        debug_assert!(st.deaths == h);
        st.deaths = list::next(h);
        list::set_next(h, std::ptr::null());
        (*h).prev.store(0, Relaxed);
    }
}

/// One step of the death of `h`, the top of the death stack: its finalizer,
/// or the rest of its death from the resurrection check on.
///
/// # Safety
/// Lock held; `h` is the top of the death stack, `DYING`, unlinked.
unsafe fn step(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h stays allocated until we free it below.
    unsafe {
        // (An object with no type has no finalizer: its death is one step.)
        if !(*h).ty().is_null() && (*h).prev.load(Relaxed) != resume() {
            (*h).prev.store(resume(), Relaxed);
            if (*h).count() == 0
                && !(*h).has(FINALIZED)
                && let Some(finalize) = (*h).hook(|t| t.finalize)
            {
                (*h).set(FINALIZED);
                crate::heap::host(|| finalize(h as *mut GcObject));
                // Deaths the finalizer caused are now pushed above `h` and
                // complete before its resurrection check (the next step).
                return;
            }
        }
        pop(g, h);
        if (*h).count() > 0 {
            return revive(g, h);
        }
        if dies_simply(h) {
            return die_simply(g, h);
        }
        if (*h).has(WEAKREFED) {
            let mut pending = Pending::new();
            weakref::clear_target(&mut *g.st(), h, &mut pending);
            run_weak_callbacks(pending);
        }
        release_references(g, h);
        destroy(h);
        free(g.st(), h);
    }
}

/// A queued object that got a new reference before it died: back to
/// generation 0, intact. The `OLD` objects it references lose `OLD`: they
/// may be held only through it now, which a full collection would not
/// look at otherwise (gc/mod.rs).
unsafe fn revive(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is live.
    unsafe {
        (*h).unset(DYING | COLLECTED);
        if (*h).is_tracked() {
            // (back with the references it holds: order.rs)
            crate::order::stored_elsewhere();
            list::append(h, &(*g.st()).gens[0]);
            make_children_dirty(g, h, c"obj_decref", None);
        }
    }
}

/// Runs the callbacks of cleared weakrefs in order and drops the references
/// `clear_target` took on them. Returns how many weakrefs that drop
/// released for good (their callback let go of every other reference),
/// which a collection counts as CPython does.
///
/// # Safety
/// Lock held; `pending` came from `weakref::clear_target`.
pub unsafe fn run_weak_callbacks(pending: Pending) -> usize {
    let mut wr = pending.head;
    let mut freed = 0;
    while !wr.is_null() {
        // SAFETY: each pending weakref is kept alive by the reference taken
        // in clear_target until the decref below.
        unsafe {
            let next = Pending::next(wr);
            let d = weakref::data(wr);
            if let Some(cb) = d.cb {
                crate::heap::host(|| cb(wr as *mut GcObject, d.ctx));
            }
            if (*wr).count() == 1 {
                freed += 1;
            }
            decref(wr);
            wr = next;
        }
    }
    freed
}

/// Step 4 of the death order: releases every field (and the target link of a
/// weakref object), then runs the `clear` hook.
///
/// # Safety
/// Lock held; `h` is dying and certain not to be resurrected.
#[inline(always)]
pub unsafe fn release_references(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is live and dying (caller's contract).
    unsafe {
        release_fields(g, h, |_| {});
        if let Some(clear) = (*h).hook(|t| t.clear) {
            crate::heap::host(|| clear(h as *mut GcObject));
        }
    }
}

/// The first half of step 4: detaches a weakref object from its target and
/// releases every field, calling `then` with each child after its release
/// (the collector frees released garbage there).
///
/// # Safety
/// Lock held; `h` is dying and certain not to be resurrected; `then` runs
/// no user code.
#[inline(always)]
pub unsafe fn release_fields(g: &Locked, h: *mut Header, mut then: impl FnMut(*mut Header)) {
    // SAFETY: lock held; h is live; field values are strong references.
    unsafe {
        if (*h).is_weakref() {
            weakref::detach(&mut *g.st(), h);
        }
        let checked = checks::enabled();
        for slot in fields(h) {
            if let Some((c, cur)) = release_field(slot, h, checked, true) {
                if rare(cur) {
                    after_count_down_outlined(g, c, cur);
                }
                then(c);
            }
        }
    }
}

/// Drops a reference to `c` that dying garbage held (the collector's
/// `free_passed`, which leaves the field as it is): as `decref_locked`,
/// with the rare cases out of line.
///
/// # Safety
/// Lock held; the reference is the caller's to drop.
#[inline(always)]
pub unsafe fn release_value(g: &Locked, c: *mut Header) {
    // SAFETY: caller's contract.
    unsafe {
        let cur = count_down(c);
        if rare(cur) {
            after_count_down_outlined(g, c, cur);
        }
    }
}

/// Takes the reference `slot`, a field of the dying `h`, held off its
/// value's count (`count_down`), and clears the field if `clear`: the
/// value and its count word before, or None for an empty field.
/// `checked`: whether checked mode is on (the value is validated first).
///
/// # Safety
/// Lock held; `h` is dying and certain not to be resurrected.
#[inline(always)]
unsafe fn release_field(
    slot: &AtomicPtr<Header>,
    h: *mut Header,
    checked: bool,
    clear: bool,
) -> Option<(*mut Header, Counts)> {
    // Fields change only under the lock we hold: no RMW needed.
    let c = slot.load(Relaxed);
    if c.is_null() {
        return None;
    }
    if checked {
        checks::referenced(c"obj_decref", c, h);
    }
    if clear {
        slot.store(std::ptr::null_mut(), Relaxed);
    }
    // SAFETY: the field held a reference to the live object c.
    Some((c, unsafe { count_down(c) }))
}

/// Whether the decrement that found `cur` took the count to zero.
#[inline(always)]
fn dies(cur: Counts) -> bool {
    cur.count() == 1 && !cur.has(DYING)
}

/// Whether the decrement that found `cur` has more to do than the count
/// (`after_count_down`: a death, an old object's first loss, an underflow).
#[inline(always)]
fn rare(cur: Counts) -> bool {
    dies(cur) || cur.count() == 0 || (cur.count() > 1 && cur.has(OLD))
}

/// Step 5, first half: the `destroy` hook.
///
/// # Safety
/// `h` is dying, after step 4.
pub unsafe fn destroy(h: *mut Header) {
    // SAFETY: h is live until freed.
    unsafe {
        if let Some(destroy) = (*h).hook(|t| t.destroy) {
            crate::heap::host(|| destroy(h as *mut GcObject));
        }
        crate::order::died((*h).ty());
    }
}

/// Step 5, second half: counts the deallocation and releases the memory, at
/// once or, where a lock-free reader may still hold its address, once none
/// can (the epoch's retired list, released in batches of `RETIRE_BATCH`).
///
/// # Safety
/// Lock held (`st` is the heap state); `h` is unlinked and never used again.
#[inline(always)]
pub unsafe fn free(st: *mut State, h: *mut Header) {
    let mut books = Freed::default();
    // SAFETY: caller's contract.
    unsafe {
        free_counted(st, h, checks::enabled(), &mut books);
        books.settle(st);
    }
}

/// What a run of frees takes off count0 and the memory figures, added up
/// by `free_counted` and applied by `settle` (a death that frees a whole
/// tree updates them once, not once per object). The run holds the heap
/// lock and runs no user code; what would read the figures in between (a
/// nursery's fold, which checks the peak) settles them first.
#[derive(Default)]
pub struct Freed {
    objects: usize,
    tracked: usize,
    bytes: usize,
    unpooled: usize,
}

impl Freed {
    /// Applies the run's books so far (and starts them again).
    ///
    /// # Safety
    /// Lock held (`st` is the heap state).
    #[inline(always)]
    pub unsafe fn settle(&mut self, st: *mut State) {
        let this = std::mem::take(self);
        // SAFETY: caller's contract.
        unsafe {
            let st = &mut *st;
            st.count[0] = st.count[0].saturating_sub(this.tracked);
        }
        crate::memory::on_free_many(this.objects, this.tracked, this.bytes, this.unpooled);
    }
}

/// `free` with its books added to `books` (applied later by
/// `Freed::settle`); `checked`: whether checked mode is on.
///
/// # Safety
/// As `free`; the caller settles `books` before it gives the lock back or
/// runs user code.
#[inline(always)]
pub unsafe fn free_counted(st: *mut State, h: *mut Header, checked: bool, books: &mut Freed) {
    // SAFETY: lock held; h is live until its memory is released.
    unsafe {
        let (base, size, pooled) = booked(h, books);
        if checked {
            checks::on_death(h);
        }
        if (*h).has(WEAKREFED) || (*st).busy.sections_used {
            free_watched(st, h, base, size, checked, pooled);
        } else {
            release_memory(st, h, base, size, checked, pooled);
        }
        if (*st).retired_len >= RETIRE_BATCH {
            release_retired(st);
        }
    }
}

/// The start of `free_counted` and `free_unwatched`: the block of `h` (its
/// base and size, and whether the pool holds it), with its books added to
/// `books`.
///
/// # Safety
/// `h` is live.
#[inline(always)]
unsafe fn booked(h: *mut Header, books: &mut Freed) -> (*mut u8, usize, bool) {
    // SAFETY: caller's contract.
    unsafe {
        let pooled = (*h).has(POOLED);
        // The size of a pool block with a prefix is its page's (no call to
        // read the prefix).
        let (base, size) = if pooled && (*h).meta & crate::object::META_EXT != 0 {
            let b = crate::object::base_of(h);
            (b, crate::alloc::Pool::block_size_of(b))
        } else {
            allocation_of(h)
        };
        let bytes = crate::memory::charge(size);
        books.objects += 1;
        books.tracked += (*h).is_tracked() as usize;
        books.bytes += bytes;
        if !pooled {
            books.unpooled += bytes;
        }
        (base, size, pooled)
    }
}

/// `free_counted` for an object no lock-free reader can hold and no check
/// follows: it never had weakrefs, checked mode is off and no section
/// ever began (`State::busy.sections_used`). What is left of a free then:
/// its books and the block back to its allocator. (The collector frees its
/// simple garbage with it, gc/scan.rs `free_passed`.)
///
/// # Safety
/// As `free_counted`, and `h` is as said.
#[inline(always)]
pub unsafe fn free_unwatched(st: *mut State, h: *mut Header, books: &mut Freed) {
    // SAFETY: caller's contract.
    unsafe {
        debug_assert!(!(*h).has(WEAKREFED) && !(*st).busy.sections_used);
        let (base, size, pooled) = booked(h, books);
        release_memory(st, h, base, size, false, pooled);
    }
}

/// `free`'s end where a lock-free reader may hold the address: a
/// `weakref_get` (the object has had weakrefs) or a section's
/// `obj_get_field` (once sections exist, unless this thread's stop keeps
/// them out). The memory then goes back once no reader can hold it
/// (epoch.rs), else at once.
///
/// # Safety
/// As `release_memory`.
#[cold]
#[inline(never)]
unsafe fn free_watched(
    st: *mut State,
    h: *mut Header,
    base: *mut u8,
    size: usize,
    checked: bool,
    pooled: bool,
) {
    // SAFETY: caller's contract.
    unsafe {
        // (During a stop no section is in progress: at once.)
        if (*h).has(WEAKREFED) || !crate::sections::stopped() {
            crate::epoch::retire(st, h);
        } else {
            release_memory(st, h, base, size, checked, pooled);
        }
    }
}

/// Retired blocks that make a free release what has become safe (epoch.rs).
const RETIRE_BATCH: usize = 64;

/// Releases every retired block that no lock-free reader can hold.
///
/// # Safety
/// Lock held (`st` is the heap state).
pub unsafe fn release_retired(st: *mut State) {
    // SAFETY: lock held; release_safe hands over dead blocks only.
    unsafe {
        crate::epoch::release_safe(st, |h| {
            let (base, size) = allocation_of(h);
            release_memory(st, h, base, size, checks::enabled(), (*h).has(POOLED))
        })
    }
}

/// Returns the memory of `h` to the pool or the system, where it came from
/// (`pooled`: it has `POOLED`; `checked`, whether checked mode is on).
///
/// # Safety
/// Lock held (`st` is the heap state); `h` is dead and never used again;
/// `(base, size)` is its `allocation_of`.
#[inline(always)]
unsafe fn release_memory(
    st: *mut State,
    h: *mut Header,
    base: *mut u8,
    size: usize,
    checked: bool,
    pooled: bool,
) {
    // SAFETY: h's header is still readable; the block goes back to the
    // allocator that made it (POOLED says which).
    unsafe {
        if checked {
            for (b, s) in checks::quarantine(h, base, size) {
                sys_free(b as *mut u8, s);
            }
        } else if pooled {
            (*st).pool.free(base, size);
        } else {
            sys_free(base, size);
        }
    }
}
