// SPDX-License-Identifier: Apache-2.0
//
// Tests of MessageChannel (dataplane/channel.h) over the in-memory fake network: delivery of
// every message type, bursts, segmentation of large messages, and the receive-side defences
// (lost, duplicated and reordered segments, garbled, foreign and misaddressed frames), each
// checked through the counters in ChannelStats; and the zero-copy send path through a transport
// that lends its transmit buffers (Transport::tx_buffer/send_lent). DESIGN.md: "a lost segment
// drops the message and Raft's retransmission covers it"; "a short, long or garbled frame is
// counted and dropped".

#include "dataplane/channel.h"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "dataplane/codec.h"
#include "tests/dataplane/test_messages.h"
#include "tests/support/fake_transport.h"

namespace rlog::dataplane {
namespace {

using consensus::Message;
using consensus::MessageType;
using rlog::testing::FakeNetwork;
using rlog::testing::FakeNetworkOptions;

constexpr uint32_t kCluster = 77;

ChannelOptions channel_options(uint32_t self, size_t slots = 64) {
    ChannelOptions o;
    o.cluster_id = kCluster;
    o.self = NodeId(self);
    o.reassembly_slots_max = slots;
    return o;
}

uint64_t dropped(const MessageChannel& c, FrameError e) {
    return c.stats().frames_dropped[static_cast<size_t>(e)];
}

uint64_t dropped_total(const MessageChannel& c) {
    uint64_t n = 0;
    for (uint64_t v : c.stats().frames_dropped) {
        n += v;
    }
    return n;
}

// Polls until the fake inbox of `id` is empty.
std::vector<Message> drain(FakeNetwork* net, NodeId id, MessageChannel* channel) {
    std::vector<Message> out;
    for (int i = 0; i < 100000 && net->pending(id) > 0; i++) {
        channel->poll(&out);
    }
    EXPECT_EQ(net->pending(id), 0u);
    return out;
}

// Frames needed for an encoded message of `bytes` at `mtu`.
size_t segments_for(size_t bytes, size_t mtu) {
    const size_t p = frame_payload_max(mtu);
    return std::max<size_t>(1, (bytes + p - 1) / p);
}

// A multi-segment append addressed to node 2, distinguishable by `salt`.
Message big_append(uint64_t salt, size_t entries = 40) {
    return test::make_append(entries, 64, salt);
}

// A transport that lends transmit buffers, over an endpoint of the fake network: at most
// `lend_max` buffers per send_lent, the `refuse_every`-th tx_buffer request and the one after it
// refused (so the channel's retry after send_lent is refused too; 0: none), and
// send_lent transmits at most `ring_free` frames (the rest count as not sent). It records how
// each frame came in, so a test can check that the channel encoded frames into lent buffers.
class LendingTransport final : public Transport {
  public:
    LendingTransport(Transport* inner, size_t lend_max)
            : inner_(inner), buffers_(lend_max, std::vector<uint8_t>(inner->mtu_bytes())) {}

    size_t refuse_every = 0;
    size_t ring_free = SIZE_MAX;
    size_t lent_total = 0;  // Buffers handed out by tx_buffer.
    size_t lent_sent = 0;   // Lent frames passed on by send_lent.
    size_t send_lent_calls = 0;
    size_t copied_frames = 0;  // Frames that came through send_burst (the copying path).
    std::vector<char> path;    // 'L' (lent) or 'C' (copied) per frame passed on, in order.

