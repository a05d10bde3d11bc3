//! How many untracked objects are alive, and their bytes, for the
//! "(untracked)" group of `gc_visit_type_stats` and the leak report.
//!
//! Untracked objects are in no list (they cannot be part of a cycle), so
//! nothing else counts them. Allocation of an untracked object takes no lock,
//! so each thread keeps its own delta and adds it to the global totals every
//! `BATCH` changes (and when the thread exits): no shared cache line on the
//! hot path, as with count0.
//!
//! Invariants:
//! - `OBJECTS`/`BYTES` plus the unflushed deltas of every live thread equal
//!   the untracked objects alive and their allocation sizes.
//! - A thread's delta is flushed after at most `BATCH` changes, so a reader
//!   sees another thread's allocations at most `BATCH` late; `totals` flushes
//!   the calling thread first, so a single-threaded program reads exact
//!   figures.
//! - All atomics here are Relaxed: they are statistics, not guards of any
//!   other memory.

use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

const BATCH: isize = 256;

static OBJECTS: AtomicIsize = AtomicIsize::new(0);
static BYTES: AtomicIsize = AtomicIsize::new(0);

struct Local {
    objects: Cell<isize>,
    bytes: Cell<isize>,
    changes: Cell<isize>,
}

impl Local {
    fn flush(&self) {
        OBJECTS.fetch_add(self.objects.replace(0), Relaxed);
        BYTES.fetch_add(self.bytes.replace(0), Relaxed);
        self.changes.set(0);
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.flush();
    }
}

thread_local! {
    static LOCAL: Local = const {
        Local { objects: Cell::new(0), bytes: Cell::new(0), changes: Cell::new(0) }
    };
}

#[inline]
fn add(objects: isize, bytes: isize) {
    let counted = LOCAL.try_with(|l| {
        l.objects.set(l.objects.get() + objects);
        l.bytes.set(l.bytes.get() + bytes);
        let n = l.changes.get() + 1;
        l.changes.set(n);
        if n >= BATCH {
            l.flush();
        }
    });
    if counted.is_err() {
        // This thread's locals are gone (it is exiting): count globally.
        OBJECTS.fetch_add(objects, Relaxed);
        BYTES.fetch_add(bytes, Relaxed);
    }
}

/// An untracked object of `size` bytes was created.
#[inline]
pub fn untracked_born(size: usize) {
    add(1, size as isize);
}

/// An untracked object of `size` bytes was freed.
#[inline]
pub fn untracked_died(size: usize) {
    add(-1, -(size as isize));
}

/// (objects, bytes) of the untracked objects alive, as far as this thread
/// can tell (other threads' last changes may be up to `BATCH` late).
pub fn untracked_totals() -> (usize, usize) {
    let _ = LOCAL.try_with(Local::flush);
    (
        OBJECTS.load(Relaxed).max(0) as usize,
        BYTES.load(Relaxed).max(0) as usize,
    )
}
