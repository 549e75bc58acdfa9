// SPDX-License-Identifier: Apache-2.0
//
// Tests of the udp transport and UdpSocket over real sockets on 127.0.0.1: make_transport's
// error cases, address parsing, and two MessageChannels exchanging single messages, bursts,
// and a message of many segments, plus garbled datagrams that must be counted and dropped.
// Waiting loops have generous deadlines only to turn a hang into a failure; no assertion
// depends on timing.

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "dataplane/channel.h"
#include "dataplane/codec.h"
#include "dataplane/transport.h"
#include "dataplane/udp_socket.h"
#include "tests/dataplane/test_messages.h"

namespace rlog::dataplane {
namespace {

using consensus::Message;
using consensus::MessageType;

constexpr uint32_t kCluster = 5;

// A port that was free a moment ago (bound to port 0, then closed).
uint16_t probe_free_port() {
    Result<sockaddr_in> any = parse_ipv4("127.0.0.1", 0);
    EXPECT_TRUE(any.is_ok());
    Result<std::unique_ptr<UdpSocket>> s = UdpSocket::open(any.value(), 64, 1, 0);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return ntohs(s.value()->local_address().sin_port);
}

struct Pair {
    std::unique_ptr<Transport> a;  // Node 1.
    std::unique_ptr<Transport> b;  // Node 2.
    uint16_t port_b = 0;
};

// Two udp transports on loopback that know each other; retries if a probed port was taken.
Pair make_pair(size_t mtu_bytes, size_t burst_max) {
    for (int attempt = 0; attempt < 20; attempt++) {
        const uint16_t pa = probe_free_port();
        const uint16_t pb = probe_free_port();
        if (pa == pb) {
            continue;
        }
        TransportOptions o;
        o.peers = {{NodeId(1), "127.0.0.1", pa}, {NodeId(2), "127.0.0.1", pb}};
        o.mtu_bytes = mtu_bytes;
        o.burst_max = burst_max;
        o.self = NodeId(1);
        auto a = make_transport(o);
        o.self = NodeId(2);
        auto b = make_transport(o);
        if (a.is_ok() && b.is_ok()) {
            return Pair{std::move(a).value(), std::move(b).value(), pb};
        }
        EXPECT_EQ((a.is_ok() ? b : a).status().code(), ErrorCode::kIo);
    }
    ADD_FAILURE() << "no free loopback ports";
    return Pair{};
}

ChannelOptions channel_options(uint32_t self) {
    ChannelOptions o;
    o.cluster_id = kCluster;
    o.self = NodeId(self);
    return o;
}

// Polls `channel` until `done()` or a 20 s deadline (a hang guard, not a timing assertion).
void poll_until(MessageChannel* channel,
                std::vector<Message>* out,
                const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        if (channel->poll(out) == 0) {
            channel->wait_readable(10000);
        }
    }
}

uint64_t dropped(const MessageChannel& c, FrameError e) {
    return c.stats().frames_dropped[static_cast<size_t>(e)];
}

TransportOptions valid_options() {
    TransportOptions o;
    o.self = NodeId(1);
    o.peers = {{NodeId(1), "127.0.0.1", 0}, {NodeId(2), "127.0.0.1", 40002}};
    return o;
}

TEST(UdpTransportTest, MakeTransportRejectsBadOptions) {
    struct Case {
        const char* what;
        std::function<void(TransportOptions*)> change;
        ErrorCode code;
        const char* says;
    };
    const std::vector<Case> cases = {
            // The Ethernet transports address peers by MAC (transport_conformance_test.cc; dpdk
            // depends on the build, so it is checked there).
            {"af_packet", [](auto* o) { o->kind = "af_packet"; }, ErrorCode::kInvalidArgument,
             "no MAC address"},
            {"unknown kind", [](auto* o) { o->kind = "tcp"; }, ErrorCode::kInvalidArgument,
             "unknown transport"},
            {"self missing", [](auto* o) { o->self = NodeId(3); }, ErrorCode::kInvalidArgument,
             "not in the peer table"},
            {"self zero", [](auto* o) { o->self = NodeId(0); }, ErrorCode::kInvalidArgument,
             "nonzero"},
            {"duplicate id",
             [](auto* o) {
                 o->peers.push_back({NodeId(2), "127.0.0.1", 40003});
             },
             ErrorCode::kInvalidArgument, "listed twice"},
            {"peer id zero",
             [](auto* o) {
                 o->peers.push_back({NodeId(0), "127.0.0.1", 1});
             },
             ErrorCode::kInvalidArgument, "reserved"},
            {"bad address", [](auto* o) { o->peers[1].host = "300.1.2.3"; },
             ErrorCode::kInvalidArgument, "300.1.2.3"},
            {"host name", [](auto* o) { o->peers[1].host = "localhost"; },
             ErrorCode::kInvalidArgument, "localhost"},
            {"empty host", [](auto* o) { o->peers[1].host = ""; }, ErrorCode::kInvalidArgument,
             "empty"},
            {"peer port zero", [](auto* o) { o->peers[1].port = 0; }, ErrorCode::kInvalidArgument,
             "port 0"},
            {"mtu too small", [](auto* o) { o->mtu_bytes = kFrameHeaderBytes; },
             ErrorCode::kInvalidArgument, "mtu_bytes"},
            {"mtu too large", [](auto* o) { o->mtu_bytes = 70000; }, ErrorCode::kInvalidArgument,
             "mtu_bytes"},
            {"burst zero", [](auto* o) { o->burst_max = 0; }, ErrorCode::kInvalidArgument,
             "burst_max"},
    };
    for (const Case& c : cases) {
        TransportOptions o = valid_options();
        c.change(&o);
        auto t = make_transport(o);
        ASSERT_FALSE(t.is_ok()) << c.what;
        EXPECT_EQ(t.status().code(), c.code) << c.what << ": " << t.status().to_string();
        EXPECT_NE(t.status().message().find(c.says), std::string::npos)
                << c.what << ": " << t.status().to_string();
    }
}

TEST(UdpTransportTest, BindFailureIsIoAndNamesTheAddress) {
    // Hold a loopback port, then ask the transport to bind the same one.
    Result<sockaddr_in> any = parse_ipv4("127.0.0.1", 0);
    ASSERT_TRUE(any.is_ok());
    auto holder = UdpSocket::open(any.value(), 64, 1, 0);
    ASSERT_TRUE(holder.is_ok());
    const uint16_t port = ntohs(holder.value()->local_address().sin_port);
    TransportOptions o = valid_options();
    o.peers[0].port = port;
    auto t = make_transport(o);
    ASSERT_FALSE(t.is_ok());
    EXPECT_EQ(t.status().code(), ErrorCode::kIo);
    EXPECT_NE(t.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
            << t.status().to_string();
}

TEST(UdpTransportTest, LogsTheTransportChoiceOnce) {
    TransportOptions o = valid_options();
    std::vector<std::string> lines;
    o.log = [&lines](LogLevel level, std::string_view line) {
        EXPECT_EQ(level, LogLevel::kInfo);
        lines.emplace_back(line);
    };
    auto t = make_transport(o);
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("transport=udp"), std::string::npos) << lines[0];
    EXPECT_STREQ(t.value()->name(), "udp");
    EXPECT_EQ(t.value()->mtu_bytes(), o.mtu_bytes);
}

TEST(UdpTransportTest, ParsesEndpoints) {
    auto good = parse_ipv4_endpoint("127.0.0.1:9000");
    ASSERT_TRUE(good.is_ok());
    EXPECT_EQ(format_ipv4(good.value()), "127.0.0.1:9000");
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536",
                            "127.0.0.1:123456", "1.2.3:80", "host:80", ":80", "127.0.0.1:-1"}) {
        auto r = parse_ipv4_endpoint(bad);
        ASSERT_FALSE(r.is_ok()) << bad;
        EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
        EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
    }
}

