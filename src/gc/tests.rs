//! Unit tests of the scan phases on hand-built lists (no global heap, no
//! lock contention: these objects are never linked into the generations).

use super::scan::{FORCE_SCATTERED, STACK_LIMIT};
use super::*;
use crate::alloc::{sys_alloc, sys_free};
use crate::object::{Shape, allocation_of, incref_raw};
use std::sync::atomic::Ordering::Relaxed;

struct Graph {
    objs: Vec<*mut Header>,
    young: Box<Header>,
    unreachable: Box<Header>,
}

impl Graph {
    /// Steps 2-4 on `young` (no promotion, nothing freed on the way).
    fn scan(&self, members: Members, habit: Habit) -> Scan {
        deduce_unreachable(
            &*self.young,
            &*self.unreachable,
            Promote::No,
            members,
            habit,
            None,
        )
    }

    /// `n` objects with 2 fields each; `edges` (from, to) are field
    /// references; `external[i]` extra references held from outside.
    fn new(n: usize, edges: &[(usize, usize)], external: &[usize]) -> Graph {
        let shape = Shape::new(2, 0).unwrap();
        let young = Box::new(list::sentinel());
        let unreachable = Box::new(list::sentinel());
        list::init(&*young);
        list::init(&*unreachable);
        // SAFETY: test-local objects, linked only into these test lists.
        let objs: Vec<*mut Header> = (0..n)
            .map(|_| unsafe {
                init_object(
                    sys_alloc(shape.size()),
                    std::ptr::null(),
                    &shape,
                    Kind::Plain,
                )
            })
            .collect();
        let mut used = vec![0; n];
        for &(a, b) in edges {
            // SAFETY: as above; each object has 2 fields.
            unsafe {
                crate::object::fields(objs[a])[used[a]].store(objs[b], Relaxed);
                incref_raw(objs[b]);
            }
            used[a] += 1;
        }
        for (i, &o) in objs.iter().enumerate() {
            // SAFETY: as above. Every object starts with count 1; drop it
            // unless it is held from outside.
            unsafe { (*o).rc.store_exclusive((*o).rc.load().minus_one()) };
            for _ in 0..external.iter().filter(|&&e| e == i).count() {
                // SAFETY: as above.
                unsafe { incref_raw(o) };
            }
            list::append(o, &*young);
        }
        Graph {
            objs,
            young,
            unreachable,
        }
    }

    /// The members of `head`, in list order.
    fn order(&self, head: &Header) -> Vec<usize> {
        let mut v = Vec::new();
        for_each(head, |h| {
            v.push(self.objs.iter().position(|&o| o == h).unwrap())
        });
        v
    }

    fn members(&self, head: &Header) -> Vec<usize> {
        let mut v = self.order(head);
        v.sort();
        v
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        for &o in &self.objs {
            // SAFETY: test-local objects, never used again.
            unsafe {
                let (base, size) = allocation_of(o);
                sys_free(base, size)
            };
        }
    }
}

/// Runs `t` with gc_refs counted both ways (every test graph is closed:
/// no member references a tracked object outside the list), walking the
/// list both ways, and with the marking stack unlimited, empty and one deep
/// (so that members found reachable after the walk passed them are left
/// `PENDING`).
fn each_way(t: impl Fn(Members, Habit)) {
    for members in [Members::AllButOld, Members::Open] {
        for habit in habits() {
            // Prefetching in the first pass goes with prefetching in the
            // marking walk (which small graphs would not do).
            FORCE_SCATTERED.with(|f| f.set(habit.prefetch));
            for limit in [usize::MAX, 0, 1] {
                STACK_LIMIT.with(|l| l.set(limit));
                t(members, habit);
            }
        }
    }
    STACK_LIMIT.with(|l| l.set(usize::MAX));
    FORCE_SCATTERED.with(|f| f.set(false));
}

