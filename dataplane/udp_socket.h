// SPDX-License-Identifier: Apache-2.0
//
// A non-blocking IPv4 UDP socket with burst I/O (`sendmmsg` / `recvmmsg`) and explicit addresses.
// The udp transport is built on it, and the node uses one directly for the client protocol,
// where the peers are not known in advance. Receive buffers are preallocated at construction.
// Threading: single owner per direction (one sender thread, one receiver thread).

#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"

namespace rlog::dataplane {

struct UdpTx {
    sockaddr_in to{};
    std::span<const uint8_t> bytes;
};

struct UdpRx {
    sockaddr_in from{};
    const uint8_t* data = nullptr;  // Valid until the next poll_burst.
    uint32_t length = 0;
    bool truncated = false;  // The datagram was longer than the buffer (MSG_TRUNC).
};

// Parses "a.b.c.d:port" or ("a.b.c.d", port). Errors: kInvalidArgument naming the text.
Result<sockaddr_in> parse_ipv4(const std::string& host, uint16_t port);
Result<sockaddr_in> parse_ipv4_endpoint(const std::string& host_port);
std::string format_ipv4(const sockaddr_in& addr);

class UdpSocket {
  public:
    // Binds to `bind_addr` (port 0 picks a free port) and preallocates burst_max receive buffers
    // of buffer_bytes each. socket_buffer_bytes (0: system default) sets SO_RCVBUF/SO_SNDBUF,
    // forced past the sysctl limits when privileged. Errors: kIo naming the address and errno;
    // kInvalidArgument if buffer_bytes is not 1..65536 or burst_max not 1..1024.
    static Result<std::unique_ptr<UdpSocket>> open(const sockaddr_in& bind_addr,
                                                   size_t buffer_bytes,
                                                   size_t burst_max,
                                                   size_t socket_buffer_bytes);
    ~UdpSocket();

    // Sends `frames` in order (in sendmmsg calls of at most burst_max datagrams) and returns how
    // many were consumed, a prefix of `frames`: sent, or refused with an error other than "would
    // block" (counted in send_errors and skipped). When the socket buffer is full (EAGAIN,
    // ENOBUFS) the rest is not sent, counted in send_would_block, and excluded from the count.
    size_t send_burst(std::span<const UdpTx> frames) noexcept;
    // Receives up to min(out.size(), burst_max) datagrams without blocking into the
    // preallocated buffers. A datagram longer than buffer_bytes is returned with `truncated`
    // set (and `length` = buffer_bytes); the caller drops it. Errors other than EAGAIN are
    // counted in receive_errors.
    size_t poll_burst(std::span<UdpRx> out) noexcept;
    // Parks in ppoll(2) until the socket is readable or `timeout_us` passes.
    void wait_readable(uint64_t timeout_us) noexcept;

    sockaddr_in local_address() const noexcept;
    int fd() const noexcept { return fd_; }
    uint64_t send_errors() const noexcept { return send_errors_; }
    uint64_t send_would_block() const noexcept { return send_would_block_; }
    uint64_t receive_errors() const noexcept { return receive_errors_; }

  private:
    UdpSocket() = default;
    struct Buffers;
    int fd_ = -1;
    std::unique_ptr<Buffers> buffers_;
    uint64_t send_errors_ = 0;
    uint64_t send_would_block_ = 0;
    uint64_t receive_errors_ = 0;
};

}  // namespace rlog::dataplane
