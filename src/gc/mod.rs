//! The generational cycle collector (CPython's reference subtraction) and
//! object creation, which counts allocations and triggers it.
//!
//! # One collection
//! `collect_main` reads like the algorithm:
//! 0. if the order the members were made in proves that they hold no
//!    cycle (order.rs), steps 2-10 would find nothing: the members are
//!    promoted as survivors (`promote_all`) and the collection ends;
//! 1. merge the younger generations into the collected one (`young`). A
//!    full collection leaves out the `OLD` objects nothing cut off (below,
//!    "Old objects"): it takes `dirty`, the objects that lost `OLD` in place
//!    (`DIRTY`), and every `OLD` object they reach (`take_in_dirty`); or,
//!    when most of `old` lost `OLD` (before that walk, or part way
//!    through it), all of `old`;
//! 2. gc_refs: each member's state word (below) becomes
//!    `gc_refs << 3 | COLLECTING`, with gc_refs = its reference count; an
//!    object with weakrefs, and in a full collection every member, gets
//!    `MARK` in the same atomic step, so from then on a lock-free
//!    `weakref_get` or decrement on it takes the lock instead (a decrement
//!    the count read missed would otherwise leave an object `OLD` that
//!    nothing holds). When this thread owns the counts bias (bias.rs),
//!    steps 2-4 run inside it instead, with plain loads and stores: no
//!    other thread can change a count until the marking walk ends, so only
//!    objects with weakrefs get `MARK` (gc/scan.rs `deduce_unreachable`);
//! 3. every reference from one member of `young` to another is subtracted,
//!    so gc_refs counts only references from outside. In a full collection
//!    with nothing frozen and no death under way, every tracked object is a
//!    member (heap.rs) or `OLD` and left out, so steps 2 and 3 are one pass
//!    (`count_refs`): a
//!    member gets its gc_refs when first met, as a child or in its own
//!    turn. Otherwise `update_refs` marks every member first (the
//!    `COLLECTING` bit is what tells members apart) and `subtract_refs`
//!    follows;
//! 4. `move_unreachable`: objects with gc_refs > 0 are roots; everything they
//!    reach is marked reachable (and loses its `MARK`) by one walk in list
//!    order that scans each reachable object once (depth first from a
//!    stack for those it had already passed), leaving each reachable
//!    object's state word the plain link it was. Only if something stayed
//!    unreachable does a second pass move it to `unreachable`, marked
//!    `DYING | COLLECTED` and counted (saving passes later), and mend the
//!    links around it. When every object the walk passed dies simply (no
//!    type, no weakrefs, not a weakref: steps 7-9 have nothing to do and
//!    no user code can see the order), that pass also does step 10 for
//!    the garbage as it meets it (`scan::free_passed`): each member drops
//!    its references and is freed once the last garbage holding it has
//!    (mostly at once, with its header still in cache);
//! 5. survivors are promoted (merged into the next older generation); those
//!    of a generation-1 collection are marked `PROMOTED` and counted in
//!    `long_lived_pending`, which a death of a `PROMOTED` object decrements
//!    (API v2's long-lived rule: pending counts promoted objects still
//!    alive) and a full collection resets (clearing the marks in step 2);
//!    those of a full collection are marked `OLD` (step 4's walk) and join
//!    `old`, and `long_lived_total` is then all of `old`;
//! 6. (no step: counts change lock-free only through references their
//!    holders already own, which keep the object reachable, and in a full
//!    collection a drop of one waits for its end (step 2's `MARK`);
//!    turning a borrowed reference into an owned one while another thread
//!    collects must be done under the heap lock, as the API says);
//! 7. if a finalizer is due: the marks come off (the garbage is not dead
//!    yet) and `finalize_garbage` runs the finalize hook of every garbage
//!    object not finalized before, before anything is cleared;
//! 8. then the deaths the finalizers queued are run, and `rescue` (steps 2-4
//!    on the garbage alone, marking what really dies): resurrected objects
//!    and all they reach survive intact;
//! 9. what is left really dies: clear the weakrefs of all of it, then run
//!    the callbacks (weakrefs that are themselves garbage get none);
//! 10. release every field and run the `clear` hooks (in list order); then,
//!     object by object, the `destroy` hook and free. Deaths of non-garbage
//!     objects these releases cause are queued and drained before the
//!     collection ends. Garbage without a type (no hooks, so nothing can
//!     tell when it goes) is freed as soon as its references are released
//!     (`RELEASED`) and its count is zero, while its header is still in
//!     cache, as CPython frees garbage whose count drops during `tp_clear`.
//!
//! Steps 2-4 walk the list forward (by `next`) or backward (by `prev`),
//! the same way throughout (but the first pass of a full collection of a
//! set bigger than the cache, which walks the other way to meet children
//! before their parents, scan::count_refs); the word not walked by is the
//! state word.
//! Each generation walks the way that revived the smaller share of its
//! survivors last time (scan::learn; before its first walk, a full
//! collection asks the ends of its list, scan::full_habit):
//! the marking walk is cheapest where it meets parents before children
//! (forward where the program allocated parents first, backward where it
//! allocated children first). The passes read the links a window of
//! members ahead; where references reach far (the first pass counts them,
//! and a generation's next first pass goes by its last), they also read the
//! fields of the members ahead and prefetch their children's headers
//! (gc/scan.rs): in a layout that does not follow the object graph, those
//! are cache misses, and the prefetches let them overlap. The result
//! (which objects, in which list order) depends on neither choice.
//!
//! # Old objects: why a full collection may leave them out
//! A full collection marks its survivors `OLD`. For an `OLD` object to
//! become garbage, a reference on every path that held it at that
//! collection must have been dropped since. Dropping a reference is a
//! decrement: the first one that leaves an `OLD` object alive clears `OLD`
//! and makes the object dirty (refcount.rs, `make_dirty`); one that
//! reaches zero releases the object's fields, decrementing its children
//! in turn. So an `OLD` object is either still held along one of those
//! paths (live), or reachable from a dirty object through `OLD` objects.
//! Step 1 therefore takes in every dirty object and every `OLD` object
//! reachable from one, and the scan counts references from the `OLD`
//! objects it leaves out as references from outside: the result is exactly
//! that of a scan of the whole heap. (That needs every survivor's count to
//! have been read with no reference dropped unseen: step 2's `MARK`.) Two
//! events give an object a hold on `OLD` objects that no path of old
//! objects explains, without any reference dropped, so they make the `OLD`
//! objects it references dirty: a finalizer resurrecting its object
//! (refcount.rs, `revive`) and `gc_unfreeze` (frozen objects were outside
//! every collection).
//!
//! A dirty object stays where it is in `old`, marked `DIRTY` and marked on
//! its pool page (alloc.rs `Pool::mark`); step 1 takes them into `dirty`
//! page by page, in the order the pages were first used (the program's
//! allocation order, mostly), in address order within a page. A list in
//! the order the program dropped references would cost more to scan (a
//! 2^20-node tree read through `obj_get_field` before each collection: 97
//! ns per object scanning such a list, 23 ns in allocation order). The
//! `OLD` objects step 1 reaches from them are marked the same way (a walk
//! from a stack) and taken after them, also in address order. Objects the
//! pool does not hold (over 512 bytes, checked mode) move to `dirty` at
//! once.
//!
//! When more objects lost `OLD` in place than kept it, step 1 takes in all
//! of `old` instead, with no walk for what the dirty ones reach: the whole
//! heap costs little more to scan than they do. The walk checks the same
//! as it goes, and gives up once it has made most of `old` dirty (a dropped
//! old tree: the rest of the walk, and taking what it marked, would cost
//! about as much as the scan). `old` is then scanned in its own order
//! (the order of the scans that made it, each in the program's allocation
//! order, mostly), the marked objects where they are: taking them in page
//! order first costs a pass over them, which a scan that looks ahead no
//! longer makes up for (cyclic binary-trees' stretch tree, built across
//! three full collections then read and dropped: its collection took 41
//! ms instead of 49).
//!
//! # The header during a collection
//! - The state word (`prev` walking forward, `next` backward) of a member
//!   of the set being scanned: `gc_refs << 3 | COLLECTING` once counted
//!   (steps 2-3). Objects outside the set have a plain pointer (or 0) there
//!   (so, in the one-pass case, do members not counted yet: that pass tells
//!   members by `TRACKED` instead). Step 4's walk then leaves, in the low
//!   three bits: `AHEAD` (reached before the walk got there), `PASSED`
//!   (passed with gc_refs 0; the link above it), `PENDING` (reached after
//!   the walk passed it while the marking stack could not grow; the link
//!   above it) or nothing (reachable; the link itself). The links walked by
//!   stay intact throughout, so the list order of the survivors never
//!   changes.
//! - After `move_unreachable` both lists are plain doubly linked lists again;
//!   the debug-only validator checks this between phases.
//! - `MARK` (rc word) is set at step 2 on objects with weakrefs (in a full
//!   collection on every member, unless the scan holds the counts bias),
//!   cleared when step 4 finds them reachable or `rescue` resurrects them;
//!   every garbage object gets it as it leaves the list (after the walk)
//!   and keeps it until it is freed.
//!
//! The whole collection holds the heap lock; user code (finalizers, callbacks,
//! clear/destroy hooks) runs with it held and may re-enter: `collecting`
//! makes a nested `gc_collect` return 0, and `draining` queues deaths.

