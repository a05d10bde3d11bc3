#!/usr/bin/env bash
# Run the ctypes test-suite (test_rcgc.py) against librcgc.so.
#
# Usage: bindings/python/run_tests.sh [--debug] [pytest args...]
#   Library: $RCGC_LIB if set; otherwise this script builds the repository
#   (`cargo build --release`, or `cargo build` with --debug) and points
#   RCGC_LIB at the fresh target/<profile>/librcgc.so, so a stale build in
#   the other profile is never picked up.
# Installs pytest with pip when it is missing. Exits non-zero when any test
# fails, and also when pytest collected no test at all (its exit code 5).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}

profile=release
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  shift
fi

if [ -z "${RCGC_LIB:-}" ]; then
  if [ "$profile" = release ]; then
    (cd "$repo" && cargo build --release)
  else
    (cd "$repo" && cargo build)
  fi
  export RCGC_LIB="$repo/target/$profile/librcgc.so"
fi
[ -f "$RCGC_LIB" ] || { echo "run_tests.sh: no library at $RCGC_LIB" >&2; exit 1; }
echo "run_tests.sh: testing $RCGC_LIB"

if ! "$python" -c 'import pytest' 2>/dev/null; then
  echo "run_tests.sh: installing pytest"
  "$python" -m pip install --quiet pytest
fi

status=0
"$python" -m pytest -p no:cacheprovider "$here/test_rcgc.py" "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "run_tests.sh: pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
