//! Memory figures (`gc_get_memory`), the memory limit and trimming.
//!
//! What is counted: every live object's allocation, as allocated (a pool
//! block's class size, or the 16-rounded size of a system allocation), from
//! the moment `obj_new`/`weakref_new` takes it until its death (the memory of
//! an object that had weakrefs may be reused a little later; it is no longer
//! in use). `bytes_reserved` adds to that the pool's free blocks and empty
//! pages: the pages mapped and not returned, plus the system allocations of
//! objects the pool does not serve.
//!
//! Who writes what (no counter costs a locked instruction on a path that
//! holds the heap lock):
//! - `LOCKED`: changed only under the heap lock (tracked allocations, every
//!   death, the pool's pages), with a relaxed load and store; read by anyone.
//!   Its byte and object counts are wrapping sums that go "negative" when
//!   untracked objects die, since those were counted in `UNLOCKED`.
//! - a thread's `Share`: untracked allocations, and deaths of plain
//!   untracked objects, made without the heap lock (the heap lock's bias
//!   is another thread's or nobody's; the bias owner counts them in
//!   `LOCKED`). Written with a relaxed load and store by the one thread
//!   that holds the share, read by anyone; once its bytes move `FLUSH` or
//!   more away from zero the thread adds the share to `UNLOCKED` (one
//!   `fetch_add` per figure) and zeroes it, and it does the same when it
//!   exits. Shares are never freed: an exited thread's share is taken by
//!   the next thread that needs one.
//! - `UNLOCKED`: the flushed shares, with `fetch_add`.
//! - a nursery's shares (nursery.rs): tracked objects made and freed in a
//!   section by the thread that holds the nursery's slot, folded into
//!   `LOCKED` under the heap lock now and then; `figures` adds them.
//! - `PEAK`: the most `bytes_in_use` has been, checked after every locked
//!   allocation and every flush (a locked `fetch_max` only when a new peak
//!   is reached), and by `figures`. Those checks see the flushed shares
//!   only, so the peak can miss up to `FLUSH` bytes per thread of untracked
//!   objects allocated while several threads use the library.
//!
//! Invariants: bytes_in_use = LOCKED.bytes + UNLOCKED.bytes + the sum of
//! the shares and of the nurseries' shares (wrapping), and the same for
//! objects; every figure is exact
//! whenever no other thread is allocating or freeing; `bytes_reserved >=
//! bytes_in_use`.

use crate::heap::Locked;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};

/// The figures `gc_get_memory` returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcMemStats {
    /// Live objects, tracked and untracked.
    pub objects: usize,
    /// Of which tracked by the collector.
    pub tracked: usize,
    /// Memory of live objects, as allocated.
    pub bytes_in_use: usize,
    /// The most `bytes_in_use` has been.
    pub peak_bytes_in_use: usize,
    /// Memory obtained from the system and not returned (>= bytes_in_use).
    pub bytes_reserved: usize,
    /// The memory limit, 0 = none.
    pub limit: usize,
}

/// Counters changed only under the heap lock.
struct LockedCounters {
    objects: AtomicUsize,
    tracked: AtomicUsize,
    bytes: AtomicUsize,
    /// Bytes of objects not served by the pool (their own allocations).
    unpooled: AtomicUsize,
    /// Bytes of pool pages mapped.
    pool_mapped: AtomicUsize,
}

static LOCKED: LockedCounters = LockedCounters {
    objects: AtomicUsize::new(0),
    tracked: AtomicUsize::new(0),
    bytes: AtomicUsize::new(0),
    unpooled: AtomicUsize::new(0),
    pool_mapped: AtomicUsize::new(0),
};
/// Untracked allocations made without the heap lock, flushed from the
/// threads' shares: objects and bytes.
static UNLOCKED_OBJECTS: AtomicUsize = AtomicUsize::new(0);
static UNLOCKED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A thread's unflushed part of `UNLOCKED` (module docs).
struct Share {
    objects: AtomicUsize,
    bytes: AtomicUsize,
    taken: AtomicBool,
    /// The next share of `SHARES` (set once, before it is published).
    next: *const Share,
}

// SAFETY: `next` is written before the share is published and never again;
// the rest are atomics.
unsafe impl Sync for Share {}

/// Every share ever made (a push-only list; shares are leaked on purpose).
static SHARES: AtomicPtr<Share> = AtomicPtr::new(std::ptr::null_mut());

/// A share moves to `UNLOCKED` once its bytes are this far from zero.
const FLUSH: usize = 64 << 10;

