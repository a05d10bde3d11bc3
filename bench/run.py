#!/usr/bin/env python3
"""Build and run the rcgc benchmark suite; print one table of medians.

    python3 bench/run.py            # full sizes (clients at depth 14), 5 runs
    python3 bench/run.py --quick    # small sizes, 3 runs (under a minute)
    python3 bench/run.py --clients  # client programs at depth 18, 3 runs

Four groups: micro (W1-W6, bench_*.c and bench_cpython.py), clients
(binary-trees, cyclic binary-trees, GCBench: clients_*.c, clients.py,
clients.nim), threads (bench_threads.c) and memory (bench_mem.c).
Builds librcgc in release mode (`cargo build --release` in the repository
root), compiles the C programs with gcc -O2 into target/bench/ (and
clients.nim with nim if it is installed), installs Debian's libgc-dev if it
is missing (needs root), then runs every workload of every system as its own
process, several times, interleaved.  A peer that is missing is skipped with
a note.  Each program prints lines `W2 rcgc ns_per_op 23.4`; the table
shows the median of each figure over the runs and the ratio rcgc/peer.
Raw lines are kept in target/bench/raw-<time>.txt.

Benchmarks are never part of `cargo test`; nothing here asserts on time.
"""

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(ROOT, "target", "bench")
# The library's own benchmark programs that crashed or timed out (main()
# then exits 1).
RCGC_FAILURES = []
RELEASE = os.path.join(ROOT, "target", "release")

# boehm-sized: the client programs on Boehm with each node as big as
# rcgc's block for it (clients_boehm.c, -DRCGC_SIZES).
SYSTEMS = ["rcgc", "malloc", "boehm", "boehm-sized", "cpython", "nim"]
PEERS = ["malloc", "boehm", "boehm-sized", "cpython", "nim"]
WORKLOADS = ["W1", "W2", "W2u", "W3", "W3t", "W4", "W4c", "W4s", "W5", "W6", "MEM"]
CLIENTS = ["BT", "BTC", "GCB"]
THREADS = ["T2", "T2u", "TSF", "TGF", "TRC", "TRI", "TSH", "TMX", "THO", "TEX"]
MEMORY = ["RSS"]
# Which systems have a program for each group (the others are not run).
GROUP_SYSTEMS = {
    "micro": ["rcgc", "malloc", "boehm", "cpython"],
    "clients": ["rcgc", "malloc", "boehm", "boehm-sized", "cpython", "nim"],
    "threads": ["rcgc", "malloc"],
    "memory": ["rcgc", "malloc", "boehm"],
}
GROUP_WORKLOADS = {"micro": WORKLOADS, "clients": CLIENTS, "threads": THREADS, "memory": MEMORY}

# (label, workload, metric); the label's sizes are filled in from the scale.
ROWS = [
    ("W1 incref+decref pair, ns/op", "W1", "ns_per_op"),
    ("W1 vs floor: plain inc + dec in 2 non-inlined calls (malloc column)", "W1", "plain_calls_ns_per_op", "ns_per_op"),
    ("W1 vs floor: atomic inc + dec in 2 non-inlined calls (malloc column)", "W1", "atomic_calls_ns_per_op", "ns_per_op"),
    ("W1 vs floor: plain inc + dec in 2 calls into a shared library, through the PLT (malloc column)", "W1", "plain_shared_calls_ns_per_op", "ns_per_op"),
    ("W1 with librcgc.a linked in vs floor: plain inc + dec in 2 non-inlined calls (malloc column)", "W1", "plain_calls_ns_per_op", "static_ns_per_op"),
    ("W2 new 2-field object + release, ns/op", "W2", "ns_per_op"),
    ("W2u new untracked object (16-byte payload) + release, ns/op", "W2u", "ns_per_op"),
    ("W3 collect {w3} two-node cycles, ms", "W3", "ms"),
    ("W3 ns per object freed", "W3", "ns_per_obj"),
    ("W3t collect a dropped {w3t}-node tree with parent links (built while collections ran), ns per object", "W3t", "ns_per_obj"),
    ("W4 full collection, {w4}-node live tree (rcgc: read first), ms", "W4", "ms"),
    ("W4 ns per live object", "W4", "ns_per_obj"),
    ("W4 rcgc: the first collection, of the tree just built, ns per object", "W4", "first_ns_per_obj"),
    ("W4 rcgc: a collection with nothing changed since the last, ns per object", "W4", "unchanged_ns_per_obj"),
    ("W4c same tree built children first, ns per live object", "W4c", "ns_per_obj"),
    ("W4s same tree, shuffled allocation order, ns per live object", "W4s", "ns_per_obj"),
    ("W5 {w5} 3-node cycles + {w5t}-node tree, total ms", "W5", "total_ms"),
    ("W5 max pause, ms", "W5", "max_pause_ms"),
    ("W5 99th percentile pause, ms", "W5", "p99_pause_ms"),
    ("W5 median pause, ms", "W5", "median_pause_ms"),
    ("W5 collections run", "W5", "collections"),
    ("W6 create target+weakref, release -> callback, ns/op", "W6", "clear_ns_per_op"),
    ("W6 weakref_get (+ release), ns/op", "W6", "get_ns_per_op"),
    ("bytes per 2-field object ({mem} live)", "MEM", "bytes_per_obj"),
    ("peak RSS W3, MB", "W3", "peak_rss_mb"),
    ("peak RSS W4, MB", "W4", "peak_rss_mb"),
    ("peak RSS W5, MB", "W5", "peak_rss_mb"),
    ("peak RSS W6, MB", "W6", "peak_rss_mb"),
]

