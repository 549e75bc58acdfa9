// SPDX-License-Identifier: Apache-2.0
//
// The "dpdk" transport: one DPDK ethdev port with one receive and one transmit queue, polled
// (no interrupts, no kernel on the data path for real NICs and memif; the net_af_packet virtual
// device still goes through the kernel's packet rings). Same wire format as af_packet
// (ethernet.h). One mbuf per packet (the pool's data room fits the largest packet). Transmit
// without a copy: tx_buffer lends the data area of a fresh mbuf after the L2 header, the channel
// encodes its frame there and send_lent hands the mbufs to the device; send_burst, for callers
// holding their own bytes, copies each frame into an mbuf once (counted in tx_copied). Receive
// without a copy: poll_burst hands out views straight into the received mbufs, which are freed at
// the next poll_burst.
//
// The EAL can be initialised once per process: the first dpdk transport initialises it with its
// eal_args (typically several --vdev, one port per replica for the in-process bench) and later
// ones must pass the same arguments and pick their port by name (dpdk_port). The EAL pins the
// calling thread to its main lcore; the thread's CPU affinity is restored afterwards so replicas
// started later are not all confined to one core. wait_fd() is -1 (poll mode); wait_readable()
// spins on the receive queue, keeping what it finds for the next poll_burst.

#include <memory>
#include <string>

#include "dataplane/internal/backends.h"
#include "dataplane/transport.h"

#ifdef RLOG_HAVE_DPDK

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "common/assert.h"
#include "dataplane/ethernet.h"
#include "dataplane/frame.h"

namespace rlog::dataplane {
namespace {

constexpr size_t kBurstMax = 1024;

Status dpdk_error(std::string message) {
    return Status(ErrorCode::kIo, "dpdk: " + std::move(message));
}

// Process-wide EAL state and the ports' mbuf pools (kept across transports on the same port,
// so a replica can restart in the same process).
struct Eal {
    std::mutex mu;
    bool tried = false;
    Status status;
    std::vector<std::string> args;
    std::map<uint16_t, rte_mempool*> pools;
    std::map<uint16_t, bool> in_use;
};

Eal& eal() {
    static Eal* e = new Eal();  // Never destroyed: the EAL outlives every transport.
    return *e;
}

Status init_eal(const std::vector<std::string>& args) {
    Eal& e = eal();
    if (e.tried) {
        if (e.status.is_ok() && args != e.args) {
            return Status(ErrorCode::kInvalidArgument,
                          "dpdk: the EAL is already initialised in this process with other "
                          "arguments; every dpdk transport of a process must pass the same "
                          "eal_args (one --vdev per port)");
        }
        return e.status;
    }
    e.tried = true;
    e.args = args;
    std::vector<std::string> owned = {"rlog"};
    owned.insert(owned.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : owned) {
        argv.push_back(s.data());
    }
    argv.push_back(nullptr);
    cpu_set_t saved;
    const bool have_affinity = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
    const int r = rte_eal_init(static_cast<int>(owned.size()), argv.data());
    if (have_affinity) {
        pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
    }
    if (r < 0) {
        std::string joined;
        for (const std::string& a : args) {
            joined += (joined.empty() ? "" : " ") + a;
        }
        e.status = dpdk_error("the EAL refused its arguments \"" + joined +
                              "\": " + rte_strerror(rte_errno) +
                              " (without hugepages or a DPDK-bound NIC pass --no-huge --no-pci "
                              "--no-shconf -m 512 (--in-memory only with hugepages: DPDK 22.11 "
                              "refuses it with --no-huge) and a virtual device such as "
                              "--vdev=net_af_packet0,iface=veth0)");
    }
    return e.status;
}

class DpdkTransport final : public Transport {
  public:
    DpdkTransport(const TransportOptions& options, L2PeerTable table)
            : table_(std::move(table)),
              mtu_bytes_(options.mtu_bytes),
              burst_max_(options.burst_max),
              header_bytes_(l2_header_bytes(table_.framing)),
              tx_(kBurstMax),
              tx_source_(kBurstMax),
              lend_max_(std::min(burst_max_, kBurstMax)),
              lent_(lend_max_),
              spare_(lend_max_),
              rx_(kBurstMax) {}

