#!/bin/sh
# Replays the checked-in corpus of the `model` fuzz target once, without
# fuzzing (CI runs this). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Extra arguments go to libFuzzer.
#
# To fuzz for real (new inputs go to a scratch corpus, not the checked-in one):
#   mkdir -p /tmp/rcgc-corpus
#   cargo +nightly fuzz run model /tmp/rcgc-corpus fuzz/corpus/model -- -max_total_time=600
set -eu
cd "$(dirname "$0")/.."
exec cargo +nightly fuzz run model fuzz/corpus/model -- -runs=0 "$@"