pub(crate) mod debug;
mod scan;
mod validate;

use crate::alloc::{Pool, sys_alloc, sys_free};
use crate::checks;
use crate::error::{GC_ERR_INVALID, GC_ERR_NOMEM, fail};
use crate::heap::{GcCallbackInfo, GcPhase, Locked, NUM_GENERATIONS, lock};
use crate::list;
use crate::memory;
use crate::object::{
    COLLECTED, DIRTY, DYING, FINALIZED, GcObject, GcType, HEADER_SIZE, Header, Kind, MARK, OLD,
    PROMOTED, QUICK_WORDS, RELEASED, Shape, WEAKREFED, init_object,
};
use crate::refcount::{
    destroy, drain, free, make_children_dirty, release_fields, release_references,
    run_weak_callbacks,
};
use crate::weakref::{self, Pending};
use scan::{Habit, Members, Promote, Scan, Way, deduce_unreachable};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::atomic::{AtomicUsize, fence};
use std::time::Instant;

/// Creates an object (refcount 1), or returns NULL with the error recorded
/// (`fail`). A tracked object is counted in count0,
/// may trigger an automatic collection first (it is never part of it), and
/// is then linked into generation 0.
///
/// # Safety
/// `ty` is NULL or a `GcType` that outlives the object.
#[inline(never)]
pub unsafe fn new_object(
    ty: *const GcType,
    nfields: usize,
    payload_size: usize,
    kind: Kind,
) -> *mut Header {
    // The common creation in a straight line: a pool block, while the heap
    // lock's bias is this thread's (no other thread to settle with:
    // `before_create` would do nothing; if another thread revokes the bias
    // meanwhile, `lock` takes the real lock), checked mode is off for good
    // (so this is not the first object) and there is no memory limit.
    let fast = nfields <= SMALL_FIELDS
        && payload_size <= crate::alloc::POOL_MAX
        && crate::bias::lock_is_mine()
        && plain_creation();
    if fast && payload_size == 0 {
        // SAFETY: caller's contract on ty; the shape is a pool block's.
        return unsafe { new_pooled(&lock(), 0, ty, &Shape::small(nfields), kind) };
    }
    // The commonest creation of a thread without the bias, once several
    // threads made objects (so the bias was revoked or never claimed: no
    // `before_create` to do): a small plain object in its nursery.
    if !fast
        && payload_size == 0
        && for_nursery(ty, kind, nfields)
        && crate::bias::several_threads_seen()
    {
        // SAFETY: a pool block's shape, no type; checked mode off for
        // good, no limit.
        if let Some(h) = unsafe { new_in_nursery(&Shape::small(nfields)) } {
            return h;
        }
    }
    let Ok(shape) = Shape::new(nfields, payload_size) else {
        fail(
            GC_ERR_INVALID,
            c"obj_new: nfields/payload_size overflow or exceed PTRDIFF_MAX",
        );
        return ptr::null_mut();
    };
    if fast && Pool::serves(shape.size()) {
        // SAFETY: caller's contract on ty; the lock is held.
        return unsafe { new_pooled(&lock(), 0, ty, &shape, kind) };
    }
    // SAFETY: as above.
    unsafe { new_object_general(ty, &shape, kind) }
}

