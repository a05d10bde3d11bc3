"""The Python gc tutorial (shared/seed/python-gc-tutorial.md), replayed on
rcgc through ctypes, plus the callbacks from C into Python that the
replay depends on. Run with bindings/python/run_tests.sh."""

import ctypes
import os
import pathlib
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rcgc  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------
# Fixtures and helpers

@pytest.fixture(autouse=True)
def clean_heap():
    """Each test starts from a collected heap with default settings and
    must leave no callback errors behind."""
    saved = rcgc.get_threshold()
    rcgc.enable()
    rcgc.collect()
    rcgc.take_callback_errors()
    yield
    rcgc.callbacks.clear()
    rcgc.enable()
    rcgc.set_threshold(*saved)
    rcgc.collect()
    errors = rcgc.take_callback_errors()
    assert errors == [], f"exceptions inside callbacks: {errors!r}"


class Log:
    """Records what the hooks of a HostType see."""

    def __init__(self):
        self.destroyed = []
        self.finalized = []
        self.cleared = []


class NodePayload(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int)]


def node_type(log, name="Node", finalize=None):
    """class Node: value + next. `next` is field 0; the value lives in the
    payload. Hooks log the addresses they see."""
    def on_destroy(obj):
        log.destroyed.append((obj.address, obj.payload(NodePayload).value))

    def on_finalize(obj):
        log.finalized.append(obj.address)
        if finalize is not None:
            finalize(obj)

    return rcgc.HostType(name, finalize=on_finalize, destroy=on_destroy)


def make_node(t, value):
    n = t.new(nfields=1, payload_size=ctypes.sizeof(NodePayload))
    n.payload(NodePayload).value = value
    return n


# --------------------------------------------------------------------------
# The bindings cover the whole C API

def header_functions():
    """{name: number of parameters} for every function rcgc.h declares."""
    text = (REPO / "include" / "rcgc.h").read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)    # comments
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)   # preprocessor
    text = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", text)
    text = text.replace('extern "C" {', " ")
    decls = {}
    for stmt in text.split(";"):
        stmt = " ".join(stmt.split()).split("}")[-1].strip()
        if stmt.startswith("typedef"):
            continue
        # "ret name(params)": a prototype. Function-pointer parameters use
        # typedef names (GcVisitFn, ...), so a comma count is the arity.
        m = re.fullmatch(r"[\w\s\*]+?\b(\w+)\s*\(([^()]*)\)", stmt)
        if m:
            params = m.group(2).strip()
            decls[m.group(1)] = 0 if params in ("", "void") else params.count(",") + 1
    return decls


def test_header_was_parsed():
    decls = header_functions()
    # A parser that finds nothing would make the next test vacuous.
    assert len(decls) >= 30
    assert decls["obj_new"] == 2 and decls["gc_collect"] == 0
    assert decls["weakref_new"] == 3 and decls["obj_new_typed"] == 3


def test_every_header_function_is_declared_with_its_arity():
    decls = header_functions()
    missing = sorted(set(decls) - set(rcgc.FUNCTIONS))
    assert missing == [], f"rcgc.h functions without ctypes declarations: {missing}"
    wrong = {name: (len(rcgc.FUNCTIONS[name][1]), n) for name, n in decls.items()
             if len(rcgc.FUNCTIONS[name][1]) != n}
    assert wrong == {}, f"(declared, header) parameter counts differ: {wrong}"


def test_library_exports_every_api_function():
    assert rcgc.MISSING_FUNCTIONS == [], \
        f"{rcgc.library_path} lacks API functions: {rcgc.MISSING_FUNCTIONS}"


def test_every_api_md_function_is_declared():
    api = REPO.parent / "shared" / "API.md"
    if not api.exists():
        pytest.skip(f"{api} not beside the repository")
    names = set()
    for line in api.read_text().splitlines():
        if line.startswith("| `"):
            for proto in re.findall(r"`([^`]*\))`", line.split("|")[1]):
                m = re.search(r"(\w+)\s*\(", proto)
                if m:
                    names.add(m.group(1))
    assert len(names) >= 30, names
    assert sorted(names - set(rcgc.FUNCTIONS)) == []
    assert sorted(set(rcgc.FUNCTIONS) - names) == []


