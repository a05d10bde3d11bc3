"""The client programs of clients.h in CPython: binary-trees (BT), cyclic
binary-trees (BTC: every node also holds its parent) and GCBench (GCB).
Classes with __slots__; default gc settings; time in collections through
gc.callbacks.

Run as `python3 clients.py BT|BTC|GCB [scale]`; prints lines
`BT cpython total_s 57.3` like the C programs.  A scale s moves every tree
depth by round(log2 s) levels and the GCB array by s.
"""

import gc
import math
import os
import sys
import time

WORKLOAD = "?"
now = time.perf_counter_ns if os.environ.get("BENCH_CLOCK") == "wall" else time.process_time_ns
wall = time.perf_counter_ns


def emit(metric, value):
    print(f"{WORKLOAD} cpython {metric} {value:.6g}", flush=True)


def emit_count(metric, value):
    print(f"{WORKLOAD} cpython {metric} {int(value)}", flush=True)


def tree_nodes(depth):
    return (1 << (depth + 1)) - 1


class BT:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def bt_make(d):
    # children before the parent (the arguments are evaluated first)
    if d <= 0:
        return BT(None, None)
    return BT(bt_make(d - 1), bt_make(d - 1))


def bt_check(t):
    return 1 + bt_check(t.left) + bt_check(t.right) if t.left is not None else 1


class BTC:
    __slots__ = ("left", "right", "parent")

    def __init__(self, left, right):
        self.left = left
        self.right = right
        self.parent = None


def btc_make(d):
    if d <= 0:
        return BTC(None, None)
    l = btc_make(d - 1)
    r = btc_make(d - 1)
    t = BTC(l, r)
    l.parent = t
    r.parent = t
    return t


def btc_check(t):
    return 1 + btc_check(t.left) + btc_check(t.right) if t.left is not None else 1


def run_bt(shift, cyclic):
    min_depth = 4
    max_depth = max(min_depth + 2, 18 + shift)
    make, check = (btc_make, btc_check) if cyclic else (bt_make, bt_check)
    total = 0
    nodes = 0
    stretch = make(max_depth + 1)
    total += check(stretch)
    del stretch
    nodes += tree_nodes(max_depth + 1)
    long_lived = make(max_depth)
    nodes += tree_nodes(max_depth)
    for d in range(min_depth, max_depth + 1, 2):
        iters = 1 << (max_depth - d + min_depth)
        c = 0
        for _ in range(iters):
            t = make(d)
            c += check(t)
            del t
        total += c
        nodes += iters * tree_nodes(d)
    total += check(long_lived)
    del long_lived
    emit_count("checksum", total)
    return nodes


class GNode:
    __slots__ = ("left", "right", "i", "j")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right
        self.i = 0
        self.j = 0


def populate(d, node):
    if d <= 0:
        return
    d -= 1
    node.left = GNode()
    node.right = GNode()
    populate(d, node.left)
    populate(d, node.right)


def make_tree(d):
    if d <= 0:
        return GNode()
    return GNode(make_tree(d - 1), make_tree(d - 1))


def gcb_check(t):
    return 1 + gcb_check(t.left) + gcb_check(t.right) if t.left is not None else 1


def run_gcb(shift, scale):
    min_depth = 4
    stretch_depth = 18 + shift
    long_lived_depth = max(min_depth, 16 + shift)
    max_depth = max(min_depth, 16 + shift)
    stretch_depth = max(stretch_depth, max_depth)
    array_size = max(1, int(500000 * scale + 0.5))
    total = 0
    nodes = 0
    stretch = GNode()
    populate(stretch_depth, stretch)
    total += gcb_check(stretch)
    del stretch
    nodes += tree_nodes(stretch_depth)
    long_lived = GNode()
    populate(long_lived_depth, long_lived)
    nodes += tree_nodes(long_lived_depth)
    array = [0.0] * array_size
    for i in range(1, array_size // 2):
        array[i] = 1.0 / i
    for d in range(min_depth, max_depth + 1, 2):
        iters = 2 * tree_nodes(stretch_depth) // tree_nodes(d)
        for _ in range(iters):
            t = GNode()
            populate(d, t)
            del t
        for _ in range(iters):
            t = make_tree(d)
            del t
        nodes += 2 * iters * tree_nodes(d)
    ll = gcb_check(long_lived)
    if ll != tree_nodes(long_lived_depth) or (array_size > 1000 and array[1000] != 1.0 / 1000):
        print("# GCB: long-lived data damaged", file=sys.stderr)
    total += ll
    emit_count("checksum", total)
    return nodes


def main():
    global WORKLOAD
    if len(sys.argv) < 2 or sys.argv[1] not in ("BT", "BTC", "GCB"):
        sys.exit("usage: clients.py BT|BTC|GCB [scale]")
    WORKLOAD = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    shift = round(math.log2(scale))
    sys.setrecursionlimit(10000)
    st = {"clock": 0, "wall": 0, "total": 0, "max": 0, "gen": [0, 0, 0], "gen_t": [0, 0, 0]}

    def on_gc(phase, info):
        if phase == "start":
            st["wall"] = wall()
            st["clock"] = now()
        else:
            c = now() - st["clock"]
            st["total"] += c
            st["gen_t"][info["generation"]] += c
            d = wall() - st["wall"]
            st["max"] = max(st["max"], d)
            st["gen"][info["generation"]] += 1

    gc.callbacks.append(on_gc)
    t0 = now()
    if WORKLOAD == "GCB":
        nodes = run_gcb(shift, scale)
    else:
        nodes = run_bt(shift, WORKLOAD == "BTC")
    total = now() - t0
    gc.callbacks.remove(on_gc)
    emit("total_s", total / 1e9)
    emit_count("nodes", nodes)
    emit("ns_per_node", total / nodes)
    emit("gc_s", st["total"] / 1e9)
    emit("gc_share", st["total"] / total if total else 0)
    emit("max_pause_ms", st["max"] / 1e6)
    emit("mutator_ns_per_node", (total - st["total"]) / nodes)
    for g in range(3):
        emit(f"collections_gen{g}", st["gen"][g])
        emit(f"gc_s_gen{g}", st["gen_t"][g] / 1e9)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                emit("peak_rss_mb", int(line.split()[1]) / 1024)


if __name__ == "__main__":
    main()
