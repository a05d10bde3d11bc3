#!/bin/sh
# Profiles the rcgc W2 (new + release) and W4 (full collection over a live
# tree) programs, and W3 (a collection that frees garbage cycles), W1
# (incref+decref) and W6's weakref_get, to guide performance work.
#
#   bench/profile.sh [W2-scale] [W4-scale] [W3-scale]   (defaults 0.05 0.25 0.05)
#   BT_SCALE=0.25 bench/profile.sh ...   binary-trees scale for the last profile
#   BT_ONLY=1 bench/profile.sh           only the binary-trees profile
#
# Builds librcgc in release mode with line tables (CARGO_PROFILE_RELEASE_DEBUG,
# into target/profile so the normal release build is untouched), then:
#  - valgrind --tool=callgrind: instruction counts, collected only inside the
#    timed API calls (obj_new/obj_decref for W2, gc_collect for W3 and W4), so the
#    setup (building the tree) is not counted;
#  - perf record -e cpu-clock (this VM has no hardware counters), whole run.
# Prints the top functions of each; the full outputs stay in target/profile/.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/target/profile"
LIB="$OUT/release"
W2S=${1:-0.05}
W4S=${2:-0.25}
W3S=${3:-0.05}
mkdir -p "$OUT"

cd "$ROOT"
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --quiet --target-dir "$OUT"
gcc -O2 -g -std=gnu11 -I "$ROOT/include" -o "$OUT/bench_rcgc" "$ROOT/bench/bench_rcgc.c" \
  -L "$LIB" -Wl,-rpath,"$LIB" -lrcgc
gcc -O2 -g -std=gnu11 -I "$ROOT/include" -o "$OUT/clients_rcgc" "$ROOT/bench/clients_rcgc.c" \
  -L "$LIB" -Wl,-rpath,"$LIB" -lrcgc -lm
BT_SCALE=${BT_SCALE:-0.25}

# binary-trees, the client program (children before parents, checks through
# obj_get_field): where its time goes, mutator and collector together.
bt_profile() {
  if command -v perf >/dev/null 2>&1; then
    echo
    echo "== perf record -e cpu-clock: rcgc binary-trees (BT, scale $BT_SCALE) =="
    if perf record -q -e cpu-clock -g -o "$OUT/perf.BT" "$OUT/clients_rcgc" BT "$BT_SCALE" >"$OUT/BT.out" 2>&1; then
      grep -E "total_s|gc_s|collections" "$OUT/BT.out" | sed 's/^/    /'
      perf report -i "$OUT/perf.BT" --stdio --no-children 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25
    else
      echo "perf record failed"
    fi
  else
    echo "perf not installed: no binary-trees profile"
  fi
}
if [ -n "${BT_ONLY:-}" ]; then
  bt_profile
  exit 0
fi

top() { # callgrind output file, objects counted
  # Instruction counts per function, exclusive (code inlined from other files
  # is folded into the function it was inlined into), then inclusive.
  for incl in no yes; do
    echo "  -- $( [ $incl = no ] && echo exclusive || echo inclusive ) Ir, and Ir per object --"
    callgrind_annotate --inclusive=$incl --auto=no --threshold=100 "$1" 2>/dev/null |
      python3 -c '
import re, sys
per = float(sys.argv[1]); tot = {}; total = None
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)\s*(\[.*\])?$", line)
    if not m: continue
    n = int(m.group(1).replace(",", "")); what = m.group(2)
    if what == "PROGRAM TOTALS": total = n; continue
    fn = what.split(":", 1)[1] if ":" in what else what
    if fn in ("main", "(below main)") or fn.startswith(("0x", "__libc_start")): continue
    tot[fn] = max(tot.get(fn, 0), n) if sys.argv[2] == "yes" else tot.get(fn, 0) + n
print(f"    total {total:,} Ir, {total / per:.0f} per object")
for fn, n in sorted(tot.items(), key=lambda kv: -kv[1])[:14]:
    print(f"    {n:>13,} {100 * n / total:5.1f}% {n / per:7.1f}/obj  {fn}")
' "$2" "$incl"
  done
}

echo "== callgrind: rcgc W2 (scale $W2S), counting inside obj_new and obj_decref =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W2" \
  --toggle-collect=obj_new --toggle-collect=obj_decref \
  "$OUT/bench_rcgc" W2 "$W2S" >/dev/null 2>"$OUT/callgrind.W2.log"
# objects: the W2 loop plus its 10% warm-up
top "$OUT/callgrind.W2" "$(python3 -c "print(round(1.1 * 10_000_000 * $W2S))")"

echo
echo "== callgrind: rcgc W4 (scale $W4S), counting inside gc_collect =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W4" \
  --toggle-collect=gc_collect \
  "$OUT/bench_rcgc" W4 "$W4S" >/dev/null 2>"$OUT/callgrind.W4.log"
# objects: three collections of the tree
top "$OUT/callgrind.W4" "$(python3 -c "print(3 * round(1_048_575 * $W4S))")"

echo
echo "== callgrind: rcgc W3 (scale $W3S), counting inside gc_collect =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W3" \
  --toggle-collect=gc_collect \
  "$OUT/bench_rcgc" W3 "$W3S" >/dev/null 2>"$OUT/callgrind.W3.log"
# objects: the garbage of the timed collection (the collection before the
# build finds nothing)
top "$OUT/callgrind.W3" "$(python3 -c "print(2 * round(1_000_000 * $W3S))")"

echo
echo "== callgrind: rcgc W1 (scale 0.01), counting inside obj_incref and obj_decref =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W1" \
  --toggle-collect=obj_incref --toggle-collect=obj_decref \
  "$OUT/bench_rcgc" W1 0.01 >/dev/null 2>"$OUT/callgrind.W1.log"
# pairs: the loop plus its 10% warm-up
top "$OUT/callgrind.W1" "$(python3 -c "print(round(1.1 * 50_000_000 * 0.01))")"

echo
echo "== callgrind: rcgc W6 (scale 0.02), counting inside weakref_get only =="
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.W6" \
  --toggle-collect=weakref_get \
  "$OUT/bench_rcgc" W6 0.02 >/dev/null 2>"$OUT/callgrind.W6.log"
top "$OUT/callgrind.W6" "$(python3 -c "print(round(10_000_000 * 0.02))")"

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

bt_profile
