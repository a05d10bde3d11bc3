//! Where object memory comes from.
//!
//! - Tracked objects of up to `POOL_MAX` bytes come from `Pool`: 64 KiB
//!   pages of one 16-byte size class each, with a free list per page. The
//!   pool lives in the heap state and is only used under the heap lock,
//!   which allocation and death of tracked objects hold anyway, so taking a
//!   block is a few instructions and no atomics. Pages with no live block
//!   are returned to the system by `Pool::trim` (gc_trim, and explicit full
//!   collections that leave much of the pool empty) and `Pool::trim_aged`
//!   (automatic full collections: only the pages that stayed empty through
//!   the last `TRIM_AGE` of them).
//! - Everything else (untracked objects, large objects, pages) comes from the
//!   system allocator through `sys_alloc`/`sys_free`.
//! - With the cargo feature `system-alloc` every object goes straight to
//!   malloc/free, so sanitizers and valgrind see each one.
//! - `fail_after(n)` (tests only) makes the n-th allocation from now fail,
//!   to prove every caller handles allocation failure.
//!
//! Invariants: a block is returned to the pool it came from with the size
//! it was allocated for (see `Pool` for the page invariants).

use std::alloc::{Layout, alloc, dealloc};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};

pub(crate) const ALIGN: usize = 16;
/// Largest object served by the pool.
pub(crate) const POOL_MAX: usize = 512;
pub(crate) const CLASSES: usize = POOL_MAX / ALIGN;
const PAGE: usize = 64 * 1024;
/// How many automatic full collections a page must stay empty through
/// before one returns it (`Pool::trim_aged`). Cyclic binary-trees at depth
/// 18: 111,851 page faults with 1, 49,083 with 2, 31,048 with 4, 28,998
/// with 8 (system time 0.31 s with 1, 0.08-0.13 s with 4).
const TRIM_AGE: u64 = 4;

/// 0: no failure scheduled; n > 0: the n-th allocation from now fails.
static FAIL_COUNTDOWN: AtomicUsize = AtomicUsize::new(0);

/// Test hook: makes the `n`-th allocation made by the library from now on
/// fail (1 = the next one); 0 cancels. Not part of the C API.
#[doc(hidden)]
pub fn fail_after(n: usize) {
    FAIL_COUNTDOWN.store(n, SeqCst);
    // (The bit stays set once the countdown has run out: harmless.)
    crate::gate::follow(
        crate::gate::FAILURE,
        || FAIL_COUNTDOWN.load(SeqCst),
        |n| n != 0,
    );
}

