// SPDX-License-Identifier: Apache-2.0
//
// Workload: the synthetic generator's event-type mix, buy/sell split, new-order sizes and prices
// follow the LOBSTER sample's statistics over 100k messages; the same seed gives the same bytes;
// replaying a file loops with order ids shifted per loop so they stay unique, and times and gaps
// follow the file.

#include "bench/support/workload.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/bench/sample_data.h"

namespace rlog::bench {
namespace {

LobsterMessage decode_or_die(const std::vector<uint8_t>& payload) {
    auto m = decode_order(payload);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    return m.is_ok() ? m.value() : LobsterMessage{};
}

TEST(WorkloadTest, SyntheticMixFollowsSample) {
    constexpr int kMessages = 100'000;
    Workload w = Workload::synthetic(1, 64);
    std::vector<uint8_t> payload;
    std::map<int, int> types;
    int buys = 0;
    int new_orders = 0;
    int new_size_18 = 0;
    int new_size_100 = 0;
    std::vector<int64_t> new_prices;
    uint64_t previous_ns = 0;
    for (int i = 0; i < kMessages; i++) {
        const uint64_t gap_ns = w.next_gap_ns();
        const LobsterMessage expected = w.peek();
        w.next(&payload);
        ASSERT_EQ(payload.size(), 64u);
        const LobsterMessage m = decode_or_die(payload);
        ASSERT_EQ(m, expected);
        if (i > 0) {
            ASSERT_EQ(m.time_ns, previous_ns + gap_ns);
        }
        previous_ns = m.time_ns;
        types[m.event_type]++;
        buys += m.direction == 1 ? 1 : 0;
        if (m.event_type == 1) {
            new_orders++;
            new_size_18 += m.size == 18 ? 1 : 0;
            new_size_100 += m.size == 100 ? 1 : 0;
            new_prices.push_back(m.price);
        }
    }
    EXPECT_EQ(w.produced_count(), static_cast<uint64_t>(kMessages));
    const auto share = [](int n, int total) { return static_cast<double>(n) / total; };
    // Constants of the sample (999 messages): 471 new, 369 deletes, 98 + 61 executions, 412 buys.
    EXPECT_NEAR(share(types[1], kMessages), 471.0 / 999, 0.02);
    EXPECT_NEAR(share(types[3], kMessages), 369.0 / 999, 0.02);
    EXPECT_NEAR(share(types[4], kMessages), 98.0 / 999, 0.02);
    EXPECT_NEAR(share(types[5], kMessages), 61.0 / 999, 0.02);
    EXPECT_EQ(types[2] + types[7], 0);
    EXPECT_NEAR(share(buys, kMessages), 412.0 / 999, 0.03);
    EXPECT_NEAR(share(new_size_18, new_orders), 449.0 / 999, 0.02);
    EXPECT_NEAR(share(new_size_100, new_orders), 173.0 / 999, 0.02);
    std::sort(new_prices.begin(), new_prices.end());
    const int64_t median = new_prices[new_prices.size() / 2];
    EXPECT_NEAR(static_cast<double>(median), 5856100.0, 300.0);  // within 3 cents
    EXPECT_GE(new_prices.front(), 5856100 - 6200);
    EXPECT_LE(new_prices.back(), 5856100 + 17800);
}

TEST(WorkloadTest, SyntheticDeletesAndExecutionsReferToLiveOrders) {
    Workload w = Workload::synthetic(3, 32);
    std::vector<uint8_t> payload;
    std::set<uint64_t> created;
    int references = 0;
    for (int i = 0; i < 20'000; i++) {
        w.next(&payload);
        const LobsterMessage m = decode_or_die(payload);
        if (m.event_type == 1) {
            EXPECT_TRUE(created.insert(m.order_id).second) << "new order id reused: " << m.order_id;
        } else if (created.count(m.order_id) != 0) {
            references++;
        }
    }
    // All but the few generated before any order rested refer to an earlier new order.
    EXPECT_GT(references, 20'000 * 0.5);
}

TEST(WorkloadTest, SyntheticIsDeterministicForSeed) {
    Workload a = Workload::synthetic(42, 48);
    Workload b = Workload::synthetic(42, 48);
    Workload c = Workload::synthetic(43, 48);
    std::vector<uint8_t> pa;
    std::vector<uint8_t> pb;
    std::vector<uint8_t> pc;
    int differences = 0;
    for (int i = 0; i < 10'000; i++) {
        ASSERT_EQ(a.next_gap_ns(), b.next_gap_ns());
        a.next(&pa);
        b.next(&pb);
        c.next(&pc);
        ASSERT_EQ(pa, pb) << "message " << i;
        differences += pa != pc ? 1 : 0;
    }
    EXPECT_GT(differences, 9'000);
}

TEST(WorkloadTest, PayloadIsAtLeastOneRecord) {
    std::vector<uint8_t> payload;
    Workload small = Workload::synthetic(1, 8);
    EXPECT_EQ(small.payload_bytes(), kOrderRecordBytes);
    small.next(&payload);
    EXPECT_EQ(payload.size(), kOrderRecordBytes);
    Workload large = Workload::synthetic(1, 4096);
    large.next(&payload);
    EXPECT_EQ(payload.size(), 4096u);
}

TEST(WorkloadTest, LobsterReplayLoopsWithShiftedIds) {
    const std::vector<LobsterMessage> msgs = {
            {1000, 1, 10, 100, 5850000, 1},
            {1500, 1, 30, 50, 5851000, -1},
            {4000, 3, 10, 100, 5850000, 1},
    };
    Workload w = Workload::from_lobster(msgs, 32);
    EXPECT_FALSE(w.is_synthetic());
    std::vector<uint8_t> payload;
    // Span 3000 ns over 2 gaps: mean gap 1500, so each loop shifts times by 4500 ns and ids by 31.
    const uint64_t expected_gaps[] = {0, 500, 2500, 1500, 500, 2500, 1500};
    for (int i = 0; i < 7; i++) {
        EXPECT_EQ(w.next_gap_ns(), expected_gaps[i]) << i;
        w.next(&payload);
        const LobsterMessage m = decode_or_die(payload);
        const LobsterMessage& original = msgs[i % 3];
        const uint64_t loop = i / 3;
        EXPECT_EQ(m.order_id, original.order_id + loop * 31) << i;
        EXPECT_EQ(m.time_ns, original.time_ns + loop * 4500) << i;
        EXPECT_EQ(m.event_type, original.event_type);
        EXPECT_EQ(m.size, original.size);
        EXPECT_EQ(m.price, original.price);
        EXPECT_EQ(m.direction, original.direction);
    }
    EXPECT_EQ(w.loop_count(), 2u);
    EXPECT_EQ(w.produced_count(), 7u);
}

TEST(WorkloadTest, LobsterReplayOfSampleKeepsNewOrderIdsUnique) {
    const std::string path = test_data::lobster_sample_path();
    ASSERT_FALSE(path.empty());
    auto msgs = load_lobster(path);
    ASSERT_TRUE(msgs.is_ok()) << msgs.status().to_string();
    const size_t n = msgs->size();
    Workload w = Workload::from_lobster(msgs.value(), 64);
    std::vector<uint8_t> payload;
    std::set<uint64_t> new_ids;
    uint64_t previous_ns = 0;
    for (size_t i = 0; i < 3 * n; i++) {
        w.next(&payload);
        const LobsterMessage m = decode_or_die(payload);
        ASSERT_EQ(m.event_type, msgs.value()[i % n].event_type);
        ASSERT_GE(m.time_ns, previous_ns) << i;
        previous_ns = m.time_ns;
        if (m.event_type == 1) {
            ASSERT_TRUE(new_ids.insert(m.order_id).second) << "duplicate new order id at " << i;
        }
    }
    EXPECT_EQ(w.loop_count(), 3u);
}

}  // namespace
}  // namespace rlog::bench