def header_structs():
    """{struct name: [field names in order]} from rcgc.h."""
    text = (REPO / "include" / "rcgc.h").read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", text, flags=re.S):
        fields = []
        for member in body.split(";"):
            member = " ".join(member.split())
            if not member:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", member)   # function pointer
            fields.append(fp.group(1) if fp else re.search(r"(\w+)$", member).group(1))
        out[name] = fields
    return out


def test_readme_api_section_lists_every_function_once():
    readme = (REPO / "README.md").read_text()
    doc = readme[readme.index("## API\n"):readme.index("## API conventions")]
    listed = re.findall(r"^\| `[^`]*?\b(\w+)\(", doc, flags=re.M)
    assert sorted(listed) == sorted(rcgc.FUNCTIONS)


def test_structs_match_the_header():
    structs = header_structs()
    ours = {"GcType": rcgc.GcType, "GcCounts": rcgc.GcCounts,
            "GcThresholds": rcgc.GcThresholds, "GcGenStats": rcgc.GcGenStats,
            "GcCallbackInfo": rcgc.GcCallbackInfo,
            "GcMemStats": rcgc.GcMemStats, "GcTypeStats": rcgc.GcTypeStats}
    assert set(structs) == set(ours)
    for name, cls in ours.items():
        assert [f[0] for f in cls._fields_] == structs[name], name
    # The one struct with mixed member sizes, laid out as C does on LP64.
    assert rcgc.GcCallbackInfo.collected.offset == 8
    assert rcgc.GcCallbackInfo.duration_ns.offset == 24


# --------------------------------------------------------------------------
# Reference counting:  a = [1, 2, 3]; b = a; del a; del b

def test_refcount_release_frees_at_the_last_release():
    log = Log()
    t = node_type(log, "List")
    a = make_node(t, 123)                 # a = [1, 2, 3]
    addr = a.address
    assert a.refcount == 1
    b = a.new_ref()                       # b = a
    assert a.refcount == 2 and b.refcount == 2
    assert rcgc.getrefcount(b) == 2
    a.close()                             # del a
    assert b.refcount == 1
    assert log.destroyed == []
    b.close()                             # del b: freed right here
    assert log.destroyed == [(addr, 123)]
    assert log.finalized == [addr]        # finalize runs first, once
    assert a.closed and b.closed


def test_ref_is_a_context_manager():
    log = Log()
    t = node_type(log)
    with make_node(t, 7) as n:
        addr = n.address
        assert log.destroyed == []
    assert log.destroyed == [(addr, 7)]
    n.close()  # idempotent
    assert log.destroyed == [(addr, 7)]


def test_fields_take_their_own_reference():
    log = Log()
    t = node_type(log)
    with make_node(t, 1) as holder, make_node(t, 2) as value:
        holder.set(0, value)
        assert value.refcount == 2            # ours + the field's
        got = holder.get(0)                   # new reference
        assert got == value and value.refcount == 3
        got.close()
        borrowed = holder.borrow_field(0)     # no refcount change
        assert borrowed == value and value.refcount == 2
        holder.set(0, None)
        assert value.refcount == 1
        assert holder.get(0) is None
        with pytest.raises(rcgc.RcgcError) as e:
            holder.set(5, value)
        assert e.value.code == rcgc.GC_ERR_INDEX
        with pytest.raises(rcgc.RcgcError):
            holder.get(5)


# --------------------------------------------------------------------------
# The Node cycle: only the collector frees it

def test_node_cycle_survives_refcounting_and_collect_returns_2():
    log = Log()
    t = node_type(log)
    node1 = make_node(t, 1)
    node2 = make_node(t, 2)
    a1, a2 = node1.address, node2.address
    node1.set(0, node2)                   # node1.next = node2
    node2.set(0, node1)                   # node2.next = node1
    assert rcgc.is_tracked(node1) and rcgc.is_tracked(node2)
    node1.close()                         # del node1
    node2.close()                         # del node2
    assert log.destroyed == []            # refcounting cannot free a cycle
    seen = []
    rcgc.callbacks.append(lambda phase, info: seen.append((phase, dict(info))))
    assert rcgc.collect() == 2            # gc.collect()
    assert sorted(log.destroyed) == sorted([(a1, 1), (a2, 2)])
    assert sorted(log.finalized) == sorted([a1, a2])
    assert [p for p, _ in seen] == ["start", "stop"]
    assert seen[1][1]["generation"] == 2 and seen[1][1]["collected"] == 2
    assert rcgc.collect() == 0            # nothing left


