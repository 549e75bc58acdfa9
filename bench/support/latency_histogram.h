// SPDX-License-Identifier: Apache-2.0
//
// `LatencyHistogram`: a fixed-memory, log-linear histogram of nanosecond latencies in the style of
// HdrHistogram. Values below 256 ns get exact buckets; above that, every power-of-two range
// [2^k, 2^(k+1)) is split into 128 equal buckets, so a bucket is at most 1/128 (< 0.8%) of the
// values it holds wide. The tracked range is 0 ns to `kMaxTrackableNs` (100 s); larger values are
// recorded in the top bucket and counted by `clamped_count()`. `min()`, `max()` and `mean()` are
// exact over the values as given (not clamped), and `percentile()` never reports a value outside
// [min(), max()].
//
// All memory (about 31 KiB of counters) is allocated by the constructor; `record()` is O(1) and
// never allocates. Thread-safety: one owner; merge per-thread histograms with `merge()`.

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rlog::bench {

class LatencyHistogram {
  public:
    // Values above this are clamped into the top bucket (and counted in `clamped_count()`).
    static constexpr uint64_t kMaxTrackableNs = 100'000'000'000ULL;

    // One bucket: every value v with low_ns <= v <= high_ns lands here.
    struct Bucket {
        uint64_t low_ns = 0;
        uint64_t high_ns = 0;
        uint64_t count = 0;
    };

    LatencyHistogram();

    // Adds one value. O(1), no allocation.
    void record(uint64_t ns) noexcept;
    // Adds every value recorded in `other`, as if each had been passed to `record()`.
    void merge(const LatencyHistogram& other) noexcept;
    // Forgets everything recorded; keeps the memory.
    void reset() noexcept;

    // The value at percentile `p` (nearest rank: the smallest recorded value v such that at least
    // p% of values are <= v), reported as the top of its bucket, so it is at most 1/128 above the
    // true value; exactly `min()` for p == 0 and exactly `max()` for p == 100. 0 when empty.
    // Requires: 0 <= p <= 100.
    uint64_t percentile(double p) const noexcept;

    uint64_t count() const noexcept { return count_; }
    // Number of recorded values above `kMaxTrackableNs`.
    uint64_t clamped_count() const noexcept { return clamped_count_; }
    // Smallest and largest recorded value; 0 when empty.
    uint64_t min() const noexcept { return count_ == 0 ? 0 : min_ns_; }
    uint64_t max() const noexcept { return max_ns_; }
    // Arithmetic mean of the recorded values; 0 when empty.
    double mean() const noexcept;

    // Calls `fn(const Bucket&)` for every non-empty bucket in increasing value order (for plots).
    template <class Fn>
    void for_each_bucket(Fn&& fn) const {
        for (size_t i = 0; i < counts_.size(); i++) {
            if (counts_[i] != 0) {
                fn(Bucket{bucket_low(i), bucket_high(i), counts_[i]});
            }
        }
    }

    // Bucket layout, public for tests: the index holding `ns` (clamped), and the range of a bucket.
    static size_t bucket_index(uint64_t ns) noexcept;
    static uint64_t bucket_low(size_t index) noexcept;
    static uint64_t bucket_high(size_t index) noexcept;
    static size_t bucket_count() noexcept;

  private:
    // Invariant: counts_.size() == bucket_count(); the sum of counts_ equals count_.
    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    uint64_t clamped_count_ = 0;
    // Invariant: when count_ > 0, min_ns_ <= max_ns_ are the smallest and largest recorded values.
    uint64_t min_ns_ = UINT64_MAX;
    uint64_t max_ns_ = 0;
    // Sum of recorded values; 128 bits because 2^64 ns is only 584 years of summed latency.
    unsigned __int128 sum_ns_ = 0;
};

}  // namespace rlog::bench
