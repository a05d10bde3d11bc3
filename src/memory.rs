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
//! - `UNLOCKED`: untracked allocations, and deaths of plain untracked
//!   objects, made without the heap lock, with `fetch_add`/`fetch_sub`.
//! - `PEAK`: the most `bytes_in_use` has been, checked after every
//!   allocation (a locked `fetch_max` only when a new peak is reached).
//!
//! Invariants: bytes_in_use = LOCKED.bytes + UNLOCKED.bytes (wrapping), and
//! the same for objects; every figure is exact whenever no other thread is
//! allocating or freeing; `bytes_reserved >= bytes_in_use`.

use crate::heap::Locked;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

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
/// Untracked allocations (made without the heap lock): objects and bytes.
static UNLOCKED_OBJECTS: AtomicUsize = AtomicUsize::new(0);
static UNLOCKED_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The limit; `UNREAD` until `RCGC_MEMORY_LIMIT` has been looked at.
static LIMIT: AtomicUsize = AtomicUsize::new(UNREAD);
const UNREAD: usize = usize::MAX;

/// Adds `n` (wrapping) to a counter only the heap lock holder writes.
#[inline]
fn add_locked(c: &AtomicUsize, n: usize) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// The bytes an object of `size` bytes takes as allocated.
#[inline]
pub fn charge(size: usize) -> usize {
    crate::alloc::Pool::block_size(size)
}

/// Live bytes now.
#[inline]
fn in_use() -> usize {
    LOCKED
        .bytes
        .load(Relaxed)
        .wrapping_add(UNLOCKED_BYTES.load(Relaxed))
}

#[inline]
fn note_peak() {
    let now = in_use();
    if now > PEAK.load(Relaxed) {
        PEAK.fetch_max(now, Relaxed);
    }
}

/// Counts a new object allocated under the heap lock (`_g`).
#[inline]
pub fn on_alloc_locked(_g: &Locked, bytes: usize, tracked: bool, pooled: bool) {
    add_locked(&LOCKED.objects, 1);
    add_locked(&LOCKED.tracked, tracked as usize);
    add_locked(&LOCKED.bytes, bytes);
    if !pooled {
        add_locked(&LOCKED.unpooled, bytes);
    }
    note_peak();
}

/// Counts a new untracked object allocated without the heap lock (its own
/// system allocation).
#[inline]
pub fn on_alloc_unlocked(bytes: usize) {
    UNLOCKED_OBJECTS.fetch_add(1, Relaxed);
    UNLOCKED_BYTES.fetch_add(bytes, Relaxed);
    note_peak();
}

/// Counts the death of an untracked object freed without the heap lock
/// (refcount.rs `die_untracked_plain`).
#[inline]
pub fn on_free_unlocked(bytes: usize) {
    UNLOCKED_OBJECTS.fetch_sub(1, Relaxed);
    UNLOCKED_BYTES.fetch_sub(bytes, Relaxed);
}

/// Counts a death (under the heap lock).
#[inline]
pub fn on_free(bytes: usize, tracked: bool, pooled: bool) {
    add_locked(&LOCKED.objects, 1usize.wrapping_neg());
    add_locked(&LOCKED.tracked, (tracked as usize).wrapping_neg());
    add_locked(&LOCKED.bytes, bytes.wrapping_neg());
    if !pooled {
        add_locked(&LOCKED.unpooled, bytes.wrapping_neg());
    }
}

/// Records the pool's mapped bytes (under the heap lock, after it changed).
#[inline]
pub fn set_pool_mapped(bytes: usize) {
    LOCKED.pool_mapped.store(bytes, Relaxed);
}

/// `gc_get_memory`.
pub fn figures() -> GcMemStats {
    let objects = LOCKED
        .objects
        .load(Relaxed)
        .wrapping_add(UNLOCKED_OBJECTS.load(Relaxed));
    let bytes_in_use = in_use();
    let unpooled = LOCKED
        .unpooled
        .load(Relaxed)
        .wrapping_add(UNLOCKED_BYTES.load(Relaxed));
    let reserved = unpooled.wrapping_add(LOCKED.pool_mapped.load(Relaxed));
    GcMemStats {
        objects,
        tracked: LOCKED.tracked.load(Relaxed),
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
    match LIMIT.compare_exchange(UNREAD, n, Relaxed, Relaxed) {
        Ok(_) => n,
        Err(set) => set,
    }
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
    LIMIT.store(if bytes == UNREAD { 0 } else { bytes }, Relaxed);
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