    bool lends_tx_buffers() const noexcept override { return true; }
    std::span<uint8_t> tx_buffer(NodeId peer, size_t bytes) noexcept override {
        asks_++;
        if (lent_.size() == buffers_.size() || bytes == 0 || bytes > mtu_bytes() ||
            (refuse_every != 0 && asks_ % refuse_every <= 1)) {
            return {};
        }
        std::vector<uint8_t>& b = buffers_[lent_.size()];
        std::fill(b.begin(), b.end(), 0xEE);  // Whatever was there before must be overwritten.
        lent_.push_back(TxFrame{peer, std::span<const uint8_t>(b.data(), bytes)});
        lent_total++;
        return {b.data(), bytes};
    }
    size_t send_lent(size_t count) noexcept override {
        EXPECT_LE(count, lent_.size());
        send_lent_calls++;
        const uint64_t before = inner_->stats().frames_sent;
        const size_t n = std::min(count, ring_free);
        size_t sent = 0;
        while (sent < n) {
            const size_t k =
                    inner_->send_burst(std::span<const TxFrame>(lent_).subspan(sent, n - sent));
            if (k == 0) {
                break;
            }
            sent += k;
        }
        lent_sent += sent;
        path.insert(path.end(), sent, 'L');
        lent_.clear();
        return inner_->stats().frames_sent - before;
    }
    size_t send_burst(std::span<const TxFrame> frames) noexcept override {
        const size_t n = inner_->send_burst(frames);
        copied_frames += n;
        path.insert(path.end(), n, 'C');
        return n;
    }
    size_t poll_burst(std::span<RxFrame> out) noexcept override { return inner_->poll_burst(out); }
    void wait_readable(uint64_t timeout_us) noexcept override { inner_->wait_readable(timeout_us); }
    const char* name() const noexcept override { return "lending"; }
    size_t mtu_bytes() const noexcept override { return inner_->mtu_bytes(); }
    const TransportStats& stats() const noexcept override { return inner_->stats(); }

  private:
    Transport* inner_;
    std::vector<std::vector<uint8_t>> buffers_;
    std::vector<TxFrame> lent_;
    size_t asks_ = 0;
};

TEST(ChannelTest, DeliversEveryMessageType) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    const std::vector<Message> sent = test::one_of_each_type();
    a.send(sent);
    EXPECT_EQ(a.stats().messages_sent, sent.size());
    EXPECT_EQ(a.stats().segments_sent, sent.size());
    EXPECT_EQ(a.stats().send_dropped, 0u);
    std::vector<Message> got = drain(&net, NodeId(2), &b);
    EXPECT_EQ(got, sent);
    EXPECT_EQ(b.stats().messages_received, sent.size());
    EXPECT_EQ(dropped_total(b), 0u);
}

TEST(ChannelTest, BurstLargerThanBurstMaxArrivesInOrder) {
    FakeNetworkOptions o;
    o.burst_max = 8;
    FakeNetwork net(o);
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<Message> sent;
    for (uint64_t i = 0; i < 300; i++) {
        sent.push_back(test::make_message(MessageType::kAppendResponse, i));
    }
    a.send(sent);
    std::vector<Message> got;
    size_t polls = 0;
    while (net.pending(NodeId(2)) > 0) {
        const size_t n = b.poll(&got);
        EXPECT_LE(n, 8u);
        polls++;
    }
    EXPECT_EQ(got, sent);
    EXPECT_GE(polls, 300u / 8);
}

TEST(ChannelTest, ReassemblesOneMebibyteMessageAtMtu1500) {
    FakeNetwork net(FakeNetworkOptions{});  // mtu 1500.
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    const Message m = test::make_append(16384, 64, 9);  // 1 MiB of payload.
    a.send({&m, 1});
    const size_t segments = segments_for(encoded_size(m), 1500);
    EXPECT_GT(segments, 700u);
    EXPECT_EQ(a.stats().segments_sent, segments);
    std::vector<Message> got = drain(&net, NodeId(2), &b);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
    EXPECT_EQ(b.stats().reassembly_pending, 0u);
}

TEST(ChannelTest, MessageLengthAtSegmentBoundariesRoundTrips) {
    FakeNetworkOptions o;
    o.mtu_bytes = 48 + 100;
    FakeNetwork net(o);
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    // Append request = 45 bytes + 21 per entry + payload: sizes around 100, 200 and 300 bytes.
    std::vector<Message> sent;
    for (size_t payload : {33, 34, 35, 133, 134, 135, 233, 234, 235}) {
        Message m = test::make_append(1, payload, payload);
        m.to = NodeId(2);
        sent.push_back(m);
    }
    a.send(sent);
    EXPECT_EQ(drain(&net, NodeId(2), &b), sent);
}

TEST(ChannelTest, LostSegmentDropsMessageAndEvictionIsCounted) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2, /*slots=*/2));
    const size_t segs = segments_for(encoded_size(big_append(1)), 1500);
    ASSERT_GE(segs, 2u);
    // Lose the second segment of the first two messages.
    net.set_drop_filter(
            [segs](uint64_t seq, std::span<const uint8_t>) { return seq == 1 || seq == segs + 1; });
    std::vector<Message> sent = {big_append(1), big_append(2), big_append(3)};
    a.send(sent);
    std::vector<Message> got = drain(&net, NodeId(2), &b);
    // The third message needed a slot: the oldest incomplete one (message 1) was evicted.
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], sent[2]);
    EXPECT_EQ(b.stats().reassembly_dropped, 1u);
    EXPECT_EQ(b.stats().reassembly_pending, 1u);
    EXPECT_EQ(b.stats().messages_received, 1u);
    EXPECT_EQ(net.stats().frames_dropped, 2u);
}

