//! Walks of the heap for the introspection API: the objects of a
//! generation, the referents and referrers of an object, which objects are
//! held from outside, why-alive chains and type stats. `dump` writes heap
//! snapshots; `report` is the leak report at exit (and reads the
//! environment at start).
//!
//! "Live tracked objects" are the members of generations 0-2 and of the
//! permanent generation; unreachable objects no collection has freed yet are
//! among them (as in CPython's `gc.get_objects()`), and so are the objects
//! of the garbage list.
//!
//! Invariants:
//! - Every walk runs with the heap lock held from start to end, so the lists
//!   and fields it reads do not change under it (other threads' structural
//!   changes wait; lock-free reads and refcount changes go on). The visit
//!   functions it calls are user code bound by the API not to change the
//!   heap's structure; a walk reads the next list link before calling one.
//! - Nothing here writes to an object: counts of references are kept in side
//!   tables keyed by address, never in headers.
//! - Called from a hook or callback during a collection, a walk sees the
//!   generation lists only: the objects of the collection under way are in
//!   the collector's working lists and are not visited.

pub(crate) mod dump;
pub(crate) mod report;

use crate::error::{GC_ERR_NOMEM, fail};
use crate::heap::{AddrMap, Locked, NUM_GENERATIONS, State};
use crate::list;
use crate::object::{GcObject, GcType, Header, allocation_of, for_each_child};
use std::collections::hash_map::Entry;
use std::ffi::{c_char, c_int, c_void};

/// Statistics of one group of live objects (`gc_visit_type_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GcTypeStats {
    /// The type's name; "(object)" for plain objects, "(weakref)" for
    /// weakrefs, "(untracked)" for the untracked objects, "(unnamed)" for a
    /// type whose name is NULL.
    pub name: *const c_char,
    /// The type; NULL for plain objects, weakrefs and "(untracked)".
    pub r#type: *const GcType,
    /// Live objects of this group.
    pub objects: usize,
    /// Their memory as allocated, as `gc_get_memory`'s `bytes_in_use`
    /// counts it: header, fields, payload (16-aligned) and, for objects with
    /// a payload of more than 31 bytes or 255 fields or more, the 16-byte
    /// prefix that holds their sizes, rounded up to 16.
    pub bytes: usize,
}

/// Called by the walks once per object (borrowed); returns 0 to go on,
/// non-zero to stop the walk (that value is returned).
pub type GcObjectVisitFn =
    Option<unsafe extern "C" fn(o: *mut GcObject, ctx: *mut c_void) -> c_int>;

/// Called by `gc_visit_type_stats` once per group; returns 0 to go on,
/// non-zero to stop.
pub type GcTypeStatsFn =
    Option<unsafe extern "C" fn(stats: *const GcTypeStats, ctx: *mut c_void) -> c_int>;

/// The bytes an object occupies, as allocated: the measure of
/// `gc_get_memory`'s `bytes_in_use` (memory.rs).
///
/// # Safety
/// `h` is a live object.
pub unsafe fn object_bytes(h: *mut Header) -> usize {
    // SAFETY: caller's contract.
    crate::memory::charge(unsafe { allocation_of(h).1 })
}

/// The heads of the lists a walk of `generation` covers (None: all of them,
/// the permanent generation last).
fn heads(st: *mut State, generation: Option<usize>) -> Vec<*const Header> {
    // SAFETY: lock held by the caller; only addresses are taken.
    unsafe {
        match generation {
            Some(i) => crate::heap::generation_lists(st, i),
            None => (0..NUM_GENERATIONS)
                .flat_map(|i| crate::heap::generation_lists(st, i))
                .chain(std::iter::once(&raw const (*st).permanent))
                .collect(),
        }
    }
}

