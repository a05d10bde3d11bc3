//! Concurrency through the C API from Rust threads, so that ThreadSanitizer
//! (nightly `-Zsanitizer=thread`, see README "Reliability") instruments the
//! library and the test alike: a second thread's first count changes
//! revoking the biases while their owner's collection scans inside them,
//! lock-free refcounting on a shared object,
//! weakref_get racing the last decref and collections, and threads building
//! cyclic garbage while collecting, untracked objects made, released and
//! counted across threads, old cycles cut by other threads while
//! collecting, temporary references dropped during full collections,
//! fields changed without the lock while others collect, plain objects
//! made and dropped in nurseries while others collect and walk, a field
//! reader parked (test hook) while the value it loaded dies and its
//! maker allocates. Also runs in every plain `cargo test`.
//! A plain main() (harness = false in Cargo.toml): libtest's own threads
//! would be all TSan reports, since std is not instrumented.

use rcgc::*;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::thread;

static DESTROYED: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn destroy(o: *mut GcObject) {
    // Poison the payload: a reader that got this object afterwards would see it.
    // SAFETY: the payload holds one u64 for every object of this type.
    unsafe { *(obj_payload(o) as *mut u64) = 0xdead };
    DESTROYED.fetch_add(1, SeqCst);
}
static NODE: GcType = GcType {
    name: c"Node".as_ptr(),
    traverse: None,
    clear: None,
    finalize: None,
    destroy: Some(destroy),
};

fn node(fields: usize) -> *mut GcObject {
    let o = obj_new_typed(&NODE, fields, 8);
    assert!(!o.is_null());
    // SAFETY: 8-byte payload.
    unsafe { *(obj_payload(o) as *mut u64) = 0x600d };
    o
}

/// A chain of `n` nodes, each holding the one made before it; returns the
/// last (the caller's reference).
fn chain(n: usize) -> *mut GcObject {
    let mut head = node(1);
    for _ in 1..n {
        let next = node(1);
        obj_set_field(next, 0, head);
        obj_decref(head);
        head = next;
    }
    head
}

fn magic(o: *mut GcObject) -> u64 {
    // SAFETY: a live object of type NODE.
    unsafe { *(obj_payload(o) as *mut u64) }
}

/// Sends a raw handle to another thread (the library is thread-safe).
#[derive(Clone, Copy)]
struct H(*mut GcObject);
// SAFETY: rcgc handles may be used from any thread.
unsafe impl Send for H {}
unsafe impl Sync for H {}

/// Set by `in_scan` when the scan meets its object; then it waits for
/// `CHANGER_READY`, set by the other thread just before its first count
/// change, and gives that change time to reach the revocation's wait.
static SCAN_STARTED: AtomicBool = AtomicBool::new(false);
static CHANGER_READY: AtomicBool = AtomicBool::new(false);
unsafe extern "C" fn in_scan(_o: *mut GcObject, _visit: GcVisitFn, _ctx: *mut std::ffi::c_void) {
    if !SCAN_STARTED.swap(true, SeqCst) {
        while !CHANGER_READY.load(SeqCst) {
            std::hint::spin_loop();
        }
        thread::sleep(std::time::Duration::from_millis(5));
    }
}
static HOOKED: GcType = GcType {
    name: c"Hooked".as_ptr(),
    traverse: Some(in_scan),
    clear: None,
    finalize: None,
    destroy: Some(destroy),
};

