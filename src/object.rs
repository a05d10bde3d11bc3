//! The object: one allocation holding a 32-byte header, the reference fields
//! and the host payload.
//!
//! ```text
//!             [prefix: nfields, payload_size]   only when EXT is set (16 bytes)
//! GcObject* -> [header: rc | next | prev | meta] 32 bytes, 16-aligned
//!             [fields: nfields x *GcObject]
//!             [payload, 16-aligned]             only when payload_size > 0
//! ```
//!
//! A plain 2-field object is 48 bytes, the size of CPython's 2-slot object;
//! with a payload of up to 16 bytes, 64, up to 31, 80. The count word holds the field
//! count below 255 and the payload size up to `SMALL_PAYLOAD` bytes; sizes
//! beyond those live in a 16-byte prefix before the header, flagged by
//! `EXT`, so the fields are always at `header + 32`.
//!
//! The `rc` word belongs to one type, `CountWord` (values: `Counts`); no
//! other module touches its bits. Bit diagram:
//! ```text
//!  63            30 29       25 24     19   18      17   16  15       8 7        6          5          4           3       2           1           0
//! [ count (34 bits) ][ payload ][ owner ][NURSERY][DIRTY][OLD][ nfields ][POOLED][RELEASED][PROMOTED][COLLECTED][DYING][FINALIZED][WEAKREFED][MARK]
//! ```
//! - count: the reference count, in the top bits so that "above one" and
//!   "zero" are single comparisons of the whole word. Changed by
//!   incref/decref (plain accesses under the counts bias, bias.rs; atomic
//!   RMW otherwise) except the transition to zero, which happens under the
//!   heap lock (see refcount.rs). An increment from `MAX_COUNT` (2^33 - 1)
//!   aborts (as `Arc` does) instead of carrying out of the word; 2^33
//!   more increments of headroom absorb threads racing past the check.
//! - MARK: set by a collection's scan on the objects with weakrefs it
//!   examines, by a full collection's on every one unless the scan holds
//!   the counts bias (gc/scan.rs), and on all the garbage it finds (kept
//!   only there), so that the lock-free `weakref_get` and decrement fall
//!   back to the locked path while their fate is open.
//! - WEAKREFED: the object has, or has had, weak references: its death looks
//!   in the weakref table and its memory is released through the epoch.
//! - FINALIZED: the finalize hook has run (it never runs again).
//! - DYING: the object is queued for refcount death or is collector garbage
//!   being torn down; a further transition to zero must not queue it again.
//! - COLLECTED: (with DYING) the object is part of the cyclic garbage a
//!   collection is tearing down; a weakref so marked gets no callback.
//! - PROMOTED: a generation-1 collection moved the object into generation 2
//!   since the last full collection: it counts in `long_lived_pending`
//!   until it dies or a full collection clears the bit (API v2 long-lived
//!   rule).
//! - RELEASED: (with COLLECTED) the collector has released this garbage
//!   object's references; it is freed as soon as its count reaches zero
//!   (gc/mod.rs `delete_garbage`).
//! - POOLED: the object's memory is a block of the pool (alloc.rs), not a
//!   system allocation. Set at creation, never changed: every path that
//!   frees the object reads it.
//! - OLD: the object survived the last full collection that saw it and has
//!   lost no reference since: it is in the heap's `old` list, which a full
//!   collection does not scan (gc/mod.rs says why that is exact). Set by a
//!   full collection on its survivors; cleared, under the heap lock, by the
//!   first decrement that leaves the count above zero (in the same atomic
//!   step; the object becomes dirty, refcount.rs `make_dirty`), by the
//!   start of its death, and by `gc_freeze` / `gc_unfreeze`. So a count change by the owner
//!   thread stays a plain store unless it is that first decrement.
//! - DIRTY: the object lost `OLD` but stayed in `old`, marked on its pool
//!   page (refcount.rs `make_dirty`); the pool counts these
//!   (`Pool::marked_count`) until they die or the next full collection takes them in. Set and
//!   cleared under the heap lock.
//! - nfields: the field count when EXT is clear (fewer than 255 fields).
//!   Never changes. A whole byte: reading it is one byte load.
//! - payload: the payload size in bytes when EXT is clear (0 to
//!   `SMALL_PAYLOAD`). Never changes.
//! - NURSERY, owner: the object is in the young list of the nursery of
//!   section slot `owner` (nursery.rs), not in a generation list. Set with
//!   the owner at creation (a fresh object); cleared only by a holder of
//!   the heap lock with every section stopped (which moves the object to
//!   generation 0), or by the transition to zero. The owner bits mean
//!   nothing without NURSERY.
//!
//! The flag bits (but POOLED, and NURSERY at an in-section death) change only under the heap lock, with atomic RMW operations
//! because the count shares the word with lock-free updates (or with plain
//! accesses where no other thread can touch the word: `set_exclusive`, and
//! `change_fast` while the counts bias is this thread's).
//!
//! `next`/`prev` link the object into a generation list (list.rs). Each
//! other use of them belongs to one module, while the object is out of
//! every generation list: during a collection `prev` holds gc_refs and the
//! scan's state (gc/mod.rs); on the death stack `next` links it and `prev`
//! holds the step it is at (refcount.rs); once retired `next` links it and
//! `prev` holds its epoch tag (epoch.rs). Untracked objects keep both at 0
//! until they die.
//!
//! `meta` is the `GcType` pointer (8-aligned) with three immutable flags in its
//! low bits: EXT, WEAKREF (a weak reference object), TRACKED.
//!
//! Invariants: `meta` and the small nfields never change after `alloc`; every
//! field holds NULL or a strong reference; the payload is zeroed at creation.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{
    AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    Ordering::{Acquire, Relaxed},
};

/// Opaque handle to an rcgc object.
pub struct GcObject {
    _opaque: [u8; 0],
}

/// Called by a `traverse` hook once per strong reference held in the payload.
pub type GcVisitFn = unsafe extern "C" fn(child: *mut GcObject, ctx: *mut c_void);

