// SPDX-License-Identifier: Apache-2.0

#include "bench/support/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/assert.h"

namespace rlog::bench {
namespace {

// Values below kLinearLimit (2^kSubBits) map to their own bucket. Above that, a value v with
// floor(log2(v)) == kSubBits - 1 + shift is stored as v >> shift, which lies in [kHalf, 2 * kHalf),
// so each power-of-two range gets kHalf buckets of width 2^shift.
constexpr unsigned kSubBits = 8;
constexpr uint64_t kLinearLimit = uint64_t{1} << kSubBits;  // 256
constexpr uint64_t kHalf = kLinearLimit / 2;                // 128 buckets per power of two

constexpr unsigned shift_of(uint64_t ns) {
    // floor(log2(ns)) - (kSubBits - 1); only for ns >= kLinearLimit, where it is >= 1.
    return static_cast<unsigned>(std::bit_width(ns)) - kSubBits;
}

constexpr size_t index_of(uint64_t ns) {
    if (ns < kLinearLimit) {
        return static_cast<size_t>(ns);
    }
    const unsigned shift = shift_of(ns);
    return static_cast<size_t>(kLinearLimit + (shift - 1) * kHalf + ((ns >> shift) - kHalf));
}

constexpr size_t kBucketCount = index_of(LatencyHistogram::kMaxTrackableNs) + 1;
static_assert(kBucketCount < 4096, "histogram should stay a few tens of KiB");
static_assert(index_of(kLinearLimit - 1) + 1 == index_of(kLinearLimit));

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

size_t LatencyHistogram::bucket_count() noexcept {
    return kBucketCount;
}

size_t LatencyHistogram::bucket_index(uint64_t ns) noexcept {
    return index_of(std::min(ns, kMaxTrackableNs));
}

uint64_t LatencyHistogram::bucket_low(size_t index) noexcept {
    RLOG_ASSERT(index < kBucketCount);
    if (index < kLinearLimit) {
        return index;
    }
    const size_t above = index - kLinearLimit;
    const unsigned shift = static_cast<unsigned>(above / kHalf) + 1;
    return (kHalf + above % kHalf) << shift;
}

uint64_t LatencyHistogram::bucket_high(size_t index) noexcept {
    RLOG_ASSERT(index < kBucketCount);
    if (index < kLinearLimit) {
        return index;
    }
    const unsigned shift = static_cast<unsigned>((index - kLinearLimit) / kHalf) + 1;
    return bucket_low(index) + (uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(uint64_t ns) noexcept {
    if (RLOG_UNLIKELY(ns > kMaxTrackableNs)) {
        clamped_count_++;
    }
    const size_t index = bucket_index(ns);
    RLOG_DASSERT(index < counts_.size());
    counts_[index]++;
    count_++;
    sum_ns_ += ns;
    min_ns_ = std::min(min_ns_, ns);
    max_ns_ = std::max(max_ns_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
    RLOG_ASSERT(counts_.size() == other.counts_.size());
    for (size_t i = 0; i < counts_.size(); i++) {
        counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    clamped_count_ += other.clamped_count_;
    sum_ns_ += other.sum_ns_;
    min_ns_ = std::min(min_ns_, other.min_ns_);
    max_ns_ = std::max(max_ns_, other.max_ns_);
}

void LatencyHistogram::reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    clamped_count_ = 0;
    sum_ns_ = 0;
    min_ns_ = UINT64_MAX;
    max_ns_ = 0;
}

double LatencyHistogram::mean() const noexcept {
    if (count_ == 0) {
        return 0.0;
    }
    return static_cast<double>(sum_ns_) / static_cast<double>(count_);
}

uint64_t LatencyHistogram::percentile(double p) const noexcept {
    RLOG_ASSERT(p >= 0.0);
    RLOG_ASSERT(p <= 100.0);
    if (count_ == 0) {
        return 0;
    }
    if (p == 0.0) {
        return min_ns_;
    }
    if (p == 100.0) {
        return max_ns_;
    }
    // Nearest rank, 1-based: the smallest rank r with r >= p/100 * count.
    uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); i++) {
        seen += counts_[i];
        if (seen >= rank) {
            return std::clamp(bucket_high(i), min_ns_, max_ns_);
        }
    }
    RLOG_UNREACHABLE("bucket counts sum to less than count_");
}

}  // namespace rlog::bench
