//! Lock-free sections: the few instructions in which a thread that does not
//! own the counts (bias.rs) reads or changes a field without the heap lock
//! (`obj_get_field`, `obj_set_field`), and the stop by which a collection
//! (or a walk of the heap) keeps every such change out while it reads the
//! fields. (While one thread uses the library it owns the counts and
//! needs no section: its field accesses are plain loads and stores.)
//!
//! Whose objects: any. A section works on whatever object the caller holds,
//! its own or one another thread made or also uses: the field is swapped
//! atomically, counts change atomically, and a death (a count reaching
//! zero) still happens under the heap lock, or, for an untracked object
//! with no type, by a compare-and-swap (refcount.rs), or, for an object of
//! a nursery, in a section holding its owner's slot (nursery.rs: a section
//! of slot `i` also owns nursery `i`). What scales is that
//! a thread working on its own objects writes only its own slot's line and
//! those objects' lines. Objects outlive the thread that made them: a slot
//! holds no object, and a thread that exits leaves its slot free.
//!
//! A section: the thread marks its slot busy (a compare-and-swap on its
//! own cache line, so threads never write a line another thread writes),
//! then reads `STOPS`. If a stop is in force it frees the slot and takes
//! the locked path instead (the stopper holds the heap lock, so that path
//! waits for the stop's end). A stop, by a holder of the heap lock: raise
//! `STOPS`, then read the slots in use and wait until each is free.
//!
//! Why no section overlaps a stop: a store-buffering pair, SeqCst on both
//! sides. The section stores its slot, then loads `STOPS`; the stopper
//! stores `STOPS`, then loads the slot. In the single order of SeqCst
//! operations one of the stores comes first, so either the section sees
//! the stop (and changes nothing), or the stopper sees the slot busy and
//! waits; the section's Release store that frees the slot pairs with that
//! load, so the stopper then sees every field the section wrote. A thread
//! raises `USED` before its first section, under the heap lock, so a
//! stopper (which holds the lock) reads every slot that can be busy.
//!
//! A section calls nothing that can wait (no lock, no allocation, no host
//! code), so a stopper waits at most a few instructions of another thread
//! (unless that thread is descheduled: then it yields).
//!
//! Reading: a section may also read a field and take a reference to its
//! value (`obj_get_field`), so an object whose count reaches zero while a
//! section is in progress may still be looked at by it. A section's slot
//! holds the epoch it began in (epoch.rs), and once sections exist every
//! object's memory is retired through the epoch instead of released
//! (refcount.rs `free`; an untracked object that dies without the lock is
//! retired only if a section is in progress, `quiet`): it goes back, in
//! batches, once no section or reader that began before can hold it.
//! Collections free at once: they stop every section first.
//!
//! Slots: a thread takes a slot index on its first section (`NEXT`, round
//! robin), so while there are at most `NSLOTS` threads each has its own;
//! `USED` is how many indices were handed out, and a stop reads only those.
//! A thread that finds its slot busy (more threads than slots, or a signal
//! handler inside a section) tries the other slots in use once, then takes
//! the locked path. No thread-local state needs a destructor: a thread that
//! exits leaves its slot free.
//!
//! Invariants: a slot is busy only inside a section of the thread that made
//! it so; `STOPS` changes only under the heap lock (or by a forking thread
//! that froze the lock's holder in host code), and is the number of
//! stops in force (they nest: a finalizer may collect); in a fork child, no
//! slot is busy and only the forking thread's own stops remain.

use crate::heap::Locked;
use std::cell::Cell;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
    fence,
};

pub(crate) const NSLOTS: usize = 64;
const _: () = assert!(
    NSLOTS == crate::object::OWNERS,
    "a nursery per slot (nursery.rs)"
);

/// A slot, on its own cache line pair (threads never write a line
/// another thread writes).
#[repr(align(128))]
struct Slot {
    /// 0 when free, else the epoch its section began in.
    busy: AtomicUsize,
    /// Sections that have ended in this slot: one in progress when this
    /// was read has ended once it moved (`seal`, for nursery.rs).
    ends: AtomicUsize,
}

/// One per thread (while there are at most `NSLOTS`).
static SLOTS: [Slot; NSLOTS] = [const {
    Slot {
        busy: AtomicUsize::new(0),
        ends: AtomicUsize::new(0),
    }
}; NSLOTS];
/// Slot indices handed out so far (at most `NSLOTS`).
static USED: AtomicUsize = AtomicUsize::new(0);
/// The next slot index to hand out (modulo `NSLOTS`).
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Stops in force.
static STOPS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot index, `NSLOTS` until its first section.
    static MINE: Cell<usize> = const { Cell::new(NSLOTS) };
}