/// The hooks of a host type. The struct must outlive every object created
/// with it (usually it is static). Every hook may be NULL.
///
/// - `name`: shown in errors and diagnostics (may be NULL).
/// - `traverse`: calls `visit(child, ctx)` once per strong reference the host
///   keeps in the payload, and does nothing else. Fields are traversed by the
///   library.
/// - `clear`: drops the payload references (decref and set to NULL). Runs at
///   step 4 of the death order on both ways of dying.
/// - `finalize`: runs at most once per object, first in the death order; may
///   call any API function and may resurrect the object.
/// - `destroy`: releases non-object resources just before the memory is
///   freed; must not resurrect.
#[repr(C)]
pub struct GcType {
    pub name: *const c_char,
    pub traverse:
        Option<unsafe extern "C" fn(self_: *mut GcObject, visit: GcVisitFn, ctx: *mut c_void)>,
    pub clear: Option<unsafe extern "C" fn(self_: *mut GcObject)>,
    pub finalize: Option<unsafe extern "C" fn(self_: *mut GcObject)>,
    pub destroy: Option<unsafe extern "C" fn(self_: *mut GcObject)>,
}

// SAFETY: a GcType is immutable shared data (a name and function pointers)
// that the API requires to be usable from every thread.
unsafe impl Sync for GcType {}

#[repr(C, align(16))]
pub struct Header {
    pub rc: CountWord,
    pub next: AtomicUsize,
    pub prev: AtomicUsize,
    pub meta: usize,
}

pub(crate) const HEADER_SIZE: usize = std::mem::size_of::<Header>();
const PREFIX_SIZE: usize = 16;
use crate::alloc::ALIGN;

/// The largest reference count: an increment from it aborts.
pub(crate) const MAX_COUNT: u64 = (1 << 33) - 1;
pub(crate) const MARK: u64 = 1 << 0;
pub(crate) const WEAKREFED: u64 = 1 << 1;
pub(crate) const FINALIZED: u64 = 1 << 2;
pub(crate) const DYING: u64 = 1 << 3;
pub(crate) const COLLECTED: u64 = 1 << 4;
pub(crate) const PROMOTED: u64 = 1 << 5;
pub(crate) const RELEASED: u64 = 1 << 6;
pub(crate) const POOLED: u64 = 1 << 7;
pub(crate) const OLD: u64 = 1 << 16;
pub(crate) const DIRTY: u64 = 1 << 17;
pub(crate) const NURSERY: u64 = 1 << 18;
const OWNER_SHIFT: u32 = 19;
const OWNER_BITS: u32 = 6;
/// How many nursery owners the owner bits can name.
pub(crate) const OWNERS: usize = 1 << OWNER_BITS;
const NFIELDS_SHIFT: u32 = 8;
const PAYLOAD_SHIFT: u32 = OWNER_SHIFT + OWNER_BITS;
const PAYLOAD_BITS: u32 = 5;
/// Payload sizes up to this are kept in the count word (above, in the
/// prefix): the most its bits hold.
pub(crate) const SMALL_PAYLOAD: usize = (1 << PAYLOAD_BITS) - 1;
const COUNT_SHIFT: u32 = PAYLOAD_SHIFT + PAYLOAD_BITS;
/// One reference, as a difference of count words.
const ONE: u64 = 1 << COUNT_SHIFT;
/// Field counts at or above this are kept in the prefix.
const SMALL_NFIELDS_LIMIT: usize = 0xFF;

/// A value of the count word: the reference count, the flag bits and the
/// small field count (bit diagram in the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts(u64);

impl Counts {
    /// The reference count.
    #[inline(always)]
    pub fn count(self) -> u64 {
        self.0 >> COUNT_SHIFT
    }
    /// Whether any of the bits of `flags` is set.
    #[inline(always)]
    pub fn has(self, flags: u64) -> bool {
        self.0 & flags != 0
    }
    /// Whether one more reference would pass `MAX_COUNT`.
    #[inline(always)]
    pub fn is_full(self) -> bool {
        self.0 >= MAX_COUNT << COUNT_SHIFT
    }
    /// The same word with one more reference. The caller has checked
    /// `is_full` (or will abort on it before the count can carry out).
    #[inline(always)]
    pub fn plus_one(self) -> Counts {
        Counts(self.0 + ONE)
    }
    /// The same word with one reference fewer; the count is above zero.
    #[inline(always)]
    pub fn minus_one(self) -> Counts {
        debug_assert!(self.count() > 0);
        Counts(self.0 - ONE)
    }
    /// The same word with `flags` set.
    #[inline(always)]
    pub fn with(self, flags: u64) -> Counts {
        Counts(self.0 | flags)
    }
    /// The same word with `flags` cleared.
    #[inline(always)]
    pub fn without(self, flags: u64) -> Counts {
        Counts(self.0 & !flags)
    }
    /// The nursery owner (meaningful with `NURSERY` only).
    #[inline(always)]
    pub fn owner(self) -> usize {
        ((self.0 >> OWNER_SHIFT) & (OWNERS as u64 - 1)) as usize
    }
    /// The same word with `NURSERY` set and owner `owner` (< `OWNERS`).
    #[inline(always)]
    pub fn in_nursery(self, owner: usize) -> Counts {
        debug_assert!(owner < OWNERS);
        Counts(
            self.0 & !((OWNERS as u64 - 1) << OWNER_SHIFT)
                | NURSERY
                | (owner as u64) << OWNER_SHIFT,
        )
    }
    #[inline(always)]
    fn small_nfields(self) -> usize {
        ((self.0 >> NFIELDS_SHIFT) & SMALL_NFIELDS_LIMIT as u64) as usize
    }
    #[inline(always)]
    fn small_payload(self) -> usize {
        ((self.0 >> PAYLOAD_SHIFT) & ((1 << PAYLOAD_BITS) - 1)) as usize
    }
}

/// The count word of a header (module docs). Every access is Relaxed
/// unless the caller passes an ordering (`compare_exchange_weak`): the
/// orderings that matter belong to the death path (refcount.rs) and
/// `weakref_get` (weakref.rs), which say what they pair with.
#[repr(transparent)]
pub struct CountWord(AtomicU64);