/// Calls `f` on every live tracked object of `generation` (None: all),
/// until it returns non-zero.
pub fn visit_objects(
    g: &Locked,
    generation: Option<usize>,
    mut f: impl FnMut(*mut Header) -> c_int,
) -> c_int {
    // Objects in nurseries join generation 0 first (nursery.rs).
    {
        let _stop = crate::sections::stop(g);
        // SAFETY: lock held, sections stopped.
        unsafe { crate::nursery::gather(g) };
    }
    for head in heads(g.st(), generation) {
        let mut h = list::next(head);
        while !std::ptr::eq(h, head) {
            let next = list::next(h);
            let r = f(h);
            if r != 0 {
                return r;
            }
            h = next;
        }
    }
    0
}

/// Every live tracked object, in walk order (generations 0-2, permanent).
/// None if the vector cannot be allocated.
fn all_tracked(g: &Locked) -> Option<Vec<*mut Header>> {
    let mut n = 0;
    visit_objects(g, None, |_| {
        n += 1;
        0
    });
    let mut all = Vec::new();
    if !crate::alloc::reserve(|| all.try_reserve_exact(n)) {
        return None;
    }
    visit_objects(g, None, |h| {
        all.push(h);
        0
    });
    Some(all)
}

/// The objects `h` references directly: non-NULL fields in index order,
/// then what its traverse hook reports.
///
/// # Safety
/// Lock held; `h` is live.
pub unsafe fn referents(h: *mut Header) -> Vec<*mut Header> {
    let mut out = Vec::new();
    // SAFETY: caller's contract.
    unsafe { for_each_child(h, |c| out.push(c)) };
    out
}

/// Calls `f` once on each live tracked object that references `target`.
pub fn visit_referrers(
    g: &Locked,
    target: *mut Header,
    mut f: impl FnMut(*mut Header) -> c_int,
) -> c_int {
    let _stop = crate::sections::stop(g);
    visit_objects(g, None, |h| {
        let mut hit = false;
        // SAFETY: lock held; h is a live tracked object.
        unsafe { for_each_child(h, |c| hit |= std::ptr::eq(c, target)) };
        if hit { f(h) } else { 0 }
    })
}

/// The tracked heap with, for every object referenced from it, the number
/// of references from live tracked objects: what tells the objects held
/// from outside (count above that number).
pub struct View {
    /// Every live tracked object, in walk order.
    pub all: Vec<*mut Header>,
    internal: AddrMap<u32>,
    /// No field changes while the view lives (sections.rs).
    _stop: crate::sections::Stop,
}

impl View {
    /// Builds the view; GC_ERR_NOMEM (recorded) if memory runs out.
    pub fn new(g: &Locked) -> Result<View, c_int> {
        let nomem = || fail(GC_ERR_NOMEM, c"rcgc: out of memory for a heap walk");
        let stop = crate::sections::stop(g);
        let all = all_tracked(g).ok_or_else(nomem)?;
        let mut internal = AddrMap::default();
        if !crate::alloc::reserve(|| internal.try_reserve(all.len())) {
            return Err(nomem());
        }
        for &h in &all {
            // SAFETY: lock held; h is live.
            unsafe { for_each_child(h, |c| *internal.entry(c as usize).or_insert(0) += 1) };
        }
        Ok(View {
            all,
            internal,
            _stop: stop,
        })
    }

    /// References to `h` from live tracked objects.
    pub fn internal(&self, h: *const Header) -> usize {
        self.internal.get(&(h as usize)).map_or(0, |&n| n as usize)
    }

    /// Whether `h` is held from outside: its count exceeds its internal
    /// references.
    ///
    /// # Safety
    /// `h` is live (lock held).
    pub unsafe fn held(&self, h: *const Header) -> bool {
        // SAFETY: caller's contract.
        (unsafe { (*h).count() } as usize) > self.internal(h)
    }

