#!/usr/bin/env python3
"""Build and run the rcgc benchmark suite; print one table of medians.

    python3 bench/run.py            # full sizes, 5 runs of everything
    python3 bench/run.py --quick    # scale 0.1, 3 runs (about a minute)

Builds librcgc in release mode (`cargo build --release` in the repository
root), compiles bench/bench_{rcgc,malloc,boehm}.c with gcc -O2 into
target/bench/, installs Debian's libgc-dev if it is missing (needs root),
then runs every workload of every system as its own process, several times,
interleaved.  Each program prints lines `W2 rcgc ns_per_op 23.4`; the table
shows the median of each figure over the runs and the ratio rcgc/peer.
Raw lines are kept in target/bench/raw-<time>.txt.

Benchmarks are never part of `cargo test`; nothing here asserts on time.
"""

import argparse
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
RELEASE = os.path.join(ROOT, "target", "release")

SYSTEMS = ["rcgc", "malloc", "boehm", "cpython"]
PEERS = ["malloc", "boehm", "cpython"]
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "MEM"]

# (label, workload, metric); the label's sizes are filled in from the scale.
ROWS = [
    ("W1 incref+decref pair, ns/op", "W1", "ns_per_op"),
    ("W2 new 2-field object + release, ns/op", "W2", "ns_per_op"),
    ("W3 collect {w3} two-node cycles, ms", "W3", "ms"),
    ("W3 ns per object freed", "W3", "ns_per_obj"),
    ("W4 full collection, {w4}-node live tree, ms", "W4", "ms"),
    ("W4 ns per live object", "W4", "ns_per_obj"),
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

# Figures that check the work was really done (shown below the table).
CHECKS = [
    ("W3", "collected", "objects found by the timed collection"),
    ("W6", "callbacks", "weakref callbacks run"),
    ("W6", "cleared", "disappearing links cleared (Boehm)"),
    ("W5", "gen1_collections", "generation-1 collections during W5"),
    ("W5", "gen2_collections", "generation-2 collections during W5"),
    ("W5", "max_pause_gen0_ms", "W5 longest generation-0 pause, ms (rcgc)"),
    ("W5", "max_pause_gen1_ms", "W5 longest generation-1 pause, ms (rcgc)"),
    ("W5", "pause_total_ms", "sum of all W5 pauses, ms"),
    ("W5", "lib_max_duration_ms", "W5 longest duration_ns reported by rcgc, ms"),
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


def build(systems):
    """Builds what `systems` need; returns the systems that are runnable."""
    os.makedirs(OUT, exist_ok=True)
    cflags = ["gcc", "-O2", "-Wall", "-Wextra", "-std=gnu11"]
    ok = []
    for system in systems:
        if system == "cpython":
            ok.append(system)
            continue
        if system == "rcgc":
            r = sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
            header = os.path.join(ROOT, "include", "rcgc.h")
            if r.returncode != 0 or not os.path.exists(header):
                log("!! rcgc: cargo build --release failed or include/rcgc.h is missing; skipping rcgc")
                continue
            cmd = cflags + ["-I", os.path.join(ROOT, "include"), "-o", os.path.join(OUT, "bench_rcgc"),
                            os.path.join(BENCH, "bench_rcgc.c"), "-L", RELEASE,
                            "-Wl,-rpath," + RELEASE, "-lrcgc"]
        elif system == "malloc":
            cmd = cflags + ["-o", os.path.join(OUT, "bench_malloc"), os.path.join(BENCH, "bench_malloc.c")]
        elif system == "boehm":
            if not ensure_libgc():
                log("!! boehm: libgc-dev unavailable; skipping boehm")
                continue
            cmd = cflags + ["-o", os.path.join(OUT, "bench_boehm"), os.path.join(BENCH, "bench_boehm.c"), "-lgc"]
        if sh(cmd).returncode != 0:
            log(f"!! {system}: compilation failed; skipping {system}")
            continue
        ok.append(system)
    return ok


def default_python():
    """Debian's python3 (built with PGO and LTO) when present, else this one."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


PYTHON = default_python()
CLOCK = "cpu"


def command(system, workload, scale):
    if system == "cpython":
        return [PYTHON, os.path.join(BENCH, "bench_cpython.py"), workload, str(scale)]
    return [os.path.join(OUT, "bench_" + system), workload, str(scale)]


def run_all(systems, workloads, scale, reps, raw, clock):
    """Runs everything `reps` times; returns {(workload, system, metric): [values]}."""
    data = defaultdict(list)
    notes = []
    env = {k: v for k, v in os.environ.items() if k != "RCGC_CHECKS"}
    env["BENCH_CLOCK"] = clock
    for rep in range(reps):
        for workload in workloads:
            for system in systems:
                cmd = command(system, workload, scale)
                t0 = time.monotonic()
                try:
                    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
                except subprocess.TimeoutExpired:
                    notes.append(f"run {rep + 1}: {system} {workload} timed out")
                    continue
                dt = time.monotonic() - t0
                log(f"  run {rep + 1}/{reps} {workload:3} {system:7} {dt:6.2f}s")
                raw.write(f"# run {rep + 1} {' '.join(cmd)} rc={r.returncode} {dt:.2f}s\n")
                raw.write(r.stdout)
                for line in r.stderr.splitlines():
                    raw.write("# stderr: " + line + "\n")
                    if line.startswith("#"):
                        notes.append(f"run {rep + 1}: {line.lstrip('# ')}")
                if r.returncode != 0:
                    tail = r.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
                    notes.append(f"run {rep + 1}: {system} {workload} exited {r.returncode}: {tail[0]}")
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


def table(data, systems, workloads, scale, reps):
    sizes = {
        "w3": f"{round(1_000_000 * scale):,}",
        "w4": f"{round(1_048_575 * scale):,}",
        "w5": f"{round(10_000_000 * scale):,}",
        "w5t": f"{round(1_000_000 * scale):,}",
        "mem": f"{round(1_000_000 * scale):,}",
    }
    peers = [p for p in PEERS if p in systems]
    head = ["workload (median of %d runs, scale %g, %s time)" % (reps, scale, CLOCK)]
    if "rcgc" in systems:
        head.append("rcgc")
    for p in peers:
        head.append(p)
        if "rcgc" in systems:
            head.append("rcgc/" + p)
    rows = []
    for label, workload, metric in ROWS:
        if workload not in workloads:
            continue
        row = [label.format(**sizes)]
        mine = median(data, (workload, "rcgc", metric))
        if "rcgc" in systems:
            row.append(fmt(mine))
        for p in peers:
            theirs = median(data, (workload, p, metric))
            row.append(fmt(theirs))
            if "rcgc" in systems:
                ratio = mine / theirs if mine is not None and theirs and metric != "collections" else None
                row.append(f"{ratio:.2f}" if ratio is not None else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = []

    def line(cells):
        out = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(out) + " |"

    lines.append(line(head))
    lines.append("|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|")
    for r in rows:
        lines.append(line(r))
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


def spreads(data, systems, workloads, limit=0.25):
    """Table figures whose runs differ by more than `limit` of their median."""
    out = []
    for label, workload, metric in ROWS:
        if workload not in workloads:
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
    ap.add_argument("--quick", action="store_true", help="scale 0.1 and 3 runs")
    ap.add_argument("--scale", type=float, help="size factor (default 1, --quick 0.1)")
    ap.add_argument("--reps", type=int, help="runs of each program (default 5, --quick 3)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma list of " + ",".join(SYSTEMS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma list of " + ",".join(WORKLOADS))
    ap.add_argument("--python", default=default_python(), help="interpreter for the cpython runs (default %(default)s)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="clock of the throughput figures: process CPU time (default; preemption by "
                         "other work does not count) or wall time; pauses are always wall time")
    ap.add_argument("--no-build", action="store_true", help="use the programs already in target/bench")
    args = ap.parse_args()
    scale = args.scale if args.scale else (0.1 if args.quick else 1.0)
    reps = args.reps if args.reps else (3 if args.quick else 5)
    wanted = [s for s in args.systems.split(",") if s]
    workloads = [w for w in args.workloads.split(",") if w]
    for s in wanted:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s}")
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")

    global PYTHON, CLOCK
    PYTHON = args.python
    CLOCK = args.clock
    load0 = os.getloadavg()
    t0 = time.monotonic()
    systems = wanted if args.no_build else build(wanted)
    os.makedirs(OUT, exist_ok=True)
    raw_path = os.path.join(OUT, time.strftime("raw-%Y%m%d-%H%M%S.txt"))
    with open(raw_path, "w") as raw:
        data, notes = run_all(systems, workloads, scale, reps, raw, args.clock)
    print()
    print(table(data, systems, workloads, scale, reps))
    print()
    c = checks(data, systems)
    if c:
        print("Checks (medians):")
        print(c)
    noisy = spreads(data, systems, workloads)
    if noisy:
        print()
        print("Runs spread by more than 25% of the median (min..max): " + "; ".join(noisy))
    if notes:
        print()
        print("Notes from the programs:")
        for n in sorted(set(notes)):
            print("- " + n)
    print()
    if "cpython" in systems:
        ver = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
        print(f"cpython: {PYTHON} {ver}")
    for what, extra in (("repository at", []), ("library (src/) last changed in", ["--", "src"])):
        rev = subprocess.run(["git", "log", "-1", "--format=%h %s"] + extra, cwd=ROOT,
                             capture_output=True, text=True)
        if rev.returncode == 0 and rev.stdout.strip():
            print(f"{what}: {rev.stdout.strip()[:100]}")
    load1 = os.getloadavg()
    print(f"load average (1/5/15 min) before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} ({os.cpu_count()} CPUs)")
    print(f"raw results: {os.path.relpath(raw_path, ROOT)}; total {time.monotonic() - t0:.0f}s")
    missing = [s for s in wanted if s not in systems]
    if missing:
        print("NOT RUN (build failed): " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
