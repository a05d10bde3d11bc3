//! The one global heap: its re-entrant lock and the state it guards
//! (generation lists, counts, thresholds, stats, callbacks, the death queue
//! and the weakref table).
//!
//! Invariants:
//! - `State` is only touched by the thread that holds `HEAP.lock`. Hooks and
//!   callbacks run with the lock held and may re-enter the API, so code never
//!   keeps a `&mut State` alive across a call into user code: it takes a
//!   fresh one with `Locked::st` after every such call.
//! - Every tracked live object is in exactly one of `gens[0..3]`, the
//!   young lanes (`lanes`, part of generation 0), a nursery's young list
//!   (nursery.rs, also generation 0; moved to `gens[0]` before every
//!   collection or walk), `old`,
//!   `dirty`, `permanent`, a collector working list (only during a
//!   collection), or,
//!   once its count reached zero, the death stack (`deaths` or `fresh`),
//!   a nursery death's worklist,
//!   or (collector garbage) a collector working list. Untracked objects are in no list.
//! - `count[0]` plus the nurseries' shares is count0 (below).
//! - Generation 2 is three lists: `old` (the `old_len` objects marked
//!   `OLD`, and the objects marked `DIRTY`, which lost it since the last
//!   full collection and stayed, each marked on its pool page: the pool
//!   counts them, `Pool::marked_count`),
//!   `dirty` (objects that lost `OLD` since the last full collection and
//!   moved) and `gens[2]` (the rest: promoted since, resurrected,
//!   uncollectable).
//!   `generation_lists` names them, oldest first.
//! - `count[0]` is tracked allocations minus tracked deallocations since the
//!   last generation-0 collection (never below 0); `count[1]`/`count[2]` are
//!   collections of the next younger generation since this one was collected.

use crate::object::Header;
use crate::sync::ReentrantLock;
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
    /// More lists of generation 0, one per allocation lane but the first
    /// (alloc.rs `LANES`; lane 0's is `gens[0]`): a thread that does not
    /// hold the lock's bias links its new objects into its lane's list, so
    /// that their neighbours are its own objects, not objects other threads
    /// are using (linking and unlinking writes the neighbours' links: a
    /// thread reading an object that happened to be the list's tail made a
    /// thread creating and dropping objects 3x slower). A collection first
    /// appends them to `gens[0]` (`gather_young`).
    pub lanes: [Lane; crate::alloc::LANES - 1],
    /// Generation 2's objects marked `OLD` (object.rs): survivors of the last
    /// full collection that saw them, with no reference lost since. A full
    /// collection does not scan them (gc/mod.rs).
    pub old: Header,
    /// How many objects `old` holds. Wrapping arithmetic: during a full
    /// collection it may go below zero for a while, when the garbage it
    /// frees releases references to survivors already marked `OLD` (they
    /// lose it again, `make_dirty`) before `old_len` counts them.
    pub old_len: usize,
    /// Generation 2's objects that lost `OLD` since the last full
    /// collection and moved (refcount.rs `make_dirty`; the collection
    /// adds the `DIRTY` ones): where it starts looking into `old`.
    pub dirty: Header,
    /// While the collector's scan frees garbage as it finds it
    /// (gc/scan.rs `free_passed`), its list must not change under the
    /// walk: an object that loses `OLD` and cannot be marked on its page
    /// is noted in `deferred_dirty` instead of moving to `dirty`, and moves
    /// after the walk (`deferred_lost`: one could not be noted for want of
    /// memory; it is found by a walk of the lists instead).
    pub passing: bool,
    pub deferred_dirty: Vec<*mut Header>,
    pub deferred_lost: bool,
    pub permanent: Header,
    pub count: [usize; NUM_GENERATIONS],
    pub threshold: [usize; NUM_GENERATIONS],
    pub enabled: bool,
    /// What keeps `obj_decref`'s straight death path out (`Busy::any`).
    pub busy: Busy,
    pub long_lived_total: usize,
    pub long_lived_pending: usize,
    pub stats: [GcGenStats; NUM_GENERATIONS],
    pub callbacks: Vec<(CallbackFn, *mut c_void)>,
    /// The death stack (refcount.rs): objects whose death is under way or
    /// due, linked through `next`, the one to work on next on top. A dying
    /// object keeps its progress in `prev` (`refcount::RESUME_MARK`).
    pub deaths: *mut Header,
    /// Deaths queued by the step of the death stack now running (linked
    /// through `next`, oldest first); pushed onto `deaths` as one group
    /// when the step ends, so they complete before anything below.
    pub fresh: *mut Header,
    pub fresh_tail: *mut Header,
    /// Target address -> newest weakref object to it (weakref.rs).
    pub weak: AddrMap<*mut Header>,
    /// Memory for tracked objects (alloc.rs).
    pub pool: crate::alloc::Pool,
    /// Dead objects that have had weakrefs, waiting until no lock-free
    /// reader can hold them (epoch.rs), oldest first.
    pub retired: *mut Header,
    pub retired_tail: *mut Header,
    /// Blocks on the retired list.
    pub retired_len: usize,
    /// While a collection runs host code: the working lists that hold its
    /// garbage (their sentinels live on the collecting thread's stack), so
    /// a fork child can give an abandoned collection's garbage back.
    pub abandon: [*const Header; 3],
    /// The object whose finalizer a collection is running, holding a
    /// reference to it (gc/mod.rs), or NULL.
    pub finalizing: *mut Header,
}