    ~DpdkTransport() override {
        if (!started_) {
            return;
        }
        free_rx();
        release_lent(0);
        if (spare_count_ > 0) {
            rte_pktmbuf_free_bulk(spare_.data(), static_cast<unsigned>(spare_count_));
            spare_count_ = 0;
        }
        rte_eth_dev_stop(port_);
        std::lock_guard<std::mutex> lock(eal().mu);
        eal().in_use[port_] = false;
    }

    Status open(const TransportOptions& options) {
        std::lock_guard<std::mutex> lock(eal().mu);
        RLOG_RETURN_IF_ERROR(init_eal(options.eal_args));
        if (rte_eth_dev_count_avail() == 0) {
            return dpdk_error(
                    "no ports found (give the EAL a virtual device such as "
                    "--vdev=net_af_packet0,iface=veth0 or net_memif0, or bind a NIC to a DPDK "
                    "driver)");
        }
        if (options.dpdk_port.empty()) {
            if (rte_eth_dev_count_avail() != 1) {
                return Status(ErrorCode::kInvalidArgument,
                              "dpdk: " + std::to_string(rte_eth_dev_count_avail()) +
                                      " ports found; name this replica's with dpdk_port");
            }
            port_ = 0;
            uint16_t p = 0;
            RTE_ETH_FOREACH_DEV(p) {
                port_ = p;
            }
        } else if (rte_eth_dev_get_port_by_name(options.dpdk_port.c_str(), &port_) != 0) {
            return dpdk_error("no port named \"" + options.dpdk_port +
                              "\" (a --vdev in eal_args must create it)");
        }
        if (eal().in_use[port_]) {
            return Status(ErrorCode::kInvalidArgument,
                          "dpdk: port " + std::to_string(port_) + " is used by another transport");
        }
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(port_, &info) != 0) {
            return dpdk_error("cannot read device info of port " + std::to_string(port_));
        }
        const size_t packet_max =
                kEthernetHeaderBytes + l2_link_payload_bytes(table_.framing, mtu_bytes_);
        rte_mempool*& pool = eal().pools[port_];
        if (pool == nullptr) {
            const std::string name = "rlog_pool_" + std::to_string(port_);
            const unsigned count = static_cast<unsigned>(
                    std::max<size_t>(4 * options.ring_frames + 2 * kBurstMax, 2047));
            // A power of two at least the largest packet: drivers with fixed-size frames
            // (net_af_packet's framesz=) need the mbuf to hold a whole frame.
            size_t data = 2048;
            while (data < packet_max) {
                data *= 2;
            }
            const size_t room = RTE_PKTMBUF_HEADROOM + data;
            pool = rte_pktmbuf_pool_create(name.c_str(), count, 64, 0, static_cast<uint16_t>(room),
                                           rte_eth_dev_socket_id(port_));
            if (pool == nullptr) {
                return dpdk_error("cannot create the mbuf pool (" + std::to_string(count) +
                                  " mbufs of " + std::to_string(room) +
                                  " bytes): " + rte_strerror(rte_errno) +
                                  " (with --no-huge raise the EAL memory, e.g. -m 512)");
            }
        }
        pool_ = pool;
        // The MTU: what mtu_bytes needs, capped at what the device reports it accepts. Some
        // virtual devices report a fixed 1518 but carry more (net_af_packet carries up to its
        // framesz=); a packet the device cannot carry is dropped there and Raft retransmits, so
        // the mismatch is logged, not refused.
        const uint32_t link_mtu =
                static_cast<uint32_t>(l2_link_payload_bytes(table_.framing, mtu_bytes_));
        const uint32_t overhead = static_cast<uint32_t>(kEthernetHeaderBytes) + 4;
        rte_eth_conf conf{};
        conf.rxmode.mtu = link_mtu;
        if (info.max_rx_pktlen > overhead && link_mtu > info.max_rx_pktlen - overhead) {
            conf.rxmode.mtu = info.max_rx_pktlen - overhead;
            mtu_note_ = " (device reports max_rx_pktlen " + std::to_string(info.max_rx_pktlen) +
                        " < " + std::to_string(packet_max) +
                        " needed by mtu_bytes: check its frame size)";
        }
        int r = rte_eth_dev_configure(port_, 1, 1, &conf);
        if (r != 0) {
            return dpdk_error("configure port " + std::to_string(port_) + ": " + rte_strerror(-r));
        }
        uint16_t rx_desc = static_cast<uint16_t>(std::min<size_t>(options.ring_frames, 4096));
        uint16_t tx_desc = rx_desc;
        rte_eth_dev_adjust_nb_rx_tx_desc(port_, &rx_desc, &tx_desc);
        const int socket = rte_eth_dev_socket_id(port_);
        r = rte_eth_rx_queue_setup(port_, 0, rx_desc, socket < 0 ? 0 : socket, nullptr, pool_);
        if (r != 0) {
            return dpdk_error("receive queue set-up failed on port " + std::to_string(port_) +
                              ": " + rte_strerror(-r));
        }
        r = rte_eth_tx_queue_setup(port_, 0, tx_desc, socket < 0 ? 0 : socket, nullptr);
        if (r != 0) {
            return dpdk_error("transmit queue set-up failed on port " + std::to_string(port_) +
                              ": " + rte_strerror(-r));
        }
        rte_ether_addr mac{};
        rte_eth_macaddr_get(port_, &mac);
        if (std::memcmp(mac.addr_bytes, table_.self.mac.data(), 6) != 0) {
            rte_ether_addr want{};
            std::memcpy(want.addr_bytes, table_.self.mac.data(), 6);
            if (rte_eth_dev_default_mac_addr_set(port_, &want) != 0) {
                MacAddress have{};
                std::memcpy(have.data(), mac.addr_bytes, 6);
                return Status(ErrorCode::kInvalidArgument,
                              "dpdk: port " + std::to_string(port_) + " has MAC " +
                                      format_mac(have) + " and cannot take the configured " +
                                      format_mac(table_.self.mac));
            }
        }
        r = rte_eth_dev_start(port_);
        if (r != 0) {
            return dpdk_error("start port " + std::to_string(port_) + ": " + rte_strerror(-r));
        }
        started_ = true;
        eal().in_use[port_] = true;
        driver_ = info.driver_name;
        return Status::ok();
    }

