// SPDX-License-Identifier: Apache-2.0
//
// The offline half of `rlog check --data-dir DIR...`: read every replica's data directory (its
// segmented log and hard state, exactly as recovery does, never appending) and derive what was
// committed, so that a soak run can be checked after the cluster has stopped.
//
// The commit point is not durable, so it is reconstructed by this rule: the committed log is the
// longest prefix 1..P such that, at every index i <= P, a majority of the replicas hold the same
// entry (same term, type and payload). Every committed entry is on a majority by definition, so P
// is at least the true commit point of a settled cluster; entries beyond P are reported as each
// replica's "uncommitted tail", never as a violation. The committed prefix is replayed into a
// Sequencer (kCommand entries in log order), giving the cluster's committed stream; each replica's
// own entries, up to where they stop agreeing with that prefix, are replayed the same way.
//
// Checks (violations, each with evidence):
//   - a replica whose entry at some index <= P differs from the majority's ("diverges"): its
//     committed log is not a prefix of the others. The check assumes the cluster settled with
//     every replica up (a cut-off replica may legitimately keep a stale suffix until the leader
//     overwrites it; `rlog check` is run after the soak heals and restarts everything);
//   - a gap in a replica's log indexes;
//   - on the committed stream, everything check_history checks (gapless, no double sequencing,
//     every acknowledged message exactly once at its acknowledged seq with the same payload crc,
//     term and index, no request acknowledged with two seqs); each replica's own stream is
//     checked for gaps and double sequencing and may lag;
//   - when sent logs are given: every committed message was submitted by some client with that
//     payload crc ("a message nobody sent").
// Threading: plain functions. Errors: kIo/kCorruption from storage naming the directory.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "node/history_check.h"
#include "storage/segmented_log.h"

namespace rlog::node {

// One replica's durable state as recovered from its data directory.
struct ReplicaData {
    std::string name;  // For messages, e.g. the directory.
    uint64_t term = 0;
    uint64_t vote = 0;
    std::vector<storage::Record> entries;  // In index order, indexes 1, 2, 3, ...
};

// What a client submitted: one line per request, "client_id request_no payload_crc".
struct SentRecord {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint32_t payload_crc = 0;
};

struct DataCheckResult {
    HistoryCheckResult history;      // All violations, including the ones found here.
    uint64_t committed_index = 0;    // P: the majority prefix.
    uint64_t committed_seq = 0;      // Messages in the committed stream.
    std::vector<std::string> notes;  // Per replica: entries, last index, uncommitted tail.
};

// Reads a data directory (kNotFound if it does not exist; it is never created). The log is opened
// with the thread backend and fsync off, and closed again without appending (open() may trim a torn
// tail, as recovery would).
Result<ReplicaData> read_replica_data(const std::string& dir);

// The majority-prefix length P over `replicas` (see the header comment).
uint64_t majority_prefix(const std::vector<ReplicaData>& replicas);

// Replays entries[0, count) (kCommand entries only) into a fresh Sequencer and returns its stream.
ReplicaStream replay_stream(const std::string& name,
                            const std::vector<storage::Record>& entries,
                            size_t count);

// Runs every check. `sent` empty skips the "nobody sent" check unless `have_sent`.
DataCheckResult check_replica_data(const std::vector<ReplicaData>& replicas,
                                   const std::vector<AckRecord>& acks,
                                   const std::vector<SentRecord>& sent,
                                   bool have_sent,
                                   size_t violations_max = 50);

// Sent log lines: "client_id request_no payload_crc"; '#' comments. Errors: kNotFound,
// kInvalidArgument naming the line.
Result<std::vector<SentRecord>> load_sent_file(const std::string& path);

}  // namespace rlog::node