impl CountWord {
    /// A new object's word: count 1, `small_nfields` and `small_payload`
    /// (0 when the prefix holds them), no flag but `POOLED` if `pooled`.
    fn new(small_nfields: usize, small_payload: usize, pooled: bool) -> CountWord {
        debug_assert!(small_nfields < SMALL_NFIELDS_LIMIT && small_payload <= SMALL_PAYLOAD);
        CountWord(AtomicU64::new(
            ONE | (small_nfields as u64) << NFIELDS_SHIFT
                | (small_payload as u64) << PAYLOAD_SHIFT
                | if pooled { POOLED } else { 0 },
        ))
    }
    /// The count word of a list sentinel (never an object: count 0).
    pub const fn sentinel() -> CountWord {
        CountWord(AtomicU64::new(0))
    }
    #[inline(always)]
    pub fn load(&self) -> Counts {
        Counts(self.0.load(Relaxed))
    }
    /// `load` with Acquire ordering: the caller says what it pairs with.
    #[inline(always)]
    pub fn load_acquire(&self) -> Counts {
        Counts(self.0.load(Acquire))
    }
    /// A plain store of a value computed from `load`: only for a writer no
    /// other thread can race with (the owner of the counts bias, bias.rs;
    /// the collector on its garbage).
    #[inline(always)]
    pub fn store_exclusive(&self, v: Counts) {
        self.0.store(v.0, Relaxed)
    }
    /// One more reference with a plain load and store (the writer is
    /// exclusive, as `store_exclusive`). Returns the old value.
    #[inline(always)]
    pub fn increment_exclusive(&self) -> Counts {
        let v = self.load();
        self.store_exclusive(v.plus_one());
        v
    }
    /// One more reference, atomically. Returns the old value.
    #[inline(always)]
    pub fn increment(&self) -> Counts {
        // Relaxed: a new reference can only be made from an existing one,
        // which already orders the object's creation before this point (as
        // Arc::clone).
        Counts(self.0.fetch_add(ONE, Relaxed))
    }
    /// One reference fewer, atomically, where the count cannot reach zero
    /// (the caller knows of another reference).
    pub fn decrement_nonzero(&self) {
        let old = self.0.fetch_sub(ONE, Relaxed);
        debug_assert!(Counts(old).count() > 1);
    }
    /// Compare-and-swap of the whole word; `success` is the caller's
    /// ordering (it says what it pairs with), failure is Relaxed.
    #[inline(always)]
    pub fn compare_exchange_weak(
        &self,
        cur: Counts,
        new: Counts,
        success: Ordering,
    ) -> Result<Counts, Counts> {
        self.0
            .compare_exchange_weak(cur.0, new.0, success, Relaxed)
            .map(Counts)
            .map_err(Counts)
    }
    /// Sets `flags` atomically; returns the old value.
    #[inline(always)]
    pub fn fetch_set(&self, flags: u64) -> Counts {
        Counts(self.0.fetch_or(flags, Relaxed))
    }
    /// Clears `flags` atomically; returns the old value.
    #[inline(always)]
    pub fn fetch_unset(&self, flags: u64) -> Counts {
        Counts(self.0.fetch_and(!flags, Relaxed))
    }
    /// Replaces the value `v` by `change(v)` atomically (`change` keeps the
    /// count); returns the old value.
    #[inline(always)]
    pub fn fetch_change(&self, change: impl Fn(Counts) -> Counts) -> Counts {
        let mut cur = self.load();
        loop {
            match self.compare_exchange_weak(cur, change(cur), Relaxed) {
                Ok(v) => return v,
                Err(seen) => cur = seen,
            }
        }
    }
}

pub(crate) const META_EXT: usize = 1;
pub(crate) const META_WEAKREF: usize = 2;
pub(crate) const META_TRACKED: usize = 4;
const META_FLAGS: usize = 7;

/// Size and shape of an object to allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub nfields: usize,
    pub payload_size: usize,
    ext: bool,
    /// Offset of the payload from the header.
    payload_offset: usize,
    /// Bytes from the start of the allocation to the end of the object.
    total: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// The total size overflows or exceeds `isize::MAX` (PTRDIFF_MAX).
    TooLarge,
}

impl Shape {
    /// The shape of an object with `nfields < SMALL_NFIELDS_LIMIT` fields
    /// and no payload.
    #[inline(always)]
    pub fn small(nfields: usize) -> Shape {
        debug_assert!(nfields < SMALL_NFIELDS_LIMIT);
        let total = HEADER_SIZE + nfields * size_of::<usize>();
        Shape {
            nfields,
            payload_size: 0,
            ext: false,
            payload_offset: total,
            total,
        }
    }

    /// Computes the layout of an object, or `TooLarge`.
    #[inline]
    pub fn new(nfields: usize, payload_size: usize) -> Result<Shape, ShapeError> {
        let ext = payload_size > SMALL_PAYLOAD || nfields >= SMALL_NFIELDS_LIMIT;
        if nfields < SMALL_NFIELDS_LIMIT && payload_size <= crate::alloc::POOL_MAX {
            // The common shapes: nothing here can overflow.
            if payload_size == 0 {
                return Ok(Shape::small(nfields));
            }
            let (payload_offset, end) = body_layout(nfields, payload_size);
            return Ok(Shape {
                nfields,
                payload_size,
                ext,
                payload_offset,
                total: if ext { PREFIX_SIZE + end } else { end },
            });
        }
        let fields_end = nfields
            .checked_mul(size_of::<usize>())
            .and_then(|b| b.checked_add(HEADER_SIZE))
            .ok_or(ShapeError::TooLarge)?;
        let (payload_offset, end) = if payload_size == 0 {
            (fields_end, fields_end)
        } else {
            let off = fields_end
                .checked_add(ALIGN - 1)
                .ok_or(ShapeError::TooLarge)?
                & !(ALIGN - 1);
            (
                off,
                off.checked_add(payload_size).ok_or(ShapeError::TooLarge)?,
            )
        };
        let total = end
            .checked_add(if ext { PREFIX_SIZE } else { 0 })
            .ok_or(ShapeError::TooLarge)?;
        if total > isize::MAX as usize - ALIGN {
            return Err(ShapeError::TooLarge);
        }
        Ok(Shape {
            nfields,
            payload_size,
            ext,
            payload_offset,
            total,
        })
    }

