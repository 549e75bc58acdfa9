// SPDX-License-Identifier: Apache-2.0
//
// The "udp" transport: one UdpSocket bound to this replica's address, and a peer table mapping
// NodeId to a socket address. Frames are opaque here; the channel above checks them. The source
// address of a received datagram is not checked: the frame header (cluster, receiver, CRC) is.
// Also holds make_transport, the one place a backend is chosen.

#include <algorithm>
#include <string>
#include <vector>

#include "common/assert.h"
#include "dataplane/frame.h"
#include "dataplane/internal/backends.h"
#include "dataplane/transport.h"
#include "dataplane/udp_socket.h"

namespace rlog::dataplane {
namespace {

// Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP).
constexpr size_t kUdpPayloadMax = 65507;
constexpr size_t kBurstMax = 1024;

struct Peer {
    NodeId id;
    sockaddr_in addr{};
};

class UdpTransport final : public Transport {
  public:
    UdpTransport(std::unique_ptr<UdpSocket> socket,
                 std::vector<Peer> peers,
                 size_t mtu_bytes,
                 size_t burst_max)
            : socket_(std::move(socket)),
              peers_(std::move(peers)),
              mtu_bytes_(mtu_bytes),
              tx_(burst_max),
              tx_source_(burst_max),
              rx_(burst_max) {}

    size_t send_burst(std::span<const TxFrame> frames) noexcept override {
        size_t consumed = 0;
        while (consumed < frames.size()) {
            // One chunk: translate up to tx_.size() frames, remembering each one's input index.
            const size_t chunk = std::min(frames.size() - consumed, tx_.size());
            size_t n = 0;
            for (size_t i = 0; i < chunk; i++) {
                const TxFrame& f = frames[consumed + i];
                const Peer* peer = find_peer(f.peer);
                if (peer == nullptr || f.bytes.empty() || f.bytes.size() > mtu_bytes_) {
                    stats_.send_errors++;
                    continue;
                }
                tx_[n].to = peer->addr;
                tx_[n].bytes = f.bytes;
                tx_source_[n] = consumed + i;
                n++;
            }
            const uint64_t refused_before = socket_->send_errors();
            const size_t done = socket_->send_burst(std::span<const UdpTx>(tx_.data(), n));
            RLOG_ASSERT(done <= n);
            const uint64_t refused = socket_->send_errors() - refused_before;
            RLOG_ASSERT(refused <= done);
            stats_.send_errors += refused;
            stats_.frames_sent += done - refused;
            for (size_t i = 0; i < done; i++) {
                stats_.bytes_sent += tx_[i].bytes.size();
            }
            if (done < n) {
                // Socket buffer full: everything from the first unsent frame on is not sent.
                const size_t stop = tx_source_[done];
                stats_.send_would_block += frames.size() - stop;
                return stop;
            }
            consumed += chunk;
        }
        return consumed;
    }

    // TODO(security): frames are not authenticated and their source address is not checked
    // against the sender they claim, so anything that can reach a raft port can pose as a
    // replica (a forged append response can make a leader count a copy that does not exist).
    // Peers must sit on a trusted network until frames carry a keyed MAC.
    size_t poll_burst(std::span<RxFrame> out) noexcept override {
        const size_t want = std::min(out.size(), rx_.size());
        const uint64_t errors_before = socket_->receive_errors();
        const size_t got = socket_->poll_burst(std::span<UdpRx>(rx_.data(), want));
        stats_.receive_errors += socket_->receive_errors() - errors_before;
        size_t n = 0;
        for (size_t i = 0; i < got; i++) {
            const UdpRx& rx = rx_[i];
            if (rx.truncated) {
                stats_.frames_truncated++;
                continue;
            }
            stats_.frames_received++;
            stats_.bytes_received += rx.length;
            out[n].data = rx.data;
            out[n].length = rx.length;
            n++;
        }
        return n;
    }

    int wait_fd() const noexcept override { return socket_->fd(); }

    void wait_readable(uint64_t timeout_us) noexcept override {
        socket_->wait_readable(timeout_us);
    }

    const char* name() const noexcept override { return "udp"; }
    size_t mtu_bytes() const noexcept override { return mtu_bytes_; }
    const TransportStats& stats() const noexcept override { return stats_; }

