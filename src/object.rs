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
//! A plain 2-field object is 48 bytes, the size of CPython's 2-slot object.
//! Sizes that do not fit the header (a payload, or 65535 fields or more) live
//! in a 16-byte prefix before the header, flagged by `EXT`, so the fields are
//! always at `header + 32`.
//!
//! The `rc` word (bit diagram):
//! ```text
//!  63            48 47    38 37         36        35    34        33        32   31       0
//! [ nfields (small)][ unused ][PROMOTED][COLLECTED][DYING][FINALIZED][WEAKREFED][MARK][count]
//! ```
//! - count: the reference count. Changed lock-free by incref/decref except the
//!   transition to zero, which happens under the heap lock (see refcount.rs).
//!   An increment past `MAX_COUNT` aborts (as `Arc` does) instead of wrapping.
//! - MARK: set by a collection's scan on the objects with weakrefs it
//!   examines (kept only on the garbage), so that the lock-free
//!   `weakref_get` falls back to the locked path while their fate is open.
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
//! - nfields (small): the field count when EXT is clear. Never changes.
//!
//! The flag bits change only under the heap lock, with atomic RMW operations
//! because the count shares the word with lock-free updates.
//!
//! `next`/`prev` link the object into a generation list (list.rs), or `next`
//! links it into the death queue. During a collection `prev` holds gc_refs
//! (see gc/mod.rs). Untracked objects keep both at 0.
//!
//! `meta` is the `GcType` pointer (8-aligned) with three immutable flags in its
//! low bits: EXT, WEAKREF (a weak reference object), TRACKED.
//!
//! Invariants: `meta` and the small nfields never change after `alloc`; every
//! field holds NULL or a strong reference; the payload is zeroed at creation.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::Relaxed};

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
    pub rc: AtomicU64,
    pub next: AtomicUsize,
    pub prev: AtomicUsize,
    pub meta: usize,
}

pub(crate) const HEADER_SIZE: usize = std::mem::size_of::<Header>();
const PREFIX_SIZE: usize = 16;
use crate::alloc::ALIGN;

