#!/bin/sh
# One command for the whole benchmark suite: bench/run.sh [--quick] [...]
# (see bench/run.py --help).
exec python3 "$(dirname "$0")/run.py" "$@"
