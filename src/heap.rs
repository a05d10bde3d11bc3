//! The one global heap: its re-entrant lock and the state it guards
//! (generation lists, counts, thresholds, stats, callbacks, the death queue
//! and the weakref table).
//!
//! Invariants:
//! - `State` is only touched by the thread that holds `HEAP.lock`. Hooks and
//!   callbacks run with the lock held and may re-enter the API, so code never
//!   keeps a `&mut State` alive across a call into user code: it takes a
//!   fresh one with `Locked::st` after every such call.
//! - Every tracked live object is in exactly one of `gens[0..3]`,
//!   `permanent`, a collector working list (only during a collection), or,
//!   once its count reached zero, the death queue or the dying set of the
//!   death path. Untracked objects are in no list.
//! - `count[0]` is tracked allocations minus tracked deallocations since the
//!   last generation-0 collection (never below 0); `count[1]`/`count[2]` are
//!   collections of the next younger generation since this one was collected.

use crate::object::Header;
use parking_lot::RawMutex;
use parking_lot::lock_api::{GetThreadId, RawReentrantMutex};
use std::cell::{Cell, UnsafeCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::hash::{BuildHasherDefault, Hasher};

pub(crate) const NUM_GENERATIONS: usize = 3;

/// Per-generation counters (`gc_get_count`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcCounts {
    pub count0: usize,
    pub count1: usize,
    pub count2: usize,
}

/// Automatic collection thresholds (`gc_get_threshold`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcThresholds {
    pub threshold0: usize,
    pub threshold1: usize,
    pub threshold2: usize,
}

/// Cumulative figures of one generation (`gc_get_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcGenStats {
    /// Collections of this generation.
    pub collections: usize,
    /// Unreachable objects freed by those collections.
    pub collected: usize,
    /// Unreachable objects that could not be freed (a hook kept a reference).
    pub uncollectable: usize,
}

/// Which end of a collection a `GcCallbackFn` is called for.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcPhase {
    GC_PHASE_START = 0,
    GC_PHASE_STOP = 1,
}

/// What a `GcCallbackFn` is told. At `GC_PHASE_START` the figures are 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GcCallbackInfo {
    pub generation: c_int,
    pub collected: usize,
    pub uncollectable: usize,
    pub duration_ns: u64,
}

/// Called at the start and the stop of every collection.
pub type GcCallbackFn =
    Option<unsafe extern "C" fn(phase: GcPhase, info: *const GcCallbackInfo, ctx: *mut c_void)>;

/// A registered (non-NULL) collection callback.
pub type CallbackFn =
    unsafe extern "C" fn(phase: GcPhase, info: *const GcCallbackInfo, ctx: *mut c_void);

/// Hash for addresses: objects are 16-aligned, so mix the high bits in.
#[derive(Default)]
pub struct AddrHasher(u64);
impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only usize keys are hashed")
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
pub type AddrMap<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;

pub struct State {
    initialized: bool,
    pub gens: [Header; NUM_GENERATIONS],
    pub permanent: Header,
    pub count: [usize; NUM_GENERATIONS],
    pub threshold: [usize; NUM_GENERATIONS],
    pub enabled: bool,
    pub collecting: bool,
    pub long_lived_total: usize,
    pub long_lived_pending: usize,
    pub stats: [GcGenStats; NUM_GENERATIONS],
    pub callbacks: Vec<(CallbackFn, *mut c_void)>,
    /// Objects whose count reached zero, linked through `next`, oldest first
    /// (deaths complete in the order the counts reached zero).
    pub death_queue: *mut Header,
    pub death_tail: *mut Header,
    /// Deaths queued so far; a queued object keeps its number in `prev`
    /// (shifted left by 4, so it reads as a plain untagged word).
    pub death_seq: usize,
    /// A death or a collection is in progress: new deaths are queued and the
    /// outermost one drains the queue.
    pub draining: bool,
    /// Target address -> newest weakref object to it (weakref.rs).
    pub weak: AddrMap<*mut Header>,
    /// Memory for tracked objects (alloc.rs).
    pub pool: crate::alloc::Pool,
}

/// Thread identity for the re-entrant lock: `pthread_self()` is one load
/// from the thread pointer, where a Rust thread-local in a shared library
/// costs a `__tls_get_addr` call on every lock.
pub struct PthreadId;

// SAFETY: pthread_self() is non-zero and unique among live threads.
unsafe impl GetThreadId for PthreadId {
    const INIT: Self = PthreadId;
    fn nonzero_thread_id(&self) -> std::num::NonZeroUsize {
        // SAFETY: pthread_self has no preconditions.
        let id = unsafe { libc::pthread_self() } as usize;
        std::num::NonZeroUsize::new(id).expect("pthread_self() is never 0")
    }
}

