//! Biased ownership of the heap lock and of the reference counts: while only
//! one thread uses the library, it pays no locked instruction.
//!
//! Most programs use the library from one thread. The first thread that
//! creates an object (or takes the heap lock) becomes the owner of two
//! biases:
//! - `LOCK`: the owner takes and releases the heap lock with plain loads and
//!   stores of `holds` (its nesting depth) instead of the real lock
//!   (sync.rs). Before it runs host code (a hook, or between `gc_lock` and
//!   `gc_unlock`) it turns its biased holds into holds of the real lock, so
//!   nobody ever waits for host code to revoke a bias.
//! - `COUNTS`: the owner changes reference counts with a plain load and
//!   store instead of a locked read-modify-write; `holds` is 1 around each
//!   such change.
//!
//! The first other thread that creates an object or takes the lock revokes
//! both; the first other thread that changes a count lock-free (incref,
//! decref, weakref_get) revokes `COUNTS`. Revocation is for good: the
//! revoker moves `state` from the owner's id to `REVOKING`, has every thread
//! of the process execute a full memory barrier (Linux `membarrier`), waits
//! until the owner's `holds` is 0, and sets `state` to `NONE`. Other threads
//! that find `REVOKING` wait for `NONE`; the owner does not wait (it may hold
//! what the revoker waits for): it just stops using the bias. (Biased
//! locking as the JVM had it, with membarrier as the fence the owner never
//! pays for, as in userspace RCU.)
//!
//! Why it is exclusive, a Dekker pair in which the revoker makes both
//! fences: the owner stores `holds + 1`, then loads `state`; the revoker
//! stores `state`, then `membarrier` makes every running thread execute a
//! full barrier (a descheduled one passed one when it was switched out),
//! then it loads `holds`. So either the owner's load comes after its barrier
//! and sees the revocation (it undoes the increment and takes the shared
//! path), or its store came before the barrier and the revoker sees
//! `holds > 0` and waits. No other thread can meet an object before the
//! bias exists: claiming happens in the call that creates the process's
//! first object, and every later creation by another thread revokes first.
//!
//! Where `membarrier` is missing (not Linux, old kernels, some emulators,
//! Miri),
//! or with `RCGC_BIAS=0` in the environment (the tests run both ways),
//! nothing is biased.
//!
//! Checked mode (checks.rs) validates every handle the host passes before
//! it is used; the owner's paths skip that test. So no bias is claimed
//! while checked mode is on (or set to come on), and `gc_set_checks(true)`
//! ends every bias (`end_for_checks`, which the owner may do to its own):
//! a thread that finds the counts bias its own knows checked mode is off.
//!
//! Invariants: `state` goes only UNCLAIMED -> owner id -> REVOKING -> NONE,
//! UNCLAIMED -> NONE, or owner id -> NONE by the owner itself (checked mode
//! coming on); `holds` is written only by the owner; a thread
//! holds the lock biased, or changes a count with plain accesses, only
//! after seeing `state` equal to its id with its `holds` raised; revoking
//! `LOCK` revokes `COUNTS` first (a real-lock holder changes flag bits of
//! count words atomically, which a plain change would overwrite). So the
//! owner of both, inside the counts bias, holds the lock too without a
//! hold of `LOCK` (`lock_implied_by_counts`): the owner's drop of a last
//! reference frees the object that way, with one bias protocol instead of
//! two. Nobody
//! but the owner holds the real lock while the owner has biased holds; a
//! thread that holds the real lock takes it again re-entrantly rather than
//! biased, so an unlock releases the real lock when this thread holds it,
//! a biased hold otherwise.

use std::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
    compiler_fence,
};

/// This thread's id: what `pthread_self()` returns (on x86-64 glibc, read
/// directly from the thread pointer to save the call).
#[inline(always)]
pub fn me() -> usize {
    #[cfg(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu",
        not(miri)
    ))]
    {
        let id: usize;
        // SAFETY: on x86-64 glibc, %fs:0x10 is the TCB's self pointer, the
        // value pthread_self() returns; reading it has no side effects.
        // `nomem`: the word never changes while the thread lives, so the
        // compiler may reuse one read across stores (it is this thread's
        // constant, like a register).
        unsafe {
            std::arch::asm!("mov {}, qword ptr fs:[0x10]", out(reg) id,
                options(nostack, nomem, preserves_flags, pure))
        };
        id
    }
    #[cfg(not(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu",
        not(miri)
    )))]
    // SAFETY: pthread_self has no preconditions.
    unsafe {
        libc::pthread_self() as usize
    }
}

