#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking rlog needs.
# Usage: scripts/setup.sh        (as root; idempotent, and quick when everything is installed)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  liburing-dev            # storage: io_uring group commit
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev        # bench/: micro-benchmarks
  libcli11-dev            # node/: command-line parsing
  libspdlog-dev libfmt-dev  # node/: logging
  libtomlplusplus-dev     # node/: configuration files (TOML)
  libjemalloc-dev         # the rlog binary's allocator
  libdpdk-dev             # dataplane/: the dpdk transport (and its net_af_packet/net_memif PMDs)
  clang-format            # formatting check
  iproute2 procps         # tests: namespaces, process control
  nftables e2fsprogs python3  # scripts/soak.sh: partitions and loss, disk images, the report
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root to install packages (or install them yourself: ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
