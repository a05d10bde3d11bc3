//! Steps 2-4 of a collection: which members of a list nothing outside it
//! references (gc/mod.rs describes the steps and the states of the state
//! word).
//!
//! Every pass walks its list through `walk`, forward or backward (`Way`),
//! reading the links a window of `WINDOW` members ahead, so that the loads
//! of the next members overlap. Where references reach far (`Spread`), a
//! member entering the window also has its first fields read and the
//! headers of the objects they name prefetched (`prefetch_children`): by the time the
//! pass reaches the member, its children's state words are on their way to
//! the cache. Where they lie next to their parents (a tree allocated in
//! order), the hardware has them already and the lookahead would cost a
//! third of the scan, so it is left out.
//!
//! Invariants: a pass changes only state words (the link it walks by stays
//! intact, so does the list order), except `count_refs` in a big set,
//! which walks the other way and leaves the words as a pass of the scan's
//! way would; when `deduce_unreachable` returns, both lists are plain
//! doubly linked lists again. `BACKWARD` and `PREFETCH` only steer speed:
//! the result does not depend on them.

use super::debug;
use crate::checks;
use crate::heap::{Locked, NUM_GENERATIONS};
use crate::list;
use crate::object::{
    COLLECTED, DIRTY, DYING, FINALIZED, Header, MARK, OLD, PROMOTED, WEAKREFED, fields,
    for_each_child, prefetch_children,
};
use crate::refcount::{Freed, dies_simply, free_counted, free_unwatched, release_value};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::atomic::{AtomicBool, AtomicU32, fence};

/// Low bits of `prev` during a scan (headers are 16-aligned, so a pointer
/// has them clear): the member's state.
const FLAGS: usize = 7;
/// Not reached yet: `gc_refs << REFS_SHIFT | COLLECTING`.
const COLLECTING: usize = 1;
/// Reached from a reachable member before the walk got to it: exactly
/// `AHEAD`.
const AHEAD: usize = 2;
/// The walk passed it with gc_refs 0: `predecessor | PASSED`.
const PASSED: usize = 3;
/// Found reachable after the walk passed it while the marking stack could
/// not grow: `predecessor | PENDING`, scanned by a later pass.
const PENDING: usize = 4;
const REFS_SHIFT: u32 = 3;

/// Members looked at ahead of the one a pass works on (a power of two).
const WINDOW: usize = 8;
/// The marking stack is scanned `SLACK` entries below its top, so that the
/// prefetches started when a member was pushed have time to land.
const SLACK: usize = 8;

/// What a reachability pass found.
pub(super) struct Scan {
    /// Reachable objects left in `young`.
    pub survivors: usize,
    /// Objects moved to `unreachable` (and marked `DYING | COLLECTED`).
    pub unreachable: usize,
    /// Whether an unreachable object has a finalizer that has not run.
    pub finalizers_due: bool,
    /// Whether an unreachable object has weakrefs.
    pub weakrefs_due: bool,
    /// Reachable objects the marking walk found only after passing them.
    pub revived: usize,
    /// Whether references reach far (`Spread::scattered`).
    pub scattered: bool,
    /// Whether the set is bigger than the cache holds.
    pub big: bool,
}

/// What a reachability pass does to the long-lived bookkeeping (`PROMOTED`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Promote {
    /// A generation-0 collection, or the resurrection check: nothing.
    No,
    /// A generation-1 collection: survivors move into generation 2 and are
    /// marked `PROMOTED`.
    IntoOldest,
    /// A full collection: `long_lived_pending` restarts from 0, so every
    /// scanned object loses `PROMOTED`, and survivors are marked `OLD`.
    ResetAll,
}

/// Which objects the scanned list holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Members {
    /// Every tracked object is a member (a full collection of the whole
    /// heap with no frozen object and an empty death stack, heap.rs).
    /// Membership is then the `TRACKED` bit, and one pass computes gc_refs
    /// (`count_refs`).
    All,
    /// As `All`, but for the objects marked `OLD`, which are not members
    /// (a full collection that leaves `old` out, gc/mod.rs): membership is
    /// the `TRACKED` bit without `OLD`.
    AllButOld,
    /// Anything else: members may reference tracked objects outside the
    /// list, told apart only by the `COLLECTING` mark `update_refs` puts on
    /// every member first.
    Open,
}

/// Which way the passes walk the list. The marking walk scans in its own
/// order the members reached from members it scanned before (cheap: the
/// hardware streams them), but must come back to those it had already
/// passed (depth first: each is touched twice). So it should meet parents
/// before their children: forward where the program allocated parents
/// first, backward where it allocated children first (most do).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Way {
    Forward,
    Backward,
}

/// How a scan walks its list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Habit {
    pub way: Way,
    /// Whether the first pass prefetches children (`prefetch_children`). The marking
    /// walk decides for itself from what the first pass saw (`Scan::
    /// scattered`): where children lie next to their parents, the hardware
    /// has them already and the lookahead is pure cost (a third of the scan
    /// of a tree allocated in order).
    pub prefetch: bool,
    /// Whether the set is expected to be bigger than the cache holds: then
    /// the first pass reads links ahead (`walk`) and counts how far
    /// references reach (`Spread`); for a small set, which the cache holds,
    /// both are pure cost.
    pub big: bool,
}

