//! The generational cycle collector (CPython's reference subtraction) and
//! object creation, which counts allocations and triggers it.
//!
//! # One collection
//! `collect_main` reads like the algorithm:
//! 1. merge the younger generations into the collected one (`young`);
//! 2. `update_refs`: each object's `prev` word becomes
//!    `gc_refs << 2 | COLLECTING`, with gc_refs = its reference count; an
//!    object with weakrefs gets `MARK` in the same atomic step, so from then
//!    on a lock-free `weakref_get` on it takes the lock instead;
//! 3. `subtract_refs`: every reference from one member of `young` to another
//!    is subtracted, so gc_refs counts only references from outside;
//! 4. `move_unreachable`: objects with gc_refs > 0 are roots; everything they
//!    reach is reachable (and loses its `MARK`); the rest moves to
//!    `unreachable` and, in the walk that tidies that list, is marked
//!    `DYING | COLLECTED` and counted (saving passes later);
//! 5. survivors are promoted (merged into the next older generation);
//! 6. (no step: counts change lock-free only through references their holders
//!    already own, which keep the object reachable; turning a borrowed
//!    reference into an owned one while another thread collects must be done
//!    under the heap lock, as the API says);
//! 7. if a finalizer is due: the marks come off (the garbage is not dead
//!    yet) and `finalize_garbage` runs the finalize hook of every garbage
//!    object not finalized before, before anything is cleared;
//! 8. then the deaths the finalizers queued are run, and `rescue` (steps 2-4
//!    on the garbage alone, marking what really dies): resurrected objects
//!    and all they reach survive intact;
//! 9. what is left really dies: clear the weakrefs of all of it, then run
//!    the callbacks (weakrefs that are themselves garbage get none);
//! 10. release every field and run the `clear` hooks; then, object by
//!     object, the `destroy` hook and free. Deaths of non-garbage objects
//!     these releases cause are queued and drained before the collection
//!     ends.
//!
//! # The header during a collection
//! - `prev` of a member of the set being scanned: `gc_refs << 2 | COLLECTING`
//!   (steps 2-4). Objects outside the set have a plain pointer (or 0) there,
//!   so `COLLECTING` tells membership. `move_unreachable` restores the
//!   pointer of each reachable object as soon as it has been scanned.
//! - `next` of an object tentatively moved to `unreachable` carries the
//!   `UNREACHABLE` bit (and its `prev`, a pointer, keeps `COLLECTING`), so a
//!   later visit can bring it back to the tail of `young`.
//! - After `move_unreachable` both lists are plain doubly linked lists again;
//!   the debug-only validator checks this between phases.
//! - `MARK` (rc word) is set at step 2 on objects with weakrefs, cleared when
//!   step 4 finds them reachable or `rescue` resurrects them; the garbage
//!   keeps it until it is freed.
//!
//! The whole collection holds the heap lock; user code (finalizers, callbacks,
//! clear/destroy hooks) runs with it held and may re-enter: `collecting`
//! makes a nested `gc_collect` return 0, and `draining` queues deaths.

pub(crate) mod debug;
mod validate;

use crate::alloc::{sys_alloc, sys_free};
use crate::checks;
use crate::error::{GC_ERR_INVALID, GC_ERR_NOMEM, fail};
use crate::heap::{GcCallbackInfo, GcPhase, Locked, NUM_GENERATIONS, lock};
use crate::list;
use crate::object::{
    COLLECTED, DYING, FINALIZED, GcObject, GcType, Header, Kind, MARK, Shape, WEAKREFED,
    for_each_child, init_object,
};
use crate::refcount::{destroy, drain, free, from_pool, release_references, run_weak_callbacks};
use crate::weakref::{self, Pending};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

const COLLECTING: usize = 1;
const REFS_SHIFT: u32 = 2;
const UNREACHABLE: usize = 1;