/// `state`: no bias yet.
const UNCLAIMED: usize = 1;
/// `state`: a revocation is under way; wait for `NONE`.
const REVOKING: usize = 2;
/// `state`: no bias; everyone uses the shared path.
const NONE: usize = 0;

/// One bias: whose it is, and how much of it the owner is using.
pub struct Bias {
    state: AtomicUsize,
    holds: AtomicUsize,
    /// The owner, stored by the revoker (so the owner knows not to wait).
    owner: AtomicUsize,
}

pub static LOCK: Bias = Bias::new();
pub static COUNTS: Bias = Bias::new();

impl Bias {
    const fn new() -> Bias {
        Bias {
            state: AtomicUsize::new(UNCLAIMED),
            holds: AtomicUsize::new(0),
            owner: AtomicUsize::new(0),
        }
    }

    /// Whether the bias is this thread's (it may then `enter`).
    #[inline(always)]
    fn is_mine(&self) -> bool {
        self.state.load(Relaxed) == me()
    }

    /// The owner's `holds + 1`; false (and nothing changed) when the bias
    /// was revoked meanwhile.
    #[inline(always)]
    fn enter(&self) -> bool {
        let d = self.holds.load(Relaxed);
        self.holds.store(d + 1, Relaxed);
        // Keeps the compiler from moving the load above the store; the CPU
        // reordering is the revoker's membarrier's business (module docs).
        compiler_fence(SeqCst);
        if self.state.load(Relaxed) == me() {
            return true;
        }
        self.holds.store(d, Release);
        false
    }

    /// `enter` for a use that never nests (the counts bias): `holds` goes
    /// 0 -> 1 with a plain store, so consecutive count changes do not wait
    /// on each other's update of `holds` (no load of it, no dependency
    /// chain through memory).
    #[inline(always)]
    fn enter_once(&self) -> bool {
        debug_assert_eq!(self.holds.load(Relaxed), 0, "nested use of the counts bias");
        self.holds.store(1, Relaxed);
        // As in `enter`.
        compiler_fence(SeqCst);
        if self.state.load(Relaxed) == me() {
            return true;
        }
        self.holds.store(0, Release);
        false
    }

    /// Ends an `enter_once`.
    #[inline(always)]
    fn exit_once(&self) {
        // Pairs with the revoker's Acquire load (as in `exit`).
        self.holds.store(0, Release);
    }

    /// The owner's `holds - 1`.
    #[inline(always)]
    fn exit(&self) {
        let d = self.holds.load(Relaxed);
        debug_assert!(d > 0);
        // Pairs with the revoker's Acquire load: the owner's writes made
        // under the bias are visible once its holds are gone.
        self.holds.store(d - 1, Release);
    }

    /// Waits until this bias is of no concern to this thread: it is `NONE`,
    /// or this thread's, or this thread's being revoked. Revokes another
    /// thread's bias. An unclaimed bias becomes this thread's if `claim`
    /// (and membarrier is available), `NONE` otherwise.
    #[cold]
    fn settle(&self, claim: bool) {
        loop {
            match self.state.load(Acquire) {
                NONE => return,
                UNCLAIMED => {
                    let to = if claim && membarrier_available() && !crate::checks::on_for_bias() {
                        me()
                    } else {
                        NONE
                    };
                    // SeqCst, then the mode again: `gc_set_checks(true)`
                    // stores ON, then revokes (`end_for_checks`); one of
                    // the two sees the other.
                    if self
                        .state
                        .compare_exchange(UNCLAIMED, to, SeqCst, Relaxed)
                        .is_ok()
                        && to != NONE
                        && crate::checks::on_for_bias()
                    {
                        self.state.store(NONE, SeqCst);
                    }
                }
                REVOKING if self.owner.load(Relaxed) == me() => return,
                REVOKING => std::thread::yield_now(),
                owner if owner == me() => return,
                owner => self.revoke(owner),
            }
        }
    }