/// Every way to walk, with and without reading ahead and prefetching.
fn habits() -> impl Iterator<Item = Habit> {
    [Way::Forward, Way::Backward].into_iter().flat_map(|way| {
        [(false, false), (true, false), (true, true)].map(|(big, prefetch)| Habit {
            way,
            prefetch,
            big,
        })
    })
}

#[test]
fn cycle_without_outside_reference_is_unreachable() {
    each_way(|members, habit| {
        // 0 <-> 1 garbage; 2 -> 3 held from outside.
        let g = Graph::new(4, &[(0, 1), (1, 0), (2, 3)], &[2]);
        let survivors = g.scan(members, habit).survivors;
        validate::lists(&[&*g.young, &*g.unreachable]);
        validate::closed(&*g.young, &*g.unreachable);
        assert_eq!(survivors, 2);
        assert_eq!(g.members(&g.young), vec![2, 3]);
        assert_eq!(g.members(&g.unreachable), vec![0, 1]);
    });
}

#[test]
fn a_member_two_earlier_members_reference_is_counted_once_per_reference() {
    each_way(|members, habit| {
        // 2 is held by 0 and 1, which it holds: garbage. Mirrored, 0 is
        // held by 1 and 2. Whichever way the first pass walks, one of the
        // two graphs has it meet the shared member twice before its turn.
        for edges in [
            [(0, 2), (1, 2), (2, 0), (2, 1)],
            [(2, 0), (1, 0), (0, 2), (0, 1)],
        ] {
            let g = Graph::new(3, &edges, &[]);
            let scan = g.scan(members, habit);
            validate::lists(&[&*g.young, &*g.unreachable]);
            assert_eq!(scan.survivors, 0);
            assert_eq!(g.members(&g.unreachable), vec![0, 1, 2]);
        }
    });
}

#[test]
fn object_moved_to_unreachable_comes_back_when_reached_later() {
    each_way(|members, habit| {
        // List order 0,1,2: 0 and 1 look unreachable when met (gc_refs 0),
        // then 2 (held from outside) reaches 0, which reaches 1.
        let g = Graph::new(3, &[(0, 1), (2, 0)], &[2]);
        let survivors = g.scan(members, habit).survivors;
        validate::lists(&[&*g.young, &*g.unreachable]);
        assert_eq!(survivors, 3);
        assert!(list::is_empty(&*g.unreachable));
    });
}

#[test]
fn children_first_tree_with_garbage_between_keeps_list_order() {
    each_way(|members, habit| {
        // List order = allocation order, children before parents: 0,1
        // leaves of 2; 3 <-> 4 garbage; 5,6 leaves of 7; 8 the root (held),
        // over 2 and 7.
        let edges = [
            (2, 0),
            (2, 1),
            (3, 4),
            (4, 3),
            (7, 5),
            (7, 6),
            (8, 2),
            (8, 7),
        ];
        let g = Graph::new(9, &edges, &[8]);
        let survivors = g.scan(members, habit).survivors;
        validate::lists(&[&*g.young, &*g.unreachable]);
        validate::closed(&*g.young, &*g.unreachable);
        assert_eq!(survivors, 7);
        assert_eq!(g.members(&g.unreachable), vec![3, 4]);
        // The survivors keep their relative order (nothing moved to the
        // tail).
        assert_eq!(g.order(&g.young), vec![0, 1, 2, 5, 6, 7, 8]);
    });
}