    size_t send_burst(std::span<const TxFrame> frames) noexcept override {
        size_t consumed = 0;
        while (consumed < frames.size()) {
            const size_t chunk = std::min({frames.size() - consumed, burst_max_, kBurstMax});
            size_t n = 0;
            for (size_t i = 0; i < chunk; i++) {
                const TxFrame& f = frames[consumed + i];
                if (table_.find(f.peer) == nullptr || f.bytes.empty() ||
                    f.bytes.size() > mtu_bytes_) {
                    stats_.send_errors++;
                    continue;
                }
                tx_source_[n++] = consumed + i;
            }
            if (n > 0 && rte_pktmbuf_alloc_bulk(pool_, tx_.data(), static_cast<unsigned>(n)) != 0) {
                stats_.ring_full_stalls++;
                const size_t stop = tx_source_[0];
                stats_.send_would_block += frames.size() - stop;
                return stop;
            }
            // The caller owns the bytes: one copy per frame (the channel avoids it through
            // tx_buffer/send_lent).
            for (size_t i = 0; i < n; i++) {
                const TxFrame& f = frames[tx_source_[i]];
                const L2Peer* peer = table_.find(f.peer);
                rte_mbuf* m = tx_[i];
                const size_t length = header_bytes_ + f.bytes.size();
                auto* data = rte_pktmbuf_mtod(m, uint8_t*);
                encode_l2_header(table_.framing, table_.self, peer->endpoint, f.bytes.size(), data);
                std::memcpy(data + header_bytes_, f.bytes.data(), f.bytes.size());
                stats_.tx_copied++;
                m->data_len = static_cast<uint16_t>(length);
                m->pkt_len = static_cast<uint32_t>(length);
            }
            const uint16_t sent =
                    n == 0 ? 0 : rte_eth_tx_burst(port_, 0, tx_.data(), static_cast<uint16_t>(n));
            for (size_t i = 0; i < sent; i++) {
                stats_.frames_sent++;
                stats_.bytes_sent += frames[tx_source_[i]].bytes.size();
            }
            if (sent < n) {
                rte_pktmbuf_free_bulk(tx_.data() + sent, static_cast<unsigned>(n - sent));
                stats_.ring_full_stalls++;
                const size_t stop = tx_source_[sent];
                stats_.send_would_block += frames.size() - stop;
                return stop;
            }
            consumed += chunk;
        }
        return consumed;
    }