    /// The shape of an object with a payload that `init::<true>` can
    /// initialize (at most `QUICK_WORDS` words after the header: a payload
    /// of 1 to 16 bytes after at most 2 fields), or None.
    #[inline(always)]
    pub fn quick_payload(nfields: usize, payload_size: usize) -> Option<Shape> {
        if nfields > 2 || payload_size.wrapping_sub(1) >= 16 {
            return None;
        }
        // `body_layout` for these sizes, with no rounding to compute: the
        // payload starts at the first 16-aligned offset after the fields
        // (32, or 48 after one or two), so it ends at most 4 words after
        // the header.
        let payload_offset = if nfields == 0 {
            HEADER_SIZE
        } else {
            HEADER_SIZE + 16
        };
        Some(Shape {
            nfields,
            payload_size,
            ext: false,
            payload_offset,
            total: payload_offset + payload_size,
        })
    }

    /// Bytes to allocate for the object (prefix included).
    pub fn size(&self) -> usize {
        self.total
    }

    /// Whether objects of this shape and type are tracked by the collector.
    pub fn tracked(&self, ty: *const GcType, kind: Kind) -> bool {
        tracked(ty, self.nfields, kind)
    }
}

/// Whether an object of this type, kind and number of fields is tracked by
/// the collector: it can reference other objects.
#[inline(always)]
fn tracked(ty: *const GcType, nfields: usize, kind: Kind) -> bool {
    // SAFETY: a non-NULL type is a valid GcType (API contract).
    kind == Kind::Weakref || nfields > 0 || unsafe { traverses(ty) }
}

/// Whether objects of type `ty` hold references in their payload (a
/// `traverse` hook).
///
/// # Safety
/// `ty` is NULL or a valid `GcType`.
#[inline(always)]
pub unsafe fn traverses(ty: *const GcType) -> bool {
    // SAFETY: caller's contract.
    !ty.is_null() && unsafe { (*ty).traverse.is_some() }
}

/// What kind of object to create.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Weakref,
}

/// Initializes an object with refcount 1, all fields NULL and a zeroed
/// payload in the memory at `base`. Does not link it anywhere.
///
/// # Safety
/// `base` is 16-aligned, `shape.size()` bytes, unused; `ty` is NULL or points
/// to a `GcType` that outlives the object.
#[inline(always)]
pub unsafe fn init_object(
    base: *mut u8,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
) -> *mut Header {
    // SAFETY: caller's contract.
    unsafe { init::<false>(base, ty, shape, kind, false) }
}

/// Words after the header of the objects `init::<true>` makes.
pub const QUICK_WORDS: usize = 4;

/// `init_object`, marked `POOLED` if `pooled` (a pool block); with
/// `QUICK`, for a shape of 1 to `QUICK_WORDS` fields
/// and no payload (`Shape::small`) or from `Shape::quick_payload`: word stores
/// only, no `memset` call, so that a caller can do without a stack frame.
/// The last word may then run past the object's end into its block (pool
/// blocks are multiples of 16 bytes).
///
/// # Safety
/// As `init_object`; with `QUICK`, such a shape and a block of at least
/// `shape.size()` rounded up to 16 bytes.
#[inline(always)]
pub unsafe fn init<const QUICK: bool>(
    base: *mut u8,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
    pooled: bool,
) -> *mut Header {
    // SAFETY: base is a fresh allocation for the shape, 16-aligned; the
    // header starts after the prefix and stays 16-aligned; every byte
    // after the header (fields and payload) is zeroed before anyone sees
    // it (with QUICK, 1 to QUICK_WORDS words: `zero_body`'s word stores).
    unsafe {
        if !shape.ext {
            return init_small::<QUICK>(base, ty, shape, kind, pooled);
        }
        init_ext(base, ty, shape, kind, pooled)
    }
}

/// `init_object` for a shape with a prefix (`shape.ext`).
///
/// # Safety
/// As `init::<false>`; `shape.ext`.
#[inline(always)]
unsafe fn init_ext(
    base: *mut u8,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
    pooled: bool,
) -> *mut Header {
    // SAFETY: caller's contract: base is a fresh block for the shape (the
    // prefix, then the header, 16-aligned); the body is zeroed before
    // anyone sees it.
    unsafe {
        let words = base as *mut usize;
        words.write(shape.nfields);
        words.add(1).write(shape.payload_size);
        let h = base.add(PREFIX_SIZE) as *mut Header;
        zero_body::<false>(h, shape.total - PREFIX_SIZE - HEADER_SIZE);
        h.write(Header {
            rc: CountWord::new(0, 0, pooled),
            next: AtomicUsize::new(0),
            prev: AtomicUsize::new(0),
            meta: meta_word(ty, shape.nfields, kind) | META_EXT,
        });
        h
    }
}

/// Zeroes the `len` bytes after the header `h` (fields and payload). Small
/// bodies of whole words (a few fields, a small payload) take word stores,
/// no `memset` call. `QUICK`: the body is 1 to `QUICK_WORDS` words, rounded
/// up to 16 bytes (`init::<true>`'s shapes), in a pool block: one branch,
/// no table of cases.
///
/// # Safety
/// `len` bytes after the header are ours to write (with `QUICK`, `len`
/// rounded up to 16).
#[inline(always)]
unsafe fn zero_body<const QUICK: bool>(h: *mut Header, len: usize) {
    // SAFETY: caller's contract.
    unsafe {
        let body = (h as *mut u8).add(HEADER_SIZE);
        if QUICK {
            debug_assert!((1..=QUICK_WORDS * 8).contains(&len));
            if len <= 16 {
                (body as *mut [usize; 2]).write([0; 2]);
            } else {
                (body as *mut [usize; 4]).write([0; 4]);
            }
        } else {
            match len {
                0 => {}
                8 => (body as *mut [usize; 1]).write([0; 1]),
                16 => (body as *mut [usize; 2]).write([0; 2]),
                24 => (body as *mut [usize; 3]).write([0; 3]),
                32 => (body as *mut [usize; 4]).write([0; 4]),
                _ => ptr::write_bytes(body, 0, len),
            }
        }
    }
}

/// The `meta` word of a new object (without `META_EXT`); `ty` is NULL or
/// a valid `GcType` (API contract).
#[inline(always)]
fn meta_word(ty: *const GcType, nfields: usize, kind: Kind) -> usize {
    let mut meta = ty as usize;
    debug_assert_eq!(meta & META_FLAGS, 0, "GcType must be 8-aligned");
    if kind == Kind::Weakref {
        meta |= META_WEAKREF;
    }
    if tracked(ty, nfields, kind) {
        meta |= META_TRACKED;
    }
    meta
}