/// The most fields of an object with no payload in the pool's largest
/// block.
const SMALL_FIELDS: usize = (crate::alloc::POOL_MAX - HEADER_SIZE) / size_of::<usize>();

/// `new_object` for every other case: the first object of the process,
/// checked mode, the memory limit, other threads about, big objects.
///
/// # Safety
/// As `new_object`.
#[inline(never)]
unsafe fn new_object_general(ty: *const GcType, shape: &Shape, kind: Kind) -> *mut Header {
    let size = shape.size();
    crate::bias::before_create();
    let nomem = || {
        fail(GC_ERR_NOMEM, c"obj_new: out of memory");
        ptr::null_mut()
    };
    let checked = checks::on_first_allocation();
    let register = |h: *mut Header, base: *mut u8| {
        if checked && !checks::on_alloc(h, ty) {
            // SAFETY: the object was never published; checked-mode memory
            // comes from sys_alloc.
            unsafe { sys_free(base, size) };
            return false;
        }
        true
    };
    let bytes = memory::charge(size);
    let over_limit = || {
        fail(
            GC_ERR_NOMEM,
            if kind == Kind::Weakref {
                c"weakref_new: memory limit reached (gc_set_memory_limit)"
            } else {
                c"obj_new: memory limit reached (gc_set_memory_limit)"
            },
        );
        ptr::null_mut()
    };
    let tracked = shape.tracked(ty, kind);
    if !tracked && !crate::bias::lock_is_mine() {
        // Untracked, with other threads about: no lock, a system
        // allocation, counted in this thread's share.
        if !memory::fits(bytes) && !room_under_limit(&lock(), bytes) {
            return over_limit();
        }
        let base = sys_alloc(size);
        if base.is_null() {
            return nomem();
        }
        // SAFETY: fresh memory of the shape's size; caller's contract on ty.
        let h = unsafe { init_object(base, ty, shape, kind) };
        if !register(h, base) {
            return nomem();
        }
        memory::on_alloc_unlocked(bytes);
        return h;
    }
    // A small plain object of a thread without the lock's bias: in its
    // nursery, without the lock (nursery.rs).
    if for_nursery(ty, kind, shape.nfields)
        && Pool::serves(size)
        && !crate::bias::lock_is_mine()
        && crate::bias::several_threads()
    {
        // SAFETY: shape as the caller's; no type.
        if let Some(h) = unsafe { new_in_nursery(shape) } {
            return h;
        }
    }
    // Tracked objects, and untracked ones while the lock is biased to this
    // thread (taking it is then a plain store): under the lock, from the
    // pool when it serves the size.
    // SAFETY: lock held for the state borrows, which end before
    // collect_automatic (or the limit's collection) runs user code; the
    // memory is fresh.
    // (The lane is looked up before the lock: a thread-local read that
    // contending threads need not wait for.)
    let lane = crate::alloc::lane();
    unsafe {
        let g = lock();
        if !memory::fits(bytes) && !room_under_limit(&g, bytes) {
            return over_limit();
        }
        if Pool::serves(size) && !checked {
            return new_pooled(&g, lane, ty, shape, kind);
        }
        let base = sys_alloc(size);
        if base.is_null() {
            return nomem();
        }
        let h = init_object(base, ty, shape, kind);
        if !register(h, base) {
            return nomem();
        }
        memory::on_alloc_locked(&g, bytes, tracked, false);
        if tracked {
            enter_young(&g, h, lane);
        }
        h
    }
}

/// Creates a plain tracked object of `shape` in the nursery of the
/// section slot this thread gets (nursery.rs): Some(the object), Some(NULL)
/// when the pool is out of memory (the error recorded), or None (nothing
/// done) when a stop is in force: the locked path then decides. As in
/// `enter_young`, the object's block is taken first, then a nursery whose
/// births are due folds them (with this one) into count0, which may start
/// an automatic collection (the new object is never part of it).
///
/// # Safety
/// `shape` is a shape `Pool::serves`, of at most `nursery::MAX_FIELDS`
/// fields, made with checked mode off for good and no memory limit.
#[inline(never)]
unsafe fn new_in_nursery(shape: &Shape) -> Option<*mut Header> {
    let size = shape.size();
    let class = crate::alloc::class_of(size);
    let bytes = memory::charge(size);
    // The block in hand (out of every cache), and blocks taken from the
    // pool not yet given to a nursery (linked through their second words).
    let mut block: *mut u8 = ptr::null_mut();
    let mut batch: (*mut u8, usize) = (ptr::null_mut(), 0);
    // Whether count0 has this birth already (a fold before it).
    let mut counted = false;
    loop {
        let Some(section) = crate::sections::enter() else {
            give_back(block, batch.0, counted);
            return None;
        };
        let i = section.index();
        // SAFETY: section slot i is held: nursery i is ours.
        unsafe {
            if !batch.0.is_null() {
                crate::nursery::give(i, class, batch.0, batch.1);
                batch = (ptr::null_mut(), 0);
            }
            if block.is_null() {
                block = crate::nursery::take(i, class);
            }
            if block.is_null() {
                drop(section);
                batch = refill(size);
                if batch.0.is_null() {
                    fail(GC_ERR_NOMEM, c"obj_new: out of memory");
                    return Some(ptr::null_mut());
                }
                continue;
            }
            if !counted && crate::nursery::births_due(i) {
                let shares = crate::nursery::take_shares(i);
                drop(section);
                let g = lock();
                shares.fold(&g, 1);
                collect_if_due(&g);
                counted = true;
                continue;
            }
            let h = crate::object::init::<false>(block, ptr::null(), shape, Kind::Plain, true);
            // (a fresh object: nobody else can see it yet)
            (*h).rc.store_exclusive((*h).rc.load().in_nursery(i));
            crate::nursery::born(i, h, bytes, counted);
            return Some(h);
        }
    }
}

/// Whether an object of this type, kind and field count is made in a
/// nursery (by a thread without the bias, once several threads made
/// objects): tracked (a field), no type, not a weakref, at most
/// `nursery::MAX_FIELDS` fields, and the straight paths' conditions.
#[inline(always)]
fn for_nursery(ty: *const GcType, kind: Kind, nfields: usize) -> bool {
    ty.is_null()
        && kind == Kind::Plain
        && (1..=crate::nursery::MAX_FIELDS).contains(&nfields)
        && plain_creation()
}

