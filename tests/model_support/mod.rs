//! A model-based test of rcgc, shared by `tests/model.rs` (fixed seeds) and
//! the cargo-fuzz target `fuzz/fuzz_targets/model.rs` (fuzzer bytes).
//!
//! A `Runner` applies a sequence of `Op`s to the real library and, in
//! parallel, to a small reference model of the heap: every object with its
//! fields (and the one payload reference of the `Slot` type), the references
//! the test owns (`handles`), the "resurrection roots" that finalizers store
//! objects into, the weakrefs, the generation of every tracked object and
//! the collector's counts and thresholds (API.md and CPython 3.12: counts,
//! the choice of generation, the long-lived rule; where API.md is silent the
//! model follows CPython: a collection moves survivors and resurrected
//! objects to the next older generation, an object resurrected on the
//! refcount path goes back to generation 0).
//!
//! From the model each operation gets an exact expectation, checked after
//! every operation against what the hooks and callbacks recorded:
//! - which objects are finalized (at most once per object, with their fields
//!   and weakrefs intact), cleared, destroyed (exactly once, with every field
//!   released and no weakref left), resurrected;
//! - which weakref callbacks run (exactly once when the target really dies
//!   and the weakref is alive and not garbage itself; `weakref_get` gives
//!   NULL inside), newest weakref first per target;
//! - the death order per object (finalize < callbacks < clear < destroy) and,
//!   in a collection, every finalizer before any weakref callback, clear or
//!   destroy of the garbage;
//! - every collection (automatic ones included) with its generation and the
//!   number of unreachable objects it found (gc callbacks and the return
//!   value of gc_collect*), the counts and the cumulative stats.
//!
//! A full check (every few operations, after each explicit collection and
//! at the end) compares every live object with the model: refcount, fields,
//! payload, tracked/finalized flags, weakref_get/weakref_count, the frozen
//! count. At the end of a run every handle and root is released and a full
//! collection must free everything.
//!
//! A finalizer may also call gc_collect from inside a refcount death
//! (`DecrefCollect`): the model expects a normal full collection of
//! everything but the dying object, whose garbage's releases are queued
//! behind the death in progress (they run after the collection returns).
//!
//! The only leniency: when a weakref and its target both die in the same
//! refcount cascade (one released while the other's death is queued), the
//! order of queued deaths is unspecified, so the callback may or may not run
//! (at most once).
//!
//! The library keeps one global heap: runs must not overlap (one thread).

#![allow(dead_code)]

use rcgc::ffi::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::c_void;
use std::fmt::Write as _;
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

// ------------------------------------------------------------ randomness

/// Where the operations come from: a PRNG (tests) or fuzzer bytes.
pub trait Source {
    /// A number below `n` (n >= 1), or None when the source is exhausted.
    fn below(&mut self, n: u32) -> Option<u32>;
}

/// SplitMix64: a tiny, good-enough PRNG with fixed seeds.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Source for SplitMix {
    fn below(&mut self, n: u32) -> Option<u32> {
        Some((self.next_u64() % n as u64) as u32)
    }
}

/// Fuzzer bytes: one byte per choice (two for choices above 256).
pub struct Bytes<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl Source for Bytes<'_> {
    fn below(&mut self, n: u32) -> Option<u32> {
        let v = if n <= 256 {
            let b = *self.data.get(self.pos)? as u32;
            self.pos += 1;
            b
        } else {
            let b = self.data.get(self.pos..self.pos + 2)?;
            self.pos += 2;
            u16::from_le_bytes([b[0], b[1]]) as u32
        };
        Some(v % n)
    }
}

// ------------------------------------------------------------ operations

/// One step of a run. Indices into the handle and root lists are taken
/// modulo their length when the step is applied, so any sequence is valid
/// and a printed sequence replays as it is (see `replay`).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// ty: 0 plain, 1 Fin (finalize+clear+destroy), 2 Destroy (destroy
    /// only), 3 Slot (one payload reference: traverse+clear+finalize+
    /// destroy), 4 Clear (clear only).
    /// fin: what the finalizer does (Fin and Slot types): bit 0 resurrects
    /// the object (stores it in the roots), bit 1 stores its first child
    /// (field 0, or the payload reference without fields) in the roots,
    /// bit 2 stores a new object in field 0 if it is empty (a tracked
    /// one during a collection, an untracked one otherwise, so that it never
    /// triggers a collection in the middle of a refcount death), bit 3
    /// takes temporary references to the object (directly and through a
    /// holder object), which change nothing. During a
    /// collection every finalizer also calls gc_collect (which must return
    /// 0), and so does every weakref callback.
    New {
        ty: u8,
        nfields: u8,
        payload: bool,
        fin: u8,
    },
    /// idx may be out of range (error path); val None stores NULL.
    SetField {
        src: u32,
        idx: u8,
        val: Option<u32>,
    },
    /// Links the `len` newest handles in a ring: field `idx` (modulo the
    /// field count; objects without fields are skipped) of each refers to
    /// the next one.
    Cycle {
        len: u8,
        idx: u8,
    },
    /// Releases the `n` newest handles.
    Release {
        n: u8,
    },
    /// The payload reference of a Slot object (under gc_lock).
    SetSlot {
        src: u32,
        val: Option<u32>,
    },
    GetField {
        src: u32,
        idx: u8,
    },
    GetSlot {
        src: u32,
    },
    Incref {
        h: u32,
    },
    Decref {
        h: u32,
    },
    /// A decref that kills an object with a finalizer, which calls
    /// gc_collect from inside its refcount death (a full collection must
    /// run normally). A plain Decref for other objects.
    DecrefCollect {
        h: u32,
    },
    /// A decref that kills an object with a finalizer whose field 0 holds
    /// an object with an empty field 1: the finalizer stores its object
    /// there, a resurrection into an object's field with no reference
    /// dropped (that object may be old and untouched since the last full
    /// collection). A plain Decref for other objects.
    DecrefIntoChild {
        h: u32,
    },
    WeakNew {
        target: u32,
        cb: bool,
    },
    WeakGet {
        h: u32,
    },
    /// 0..=2: gc_collect_generation; 3: gc_collect.
    Collect {
        g: u8,
    },
    Enable(bool),
    Threshold(u8, u8, u8),
    /// Releases one resurrected object from the roots.
    DropRoot {
        r: u32,
    },
    /// Takes a new reference (a handle) to a resurrected object.
    GetRoot {
        r: u32,
    },
    /// Changes what the finalizer of a typed object will do (as New's fin).
    SetFinalizer {
        h: u32,
        fin: u8,
    },
    Freeze,
    Unfreeze,
    /// An allocation that fails (test hook): obj_new (tracked if nfields >
    /// 0) or weakref_new must return NULL with GC_ERR_NOMEM and change
    /// nothing. Skipped when the allocation would trigger a collection (a
    /// finalizer's allocation could be the one that fails).
    FailAlloc {
        nfields: u8,
        weak: bool,
    },
    /// Error paths (NULL arguments, bad generations, absurd sizes).
    Errors {
        which: u8,
    },
    /// Compare every live object with the model.
    Check,
}

/// The next operation. `nh`: number of handles the test owns; above `cap`
/// the operation is more often a release.
pub fn gen_op(src: &mut dyn Source, nh: usize, cap: usize) -> Option<Op> {
    // Half of the handle choices pick one of the four newest handles, so
    // that new objects get linked to each other (cycles) and released
    // together (cyclic garbage).
    let h = |src: &mut dyn Source| -> Option<u32> {
        if src.below(2)? == 0 {
            Some(nh.saturating_sub(1 + src.below(4)? as usize) as u32)
        } else {
            src.below(if cap > 256 { 65536 } else { 256 })
        }
    };
    let mut k = src.below(100)?;
    if nh > cap && k < 50 && src.below(3)? == 0 {
        k = 60; // many handles: release some
    }
    if nh < cap / 2 && k >= 96 {
        k -= 96; // few handles: grow instead of releasing a group
    }
    if nh == 0 && k >= 18 {
        k %= 18; // nothing to work on: create
    }
    Some(match k {
        0..=17 => Op::New {
            ty: src.below(5)? as u8,
            nfields: src.below(4)? as u8,
            payload: src.below(2)? == 1,
            fin: (src.below(3)? == 0) as u8
                | ((src.below(4)? == 0) as u8) << 1
                | ((src.below(4)? == 0) as u8) << 2
                | ((src.below(3)? == 0) as u8) << 3,
        },
        18..=31 => {
            let src_h = h(src)?;
            let idx = src.below(4)? as u8;
            let val = if src.below(5)? == 0 {
                None
            } else {
                Some(h(src)?)
            };
            Op::SetField {
                src: src_h,
                idx,
                val,
            }
        }
        32..=35 => Op::Cycle {
            len: 1 + src.below(4)? as u8,
            idx: src.below(3)? as u8,
        },
        36..=38 => {
            let src_h = h(src)?;
            let val = if src.below(4)? == 0 {
                None
            } else {
                Some(h(src)?)
            };
            Op::SetSlot { src: src_h, val }
        }
        39..=42 => Op::GetField {
            src: h(src)?,
            idx: src.below(4)? as u8,
        },
        43..=44 => Op::GetSlot { src: h(src)? },
        45..=46 => Op::Incref { h: h(src)? },
        47..=60 => Op::Decref { h: h(src)? },
        61 => Op::DecrefCollect { h: h(src)? },
        62 => Op::DecrefIntoChild { h: h(src)? },
        63..=68 => Op::WeakNew {
            target: h(src)?,
            cb: src.below(4)? != 0,
        },
        69..=72 => Op::WeakGet { h: h(src)? },
        73..=77 => Op::Collect {
            g: src.below(3)? as u8,
        },
        78..=79 => Op::Collect { g: 3 },
        80..=81 => Op::Enable(src.below(3)? != 0),
        82..=83 => Op::Threshold(
            src.below(24)? as u8,
            src.below(5)? as u8,
            src.below(5)? as u8,
        ),
        84..=85 => Op::DropRoot { r: h(src)? },
        86 => Op::GetRoot { r: h(src)? },
        87..=88 => Op::SetFinalizer {
            h: h(src)?,
            fin: src.below(16)? as u8,
        },
        89 => Op::Freeze,
        90 => Op::Unfreeze,
        91..=92 => Op::Errors {
            which: src.below(7)? as u8,
        },
        93 => Op::FailAlloc {
            nfields: src.below(3)? as u8,
            weak: src.below(3)? == 0,
        },
        94..=95 => Op::Check,
        _ => Op::Release {
            n: 1 + src.below(4)? as u8,
        },
    })
}