/// `init_object` for a shape with no prefix (fewer than
/// `SMALL_NFIELDS_LIMIT` fields, a payload of at most `SMALL_PAYLOAD`
/// bytes). `QUICK`: 1 to `QUICK_WORDS` words after the header, in a pool
/// block (its size rounded up to 16 bytes).
///
/// # Safety
/// As `init_object`, for `shape.size()` bytes (rounded up to 16 with
/// `QUICK`).
#[inline(always)]
unsafe fn init_small<const QUICK: bool>(
    base: *mut u8,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
    pooled: bool,
) -> *mut Header {
    // SAFETY: base is a fresh 16-aligned block of the header and the body;
    // we zero the body before anyone sees it.
    unsafe {
        let h = base as *mut Header;
        zero_body::<QUICK>(h, shape.total - HEADER_SIZE);
        h.write(Header {
            rc: CountWord::new(shape.nfields, shape.payload_size, pooled),
            next: AtomicUsize::new(0),
            prev: AtomicUsize::new(0),
            meta: meta_word(ty, shape.nfields, kind),
        });
        h
    }
}

/// The start and size of the allocation holding `h`.
///
/// # Safety
/// `h` points to a live object made by `init_object`.
#[inline(always)]
pub unsafe fn allocation_of(h: *mut Header) -> (*mut u8, usize) {
    // SAFETY: the shape is read from the still-valid header.
    unsafe {
        if (*h).meta & META_EXT == 0 {
            // No prefix: the sizes are in the count word.
            let v = (*h).rc.load();
            return (
                h as *mut u8,
                body_layout(v.small_nfields(), v.small_payload()).1,
            );
        }
        allocation_of_ext(h)
    }
}

/// The start of the allocation holding `h` (its prefix, if it has one):
/// `allocation_of` without the size, for a pool block, whose page knows it.
///
/// # Safety
/// `h` points to a live object made by `init_object`.
#[inline(always)]
pub unsafe fn base_of(h: *mut Header) -> *mut u8 {
    // SAFETY: an `EXT` object's allocation starts PREFIX_SIZE bytes before
    // its header.
    unsafe {
        if (*h).meta & META_EXT == 0 {
            h as *mut u8
        } else {
            (h as *mut u8).sub(PREFIX_SIZE)
        }
    }
}

/// `allocation_of` for an object with a prefix.
///
/// # Safety
/// As `allocation_of`; `h` has `META_EXT`.
#[inline(never)]
unsafe fn allocation_of_ext(h: *mut Header) -> (*mut u8, usize) {
    // SAFETY: the prefix of an `EXT` object holds its field count and
    // payload size, which made a valid shape (no overflow below).
    unsafe {
        let prefix = h as *const usize;
        let (_, end) = body_layout(*prefix.sub(2), *prefix.sub(1));
        let total = PREFIX_SIZE + end;
        debug_assert_eq!(total, shape_of(h).total);
        ((h as *mut u8).sub(PREFIX_SIZE), total)
    }
}

/// The payload's offset from the header and the end of the object (from
/// the header), with no overflow checks: for sizes `Shape::new` takes in
/// its common case, or a live object's.
#[inline(always)]
fn body_layout(nfields: usize, payload_size: usize) -> (usize, usize) {
    let fields_end = HEADER_SIZE + nfields * size_of::<usize>();
    let payload_offset = if payload_size == 0 {
        fields_end
    } else {
        fields_end.next_multiple_of(ALIGN)
    };
    (payload_offset, payload_offset + payload_size)
}

/// Recomputes the shape of a live object.
///
/// # Safety
/// `h` points to a live object.
pub unsafe fn shape_of(h: *const Header) -> Shape {
    // SAFETY: caller guarantees h is live; the prefix exists when EXT is set.
    let (nfields, payload) = unsafe { (nfields(h), payload_size(h)) };
    Shape::new(nfields, payload).expect("a live object has a valid shape")
}

impl Header {
    #[inline]
    pub fn count(&self) -> u64 {
        self.rc.load().count()
    }
    #[inline]
    pub fn has(&self, flag: u64) -> bool {
        self.rc.load().has(flag)
    }
    /// Sets a flag bit. Caller holds the heap lock.
    #[inline]
    pub fn set(&self, flag: u64) {
        self.rc.fetch_set(flag);
    }
    /// Sets a flag bit with a plain load and store, for an object no other
    /// thread can change: collector garbage (no thread holds a reference, and
    /// those with weakrefs carry `MARK`, which makes every lock-free
    /// `weakref_get` CAS fail). Caller holds the heap lock.
    #[inline]
    pub fn set_exclusive(&self, flag: u64) {
        self.rc.store_exclusive(self.rc.load().with(flag));
    }
    /// The inverse of `set_exclusive`, under the same conditions.
    #[inline]
    pub fn unset_exclusive(&self, flag: u64) {
        self.rc.store_exclusive(self.rc.load().without(flag));
    }
    /// Clears a flag bit. Caller holds the heap lock.
    #[inline]
    pub fn unset(&self, flag: u64) {
        self.rc.fetch_unset(flag);
    }
    /// Sets the flags `set` and clears `clear`, with one plain load and
    /// store while the counts bias is this thread's (no other thread can
    /// change the word then, bias.rs), with one atomic read-modify-write
    /// otherwise: the collector marks every member and every survivor, and
    /// a locked instruction each would cost more than the rest of the mark.
    /// Returns the word as it was just before (the change and that read are
    /// one step). Caller holds the heap lock.
    #[inline]
    pub fn change_fast(&self, set: u64, clear: u64) -> Counts {
        match crate::bias::with_owned_counts(|| self.change_owned(set, clear)) {
            Some(v) => v,
            None => self.rc.fetch_change(|v| v.with(set).without(clear)),
        }
    }
    /// `change_fast` for a caller inside the counts bias (no other thread
    /// can change the word): a plain load and store.
    #[inline(always)]
    pub fn change_owned(&self, set: u64, clear: u64) -> Counts {
        let v = self.rc.load();
        self.rc.store_exclusive(v.with(set).without(clear));
        v
    }
    #[inline]
    pub fn ty(&self) -> *const GcType {
        (self.meta & !META_FLAGS) as *const GcType
    }
    #[inline]
    pub fn is_tracked(&self) -> bool {
        self.meta & META_TRACKED != 0
    }
    #[inline]
    pub fn is_weakref(&self) -> bool {
        self.meta & META_WEAKREF != 0
    }
    /// No type and not a weakref (one test of `meta`).
    #[inline(always)]
    pub fn is_plain(&self) -> bool {
        self.meta & !(META_EXT | META_TRACKED) == 0
    }
    /// The hook selected by `f` from this object's type, if any.
    #[inline]
    pub fn hook<F: Copy>(&self, f: impl FnOnce(&GcType) -> Option<F>) -> Option<F> {
        let ty = self.ty();
        if ty.is_null() {
            None
        } else {
            // SAFETY: a non-NULL type outlives its objects (API contract).
            f(unsafe { &*ty })
        }
    }
}