/// Up to `nursery::BATCH` pool blocks for objects of `size` bytes, taken
/// under the heap lock from this thread's allocation lane, linked through
/// their second words: (first, how many); (NULL, 0) when out of memory.
#[cold]
fn refill(size: usize) -> (*mut u8, usize) {
    let lane = crate::alloc::lane();
    let g = lock();
    let mut list = ptr::null_mut();
    let mut n = 0;
    // SAFETY: lock held; fresh blocks are ours to link.
    unsafe {
        while n < crate::nursery::BATCH {
            let b = (*g.st()).pool.alloc_in(size, lane);
            if b.is_null() {
                break;
            }
            *crate::nursery::link(b) = list;
            list = b;
            n += 1;
        }
    }
    (list, n)
}

/// `new_in_nursery` giving up: its block in hand and the blocks of
/// `refill` no nursery took go back to the pool, and a birth it counted
/// (the locked path counts it again) is taken off count0.
#[cold]
fn give_back(block: *mut u8, mut list: *mut u8, counted: bool) {
    if block.is_null() && list.is_null() && !counted {
        return;
    }
    let g = lock();
    // SAFETY: lock held; the blocks came from this pool and are free.
    unsafe {
        let st = g.st();
        if counted {
            (*st).count[0] = (*st).count[0].saturating_sub(1);
        }
        if !block.is_null() {
            *crate::nursery::link(block) = list;
            list = block;
        }
        crate::nursery::free_blocks(st, list);
    }
}

/// Runs the automatic collection count0 calls for, if any.
fn collect_if_due(g: &Locked) {
    // SAFETY: lock held; the borrow ends before collect_automatic runs
    // user code.
    let due = unsafe {
        let st = &*g.st();
        st.enabled && st.threshold[0] > 0 && st.count[0] > st.threshold[0] && !st.busy.collecting
    };
    if due {
        collect_automatic(g);
    }
}

/// Creates an object in a pool block of allocation lane `lane` (alloc.rs
/// `LANES`; its generation-0 list too), under the lock `g`.
///
/// # Safety
/// `g` is this thread's lock guard; `Pool::serves(shape.size())`; checked
/// mode is off; `ty` as in `new_object`.
#[inline(always)]
unsafe fn new_pooled(
    g: &Locked,
    lane: usize,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
) -> *mut Header {
    // SAFETY: lock held; the borrow of the state ends before enter_young;
    // the block is fresh memory of the shape's size.
    unsafe {
        let base = (*g.st()).pool.alloc_in(shape.size(), lane);
        if base.is_null() {
            fail(GC_ERR_NOMEM, c"obj_new: out of memory");
            return ptr::null_mut();
        }
        let h = born_pooled::<false>(g, base, ty, shape, kind);
        if (*h).is_tracked() {
            enter_young(g, h, lane);
        }
        h
    }
}

/// The object of `shape` in the pool block `base`, counted in the memory
/// figures; a tracked one is on no list yet. `QUICK`: `shape` is one
/// `init::<true>` takes (initialized with no call).
///
/// # Safety
/// Lock held; `base` is a fresh pool block of `shape.size()` bytes; `ty`
/// as in `new_object`.
#[inline(always)]
unsafe fn born_pooled<const QUICK: bool>(
    g: &Locked,
    base: *mut u8,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
) -> *mut Header {
    // SAFETY: caller's contract.
    unsafe {
        let h = crate::object::init::<QUICK>(base, ty, shape, kind, true);
        memory::on_alloc_locked(g, memory::charge(shape.size()), (*h).is_tracked(), true);
        h
    }
}

/// Whether a creation may take the straight paths (`new_object`'s fast
/// one, `new_object_quick`): objects come from the pool, checked mode is
/// off for good (so this is not the first object), there is no memory
/// limit and no failure injection is armed (the creation gate, gate.rs).
#[inline(always)]
fn plain_creation() -> bool {
    Pool::ENABLED && crate::gate::open()
}

/// `new_object`'s commonest case with no call on its way, so that
/// `obj_new` needs no stack frame for it: an object of 1 to
/// `QUICK_FIELDS` fields and no payload, from the first pool page of its
/// class, while the heap lock's bias is this thread's, checked mode is off
/// for good, there is no memory limit and no automatic collection is due.
/// None (nothing done) otherwise: `new_object`'s turn.
///
/// # Safety
/// As `new_object`.
#[inline(always)]
pub unsafe fn new_object_quick(
    ty: *const GcType,
    nfields: usize,
    payload_size: usize,
    kind: Kind,
) -> Option<*mut Header> {
    // Two copies of the rest, each with its shape's kind known.
    // SAFETY: caller's contract; the shapes are the ones `new_here` takes.
    unsafe {
        if payload_size == 0 {
            if nfields.wrapping_sub(1) >= QUICK_WORDS {
                return None;
            }
            new_quick(ty, &Shape::small(nfields), kind)
        } else if nfields == 0 {
            // (A copy of its own: untracked unless its type traverses.)
            new_quick(ty, &Shape::quick_payload(0, payload_size)?, kind)
        } else {
            new_quick(ty, &Shape::quick_payload(nfields, payload_size)?, kind)
        }
    }
}

/// `new_object_quick` for its shape.
///
/// # Safety
/// As `new_here`, without the lock.
#[inline(always)]
unsafe fn new_quick(ty: *const GcType, shape: &Shape, kind: Kind) -> Option<*mut Header> {
    if !plain_creation() {
        return None;
    }
    let g = crate::heap::lock_biased()?;
    // SAFETY: lock held; no user code runs.
    let h = unsafe { new_here(&g, ty, shape, kind) };
    crate::heap::unlock_biased(g);
    h
}

