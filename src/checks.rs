//! Checked mode: detects the host's refcount bugs (use after free, double
//! decref, decref of a pointer rcgc never allocated, set_field on a freed
//! object, refcount underflow) and aborts with one line
//! `rcgc: <function>(<address>): <what>` naming the object's type.
//!
//! Switched on by `RCGC_CHECKS=1` in the environment (read on first use) or
//! `gc_set_checks(true)` before the first allocation; it cannot change once
//! an object exists, because objects made in one mode are freed in the same
//! mode.
//!
//! How: a registry maps the address of every object rcgc handed out to its
//! state (live or freed) and type. A handle is looked up there before it is
//! touched, so a foreign pointer is never dereferenced. Freed objects are
//! poisoned (0xDB) and kept in a bounded FIFO quarantine (`QUARANTINE`
//! objects) before their memory really goes back, so a stale pointer still
//! resolves to "already freed" until a quarantine's worth of later frees;
//! after that it reads as unknown. In checked mode every object comes from
//! the system allocator, never the pool.
//!
//! Invariants: `MODE` is fixed (OFF_FIXED or ON_FIXED) before the first
//! object is allocated and never changes after; registry entries exist exactly for
//! live objects and quarantined freed ones.

use crate::error::fatal;
use crate::object::{GcType, Header};
use std::collections::{HashMap, VecDeque};
use std::ffi::CStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed, Ordering::SeqCst};

/// The mode, one atomic state machine: UNDECIDED -> OFF | ON (by the
/// environment or `set`, changeable), then, at the first allocation, once
/// and for good, OFF | ON -> OFF_FIXED | ON_FIXED. Every transition is one
/// compare-exchange, so an allocation and a `gc_set_checks` racing each
/// other agree on the mode the first object is made in.
const UNDECIDED: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;
const OFF_FIXED: u8 = 3;
const ON_FIXED: u8 = 4;
// Relaxed (but `set` turning it ON and `on_for_bias`): MODE is one
// variable, so every thread sees its changes in one order, and it never
// changes once fixed; an object (and so any use of the mode on it) happens
// after the fixing step of the thread that created it.
static MODE: AtomicU8 = AtomicU8::new(UNDECIDED);
/// False only once the mode is fixed OFF: the shared paths test this one
/// flag (one load, one branch) and decide on the slow path. (The owner of
/// the counts bias does not: it knows the mode is not ON, bias.rs.)
static MAYBE_ON: AtomicBool = AtomicBool::new(true);

/// Freed objects kept poisoned before their memory is reused.
const QUARANTINE: usize = 1 << 16;

struct Entry {
    ty: *const GcType,
    freed: bool,
}

#[derive(Default)]
struct Registry {
    objects: HashMap<usize, Entry>,
    /// (header address, allocation start, allocation size), oldest first.
    quarantine: VecDeque<(usize, usize, usize)>,
}

// SAFETY: the raw pointers are type descriptors (static, per the API) and
// addresses used as keys; all access goes through the mutex.
unsafe impl Send for Registry {}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Whether checked mode is off for good (the mode was fixed OFF by the
/// first allocation): one load.
#[inline]
pub fn fixed_off() -> bool {
    !MAYBE_ON.load(Relaxed)
}

/// Whether checked mode is on. Outside checked mode this is one relaxed load.
#[inline]
pub fn enabled() -> bool {
    MAYBE_ON.load(Relaxed) && mode_is_on()
}

/// The mode, read from the environment the first time.
fn mode() -> u8 {
    let m = MODE.load(Relaxed);
    if m != UNDECIDED {
        return m;
    }
    let on = std::env::var_os("RCGC_CHECKS").is_some_and(|v| v != "0" && !v.is_empty());
    match MODE.compare_exchange(UNDECIDED, if on { ON } else { OFF }, Relaxed, Relaxed) {
        Ok(_) => {
            if on {
                ON
            } else {
                OFF
            }
        }
        Err(seen) => seen,
    }
}

#[cold]
fn mode_is_on() -> bool {
    match mode() {
        OFF_FIXED => {
            fixed_off_now();
            false
        }
        m => m == ON || m == ON_FIXED,
    }
}

/// The mode is fixed OFF: the hot paths and the creation gate learn it.
/// (MAYBE_ON only ever goes from true to false, so the gate's bit follows
/// it with no ordering needed.)
#[cold]
fn fixed_off_now() {
    MAYBE_ON.store(false, Relaxed);
    crate::gate::follow(crate::gate::CHECKS, || MAYBE_ON.load(Relaxed), |on| on);
}

/// Whether checked mode is on or may still be (a bias just claimed must
/// be given up then: bias.rs). SeqCst: with `set`'s change to ON, so that
/// a claim racing it either sees ON here or is revoked by it.
pub fn on_for_bias() -> bool {
    let m = MODE.load(SeqCst);
    m == ON || m == ON_FIXED || (m == UNDECIDED && enabled())
}

/// `gc_set_checks`: false when an object was already allocated (the mode
/// then stays as it is).
pub fn set(on: bool) -> bool {
    let mut m = mode();
    loop {
        if m == OFF_FIXED || m == ON_FIXED {
            return (m == ON_FIXED) == on;
        }
        // SeqCst: with the bias's claim and `on_for_bias` (bias.rs).
        match MODE.compare_exchange_weak(m, if on { ON } else { OFF }, SeqCst, Relaxed) {
            Ok(_) => {
                if on {
                    crate::bias::end_for_checks();
                }
                return true;
            }
            Err(seen) => m = seen,
        }
    }
}

/// Notes that memory for objects is about to be handed out: fixes the mode.
/// Returns whether checked mode is on (what `enabled` says from now on).
#[inline]
pub fn on_first_allocation() -> bool {
    if !MAYBE_ON.load(Relaxed) {
        return false; // fixed OFF
    }
    fix_mode()
}

/// Fixes the mode (if not yet) and returns whether it is ON.
fn fix_mode() -> bool {
    let mut m = mode();
    while m == OFF || m == ON {
        match MODE.compare_exchange_weak(m, m + 2, Relaxed, Relaxed) {
            Ok(_) => m += 2,
            Err(seen) => m = seen,
        }
    }
    if m == OFF_FIXED {
        fixed_off_now();
    }
    m == ON_FIXED
}

fn registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut guard = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Registry::default))
}