/// Adds one reference (lock-free). Aborts instead of letting the count carry
/// into the flag bits.
///
/// # Safety
/// `h` points to an object that is not freed (the caller holds a reference,
/// or holds the heap lock while the object is in the death path).
#[inline]
pub unsafe fn incref_raw(h: *mut Header) {
    // SAFETY: caller's contract.
    unsafe { incref_with::<false>(h) }
}

/// `obj_incref`'s `incref_raw` of a handle the host passed: validated
/// first in checked mode, which a thread that owns the counts bias never
/// is in (bias.rs), so the owner's path reads the object before any test.
///
/// # Safety
/// As `incref_raw`, outside checked mode.
#[inline(always)]
pub unsafe fn incref_host(h: *mut Header) {
    // SAFETY: caller's contract.
    unsafe { incref_with::<true>(h) }
}

/// `incref_host` in checked mode (or before the mode is fixed).
#[cold]
#[inline(never)]
unsafe fn incref_validated(h: *mut Header) {
    crate::checks::object(c"obj_incref", h);
    // SAFETY: validated (it aborts otherwise), or outside checked mode.
    unsafe { incref_raw(h) }
}

/// `incref_raw`; with `HOST`, `incref_host`.
///
/// # Safety
/// As `incref_host` with `HOST`, else as `incref_raw`.
#[inline(always)]
unsafe fn incref_with<const HOST: bool>(h: *mut Header) {
    if let Some(old) = crate::bias::with_owned_counts(|| {
        // SAFETY: caller's contract: h is live (no checked mode here).
        unsafe { (*h).rc.increment_exclusive() }
    }) {
        if old.is_full() {
            overflow(h);
        }
        return;
    }
    if HOST && !crate::checks::fixed_off() {
        // SAFETY: caller's contract.
        return unsafe { incref_validated(h) };
    }
    crate::bias::before_shared_count_change();
    // SAFETY: caller's contract (a host's handle was validated first in
    // checked mode).
    if unsafe { (*h).rc.increment() }.is_full() {
        overflow(h);
    }
}

/// Aborts for an increment past `MAX_COUNT`, naming the type and the limit.
#[cold]
pub(crate) fn overflow(h: *mut Header) -> ! {
    // SAFETY: h is a live object (the caller was incrementing its count).
    let ty = unsafe { (*h).ty() };
    crate::error::fatal(
        c"obj_incref",
        h.cast(),
        &format!(
            "reference count overflow on object of type \"{}\" (the largest count is {MAX_COUNT})",
            crate::checks::type_name(ty)
        ),
    )
}

/// # Safety
/// `h` points to a live object.
#[inline]
pub unsafe fn nfields(h: *const Header) -> usize {
    // SAFETY: live header; the prefix exists when EXT is set.
    unsafe {
        if (*h).meta & META_EXT != 0 {
            *(h as *const usize).sub(2)
        } else {
            (*h).rc.load().small_nfields()
        }
    }
}

/// # Safety
/// `h` points to a live object.
#[inline]
pub unsafe fn payload_size(h: *const Header) -> usize {
    // SAFETY: live header; the prefix exists when EXT is set.
    unsafe {
        if (*h).meta & META_EXT != 0 {
            *(h as *const usize).sub(1)
        } else {
            (*h).rc.load().small_payload()
        }
    }
}

/// The field slots of `h`.
///
/// # Safety
/// `h` points to a live object.
#[inline]
pub unsafe fn fields<'a>(h: *const Header) -> &'a [AtomicPtr<Header>] {
    // SAFETY: the fields follow the header, nfields of them, initialized.
    unsafe {
        std::slice::from_raw_parts(
            (h as *const u8).add(HEADER_SIZE) as *const AtomicPtr<Header>,
            nfields(h),
        )
    }
}

/// Start of the payload (NULL when the payload size is 0).
///
/// # Safety
/// `h` points to a live object.
pub unsafe fn payload(h: *mut Header) -> *mut c_void {
    // SAFETY: live header; the payload offset is within the allocation.
    unsafe {
        let size = payload_size(h);
        if size == 0 {
            return ptr::null_mut();
        }
        let (off, _) = body_layout(nfields(h), size);
        (h as *mut u8).add(off) as *mut c_void
    }
}

/// Calls `f` for every strong reference held by `h`: its fields, then the
/// references its type's `traverse` hook reports.
///
/// Always inlined: the collector's passes (gc/scan.rs) call it in their
/// hot loops, where an out-of-line copy cost 20 instructions per object.
/// The hook reports into a buffer (`Traversed`), and `f` runs on it after
/// the hook returns: `f`'s address, handed to host code, would pin what it
/// captures to memory in every pass that inlines it (a tenth of a
/// collection's instructions, measured on W3, with no typed object in the
/// heap).
///
/// # Safety
/// `h` points to a live object; the caller holds the heap lock.
#[inline(always)]
pub unsafe fn for_each_child<F: FnMut(*mut Header)>(h: *mut Header, mut f: F) {
    // SAFETY: h is live; fields hold NULL or live objects.
    unsafe {
        for slot in fields(h) {
            let c = slot.load(Relaxed);
            if !c.is_null() {
                f(c);
            }
        }
        if let Some(traverse) = (*h).hook(|t| t.traverse) {
            let mut traversed = Traversed::new();
            while traversed.next_batch(h, traverse) {
                for &c in traversed.batch() {
                    f(c);
                }
            }
        }
    }
}