/// The share this thread holds; its destructor flushes it and lets it go.
struct Held(&'static Share);

thread_local! {
    static HELD: Held = Held::take();
}

impl Held {
    /// Takes a share no live thread holds, or makes one.
    fn take() -> Held {
        let mut s = SHARES.load(Acquire) as *const Share;
        while !s.is_null() {
            // SAFETY: shares are never freed.
            let share = unsafe { &*s };
            // Acquire: pairs with the Release in `drop`, so the last
            // holder's flush happens before this thread writes.
            if share
                .taken
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return Held(share);
            }
            s = share.next;
        }
        let mut head = SHARES.load(Relaxed);
        let share = Box::leak(Box::new(Share {
            objects: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            taken: AtomicBool::new(true),
            next: head,
        }));
        // Release: publishes the share's fields (and `next`) to the
        // Acquire loads of SHARES in `take` and `unlocked`.
        while let Err(seen) = SHARES.compare_exchange_weak(head, share, Release, Relaxed) {
            head = seen;
            share.next = head;
        }
        Held(share)
    }

    /// Adds `objects` and `bytes` (wrapping) to the share.
    #[inline]
    fn add(&self, objects: usize, bytes: usize) {
        let s = self.0;
        s.objects
            .store(s.objects.load(Relaxed).wrapping_add(objects), Relaxed);
        let b = s.bytes.load(Relaxed).wrapping_add(bytes);
        s.bytes.store(b, Relaxed);
        if b.wrapping_add(FLUSH) >= 2 * FLUSH {
            self.flush();
        }
    }

    /// Moves the share into `UNLOCKED`.
    #[cold]
    fn flush(&self) {
        let s = self.0;
        UNLOCKED_OBJECTS.fetch_add(s.objects.swap(0, Relaxed), Relaxed);
        UNLOCKED_BYTES.fetch_add(s.bytes.swap(0, Relaxed), Relaxed);
        note_peak();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.flush();
        // Pairs with the Acquire in `take`.
        self.0.taken.store(false, Release);
    }
}

/// The untracked figures made without the heap lock, exactly: objects and
/// bytes (wrapping sums).
fn unlocked() -> (usize, usize) {
    let (mut objects, mut bytes) = (UNLOCKED_OBJECTS.load(Relaxed), UNLOCKED_BYTES.load(Relaxed));
    // Acquire: pairs with the Release push in `Held::take`.
    let mut s = SHARES.load(Acquire) as *const Share;
    while !s.is_null() {
        // SAFETY: shares are never freed.
        let share = unsafe { &*s };
        objects = objects.wrapping_add(share.objects.load(Relaxed));
        bytes = bytes.wrapping_add(share.bytes.load(Relaxed));
        s = share.next;
    }
    (objects, bytes)
}

/// Adds to this thread's share, or (while the thread is exiting and its
/// share is gone) to `UNLOCKED` directly.
#[inline]
fn add_unlocked(objects: usize, bytes: usize) {
    if HELD.try_with(|h| h.add(objects, bytes)).is_err() {
        UNLOCKED_OBJECTS.fetch_add(objects, Relaxed);
        UNLOCKED_BYTES.fetch_add(bytes, Relaxed);
    }
}
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The limit; `UNREAD` until `RCGC_MEMORY_LIMIT` has been looked at.
static LIMIT: AtomicUsize = AtomicUsize::new(UNREAD);
const UNREAD: usize = usize::MAX;

/// Adds `n` (wrapping) to a counter only the heap lock holder writes.
#[inline]
fn add_locked(c: &AtomicUsize, n: usize) -> usize {
    let v = c.load(Relaxed).wrapping_add(n);
    c.store(v, Relaxed);
    v
}

/// The bytes an object of `size` bytes takes as allocated.
#[inline]
pub fn charge(size: usize) -> usize {
    crate::alloc::Pool::block_size(size)
}

/// Live bytes now (exact when no other thread allocates or frees).
fn in_use() -> usize {
    LOCKED
        .bytes
        .load(Relaxed)
        .wrapping_add(unlocked().1)
        .wrapping_add(crate::nursery::shares().1)
}

#[inline]
fn note_peak() {
    note_peak_at(LOCKED.bytes.load(Relaxed));
}

/// `note_peak` with `LOCKED`'s bytes in hand: live bytes now, but for the
/// threads' unflushed shares, against the peak.
#[inline]
fn note_peak_at(locked: usize) {
    let now = locked.wrapping_add(UNLOCKED_BYTES.load(Relaxed));
    if now > PEAK.load(Relaxed) {
        PEAK.fetch_max(now, Relaxed);
    }
}

/// Counts a new object allocated under the heap lock (`_g`).
#[inline]
pub fn on_alloc_locked(_g: &Locked, bytes: usize, tracked: bool, pooled: bool) {
    add_locked(&LOCKED.objects, 1);
    if tracked {
        add_locked(&LOCKED.tracked, 1);
    }
    let locked = add_locked(&LOCKED.bytes, bytes);
    if !pooled {
        add_locked(&LOCKED.unpooled, bytes);
    }
    note_peak_at(locked);
}

/// Adds a nursery's shares (nursery.rs: wrapping sums of its objects'
/// births less deaths, all tracked pool objects) to `LOCKED`.
pub fn fold_nursery(_g: &Locked, objects: usize, bytes: usize) {
    add_locked(&LOCKED.objects, objects);
    add_locked(&LOCKED.tracked, objects);
    add_locked(&LOCKED.bytes, bytes);
    note_peak();
}

/// Counts a new untracked object allocated without the heap lock (its own
/// system allocation), in this thread's share.
#[inline]
pub fn on_alloc_unlocked(bytes: usize) {
    add_unlocked(1, bytes);
}

