// SPDX-License-Identifier: Apache-2.0
//
// The Raft consensus core: a deterministic state machine with no I/O.
//
// `Raft` holds one replica's protocol state and its in-memory copy of the log. It makes no
// syscalls, starts no threads, reads no clock, takes no locks and hides no randomness: time
// arrives as `tick(now_us)`, messages as `step(msg)`, client commands as `propose(...)`, disk
// progress as `persisted(...)`, and election jitter comes from a PRNG seeded by `Options::seed`.
// The same sequence of calls gives the same outputs, bit for bit.
//
// Every call leaves its effects in an `Output` that the caller drains with `take_output()`. The
// caller must honour this order for each output it drains (Raft §5, Figure 2 "persistent state"):
//
//   1. `hard_state`, if set, is made durable (term and vote) before any message of this output is
//      sent: a vote or an append reply must never leave before the term and vote it depends on.
//   2. `truncate_from` and `entries` are handed to the log in order (drop every entry with index
//      >= truncate_from, then append). This is asynchronous: the caller reports durability later
//      with `persisted()`. No message in any output depends on these entries being durable yet: a
//      follower acknowledges entries only after `persisted()` reports them, and a leader counts
//      itself toward a majority only up to its own durable index. So a leader writes its log in
//      parallel with replication.
//   3. `messages` are sent (after step 1).
//   4. `committed` entries are applied to the state machine in order.
//
// Raft features: pre-vote (thesis §9.6) so that a rejoining replica cannot depose a healthy
// leader; check-quorum (thesis §6.2) so that a leader cut off from a majority steps down within an
// election timeout; majorities counted over the whole configuration; pipelined, batched
// AppendEntries with several in flight per follower and term-skipping conflict hints; a no-op
// appended by each new leader (§8); commit by counting only for entries of the current term
// (§5.4.2, Figure 8).
//
// Threading: single owner. All calls come from one thread; the object is not thread-safe.
// Errors: expected failures are `Status` values (kNotLeader, kBusy); violated invariants abort.
//
// TODO(after snapshots land): the whole log stays in memory and restarts replay it from disk;
// memory grows with the log until snapshots and log compaction exist.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/types.h"
#include "consensus/message.h"

namespace rlog::consensus {

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

const char* role_name(Role role);

// Term and vote: the state that must survive a crash (Raft Figure 2).
struct HardState {
    Term term;
    NodeId vote;  // kNoNode when this replica has not voted in `term`.

    friend bool operator==(const HardState&, const HardState&) = default;
};

struct Options {
    NodeId id;
    // Every voting member, this replica included. A majority is a majority of this list, never of
    // the replicas that happen to be reachable. Requires: ids unique, non-zero, contains `id`.
    std::vector<NodeId> voters;

    // A follower that hears nothing from a leader for a timeout drawn uniformly from
    // [min, max) starts an election; the draw is repeated at every reset.
    uint64_t election_timeout_min_us = 150'000;
    uint64_t election_timeout_max_us = 300'000;
    // Requires: heartbeat_interval_us < election_timeout_min_us.
    uint64_t heartbeat_interval_us = 30'000;

    // Bounds on one AppendEntries request.
    size_t append_entries_max = 512;
    size_t append_bytes_max = 256 * 1024;
    // AppendEntries requests in flight per follower before the leader waits for replies.
    size_t inflight_appends_max = 8;
    // Proposals beyond this many uncommitted entries are refused with kBusy (back-pressure).
    size_t uncommitted_entries_max = 64 * 1024;

    bool pre_vote = true;
    bool check_quorum = true;

    // Seeds the election-jitter PRNG. Two replicas must not share a seed.
    uint64_t seed = 1;