/// Per generation, whether its collections walk backward (`Way`), whether
/// their first pass prefetches and whether their set was big. Read and
/// written only under the heap lock, which orders the accesses (Relaxed).
/// A generation's first scan assumes a small set in allocation order (no
/// lookahead; it still learns the size): wrong, it costs one scan a
/// little (a full collection checks against its list first, `full_habit`);
/// assumed the other way, a program that allocates in order paid a fifth
/// more for its first big collection (W3: 25 ns per object instead of
/// 21).
static BACKWARD: [AtomicBool; NUM_GENERATIONS] =
    [const { AtomicBool::new(false) }; NUM_GENERATIONS];
static PREFETCH: [AtomicBool; NUM_GENERATIONS] =
    [const { AtomicBool::new(false) }; NUM_GENERATIONS];
static BIG: [AtomicBool; NUM_GENERATIONS] = [const { AtomicBool::new(false) }; NUM_GENERATIONS];
/// Whether a full collection's way is still to be asked of its list
/// (`order`): until a list was long enough to tell (once per process: the
/// probe cost a full collection of 600 objects two thirds as much again),
/// or a walk with survivors learnt it.
static ASK_ORDER: AtomicBool = AtomicBool::new(true);
/// Per generation and way (forward, backward), the share of its survivors, in
/// thousandths, that the last marking walk that way found only after
/// passing them (`EVEN` until one did): what `learn` compares.
static REVIVED: [[AtomicU32; 2]; NUM_GENERATIONS] =
    [const { [const { AtomicU32::new(EVEN) }; 2] }; NUM_GENERATIONS];
/// Even odds: half the survivors revived.
pub(super) const EVEN: u32 = 500;

/// How to walk in a collection of `generation`: what suited its last
/// collection (the layout of a heap changes slowly).
pub(super) fn habit(generation: usize) -> Habit {
    Habit {
        way: if BACKWARD[generation].load(Relaxed) {
            Way::Backward
        } else {
            Way::Forward
        },
        prefetch: PREFETCH[generation].load(Relaxed),
        big: BIG[generation].load(Relaxed),
    }
}

/// `habit`, for a full collection of the list `young`, checked against
/// the list itself where it assumes what it has not learnt:
/// - where it assumes a small set in allocation order (the first full
///   collection, or the first after small ones): if most references of the
///   first `PROBE` members the scan will meet reach far, the scan looks
///   ahead from its start. (Learnt only afterwards, the first full
///   collection of a tree built in shuffled order took half as long again
///   per object as the next ones: its first pass went from miss to miss.)
/// - until a walk or a list long enough has told (`ASK_ORDER`): the way
///   that meets parents first in the members at the list's two ends
///   (`order`). (Learnt only afterwards, the first full collection of a
///   tree built children first walked it forward and took half as long
///   again per object as the next ones: its marking walk met every child
///   before its parent.)
///
/// Only full collections, whose sets are the ones that outgrow the cache:
/// a young set the cache holds would pay for the probe and gain nothing.
pub(super) fn full_habit(young: *const Header) -> Habit {
    let oldest = NUM_GENERATIONS - 1;
    let mut habit = habit(oldest);
    let (learnt_big, learnt_prefetch) = (habit.big, habit.prefetch);
    if ASK_ORDER.load(Relaxed)
        && let Some(told) = order(young)
    {
        ASK_ORDER.store(false, Relaxed);
        if let Some(way) = told {
            habit.way = way;
            BACKWARD[oldest].store(way == Way::Backward, Relaxed);
        }
        // A list long enough to tell, in a program's first full collection
        // (which comes after thousands of allocations): taken for big, so
        // that the first pass walks against the marking walk (W4c's first
        // collection: 16.6 -> 13.9 ns per object, medians of 5).
        habit.big = true;
    }
    if !learnt_big && !learnt_prefetch {
        let scattered = match habit.way {
            Way::Backward => probe::<true>(young),
            Way::Forward => probe::<false>(young),
        };
        if scattered {
            (habit.big, habit.prefetch) = (true, true);
        }
    }
    habit
}

/// The way that meets parents before their children among the first
/// `PROBE` members at each end of `head` (the walk starts at one of them):
/// backward if more references between members of a sample point to an
/// earlier member in the list (made before, as a rule) than to a later
/// one, forward if fewer, `Some(None)` for a tie; `None` for a list shorter
/// than twice `PROBE` (a small set: the way barely matters).
pub(super) fn order(head: *const Header) -> Option<Option<Way>> {
    let (back, fwd) = (order_at::<true>(head)?, order_at::<false>(head)?);
    // order_at counts (to members before, to members after) in its own
    // walk's order; backward, "before" is after in the list.
    let (earlier, later) = (fwd.0 + back.1, fwd.1 + back.0);
    Some(match earlier.cmp(&later) {
        std::cmp::Ordering::Greater => Some(Way::Backward),
        std::cmp::Ordering::Less => Some(Way::Forward),
        std::cmp::Ordering::Equal => None,
    })
}

/// Among the first `PROBE` members of `head` walked by `BACK`, how many
/// references in their fields point to a member of the sample met before
/// the referrer, and how many to one met after; `None` if the list is
/// shorter than twice `PROBE`.
fn order_at<const BACK: bool>(head: *const Header) -> Option<(usize, usize)> {
    // (address, place in the walk), sorted by address to look fields up.
    let mut met = [(0usize, 0usize); PROBE];
    let mut x = head;
    for (i, m) in met.iter_mut().enumerate() {
        x = step::<BACK>(x);
        if x == head {
            return None;
        }
        *m = (x as usize, i);
    }
    // The list must go on past a sample at each end.
    let mut y = x;
    for _ in 0..PROBE {
        y = step::<BACK>(y);
        if y == head {
            return None;
        }
    }
    met.sort_unstable();
    let (mut before, mut after) = (0, 0);
    for &(x, i) in &met {
        // SAFETY: lock held; x is a live member, its fields NULL or live.
        for slot in unsafe { fields(x as *const Header) } {
            let c = slot.load(Relaxed) as usize;
            if let Ok(k) = met.binary_search_by_key(&c, |m| m.0) {
                let j = met[k].1;
                before += (j < i) as usize;
                after += (j > i) as usize;
            }
        }
    }
    Some((before, after))
}