/// `new_object_quick` under the lock: None (nothing done) when a
/// collection is due with this object or the class's first page is full.
///
/// # Safety
/// Lock held; no user code runs; `shape` as `init::<true>` takes; `ty` as
/// in `new_object`.
#[inline(always)]
unsafe fn new_here(
    g: &Locked,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
) -> Option<*mut Header> {
    // SAFETY: caller's contract; the block is fresh memory of the shape's
    // size.
    unsafe {
        let st = g.st();
        // (a collection due with this object: `new_object` runs it; an
        // untracked one is not counted and triggers none)
        let tracked = shape.tracked(ty, kind);
        if tracked
            && (*st).enabled
            && (*st).threshold[0] > 0
            && (*st).count[0] >= (*st).threshold[0]
            && !(*st).busy.collecting
        {
            return None;
        }
        let base = (*st).pool.alloc_here(shape.size(), 0);
        if base.is_null() {
            return None;
        }
        let h = born_pooled::<true>(g, base, ty, shape, kind);
        if tracked {
            (*st).count[0] += 1;
            list::append(h, &raw const (*st).gens[0]);
            crate::order::born(h, ty);
        }
        Some(h)
    }
}

/// A new tracked object joins generation 0 (the list of allocation lane
/// `lane`): counted in count0, after the automatic collection that count
/// may trigger (it is never part of it).
///
/// # Safety
/// Lock held; `h` is a new tracked object, on no list.
#[inline(always)]
unsafe fn enter_young(g: &Locked, h: *mut Header, lane: usize) {
    // SAFETY: lock held; the borrow ends before collect_automatic runs
    // user code.
    unsafe {
        (*g.st()).count[0] += 1;
        collect_if_due(g);
        list::append(h, crate::heap::young_list(g.st(), lane));
        crate::order::born(h, (*h).ty());
    }
}

/// Makes room for `bytes` more under the memory limit: a full collection,
/// unless one is running or collection is disabled. Whether they now fit.
#[cold]
fn room_under_limit(g: &Locked, bytes: usize) -> bool {
    // SAFETY: lock held; the borrow ends before collect runs user code.
    let can_collect = unsafe {
        let st = &*g.st();
        st.enabled && !st.busy.collecting
    };
    if can_collect {
        collect(g, NUM_GENERATIONS - 1);
    }
    memory::fits(bytes)
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
    let g = lock();
    let found = collect(&g, generation as usize);
    // SAFETY: lock held; no user code runs while the borrow lives.
    let st = unsafe { &mut *g.st() };
    // (Not from inside a running collection, which this call did not make.)
    if generation as usize == NUM_GENERATIONS - 1
        && !st.busy.collecting
        && memory::worth_trimming(st.pool.empty_bytes())
    {
        st.pool.trim();
    }
    found as i64
}

fn collect(g: &Locked, generation: usize) -> usize {
    // SAFETY: lock held; borrows end before user code (callbacks) runs.
    unsafe {
        if (*g.st()).busy.collecting {
            return 0;
        }
        (*g.st()).busy.collecting = true;
        let mut info = GcCallbackInfo {
            generation: generation as i32,
            ..GcCallbackInfo::default()
        };
        invoke_callbacks(g, GcPhase::GC_PHASE_START, &info);
        let start = Instant::now();
        debug::collection_start(g, generation);
        // No lock-free field change while the collection reads the fields
        // (sections.rs).
        let stop = crate::sections::stop(g);
        let (found, uncollectable) = collect_main(g, generation);
        // No section runs: what waits in the epoch for sections goes back
        // (and what waits for weakref readers, if they are done).
        crate::refcount::release_retired(g.st());
        if generation == NUM_GENERATIONS - 1 {
            // The nurseries' cached blocks go back too, so that pages can
            // empty (nursery.rs).
            crate::nursery::flush(g);
        }
        drop(stop);
        debug::collection_done(found, uncollectable, start.elapsed());
        let st = &mut *g.st();
        if generation == NUM_GENERATIONS - 1 {
            // Pages that stayed empty through the last few full
            // collections go back to the system (alloc.rs `trim_aged`); an
            // explicit collection returns the rest too
            // (`collect_generation`).
            st.pool.trim_aged();
        }
        st.stats[generation].collections += 1;
        st.stats[generation].collected += found - uncollectable;
        st.stats[generation].uncollectable += uncollectable;
        info.collected = found - uncollectable;
        info.uncollectable = uncollectable;
        info.duration_ns = start.elapsed().as_nanos() as u64;
        invoke_callbacks(g, GcPhase::GC_PHASE_STOP, &info);
        (*g.st()).busy.collecting = false;
        found
    }
}

/// `gc_trim`: returns the pool's pages that hold no live object to the
/// system (and, with glibc, asks malloc to do the same). Returns the pool
/// bytes returned.
pub fn trim() -> usize {
    let g = lock();
    // SAFETY: lock held, sections stopped; no user code runs while the
    // borrow lives.
    let returned = unsafe {
        let _stop = crate::sections::stop(&g);
        crate::nursery::flush(&g);
        (*g.st()).pool.trim()
    };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    returned
}

