// SPDX-License-Identifier: Apache-2.0
//
// One conformance suite run against every transport (udp, af_packet with its TPACKET_V2 and
// TPACKET_V3 receive rings and with the udp_ipv4 framing, dpdk): two endpoints of the
// same kind exchange single frames, a burst larger than the transmit ring, a message of many
// segments through MessageChannel, garbled and foreign packets that must be counted and dropped,
// a peer that restarts, and buffer lending (dpdk lends transmit buffers, so the channel's frames
// reach the device without a copy: tx_copied stays 0; the others lend none). udp runs on 127.0.0.1;
// af_packet on a veth pair in a network namespace the suite creates and deletes; dpdk on
// net_af_packet virtual devices over another such pair, without hugepages or PCI (the EAL is
// initialised once for the whole process). A transport this machine cannot run (not root, no DPDK
// in the build, the EAL refusing) is skipped with GTEST_SKIP and the reason printed, never passed.
// Lost, duplicated and reordered segments are covered deterministically over the fake transport in
// channel_test.cc. Waiting loops have generous deadlines only to turn a hang into a failure.

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "bench/e2e/netns.h"
#include "dataplane/channel.h"
#include "dataplane/codec.h"
#include "dataplane/ethernet.h"
#include "dataplane/transport.h"
#include "dataplane/udp_socket.h"
#include "tests/dataplane/test_messages.h"

namespace rlog::dataplane {
namespace {

using consensus::Message;
using consensus::MessageType;

constexpr uint32_t kCluster = 9;
constexpr size_t kMtu = 8192;
constexpr int kLinkMtu = 9000;

// The dpdk suite's namespace and EAL live for the whole process (the EAL cannot be initialised
// twice); the namespace is deleted when the test program ends.
struct DpdkWorld {
    std::unique_ptr<bench::NetnsLab> lab;
    std::string skip;  // Why dpdk cannot run here, if it cannot.
    std::vector<std::string> eal_args;
};

class DpdkEnvironment : public ::testing::Environment {
  public:
    void TearDown() override { world().lab.reset(); }
    static DpdkWorld& world() {
        static DpdkWorld w;
        return w;
    }
};
[[maybe_unused]] ::testing::Environment* const kDpdkEnv =
        ::testing::AddGlobalTestEnvironment(new DpdkEnvironment());

uint16_t probe_free_port() {
    Result<sockaddr_in> any = parse_ipv4("127.0.0.1", 0);
    Result<std::unique_ptr<UdpSocket>> s = UdpSocket::open(any.value(), 64, 1, 0);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? ntohs(s.value()->local_address().sin_port) : 0;
}

class TransportConformanceTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        kind_ = GetParam();
        if (kind_ == "af_packet_v3") {
            kind_ = "af_packet";
            rx_version_ = 3;
        } else if (kind_ == "af_packet_udp_ipv4") {
            kind_ = "af_packet";
            framing_ = Framing::kUdpIpv4;
        }
        if (kind_ == "af_packet") {
            Result<std::unique_ptr<bench::NetnsLab>> lab = bench::NetnsLab::create(2, kLinkMtu);
            if (!lab.is_ok()) {
                GTEST_SKIP() << "af_packet: " << lab.status().to_string();
            }
            lab_ = std::move(lab).value();
            ASSERT_TRUE(lab_->enter().is_ok());
            ports_ = lab_->ports();
        } else if (kind_ == "dpdk") {
            DpdkWorld& w = DpdkEnvironment::world();
            if (!w.lab && w.skip.empty()) {
                Result<std::unique_ptr<bench::NetnsLab>> lab = bench::NetnsLab::create(2, kLinkMtu);
                if (!lab.is_ok()) {
                    w.skip = lab.status().to_string();
                } else {
                    w.lab = std::move(lab).value();
                    w.eal_args = {"--no-huge",
                                  "--no-pci",
                                  "--no-shconf",
                                  "-m",
                                  "512",
                                  "--no-telemetry",
                                  "--log-level=lib.eal:error"};
                    for (size_t i = 0; i < 2; i++) {
                        w.eal_args.push_back("--vdev=net_af_packet" + std::to_string(i) +
                                             ",iface=" + w.lab->ports()[i].interface +
                                             ",blocksz=16384,framesz=16384,framecnt=512");
                    }
                }
            }
            if (!w.skip.empty()) {
                GTEST_SKIP() << "dpdk: " << w.skip;
            }
            // The net_af_packet devices are created by the EAL in the namespace of the thread
            // that initialises it, so the test thread stays in it while transports open.
            ASSERT_TRUE(w.lab->enter().is_ok());
            entered_dpdk_ = true;
            ports_ = w.lab->ports();
        } else {
            port_a_ = probe_free_port();
            port_b_ = probe_free_port();
            ASSERT_NE(port_a_, port_b_);
        }
        Result<std::unique_ptr<Transport>> a = open(1);
        // Only what the machine lacks skips: a DPDK-less build, or an EAL that refuses to run.
        if (!a.is_ok() && kind_ == "dpdk" &&
            (a.status().code() == ErrorCode::kNotSupported ||
             a.status().message().find("EAL refused") != std::string::npos)) {
            DpdkEnvironment::world().skip = a.status().to_string();
            GTEST_SKIP() << "dpdk: " << a.status().to_string();
        }
        ASSERT_TRUE(a.is_ok()) << a.status().to_string();
        a_ = std::move(a).value();
        Result<std::unique_ptr<Transport>> b = open(2);
        ASSERT_TRUE(b.is_ok()) << b.status().to_string();
        b_ = std::move(b).value();
    }

