// SPDX-License-Identifier: Apache-2.0
//
// The replicated state machine of rlog: the sequencer. Every replica applies the same committed
// log entries in the same order to its own `Sequencer`, and each first-time client request gets
// the next gapless global sequence number (1, 2, 3, ...). Because every decision below depends
// only on the entries applied (never on a clock or on local state such as memory pressure), every
// replica ends with the same numbers.
//
// Exactly-once (Raft thesis §6.3). A client tags each request with (client_id, request_no) and
// retries with the same pair; the sequencer keeps a session per client with the sequence number
// of each recent request, so a retry that commits a second time gets its original number back
// (`duplicate`) and consumes none. A client also sends `ack_below`: it already holds the answers
// of every request_no < ack_below, so the session forgets them, and a late copy of one of them is
// `stale` (no number, and no answer is needed).
//
// Bounds and eviction (deterministic: by log position, never by wall clock):
// - Per client, at most `client_window_max` remembered requests. When a new request would exceed
//   it, the lowest request_no is forgotten and the session's floor rises above it; a later copy of
//   any request_no below the floor that the session does not remember is `expired` (no number;
//   the replica answers with an error), because it cannot tell whether it was sequenced. A
//   client keeps request_no - ack_below below `kClientWindowMax` (node/client.h), so with the
//   default window no request it may still retry is ever forgotten.
// - A retry must carry the same data as the original: a remembered request_no that arrives with
//   a different payload checksum is a `conflict` (no number; the replica answers with an error),
//   which is how a reused client id shows up instead of being acknowledged with another
//   message's sequence number.
// - At most `clients_max` sessions. A new client evicts the session whose last activity has the
//   lowest log index. A request from an unknown client that carries ack_below > 1 proves the
//   client had a session before (it holds answers), so it is `expired` too, not sequenced again.
//   TODO(session expiry protocol): a client evicted before it received any answer (ack_below
//   still 1) whose retry commits after the eviction is sequenced a second time; avoiding it needs
//   explicit session registration (thesis §6.3 RegisterClient) so unknown clients can be refused.
// - A payload that does not decode (or has client_id 0, request_no 0 or ack_below > request_no)
//   is `malformed`: counted, no number, identical on every replica.
//
// The committed stream is kept for consumers (`read`), in memory, optionally only its newest
// `stream_retained_max` messages.
// TODO(after snapshots land): by default the retained stream is unbounded (about 100 bytes plus
// the data per message); it must be trimmed behind a snapshot, or memory grows with the log.
//
// Threading: single owner (the apply stage). Errors: `read` returns kNotFound for a sequence
// number no longer retained; everything else is a counted outcome, not an error.

#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/types.h"