/// The references a `traverse` hook reports, in batches
/// (`for_each_child`): all of them in one, unless memory for the buffer
/// runs out; then each batch is what fit, and the next one calls the hook
/// again and skips what came before (a hook reports the references its
/// payload holds, API.md, and no host code runs between the calls to
/// change them).
pub(crate) struct Traversed {
    /// The first references of a batch (most objects have few).
    inline: [*mut Header; TRAVERSED_INLINE],
    /// How many of `inline` are used (while `spill` is empty).
    len: usize,
    /// The batch, once it outgrew `inline` (which it then holds too).
    spill: Vec<*mut Header>,
    /// References reported before this batch.
    skip: usize,
    /// References the hook reported so far in the call under way.
    seen: usize,
    /// Whether references remain that no batch held yet: true until a
    /// call of the hook finds room for all it reports after `skip`.
    more: bool,
}

/// References a batch holds without an allocation.
const TRAVERSED_INLINE: usize = 16;

impl Traversed {
    #[inline(always)]
    pub fn new() -> Self {
        Traversed {
            inline: [ptr::null_mut(); TRAVERSED_INLINE],
            len: 0,
            spill: Vec::new(),
            skip: 0,
            seen: 0,
            more: true,
        }
    }

    /// Calls the hook for the next batch; false when there is none.
    ///
    /// # Safety
    /// `h` is live, `traverse` its type's hook; the heap lock is held.
    #[inline(never)]
    pub unsafe fn next_batch(&mut self, h: *mut Header, traverse: TraverseFn) -> bool {
        if !self.more {
            return false;
        }
        self.skip += self.batch().len();
        self.len = 0;
        self.spill.clear();
        self.seen = 0;
        self.more = false;
        // SAFETY: caller's contract; `self` outlives the call, and the
        // visitor only writes into it.
        unsafe {
            traverse(
                h as *mut GcObject,
                gather_trampoline,
                self as *mut Traversed as *mut c_void,
            )
        };
        !self.batch().is_empty()
    }

    /// The references of the current batch.
    #[inline(always)]
    pub fn batch(&self) -> &[*mut Header] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }

    /// Adds `c` to the batch; false when no memory is left for it.
    fn push(&mut self, c: *mut Header) -> bool {
        if self.spill.is_empty() && self.len < TRAVERSED_INLINE {
            self.inline[self.len] = c;
            self.len += 1;
            return true;
        }
        if self.spill.len() == self.spill.capacity() {
            let more = self.spill.capacity().max(2 * TRAVERSED_INLINE);
            if !crate::alloc::reserve(|| self.spill.try_reserve(more)) {
                return false;
            }
        }
        if self.spill.is_empty() {
            self.spill.extend_from_slice(&self.inline[..self.len]);
        }
        self.spill.push(c);
        true
    }
}

/// The `traverse` hook's type, as `GcType` holds it.
type TraverseFn = unsafe extern "C" fn(*mut GcObject, GcVisitFn, *mut c_void);

unsafe extern "C" fn gather_trampoline(child: *mut GcObject, ctx: *mut c_void) {
    if child.is_null() {
        return;
    }
    // SAFETY: ctx is the `Traversed` next_batch passed for this call.
    let t = unsafe { &mut *(ctx as *mut Traversed) };
    t.seen += 1;
    if t.seen <= t.skip || t.more {
        return;
    }
    if !t.push(child as *mut Header) {
        t.more = true;
    }
}

/// Asks the CPU to bring the cache line holding `p` closer. A hint only.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    // (Miri has no use for the hint.)
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch never faults and has no observable effect,
    // whatever the address (SSE is part of the x86_64 baseline).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}

/// Prefetches what a walk of the object graph reads of an object: the
/// header (`rc`, the links, `meta`) and its first fields. With headers
/// 16-aligned, these 48 bytes span at most two lines, the ones holding the
/// header's first byte and its 32nd.
#[inline(always)]
pub fn prefetch_header(h: *const Header) {
    prefetch(h.cast());
    prefetch((h as *const u8).wrapping_add(32));
}

/// Fields whose targets `prefetch_children` prefetches.
const LOOK_FIELDS: usize = 4;