/// Calls the registered callbacks in the order added. A callback added or
/// removed by a callback takes effect at once (iteration is by index).
fn invoke_callbacks(g: &Locked, phase: GcPhase, info: &GcCallbackInfo) {
    let mut i = 0;
    // SAFETY: lock held; each borrow of the state ends before the call.
    while let Some((f, ctx)) = unsafe { (&*g.st()).callbacks.get(i).copied() } {
        // SAFETY: the host registered f to be called with these arguments.
        unsafe { crate::heap::host(|| f(phase, info, ctx)) };
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
        // Deaths the running step (a hook that called gc_collect) caused so
        // far would have happened at once in CPython: settle them first.
        drain(g);
        let st = g.st();
        crate::heap::gather_young(st);
        // SAFETY: lock held, sections stopped (`collect`).
        crate::nursery::gather(g);
        if generation + 1 < NUM_GENERATIONS {
            (*st).count[generation + 1] += 1;
        }
        for i in 0..=generation {
            (*st).count[i] = 0;
        }
        // No scan where the order the members were made in proves they
        // hold no cycle (order.rs): they all survive.
        if !crate::order::collecting(generation)
            && (*st).deaths.is_null()
            && (*st).fresh.is_null()
            && crate::bias::enter_owned_counts()
        {
            promote_all(g, generation);
            crate::bias::exit_owned_counts();
            UNSCANNED.fetch_add(1, Relaxed);
            return (0, 0);
        }
        let young: *mut Header = &raw mut (*st).gens[generation];
        // Whether a full collection scans all of `old` (module docs, "Old
        // objects": when more of it lost `OLD` in place than kept it).
        let mut whole = false;
        if generation == NUM_GENERATIONS - 1 {
            validate::old(st);
            whole = (*st).old_len < (*st).pool.marked_count() || !take_in_dirty(g);
            let dirty = &raw const (*st).dirty;
            // The set, oldest first: (old,) dirty, promoted.
            list::merge(young, dirty);
            if whole {
                // The marked objects stay where they are in `old` (module
                // docs): only their marks go.
                (*st).pool.take_marked(|_| {});
                let old = &raw const (*st).old;
                list::merge(dirty, old);
                list::merge(old, young);
                (*st).old_len = 0;
            } else {
                list::merge(dirty, young);
            }
        }
        for i in 0..generation {
            list::merge(&raw const (*st).gens[i], young);
        }
        let old: *mut Header = &raw mut (*st).gens[(generation + 1).min(NUM_GENERATIONS - 1)];
        let was_draining = (*st).busy.draining;
        (*st).busy.draining = true;

        let unreachable = list::sentinel();
        list::init(&unreachable);
        let promote = match generation {
            0 => Promote::No,
            1 => Promote::IntoOldest,
            _ => Promote::ResetAll,
        };
        // A full collection with nothing frozen and no death under way sees
        // every tracked object but the `OLD` ones (heap.rs): one pass
        // computes gc_refs.
        let members = if young == old
            && list::is_empty(&raw const (*st).permanent)
            && (*st).deaths.is_null()
            && (*st).fresh.is_null()
        {
            if whole {
                Members::All
            } else {
                Members::AllButOld
            }
        } else {
            Members::Open
        };
        let habit = if generation == NUM_GENERATIONS - 1 {
            scan::full_habit(young)
        } else {
            scan::habit(generation)
        };
        // Garbage that dies simply is freed as it is found, unless checked
        // mode validates it or DEBUG_SAVEALL keeps it.
        let free = (!checks::enabled() && !debug::saving()).then_some(g);
        let scan = deduce_unreachable(young, &unreachable, promote, members, habit, free);
        move_deferred_dirty(g, young, young == old);
        scan::learn(generation, habit, &scan);
        if scan.unreachable > 0 {
            // The scan read counts with Relaxed loads; the garbage's last
            // decrements by other threads were Release (refcount::decref).
            // This fence pairs with them (as `Arc::drop`'s), so every write
            // those threads made to the garbage happens before the hooks and
            // frees below.
            fence(Acquire);
        }
        let survivors = scan.survivors;
        validate::lists(&[young, &unreachable]);
        validate::closed(young, &unreachable);
        // (A full collection's survivors are `OLD` now: the marking walk
        // set it.)
        join_survivors(st, generation, young, survivors);

        let final_garbage = list::sentinel();
        list::init(&final_garbage);
        // Host code runs from here on: record where the garbage is (a fork
        // child gives an abandoned collection's garbage back, heap.rs).
        (*st).abandon = [&unreachable, &final_garbage, std::ptr::null()];
        let dead = if scan.finalizers_due {
            // Not dead yet: finalizers may resurrect, and a count reaching
            // zero meanwhile must start a refcount death, so DYING comes off.
            // COLLECTED stays: until the resurrection check the garbage is
            // still one cyclic garbage, and a weakref in it gets no callback
            // even if a finalizer frees it (as CPython).
            // (lock held; the garbage is ours alone, see set_exclusive)
            for_each(&unreachable, |h| (*h).unset_exclusive(DYING));
            finalize_garbage(g, &unreachable);
            // Deaths the finalizers queued would have happened at once in
            // CPython: settle them before the resurrection check.
            drain(g);
            let dead = rescue(&unreachable, &final_garbage, old);
            // As after the first scan: finalizers may have handed references
            // to other threads, whose Release decrements this pairs with.
            fence(Acquire);
            dead
        } else {
            list::merge(&unreachable, &final_garbage);
            scan
        };
        validate::lists(&[&final_garbage, old]);
        let (uncollectable, freed_weakrefs) =
            delete_garbage(g, &final_garbage, old, dead.weakrefs_due);
        // As CPython's handle_weakrefs: a weakref outside the garbage that
        // its own callback freed counts as collected too.
        let found = (dead.unreachable + freed_weakrefs, uncollectable);

        (*g.st()).abandon = [std::ptr::null(); 3];
        (*g.st()).busy.draining = was_draining;
        if !was_draining {
            drain(g);
        }
        found
    }
}

/// Collections that went without a scan (a test hook's figure).
static UNSCANNED: AtomicUsize = AtomicUsize::new(0);

/// How many collections went without a scan because their members could
/// hold no cycle (order.rs). For tests.
pub fn collections_without_scan() -> usize {
    UNSCANNED.load(Relaxed)
}

/// A collection of generations 0..=`generation` that finds nothing, with
/// no scan: what `collect_main` does to the survivors. Generation 1's are
/// marked `PROMOTED`; a full collection's, the objects that lost `OLD`
/// among them, are marked `OLD` (losing `PROMOTED` and `DIRTY`) and are
/// all of `old`.
///
/// # Safety
/// Lock held; the counts bias entered (plain changes of flags: no other
/// thread changes a count); no user code runs.
unsafe fn promote_all(g: &Locked, generation: usize) {
    // SAFETY: caller's contract; members, and the objects marked on their
    // pages (in `old`), are live.
    unsafe {
        let st = g.st();
        let young = &raw const (*st).gens[generation];
        for i in 0..generation {
            list::merge(&raw const (*st).gens[i], young);
        }
        let mut survivors = 0;
        if generation == 1 {
            for_each(young, |h| {
                survivors += 1;
                (*h).change_owned(PROMOTED, 0);
            });
        } else if generation == NUM_GENERATIONS - 1 {
            // (left in place in `old`)
            (*st).pool.take_marked(|b| {
                survivors += 1;
                (*(b as *mut Header)).change_owned(OLD, DIRTY);
            });
            list::merge(&raw const (*st).dirty, young);
            for_each(young, |h| {
                survivors += 1;
                (*h).change_owned(OLD, PROMOTED);
            });
        }
        join_survivors(st, generation, young, survivors);
    }
}