/// Whether a generation whose walk this way revived `share` (thousandths
/// of its survivors) should walk the other way next, whose last walk
/// revived `other`; and `other` aged one collection. A list the program
/// made in one order has a right way (few revived: each revived member is
/// touched twice) and a wrong one (nearly all); a list that collections
/// and dirty objects have mixed may revive half its survivors either way,
/// or a third one way and all the other: so the shares are compared, not
/// held against a half (cyclic binary-trees' full collections, which
/// revived 54 % walking backward and 100 % forward, turned at every
/// collection, and a walk forward took 1.6x as long as one backward). The
/// other way's share ages toward `EVEN` by a sixteenth per collection, so
/// that a way that did badly is tried again after a few dozen.
pub(super) fn turn(share: u32, other: u32) -> (u32, bool) {
    let aged = if other > EVEN {
        other - (other - EVEN).div_ceil(16)
    } else {
        other + (EVEN - other).div_ceil(16)
    };
    (aged, share > aged)
}

/// Members `full_habit` looks at.
pub(super) const PROBE: usize = 256;

/// Whether, among the first `PROBE` members of `head` in the walk's order,
/// most references between objects reach far (`NEAR`); false for a list
/// shorter than that.
pub(super) fn probe<const BACK: bool>(head: *const Header) -> bool {
    let (mut refs, mut reach) = (0usize, 0usize);
    let mut x = head;
    for _ in 0..PROBE {
        x = step::<BACK>(x);
        if x == head {
            return false;
        }
        // SAFETY: lock held; x is a live member, its fields NULL or live.
        for slot in unsafe { fields(x) } {
            let c = slot.load(Relaxed);
            if !c.is_null() {
                refs += 1;
                reach += far(x, c) as usize;
            }
        }
    }
    refs >= PROBE / 2 && reach * 4 > refs * 3
}

/// Learns from a collection of `generation` walked by `habit`: if it
/// revived a bigger share of its survivors than the last walk the other way
/// did (`turn`), the next one walks the other way; it prefetches if this
/// one found the references scattered.
pub(super) fn learn(generation: usize, habit: Habit, scan: &Scan) {
    // (Each revived member is scanned once, so it is among the survivors.)
    if let Some(share) = (scan.revived * 1000).checked_div(scan.survivors) {
        let [this, other] = match habit.way {
            Way::Forward => [0, 1],
            Way::Backward => [1, 0],
        };
        let revived = REVIVED[generation].each_ref();
        let share = share as u32;
        let (other_share, turned) = turn(share, revived[other].load(Relaxed));
        revived[this].store(share, Relaxed);
        revived[other].store(other_share, Relaxed);
        BACKWARD[generation].store((habit.way == Way::Backward) != turned, Relaxed);
        if generation == NUM_GENERATIONS - 1 {
            ASK_ORDER.store(false, Relaxed);
        }
    }
    PREFETCH[generation].store(scan.scattered, Relaxed);
    BIG[generation].store(scan.big, Relaxed);
}

/// Steps 2-4 on the list `young`: what nothing outside it references moves to
/// `unreachable`, marked `DYING | COLLECTED` (see move_unreachable). With
/// `free` (the collector's first scan, draining), garbage that no user code
/// can see go is released and freed as it is found instead (`free_passed`),
/// when all of it dies simply.
pub(super) fn deduce_unreachable(
    young: *const Header,
    unreachable: *const Header,
    promote: Promote,
    members: Members,
    habit: Habit,
    free: Option<&Locked>,
) -> Scan {
    let reset = promote == Promote::ResetAll;
    // The flag every survivor gets.
    let mark = match promote {
        Promote::No => 0,
        Promote::IntoOldest => PROMOTED,
        Promote::ResetAll => OLD,
    };
    // Steps 2-4 read and mark count words with plain accesses inside the
    // counts bias when it is this thread's (a single-threaded program): no
    // other thread can change a count until `move_unreachable` exits it
    // after the marking walk (it must revoke the bias first, and that
    // waits for the exit, bias.rs), so no member needs `MARK` against a
    // lock-free decrement the count read missed (`read_count`). A revoker
    // waits for that part of one scan, once in the process's life.
    let owned = crate::bias::enter_owned_counts();
    if habit.way == Way::Backward {
        let spread = refs::<true>(young, reset, members, habit, owned);
        move_unreachable::<true>(young, unreachable, mark, &spread, free, owned)
    } else {
        let spread = refs::<false>(young, reset, members, habit, owned);
        move_unreachable::<false>(young, unreachable, mark, &spread, free, owned)
    }
}

/// How far references reach, as the first pass counts them.
#[derive(Default)]
struct Spread {
    /// Members seen.
    members: usize,
    /// References between members that reach an object more than `NEAR`
    /// bytes away from its referrer.
    far: usize,
}

