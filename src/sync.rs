//! The heap lock: a re-entrant lock on a POSIX mutex, and the state of its
//! holder (running library code or host code), which is what lets `fork()`
//! proceed while another thread holds the lock in host code (heap.rs).
//!
//! A POSIX mutex (rather than a user-space parking lot) because the child
//! of a `fork()` can reset it to its initial value: nothing else (no global
//! table of parked threads) can be left locked by a thread that did not
//! survive the fork.
//!
//! Invariants:
//! - While one thread uses the library the lock is biased to it (bias.rs):
//!   it holds the lock without the mutex, and turns those holds into holds
//!   of the mutex before it runs host code, so that everything below holds
//!   whenever host code runs or another thread waits.
//! - `owner` is the `pthread_self()` of the thread holding `mutex`, 0 when
//!   it is free; `depth` (the number of acquisitions) is only touched by
//!   the owner.
//! - `state` is `FREE` exactly while nobody holds the lock; while it is
//!   held: `LIB` when the holder runs library code, `HOST` when it runs host
//!   code (a hook or callback, or between `gc_lock` and `gc_unlock`), and
//!   `FORKING` when a thread about to fork froze a holder in host code: the
//!   holder cannot go back to library code (`enter_library` waits) until
//!   the fork is over. Only the holder moves its state between `LIB` and
//!   `HOST`; only a forking thread moves `HOST` to `FORKING` and back.
//! - The library runs host code only where every half-done piece of work
//!   is recorded in the heap state (heap.rs says how the child finishes it).

