// SPDX-License-Identifier: Apache-2.0
//
// `rlog ping`: the network floor of a transport. Two endpoints of the chosen transport in this
// process (udp on 127.0.0.1; af_packet and dpdk on a veth pair in a private network namespace,
// created and removed here) bounce one frame back and forth; every round trip is timed and the
// percentiles printed. Both sides busy-poll, so the figure is the transport's own floor, without
// any parking or wake-up. Frames go straight through Transport::send_burst/poll_burst (no
// channel), carrying a sequence number that the echo must return unchanged.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rlog::node {

struct PingOptions {
    std::string transport = "udp";  // udp | af_packet | dpdk
    uint64_t count = 20000;         // Timed round trips (after `warmup` untimed ones).
    uint64_t warmup = 1000;
    size_t payload_bytes = 64;  // Frame bytes after the 48-byte rlog frame header.
    int af_packet_rx_version = 2;
};

// Runs the ping-pong and prints the transport, round-trip p50/p90/p99/p99.9/max and mean.
// Returns 0 on success, 1 when the transport cannot be set up or an echo is lost or wrong
// (a 1 s timeout per round trip), 2 for bad options.
int run_ping(const PingOptions& options);

}  // namespace rlog::node
