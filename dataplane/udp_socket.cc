// SPDX-License-Identifier: Apache-2.0

#include "dataplane/udp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/assert.h"

namespace rlog::dataplane {
namespace {

Status io_error(const std::string& what, const sockaddr_in& addr, int err) {
    return Status(ErrorCode::kIo, what + " " + format_ipv4(addr) + ": " + std::strerror(err));
}

// Upper bounds that keep a bad configuration from allocating without limit.
constexpr size_t kBurstMax = 1024;
constexpr size_t kBufferBytesMax = 65536;

}  // namespace

Result<sockaddr_in> parse_ipv4(const std::string& host, uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (host.empty()) {
        return Status(ErrorCode::kInvalidArgument, "empty IPv4 address");
    }
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
        return Status(ErrorCode::kInvalidArgument,
                      "not an IPv4 address (expected a.b.c.d): \"" + host + "\"");
    }
    return addr;
}

Result<sockaddr_in> parse_ipv4_endpoint(const std::string& host_port) {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) {
        return Status(ErrorCode::kInvalidArgument,
                      "expected a.b.c.d:port, got \"" + host_port + "\" (no port)");
    }
    const std::string port_text = host_port.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
        return Status(ErrorCode::kInvalidArgument,
                      "bad port in \"" + host_port + "\" (expected 0..65535)");
    }
    const unsigned long port = std::stoul(port_text);
    if (port > 65535) {
        return Status(ErrorCode::kInvalidArgument,
                      "port out of range in \"" + host_port + "\" (expected 0..65535)");
    }
    Result<sockaddr_in> addr = parse_ipv4(host_port.substr(0, colon), static_cast<uint16_t>(port));
    if (!addr.is_ok()) {
        return Status(ErrorCode::kInvalidArgument,
                      "bad address \"" + host_port + "\": " + addr.status().message());
    }
    return addr;
}

std::string format_ipv4(const sockaddr_in& addr) {
    char text[INET_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text) == nullptr) {
        return "?";
    }
    return std::string(text) + ":" + std::to_string(ntohs(addr.sin_port));
}

// Preallocated per-direction state: the receive side owns rx_*, the send side tx_*.
struct UdpSocket::Buffers {
    size_t buffer_bytes = 0;
    size_t burst_max = 0;
    std::vector<uint8_t> rx_storage;  // burst_max * buffer_bytes.
    std::vector<mmsghdr> rx_msgs;
    std::vector<iovec> rx_iov;
    std::vector<sockaddr_in> rx_from;

    // Points header i at its buffer and address slot. Done for every header once at open and
    // then only for the headers a receive filled (the kernel writes msg_namelen, msg_flags and
    // msg_len of those alone), so an empty poll touches no headers at all.
    void reset_rx_header(size_t i) {
        rx_iov[i].iov_base = rx_storage.data() + i * buffer_bytes;
        rx_iov[i].iov_len = buffer_bytes;
        msghdr& h = rx_msgs[i].msg_hdr;
        h = msghdr{};
        h.msg_name = &rx_from[i];
        h.msg_namelen = sizeof(sockaddr_in);
        h.msg_iov = &rx_iov[i];
        h.msg_iovlen = 1;
        rx_msgs[i].msg_len = 0;
    }
    std::vector<mmsghdr> tx_msgs;
    std::vector<iovec> tx_iov;
    std::vector<sockaddr_in> tx_to;
};

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(const sockaddr_in& bind_addr,
                                                   size_t buffer_bytes,
                                                   size_t burst_max,
                                                   size_t socket_buffer_bytes) {
    if (buffer_bytes == 0 || buffer_bytes > kBufferBytesMax) {
        return Status(ErrorCode::kInvalidArgument,
                      "udp buffer_bytes must be 1.." + std::to_string(kBufferBytesMax));
    }
    if (burst_max == 0 || burst_max > kBurstMax) {
        return Status(ErrorCode::kInvalidArgument,
                      "udp burst_max must be 1.." + std::to_string(kBurstMax));
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return io_error("socket for", bind_addr, errno);
    }
    std::unique_ptr<UdpSocket> sock(new UdpSocket());
    sock->fd_ = fd;
    if (socket_buffer_bytes > 0) {
        // The FORCE variants pass net.core.[rw]mem_max when privileged; otherwise the plain
        // options apply, capped by the kernel. Neither failure is fatal: the default stays.
        const int size = static_cast<int>(std::min<size_t>(socket_buffer_bytes, INT32_MAX / 2));
        if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
            (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        }
        if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
            (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        }
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
        return io_error("bind", bind_addr, errno);
    }

    auto b = std::make_unique<Buffers>();
    b->buffer_bytes = buffer_bytes;
    b->burst_max = burst_max;
    b->rx_storage.resize(burst_max * buffer_bytes);
    b->rx_msgs.resize(burst_max);
    b->rx_iov.resize(burst_max);
    b->rx_from.resize(burst_max);
    for (size_t i = 0; i < burst_max; i++) {
        b->reset_rx_header(i);
    }
    b->tx_msgs.resize(burst_max);
    b->tx_iov.resize(burst_max);
    b->tx_to.resize(burst_max);
    sock->buffers_ = std::move(b);
    return sock;
}