    void TearDown() override {
        a_.reset();
        b_.reset();
        if (lab_) {
            EXPECT_TRUE(lab_->leave().is_ok());
            lab_.reset();
        }
        if (entered_dpdk_) {
            EXPECT_TRUE(DpdkEnvironment::world().lab->leave().is_ok());
        }
    }

    TransportOptions options(uint32_t self) const {
        TransportOptions o;
        o.kind = kind_;
        o.self = NodeId(self);
        o.mtu_bytes = kMtu;
        o.burst_max = 64;
        // The sender's ring is smaller than the receiver's, so a sender that outruns its ring
        // stalls before the receiver's ring can overflow (BurstLargerThanTheRing).
        o.ring_frames = self == 1 ? 256 : 1024;
        o.af_packet_rx_version = rx_version_;
        o.framing = framing_name(framing_);
        if (kind_ == "udp") {
            o.peers = {{NodeId(1), "127.0.0.1", port_a_}, {NodeId(2), "127.0.0.1", port_b_}};
            return o;
        }
        o.peers = {{NodeId(1), "10.0.0.1", 7001, ports_[0].mac},
                   {NodeId(2), "10.0.0.2", 7002, ports_[1].mac}};
        o.interface = ports_[self - 1].interface;
        o.eal_args = DpdkEnvironment::world().eal_args;
        o.dpdk_port = "net_af_packet" + std::to_string(self - 1);
        return o;
    }

    Result<std::unique_ptr<Transport>> open(uint32_t self) const {
        return make_transport(options(self));
    }

    static ChannelOptions channel_options(uint32_t self) {
        ChannelOptions o;
        o.cluster_id = kCluster;
        o.self = NodeId(self);
        return o;
    }