/// The first scenario, while this thread still owns the biases: its full
/// collection of a live chain and garbage cycles scans inside the counts
/// bias (gc/scan.rs), and a second thread starts lock-free count changes
/// and field loads on a live object while the scan is under way (a
/// `traverse` hook holds the scan until then), revoking the bias, which
/// waits for the scan's end. The collection finds exactly the garbage;
/// the counts end exact; nothing live is freed.
fn count_changes_begin_during_a_scan() -> usize {
    let (chain_len, cycles) = (20_000, 20_000);
    gc_disable(); // (the garbage waits for the one collection below)
    let shared = H(node(1));
    let head = chain(chain_len);
    assert_eq!(obj_set_field(shared.0, 0, head), GC_OK);
    let hooked = obj_new_typed(&HOOKED, 0, 8);
    assert!(!hooked.is_null());
    for _ in 0..cycles {
        let (a, b) = (node(1), node(1));
        assert_eq!(obj_set_field(a, 0, b), GC_OK);
        assert_eq!(obj_set_field(b, 0, a), GC_OK);
        obj_decref(a);
        obj_decref(b);
    }
    let changer = thread::spawn(move || {
        let shared = shared;
        while !SCAN_STARTED.load(SeqCst) {
            std::hint::spin_loop();
        }
        CHANGER_READY.store(true, SeqCst);
        for _ in 0..20_000 {
            obj_incref(shared.0);
            let f = obj_get_field(shared.0, 0);
            obj_decref(f);
            obj_decref(shared.0);
        }
    });
    assert_eq!(gc_collect(), 2 * cycles as i64);
    changer.join().unwrap();
    gc_enable();
    assert_eq!(obj_refcount(shared.0), 1);
    assert_eq!(obj_refcount(head), 2);
    let mut n = 0;
    let mut x = head;
    while !x.is_null() {
        assert_eq!(magic(x), 0x600d);
        n += 1;
        x = obj_borrow_field(x, 0);
    }
    assert_eq!(n, chain_len);
    obj_decref(head);
    obj_decref(shared.0);
    obj_decref(hooked);
    2 + chain_len + 2 * cycles
}

fn shared_refcount() -> usize {
    let o = H(node(1));
    for _ in 0..3 {
        obj_incref(o.0);
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let o = o; // capture the Send wrapper, not its field
                for _ in 0..20_000 {
                    obj_incref(o.0);
                    obj_decref(o.0);
                }
                obj_decref(o.0);
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    1
}

fn weakref_readers_race_deaths() -> usize {
    const SLOTS: usize = 8;
    // Weakrefs are published in the fields of a shared container: readers
    // take them with obj_get_field (a new reference), the writer swaps them
    // with obj_set_field.
    let slots = H(obj_new(SLOTS, 0));
    let stop = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, hits) = (stop.clone(), hits.clone());
            thread::spawn(move || {
                let slots = slots;
                while !stop.load(Relaxed) {
                    for i in 0..SLOTS {
                        let wr = obj_get_field(slots.0, i);
                        if wr.is_null() {
                            continue;
                        }
                        let t = weakref_get(wr);
                        if !t.is_null() {
                            assert_eq!(magic(t), 0x600d, "weakref_get returned a dead object");
                            hits.fetch_add(1, Relaxed);
                            obj_decref(t);
                        }
                        obj_decref(wr);
                    }
                }
            })
        })
        .collect();
    // The writer keeps the last few targets alive so readers find live ones,
    // and waits for the readers now and then so they really interleave.
    let mut alive = std::collections::VecDeque::new();
    let mut made = 0;
    for round in 0..2_000 {
        let t = node(1);
        made += 1;
        if round % 3 == 0 {
            obj_set_field(t, 0, t); // dies only by collection
        }
        let wr = weakref_new(t, None, ptr::null_mut());
        obj_set_field(slots.0, round % SLOTS, wr);
        obj_decref(wr);
        alive.push_back(H(t));
        if alive.len() > SLOTS / 2 {
            obj_decref(alive.pop_front().unwrap().0); // readers race this release
        }
        if round % 50 == 0 {
            gc_collect();
            let seen = hits.load(Relaxed);
            for _ in 0..1000 {
                if hits.load(Relaxed) > seen {
                    break;
                }
                thread::yield_now();
            }
        }
    }
    alive.into_iter().for_each(|t| obj_decref(t.0));
    stop.store(true, Relaxed);
    readers.into_iter().for_each(|r| r.join().unwrap());
    println!(
        "weakref_get succeeded {} times while targets died",
        hits.load(Relaxed)
    );
    obj_decref(slots.0);
    made
}