    #[cold]
    fn revoke(&self, owner: usize) {
        // Every revoker stores the same value; the owner reads it after
        // seeing REVOKING (Release below, Acquire in settle).
        self.owner.store(owner, Relaxed);
        if self
            .state
            .compare_exchange(owner, REVOKING, Release, Relaxed)
            .is_err()
        {
            return; // someone else is revoking: settle's loop waits
        }
        membarrier();
        // Pairs with the Release stores of `holds` in exit/enter.
        while self.holds.load(Acquire) != 0 {
            std::thread::yield_now();
        }
        // Pairs with the Acquire load in settle.
        self.state.store(NONE, Release);
    }
}

/// Checked mode was just turned on (`gc_set_checks`, before any object
/// exists): no bias may remain, since the owner's paths skip checked
/// mode's validation of the handles they are given. The counts first (as
/// every revocation). This thread's own bias is simply given up: it is in
/// no biased use (a call from host code holds no biased hold).
#[cold]
pub fn end_for_checks() {
    for bias in [&COUNTS, &LOCK] {
        loop {
            // SeqCst: after the mode's change to ON (checks.rs `set`), as a
            // claim's compare-exchange is followed by its read of the mode
            // (`settle`): one of the two sees the other.
            match bias.state.load(SeqCst) {
                NONE | UNCLAIMED => break,
                REVOKING if bias.owner.load(Relaxed) == me() => break,
                REVOKING => std::thread::yield_now(),
                owner if owner == me() => {
                    debug_assert_eq!(bias.holds.load(Relaxed), 0);
                    bias.state.store(NONE, SeqCst);
                    break;
                }
                owner => bias.revoke(owner),
            }
        }
    }
}

/// Called by every call that creates an object, before it does: claims the
/// biases for the first creator; any other thread revokes them.
#[inline(always)]
pub fn before_create() {
    if !COUNTS.is_mine() && COUNTS.state.load(Relaxed) != NONE {
        settle_for_lock();
    }
}

/// Leaves this thread free to use the heap lock and change counts: the
/// biases are its own (claimed here if unclaimed) or nobody's. `COUNTS`
/// first: the lock is claimed only by the owner of the counts, and a bias of
/// the counts never outlives the lock's.
#[cold]
fn settle_for_lock() {
    COUNTS.settle(true);
    LOCK.settle(COUNTS.is_mine());
}

/// Runs `f`, a plain read-modify-write of count words that calls nothing,
/// if the counts are this thread's; `None` (nothing run) otherwise.
#[inline(always)]
pub fn with_owned_counts<R>(f: impl FnOnce() -> R) -> Option<R> {
    if !enter_owned_counts() {
        return None;
    }
    let r = f();
    exit_owned_counts();
    Some(r)
}

/// Enters the counts bias if it is this thread's (`with_owned_counts`
/// without the closure, for a caller that leaves it in another function);
/// `exit_owned_counts` must follow, with no host code and no other use of
/// the counts bias between.
#[inline(always)]
pub fn enter_owned_counts() -> bool {
    COUNTS.is_mine() && COUNTS.enter_once()
}

/// Ends `enter_owned_counts`.
#[inline(always)]
pub fn exit_owned_counts() {
    COUNTS.exit_once();
}

/// Inside `enter_owned_counts`: whether the heap lock's bias is this
/// thread's too. Then this thread holds the heap lock until it exits the
/// counts, with no hold of its own (`lock_biased`'s store and check): a
/// revoker of the lock's bias revokes the counts' first, and that waits
/// for the exit (module docs, invariants).
#[inline(always)]
pub fn lock_implied_by_counts() -> bool {
    LOCK.is_mine()
}

/// Before a lock-free atomic change of a count by any thread: revokes a
/// bias that belongs to another thread.
#[inline(always)]
pub fn before_shared_count_change() {
    let s = COUNTS.state.load(Relaxed);
    if s != NONE && s != UNCLAIMED && s != me() {
        COUNTS.settle(false);
    }
}

/// The heap lock's biased path (sync.rs): takes a biased hold when the
/// bias is this thread's; false otherwise (nothing changed).
#[inline(always)]
pub fn lock_biased() -> bool {
    LOCK.is_mine() && LOCK.enter()
}

/// Before this thread uses the real heap lock: claims the biases if nobody
/// has, revokes another thread's (waiting for its biased holds to end).
#[inline]
pub fn settle_lock() {
    if LOCK.state.load(Relaxed) != NONE {
        settle_for_lock();
    }
}

/// Whether the heap lock's bias is this thread's (taking the lock is then a
/// plain store, unless it is revoked meanwhile).
#[inline(always)]
pub fn lock_is_mine() -> bool {
    LOCK.is_mine()
}

