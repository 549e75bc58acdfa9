// SPDX-License-Identifier: Apache-2.0
//
// Tests for the sequencer state machine (Raft thesis §6.3, client sessions): command encoding is
// strict, first-time requests get gapless numbers, retries get their original number, stale,
// expired and malformed entries consume no number, eviction is deterministic (two sequencers fed
// the same entries end in the same state), and the committed stream reads back by range.

#include "node/sequencer.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::node {
namespace {

std::vector<uint8_t> cmd(uint64_t client, uint64_t request, uint64_t ack_below, uint8_t byte = 7) {
    return encode_command(Command{client, request, ack_below, std::vector<uint8_t>(3, byte)});
}

// Feeds entries at consecutive log indexes, term 1.
class Feeder {
  public:
    explicit Feeder(Sequencer* s) : s_(s) {}
    ApplyResult operator()(const std::vector<uint8_t>& payload) {
        ++index_;
        return s_->apply(index_, Term(1), payload);
    }

  private:
    Sequencer* s_;
    LogIndex index_;
};

TEST(CommandTest, EncodeDecodeRoundTripsAndRejectsBadLengths) {
    const Command c{42, 7, 3, {1, 2, 3, 4, 5}};
    const std::vector<uint8_t> bytes = encode_command(c);
    ASSERT_EQ(bytes.size(), kCommandHeaderBytes + 5);
    Result<Command> d = decode_command(bytes);
    ASSERT_TRUE(d.is_ok());
    EXPECT_EQ(d->client_id, 42u);
    EXPECT_EQ(d->request_no, 7u);
    EXPECT_EQ(d->ack_below, 3u);
    EXPECT_EQ(d->data, c.data);
    for (size_t len = 0; len < bytes.size(); ++len) {
        EXPECT_FALSE(decode_command(std::span(bytes.data(), len)).is_ok()) << len;
    }
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_command(longer).is_ok());
    EXPECT_TRUE(decode_command(encode_command(Command{1, 1, 1, {}})).is_ok());
}

TEST(SequencerTest, FirstTimeRequestsGetGaplessNumbers) {
    Sequencer s;
    Feeder feed(&s);
    uint64_t expect = 1;
    for (uint64_t client = 1; client <= 3; ++client) {
        for (uint64_t r = 1; r <= 10; ++r) {
            const ApplyResult a = feed(cmd(client, r, 1));
            EXPECT_EQ(a.seq, expect++);
            EXPECT_FALSE(a.duplicate);
            EXPECT_EQ(a.client_id, client);
            EXPECT_EQ(a.request_no, r);
        }
    }
    EXPECT_EQ(s.last_seq(), 30u);
    EXPECT_EQ(s.counters().sequenced, 30u);
}

TEST(SequencerTest, RetryGetsItsOriginalNumber) {
    Sequencer s;
    Feeder feed(&s);
    const ApplyResult first = feed(cmd(5, 1, 1));
    feed(cmd(6, 1, 1));
    const ApplyResult retry = feed(cmd(5, 1, 1));
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.seq, first.seq);
    EXPECT_EQ(retry.index, first.index);
    EXPECT_EQ(retry.term, first.term);
    EXPECT_EQ(feed(cmd(5, 2, 1)).seq, 3u);
    EXPECT_EQ(s.last_seq(), 3u);
    EXPECT_EQ(s.counters().duplicates, 1u);
}

TEST(SequencerTest, RequestBelowAckBelowIsStale) {
    Sequencer s;
    Feeder feed(&s);
    feed(cmd(5, 1, 1));
    feed(cmd(5, 2, 1));
    EXPECT_EQ(feed(cmd(5, 3, 3)).seq, 3u);  // The client holds answers for 1 and 2.
    const ApplyResult late = feed(cmd(5, 1, 1));
    EXPECT_TRUE(late.stale);
    EXPECT_EQ(late.seq, 0u);
    EXPECT_EQ(s.last_seq(), 3u);
    EXPECT_EQ(s.counters().stale, 1u);
}

TEST(SequencerTest, MalformedPayloadConsumesNoNumber) {
    Sequencer s;
    Feeder feed(&s);
    EXPECT_TRUE(feed({1, 2, 3}).malformed);
    EXPECT_TRUE(feed(cmd(0, 1, 1)).malformed);  // client_id 0
    EXPECT_TRUE(feed(cmd(1, 0, 0)).malformed);  // request_no 0
    EXPECT_TRUE(feed(cmd(1, 2, 3)).malformed);  // ack_below > request_no
    std::vector<uint8_t> extra = cmd(1, 1, 1);
    extra.push_back(9);
    EXPECT_TRUE(feed(extra).malformed);
    EXPECT_EQ(s.counters().malformed, 5u);
    EXPECT_EQ(feed(cmd(1, 1, 1)).seq, 1u);
}

TEST(SequencerTest, WindowEvictionExpiresForgottenRequests) {
    Sequencer s(SequencerOptions{16, 2});
    Feeder feed(&s);
    feed(cmd(1, 1, 1));
    feed(cmd(1, 2, 1));
    feed(cmd(1, 3, 1));  // Forgets request 1.
    EXPECT_EQ(s.counters().window_evictions, 1u);
    const ApplyResult r1 = feed(cmd(1, 1, 1));
    EXPECT_TRUE(r1.expired);
    EXPECT_EQ(r1.seq, 0u);
    EXPECT_TRUE(feed(cmd(1, 2, 1)).duplicate);
    EXPECT_EQ(s.last_seq(), 3u);
}