def test_get_count_follows_allocations_and_collections():
    assert rcgc.get_count() == (0, 0, 0)  # just after a full collection
    objs = [rcgc.new(1) for _ in range(3)]
    untracked = rcgc.new(0, 16)           # no fields, no traverse: untracked
    assert not rcgc.is_tracked(untracked)
    assert rcgc.get_count() == (3, 0, 0)
    objs.pop().close()                    # a tracked deallocation
    assert rcgc.get_count() == (2, 0, 0)
    assert rcgc.collect(0) == 0
    assert rcgc.get_count() == (0, 1, 0)
    assert rcgc.collect(1) == 0
    assert rcgc.get_count() == (0, 0, 1)
    for o in objs + [untracked]:
        o.close()
    with pytest.raises(rcgc.RcgcError) as e:
        rcgc.collect(3)
    assert e.value.code == rcgc.GC_ERR_INVALID


def test_disable_and_enable():
    log = Log()
    t = node_type(log)
    runs = []
    rcgc.callbacks.append(lambda phase, info: runs.append((phase, info["generation"])))
    rcgc.set_threshold(10, 10, 10)
    assert rcgc.get_threshold() == (10, 10, 10)
    rcgc.disable()                        # gc.disable()
    assert not rcgc.isenabled()
    for i in range(15):                   # 30 tracked allocations > 10
        a, b = make_node(t, i), make_node(t, -i)
        a.set(0, b)
        b.set(0, a)
        a.close()
        b.close()
    assert runs == [] and log.destroyed == []
    assert rcgc.get_count()[0] == 30
    rcgc.enable()                         # gc.enable()
    assert rcgc.isenabled()
    assert runs == []                     # enabling alone collects nothing
    trigger = rcgc.new(1)                 # the next tracked allocation does
    assert runs == [("start", 0), ("stop", 0)]
    assert len(log.destroyed) == 30
    assert rcgc.is_tracked(trigger)       # never part of its own collection
    trigger.close()


def test_threshold_zero_disables_automatic_collection():
    runs = []
    rcgc.callbacks.append(lambda phase, info: runs.append(phase))
    rcgc.set_threshold(0)
    objs = [rcgc.new(1) for _ in range(50)]
    assert runs == []
    for o in objs:
        o.close()


# --------------------------------------------------------------------------
# Weak references

def test_weakref_goes_none_when_the_object_dies():
    obj = rcgc.new()                      # obj = MyClass()
    wr = rcgc.WeakRef(obj)                # weak_ref = weakref.ref(obj)
    assert wr.is_weakref and not obj.is_weakref
    assert obj.weakref_count == 1
    with wr() as got:                     # weak_ref() -> the object
        assert got == obj
        assert obj.refcount == 2
    assert obj.refcount == 1              # the weakref holds no reference
    obj.close()                           # del obj
    assert wr() is None                   # weak_ref() -> None
    wr.close()


def test_weakref_callback_runs_once_after_clearing():
    calls = []

    def callback(w):
        calls.append((w.address, w()))    # w() must already be None

    obj = rcgc.new()
    wr = rcgc.WeakRef(obj, callback)
    assert calls == []
    obj.close()
    assert calls == [(wr.address, None)]
    rcgc.collect()
    assert len(calls) == 1
    wr.close()


def test_weakref_callbacks_run_newest_first():
    order = []
    obj = rcgc.new()
    w1 = rcgc.WeakRef(obj, lambda w: order.append(1))
    w2 = rcgc.WeakRef(obj, lambda w: order.append(2))
    w3 = rcgc.WeakRef(obj, lambda w: order.append(3))
    assert obj.weakref_count == 3
    obj.close()
    assert order == [3, 2, 1]
    for w in (w1, w2, w3):
        w.close()


