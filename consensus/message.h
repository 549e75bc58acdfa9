// SPDX-License-Identifier: Apache-2.0
//
// Wire-independent Raft messages and log entries. These are plain values: the consensus core
// produces and consumes them, `dataplane/` encodes them, `storage/` persists entries. Nothing here
// knows about sockets, files or byte order.

#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/types.h"

namespace rlog::consensus {

enum class EntryType : uint8_t {
    kNoop = 0,     // Appended by a new leader at the start of its term (Raft §8).
    kCommand = 1,  // An opaque client command for the state machine.
};

// One log entry. `payload` is opaque to the core.
struct Entry {
    Term term;
    LogIndex index;
    EntryType type = EntryType::kCommand;
    std::vector<uint8_t> payload;

    friend bool operator==(const Entry&, const Entry&) = default;
};

enum class MessageType : uint8_t {
    kPreVoteRequest = 1,   // Raft thesis §9.6: would you vote for me at `term`?
    kPreVoteResponse = 2,  // Carries the term of the request when granted.
    kVoteRequest = 3,
    kVoteResponse = 4,
    kAppendRequest = 5,   // Entries (possibly none: a heartbeat) and the leader's commit.
    kAppendResponse = 6,  // Success with the follower's durable match, or a reject with a hint.
};

constexpr std::string_view message_type_name(MessageType t) {
    switch (t) {
        case MessageType::kPreVoteRequest:
            return "pre_vote_req";
        case MessageType::kPreVoteResponse:
            return "pre_vote_resp";
        case MessageType::kVoteRequest:
            return "vote_req";
        case MessageType::kVoteResponse:
            return "vote_resp";
        case MessageType::kAppendRequest:
            return "append_req";
        case MessageType::kAppendResponse:
            return "append_resp";
    }
    return "?";
}

// One Raft message. A flat struct: each type uses the fields listed beside them and leaves the
// others at their defaults (the codec encodes only the fields of the type).
struct Message {
    MessageType type = MessageType::kAppendRequest;
    NodeId from;
    NodeId to;
    // The sender's current term; for a pre-vote request, the term the candidate would campaign
    // in (its current term + 1), and for a granted pre-vote response, that same term.
    Term term;

    // kPreVoteRequest, kVoteRequest: the candidate's last log position (Raft §5.4.1).
    LogIndex last_log_index;
    Term last_log_term;

    // kPreVoteResponse, kVoteResponse.
    bool granted = false;

    // kAppendRequest: the entries follow the entry at (prev_log_index, prev_log_term).
    LogIndex prev_log_index;
    Term prev_log_term;
    LogIndex leader_commit;
    std::vector<Entry> entries;

    // kAppendResponse. On success, `match_index` is the highest index the follower holds durably
    // and knows to match the leader's log. On a reject, (`conflict_index`, `conflict_term`) is the
    // follower's hint: the leader backs up to the last entry of its log at or below
    // `conflict_index` whose term is at most `conflict_term`, skipping a whole term at a time.
    bool success = false;
    LogIndex match_index;
    LogIndex conflict_index;
    Term conflict_term;

    friend bool operator==(const Message&, const Message&) = default;
};

}  // namespace rlog::consensus
