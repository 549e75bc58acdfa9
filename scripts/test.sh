#!/usr/bin/env bash
# Sets up, builds and runs every rlog test: unit and simulation tests under ASan+UBSan, then the
# integration tests (real `rlog` processes on loopback) against the release build.
# Usage: scripts/test.sh        (as root on a fresh Debian 12 machine)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/build.sh sanitize
scripts/build.sh release
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== unit and simulation tests (sanitize build)"
ctest --test-dir build/sanitize --output-on-failure -j "$(nproc)" -LE integration
echo "== integration tests (release build)"
ctest --test-dir build/release --output-on-failure -L integration
