// SPDX-License-Identifier: Apache-2.0
//
// Tests for `SpscRing` and `Parker`: single-threaded edge cases (full, empty, bulk pop, wrap
// around), a two-thread stress test that pushes N items and checks order and completeness, and a
// ping-pong between two threads that parks on every step, which would hang (and count a timeout)
// if a wakeup were ever lost.

#include "node/spsc_ring.h"

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "node/parker.h"

namespace rlog::node {
namespace {

TEST(SpscRingTest, FullAndEmptyAreReported) {
    SpscRing<int> ring(4);
    EXPECT_TRUE(ring.empty());
    int out = -1;
    EXPECT_FALSE(ring.try_pop(out));
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(ring.try_push(int{i}));
    }
    EXPECT_EQ(ring.size(), 4u);
    EXPECT_FALSE(ring.try_push(99));
    EXPECT_TRUE(ring.try_pop(out));
    EXPECT_EQ(out, 0);
    EXPECT_TRUE(ring.try_push(4));
    for (int i = 1; i <= 4; ++i) {
        ASSERT_TRUE(ring.try_pop(out));
        EXPECT_EQ(out, i);
    }
    EXPECT_FALSE(ring.try_pop(out));
}

TEST(SpscRingTest, PopBulkTakesAPrefixAcrossTheWrap) {
    SpscRing<std::unique_ptr<int>> ring(8);
    int next = 0;
    int expect = 0;
    std::unique_ptr<int> out[5];
    for (int round = 0; round < 20; ++round) {
        while (ring.try_push(std::make_unique<int>(next))) {
            ++next;
        }
        const size_t n = ring.pop_bulk(out, 5);
        ASSERT_EQ(n, 5u);
        for (size_t i = 0; i < n; ++i) {
            ASSERT_TRUE(out[i]);
            EXPECT_EQ(*out[i], expect++);
        }
    }
    EXPECT_EQ(ring.size(), 3u);
    EXPECT_EQ(ring.pop_bulk(out, 5), 3u);
    EXPECT_EQ(ring.pop_bulk(out, 5), 0u);
}

TEST(SpscRingTest, TwoThreadStressKeepsOrderAndLosesNothing) {
    constexpr uint64_t kItems = 300'000;
    SpscRing<uint64_t> ring(64);
    std::thread producer([&] {
        for (uint64_t i = 1; i <= kItems; ++i) {
            while (!ring.try_push(uint64_t{i})) {
                std::this_thread::yield();
            }
        }
    });
    uint64_t expect = 1;
    uint64_t batch[16];
    bool in_order = true;
    while (expect <= kItems) {
        const size_t n = ring.pop_bulk(batch, 16);
        if (n == 0) {
            uint64_t one = 0;
            if (ring.try_pop(one)) {
                in_order = in_order && one == expect;
                ++expect;
            } else {
                std::this_thread::yield();
            }
            continue;
        }
        for (size_t i = 0; i < n; ++i) {
            in_order = in_order && batch[i] == expect;
            ++expect;
        }
    }
    producer.join();
    EXPECT_TRUE(in_order);
    EXPECT_EQ(expect, kItems + 1);
    EXPECT_TRUE(ring.empty());
}

// Two stages hand one token back and forth through two rings; each waits with no spinning and
// parks every time, so every handoff goes through the park/unpark handshake. A lost wakeup would
// leave a stage asleep until its (long) timeout, which is counted.
TEST(ParkerTest, PingPongNeverLosesAWakeup) {
    constexpr uint64_t kRounds = 20'000;
    constexpr uint64_t kTimeoutNs = 20'000'000'000ULL;
    SpscRing<uint64_t> to_b(2);
    SpscRing<uint64_t> to_a(2);
    Parker park_a;
    Parker park_b;
    uint64_t b_timeouts = 0;
    uint64_t b_parks = 0;
    std::thread b([&] {
        uint64_t v = 0;
        for (uint64_t i = 0; i < kRounds; ++i) {
            while (!to_b.try_pop(v)) {
                park_b.wait([&] { return !to_b.empty(); }, 0, kTimeoutNs);
            }
            ASSERT_TRUE(to_a.try_push(v + 1));
            park_a.unpark();
        }
        b_timeouts = park_b.timeouts();
        b_parks = park_b.parks();
    });
    uint64_t v = 0;
    for (uint64_t i = 0; i < kRounds; ++i) {
        ASSERT_TRUE(to_b.try_push(v + 1));
        park_b.unpark();
        while (!to_a.try_pop(v)) {
            park_a.wait([&] { return !to_a.empty(); }, 0, kTimeoutNs);
        }
    }
    b.join();
    EXPECT_EQ(v, 2 * kRounds);
    EXPECT_EQ(park_a.timeouts(), 0u);
    EXPECT_EQ(b_timeouts, 0u);
    // The handshake really was exercised (not everything caught by the re-check).
    EXPECT_GT(park_a.parks() + b_parks, 0u);
}

TEST(ParkerTest, TimedParkReturnsWithoutAWake) {
    Parker parker;
    EXPECT_FALSE(parker.wait([] { return false; }, 10, 1'000'000));
    EXPECT_EQ(parker.parks(), 1u);
    EXPECT_EQ(parker.timeouts(), 1u);
    EXPECT_TRUE(parker.wait([] { return true; }, 10, 1'000'000));
    EXPECT_EQ(parker.parks(), 1u);
}

TEST(ParkerTest, UnparkWithoutSleeperMakesNoSyscall) {
    Parker parker;
    parker.unpark();
    parker.unpark();
    EXPECT_EQ(parker.wakes_sent(), 0u);
}

}  // namespace
}  // namespace rlog::node