#[test]
fn garbage_at_both_ends_and_in_runs_leaves_well_formed_lists() {
    each_way(|members, habit| {
        // 0, 1 garbage (a cycle) first; 2 -> 3 -> 4 held; 5 -> 6 -> 5
        // garbage; 7 held, reaching 2 (passed before it); 8, 9 garbage last
        // (9 -> 8, and 8 -> 9).
        let edges = [
            (0, 1),
            (1, 0),
            (2, 3),
            (3, 4),
            (5, 6),
            (6, 5),
            (7, 2),
            (8, 9),
            (9, 8),
        ];
        let g = Graph::new(10, &edges, &[7]);
        let scan = g.scan(members, habit);
        validate::lists(&[&*g.young, &*g.unreachable]);
        validate::closed(&*g.young, &*g.unreachable);
        assert_eq!(scan.survivors, 4);
        assert_eq!(scan.unreachable, 6);
        // Both lists keep list order, whichever way the walk went (the
        // garbage's order is the finalizers' order).
        assert_eq!(g.order(&g.unreachable), vec![0, 1, 5, 6, 8, 9]);
        assert_eq!(g.order(&g.young), vec![2, 3, 4, 7]);
    });
}

#[test]
fn a_long_chain_met_tail_first_is_marked_without_recursion() {
    // 0 <- 1 <- ... <- n-1 (each holds the one before), the last held: the
    // walk passes all of them before the root, whose scan marks the whole
    // chain through the marking stack.
    for members in [Members::AllButOld, Members::Open] {
        for habit in habits() {
            let n = 100_000;
            let edges: Vec<(usize, usize)> = (1..n).map(|i| (i, i - 1)).collect();
            let g = Graph::new(n, &edges, &[n - 1]);
            let survivors = g.scan(members, habit).survivors;
            assert_eq!(survivors, n);
            assert!(list::is_empty(&*g.unreachable));
        }
    }
}

#[test]
fn a_chain_met_tail_first_is_marked_with_no_stack() {
    // As above with a marking stack that cannot grow: each pass over the
    // list finds the next link PENDING (one per pass, the worst case).
    each_way(|members, habit| {
        let n = 300;
        let edges: Vec<(usize, usize)> = (1..n).map(|i| (i, i - 1)).collect();
        let g = Graph::new(n, &edges, &[n - 1]);
        let survivors = g.scan(members, habit).survivors;
        validate::lists(&[&*g.young, &*g.unreachable]);
        assert_eq!(survivors, n);
        assert!(list::is_empty(&*g.unreachable));
    });
}

#[test]
fn references_from_outside_the_set_are_roots() {
    // 1 is referenced by 0, which is not in the scanned set: 1 and 2 live.
    // (An open set: only Members::Open applies.)
    for habit in habits() {
        let g = Graph::new(3, &[(0, 1), (1, 2), (2, 1)], &[]);
        list::remove(g.objs[0]);
        let survivors = g.scan(Members::Open, habit).survivors;
        assert_eq!(survivors, 2);
        assert!(list::is_empty(&*g.unreachable));
        list::append(g.objs[0], &*g.young);
    }
}

#[test]
fn rescue_keeps_what_a_finalizer_resurrected_and_all_it_reaches() {
    let g = Graph::new(2, &[(0, 1), (1, 0)], &[]);
    g.scan(Members::Open, habits().next().unwrap());
    assert_eq!(g.members(&g.unreachable), vec![0, 1]);
    // As collect_main does before finalizers run: the garbage is not dead yet.
    for_each(&*g.unreachable, |h| unsafe {
        (*h).unset_exclusive(DYING | COLLECTED)
    });
    // A finalizer stores a new reference to 1 somewhere outside the set.
    // SAFETY: test-local object.
    unsafe { incref_raw(g.objs[1]) };
    let dead = list::sentinel();
    list::init(&dead);
    rescue(&*g.unreachable, &dead, &*g.young);
    assert!(list::is_empty(&dead));
    assert_eq!(g.members(&g.young), vec![0, 1]);
}

/// Links each object `i` of `g` to one `pick(i)` chooses by the objects'
/// addresses (field 0; no count changes: `probe` reads only links and
/// fields).
fn link_by_address(g: &Graph, pick: impl Fn(usize, &[usize]) -> Option<usize>) {
    let addrs: Vec<usize> = g.objs.iter().map(|&o| o as usize).collect();
    for (i, &o) in g.objs.iter().enumerate() {
        if let Some(j) = pick(i, &addrs) {
            // SAFETY: test-local objects with 2 fields each.
            unsafe { crate::object::fields(o)[0].store(g.objs[j], Relaxed) };
        }
    }
}