def test_weakref_to_a_cycle_is_cleared_by_the_collector_only():
    calls = []
    a, b = rcgc.new(1), rcgc.new(1)
    a.set(0, b)
    b.set(0, a)
    wr = rcgc.WeakRef(a, lambda w: calls.append(w()))
    a.close()
    b.close()
    with wr() as still:                   # the cycle keeps a alive
        assert still is not None
    assert calls == []
    assert rcgc.collect() == 2
    assert calls == [None]
    assert wr() is None
    wr.close()


@pytest.mark.parametrize("keep_closed_wrapper", [False, True])
def test_weakref_callback_without_the_python_wrapper(keep_closed_wrapper):
    """The weakref object outlives its Python wrapper, or the wrapper was
    closed (a field holds the weakref): the callback still runs, with a
    usable wrapper of its own."""
    calls = []
    obj = rcgc.new()
    holder = rcgc.new(1)
    wr = rcgc.WeakRef(obj, lambda w: calls.append((w.address, w())))
    wr_address = wr.address
    holder.set(0, wr)
    wr.close()
    if not keep_closed_wrapper:
        del wr
    obj.close()
    assert calls == [(wr_address, None)]
    holder.close()


def test_weakref_dead_before_its_target_runs_no_callback():
    calls = []
    obj = rcgc.new()
    wr = rcgc.WeakRef(obj, lambda w: calls.append(1))
    wr.close()                            # the weakref object dies first
    obj.close()
    assert calls == []


# --------------------------------------------------------------------------
# Callbacks from C into Python

def test_gc_callbacks_add_remove_and_order():
    seen = []

    def first(phase, info):
        seen.append(("first", phase))

    def second(phase, info):
        seen.append(("second", phase))

    rcgc.callbacks.append(first)
    rcgc.callbacks.append(second)
    assert len(rcgc.callbacks) == 2 and first in rcgc.callbacks
    rcgc.collect()
    assert seen == [("first", "start"), ("second", "start"),
                    ("first", "stop"), ("second", "stop")]
    rcgc.callbacks.remove(first)
    seen.clear()
    rcgc.collect(0)
    assert seen == [("second", "start"), ("second", "stop")]
    with pytest.raises(ValueError):
        rcgc.callbacks.remove(first)
    # The C side refuses a pair it never saw.
    assert rcgc.lib.gc_callback_remove(rcgc._GC_TRAMPOLINE, 999999) == rcgc.GC_ERR_INVALID
    assert rcgc.lib.gc_callback_add(rcgc.GcCallbackFn(), None) == rcgc.GC_ERR_NULL


def test_callbacks_may_call_back_into_the_library():
    made = []

    def weak_callback(w):
        # allocate, store, and collect from inside a callback
        with rcgc.new(1) as x:
            made.append(rcgc.get_count())
            x.set(0, x)                   # a self-cycle
        made.append(rcgc.collect())

    obj = rcgc.new()
    wr = rcgc.WeakRef(obj, weak_callback)
    obj.close()                           # refcount death, outside any collection
    assert len(made) == 2
    assert made[1] == 1                   # the self-cycle, collected normally
    wr.close()


def test_collect_inside_a_collection_returns_0():
    inner = []

    def cb(phase, info):
        if phase == "start":
            inner.append(rcgc.collect())

    rcgc.callbacks.append(cb)
    rcgc.collect()
    assert inner == [0]


def test_exceptions_in_callbacks_are_recorded_not_lost():
    def bad(w):
        raise RuntimeError("boom")

    obj = rcgc.new()
    wr = rcgc.WeakRef(obj, bad)
    obj.close()
    errors = rcgc.take_callback_errors()
    assert len(errors) == 1 and isinstance(errors[0][1], RuntimeError)
    wr.close()


# --------------------------------------------------------------------------
# PEP 442 finalizers and the death order

