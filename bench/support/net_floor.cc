// SPDX-License-Identifier: Apache-2.0

#include "bench/support/net_floor.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/udp_socket.h"

namespace rlog::bench {
namespace {

using dataplane::UdpRx;
using dataplane::UdpSocket;
using dataplane::UdpTx;

constexpr size_t kPayloadMax = 65507;
constexpr int kWarmup = 100;
constexpr uint64_t kReplyTimeoutUs = 1000000;

// Echoes every datagram back to its sender until `stop` is set.
void echo_loop(UdpSocket* socket, const std::atomic<bool>* stop) {
    UdpRx rx[16];
    UdpTx tx[16];
    while (!stop->load(std::memory_order_relaxed)) {
        const size_t n = socket->poll_burst(rx);
        if (n == 0) {
            socket->wait_readable(10000);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            tx[i] = UdpTx{rx[i].from, std::span<const uint8_t>(rx[i].data, rx[i].length)};
        }
        (void)socket->send_burst(std::span<const UdpTx>(tx, n));
    }
}

// Waits for one datagram on `socket`; false after kReplyTimeoutUs without one.
bool await_reply(UdpSocket* socket) {
    UdpRx rx[1];
    const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::microseconds(kReplyTimeoutUs);
    while (socket->poll_burst(rx) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        socket->wait_readable(kReplyTimeoutUs);
    }
    return true;
}

}  // namespace

Result<std::vector<uint64_t>> measure_udp_floor(int iterations, size_t payload_bytes) {
    if (iterations < 1) {
        return Status(ErrorCode::kInvalidArgument, "net floor: iterations must be >= 1");
    }
    if (payload_bytes == 0 || payload_bytes > kPayloadMax) {
        return Status(ErrorCode::kInvalidArgument,
                      "net floor: payload_bytes must be 1.." + std::to_string(kPayloadMax));
    }
    Result<sockaddr_in> loopback = dataplane::parse_ipv4("127.0.0.1", 0);
    if (!loopback.is_ok()) {
        return loopback.status();
    }
    auto pinger = UdpSocket::open(loopback.value(), payload_bytes, 1, 0);
    if (!pinger.is_ok()) {
        return pinger.status();
    }
    auto echo = UdpSocket::open(loopback.value(), payload_bytes, 16, 0);
    if (!echo.is_ok()) {
        return echo.status();
    }
    const sockaddr_in echo_addr = echo.value()->local_address();

    std::atomic<bool> stop{false};
    std::thread echo_thread(echo_loop, echo.value().get(), &stop);

    std::vector<uint8_t> payload(payload_bytes, 0x5a);
    const UdpTx ping{echo_addr, payload};
    std::vector<uint64_t> latencies_ns;
    latencies_ns.reserve(static_cast<size_t>(iterations));
    Status status;
    for (int i = 0; i < kWarmup + iterations; i++) {
        const auto start = std::chrono::steady_clock::now();
        if (pinger.value()->send_burst({&ping, 1}) != 1 || pinger.value()->send_errors() != 0) {
            status = Status(ErrorCode::kIo,
                            "net floor: send to " + dataplane::format_ipv4(echo_addr) + " failed");
            break;
        }
        if (!await_reply(pinger.value().get())) {
            status = Status(
                    ErrorCode::kTimeout,
                    "net floor: no echo from " + dataplane::format_ipv4(echo_addr) + " within 1 s");
            break;
        }
        const auto end = std::chrono::steady_clock::now();
        if (i >= kWarmup) {
            latencies_ns.push_back(static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()));
        }
    }
    stop.store(true, std::memory_order_relaxed);
    echo_thread.join();
    if (!status.is_ok()) {
        return status;
    }
    return latencies_ns;
}

}  // namespace rlog::bench
