// SPDX-License-Identifier: Apache-2.0
//
// One rlog replica: the Raft core, the durable log and the transports wired into a pipeline of
// stages on their own threads, joined by single-producer single-consumer rings (DESIGN.md):
//
// clang-format off
//   client socket ──> [client stage] ──proposals──> [core stage] <── peer frames (receive)
//                          ^                         │   │   └──> peer frames (send)
//                          │                         │   └──log ops, hard state──> [storage stage]
//                          └──committed entries──────┘   <──durable index, hard state done───┘
// clang-format on
//
// - The core stage owns `consensus::Raft` and the peer `MessageChannel`. It never blocks on a disk
//   or a socket: log writes go to the storage stage, and messages that depend on a new term or
//   vote wait (in the core, not on a lock) until the storage stage reports the hard state
//   durable.
// - The storage stage owns `SegmentedLog` and `HardStateFile`. It appends in group commits and
//   reports "durable up to (index, term)" back to the core. A write or sync error is fatal: the
//   process stops with a message (fail-stop), since the page cache may have dropped the data.
// - The client stage owns the client UDP socket and the `Sequencer` (the replicated state
//   machine). It turns client submissions into proposals (or redirects them to the leader),
//   applies committed entries in order, and acknowledges each applied submission that arrived
//   here with its global sequence number. It also serves reads of the committed stream.
//
// An idle stage spins for `spin_us` (0 by default) and then parks (poll on its fds plus a
// doorbell), so three replicas and a load generator share a 2-core machine; `busy_poll` keeps
// them spinning for benchmarks on dedicated cores.
//
// Threading: `start`, `stop` and the destructor from one controlling thread; `status()` from
// any thread. Errors: `start` returns kInvalidArgument (configuration), kCorruption (log damage
// other than a torn tail) or kIo (files, sockets).

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "consensus/raft.h"
#include "node/config.h"

namespace spdlog {
class logger;
}

namespace rlog::node {

class Sequencer;

struct ReplicaOptions {
    ClusterConfig cluster;
    NodeId id;
    // Seeds the election jitter; 0 derives one from the id and the clock.
    uint64_t seed = 0;
    // Keep every stage spinning instead of parking when idle (dedicated cores only).
    bool busy_poll = false;
    // How long an idle stage spins before it parks. 0 (park at once) by default: when replicas
    // share cores (3 replicas and a client on 2 cores here), a spinning stage takes the core
    // from the thread that would produce its work; measured on 2 cores, 50 us of spin cut
    // throughput from 168k to 119k msg/s and doubled single-message latency. Raise it, or use
    // `busy_poll`, only with a core per stage.
    uint64_t spin_us = 0;
    std::shared_ptr<spdlog::logger> logger;  // nullptr: the process logger.
};

// A consistent-enough snapshot for progress lines and tests; each field is read atomically.
struct ReplicaStatus {
    NodeId id;
    consensus::Role role = consensus::Role::kFollower;
    Term term;
    NodeId leader;
    LogIndex commit_index;
    LogIndex durable_index;
    uint64_t applied_seq = 0;  // Highest global sequence number applied here.
};

// Totals over the replica's life, complete once the replica is stopped.
struct ReplicaCounters {
    consensus::Stats raft;
    uint64_t fsyncs = 0;
    uint64_t records_synced = 0;
    uint64_t proposals = 0;
    uint64_t proposals_rejected = 0;
    uint64_t acks_sent = 0;
    uint64_t redirects_sent = 0;
    uint64_t client_frames_dropped = 0;
    uint64_t peer_frames_dropped = 0;
};

class Replica {
  public:
    // Recovers the log and hard state from the replica's data directory, binds its sockets and
    // starts its stages.
    static Result<std::unique_ptr<Replica>> start(ReplicaOptions options);
    ~Replica();  // Stops the stages if still running.

    // Stops and joins every stage. Idempotent.
    void stop();

    NodeId id() const noexcept;
    ReplicaStatus status() const noexcept;

    // Requires: stopped. The applied state machine, for end-of-run verification.
    const Sequencer& sequencer() const;
    // Requires: stopped.
    ReplicaCounters counters() const;

  private:
    struct Impl;
    explicit Replica(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace rlog::node