/// Three flags of the heap state, side by side in one word so that the
/// straight death path (refcount.rs `die_quick`) tests them with one load.
#[repr(C, align(4))]
pub struct Busy {
    /// A collection is running.
    pub collecting: bool,
    /// A death or a collection is in progress: new deaths are queued and
    /// the outermost one drains the queue.
    pub draining: bool,
    /// Whether some thread has begun a lock-free section (sections.rs; set
    /// under the lock, as `USED` grows): until then every free is at once.
    pub sections_used: bool,
    /// Always false: makes the fourth byte of the word defined.
    zero: bool,
}

impl Busy {
    /// Whether any of the three is set.
    #[inline(always)]
    pub fn any(&self) -> bool {
        // SAFETY: repr(C) with four bool fields and align 4: the struct is
        // one initialized, aligned 4-byte word, each byte 0 or 1.
        unsafe { (self as *const Busy as *const u32).read() != 0 }
    }
}

/// The lists that hold generation `generation`, oldest first (module docs).
///
/// # Safety
/// Lock held; only addresses are taken.
pub unsafe fn generation_lists(st: *mut State, generation: usize) -> Vec<*const Header> {
    // SAFETY: caller's contract.
    unsafe {
        if generation == NUM_GENERATIONS - 1 {
            vec![
                &raw const (*st).old,
                &raw const (*st).dirty,
                &raw const (*st).gens[generation],
            ]
        } else if generation == 0 {
            std::iter::once(&raw const (*st).gens[0])
                .chain((*st).lanes.iter().map(|l| &raw const l.0))
                .collect()
        } else {
            vec![&raw const (*st).gens[generation]]
        }
    }
}

/// A young lane's list sentinel, alone on its cache line (the lanes' owners
/// write them in turn).
#[repr(align(64))]
pub struct Lane(pub Header);

/// The list that new objects of allocation lane `lane` join.
///
/// # Safety
/// Lock held; only the address is taken.
#[inline(always)]
pub unsafe fn young_list(st: *mut State, lane: usize) -> *const Header {
    // SAFETY: caller's contract.
    unsafe {
        if lane == 0 {
            &raw const (*st).gens[0]
        } else {
            &raw const (*st).lanes[lane - 1].0
        }
    }
}

/// Appends every young lane's objects to `gens[0]` (before a collection).
///
/// # Safety
/// Lock held.
pub unsafe fn gather_young(st: *mut State) {
    // SAFETY: caller's contract; the lanes are initialised lists.
    unsafe {
        for l in &(*st).lanes {
            crate::list::merge(&l.0, &raw const (*st).gens[0]);
        }
    }
}

pub struct Heap {
    lock: ReentrantLock,
    state: UnsafeCell<State>,
}

// SAFETY: `state` is only accessed by the thread holding `lock`.
unsafe impl Sync for Heap {}