#[test]
fn the_probe_finds_a_list_whose_references_reach_far() {
    use super::scan::{NEAR, PROBE, probe};
    let distance = |a: usize, b: usize| a.abs_diff(b);
    let far_one = |i: usize, a: &[usize]| (0..a.len()).find(|&j| distance(a[i], a[j]) > 2 * NEAR);
    let near_one =
        |i: usize, a: &[usize]| (0..a.len()).find(|&j| j != i && distance(a[i], a[j]) < NEAR);
    let probed = |g: &Graph| {
        let young = &*g.young;
        (probe::<false>(young), probe::<true>(young))
    };
    // References all far, in a list longer than the probe: scattered.
    let g = Graph::new(2 * PROBE, &[], &[]);
    link_by_address(&g, far_one);
    assert_eq!(probed(&g), (true, true));
    // All near: not.
    let g = Graph::new(2 * PROBE, &[], &[]);
    link_by_address(&g, near_one);
    assert_eq!(probed(&g), (false, false));
    // Half far, half near: below the bar.
    let g = Graph::new(2 * PROBE, &[], &[]);
    link_by_address(&g, |i, a| {
        if i % 2 == 0 {
            far_one(i, a)
        } else {
            near_one(i, a)
        }
    });
    assert_eq!(probed(&g), (false, false));
    // All far, but shorter than the probe: a small set, left alone.
    let g = Graph::new(PROBE / 2, &[], &[]);
    link_by_address(&g, far_one);
    assert_eq!(probed(&g), (false, false));
}

#[test]
fn the_walk_turns_when_the_other_way_revived_less_last_time() {
    use super::scan::{EVEN, turn};
    // Nothing known of the other way: turn past half, as a first guess.
    assert!(turn(540, EVEN).1);
    assert!(!turn(460, EVEN).1);
    // The other way revived all: a way that revives half is kept...
    let (mut other, turned) = turn(540, 1000);
    assert!(!turned);
    // ...and the other way is tried again once its share has aged below
    // this one's: after a few dozen collections, not at once, not never.
    let mut kept = 1;
    loop {
        let (aged, turned) = turn(540, other);
        if turned {
            break;
        }
        other = aged;
        kept += 1;
        assert!(kept < 100, "the other way is never tried again");
    }
    assert!((20..60).contains(&kept), "tried again after {kept}");
    // A share that ages toward even odds from below stays below it.
    assert_eq!(turn(0, 0).0, 32);
    assert!(!turn(10, 0).1);
}

#[test]
fn the_probe_finds_which_way_meets_parents_first() {
    use super::scan::{PROBE, order};
    let n = 2 * PROBE + 10;
    // Each object holds the two made just before it (children first), or
    // the two made just after it (parents first).
    let earlier: Vec<(usize, usize)> = (2..n).flat_map(|i| [(i, i - 1), (i, i - 2)]).collect();
    let later: Vec<(usize, usize)> = (0..n - 2).flat_map(|i| [(i, i + 1), (i, i + 2)]).collect();
    let g = Graph::new(n, &earlier, &[n - 1]);
    assert_eq!(order(&*g.young), Some(Some(Way::Backward)));
    let g = Graph::new(n, &later, &[0]);
    assert_eq!(order(&*g.young), Some(Some(Way::Forward)));
    // No references between members: a tie, nothing learnt.
    let g = Graph::new(n, &[], &[]);
    assert_eq!(order(&*g.young), Some(None));
    // Too short to tell.
    let g = Graph::new(2 * PROBE - 1, &earlier[..100], &[]);
    assert_eq!(order(&*g.young), None);
}
