//! Nurseries: where a thread that does not hold the heap lock's bias
//! (bias.rs) makes and drops its small plain objects without the heap lock.
//!
//! Most objects are born and die on one thread before any collection sees
//! them. While one thread uses the library the bias makes the heap lock a
//! plain store; with several, each creation and each death took the lock,
//! and two threads doing so did less together than one alone. A nursery
//! belongs to a section slot (sections.rs): whoever holds slot `i` in a
//! section owns nursery `i` for that section's few instructions, with no
//! lock and no write to a line another thread writes (the slot's
//! compare-and-swap is on the thread's own line). It holds:
//! - `young`: a list of the objects born in it that no collection has
//!   seen, each marked `NURSERY` with owner `i` in its count word
//!   (object.rs). They are part of generation 0.
//! - `ready`: free pool blocks by size class, taken from the pool under
//!   the heap lock `BATCH` at a time.
//! - `fresh` and `sealed`: blocks of objects that died in it, not yet
//!   reusable: a section of another thread may still be reading such an
//!   object (it read it from a field before the field changed and is
//!   incrementing its count, refcount.rs `get_field_shared`). Every
//!   `FRESH_CHECK` deaths, `fresh` is sealed: the sections in progress are
//!   noted (`sections::seal`), and once each has ended the blocks become
//!   reusable (at once if there was none): `unsorted`, sorted into `ready`
//!   by class as they are taken.
//! - shares: births less deaths since the last fold, of count0 and of the
//!   memory figures. The holder folds them into the heap state (under the
//!   lock) once they reach `BATCH` either way, which is also when an
//!   automatic collection may start; `gc_get_memory` adds them.
//!
//! Which objects: tracked objects with no type, not weakrefs, served by
//! the pool, of at most `MAX_FIELDS` fields, made while checked mode is
//! off for good and no memory limit is set (gc/mod.rs `new_object`). Such
//! an object dies in its nursery (refcount.rs `die_in_nursery`) when its
//! last reference is dropped by the holder of its owner's slot and it has
//! no weakrefs: its fields are released in the same section (children
//! that die the same way too), and its block goes to `fresh`. Every other
//! death of a nursery object takes the heap lock and stops every section
//! (refcount.rs `unlink_dying`).
//!
//! Who else touches a nursery: a holder of the heap lock with every
//! section stopped (sections.rs `stop`), who may do anything to any
//! nursery: a collection or a heap walk first moves every nursery's young
//! objects to generation 0 (`gather`, clearing `NURSERY`); a locked death
//! unlinks its object; full collections and gc_trim give the cached
//! blocks back (`flush`). A fork waits for the sections in progress, so a
//! child finds every nursery whole. A thread that exits leaves its
//! nursery to the next thread given the same slot; collections gather it
//! meanwhile.
//!
//! Invariants: nursery `i` changes only inside a section holding slot `i`
//! or under a stop; an object is in nursery `i`'s `young` exactly while it
//! is live with `NURSERY` and owner `i`; blocks in `ready`, `unsorted`,
//! `fresh` and `sealed` are
//! pool blocks no live object uses, counted live by the pool; `births`,
//! `objects` and `bytes` are wrapping sums (they go "negative" when
//! objects born before a fold die after it).

use crate::alloc::{CLASSES, class_of_block};
use crate::heap::{Locked, State};
use crate::list;
use crate::object::{Header, NURSERY};
use crate::sections::NSLOTS;
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Blocks taken from the pool at a time, and the share (either way) at
/// which a nursery folds into the heap state.
pub(crate) const BATCH: usize = 64;
/// The births share at which a nursery folds (`BATCH`; 0 under the test
/// hook `fold_every_birth`).
static FOLD_AT: AtomicUsize = AtomicUsize::new(BATCH);

/// Test hook (not part of the C API): every thread makes its plain objects
/// in its nursery as if several threads used the library, and folds each
/// birth and death at once, so that count0 and the automatic collections are exact
/// (the model test runs the nursery paths this way).
#[doc(hidden)]
pub fn fold_every_birth() {
    FOLD_AT.store(0, Relaxed);
    crate::bias::pretend_several_threads();
}