/// Distance within which a referenced object counts as near its referrer.
pub(super) const NEAR: usize = 4096;

/// Whether `c`, referenced by `h`, lies more than `NEAR` bytes away.
#[inline(always)]
fn far(h: *const Header, c: *const Header) -> bool {
    (c as usize).wrapping_sub(h as usize).wrapping_add(NEAR) > 2 * NEAR
}
/// Members of a set that stays in the cache between passes (2-field
/// objects in about 1.5 MiB: the L2 of current x86 cores).
const CACHED_MEMBERS: usize = 1 << 15;

impl Spread {
    #[inline(always)]
    fn count(&mut self, h: *const Header, c: *const Header) {
        self.far += far(h, c) as usize;
    }
    /// Whether prefetching is worth it: more far references than one per 8
    /// members, among more members than the cache holds (below that, the
    /// first pass brought them in and the lookahead is pure cost: it made
    /// the small collections of binary-trees 10% slower).
    fn scattered(&self) -> bool {
        #[cfg(test)]
        if FORCE_SCATTERED.with(|f| f.get()) {
            return true;
        }
        self.big() && self.far > self.members / 8
    }
    /// Whether the set is bigger than the cache holds.
    fn big(&self) -> bool {
        self.members > CACHED_MEMBERS
    }
}

/// The word a pass of direction `BACK` walks by: `next` forward, `prev`
/// backward.
#[inline(always)]
fn step<const BACK: bool>(h: *const Header) -> *const Header {
    if BACK { list::prev(h) } else { list::next(h) }
}
#[inline(always)]
fn set_step<const BACK: bool>(h: *const Header, v: *const Header) {
    if BACK {
        list::set_prev(h, v)
    } else {
        list::set_next(h, v)
    }
}
/// The other word, which holds the scan's state: `prev` forward, `next`
/// backward.
#[inline(always)]
fn state<const BACK: bool>(h: *const Header) -> usize {
    // SAFETY: h is a live member of a list being scanned, a live object one
    // references, or a sentinel.
    unsafe {
        if BACK {
            (*h).next.load(Relaxed)
        } else {
            (*h).prev.load(Relaxed)
        }
    }
}
#[inline(always)]
fn set_state<const BACK: bool>(h: *const Header, v: usize) {
    // SAFETY: as state.
    unsafe {
        if BACK {
            (*h).next.store(v, Relaxed)
        } else {
            (*h).prev.store(v, Relaxed)
        }
    }
}

/// `prefetch_children` for the marking walk: only for a member that will be scanned in
/// its turn as things stand (a root, or reached already); the others are
/// passed, and looked at again if they are reached later.
#[inline(always)]
fn look_if_scanned<const BACK: bool>(h: *const Header) {
    let p = state::<BACK>(h);
    if p == AHEAD || p >> REFS_SHIFT > 0 {
        prefetch_children(h);
    }
}

/// Calls `f` on each member of the list `head` in list order (reversed if
/// `BACK`), reading links `WINDOW` members ahead if `runahead`, after
/// `look` has seen the member `WINDOW` members earlier if `prefetch`. `f`
/// may change the links of the member it is given and of
/// those before it (the walk has read them), not of those after; `look`
/// changes nothing.
#[inline(always)]
fn walk<const BACK: bool>(
    head: *const Header,
    runahead: bool,
    prefetch: bool,
    look: impl Fn(*const Header),
    mut f: impl FnMut(*const Header),
) {
    let runahead = runahead || prefetch;
    // `tip` runs up to `WINDOW` members ahead of `x` (head once past the
    // last): the loads of the links it follows overlap the work on the
    // members behind it, which then find their own links in the cache. Even
    // without `look`, that beats following the links one load after the
    // other.
    let mut tip = head;
    for _ in 0..if runahead { WINDOW } else { 0 } {
        tip = step::<BACK>(tip);
        if tip == head {
            break;
        }
        if prefetch {
            look(tip);
        }
    }
    let mut x = step::<BACK>(head);
    while x != head {
        // Read before `f` runs: `f` may change the links of `x`.
        let next = step::<BACK>(x);
        if runahead && tip != head {
            tip = step::<BACK>(tip);
            if prefetch && tip != head {
                look(tip);
            }
        }
        f(x);
        x = next;
    }
}

/// The count of `h` at the start of its scan. Marks `h` (`MARK`), in one
/// step with the read, if it has weakrefs (step 6 in gc/mod.rs), and in a
/// full collection (`reset`) whatever it has: a lock-free decrement by
/// another thread then takes the locked path until the collection ends
/// (refcount.rs `decref`), rather than drop unseen a reference this count
/// includes, which would leave the object marked `OLD` with nothing
/// holding it. With `reset`, also clears `PROMOTED`. `owned`: the scan
/// holds the counts bias (`deduce_unreachable`): no other thread changes
/// the word, so a plain load (and store, where a flag changes), and no
/// `MARK` but on weakref targets (a lock-free `weakref_get` after the
/// scan must still wait for the collection's end).
#[inline]
fn read_count(h: *const Header, reset: bool, owned: bool) -> usize {
    // SAFETY: h is live.
    let v = unsafe {
        let rc = &(*h).rc;
        if owned {
            let v = rc.load();
            let clear = if reset { PROMOTED } else { 0 };
            if v.has(WEAKREFED | clear) {
                (*h).change_owned(if v.has(WEAKREFED) { MARK } else { 0 }, clear);
            }
            v
        } else if reset {
            (*h).change_fast(MARK, PROMOTED)
        } else {
            let v = rc.load();
            if v.has(WEAKREFED) {
                rc.fetch_set(MARK)
            } else {
                v
            }
        }
    };
    v.count() as usize
}