    sockaddr_in local_address() const noexcept { return socket_->local_address(); }

  private:
    // Linear search: a cluster has 3 to 7 replicas, so this beats hashing.
    const Peer* find_peer(NodeId id) const noexcept {
        for (const Peer& p : peers_) {
            if (p.id == id) {
                return &p;
            }
        }
        return nullptr;
    }

    std::unique_ptr<UdpSocket> socket_;
    std::vector<Peer> peers_;
    size_t mtu_bytes_;
    std::vector<UdpTx> tx_;
    std::vector<size_t> tx_source_;  // Index in the caller's span of each tx_ entry.
    std::vector<UdpRx> rx_;
    TransportStats stats_;
};

Status invalid(std::string message) {
    return Status(ErrorCode::kInvalidArgument, std::move(message));
}

Result<std::unique_ptr<Transport>> make_udp_transport(const TransportOptions& options) {
    if (options.self == kNoNode) {
        return invalid("transport: self id must be nonzero");
    }
    if (options.mtu_bytes <= kFrameHeaderBytes || options.mtu_bytes > kUdpPayloadMax) {
        return invalid("transport: mtu_bytes " + std::to_string(options.mtu_bytes) +
                       " out of range (" + std::to_string(kFrameHeaderBytes + 1) + ".." +
                       std::to_string(kUdpPayloadMax) + " for udp)");
    }
    if (options.burst_max == 0 || options.burst_max > kBurstMax) {
        return invalid("transport: burst_max " + std::to_string(options.burst_max) +
                       " out of range (1.." + std::to_string(kBurstMax) + ")");
    }
    std::vector<Peer> peers;
    const Peer* self_peer = nullptr;
    for (const PeerAddress& p : options.peers) {
        const std::string who = "transport: peer " + std::to_string(p.id.value);
        if (p.id == kNoNode) {
            return invalid("transport: peer id 0 is reserved (ids start at 1)");
        }
        for (const Peer& seen : peers) {
            if (seen.id == p.id) {
                return invalid(who + " listed twice");
            }
        }
        Result<sockaddr_in> addr = parse_ipv4(p.host, p.port);
        if (!addr.is_ok()) {
            return invalid(who + ": " + addr.status().message());
        }
        peers.push_back(Peer{p.id, addr.value()});
    }
    for (const Peer& p : peers) {
        if (p.id == options.self) {
            self_peer = &p;
        }
    }
    if (self_peer == nullptr) {
        return invalid("transport: self id " + std::to_string(options.self.value) +
                       " is not in the peer table");
    }
    for (const Peer& p : peers) {
        if (p.id != options.self && p.addr.sin_port == 0) {
            return invalid("transport: peer " + std::to_string(p.id.value) +
                           ": port 0 (only this replica may bind an ephemeral port)");
        }
    }
    Result<std::unique_ptr<UdpSocket>> socket = UdpSocket::open(
            self_peer->addr, options.mtu_bytes, options.burst_max, options.socket_buffer_bytes);
    if (!socket.is_ok()) {
        return socket.status();
    }
    const std::string bound = format_ipv4(socket.value()->local_address());
    auto transport = std::make_unique<UdpTransport>(std::move(socket).value(), std::move(peers),
                                                    options.mtu_bytes, options.burst_max);
    if (options.log) {
        options.log(LogLevel::kInfo,
                    "dataplane transport=udp self=" + std::to_string(options.self.value) +
                            " bind=" + bound + " peers=" + std::to_string(options.peers.size()) +
                            " mtu=" + std::to_string(options.mtu_bytes) +
                            " burst=" + std::to_string(options.burst_max));
    }
    return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace

Result<std::unique_ptr<Transport>> make_transport(const TransportOptions& options) {
    if (options.kind == "udp") {
        return make_udp_transport(options);
    }
    if (options.kind == "af_packet") {
        return make_af_packet_transport(options);
    }
    if (options.kind == "dpdk") {
        return make_dpdk_transport(options);
    }
    return Status(ErrorCode::kInvalidArgument,
                  "unknown transport \"" + options.kind + "\" (expected udp, af_packet or dpdk)");
}

}  // namespace rlog::dataplane
