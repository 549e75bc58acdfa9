// SPDX-License-Identifier: Apache-2.0
//
// The dataplane: how replicas exchange frames. One burst-oriented interface, `Transport`, with
// one implementation per backend chosen at start-up (`udp` now; `af_packet` and `dpdk` later).
// A transport moves opaque frames between the replicas of a fixed peer table; it does not
// interpret them. Framing, segmentation and the message codec sit above it (`channel.h`,
// `codec.h`), so every backend shares the same length checks.
//
// Threading: single owner. `send_burst` and `poll_burst` are non-blocking and may be called from
// one thread (or `send_burst` from one thread and `poll_burst` from another, which the udp backend
// supports because the kernel socket is the only shared state). Errors: construction returns a
// Status; the burst calls count failures in `TransportStats` and never throw.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/types.h"

namespace rlog::dataplane {

// One frame to send to `peer` (an id from the peer table). `bytes` must stay valid until
// `send_burst` returns.
struct TxFrame {
    NodeId peer;
    std::span<const uint8_t> bytes;
};

// One received frame. `data` points into the transport's receive buffers and stays valid until
// the next `poll_burst` on the same transport.
struct RxFrame {
    const uint8_t* data = nullptr;
    uint32_t length = 0;
};

struct TransportStats {
    uint64_t frames_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t frames_received = 0;
    uint64_t bytes_received = 0;
    uint64_t send_errors = 0;       // Frames the kernel or device refused (counted, dropped).
    uint64_t send_would_block = 0;  // Frames not sent because the socket or ring was full.
    uint64_t receive_errors = 0;
    uint64_t frames_truncated = 0;  // Received frames longer than the receive buffer.
};

struct PeerAddress {
    NodeId id;
    std::string host;  // IPv4 address, e.g. "127.0.0.1".
    uint16_t port = 0;
};

struct TransportOptions {
    std::string kind = "udp";
    NodeId self;
    // Every replica, this one included; this replica's entry gives the address to bind.
    std::vector<PeerAddress> peers;
    // Largest frame this transport sends or accepts, header included.
    size_t mtu_bytes = 8192;
    // Frames one poll_burst returns at most; sizes the preallocated receive buffers.
    size_t burst_max = 64;
    // Kernel socket buffer sizes (udp); 0 keeps the system default.
    size_t socket_buffer_bytes = 4 << 20;
    LogSink log;
};

class Transport {
  public:
    virtual ~Transport() = default;

    // Sends frames in order; returns how many were consumed (a prefix of `frames`): handed to
    // the kernel or device, or refused (unknown peer, longer than mtu_bytes, a send error:
    // counted in send_errors and skipped). Frames after a full socket or ring are not sent,
    // counted in send_would_block and not included. stats().frames_sent counts what was sent.
    virtual size_t send_burst(std::span<const TxFrame> frames) noexcept = 0;

    // Receives up to `out.size()` frames without blocking; returns how many were written.
    virtual size_t poll_burst(std::span<RxFrame> out) noexcept = 0;

    // Blocks until a frame may be ready or `timeout_us` passes (parking for idle stages).
    virtual void wait_readable(uint64_t timeout_us) noexcept = 0;

    // A file descriptor that polls readable when a frame may be ready, so a stage can sleep on
    // it together with other descriptors (its doorbell); -1 when the backend has none (a
    // poll-mode driver), and the stage must then spin or use wait_readable().
    virtual int wait_fd() const noexcept { return -1; }

    virtual const char* name() const noexcept = 0;
    virtual size_t mtu_bytes() const noexcept = 0;
    virtual const TransportStats& stats() const noexcept = 0;
};

// Builds the transport named by `options.kind` and logs the choice once through options.log.
// Errors: kNotSupported (a known backend not in this build: "af_packet", "dpdk"),
// kInvalidArgument (unknown kind, self id 0 or missing from peers, duplicate or zero peer ids,
// bad address, port 0 for another peer, mtu_bytes or burst_max out of range), kIo (socket or
// bind failed; the message names the address). This replica's port may be 0 (ephemeral).
Result<std::unique_ptr<Transport>> make_transport(const TransportOptions& options);

}  // namespace rlog::dataplane