// ------------------------------------------------ hooks and their record

#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    Fin {
        id: u64,
        wcount: usize,
        fields: [usize; 4],
        resurrected: bool,
        rooted: usize,
        alloc: usize,
        nested: i64,
    },
    Clear {
        id: u64,
    },
    Destroy {
        id: u64,
        fields_null: bool,
        wcount: usize,
    },
    Cb {
        id: u64,
        wr: usize,
        null_inside: bool,
        nested: i64,
    },
    Gc {
        start: bool,
        generation: i32,
        collected: usize,
        uncollectable: usize,
    },
    /// A hook saw something impossible (bad payload).
    Bad(&'static str, usize),
}

static EVENTS: Mutex<Vec<Ev>> = Mutex::new(Vec::new());
/// Objects resurrected by finalizers (one strong reference each).
static ROOTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record(e: Ev) {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner()).push(e);
}
fn take_events() -> Vec<Ev> {
    std::mem::take(&mut *EVENTS.lock().unwrap_or_else(|p| p.into_inner()))
}
fn roots_snapshot() -> Vec<usize> {
    ROOTS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

const MAGIC: u64 = 0x6d6f_6465_6c21_7263;
const F_RESURRECT: u64 = 1;
const F_ROOT_CHILD: u64 = 2;
const F_ALLOC: u64 = 4;
/// The finalizer takes temporary references to its own object, directly
/// (incref, decref) and through a holder object whose death (queued during
/// a death in progress) drops it: not a resurrection (issue 10, defects 1
/// and 2: the deaths a finalizer causes settle before the check).
const F_TEMP: u64 = 8;
const FIN_MASK: u64 = 15;

/// Set by the gc callback between the start and the stop of a collection.
static IN_GC: AtomicBool = AtomicBool::new(false);
/// One-shot: the next finalizer to run outside a collection calls gc_collect.
static ARM_COLLECT: AtomicBool = AtomicBool::new(false);
/// Set before a DecrefIntoChild; the finalizer that consumes it stores its
/// object in field 1 of its field 0.
static ARM_INTO_CHILD: AtomicBool = AtomicBool::new(false);

/// The payload of typed objects.
#[repr(C)]
struct Pay {
    magic: u64,
    id: u64,
    flags: u64,
    slot: *mut GcObject,
}
const PAY_SIZE: usize = size_of::<Pay>();
/// Plain objects with a payload carry (magic, id) (its size in the header;
/// every fourth has 8 bytes more, still in the header).
const PLAIN_PAY_SIZE: usize = 16;
/// Every fourth plain object with a payload has the smallest size kept in
/// a prefix before the header instead, and every fourth this size: too big
/// for the library's pool (its own system allocation, which the collector
/// moves between lists where it marks pool blocks in place).
const BIG_PAY_SIZE: usize = 600;
/// The smallest payload whose size the library keeps in a prefix (31 bytes
/// fit its count word).
const PREFIX_PAY_SIZE: usize = 32;

unsafe fn pay<'a>(o: *mut GcObject) -> Option<&'a mut Pay> {
    // SAFETY: typed objects of this test have a Pay payload.
    let p = obj_payload(o) as *mut Pay;
    if p.is_null() || unsafe { (*p).magic } != MAGIC {
        record(Ev::Bad("payload magic", o as usize));
        return None;
    }
    Some(unsafe { &mut *p })
}

unsafe extern "C" fn h_traverse(o: *mut GcObject, visit: GcVisitFn, ctx: *mut c_void) {
    // SAFETY: a live Slot object; its slot holds a strong reference or NULL.
    unsafe {
        if let Some(p) = pay(o)
            && !p.slot.is_null()
        {
            visit(p.slot, ctx);
        }
    }
}

unsafe extern "C" fn h_clear(o: *mut GcObject) {
    // SAFETY: o is live (step 4 of its death).
    unsafe {
        let Some(p) = pay(o) else { return };
        record(Ev::Clear { id: p.id });
        let old = std::mem::replace(&mut p.slot, ptr::null_mut());
        if !old.is_null() {
            obj_decref(old);
        }
    }
}

unsafe extern "C" fn h_finalize(o: *mut GcObject) {
    // SAFETY: o is live (step 1 of its death).
    unsafe {
        let Some(p) = pay(o) else { return };
        let mut fields = [0usize; 4];
        for (i, f) in fields.iter_mut().enumerate().take(obj_nfields(o).min(3)) {
            *f = obj_borrow_field(o, i) as usize;
        }
        fields[3] = p.slot as usize;
        let wcount = weakref_count(o);
        let resurrected = p.flags & F_RESURRECT != 0;
        let id = p.id;
        let mut rooted = ptr::null_mut();
        if p.flags & F_ROOT_CHILD != 0 {
            rooted = if obj_nfields(o) > 0 {
                obj_borrow_field(o, 0)
            } else {
                p.slot
            };
            if !rooted.is_null() {
                obj_incref(rooted);
                ROOTS
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(rooted as usize);
            }
        }
        let in_gc = IN_GC.load(Relaxed);
        let mut alloc = ptr::null_mut();
        if p.flags & F_ALLOC != 0 && obj_nfields(o) > 0 && obj_borrow_field(o, 0).is_null() {
            alloc = if in_gc { obj_new(1, 0) } else { obj_new(0, 0) };
            if obj_set_field(o, 0, alloc) != GC_OK {
                record(Ev::Bad("obj_set_field in a finalizer", o as usize));
            }
            obj_decref(alloc);
        }
        if p.flags & F_TEMP != 0 {
            obj_incref(o);
            obj_decref(o);
            // The holder is tracked: no automatic collection may start here
            // (its allocation and death leave count0 as it was).
            let enabled = gc_isenabled();
            gc_disable();
            let holder = obj_new(1, 0);
            if obj_set_field(holder, 0, o) != GC_OK {
                record(Ev::Bad("obj_set_field on a holder", o as usize));
            }
            obj_decref(holder);
            if enabled {
                gc_enable();
            }
        }
        if ARM_INTO_CHILD.swap(false, Relaxed) {
            let c = obj_borrow_field(o, 0);
            if c.is_null() || obj_set_field(c, 1, o) != GC_OK {
                record(Ev::Bad("obj_set_field into field 0's object", o as usize));
            }
        }
        if resurrected {
            obj_incref(o);
            ROOTS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(o as usize);
        }
        let nested = if in_gc || ARM_COLLECT.swap(false, Relaxed) {
            gc_collect()
        } else {
            -1
        };
        record(Ev::Fin {
            id,
            wcount,
            fields,
            resurrected,
            rooted: rooted as usize,
            alloc: alloc as usize,
            nested,
        });
    }
}

unsafe extern "C" fn h_destroy(o: *mut GcObject) {
    // SAFETY: o is live until freed (step 5).
    unsafe {
        let Some(p) = pay(o) else { return };
        let fields_null =
            p.slot.is_null() && (0..obj_nfields(o)).all(|i| obj_borrow_field(o, i).is_null());
        let wcount = weakref_count(o);
        record(Ev::Destroy {
            id: p.id,
            fields_null,
            wcount,
        });
    }
}

unsafe extern "C" fn weak_cb(wr: *mut GcObject, ctx: *mut c_void) {
    let got = weakref_get(wr);
    if !got.is_null() {
        obj_decref(got);
    }
    let nested = if IN_GC.load(Relaxed) {
        gc_collect()
    } else {
        -1
    };
    record(Ev::Cb {
        id: ctx as u64,
        wr: wr as usize,
        null_inside: got.is_null(),
        nested,
    });
}

unsafe extern "C" fn gc_cb(phase: GcPhase, info: *const GcCallbackInfo, _ctx: *mut c_void) {
    // SAFETY: the library passes a valid info.
    let info = unsafe { &*info };
    IN_GC.store(phase == GcPhase::GC_PHASE_START, Relaxed);
    record(Ev::Gc {
        start: phase == GcPhase::GC_PHASE_START,
        generation: info.generation,
        collected: info.collected,
        uncollectable: info.uncollectable,
    });
}

/// One function pointer value for add and remove (two reifications of a
/// function need not compare equal, and under Miri they do not).
static GC_CB: GcCallbackFn = Some(gc_cb);

struct SyncType(GcType);
// SAFETY: the types are immutable statics; `name` points to a static string.
unsafe impl Sync for SyncType {}

static TY_FIN: SyncType = SyncType(GcType {
    name: c"Fin".as_ptr(),
    traverse: None,
    clear: Some(h_clear),
    finalize: Some(h_finalize),
    destroy: Some(h_destroy),
});
static TY_DESTROY: SyncType = SyncType(GcType {
    name: c"Destroy".as_ptr(),
    traverse: None,
    clear: None,
    finalize: None,
    destroy: Some(h_destroy),
});
static TY_SLOT: SyncType = SyncType(GcType {
    name: c"Slot".as_ptr(),
    traverse: Some(h_traverse),
    clear: Some(h_clear),
    finalize: Some(h_finalize),
    destroy: Some(h_destroy),
});
static TY_CLEAR: SyncType = SyncType(GcType {
    name: c"Clear".as_ptr(),
    traverse: None,
    clear: Some(h_clear),
    finalize: None,
    destroy: None,
});

// ------------------------------------------------------------- the model

type Id = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Plain,
    Fin,
    Destroy,
    Slot,
    Clear,
    Weakref,
}