pub static HEAP: Heap = Heap {
    lock: ReentrantLock::new(),
    state: UnsafeCell::new(State {
        initialized: false,
        gens: [
            crate::list::sentinel(),
            crate::list::sentinel(),
            crate::list::sentinel(),
        ],
        lanes: [const { Lane(crate::list::sentinel()) }; crate::alloc::LANES - 1],
        old: crate::list::sentinel(),
        old_len: 0,
        dirty: crate::list::sentinel(),
        passing: false,
        deferred_dirty: Vec::new(),
        deferred_lost: false,
        permanent: crate::list::sentinel(),
        count: [0; NUM_GENERATIONS],
        threshold: [700, 10, 10],
        enabled: true,
        busy: Busy {
            collecting: false,
            draining: false,
            sections_used: false,
            zero: false,
        },
        long_lived_total: 0,
        long_lived_pending: 0,
        stats: [GcGenStats {
            collections: 0,
            collected: 0,
            uncollectable: 0,
        }; NUM_GENERATIONS],
        callbacks: Vec::new(),
        deaths: std::ptr::null_mut(),
        fresh: std::ptr::null_mut(),
        fresh_tail: std::ptr::null_mut(),
        weak: HashMap::with_hasher(BuildHasherDefault::new()),
        pool: crate::alloc::Pool::new(),
        retired: std::ptr::null_mut(),
        retired_tail: std::ptr::null_mut(),
        retired_len: 0,
        abandon: [std::ptr::null(); 3],
        finalizing: std::ptr::null_mut(),
    }),
};

/// Proof that this thread holds the heap lock; unlocks on drop.
pub struct Locked {
    /// This acquisition entered the library from host code (a hook): the
    /// drop goes back to host code.
    from_host: bool,
    _not_send: std::marker::PhantomData<*mut ()>,
}

/// Takes the heap lock (re-entrant).
#[inline]
pub fn lock() -> Locked {
    let from_host = HEAP.lock.lock();
    let g = Locked {
        from_host,
        _not_send: std::marker::PhantomData,
    };
    // SAFETY: we hold the lock and no other borrow of the state is live here
    // (this borrow ends before we return).
    if !unsafe { (*g.st()).initialized } {
        initialize(&g);
    }
    g
}

/// The heap lock taken by a biased hold (the owner's plain store of
/// `holds`, bias.rs), or None at once when taking it needs more: the real
/// lock held by this thread (a hook re-entered the library), the bias not
/// this thread's, or the heap not set up yet. No call on the way, so a
/// caller's common case needs no stack frame. Give it back with
/// `unlock_biased` (dropping the guard would too, but through a path with
/// calls this one never takes); no host code may run meanwhile (that
/// needs the real lock, see `host`).
#[inline(always)]
pub fn lock_biased() -> Option<std::mem::ManuallyDrop<Locked>> {
    if HEAP.lock.real_held_by_me() || !crate::bias::lock_biased() {
        return None;
    }
    let g = std::mem::ManuallyDrop::new(Locked {
        from_host: false,
        _not_send: std::marker::PhantomData,
    });
    // SAFETY: we hold the lock; the borrow ends at once.
    if !unsafe { (*g.st()).initialized } {
        unlock_biased(g);
        return None;
    }
    Some(g)
}

/// The heap lock, implied by the counts bias this thread has entered
/// (bias.rs `lock_implied_by_counts`): no hold to take or give back. None
/// when that is not so, or this thread holds the real lock (a hook
/// re-entered the library). The guard is valid until the caller exits the
/// counts bias; no host code may run meanwhile.
///
/// # Safety
/// The caller is inside `bias::enter_owned_counts`, and the heap is set up
/// (the counts bias is claimed by the first creation, before any object
/// exists to change a count of).
#[inline(always)]
pub unsafe fn lock_under_counts() -> Option<std::mem::ManuallyDrop<Locked>> {
    if HEAP.lock.real_held_by_me() || !crate::bias::lock_implied_by_counts() {
        return None;
    }
    let g = std::mem::ManuallyDrop::new(Locked {
        from_host: false,
        _not_send: std::marker::PhantomData,
    });
    // SAFETY: we hold the lock; the borrow ends at once.
    debug_assert!(unsafe { (*g.st()).initialized });
    Some(g)
}

