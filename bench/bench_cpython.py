"""The benchmark workloads in CPython: the tutorial's Node class (with
__slots__, so each object is exactly two reference fields), the gc and
weakref modules.

Run as `python3 bench_cpython.py WORKLOAD [SCALE]`; prints lines
`W2 cpython ns_per_op 41.2` like the C programs.

Per-operation figures (W1, W2, W6) are the timed loop minus an empty loop
of the same length measured in the same process, so the interpreter's loop
overhead is taken out; what remains still includes bytecode dispatch (and,
for W2, the call of Node.__init__), which a Python program cannot avoid.
W1 has no direct equivalent in Python code: `y = o` does one incref (the
load) and one decref (the store drops the old value, also `o`), so it is
the closest a Python loop gets to an incref+decref pair.
"""

import gc
import os
import sys
import time
import weakref

N_W1_PAIRS = 50_000_000
N_W2_OBJECTS = 10_000_000
N_W3_CYCLES = 1_000_000
N_W3T_NODES = 524_287
N_W4_NODES = 1_048_575
N_W5_CYCLES = 10_000_000
N_W5_TREE = 1_000_000
N_W6_WEAKREFS = 1_000_000
N_W6_GETS = 10_000_000
N_MEM_OBJECTS = 1_000_000
W4_REPEATS = 3

WORKLOAD = "?"
# Throughput figures use the process's CPU time (time spent preempted by
# other work on a shared machine does not count) unless BENCH_CLOCK=wall;
# collection pauses always use wall time.
now = time.perf_counter_ns if os.environ.get("BENCH_CLOCK") == "wall" else time.process_time_ns
wall = time.perf_counter_ns


class Node:
    __slots__ = ("value", "next")

    def __init__(self, value=None):
        self.value = value
        self.next = None


class WNode(Node):
    """Node that can be the target of a weak reference (CPython needs a
    __weakref__ slot for that; rcgc keeps weakref lists in a side table)."""

    __slots__ = ("__weakref__",)


def emit(metric, value):
    print(f"{WORKLOAD} cpython {metric} {value:.6g}", flush=True)


def proc_status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def scaled(base, scale):
    return max(1, int(base * scale + 0.5))


def empty_loop(n):
    t0 = now()
    for _ in range(n):
        pass
    return now() - t0


def tree_build(n):
    if n == 0:
        return None
    t = Node()
    left = (n - 1) // 2
    t.value = tree_build(left)
    t.next = tree_build(n - 1 - left)
    return t


def tree_build_post(n):
    """The same tree, children before their parent."""
    if n == 0:
        return None
    left = (n - 1) // 2
    l = tree_build_post(left)
    r = tree_build_post(n - 1 - left)
    t = Node()
    t.value = l
    t.next = r
    return t


def tree_build_shuffled(n):
    """n nodes allocated in order, linked as a heap-shaped tree through a
    random permutation (random.Random(1), not the C programs' generator)."""
    import random
    nodes = [Node() for _ in range(n)]
    random.Random(1).shuffle(nodes)
    for k in range(n):
        if 2 * k + 1 < n:
            nodes[k].value = nodes[2 * k + 1]
        if 2 * k + 2 < n:
            nodes[k].next = nodes[2 * k + 2]
    return nodes[0]


def w1(scale):
    n = scaled(N_W1_PAIRS, scale) // 10
    o = Node()
    y = None
    t0 = now()
    for _ in range(n):
        y = o; y = o; y = o; y = o; y = o
        y = o; y = o; y = o; y = o; y = o
    t = now() - t0
    base = empty_loop(n)
    emit("ns_per_op", (t - base) / (10 * n))
    emit("raw_ns_per_op", t / (10 * n))
    del y