namespace rlog::node {

// Requests a client may have between its ack_below and its newest request_no; the sequencer
// remembers that many per client by default.
inline constexpr size_t kClientWindowMax = 4096;

// A client command as carried in a committed log entry's payload.
//
// clang-format off
//   offset  size  field (little-endian)
//        0     8  client_id   (!= 0)
//        8     8  request_no  (>= 1)
//       16     8  ack_below   (<= request_no)
//       24     4  data_length
//       28     n  data        (exactly data_length bytes; nothing may follow)
// clang-format on
struct Command {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint64_t ack_below = 0;
    std::vector<uint8_t> data;
};

// Same as Command, with `data` viewing the payload it was decoded from.
struct CommandView {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint64_t ack_below = 0;
    std::span<const uint8_t> data;
};

inline constexpr size_t kCommandHeaderBytes = 28;

size_t encoded_command_size(size_t data_bytes);
// Appends the encoding of (client_id, request_no, ack_below, data) to `out`.
void encode_command(uint64_t client_id,
                    uint64_t request_no,
                    uint64_t ack_below,
                    std::span<const uint8_t> data,
                    std::vector<uint8_t>* out);
std::vector<uint8_t> encode_command(const Command& command);
// Strict decode: the payload must be exactly header + data_length bytes. Field rules (client_id,
// request_no, ack_below) are the sequencer's, not checked here. Returns false on a bad length.
bool decode_command_view(std::span<const uint8_t> payload, CommandView* out) noexcept;
// Errors: kInvalidArgument naming the length problem.
Result<Command> decode_command(std::span<const uint8_t> payload);

struct ApplyResult {
    uint64_t seq = 0;         // The request's sequence number (original one if duplicate), or 0.
    bool duplicate = false;   // A retry of a request still remembered; seq is the original.
    bool stale = false;       // request_no < the client's ack_below: it already has the answer.
    bool expired = false;     // The session forgot this request (or the client): no answer known.
    bool malformed = false;   // The payload did not decode or broke a field rule.
    bool conflict = false;    // A remembered request_no with different data: no number.
    uint64_t client_id = 0;   // 0 if malformed.
    uint64_t request_no = 0;  // 0 if malformed.
    Term term;                // Of the entry that first carried the request (when seq != 0).
    LogIndex index;           // Of the entry that first carried the request (when seq != 0).
};

struct SequencedMessage {
    uint64_t seq = 0;
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    Term term;
    LogIndex index;
    std::vector<uint8_t> data;
};

struct SequencerOptions {
    size_t clients_max = 65536;
    size_t client_window_max = kClientWindowMax;
    // Keep at most this many of the newest committed messages for read(); 0 keeps all. Older
    // ones are dropped (read() then returns kNotFound for them). Local to this replica: it does
    // not affect sequencing, so replicas may differ here.
    size_t stream_retained_max = 0;
};

struct SequencerCounters {
    uint64_t applied = 0;  // Entries passed to apply().
    uint64_t sequenced = 0;
    uint64_t duplicates = 0;
    uint64_t stale = 0;
    uint64_t expired = 0;
    uint64_t malformed = 0;
    uint64_t conflicts = 0;
    uint64_t sessions_evicted = 0;
    uint64_t window_evictions = 0;  // Requests forgotten because a client's window was full.
};

class Sequencer {
  public:
    // Requires: options.clients_max >= 1, options.client_window_max >= 1.
    explicit Sequencer(SequencerOptions options = {});

    // Applies one committed command entry. Requires: index > every index applied before
    // (entries are applied in log order, each once).
    ApplyResult apply(LogIndex index, Term term, std::span<const uint8_t> payload);

    // Appends to `out` the committed messages with seq >= max(from_seq, 1), at most `max` of
    // them, in sequence order; appends nothing if from_seq > last_seq().
    // Errors: kNotFound if from_seq is below the oldest retained message (only possible with
    // stream_retained_max set).
    Status read(uint64_t from_seq, size_t max, std::vector<SequencedMessage>* out) const;

    uint64_t last_seq() const { return last_seq_; }
    LogIndex last_applied_index() const { return last_index_; }
    size_t session_count() const { return sessions_.size(); }
    const SequencerCounters& counters() const { return counters_; }
    // A hash of the whole deterministic state (sequence, sessions, windows, stream tail). Two
    // replicas that applied the same entries have the same digest; tests compare them.
    uint64_t digest() const;

  private:
    struct Remembered {
        uint64_t seq = 0;
        Term term;
        LogIndex index;
        uint32_t data_crc = 0;  // CRC32C of the data, to tell a retry from a reused id.
    };
    struct Session {
        // Invariant: every key of `window` is >= acked_below and >= floor.
        std::map<uint64_t, Remembered> window;  // request_no -> first application.
        uint64_t acked_below = 1;               // The client holds answers for request_no below.
        uint64_t floor = 1;                     // Requests below were forgotten by eviction.
        LogIndex last_active;                   // Key of this session in `lru_`.
    };

    Session* find_or_create(uint64_t client_id, uint64_t ack_below, LogIndex index);
    void touch(uint64_t client_id, Session* session, LogIndex index);

    SequencerOptions options_;
    uint64_t last_seq_ = 0;
    LogIndex last_index_;
    std::unordered_map<uint64_t, Session> sessions_;
    // Last-activity log index -> client id. Invariant: one entry per session, keys unique
    // (each index is applied once), so eviction order is identical on every replica.
    std::map<LogIndex, uint64_t> lru_;
    // Invariant: stream_[i].seq == stream_first_seq_ + i, and the last one is last_seq_.
    // Invariant: stream_retained_max == 0 or stream_.size() <= stream_retained_max.
    std::deque<SequencedMessage> stream_;
    uint64_t stream_first_seq_ = 1;
    SequencerCounters counters_;
};

}  // namespace rlog::node
