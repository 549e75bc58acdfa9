// SPDX-License-Identifier: Apache-2.0
//
// Strong integer types shared by every module: `Term`, `LogIndex` and `NodeId`. They are distinct
// wrappers so that an index can never be passed where a term is expected. They carry only the
// operations the code needs: comparison, increment, and offset arithmetic with plain integers.
// Header-only; no state, no threads.

#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace rlog {

template <class Tag, class Rep>
struct StrongInt {
    using rep_type = Rep;
    Rep value = 0;

    constexpr StrongInt() = default;
    constexpr explicit StrongInt(Rep v) : value(v) {}

    friend constexpr auto operator<=>(const StrongInt&, const StrongInt&) = default;

    constexpr StrongInt& operator++() {
        ++value;
        return *this;
    }
    constexpr StrongInt operator+(Rep delta) const { return StrongInt(value + delta); }
    constexpr StrongInt operator-(Rep delta) const { return StrongInt(value - delta); }
    // The distance between two positions is a count, not a position.
    constexpr Rep operator-(const StrongInt& other) const { return value - other.value; }
};

struct TermTag {};
struct LogIndexTag {};
struct NodeIdTag {};

// A Raft term. 0 means "no term yet" (an empty log has last term 0).
using Term = StrongInt<TermTag, uint64_t>;
// A position in the replicated log. The first entry has index 1; 0 means "before the log".
using LogIndex = StrongInt<LogIndexTag, uint64_t>;
// A replica id from the cluster configuration. 0 is reserved for "nobody" (no vote, no leader).
using NodeId = StrongInt<NodeIdTag, uint32_t>;

inline constexpr NodeId kNoNode{0};

}  // namespace rlog

template <class Tag, class Rep>
struct std::hash<rlog::StrongInt<Tag, Rep>> {
    size_t operator()(const rlog::StrongInt<Tag, Rep>& v) const noexcept {
        return std::hash<Rep>{}(v.value);
    }
};