def new_and_release(make, scale):
    n = scaled(N_W2_OBJECTS, scale)
    for _ in range(n // 10):
        make()
    t0 = now()
    for _ in range(n):
        make()
    t = now() - t0
    base = empty_loop(n)
    emit("ns_per_op", (t - base) / n)
    emit("raw_ns_per_op", t / n)


def w2(scale):
    new_and_release(Node, scale)


def w2u(scale):
    # object(): CPython's untracked object (no GC header), made and freed.
    new_and_release(object, scale)


def w3(scale):
    n = scaled(N_W3_CYCLES, scale)
    gc.collect()
    gc.disable()
    for _ in range(n):
        a = Node()
        b = Node()
        a.next = b
        b.next = a
    del a, b
    timed_collect(2 * n)


def timed_collect(objects):
    """The gc.collect() that frees the garbage (collection disabled until
    then): what it found, ms, and ns per object of `objects`."""
    t0 = now()
    found = gc.collect()
    t = now() - t0
    gc.enable()
    emit("collected", found)
    emit("ms", t / 1e6)
    emit("ns_per_obj", t / objects)


class PNode:
    __slots__ = ("left", "right", "parent")


def ptree_build(n):
    if n == 0:
        return None
    left = (n - 1) // 2
    kids = (ptree_build(left), ptree_build(n - 1 - left))
    t = PNode()
    t.left, t.right, t.parent = kids[0], kids[1], None
    for k in kids:
        if k is not None:
            k.parent = t
    return t


def w3t(scale):
    """W3t (bench_rcgc.c): a dropped tree with parent links, built while
    automatic collections run; ns per object of the gc.collect() after."""
    n = scaled(N_W3T_NODES, scale)
    gc.collect()
    t = ptree_build(n)
    gc.disable()
    del t
    timed_collect(n)


def w4(scale, build=tree_build):
    n = scaled(N_W4_NODES, scale)
    gc.disable()
    root = build(n)
    gc.enable()
    times = []
    for _ in range(W4_REPEATS):
        t0 = now()
        gc.collect()
        times.append(now() - t0)
    times.sort()
    med = times[len(times) // 2]
    emit("ms", med / 1e6)
    emit("ns_per_obj", med / n)
    del root


def w4c(scale):
    w4(scale, tree_build_post)


def w4s(scale):
    w4(scale, tree_build_shuffled)


def w5(scale):
    n = scaled(N_W5_CYCLES, scale)
    tree = tree_build(scaled(N_W5_TREE, scale))
    gc.collect()
    pause = {"start": 0, "max": 0, "total": 0, "count": 0}
    pauses = []
    per_gen = [0, 0, 0]

    def on_gc(phase, info):
        if phase == "start":
            pause["start"] = wall()
        else:
            d = wall() - pause["start"]
            if d > pause["max"]:
                pause["max"] = d
            pause["total"] += d
            pause["count"] += 1
            pauses.append(d)
            per_gen[info["generation"]] += 1

    gc.callbacks.append(on_gc)
    t0 = now()
    for _ in range(n):
        a = Node()
        b = Node()
        c = Node()
        a.next = b
        b.next = c
        c.next = a
    del a, b, c
    t = now() - t0
    gc.callbacks.remove(on_gc)
    emit("total_ms", t / 1e6)
    emit("ns_per_cycle", t / n)
    emit("max_pause_ms", pause["max"] / 1e6)
    if pauses:
        pauses.sort()
        emit("median_pause_ms", pauses[len(pauses) // 2] / 1e6)
        emit("p99_pause_ms", pauses[len(pauses) * 99 // 100] / 1e6)
    emit("collections", pause["count"])
    emit("gen1_collections", per_gen[1])
    emit("gen2_collections", per_gen[2])
    emit("pause_total_ms", pause["total"] / 1e6)
    del tree


def w6(scale):
    n = scaled(N_W6_WEAKREFS, scale)
    calls = [0]

    def cb(wr):
        calls[0] += 1

    ref = weakref.ref
    t0 = now()
    for _ in range(n):
        t = WNode()
        w = ref(t, cb)
        del t  # the callback runs here
        del w
    t = now() - t0
    base = empty_loop(n)
    emit("callbacks", calls[0])
    emit("clear_ns_per_op", (t - base) / n)

    gets = scaled(N_W6_GETS, scale)
    live = WNode()
    w = ref(live)
    r = None
    t0 = now()
    for _ in range(gets):
        r = w()
    t = now() - t0
    base = empty_loop(gets)
    if r is not live:
        print("# cpython W6: weakref to a live object lost", file=sys.stderr)
    emit("get_ns_per_op", (t - base) / gets)
    emit("raw_get_ns_per_op", t / gets)


def mem(scale):
    n = scaled(N_MEM_OBJECTS, scale)
    gc.collect()
    before = proc_status_kb("VmRSS")
    head = None
    for _ in range(n):
        head = Node(head)
    peak = proc_status_kb("VmHWM")
    emit("bytes_per_obj", (peak - before) * 1024 / n)
    del head


def main():
    global WORKLOAD
    if len(sys.argv) < 2:
        sys.exit("usage: bench_cpython.py W1|W2|W2u|W3|W3t|W4|W4c|W4s|W5|W6|MEM [scale]")
    WORKLOAD = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    fn = {"W1": w1, "W2": w2, "W2u": w2u, "W3": w3, "W3t": w3t, "W4": w4, "W4c": w4c, "W4s": w4s, "W5": w5, "W6": w6, "MEM": mem}.get(WORKLOAD)
    if fn is None:
        sys.exit(f"unknown workload {WORKLOAD}")
    fn(scale)
    emit("peak_rss_mb", proc_status_kb("VmHWM") / 1024)


if __name__ == "__main__":
    main()