    // Sends `packet` to endpoint b as it would appear on the wire: a UDP datagram holding it
    // (udp), or an Ethernet packet sent from a's interface (af_packet, dpdk), `packet` then
    // starting with the Ethernet header.
    void inject(std::span<const uint8_t> packet) const {
        if (kind_ == "udp") {
            Result<sockaddr_in> any = parse_ipv4("127.0.0.1", 0);
            Result<sockaddr_in> to = parse_ipv4("127.0.0.1", port_b_);
            auto raw = UdpSocket::open(any.value(), 2048, 4, 0);
            ASSERT_TRUE(raw.is_ok());
            const UdpTx tx{to.value(), packet};
            ASSERT_EQ(raw.value()->send_burst({&tx, 1}), 1u);
            return;
        }
        const int fd = socket(AF_PACKET, SOCK_RAW, 0);
        ASSERT_GE(fd, 0);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(ports_[0].interface.c_str()));
        to.sll_halen = 6;
        const ssize_t r = sendto(fd, packet.data(), packet.size(), 0,
                                 reinterpret_cast<const sockaddr*>(&to), sizeof(to));
        close(fd);
        ASSERT_EQ(r, static_cast<ssize_t>(packet.size()));
    }

    // The wire form of an rlog frame from a to b (just the frame for udp).
    std::vector<uint8_t> wire(std::span<const uint8_t> frame) const {
        if (kind_ == "udp") {
            return {frame.begin(), frame.end()};
        }
        // The endpoints of options(): 10.0.0.1:7001 and 10.0.0.2:7002.
        const L2Endpoint src{parse_mac(ports_[0].mac).value(), 0x0a000001, 7001};
        const L2Endpoint dst{parse_mac(ports_[1].mac).value(), 0x0a000002, 7002};
        std::vector<uint8_t> p(l2_header_bytes(framing_) + frame.size());
        encode_l2_header(framing_, src, dst, frame.size(), p.data());
        std::copy(frame.begin(), frame.end(), p.begin() + l2_header_bytes(framing_));
        return p;
    }

    static void poll_until(MessageChannel* channel,
                           std::vector<Message>* out,
                           const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            if (channel->poll(out) == 0) {
                channel->wait_readable(1000);
            }
        }
    }

    std::string kind_;
    int rx_version_ = 2;
    Framing framing_ = Framing::kEthernet;
    std::unique_ptr<bench::NetnsLab> lab_;
    bool entered_dpdk_ = false;
    std::vector<bench::NetnsPort> ports_;
    uint16_t port_a_ = 0;
    uint16_t port_b_ = 0;
    std::unique_ptr<Transport> a_;
    std::unique_ptr<Transport> b_;
};

TEST_P(TransportConformanceTest, SingleFramesBothWays) {
    EXPECT_STREQ(a_->name(), kind_.c_str());
    EXPECT_EQ(a_->mtu_bytes(), kMtu);
    if (kind_ == "dpdk") {
        EXPECT_EQ(a_->wait_fd(), -1);  // Poll mode.
    } else {
        EXPECT_GE(a_->wait_fd(), 0);
    }
    MessageChannel a(a_.get(), channel_options(1));
    MessageChannel b(b_.get(), channel_options(2));
    const std::vector<Message> sent = test::one_of_each_type();
    a.send(sent);
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return got.size() >= sent.size(); });
    EXPECT_EQ(got, sent);
    std::vector<Message> replies = sent;
    for (Message& m : replies) {
        m.from = NodeId(2);
        m.to = NodeId(1);
    }
    b.send(replies);
    std::vector<Message> back;
    poll_until(&a, &back, [&] { return back.size() >= replies.size(); });
    EXPECT_EQ(back, replies);
    EXPECT_EQ(a_->stats().frames_sent, sent.size());
    EXPECT_EQ(b_->stats().frames_received, sent.size());
    EXPECT_EQ(b_->stats().frames_foreign, 0u);
    // dpdk: every frame was encoded straight into an mbuf. udp and af_packet never count it.
    EXPECT_EQ(a_->lends_tx_buffers(), kind_ == "dpdk");
    EXPECT_EQ(a_->stats().tx_copied, 0u);
    EXPECT_EQ(b_->stats().tx_copied, 0u);
}