/// Prefetches the headers of the first children of `h`, whose own header
/// and fields are in cache (so that a walk reaches them later without a
/// miss). Children a `traverse` hook reports are not looked at: the hook
/// runs when the walk's turn comes.
///
/// `h` must be live (its fields hold NULL or live objects); a prefetch
/// itself never faults.
#[inline(always)]
pub fn prefetch_children(h: *const Header) {
    // SAFETY: every caller passes a live object (a member of a list being
    // scanned, or an object just reached through a field).
    for slot in unsafe { fields(h) }.iter().take(LOOK_FIELDS) {
        let c = slot.load(Relaxed);
        if !c.is_null() {
            prefetch_header(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_field_object_is_48_bytes() {
        assert_eq!(HEADER_SIZE, 32);
        let s = Shape::new(2, 0).unwrap();
        assert_eq!(s.total, 48);
        assert!(!s.ext);
    }

    #[test]
    fn count_word_fields_do_not_disturb_each_other() {
        let w = CountWord::new(SMALL_NFIELDS_LIMIT - 1, SMALL_PAYLOAD, false);
        let all = MARK
            | WEAKREFED
            | FINALIZED
            | DYING
            | COLLECTED
            | PROMOTED
            | RELEASED
            | POOLED
            | OLD
            | DIRTY;
        w.fetch_set(all);
        let v = w.load();
        assert_eq!(
            (v.count(), v.small_nfields(), v.small_payload()),
            (1, 254, 31)
        );
        // The count goes to its limit and back without touching the rest.
        let top = Counts(MAX_COUNT << COUNT_SHIFT | v.0 & (ONE - 1));
        assert!(!top.minus_one().is_full() && top.is_full());
        assert_eq!(top.count(), MAX_COUNT);
        assert_eq!((top.small_nfields(), top.small_payload()), (254, 31));
        assert!(top.has(all) && top.without(all).with(MARK).0 & all == MARK);
        assert_eq!(top.minus_one().plus_one(), top);
        w.store_exclusive(top.minus_one());
        assert!(!w.increment().is_full());
        assert!(w.increment_exclusive().is_full());
        w.fetch_unset(DYING);
        assert!(!w.load().has(DYING) && w.load().has(COLLECTED));
        assert_eq!(w.load().count(), MAX_COUNT + 1);
    }

    #[test]
    fn objects_of_255_fields_keep_them_in_the_prefix() {
        assert!(!Shape::new(254, 0).unwrap().ext);
        assert!(Shape::new(255, 0).unwrap().ext);
    }

    #[test]
    fn payload_is_16_aligned_and_in_a_prefix_only_when_big() {
        let s = Shape::new(3, 5).unwrap();
        assert!(!s.ext);
        assert_eq!(s.payload_offset, 64);
        assert_eq!(s.total, 64 + 5);
        let s = Shape::new(2, SMALL_PAYLOAD).unwrap();
        assert!(!s.ext);
        assert_eq!((s.payload_offset, s.total), (48, 79));
        let s = Shape::new(3, SMALL_PAYLOAD + 1).unwrap();
        assert!(s.ext);
        assert_eq!(s.payload_offset, 64);
        assert_eq!(s.total, 16 + 64 + 32);
        let s = Shape::new(255, 1).unwrap();
        assert!(s.ext);
        assert_eq!(s.payload_offset % 16, 0);
    }

    #[test]
    fn every_shape_reads_back_from_its_header_and_prefix() {
        for n in [0, 1, 2, 3, 7, 254, 255, 300] {
            for p in [0, 1, 8, 15, 16, 17, 31, 32, 100] {
                let s = Shape::new(n, p).unwrap();
                assert_eq!(
                    s.ext,
                    n >= 255 || p > SMALL_PAYLOAD,
                    "{n} fields, {p} bytes"
                );
                // SAFETY: test-local allocation of the shape's size, freed
                // below; it starts dirty, as a reused block does.
                unsafe {
                    let base = crate::alloc::sys_alloc(s.size());
                    ptr::write_bytes(base, 0xa5, s.size());
                    let h = init_object(base, ptr::null(), &s, Kind::Plain);
                    assert_eq!((nfields(h), payload_size(h)), (n, p));
                    assert_eq!(allocation_of(h), (base, s.size()));
                    assert_eq!(base_of(h), base);
                    assert!(fields(h).iter().all(|f| f.load(Relaxed).is_null()));
                    let pl = payload(h) as *const u8;
                    assert_eq!(pl.is_null(), p == 0);
                    assert_eq!(pl as usize % 16, 0);
                    assert!((0..p).all(|i| *pl.add(i) == 0));
                    assert_eq!((*h).count(), 1);
                    crate::alloc::sys_free(base, s.size());
                }
            }
        }
    }

    #[test]
    fn absurd_sizes_are_rejected() {
        assert_eq!(Shape::new(usize::MAX, 0), Err(ShapeError::TooLarge));
        assert_eq!(Shape::new(0, usize::MAX), Err(ShapeError::TooLarge));
        assert_eq!(
            Shape::new(1, isize::MAX as usize),
            Err(ShapeError::TooLarge)
        );
        assert_eq!(Shape::new(usize::MAX / 8, 0), Err(ShapeError::TooLarge));
    }

    #[test]
    fn alloc_reads_back_its_shape() {
        for (n, p) in [
            (0, 0),
            (2, 0),
            (254, 0),
            (255, 0),
            (0, 24),
            (70000, 0),
            (5, 100),
        ] {
            let s = Shape::new(n, p).unwrap();
            // SAFETY: test-local object, freed below.
            unsafe {
                let base = crate::alloc::sys_alloc(s.size());
                let h = init_object(base, ptr::null(), &s, Kind::Plain);
                assert!(!h.is_null());
                assert_eq!(h as usize % 16, 0);
                assert_eq!(nfields(h), n);
                assert_eq!(payload_size(h), p);
                assert_eq!((*h).count(), 1);
                assert_eq!((*h).is_tracked(), n > 0);
                assert!(fields(h).iter().all(|f| f.load(Relaxed).is_null()));
                let pl = payload(h);
                assert_eq!(pl.is_null(), p == 0);
                if p > 0 {
                    assert_eq!(pl as usize % 16, 0);
                }
                let (b, size) = allocation_of(h);
                assert_eq!(b, base);
                crate::alloc::sys_free(b, size);
            }
        }
    }

    #[test]
    fn quick_shapes_are_the_small_ones_and_quick_init_makes_them_as_init_object() {
        let quick: Vec<(usize, usize)> = (0..=5)
            .flat_map(|n| (1..=17).map(move |p| (n, p)))
            .filter(|&(n, p)| Shape::quick_payload(n, p).is_some())
            .collect();
        // A payload of 1-16 bytes after at most 2 fields (4 words at most).
        assert!(quick.iter().all(|&(n, p)| n <= 2 && p <= 16));
        assert!(quick.contains(&(2, 16)) && quick.contains(&(0, 1)) && !quick.contains(&(3, 1)));
        let shapes = quick
            .iter()
            .map(|&(n, p)| Shape::quick_payload(n, p).unwrap())
            .chain((1..=QUICK_WORDS).map(Shape::small));
        for s in shapes {
            assert_eq!(Some(s), Shape::new(s.nfields, s.payload_size).ok());
            let block = s.size().next_multiple_of(16);
            // SAFETY: test-local block of the pool's rounded size, freed
            // below; it starts dirty, as a reused pool block does.
            unsafe {
                let base = crate::alloc::sys_alloc(block);
                ptr::write_bytes(base, 0xa5, block);
                let h = init::<true>(base, ptr::null(), &s, Kind::Plain, false);
                assert_eq!(nfields(h), s.nfields);
                assert_eq!(payload_size(h), s.payload_size);
                assert_eq!((*h).count(), 1);
                assert!(fields(h).iter().all(|f| f.load(Relaxed).is_null()));
                let pl = payload(h) as *const u8;
                assert!((0..s.payload_size).all(|i| *pl.add(i) == 0));
                assert_eq!(allocation_of(h), (base, s.size()));
                crate::alloc::sys_free(base, block);
            }
        }
    }
}