/// Gives back a hold from `lock_biased`.
#[inline(always)]
pub fn unlock_biased(g: std::mem::ManuallyDrop<Locked>) {
    let _ = g;
    crate::bias::unlock_biased();
}

/// The first holder of the lock sets up the generation lists and the
/// process hooks.
#[cold]
fn initialize(g: &Locked) {
    // SAFETY: we hold the lock and no other borrow of the state is live here
    // (this borrow ends before we return).
    let st = unsafe { &mut *g.st() };
    for head in st.gens.iter().chain(st.lanes.iter().map(|l| &l.0)).chain([
        &st.old,
        &st.dirty,
        &st.permanent,
    ]) {
        crate::list::init(head);
    }
    st.initialized = true;
    // (Miri runs no foreign functions; the model test under Miri needs
    // neither registration.)
    if !cfg!(miri) {
        // SAFETY: registering plain functions with no preconditions (a
        // failure only means the exit-time tidy-up, or fork support, is
        // missing). atexit, unlike an ELF `.fini_array` entry, is
        // portable POSIX.
        unsafe {
            libc::atexit(release_at_exit);
            libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
        }
    }
}

/// Takes the heap lock if no other thread holds it (re-entrant), for work
/// that must not wait (the leak report at exit).
pub fn try_lock() -> Option<Locked> {
    let from_host = HEAP.lock.try_lock()?;
    let g = Locked {
        from_host,
        _not_send: std::marker::PhantomData,
    };
    // Once more through `lock` (re-entrant, so this cannot wait) for the
    // initialization it does; dropping that guard releases only its own
    // acquisition.
    drop(lock());
    Some(g)
}