TEST_P(TransportConformanceTest, BurstLargerThanTheRing) {
    // 2000 frames of 100 bytes, offered 400 at a time: more than the 256-slot transmit ring.
    // The sender resubmits what was not consumed and never runs more than 400 frames ahead of
    // the receiver (whose rings hold 512 or more: 1024 slots for af_packet, the device's 512
    // for dpdk's net_af_packet), so all arrive, in order, without loss.
    constexpr size_t kFrames = 2000;
    std::vector<std::vector<uint8_t>> payloads(kFrames);
    std::vector<TxFrame> frames;
    for (size_t i = 0; i < kFrames; i++) {
        payloads[i].assign(100, static_cast<uint8_t>(i));
        payloads[i][0] = static_cast<uint8_t>(i >> 8);
        frames.push_back(TxFrame{NodeId(2), payloads[i]});
    }
    size_t sent = 0;
    size_t received = 0;
    bool in_order = true;
    size_t first_call = 0;
    RxFrame rx[64];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (received < kFrames && std::chrono::steady_clock::now() < deadline) {
        const size_t window_end = std::min(kFrames, received + 400);
        if (sent < window_end) {
            const size_t n = a_->send_burst(
                    std::span<const TxFrame>(frames).subspan(sent, window_end - sent));
            if (sent == 0) {
                first_call = n;
            }
            sent += n;
        }
        size_t got = b_->poll_burst(rx);
        if (got == 0 && sent == window_end) {
            b_->wait_readable(1000);
        }
        for (size_t i = 0; i < got; i++) {
            const size_t expect = received + i;
            in_order &= rx[i].length == 100 && rx[i].data[0] == static_cast<uint8_t>(expect >> 8) &&
                        rx[i].data[1] == static_cast<uint8_t>(expect);
        }
        received += got;
    }
    EXPECT_EQ(received, kFrames);
    EXPECT_TRUE(in_order);
    EXPECT_EQ(a_->stats().frames_sent, kFrames);
    EXPECT_EQ(a_->stats().send_errors, 0u);
    if (kind_ == "dpdk") {
        // send_burst copies the caller's bytes into mbufs (resubmitted frames are copied again).
        EXPECT_GE(a_->stats().tx_copied, kFrames);
    } else {
        EXPECT_EQ(a_->stats().tx_copied, 0u);
    }
    if (kind_ == "af_packet") {
        // The first call fills the 256-slot transmit ring and stops there.
        EXPECT_LT(first_call, kFrames);
        EXPECT_GT(a_->stats().ring_full_stalls, 0u);
        EXPECT_GT(a_->stats().send_would_block, 0u);
    }
}

TEST_P(TransportConformanceTest, LargeSegmentedMessage) {
    MessageChannel a(a_.get(), channel_options(1));
    MessageChannel b(b_.get(), channel_options(2));
    // About 0.5 MiB of entries: 70 frames of 8 KiB, inside every ring.
    const Message m = test::make_append(8192, 64, 7);
    a.send({&m, 1});
    EXPECT_GT(a.stats().segments_sent, 50u);
    EXPECT_EQ(a.stats().send_dropped, 0u);
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return !got.empty(); });
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
    EXPECT_EQ(b.stats().reassembly_dropped, 0u);
    EXPECT_EQ(a_->stats().frames_sent, a.stats().segments_sent);
    EXPECT_EQ(a_->stats().tx_copied, 0u);  // dpdk: 8 KiB frames encoded in place, too.
}