def test_finalizer_sees_weakrefs_intact_and_resurrection_keeps_them():
    log = Log()
    saved = []
    wr_holder = []

    def finalize(obj):
        # Step 1 of the death order: weakrefs are still intact.
        got = wr_holder[0]()
        log.cleared.append(got is not None)
        if got is not None:
            got.close()
        saved.append(obj.new_ref())       # resurrect

    t = node_type(log, "Phoenix", finalize=finalize)
    a, b = make_node(t, 1), make_node(t, 2)
    a.set(0, b)
    b.set(0, a)
    wr = rcgc.WeakRef(a)
    wr_holder.append(wr)
    a_addr = a.address
    a.close()
    b.close()
    n = rcgc.collect()
    assert n == 0                         # resurrected: not counted
    assert log.cleared == [True, True]
    assert log.destroyed == []
    # a was resurrected, and b with it (a reaches b)
    assert {s.address for s in saved} >= {a_addr}
    assert rcgc.is_finalized(saved[0])
    with wr() as back:                    # the weakref survived too
        assert back is not None and back.address == a_addr
    # Second death: finalizers never run again.
    finalized_before = list(log.finalized)
    for s in saved:
        s.close()
    assert rcgc.collect() == 2
    assert log.finalized == finalized_before
    assert len(log.destroyed) == 2
    assert wr() is None
    wr.close()


@pytest.mark.parametrize("path", ["refcount", "collector"])
def test_death_order_is_the_same_on_both_paths(path):
    """finalize (weakrefs intact) -> weakrefs cleared, callbacks -> clear ->
    destroy, whether the object dies by refcount or in cyclic garbage."""
    events = []
    holder = {}

    def finalize(obj):
        got = holder["wr"]()
        events.append(("finalize", "weakref alive" if got else "weakref dead"))
        if got is not None:
            got.close()

    t = rcgc.HostType("Ordered", finalize=finalize,
                      clear=lambda obj: events.append(("clear", None)),
                      destroy=lambda obj: events.append(("destroy", None)))
    obj = t.new(1, 0)
    holder["wr"] = rcgc.WeakRef(obj, lambda w: events.append(
        ("callback", "weakref dead" if w() is None else "weakref alive")))
    if path == "collector":
        obj.set(0, obj)                   # a self-cycle: only the collector frees it
    obj.close()
    if path == "collector":
        assert events == []
        assert rcgc.collect() == 1
    assert events == [("finalize", "weakref alive"),
                      ("callback", "weakref dead"),
                      ("clear", None),
                      ("destroy", None)]
    holder["wr"].close()


def test_payload_references_with_traverse_and_clear():
    """A host type keeps one reference in its payload (not in a field); a
    cycle through payloads is found by traverse and broken by clear."""
    class Payload(ctypes.Structure):
        _fields_ = [("other", ctypes.c_void_p)]

    destroyed = []

    def traverse(obj, visit):
        other = obj.payload(Payload).other
        if other:
            visit(other)

    def clear(obj):
        p = obj.payload(Payload)
        other, p.other = p.other, None
        rcgc.lib.obj_decref(other)

    t = rcgc.HostType("Pair", traverse=traverse, clear=clear,
                      destroy=lambda obj: destroyed.append(obj.address))

    def link(src, dst):
        rcgc.lib.gc_lock()
        try:
            rcgc.lib.obj_incref(dst.address)
            src.payload(Payload).other = dst.address
        finally:
            rcgc.lib.gc_unlock()

    a = t.new(0, ctypes.sizeof(Payload))
    b = t.new(0, ctypes.sizeof(Payload))
    assert rcgc.is_tracked(a)             # a traverse hook makes it tracked
    link(a, b)
    link(b, a)
    addrs = {a.address, b.address}
    a.close()
    b.close()
    assert destroyed == []
    assert rcgc.collect() == 2
    assert set(destroyed) == addrs


def test_threads_with_python_callbacks():
    """Several threads build and drop cycles with weakref callbacks while
    automatic and explicit collections run: every callback runs exactly
    once, and nothing deadlocks between the heap lock and the GIL."""
    import threading

    rcgc.set_threshold(50, 10, 10)
    per_thread, nthreads = 200, 4
    fired = []
    fired_lock = threading.Lock()
    failures = []

    def on_death(w):
        with fired_lock:
            fired.append(w.address)

    def worker(k):
        try:
            for i in range(per_thread):
                a, b = rcgc.new(1), rcgc.new(2)
                a.set(0, b)
                b.set(0, a)
                wr = rcgc.WeakRef(a, on_death)
                b.set(1, wr)              # the cycle keeps the weakref alive
                # Release the weakref first: while Python still holds it, a
                # collection on another thread would rightly find a and b
                # garbage but the weakref alive, and run its callback.
                wr.close()
                a.close()
                b.close()
                if i % 50 == 0:
                    rcgc.collect()
        except BaseException as e:        # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "threads hung"
    assert failures == []
    rcgc.collect()
    # The weakref sits inside the garbage cycle with its target, so (as in
    # CPython) its callback must not run.
    assert fired == []
    assert rcgc.collect() == 0