/// Creates an object (refcount 1). A tracked object is counted in count0,
/// may trigger an automatic collection first (it is never part of it), and
/// is then linked into generation 0.
///
/// # Safety
/// `ty` is NULL or a `GcType` that outlives the object.
pub unsafe fn new_object(
    ty: *const GcType,
    nfields: usize,
    payload_size: usize,
    kind: Kind,
) -> Result<*mut Header, i32> {
    let Ok(shape) = Shape::new(nfields, payload_size) else {
        return Err(fail(
            GC_ERR_INVALID,
            c"obj_new: nfields/payload_size overflow or exceed PTRDIFF_MAX",
        ));
    };
    let size = shape.size();
    let nomem = || Err(fail(GC_ERR_NOMEM, c"obj_new: out of memory"));
    checks::on_first_allocation();
    let register = |h: *mut Header, base: *mut u8| {
        if checks::enabled() && !checks::on_alloc(h, ty) {
            // SAFETY: the object was never published; checked-mode memory
            // comes from sys_alloc.
            unsafe { sys_free(base, size) };
            return false;
        }
        true
    };
    if !shape.tracked(ty, kind) {
        let base = sys_alloc(size);
        if base.is_null() {
            return nomem();
        }
        // SAFETY: fresh memory of the shape's size; caller's contract on ty.
        let h = unsafe { init_object(base, ty, &shape, kind) };
        if !register(h, base) {
            return nomem();
        }
        crate::census::untracked_born(size);
        return Ok(h);
    }
    // SAFETY: lock held for the state borrows, which end before
    // collect_automatic runs user code; the memory is fresh.
    unsafe {
        let g = lock();
        let st = &mut *g.st();
        let base = if from_pool(true, size) {
            st.pool.alloc(size)
        } else {
            sys_alloc(size)
        };
        if base.is_null() {
            return nomem();
        }
        let h = init_object(base, ty, &shape, kind);
        if !register(h, base) {
            return nomem();
        }
        st.count[0] += 1;
        if st.enabled && st.threshold[0] > 0 && st.count[0] > st.threshold[0] && !st.collecting {
            collect_automatic(&g);
        }
        list::append(h, &(*g.st()).gens[0]);
        Ok(h)
    }
}

/// CPython 3.12's choice: the oldest generation whose count exceeds its
/// threshold, skipping a full collection while few objects await one.
fn collect_automatic(g: &Locked) {
    // SAFETY: lock held; the borrow ends before collect runs user code.
    let generation = unsafe {
        let st = &*g.st();
        (0..NUM_GENERATIONS).rev().find(|&i| {
            st.count[i] > st.threshold[i]
                && !(i == NUM_GENERATIONS - 1 && st.long_lived_pending < st.long_lived_total / 4)
        })
    };
    if let Some(generation) = generation {
        collect(g, generation);
    }
}

/// `gc_collect_generation`: collects `generation` and every younger generation.
/// Returns the number of unreachable objects found, 0 when a collection is
/// already running.
pub fn collect_generation(generation: i32) -> i64 {
    if !(0..NUM_GENERATIONS as i32).contains(&generation) {
        return fail(
            GC_ERR_INVALID,
            c"gc_collect_generation: generation must be 0, 1 or 2",
        ) as i64;
    }
    collect(&lock(), generation as usize) as i64
}

fn collect(g: &Locked, generation: usize) -> usize {
    // SAFETY: lock held; borrows end before user code (callbacks) runs.
    unsafe {
        if (*g.st()).collecting {
            return 0;
        }
        (*g.st()).collecting = true;
        let mut info = GcCallbackInfo {
            generation: generation as i32,
            ..GcCallbackInfo::default()
        };
        invoke_callbacks(g, GcPhase::GC_PHASE_START, &info);
        let start = Instant::now();
        debug::collection_start(g, generation);
        let (found, uncollectable) = collect_main(g, generation);
        debug::collection_done(found, uncollectable, start.elapsed());
        let st = &mut *g.st();
        st.stats[generation].collections += 1;
        st.stats[generation].collected += found - uncollectable;
        st.stats[generation].uncollectable += uncollectable;
        info.collected = found - uncollectable;
        info.uncollectable = uncollectable;
        info.duration_ns = start.elapsed().as_nanos() as u64;
        invoke_callbacks(g, GcPhase::GC_PHASE_STOP, &info);
        (*g.st()).collecting = false;
        found
    }
}

/// Calls the registered callbacks in the order added. A callback added or
/// removed by a callback takes effect at once (iteration is by index).
fn invoke_callbacks(g: &Locked, phase: GcPhase, info: &GcCallbackInfo) {
    let mut i = 0;
    // SAFETY: lock held; each borrow of the state ends before the call.
    while let Some((f, ctx)) = unsafe { (&*g.st()).callbacks.get(i).copied() } {
        // SAFETY: the host registered f to be called with these arguments.
        unsafe { f(phase, info, ctx) };
        i += 1;
    }
}