    LogSink log;
};

// What one or more calls produced; drained by `take_output()`. See the file comment for the
// order in which the caller must act on it.
struct Output {
    std::optional<HardState> hard_state;
    // 0 when nothing is truncated; otherwise drop every stored entry with index >= truncate_from
    // before appending `entries`.
    LogIndex truncate_from;
    std::vector<Entry> entries;
    std::vector<Message> messages;
    // Newly committed entries in index order, continuing exactly where the previous output's
    // `committed` ended.
    std::vector<Entry> committed;

    bool empty() const {
        return !hard_state && truncate_from == LogIndex{} && entries.empty() && messages.empty() &&
               committed.empty();
    }
};

// Counters for benchmarks and operators; monotonic over the object's life.
struct Stats {
    uint64_t elections_started = 0;  // Real elections (after a successful pre-vote, if enabled).
    uint64_t pre_votes_started = 0;
    uint64_t times_elected = 0;      // Times this replica became leader.
    uint64_t leader_step_downs = 0;  // Check-quorum or higher-term step-downs of this leader.
    uint64_t append_requests_sent = 0;
    uint64_t entries_sent = 0;  // Entries carried by those requests.
    uint64_t append_rejects_received = 0;
    uint64_t messages_dropped = 0;   // Stale or malformed messages ignored by `step`.
    uint64_t proposals_refused = 0;  // kNotLeader or kBusy.
};

class Raft {
  public:
    // Builds a replica from its recovered durable state. `log` holds the durable entries, indexes
    // 1..n contiguous, terms non-decreasing. Starts as a follower with commit index 0; the commit
    // index is not durable and is relearned from the leader.
    // Requires: options valid (see `Options`); hard_state.term >= the last entry's term.
    Raft(Options options, HardState hard_state, std::vector<Entry> log);
    ~Raft();
    Raft(const Raft&) = delete;
    Raft& operator=(const Raft&) = delete;

    // Advances the logical clock to `now_us` (monotonic, never decreasing). Fires election and
    // heartbeat timeouts and the check-quorum test.
    void tick(uint64_t now_us) noexcept;

    // Handles one message addressed to this replica. Stale, foreign or inconsistent messages are
    // counted in `stats().messages_dropped` and otherwise ignored.
    void step(Message msg) noexcept;

    // Appends one command entry per payload (moved from) to the leader's log and starts
    // replicating them. Returns the index of the first new entry.
    // Errors: kNotLeader (this replica is not leader; see `leader()`), kBusy (too many
    // uncommitted entries; retry after some commit).
    Result<LogIndex> propose(std::span<std::vector<uint8_t>> payloads) noexcept;

    // Reports that every entry up to `index` is durable and that the entry at `index` has `term`.
    // A report that no longer matches the log (the entry was truncated since) is ignored.
    void persisted(LogIndex index, Term term) noexcept;

    bool has_output() const noexcept;
    // Moves out everything produced since the last call.
    Output take_output() noexcept;

    Role role() const noexcept;
    Term term() const noexcept;
    NodeId id() const noexcept;
    // The leader this replica currently follows (itself when leader), or kNoNode.
    NodeId leader() const noexcept;
    LogIndex commit_index() const noexcept;
    LogIndex last_index() const noexcept;
    LogIndex durable_index() const noexcept;
    // Term of the entry at `index`; Term{0} for index 0. Requires: index <= last_index().
    Term term_at(LogIndex index) const noexcept;
    // The entry at `index`. Requires: 1 <= index <= last_index().
    const Entry& entry_at(LogIndex index) const noexcept;
    HardState hard_state() const noexcept;
    const Stats& stats() const noexcept;

    // Checks this replica's local invariants (commit <= last index, commit never decreasing,
    // durable <= last index, log indexes contiguous and terms non-decreasing, a leader's vote is
    // for itself, ...). Cross-replica invariants (election safety, log matching, committed
    // entries never lost) are checked by the simulator. Returns kCorruption with a description of
    // the first violation found. O(log length) in debug builds; cheap otherwise.
    Status check_invariants() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rlog::consensus