/// Whether a failure is to be injected at some later allocation (one load).
#[inline(always)]
fn failure_injection_armed() -> bool {
    FAIL_COUNTDOWN.load(Relaxed) != 0
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

/// Header of a pool page; the page's blocks follow it.
#[repr(C)]
struct Page {
    /// This page's free blocks, linked through their second word.
    free: *mut u8,
    /// Never-used blocks start here (bump allocation up to `end`).
    bump: *mut u8,
    end: *mut u8,
    /// Blocks handed out and not returned.
    live: usize,
    /// The list of pages with room this page joins when it has room: an
    /// index into `Pool::classes` (`list_index`), which names the size
    /// class of every block and the page's lane (`LANES`), in one word
    /// that a free reads.
    list: usize,
    /// Links in the class's list of pages with room, or in `Pool::empty`.
    next: *mut Page,
    prev: *mut Page,
    /// Whether the page is in its class's list of pages with room.
    has_room: bool,
    /// The objects on this page that lost `OLD` and stayed where they are
    /// (refcount.rs `make_dirty`): one bit per 16 bytes of the page, set at
    /// the header's address; NULL when there are none. A pool block of
    /// `MARKS_BYTES`.
    marks: *mut u64,
    /// How many bits `marks` has set.
    marked: usize,
    /// Links in `Pool::marked` (the pages whose `marks` is not NULL).
    marked_next: *mut Page,
    marked_prev: *mut Page,
    /// When the page was given its class: pages taken later have higher
    /// numbers.
    seq: u64,
    /// `Pool::trims` when the page last lost its last live block.
    emptied_at: u64,
}

/// Sets of per-class lists of pages with room. Lane 0 serves the thread
/// that holds the heap lock's bias (in a program with one thread, every
/// allocation) and the collector; other threads take lanes 1.. in turn
/// (`lane`). Two threads allocating at once, each under the heap lock in
/// its turn, then take blocks from different pages: their new objects do
/// not share cache lines, and one thread's allocations and frees do not
/// write the lines of objects another thread is using (false sharing: a
/// thread making and dropping objects next to one reading a field of its
/// own object was 2.6-3.3x slower than alone, TMX in `bench/`).
pub(crate) const LANES: usize = 8;

thread_local! {
    /// This thread's lane when the lock's bias is not its own; 0 until its
    /// first such allocation.
    static LANE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
/// Lanes handed out so far (the next is 1 + this, modulo `LANES - 1`).
static LANES_GIVEN: AtomicUsize = AtomicUsize::new(0);

/// The lane the calling thread allocates from (see `LANES`).
#[inline]
pub(crate) fn lane() -> usize {
    if crate::bias::lock_is_mine() {
        return 0;
    }
    LANE.with(|l| {
        if l.get() == 0 {
            l.set(1 + LANES_GIVEN.fetch_add(1, Relaxed) % (LANES - 1));
        }
        l.get()
    })
}

/// Bytes of a page's `marks`: a bit per 16 bytes.
const MARKS_BYTES: usize = PAGE / ALIGN / 8;
const _: () = assert!(MARKS_BYTES <= POOL_MAX);

const PAGE_HEADER: usize = size_of::<Page>().next_multiple_of(ALIGN);
/// Pages are mapped this many at a time (one system call per chunk). Miri
/// models a mapping as one allocation that must be unmapped whole, so there
/// each page is its own.
const CHUNK_PAGES: usize = if cfg!(miri) { 1 } else { 16 };

/// Memory for small objects: 64 KiB pages, each carved into blocks of one
/// size class, taken from the system with `mmap` and returned with `munmap`
/// by `trim`.
///
/// - Each class keeps a doubly linked list of its pages that have room
///   (`Page::has_room`), in each of `LANES` sets (a page is in its own
///   lane's); allocation takes from the first one of the caller's lane,
///   from its free list first, then by bumping into its unused tail. A page
///   that fills up leaves the list; a block freed into a full page (by any
///   thread) puts it back at the front of its lane's list, so freed memory
///   is reused first.
/// - A page whose last block is freed moves to `empty` (unless it is the
///   first of its lane's pages of its class with room, which keeps a steady
///   allocate/free loop from moving it back and forth); any class can take
///   an empty page.
/// - `trim` unmaps every page with no live block, so a page returned to the
///   system and taken again is a fresh zeroed mapping.
/// - A page can mark some of its objects (`mark`, for the collector: old
///   objects that lost a reference, gc/mod.rs); `take_marked` hands them
///   over page by page, in the order the pages were given their class, and
///   in address order within a page. The marks are a bitmap in a pool block
///   of their own, taken when a page gets its first mark and given back
///   when it loses its last.
///
/// Invariants: a page is 64 KiB-aligned, so a block's page is its address
/// rounded down; every block on a page's free list belongs to that page, is
/// `class_size(class)` bytes and is not in use; `live` counts the others
/// handed out; `mapped` counts the bytes of every page not unmapped; a
/// page's marks name live objects only (they are unmarked before they
/// die), so a page with marks is never emptied, and it is on the `marked`
/// list exactly while it has them. Used only under the heap lock.
pub struct Pool {
    /// The first page with room of each class in each lane, at
    /// `list_index(class, lane)`.
    classes: [*mut Page; CLASSES * LANES],
    /// Pages with no live block, linked through `next`.
    empty: *mut Page,
    /// Mapped pages never used yet (the rest of the last chunk).
    fresh: *mut u8,
    fresh_left: usize,
    /// Bytes of pages mapped and not returned.
    pub mapped: usize,
    /// Pages with marked objects (`Page::marks`), linked through
    /// `marked_next`/`marked_prev`.
    marked: *mut Page,
    /// How many objects are marked: the sum of those pages' `marked`.
    marked_objects: usize,
    /// The next page's `seq`.
    next_seq: u64,
    /// How many `trim_aged` calls there were (the clock of `emptied_at`).
    trims: u64,
}

/// Where `Pool::classes` keeps the pages with room of class `class` in
/// lane `lane`.
#[inline(always)]
fn list_index(class: usize, lane: usize) -> usize {
    lane * CLASSES + class
}

/// The size class of a block of `size` bytes (`Pool::serves(size)`).
#[inline(always)]
pub(crate) fn class_of(size: usize) -> usize {
    (size - 1) / ALIGN
}

/// The size class of block `b`, a block of the pool (live or not).
///
/// # Safety
/// `b` lies in a mapped page of the pool.
#[inline]
pub(crate) unsafe fn class_of_block(b: *mut u8) -> usize {
    // SAFETY: caller's contract: the page header is initialised.
    unsafe { (*page_of(b)).list % CLASSES }
}

/// Bytes of the blocks of class `c`.
#[inline]
pub(crate) fn class_size(c: usize) -> usize {
    (c + 1) * ALIGN
}

/// Where `h`'s bit is in its page's marks: the word and the bit in it.
#[inline]
fn mark_position(h: *mut u8) -> (usize, u64) {
    let i = (h as usize & (PAGE - 1)) / ALIGN;
    (i / 64, 1 << (i % 64))
}

/// The first block on `p`'s free list, taken off it (counted live), or
/// NULL when the list is empty.
///
/// # Safety
/// `p` is a mapped, initialised page of the pool (used under the heap
/// lock).
#[inline(always)]
unsafe fn pop_free(p: *mut Page) -> *mut u8 {
    // SAFETY: caller's contract; free blocks lie inside the page and keep
    // their link in the second word.
    unsafe {
        let b = (*p).free;
        if !b.is_null() {
            let next = *(b.add(8) as *mut *mut u8);
            (*p).free = next;
            (*p).live += 1;
            // The next allocation reads that block's link and writes its
            // header: start fetching it now (a freed block is seldom still
            // in cache).
            prefetch_write(next);
        }
        b
    }
}

/// A block of `p` (counted live): the first on its free list, else one
/// from its untouched end; NULL when it has neither.
///
/// # Safety
/// As `pop_free`; `bytes` is the size of `p`'s blocks.
#[inline(always)]
unsafe fn take_from(p: *mut Page, bytes: usize) -> *mut u8 {
    // SAFETY: caller's contract; the blocks a page hands out lie inside it.
    unsafe {
        let b = pop_free(p);
        if !b.is_null() {
            return b;
        }
        if (*p).end as usize - (*p).bump as usize >= bytes {
            let b = (*p).bump;
            (*p).bump = b.add(bytes);
            (*p).live += 1;
            return b;
        }
        ptr::null_mut()
    }
}

/// The page holding block `b`.
#[inline]
fn page_of(b: *mut u8) -> *mut Page {
    (b as usize & !(PAGE - 1)) as *mut Page
}

impl Pool {
    pub const fn new() -> Pool {
        Pool {
            classes: [ptr::null_mut(); CLASSES * LANES],
            empty: ptr::null_mut(),
            fresh: ptr::null_mut(),
            fresh_left: 0,
            mapped: 0,
            marked: ptr::null_mut(),
            marked_objects: 0,
            next_seq: 0,
            trims: 0,
        }
    }

    /// Whether objects of `size` bytes come from the pool.
    #[inline]
    pub fn serves(size: usize) -> bool {
        Self::ENABLED && size <= POOL_MAX
    }

    /// Whether the pool serves anything (not with the cargo feature
    /// `system-alloc`, for sanitizers and valgrind).
    pub const ENABLED: bool = !cfg!(feature = "system-alloc");

    /// The bytes a block for an object of `size` bytes takes.
    #[inline]
    pub fn block_size(size: usize) -> usize {
        (size + ALIGN - 1) & !(ALIGN - 1)
    }

    /// A block of `size` bytes (`serves(size)`) from lane 0, or NULL when
    /// the system is out of memory.
    #[inline(always)]
    pub fn alloc(&mut self, size: usize) -> *mut u8 {
        self.alloc_in(size, 0)
    }

    /// `alloc` from lane `lane` (< `LANES`).
    #[inline(always)]
    pub fn alloc_in(&mut self, size: usize, lane: usize) -> *mut u8 {
        if !failure_injection_armed() {
            let b = self.alloc_here(size, lane);
            if !b.is_null() {
                return b;
            }
        }
        self.alloc_slow((size - 1) / ALIGN, lane)
    }

    /// `alloc_in` from the first page of the class in the lane alone, its
    /// free list or its untouched end (no call): NULL when it has neither,
    /// for the caller to go the general way. It injects no failure: the
    /// caller knows none is armed (`alloc_in`, or the creation gate open,
    /// gate.rs).
    #[inline(always)]
    pub fn alloc_here(&mut self, size: usize, lane: usize) -> *mut u8 {
        let p = self.classes[list_index((size - 1) / ALIGN, lane)];
        if p.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: pages in a class list are mapped, initialised pages of
        // that class.
        unsafe { take_from(p, Self::block_size(size)) }
    }

    /// `alloc_in` when the first page of the class in the lane is full
    /// (`alloc_here` found nothing): the next page with room, or a new one.
    #[inline(never)]
    fn alloc_slow(&mut self, class: usize, lane: usize) -> *mut u8 {
        if injected_failure() {
            return ptr::null_mut();
        }
        loop {
            let p = self.classes[list_index(class, lane)];
            if p.is_null() {
                if self.add_page(class, lane) {
                    continue;
                }
                return ptr::null_mut();
            }
            // SAFETY: as in alloc.
            unsafe {
                let b = take_from(p, class_size(class));
                if !b.is_null() {
                    return b;
                }
                // Full: it leaves the list until a block comes back.
                self.unlink_room(p);
            }
        }
    }

    /// Returns a block from `alloc(size)`.
    ///
    /// # Safety
    /// `b` came from `self.alloc(size)` and is not used again.
    #[inline(always)]
    pub unsafe fn free(&mut self, b: *mut u8, size: usize) {
        let p = page_of(b);
        // SAFETY: b came from this pool, so its page is a live page of the
        // block's class; the block is at least 16 bytes and ours again. The
        // link goes in the second word, so the first (an object's count, or
        // a prefix) still reads as it did.
        unsafe {
            debug_assert_eq!((*p).list % CLASSES, (size - 1) / ALIGN);
            self.free_here(b);
            if (*p).live == 0 {
                if self.classes[(*p).list] != p {
                    self.page_emptied(p);
                }
            } else if !(*p).has_room {
                self.link_room(p);
            }
        }
    }

    /// Whether `free` of block `b` would be a plain push on its page's free
    /// list, with no call (`free_here`): the page stays where it is (it
    /// keeps a live block and already has room, or it is the first of its
    /// lane's pages of its class).
    ///
    /// # Safety
    /// `b` is a live block of this pool.
    #[inline(always)]
    pub unsafe fn frees_here(&self, b: *mut u8) -> bool {
        let p = page_of(b);
        // SAFETY: b's page is a live page of the pool.
        unsafe {
            if (*p).live == 1 {
                self.classes[(*p).list] == p
            } else {
                (*p).has_room
            }
        }
    }

    /// The size of `b`'s block (its size class's).
    ///
    /// # Safety
    /// `b` is a block of this pool.
    #[inline(always)]
    pub unsafe fn block_size_of(b: *mut u8) -> usize {
        // SAFETY: b's page is a live page of the pool.
        (unsafe { (*page_of(b)).list } % CLASSES + 1) * ALIGN
    }

    /// `free`'s push of `b` on its page's free list; moving the page, where
    /// `frees_here(b)` said it must move, is the caller's.
    ///
    /// # Safety
    /// As `free`.
    #[inline(always)]
    pub unsafe fn free_here(&mut self, b: *mut u8) {
        let p = page_of(b);
        // SAFETY: as in `free`; the page needs no move (caller's contract).
        unsafe {
            *(b.add(8) as *mut *mut u8) = (*p).free;
            (*p).free = b;
            (*p).live -= 1;
            if (*p).live == 0 {
                (*p).emptied_at = self.trims;
            }
        }
    }

    /// `p`'s last live block was just freed and it is not the first of its
    /// lane's pages of its class with room (which stays, so a steady
    /// allocate/free loop does not move it back and forth): it goes to
    /// `empty`.
    ///
    /// # Safety
    /// `p` is a mapped page of this pool.
    #[cold]
    unsafe fn page_emptied(&mut self, p: *mut Page) {
        // SAFETY: caller's contract.
        unsafe {
            if (*p).has_room {
                self.unlink_room(p);
            }
            (*p).next = self.empty;
            self.empty = p;
        }
    }

    /// Bytes held by pages with no live block (what `trim` would return).
    pub fn empty_bytes(&self) -> usize {
        let mut n = 0;
        self.for_each_empty(|_| n += PAGE);
        n + self.fresh_left * PAGE
    }

    /// Unmaps every page with no live block; returns the bytes returned.
    pub fn trim(&mut self) -> usize {
        // SAFETY: fresh pages were never handed out.
        unsafe { self.unmap_empty(|_| true, true) }
    }

    /// Unmaps the pages that have had no live block since `TRIM_AGE`
    /// calls of `trim_aged` ago (not those emptied since, which a
    /// program that builds and drops big structures in turn will soon fill
    /// again; nor fresh pages, which take no memory until touched), if they
    /// are at least 1 MiB and a quarter of the pool
    /// (`memory::worth_trimming`). Returns the bytes returned.
    pub fn trim_aged(&mut self) -> usize {
        let now = self.trims;
        self.trims += 1;
        // SAFETY: the lists hold mapped pages.
        let aged = |p: *mut Page| unsafe { (*p).emptied_at + TRIM_AGE <= now };
        let mut bytes = 0;
        self.for_each_empty(|p| {
            if aged(p) {
                bytes += PAGE;
            }
        });
        if !crate::memory::worth_trimming(bytes) {
            return 0;
        }
        // SAFETY: as in trim.
        unsafe { self.unmap_empty(aged, false) }
    }

    /// Unmaps the pages with no live block for which `which` holds, and the
    /// fresh pages if `fresh`; returns the bytes returned.
    ///
    /// # Safety
    /// Used only under the heap lock (as every method).
    unsafe fn unmap_empty(&mut self, which: impl Fn(*mut Page) -> bool, fresh: bool) -> usize {
        let mut pages = Vec::new();
        // (Pages the list cannot take, if memory runs out, stay mapped.)
        self.for_each_empty(|p| {
            if which(p) && (pages.len() < pages.capacity() || reserve(|| pages.try_reserve(64))) {
                pages.push(p)
            }
        });
        pages.sort_unstable();
        let which = |p: *mut Page| pages.binary_search(&p).is_ok();
        // SAFETY: each page is mapped, holds no live block and is unlinked
        // before it is unmapped; fresh pages were never handed out.
        unsafe {
            for &p in &pages {
                if (*p).has_room {
                    self.unlink_room(p);
                }
            }
            // The empty pages kept.
            let mut kept: *mut Page = ptr::null_mut();
            let mut p = self.empty;
            while !p.is_null() {
                let next = (*p).next;
                if !which(p) {
                    (*p).next = kept;
                    kept = p;
                }
                p = next;
            }
            self.empty = kept;
            // Adjacent pages go back in one call: a call per page cost the
            // kernel a split of the chunk's mapping and a TLB flush each
            // (1,566 calls, a fifth of W3's collection).
            let mut returned = 0;
            let mut i = 0;
            while i < pages.len() {
                let mut run = 1;
                while !cfg!(miri)
                    && i + run < pages.len()
                    && pages[i + run] as usize == pages[i] as usize + run * PAGE
                {
                    run += 1;
                }
                unmap(pages[i] as *mut u8, run * PAGE);
                returned += run * PAGE;
                i += run;
            }
            if fresh && self.fresh_left > 0 {
                let n = std::mem::take(&mut self.fresh_left);
                if cfg!(miri) {
                    for k in 0..n {
                        unmap(self.fresh.add(k * PAGE), PAGE);
                    }
                } else {
                    unmap(self.fresh, n * PAGE);
                }
                returned += n * PAGE;
            }
            self.mapped -= returned;
            crate::memory::set_pool_mapped(self.mapped);
            returned
        }
    }

    fn for_each_empty(&self, mut f: impl FnMut(*mut Page)) {
        // SAFETY: the lists hold mapped pages, linked under the heap lock.
        unsafe {
            let mut p = self.empty;
            while !p.is_null() {
                f(p);
                p = (*p).next;
            }
            for &head in &self.classes {
                let mut p = head;
                while !p.is_null() {
                    if (*p).live == 0 {
                        f(p);
                    }
                    p = (*p).next;
                }
            }
        }
    }

    /// Gives class `class` in lane `lane` a page with room: an empty one, a
    /// fresh one, or a new chunk's. False when the system is out of memory.
    #[cold]
    fn add_page(&mut self, class: usize, lane: usize) -> bool {
        let p = if !self.empty.is_null() {
            let p = self.empty;
            // SAFETY: pages on the empty list are mapped.
            self.empty = unsafe { (*p).next };
            p
        } else {
            if self.fresh_left == 0 {
                let chunk = map_aligned(CHUNK_PAGES * PAGE, PAGE);
                if chunk.is_null() {
                    return false;
                }
                self.fresh = chunk;
                self.fresh_left = CHUNK_PAGES;
                self.mapped += CHUNK_PAGES * PAGE;
                crate::memory::set_pool_mapped(self.mapped);
            }
            self.fresh_left -= 1;
            // SAFETY: within the chunk.
            unsafe { self.fresh.add(self.fresh_left * PAGE) as *mut Page }
        };
        let bytes = class_size(class);
        // SAFETY: p is a mapped page no block of which is in use.
        unsafe {
            let first = (p as *mut u8).add(PAGE_HEADER);
            let blocks = (PAGE - PAGE_HEADER) / bytes;
            p.write(Page {
                free: ptr::null_mut(),
                bump: first,
                end: first.add(blocks * bytes),
                live: 0,
                list: list_index(class, lane),
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                has_room: false,
                marks: ptr::null_mut(),
                marked: 0,
                marked_next: ptr::null_mut(),
                marked_prev: ptr::null_mut(),
                seq: self.next_seq,
                emptied_at: 0,
            });
            self.next_seq += 1;
            self.link_room(p);
        }
        true
    }

    /// Marks the object whose header is at `h`, in a block of this pool,
    /// on its page (see `Page::marks`). False, with nothing marked, when the
    /// page has no marks yet and no memory can be had for them.
    ///
    /// # Safety
    /// `h` is the header of a live object in a block of this pool, not
    /// marked.
    pub unsafe fn mark(&mut self, h: *mut u8) -> bool {
        let p = page_of(h);
        // SAFETY: h's page is a live page of this pool; a marks block is
        // MARKS_BYTES long, 8-aligned and ours.
        unsafe {
            if (*p).marks.is_null() {
                let m = self.alloc(MARKS_BYTES) as *mut u64;
                if m.is_null() {
                    return false;
                }
                ptr::write_bytes(m, 0, MARKS_BYTES / 8);
                (*p).marks = m;
                (*p).marked_prev = ptr::null_mut();
                (*p).marked_next = self.marked;
                if !self.marked.is_null() {
                    (*self.marked).marked_prev = p;
                }
                self.marked = p;
            }
            let (word, bit) = mark_position(h);
            debug_assert!(*(*p).marks.add(word) & bit == 0, "marked twice");
            *(*p).marks.add(word) |= bit;
            (*p).marked += 1;
            self.marked_objects += 1;
        }
        true
    }

    /// Unmarks `h` (marked by `mark`), which is about to die.
    ///
    /// # Safety
    /// `h` is marked.
    pub unsafe fn unmark(&mut self, h: *mut u8) {
        let p = page_of(h);
        // SAFETY: a marked object's page is live and has its marks.
        unsafe {
            let (word, bit) = mark_position(h);
            debug_assert!(*(*p).marks.add(word) & bit != 0, "not marked");
            *(*p).marks.add(word) &= !bit;
            (*p).marked -= 1;
            self.marked_objects -= 1;
            if (*p).marked == 0 {
                self.drop_marks(p);
            }
        }
    }

    /// Calls `f` with every marked object, page by page in the order the
    /// pages were given their class (the order of a program's allocations,
    /// mostly; in the order they were marked if there is no memory to sort
    /// them) and in address order within a page, and unmarks them all. `f`
    /// must not mark, unmark or free anything.
    pub fn take_marked(&mut self, mut f: impl FnMut(*mut u8)) {
        let mut pages = Vec::new();
        let mut p = self.marked;
        while !p.is_null() {
            if !reserve(|| pages.try_reserve(1)) {
                break;
            }
            pages.push(p);
            // SAFETY: pages on the marked list are live.
            p = unsafe { (*p).marked_next };
        }
        // SAFETY: pages on the marked list are live.
        pages.sort_unstable_by_key(|&p| unsafe { (*p).seq });
        for p in pages {
            // SAFETY: p is on the marked list.
            unsafe { self.take_page(p, &mut f) };
        }
        // (The pages the sort could not take, if memory ran out.)
        while !self.marked.is_null() {
            // SAFETY: as above.
            unsafe { self.take_page(self.marked, &mut f) };
        }
    }

    /// `take_marked` for one page.
    ///
    /// # Safety
    /// `p` is on the marked list.
    unsafe fn take_page(&mut self, p: *mut Page, f: &mut impl FnMut(*mut u8)) {
        // SAFETY: caller's contract: p is live, with marks.
        unsafe {
            for word in 0..MARKS_BYTES / 8 {
                let mut bits = *(*p).marks.add(word);
                while bits != 0 {
                    let bit = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    f((p as *mut u8).add((word * 64 + bit) * ALIGN));
                }
            }
            self.drop_marks(p);
        }
    }

    /// How many objects are marked.
    pub fn marked_count(&self) -> usize {
        if cfg!(debug_assertions) {
            let mut n = 0;
            let mut p = self.marked;
            while !p.is_null() {
                // SAFETY: pages on the marked list are live.
                unsafe {
                    n += (*p).marked;
                    p = (*p).marked_next;
                }
            }
            assert_eq!(n, self.marked_objects, "the pages' marks do not add up");
        }
        self.marked_objects
    }

    /// Gives `p`'s marks back and takes it off the marked list.
    ///
    /// # Safety
    /// `p` is on the marked list.
    unsafe fn drop_marks(&mut self, p: *mut Page) {
        // SAFETY: caller's contract; the neighbours are live marked pages;
        // the marks block came from self.alloc(MARKS_BYTES).
        unsafe {
            if (*p).marked_prev.is_null() {
                self.marked = (*p).marked_next;
            } else {
                (*(*p).marked_prev).marked_next = (*p).marked_next;
            }
            if !(*p).marked_next.is_null() {
                (*(*p).marked_next).marked_prev = (*p).marked_prev;
            }
            let m = (*p).marks;
            (*p).marks = ptr::null_mut();
            self.marked_objects -= (*p).marked;
            (*p).marked = 0;
            self.free(m as *mut u8, MARKS_BYTES);
        }
    }

    /// Puts `p` at the front of its lane's pages of its class with room.
    ///
    /// # Safety
    /// `p` is a mapped page not in any list.
    unsafe fn link_room(&mut self, p: *mut Page) {
        // SAFETY: caller's contract; the head, if any, is a mapped page.
        unsafe {
            let head = &mut self.classes[(*p).list];
            (*p).prev = ptr::null_mut();
            (*p).next = *head;
            if !head.is_null() {
                (**head).prev = p;
            }
            *head = p;
            (*p).has_room = true;
        }
    }

    /// Takes `p` out of its lane's pages of its class with room.
    ///
    /// # Safety
    /// `p` is in that list.
    unsafe fn unlink_room(&mut self, p: *mut Page) {
        // SAFETY: caller's contract; neighbours are mapped pages.
        unsafe {
            if (*p).prev.is_null() {
                self.classes[(*p).list] = (*p).next;
            } else {
                (*(*p).prev).next = (*p).next;
            }
            if !(*p).next.is_null() {
                (*(*p).next).prev = (*p).prev;
            }
            (*p).next = ptr::null_mut();
            (*p).prev = ptr::null_mut();
            (*p).has_room = false;
        }
    }
}

/// Hints the CPU to fetch the cache line at `p` for writing (nothing where
/// there is no such hint; any address is allowed, NULL included).
#[inline(always)]
fn prefetch_write(p: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}

/// `size` bytes of fresh zeroed memory aligned to `align` (a power of two,
/// at least the system page), or NULL.
fn map_aligned(size: usize, align: usize) -> *mut u8 {
    if injected_failure() {
        return ptr::null_mut();
    }
    #[cfg(miri)]
    // SAFETY: size > 0; Miri checks the layout on `unmap`.
    return unsafe { std::alloc::alloc_zeroed(Layout::from_size_align_unchecked(size, align)) };
    #[cfg(not(miri))]
    // SAFETY: an anonymous private mapping has no preconditions; the parts
    // outside the aligned range are unmapped and never used.
    unsafe {
        let raw = libc::mmap(
            ptr::null_mut(),
            size + align,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if raw == libc::MAP_FAILED {
            return ptr::null_mut();
        }
        let raw = raw as usize;
        let start = raw.next_multiple_of(align);
        if start > raw {
            libc::munmap(raw as *mut libc::c_void, start - raw);
        }
        let tail = raw + size + align - (start + size);
        if tail > 0 {
            libc::munmap((start + size) as *mut libc::c_void, tail);
        }
        start as *mut u8
    }
}

/// Returns `size` bytes at `p` (from `map_aligned`) to the system.
///
/// # Safety
/// Nothing in the range is used again.
unsafe fn unmap(p: *mut u8, size: usize) {
    #[cfg(miri)]
    // SAFETY: caller's contract; under Miri each page is its own allocation
    // of this layout (CHUNK_PAGES = 1).
    unsafe {
        std::alloc::dealloc(p, Layout::from_size_align_unchecked(size, PAGE))
    };
    #[cfg(not(miri))]
    // SAFETY: caller's contract; the range is page-aligned and mapped.
    unsafe {
        libc::munmap(p as *mut libc::c_void, size)
    };
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

    #[test]
    fn lanes_take_blocks_from_pages_of_their_own() {
        let mut pool = Pool::new();
        let a = pool.alloc_in(48, 0);
        let b = pool.alloc_in(48, 1);
        let c = pool.alloc_in(48, 1);
        assert_ne!(page_of(a), page_of(b), "two lanes, two pages");
        assert_eq!(page_of(b), page_of(c), "one lane fills its page");
        // A block freed by anyone goes back to its page, which stays in its
        // lane: lane 1 gets it again, lane 0 does not.
        // SAFETY: blocks from this pool, freed once.
        unsafe { pool.free(c, 48) };
        assert_ne!(pool.alloc_in(48, 0), c);
        assert_eq!(pool.alloc_in(48, 1), c);
        // A full page of lane 1 that gets a block back rejoins lane 1.
        let per_page = (PAGE - PAGE_HEADER) / 48;
        let rest: Vec<*mut u8> = (2..per_page).map(|_| pool.alloc_in(48, 1)).collect();
        assert!(rest.iter().all(|&x| page_of(x) == page_of(b)));
        let next = pool.alloc_in(48, 1);
        assert_ne!(page_of(next), page_of(b), "the first page is full");
        // SAFETY: as above.
        unsafe { pool.free(rest[0], 48) };
        assert_eq!(pool.alloc_in(48, 1), rest[0]);
    }

    #[test]
    fn automatic_trims_return_the_pages_that_stayed_empty() {
        let mut pool = Pool::new();
        let n = (4 << 20) / 64;
        let blocks: Vec<*mut u8> = (0..n).map(|_| pool.alloc(64)).collect();
        let used = pool.mapped - pool.fresh_left * PAGE;
        // SAFETY: live blocks of this pool, freed once.
        unsafe {
            for &b in &blocks {
                pool.free(b, 64);
            }
        }
        for _ in 0..TRIM_AGE {
            assert_eq!(
                pool.trim_aged(),
                0,
                "pages emptied since the last trims stay"
            );
        }
        // One page is taken again before the next trim: it stays too.
        let again = pool.alloc(64);
        assert!(!again.is_null());
        assert_eq!(pool.trim_aged(), used - PAGE);
        assert_eq!(pool.mapped - pool.fresh_left * PAGE, PAGE);
        // SAFETY: as above.
        unsafe { pool.free(again, 64) };
        // gc_trim's trim returns the rest, fresh pages too.
        let mapped = pool.mapped;
        assert_eq!(pool.trim(), mapped);
        assert_eq!(pool.mapped, 0);
    }

    #[test]
    fn trim_returns_runs_of_empty_pages_around_the_pages_still_used() {
        let mut pool = Pool::new();
        let per_page = (PAGE - PAGE_HEADER) / 64;
        let n = per_page * (2 * CHUNK_PAGES + 3);
        let blocks: Vec<*mut u8> = (0..n).map(|_| pool.alloc(64)).collect();
        // One block stays on two pages inside a run of empty ones.
        let kept = [
            blocks[3 * per_page + 5],
            blocks[(CHUNK_PAGES + 1) * per_page],
        ];
        // SAFETY: live blocks of this pool, freed once.
        unsafe {
            for &b in blocks.iter().filter(|b| !kept.contains(b)) {
                pool.free(b, 64);
            }
        }
        let mapped = pool.mapped;
        assert_eq!(pool.trim(), mapped - 2 * PAGE);
        assert_eq!(pool.mapped, 2 * PAGE);
        // The pages kept are intact and still usable: their blocks can be
        // written, and new blocks come from them.
        // SAFETY: the kept blocks are live, 64 bytes each.
        unsafe {
            for &b in &kept {
                ptr::write_bytes(b, 0xAB, 64);
            }
        }
        let again: Vec<*mut u8> = (0..2 * per_page).map(|_| pool.alloc(64)).collect();
        assert!(again.iter().all(|b| !b.is_null() && !kept.contains(b)));
        // SAFETY: live blocks of this pool, freed once.
        unsafe {
            for &b in again.iter().chain(&kept) {
                pool.free(b, 64);
            }
        }
        let mapped = pool.mapped;
        assert_eq!(pool.trim(), mapped);
        assert_eq!(pool.mapped, 0);
    }

    #[test]
    fn marked_blocks_come_back_in_allocation_order_once() {
        let mut pool = Pool::new();
        // Several pages of one class.
        let blocks: Vec<*mut u8> = (0..5000).map(|_| pool.alloc(48)).collect();
        // SAFETY: live blocks of this pool, each marked at most once, and
        // unmarked only when marked.
        unsafe {
            for &b in blocks.iter().skip(1).step_by(2).rev() {
                assert!(pool.mark(b));
            }
            pool.unmark(blocks[1]);
        }
        assert_eq!(pool.marked_count(), 2499);
        let mut got = Vec::new();
        pool.take_marked(|b| got.push(b));
        let want: Vec<*mut u8> = blocks.iter().copied().skip(3).step_by(2).collect();
        assert_eq!(got, want);
        assert_eq!(pool.marked_count(), 0);
        pool.take_marked(|_| panic!("nothing is marked"));
    }

    #[test]
    fn trim_returns_exactly_the_pages_with_no_live_block() {
        let mut pool = Pool::new();
        let blocks: Vec<*mut u8> = (0..100_000).map(|_| pool.alloc(48)).collect();
        assert!(blocks.iter().all(|b| !b.is_null()));
        let keep = blocks[blocks.len() / 2];
        let used_pages = pool.mapped / PAGE - pool.fresh_left;
        for &b in &blocks {
            if b != keep {
                // SAFETY: each block freed once.
                unsafe { pool.free(b, 48) };
            }
        }
        let before = pool.mapped;
        let returned = pool.trim();
        assert_eq!(returned, before - PAGE, "all but the page of the survivor");
        assert_eq!(pool.mapped, PAGE);
        assert!(used_pages > 70);
        // The survivor's page still serves; new pages come fresh and zeroed.
        // SAFETY: keep is a live block of this pool.
        unsafe { *keep = 7 };
        let fresh: Vec<*mut u8> = (0..10_000).map(|_| pool.alloc(96)).collect();
        // SAFETY: blocks just handed out, 96 bytes each.
        assert!(fresh.iter().all(|&b| unsafe { *b.add(95) } == 0));
        // SAFETY: keep is live.
        assert_eq!(unsafe { *keep }, 7);
    }
}