pub(crate) const COUNT_MASK: u64 = 0xFFFF_FFFF;
/// Increments beyond this abort: the count must never carry into the flags.
pub(crate) const MAX_COUNT: u64 = 0x7FFF_FFFF;
pub(crate) const MARK: u64 = 1 << 32;
pub(crate) const WEAKREFED: u64 = 1 << 33;
pub(crate) const FINALIZED: u64 = 1 << 34;
pub(crate) const DYING: u64 = 1 << 35;
pub(crate) const COLLECTED: u64 = 1 << 36;
pub(crate) const PROMOTED: u64 = 1 << 37;
const NFIELDS_SHIFT: u32 = 48;
/// Field counts at or above this are kept in the prefix.
const SMALL_NFIELDS_LIMIT: usize = 0xFFFF;

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
    /// Computes the layout of an object, or `TooLarge`.
    pub fn new(nfields: usize, payload_size: usize) -> Result<Shape, ShapeError> {
        let ext = payload_size > 0 || nfields >= SMALL_NFIELDS_LIMIT;
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

    /// Bytes to allocate for the object (prefix included).
    pub fn size(&self) -> usize {
        self.total
    }

    /// Whether objects of this shape and type are tracked by the collector.
    pub fn tracked(&self, ty: *const GcType, kind: Kind) -> bool {
        // SAFETY: a non-NULL type is a valid GcType (API contract).
        kind == Kind::Weakref
            || self.nfields > 0
            || (!ty.is_null() && unsafe { (*ty).traverse.is_some() })
    }
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
pub unsafe fn init_object(
    base: *mut u8,
    ty: *const GcType,
    shape: &Shape,
    kind: Kind,
) -> *mut Header {
    let prefix = if shape.ext { PREFIX_SIZE } else { 0 };
    // SAFETY: base is a fresh allocation of `total` bytes, 16-aligned; the
    // header starts `prefix` bytes in and stays 16-aligned; we zero every
    // byte after the header (fields and payload) before anyone sees them.
    unsafe {
        if shape.ext {
            let words = base as *mut usize;
            words.write(shape.nfields);
            words.add(1).write(shape.payload_size);
        }
        let h = base.add(prefix) as *mut Header;
        ptr::write_bytes(
            (h as *mut u8).add(HEADER_SIZE),
            0,
            shape.total - prefix - HEADER_SIZE,
        );
        let small = if shape.ext {
            0
        } else {
            (shape.nfields as u64) << NFIELDS_SHIFT
        };
        let mut meta = ty as usize;
        debug_assert_eq!(meta & META_FLAGS, 0, "GcType must be 8-aligned");
        if shape.ext {
            meta |= META_EXT;
        }
        if kind == Kind::Weakref {
            meta |= META_WEAKREF;
        }
        if shape.tracked(ty, kind) {
            meta |= META_TRACKED;
        }
        h.write(Header {
            rc: AtomicU64::new(1 | small),
            next: AtomicUsize::new(0),
            prev: AtomicUsize::new(0),
            meta,
        });
        h
    }
}

/// The start and size of the allocation holding `h`.
///
/// # Safety
/// `h` points to a live object made by `init_object`.
pub unsafe fn allocation_of(h: *mut Header) -> (*mut u8, usize) {
    // SAFETY: the shape is read from the still-valid header.
    unsafe {
        if (*h).meta & META_EXT == 0 {
            // Header and small fields only: no prefix, no payload.
            return (h as *mut u8, HEADER_SIZE + nfields(h) * size_of::<usize>());
        }
        let shape = shape_of(h);
        let base = (h as *mut u8).sub(if shape.ext { PREFIX_SIZE } else { 0 });
        (base, shape.total)
    }
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
        self.rc.load(Relaxed) & COUNT_MASK
    }
    #[inline]
    pub fn has(&self, flag: u64) -> bool {
        self.rc.load(Relaxed) & flag != 0
    }
    /// Sets a flag bit. Caller holds the heap lock.
    #[inline]
    pub fn set(&self, flag: u64) {
        self.rc.fetch_or(flag, Relaxed);
    }
    /// Sets a flag bit with a plain load and store, for an object no other
    /// thread can change: collector garbage (no thread holds a reference, and
    /// those with weakrefs carry `MARK`, which makes every lock-free
    /// `weakref_get` CAS fail). Caller holds the heap lock.
    #[inline]
    pub fn set_exclusive(&self, flag: u64) {
        self.rc.store(self.rc.load(Relaxed) | flag, Relaxed);
    }
    /// The inverse of `set_exclusive`, under the same conditions.
    #[inline]
    pub fn unset_exclusive(&self, flag: u64) {
        self.rc.store(self.rc.load(Relaxed) & !flag, Relaxed);
    }
    /// Clears a flag bit. Caller holds the heap lock.
    #[inline]
    pub fn unset(&self, flag: u64) {
        self.rc.fetch_and(!flag, Relaxed);
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
    // Relaxed: a new reference can only be made from an existing one, which
    // already orders the object's creation before this point (as Arc::clone).
    // SAFETY: caller's contract.
    let rc = unsafe { &(*h).rc };
    let old = match crate::bias::with_owned_counts(|| {
        let v = rc.load(Relaxed);
        rc.store(v + 1, Relaxed);
        v
    }) {
        Some(v) => v,
        None => {
            crate::bias::before_shared_count_change();
            rc.fetch_add(1, Relaxed)
        }
    };
    if old & COUNT_MASK >= MAX_COUNT {
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
            ((*h).rc.load(Relaxed) >> NFIELDS_SHIFT) as usize
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
            0
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
        let off = Shape::new(nfields(h), size)
            .expect("live shape")
            .payload_offset;
        (h as *mut u8).add(off) as *mut c_void
    }
}

/// Calls `f` for every strong reference held by `h`: its fields, then the
/// references its type's `traverse` hook reports.
///
/// # Safety
/// `h` points to a live object; the caller holds the heap lock.
#[inline]
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
            traverse(
                h as *mut GcObject,
                visit_trampoline::<F>,
                &mut f as *mut F as *mut c_void,
            );
        }
    }
}

unsafe extern "C" fn visit_trampoline<F: FnMut(*mut Header)>(
    child: *mut GcObject,
    ctx: *mut c_void,
) {
    if child.is_null() {
        return;
    }
    // SAFETY: ctx is the `&mut F` passed by for_each_child for this call.
    unsafe { (*(ctx as *mut F))(child as *mut Header) }
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
    fn payload_is_16_aligned_after_a_prefix() {
        let s = Shape::new(3, 5).unwrap();
        assert!(s.ext);
        assert_eq!(s.payload_offset % 16, 0);
        assert_eq!(s.payload_offset, 64);
        assert_eq!(s.total, 16 + 64 + 5);
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
        for (n, p) in [(0, 0), (2, 0), (0, 24), (70000, 0), (5, 100)] {
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
}