/// Records a new object. False when the registry cannot grow (the caller
/// reports GC_ERR_NOMEM).
pub fn on_alloc(h: *mut Header, ty: *const GcType) -> bool {
    registry(|r| {
        if !crate::alloc::reserve(|| r.objects.try_reserve(1)) {
            return false;
        }
        r.objects.insert(h as usize, Entry { ty, freed: false });
        true
    })
}

/// Records the death of `h` (its memory is released later, through
/// `quarantine`).
pub fn on_death(h: *mut Header) {
    registry(|r| {
        if let Some(e) = r.objects.get_mut(&(h as usize)) {
            e.freed = true;
        }
    });
}

/// Poisons the dead object's memory and queues it; returns the allocations
/// (start, size) that leave the quarantine and must be released now.
///
/// # Safety
/// `base`/`size` are the allocation of the dead object `h`.
pub unsafe fn quarantine(h: *mut Header, base: *mut u8, size: usize) -> Vec<(usize, usize)> {
    // SAFETY: the object is dead; its memory is ours until released.
    unsafe { std::ptr::write_bytes(base, 0xDB, size) };
    registry(|r| {
        r.quarantine.push_back((h as usize, base as usize, size));
        let mut out = Vec::new();
        while r.quarantine.len() > QUARANTINE {
            let (old, b, s) = r.quarantine.pop_front().expect("non-empty");
            r.objects.remove(&old);
            out.push((b, s));
        }
        out
    })
}

/// Validates a handle passed to `function`; aborts with one line when it is
/// not a live object. NULL is left to the caller's NULL policy.
#[inline]
pub fn object(function: &CStr, o: *const Header) {
    if !o.is_null() && enabled() {
        object_checked(function, o);
    }
}

#[cold]
#[inline(never)]
fn object_checked(function: &CStr, o: *const Header) {
    let problem = registry(|r| match r.objects.get(&(o as usize)) {
        None => Some("is not an object allocated by rcgc (or was freed long ago)".to_owned()),
        Some(e) if e.freed => Some(format!(
            "object of type \"{}\" was already freed",
            type_name(e.ty)
        )),
        Some(_) => None,
    });
    if let Some(what) = problem {
        fatal(function, o.cast(), &what);
    }
}

/// Validates a reference the library is about to follow from the object
/// `holder` (a field, or a reference its `traverse` hook reported) on
/// behalf of `function`; aborts with one line when `o` is not a live object
/// (the host released the reference the holder owned). Checked mode only.
pub fn referenced(function: &CStr, o: *const Header, holder: *const Header) {
    if !enabled() {
        return;
    }
    let problem = registry(|r| {
        let holder_ty = r
            .objects
            .get(&(holder as usize))
            .map_or(std::ptr::null(), |e| e.ty);
        let what = match r.objects.get(&(o as usize)) {
            None => "is not an object allocated by rcgc (or was freed long ago)".to_owned(),
            Some(e) if e.freed => {
                format!("object of type \"{}\" was already freed", type_name(e.ty))
            }
            Some(_) => return None,
        };
        Some(format!(
            "{what} (still referenced by the object of type \"{}\" at {holder:p}: one release too many)",
            type_name(holder_ty)
        ))
    });
    if let Some(what) = problem {
        fatal(function, o.cast(), &what);
    }
}

/// Aborts for a reference count that would go below zero.
pub fn underflow(function: &CStr, h: *const Header) -> ! {
    // SAFETY: h is a live object (it has a count of 0 but is not freed).
    let ty = unsafe { (*h).ty() };
    fatal(
        function,
        h.cast(),
        &format!(
            "reference count underflow on object of type \"{}\"",
            type_name(ty)
        ),
    )
}

pub(crate) fn type_name(ty: *const GcType) -> String {
    // SAFETY: non-NULL types are valid GcTypes; names are C strings.
    unsafe {
        if ty.is_null() || (*ty).name.is_null() {
            "object".to_owned()
        } else {
            CStr::from_ptr((*ty).name).to_string_lossy().into_owned()
        }
    }
}
