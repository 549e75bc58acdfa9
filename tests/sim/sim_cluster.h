// SPDX-License-Identifier: Apache-2.0
//
// A deterministic simulator for the Raft core: N replicas, a simulated clock, a simulated network
// (loss, duplication, reordering through random delay, partitions that heal) and simulated
// storage per replica (entries become durable after a random delay; a crash loses unsynced
// entries except a random prefix, i.e. a torn last write; hard state is stored synchronously
// before messages leave, as consensus/raft.h requires). Everything is driven by one seed.
//
// After every event the simulator calls `check_invariants()` on every live replica and checks
// the cross-replica invariants: election safety, log matching (same index and term imply the
// same entry and the same predecessor, hence by induction the same prefix), committed entries
// never changing and never being truncated, per-replica commit monotonic within one incarnation,
// and leader completeness. The first violation is kept in `failure()`; the run stops there.

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "consensus/raft.h"

namespace rlog::sim {

struct SimConfig {
    uint64_t seed = 1;
    size_t replicas = 3;
    // Faults during the chaos phase.
    uint64_t chaos_us = 1'000'000;
    double loss = 0.05;
    double duplicate = 0.03;
    uint64_t net_delay_min_us = 100;
    uint64_t net_delay_max_us = 3'000;
    bool partitions = true;
    bool crashes = true;
    // After the chaos phase every fault heals; the cluster must elect a leader and commit an
    // entry proposed after the heal within this much simulated time.
    uint64_t heal_deadline_us = 1'000'000;
    // Deliberate bug for the self-test: storage reports entries durable before syncing them.
    bool buggy_storage_acks_before_sync = false;
};

// Steps a cluster under `config`; returns after the heal check or at the first violation.
class SimCluster {
  public:
    explicit SimCluster(SimConfig config);
    ~SimCluster();

    // Runs the whole scenario. Returns true when no invariant was violated and the cluster
    // recovered after the heal; otherwise `failure()` says why.
    bool run();
    const std::string& failure() const { return failure_; }

    // Statistics for the test log.
    uint64_t committed_entries() const { return committed_.size(); }
    uint64_t elections() const { return leaders_.size(); }
    uint64_t events() const { return events_; }

  private:
    struct Replica;
    struct Event;
    struct EventLater {
        bool operator()(const Event& a, const Event& b) const;
    };

    uint64_t rand();
    uint64_t rand_range(uint64_t lo, uint64_t hi);  // [lo, hi)
    bool chance(double p);

    void start_replica(size_t r);
    void crash_replica(size_t r);
    void drain(size_t r);
    void deliver(consensus::Message m);
    void schedule(uint64_t at, Event e);
    void fail(const std::string& why);
    void check_all();
    void check_committed(size_t r, const consensus::Entry& e);
    void check_appended(size_t r, const consensus::Entry& e, Term prev_term);
    void client_propose();
    void chaos();
    bool healed_and_progressing() const;

    SimConfig cfg_;
    uint64_t rng_state_;
    uint64_t now_us_ = 0;
    uint64_t seq_ = 0;
    uint64_t events_ = 0;
    uint64_t next_payload_ = 1;
    std::vector<std::unique_ptr<Replica>> replicas_;
    std::priority_queue<Event, std::vector<Event>, EventLater>* queue_ = nullptr;
    // Partition group per replica; messages cross groups only when equal.
    std::vector<int> group_;
    bool healed_ = false;
    // Global history.
    std::vector<consensus::Entry> committed_;  // committed_[i - 1]: the entry committed at i.
    std::map<uint64_t, NodeId> leaders_;       // term -> leader
    struct SeenEntry {
        consensus::EntryType type;
        std::vector<uint8_t> payload;
        Term prev_term;
    };
    std::map<std::pair<uint64_t, uint64_t>, SeenEntry> seen_;  // (index, term) -> entry
    std::string failure_;
    uint64_t heal_commit_target_ = 0;
    uint64_t trace_from_us_ = UINT64_MAX;
};

}  // namespace rlog::sim
