// SPDX-License-Identifier: Apache-2.0
//
// Message builders shared by the dataplane tests: one message of each type with every field of
// that type set to a distinct nonzero value, and append requests of a chosen size.

#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "consensus/message.h"

namespace rlog::dataplane::test {

inline consensus::Message make_message(consensus::MessageType type, uint64_t salt = 0) {
    using consensus::MessageType;
    consensus::Message m;
    m.type = type;
    m.from = NodeId(1);
    m.to = NodeId(2);
    m.term = Term(7 + salt);
    switch (type) {
        case MessageType::kPreVoteRequest:
        case MessageType::kVoteRequest:
            m.last_log_index = LogIndex(1000 + salt);
            m.last_log_term = Term(6);
            break;
        case MessageType::kPreVoteResponse:
        case MessageType::kVoteResponse:
            m.granted = true;
            break;
        case MessageType::kAppendRequest:
            m.prev_log_index = LogIndex(41 + salt);
            m.prev_log_term = Term(5);
            m.leader_commit = LogIndex(40 + salt);
            break;
        case MessageType::kAppendResponse:
            m.success = (salt % 2) == 0;
            m.match_index = LogIndex(99 + salt);
            m.conflict_index = LogIndex(17);
            m.conflict_term = Term(3);
            break;
    }
    return m;
}

inline std::vector<consensus::Message> one_of_each_type() {
    using consensus::MessageType;
    std::vector<consensus::Message> out;
    for (MessageType t :
         {MessageType::kPreVoteRequest, MessageType::kPreVoteResponse, MessageType::kVoteRequest,
          MessageType::kVoteResponse, MessageType::kAppendRequest, MessageType::kAppendResponse}) {
        out.push_back(make_message(t));
    }
    return out;
}

// An append request carrying `count` command entries of `payload_bytes` each, starting at
// index prev+1, with payload bytes drawn from `seed`.
inline consensus::Message make_append(size_t count, size_t payload_bytes, uint64_t seed = 1) {
    consensus::Message m = make_message(consensus::MessageType::kAppendRequest, seed);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i < count; i++) {
        consensus::Entry e;
        e.term = Term(7);
        e.index = m.prev_log_index + (i + 1);
        e.type = consensus::EntryType::kCommand;
        e.payload.resize(payload_bytes);
        for (uint8_t& b : e.payload) {
            b = static_cast<uint8_t>(rng());
        }
        m.entries.push_back(std::move(e));
    }
    return m;
}

}  // namespace rlog::dataplane::test