use std::cell::UnsafeCell;
use std::sync::atomic::{
    AtomicU8, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

pub const FREE: u8 = 0;
pub const LIB: u8 = 1;
pub const HOST: u8 = 2;
pub const FORKING: u8 = 3;

pub struct ReentrantLock {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    owner: AtomicUsize,
    depth: UnsafeCell<usize>,
    state: AtomicU8,
}

// SAFETY: `mutex` is a pthread mutex (made for sharing between threads);
// `depth` is only touched by the thread that holds it.
unsafe impl Sync for ReentrantLock {}

use crate::bias::{self, me};

impl ReentrantLock {
    pub const fn new() -> ReentrantLock {
        ReentrantLock {
            mutex: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
            owner: AtomicUsize::new(0),
            depth: UnsafeCell::new(0),
            state: AtomicU8::new(FREE),
        }
    }

    /// Whether this thread holds the lock (real or biased, see bias.rs).
    #[inline]
    pub fn held_by_me(&self) -> bool {
        self.real_held_by_me() || bias::biased_holds() > 0
    }

    /// Whether this thread holds the real lock.
    #[inline]
    pub fn real_held_by_me(&self) -> bool {
        // Relaxed: only this thread ever stores its own id here, so reading
        // it means this thread stored it and has not cleared it since.
        self.owner.load(Relaxed) == me()
    }

    /// Takes the lock (re-entrant). Returns true when this thread already
    /// held it and was running host code: the caller entered the library
    /// from a hook and must go back with `leave_library` before `unlock`.
    #[inline]
    pub fn lock(&self) -> bool {
        if self.real_held_by_me() {
            // SAFETY: we hold the lock, so depth is ours.
            unsafe { *self.depth.get() += 1 };
            if self.state.load(Relaxed) == HOST || self.state.load(Relaxed) == FORKING {
                self.enter_library();
                return true;
            }
            return false;
        }
        if bias::lock_biased() {
            return false;
        }
        self.lock_slow();
        false
    }

    #[cold]
    fn lock_slow(&self) {
        bias::settle_lock();
        if bias::lock_biased() {
            return;
        }
        // SAFETY: the mutex is initialized (statically, or reset in a fork
        // child where no other thread exists).
        unsafe { libc::pthread_mutex_lock(self.mutex.get()) };
        self.acquired();
    }

    /// Takes the lock if it is free or already ours (then like `lock`);
    /// None when another thread holds it (or holds its bias).
    pub fn try_lock(&self) -> Option<bool> {
        if self.real_held_by_me() {
            return Some(self.lock());
        }
        if bias::lock_biased() {
            return Some(false);
        }
        if !bias::is_unbiased() {
            return None;
        }
        self.try_lock_real().then_some(false)
    }

    /// Takes the real mutex if it is free.
    fn try_lock_real(&self) -> bool {
        // SAFETY: as in lock.
        if unsafe { libc::pthread_mutex_trylock(self.mutex.get()) } != 0 {
            return false;
        }
        self.acquired();
        true
    }

    fn acquired(&self) {
        self.owner.store(me(), Relaxed);
        // SAFETY: we hold the mutex.
        unsafe { *self.depth.get() = 1 };
        // Relaxed: the mutex orders this with every other holder.
        self.state.store(LIB, Relaxed);
    }

    /// Releases one acquisition.
    ///
    /// # Safety
    /// This thread holds the lock, in library code.
    pub unsafe fn unlock(&self) {
        if !self.real_held_by_me() {
            bias::unlock_biased();
            return;
        }
        // SAFETY: we hold the lock (caller).
        unsafe {
            let depth = self.depth.get();
            *depth -= 1;
            if *depth == 0 {
                self.state.store(FREE, Relaxed);
                self.owner.store(0, Relaxed);
                libc::pthread_mutex_unlock(self.mutex.get());
            }
        }
    }

    /// The holder is about to run host code.
    #[inline]
    pub fn leave_library(&self) {
        if !self.real_held_by_me() {
            // Biased holds become holds of the real mutex, which nobody
            // else can hold meanwhile (bias.rs): a revoker need not wait
            // for host code.
            let holds = bias::take_biased_holds();
            debug_assert!(holds > 0, "leave_library without the lock");
            // SAFETY: as in lock.
            unsafe { libc::pthread_mutex_lock(self.mutex.get()) };
            self.acquired();
            // SAFETY: we hold the mutex.
            unsafe { *self.depth.get() = holds };
        }
        // Release: pairs with the Acquire of a forking thread's `freeze`, so
        // every change the library made to the heap before it called the
        // host is in memory the child gets.
        self.state.store(HOST, Release);
    }

    /// The holder is back in library code (from host code); waits while a
    /// thread forks with this one frozen.
    #[inline]
    pub fn enter_library(&self) {
        // Acquire: pairs with the Release in `thaw` (nothing of the fork
        // must be seen half done).
        while self
            .state
            .compare_exchange_weak(HOST, LIB, Acquire, Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    /// For a forking thread that does not hold the lock: freezes a holder
    /// that runs host code (true), or takes the lock if it is free (false);
    /// otherwise (the holder runs library code, which ends or calls the
    /// host soon) tries again.
    pub fn freeze_or_take(&self) -> bool {
        // A biased holder is in library code (it converts before host
        // code): revoking waits for that to end.
        bias::settle_lock();
        loop {
            if self.try_lock_real() {
                return false;
            }
            // AcqRel: acquires the holder's `leave_library` (see there).
            if self
                .state
                .compare_exchange(HOST, FORKING, AcqRel, Relaxed)
                .is_ok()
            {
                return true;
            }
            std::thread::yield_now();
        }
    }

    /// In the parent after a fork that froze the holder: lets it go on.
    pub fn thaw(&self) {
        // Release: pairs with the frozen holder's Acquire CAS in
        // `enter_library`.
        self.state.store(HOST, Release);
    }

    /// In a fork child, whose only thread does not hold the lock: makes the
    /// lock free and new, whoever held it in the parent.
    ///
    /// # Safety
    /// Only in a fork child, before any other thread exists.
    pub unsafe fn reset_in_child(&self) {
        // SAFETY: no other thread exists, so nothing else touches the mutex;
        // the initializer makes it a fresh unlocked mutex.
        unsafe {
            self.mutex.get().write(libc::PTHREAD_MUTEX_INITIALIZER);
            *self.depth.get() = 0;
        }
        self.owner.store(0, Relaxed);
        self.state.store(FREE, Relaxed);
    }
}