/// One collection; returns (unreachable found, uncollectable).
///
/// # Safety
/// Lock held; `collecting` set.
unsafe fn collect_main(g: &Locked, generation: usize) -> (usize, usize) {
    // SAFETY: lock held. The state is reached through a raw pointer, read
    // afresh after every call into user code
    // (finalize_garbage, callbacks, release, destroy).
    unsafe {
        // Raw place accesses only: `young` and `old` may be the same list
        // (a full collection), so no `&mut` to the state is kept around.
        let st = g.st();
        if generation + 1 < NUM_GENERATIONS {
            (*st).count[generation + 1] += 1;
        }
        for i in 0..=generation {
            (*st).count[i] = 0;
        }
        let young: *mut Header = &raw mut (*st).gens[generation];
        for i in 0..generation {
            list::merge(&raw const (*st).gens[i], young);
        }
        let old: *mut Header = &raw mut (*st).gens[(generation + 1).min(NUM_GENERATIONS - 1)];
        let was_draining = (*st).draining;
        (*st).draining = true;

        let unreachable = list::sentinel();
        list::init(&unreachable);
        let scan = deduce_unreachable(young, &unreachable);
        let survivors = scan.survivors;
        validate::lists(&[young, &unreachable]);
        validate::closed(young, &unreachable);
        if young != old {
            if generation == NUM_GENERATIONS - 2 {
                (*st).long_lived_pending += survivors;
            }
            list::merge(young, old);
        } else {
            (*st).long_lived_pending = 0;
            (*st).long_lived_total = survivors;
        }

        let final_garbage = list::sentinel();
        list::init(&final_garbage);
        let dead = if scan.finalizers_due {
            // Not dead yet: finalizers may resurrect.
            // (lock held; the garbage is ours alone, see set_exclusive)
            for_each(&unreachable, |h| (*h).unset_exclusive(DYING | COLLECTED));
            finalize_garbage(&unreachable);
            // Deaths the finalizers queued would have happened at once in
            // CPython: settle them before the resurrection check.
            drain(g);
            rescue(&unreachable, &final_garbage, old)
        } else {
            list::merge(&unreachable, &final_garbage);
            scan
        };
        validate::lists(&[&final_garbage, old]);
        let uncollectable = delete_garbage(g, &final_garbage, old, dead.weakrefs_due);
        let found = (dead.unreachable, uncollectable);

        (*g.st()).draining = was_draining;
        if !was_draining {
            drain(g);
        }
        found
    }
}

/// What a reachability pass found.
struct Scan {
    /// Reachable objects left in `young`.
    survivors: usize,
    /// Objects moved to `unreachable` (and marked `DYING | COLLECTED`).
    unreachable: usize,
    /// Whether an unreachable object has a finalizer that has not run.
    finalizers_due: bool,
    /// Whether an unreachable object has weakrefs.
    weakrefs_due: bool,
}

/// Steps 2-4 on the list `young`: what nothing outside it references moves to
/// `unreachable`, marked `DYING | COLLECTED` (see move_unreachable).
fn deduce_unreachable(young: *const Header, unreachable: *const Header) -> Scan {
    update_refs(young);
    subtract_refs(young);
    move_unreachable(young, unreachable)
}

/// Moves from `set` to `dead` every object nothing outside `set` references
/// (now), and merges the rest, unmarked, into `old`.
fn rescue(set: *const Header, dead: *const Header, old: *const Header) -> Scan {
    let scan = deduce_unreachable(set, dead);
    for_each(set, |h| {
        // SAFETY: members of set are live.
        unsafe { (*h).unset(MARK) }
    });
    list::merge(set, old);
    scan
}

/// Calls `f` on each member of the list `head`. `f` must not unlink anything.
fn for_each(head: *const Header, mut f: impl FnMut(*mut Header)) {
    let mut h = list::next(head);
    while !std::ptr::eq(h, head) {
        f(h);
        h = list::next(h);
    }
}