/// Takes one reference from the gc_refs of `c`, a member already counted.
#[inline]
fn subtract_one<const BACK: bool>(c: *const Header, p: usize) {
    debug_assert!(
        p >> REFS_SHIFT > 0,
        "gc_refs below zero: a count is too low"
    );
    set_state::<BACK>(c, p.wrapping_sub(1 << REFS_SHIFT));
}

/// Steps 2 and 3: every member's gc_refs in its state word.
#[inline(always)]
fn refs<const BACK: bool>(
    head: *const Header,
    reset: bool,
    members: Members,
    habit: Habit,
    owned: bool,
) -> Spread {
    match members {
        Members::All | Members::AllButOld => {
            let skip_old = members == Members::AllButOld;
            // Against the marking walk where the set outgrows the cache;
            // in a set the cache holds, the other way's extra test and
            // store cost more than it saves.
            match (BACK, habit.big) {
                (true, true) => count_refs::<true, false>(head, reset, skip_old, habit, owned),
                (false, true) => count_refs::<false, true>(head, reset, skip_old, habit, owned),
                _ => count_refs::<BACK, BACK>(head, reset, skip_old, habit, owned),
            }
        }
        Members::Open => {
            update_refs::<BACK>(head, reset, owned);
            subtract_refs::<BACK>(head, habit)
        }
    }
}

/// `update_refs` and `subtract_refs` in one pass, for `Members::All` (and
/// `AllButOld`, with `skip_old`): a member gets its gc_refs when first met,
/// as a child of an earlier member (count less one) or in its own turn (its
/// count); references from later members are subtracted as they come.
///
/// With `AGAINST` = `BACK` (a set the cache holds, `refs`), the pass walks
/// the marking walk's way: its state word is the one it does not walk by,
/// and a member met before its turn has its state there already.
///
/// With `AGAINST` = `!BACK` (a bigger set), it walks against the marking
/// walk, by the word that is the marking walk's state word, so it meets
/// children before their parents where the marking walk meets parents
/// first. A child is then mostly met after its own turn, while its header
/// is still in cache from it, instead of before it, from memory (the first
/// pass of W4c's collections: 7.1-8.3 ms against 8.8-9.9 for its million
/// members walking the marking walk's way; W4's: 5.9 against 8.0). It
/// leaves the words as a pass of the marking walk's way would: each
/// member's state in `state::<BACK>`, its link in the other word. So a
/// member met before its turn keeps its state in the link word
/// (`state::<AGAINST>`; the walk reads the other); in its turn, the state
/// moves to `state::<BACK>` (which the walk has read) and the link word
/// gets its link back: the member the pass met just before it, its
/// neighbour that way. A child's state is thus in the link word before its
/// turn, in the state word after it; a word without `COLLECTING` is a link
/// (or, in both words, the child is not met yet or not a member).
fn count_refs<const BACK: bool, const AGAINST: bool>(
    head: *const Header,
    reset: bool,
    skip_old: bool,
    habit: Habit,
    owned: bool,
) -> Spread {
    let checked = checks::enabled();
    let mut spread = Spread::default();
    let mut pred = head;
    walk::<AGAINST>(head, habit.big, habit.prefetch, prefetch_children, |h| {
        spread.members += 1;
        let early = state::<AGAINST>(h);
        if AGAINST == BACK {
            if early & FLAGS != COLLECTING {
                set_state::<BACK>(h, read_count(h, reset, owned) << REFS_SHIFT | COLLECTING);
            }
        } else {
            let own = if early & FLAGS == COLLECTING {
                early
            } else {
                read_count(h, reset, owned) << REFS_SHIFT | COLLECTING
            };
            set_state::<BACK>(h, own);
            set_state::<AGAINST>(h, pred as usize);
            pred = h;
        }
        // SAFETY: lock held; h is live.
        unsafe {
            for_each_child(h as *mut Header, |c| {
                if checked {
                    checks::referenced(c"gc_collect", c, h as *mut Header);
                }
                let early = state::<AGAINST>(c);
                if early & FLAGS == COLLECTING {
                    subtract_one::<AGAINST>(c, early);
                } else {
                    // (Walking the marking walk's way, there is no other
                    // word to look in.)
                    let p = if AGAINST != BACK { state::<BACK>(c) } else { 0 };
                    if p & FLAGS == COLLECTING {
                        subtract_one::<BACK>(c, p);
                    } else if (*c).is_tracked() && !(skip_old && (*c).has(OLD)) {
                        let refs = read_count(c, reset, owned);
                        debug_assert!(refs > 0, "gc_refs below zero: a count is too low");
                        set_state::<AGAINST>(c, refs.wrapping_sub(1) << REFS_SHIFT | COLLECTING);
                    } else {
                        return;
                    }
                }
                if habit.big {
                    spread.count(h, c);
                }
            })
        }
    });
    spread
}

/// gc_refs = reference count, for every member (see `read_count`, and
/// for `owned`).
fn update_refs<const BACK: bool>(head: *const Header, reset: bool, owned: bool) {
    let mut h = step::<BACK>(head);
    while h != head {
        set_state::<BACK>(h, read_count(h, reset, owned) << REFS_SHIFT | COLLECTING);
        h = step::<BACK>(h);
    }
}

