#!/usr/bin/env bash
# Build every examples/*.c with the strict flags and run it; optionally under
# valgrind's memcheck.
#
# Usage: examples/run_examples.sh [--release] [--valgrind] [--no-build]
#   --release   link target/release/librcgc.so (default: target/debug)
#   --valgrind  run each example under memcheck: any memory error, or any
#               definitely/indirectly/possibly lost block, fails it
#   --no-build  do not run cargo build first
# Exits non-zero if any example fails to compile, fails its own checks, or
# (with --valgrind) has a memcheck error or leak.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
profile=debug
valgrind=0
build=1
for arg in "$@"; do
  case "$arg" in
    --release) profile=release ;;
    --valgrind) valgrind=1 ;;
    --no-build) build=0 ;;
    *) echo "run_examples.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ]; then
  if [ "$profile" = release ]; then (cd "$repo" && cargo build --release); else (cd "$repo" && cargo build); fi
fi
libdir="$repo/target/$profile"
[ -f "$libdir/librcgc.so" ] || { echo "run_examples.sh: no $libdir/librcgc.so" >&2; exit 1; }
if [ "$valgrind" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
  echo "run_examples.sh: valgrind is not installed" >&2
  exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0
failed=0
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  echo "== $name"
  if ! gcc -std=c11 -Wall -Wextra -Werror -g -I"$repo/include" "$src" \
       -L"$libdir" -lrcgc -Wl,-rpath,"$libdir" -o "$out/$name"; then
    echo "run_examples.sh: $name: does not compile" >&2
    failed=$((failed + 1))
    continue
  fi
  if [ "$valgrind" = 1 ]; then
    if valgrind --quiet --error-exitcode=99 --leak-check=full \
         --errors-for-leak-kinds=definite,indirect,possible \
         "$out/$name" > "$out/$name.log" 2>&1; then
      echo "$name: ok (memcheck clean)"
      passed=$((passed + 1))
    else
      cat "$out/$name.log"
      echo "run_examples.sh: $name: FAILED under valgrind" >&2
      failed=$((failed + 1))
    fi
  else
    if "$out/$name"; then
      passed=$((passed + 1))
    else
      echo "run_examples.sh: $name: FAILED" >&2
      failed=$((failed + 1))
    fi
  fi
done
echo "examples: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