CLIENT_ROWS = []
for _w, _name in (("BT", "binary-trees"), ("BTC", "binary-trees, cyclic"), ("GCB", "GCBench")):
    CLIENT_ROWS += [
        (f"{_w} {_name}: total, s", _w, "total_s"),
        (f"{_w} time in collections, s", _w, "gc_s"),
        (f"{_w} share of the time in collections", _w, "gc_share"),
        (f"{_w} longest pause (wall), ms", _w, "max_pause_ms"),
        (f"{_w} ns per node allocated (total / nodes)", _w, "ns_per_node"),
        (f"{_w} mutator ns per node (outside collections)", _w, "mutator_ns_per_node"),
        (f"{_w} collections of generation 0 / 1 / 2 (Boehm: all full)", _w,
         ("collections_gen0", "collections_gen1", "collections_gen2")),
        (f"{_w} time in collections of generation 0 / 1 / 2, s", _w, ("gc_s_gen0", "gc_s_gen1", "gc_s_gen2")),
        (f"{_w} peak RSS, MB", _w, "peak_rss_mb"),
        (f"{_w} bytes per node in the heap (measured: rcgc bytes_in_use, Boehm GC_size, glibc chunk)", _w,
         "node_bytes"),
    ]

THREAD_ROWS = []
for _w, _what in (("T2", "new tracked + release"), ("T2u", "new untracked + release"),
                  ("TSF", "set_field, own object"), ("TGF", "get_field + release, own object"),
                  ("TRC", "incref+decref, own object"),
                  ("TRI", "incref+decref, own objects made in turn with the other thread's"),
                  ("TSH", "incref+decref, one shared object")):
    THREAD_ROWS += [
        (f"{_w} {_what}: throughput 2 threads / 1 thread", _w, "ratio_2t_1t"),
        (f"{_w} ns per op, 1 thread (wall)", _w, "ns_per_op_1t"),
        (f"{_w} CPU time per op, 2 threads / 1 thread (1.0: no interference)", _w, "cpu_per_op_2t_1t"),
        (f"{_w} cpu_scaling calibration (2.0 = two free CPUs)", _w, "cpu_scaling"),
    ]
THREAD_ROWS += [
    ("TMX maker beside a reader of fields: time per object / alone (1.0: no cost)", "TMX", "ratio_beside_alone"),
    ("TMX maker ns per object, alone (wall)", "TMX", "ns_per_op_alone"),
    ("TMX maker ns per object, beside the reader (wall)", "TMX", "ns_per_op_beside"),
    ("TMX reader's get_field per object made", "TMX", "reads_per_op"),
    ("TMX cpu_scaling calibration", "TMX", "cpu_scaling"),
    ("THO handoff (made on one thread, released on the other) / one thread doing both", "THO", "ratio_2t_1t"),
    ("THO ns per object, one thread (wall)", "THO", "ns_per_op_1t"),
    ("THO cpu_scaling calibration", "THO", "cpu_scaling"),
    ("TEX release rate, objects of an exited owner / own objects", "TEX", "ratio_exited_own"),
    ("TEX ns per release, own objects", "TEX", "ns_per_op_own"),
]