impl Ty {
    fn from_u8(t: u8) -> Ty {
        [Ty::Plain, Ty::Fin, Ty::Destroy, Ty::Slot, Ty::Clear][t as usize % 5]
    }
    fn gc_type(self) -> *const GcType {
        match self {
            Ty::Fin => &TY_FIN.0,
            Ty::Destroy => &TY_DESTROY.0,
            Ty::Slot => &TY_SLOT.0,
            Ty::Clear => &TY_CLEAR.0,
            Ty::Plain | Ty::Weakref => ptr::null(),
        }
    }
    fn typed(self) -> bool {
        !matches!(self, Ty::Plain | Ty::Weakref)
    }
    fn has_fin(self) -> bool {
        matches!(self, Ty::Fin | Ty::Slot)
    }
    fn has_clear(self) -> bool {
        matches!(self, Ty::Fin | Ty::Slot | Ty::Clear)
    }
    fn has_destroy(self) -> bool {
        matches!(self, Ty::Fin | Ty::Slot | Ty::Destroy)
    }
}

const FROZEN: u8 = 3;

#[derive(Clone, Debug)]
struct MObj {
    ptr: usize,
    ty: Ty,
    fields: Vec<Option<Id>>,
    slot: Option<Id>,
    payload_size: usize,
    tracked: bool,
    /// F_RESURRECT | F_ROOT_CHILD | F_ALLOC | F_TEMP
    fin_flags: u64,
    finalized: bool,
    alive: bool,
    /// 0..=2, or FROZEN.
    gen_no: u8,
    /// Promoted into generation 2 by a generation-1 collection since the
    /// last full one, and not dead since: counted in `pending` (API v2).
    promoted: bool,
    /// Expected reference count while alive.
    rc: usize,
    /// Weakref objects: the target, whether a callback was given, and
    /// whether the weakref is still in the target's list.
    target: Option<Id>,
    cb: bool,
    attached: bool,
    /// Weakrefs in this object's list, oldest first.
    wrs: Vec<Id>,
}

impl MObj {
    fn children(&self) -> impl Iterator<Item = Id> + '_ {
        self.fields.iter().flatten().copied().chain(self.slot)
    }
}

/// What the model expects one operation to cause.
#[derive(Default, Debug)]
struct Expect {
    fin: Vec<FinExp>,
    clear: Vec<Id>,
    destroy: Vec<Id>,
    cb_req: Vec<Id>,
    cb_maybe: Vec<Id>,
    gcs: Vec<GcExp>,
}

#[derive(Debug)]
struct FinExp {
    id: Id,
    fields: [usize; 4],
    wlo: usize,
    whi: usize,
    resurrect: bool,
    rooted: usize,
    /// The object the finalizer allocates (its pointer is learnt from the
    /// event).
    alloc: Option<Id>,
    /// What gc_collect inside the finalizer returns (-1: not called).
    nested: i64,
}

#[derive(Debug)]
struct GcExp {
    generation: usize,
    found: usize,
    /// Objects finalized by this collection (not by the cascade after it).
    fins: Vec<Id>,
    /// The garbage it freed.
    garbage: Vec<Id>,
}

pub struct Runner {
    label: String,
    objs: Vec<MObj>,
    handles: Vec<Id>,
    roots: Vec<Id>,
    count: [usize; 3],
    thr: [usize; 3],
    enabled: bool,
    pending: usize,
    total: usize,
    /// Expected cumulative stats: (collections, collected, uncollectable).
    stats: [(usize, usize, usize); 3],
    exp: Expect,
    ops: Vec<Op>,
    /// Full check every this many operations.
    check_every: usize,
    pub collections: usize,
    pub max_alive: usize,
    /// A collection is running (hooks see IN_GC).
    in_gc: bool,
    /// The next finalizer in a refcount death calls gc_collect.
    armed: bool,
    /// The next finalizer stores its object in field 1 of its field 0
    /// (DecrefIntoChild).
    into_child: bool,
    /// The object whose refcount death is running that nested collection
    /// (unlinked from its generation: not part of it).
    dying: Option<Id>,
    /// How often each interesting situation occurred (coverage).
    pub cov: BTreeMap<&'static str, usize>,
    /// gc_get_memory's (objects, tracked) when the run started.
    mem_base: (usize, usize),
}

fn fail_msg(label: &str, ops: &[Op], msg: &str) -> String {
    let mut s = format!(
        "model mismatch in {label} at op #{}: {msg}\n",
        ops.len().saturating_sub(1)
    );
    let from = if ops.len() <= 200 { 0 } else { ops.len() - 60 };
    let _ = writeln!(s, "last ops (from #{from}):");
    for (i, op) in ops.iter().enumerate().skip(from) {
        let _ = writeln!(s, "  #{i}: Op::{op:?},");
    }
    s
}

macro_rules! check {
    ($self:ident, $cond:expr, $($arg:tt)*) => {
        if !$cond {
            let msg = format!($($arg)*);
            panic!("{}", fail_msg(&$self.label, &$self.ops, &msg));
        }
    };
}

impl Runner {
    /// Starts a run on an empty heap: a full collection resets the counts
    /// and the long-lived figures; a gc callback records every collection.
    pub fn new(label: impl Into<String>) -> Runner {
        gc_unfreeze();
        gc_enable();
        gc_set_threshold(0, 10, 10);
        gc_collect();
        take_events();
        ROOTS.lock().unwrap_or_else(|p| p.into_inner()).clear();
        assert_eq!(gc_callback_add(GC_CB, ptr::null_mut()), GC_OK);
        let mut stats = [(0, 0, 0); 3];
        for (g, s) in stats.iter_mut().enumerate() {
            let st = gc_get_stats(g as i32);
            *s = (st.collections, st.collected, st.uncollectable);
        }
        let c = gc_get_count();
        let m = gc_get_memory();
        let r = Runner {
            label: label.into(),
            objs: Vec::new(),
            handles: Vec::new(),
            roots: Vec::new(),
            count: [0; 3],
            thr: [0, 10, 10],
            enabled: true,
            pending: 0,
            total: 0,
            stats,
            exp: Expect::default(),
            ops: Vec::new(),
            check_every: 16,
            collections: 0,
            max_alive: 0,
            in_gc: false,
            armed: false,
            into_child: false,
            dying: None,
            cov: BTreeMap::new(),
            mem_base: (m.objects, m.tracked),
        };
        check!(
            r,
            (c.count0, c.count1, c.count2) == (0, 0, 0),
            "counts after a full collection on an empty heap: {c:?}"
        );
        r
    }

    pub fn set_check_every(&mut self, n: usize) {
        self.check_every = n.max(1);
    }

    pub fn handles(&self) -> usize {
        self.handles.len()
    }

    fn p(&self, id: Id) -> *mut GcObject {
        self.objs[id].ptr as *mut GcObject
    }

    fn ptr_of(&self, id: Option<Id>) -> usize {
        id.map_or(0, |i| self.objs[i].ptr)
    }

    fn handle(&self, k: u32) -> Option<Id> {
        if self.handles.is_empty() {
            None
        } else {
            Some(self.handles[k as usize % self.handles.len()])
        }
    }

    // ---------------------------------------------------- model mechanics

    /// A tracked allocation: count0 goes up and may trigger a collection
    /// (CPython 3.12's choice of generation) before the object exists.
    fn alloc_tracked(&mut self) {
        self.count[0] += 1;
        if self.enabled && self.thr[0] > 0 && self.count[0] > self.thr[0] {
            let g = (0..3).rev().find(|&i| {
                self.count[i] > self.thr[i] && !(i == 2 && self.pending < self.total / 4)
            });
            if let Some(g) = g {
                self.cov(["automatic gen0", "automatic gen1", "automatic gen2"][g]);
                if g < 2 && self.count[2] > self.thr[2] {
                    self.cov("automatic gen2 skipped (long-lived rule)");
                }
                self.collect(g);
            }
        }
    }

    /// Drops one model reference to `id`; at zero the refcount death path.
    fn release(&mut self, id: Id) {
        let o = &mut self.objs[id];
        assert!(o.alive && o.rc > 0, "model: release of a dead object {id}");
        o.rc -= 1;
        if o.rc == 0 {
            self.unpend(id);
            self.cascade(vec![id]);
        }
    }

    /// `id`'s count reached zero: its death starts, it leaves generation 2
    /// and no longer counts as promoted (even if a finalizer resurrects it:
    /// it then rejoins generation 0).
    fn unpend(&mut self, id: Id) {
        if std::mem::take(&mut self.objs[id].promoted) {
            self.pending -= 1;
            self.cov("promoted object dies (leaves long_lived_pending)");
        }
    }

