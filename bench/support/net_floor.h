// SPDX-License-Identifier: Apache-2.0
//
// The network floor for `rlog bench`: the round-trip time of a UDP ping-pong between two sockets
// on 127.0.0.1, with an echo thread on the far side. Both sides park in poll(2) between packets
// rather than spinning, so the measurement also works on a 2-core machine shared with other
// load; it is the least time a message and its reply can spend in the kernel's loopback path,
// against which commit latency is compared.
//
// Threading: the call starts one echo thread and joins it before returning. Uses only
// loopback. No allocation per round trip.

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace rlog::bench {

// Sends `iterations` datagrams of `payload_bytes` (1..65507) to an echo thread and waits for
// each reply before sending the next; returns one round-trip latency in nanoseconds per
// iteration, in order (a few warm-up round trips are run first and not reported). Errors:
// kInvalidArgument (iterations < 1 or a bad size), kIo (socket, bind or send failed),
// kTimeout (a reply did not come back within one second: loopback is not dropping packets,
// so this means something is wrong).
Result<std::vector<uint64_t>> measure_udp_floor(int iterations, size_t payload_bytes);

}  // namespace rlog::bench