impl Drop for Locked {
    fn drop(&mut self) {
        if self.from_host {
            HEAP.lock.leave_library();
        }
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

/// Runs host code (a hook or callback) from library code with the lock
/// held; every half-done piece of work must be recorded in the heap state
/// first (see the fork handlers).
#[inline]
pub fn host<R>(f: impl FnOnce() -> R) -> R {
    HEAP.lock.leave_library();
    let r = f();
    HEAP.lock.enter_library();
    r
}

thread_local! {
    /// How many times the host took the lock with `gc_lock` on this thread.
    static USER_LOCKS: Cell<usize> = const { Cell::new(0) };
}

/// `gc_lock`: takes the lock on behalf of the host.
pub fn user_lock() {
    HEAP.lock.lock();
    USER_LOCKS.with(|n| n.set(n.get() + 1));
    HEAP.lock.leave_library();
}

/// `gc_unlock`: releases one `user_lock`. Returns false (and does nothing)
/// when this thread holds no lock taken by `user_lock`.
pub fn user_unlock() -> bool {
    USER_LOCKS.with(|n| {
        if n.get() == 0 {
            return false;
        }
        n.set(n.get() - 1);
        HEAP.lock.enter_library();
        // SAFETY: this thread took the lock in user_lock and never released
        // that acquisition.
        unsafe { HEAP.lock.unlock() };
        if HEAP.lock.held_by_me() {
            // Still held (an outer gc_lock, or a hook that called
            // gc_lock/gc_unlock): back to host code.
            HEAP.lock.leave_library();
        }
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

/// At process exit, releases what the epoch allows and gives back the
/// weakref table's memory when no weakref is left, so leak checkers report
/// nothing of ours after a clean shutdown (both are only reachable through
/// interior pointers, which valgrind calls "possibly lost"). Skipped if
/// another thread holds the lock.
extern "C" fn release_at_exit() {
    let Some(from_host) = HEAP.lock.try_lock() else {
        return;
    };
    let g = Locked {
        from_host,
        _not_send: std::marker::PhantomData,
    };
    // SAFETY: we hold the lock; no user code runs here.
    unsafe {
        crate::refcount::release_retired(g.st());
        let st = &mut *g.st();
        if st.weak.is_empty() {
            st.weak = HashMap::with_hasher(BuildHasherDefault::new());
        }
    }
}

thread_local! {
    /// Between fork_prepare and fork_parent/fork_child on the forking
    /// thread: what fork_prepare did with the lock.
    static FORK_MODE: Cell<u8> = const { Cell::new(FORK_SELF) };
}
/// The forking thread holds the lock itself (it forks from host code).
const FORK_SELF: u8 = 0;
/// The lock was free: fork_prepare took it.
const FORK_TOOK: u8 = 1;
/// Another thread held it in host code: fork_prepare froze it there.
const FORK_FROZE: u8 = 2;

/// Before fork(): makes sure no other thread is in the middle of library
/// work. Never waits for host code: a holder running host code (a hook,
/// or between gc_lock and gc_unlock) is frozen there; a holder running
/// library code is waited for until it ends or calls the host.
extern "C" fn fork_prepare() {
    let mode = if HEAP.lock.held_by_me() {
        FORK_SELF
    } else if HEAP.lock.freeze_or_take() {
        FORK_FROZE
    } else {
        FORK_TOOK
    };
    FORK_MODE.with(|m| m.set(mode));
    // No other thread is then halfway through a section (a nursery's lists).
    crate::sections::fork_stop();
}

/// After fork(), in the parent: undoes fork_prepare.
extern "C" fn fork_parent() {
    crate::sections::fork_unstop();
    match FORK_MODE.with(|m| m.get()) {
        // SAFETY: fork_prepare took this acquisition, in library code.
        FORK_TOOK => unsafe { HEAP.lock.unlock() },
        FORK_FROZE => HEAP.lock.thaw(),
        _ => {}
    }
}

/// After fork(), in the child (one thread, this one): the lock and the
/// reader slots are reset, and the work of a thread frozen in host code
/// that did not survive the fork is finished or given back: the references
/// it held for its hook are dropped, an abandoned collection's garbage
/// goes back to the oldest generation (a later collection finds it again;
/// finalizers that ran never run again), and deaths on the death stack
/// complete at the next release (an interrupted finalizer is not rerun:
/// its object continues at the resurrection check).
extern "C" fn fork_child() {
    crate::bias::after_fork_in_child();
    let mode = FORK_MODE.with(|m| m.get());
    // SAFETY: in a fork child, before any other thread exists. Stops are
    // made under the lock: they are this thread's if it held the lock.
    unsafe {
        crate::epoch::reset_in_child();
        crate::sections::reset_in_child(mode == FORK_SELF);
    }
    if mode == FORK_SELF {
        return;
    }
    // SAFETY: as above; the lock's holder (this thread or a frozen one)
    // does not run in the child.
    unsafe { HEAP.lock.reset_in_child() };
    if mode == FORK_TOOK {
        gather_in_child();
        return;
    }
    let g = lock();
    // SAFETY: lock held; no user code runs here. The abandoned lists'
    // sentinels are on the frozen thread's stack, which the child keeps.
    unsafe {
        let st = &mut *g.st();
        if !st.finalizing.is_null() {
            // The collection's reference for the finalizer (never below 1).
            (*st.finalizing).rc.decrement_nonzero();
            st.finalizing = std::ptr::null_mut();
        }
        for list in st.abandon {
            if list.is_null() {
                continue;
            }
            let mut h = crate::list::next(list);
            while !std::ptr::eq(h, list) {
                (*h).unset(crate::object::DYING | crate::object::COLLECTED | crate::object::MARK);
                h = crate::list::next(h);
            }
            crate::list::merge(list, &st.gens[NUM_GENERATIONS - 1]);
            crate::order::stored_elsewhere();
        }
        st.abandon = [std::ptr::null(); 3];
        st.busy.collecting = false;
        st.busy.draining = false;
    }
    drop(g);
    gather_in_child();
}

/// In a fork child, which one thread uses: the nurseries' objects and
/// shares join the heap state, so that count0 and the trigger are exact
/// again (API.md).
fn gather_in_child() {
    let g = lock();
    let _stop = crate::sections::stop(&g);
    // SAFETY: lock held, sections stopped.
    unsafe { crate::nursery::gather(&g) };
}
