// SPDX-License-Identifier: Apache-2.0
//
// LatencyHistogram: the bucket layout covers 0..100 s without gaps at < 1% relative width,
// percentiles of a known uniform distribution land within 1%, p100 is the exact maximum, merge
// equals recording both inputs, an empty histogram reports zeros, and out-of-range values are
// clamped and counted.

#include "bench/support/latency_histogram.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::bench {
namespace {

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
    LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
    EXPECT_EQ(h.percentile(0), 0u);
    EXPECT_EQ(h.percentile(50), 0u);
    EXPECT_EQ(h.percentile(100), 0u);
    EXPECT_EQ(h.clamped_count(), 0u);
    int buckets = 0;
    h.for_each_bucket([&](const LatencyHistogram::Bucket&) { buckets++; });
    EXPECT_EQ(buckets, 0);
}

TEST(LatencyHistogramTest, BucketsTileTheRangeAtUnderOnePercent) {
    const size_t n = LatencyHistogram::bucket_count();
    ASSERT_GT(n, 256u);
    EXPECT_EQ(LatencyHistogram::bucket_low(0), 0u);
    for (size_t i = 0; i < n; i++) {
        const uint64_t low = LatencyHistogram::bucket_low(i);
        const uint64_t high = LatencyHistogram::bucket_high(i);
        ASSERT_LE(low, high) << i;
        ASSERT_EQ(LatencyHistogram::bucket_index(low), i) << i;
        ASSERT_EQ(LatencyHistogram::bucket_index(high), i) << i;
        if (i + 1 < n) {
            ASSERT_EQ(LatencyHistogram::bucket_low(i + 1), high + 1) << i;
        }
        if (high > low) {
            // Exact below 256 ns; above, at most 1/128 (< 1%) of the smallest value held.
            ASSERT_LE(static_cast<double>(high - low + 1) / static_cast<double>(low), 1.0 / 128)
                    << i;
        }
    }
    EXPECT_GE(LatencyHistogram::bucket_high(n - 1), LatencyHistogram::kMaxTrackableNs);
    EXPECT_EQ(LatencyHistogram::bucket_index(UINT64_MAX), n - 1);
}

TEST(LatencyHistogramTest, UniformPercentilesWithinOnePercent) {
    LatencyHistogram h;
    constexpr uint64_t kN = 1'000'000;
    for (uint64_t v = 1; v <= kN; v++) {
        h.record(v);
    }
    EXPECT_EQ(h.count(), kN);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), kN);
    EXPECT_DOUBLE_EQ(h.mean(), 500000.5);
    EXPECT_EQ(h.percentile(0), 1u);
    EXPECT_EQ(h.percentile(100), kN);
    for (const double p : {0.01, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999}) {
        const double exact = std::ceil(p / 100.0 * kN);
        const double got = static_cast<double>(h.percentile(p));
        EXPECT_NEAR(got, exact, exact * 0.01) << "p" << p;
        EXPECT_GE(got, exact) << "reported value is the top of the bucket, p" << p;
    }
}

TEST(LatencyHistogramTest, PercentileHundredIsExactMax) {
    LatencyHistogram h;
    h.record(1'000'003);
    h.record(17);
    EXPECT_EQ(h.percentile(100), 1'000'003u);
    EXPECT_EQ(h.percentile(0), 17u);
    EXPECT_EQ(h.percentile(50), 17u);
    EXPECT_LE(h.percentile(99.99), 1'000'003u);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingBoth) {
    LatencyHistogram a;
    LatencyHistogram b;
    LatencyHistogram both;
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const uint64_t v = (x >> 20) % 50'000'000;
        (i % 3 == 0 ? a : b).record(v);
        both.record(v);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), both.count());
    EXPECT_EQ(a.min(), both.min());
    EXPECT_EQ(a.max(), both.max());
    EXPECT_DOUBLE_EQ(a.mean(), both.mean());
    for (const double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
        EXPECT_EQ(a.percentile(p), both.percentile(p)) << p;
    }
    std::vector<LatencyHistogram::Bucket> ba;
    std::vector<LatencyHistogram::Bucket> bb;
    a.for_each_bucket([&](const LatencyHistogram::Bucket& k) { ba.push_back(k); });
    both.for_each_bucket([&](const LatencyHistogram::Bucket& k) { bb.push_back(k); });
    ASSERT_EQ(ba.size(), bb.size());
    for (size_t i = 0; i < ba.size(); i++) {
        EXPECT_EQ(ba[i].low_ns, bb[i].low_ns);
        EXPECT_EQ(ba[i].count, bb[i].count);
    }
}

TEST(LatencyHistogramTest, MergeIntoEmptyKeepsMinAndMax) {
    LatencyHistogram empty;
    LatencyHistogram b;
    b.record(500);
    b.record(900);
    empty.merge(b);
    EXPECT_EQ(empty.min(), 500u);
    EXPECT_EQ(empty.max(), 900u);
    LatencyHistogram other_empty;
    b.merge(other_empty);
    EXPECT_EQ(b.min(), 500u);
    EXPECT_EQ(b.count(), 2u);
}

TEST(LatencyHistogramTest, ClampedValuesAreCounted) {
    LatencyHistogram h;
    h.record(LatencyHistogram::kMaxTrackableNs);
    EXPECT_EQ(h.clamped_count(), 0u);
    h.record(LatencyHistogram::kMaxTrackableNs + 1);
    h.record(UINT64_MAX / 4);
    EXPECT_EQ(h.clamped_count(), 2u);
    EXPECT_EQ(h.count(), 3u);
    EXPECT_EQ(h.max(), UINT64_MAX / 4);
    EXPECT_EQ(h.percentile(100), UINT64_MAX / 4);
    // The clamped values sit in the top bucket, so the median is reported there.
    EXPECT_GE(h.percentile(50), LatencyHistogram::kMaxTrackableNs);
}

TEST(LatencyHistogramTest, ForEachBucketVisitsNonEmptyBucketsInOrder) {
    LatencyHistogram h;
    h.record(5);
    h.record(5);
    h.record(1'000'000);
    h.record(300);
    std::vector<LatencyHistogram::Bucket> seen;
    h.for_each_bucket([&](const LatencyHistogram::Bucket& b) { seen.push_back(b); });
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].low_ns, 5u);
    EXPECT_EQ(seen[0].count, 2u);
    EXPECT_LE(seen[1].low_ns, 300u);
    EXPECT_GE(seen[1].high_ns, 300u);
    EXPECT_LE(seen[2].low_ns, 1'000'000u);
    EXPECT_GE(seen[2].high_ns, 1'000'000u);
}

TEST(LatencyHistogramTest, ResetForgetsEverything) {
    LatencyHistogram h;
    h.record(42);
    h.record(LatencyHistogram::kMaxTrackableNs * 2);
    h.reset();
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.clamped_count(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.percentile(50), 0u);
    h.record(7);
    EXPECT_EQ(h.min(), 7u);
    EXPECT_EQ(h.percentile(50), 7u);
}

}  // namespace
}  // namespace rlog::bench