def test_threads_callbacks_of_live_weakrefs():
    import threading

    rcgc.set_threshold(50, 10, 10)
    per_thread, nthreads = 200, 4
    fired = []
    fired_lock = threading.Lock()
    weakrefs = [[] for _ in range(nthreads)]

    def on_death(w):
        assert w() is None
        with fired_lock:
            fired.append(w.address)

    def worker(k):
        for i in range(per_thread):
            a, b = rcgc.new(1), rcgc.new(1)
            a.set(0, b)
            b.set(0, a)
            weakrefs[k].append(rcgc.WeakRef(a, on_death))
            a.close()
            b.close()
            if i % 50 == 0:
                rcgc.collect()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "threads hung"
    rcgc.collect()
    everyone = [w for ws in weakrefs for w in ws]
    assert sorted(fired) == sorted(w.address for w in everyone)
    assert all(w() is None for w in everyone)
    for w in everyone:
        w.close()


STRESS_NO_DEADLOCK = r"""
import sys, threading
sys.path.insert(0, sys.argv[1])
import rcgc

stop = threading.Event()
fired = []

def registrar():
    # Adds and removes gc callbacks while other threads collect.
    while not stop.is_set():
        cb = lambda phase, info: None
        rcgc.callbacks.append(cb)
        rcgc.callbacks.remove(cb)

# Live objects make each collection long, so that it is likely to hold the
# heap lock while a registrar thread calls into the library.
live = [rcgc.new(1) for _ in range(20000)]

def collector():
    # Collections whose weakref callbacks run Python code.
    for _ in range(100):
        a = rcgc.new(1)
        a.set(0, a)
        wr = rcgc.WeakRef(a, lambda w: fired.append(1))
        a.close()
        rcgc.collect()
        wr.close()

threads = [threading.Thread(target=registrar) for _ in range(2)]
threads += [threading.Thread(target=collector) for _ in range(2)]
for t in threads:
    t.start()
for t in threads[2:]:
    t.join()
stop.set()
for t in threads[:2]:
    t.join()
assert len(fired) == 200, len(fired)
assert rcgc.take_callback_errors() == []
print("ok")
"""


