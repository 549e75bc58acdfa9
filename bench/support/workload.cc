// SPDX-License-Identifier: Apache-2.0

#include "bench/support/workload.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "common/assert.h"

namespace rlog::bench {
namespace {

// Statistics of the LOBSTER sample ../shared/data/AAPL_2012-06-21_34200000_57600000_message_10.csv
// (999 messages, AAPL on 2012-06-21 from the market open). Recompute them from the repository root
// with:
//
//   f=../shared/data/AAPL_2012-06-21_34200000_57600000_message_10.csv
//   cut -d, -f2 $f | sort | uniq -c                                           # event types
//   cut -d, -f6 $f | sort | uniq -c                                           # directions
//   cut -d, -f4 $f | sort -n | uniq -c | awk '{printf "{%s, %s}, ", $2, $1}'  # sizes
//   cut -d, -f5 $f | sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; print "median", m;
//       for (p=0; p<=100; p+=5) {r=int(p/100*(NR-1)+0.5)+1; printf "%d, ", (a[r]-m)/100}}'
//   awk -F, '{split($1,t,"."); d=t[2]; while (length(d)<9) d=d "0"; ns=t[1]*1000000000+d;
//       if (NR>1) print ns-prev; prev=ns}' $f | sort -n | awk '{a[NR]=$1}
//       END {for (p=0; p<=100; p+=5) {r=int(p/100*(NR-1)+0.5)+1; printf "%d, ", a[r]}}'

// Event type counts: 471 new, 0 partial cancel, 369 full delete, 98 visible and 61 hidden
// executions, 0 halts.
struct EventWeight {
    uint8_t event_type;
    uint32_t count;
};
constexpr std::array<EventWeight, 6> kEventCounts = {
        {{1, 471}, {2, 0}, {3, 369}, {4, 98}, {5, 61}, {7, 0}}};
// Directions over all messages: 412 buy, 587 sell.
constexpr uint32_t kBuyCount = 412;
constexpr uint32_t kSellCount = 587;

// Sizes in shares, with how often each occurs.
struct SizeWeight {
    uint32_t size;
    uint32_t count;
};
// clang-format off
constexpr std::array<SizeWeight, 71> kSizeCounts = {{
    {1, 11}, {2, 16}, {3, 7}, {4, 18}, {5, 19}, {6, 14}, {7, 6}, {8, 23}, {9, 5}, {10, 15},
    {11, 2}, {12, 22}, {13, 5}, {14, 8}, {15, 10}, {16, 13}, {17, 1}, {18, 449}, {19, 4},
    {20, 14}, {21, 2}, {23, 2}, {25, 9}, {26, 3}, {27, 5}, {28, 1}, {30, 1}, {31, 2}, {34, 2},
    {35, 5}, {37, 2}, {39, 2}, {40, 4}, {42, 2}, {44, 4}, {45, 3}, {47, 1}, {49, 2}, {50, 9},
    {52, 2}, {53, 3}, {59, 3}, {63, 1}, {65, 1}, {66, 5}, {67, 3}, {69, 1}, {70, 2}, {77, 2},
    {80, 1}, {86, 1}, {88, 1}, {100, 173}, {120, 2}, {125, 2}, {132, 1}, {143, 3}, {149, 1},
    {150, 1}, {169, 6}, {175, 1}, {200, 14}, {225, 1}, {230, 1}, {251, 3}, {263, 1}, {300, 8},
    {320, 29}, {500, 1}, {800, 1}, {900, 1},
}};
// clang-format on

// Prices: the median (dollars x 10000) and the 0, 5, ..., 100th percentiles of (price - median)
// in cents.
constexpr int64_t kMedianPrice = 5856100;
constexpr std::array<int64_t, 21> kPriceOffsetQuantilesCents = {
        -62, -30, -21, -16, -14, -12, -11, -10, -8, -6, 0, 4, 6, 8, 11, 14, 16, 18, 19, 30, 178};
// Inter-arrival gaps in ns: the 0, 5, ..., 100th percentiles of the 998 gaps.
constexpr std::array<uint64_t, 21> kGapQuantilesNs = {
        0,       0,       0,        1085,     3027,      10013,     19756,
        27637,   35414,   47652,    82218,    110252,    153640,    337479,
        1441966, 4520387, 19161222, 53010329, 131619971, 280624231, 1946276737};

// Market open, 09:30:00 after midnight: the synthetic flow starts there, like the sample.
constexpr uint64_t kMarketOpenNs = 34'200'000'000'000ULL;
// First synthetic order id; the sample's ids are around 1.6e7.
constexpr uint64_t kFirstSyntheticOrderId = 16'000'000;

template <class Table>
constexpr uint64_t total_count(const Table& table) {
    uint64_t total = 0;
    for (const auto& row : table) {
        total += row.count;
    }
    return total;
}

constexpr uint64_t kEventTotal = total_count(kEventCounts);
constexpr uint64_t kSizeTotal = total_count(kSizeCounts);
static_assert(kEventTotal == 999, "the sample has 999 messages");
static_assert(kSizeTotal == 999, "the sample has 999 messages");
static_assert(kBuyCount + kSellCount == 999, "the sample has 999 messages");

// Picks a row of `table` with probability count / total, given u uniform in [0, 1).
// Requires: total == total_count(table).
template <class Table>
const typename Table::value_type& pick_weighted(const Table& table, uint64_t total, double u) {
    const double target = u * static_cast<double>(total);
    double seen = 0;
    for (const auto& row : table) {
        seen += row.count;
        if (target < seen) {
            return row;
        }
    }
    // u < 1 makes target < total, but rounding could leave us here: take the last non-empty row.
    for (auto it = table.rbegin(); it != table.rend(); ++it) {
        if (it->count != 0) {
            return *it;
        }
    }
    RLOG_UNREACHABLE("weight table is all zero");
}

// Inverse CDF from a table of evenly spaced quantiles, interpolating linearly between them.
template <class T, size_t N>
double sample_quantiles(const std::array<T, N>& q, double u) {
    static_assert(N >= 2);
    const double pos = u * static_cast<double>(N - 1);
    const size_t i = std::min(static_cast<size_t>(pos), N - 2);
    const double frac = pos - static_cast<double>(i);
    return static_cast<double>(q[i]) +
           frac * (static_cast<double>(q[i + 1]) - static_cast<double>(q[i]));
}

}  // namespace

Workload Workload::from_lobster(std::vector<LobsterMessage> msgs, size_t payload_bytes) {
    RLOG_ASSERT(!msgs.empty());
    Workload w;
    w.synthetic_ = false;
    w.payload_bytes_ = std::max(payload_bytes, kOrderRecordBytes);
    uint64_t max_id = 0;
    for (const LobsterMessage& m : msgs) {
        max_id = std::max(max_id, m.order_id);
    }
    w.order_id_stride_ = max_id + 1;
    const uint64_t first_ns = msgs.front().time_ns;
    const uint64_t last_ns = msgs.back().time_ns;
    const uint64_t span_ns = last_ns > first_ns ? last_ns - first_ns : 0;
    w.wrap_gap_ns_ = msgs.size() > 1 ? span_ns / (msgs.size() - 1) : 0;
    w.loop_period_ns_ = span_ns + w.wrap_gap_ns_;
    w.msgs_ = std::move(msgs);
    w.pos_ = 0;
    w.upcoming_ = w.msgs_[0];
    w.upcoming_gap_ns_ = 0;
    return w;
}

Workload Workload::synthetic(uint64_t seed, size_t payload_bytes) {
    Workload w;
    w.synthetic_ = true;
    w.payload_bytes_ = std::max(payload_bytes, kOrderRecordBytes);
    w.rng_state_ = seed;
    w.next_order_id_ = kFirstSyntheticOrderId;
    w.live_orders_.reserve(kLiveOrdersMax);
    w.upcoming_.time_ns = kMarketOpenNs;
    w.advance_synthetic();
    w.upcoming_gap_ns_ = 0;  // Nothing precedes the first message.
    return w;
}

void Workload::next(std::vector<uint8_t>* payload) {
    RLOG_ASSERT(payload != nullptr);
    encode_order(upcoming_, payload_bytes_, payload);
    RLOG_DASSERT(payload->size() == payload_bytes_);
    produced_count_++;
    advance();
}

void Workload::advance() {
    if (synthetic_) {
        advance_synthetic();
    } else {
        advance_replay();
    }
}

void Workload::advance_replay() {
    RLOG_ASSERT(pos_ < msgs_.size());
    const uint64_t previous_ns = msgs_[pos_].time_ns;
    pos_++;
    if (pos_ == msgs_.size()) {
        pos_ = 0;
        loop_++;
        upcoming_gap_ns_ = wrap_gap_ns_;
    } else {
        const uint64_t now_ns = msgs_[pos_].time_ns;
        upcoming_gap_ns_ = now_ns > previous_ns ? now_ns - previous_ns : 0;
    }
    upcoming_ = msgs_[pos_];
    upcoming_.order_id += loop_ * order_id_stride_;
    upcoming_.time_ns += loop_ * loop_period_ns_;
}

void Workload::advance_synthetic() {
    const uint64_t gap_ns =
            static_cast<uint64_t>(std::llround(sample_quantiles(kGapQuantilesNs, random_unit())));
    LobsterMessage m;
    m.time_ns = upcoming_.time_ns + gap_ns;
    m.event_type = pick_weighted(kEventCounts, kEventTotal, random_unit()).event_type;
    if (m.event_type == 1 || live_orders_.empty()) {
        // A new order (also the stand-in for a delete or execution before any order rests).
        m.order_id = next_order_id_++;
        m.size = pick_weighted(kSizeCounts, kSizeTotal, random_unit()).size;
        const double offset_cents = sample_quantiles(kPriceOffsetQuantilesCents, random_unit());
        m.price = kMedianPrice + std::llround(offset_cents) * 100;
        const double buy_share = static_cast<double>(kBuyCount) / (kBuyCount + kSellCount);
        m.direction = random_unit() < buy_share ? 1 : -1;
        if (m.event_type == 1) {
            const LiveOrder order{m.order_id, m.size, m.price, m.direction};
            if (live_orders_.size() < kLiveOrdersMax) {
                live_orders_.push_back(order);
            } else {
                // Bounded book: a new order pushes out a random old one.
                live_orders_[random_u64() % live_orders_.size()] = order;
            }
        }
    } else {
        const size_t slot = random_u64() % live_orders_.size();
        LiveOrder& order = live_orders_[slot];
        m.order_id = order.order_id;
        m.price = order.price;
        m.direction = order.direction;
        m.size = m.event_type == 3
                         ? order.size
                         : std::min(order.size,
                                    pick_weighted(kSizeCounts, kSizeTotal, random_unit()).size);
        RLOG_ASSERT(m.size <= order.size);
        order.size -= m.size;
        if (order.size == 0) {
            live_orders_[slot] = live_orders_.back();
            live_orders_.pop_back();
        }
    }
    RLOG_ASSERT(live_orders_.size() <= kLiveOrdersMax);
    upcoming_ = m;
    upcoming_gap_ns_ = gap_ns;
}

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast and fully determined by the seed.
uint64_t Workload::random_u64() noexcept {
    rng_state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = rng_state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double Workload::random_unit() noexcept {
    // The top 53 bits as a fraction: exactly representable, uniform in [0, 1).
    return static_cast<double>(random_u64() >> 11) * 0x1.0p-53;
}

}  // namespace rlog::bench