#[inline]
fn raw_prev(h: *const Header) -> usize {
    // SAFETY: h is a live member of a list being scanned (or a sentinel).
    unsafe { (*h).prev.load(Relaxed) }
}
#[inline]
fn set_raw_prev(h: *const Header, v: usize) {
    // SAFETY: as raw_prev.
    unsafe { (*h).prev.store(v, Relaxed) }
}
#[inline]
fn raw_next(h: *const Header) -> usize {
    // SAFETY: as raw_prev.
    unsafe { (*h).next.load(Relaxed) }
}
#[inline]
fn set_raw_next(h: *const Header, v: usize) {
    // SAFETY: as raw_prev.
    unsafe { (*h).next.store(v, Relaxed) }
}

/// gc_refs = reference count, for every member; marks members with weakrefs
/// (the read and the mark are one atomic step, see step 6).
fn update_refs(head: *const Header) {
    for_each(head, |h| {
        // SAFETY: members are live.
        let rc = unsafe { &(*h).rc };
        let mut v = rc.load(Relaxed);
        if v & WEAKREFED != 0 {
            v = rc.fetch_or(MARK, Relaxed);
        }
        let refs = (v & crate::object::COUNT_MASK) as usize;
        set_raw_prev(h, refs << REFS_SHIFT | COLLECTING);
    });
}

/// Subtracts every reference between members of the set.
fn subtract_refs(head: *const Header) {
    for_each(head, |h| {
        // SAFETY: lock held; h is live.
        unsafe {
            for_each_child(h, |c| {
                let p = raw_prev(c);
                if p & COLLECTING != 0 {
                    debug_assert!(
                        p >> REFS_SHIFT > 0,
                        "gc_refs below zero: a count is too low"
                    );
                    set_raw_prev(c, p - (1 << REFS_SHIFT));
                }
            })
        }
    });
}

/// CPython's move_unreachable: one pass over `young` that moves objects with
/// gc_refs == 0 to `unreachable` and brings them back when a reachable object
/// turns out to reference them.
fn move_unreachable(young: *const Header, unreachable: *const Header) -> Scan {
    let mut prev = young;
    let mut gc = list::next(young) as *const Header;
    let mut reachable = 0;
    while gc != young {
        if raw_prev(gc) >> REFS_SHIFT > 0 {
            // SAFETY: lock held; gc is live.
            unsafe {
                for_each_child(gc as *mut Header, |c| visit_reachable(c, young));
                if (*gc).has(MARK) {
                    (*gc).unset(MARK);
                }
            }
            // Scanned: restore the real back link; COLLECTING is cleared.
            set_raw_prev(gc, prev as usize);
            prev = gc;
            reachable += 1;
            gc = list::next(gc);
        } else {
            // Tentatively unreachable. `young` is singly linked meanwhile.
            let next = raw_next(gc);
            set_raw_next(prev, next);
            let last = list::prev(unreachable);
            set_raw_next(last, gc as usize | UNREACHABLE);
            set_raw_prev(gc, last as usize | COLLECTING);
            set_raw_next(gc, unreachable as usize | UNREACHABLE);
            set_raw_prev(unreachable, gc as usize);
            gc = next as *const Header;
        }
    }
    set_raw_prev(young, prev as usize);
    // Strip the flag bits so `unreachable` is a plain list again, and, to
    // save later passes over the garbage, mark it DYING | COLLECTED (plain
    // stores: no other thread can change garbage, see set_exclusive), count
    // it, and note whether steps 7 and 9 have work.
    let (mut count, mut finalizers_due, mut weakrefs_due) = (0, false, false);
    let mut p = unreachable;
    loop {
        let n = (raw_next(p) & !UNREACHABLE) as *const Header;
        set_raw_next(p, n as usize);
        if n == unreachable {
            break;
        }
        set_raw_prev(n, raw_prev(n) & !COLLECTING);
        // SAFETY: lock held; n is live garbage.
        unsafe {
            (*n).set_exclusive(DYING | COLLECTED);
            finalizers_due |= !(*n).has(FINALIZED) && (*n).hook(|t| t.finalize).is_some();
            weakrefs_due |= (*n).has(WEAKREFED);
        }
        count += 1;
        p = n;
    }
    Scan {
        survivors: reachable,
        unreachable: count,
        finalizers_due,
        weakrefs_due,
    }
}

