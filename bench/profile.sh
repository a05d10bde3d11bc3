#!/bin/sh
# Profiles the rcgc W2 (new + release) and W4 (full collection over a live
# tree) programs, to guide performance work.
#
#   bench/profile.sh [W2-scale] [W4-scale]      (defaults 0.05 and 0.25)
#
# Builds librcgc in release mode with line tables (CARGO_PROFILE_RELEASE_DEBUG,
# into target/profile so the normal release build is untouched), then:
#  - valgrind --tool=callgrind: instruction counts, collected only inside the
#    timed API calls (obj_new/obj_decref for W2, gc_collect for W4), so the
#    setup (building the tree) is not counted;
#  - perf record -e cpu-clock (this VM has no hardware counters), whole run.
# Prints the top functions of each; the full outputs stay in target/profile/.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/target/profile"
LIB="$OUT/release"
W2S=${1:-0.05}
W4S=${2:-0.25}
mkdir -p "$OUT"

cd "$ROOT"
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --quiet --target-dir "$OUT"
gcc -O2 -g -std=gnu11 -I "$ROOT/include" -o "$OUT/bench_rcgc" "$ROOT/bench/bench_rcgc.c" \
  -L "$LIB" -Wl,-rpath,"$LIB" -lrcgc

top() { # callgrind output file
  callgrind_annotate --inclusive=no "$1" 2>/dev/null | sed -n '/^ *Ir/,$p' | head -22
  echo "  -- inclusive --"
  callgrind_annotate --inclusive=yes "$1" 2>/dev/null | sed -n '/^ *Ir/,$p' | sed -n '3,18p'
}

echo "== callgrind: rcgc W2 (scale $W2S), counting inside obj_new and obj_decref =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W2" \
  --toggle-collect=obj_new --toggle-collect=obj_decref \
  "$OUT/bench_rcgc" W2 "$W2S" >/dev/null 2>"$OUT/callgrind.W2.log"
top "$OUT/callgrind.W2"

echo
echo "== callgrind: rcgc W4 (scale $W4S), counting inside gc_collect =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W4" \
  --toggle-collect=gc_collect \
  "$OUT/bench_rcgc" W4 "$W4S" >/dev/null 2>"$OUT/callgrind.W4.log"
top "$OUT/callgrind.W4"

if command -v perf >/dev/null 2>&1; then
  for w in W2 W4; do
    echo
    echo "== perf record -e cpu-clock: rcgc $w (scale 1, whole run incl. setup) =="
    if perf record -q -e cpu-clock -o "$OUT/perf.$w" "$OUT/bench_rcgc" "$w" 1 >/dev/null 2>&1; then
      perf report -i "$OUT/perf.$w" --stdio --no-children 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
    else
      echo "perf record failed"
    fi
  done
fi