TEST_P(TransportConformanceTest, LentBuffersAreSentInOrderOrNotLent) {
    std::span<uint8_t> first = a_->tx_buffer(NodeId(2), 100);
    if (kind_ != "dpdk") {
        EXPECT_FALSE(a_->lends_tx_buffers());
        EXPECT_TRUE(first.empty());
        EXPECT_EQ(a_->send_lent(0), 0u);
        return;
    }
    // Refused without counting: an unknown peer, no bytes, more than mtu_bytes.
    EXPECT_TRUE(a_->tx_buffer(NodeId(7), 100).empty());
    EXPECT_TRUE(a_->tx_buffer(NodeId(2), 0).empty());
    EXPECT_TRUE(a_->tx_buffer(NodeId(2), kMtu + 1).empty());
    // Three buffers lent, filled with marked frames; only the first two sent, the third
    // released unsent.
    ASSERT_EQ(first.size(), 100u);
    std::span<uint8_t> second = a_->tx_buffer(NodeId(2), kMtu);
    std::span<uint8_t> third = a_->tx_buffer(NodeId(2), 50);
    ASSERT_EQ(second.size(), kMtu);
    ASSERT_EQ(third.size(), 50u);
    std::fill(first.begin(), first.end(), uint8_t{0xA1});
    std::fill(second.begin(), second.end(), uint8_t{0xB2});
    std::fill(third.begin(), third.end(), uint8_t{0xC3});
    EXPECT_EQ(a_->send_lent(2), 2u);
    EXPECT_EQ(a_->stats().frames_sent, 2u);
    EXPECT_EQ(a_->stats().bytes_sent, 100u + kMtu);
    EXPECT_EQ(a_->stats().send_errors, 0u);
    EXPECT_EQ(a_->stats().send_would_block, 0u);
    EXPECT_EQ(a_->stats().tx_copied, 0u);
    std::vector<std::vector<uint8_t>> got;
    RxFrame rx[8];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
        const size_t n = b_->poll_burst(rx);
        for (size_t i = 0; i < n; i++) {
            got.emplace_back(rx[i].data, rx[i].data + rx[i].length);
        }
        if (n == 0) {
            b_->wait_readable(1000);
        }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], std::vector<uint8_t>(100, 0xA1));
    EXPECT_EQ(got[1], std::vector<uint8_t>(kMtu, 0xB2));
    // Nothing else arrives (the released third buffer was not sent).
    b_->wait_readable(20000);
    EXPECT_EQ(b_->poll_burst(rx), 0u);
}

TEST_P(TransportConformanceTest, GarbledAndForeignPacketsAreCountedAndDropped) {
    MessageChannel b(b_.get(), channel_options(2));
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
    const std::vector<uint8_t> foreign_cluster = frame_for(kCluster + 1, NodeId(2));
    inject(wire(flipped));
    inject(wire(short_frame));
    inject(wire(foreign_cluster));
    size_t l2_foreign = 0;
    size_t l2_malformed = 0;
    if (kind_ != "udp") {
        // Our EtherType to another MAC; and one whose length field overstates the bytes held.
        std::vector<uint8_t> other_mac = wire(good);
        other_mac[5] ^= 0x40;
        inject(other_mac);
        std::vector<uint8_t> bad_length = wire(good);
        bad_length[framing_ == Framing::kEthernet ? 14 : 16] = 0xff;  // Shim or IPv4 length.
        inject(bad_length);
        l2_foreign = 1;
        l2_malformed = 1;
    }
    inject(wire(good));  // Last: once it arrives, everything before it has been seen.
    std::vector<Message> got;
    poll_until(&b, &got, [&] { return !got.empty(); });
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], test::make_message(MessageType::kVoteRequest));
    auto dropped = [&](FrameError e) { return b.stats().frames_dropped[static_cast<size_t>(e)]; };
    EXPECT_EQ(dropped(FrameError::kBadCrc), 1u);
    EXPECT_EQ(dropped(FrameError::kShort), 1u);
    EXPECT_EQ(dropped(FrameError::kForeignCluster), 1u);
    if (kind_ == "dpdk") {
        // The net_af_packet device sees every EtherType; anything else on the link counts too.
        EXPECT_GE(b_->stats().frames_foreign, l2_foreign);
    } else {
        EXPECT_EQ(b_->stats().frames_foreign, l2_foreign);
    }
    EXPECT_EQ(b_->stats().frames_malformed, l2_malformed);
    EXPECT_EQ(b.stats().messages_received, 1u);
}

TEST_P(TransportConformanceTest, PeerRestarts) {
    const Message m1 = test::make_message(MessageType::kAppendResponse, 1);
    const Message m2 = test::make_message(MessageType::kAppendResponse, 2);
    {
        MessageChannel a(a_.get(), channel_options(1));
        MessageChannel b(b_.get(), channel_options(2));
        a.send({&m1, 1});
        std::vector<Message> got;
        poll_until(&b, &got, [&] { return !got.empty(); });
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0], m1);
    }
    // b goes away and comes back on the same address (port, interface or DPDK port).
    b_.reset();
    Result<std::unique_ptr<Transport>> b = open(2);
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    b_ = std::move(b).value();
    MessageChannel a(a_.get(), channel_options(1));
    MessageChannel b2(b_.get(), channel_options(2));
    a.send({&m2, 1});
    std::vector<Message> got;
    poll_until(&b2, &got, [&] { return !got.empty(); });
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m2);
}