/// The most fields of a nursery object (its death releases them into a
/// fixed buffer, refcount.rs).
pub(crate) const MAX_FIELDS: usize = 16;
/// Freed blocks a nursery collects before it checks whether they are safe
/// (the check reads the other slots' lines, which their threads write all
/// the time: two threads making and dropping objects each did 10 % more
/// work per object with 64 than with 256).
const FRESH_CHECK: usize = 256;
/// The most bytes of blocks a nursery keeps; beyond, it gives some back.
/// (It keeps about three times `FRESH_CHECK` blocks in a steady loop: 37
/// KiB of 48-byte objects.)
const CACHE_BYTES: usize = 128 << 10;

pub struct Nursery {
    young: Header,
    ready: [*mut u8; CLASSES],
    /// Reusable blocks of any class, sorted into `ready` as `take` meets
    /// them (it touches each block there anyway).
    unsorted: *mut u8,
    fresh: *mut u8,
    /// The last block of `fresh` (its first freed).
    fresh_tail: *mut u8,
    fresh_len: usize,
    /// Blocks that were `fresh` when `seal` was taken: reusable once the
    /// sections then in progress have ended (`sections::sealed_over`).
    sealed: *mut u8,
    sealed_tail: *mut u8,
    seal: crate::sections::Seal,
    /// Bytes of the blocks in `ready`, `unsorted`, `fresh` and `sealed`.
    cached: usize,
}

/// One nursery on its own lines (its holder writes them; nobody else does
/// while the holder can), with its shares, which `gc_get_count` and
/// `gc_get_memory` read from any thread: count0's (births less deaths) and
/// the memory figures'.
#[repr(align(128))]
struct Slot {
    n: UnsafeCell<Nursery>,
    births: AtomicUsize,
    objects: AtomicUsize,
    bytes: AtomicUsize,
}

struct Nurseries([Slot; NSLOTS]);

// SAFETY: nursery `i` is accessed only by the holder of section slot `i`
// or under a stop (module invariants); the shares others read are atomics.
unsafe impl Sync for Nurseries {}