/// Step 5: the `survivors` of a collection of `generation`, in `young`,
/// join the next generation (generation 1's counted in
/// `long_lived_pending`); a full collection's join `old`, and the
/// long-lived figures restart from them. (Generation 0's survivors need not
/// be counted.)
///
/// # Safety
/// Lock held; `young` is `gens[generation]`, its members marked as step 4
/// marks survivors.
unsafe fn join_survivors(
    st: *mut crate::heap::State,
    generation: usize,
    young: *const Header,
    survivors: usize,
) {
    // SAFETY: caller's contract.
    unsafe {
        if generation < NUM_GENERATIONS - 1 {
            if generation == NUM_GENERATIONS - 2 {
                (*st).long_lived_pending += survivors;
            }
            list::merge(young, &raw const (*st).gens[generation + 1]);
        } else {
            list::merge(young, &raw const (*st).old);
            (*st).old_len = (*st).old_len.wrapping_add(survivors);
            (*st).long_lived_pending = 0;
            (*st).long_lived_total = (*st).old_len;
        }
    }
}

/// How far below the top of its stack `take_in_dirty`'s walk works.
const SLACK: usize = 8;

/// Step 1 of a full collection: the objects that lost `OLD` in place
/// join `dirty` (page by page, in allocation order), then every `OLD`
/// object reachable from `dirty` loses `OLD` and joins it too (module docs:
/// only those can have become garbage since the last full collection), also
/// in allocation order: the walk of the closure marks them in place (depth
/// first, from a stack), and they are taken as the first ones were.
/// (Appended in the order the walk met them, a dropped tree allocated
/// children first lay scattered along the list, and the passes that
/// followed went from miss to miss: collecting a dropped old 2^19-node
/// cyclic tree took a median of 133 ns per object, 113 in address order.)
///
/// Returns false, with the walk left unfinished, once more of `old` lost
/// `OLD` than kept it: the caller then scans all of `old`, which costs
/// little more than the rest of the walk would (a dropped old tree: the
/// walk and the taking cost a third of its collection). The objects the
/// walk marked stay marked (`DIRTY`, in place).
///
/// # Safety
/// Lock held; no collection is scanning.
unsafe fn take_in_dirty(g: &Locked) -> bool {
    // SAFETY: lock held; marked objects are live members of `old`; members
    // of `dirty` and of the stack are live; objects the walk cannot push
    // are appended to `dirty`, so the walk meets them too.
    unsafe {
        let st = g.st();
        let dirty = &raw const (*st).dirty;
        take_marked_into_dirty(g);
        if (*st).old_len == 0 {
            return true;
        }
        // Whether most of `old` lost `OLD` (read every `CHECK_EVERY`
        // objects: the pool's count of marks is a walk of its pages in
        // debug builds).
        let most_dirty = || (*st).old_len < (*st).pool.marked_count();
        let mut reached = Vec::new();
        let mut h = list::next(dirty);
        let mut since_check = 0;
        while !std::ptr::eq(h, dirty) {
            make_children_dirty(g, h, c"gc_collect", Some(&mut reached));
            // Each object is taken `SLACK` entries below the top, so that
            // the prefetches started when it was pushed have time to land.
            while !reached.is_empty() {
                let c = reached.swap_remove(reached.len().saturating_sub(SLACK + 1));
                make_children_dirty(g, c, c"gc_collect", Some(&mut reached));
                since_check += 1;
                if since_check == CHECK_EVERY {
                    since_check = 0;
                    if most_dirty() {
                        return false;
                    }
                }
            }
            h = list::next(h);
        }
        take_marked_into_dirty(g);
        true
    }
}

/// Moves to `dirty` the objects that lost `OLD` while the scan freed
/// garbage (`State::passing`, refcount.rs `make_dirty`), unless they died
/// since (their deaths are queued: they are still there). If one could not
/// be noted, it is searched for: an object with neither `OLD` nor `DIRTY`
/// in `old`, or, after a full collection, among its survivors (`young`,
/// all `OLD` but those, about to join `old`).
///
/// # Safety
/// Lock held; no scan is walking; `young` holds the scan's survivors.
unsafe fn move_deferred_dirty(g: &Locked, young: *const Header, full: bool) {
    // SAFETY: lock held; noted objects are live (a death is only queued
    // while the collection runs); list members are live.
    unsafe {
        let st = g.st();
        let dirty = &raw const (*st).dirty;
        for h in std::mem::take(&mut (*st).deferred_dirty) {
            if !(*h).has(DYING) {
                list::move_to(h, dirty);
            }
        }
        if std::mem::take(&mut (*st).deferred_lost) {
            let old = &raw const (*st).old;
            let lists = [old, young];
            for &head in &lists[..if full { 2 } else { 1 }] {
                let mut h = list::next(head);
                while !std::ptr::eq(h, head) {
                    let next = list::next(h);
                    if !(*h).has(OLD | DIRTY) {
                        list::move_to(h, dirty);
                    }
                    h = next;
                }
            }
        }
    }
}

/// How many objects `take_in_dirty`'s walk takes between two looks at how
/// much of `old` it reached.
const CHECK_EVERY: usize = 1024;

/// Moves the objects marked on their pages (`DIRTY`, in `old`) to `dirty`,
/// page by page in the order the pages were first used, in address order
/// within a page.
///
/// # Safety
/// Lock held; no collection is scanning.
unsafe fn take_marked_into_dirty(g: &Locked) {
    // SAFETY: lock held; marked objects are live members of `old`.
    unsafe {
        let dirty = &raw const (*g.st()).dirty;
        (*g.st()).pool.take_marked(|h: *mut u8| {
            let h = h as *mut Header;
            (*h).change_fast(0, DIRTY);
            list::move_to(h, dirty);
        });
    }
}

