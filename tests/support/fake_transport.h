// SPDX-License-Identifier: Apache-2.0
//
// An in-memory network of `dataplane::Transport` endpoints for tests: frames sent by one
// endpoint land in the inbox of another, subject to seeded faults (drop, duplicate, reorder) and
// an optional per-frame drop filter for deterministic loss. Everything is driven by one seed, so
// a failing test replays exactly.
//
// Threading: single-threaded. The network owns its endpoints; pointers stay valid for its life.

#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "dataplane/transport.h"

namespace rlog::testing {

struct FakeNetworkOptions {
    uint64_t seed = 1;
    double drop_rate = 0.0;       // Probability a frame is lost.
    double duplicate_rate = 0.0;  // Probability a delivered frame is delivered twice.
    double reorder_rate = 0.0;    // Probability a frame is swapped with a random queued one.
    size_t mtu_bytes = 1500;
    size_t burst_max = 64;
};

struct FakeNetworkStats {
    uint64_t frames_sent = 0;  // Accepted by send_burst (before faults).
    uint64_t frames_dropped = 0;
    uint64_t frames_duplicated = 0;
    uint64_t frames_reordered = 0;
};

class FakeNetwork {
  public:
    explicit FakeNetwork(FakeNetworkOptions options);
    ~FakeNetwork();

    // The endpoint of `id`, created on first use. Every endpoint can reach every other one.
    dataplane::Transport* endpoint(NodeId id);

    // Called for every frame sent, with its number in send order (from 0); returning true drops
    // the frame. Applied before the random faults.
    void set_drop_filter(std::function<bool(uint64_t seq, std::span<const uint8_t>)> filter);

    // Puts raw bytes into the inbox of `to`, bypassing faults (for garbled-frame tests).
    void inject(NodeId to, std::span<const uint8_t> bytes);

    // Frames waiting in the inbox of `id`.
    size_t pending(NodeId id) const;

    const FakeNetworkStats& stats() const { return stats_; }

  private:
    class Endpoint;
    friend class Endpoint;
    void deliver(NodeId from, NodeId to, std::span<const uint8_t> bytes);

    FakeNetworkOptions options_;
    std::mt19937_64 rng_;
    std::map<NodeId, std::unique_ptr<Endpoint>> endpoints_;
    std::function<bool(uint64_t, std::span<const uint8_t>)> drop_filter_;
    uint64_t next_seq_ = 0;
    FakeNetworkStats stats_;
};

}  // namespace rlog::testing