TEST(ChannelTest, DuplicateSegmentsAreCountedAndDeliveredOnce) {
    FakeNetworkOptions o;
    o.duplicate_rate = 1.0;
    FakeNetwork net(o);
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<Message> sent = {big_append(1), big_append(2)};
    a.send(sent);
    std::vector<Message> got = drain(&net, NodeId(2), &b);
    EXPECT_EQ(got, sent);
    // Every segment arrived twice; the copy of each last segment came after completion.
    EXPECT_EQ(b.stats().duplicate_segments, a.stats().segments_sent);
    EXPECT_EQ(b.stats().reassembly_pending, 0u);
}

TEST(ChannelTest, ReorderedSegmentsStillReassemble) {
    FakeNetworkOptions o;
    o.reorder_rate = 1.0;
    o.seed = 5;
    FakeNetwork net(o);
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<Message> sent;
    for (uint64_t i = 0; i < 10; i++) {
        sent.push_back(big_append(i, 30 + i * 7));
    }
    a.send(sent);
    EXPECT_GT(net.stats().frames_reordered, 0u);
    std::vector<Message> got = drain(&net, NodeId(2), &b);
    ASSERT_EQ(got.size(), sent.size());
    for (const Message& m : sent) {
        EXPECT_EQ(std::count(got.begin(), got.end(), m), 1);
    }
    EXPECT_EQ(b.stats().reassembly_pending, 0u);
}

// Under random loss, duplication and reordering, everything delivered is exactly something
// sent (never a mix of two messages), and multi-segment messages arrive at most once (the
// duplicate window of recently completed messages covers these seeds).
TEST(ChannelTest, RandomFaultsNeverDeliverCorruptMessages) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
        FakeNetworkOptions o;
        o.seed = seed;
        o.drop_rate = 0.02;
        o.duplicate_rate = 0.05;
        o.reorder_rate = 0.3;
        o.burst_max = 16;
        FakeNetwork net(o);
        MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
        MessageChannel b(net.endpoint(NodeId(2)), channel_options(2, 8));
        std::mt19937_64 rng(seed);
        std::vector<Message> sent;
        for (uint64_t i = 0; i < 100; i++) {
            sent.push_back(big_append(seed * 1000 + i, 1 + rng() % 60));
        }
        a.send(sent);
        std::vector<Message> got = drain(&net, NodeId(2), &b);
        for (const Message& m : got) {
            ASSERT_EQ(std::count(sent.begin(), sent.end(), m), 1) << "seed " << seed;
        }
        for (const Message& m : sent) {
            if (segments_for(encoded_size(m), 1500) > 1) {
                EXPECT_LE(std::count(got.begin(), got.end(), m), 1) << "seed " << seed;
            }
        }
        EXPECT_EQ(b.stats().messages_undecodable, 0u) << "seed " << seed;
        EXPECT_EQ(dropped_total(b), 0u) << "seed " << seed;
        EXPECT_LE(got.size(), sent.size() + net.stats().frames_duplicated);
    }
}