    bool lends_tx_buffers() const noexcept override { return true; }

    std::span<uint8_t> tx_buffer(NodeId peer_id, size_t bytes) noexcept override {
        const L2Peer* peer = table_.find(peer_id);
        if (peer == nullptr || bytes == 0 || bytes > mtu_bytes_ || lent_count_ == lend_max_) {
            return {};
        }
        rte_mbuf* m = take_spare();
        if (m == nullptr) {
            return {};
        }
        const size_t length = header_bytes_ + bytes;
        if (length > rte_pktmbuf_tailroom(m)) {
            rte_pktmbuf_free(m);
            return {};
        }
        auto* data = rte_pktmbuf_mtod(m, uint8_t*);
        encode_l2_header(table_.framing, table_.self, peer->endpoint, bytes, data);
        m->data_len = static_cast<uint16_t>(length);
        m->pkt_len = static_cast<uint32_t>(length);
        lent_[lent_count_++] = m;
        return {data + header_bytes_, bytes};
    }

    size_t send_lent(size_t count) noexcept override {
        RLOG_ASSERT(count <= lent_count_);
        release_lent(count);
        RLOG_ASSERT(lent_count_ == count);
        const uint16_t sent =
                count == 0 ? 0
                           : rte_eth_tx_burst(port_, 0, lent_.data(), static_cast<uint16_t>(count));
        for (size_t i = 0; i < sent; i++) {
            stats_.frames_sent++;
            stats_.bytes_sent += lent_[i]->data_len - header_bytes_;
        }
        if (sent < count) {
            rte_pktmbuf_free_bulk(lent_.data() + sent, static_cast<unsigned>(count - sent));
            stats_.ring_full_stalls++;
            stats_.send_would_block += count - sent;
        }
        lent_count_ = 0;
        return sent;
    }

    size_t poll_burst(std::span<RxFrame> out) noexcept override {
        free_rx();
        const size_t want = std::min({out.size(), burst_max_, kBurstMax});
        size_t got = stashed_;
        stashed_ = 0;
        if (got < want) {
            got += rte_eth_rx_burst(port_, 0, rx_.data() + got, static_cast<uint16_t>(want - got));
        }
        rx_held_ = got;
        size_t n = 0;
        for (size_t i = 0; i < got; i++) {
            rte_mbuf* m = rx_[i];
            if (m->nb_segs != 1) {
                stats_.frames_truncated++;
                continue;
            }
            std::span<const uint8_t> frame;
            switch (decode_l2(table_.framing, table_.self,
                              {rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, &frame)) {
                case L2Verdict::kOk:
                    break;
                case L2Verdict::kForeign:
                    stats_.frames_foreign++;
                    continue;
                case L2Verdict::kMalformed:
                    stats_.frames_malformed++;
                    continue;
            }
            if (frame.size() > mtu_bytes_) {
                stats_.frames_truncated++;
                continue;
            }
            stats_.frames_received++;
            stats_.bytes_received += frame.size();
            out[n].data = frame.data();
            out[n].length = static_cast<uint32_t>(frame.size());
            n++;
        }
        return n;
    }

    // Poll mode: spins on the receive queue until a packet arrives or the timeout passes.
    void wait_readable(uint64_t timeout_us) noexcept override {
        if (stashed_ > 0) {
            return;
        }
        free_rx();
        const auto deadline =
                std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_us);
        do {
            stashed_ = rte_eth_rx_burst(port_, 0, rx_.data(),
                                        static_cast<uint16_t>(std::min(burst_max_, kBurstMax)));
            if (stashed_ > 0) {
                return;
            }
            rte_pause();
        } while (std::chrono::steady_clock::now() < deadline);
    }