/// A reference from a reachable object: `c` is reachable too.
#[inline]
fn visit_reachable(c: *mut Header, young: *const Header) {
    let p = raw_prev(c);
    if p & COLLECTING == 0 {
        return; // outside the set, or already scanned
    }
    let n = raw_next(c);
    if n & UNREACHABLE != 0 {
        // Back from `unreachable` to the tail of `young`, to be scanned.
        let before = (p & !COLLECTING) as *const Header;
        let after = (n & !UNREACHABLE) as *const Header;
        set_raw_next(before, n);
        set_raw_prev(after, (raw_prev(after) & COLLECTING) | before as usize);
        let last = list::prev(young);
        set_raw_next(last, c as usize);
        set_raw_next(c, young as usize);
        set_raw_prev(young, c as usize);
        set_raw_prev(c, 1 << REFS_SHIFT | COLLECTING);
    } else if p >> REFS_SHIFT == 0 {
        set_raw_prev(c, 1 << REFS_SHIFT | COLLECTING);
    }
}

/// Step 7: runs the finalize hook of every garbage object not finalized
/// before. Returns whether any ran. An object whose count reaches zero
/// meanwhile leaves the list for the death queue.
fn finalize_garbage(garbage: *const Header) -> bool {
    let seen = list::sentinel();
    list::init(&seen);
    let mut ran = false;
    while !list::is_empty(garbage) {
        let h = list::next(garbage);
        list::move_to(h, &seen);
        // SAFETY: lock held; h is live (its count is above zero).
        unsafe {
            if !(*h).has(FINALIZED)
                && let Some(finalize) = (*h).hook(|t| t.finalize)
            {
                (*h).set(FINALIZED);
                ran = true;
                finalize(h as *mut GcObject);
            }
        }
    }
    list::merge(&seen, garbage);
    ran
}

/// Steps 9-10 on the final garbage (already marked `DYING | COLLECTED`).
/// Returns the number of uncollectable objects.
///
/// # Safety
/// Lock held; `draining` set.
unsafe fn delete_garbage(
    g: &Locked,
    garbage: *const Header,
    old: *const Header,
    weakrefs_due: bool,
) -> usize {
    let mut pending = Pending::new();
    // Step 9: clear the garbage's weakrefs (no user code here).
    if weakrefs_due {
        for_each(garbage, |h| {
            // SAFETY: lock held; h is live garbage that really dies.
            unsafe {
                if (*h).has(WEAKREFED) {
                    weakref::clear_target(&mut *g.st(), h, &mut pending, None);
                }
            }
        });
    }
    // SAFETY: lock held; pending came from clear_target.
    unsafe { run_weak_callbacks(pending) };
    // SAFETY: lock held; the garbage is live and marked.
    if unsafe { debug::save_garbage(g, garbage, old) } {
        return 0;
    }
    // Step 10. Releases only decrement counts of garbage (DYING stops their
    // deaths) and queue deaths of other objects, so the list stays as it is.
    for_each(garbage, |h| {
        // SAFETY: lock held; h is DYING garbage.
        unsafe { release_references(g, h) }
    });
    // A hook that kept a reference (or leaked one) makes its object
    // uncollectable rather than freed under a holder's feet; the rest is
    // destroyed and freed.
    let mut uncollectable = 0;
    while !list::is_empty(garbage) {
        let h = list::next(garbage);
        // SAFETY: lock held; h is live until freed; destroy hooks touch no
        // other object (API contract), so the list is only changed here.
        unsafe {
            if (*h).count() > 0 {
                debug::uncollectable(h);
                (*h).unset(DYING | COLLECTED | MARK);
                list::move_to(h, old);
                uncollectable += 1;
                continue;
            }
            debug::collectable(h);
            list::remove(h);
            destroy(h);
            free(g.st(), h);
        }
    }
    uncollectable
}

/// `gc_freeze`: every tracked object moves to the permanent generation.
pub fn freeze() {
    let g = lock();
    // SAFETY: lock held; no user code runs.
    let st = unsafe { &mut *g.st() };
    for i in 0..NUM_GENERATIONS {
        list::merge(&st.gens[i], &st.permanent);
    }
    st.count[0] = 0;
}

/// `gc_unfreeze`: the permanent generation moves back to the oldest one.
pub fn unfreeze() {
    let g = lock();
    // SAFETY: lock held; no user code runs.
    let st = unsafe { &mut *g.st() };
    list::merge(&st.permanent, &st.gens[NUM_GENERATIONS - 1]);
}

#[cfg(test)]
mod tests;