/// Moves from `set` to `dead` every object nothing outside `set` references
/// (now), and merges the rest, unmarked (no `MARK`, no `COLLECTED`), into
/// `old`.
fn rescue(set: *const Header, dead: *const Header, old: *const Header) -> Scan {
    let habit = Habit {
        way: Way::Forward,
        prefetch: false,
        big: false,
    };
    let scan = deduce_unreachable(set, dead, Promote::No, Members::Open, habit, None);
    for_each(set, |h| {
        // SAFETY: members of set are live.
        unsafe { (*h).unset(MARK | COLLECTED) }
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

/// Step 7: runs the finalize hook of every garbage object not finalized
/// before, holding a reference to it meanwhile (as CPython does around
/// `tp_finalize`), so the finalizer cannot start the death of its own object
/// under its feet. Returns whether any ran. An object whose count reaches
/// zero meanwhile (at the latest when that reference is dropped) leaves the
/// list for the death stack.
fn finalize_garbage(g: &Locked, garbage: *const Header) -> bool {
    let seen = list::sentinel();
    list::init(&seen);
    // SAFETY: lock held; `seen` outlives its record (cleared below).
    unsafe { (*g.st()).abandon[2] = &seen };
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
                crate::object::incref_raw(h);
                (*g.st()).finalizing = h;
                crate::heap::host(|| finalize(h as *mut GcObject));
                (*g.st()).finalizing = std::ptr::null_mut();
                crate::refcount::decref_locked(g, h);
            }
        }
    }
    list::merge(&seen, garbage);
    // SAFETY: lock held.
    unsafe { (*g.st()).abandon[2] = std::ptr::null() };
    ran
}

/// Steps 9-10 on the final garbage (already marked `DYING | COLLECTED`).
/// Returns the number of uncollectable objects, and of weakrefs outside the
/// garbage whose callbacks released their last reference.
///
/// # Safety
/// Lock held; `draining` set.
unsafe fn delete_garbage(
    g: &Locked,
    garbage: *const Header,
    old: *const Header,
    weakrefs_due: bool,
) -> (usize, usize) {
    let mut pending = Pending::new();
    // Step 9: clear the garbage's weakrefs (no user code here).
    if weakrefs_due {
        for_each(garbage, |h| {
            // SAFETY: lock held; h is live garbage that really dies.
            unsafe {
                if (*h).has(WEAKREFED) {
                    weakref::clear_target(&mut *g.st(), h, &mut pending);
                }
            }
        });
    }
    // SAFETY: lock held; pending came from clear_target.
    let freed_weakrefs = unsafe { run_weak_callbacks(pending) };
    // SAFETY: lock held; the garbage is live and marked.
    if unsafe { debug::save_garbage(g, garbage, old) } {
        return (0, freed_weakrefs);
    }
    // Step 10. Releases only decrement counts of garbage (DYING stops their
    // deaths) and queue deaths of other objects. Garbage with no type whose
    // references are released (`RELEASED`: it is behind the cursor) is freed
    // once its count is zero; everything else waits for the loop below.
    let mut h = list::next(garbage);
    while !std::ptr::eq(h, garbage) {
        let next = list::next(h);
        // SAFETY: lock held; h is DYING garbage, live until freed here; the
        // objects freed here are `h` and released ones, all behind `next`.
        unsafe {
            if (*h).ty().is_null() {
                // (no `clear` hook: step 4 is the fields alone)
                release_fields(g, h, |c| free_released(g, c));
                (*h).set_exclusive(RELEASED);
                free_released(g, h);
            } else {
                release_references(g, h);
            }
        }
        h = next;
    }
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
                (*h).unset(DYING | COLLECTED | MARK | RELEASED);
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
    (uncollectable, freed_weakrefs)
}

/// Frees `h` if it is released garbage with no type and count zero: no
/// reference to it is left and no hook of its can run.
///
/// # Safety
/// Lock held; `h` is live.
#[inline(always)]
unsafe fn free_released(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; h is live.
    unsafe {
        if (*h).has(RELEASED) && (*h).count() == 0 {
            free_garbage(g, h);
        }
    }
}

/// Frees `h`, released garbage with no type and count zero (out of line:
/// `free_released` is called for every reference the garbage released).
///
/// # Safety
/// Lock held; `h` is such an object, in the garbage list.
#[inline(never)]
unsafe fn free_garbage(g: &Locked, h: *mut Header) {
    // SAFETY: lock held; released garbage is in the garbage list and ours.
    unsafe {
        debug::collectable(h);
        list::remove(h);
        free(g.st(), h);
    }
}

/// `gc_freeze`: every tracked object moves to the permanent generation.
/// Walks generation 2 (to take the promoted ones out of long_lived_pending,
/// and `OLD` off the old ones).
pub fn freeze() {
    let g = lock();
    let _stop = crate::sections::stop(&g);
    // SAFETY: lock held, sections stopped.
    unsafe { crate::nursery::gather(&g) };
    // SAFETY: lock held; no user code runs.
    let st = unsafe { &mut *g.st() };
    // Frozen objects leave generation 2: they no longer count as promoted
    // (a full collection, which resets the count, never sees them), nor as
    // old. Only `gens[2]` holds PROMOTED objects, only `old` OLD ones.
    for_each(&st.gens[NUM_GENERATIONS - 1], |h| {
        // SAFETY: lock held; members are live.
        unsafe {
            if (*h).has(PROMOTED) {
                (*h).change_fast(0, PROMOTED);
                st.long_lived_pending -= 1;
            }
        }
    });
    // SAFETY: lock held; members are live.
    for_each(&st.old, |h| unsafe {
        (*h).change_fast(0, OLD | DIRTY);
    });
    st.pool.take_marked(|_| {});
    st.old_len = 0;
    for i in 0..NUM_GENERATIONS {
        // SAFETY: lock held.
        for head in unsafe { crate::heap::generation_lists(st, i) } {
            list::merge(head, &st.permanent);
        }
    }
    crate::order::frozen();
    st.count[0] = 0;
}

/// `gc_unfreeze`: the permanent generation moves back to the oldest one.
/// The `OLD` objects the unfrozen ones reference lose `OLD` (module docs).
pub fn unfreeze() {
    let g = lock();
    let _stop = crate::sections::stop(&g);
    // SAFETY: lock held; the permanent generation's members are live; no
    // user code runs (`traverse` hooks only report references).
    unsafe {
        let permanent = &raw const (*g.st()).permanent;
        for_each(permanent, |h| {
            make_children_dirty(&g, h, c"gc_unfreeze", None)
        });
        list::merge(permanent, &raw const (*g.st()).gens[NUM_GENERATIONS - 1]);
    }
    crate::order::unfrozen();
}

#[cfg(test)]
mod tests;
