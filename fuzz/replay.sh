#!/usr/bin/env bash
# Replays the checked-in corpus of the `model` fuzz target once, without
# fuzzing (CI runs this). Needs only the nightly toolchain, not cargo-fuzz:
# it builds and runs the target with plain cargo exactly as
# `cargo +nightly fuzz run model` does with cargo-fuzz 0.13's defaults
# (libFuzzer, AddressSanitizer, coverage instrumentation, debug assertions,
# --cfg fuzzing, release mode, fuzz/target), so a failure here reproduces
# with cargo-fuzz and the two share one build. Extra arguments go to
# libFuzzer.
#
# To fuzz for real (`cargo install cargo-fuzz`; new inputs go to a scratch
# corpus, not the checked-in one):
#   mkdir -p /tmp/rcgc-corpus
#   cargo +nightly fuzz run model /tmp/rcgc-corpus fuzz/corpus/model -- -max_total_time=600
set -euo pipefail
cd "$(dirname "$0")/.."
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')

# cargo-fuzz's RUSTFLAGS (src/project.rs, `cargo()`), the caller's appended.
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags+=" -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
flags+=" --cfg fuzzing -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
flags+=" -Zsanitizer=address -Cllvm-args=-sanitizer-coverage-stack-depth"
flags+=" -Cdebug-assertions -Ccodegen-units=1"
export RUSTFLAGS="$flags${RUSTFLAGS:+ $RUSTFLAGS}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

mkdir -p fuzz/artifacts/model
exec cargo +nightly run --manifest-path fuzz/Cargo.toml --target "$triple" \
  --release --config 'profile.release.debug="line-tables-only"' --bin model -- \
  -artifact_prefix="$PWD/fuzz/artifacts/model/" fuzz/corpus/model -runs=0 "$@"