INSTANTIATE_TEST_SUITE_P(
        AllTransports,
        TransportConformanceTest,
        ::testing::Values("udp", "af_packet", "af_packet_v3", "af_packet_udp_ipv4", "dpdk"),
        [](const ::testing::TestParamInfo<std::string>& info) {
            return info.param == "af_packet"            ? std::string("AfPacket")
                   : info.param == "af_packet_v3"       ? std::string("AfPacketV3")
                   : info.param == "af_packet_udp_ipv4" ? std::string("AfPacketUdpIpv4")
                   : info.param == "dpdk"               ? std::string("Dpdk")
                                                        : std::string("Udp");
        });

TEST(EthernetFramingTest, ParsesMacsAndFramings) {
    auto mac = parse_mac("02:72:6C:00:00:0a");
    ASSERT_TRUE(mac.is_ok());
    EXPECT_EQ(format_mac(mac.value()), "02:72:6c:00:00:0a");
    for (const char* bad : {"", "02:72:6c:00:00", "02:72:6c:00:00:0g", "02-72-6c-00-00-01"}) {
        EXPECT_FALSE(parse_mac(bad).is_ok()) << bad;
    }
    EXPECT_TRUE(parse_framing("ethernet").is_ok());
    EXPECT_TRUE(parse_framing("udp_ipv4").is_ok());
    EXPECT_FALSE(parse_framing("vlan").is_ok());
}

TEST(EthernetFramingTest, UdpIpv4RoundTripAndChecks) {
    L2Endpoint a{parse_mac("02:00:00:00:00:01").value(), 0x0a000001, 7001};
    L2Endpoint b{parse_mac("02:00:00:00:00:02").value(), 0x0a000002, 7002};
    const std::vector<uint8_t> frame(300, 0x5a);
    std::vector<uint8_t> p(l2_header_bytes(Framing::kUdpIpv4) + frame.size() + 10, 0);  // Padded.
    encode_l2_header(Framing::kUdpIpv4, a, b, frame.size(), p.data());
    std::copy(frame.begin(), frame.end(), p.begin() + 42);
    std::span<const uint8_t> out;
    ASSERT_EQ(decode_l2(Framing::kUdpIpv4, b, p, &out), L2Verdict::kOk);
    EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), frame);
    EXPECT_EQ(decode_l2(Framing::kUdpIpv4, a, p, &out), L2Verdict::kForeign);  // Other MAC.
    L2Endpoint other_port = b;
    other_port.port = 7003;
    EXPECT_EQ(decode_l2(Framing::kUdpIpv4, other_port, p, &out), L2Verdict::kForeign);
    std::vector<uint8_t> bad = p;
    bad[14 + 8] ^= 1;  // TTL changed: header checksum fails.
    EXPECT_EQ(decode_l2(Framing::kUdpIpv4, b, bad, &out), L2Verdict::kMalformed);
    EXPECT_EQ(decode_l2(Framing::kEthernet, b, p, &out), L2Verdict::kForeign);  // EtherType.
}

TEST(EthernetFramingTest, MakeTransportChecksL2Options) {
    TransportOptions o;
    o.kind = "af_packet";
    o.self = NodeId(1);
    o.interface = "lo";
    o.peers = {{NodeId(1), "10.0.0.1", 1, "02:00:00:00:00:01"}, {NodeId(2), "10.0.0.2", 1, ""}};
    auto r = make_transport(o);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("no MAC"), std::string::npos) << r.status().to_string();
    o.peers[1].mac = "02:00:00:00:00:02";
    o.framing = "vlan";
    r = make_transport(o);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("framing"), std::string::npos) << r.status().to_string();
    o.framing = "ethernet";
    o.interface = "rlog-no-such-if";
    r = make_transport(o);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("no interface"), std::string::npos)
            << r.status().to_string();
}

}  // namespace
}  // namespace rlog::dataplane