    /// The finalizer of `z` runs (what `h_finalize` does). `wlo`: the
    /// fewest weakrefs it may see (the caller fixes it for a cascade).
    fn finalize(&mut self, z: Id, wlo: usize) {
        let fields = self.snapshot_fields(z);
        let o = &mut self.objs[z];
        assert!(!o.finalized);
        o.finalized = true;
        let flags = o.fin_flags;
        let whi = o.wrs.len();
        let child = if flags & F_ROOT_CHILD == 0 {
            None
        } else if !o.fields.is_empty() {
            o.fields[0]
        } else {
            o.slot
        };
        if let Some(c) = child {
            self.objs[c].rc += 1;
            self.roots.push(c);
            self.cov("finalizer roots a child");
        }
        if std::mem::take(&mut self.into_child) {
            let c = self.objs[z].fields[0].expect("armed with a child");
            self.objs[c].fields[1] = Some(z);
            self.objs[z].rc += 1;
            self.cov("finalizer stores its object in an object's field");
        }
        if flags & F_RESURRECT != 0 {
            self.objs[z].rc += 1;
            self.roots.push(z);
        }
        if flags & F_TEMP != 0 {
            // Nothing changes: the temporaries are gone before the check.
            self.cov(if self.in_gc {
                "finalizer takes temporary references (collection)"
            } else {
                "finalizer takes temporary references (refcount)"
            });
        }
        let rooted = self.ptr_of(child);
        let mut alloc = None;
        if flags & F_ALLOC != 0 && self.objs[z].fields.first() == Some(&None) {
            let n = self.objs.len();
            let tracked = self.in_gc;
            if tracked {
                self.count[0] += 1;
            }
            self.objs.push(MObj {
                ptr: 0,
                ty: Ty::Plain,
                fields: vec![None; tracked as usize],
                slot: None,
                payload_size: 0,
                tracked,
                fin_flags: 0,
                finalized: false,
                alive: true,
                gen_no: 0,
                promoted: false,
                rc: 1,
                target: None,
                cb: false,
                attached: false,
                wrs: Vec::new(),
            });
            self.objs[z].fields[0] = Some(n);
            alloc = Some(n);
            self.cov(if tracked {
                "finalizer allocates (tracked)"
            } else {
                "finalizer allocates (untracked)"
            });
        }
        let nested = if self.in_gc { 0 } else { -1 };
        self.exp.fin.push(FinExp {
            id: z,
            fields,
            wlo,
            whi,
            resurrect: flags & F_RESURRECT != 0,
            rooted,
            alloc,
            nested,
        });
    }

    fn cov(&mut self, what: &'static str) {
        *self.cov.entry(what).or_default() += 1;
    }
    fn add_cov(&mut self, what: &'static str, n: usize) {
        *self.cov.entry(what).or_default() += n;
    }

    fn snapshot_fields(&self, id: Id) -> [usize; 4] {
        let o = &self.objs[id];
        let mut f = [0; 4];
        for (i, c) in o.fields.iter().enumerate().take(3) {
            f[i] = self.ptr_of(*c);
        }
        f[3] = self.ptr_of(o.slot);
        f
    }

    /// Marks `id` dead, expects its clear/destroy hooks, and releases its
    /// children; children at zero are pushed on `queue`. Children in
    /// `skip` (collector garbage) are dead already and not released.
    fn kill(&mut self, id: Id, queue: &mut Vec<Id>, skip: Option<&HashSet<Id>>) {
        let o = &mut self.objs[id];
        o.alive = false;
        if o.tracked {
            self.count[0] = self.count[0].saturating_sub(1);
        }
        if o.ty.has_clear() {
            self.exp.clear.push(id);
        }
        if o.ty.has_destroy() {
            self.exp.destroy.push(id);
        }
        let children: Vec<Id> = o.children().collect();
        o.fields.iter_mut().for_each(|f| *f = None);
        o.slot = None;
        for c in children {
            if skip.is_some_and(|s| s.contains(&c)) {
                continue;
            }
            let co = &mut self.objs[c];
            assert!(co.alive && co.rc > 0, "model: dead child {c} of {id}");
            co.rc -= 1;
            if co.rc == 0 {
                self.unpend(c);
                queue.push(c);
            }
        }
    }

    /// Removes dead weakrefs from their targets' lists and clears the lists
    /// of dead targets.
    fn detach(&mut self, dead: &[Id]) {
        for &t in dead {
            for w in std::mem::take(&mut self.objs[t].wrs) {
                self.objs[w].attached = false;
            }
        }
        for &w in dead {
            if self.objs[w].attached {
                self.objs[w].attached = false;
                let t = self.objs[w].target.unwrap();
                self.objs[t].wrs.retain(|&x| x != w);
            }
        }
    }

    /// The refcount death path for objects whose count reached zero: the
    /// set that dies does not depend on the order (finalizers only
    /// resurrect their own object).
    fn cascade(&mut self, mut queue: Vec<Id>) {
        let mut died = Vec::new();
        let mut fins = Vec::new();
        while let Some(z) = queue.pop() {
            let o = &self.objs[z];
            assert!(o.alive && o.rc == 0, "model: cascade on {z}");
            if o.ty.has_fin() && !o.finalized {
                self.finalize(z, 0);
                let k = self.exp.fin.len() - 1;
                fins.push((k, z));
                if std::mem::take(&mut self.armed) {
                    // gc_collect from inside this death: a full collection
                    // of everything else; the deaths it causes join this
                    // cascade (they are queued behind it).
                    self.dying = Some(z);
                    let (found, q) = self.collect_inner(2);
                    self.in_gc = false;
                    self.dying = None;
                    queue.extend(q);
                    self.exp.fin[k].nested = found as i64;
                    self.cov("gc_collect inside a refcount death");
                }
                let o = &mut self.objs[z];
                if o.rc > 0 {
                    if o.tracked {
                        o.gen_no = 0;
                    }
                    self.cov("resurrect (refcount)");
                    continue;
                }
            }
            self.kill(z, &mut queue, None);
            died.push(z);
            self.cov(if self.objs[z].tracked {
                "refcount death (tracked)"
            } else {
                "refcount death (untracked)"
            });
        }
        let died_set: HashSet<Id> = died.iter().copied().collect();
        for &t in &died {
            for &w in &self.objs[t].wrs {
                if self.objs[w].cb {
                    if died_set.contains(&w) {
                        self.exp.cb_maybe.push(w);
                        *self.cov.entry("callback maybe (refcount)").or_default() += 1;
                    } else {
                        assert!(self.objs[w].alive);
                        self.exp.cb_req.push(w);
                        *self.cov.entry("callback (refcount)").or_default() += 1;
                    }
                }
            }
        }
        for (i, z) in fins {
            self.exp.fin[i].wlo = self.objs[z]
                .wrs
                .iter()
                .filter(|w| !died_set.contains(w))
                .count();
        }
        self.detach(&died);
    }

    /// Objects of `set` reachable from members referenced from outside it
    /// (reference subtraction, as the collector does).
    fn reachable_within(&self, set: &[Id], member: &HashSet<Id>) -> HashSet<Id> {
        let mut refs: HashMap<Id, usize> = set.iter().map(|&i| (i, self.objs[i].rc)).collect();
        for &a in set {
            for c in self.objs[a].children() {
                if let Some(r) = refs.get_mut(&c) {
                    assert!(*r > 0, "model: gc_refs below zero for {c}");
                    *r -= 1;
                }
            }
        }
        let mut reach: HashSet<Id> = HashSet::new();
        let mut stack: Vec<Id> = set.iter().copied().filter(|i| refs[i] > 0).collect();
        while let Some(x) = stack.pop() {
            if reach.insert(x) {
                for c in self.objs[x].children() {
                    if member.contains(&c) && !reach.contains(&c) {
                        stack.push(c);
                    }
                }
            }
        }
        reach
    }

    /// One collection of generation `g` (and the younger ones).
    fn collect(&mut self, g: usize) -> usize {
        let (found, queue) = self.collect_inner(g);
        self.cascade(queue);
        self.in_gc = false;
        found
    }