def test_no_deadlock_between_python_and_heap_locks():
    """Registering gc callbacks on some threads while others collect (and
    run Python weakref callbacks) must not deadlock. Run in a child process
    so that a deadlock fails this test instead of hanging the suite."""
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, RCGC_LIB=rcgc.library_path)
    try:
        run = subprocess.run([sys.executable, "-c", STRESS_NO_DEADLOCK, here],
                             env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("deadlock: the stress script did not finish in 60 s")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"


# --------------------------------------------------------------------------
# The rest of the gc module

def test_get_stats_counts_collections():
    before = rcgc.get_stats()
    assert len(before) == 3
    a = rcgc.new(1)
    a.set(0, a)
    a.close()
    rcgc.collect()
    after = rcgc.get_stats()
    assert after[2]["collections"] == before[2]["collections"] + 1
    assert after[2]["collected"] == before[2]["collected"] + 1
    assert after[0] == before[0]
    bad = rcgc.lib.gc_get_stats(7)
    assert (bad.collections, bad.collected, bad.uncollectable) == (0, 0, 0)


def test_freeze_and_unfreeze():
    a = rcgc.new(1)
    a.set(0, a)                           # a self-cycle we still own
    rcgc.freeze()
    assert rcgc.get_freeze_count() >= 1
    a.close()                             # garbage now, but frozen
    assert rcgc.collect() == 0
    rcgc.unfreeze()
    assert rcgc.get_freeze_count() == 0
    assert rcgc.collect() == 1


def test_memory_figures_limit_and_trim():
    before = rcgc.get_memory()
    objs = [rcgc.new(2) for _ in range(100)]
    m = rcgc.get_memory()
    assert m["objects"] == before["objects"] + 100
    assert m["tracked"] == before["tracked"] + 100
    assert m["bytes_in_use"] == before["bytes_in_use"] + 100 * 48
    assert m["bytes_reserved"] >= m["bytes_in_use"]
    assert m["peak_bytes_in_use"] >= m["bytes_in_use"]
    rcgc.set_memory_limit(m["bytes_in_use"] + 48)
    try:
        assert rcgc.get_memory_limit() == rcgc.get_memory()["limit"]
        objs.append(rcgc.new(2))            # exactly fits
        with pytest.raises(rcgc.RcgcError) as e:
            rcgc.new(2)
        assert e.value.code == rcgc.GC_ERR_NOMEM
        assert "memory limit" in str(e.value)
    finally:
        rcgc.set_memory_limit(None)
    assert rcgc.get_memory_limit() == 0
    for o in objs:
        o.close()
    assert rcgc.get_memory()["bytes_in_use"] == before["bytes_in_use"]
    assert rcgc.trim() >= 0


def test_checked_mode_switch():
    was = rcgc.lib.gc_checks_enabled()
    assert was in (True, False)
    assert bool(was) == (os.environ.get("RCGC_CHECKS") == "1")


def test_null_arguments_are_errors_not_crashes():
    # NULL is a no-op or an error, never a crash.
    rcgc.lib.obj_incref(None)
    rcgc.lib.obj_decref(None)
    assert rcgc.lib.obj_refcount(None) == 0
    assert rcgc.lib.obj_set_field(None, 0, None) == rcgc.GC_ERR_NULL
    assert rcgc.lib.weakref_new(None, rcgc.GcWeakCallback(), None) is None
    assert rcgc.last_error()[0] == rcgc.GC_ERR_NULL
    with rcgc.new() as plain:
        assert rcgc.lib.weakref_get(plain.address) is None
        assert rcgc.last_error()[0] == rcgc.GC_ERR_TYPE
        assert plain.type is None
        assert plain.payload() is None


def test_payload_is_zeroed_and_aligned():
    with rcgc.new(2, 40) as o:
        assert o.payload_size == 40 and o.nfields == 2
        buf = o.payload()
        assert bytes(buf) == bytes(40)
        assert ctypes.addressof(buf) % 16 == 0


# ==========================================================================
# Introspection and finding what keeps memory alive (API.md v2)

def addresses(refs):
    """The addresses of a list of Refs, which are then released."""
    out = [r.address for r in refs]
    for r in refs:
        r.close()
    return out


@pytest.fixture
def no_auto_collect():
    rcgc.disable()
    yield
    rcgc.set_debug(0)
    del rcgc.garbage[:]
    rcgc.enable()


def test_get_objects_by_generation_includes_garbage(no_auto_collect):
    a, b = rcgc.new(1), rcgc.new(1)
    a[0] = b
    b[0] = a
    leaf = rcgc.new(0, 8)                 # untracked: never listed
    assert rcgc.collect(0) == 0           # a, b: generation 1
    c = rcgc.new(1)
    assert addresses(rcgc.get_objects(0)) == [c.address]
    assert addresses(rcgc.get_objects(1)) == [a.address, b.address]
    a_addr, b_addr = a.address, b.address
    a.close()
    b.close()                             # cyclic garbage: still listed
    everything = addresses(rcgc.get_objects())
    assert everything == [c.address, a_addr, b_addr]
    assert leaf.address not in everything
    with pytest.raises(rcgc.RcgcError) as err:
        rcgc.get_objects(3)
    assert err.value.code == rcgc.GC_ERR_INVALID
    assert rcgc.collect() == 2
    c.close()
    leaf.close()


def test_get_referents_and_get_referrers():
    t = rcgc.new(0)
    a, b = rcgc.new(2), rcgc.new(1)
    a[0] = t
    a[1] = t
    b[0] = t
    w = rcgc.WeakRef(t)
    assert addresses(rcgc.get_referents(a)) == [t.address, t.address]
    assert addresses(rcgc.get_referents(a, b)) == [t.address] * 3
    assert addresses(rcgc.get_referents(w)) == []           # weak: no edge
    assert addresses(rcgc.get_referrers(t)) == [a.address, b.address]
    assert addresses(rcgc.get_referrers(t, a)) == [a.address, b.address]
    for o in (w, a, b, t):
        o.close()


def test_why_alive_shortest_chain_and_garbage(no_auto_collect):
    root = rcgc.new(1)
    mid = rcgc.new(1)
    end = rcgc.new(1)
    root[0] = mid
    mid[0] = end
    mid_addr, end_addr = mid.address, end.address
    mid.close()
    assert addresses(rcgc.why_alive(end)) == [end.address]  # we hold it
    end.close()
    with rcgc.Borrowed(end_addr).new_ref() as e:
        e_chain = addresses(rcgc.why_alive(e))
    assert e_chain == [end_addr]                             # held by `e`
    got = rcgc.Borrowed(mid_addr)
    assert addresses(rcgc.why_alive(got)) == [root.address, mid_addr]
    # A cycle nobody holds: no chain.
    g = rcgc.new(1)
    g[0] = g
    g_addr = g.address
    g.close()
    assert rcgc.why_alive(rcgc.Borrowed(g_addr)) == []
    assert rcgc.collect() == 1
    root.close()


def test_type_stats_groups():
    t = rcgc.HostType("StatsNode")
    nodes = [t.new(1) for _ in range(3)]
    plain = rcgc.new(0, 16)
    stats = {s["name"]: s for s in rcgc.type_stats()}
    assert stats["StatsNode"]["objects"] == 3
    assert stats["StatsNode"]["bytes"] == 3 * 48     # 40, as allocated
    assert sum(s["bytes"] for s in rcgc.type_stats()) == rcgc.lib.gc_get_memory().bytes_in_use
    assert stats["(untracked)"]["objects"] >= 1
    order = [s["bytes"] for s in rcgc.type_stats()]
    assert order == sorted(order, reverse=True)
    for o in nodes + [plain]:
        o.close()


def test_dump_heap_snapshot_and_dot(tmp_path):
    import json
    held = rcgc.new(1)
    held[0] = rcgc.new(0, 8)              # an untracked leaf, held through a field
    path = tmp_path / "heap.heapsnapshot"
    rcgc.dump_heap(path)
    snap = json.loads(path.read_text())
    meta = snap["snapshot"]
    assert len(snap["nodes"]) == 7 * meta["node_count"]
    assert len(snap["edges"]) == 3 * meta["edge_count"]
    assert "(held from outside)" in snap["strings"]
    dot = tmp_path / "heap.dot"
    rcgc.dump_heap(dot, format="dot")
    assert dot.read_text().startswith("digraph rcgc {")
    with pytest.raises(ValueError):
        rcgc.dump_heap(dot, format="svg")
    with pytest.raises(rcgc.RcgcError) as err:
        rcgc.dump_heap(tmp_path / "no-such-dir" / "x")
    assert err.value.code == rcgc.GC_ERR_IO
    held.close()


def test_set_debug_saveall_and_garbage(no_auto_collect):
    log = Log()
    t = node_type(log, name="SavedNode")
    assert rcgc.DEBUG_LEAK == rcgc.DEBUG_COLLECTABLE | rcgc.DEBUG_UNCOLLECTABLE | rcgc.DEBUG_SAVEALL
    rcgc.set_debug(rcgc.DEBUG_SAVEALL)
    assert rcgc.get_debug() == rcgc.DEBUG_SAVEALL
    a, b = make_node(t, 1), make_node(t, 2)
    a[0] = b
    b[0] = a
    fired = []
    w = rcgc.WeakRef(a, lambda wr: fired.append(wr() is None))
    a_addr, b_addr = a.address, b.address
    a.close()
    b.close()
    assert rcgc.collect() == 2            # counted, as CPython does
    assert sorted(log.finalized) == sorted([a_addr, b_addr])
    assert fired == [True]                # callbacks ran, weakref cleared
    assert log.destroyed == []            # but the objects are kept
    assert len(rcgc.garbage) == 2
    assert addresses(list(rcgc.garbage)) == [a_addr, b_addr]
    first = rcgc.garbage[0]
    assert first.address == a_addr and first.get(0).address == b_addr
    first.close()
    rcgc.set_debug(0)
    del rcgc.garbage[:]
    assert len(rcgc.garbage) == 0
    assert rcgc.collect() == 2            # now they go, not finalized again
    assert sorted(v for _, v in log.destroyed) == [1, 2]
    assert len(log.finalized) == 2
    w.close()