static NURSERIES: Nurseries = Nurseries(
    [const {
        Slot {
            n: UnsafeCell::new(Nursery {
                young: list::sentinel(),
                ready: [ptr::null_mut(); CLASSES],
                unsorted: ptr::null_mut(),
                fresh: ptr::null_mut(),
                fresh_tail: ptr::null_mut(),
                fresh_len: 0,
                sealed: ptr::null_mut(),
                sealed_tail: ptr::null_mut(),
                seal: [0; NSLOTS],
                cached: 0,
            }),
            births: AtomicUsize::new(0),
            objects: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }; NSLOTS],
);

/// Nursery `i` (< `NSLOTS`), its `young` list initialised.
///
/// # Safety
/// The caller holds section slot `i`, or a stop.
#[inline(always)]
unsafe fn get(i: usize) -> *mut Nursery {
    let n = NURSERIES.0[i].n.get();
    // SAFETY: caller's contract: ours alone.
    unsafe {
        if (*n).young.next.load(Relaxed) == 0 {
            list::init(&raw const (*n).young);
        }
    }
    n
}

/// The link of a free block: its second word, as in the pool (the first
/// keeps the dead object's count word).
///
/// # Safety
/// `b` is a pool block (at least 16 bytes).
#[inline(always)]
pub unsafe fn link(b: *mut u8) -> *mut *mut u8 {
    // SAFETY: caller's contract.
    unsafe { b.add(8) as *mut *mut u8 }
}

/// A free block of class `class` from nursery `i`, or NULL: the first of
/// `ready`, else one from `unsorted` (those of other classes met on the
/// way go to `ready`), after `advance` if need be.
///
/// # Safety
/// The caller holds section slot `i`.
#[inline(always)]
pub unsafe fn take(i: usize, class: usize) -> *mut u8 {
    // SAFETY: caller's contract; blocks in the lists are free pool blocks.
    unsafe {
        let n = get(i);
        if (*n).ready[class].is_null() {
            sort_until(n, class);
            if (*n).ready[class].is_null() {
                advance(n, i);
                sort_until(n, class);
            }
        }
        let b = (*n).ready[class];
        if !b.is_null() {
            (*n).ready[class] = *link(b);
            (*n).cached -= crate::alloc::class_size(class);
        }
        b
    }
}

/// Moves freed blocks along: `sealed` joins `unsorted` once the sections
/// in progress when it was sealed have ended; then, if `sealed` is empty,
/// `fresh` is sealed (or joins `unsorted` at once if no other section is
/// in progress).
///
/// # Safety
/// The caller holds section slot `i`, `n` is nursery `i`.
#[cold]
unsafe fn advance(n: *mut Nursery, i: usize) {
    // SAFETY: caller's contract.
    unsafe {
        if !(*n).sealed.is_null() && crate::sections::sealed_over(&(*n).seal) {
            to_ready(n, (*n).sealed, (*n).sealed_tail);
            (*n).sealed = ptr::null_mut();
        }
        if (*n).sealed.is_null() && !(*n).fresh.is_null() {
            if crate::sections::seal(i, &mut (*n).seal) {
                to_ready(n, (*n).fresh, (*n).fresh_tail);
            } else {
                (*n).sealed = (*n).fresh;
                (*n).sealed_tail = (*n).fresh_tail;
            }
            (*n).fresh = ptr::null_mut();
            (*n).fresh_len = 0;
        }
    }
}

/// Moves blocks from `unsorted` to `ready` until one of class `class` has
/// moved, or none is left.
///
/// # Safety
/// The caller owns `n`.
#[inline(always)]
unsafe fn sort_until(n: *mut Nursery, class: usize) {
    // SAFETY: caller's contract; the blocks are free pool blocks.
    unsafe {
        while !(*n).unsorted.is_null() {
            let b = (*n).unsorted;
            (*n).unsorted = *link(b);
            let c = class_of_block(b);
            *link(b) = (*n).ready[c];
            (*n).ready[c] = b;
            if c == class {
                return;
            }
        }
    }
}

/// Makes the blocks of `list` (linked as in `ready`, any classes, its
/// last block `tail`) reusable: they go in front of `unsorted`.
///
/// # Safety
/// The caller owns `n`; no section can hold the blocks any more.
unsafe fn to_ready(n: *mut Nursery, list: *mut u8, tail: *mut u8) {
    // SAFETY: caller's contract; the blocks are free pool blocks.
    unsafe {
        if !list.is_null() {
            *link(tail) = (*n).unsorted;
            (*n).unsorted = list;
        }
    }
}

/// Gives nursery `i` the blocks of `list` (linked as in `ready`, `len` of
/// them, all of class `class`).
///
/// # Safety
/// The caller holds section slot `i`; the blocks are free pool blocks.
pub unsafe fn give(i: usize, class: usize, list: *mut u8, len: usize) {
    // SAFETY: caller's contract.
    unsafe {
        let n = get(i);
        let mut last = list;
        while !(*link(last)).is_null() {
            last = *link(last);
        }
        *link(last) = (*n).ready[class];
        (*n).ready[class] = list;
        (*n).cached += len * crate::alloc::class_size(class);
    }
}

/// Whether nursery `i`'s births are due to be folded into count0, with the
/// next birth's (`take_shares`, then `Shares::fold` and `born` with
/// `counted`).
///
/// # Safety
/// The caller holds section slot `i`.
#[inline(always)]
pub unsafe fn births_due(i: usize) -> bool {
    NURSERIES.0[i].births.load(Relaxed) as isize >= FOLD_AT.load(Relaxed) as isize
}

/// Counts the birth of `h` (`bytes` as charged) in nursery `i` (in count0's
/// share unless `counted`: already in count0), `h` a new object marked
/// `NURSERY` with owner `i`, and links it into `young`.
///
/// # Safety
/// The caller holds section slot `i`; `h` is on no list.
#[inline(always)]
pub unsafe fn born(i: usize, h: *mut Header, bytes: usize, counted: bool) {
    // SAFETY: caller's contract.
    unsafe {
        let n = get(i);
        list::append(h, &raw const (*n).young);
        add_shares(i, !counted as usize, 1, bytes);
    }
}

/// The death in nursery `i` of an object (already unlinked): its block
/// (`base`, `bytes` as charged) joins `fresh`. Whether the nursery is due
/// to fold its shares or give blocks back (`take_shares`).
///
/// # Safety
/// The caller holds section slot `i`; the block is free.
#[inline(always)]
pub unsafe fn died(i: usize, base: *mut u8, bytes: usize) -> bool {
    // SAFETY: caller's contract.
    unsafe {
        let n = get(i);
        if (*n).fresh.is_null() {
            (*n).fresh_tail = base;
        }
        *link(base) = (*n).fresh;
        (*n).fresh = base;
        (*n).fresh_len += 1;
        (*n).cached += bytes;
        let minus = 1usize.wrapping_neg();
        add_shares(i, minus, minus, bytes.wrapping_neg());
        // (Every `FRESH_CHECK` frees: `advance` reads the other slots'
        // lines, which their threads write all the time.)
        if (*n).fresh_len.is_multiple_of(FRESH_CHECK) {
            advance(n, i);
        }
        (*n).cached > CACHE_BYTES
            || NURSERIES.0[i].births.load(Relaxed) as isize <= -(FOLD_AT.load(Relaxed) as isize)
    }
}

#[inline(always)]
fn add_shares(i: usize, births: usize, objects: usize, bytes: usize) {
    let s = &NURSERIES.0[i];
    // Relaxed load and store: the holder is the only writer.
    s.births
        .store(s.births.load(Relaxed).wrapping_add(births), Relaxed);
    s.objects
        .store(s.objects.load(Relaxed).wrapping_add(objects), Relaxed);
    s.bytes
        .store(s.bytes.load(Relaxed).wrapping_add(bytes), Relaxed);
}

/// Takes nursery `i`'s shares (count0, objects, bytes), leaving them zero,
/// for `Shares::fold`; and, if its blocks take more than three quarters of
/// `CACHE_BYTES`, up to `BATCH` blocks of `unsorted` and `ready` to give
/// back to the pool.
///
/// # Safety
/// The caller holds section slot `i`, or a stop.
pub unsafe fn take_shares(i: usize) -> Shares {
    // SAFETY: caller's contract.
    unsafe {
        let n = get(i);
        let slot = &NURSERIES.0[i];
        let mut s = Shares {
            births: slot.births.swap(0, Relaxed),
            objects: slot.objects.swap(0, Relaxed),
            bytes: slot.bytes.swap(0, Relaxed),
            give_back: ptr::null_mut(),
        };
        if (*n).cached > CACHE_BYTES * 3 / 4 {
            sort_until(n, CLASSES); // (every block of `unsorted` to `ready`)
            let mut given = 0;
            for c in 0..CLASSES {
                while (*n).cached > CACHE_BYTES * 3 / 4 && given < BATCH && !(*n).ready[c].is_null()
                {
                    let b = (*n).ready[c];
                    (*n).ready[c] = *link(b);
                    *link(b) = s.give_back;
                    s.give_back = b;
                    (*n).cached -= crate::alloc::class_size(c);
                    given += 1;
                }
            }
        }
        s
    }
}

/// What a nursery hands the heap state (`take_shares`).
pub struct Shares {
    births: usize,
    objects: usize,
    bytes: usize,
    give_back: *mut u8,
}

impl Shares {
    /// Adds the shares, and `births` more births, to the heap state and
    /// gives the blocks back.
    ///
    /// # Safety
    /// `g` is this thread's lock guard.
    pub unsafe fn fold(self, g: &Locked, births: usize) {
        // SAFETY: lock held; no user code runs.
        unsafe {
            let st = g.st();
            fold_into(g, st, self);
            (*st).count[0] += births;
        }
    }
}

/// `Shares::fold` with the state pointer.
///
/// # Safety
/// Lock held (`st` is the heap state).
unsafe fn fold_into(g: &Locked, st: *mut State, s: Shares) {
    // SAFETY: caller's contract; give-back blocks are free pool blocks.
    unsafe {
        // (Deaths never take count0 below zero, as in `refcount::free`: a
        // share that is all deaths lands exactly.)
        let count = &mut (*st).count[0];
        *count = (*count as isize).wrapping_add(s.births as isize).max(0) as usize;
        crate::memory::fold_nursery(g, s.objects, s.bytes);
        free_blocks(st, s.give_back);
    }
}

/// Gives the free pool blocks of `list` (linked through their second
/// words, any classes) back to the pool.
///
/// # Safety
/// Lock held (`st` is the heap state); the blocks are free blocks of its
/// pool that nothing else holds.
pub unsafe fn free_blocks(st: *mut State, list: *mut u8) {
    let mut b = list;
    // SAFETY: caller's contract.
    unsafe {
        while !b.is_null() {
            let next = *link(b);
            (*st)
                .pool
                .free(b, crate::alloc::class_size(class_of_block(b)));
            b = next;
        }
    }
}

/// For a holder of the heap lock with every section stopped: folds nursery
/// `owner`'s shares into the heap state (before a locked death of one of
/// its objects, so that the figures never count a death before its birth).
///
/// # Safety
/// Lock held, a stop in force, `owner < NSLOTS`.
pub unsafe fn fold_owner(g: &Locked, owner: usize) {
    // SAFETY: caller's contract: the nursery is ours during the stop.
    unsafe { fold_into(g, g.st(), take_shares(owner)) }
}

/// For a holder of the heap lock with every section stopped: every
/// nursery's young objects join generation 0 (losing `NURSERY`), and their
/// shares fold into the heap state. Before a collection or a heap walk.
///
/// # Safety
/// Lock held, a stop in force.
pub unsafe fn gather(g: &Locked) {
    debug_assert!(crate::sections::stopped());
    // SAFETY: caller's contract: every nursery is ours during the stop.
    unsafe {
        let st = g.st();
        for i in 0..crate::sections::slots_used() {
            let n = get(i);
            let young = &raw const (*n).young;
            let mut h = list::next(young);
            while !ptr::eq(h, young) {
                // Atomic: lock-free count changes go on during a stop.
                (*h).rc.fetch_unset(NURSERY);
                h = list::next(h);
            }
            list::merge(young, &raw const (*st).gens[0]);
            fold_into(g, st, take_shares(i));
        }
    }
}

/// For a holder of the heap lock with every section stopped: every
/// nursery's cached blocks go back to the pool (full collections, gc_trim).
///
/// # Safety
/// Lock held, a stop in force.
pub unsafe fn flush(g: &Locked) {
    // SAFETY: caller's contract; no section runs, so `fresh` is safe too.
    unsafe {
        let st = g.st();
        for i in 0..crate::sections::slots_used() {
            let n = get(i);
            to_ready(n, (*n).fresh, (*n).fresh_tail);
            to_ready(n, (*n).sealed, (*n).sealed_tail);
            (*n).fresh = ptr::null_mut();
            (*n).fresh_len = 0;
            (*n).sealed = ptr::null_mut();
            free_blocks(st, std::mem::replace(&mut (*n).unsorted, ptr::null_mut()));
            for c in 0..CLASSES {
                free_blocks(st, std::mem::replace(&mut (*n).ready[c], ptr::null_mut()));
            }
            (*n).cached = 0;
        }
    }
}

/// The sum of the nurseries' shares of count0 (signed), for
/// `gc_get_count`.
pub fn births() -> isize {
    NURSERIES.0[..crate::sections::slots_used()]
        .iter()
        .fold(0usize, |sum, s| sum.wrapping_add(s.births.load(Relaxed))) as isize
}

/// The sums of the nurseries' memory shares (objects, bytes; wrapping),
/// for `gc_get_memory`.
pub fn shares() -> (usize, usize) {
    let mut objects = 0usize;
    let mut bytes = 0usize;
    for s in &NURSERIES.0[..crate::sections::slots_used()] {
        objects = objects.wrapping_add(s.objects.load(Relaxed));
        bytes = bytes.wrapping_add(s.bytes.load(Relaxed));
    }
    (objects, bytes)
}