MEMORY_ROWS = [
    ("RSS at start, MB", "RSS", "rss_start_mb"),
    ("RSS at the peak ({objs} live 2-field objects), MB", "RSS", "rss_peak_mb"),
    ("growth bytes per object", "RSS", "growth_bytes_per_obj"),
    ("RSS after releasing them all, MB", "RSS", "rss_released_mb"),
    ("RSS after a full collection (rcgc: gc_collect, trims on its own; Boehm: GC_gcollect), MB",
     "RSS", "rss_collected_mb"),
    ("RSS after trimming (gc_trim / malloc_trim(0) / GC_gcollect_and_unmap once), MB", "RSS", "rss_trimmed_mb"),
    ("RSS after GC_gcollect_and_unmap until nothing more is unmapped, MB", "RSS", "rss_trimmed_repeat_mb"),
    ("share of the growth given back after the release", "RSS", "back_released"),
    ("share given back after the full collection", "RSS", "back_collected"),
    ("share given back after trimming", "RSS", "back_trimmed"),
    ("share given back after repeated unmapping (Boehm)", "RSS", "back_trimmed_repeat"),
    ("release ms (CPU)", "RSS", "release_ms"),
    ("collection ms (CPU)", "RSS", "collect_ms"),
    ("trim ms (CPU)", "RSS", "trim_ms"),
]

# Figures that check the work was really done (shown below the table).
CHECKS = [
    ("W3", "collected", "objects found by the timed collection"),
    ("W3t", "collected", "objects found by the timed collection"),
    ("W6", "callbacks", "weakref callbacks run"),
    ("W6", "cleared", "disappearing links cleared (Boehm)"),
    ("W5", "gen1_collections", "generation-1 collections during W5"),
    ("W5", "gen2_collections", "generation-2 collections during W5"),
    ("W5", "max_pause_gen0_ms", "W5 longest generation-0 pause, ms (rcgc)"),
    ("W5", "max_pause_gen1_ms", "W5 longest generation-1 pause, ms (rcgc)"),
    ("W5", "pause_total_ms", "sum of all W5 pauses, ms"),
    ("W5", "lib_max_duration_ms", "W5 longest duration_ns reported by rcgc, ms"),
    ("W4", "live", "W4 live nodes visited (malloc)"),
    ("W4c", "live", "W4c live nodes visited (malloc)"),
    ("W4s", "live", "W4s live nodes visited (malloc)"),
    ("BT", "checksum", "BT checksum (must be equal)"),
    ("BTC", "checksum", "BTC checksum (must be equal)"),
    ("GCB", "checksum", "GCB checksum (must be equal)"),
    ("BT", "nodes", "BT nodes allocated"),
    ("TEX", "ns_per_op_exited", "TEX ns per release, objects of an exited owner"),
    ("THO", "ns_per_op_2t", "THO ns per object, handoff (wall)"),
    ("RSS", "trim_returned_mb", "MB gc_trim says it returned"),
    ("RSS", "in_use_peak_mb", "gc_get_memory bytes_in_use at the peak, MB"),
    ("RSS", "reserved_peak_mb", "gc_get_memory bytes_reserved at the peak, MB"),
    ("RSS", "reserved_collected_mb", "gc_get_memory bytes_reserved after the collection, MB"),
    ("RSS", "reserved_trimmed_mb", "gc_get_memory bytes_reserved after gc_trim, MB"),
    ("RSS", "unmap_calls", "GC_gcollect_and_unmap calls"),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, **kw)


def have_libgc():
    return os.path.exists("/usr/include/gc/gc.h") or os.path.exists("/usr/include/gc.h")


