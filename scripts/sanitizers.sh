#!/usr/bin/env bash
# Sanitizer runs (nightly Rust; no rust-src needed):
#  1. AddressSanitizer + UndefinedBehaviorSanitizer: the library built with
#     -Zsanitizer=address and the `system-alloc` feature (every object is its
#     own malloc, so ASan sees each one), every C program in c_tests/ and
#     examples/ compiled with -fsanitize=address,undefined against it.
#  2. ThreadSanitizer: tests/threads.rs (threads through the C API) with the
#     library and the test built with -Zsanitizer=thread. (gcc's TSan runtime
#     is older than the LLVM instrumentation, so the C programs cannot link a
#     TSan build of the library; the Rust test drives the same races.)
# Both builds share one target dir, target/sanitizers: with --target, RUSTFLAGS
# reach only the target's crates, so the build script and its dependencies
# (cbindgen, syn, serde, ...) are compiled once for the two; the library is
# rebuilt for each sanitizer.
# Usage: scripts/sanitizers.sh [asan|tsan]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir=target/sanitizers
what=${1:-all}

if [ "$what" = all ] || [ "$what" = asan ]; then
  echo "== ASan + UBSan"
  RUSTFLAGS="-Zsanitizer=address" cargo +nightly build -q --features system-alloc \
    --target $target --target-dir $target_dir
  out=$target_dir/asan-c
  # The programs load their own copy: the TSan build below replaces the
  # library in the target dir.
  lib=$PWD/$out/lib
  mkdir -p "$lib"
  cp "$target_dir/$target/debug/librcgc.so" "$lib/"
  fails=0
  for src in c_tests/*.c examples/*.c; do
    name=$(basename "$src" .c)
    cc -std=c11 -g -O1 -Wall -Wextra -Werror -pthread -fno-omit-frame-pointer \
      -fsanitize=address,undefined -fno-sanitize-recover=undefined \
      -Iinclude -Ic_tests "$src" -o "$out/$name" -L"$lib" -lrcgc -Wl,-rpath,"$lib"
    if RCGC_CHAIN=200000 RCGC_STRESS_SCALE=2 \
       ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
       "$out/$name" >"$out/$name.log" 2>&1; then
      echo "asan ok: $name"
    else
      echo "asan FAILED: $name"; tail -40 "$out/$name.log"; fails=1
    fi
  done
  [ "$fails" = 0 ]
fi

if [ "$what" = all ] || [ "$what" = tsan ]; then
  echo "== TSan"
  RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer" \
  TSAN_OPTIONS=halt_on_error=1 \
    cargo +nightly test -q --test threads --target $target --target-dir $target_dir
fi