fn cyclic_garbage_while_collecting() -> usize {
    let threads: Vec<_> = (0..4)
        .map(|id| {
            thread::spawn(move || {
                for r in 0..500 {
                    let (a, b) = (node(1), node(1));
                    obj_set_field(a, 0, b);
                    obj_set_field(b, 0, a);
                    obj_decref(a);
                    obj_decref(b);
                    if r % 25 == id {
                        gc_collect_generation(r % 3);
                    }
                }
                1000
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

/// Threads change fields without the heap lock (sections.rs) while others
/// collect: cycles made through `obj_set_field` by threads that do not own
/// the counts, fields of one shared object overwritten by several threads
/// at once (each old value released exactly once), and values read back
/// through `obj_get_field` alive (their payload not poisoned) while
/// collections run, automatic and explicit. Every object is destroyed
/// once (main's final check).
fn fields_changed_without_lock_while_collecting() -> usize {
    const THREADS: usize = 4;
    const ROUNDS: usize = 3000;
    let hub = H(node(8));
    let running = Arc::new(AtomicUsize::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|id| {
            let running = Arc::clone(&running);
            thread::spawn(move || {
                let hub = hub;
                for r in 0..ROUNDS {
                    let (x, y) = (node(2), node(2));
                    assert_eq!(obj_set_field(x, 0, y), GC_OK);
                    assert_eq!(obj_set_field(y, 0, x), GC_OK);
                    assert_eq!(obj_set_field(y, 1, hub.0), GC_OK);
                    // This thread's own slot, then one all threads write.
                    assert_eq!(obj_set_field(hub.0, id, x), GC_OK);
                    assert_eq!(obj_set_field(hub.0, 4 + r % 4, y), GC_OK);
                    obj_decref(x);
                    obj_decref(y);
                    let v = obj_get_field(hub.0, id);
                    assert_eq!(v, x);
                    assert_eq!(magic(v), 0x600d);
                    let w = obj_get_field(v, 0);
                    assert_eq!(magic(w), 0x600d, "a live cycle member was freed");
                    obj_decref(w);
                    obj_decref(v);
                    if r % 200 == id {
                        gc_collect_generation((r % 3) as i32);
                    }
                }
                running.fetch_sub(1, SeqCst);
            })
        })
        .collect();
    while running.load(SeqCst) != 0 {
        gc_collect();
        for i in 0..8 {
            let v = obj_get_field(hub.0, i);
            if !v.is_null() {
                assert_eq!(magic(v), 0x600d, "a value held by a field was freed");
                obj_decref(v);
            }
        }
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    for i in 0..8 {
        assert_eq!(obj_set_field(hub.0, i, ptr::null_mut()), GC_OK);
    }
    obj_decref(hub.0);
    1 + THREADS * ROUNDS * 2
}

/// Collections started and finished (`count_collections`).
static BEGUN: AtomicUsize = AtomicUsize::new(0);
static ENDED: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn count_collections(
    phase: GcPhase,
    _info: *const GcCallbackInfo,
    _ctx: *mut std::ffi::c_void,
) {
    match phase {
        GcPhase::GC_PHASE_START => BEGUN.fetch_add(1, SeqCst),
        GcPhase::GC_PHASE_STOP => ENDED.fetch_add(1, SeqCst),
    };
}

/// A thread holds `x` and `y` and keeps setting and clearing `y.0 = x`
/// while another thread collects the young generation they are in. A
/// collection that let the change through mid-scan could read `x`'s count
/// without `y`'s reference, subtract that reference, then find `y.0` empty
/// when marking: `x` would look unreachable although the thread holds it.
/// The collection stops lock-free field changes (sections.rs), so `x`
/// survives every collection.
fn field_toggled_during_young_collections() -> usize {
    const ROUNDS: usize = 200;
    const BATCH: usize = 2000;
    gc_disable();
    assert_eq!(
        gc_callback_add(Some(count_collections), ptr::null_mut()),
        GC_OK
    );
    let done = Arc::new(AtomicBool::new(false));
    let toggler = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                let (x, y) = (node(1), node(1));
                // A collection that starts after this read found x and y young.
                let begun = BEGUN.load(SeqCst);
                while ENDED.load(SeqCst) <= begun {
                    assert_eq!(obj_set_field(y, 0, x), GC_OK);
                    assert_eq!(obj_set_field(y, 0, ptr::null_mut()), GC_OK);
                }
                assert_eq!(
                    magic(x),
                    0x600d,
                    "a collection freed an object a thread holds"
                );
                obj_decref(x);
                obj_decref(y);
            }
            done.store(true, SeqCst);
        })
    };
    let mut made = 0;
    while !done.load(SeqCst) {
        // A young batch, so that the scan's passes take a while.
        let head = chain(BATCH);
        gc_collect_generation(0);
        obj_decref(head);
        made += BATCH;
    }
    toggler.join().unwrap();
    assert_eq!(
        gc_callback_remove(Some(count_collections), ptr::null_mut()),
        GC_OK
    );
    gc_enable();
    made + 2 * ROUNDS
}

/// While this thread holds gc_lock, another does 10^5 weakref_get calls on
/// a live target after many objects with weakrefs were freed (their memory
/// is released through deferred work): all complete (API.md v2), or the
/// test fails after 60 s instead of hanging.
fn weakref_get_while_gc_locked() -> usize {
    let target = node(1);
    let wr = weakref_new(target, None, ptr::null_mut());
    for _ in 0..2000 {
        let o = node(1);
        let w = weakref_new(o, None, ptr::null_mut());
        obj_decref(o);
        obj_decref(w);
    }
    let finished = Arc::new(AtomicBool::new(false));
    gc_lock();
    let reader = {
        let (t, w, finished) = (H(target), H(wr), Arc::clone(&finished));
        thread::spawn(move || {
            let (t, w) = (t, w);
            for _ in 0..100_000 {
                let got = weakref_get(w.0);
                assert_eq!(got, t.0);
                obj_decref(got);
            }
            finished.store(true, SeqCst);
        })
    };
    let start = std::time::Instant::now();
    while !finished.load(SeqCst) {
        assert!(
            start.elapsed().as_secs() < 60,
            "weakref_get waited for another thread's gc_lock"
        );
        thread::sleep(std::time::Duration::from_millis(1));
    }
    gc_unlock();
    reader.join().unwrap();
    obj_decref(wr);
    obj_decref(target);
    1 + 2000 // Node objects (weakrefs have no destroy hook)
}

/// Untracked objects across threads: `early` were made by the main thread
/// while it alone used the library (from the pool); other threads release
/// them (under the heap lock, the bias being gone), make and release their
/// own (counted in per-thread shares, no lock), and keep some that the main
/// thread releases after they exit, while one thread reads the memory
/// figures. Once all is quiet the figures are back to `base`.
fn untracked_across_threads(early: Vec<H>, base: GcMemStats) -> usize {
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Relaxed) {
                let m = gc_get_memory();
                assert!(m.bytes_reserved >= m.bytes_in_use);
            }
        })
    };
    let workers: Vec<_> = early
        .chunks(64)
        .map(|c| c.to_vec())
        .map(|chunk| {
            thread::spawn(move || {
                for h in chunk {
                    obj_decref(h.0);
                }
                for _ in 0..5_000 {
                    let o = obj_new(0, 16);
                    assert!(!o.is_null());
                    obj_decref(o);
                }
                (0..100).map(|_| H(obj_new(0, 16))).collect::<Vec<_>>()
            })
        })
        .collect();
    let kept: Vec<H> = workers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    stop.store(true, Relaxed);
    reader.join().unwrap();
    for h in kept {
        obj_decref(h.0);
    }
    gc_collect();
    let m = gc_get_memory();
    assert_eq!(
        (m.objects, m.bytes_in_use),
        (base.objects, base.bytes_in_use)
    );
    0 // no Node objects
}

