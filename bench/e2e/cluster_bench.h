// SPDX-License-Identifier: Apache-2.0
//
// `rlog bench`: the end-to-end benchmark. It measures the disk floor (4 KiB write + fdatasync)
// and the network floor (UDP ping-pong on loopback), starts a cluster of replicas in this process
// over loopback with durable storage in a temporary directory, drives it from one client with
// order flow (synthetic with the LOBSTER sample's mix, or a LOBSTER file replayed), prints
// throughput and commit-latency percentiles, and finally verifies that every acknowledged message
// is in every replica's committed stream exactly once at its acknowledged sequence number.
//
// Closed loop (`outstanding`): latency is submit -> acknowledgement. Open loop (`rate_per_s` >
// 0): message i is due at start + i / rate, and latency is measured from that intended time, so
// a stall delays every message behind it and shows in the percentiles (no coordinated omission).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rlog::bench {

struct ClusterBenchOptions {
    uint32_t replicas = 3;
    // udp on 127.0.0.1; af_packet or dpdk on a private Ethernet segment (bench/e2e/netns.h) that
    // the bench creates, enters and deletes (needs root).
    std::string transport = "udp";
    bool fsync = true;
    double duration_s = 10;
    uint64_t messages = 0;  // Non-zero: stop after this many (the duration still caps the run).
    size_t outstanding = 256;
    double rate_per_s = 0;  // Non-zero: open loop at this rate.
    std::string lobster_path;
    size_t payload_bytes = 64;
    std::string json_path;
    std::string svg_path;
    uint64_t seed = 1;
    std::string storage_backend = "auto";
    size_t mtu_bytes = 8192;
    bool busy_poll = false;
    // How long an idle stage spins before it parks. 0 by default: with more busy threads than
    // cores, spinning takes the core from the thread that would produce the work.
    uint64_t spin_us = 0;
    bool skip_floors = false;
    std::string data_dir;  // Empty: a temporary directory, removed at the end.
};

// Runs the benchmark and returns the process exit status: 0 when the run completed and the
// end-of-run verification passed, 1 otherwise (with the violations printed), 2 for bad options.
int run_cluster_bench(const ClusterBenchOptions& options);

}  // namespace rlog::bench