TEST(UdpTransportTest, ChannelsExchangeEveryMessageType) {
    Pair p = make_pair(8192, 64);
    ASSERT_TRUE(p.a && p.b);
    MessageChannel a(p.a.get(), channel_options(1));
    MessageChannel b(p.b.get(), channel_options(2));
    const std::vector<Message> sent = test::one_of_each_type();
    a.send(sent);
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return got.size() >= sent.size(); });
    EXPECT_EQ(got, sent);

    // And back the other way.
    std::vector<Message> replies = sent;
    for (Message& m : replies) {
        m.from = NodeId(2);
        m.to = NodeId(1);
    }
    b.send(replies);
    std::vector<Message> got_back;
    poll_until(&a, &got_back, [&] { return got_back.size() >= replies.size(); });
    EXPECT_EQ(got_back, replies);
    EXPECT_EQ(p.a->stats().frames_sent, sent.size());
    EXPECT_EQ(p.b->stats().frames_received, sent.size());
}

TEST(UdpTransportTest, BurstBiggerThanBurstMax) {
    Pair p = make_pair(1500, 8);
    ASSERT_TRUE(p.a && p.b);
    MessageChannel a(p.a.get(), channel_options(1));
    MessageChannel b(p.b.get(), channel_options(2));
    std::vector<Message> sent;
    for (uint64_t i = 0; i < 500; i++) {
        sent.push_back(test::make_message(MessageType::kAppendResponse, i));
    }
    a.send(sent);
    EXPECT_EQ(a.stats().send_dropped, 0u);
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return got.size() >= sent.size(); });
    EXPECT_EQ(got, sent);  // One socket to one socket on loopback keeps order.
}