/// Subtracts every reference between members of the set. In checked mode,
/// first validates every reference (this is the scan's first look at the
/// children).
fn subtract_refs<const BACK: bool>(head: *const Header, habit: Habit) -> Spread {
    let checked = checks::enabled();
    let mut spread = Spread::default();
    walk::<BACK>(head, habit.big, habit.prefetch, prefetch_children, |h| {
        spread.members += 1;
        // SAFETY: lock held; h is live.
        unsafe {
            for_each_child(h as *mut Header, |c| {
                if checked {
                    checks::referenced(c"gc_collect", c, h as *mut Header);
                }
                let p = state::<BACK>(c);
                if p & FLAGS == COLLECTING {
                    subtract_one::<BACK>(c, p);
                    if habit.big {
                        spread.count(h, c);
                    }
                }
            })
        }
    });
    spread
}

#[cfg(test)]
thread_local! {
    /// Tests: the most members the marking stack may hold (to exercise
    /// `PENDING`).
    pub(super) static STACK_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

#[cfg(test)]
thread_local! {
    /// Tests: whether the marking walk prefetches whatever `Spread` says (to
    /// exercise the lookahead on small graphs).
    pub(super) static FORCE_SCATTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The most members the marking stack may hold (tests lower it).
#[inline]
fn stack_limit() -> usize {
    #[cfg(test)]
    return STACK_LIMIT.with(|l| l.get());
    #[cfg(not(test))]
    usize::MAX
}

/// The marking of step 4: which members are reachable from the roots
/// (gc_refs > 0).
struct Marker<const BACK: bool> {
    /// Members found reachable after the walk passed them, to scan.
    stack: Vec<*const Header>,
    /// Whether a member was left `PENDING` (the stack could not grow).
    pending: bool,
    /// Members scanned (found reachable).
    reachable: usize,
    /// `PASSED` members found reachable after all.
    revived: usize,
    /// Flags every member found reachable gets (`PROMOTED`, `OLD` or none).
    mark: u64,
    /// Whether to prefetch the children of members pushed, and leave them
    /// time to land (`SLACK`).
    prefetch: bool,
    /// Whether the scan holds the counts bias (`deduce_unreachable`).
    owned: bool,
}

impl<const BACK: bool> Marker<BACK> {
    /// Scans `x`, a member found reachable (its `prev` already holds its
    /// final link): children not reached yet become `AHEAD`, passed ones
    /// are pushed (or left `PENDING`) with their link restored.
    #[inline(always)]
    fn scan(&mut self, x: *const Header) {
        // SAFETY: lock held; x is a live member, its children live objects.
        unsafe {
            for_each_child(x as *mut Header, |c| {
                let p = state::<BACK>(c);
                match p & FLAGS {
                    COLLECTING => set_state::<BACK>(c, AHEAD),
                    PASSED => self.revive(c, p),
                    _ => {}
                }
            });
            // Reachable: no `MARK`, no `DIRTY` (only a full collection that
            // scans `old` meets one), and the flag survivors get.
            let v = (*x).rc.load();
            let set = if v.has(self.mark) { 0 } else { self.mark };
            if set != 0 || v.has(MARK | DIRTY) {
                if self.owned {
                    (*x).change_owned(set, MARK | DIRTY);
                } else {
                    (*x).change_fast(set, MARK | DIRTY);
                }
            }
        }
        self.reachable += 1;
    }

    /// `c` (`prev` = `p`, `PASSED`) is reachable after all.
    #[inline]
    fn revive(&mut self, c: *const Header, p: usize) {
        self.revived += 1;
        if self.stack.len() == self.stack.capacity()
            && (self.stack.len() >= stack_limit() || self.stack.try_reserve(1).is_err())
        {
            set_state::<BACK>(c, p & !FLAGS | PENDING);
            self.pending = true;
            return;
        }
        set_state::<BACK>(c, p & !FLAGS);
        // Its header line is in the cache now; the fields often share it.
        // Start the loads of its children before its turn on the stack.
        if self.prefetch {
            prefetch_children(c);
        }
        self.stack.push(c);
    }

    /// Scans `x` (as `scan`), then everything on the stack and what that
    /// reaches. (The one place `scan` is inlined, so that its own callees
    /// are.)
    #[inline(always)]
    fn mark_from(&mut self, x: *const Header) {
        let mut x = x;
        loop {
            self.scan(x);
            if self.stack.is_empty() {
                return;
            }
            let slack = if self.prefetch { SLACK } else { 0 };
            x = self
                .stack
                .swap_remove(self.stack.len().saturating_sub(slack + 1));
        }
    }

    /// Scans the `PENDING` members (see `revive`), one pass in list order
    /// after another until none is left.
    #[cold]
    #[inline(never)]
    fn scan_pending(&mut self, head: *const Header) {
        while self.pending {
            self.pending = false;
            let mut x = step::<BACK>(head);
            while x != head {
                let p = state::<BACK>(x);
                if p & FLAGS == PENDING {
                    set_state::<BACK>(x, p & !FLAGS);
                    self.mark_from(x);
                }
                x = step::<BACK>(x);
            }
        }
    }
}

/// Step 4, without moving objects back and forth as CPython's
/// move_unreachable does. One walk in list order (the scan's way) decides
/// each member's state in its state word (low three bits):
/// - `COLLECTING`: not reached by the walk yet; gc_refs above it.
/// - `AHEAD`: reached from a reachable member; the walk will scan it.
/// - `PASSED`: the walk passed it with gc_refs 0: unreachable so far; above
///   it, the link to its predecessor (in the walk's order).
/// - `PENDING`: as `PASSED`, but found reachable while the stack could not
///   grow: to be scanned by a later pass.
/// - no flag: reachable and scanned (or about to be); the state word is the
///   plain link to its predecessor again.
///
/// The walk scans every root (gc_refs > 0) and every member it finds
/// `AHEAD`: each child still `COLLECTING` becomes `AHEAD`, to be scanned
/// when the walk gets there; each child already `PASSED` gets its link back,
/// has its first children prefetched and is pushed on a stack, which is
/// drained at once, each member `SLACK` entries below the top (about depth
/// first, with time for the prefetches to land), with its own passed
/// descendants. So every reachable object is scanned exactly once, in the
/// walk's order where it meets parents first, about depth first where it
/// meets children first. (If the stack cannot grow, a passed child is left
/// `PENDING` and a later pass in list order scans it: each such pass makes
/// progress, but a chain the walk met tail first may take one per link.)
///
/// When nothing stayed `PASSED` (no garbage), every link is already what it
/// was and the scan is over: no further pass. Otherwise one pass in list
/// order moves the `PASSED` members to `unreachable`, marked `DYING |
/// COLLECTED` (plain stores: no other thread can change garbage, see
/// set_exclusive), counted, with a note of whether steps 7 and 9 have work,
/// and mends the links around them. The survivors keep their order in
/// `young`.
///
/// (CPython's one-pass algorithm moves a child met before its parent to
/// `unreachable` and back to the tail of `young`, which reorders the list:
/// with children allocated first, as most programs do, every object moved
/// twice and later passes walked memory out of order: 5x the time of the
/// parent-first order, measured on a 2M-node tree.)
fn move_unreachable<const BACK: bool>(
    young: *const Header,
    unreachable: *const Header,
    mark: u64,
    spread: &Spread,
    free: Option<&Locked>,
    owned: bool,
) -> Scan {
    let (big, prefetch) = (spread.big(), spread.scattered());
    let mut m = Marker::<BACK> {
        stack: Vec::new(),
        pending: false,
        reachable: 0,
        revived: 0,
        mark,
        prefetch,
        owned,
    };
    let mut passed = 0;
    // Whether every member passed (a superset of the garbage) dies simply.
    let mut simple = free.is_some();
    let mut pred = young;
    walk::<BACK>(young, big, prefetch, look_if_scanned::<BACK>, |x| {
        // The walk has not passed x: it is COLLECTING or AHEAD.
        let p = state::<BACK>(x);
        if p == AHEAD || p >> REFS_SHIFT > 0 {
            set_state::<BACK>(x, pred as usize);
            m.mark_from(x);
        } else {
            set_state::<BACK>(x, pred as usize | PASSED);
            passed += 1;
            // SAFETY: x is a live member.
            simple = simple && unsafe { dies_simply(x as *mut Header) };
        }
        pred = x;
    });
    if m.pending {
        m.scan_pending(young);
    }
    // Every count word the scan reads or marks is done: other threads may
    // change counts again (the garbage gets `MARK` below, `pass_garbage`).
    if owned {
        crate::bias::exit_owned_counts();
    }
    let mut scan = Scan {
        survivors: m.reachable,
        unreachable: passed - m.revived,
        finalizers_due: false,
        weakrefs_due: false,
        revived: m.revived,
        scattered: prefetch,
        big,
    };
    if scan.unreachable > 0 {
        match free {
            Some(g) if simple => {
                // The garbage's last decrements by other threads were
                // Release (refcount::decref); this pairs with them before
                // the garbage is torn down (as after the scan, gc/mod.rs).
                fence(Acquire);
                // SAFETY: g is the heap lock, held throughout, with
                // `draining` set (the caller's contract for `free`).
                unsafe { free_passed::<BACK>(g, young, big) }
            }
            _ => move_passed::<BACK>(young, unreachable, big, &mut scan),
        }
    } else {
        relink_head::<BACK>(young);
    }
    scan
}

/// Rewrites the one link to the sentinel `young` that the marking walk did
/// not write (the one it walked by, at the far end; both links of an empty
/// list), through `young` itself, as `move_passed` does. Nothing changes
/// but the pointer's provenance: under Miri's Stacked Borrows the one the
/// link got when it was made may have been invalidated since by a `&mut`
/// borrow of the heap state, and code that follows links back to the
/// sentinel (the validator) would use it.
fn relink_head<const BACK: bool>(young: *const Header) {
    let far = state::<BACK>(young) as *const Header;
    if far == young {
        list::init(young);
    } else {
        set_step::<BACK>(far, young);
    }
}

/// The pass after the marking walk, when something stayed `PASSED`: calls
/// `garbage` on each member still `PASSED` (marked `DYING | COLLECTED |
/// MARK` first; a whole-heap collection's garbage may be `OLD` or `DIRTY`:
/// it leaves `old` for good) and mends the links of the rest, whose state
/// word names their predecessor in the walk, which may have been garbage.
/// `garbage` may change the links of the member it is given, and free it.
#[inline(always)]
fn pass_garbage<const BACK: bool>(
    young: *const Header,
    runahead: bool,
    mut garbage: impl FnMut(*mut Header),
) {
    let mut kept = young;
    let mut gap = false;
    // Changes only links of x and of members before it (see walk).
    walk::<BACK>(young, runahead, false, prefetch_children, |x| {
        if state::<BACK>(x) & FLAGS == PASSED {
            // SAFETY: lock held; x is live garbage, ours alone (see
            // set_exclusive).
            unsafe {
                let rc = &(*x).rc;
                rc.store_exclusive(
                    rc.load()
                        .with(DYING | COLLECTED | MARK)
                        .without(OLD | DIRTY),
                );
            }
            garbage(x as *mut Header);
            gap = true;
        } else {
            if gap {
                set_state::<BACK>(x, kept as usize);
                set_step::<BACK>(kept, x);
                gap = false;
            }
            kept = x;
        }
    });
    set_step::<BACK>(kept, young);
    set_state::<BACK>(young, kept as usize);
}

/// Moves the members still `PASSED` from `young` to the tail of
/// `unreachable` (`pass_garbage`), noting whether steps 7 and 9 have work.
fn move_passed<const BACK: bool>(
    young: *const Header,
    unreachable: *const Header,
    runahead: bool,
    scan: &mut Scan,
) {
    let mut last = state::<BACK>(unreachable) as *const Header;
    pass_garbage::<BACK>(young, runahead, |x| {
        set_step::<BACK>(last, x);
        set_state::<BACK>(x, last as usize);
        last = x;
        // SAFETY: lock held; x is live garbage.
        unsafe {
            scan.finalizers_due |= !(*x).has(FINALIZED) && (*x).hook(|t| t.finalize).is_some();
            scan.weakrefs_due |= (*x).has(WEAKREFED);
        }
    });
    set_step::<BACK>(last, unreachable);
    set_state::<BACK>(unreachable, last as usize);
}

/// `move_passed` for garbage that dies simply (no type, no weakrefs, not a
/// weakref: no user code runs and nothing sees the order): each member
/// still `PASSED` drops its references as the pass meets it, and is freed
/// as soon as the last garbage that holds it has done so, while its header
/// is likely still in cache.
/// - A reference to an object outside the garbage is released as by any
///   death (`refcount::release_value`; a death is queued where a count
///   reaches zero).
/// - A reference to garbage (its state word says `PASSED` until it is
///   freed) only takes one off the count, with a plain load and store:
///   only garbage holds garbage, and nothing else changes its count.
/// - A member whose count is then zero is freed at once; the others wait
///   on a stack (linked by the step word, which the walk has read), whose
///   top is freed as soon as its count is zero. A member is mostly held by
///   what the pass meets next (the parent after its children, the other
///   half of a small cycle), so that is where most are freed; the rest as
///   they come to the top (by the last member's turn every garbage
///   reference is dropped, so every count is zero and the stack empties).
///
/// (Releasing references to garbage as by any death, and keeping each
/// released member on a list until its last holder's release freed it,
/// cost a dropped old cyclic tree's collection 187 of its 448
/// instructions per object.)
///
/// # Safety
/// `g` is the heap lock, `draining` is set, and every member still
/// `PASSED` dies simply.
unsafe fn free_passed<const BACK: bool>(g: &Locked, young: *const Header, runahead: bool) {
    // References to objects outside the garbage may make them dirty: none
    // leaves the list under the walk (`State::passing`).
    // SAFETY: lock held.
    unsafe { (*g.st()).passing = true };
    let mut waiting: *const Header = ptr::null();
    let checked = checks::enabled();
    let mut books = Freed::default();
    // No reader or check to mind (`free_unwatched`): the common case.
    // SAFETY: lock held.
    let unwatched =
        !checked && !unsafe { (*g.st()).busy.sections_used } && !debug::noting_collectable();
    // SAFETY: lock held; x is garbage that no garbage still to be passed
    // holds (so nothing reads its words again), on no list, freed once; it
    // is tracked and never had weakrefs (it dies simply).
    let mut free_member = |x: *const Header| unsafe {
        if unwatched {
            free_unwatched(g.st(), x as *mut Header, &mut books);
        } else {
            debug::collectable(x as *mut Header);
            free_counted(g.st(), x as *mut Header, checked, &mut books);
        }
    };
    // SAFETY: lock held; x and the garbage its fields reach are ours alone
    // and live (freed only by `free_member`, as said there); other values
    // are live objects the garbage holds a reference to.
    pass_garbage::<BACK>(young, runahead, |x| unsafe {
        for slot in fields(x) {
            let c = slot.load(Relaxed);
            if c.is_null() {
                continue;
            }
            if state::<BACK>(c) & FLAGS == PASSED {
                let rc = &(*c).rc;
                let v = rc.load();
                debug_assert!(v.count() > 0, "garbage held more often than counted");
                rc.store_exclusive(v.minus_one());
            } else {
                release_value(g, c);
            }
        }
        // The stack's top while its count is zero, then x if its count is
        // (one place frees, so that it is inlined once); x waits if not.
        let mut x = x;
        loop {
            let t = if !waiting.is_null() && (*waiting).count() == 0 {
                let t = waiting;
                waiting = step::<BACK>(t);
                t
            } else if !x.is_null() && (*x).count() == 0 {
                std::mem::replace(&mut x, ptr::null_mut())
            } else {
                break;
            };
            free_member(t);
        }
        if !x.is_null() {
            set_step::<BACK>(x, waiting);
            waiting = x;
        }
    });
    // SAFETY: lock held.
    unsafe {
        books.settle(g.st());
        (*g.st()).passing = false;
    }
    // The last member's turn freed what waited: every garbage reference
    // was dropped by then, so every count is zero.
    debug_assert!(waiting.is_null(), "garbage held more often than counted");
}