/// A section in progress; ends on drop.
pub struct Section(&'static Slot);

impl Section {
    /// The index of the slot this section holds: while it lasts, the
    /// nursery of that index is this thread's alone (nursery.rs).
    #[inline]
    pub fn index(&self) -> usize {
        (self.0 as *const Slot as usize - SLOTS.as_ptr() as usize) / size_of::<Slot>()
    }
}

impl Drop for Section {
    #[inline]
    fn drop(&mut self) {
        let ends = &self.0.ends;
        // Release: pairs with `sealed_over`'s Acquire load, so what the
        // section read happens before a block it may have read is reused.
        // (Only the slot's holder writes it.)
        ends.store(ends.load(Relaxed).wrapping_add(1), Release);
        // Release: pairs with the stopper's load in `stop`, so the writes
        // made in the section happen before the stopper reads the fields.
        self.0.busy.store(0, Release);
    }
}

/// What `seal` saw of the other slots: per slot, `ends` of a section then
/// in progress, or `FREE`.
pub type Seal = [usize; NSLOTS];
const FREE: usize = usize::MAX;

/// For the holder of slot `mine`: notes the sections of the other slots in
/// progress now, in `seal`; whether there was none. An object that died
/// (its last field left by a SeqCst exchange, as in `quiet`) before this
/// call can be held only by those sections: its memory may be reused once
/// `sealed_over` says they have all ended.
pub fn seal(mine: usize, seal: &mut Seal) -> bool {
    let used = USED.load(SeqCst);
    // SeqCst: as in `quiet`.
    fence(SeqCst);
    let mut none = true;
    for (i, s) in SLOTS[..used].iter().enumerate() {
        // `ends` first (Acquire: the load of `busy` stays after it): if a
        // section is in progress at the load of `busy`, either it is one
        // that began before the fence, whose end moves `ends` past the
        // value read, or one that began after an end `ends` already moved
        // past (and after the fence: it cannot hold what died before).
        let ends = s.ends.load(Acquire);
        seal[i] = if i != mine && s.busy.load(SeqCst) != 0 {
            none = false;
            ends
        } else {
            FREE
        };
    }
    seal[used..].fill(FREE);
    none
}

/// Whether every section `seal` noted has ended.
pub fn sealed_over(seal: &Seal) -> bool {
    SLOTS[..USED.load(Relaxed)]
        .iter()
        .zip(seal)
        // Acquire: pairs with the Release increment at a section's end.
        .all(|(s, &e)| e == FREE || s.ends.load(Acquire) != e)
}

/// Begins a section, or None when a stop is in force (or, rarely, no slot
/// is free): the caller then takes the heap lock instead.
#[inline]
pub fn enter() -> Option<Section> {
    let mut i = MINE.with(Cell::get);
    if i == NSLOTS {
        i = first_section();
    }
    let used = USED.load(Relaxed);
    let epoch = crate::epoch::current();
    for _ in 0..used {
        let slot = &SLOTS[i];
        // SeqCst: the section's half of the store-buffering pairs (module
        // docs); on x86-64 the locked instruction is the full barrier.
        if slot
            .busy
            .compare_exchange(0, epoch, SeqCst, Relaxed)
            .is_ok()
        {
            if STOPS.load(SeqCst) == 0 {
                return Some(Section(slot));
            }
            // Nothing was written: Relaxed suffices.
            slot.busy.store(0, Relaxed);
            return None;
        }
        i = (i + 1) % used;
    }
    None
}

/// Hands this thread its slot index and counts it in `USED` (before the
/// thread's first section), under the heap lock, so that a holder of the
/// lock reads a `USED` that no thread raises meanwhile.
#[cold]
fn first_section() -> usize {
    let g = crate::heap::lock();
    // SAFETY: lock held; no user code runs.
    unsafe { (*g.st()).busy.sections_used = true };
    let i = NEXT.fetch_add(1, Relaxed) % NSLOTS;
    // SeqCst: in the order of SeqCst operations, before this thread's first
    // load of `STOPS` or of a field (module docs).
    USED.fetch_max(i + 1, SeqCst);
    MINE.with(|m| m.set(i));
    i
}

/// Whether any thread has ever begun a section.
#[inline]
pub fn used() -> bool {
    USED.load(SeqCst) != 0
}

/// Whether no section is in progress, so that no section can hold the
/// address of an object whose count has reached zero (every slot in use is
/// read; for a caller without the heap lock: an untracked object's death).
///
/// Why it is enough: an object reaches zero only once no field holds it,
/// and it left its last field by a SeqCst exchange before this call. A
/// section that read it from that field stored its slot before its read,
/// which came before the exchange in the single order of SeqCst
/// operations; this call's fence comes after the exchange, so its load of
/// the slot sees the section (or the section's end). A section begun
/// later reads the field after the exchange and cannot meet the object.
pub fn quiet() -> bool {
    let used = USED.load(SeqCst);
    if used == 0 {
        return true;
    }
    fence(SeqCst);
    SLOTS[..used].iter().all(|s| s.busy.load(SeqCst) == 0)
}

/// Test hook (debug builds): while `park_reads(true)` is in force, a
/// lock-free `obj_get_field` stops between loading the field and taking
/// its reference (`parked` says so), inside its section, until
/// `park_reads(false)`. A test makes the value die and its memory be
/// wanted meanwhile.
#[cfg(debug_assertions)]
static PARK: AtomicUsize = AtomicUsize::new(0);

/// See `PARK`: 0 off, 1 on, 2 a reader is parked.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub fn park_reads(on: bool) {
    PARK.store(on as usize, SeqCst);
}