TEST(ChannelTest, ForeignClusterAndWrongReceiverAreCounted) {
    FakeNetwork net(FakeNetworkOptions{});
    ChannelOptions other_cluster = channel_options(1);
    other_cluster.cluster_id = kCluster + 1;
    MessageChannel foreign(net.endpoint(NodeId(1)), other_cluster);
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    MessageChannel c(net.endpoint(NodeId(3)), channel_options(3));
    const Message to_b = test::make_message(MessageType::kVoteRequest);
    foreign.send({&to_b, 1});
    // A frame addressed to node 2 that lands at node 3 (misrouted).
    std::vector<uint8_t> payload;
    encode_message(to_b, &payload);
    FrameHeader h;
    h.cluster_id = kCluster;
    h.sender = NodeId(1);
    h.receiver = NodeId(2);
    h.message_length = static_cast<uint32_t>(payload.size());
    h.payload_length = h.message_length;
    std::vector<uint8_t> frame(kFrameHeaderBytes + payload.size());
    encode_frame(h, payload, frame);
    net.inject(NodeId(3), frame);

    EXPECT_TRUE(drain(&net, NodeId(2), &b).empty());
    EXPECT_TRUE(drain(&net, NodeId(3), &c).empty());
    EXPECT_EQ(dropped(b, FrameError::kForeignCluster), 1u);
    EXPECT_EQ(dropped(c, FrameError::kWrongReceiver), 1u);
    EXPECT_EQ(dropped_total(b) + dropped_total(c), 2u);
}

// Every single-bit flip of a real frame reaching the channel is dropped and counted once,
// whatever the reason, and nothing is delivered.
TEST(ChannelTest, EveryBitFlipOfAFrameIsCountedAndDropped) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<uint8_t> payload;
    encode_message(test::make_message(MessageType::kAppendResponse), &payload);
    FrameHeader h;
    h.cluster_id = kCluster;
    h.sender = NodeId(1);
    h.receiver = NodeId(2);
    h.message_length = static_cast<uint32_t>(payload.size());
    h.payload_length = h.message_length;
    std::vector<uint8_t> frame(kFrameHeaderBytes + payload.size());
    encode_frame(h, payload, frame);
    for (size_t bit = 0; bit < frame.size() * 8; bit++) {
        std::vector<uint8_t> flipped = frame;
        flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        net.inject(NodeId(2), flipped);
    }
    EXPECT_TRUE(drain(&net, NodeId(2), &b).empty());
    EXPECT_EQ(dropped_total(b), frame.size() * 8);
    EXPECT_GT(dropped(b, FrameError::kBadCrc), 0u);
    EXPECT_EQ(dropped(b, FrameError::kBadMagic), 32u);
    // The intact frame still gets through afterwards.
    net.inject(NodeId(2), frame);
    EXPECT_EQ(drain(&net, NodeId(2), &b).size(), 1u);
}

TEST(ChannelTest, TruncatedAndGarbageFramesAreCounted) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<uint8_t> payload;
    encode_message(test::make_append(2, 10), &payload);
    FrameHeader h;
    h.cluster_id = kCluster;
    h.sender = NodeId(1);
    h.receiver = NodeId(2);
    h.message_length = static_cast<uint32_t>(payload.size());
    h.payload_length = h.message_length;
    std::vector<uint8_t> frame(kFrameHeaderBytes + payload.size());
    encode_frame(h, payload, frame);
    for (size_t n = 0; n < frame.size(); n++) {
        net.inject(NodeId(2), std::span<const uint8_t>(frame.data(), n));
    }
    std::mt19937_64 rng(3);
    for (int i = 0; i < 1000; i++) {
        std::vector<uint8_t> junk(rng() % 200);
        for (uint8_t& x : junk) {
            x = static_cast<uint8_t>(rng());
        }
        net.inject(NodeId(2), junk);
    }
    EXPECT_TRUE(drain(&net, NodeId(2), &b).empty());
    EXPECT_GE(dropped(b, FrameError::kShort), frame.size());
    EXPECT_EQ(dropped_total(b), frame.size() + 1000);
}

