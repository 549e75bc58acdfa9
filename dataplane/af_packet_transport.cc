// SPDX-License-Identifier: Apache-2.0
//
// The "af_packet" transport: raw Ethernet packets (ethernet.h) on one named interface through
// AF_PACKET sockets with memory-mapped rings, so neither direction copies through a socket
// buffer or runs the IP stack:
//   - receive: a socket bound to the interface and to the rlog EtherType (or IPv4 with the
//     udp_ipv4 framing) with a TPACKET_V2 ring (one slot per packet, handed over at once: the
//     default) or, with af_packet_rx_version 3, a TPACKET_V3 ring (packets packed into blocks,
//     handed over when a block is full or after rx_block_timeout_ms: fewer wake-ups under load
//     but milliseconds of delay at low rates, so not the default for a latency-bound log);
//   - transmit: a second socket (protocol 0, so it receives nothing) with a TPACKET_V2 ring and
//     PACKET_QDISC_BYPASS: send_burst writes packets straight into ring slots and one sendto()
//     hands the whole burst to the driver.
// Two sockets because the ring version is per socket, and because it lets send_burst and
// poll_burst run on two threads without sharing anything but the counters (as udp does).
// Frames returned by poll_burst point into the receive ring; their blocks or slots go back to
// the kernel at the next poll_burst. Needs CAP_NET_RAW.

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/assert.h"
#include "dataplane/ethernet.h"
#include "dataplane/frame.h"
#include "dataplane/internal/backends.h"
#include "dataplane/transport.h"

namespace rlog::dataplane {
namespace {

constexpr size_t kPageBytes = 4096;

size_t round_up(size_t n, size_t to) {
    return (n + to - 1) / to * to;
}

Status io_error(const std::string& what, int err) {
    std::string message = "af_packet: " + what + ": " + std::strerror(err);
    if (err == EPERM || err == EACCES) {
        message += " (the af_packet transport needs root or CAP_NET_RAW)";
    }
    return Status(ErrorCode::kIo, std::move(message));
}

uint32_t load_status(const volatile uint32_t* status) noexcept {
    return __atomic_load_n(const_cast<const uint32_t*>(status), __ATOMIC_ACQUIRE);
}

void store_status(volatile uint32_t* status, uint32_t value) noexcept {
    __atomic_store_n(const_cast<uint32_t*>(status), value, __ATOMIC_RELEASE);
}

// One memory-mapped ring: the socket, the mapping and its geometry.
struct Ring {
    int fd = -1;
    uint8_t* base = nullptr;
    size_t bytes = 0;
    size_t block_bytes = 0;
    size_t block_count = 0;
    size_t frame_bytes = 0;
    size_t frames_per_block = 0;
    size_t frame_count = 0;