/// Counts the death of an untracked object freed without the heap lock
/// (refcount.rs `die_untracked_plain`), in this thread's share.
#[inline]
pub fn on_free_unlocked(bytes: usize) {
    add_unlocked(1usize.wrapping_neg(), bytes.wrapping_neg());
}

/// Counts a death (under the heap lock).
#[inline]
pub fn on_free(bytes: usize, tracked: bool, pooled: bool) {
    on_free_many(1, tracked as usize, bytes, if pooled { 0 } else { bytes });
}

/// Counts `objects` deaths at once (under the heap lock): `tracked` of
/// them tracked, `bytes` in all, `unpooled` of those not the pool's.
#[inline]
pub fn on_free_many(objects: usize, tracked: usize, bytes: usize, unpooled: usize) {
    add_locked(&LOCKED.objects, objects.wrapping_neg());
    if tracked != 0 {
        add_locked(&LOCKED.tracked, tracked.wrapping_neg());
    }
    add_locked(&LOCKED.bytes, bytes.wrapping_neg());
    if unpooled != 0 {
        add_locked(&LOCKED.unpooled, unpooled.wrapping_neg());
    }
}

/// Records the pool's mapped bytes (under the heap lock, after it changed).
#[inline]
pub fn set_pool_mapped(bytes: usize) {
    LOCKED.pool_mapped.store(bytes, Relaxed);
}

/// `gc_get_memory`.
pub fn figures() -> GcMemStats {
    let (unlocked_objects, unlocked_bytes) = unlocked();
    let (nursery_objects, nursery_bytes) = crate::nursery::shares();
    let objects = LOCKED
        .objects
        .load(Relaxed)
        .wrapping_add(unlocked_objects)
        .wrapping_add(nursery_objects);
    let bytes_in_use = LOCKED
        .bytes
        .load(Relaxed)
        .wrapping_add(unlocked_bytes)
        .wrapping_add(nursery_bytes);
    let unpooled = LOCKED.unpooled.load(Relaxed).wrapping_add(unlocked_bytes);
    let reserved = unpooled.wrapping_add(LOCKED.pool_mapped.load(Relaxed));
    GcMemStats {
        objects,
        tracked: LOCKED.tracked.load(Relaxed).wrapping_add(nursery_objects),
        bytes_in_use,
        peak_bytes_in_use: PEAK.load(Relaxed).max(bytes_in_use),
        // Another thread's allocation may be counted in one figure and not
        // yet in the other; the contract's inequality still holds.
        bytes_reserved: reserved.max(bytes_in_use),
        limit: limit(),
    }
}

/// The limit in bytes (0: none), reading `RCGC_MEMORY_LIMIT` on first use.
#[inline]
pub fn limit() -> usize {
    match LIMIT.load(Relaxed) {
        UNREAD => limit_from_env(),
        n => n,
    }
}

#[cold]
fn limit_from_env() -> usize {
    let v = std::env::var_os("RCGC_MEMORY_LIMIT");
    let n = match v.as_ref().map(|v| v.to_str().and_then(parse_size)) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => {
            eprintln!(
                "rcgc: RCGC_MEMORY_LIMIT={}: not a size (bytes, or a number with K, M or G); no limit set",
                v.as_ref().map_or("".into(), |v| v.to_string_lossy())
            );
            0
        }
    };
    // A limit set by gc_set_memory_limit meanwhile wins.
    let now = match LIMIT.compare_exchange(UNREAD, n, SeqCst, SeqCst) {
        Ok(_) => n,
        Err(set) => set,
    };
    follow_limit();
    now
}

/// `<digits>[K|M|G]` (powers of 1024; lower case accepted) to bytes.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_mul(1 << shift)
}

/// `gc_set_memory_limit`.
pub fn set_limit(bytes: usize) {
    // usize::MAX bytes is no limit at all; it must not read as UNREAD.
    LIMIT.store(if bytes == UNREAD { 0 } else { bytes }, SeqCst);
    follow_limit();
}

/// After a change of `LIMIT` (SeqCst, as `gate::follow` needs): the
/// creation gate's bit says whether a limit may be set (or the environment
/// is unread).
fn follow_limit() {
    crate::gate::follow(crate::gate::LIMIT, || LIMIT.load(SeqCst), |n| n != 0);
}

/// Whether `bytes` more fit under the limit (true when there is none).
#[inline]
pub fn fits(bytes: usize) -> bool {
    LIMIT.load(Relaxed) == 0 || fits_limit(bytes)
}

#[cold]
fn fits_limit(bytes: usize) -> bool {
    let limit = limit();
    limit == 0 || in_use().saturating_add(bytes) <= limit
}

/// Whether a full collection left enough of the pool empty to give back:
/// at least 1 MiB and a quarter of the pool's pages.
pub fn worth_trimming(empty: usize) -> bool {
    empty >= (1 << 20) && empty >= LOCKED.pool_mapped.load(Relaxed) / 4
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("3m"), Some(3 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        for bad in ["", "K", "-1", "1.5M", "12Q", "1 M", "99999999999999999999"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}