TEST(ChannelTest, FrameWithValidCrcButUndecodableMessageIsCounted) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<uint8_t> payload = {9, 1, 2, 3};  // Unknown message type 9.
    FrameHeader h;
    h.cluster_id = kCluster;
    h.sender = NodeId(1);
    h.receiver = NodeId(2);
    h.message_length = 4;
    h.payload_length = 4;
    std::vector<uint8_t> frame(kFrameHeaderBytes + 4);
    encode_frame(h, payload, frame);
    net.inject(NodeId(2), frame);
    EXPECT_TRUE(drain(&net, NodeId(2), &b).empty());
    EXPECT_EQ(b.stats().messages_undecodable, 1u);
    EXPECT_EQ(dropped_total(b), 0u);
}

TEST(ChannelTest, InconsistentSegmentsAreCountedAsBadSegment) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<uint8_t> payload(100, 0xab);
    FrameHeader h;
    h.cluster_id = kCluster;
    h.sender = NodeId(1);
    h.receiver = NodeId(2);
    h.message_id = 42;
    h.segment_count = 3;
    h.message_length = 250;
    auto send_segment = [&](uint16_t index, size_t length, uint32_t message_length) {
        h.segment_index = index;
        h.payload_length = static_cast<uint32_t>(length);
        h.message_length = message_length;
        std::vector<uint8_t> frame(kFrameHeaderBytes + length);
        encode_frame(h, std::span<const uint8_t>(payload.data(), length), frame);
        net.inject(NodeId(2), frame);
    };
    send_segment(0, 100, 250);  // Establishes 100-byte segments.
    send_segment(1, 90, 250);   // Non-last segment of another size.
    send_segment(2, 40, 250);   // Last segment must be 50 bytes.
    send_segment(1, 100, 260);  // Same message id, different length.
    send_segment(0, 100, 250);  // Duplicate.
    EXPECT_TRUE(drain(&net, NodeId(2), &b).empty());
    EXPECT_EQ(dropped(b, FrameError::kBadSegment), 3u);
    EXPECT_EQ(b.stats().duplicate_segments, 1u);
    EXPECT_EQ(b.stats().reassembly_pending, 1u);
}

TEST(ChannelTest, OversizedMessagesAreRefusedOnBothSides) {
    FakeNetwork net(FakeNetworkOptions{});
    ChannelOptions small_send = channel_options(1);
    small_send.message_bytes_max = 1000;
    MessageChannel a(net.endpoint(NodeId(1)), small_send);
    MessageChannel a_big(net.endpoint(NodeId(3)), channel_options(3));
    ChannelOptions small_receive = channel_options(2);
    small_receive.message_bytes_max = 1000;
    MessageChannel b(net.endpoint(NodeId(2)), small_receive);
    const Message big = big_append(1, 60);  // About 5 KiB.
    a.send({&big, 1});
    EXPECT_EQ(a.stats().messages_too_large, 1u);
    EXPECT_EQ(a.stats().messages_sent, 0u);
    a_big.send({&big, 1});
    EXPECT_TRUE(drain(&net, NodeId(2), &b).empty());
    EXPECT_EQ(dropped(b, FrameError::kLong), a_big.stats().segments_sent);
    EXPECT_EQ(b.stats().reassembly_pending, 0u);
}

TEST(ChannelTest, FramesToUnknownPeersAreCountedAsSendDropped) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    Message m = test::make_message(MessageType::kVoteRequest);
    m.to = NodeId(9);  // No such endpoint.
    a.send({&m, 1});
    EXPECT_EQ(a.stats().send_dropped, 1u);
    EXPECT_EQ(net.stats().frames_sent, 0u);
}