    ~Ring() {
        if (base != nullptr) {
            munmap(base, bytes);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    uint8_t* frame(size_t i) const noexcept {
        return base + (i / frames_per_block) * block_bytes + (i % frames_per_block) * frame_bytes;
    }
    uint8_t* block(size_t i) const noexcept { return base + i * block_bytes; }
};

class AfPacketTransport final : public Transport {
  public:
    AfPacketTransport(const TransportOptions& options, L2PeerTable table)
            : table_(std::move(table)),
              mtu_bytes_(options.mtu_bytes),
              rx_version_(options.af_packet_rx_version),
              header_bytes_(l2_header_bytes(table_.framing)) {}

    Status open(const TransportOptions& options) {
        const unsigned ifindex = if_nametoindex(options.interface.c_str());
        if (ifindex == 0) {
            return Status(ErrorCode::kInvalidArgument, "af_packet: no interface \"" +
                                                               options.interface + "\" (" +
                                                               std::strerror(errno) + ")");
        }
        ifindex_ = static_cast<int>(ifindex);
        ether_type_ = table_.framing == Framing::kEthernet ? kRlogEtherType : kIpv4EtherType;

        // Receive socket and ring.
        rx_.fd = socket(AF_PACKET, SOCK_RAW, htons(ether_type_));
        if (rx_.fd < 0) {
            return io_error("socket(AF_PACKET)", errno);
        }
        RLOG_RETURN_IF_ERROR(check_interface(options));
        const int version = rx_version_ == 3 ? TPACKET_V3 : TPACKET_V2;
        if (setsockopt(rx_.fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0) {
            return io_error("PACKET_VERSION on the receive socket", errno);
        }
        const size_t hdr = rx_version_ == 3 ? TPACKET3_HDRLEN : TPACKET2_HDRLEN;
        // Slot: header, room for the MAC header alignment, the packet.
        rx_.frame_bytes = round_up(hdr + 16 + header_bytes_ + mtu_bytes_, TPACKET_ALIGNMENT);
        if (rx_version_ == 3) {
            rx_.block_bytes = round_up(std::max<size_t>(64 << 10, 2 * rx_.frame_bytes), kPageBytes);
            rx_.block_count = std::max<size_t>(
                    8, (options.ring_frames * rx_.frame_bytes + rx_.block_bytes - 1) /
                               rx_.block_bytes);
            rx_.frames_per_block = rx_.block_bytes / rx_.frame_bytes;
            rx_.frame_count = rx_.frames_per_block * rx_.block_count;
            tpacket_req3 req{};
            req.tp_block_size = static_cast<unsigned>(rx_.block_bytes);
            req.tp_block_nr = static_cast<unsigned>(rx_.block_count);
            req.tp_frame_size = static_cast<unsigned>(rx_.frame_bytes);
            req.tp_frame_nr = static_cast<unsigned>(rx_.frame_count);
            req.tp_retire_blk_tov = std::max<uint32_t>(1, options.rx_block_timeout_ms);
            if (setsockopt(rx_.fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
                return io_error("PACKET_RX_RING (TPACKET_V3)", errno);
            }
        } else {
            RLOG_RETURN_IF_ERROR(setup_v2_ring(&rx_, options.ring_frames, PACKET_RX_RING));
        }
        RLOG_RETURN_IF_ERROR(map_ring(&rx_));
        sockaddr_ll rx_addr{};
        rx_addr.sll_family = AF_PACKET;
        rx_addr.sll_protocol = htons(ether_type_);
        rx_addr.sll_ifindex = ifindex_;
        if (bind(rx_.fd, reinterpret_cast<sockaddr*>(&rx_addr), sizeof(rx_addr)) != 0) {
            return io_error("bind to " + options.interface, errno);
        }
        rx_pending_.reserve(std::max(rx_.block_count, rx_.frame_count));

        // Transmit socket and ring.
        tx_.fd = socket(AF_PACKET, SOCK_RAW, 0);
        if (tx_.fd < 0) {
            return io_error("socket(AF_PACKET) for transmit", errno);
        }
        const int v2 = TPACKET_V2;
        const int one = 1;
        if (setsockopt(tx_.fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) != 0) {
            return io_error("PACKET_VERSION on the transmit socket", errno);
        }
        if (setsockopt(tx_.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0) {
            return io_error("PACKET_QDISC_BYPASS", errno);
        }
        // A malformed slot is skipped (status TP_STATUS_WRONG_FORMAT) instead of stopping the
        // ring.
        if (setsockopt(tx_.fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) != 0) {
            return io_error("PACKET_LOSS", errno);
        }
        tx_.frame_bytes = round_up(TPACKET2_HDRLEN + header_bytes_ + mtu_bytes_, TPACKET_ALIGNMENT);
        RLOG_RETURN_IF_ERROR(setup_v2_ring(&tx_, options.ring_frames, PACKET_TX_RING));
        RLOG_RETURN_IF_ERROR(map_ring(&tx_));
        sockaddr_ll tx_addr{};
        tx_addr.sll_family = AF_PACKET;
        tx_addr.sll_protocol = 0;
        tx_addr.sll_ifindex = ifindex_;
        if (bind(tx_.fd, reinterpret_cast<sockaddr*>(&tx_addr), sizeof(tx_addr)) != 0) {
            return io_error("bind the transmit socket to " + options.interface, errno);
        }
        tx_dest_.sll_family = AF_PACKET;
        tx_dest_.sll_protocol = htons(ether_type_);
        tx_dest_.sll_ifindex = ifindex_;
        tx_dest_.sll_halen = 6;
        return Status::ok();
    }

    size_t send_burst(std::span<const TxFrame> frames) noexcept override {
        size_t consumed = 0;
        size_t queued = 0;
        for (; consumed < frames.size(); consumed++) {
            const TxFrame& f = frames[consumed];
            const L2Peer* peer = table_.find(f.peer);
            if (peer == nullptr || f.bytes.empty() || f.bytes.size() > mtu_bytes_) {
                stats_.send_errors++;
                continue;
            }
            auto* slot = reinterpret_cast<tpacket2_hdr*>(tx_.frame(tx_head_));
            const uint32_t status = load_status(&slot->tp_status);
            if (status == TP_STATUS_WRONG_FORMAT) {
                stats_.send_errors++;  // The kernel refused what this slot held last time.
            } else if (status != TP_STATUS_AVAILABLE) {
                stats_.ring_full_stalls++;
                stats_.send_would_block += frames.size() - consumed;
                break;
            }
            uint8_t* data = reinterpret_cast<uint8_t*>(slot) + TPACKET_ALIGN(sizeof(tpacket2_hdr));
            encode_l2_header(table_.framing, table_.self, peer->endpoint, f.bytes.size(), data);
            std::memcpy(data + header_bytes_, f.bytes.data(), f.bytes.size());
            slot->tp_len = static_cast<uint32_t>(header_bytes_ + f.bytes.size());
            store_status(&slot->tp_status, TP_STATUS_SEND_REQUEST);
            tx_head_ = tx_head_ + 1 == tx_.frame_count ? 0 : tx_head_ + 1;
            queued++;
            stats_.frames_sent++;
            stats_.bytes_sent += f.bytes.size();
        }
        if (queued > 0) {
            const ssize_t r =
                    sendto(tx_.fd, nullptr, 0, MSG_DONTWAIT,
                           reinterpret_cast<const sockaddr*>(&tx_dest_), sizeof(tx_dest_));
            if (r < 0 && errno != EAGAIN && errno != ENOBUFS) {
                stats_.send_errors++;
            }
        }
        return consumed;
    }

    size_t poll_burst(std::span<RxFrame> out) noexcept override {
        release_rx();
        if ((++polls_ & 1023) == 0) {
            collect_ring_drops();
        }
        return rx_version_ == 3 ? poll_v3(out) : poll_v2(out);
    }

    int wait_fd() const noexcept override { return rx_.fd; }

    void wait_readable(uint64_t timeout_us) noexcept override {
        collect_ring_drops();
        pollfd p{rx_.fd, POLLIN, 0};
        const timespec ts{static_cast<time_t>(timeout_us / 1000000),
                          static_cast<long>((timeout_us % 1000000) * 1000)};
        ppoll(&p, 1, &ts, nullptr);
    }

    const char* name() const noexcept override { return "af_packet"; }
    size_t mtu_bytes() const noexcept override { return mtu_bytes_; }
    const TransportStats& stats() const noexcept override { return stats_; }

  private:
    Status check_interface(const TransportOptions& options) {
        ifreq req{};
        std::strncpy(req.ifr_name, options.interface.c_str(), IFNAMSIZ - 1);
        if (ioctl(rx_.fd, SIOCGIFHWADDR, &req) != 0) {
            return io_error("SIOCGIFHWADDR " + options.interface, errno);
        }
        MacAddress mac{};
        std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, 6);
        if (mac != table_.self.mac) {
            return Status(ErrorCode::kInvalidArgument,
                          "af_packet: interface " + options.interface + " has MAC " +
                                  format_mac(mac) + " but this replica's configured MAC is " +
                                  format_mac(table_.self.mac));
        }
        if (ioctl(rx_.fd, SIOCGIFMTU, &req) != 0) {
            return io_error("SIOCGIFMTU " + options.interface, errno);
        }
        const size_t need = l2_link_payload_bytes(table_.framing, mtu_bytes_);
        if (need > static_cast<size_t>(req.ifr_mtu)) {
            return Status(ErrorCode::kInvalidArgument,
                          "af_packet: mtu_bytes " + std::to_string(mtu_bytes_) + " needs " +
                                  std::to_string(need) + " bytes of link MTU but " +
                                  options.interface + " has " + std::to_string(req.ifr_mtu));
        }
        return Status::ok();
    }

    Status setup_v2_ring(Ring* ring, size_t frames_wanted, int option) {
        ring->block_bytes = round_up(ring->frame_bytes, kPageBytes);
        ring->frames_per_block = ring->block_bytes / ring->frame_bytes;
        ring->block_count = std::max<size_t>(
                2, (std::max<size_t>(frames_wanted, 2) + ring->frames_per_block - 1) /
                           ring->frames_per_block);
        ring->frame_count = ring->frames_per_block * ring->block_count;
        tpacket_req req{};
        req.tp_block_size = static_cast<unsigned>(ring->block_bytes);
        req.tp_block_nr = static_cast<unsigned>(ring->block_count);
        req.tp_frame_size = static_cast<unsigned>(ring->frame_bytes);
        req.tp_frame_nr = static_cast<unsigned>(ring->frame_count);
        if (setsockopt(ring->fd, SOL_PACKET, option, &req, sizeof(req)) != 0) {
            return io_error(option == PACKET_RX_RING ? "PACKET_RX_RING (TPACKET_V2)"
                                                     : "PACKET_TX_RING (TPACKET_V2)",
                            errno);
        }
        return Status::ok();
    }

    static Status map_ring(Ring* ring) {
        ring->bytes = ring->block_bytes * ring->block_count;
        void* p = mmap(nullptr, ring->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ring->fd, 0);
        if (p == MAP_FAILED) {
            return io_error("mmap of a packet ring (" + std::to_string(ring->bytes) + " bytes)",
                            errno);
        }
        ring->base = static_cast<uint8_t*>(p);
        return Status::ok();
    }

    // Packets the kernel dropped because the receive ring was full (PACKET_STATISTICS, which
    // resets on read) go to receive_errors.
    void collect_ring_drops() noexcept {
        tpacket_stats_v3 st{};
        socklen_t len = sizeof(st);
        if (getsockopt(rx_.fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
            stats_.receive_errors += st.tp_drops;
        }
    }

    // Gives the blocks (v3) or slots (v2) handed out by the previous poll back to the kernel.
    void release_rx() noexcept {
        for (size_t i : rx_pending_) {
            if (rx_version_ == 3) {
                auto* bd = reinterpret_cast<tpacket_block_desc*>(rx_.block(i));
                store_status(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL);
            } else {
                auto* h = reinterpret_cast<tpacket2_hdr*>(rx_.frame(i));
                store_status(&h->tp_status, TP_STATUS_KERNEL);
            }
        }
        rx_pending_.clear();
    }

    // Checks one received packet and appends its frame to `out` when it is good.
    bool accept(const uint8_t* data, uint32_t snap, uint32_t len, RxFrame* out) noexcept {
        if (snap < len) {
            stats_.frames_truncated++;
            return false;
        }
        std::span<const uint8_t> frame;
        switch (decode_l2(table_.framing, table_.self, {data, snap}, &frame)) {
            case L2Verdict::kOk:
                break;
            case L2Verdict::kForeign:
                stats_.frames_foreign++;
                return false;
            case L2Verdict::kMalformed:
                stats_.frames_malformed++;
                return false;
        }
        if (frame.size() > mtu_bytes_) {
            stats_.frames_truncated++;
            return false;
        }
        stats_.frames_received++;
        stats_.bytes_received += frame.size();
        out->data = frame.data();
        out->length = static_cast<uint32_t>(frame.size());
        return true;
    }

    size_t poll_v3(std::span<RxFrame> out) noexcept {
        size_t n = 0;
        while (n < out.size()) {
            if (rx_pkts_left_ == 0) {
                auto* bd = reinterpret_cast<tpacket_block_desc*>(rx_.block(rx_block_));
                if ((load_status(&bd->hdr.bh1.block_status) & TP_STATUS_USER) == 0) {
                    break;
                }
                rx_pkts_left_ = bd->hdr.bh1.num_pkts;
                rx_pkt_ = rx_.block(rx_block_) + bd->hdr.bh1.offset_to_first_pkt;
                if (rx_pkts_left_ == 0) {
                    next_block();
                    continue;
                }
            }
            auto* h = reinterpret_cast<const tpacket3_hdr*>(rx_pkt_);
            if (accept(rx_pkt_ + h->tp_mac, h->tp_snaplen, h->tp_len, &out[n])) {
                n++;
            }
            rx_pkt_ += h->tp_next_offset;
            if (--rx_pkts_left_ == 0) {
                next_block();
            }
        }
        return n;
    }

    void next_block() noexcept {
        rx_pending_.push_back(rx_block_);
        rx_block_ = rx_block_ + 1 == rx_.block_count ? 0 : rx_block_ + 1;
        rx_pkts_left_ = 0;
    }

    size_t poll_v2(std::span<RxFrame> out) noexcept {
        size_t n = 0;
        // At most one lap of the ring per call, so rx_pending_ never holds a slot twice.
        for (size_t seen = 0; n < out.size() && seen < rx_.frame_count; seen++) {
            auto* h = reinterpret_cast<tpacket2_hdr*>(rx_.frame(rx_head_));
            if ((load_status(&h->tp_status) & TP_STATUS_USER) == 0) {
                break;
            }
            if (accept(reinterpret_cast<const uint8_t*>(h) + h->tp_mac, h->tp_snaplen, h->tp_len,
                       &out[n])) {
                n++;
            }
            rx_pending_.push_back(rx_head_);
            rx_head_ = rx_head_ + 1 == rx_.frame_count ? 0 : rx_head_ + 1;
        }
        return n;
    }

    L2PeerTable table_;
    size_t mtu_bytes_;
    int rx_version_;
    size_t header_bytes_;
    int ifindex_ = 0;
    uint16_t ether_type_ = kRlogEtherType;
    Ring rx_;
    Ring tx_;
    sockaddr_ll tx_dest_{};
    size_t tx_head_ = 0;
    // Receive position: v3 block and packet within it; v2 slot.
    size_t rx_block_ = 0;
    uint32_t rx_pkts_left_ = 0;
    const uint8_t* rx_pkt_ = nullptr;
    size_t rx_head_ = 0;
    std::vector<size_t> rx_pending_;  // Blocks (v3) or slots (v2) to release at the next poll.
    uint64_t polls_ = 0;
    TransportStats stats_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_af_packet_transport(const TransportOptions& options) {
    Result<L2PeerTable> table = make_l2_peer_table(options);
    if (!table.is_ok()) {
        return table.status();
    }
    if (options.interface.empty()) {
        return Status(ErrorCode::kInvalidArgument,
                      "transport: af_packet needs an interface name (the replica's "
                      "`interface` in the configuration)");
    }
    if (options.af_packet_rx_version != 2 && options.af_packet_rx_version != 3) {
        return Status(ErrorCode::kInvalidArgument,
                      "transport: af_packet_rx_version " +
                              std::to_string(options.af_packet_rx_version) + " (expected 2 or 3)");
    }
    if (options.ring_frames < 2 || options.ring_frames > (1u << 16)) {
        return Status(ErrorCode::kInvalidArgument, "transport: ring_frames " +
                                                           std::to_string(options.ring_frames) +
                                                           " out of range (2..65536)");
    }
    auto transport = std::make_unique<AfPacketTransport>(options, std::move(table).value());
    RLOG_RETURN_IF_ERROR(transport->open(options));
    if (options.log) {
        options.log(LogLevel::kInfo,
                    "dataplane transport=af_packet self=" + std::to_string(options.self.value) +
                            " interface=" + options.interface + " framing=" + options.framing +
                            " rx=TPACKET_V" + std::to_string(options.af_packet_rx_version) +
                            " tx=TPACKET_V2+qdisc_bypass peers=" +
                            std::to_string(options.peers.size()) +
                            " mtu=" + std::to_string(options.mtu_bytes));
    }
    return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace rlog::dataplane
