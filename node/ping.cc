// SPDX-License-Identifier: Apache-2.0

#include "node/ping.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "bench/e2e/netns.h"
#include "dataplane/frame.h"
#include "dataplane/transport.h"
#include "dataplane/udp_socket.h"
#include "node/logging.h"

namespace rlog::node {
namespace {

constexpr uint64_t kEchoTimeoutNs = 1'000'000'000;

Result<uint16_t> free_udp_port() {
    Result<sockaddr_in> any = dataplane::parse_ipv4("127.0.0.1", 0);
    if (!any.is_ok()) {
        return any.status();
    }
    Result<std::unique_ptr<dataplane::UdpSocket>> s =
            dataplane::UdpSocket::open(any.value(), 64, 1, 0);
    if (!s.is_ok()) {
        return s.status();
    }
    return static_cast<uint16_t>(ntohs(s.value()->local_address().sin_port));
}

double us(uint64_t ns) {
    return static_cast<double>(ns) / 1e3;
}

}  // namespace

int run_ping(const PingOptions& options) {
    const bool l2 = options.transport == "af_packet" || options.transport == "dpdk";
    if (options.transport != "udp" && !l2) {
        std::fprintf(stderr, "rlog ping: unknown transport '%s' (udp, af_packet or dpdk)\n",
                     options.transport.c_str());
        return 2;
    }
    if (options.count == 0 || options.payload_bytes < 8 || options.payload_bytes > 8000) {
        std::fprintf(stderr, "rlog ping: --count must be > 0 and --payload-bytes 8..8000\n");
        return 2;
    }
    std::unique_ptr<bench::NetnsLab> lab;
    dataplane::TransportOptions o;
    o.kind = options.transport;
    o.mtu_bytes = 8192;
    o.burst_max = 32;
    o.af_packet_rx_version = options.af_packet_rx_version;
    std::string where;
    if (l2) {
        Result<std::unique_ptr<bench::NetnsLab>> made = bench::NetnsLab::create(2, 9000);
        if (!made.is_ok()) {
            std::fprintf(stderr, "rlog ping: %s\n", made.status().to_string().c_str());
            return 1;
        }
        lab = std::move(made).value();
        Status entered = lab->enter();
        if (!entered.is_ok()) {
            std::fprintf(stderr, "rlog ping: %s\n", entered.to_string().c_str());
            return 1;
        }
        o.peers = {{NodeId(1), "10.0.0.1", 7001, lab->ports()[0].mac},
                   {NodeId(2), "10.0.0.2", 7002, lab->ports()[1].mac}};
        o.eal_args = bench::dpdk_eal_args(*lab);
        where = "a veth pair in network namespace " + lab->name();
    } else {
        Result<uint16_t> pa = free_udp_port();
        Result<uint16_t> pb = free_udp_port();
        if (!pa.is_ok() || !pb.is_ok()) {
            std::fprintf(stderr, "rlog ping: no free loopback port\n");
            return 1;
        }
        o.peers = {{NodeId(1), "127.0.0.1", pa.value()}, {NodeId(2), "127.0.0.1", pb.value()}};
        where = "127.0.0.1";
    }
    std::unique_ptr<dataplane::Transport> ends[2];
    for (uint32_t i = 0; i < 2; i++) {
        o.self = NodeId(i + 1);
        if (l2) {
            o.interface = lab->ports()[i].interface;
            o.dpdk_port = "net_af_packet" + std::to_string(i);
        }
        Result<std::unique_ptr<dataplane::Transport>> t = dataplane::make_transport(o);
        if (!t.is_ok()) {
            std::fprintf(stderr, "rlog ping: endpoint %u: %s\n", i + 1,
                         t.status().to_string().c_str());
            return 1;
        }
        ends[i] = std::move(t).value();
    }

    // The echo side: returns every frame to endpoint 1, busy-polling.
    std::atomic<bool> stop{false};
    std::thread echo([&] {
        dataplane::RxFrame rx[32];
        std::vector<std::vector<uint8_t>> copies(32);
        std::vector<dataplane::TxFrame> tx;
        while (!stop.load(std::memory_order_relaxed)) {
            const size_t n = ends[1]->poll_burst(rx);
            tx.clear();
            for (size_t i = 0; i < n; i++) {
                copies[i].assign(rx[i].data, rx[i].data + rx[i].length);
                tx.push_back(dataplane::TxFrame{NodeId(1), copies[i]});
            }
            size_t sent = 0;
            while (sent < tx.size() && !stop.load(std::memory_order_relaxed)) {
                sent += ends[1]->send_burst(std::span<const dataplane::TxFrame>(tx).subspan(sent));
            }
        }
    });

    std::vector<uint8_t> frame(dataplane::kFrameHeaderBytes + options.payload_bytes, 0x5a);
    std::vector<uint64_t> samples;
    samples.reserve(options.count);
    dataplane::RxFrame rx[32];
    std::string failure;
    for (uint64_t i = 0; i < options.warmup + options.count && failure.empty(); i++) {
        std::memcpy(frame.data(), &i, sizeof(i));
        const dataplane::TxFrame tx{NodeId(2), frame};
        const uint64_t t0 = monotonic_ns();
        while (ends[0]->send_burst({&tx, 1}) == 0) {
            if (monotonic_ns() - t0 > kEchoTimeoutNs) {
                failure = "cannot send (ring full for 1 s)";
                break;
            }
        }
        bool back = false;
        while (!back && failure.empty()) {
            const size_t n = ends[0]->poll_burst(rx);
            for (size_t k = 0; k < n; k++) {
                uint64_t seq = 0;
                if (rx[k].length == frame.size()) {
                    std::memcpy(&seq, rx[k].data, sizeof(seq));
                }
                back |= seq == i;
            }
            if (!back && monotonic_ns() - t0 > kEchoTimeoutNs) {
                failure = "round trip " + std::to_string(i) + " got no echo within 1 s";
            }
        }
        const uint64_t t1 = monotonic_ns();
        if (back && i >= options.warmup) {
            samples.push_back(t1 - t0);
        }
    }
    stop.store(true);
    echo.join();
    if (!failure.empty()) {
        std::fprintf(stderr, "rlog ping: %s over %s\n", failure.c_str(), options.transport.c_str());
        return 1;
    }
    std::sort(samples.begin(), samples.end());
    auto pct = [&](double p) {
        const size_t at = static_cast<size_t>(p / 100.0 * static_cast<double>(samples.size()));
        return samples[std::min(at, samples.size() - 1)];
    };
    uint64_t sum = 0;
    for (uint64_t s : samples) {
        sum += s;
    }
    std::printf("rlog ping: transport %s on %s, %zu-byte frames, %zu round trips (busy-poll)\n",
                options.transport.c_str(), where.c_str(), frame.size(), samples.size());
    if (options.transport == "af_packet") {
        std::printf("  receive ring TPACKET_V%d\n", options.af_packet_rx_version);
    }
    std::printf(
            "  round trip (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
            us(pct(50)), us(pct(90)), us(pct(99)), us(pct(99.9)), us(samples.back()),
            us(sum / samples.size()));
    return 0;
}

}  // namespace rlog::node