    const char* name() const noexcept override { return "dpdk"; }
    size_t mtu_bytes() const noexcept override { return mtu_bytes_; }
    const TransportStats& stats() const noexcept override { return stats_; }
    uint16_t port() const noexcept { return port_; }
    const std::string& driver() const noexcept { return driver_; }
    const std::string& mtu_note() const noexcept { return mtu_note_; }

  private:
    // A fresh mbuf from a small stash refilled in bulk (one pool access per burst rather than
    // per frame); nullptr when the pool is empty.
    rte_mbuf* take_spare() noexcept {
        if (spare_count_ == 0) {
            if (rte_pktmbuf_alloc_bulk(pool_, spare_.data(), static_cast<unsigned>(lend_max_)) ==
                0) {
                spare_count_ = lend_max_;
            } else if ((spare_[0] = rte_pktmbuf_alloc(pool_)) != nullptr) {
                spare_count_ = 1;
            } else {
                return nullptr;
            }
        }
        return spare_[--spare_count_];
    }

    // Frees the lent mbufs from index `keep` on, unsent.
    void release_lent(size_t keep) noexcept {
        RLOG_ASSERT(keep <= lent_count_);
        if (lent_count_ > keep) {
            rte_pktmbuf_free_bulk(lent_.data() + keep, static_cast<unsigned>(lent_count_ - keep));
            lent_count_ = keep;
        }
    }

    void free_rx() noexcept {
        if (rx_held_ > 0) {
            rte_pktmbuf_free_bulk(rx_.data(), static_cast<unsigned>(rx_held_));
            rx_held_ = 0;
        }
    }

    L2PeerTable table_;
    size_t mtu_bytes_;
    size_t burst_max_;
    size_t header_bytes_;
    uint16_t port_ = 0;
    bool started_ = false;
    std::string driver_;
    std::string mtu_note_;
    rte_mempool* pool_ = nullptr;
    std::vector<rte_mbuf*> tx_;
    std::vector<size_t> tx_source_;
    size_t lend_max_;              // Buffers lent at once at most (burst_max, capped).
    std::vector<rte_mbuf*> lent_;  // lent_[0..lent_count_) are lent until the next send_lent.
    size_t lent_count_ = 0;
    std::vector<rte_mbuf*> spare_;  // spare_[0..spare_count_) are allocated, not yet lent.
    size_t spare_count_ = 0;
    std::vector<rte_mbuf*> rx_;
    size_t rx_held_ = 0;  // rx_[0..rx_held_) are handed out until the next poll_burst.
    size_t stashed_ = 0;  // rx_[0..stashed_) were received by wait_readable, not yet handed out.
    TransportStats stats_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_dpdk_transport(const TransportOptions& options) {
    Result<L2PeerTable> table = make_l2_peer_table(options);
    if (!table.is_ok()) {
        return table.status();
    }
    if (options.ring_frames < 2 || options.ring_frames > 4096) {
        return Status(ErrorCode::kInvalidArgument, "transport: ring_frames " +
                                                           std::to_string(options.ring_frames) +
                                                           " out of range (2..4096 for dpdk)");
    }
    auto transport = std::make_unique<DpdkTransport>(options, std::move(table).value());
    RLOG_RETURN_IF_ERROR(transport->open(options));
    if (options.log) {
        options.log(LogLevel::kInfo,
                    "dataplane transport=dpdk self=" + std::to_string(options.self.value) +
                            " port=" + std::to_string(transport->port()) +
                            " driver=" + transport->driver() + " framing=" + options.framing +
                            " peers=" + std::to_string(options.peers.size()) +
                            " mtu=" + std::to_string(options.mtu_bytes) + transport->mtu_note());
    }
    return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace rlog::dataplane

#else  // !RLOG_HAVE_DPDK

namespace rlog::dataplane {

Result<std::unique_ptr<Transport>> make_dpdk_transport(const TransportOptions& /*options*/) {
    return Status(ErrorCode::kNotSupported,
                  "the dpdk transport is not in this build (configure with DPDK installed, "
                  "libdpdk-dev, and -DRLOG_WITH_DPDK=ON); use udp or af_packet");
}

}  // namespace rlog::dataplane

#endif  // RLOG_HAVE_DPDK
