//! Where object memory comes from.
//!
//! - Tracked objects of up to `POOL_MAX` bytes come from `Pool`: one free
//!   list per 16-byte size class, refilled by carving 64 KiB pages. The pool
//!   lives in the heap state and is only used under the heap lock, which
//!   allocation and death of tracked objects hold anyway, so taking a block
//!   is a few instructions and no atomics. Pages are kept for reuse (never
//!   returned to the system) and chained so they stay reachable.
//! - Everything else (untracked objects, large objects, pages) comes from the
//!   system allocator through `sys_alloc`/`sys_free`.
//! - With the cargo feature `system-alloc` every object goes straight to
//!   malloc/free, so sanitizers and valgrind see each one.
//! - `fail_after(n)` (tests only) makes the n-th allocation from now fail,
//!   to prove every caller handles allocation failure.
//!
//! Invariants: every block in a free list is `16 * (class + 1)` bytes,
//! 16-aligned, and not in use, and holds the link to the next free block in
//! its second word (its first word keeps the dead object's count of 0); a block is returned to the class it came
//! from (callers pass the same size to `free` as to `alloc`).

use std::alloc::{Layout, alloc, dealloc};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub(crate) const ALIGN: usize = 16;
/// Largest object served by the pool.
pub(crate) const POOL_MAX: usize = 512;
const CLASSES: usize = POOL_MAX / ALIGN;
const PAGE: usize = 64 * 1024;

/// 0: no failure scheduled; n > 0: the n-th allocation from now fails.
static FAIL_COUNTDOWN: AtomicUsize = AtomicUsize::new(0);

/// Test hook: makes the `n`-th allocation made by the library from now on
/// fail (1 = the next one); 0 cancels. Not part of the C API.
#[doc(hidden)]
pub fn fail_after(n: usize) {
    FAIL_COUNTDOWN.store(n, Relaxed);
}

/// Whether the allocation about to be made must fail (test hook).
#[inline]
pub(crate) fn injected_failure() -> bool {
    if FAIL_COUNTDOWN.load(Relaxed) == 0 {
        return false;
    }
    FAIL_COUNTDOWN.fetch_sub(1, Relaxed) == 1
}

/// Runs a fallible reservation (`Vec`/`HashMap::try_reserve`), so injected
/// failures reach the library's collections too. True on success.
#[inline]
pub(crate) fn reserve<E>(try_reserve: impl FnOnce() -> Result<(), E>) -> bool {
    !injected_failure() && try_reserve().is_ok()
}

/// `size` bytes, 16-aligned, from the system allocator; NULL on failure.
pub(crate) fn sys_alloc(size: usize) -> *mut u8 {
    if injected_failure() {
        return ptr::null_mut();
    }
    match Layout::from_size_align(size, ALIGN) {
        // SAFETY: size > 0 (callers allocate at least an object header).
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => ptr::null_mut(),
    }
}

/// Releases memory from `sys_alloc(size)`.
///
/// # Safety
/// `p` came from `sys_alloc(size)` and is not used again.
pub(crate) unsafe fn sys_free(p: *mut u8, size: usize) {
    // SAFETY: same layout as the allocation (caller's contract).
    unsafe { dealloc(p, Layout::from_size_align_unchecked(size, ALIGN)) }
}

#[derive(Clone, Copy)]
struct Class {
    free: *mut u8,
    bump: *mut u8,
    end: *mut u8,
}

pub struct Pool {
    classes: [Class; CLASSES],
    /// Chain of pages (first word of each page), so they stay reachable.
    pages: *mut u8,
}

impl Pool {
    pub const fn new() -> Pool {
        Pool {
            classes: [Class {
                free: ptr::null_mut(),
                bump: ptr::null_mut(),
                end: ptr::null_mut(),
            }; CLASSES],
            pages: ptr::null_mut(),
        }
    }

    /// Whether objects of `size` bytes come from the pool.
    #[inline]
    pub fn serves(size: usize) -> bool {
        !cfg!(feature = "system-alloc") && size <= POOL_MAX
    }

    /// A block of `size` bytes (`serves(size)`), or NULL when the system is
    /// out of memory.
    #[inline]
    pub fn alloc(&mut self, size: usize) -> *mut u8 {
        if injected_failure() {
            return ptr::null_mut();
        }
        let class = (size - 1) / ALIGN;
        let c = &mut self.classes[class];
        if !c.free.is_null() {
            let b = c.free;
            // SAFETY: a free block holds the next free block in its second
            // word (see `free`).
            c.free = unsafe { *(b as *mut *mut u8).add(1) };
            return b;
        }
        let bytes = (class + 1) * ALIGN;
        if (c.end as usize) - (c.bump as usize) < bytes {
            let page = sys_alloc(PAGE);
            if page.is_null() {
                return page;
            }
            // SAFETY: the page is PAGE bytes; its first 16 bytes chain it.
            unsafe {
                *(page as *mut *mut u8) = self.pages;
                self.pages = page;
                let c = &mut self.classes[class];
                c.bump = page.add(ALIGN);
                c.end = page.add(PAGE);
            }
        }
        let c = &mut self.classes[class];
        let b = c.bump;
        // SAFETY: bump + bytes <= end, inside the current page.
        c.bump = unsafe { b.add(bytes) };
        b
    }

    /// Returns a block from `alloc(size)`.
    ///
    /// # Safety
    /// `b` came from `self.alloc(size)` and is not used again.
    #[inline]
    pub unsafe fn free(&mut self, b: *mut u8, size: usize) {
        let c = &mut self.classes[(size - 1) / ALIGN];
        // The link goes in the second word: the first is the dead object's
        // `rc` word (count 0), left as it is so that a stale release of
        // the freed object finds a count of 0 and is refused instead of
        // decrementing the free list's link.
        // SAFETY: the block is at least 16 bytes and ours again.
        unsafe { *(b as *mut *mut u8).add(1) = c.free };
        c.free = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_distinct_and_reused() {
        let mut pool = Pool::new();
        let a = pool.alloc(48);
        let b = pool.alloc(48);
        let big = pool.alloc(POOL_MAX);
        assert!(!a.is_null() && !b.is_null() && !big.is_null());
        assert_ne!(a, b);
        assert_eq!(a as usize % ALIGN, 0);
        assert_eq!(b as usize - a as usize, 48);
        // SAFETY: blocks from this pool, freed once.
        unsafe { pool.free(a, 48) };
        assert_eq!(pool.alloc(40), a, "same class reuses the block");
        // Fill beyond one page.
        for _ in 0..2 * PAGE / 64 {
            assert!(!pool.alloc(64).is_null());
        }
    }
}