    /// A collection up to the release of the garbage; returns the number
    /// found and the objects whose count the release brought to zero.
    fn collect_inner(&mut self, g: usize) -> (usize, Vec<Id>) {
        self.collections += 1;
        self.in_gc = true;
        if g < 2 {
            self.count[g + 1] += 1;
        }
        for c in &mut self.count[..=g] {
            *c = 0;
        }
        let old = (g + 1).min(2) as u8;
        let young: Vec<Id> = (0..self.objs.len())
            .filter(|&i| {
                let o = &self.objs[i];
                o.alive && o.tracked && o.gen_no as usize <= g && self.dying != Some(i)
            })
            .collect();
        let young_set: HashSet<Id> = young.iter().copied().collect();
        let reach = self.reachable_within(&young, &young_set);
        let unreachable: Vec<Id> = young
            .iter()
            .copied()
            .filter(|i| !reach.contains(i))
            .collect();
        for &r in &reach {
            self.objs[r].gen_no = old;
            self.objs[r].promoted |= g == 1;
        }
        if g == 1 {
            self.pending += reach.len();
        } else if g == 2 {
            self.pending = 0;
            self.total = reach.len();
            for &y in &young {
                self.objs[y].promoted = false;
            }
        }
        // Finalizers of the unreachable, before anything is cleared.
        let mut fins = Vec::new();
        for &u in &unreachable {
            if self.objs[u].ty.has_fin() && !self.objs[u].finalized {
                let n = self.objs[u].wrs.len();
                self.finalize(u, n);
                fins.push(u);
                if self.objs[u].fin_flags & F_RESURRECT != 0 {
                    self.cov("resurrect (collection)");
                }
            }
        }
        // Resurrection check.
        let unreachable_set: HashSet<Id> = unreachable.iter().copied().collect();
        let rescued = if fins.is_empty() {
            HashSet::new()
        } else {
            self.reachable_within(&unreachable, &unreachable_set)
        };
        for &s in &rescued {
            self.objs[s].gen_no = old;
        }
        self.add_cov("rescued with a resurrected object", rescued.len());
        self.add_cov("finalized (collection)", fins.len());
        self.add_cov("garbage (collection)", unreachable.len() - rescued.len());
        self.add_cov(
            ["gen0 collection", "gen1 collection", "gen2 collection"][g],
            1,
        );
        if unreachable.iter().any(|&u| self.objs[u].slot.is_some()) {
            self.cov("garbage with payload references");
        }
        let garbage: Vec<Id> = unreachable
            .iter()
            .copied()
            .filter(|i| !rescued.contains(i))
            .collect();
        let garbage_set: HashSet<Id> = garbage.iter().copied().collect();
        // Weakrefs to the garbage: callbacks unless the weakref is garbage.
        for &t in &garbage {
            for &w in &self.objs[t].wrs {
                if self.objs[w].cb && !garbage_set.contains(&w) {
                    self.exp.cb_req.push(w);
                    *self.cov.entry("callback (collection)").or_default() += 1;
                } else if self.objs[w].cb {
                    *self
                        .cov
                        .entry("callback suppressed: weakref is garbage")
                        .or_default() += 1;
                }
            }
        }
        self.detach(&garbage);
        let mut queue = Vec::new();
        for &f in &garbage {
            self.kill(f, &mut queue, Some(&garbage_set));
        }
        let found = garbage.len();
        self.stats[g].0 += 1;
        self.stats[g].1 += found;
        self.exp.gcs.push(GcExp {
            generation: g,
            found,
            fins,
            garbage,
        });
        (found, queue)
    }

    // ------------------------------------------------------- operations

    /// Applies one operation to the library and the model, then checks.
    pub fn apply(&mut self, op: Op) {
        self.ops.push(op.clone());
        match op {
            Op::New {
                ty,
                nfields,
                payload,
                fin,
            } => {
                let ty = Ty::from_u8(ty);
                let nfields = nfields as usize % 4;
                let tracked = nfields > 0 || ty == Ty::Slot;
                if tracked {
                    self.alloc_tracked();
                }
                let id = self.objs.len();
                let (p, payload_size) = if ty.typed() {
                    let p = obj_new_typed(ty.gc_type(), nfields, PAY_SIZE);
                    check!(self, !p.is_null(), "obj_new_typed failed");
                    // SAFETY: a fresh object with a PAY_SIZE payload.
                    unsafe {
                        (obj_payload(p) as *mut Pay).write(Pay {
                            magic: MAGIC,
                            id: id as u64,
                            flags: fin as u64 & FIN_MASK,
                            slot: ptr::null_mut(),
                        })
                    };
                    (p, PAY_SIZE)
                } else {
                    let size = match (payload, id % 4) {
                        (false, _) => 0,
                        (true, 3) => BIG_PAY_SIZE,
                        (true, 2) => PREFIX_PAY_SIZE,
                        (true, 1) => PLAIN_PAY_SIZE + 8,
                        (true, _) => PLAIN_PAY_SIZE,
                    };
                    let p = obj_new(nfields, size);
                    check!(self, !p.is_null(), "obj_new failed");
                    if payload {
                        // SAFETY: a fresh object with a payload of 16 bytes or more.
                        unsafe { (obj_payload(p) as *mut [u64; 2]).write([MAGIC, id as u64]) };
                    }
                    (p, size)
                };
                self.objs.push(MObj {
                    ptr: p as usize,
                    ty,
                    fields: vec![None; nfields],
                    slot: None,
                    payload_size,
                    tracked,
                    fin_flags: if ty.typed() { fin as u64 & FIN_MASK } else { 0 },
                    finalized: false,
                    alive: true,
                    gen_no: 0,
                    promoted: false,
                    rc: 1,
                    target: None,
                    cb: false,
                    attached: false,
                    wrs: Vec::new(),
                });
                self.handles.push(id);
                check!(
                    self,
                    obj_refcount(p) == 1,
                    "new object refcount {}",
                    obj_refcount(p)
                );
                check!(
                    self,
                    gc_is_tracked(p) == tracked,
                    "new object tracked={}",
                    gc_is_tracked(p)
                );
            }
            Op::SetField { src, idx, val } => {
                let Some(s) = self.handle(src) else {
                    return self.after_op();
                };
                let v = val.and_then(|k| self.handle(k));
                self.set_field(s, idx as usize, v);
            }
            Op::Cycle { len, idx } => {
                let n = (len as usize).min(self.handles.len());
                let ring: Vec<Id> = self.handles[self.handles.len() - n..]
                    .iter()
                    .copied()
                    .filter(|&x| !self.objs[x].fields.is_empty())
                    .collect();
                for k in 0..ring.len() {
                    let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                    let i = idx as usize % self.objs[a].fields.len();
                    self.set_field(a, i, Some(b));
                }
            }
            Op::Release { n } => {
                for _ in 0..(n as usize).min(self.handles.len()) {
                    let x = self.handles.pop().unwrap();
                    obj_decref(self.p(x));
                    self.release(x);
                }
            }
            Op::SetSlot { src, val } => {
                let Some(s) = self.handle(src) else {
                    return self.after_op();
                };
                if self.objs[s].ty != Ty::Slot {
                    return self.after_op();
                }
                let v = val.and_then(|k| self.handle(k));
                let vp = v.map_or(ptr::null_mut(), |v| self.p(v));
                // SAFETY: s is a live Slot object we hold; the payload
                // reference changes under the heap lock (API "Threads").
                let old = unsafe {
                    gc_lock();
                    let p = &mut *(obj_payload(self.p(s)) as *mut Pay);
                    obj_incref(vp);
                    let old = std::mem::replace(&mut p.slot, vp);
                    gc_unlock();
                    old
                };
                obj_decref(old);
                if let Some(v) = v {
                    self.objs[v].rc += 1;
                }
                let mold = std::mem::replace(&mut self.objs[s].slot, v);
                check!(
                    self,
                    old as usize == self.ptr_of(mold),
                    "slot held {old:p}, model {mold:?}"
                );
                if let Some(mold) = mold {
                    self.release(mold);
                }
            }
            Op::GetField { src, idx } => {
                let Some(s) = self.handle(src) else {
                    return self.after_op();
                };
                let i = idx as usize;
                let r = obj_get_field(self.p(s), i);
                if i >= self.objs[s].fields.len() {
                    check!(self, r.is_null(), "obj_get_field out of range gave {r:p}");
                    check!(
                        self,
                        gc_last_error_code() == GC_ERR_INDEX,
                        "last error {}",
                        gc_last_error_code()
                    );
                    let b = obj_borrow_field(self.p(s), i);
                    check!(
                        self,
                        b.is_null(),
                        "obj_borrow_field out of range gave {b:p}"
                    );
                } else {
                    let m = self.objs[s].fields[i];
                    check!(
                        self,
                        r as usize == self.ptr_of(m),
                        "obj_get_field gave {r:p}, model {m:?}"
                    );
                    if let Some(c) = m {
                        self.objs[c].rc += 1;
                        self.handles.push(c);
                    }
                }
            }
            Op::GetSlot { src } => {
                let Some(s) = self.handle(src) else {
                    return self.after_op();
                };
                if self.objs[s].ty != Ty::Slot {
                    return self.after_op();
                }
                // SAFETY: as SetSlot.
                let v = unsafe {
                    gc_lock();
                    let v = (*(obj_payload(self.p(s)) as *mut Pay)).slot;
                    obj_incref(v);
                    gc_unlock();
                    v
                };
                let m = self.objs[s].slot;
                check!(
                    self,
                    v as usize == self.ptr_of(m),
                    "slot held {v:p}, model {m:?}"
                );
                if let Some(c) = m {
                    self.objs[c].rc += 1;
                    self.handles.push(c);
                }
            }
            Op::Incref { h } => {
                let Some(x) = self.handle(h) else {
                    return self.after_op();
                };
                obj_incref(self.p(x));
                self.objs[x].rc += 1;
                self.handles.push(x);
            }
            Op::Decref { h } => {
                if self.handles.is_empty() {
                    return self.after_op();
                }
                let x = self.handles.remove(h as usize % self.handles.len());
                obj_decref(self.p(x));
                self.release(x);
            }
            Op::DecrefCollect { h } | Op::DecrefIntoChild { h } => {
                if self.handles.is_empty() {
                    return self.after_op();
                }
                // The finalizer of the object this decref kills runs first
                // in its death: it consumes the arm.
                let into_child = matches!(op, Op::DecrefIntoChild { .. });
                let arm = if into_child {
                    &ARM_INTO_CHILD
                } else {
                    &ARM_COLLECT
                };
                let x = self.handles.remove(h as usize % self.handles.len());
                let o = &self.objs[x];
                let child = o.fields.first().copied().flatten();
                if o.rc == 1
                    && o.ty.has_fin()
                    && !o.finalized
                    && (!into_child
                        || child.is_some_and(|c| self.objs[c].fields.get(1) == Some(&None)))
                {
                    if into_child {
                        self.into_child = true;
                    } else {
                        self.armed = true;
                    }
                    arm.store(true, Relaxed);
                }
                obj_decref(self.p(x));
                self.release(x);
                check!(
                    self,
                    !self.armed && !self.into_child && !arm.load(Relaxed),
                    "the finalizer did not run"
                );
            }
            Op::WeakNew { target, cb } => {
                let Some(t) = self.handle(target) else {
                    return self.after_op();
                };
                self.alloc_tracked();
                let id = self.objs.len();
                let w = weakref_new(
                    self.p(t),
                    if cb { Some(weak_cb) } else { None },
                    id as *mut c_void,
                );
                check!(self, !w.is_null(), "weakref_new failed");
                self.objs.push(MObj {
                    ptr: w as usize,
                    ty: Ty::Weakref,
                    fields: Vec::new(),
                    slot: None,
                    payload_size: 0,
                    tracked: true,
                    fin_flags: 0,
                    finalized: false,
                    alive: true,
                    gen_no: 0,
                    promoted: false,
                    rc: 1,
                    target: Some(t),
                    cb,
                    attached: true,
                    wrs: Vec::new(),
                });
                self.objs[t].wrs.push(id);
                self.handles.push(id);
            }
            Op::WeakGet { h } => {
                let Some(w) = self.handle(h) else {
                    return self.after_op();
                };
                let r = weakref_get(self.p(w));
                if self.objs[w].ty != Ty::Weakref {
                    check!(self, r.is_null(), "weakref_get on a non-weakref gave {r:p}");
                    check!(
                        self,
                        gc_last_error_code() == GC_ERR_TYPE,
                        "last error {}",
                        gc_last_error_code()
                    );
                } else {
                    let t = self.objs[w].target.unwrap();
                    if self.objs[t].alive {
                        check!(
                            self,
                            r as usize == self.objs[t].ptr,
                            "weakref_get gave {r:p}, target {t} alive at {:#x}",
                            self.objs[t].ptr
                        );
                        self.objs[t].rc += 1;
                        self.handles.push(t);
                    } else {
                        check!(
                            self,
                            r.is_null(),
                            "weakref_get gave {r:p} for dead target {t}"
                        );
                    }
                }
            }
            Op::Collect { g: gen_arg } => {
                let g = (gen_arg as usize).min(3);
                let r = if g == 3 {
                    gc_collect()
                } else {
                    gc_collect_generation(g as i32)
                };
                let found = self.collect(g.min(2));
                check!(
                    self,
                    r == found as i64,
                    "gc_collect_generation({g}) returned {r}, model found {found}"
                );
            }
            Op::Enable(on) => {
                if on {
                    gc_enable()
                } else {
                    gc_disable()
                }
                self.enabled = on;
                check!(self, gc_isenabled() == on, "gc_isenabled");
            }
            Op::Threshold(a, b, c) => {
                gc_set_threshold(a as usize, b as usize, c as usize);
                self.thr = [a as usize, b as usize, c as usize];
                let t = gc_get_threshold();
                check!(
                    self,
                    [t.threshold0, t.threshold1, t.threshold2] == self.thr,
                    "thresholds {t:?}"
                );
            }
            Op::DropRoot { r } => {
                if self.roots.is_empty() {
                    return self.after_op();
                }
                let id = self.roots.swap_remove(r as usize % self.roots.len());
                let p = self.objs[id].ptr;
                let found = {
                    let mut roots = ROOTS.lock().unwrap_or_else(|p| p.into_inner());
                    roots
                        .iter()
                        .position(|&x| x == p)
                        .map(|i| roots.swap_remove(i))
                };
                check!(
                    self,
                    found.is_some(),
                    "resurrected object {id} ({p:#x}) not in the roots"
                );
                obj_decref(p as *mut GcObject);
                self.release(id);
            }
            Op::GetRoot { r } => {
                if self.roots.is_empty() {
                    return self.after_op();
                }
                let id = self.roots[r as usize % self.roots.len()];
                obj_incref(self.p(id));
                self.objs[id].rc += 1;
                self.handles.push(id);
            }
            Op::SetFinalizer { h, fin } => {
                let Some(x) = self.handle(h) else {
                    return self.after_op();
                };
                if self.objs[x].ty.typed() {
                    // SAFETY: a live typed object we hold.
                    if let Some(p) = unsafe { pay(self.p(x)) } {
                        p.flags = fin as u64 & FIN_MASK;
                    }
                    self.objs[x].fin_flags = fin as u64 & FIN_MASK;
                }
            }
            Op::Freeze => {
                gc_freeze();
                for o in &mut self.objs {
                    if o.alive && o.tracked {
                        o.gen_no = FROZEN;
                        if std::mem::take(&mut o.promoted) {
                            self.pending -= 1;
                        }
                    }
                }
                self.count[0] = 0;
            }
            Op::Unfreeze => {
                gc_unfreeze();
                for o in &mut self.objs {
                    if o.alive && o.gen_no == FROZEN {
                        o.gen_no = 2;
                    }
                }
            }
            Op::Errors { which } => self.errors(which),
            Op::FailAlloc { nfields, weak } => {
                let tracked = nfields > 0 || weak;
                let collects =
                    tracked && self.enabled && self.thr[0] > 0 && self.count[0] + 1 > self.thr[0];
                let target = self.handle(0);
                if collects || (weak && target.is_none()) {
                    return self.after_op();
                }
                rcgc::test_fail_allocation_after(1);
                let o = if weak {
                    weakref_new(
                        self.p(target.unwrap()),
                        Some(weak_cb),
                        usize::MAX as *mut c_void,
                    )
                } else {
                    obj_new(nfields as usize, 0)
                };
                rcgc::test_fail_allocation_after(0);
                if o.is_null() {
                    self.cov("allocation failure");
                    check!(
                        self,
                        gc_last_error_code() == GC_ERR_NOMEM,
                        "failed allocation: last error {}",
                        gc_last_error_code()
                    );
                } else {
                    // The pool had room without asking the system: a normal
                    // allocation; drop it again.
                    if tracked {
                        self.count[0] += 1;
                    }
                    obj_decref(o);
                    if tracked {
                        self.count[0] -= 1;
                    }
                }
            }
            Op::Check => {}
        }
        self.after_op();
    }