TEST(UdpTransportTest, MessageOfManySegments) {
    Pair p = make_pair(1500, 64);
    ASSERT_TRUE(p.a && p.b);
    MessageChannel a(p.a.get(), channel_options(1));
    MessageChannel b(p.b.get(), channel_options(2));
    // 1 MiB of entries (about 730 frames; the 4 MiB socket buffers hold them all).
    const Message m = test::make_append(16384, 64, 3);
    a.send({&m, 1});
    EXPECT_GT(a.stats().segments_sent, 700u);
    EXPECT_EQ(a.stats().send_dropped, 0u);
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return !got.empty(); });
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
}

TEST(UdpTransportTest, GarbledDatagramsAreCountedAndDropped) {
    Pair p = make_pair(1500, 64);
    ASSERT_TRUE(p.a && p.b);
    MessageChannel b(p.b.get(), channel_options(2));
    Result<sockaddr_in> any = parse_ipv4("127.0.0.1", 0);
    Result<sockaddr_in> to = parse_ipv4("127.0.0.1", p.port_b);
    ASSERT_TRUE(any.is_ok());
    ASSERT_TRUE(to.is_ok());
    auto raw = UdpSocket::open(any.value(), 2048, 16, 0);
    ASSERT_TRUE(raw.is_ok()) << raw.status().to_string();

    std::vector<uint8_t> payload;
    encode_message(test::make_message(MessageType::kVoteRequest), &payload);
    auto frame_for = [&](uint32_t cluster, NodeId receiver) {
        FrameHeader h;
        h.cluster_id = cluster;
        h.sender = NodeId(1);
        h.receiver = receiver;
        h.message_length = static_cast<uint32_t>(payload.size());
        h.payload_length = h.message_length;
        std::vector<uint8_t> f(kFrameHeaderBytes + payload.size());
        encode_frame(h, payload, f);
        return f;
    };
    const std::vector<uint8_t> good = frame_for(kCluster, NodeId(2));
    std::vector<uint8_t> flipped = good;
    flipped[kFrameHeaderBytes + 3] ^= 0x10;
    const std::vector<uint8_t> short_frame(good.begin(), good.begin() + 30);
    const std::vector<uint8_t> cut(good.begin(), good.end() - 1);
    std::vector<uint8_t> junk(200);
    std::mt19937_64 rng(11);
    for (uint8_t& x : junk) {
        x = static_cast<uint8_t>(rng());
    }
    const std::vector<uint8_t> foreign = frame_for(kCluster + 1, NodeId(2));
    const std::vector<uint8_t> misaddressed = frame_for(kCluster, NodeId(3));
    const std::vector<uint8_t> oversized(4000, 0x55);  // Longer than the 1500-byte buffers.

    // The good frame goes last: one socket to one socket keeps order, so once it arrives every
    // garbled datagram before it has been seen.
    std::vector<UdpTx> tx;
    const std::vector<const std::vector<uint8_t>*> datagrams = {
            &flipped, &short_frame, &cut, &junk, &foreign, &misaddressed, &oversized, &good};
    for (const std::vector<uint8_t>* f : datagrams) {
        tx.push_back(UdpTx{to.value(), *f});
    }
    ASSERT_EQ(raw.value()->send_burst(tx), tx.size());
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return !got.empty(); });
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], test::make_message(MessageType::kVoteRequest));
    EXPECT_EQ(dropped(b, FrameError::kBadCrc), 1u);
    EXPECT_EQ(dropped(b, FrameError::kShort), 2u);
    EXPECT_EQ(dropped(b, FrameError::kBadMagic), 1u);
    EXPECT_EQ(dropped(b, FrameError::kForeignCluster), 1u);
    EXPECT_EQ(dropped(b, FrameError::kWrongReceiver), 1u);
    EXPECT_EQ(p.b->stats().frames_truncated, 1u);
    EXPECT_EQ(b.stats().messages_received, 1u);
}

