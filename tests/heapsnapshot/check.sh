#!/usr/bin/env bash
# Checks gc_dump_heap's output in consumers someone else wrote:
#  - the V8 heap snapshot of planted.c, loaded with memlab's parser
#    (@memlab/core, pinned by package.json + package-lock.json, installed
#    with `npm ci --ignore-scripts`): node and edge counts, names, the weak
#    edge, the payload edge, and the retainer path of the planted object
#    through "(held from outside)";
#  - the DOT dump of the same heap, rendered by Graphviz (`dot -Tsvg`).
# Needs cargo, a C compiler, node + npm and graphviz.
# Usage: tests/heapsnapshot/check.sh [--update-docs]  (also writes docs/heap-example.svg)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
(cd "$repo" && cargo build -q)
lib="$repo/target/debug"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=c11 -Wall -Wextra -Werror -g -I"$repo/include" "$here/planted.c" \
  -L"$lib" -lrcgc -Wl,-rpath,"$lib" -o "$out/planted"
"$out/planted" "$out/heap.heapsnapshot" "$out/heap.dot"

(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --silent)
node "$here/check.js" "$out/heap.heapsnapshot"

dot -Tsvg "$out/heap.dot" -o "$out/heap.svg"
grep -q '<svg' "$out/heap.svg"
for name in App Registry Entry Planted '(held from outside)'; do
  grep -qF "$name" "$out/heap.svg" || { echo "heap.svg lacks $name" >&2; exit 1; }
done
echo "heapsnapshot: dot -Tsvg rendered $(grep -c '<g id="node' "$out/heap.svg") nodes"
if [ "${1:-}" = "--update-docs" ]; then
  cp "$out/heap.svg" "$repo/docs/heap-example.svg"
  echo "heapsnapshot: wrote docs/heap-example.svg"
fi
