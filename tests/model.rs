//! Model-based randomized test: random operation sequences with fixed seeds,
//! checked step by step against a reference model of the heap (see
//! tests/model_support/mod.rs, shared with the fuzz target in fuzz/).
//!
//! The library has one global heap, so everything runs in one #[test].
//! MODEL_SEEDS=<n>, MODEL_OPS=<n>, MODEL_BIG_OPS=<n> run more.

mod model_support;

use model_support::*;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Hand-written sequences through the same model (each op is checked
/// exactly, with a full check after every op), for the situations the
/// random runs meet only now and then.
fn fixed_sequences() {
    use Op::*;
    let cov = |s: &Stats, k: &str| s.cov.get(k).copied().unwrap_or(0);

    // A two-node cycle holding a weakref to one of its nodes: that weakref
    // is garbage too and gets no callback; a weakref from outside does.
    let s = replay(
        "cycle with weakrefs",
        &[
            Threshold(0, 10, 10),
            New {
                ty: 1,
                nfields: 2,
                payload: false,
                fin: 0,
            }, // A
            New {
                ty: 3,
                nfields: 2,
                payload: false,
                fin: 0,
            }, // B
            Cycle { len: 2, idx: 0 }, // A.0 = B, B.0 = A
            WeakNew {
                target: 0,
                cb: true,
            }, // W1 -> A
            SetField {
                src: 1,
                idx: 1,
                val: Some(2),
            }, // B.1 = W1
            WeakNew {
                target: 1,
                cb: true,
            }, // W2 -> B, kept
            Decref { h: 2 },          // W1 only in B now
            Decref { h: 0 },
            Decref { h: 0 }, // A, B unreachable
            Collect { g: 3 },
        ],
    );
    assert_eq!(cov(&s, "callback suppressed: weakref is garbage"), 1);
    assert_eq!(cov(&s, "callback (collection)"), 1);

    // A finalizer resurrects its object in a collection; what it reaches
    // survives; once released from the roots both die for good.
    let s = replay(
        "resurrection in a collection",
        &[
            Threshold(0, 10, 10),
            New {
                ty: 1,
                nfields: 1,
                payload: false,
                fin: 1,
            }, // A resurrects
            New {
                ty: 0,
                nfields: 1,
                payload: true,
                fin: 0,
            }, // B
            Cycle { len: 2, idx: 0 },
            Release { n: 2 },
            Collect { g: 0 }, // A resurrected, B rescued
            DropRoot { r: 0 },
            Collect { g: 2 }, // both die, no second finalizer
        ],
    );
    assert_eq!(cov(&s, "resurrect (collection)"), 1);
    assert_eq!(cov(&s, "rescued with a resurrected object"), 2);

    // gc_collect from a finalizer during a refcount death collects the
    // cyclic garbage normally.
    let s = replay(
        "gc_collect inside a refcount death",
        &[
            Threshold(0, 10, 10),
            New {
                ty: 1,
                nfields: 1,
                payload: false,
                fin: 0,
            }, // A
            New {
                ty: 2,
                nfields: 1,
                payload: false,
                fin: 0,
            }, // C
            Cycle { len: 1, idx: 0 }, // C.0 = C
            Decref { h: 1 },          // C is garbage
            DecrefCollect { h: 0 },   // A dies, collects C
        ],
    );
    assert_eq!(cov(&s, "gc_collect inside a refcount death"), 1);

    // A finalizer stores its child in the roots and allocates during a
    // refcount death and during a collection.
    replay(
        "finalizer side effects",
        &[
            Threshold(0, 10, 10),
            New {
                ty: 1,
                nfields: 1,
                payload: false,
                fin: 2,
            }, // A roots its child
            New {
                ty: 4,
                nfields: 0,
                payload: false,
                fin: 0,
            }, // B
            SetField {
                src: 0,
                idx: 0,
                val: Some(1),
            },
            Decref { h: 1 },
            Decref { h: 0 }, // A dies, B rooted
            New {
                ty: 3,
                nfields: 2,
                payload: false,
                fin: 4,
            }, // S allocates
            Cycle { len: 1, idx: 1 },
            Decref { h: 0 },
            Collect { g: 3 }, // S.0 gets a new object
        ],
    );

    // A finalizer resurrects its object into an empty field of the object
    // its own field holds, which is old and lost no reference since the
    // last full collection: the two are a garbage cycle once released,
    // which the next full collection must find (the revived object's
    // children lose OLD, gc/mod.rs "Old objects").
    let s = replay(
        "resurrection into an old object's field",
        &[
            Threshold(0, 10, 10),
            New {
                ty: 1,
                nfields: 2,
                payload: false,
                fin: 0,
            }, // X
            New {
                ty: 0,
                nfields: 2,
                payload: false,
                fin: 0,
            }, // C
            SetField {
                src: 0,
                idx: 0,
                val: Some(1),
            }, // X.0 = C
            Decref { h: 1 },          // C held by X only
            Collect { g: 2 },         // X and C are old
            DecrefIntoChild { h: 0 }, // X dies, C.1 = X revives it
            Collect { g: 2 },         // X <-> C is garbage
        ],
    );
    assert_eq!(
        cov(&s, "finalizer stores its object in an object's field"),
        1
    );
}

#[test]
fn model_random_sequences() {
    if std::env::var_os("MODEL_NURSERY").is_some() {
        rcgc::test_nursery_fold_every_birth();
    }
    let one_way = std::env::var_os("MODEL_ONE_WAY").is_some();
    if !one_way {
        // (They make objects of a type with a traverse hook, which ends
        // the proof MODEL_ONE_WAY exercises for the rest of the process.)
        fixed_sequences();
    }
    let seeds = env("MODEL_SEEDS", 20);
    let ops = env("MODEL_OPS", 2000);
    let big_ops = env("MODEL_BIG_OPS", 20000);
    let start = Instant::now();
    let mut total = Stats::default();
    // Small heaps: few handles, frequent collections.
    for k in 0..seeds as u64 {
        total.add(&run_seed(0x5eed_0000 + k, ops, false));
    }
    // Big heaps: thousands of objects.
    for k in 0..(seeds as u64 / 5).max(1) {
        total.add(&run_seed(0xb16_0000 + k, big_ops, true));
    }
    eprintln!(
        "model: {seeds} seeds x {ops} ops + {} x {big_ops}: {} ops applied, {} objects, {} collections, max {} alive, {:?}",
        (seeds / 5).max(1),
        total.ops,
        total.objects,
        total.collections,
        total.max_alive,
        start.elapsed()
    );
    for (k, v) in &total.cov {
        eprintln!("  {v:>8}  {k}");
    }
    assert!(
        cov_of(&total, "promoted object dies (leaves long_lived_pending)") > 0,
        "the random sequences never exercised the v2 long-lived rule"
    );
    let unscanned = rcgc::test_collections_without_scan();
    eprintln!("  {unscanned:>8}  collections with no scan (the members hold no cycle)");
    if one_way && std::env::var_os("RCGC_BIAS").is_none() {
        assert!(unscanned > 0, "no collection went without a scan");
    }
}

/// Runs `model_random_sequences` in a child process with `env` set (the
/// variants below): whether it passed.
fn model_in_child(env: &[(&str, &str)]) -> bool {
    let exe = std::env::current_exe().expect("test executable path");
    std::process::Command::new(exe)
        .envs(env.iter().copied())
        .args(["--exact", "model_random_sequences", "--nocapture"])
        .status()
        .expect("run the model test again")
        .success()
}

/// Whether this process is one of those children (which run only
/// `model_random_sequences`, asked for by name).
fn in_child() -> bool {
    std::env::var_os("RCGC_BIAS").is_some() || std::env::var_os("MODEL_ONE_WAY").is_some()
}

/// `model_random_sequences` again in a child process with the bias off
/// (RCGC_BIAS=0, read at the library's first use): the paths every thread
/// takes once a second thread has used the library (atomic counts, the
/// lock-free sections of the field accessors, frees that check for them).
#[test]
// (Under Miri the bias is always off, and processes cannot be spawned.)
#[cfg_attr(miri, ignore)]
fn model_random_sequences_unbiased() {
    if in_child() {
        return;
    }
    assert!(
        model_in_child(&[("RCGC_BIAS", "0")]),
        "the model test failed with RCGC_BIAS=0"
    );
}

/// `model_random_sequences` again in a child process with the bias off and
/// plain objects made in a nursery, as threads make them once several use
/// the library (nursery.rs), folding each birth into count0 at once so
/// that the model's exact counts hold.
#[test]
#[cfg_attr(miri, ignore)]
fn model_random_sequences_nursery() {
    if in_child() {
        return;
    }
    assert!(
        model_in_child(&[("RCGC_BIAS", "0"), ("MODEL_NURSERY", "1")]),
        "the model test failed with nurseries in use"
    );
}

/// `model_random_sequences` again in two child processes whose
/// references mostly point one way in the order objects were made in
/// (back, then forward), with no type with a traverse hook: collections
/// whose members the library proves acyclic skip their scan (order.rs),
/// and the model checks that they still find exactly what a scan would.
#[test]
#[cfg_attr(miri, ignore)]
fn model_random_sequences_one_way() {
    if in_child() {
        return;
    }
    for way in ["back", "forward"] {
        assert!(
            model_in_child(&[("MODEL_ONE_WAY", way)]),
            "the model test failed with references mostly pointing {way}"
        );
    }
}

fn cov_of(s: &Stats, k: &str) -> usize {
    s.cov.get(k).copied().unwrap_or(0)
}