def ensure_libgc():
    if have_libgc():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("libgc-dev is missing and cannot be installed here (needs root and apt-get)")
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sh(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    sh(["apt-get", "install", "-y", "-qq", "libgc-dev"], env=env, stdout=subprocess.DEVNULL)
    return have_libgc()


def cc(out, sources, extra=(), defs=()):
    cmd = ["gcc", "-O2", "-Wall", "-Wextra", "-std=gnu11"] + list(defs) + ["-o", os.path.join(OUT, out)]
    cmd += [os.path.join(BENCH, f) for f in sources] + list(extra)
    return sh(cmd).returncode == 0


def build(systems, groups):
    """Builds what `systems` need for `groups`; returns ({group: [runnable
    systems]}, [notes about what was skipped])."""
    os.makedirs(OUT, exist_ok=True)
    ok = defaultdict(list)
    skipped = []

    def want(group, system):
        return group in groups and system in GROUP_SYSTEMS[group]

    for system in systems:
        if system == "cpython":
            for g in groups:
                if want(g, system):
                    ok[g].append(system)
            continue
        if system == "rcgc":
            r = sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
            header = os.path.join(ROOT, "include", "rcgc.h")
            if r.returncode != 0 or not os.path.exists(header):
                skipped.append("rcgc: cargo build --release failed or include/rcgc.h is missing")
                continue
            link = ["-I", os.path.join(ROOT, "include"), "-L", RELEASE, "-Wl,-rpath," + RELEASE, "-lrcgc"]
            static = [os.path.join(RELEASE, "librcgc.a"), "-lpthread", "-ldl", "-lm"]
            if want("micro", "rcgc") and not cc("bench_rcgc_static", ["bench_rcgc.c"],
                                                 ["-I", os.path.join(ROOT, "include")] + static, ["-DRCGC_STATIC"]):
                skipped.append("rcgc: compiling bench_rcgc_static (W1 with librcgc.a) failed")
            progs = {
                "micro": ("bench_rcgc", ["bench_rcgc.c"], link, []),
                "clients": ("clients_rcgc", ["clients_rcgc.c"], link + ["-lm"], []),
                "threads": ("threads_rcgc", ["bench_threads.c"], link + ["-lpthread"], ["-DSYS_RCGC"]),
                "memory": ("mem_rcgc", ["bench_mem.c"], link, ["-DSYS_RCGC"]),
            }
            with open(header) as f:
                has_trim = "gc_trim" in f.read()
            if want("memory", "rcgc") and not has_trim:
                skipped.append("rcgc memory benchmark: include/rcgc.h has no gc_trim yet (API.md Memory v2 not landed)")
                del progs["memory"]
        elif system == "malloc":
            # The W1 floor of a shared library (bench/floor_lib.c); without
            # it, bench_malloc does not link and is skipped with a note.
            sh(["gcc", "-O2", "-shared", "-fPIC", "-o", os.path.join(OUT, "libbenchfloor.so"),
                os.path.join(BENCH, "floor_lib.c")])
            floor_link = ["-L", OUT, "-Wl,-rpath," + OUT, "-lbenchfloor"]
            progs = {
                "micro": ("bench_malloc", ["bench_malloc.c"], floor_link, []),
                "clients": ("clients_malloc", ["clients_malloc.c"], ["-lm"], []),
                "threads": ("threads_malloc", ["bench_threads.c"], ["-lpthread"], ["-DSYS_MALLOC"]),
                "memory": ("mem_malloc", ["bench_mem.c"], [], ["-DSYS_MALLOC"]),
            }
        elif system in ("boehm", "boehm-sized"):
            if not any(want(g, system) for g in groups):
                continue
            if not ensure_libgc():
                skipped.append(f"{system}: libgc-dev unavailable (apt-get install libgc-dev)")
                continue
            if system == "boehm-sized":
                progs = {"clients": ("clients_boehm-sized", ["clients_boehm.c"], ["-lgc", "-lm"], ["-DRCGC_SIZES"])}
            else:
                progs = {
                    "micro": ("bench_boehm", ["bench_boehm.c"], ["-lgc"], []),
                    "clients": ("clients_boehm", ["clients_boehm.c"], ["-lgc", "-lm"], []),
                    "memory": ("mem_boehm", ["bench_mem.c"], ["-lgc"], ["-DSYS_BOEHM"]),
                }
        elif system == "nim":
            if not want("clients", system):
                continue
            if not shutil.which("nim"):
                skipped.append("nim: not installed (apt-get install nim); Nim ORC clients not run")
                continue
            r = sh(["nim", "c", "--mm:orc", "-d:release", "--hints:off", "--verbosity:0",
                    "--nimcache:" + os.path.join(OUT, "nimcache"), "-o:" + os.path.join(OUT, "clients_nim"),
                    os.path.join(BENCH, "clients.nim")], stdout=subprocess.DEVNULL)
            if r.returncode == 0:
                ok["clients"].append(system)
            else:
                skipped.append("nim: compiling bench/clients.nim failed")
            continue
        for g, (out, srcs, extra, defs) in progs.items():
            if not want(g, system):
                continue
            if cc(out, srcs, extra, defs):
                ok[g].append(system)
            else:
                skipped.append(f"{system}: compiling {out} failed")
    return ok, skipped


def default_python():
    """Debian's python3 (built with PGO and LTO) when present, else this one."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


PYTHON = default_python()
CLOCK = "cpu"


def command(group, system, workload, scale):
    if group == "micro":
        if system == "cpython":
            return [PYTHON, os.path.join(BENCH, "bench_cpython.py"), workload, str(scale)]
        if system == "rcgc" and workload == "W1" and os.path.exists(os.path.join(OUT, "bench_rcgc_static")):
            # W1 linked both ways (librcgc.so, librcgc.a): two programs.
            return [[os.path.join(OUT, "bench_rcgc"), workload, str(scale)],
                    [os.path.join(OUT, "bench_rcgc_static"), workload, str(scale)]]
        return [os.path.join(OUT, "bench_" + system), workload, str(scale)]
    if group == "clients":
        if system == "cpython":
            return [PYTHON, os.path.join(BENCH, "clients.py"), workload, str(scale)]
        return [os.path.join(OUT, "clients_" + system), workload, str(scale)]
    prefix = {"threads": "threads_", "memory": "mem_"}[group]
    return [os.path.join(OUT, prefix + system), workload, str(scale)]


def run_all(plan, reps, raw, clock):
    """plan: [(group, workload, [systems], scale)]; runs everything `reps`
    times, interleaved; returns ({(workload, system, metric): [values]}, notes)."""
    data = defaultdict(list)
    notes = []
    env = {k: v for k, v in os.environ.items() if k != "RCGC_CHECKS"}
    env["BENCH_CLOCK"] = clock
    for rep in range(reps):
        for group, workload, systems, scale in plan:
            for system in systems:
                cmds = command(group, system, workload, scale)
                for cmd in cmds if isinstance(cmds[0], list) else [cmds]:
                    t0 = time.monotonic()
                    try:
                        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
                    except subprocess.TimeoutExpired:
                        notes.append(f"run {rep + 1}: {system} {workload} timed out")
                        if system == "rcgc":
                            RCGC_FAILURES.append(f"{workload} timed out")
                        continue
                    dt = time.monotonic() - t0
                    log(f"  run {rep + 1}/{reps} {workload:4} {system:7} {dt:6.2f}s")
                    raw.write(f"# run {rep + 1} {' '.join(cmd)} rc={r.returncode} {dt:.2f}s\n")
                    raw.write(r.stdout)
                    for line in r.stderr.splitlines():
                        raw.write("# stderr: " + line + "\n")
                        if line.startswith("#"):
                            notes.append(f"run {rep + 1}: {system} {workload}: {line.lstrip('# ')}")
                    if r.returncode != 0:
                        tail = r.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
                        notes.append(f"run {rep + 1}: {system} {workload} exited {r.returncode}: {tail[0]}")
                        if system == "rcgc":
                            RCGC_FAILURES.append(f"{workload} exited {r.returncode}")
                    for line in r.stdout.splitlines():
                        parts = line.split()
                        if len(parts) == 4 and not line.startswith("#"):
                            try:
                                data[(parts[0], parts[1], parts[2])].append(float(parts[3]))
                            except ValueError:
                                pass
    return data, notes


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def median(data, key):
    vals = data.get(key)
    return statistics.median(vals) if vals else None


NO_RATIO = ("collections", "checksum", "cpu_scaling", "rss_start_mb")


def table(data, rows, systems, workloads, title, sizes):
    """One markdown table: a column per system and, next to each peer, the
    ratio rcgc/peer of the medians.  A row is (label, workload, metric) or
    (label, workload, peer metric, rcgc metric); a tuple of metrics is shown
    joined by " / " without ratio."""
    peers = [p for p in PEERS if p in systems]
    mine_col = "rcgc" in systems
    head = [title]
    if mine_col:
        head.append("rcgc")
    for p in peers:
        head.append(p)
        if mine_col:
            head.append("rcgc/" + p)
    out_rows = []
    for row in rows:
        label, workload, metric = row[:3]
        rmetric = row[3] if len(row) > 3 else metric
        if workload not in workloads:
            continue
        cells = [label.format(**sizes)]

        def cell(system, m):
            if isinstance(m, tuple):
                vals = [median(data, (workload, system, x)) for x in m]
                return None if all(v is None for v in vals) else " / ".join(
                    "-" if v is None else f"{v:,.0f}" if v == int(v) else fmt(v) for v in vals)
            return median(data, (workload, system, m))

        mine = cell("rcgc", rmetric) if mine_col else None
        any_value = mine is not None
        if mine_col:
            cells.append(mine if isinstance(mine, str) else fmt(mine))
        for p in peers:
            theirs = cell(p, metric)
            any_value = any_value or theirs is not None
            cells.append(theirs if isinstance(theirs, str) else fmt(theirs))
            if mine_col:
                ratio = None
                if (isinstance(mine, float) and isinstance(theirs, float) and theirs
                        and not any(k in metric for k in NO_RATIO)):
                    ratio = mine / theirs
                # a ratio against (almost) nothing means nothing
                ok = ratio is not None and 1e-3 <= ratio <= 1e3
                cells.append(f"{ratio:.2f}" if ok else "-")
        if any_value:
            out_rows.append(cells)
    if not out_rows:
        return ""
    widths = [max(len(r[i]) for r in [head] + out_rows) for i in range(len(head))]

    def line(cs):
        out = [cs[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cs[1:], widths[1:])]
        return "| " + " | ".join(out) + " |"

    lines = [line(head),
             "|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|"]
    lines += [line(r) for r in out_rows]
    return "\n".join(lines)


def checks(data, systems):
    out = []
    for workload, metric, what in CHECKS:
        cells = []
        for s in systems:
            v = median(data, (workload, s, metric))
            if v is not None:
                cells.append(f"{s} {fmt(v)}")
        if cells:
            out.append(f"- {what}: " + ", ".join(cells))
    return "\n".join(out)


def spreads(data, systems, workloads, rows, limit=0.25):
    """Table figures whose runs differ by more than `limit` of their median."""
    out = []
    for row in rows:
        workload, metric = row[1], row[2]
        if workload not in workloads or isinstance(metric, tuple):
            continue
        for s in systems:
            vals = data.get((workload, s, metric))
            if not vals or len(vals) < 2:
                continue
            med = statistics.median(vals)
            if med and (max(vals) - min(vals)) / med > limit:
                out.append(f"{workload} {metric} {s} {fmt(min(vals))}..{fmt(max(vals))}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes and 3 runs: scale 0.1, clients 1/64, memory 0.05 (under a minute)")
    ap.add_argument("--clients", action="store_true",
                    help="only the client programs, at full size (depth 18), 3 runs")
    ap.add_argument("--groups", help="comma list of " + ",".join(GROUP_SYSTEMS) + " (default all; "
                    "--clients: clients)")
    ap.add_argument("--scale", type=float, help="size factor of W1-W6 and the thread benchmark "
                    "(default 1, --quick 0.1)")
    ap.add_argument("--client-scale", type=float, help="size factor of the client programs, moving "
                    "every tree depth by round(log2 s) (default 1/16 = depth 14; --quick 1/64; --clients 1)")
    ap.add_argument("--mem-scale", type=float, help="size factor of the memory benchmark "
                    "(1 = 10^7 objects, the default; --quick 0.05)")
    ap.add_argument("--reps", type=int, help="runs of each program (default 5, --quick and --clients 3)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma list of " + ",".join(SYSTEMS))
    every = WORKLOADS + CLIENTS + THREADS + MEMORY
    ap.add_argument("--workloads", help="comma list of " + ",".join(every) + " (default all)")
    ap.add_argument("--python", default=default_python(), help="interpreter for the cpython runs (default %(default)s)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="clock of the throughput figures: process CPU time (default; preemption by "
                         "other work does not count) or wall time; pauses are always wall time "
                         "(the thread benchmark always uses wall time)")
    ap.add_argument("--no-build", action="store_true", help="use the programs already in target/bench")
    args = ap.parse_args()
    scale = args.scale if args.scale else (0.1 if args.quick else 1.0)
    client_scale = args.client_scale if args.client_scale else (
        1.0 if args.clients else 1 / 64 if args.quick else 1 / 16)
    mem_scale = args.mem_scale if args.mem_scale else (0.05 if args.quick else 1.0)
    reps = args.reps if args.reps else (3 if args.quick or args.clients else 5)
    wanted = [s for s in args.systems.split(",") if s]
    for s in wanted:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s}")
    groups = args.groups.split(",") if args.groups else (["clients"] if args.clients else list(GROUP_SYSTEMS))
    for g in groups:
        if g not in GROUP_SYSTEMS:
            ap.error(f"unknown group {g}")
    workloads = args.workloads.split(",") if args.workloads else every
    for w in workloads:
        if w not in every:
            ap.error(f"unknown workload {w}")
    groups = [g for g in groups if any(w in GROUP_WORKLOADS[g] for w in workloads)]

    global PYTHON, CLOCK
    PYTHON = args.python
    CLOCK = args.clock
    load0 = os.getloadavg()
    t0 = time.monotonic()
    if args.no_build:
        runnable = {g: [s for s in wanted if s in GROUP_SYSTEMS[g]
                        and (s == "cpython" or os.path.exists(command(g, s, "x", 1)[0]))] for g in groups}
        skipped = []
    else:
        runnable, skipped = build(wanted, groups)
    group_scale = {"micro": scale, "clients": client_scale, "threads": scale, "memory": mem_scale}
    plan = [(g, w, runnable.get(g, []), group_scale[g])
            for g in groups for w in GROUP_WORKLOADS[g] if w in workloads]
    os.makedirs(OUT, exist_ok=True)
    raw_path = os.path.join(OUT, time.strftime("raw-%Y%m%d-%H%M%S.txt"))
    with open(raw_path, "w") as raw:
        data, notes = run_all(plan, reps, raw, args.clock)
    depth = 18 + round(math.log2(client_scale))
    sizes = {
        "w3": f"{round(1_000_000 * scale):,}",
        "w3t": f"{round(524_287 * scale):,}",
        "w4": f"{round(1_048_575 * scale):,}",
        "w5": f"{round(10_000_000 * scale):,}",
        "w5t": f"{round(1_000_000 * scale):,}",
        "mem": f"{round(1_000_000 * scale):,}",
        "objs": f"{round(10_000_000 * mem_scale):,}",
    }
    tables = [
        ("micro", ROWS, f"workload (median of {reps} runs, scale {scale:g}, {CLOCK} time)"),
        ("clients", CLIENT_ROWS, f"client program (median of {reps} runs, depth {depth}, {CLOCK} time)"),
        ("threads", THREAD_ROWS, f"two threads (median of {reps} runs, scale {scale:g}, wall time)"),
        ("memory", MEMORY_ROWS, f"memory given back (median of {reps} runs, {sizes['objs']} objects)"),
    ]
    all_rows = []
    for g, rows, title in tables:
        if g not in groups:
            continue
        t = table(data, rows, runnable.get(g, []), workloads, title, sizes)
        if t:
            print()
            print(t)
        all_rows += rows
    print()
    every_system = sorted({s for g in groups for s in runnable.get(g, [])}, key=SYSTEMS.index)
    c = checks(data, every_system)
    if c:
        print("Checks (medians):")
        print(c)
    noisy = spreads(data, every_system, workloads, all_rows)
    if noisy:
        print()
        print("Runs spread by more than 25% of the median (min..max): " + "; ".join(noisy))
    if notes or skipped:
        print()
        print("Notes:")
        for n in skipped:
            print("- not run: " + n)
        for n in sorted(set(notes)):
            print("- " + n)
    print()
    if "cpython" in every_system:
        ver = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
        print(f"cpython: {PYTHON} {ver}")
    if "nim" in every_system:
        ver = subprocess.run(["nim", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
        print(f"nim: {' '.join(ver)} (--mm:orc -d:release)")
    for what, extra in (("repository at", []), ("library (src/) last changed in", ["--", "src"])):
        rev = subprocess.run(["git", "log", "-1", "--format=%h %s"] + extra, cwd=ROOT,
                             capture_output=True, text=True)
        if rev.returncode == 0 and rev.stdout.strip():
            print(f"{what}: {rev.stdout.strip()[:100]}")
    load1 = os.getloadavg()
    print(f"load average (1/5/15 min) before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} ({os.cpu_count()} CPUs)")
    print(f"raw results: {os.path.relpath(raw_path, ROOT)}; total {time.monotonic() - t0:.0f}s")
    failed = [n for n in skipped if "failed" in n]
    if failed:
        print("BUILD FAILED: " + "; ".join(failed))
        return 1
    # A crash of the library's own programs fails the run (a peer's is a
    # note): figures are never asserted, but a program that dies is a bug.
    if RCGC_FAILURES:
        print("RCGC PROGRAM FAILED: " + "; ".join(sorted(set(RCGC_FAILURES))))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