/// Whether a reader is parked (see `PARK`).
#[cfg(debug_assertions)]
#[doc(hidden)]
pub fn parked() -> bool {
    PARK.load(SeqCst) == 2
}

/// Where a lock-free field read parks (see `PARK`).
#[inline(always)]
pub fn park_point() {
    #[cfg(debug_assertions)]
    if PARK.load(Relaxed) != 0 && PARK.compare_exchange(1, 2, SeqCst, SeqCst).is_ok() {
        while PARK.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
    }
}

/// How many slot indices have been handed out: the nurseries that can
/// hold anything (nursery.rs). For a holder of the heap lock.
pub fn slots_used() -> usize {
    USED.load(SeqCst)
}

/// The oldest epoch a section in progress began in (`usize::MAX` if none),
/// for epoch.rs: memory retired at that epoch or later waits.
pub fn oldest() -> usize {
    SLOTS[..USED.load(SeqCst)]
        .iter()
        // Acquire: pairs with the Release store that ends a section, so
        // its reads of a block happen before the block is released.
        .map(|s| s.busy.load(Acquire))
        .filter(|&e| e != 0)
        .min()
        .unwrap_or(usize::MAX)
}

/// A stop in force; ends on drop.
pub struct Stop(());

/// Keeps every section out until the returned guard drops: waits for the
/// sections in progress to end. Stops nest.
pub fn stop(_: &Locked) -> Stop {
    stop_raw()
}

fn stop_raw() -> Stop {
    let n = STOPS.load(Relaxed);
    // SeqCst: the stopper's half of the store-buffering pair (module docs).
    STOPS.store(n + 1, SeqCst);
    if n == 0 {
        for s in &SLOTS[..USED.load(SeqCst)] {
            let mut spins = 0u32;
            // SeqCst (an Acquire load, too): pairs with the section's
            // compare-and-swap in the order, and with its Release exit.
            while s.busy.load(SeqCst) != 0 {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
    Stop(())
}

impl Drop for Stop {
    fn drop(&mut self) {
        // Changed only under the heap lock, which the guard's maker held
        // and still holds (the guard lives inside the locked scope).
        // Release: pairs with the load of `STOPS` in `enter`, so what the
        // stopper wrote to the nurseries (nursery.rs) happens before the
        // sections that follow read it.
        STOPS.fetch_sub(1, Release);
    }
}

/// Whether a stop is in force: for a holder of the heap lock, whether its
/// own stop keeps every section out.
#[inline]
pub fn stopped() -> bool {
    STOPS.load(Relaxed) != 0
}

/// For `fork_prepare` (heap.rs), which holds the heap lock or has frozen
/// its holder in host code: keeps every section out until `fork_unstop`,
/// so that no other thread is halfway through a section (a nursery's
/// lists, say) when the process forks. Waits only for sections, which
/// wait for nothing.
pub fn fork_stop() {
    std::mem::forget(stop_raw());
}

/// In the parent after a fork: ends `fork_stop`'s stop.
pub fn fork_unstop() {
    drop(Stop(()));
}

/// In a fork child: no other thread's section or stop survived the fork.
/// `own_stops` is whether the stops in force are the forking thread's (it
/// forked from host code that a collection, say, called); `fork_stop`'s
/// own stop ends here.
///
/// # Safety
/// Only in a fork child, before any other thread exists.
pub unsafe fn reset_in_child(own_stops: bool) {
    for s in &SLOTS {
        s.busy.store(0, Relaxed);
    }
    if own_stops {
        STOPS.fetch_sub(1, Relaxed);
    } else {
        STOPS.store(0, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_keeps_sections_out_until_it_ends() {
        let g = crate::heap::lock();
        assert!(enter().is_some());
        let s = stop(&g);
        assert!(stopped());
        assert!(enter().is_none());
        let inner = stop(&g);
        drop(inner);
        assert!(enter().is_none(), "stops nest");
        drop(s);
        assert!(enter().is_some());
    }

    #[test]
    fn a_stop_waits_for_a_section_in_progress() {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Barrier};
        let inside = Arc::new(Barrier::new(2));
        let wrote = Arc::new(AtomicBool::new(false));
        let t = {
            let (inside, wrote) = (inside.clone(), wrote.clone());
            std::thread::spawn(move || {
                // (Another test's collection may hold a stop a moment.)
                let s = loop {
                    if let Some(s) = enter() {
                        break s;
                    }
                    std::thread::yield_now();
                };
                inside.wait();
                std::thread::sleep(std::time::Duration::from_millis(50));
                wrote.store(true, Relaxed);
                drop(s);
            })
        };
        inside.wait();
        let g = crate::heap::lock();
        let s = stop(&g);
        assert!(wrote.load(Relaxed), "the stop returned inside a section");
        drop(s);
        drop(g);
        t.join().unwrap();
    }
}