/// Old cycles (survivors of a full collection) cut by other threads'
/// decrefs (the first loss of an old object's reference, taken under the
/// lock from the lock-free path) while this thread and they collect: every
/// cycle is found, none twice (the final check counts destroy calls).
/// A two-node cycle `a <-> b`; the caller keeps `a`.
fn pair() -> H {
    let (a, b) = (node(1), node(1));
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, a);
    obj_decref(b);
    H(a)
}

fn old_cycles_cut_by_other_threads() -> usize {
    // A ballast of old objects, so that the cut cycles move to `dirty`
    // rather than making the collection scan all of `old`.
    let ballast = chain(2000);
    let pairs: Vec<H> = (0..400).map(|_| pair()).collect();
    gc_collect();
    let pairs = Arc::new(pairs);
    let threads: Vec<_> = (0..4)
        .map(|id| {
            let pairs = Arc::clone(&pairs);
            thread::spawn(move || {
                for (i, a) in pairs.iter().enumerate().filter(|(i, _)| i % 4 == id) {
                    obj_decref(a.0);
                    if i % 50 == id {
                        gc_collect();
                    }
                }
            })
        })
        .collect();
    for _ in 0..20 {
        gc_collect();
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    gc_collect();
    obj_decref(ballast);
    2000 + 800
}

/// How many collections have started.
static STARTED: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn on_collection(
    phase: GcPhase,
    _info: *const GcCallbackInfo,
    _ctx: *mut std::ffi::c_void,
) {
    if matches!(phase, GcPhase::GC_PHASE_START) {
        STARTED.fetch_add(1, SeqCst);
    }
}

/// Another thread holds a temporary reference to an old cycle when this
/// thread cuts the cycle and runs a full collection (over a young batch
/// that makes the scan last), and drops it once the collection has
/// started, after a varying delay: whether the drop comes before the scan
/// reads the count, during the scan or after it, the cycle is destroyed
/// once, at the latest by the next collection. (A lock-free drop the count
/// read missed would leave the cycle `OLD` with nothing holding it, never
/// scanned again: the collector marks every member of a full collection,
/// and such a drop waits for the lock.)
fn references_dropped_during_full_collections() -> usize {
    const ROUNDS: usize = 300;
    const BATCH: usize = 2000;
    let destroyed_before = DESTROYED.load(SeqCst);
    gc_disable();
    let pairs: Arc<Vec<H>> = Arc::new((0..ROUNDS).map(|_| pair()).collect());
    gc_collect();
    assert_eq!(gc_callback_add(Some(on_collection), ptr::null_mut()), GC_OK);
    // The round the reader is in (it holds a reference), and the last one
    // it finished (it dropped it).
    let (held, done) = (
        Arc::new(AtomicUsize::new(usize::MAX)),
        Arc::new(AtomicUsize::new(usize::MAX)),
    );
    let reader = {
        let (pairs, held, done) = (Arc::clone(&pairs), Arc::clone(&held), Arc::clone(&done));
        thread::spawn(move || {
            for (i, a) in pairs.iter().enumerate() {
                obj_incref(a.0);
                let started = STARTED.load(SeqCst);
                held.store(i, SeqCst);
                while STARTED.load(SeqCst) == started {
                    std::hint::spin_loop();
                }
                for _ in 0..(i * 997) % 4000 {
                    std::hint::spin_loop();
                }
                obj_decref(a.0);
                done.store(i, SeqCst);
            }
        })
    };
    for (i, a) in pairs.iter().enumerate() {
        while held.load(SeqCst) != i {
            std::hint::spin_loop();
        }
        obj_decref(a.0);
        let head = chain(BATCH);
        gc_collect();
        while done.load(SeqCst) != i {
            std::hint::spin_loop();
        }
        obj_decref(head);
    }
    reader.join().unwrap();
    assert_eq!(
        gc_callback_remove(Some(on_collection), ptr::null_mut()),
        GC_OK
    );
    gc_collect();
    gc_enable();
    assert_eq!(
        DESTROYED.load(SeqCst) - destroyed_before,
        ROUNDS * (2 + BATCH),
        "a cycle whose last outside reference was dropped during a full collection was never collected"
    );
    ROUNDS * (2 + BATCH)
}

/// Plain objects (no type: made and dropped in each thread's nursery,
/// nursery.rs) while others collect and walk the heap: two threads build
/// and drop trees, chains and cycles, replace the values of a shared hub's
/// fields (each dying at once in its maker's nursery) while the other
/// reads them back through `obj_get_field`, and hand objects to each other
/// to drop (a death outside the owner's nursery); the main thread
/// collects, visits and reads the memory figures meanwhile. In the end the
/// figures are back where they started: every object died once.
fn nurseries_while_collecting() -> usize {
    const ROUNDS: usize = 1500;
    fn tree(depth: usize) -> *mut GcObject {
        let o = obj_new(2, 8);
        assert!(!o.is_null());
        if depth > 0 {
            for i in 0..2 {
                let c = tree(depth - 1);
                assert_eq!(obj_set_field(o, i, c), GC_OK);
                obj_decref(c);
            }
        }
        o
    }
    gc_collect();
    let before = gc_get_memory();
    let hub = H(obj_new(2, 0));
    let running = Arc::new(AtomicUsize::new(2));
    // Mailboxes (std's channels are not instrumented for TSan): each
    // thread leaves an object for the other to drop.
    let boxes: Arc<[std::sync::atomic::AtomicPtr<GcObject>; 2]> = Arc::new(Default::default());
    let threads: Vec<_> = (0..2)
        .map(|id| {
            let running = Arc::clone(&running);
            let boxes = Arc::clone(&boxes);
            thread::spawn(move || {
                let hub = hub;
                for r in 0..ROUNDS {
                    obj_decref(tree(3));
                    let (a, b) = (obj_new(1, 0), obj_new(1, 0));
                    assert_eq!(obj_set_field(a, 0, b), GC_OK);
                    assert_eq!(obj_set_field(b, 0, a), GC_OK);
                    obj_decref(a);
                    obj_decref(b);
                    // The value this thread replaces dies in its nursery
                    // while the other thread may be reading it.
                    let v = obj_new(1, 8);
                    // SAFETY: an 8-byte payload.
                    unsafe { *(obj_payload(v) as *mut u64) = 0x600d };
                    assert_eq!(obj_set_field(hub.0, id, v), GC_OK);
                    obj_decref(v);
                    let w = obj_get_field(hub.0, 1 - id);
                    if !w.is_null() {
                        // SAFETY: w is live (a reference of ours).
                        assert_eq!(unsafe { *(obj_payload(w) as *mut u64) }, 0x600d);
                        obj_decref(w);
                    }
                    // AcqRel: the object's making happens before its drop
                    // on the other thread.
                    let old = boxes[1 - id].swap(tree(1), std::sync::atomic::Ordering::AcqRel);
                    obj_decref(old); // (one the other thread did not take)
                    let mine = boxes[id].swap(ptr::null_mut(), std::sync::atomic::Ordering::AcqRel);
                    obj_decref(mine);
                    if r % 300 == 150 * id {
                        gc_collect_generation((r % 3) as i32);
                    }
                }
                running.fetch_sub(1, SeqCst);
            })
        })
        .collect();
    unsafe extern "C" fn count(_o: *mut GcObject, ctx: *mut std::ffi::c_void) -> i32 {
        // SAFETY: ctx is the usize below.
        unsafe { *(ctx as *mut usize) += 1 };
        0
    }
    while running.load(SeqCst) != 0 {
        gc_collect();
        let mut seen = 0usize;
        assert_eq!(
            gc_visit_objects(0, Some(count), &raw mut seen as *mut _),
            GC_OK
        );
        let m = gc_get_memory();
        assert!(m.bytes_reserved >= m.bytes_in_use);
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    for i in 0..2 {
        assert_eq!(obj_set_field(hub.0, i, ptr::null_mut()), GC_OK);
        obj_decref(boxes[i].swap(ptr::null_mut(), SeqCst));
    }
    obj_decref(hub.0);
    gc_collect();
    let after = gc_get_memory();
    assert_eq!(after.objects, before.objects, "nursery objects left alive");
    assert_eq!(after.bytes_in_use, before.bytes_in_use);
    0
}

/// A reader that loaded a field's value and has not yet taken its
/// reference (parked there by a test hook, inside its section) when the
/// value dies in its maker's nursery: the dead value's block must not be
/// reused while the reader's section lasts, however much the maker
/// allocates meanwhile (nursery.rs, sections.rs `seal`). The reader then
/// finds the dead count and takes the field's new value instead, never one
/// of the objects made meanwhile. (Debug builds only: the hook.)
#[cfg(debug_assertions)]
fn reader_parked_while_its_value_dies() -> usize {
    fn value(id: u64) -> *mut GcObject {
        let o = obj_new(1, 8);
        assert!(!o.is_null());
        // SAFETY: an 8-byte payload.
        unsafe { *(obj_payload(o) as *mut u64) = id };
        o
    }
    // No collection may start while the reader is parked: a collection
    // stops the sections, and would wait for it.
    gc_disable();
    let hub = H(obj_new(1, 0));
    let v0 = value(1);
    assert_eq!(obj_set_field(hub.0, 0, v0), GC_OK);
    obj_decref(v0);
    rcgc::test_park_field_reads(true);
    let reader = thread::spawn(move || {
        let hub = hub;
        H(obj_get_field(hub.0, 0))
    });
    while !rcgc::test_field_read_parked() {
        thread::yield_now();
    }
    // v0 dies here, in this thread's nursery; then enough allocations to
    // reuse its block many times over if nothing held it back.
    let v1 = value(2);
    assert_eq!(obj_set_field(hub.0, 0, v1), GC_OK);
    obj_decref(v1);
    let held: Vec<H> = (0..2000).map(|_| H(value(0xbad))).collect();
    for h in &held[..1000] {
        obj_decref(h.0);
    }
    let more: Vec<H> = (0..1000).map(|_| H(value(0xbad))).collect();
    rcgc::test_park_field_reads(false);
    let got = reader.join().unwrap().0;
    assert!(!got.is_null());
    // SAFETY: got is live (the reader's reference, now ours).
    let id = unsafe { *(obj_payload(got) as *mut u64) };
    assert_eq!(
        id, 2,
        "a parked reader got an object made in a dead value's memory"
    );
    obj_decref(got);
    for h in held[1000..].iter().chain(&more) {
        obj_decref(h.0);
    }
    assert_eq!(obj_set_field(hub.0, 0, ptr::null_mut()), GC_OK);
    obj_decref(hub.0);
    gc_enable();
    0
}

#[cfg(not(debug_assertions))]
fn reader_parked_while_its_value_dies() -> usize {
    0
}

fn main() {
    gc_set_threshold(100, 5, 5);
    // One lock-free weakref_get (and the library's first lock, which
    // registers the exit and fork handlers) before any thread exists.
    let t = node(0);
    let wr = weakref_new(t, None, ptr::null_mut());
    let got = weakref_get(wr);
    assert_eq!(got, t);
    for o in [got, t, wr] {
        obj_decref(o);
    }
    // Untracked objects made while this thread alone uses the library.
    gc_collect();
    let base = gc_get_memory();
    let early: Vec<H> = (0..256).map(|_| H(obj_new(0, 16))).collect();
    let made = 1
        + count_changes_begin_during_a_scan()
        + shared_refcount()
        + weakref_readers_race_deaths()
        + cyclic_garbage_while_collecting()
        + fields_changed_without_lock_while_collecting()
        + field_toggled_during_young_collections()
        + weakref_get_while_gc_locked()
        + old_cycles_cut_by_other_threads()
        + references_dropped_during_full_collections()
        + nurseries_while_collecting()
        + reader_parked_while_its_value_dies()
        + untracked_across_threads(early, base);
    gc_collect();
    assert_eq!(DESTROYED.load(SeqCst), made);
    println!("threads: {made} objects, each destroyed once");
    println!("1 passed, 0 failed");
}