    /// Breadth-first search from every held object at once (seeded in walk
    /// order), following fields and payload references. Returns each
    /// object met with the object it was first reached from (0 for the held
    /// ones), and the objects in the order met (so by distance from a held
    /// one). Stops as soon as it meets `target`, if given.
    ///
    /// # Safety
    /// Lock held (the one the view was built under).
    pub unsafe fn search(&self, target: Option<*mut Header>) -> Search {
        let mut parent: AddrMap<usize> = AddrMap::default();
        let mut order = Vec::new();
        // SAFETY: lock held; every object met is live.
        unsafe {
            for &h in &self.all {
                if self.held(h) {
                    parent.insert(h as usize, 0);
                    order.push(h);
                }
            }
            let mut next = 0;
            while next < order.len() {
                let h = order[next];
                next += 1;
                if target.is_some_and(|t| parent.contains_key(&(t as usize))) {
                    break;
                }
                if !(*h).is_tracked() {
                    continue;
                }
                for_each_child(h, |c| {
                    if let Entry::Vacant(e) = parent.entry(c as usize) {
                        e.insert(h as usize);
                        order.push(c);
                    }
                });
            }
        }
        Search { parent, order }
    }

    /// The shortest chain of references from an object held from outside to
    /// `o` (held object first, `o` last); ties go to the held object met
    /// first in walk order. None when no held object reaches `o`.
    ///
    /// # Safety
    /// Lock held (the one the view was built under); `o` is live.
    pub unsafe fn chain(&self, o: *mut Header) -> Option<Vec<*mut Header>> {
        // SAFETY: caller's contract.
        unsafe {
            if self.held(o) {
                return Some(vec![o]);
            }
            self.search(Some(o)).chain(o)
        }
    }
}

/// What `View::search` found.
pub struct Search {
    parent: AddrMap<usize>,
    /// The objects reached, held ones first, by distance.
    pub order: Vec<*mut Header>,
}

impl Search {
    /// The chain from a held object to `o`, if `o` was reached.
    pub fn chain(&self, o: *mut Header) -> Option<Vec<*mut Header>> {
        let mut p = *self.parent.get(&(o as usize))?;
        let mut chain = vec![o];
        while p != 0 {
            chain.push(p as *mut Header);
            p = self.parent[&p];
        }
        chain.reverse();
        Some(chain)
    }
}

/// The groups of `gc_visit_type_stats`, largest bytes first (ties: more
/// objects first, then by name).
pub fn type_stats(g: &Locked) -> Vec<GcTypeStats> {
    let mut index: AddrMap<usize> = AddrMap::default();
    let mut groups: Vec<GcTypeStats> = Vec::new();
    visit_objects(g, None, |h| {
        // SAFETY: lock held; h is live.
        unsafe {
            let ty = if (*h).is_weakref() {
                std::ptr::null()
            } else {
                (*h).ty()
            };
            // Plain objects: key 0; weakrefs: 1; typed: the (8-aligned) type.
            let key = if (*h).is_weakref() { 1 } else { ty as usize };
            let i = *index.entry(key).or_insert_with(|| {
                groups.push(GcTypeStats {
                    name: crate::gc::debug::type_name(h).as_ptr(),
                    r#type: ty,
                    objects: 0,
                    bytes: 0,
                });
                groups.len() - 1
            });
            groups[i].objects += 1;
            groups[i].bytes += object_bytes(h);
        }
        0
    });
    // Untracked objects are in no list: they are what the memory figures
    // count beyond the tracked objects just walked (exact under the lock for
    // this thread; other threads' untracked allocations may be under way).
    let mem = crate::memory::figures();
    let tracked_bytes: usize = groups.iter().map(|s| s.bytes).sum();
    let objects = mem.objects.saturating_sub(mem.tracked);
    let bytes = mem.bytes_in_use.saturating_sub(tracked_bytes);
    if objects > 0 {
        groups.push(GcTypeStats {
            name: c"(untracked)".as_ptr(),
            r#type: std::ptr::null(),
            objects,
            bytes,
        });
    }
    // SAFETY: every name is a valid C string (static or the type's).
    let name = |s: &GcTypeStats| unsafe { std::ffi::CStr::from_ptr(s.name) };
    groups.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then(b.objects.cmp(&a.objects))
            .then_with(|| name(a).cmp(name(b)))
    });
    groups
}