    fn set_field(&mut self, s: Id, i: usize, v: Option<Id>) {
        let r = obj_set_field(self.p(s), i, v.map_or(ptr::null_mut(), |v| self.p(v)));
        if i >= self.objs[s].fields.len() {
            check!(
                self,
                r == GC_ERR_INDEX,
                "obj_set_field out of range gave {r}"
            );
            check!(
                self,
                gc_last_error_code() == GC_ERR_INDEX,
                "last error {}",
                gc_last_error_code()
            );
        } else {
            check!(self, r == GC_OK, "obj_set_field gave {r}");
            if let Some(v) = v {
                self.objs[v].rc += 1;
            }
            let old = std::mem::replace(&mut self.objs[s].fields[i], v);
            if let Some(old) = old {
                self.release(old);
            }
        }
    }

    fn errors(&mut self, which: u8) {
        match which % 7 {
            0 => {
                let r = obj_set_field(ptr::null_mut(), 0, ptr::null_mut());
                check!(self, r == GC_ERR_NULL, "obj_set_field(NULL) gave {r}");
                check!(self, gc_last_error_code() == GC_ERR_NULL, "last error");
                check!(self, !gc_last_error().is_null(), "no last error message");
            }
            1 => {
                for g in [-1, 3, i32::MAX] {
                    let r = gc_collect_generation(g);
                    check!(
                        self,
                        r == GC_ERR_INVALID as i64,
                        "gc_collect_generation({g}) gave {r}"
                    );
                }
            }
            2 => {
                let w = weakref_new(ptr::null_mut(), Some(weak_cb), ptr::null_mut());
                check!(self, w.is_null(), "weakref_new(NULL) gave {w:p}");
                check!(self, gc_last_error_code() == GC_ERR_NULL, "last error");
                let g = weakref_get(ptr::null_mut());
                check!(self, g.is_null(), "weakref_get(NULL) gave {g:p}");
            }
            3 => {
                check!(
                    self,
                    obj_get_field(ptr::null(), 0).is_null(),
                    "obj_get_field(NULL)"
                );
                check!(
                    self,
                    obj_borrow_field(ptr::null(), 0).is_null(),
                    "obj_borrow_field(NULL)"
                );
                check!(self, obj_refcount(ptr::null()) == 0, "obj_refcount(NULL)");
                obj_incref(ptr::null_mut());
                obj_decref(ptr::null_mut());
                check!(self, !gc_is_tracked(ptr::null()), "gc_is_tracked(NULL)");
                check!(self, weakref_count(ptr::null()) == 0, "weakref_count(NULL)");
            }
            4 => {
                let s = gc_get_stats(7);
                check!(
                    self,
                    (s.collections, s.collected, s.uncollectable) == (0, 0, 0),
                    "gc_get_stats(7)"
                );
            }
            5 => {
                // A failed allocation counts nothing and collects nothing.
                for (n, p) in [(usize::MAX, 0), (1, usize::MAX), (usize::MAX / 8, 0)] {
                    let o = obj_new(n, p);
                    check!(self, o.is_null(), "obj_new({n}, {p}) succeeded");
                    let code = gc_last_error_code();
                    check!(
                        self,
                        code == GC_ERR_INVALID || code == GC_ERR_NOMEM,
                        "obj_new error {code}"
                    );
                }
            }
            _ => {
                if let Some(x) = self.handle(0) {
                    let r = obj_set_field(self.p(x), 1 << 20, ptr::null_mut());
                    check!(self, r == GC_ERR_INDEX, "obj_set_field huge index gave {r}");
                }
            }
        }
    }

    // ----------------------------------------------------------- checks