TEST(ChannelTest, LentBuffersCarrySingleAndSegmentedMessagesIntact) {
    FakeNetwork net(FakeNetworkOptions{});  // mtu 1500.
    LendingTransport lender(net.endpoint(NodeId(1)), 4);
    MessageChannel a(&lender, channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<Message> sent = test::one_of_each_type();
    const Message big = big_append(3, 200);
    const size_t big_segments = segments_for(encoded_size(big), 1500);
    EXPECT_GT(big_segments, 8u);  // More than two bursts of lent buffers.
    sent.push_back(big);
    sent.push_back(test::make_message(MessageType::kAppendResponse, 5));
    a.send(sent);
    EXPECT_EQ(a.stats().segments_sent, sent.size() - 1 + big_segments);
    EXPECT_EQ(a.stats().send_dropped, 0u);
    // Every frame was encoded into a lent buffer and sent through send_lent, in bursts of at
    // most 4: nothing took the copying path.
    EXPECT_EQ(lender.copied_frames, 0u);
    EXPECT_EQ(lender.lent_total, a.stats().segments_sent);
    EXPECT_EQ(lender.lent_sent, a.stats().segments_sent);
    EXPECT_GE(lender.send_lent_calls, a.stats().segments_sent / 4);
    EXPECT_EQ(drain(&net, NodeId(2), &b), sent);
    EXPECT_EQ(dropped_total(b), 0u);
}

TEST(ChannelTest, RefusedLendingFallsBackToCopyingAndKeepsOrder) {
    FakeNetwork net(FakeNetworkOptions{});
    LendingTransport lender(net.endpoint(NodeId(1)), 8);
    lender.refuse_every = 5;
    MessageChannel a(&lender, channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<Message> sent;
    for (uint64_t i = 0; i < 100; i++) {
        sent.push_back(test::make_message(MessageType::kAppendResponse, i));
    }
    sent.push_back(big_append(4));
    a.send(sent);
    EXPECT_EQ(a.stats().send_dropped, 0u);
    EXPECT_GT(lender.copied_frames, 0u);
    EXPECT_GT(lender.lent_sent, lender.copied_frames);
    EXPECT_EQ(lender.copied_frames + lender.lent_sent, a.stats().segments_sent);
    const std::string path(lender.path.begin(), lender.path.end());
    EXPECT_NE(path.find("LC"), std::string::npos);
    EXPECT_NE(path.find("CL"), std::string::npos);
    // The fake network neither drops nor reorders: the messages arrive in the order sent.
    EXPECT_EQ(drain(&net, NodeId(2), &b), sent);
}

TEST(ChannelTest, LentFramesTheTransportDoesNotSendAreSendDropped) {
    FakeNetwork net(FakeNetworkOptions{});
    LendingTransport lender(net.endpoint(NodeId(1)), 16);
    lender.ring_free = 3;  // Each send_lent transmits 3 frames; the rest are released unsent.
    MessageChannel a(&lender, channel_options(1));
    MessageChannel b(net.endpoint(NodeId(2)), channel_options(2));
    std::vector<Message> sent;
    for (uint64_t i = 0; i < 10; i++) {
        sent.push_back(test::make_message(MessageType::kVoteResponse, i));
    }
    a.send(sent);
    EXPECT_EQ(lender.send_lent_calls, 1u);
    EXPECT_EQ(a.stats().send_dropped, 7u);
    std::vector<Message> got = drain(&net, NodeId(2), &b);
    EXPECT_EQ(got, std::vector<Message>(sent.begin(), sent.begin() + 3));
    // A frame to an unknown peer through a lending transport is counted the same way.
    Message m = test::make_message(MessageType::kVoteRequest);
    m.to = NodeId(9);
    a.send({&m, 1});
    EXPECT_EQ(a.stats().send_dropped, 8u);
}

TEST(ChannelTest, MessageIdsIncreasePerSender) {
    FakeNetwork net(FakeNetworkOptions{});
    MessageChannel a(net.endpoint(NodeId(1)), channel_options(1));
    std::vector<uint64_t> ids;
    net.set_drop_filter([&ids](uint64_t, std::span<const uint8_t> bytes) {
        FrameHeader h;
        std::span<const uint8_t> payload;
        EXPECT_EQ(decode_frame(bytes, &h, &payload), FrameError::kNone);
        ids.push_back(h.message_id);
        return true;
    });
    net.endpoint(NodeId(2));
    const std::vector<Message> sent = test::one_of_each_type();
    a.send(sent);
    a.send(sent);
    ASSERT_EQ(ids.size(), 2 * sent.size());
    for (size_t i = 1; i < ids.size(); i++) {
        EXPECT_EQ(ids[i], ids[i - 1] + 1);
    }
}

}  // namespace
}  // namespace rlog::dataplane