pub struct Heap {
    lock: RawReentrantMutex<RawMutex, PthreadId>,
    state: UnsafeCell<State>,
}

// SAFETY: `state` is only accessed by the thread holding `lock`.
unsafe impl Sync for Heap {}

pub static HEAP: Heap = Heap {
    lock: RawReentrantMutex::INIT,
    state: UnsafeCell::new(State {
        initialized: false,
        gens: [
            crate::list::sentinel(),
            crate::list::sentinel(),
            crate::list::sentinel(),
        ],
        permanent: crate::list::sentinel(),
        count: [0; NUM_GENERATIONS],
        threshold: [700, 10, 10],
        enabled: true,
        collecting: false,
        long_lived_total: 0,
        long_lived_pending: 0,
        stats: [GcGenStats {
            collections: 0,
            collected: 0,
            uncollectable: 0,
        }; NUM_GENERATIONS],
        callbacks: Vec::new(),
        death_queue: std::ptr::null_mut(),
        death_tail: std::ptr::null_mut(),
        death_seq: 0,
        draining: false,
        weak: HashMap::with_hasher(BuildHasherDefault::new()),
        pool: crate::alloc::Pool::new(),
    }),
};

/// Proof that this thread holds the heap lock; unlocks on drop.
pub struct Locked {
    _not_send: std::marker::PhantomData<*mut ()>,
}

/// Takes the heap lock (re-entrant).
pub fn lock() -> Locked {
    HEAP.lock.lock();
    let g = Locked {
        _not_send: std::marker::PhantomData,
    };
    // SAFETY: we hold the lock and no other borrow of the state is live here
    // (this borrow ends before we return).
    let st = unsafe { &mut *g.st() };
    if !st.initialized {
        for head in st.gens.iter().chain(std::iter::once(&st.permanent)) {
            crate::list::init(head);
        }
        st.initialized = true;
    }
    g
}

/// Takes the heap lock if no other thread holds it (re-entrant), for work
/// that must not wait (the leak report at exit).
pub fn try_lock() -> Option<Locked> {
    if !HEAP.lock.try_lock() {
        return None;
    }
    // Take it once more through `lock` (re-entrant, so this cannot wait) to
    // get the initialization `lock` does, then drop the extra acquisition.
    let g = lock();
    // SAFETY: this thread took the lock in try_lock just above.
    unsafe { HEAP.lock.unlock() };
    Some(g)
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: a `Locked` exists only while this thread holds the lock.
        unsafe { HEAP.lock.unlock() }
    }
}

impl Locked {
    /// The heap state. Dereference it only in scopes that do not call user
    /// code (see the module invariants).
    #[inline]
    pub fn st(&self) -> *mut State {
        HEAP.state.get()
    }
}

thread_local! {
    /// How many times the host took the lock with `gc_lock` on this thread.
    static USER_LOCKS: Cell<usize> = const { Cell::new(0) };
}

/// `gc_lock`: takes the lock on behalf of the host.
pub fn user_lock() {
    std::mem::forget(lock());
    USER_LOCKS.with(|n| n.set(n.get() + 1));
}

/// `gc_unlock`: releases one `user_lock`. Returns false (and does nothing)
/// when this thread holds no lock taken by `user_lock`.
pub fn user_unlock() -> bool {
    USER_LOCKS.with(|n| {
        if n.get() == 0 {
            return false;
        }
        n.set(n.get() - 1);
        // SAFETY: this thread took the lock in user_lock and never released
        // that acquisition.
        unsafe { HEAP.lock.unlock() };
        true
    })
}

/// Runs `f` on the heap state with the lock held. `f` must not call user
/// code or re-enter the library.
pub fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let g = lock();
    // SAFETY: lock held; f runs no user code (contract).
    f(unsafe { &mut *g.st() })
}

/// At process exit, runs the releases still deferred through the epoch and
/// gives back the weakref table's memory when no weakref is left, so leak
/// checkers report nothing of ours after a clean shutdown (both are only
/// reachable through interior pointers, which valgrind calls "possibly
/// lost"). Skipped if another thread holds the lock.
extern "C" fn release_at_exit() {
    if !HEAP.lock.try_lock() {
        return;
    }
    // Each flush may advance the epoch once; two advances free a bag.
    for _ in 0..4 {
        crossbeam_epoch::pin().flush();
    }
    // SAFETY: we hold the lock; no user code runs here.
    unsafe {
        let st = &mut *HEAP.state.get();
        if st.weak.is_empty() {
            st.weak = HashMap::with_hasher(BuildHasherDefault::new());
        }
        HEAP.lock.unlock();
    }
}

#[used]
#[unsafe(link_section = ".fini_array")]
static RELEASE_AT_EXIT: extern "C" fn() = release_at_exit;