    fn after_op(&mut self) {
        let events = take_events();
        let exp = std::mem::take(&mut self.exp);
        self.check_events(&events, &exp);
        // Counts, stats, roots: every operation.
        let c = gc_get_count();
        check!(
            self,
            [c.count0, c.count1, c.count2] == self.count,
            "gc_get_count {:?}, model {:?}",
            [c.count0, c.count1, c.count2],
            self.count
        );
        for g in 0..3 {
            let s = gc_get_stats(g as i32);
            check!(
                self,
                (s.collections, s.collected, s.uncollectable) == self.stats[g],
                "gc_get_stats({g}) {s:?}, model {:?}",
                self.stats[g]
            );
        }
        let mut actual = roots_snapshot();
        actual.sort_unstable();
        let mut model: Vec<usize> = self.roots.iter().map(|&r| self.objs[r].ptr).collect();
        model.sort_unstable();
        check!(
            self,
            actual == model,
            "resurrection roots {actual:x?}, model {model:x?}"
        );
        let alive = self.objs.iter().filter(|o| o.alive).count();
        self.max_alive = self.max_alive.max(alive);
        let explicit = matches!(self.ops.last(), Some(Op::Collect { .. } | Op::Check));
        if explicit || self.ops.len().is_multiple_of(self.check_every) {
            self.check_all();
        }
    }

    fn check_events(&mut self, events: &[Ev], exp: &Expect) {
        let names = |ids: &[Id]| -> String { format!("{ids:?}") };
        let mut fin_pos: HashMap<Id, usize> = HashMap::new();
        let mut clear_pos: HashMap<Id, usize> = HashMap::new();
        let mut destroy_pos: HashMap<Id, usize> = HashMap::new();
        let mut cb_pos: HashMap<Id, usize> = HashMap::new();
        let mut gcs = Vec::new();
        let mut open: Option<(i32, usize)> = None;
        for (pos, e) in events.iter().enumerate() {
            match e {
                Ev::Bad(what, p) => check!(self, false, "hook saw a bad object {p:#x}: {what}"),
                Ev::Fin {
                    id,
                    wcount,
                    fields,
                    resurrected,
                    rooted,
                    alloc,
                    nested,
                } => {
                    let id = *id as usize;
                    check!(
                        self,
                        fin_pos.insert(id, pos).is_none(),
                        "object {id} finalized twice"
                    );
                    let Some(f) = exp.fin.iter().find(|f| f.id == id) else {
                        check!(
                            self,
                            false,
                            "unexpected finalizer of {id} ({:?}); expected {:?}",
                            self.objs[id].ty,
                            exp.fin.iter().map(|f| f.id).collect::<Vec<_>>()
                        );
                        unreachable!()
                    };
                    check!(
                        self,
                        *fields == f.fields,
                        "finalizer of {id} saw fields {fields:x?}, model {:x?}",
                        f.fields
                    );
                    check!(
                        self,
                        (f.wlo..=f.whi).contains(wcount),
                        "finalizer of {id} saw weakref_count {wcount}, model {}..={}",
                        f.wlo,
                        f.whi
                    );
                    check!(
                        self,
                        *resurrected == f.resurrect,
                        "finalizer of {id} resurrect flag"
                    );
                    check!(
                        self,
                        *rooted == f.rooted,
                        "finalizer of {id} rooted {rooted:#x}, model {:#x}",
                        f.rooted
                    );
                    check!(
                        self,
                        (*alloc != 0) == f.alloc.is_some(),
                        "finalizer of {id} allocated {alloc:#x}, model {:?}",
                        f.alloc
                    );
                    if let Some(n) = f.alloc {
                        self.objs[n].ptr = *alloc;
                    }
                    check!(
                        self,
                        *nested == f.nested,
                        "gc_collect inside the finalizer of {id} returned {nested}, model {} (-1: not called)",
                        f.nested
                    );
                }
                Ev::Clear { id } => {
                    let id = *id as usize;
                    check!(
                        self,
                        clear_pos.insert(id, pos).is_none(),
                        "object {id} cleared twice"
                    );
                }
                Ev::Destroy {
                    id,
                    fields_null,
                    wcount,
                } => {
                    let id = *id as usize;
                    check!(
                        self,
                        destroy_pos.insert(id, pos).is_none(),
                        "object {id} destroyed twice"
                    );
                    check!(
                        self,
                        *fields_null,
                        "object {id} destroyed with references still held"
                    );
                    check!(
                        self,
                        *wcount == 0,
                        "object {id} destroyed with {wcount} weakrefs"
                    );
                }
                Ev::Cb {
                    id,
                    wr,
                    null_inside,
                    nested,
                } => {
                    let id = *id as usize;
                    check!(
                        self,
                        id < self.objs.len() && self.objs[id].ptr == *wr,
                        "callback for unknown weakref {id} {wr:#x}"
                    );
                    check!(
                        self,
                        cb_pos.insert(id, pos).is_none(),
                        "callback of weakref {id} ran twice"
                    );
                    check!(
                        self,
                        *null_inside,
                        "weakref_get inside the callback of {id} was not NULL"
                    );
                    check!(
                        self,
                        *nested <= 0,
                        "gc_collect inside the callback of {id} (in a collection) returned {nested}"
                    );
                }
                Ev::Gc {
                    start: true,
                    generation,
                    ..
                } => {
                    check!(self, open.is_none(), "nested collection");
                    open = Some((*generation, pos));
                }
                Ev::Gc {
                    start: false,
                    generation,
                    collected,
                    uncollectable,
                } => {
                    let Some((g, from)) = open.take() else {
                        check!(self, false, "collection stop without start");
                        unreachable!()
                    };
                    check!(
                        self,
                        g == *generation,
                        "collection start/stop generations differ"
                    );
                    gcs.push((g, *collected, *uncollectable, from, pos));
                }
            }
        }
        check!(self, open.is_none(), "collection without stop");
        // Collections: the same sequence, generations and figures.
        let got: Vec<(i32, usize, usize)> = gcs.iter().map(|&(g, c, u, _, _)| (g, c, u)).collect();
        let want: Vec<(i32, usize, usize)> = exp
            .gcs
            .iter()
            .map(|g| (g.generation as i32, g.found, 0))
            .collect();
        check!(
            self,
            got == want,
            "collections (generation, collected, uncollectable): library {got:?}, model {want:?}"
        );
        // Hooks: exactly the expected objects.
        let mut a: Vec<Id> = fin_pos.keys().copied().collect();
        let mut b: Vec<Id> = exp.fin.iter().map(|f| f.id).collect();
        a.sort_unstable();
        b.sort_unstable();
        check!(
            self,
            a == b,
            "finalized {} , model {}",
            names(&a),
            names(&b)
        );
        let mut a: Vec<Id> = clear_pos.keys().copied().collect();
        let mut b = exp.clear.clone();
        a.sort_unstable();
        b.sort_unstable();
        check!(self, a == b, "cleared {}, model {}", names(&a), names(&b));
        let mut a: Vec<Id> = destroy_pos.keys().copied().collect();
        let mut b = exp.destroy.clone();
        a.sort_unstable();
        b.sort_unstable();
        check!(self, a == b, "destroyed {}, model {}", names(&a), names(&b));
        for &w in &exp.cb_req {
            check!(
                self,
                cb_pos.contains_key(&w),
                "callback of weakref {w} (target {:?}) did not run",
                self.objs[w].target
            );
        }
        for &w in cb_pos.keys() {
            check!(
                self,
                exp.cb_req.contains(&w) || exp.cb_maybe.contains(&w),
                "callback of weakref {w} (target {:?}) ran unexpectedly",
                self.objs[w].target
            );
        }
        // Death order per object: finalize < callbacks < clear < destroy.
        for (&x, &c) in &clear_pos {
            if let Some(&f) = fin_pos.get(&x) {
                check!(self, f < c, "object {x}: clear before finalize");
            }
            if let Some(&d) = destroy_pos.get(&x) {
                check!(self, c < d, "object {x}: destroy before clear");
            }
        }
        for (&x, &d) in &destroy_pos {
            if let Some(&f) = fin_pos.get(&x) {
                check!(self, f < d, "object {x}: destroy before finalize");
            }
        }
        let mut by_target: HashMap<Id, Vec<(usize, Id)>> = HashMap::new();
        for (&w, &pos) in &cb_pos {
            let t = self.objs[w].target.unwrap();
            if let Some(&f) = fin_pos.get(&t) {
                check!(
                    self,
                    f < pos,
                    "callback of weakref {w} before the finalizer of its target {t}"
                );
            }
            if let Some(&c) = clear_pos.get(&t) {
                check!(
                    self,
                    pos < c,
                    "callback of weakref {w} after the clear of its target {t}"
                );
            }
            if let Some(&d) = destroy_pos.get(&t) {
                check!(
                    self,
                    pos < d,
                    "callback of weakref {w} after the destroy of its target {t}"
                );
            }
            by_target.entry(t).or_default().push((pos, w));
        }
        for (t, mut v) in by_target {
            v.sort_unstable();
            let order: Vec<Id> = v.iter().map(|x| x.1).collect();
            check!(
                self,
                order.windows(2).all(|p| p[0] > p[1]),
                "callbacks for target {t} not newest first: {order:?}"
            );
        }
        // In a collection: every finalizer before any callback/clear/destroy
        // of the garbage.
        for (k, ge) in exp.gcs.iter().enumerate() {
            let last_fin = ge.fins.iter().filter_map(|x| fin_pos.get(x)).max();
            let garbage: HashSet<Id> = ge.garbage.iter().copied().collect();
            let first_teardown = cb_pos
                .iter()
                .filter(|(w, _)| garbage.contains(&self.objs[**w].target.unwrap()))
                .map(|(_, &p)| p)
                .chain(ge.garbage.iter().filter_map(|x| clear_pos.get(x).copied()))
                .chain(
                    ge.garbage
                        .iter()
                        .filter_map(|x| destroy_pos.get(x).copied()),
                )
                .min();
            if let (Some(f), Some(t)) = (last_fin, first_teardown) {
                check!(
                    self,
                    *f < t,
                    "collection #{k}: a finalizer ran after the teardown of the garbage began"
                );
            }
        }
    }