TEST(UdpTransportTest, FramesLongerThanMtuAreNotSent) {
    Pair p = make_pair(1500, 64);
    ASSERT_TRUE(p.a && p.b);
    std::vector<uint8_t> big(1501, 1);
    std::vector<uint8_t> ok(100, 2);
    const TxFrame frames[] = {{NodeId(2), big}, {NodeId(7), ok}, {NodeId(2), ok}};
    EXPECT_EQ(p.a->send_burst(frames), 3u);
    EXPECT_EQ(p.a->stats().send_errors, 2u);
    EXPECT_EQ(p.a->stats().frames_sent, 1u);
    RxFrame rx[4];
    size_t n = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (n == 0 && std::chrono::steady_clock::now() < deadline) {
        p.b->wait_readable(10000);
        n = p.b->poll_burst(rx);
    }
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rx[0].length, 100u);
    EXPECT_EQ(rx[0].data[0], 2);
}

// channel.h: "send and poll may run on two different threads". Channel a sends from one thread
// while another thread polls it for the echoes that b sends back.
TEST(UdpTransportTest, SendAndPollOnDifferentThreads) {
    Pair p = make_pair(1500, 32);
    ASSERT_TRUE(p.a && p.b);
    MessageChannel a(p.a.get(), channel_options(1));
    MessageChannel b(p.b.get(), channel_options(2));
    constexpr uint64_t kMessages = 2000;
    constexpr uint64_t kBatch = 20;

    std::thread sender([&a] {
        std::vector<Message> batch;
        for (uint64_t i = 0; i < kMessages; i += kBatch) {
            batch.clear();
            for (uint64_t j = i; j < i + kBatch; j++) {
                batch.push_back(test::make_message(MessageType::kAppendResponse, j));
            }
            a.send(batch);
            // Stay well inside the socket buffers: no assertion depends on this pause.
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    std::vector<Message> echoes;
    std::thread receiver([&a, &echoes] {
        poll_until(&a, &echoes, [&echoes] { return echoes.size() >= kMessages; });
    });
    std::vector<Message> at_b;
    size_t echoed = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (echoed < kMessages && std::chrono::steady_clock::now() < deadline) {
        if (b.poll(&at_b) == 0) {
            b.wait_readable(10000);
            continue;
        }
        std::vector<Message> replies(at_b.begin() + echoed, at_b.end());
        for (Message& m : replies) {
            m.from = NodeId(2);
            m.to = NodeId(1);
        }
        b.send(replies);
        echoed = at_b.size();
    }
    sender.join();
    receiver.join();
    ASSERT_EQ(at_b.size(), kMessages);
    ASSERT_EQ(echoes.size(), kMessages);
    for (uint64_t i = 0; i < kMessages; i++) {
        EXPECT_EQ(echoes[i].match_index, LogIndex(99 + i)) << i;
    }
    EXPECT_EQ(a.stats().messages_sent, kMessages);
    EXPECT_EQ(a.stats().messages_received, kMessages);
}

}  // namespace
}  // namespace rlog::dataplane