TEST(SequencerTest, EvictedClientWithAnswersIsExpiredNotResequenced) {
    Sequencer s(SequencerOptions{2, 8});
    Feeder feed(&s);
    feed(cmd(1, 1, 1));
    feed(cmd(2, 1, 1));
    feed(cmd(3, 1, 1));  // Evicts client 1 (least recently active).
    EXPECT_EQ(s.counters().sessions_evicted, 1u);
    EXPECT_EQ(s.session_count(), 2u);
    const ApplyResult again = feed(cmd(1, 2, 2));  // Client 1 holds the answer for request 1.
    EXPECT_TRUE(again.expired);
    EXPECT_EQ(s.last_seq(), 3u);
    // Client 2 is still known: its retry is a duplicate.
    EXPECT_TRUE(feed(cmd(2, 1, 1)).duplicate);
}

// Every replica applies the same entries; eviction depends only on them, so the states match.
TEST(SequencerTest, EvictionIsDeterministicAcrossReplicas) {
    std::mt19937_64 rng(12345);
    std::vector<std::vector<uint8_t>> entries;
    std::vector<uint64_t> next_request(40, 1);
    for (int i = 0; i < 5000; ++i) {
        const uint64_t client = 1 + rng() % 40;
        uint64_t& next = next_request[client - 1];
        uint64_t request = next;
        if (rng() % 4 == 0 && next > 1) {
            request = 1 + rng() % (next - 1);  // A retry of an older request.
        } else {
            ++next;
        }
        const uint64_t ack = request > 3 ? request - 3 : 1;
        entries.push_back(rng() % 50 == 0 ? std::vector<uint8_t>{1} : cmd(client, request, ack));
    }
    Sequencer a(SequencerOptions{16, 4});
    Sequencer b(SequencerOptions{16, 4});
    Feeder fa(&a);
    Feeder fb(&b);
    for (const auto& e : entries) {
        const ApplyResult ra = fa(e);
        const ApplyResult rb = fb(e);
        ASSERT_EQ(ra.seq, rb.seq);
        ASSERT_EQ(ra.duplicate, rb.duplicate);
        ASSERT_EQ(ra.expired, rb.expired);
        ASSERT_EQ(ra.stale, rb.stale);
    }
    EXPECT_EQ(a.digest(), b.digest());
    EXPECT_EQ(a.last_seq(), b.last_seq());
    EXPECT_GT(a.counters().sessions_evicted, 0u);
    EXPECT_GT(a.counters().duplicates, 0u);
    EXPECT_GT(a.counters().malformed, 0u);
    EXPECT_EQ(a.counters().sequenced, a.last_seq());
    // A different history gives a different state.
    Sequencer c(SequencerOptions{16, 4});
    Feeder fc(&c);
    for (size_t i = 0; i + 1 < entries.size(); ++i) {
        fc(entries[i]);
    }
    fc(cmd(999, 1, 1));
    EXPECT_NE(c.digest(), a.digest());
}

TEST(SequencerTest, ReadReturnsRangesInOrder) {
    Sequencer s;
    Feeder feed(&s);
    for (uint8_t i = 1; i <= 20; ++i) {
        feed(cmd(1, i, 1, i));
    }
    std::vector<SequencedMessage> out;
    ASSERT_TRUE(s.read(5, 3, &out).is_ok());
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].seq, 5u);
    EXPECT_EQ(out[2].seq, 7u);
    EXPECT_EQ(out[0].request_no, 5u);
    EXPECT_EQ(out[0].data, std::vector<uint8_t>(3, 5));
    EXPECT_EQ(out[0].index, LogIndex(5));
    out.clear();
    ASSERT_TRUE(s.read(0, 100, &out).is_ok());
    ASSERT_EQ(out.size(), 20u);
    EXPECT_EQ(out.front().seq, 1u);
    EXPECT_EQ(out.back().seq, 20u);
    out.clear();
    ASSERT_TRUE(s.read(18, 100, &out).is_ok());
    EXPECT_EQ(out.size(), 3u);
    out.clear();
    ASSERT_TRUE(s.read(21, 100, &out).is_ok());
    EXPECT_TRUE(out.empty());
}

TEST(SequencerTest, RetainedStreamIsBoundedWhenAsked) {
    SequencerOptions o;
    o.stream_retained_max = 4;
    Sequencer s(o);
    Feeder feed(&s);
    for (uint8_t i = 1; i <= 10; ++i) {
        feed(cmd(1, i, 1, i));
    }
    std::vector<SequencedMessage> out;
    EXPECT_EQ(s.read(6, 10, &out).code(), ErrorCode::kNotFound);
    EXPECT_TRUE(out.empty());
    ASSERT_TRUE(s.read(7, 10, &out).is_ok());
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out.front().seq, 7u);
    EXPECT_EQ(out.back().seq, 10u);
    // Sequencing is unaffected: a retry of an old request still gets its number.
    EXPECT_EQ(feed(cmd(1, 2, 1, 2)).seq, 2u);
}

// A retry carries the data of the original. The same request number with other data is not a
// retry but a reused client id: it gets no number, and in particular not the original's.
TEST(SequencerTest, SameRequestNumberWithOtherDataIsAConflict) {
    Sequencer s;
    Feeder feed(&s);
    EXPECT_EQ(feed(cmd(5, 1, 1, 0x11)).seq, 1u);
    const ApplyResult reused = feed(cmd(5, 1, 1, 0x22));
    EXPECT_TRUE(reused.conflict);
    EXPECT_EQ(reused.seq, 0u);
    EXPECT_FALSE(reused.duplicate);
    EXPECT_EQ(s.counters().conflicts, 1u);
    EXPECT_EQ(s.last_seq(), 1u);
    // The genuine retry still gets its number back.
    const ApplyResult retry = feed(cmd(5, 1, 1, 0x11));
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.seq, 1u);
}

}  // namespace
}  // namespace rlog::node