    /// Every live object against the model, and the model against itself.
    pub fn check_all(&mut self) {
        let mut rc = vec![0usize; self.objs.len()];
        for &h in self.handles.iter().chain(&self.roots) {
            rc[h] += 1;
        }
        for o in self.objs.iter().filter(|o| o.alive) {
            for c in o.children() {
                rc[c] += 1;
            }
        }
        let mut frozen = 0;
        #[allow(clippy::needless_range_loop)] // `check!` borrows self inside the loop
        for id in 0..self.objs.len() {
            let o = &self.objs[id];
            if !o.alive {
                assert!(rc[id] == 0, "model: dead object {id} still referenced");
                continue;
            }
            assert_eq!(rc[id], o.rc, "model: refcount of {id}");
            if o.gen_no == FROZEN {
                frozen += 1;
            }
            let p = o.ptr as *mut GcObject;
            let got = obj_refcount(p);
            check!(
                self,
                got == o.rc,
                "refcount of {id} ({:?}) is {got}, model {}",
                o.ty,
                o.rc
            );
            check!(self, gc_is_tracked(p) == o.tracked, "gc_is_tracked({id})");
            check!(
                self,
                gc_is_finalized(p) == o.finalized,
                "gc_is_finalized({id}) = {}, model {}",
                gc_is_finalized(p),
                o.finalized
            );
            check!(
                self,
                obj_is_weakref(p) == (o.ty == Ty::Weakref),
                "obj_is_weakref({id})"
            );
            check!(self, obj_type(p) == o.ty.gc_type(), "obj_type({id})");
            check!(self, obj_nfields(p) == o.fields.len(), "obj_nfields({id})");
            check!(
                self,
                obj_payload_size(p) == o.payload_size,
                "obj_payload_size({id}) = {}",
                obj_payload_size(p)
            );
            for (i, f) in o.fields.iter().enumerate() {
                let b = obj_borrow_field(p, i) as usize;
                check!(
                    self,
                    b == self.ptr_of(*f),
                    "field {i} of {id} is {b:#x}, model {f:?}"
                );
            }
            if o.ty.typed() {
                // SAFETY: a live typed object.
                let pl = unsafe { &*(obj_payload(p) as *const Pay) };
                check!(
                    self,
                    pl.magic == MAGIC && pl.id == id as u64,
                    "payload of {id} overwritten"
                );
                check!(
                    self,
                    pl.slot as usize == self.ptr_of(o.slot),
                    "slot of {id}"
                );
            } else if o.payload_size > 0 {
                // SAFETY: a live plain object with a payload of 16 bytes or more.
                let pl = unsafe { *(obj_payload(p) as *const [u64; 2]) };
                check!(
                    self,
                    pl == [MAGIC, id as u64],
                    "payload of {id} overwritten"
                );
            }
            let wc = weakref_count(p);
            check!(
                self,
                wc == o.wrs.len(),
                "weakref_count({id}) = {wc}, model {}",
                o.wrs.len()
            );
            if o.ty == Ty::Weakref {
                let t = o.target.unwrap();
                let r = weakref_get(p);
                let talive = self.objs[t].alive;
                if !r.is_null() {
                    obj_decref(r);
                }
                if talive {
                    check!(
                        self,
                        r as usize == self.objs[t].ptr,
                        "weakref_get({id}) = {r:p}, target {t} alive"
                    );
                } else {
                    check!(
                        self,
                        r.is_null(),
                        "weakref_get({id}) = {r:p}, target {t} dead"
                    );
                }
            }
        }
        let live = self.objs.iter().filter(|o| o.alive);
        let (objects, tracked) = (live.clone().count(), live.filter(|o| o.tracked).count());
        let m = gc_get_memory();
        check!(
            self,
            (m.objects, m.tracked) == (self.mem_base.0 + objects, self.mem_base.1 + tracked),
            "gc_get_memory objects/tracked {}/{}, model {}/{} (+{:?} at the start)",
            m.objects,
            m.tracked,
            objects,
            tracked,
            self.mem_base
        );
        check!(
            self,
            gc_get_freeze_count() == frozen,
            "gc_get_freeze_count {} , model {frozen}",
            gc_get_freeze_count()
        );
        let evs = take_events();
        check!(
            self,
            evs.is_empty(),
            "events during the full check: {evs:?}"
        );
    }

    /// Releases everything and checks that a full collection frees it all.
    pub fn finish(mut self) -> Stats {
        self.apply(Op::Unfreeze);
        self.apply(Op::Threshold(0, 10, 10));
        self.apply(Op::Enable(true));
        while !self.handles.is_empty() {
            let k = self.handles.len() as u32 - 1;
            self.apply(Op::Decref { h: k });
        }
        loop {
            while !self.roots.is_empty() {
                self.apply(Op::DropRoot { r: 0 });
            }
            self.apply(Op::Collect { g: 3 });
            if self.roots.is_empty() {
                break;
            }
        }
        let left: Vec<Id> = (0..self.objs.len())
            .filter(|&i| self.objs[i].alive)
            .collect();
        check!(
            self,
            left.is_empty(),
            "objects alive after the final collection: {left:?}"
        );
        check!(self, roots_snapshot().is_empty(), "roots left");
        check!(self, gc_get_freeze_count() == 0, "frozen objects left");
        assert_eq!(gc_callback_remove(GC_CB, ptr::null_mut()), GC_OK);
        take_events();
        Stats {
            ops: self.ops.len(),
            objects: self.objs.len(),
            collections: self.collections,
            max_alive: self.max_alive,
            cov: self.cov.clone(),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub ops: usize,
    pub objects: usize,
    pub collections: usize,
    pub max_alive: usize,
    pub cov: BTreeMap<&'static str, usize>,
}

impl Stats {
    pub fn add(&mut self, s: &Stats) {
        self.ops += s.ops;
        self.objects += s.objects;
        self.collections += s.collections;
        self.max_alive = self.max_alive.max(s.max_alive);
        for (k, v) in &s.cov {
            *self.cov.entry(k).or_default() += v;
        }
    }
}

/// Runs `n` random operations from `src`; the handle cap (how many
/// references the test keeps before it releases more eagerly) and the first
/// operation (thresholds) come from `src` too.
pub fn run(label: &str, src: &mut dyn Source, n: usize, big: bool) -> Stats {
    let mut r = Runner::new(label);
    let Some((cap, t)) = (|| {
        let cap = if big {
            [256, 1024, 3000][src.below(3)? as usize]
        } else {
            [8, 48, 160][src.below(3)? as usize]
        };
        Some((
            cap,
            Op::Threshold(
                src.below(24)? as u8,
                src.below(5)? as u8,
                src.below(5)? as u8,
            ),
        ))
    })() else {
        return r.finish();
    };
    r.apply(t);
    let one_way = std::env::var("MODEL_ONE_WAY").ok();
    for _ in 0..n {
        let Some(mut op) = gen_op(src, r.handles(), cap) else {
            break;
        };
        if let Some(way) = &one_way {
            op = mostly_one_way(op, r.handles(), way == "forward");
        }
        r.apply(op);
    }
    r.finish()
}

/// For MODEL_ONE_WAY: `op` in a program whose references mostly point one
/// way in the order objects were made in, and that has no type with a
/// `traverse` hook, so that the library's proof that a generation holds no
/// cycle (its order.rs) comes and goes: no Slot objects (Fin instead), and
/// three of four stores go into the newest handle (`forward`: store the
/// newest handle). The others, and handles that were not made last, still
/// point either way.
fn mostly_one_way(op: Op, nh: usize, forward: bool) -> Op {
    let newest = nh.saturating_sub(1) as u32;
    let store = |src: u32, idx: u8, val: Option<u32>| {
        if forward {
            Op::SetField {
                src,
                idx,
                val: val.map(|_| newest),
            }
        } else {
            Op::SetField {
                src: newest,
                idx,
                val,
            }
        }
    };
    match op {
        Op::New {
            ty: 3,
            nfields,
            payload,
            fin,
        } => Op::New {
            ty: 1,
            nfields,
            payload,
            fin,
        },
        Op::SetField { src, idx, val } if src % 4 != 0 => store(src, idx, val),
        Op::SetSlot { src, val } => store(src, 0, val),
        Op::GetSlot { src } => Op::GetField { src, idx: 0 },
        op => op,
    }
}

/// `n` operations from the seed; `big` keeps up to thousands of handles.
pub fn run_seed(seed: u64, n: usize, big: bool) -> Stats {
    run(
        &format!("seed {seed:#x} (big={big})"),
        &mut SplitMix(seed),
        n,
        big,
    )
}

/// Runs the operations fuzzer bytes describe.
pub fn run_bytes(data: &[u8]) -> Stats {
    run("fuzz input", &mut Bytes { data, pos: 0 }, usize::MAX, false)
}

/// Replays a fixed sequence (a minimized failure kept as a regression test).
pub fn replay(label: &str, ops: &[Op]) -> Stats {
    let mut r = Runner::new(label);
    r.set_check_every(1);
    for op in ops {
        r.apply(op.clone());
    }
    r.finish()
}