/// Whether the heap lock is biased to nobody (the real lock is the lock).
#[inline]
pub fn is_unbiased() -> bool {
    LOCK.state.load(Acquire) == NONE
}

/// This thread's biased holds of the heap lock (0 if the bias is not its).
#[inline]
pub fn biased_holds() -> usize {
    let s = LOCK.state.load(Relaxed);
    if s == me() || (s == REVOKING && LOCK.owner.load(Relaxed) == me()) {
        LOCK.holds.load(Relaxed)
    } else {
        0
    }
}

/// Releases one biased hold.
#[inline(always)]
pub fn unlock_biased() {
    LOCK.exit();
}

/// Gives up all of this thread's biased holds, returning how many there
/// were: the caller (sync.rs, before host code) now holds the real lock
/// that many times instead, so a revoker need not wait for host code.
pub fn take_biased_holds() -> usize {
    let n = biased_holds();
    if n > 0 {
        // Pairs with the revoker's Acquire load.
        LOCK.holds.store(0, Release);
    }
    n
}

/// In the child of `fork()` the calling thread is the only thread.
/// `fork_prepare` settled the biases (they are this thread's or nobody's),
/// but one this thread was losing to a revoker that did not survive the
/// fork is its own again.
pub fn after_fork_in_child() {
    FIRST_CREATOR.store(me(), Relaxed);
    SEVERAL.store(false, Relaxed);
    for b in [&COUNTS, &LOCK] {
        let s = b.state.load(Relaxed);
        let owner = if s == REVOKING {
            b.owner.load(Relaxed)
        } else {
            s
        };
        if owner == me() {
            b.state.store(me(), Relaxed);
        } else if owner > REVOKING && b.holds.load(Relaxed) == 0 {
            b.state.store(NONE, Relaxed);
        }
    }
}

/// The first thread that created an object (its id), 0 before.
static FIRST_CREATOR: AtomicUsize = AtomicUsize::new(0);
/// Whether another thread has created an object since (for good, but for
/// a fork child).
static SEVERAL: AtomicBool = AtomicBool::new(false);

/// For a creation: whether more than one thread has created objects (this
/// one included). Then a thread that does not hold the heap lock's bias
/// may make objects in its nursery (nursery.rs), whose births reach count0
/// in batches; while one thread uses the library, count0 and the trigger
/// are exact (API.md). Relaxed: a policy, not an ordering (both ways are
/// correct).
#[inline]
pub fn several_threads() -> bool {
    if SEVERAL.load(Relaxed) {
        return true;
    }
    let id = me();
    match FIRST_CREATOR.compare_exchange(0, id, Relaxed, Relaxed) {
        Ok(_) => false,
        Err(first) if first == id => false,
        Err(_) => {
            SEVERAL.store(true, Relaxed);
            true
        }
    }
}

/// Whether `several_threads` has said so (one load): then the first
/// creation by a second thread, which revoked the biases first (or found
/// them never claimed), is over, and no bias can be claimed again.
#[inline(always)]
pub fn several_threads_seen() -> bool {
    SEVERAL.load(Relaxed)
}

/// For the test hook `nursery::fold_every_birth`.
pub fn pretend_several_threads() {
    SEVERAL.store(true, Relaxed);
}

const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

/// Registers the process for expedited private membarriers (once); false
/// where they are not available or `RCGC_BIAS=0`.
fn membarrier_available() -> bool {
    static TRIED: AtomicBool = AtomicBool::new(false);
    static OK: AtomicBool = AtomicBool::new(false);
    if !TRIED.load(Acquire) {
        let ok = cfg!(target_os = "linux")
            && !cfg!(miri)
            && std::env::var_os("RCGC_BIAS").is_none_or(|v| v != "0")
            && sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
        OK.store(ok, Relaxed);
        // Pairs with the Acquire load above.
        TRIED.store(true, Release);
    }
    OK.load(Relaxed)
}

/// Every running thread of this process executes a full memory barrier.
fn membarrier() {
    let r = sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    // Registered before any bias was given; it cannot fail after that.
    assert_eq!(r, 0, "membarrier failed after registration");
}

fn sys_membarrier(cmd: libc::c_int) -> libc::c_long {
    #[cfg(target_os = "linux")]
    // SAFETY: membarrier takes no pointers.
    unsafe {
        libc::syscall(libc::SYS_membarrier, cmd, 0, 0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cmd;
        -1
    }
}
