// SPDX-License-Identifier: Apache-2.0
//
// `Workload`: the order flow `rlog bench` submits, one encoded order record (see lobster.h) per
// client message. Two sources:
//   - `from_lobster`: replays a LOBSTER message file in order and loops; on every loop the order
//     ids are shifted by (largest id in the file + 1) and the times by the file's time span plus
//     one mean gap, so ids stay unique and time keeps increasing across loops.
//   - `synthetic`: a seeded generator whose event-type mix, sizes, prices, buy/sell split and
//     inter-arrival gaps follow the LOBSTER AAPL sample in ../shared/data/ (constants in
//     workload.cc). New orders get fresh ids; deletes and executions refer to a live order
//     (same id, price and side), as in the real feed.
// The same seed (or file) always gives the same sequence, bit for bit, on every platform: the
// generator uses its own PRNG and arithmetic, not <random>'s implementation-defined distributions.
//
// Every payload is max(payload_bytes, kOrderRecordBytes) bytes. `next()` allocates nothing once
// `payload` has that capacity; all other memory is taken at construction. Thread-safety: one owner.

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/support/lobster.h"

namespace rlog::bench {

class Workload {
  public:
    // Replays `msgs` in order, looping forever. Requires: !msgs.empty().
    static Workload from_lobster(std::vector<LobsterMessage> msgs, size_t payload_bytes);
    // A generator following the LOBSTER sample's statistics, determined entirely by `seed`.
    static Workload synthetic(uint64_t seed, size_t payload_bytes);

    // Replaces `*payload` with the next message's encoded order record and advances.
    // Requires: payload != nullptr.
    void next(std::vector<uint8_t>* payload);
    // The message the next call to `next()` will encode (for checks and logs).
    const LobsterMessage& peek() const noexcept { return upcoming_; }
    // The inter-arrival gap, in ns, between the previous message and the one `next()` will encode,
    // as in the file (0 before the first message). For information: an open-loop driver may use
    // it, but `rlog bench --rate` paces by its own rate.
    uint64_t next_gap_ns() const noexcept { return upcoming_gap_ns_; }

    // Size of every payload `next()` produces.
    size_t payload_bytes() const noexcept { return payload_bytes_; }
    // Number of messages `next()` has produced.
    uint64_t produced_count() const noexcept { return produced_count_; }
    // Completed passes over the file (always 0 for synthetic workloads).
    uint64_t loop_count() const noexcept { return loop_; }
    bool is_synthetic() const noexcept { return synthetic_; }

  private:
    Workload() = default;
    // Computes upcoming_ and upcoming_gap_ns_ for the message after the current one.
    void advance();
    void advance_replay();
    void advance_synthetic();
    uint64_t random_u64() noexcept;
    double random_unit() noexcept;  // Uniform in [0, 1).

    // A resting order the synthetic generator may delete or execute later.
    struct LiveOrder {
        uint64_t order_id = 0;
        uint32_t size = 0;
        int64_t price = 0;
        int8_t direction = 0;
    };
    static constexpr size_t kLiveOrdersMax = 4096;

    bool synthetic_ = false;
    size_t payload_bytes_ = 0;
    uint64_t produced_count_ = 0;
    LobsterMessage upcoming_;
    uint64_t upcoming_gap_ns_ = 0;

    // Replay state. Invariant: pos_ < msgs_.size() when replaying.
    std::vector<LobsterMessage> msgs_;
    size_t pos_ = 0;
    uint64_t loop_ = 0;
    uint64_t order_id_stride_ = 0;  // Added to order ids per loop: largest id in the file + 1.
    uint64_t loop_period_ns_ = 0;   // Added to times per loop.
    uint64_t wrap_gap_ns_ = 0;      // Gap from the file's last message to its first on looping.

    // Synthetic state. Invariant: live_orders_.size() <= kLiveOrdersMax (capacity reserved).
    uint64_t rng_state_ = 0;
    uint64_t next_order_id_ = 0;
    std::vector<LiveOrder> live_orders_;
};

}  // namespace rlog::bench