UdpSocket::~UdpSocket() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

size_t UdpSocket::send_burst(std::span<const UdpTx> frames) noexcept {
    Buffers& b = *buffers_;
    size_t done = 0;
    while (done < frames.size()) {
        const size_t n = std::min(frames.size() - done, b.burst_max);
        for (size_t i = 0; i < n; i++) {
            const UdpTx& f = frames[done + i];
            b.tx_to[i] = f.to;
            b.tx_iov[i].iov_base = const_cast<uint8_t*>(f.bytes.data());
            b.tx_iov[i].iov_len = f.bytes.size();
            msghdr& h = b.tx_msgs[i].msg_hdr;
            h = msghdr{};
            h.msg_name = &b.tx_to[i];
            h.msg_namelen = sizeof(sockaddr_in);
            h.msg_iov = &b.tx_iov[i];
            h.msg_iovlen = 1;
            b.tx_msgs[i].msg_len = 0;
        }
        const int sent = ::sendmmsg(fd_, b.tx_msgs.data(), static_cast<unsigned>(n), 0);
        if (sent > 0) {
            done += static_cast<size_t>(sent);
            continue;
        }
        const int err = sent < 0 ? errno : EAGAIN;
        if (err == EINTR) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            // Socket buffer full: the rest is not sent; the caller counts it as dropped.
            send_would_block_ += frames.size() - done;
            return done;
        }
        // The first datagram of this chunk was refused (EMSGSIZE, EPERM, unreachable, ...):
        // count it and skip it so one bad frame does not block the rest of the burst.
        send_errors_++;
        done++;
    }
    return done;
}

size_t UdpSocket::poll_burst(std::span<UdpRx> out) noexcept {
    Buffers& b = *buffers_;
    const size_t n = std::min(out.size(), b.burst_max);
    if (n == 0) {
        return 0;
    }
    int got;
    do {
        got = ::recvmmsg(fd_, b.rx_msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            receive_errors_++;
        }
        return 0;
    }
    RLOG_ASSERT(static_cast<size_t>(got) <= n);
    for (size_t i = 0; i < static_cast<size_t>(got); i++) {
        UdpRx& rx = out[i];
        rx.from = b.rx_from[i];
        rx.data = b.rx_storage.data() + i * b.buffer_bytes;
        rx.truncated = (b.rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        rx.length = static_cast<uint32_t>(std::min<size_t>(b.rx_msgs[i].msg_len, b.buffer_bytes));
        b.rx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        b.rx_msgs[i].msg_hdr.msg_flags = 0;
    }
    return static_cast<size_t>(got);
}

void UdpSocket::wait_readable(uint64_t timeout_us) noexcept {
    pollfd p{};
    p.fd = fd_;
    p.events = POLLIN;
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(timeout_us / 1000000);
    timeout.tv_nsec = static_cast<long>((timeout_us % 1000000) * 1000);
    // ppoll rather than poll: microsecond timeouts for stages that park briefly.
    (void)::ppoll(&p, 1, &timeout, nullptr);
}

sockaddr_in UdpSocket::local_address() const noexcept {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        addr = sockaddr_in{};
    }
    return addr;
}

}  // namespace rlog::dataplane
