#!/usr/bin/env bash
# Configures and builds rlog.
# Usage: scripts/build.sh [release|sanitize|debug]   (default release; build dir build/<kind>)
set -euo pipefail
kind=${1:-release}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$kind" in
  release)  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) flags=(-DCMAKE_BUILD_TYPE=Debug -DRLOG_SANITIZE=ON -DRLOG_BUILD_BENCH=OFF) ;;
  debug)    flags=(-DCMAKE_BUILD_TYPE=Debug) ;;
  *) echo "build.sh: unknown build kind '$kind' (release|sanitize|debug)" >&2; exit 2 ;;
esac
if [ "${CI:-}" = "true" ]; then
  flags+=(-DRLOG_WERROR=ON)
fi
cmake -S "$root" -B "$root/build/$kind" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$root/build/$kind" -j "$(nproc)"
