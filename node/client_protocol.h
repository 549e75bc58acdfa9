// SPDX-License-Identifier: Apache-2.0
//
// The client protocol: what clients and replicas put in the payload of FrameKind::kClientRequest
// and FrameKind::kClientResponse frames (dataplane/frame.h). A client datagram is exactly one
// frame, never segmented (segment_count == 1); the builders below never produce a payload larger
// than one frame of the configured MTU. Frame header fields for client traffic:
// - requests (client -> a replica's client port): sender 0 (a client is not a replica) and
//   receiver 0, meaning "any replica": whichever replica listens on that port handles it;
// - responses (replica -> client): sender = the replica id, receiver 0; the client is identified
//   by the client_id inside each reply and by its UDP address.
// The frame's cluster_id must match the configuration; message_id is per sender, increasing.
//
// One request payload carries several ops, one response payload several replies, so a busy client
// and a busy replica pay one datagram for many messages.
//
// clang-format off
//   payload   = count:u16 reserved:u16(0) item[count]           (nothing may follow the items)
//   request items:
//     Submit  = kind:u8(1) 0:u8[3] data_length:u32 client_id:u64 request_no:u64 ack_below:u64
//               data[data_length]                                             (32 + n bytes)
//     Read    = kind:u8(2) 0:u8[3] max_count:u32 client_id:u64 read_id:u64 from_seq:u64 (32)
//   response items:
//     Ack     = kind:u8(1) 0:u8[7] client_id:u64 request_no:u64 seq:u64 term:u64 index:u64 (48)
//     Redirect= kind:u8(2) 0:u8 endpoint_length:u16 leader_id:u32 client_id:u64 request_no:u64
//               endpoint[endpoint_length] ("host:port" of the leader's client port, may be
//               empty; leader_id 0 = unknown)                                 (24 + n bytes)
//     Reject  = kind:u8(3) code:u8 0:u8[6] client_id:u64 request_no:u64               (24)
//     ReadResult = kind:u8(4) 0:u8[3] entry_count:u32 client_id:u64 read_id:u64
//               last_committed_seq:u64 entry[entry_count]                     (32 + entries)
//       entry = seq:u64 client_id:u64 request_no:u64 term:u64 index:u64 data_length:u32 0:u32
//               data[data_length]                                             (48 + n bytes)
// clang-format on
//
// For a Read, a Redirect or Reject carries the op's read_id in its request_no field (clients
// keep read ids and request numbers apart; node::Client sets bit 63 on read ids).
//
// All integers little-endian. Parsers check every length, count, kind and reserved byte against
// the payload they hold and return a `ProtocolError` for the caller to count; parsed spans view
// the payload (valid while it is). Threading: plain functions and single-owner builders.

#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "dataplane/frame.h"

namespace rlog::node {

inline constexpr size_t kPayloadHeaderBytes = 4;
inline constexpr size_t kSubmitHeaderBytes = 32;
inline constexpr size_t kReadOpBytes = 32;
inline constexpr size_t kAckBytes = 48;
inline constexpr size_t kRedirectHeaderBytes = 24;
inline constexpr size_t kRejectBytes = 24;
inline constexpr size_t kReadResultHeaderBytes = 32;
inline constexpr size_t kReadEntryHeaderBytes = 48;
inline constexpr size_t kItemsPerPayloadMax = 65535;

// The largest payload of one client frame, and the largest Submit data that fits in it alone.
// Requires: mtu_bytes > kFrameHeaderBytes + kPayloadHeaderBytes + kSubmitHeaderBytes.
size_t client_payload_max(size_t mtu_bytes);
size_t submit_data_max(size_t mtu_bytes);

struct SubmitOp {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint64_t ack_below = 0;
    std::span<const uint8_t> data;
};

struct ReadOp {
    uint64_t client_id = 0;
    uint64_t read_id = 0;
    uint64_t from_seq = 0;
    uint32_t max_count = 0;
};

struct AckReply {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint64_t seq = 0;
    Term term;
    LogIndex index;
};

struct RedirectReply {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    NodeId leader_id;                  // kNoNode when unknown.
    std::string_view leader_endpoint;  // "host:port" of the leader's client port, or empty.
};

enum class RejectCode : uint8_t {
    kBusy = 1,         // A queue is full; retry later with the same request_no.
    kNotLeader = 2,    // Not the leader and no leader known; try another replica.
    kTooLarge = 3,     // The data does not fit in a log entry; do not retry.
    kExpired = 4,      // The session forgot this request (see node/sequencer.h); do not retry.
    kMalformed = 5,    // The op broke a field rule (client_id 0, request_no 0, ...).
    kNotRetained = 6,  // Read: from_seq is no longer retained.
    kStale = 7,        // request_no is below the session's ack_below: its answer was already
                       // given. From a live client this means its client id was reused.
    kConflict = 8,     // request_no was already sequenced with different data: the client id
                       // was reused (or the client is broken). Do not retry.
};
inline constexpr uint8_t kRejectCodeMax = 8;
const char* reject_code_name(RejectCode code);

struct RejectReply {
    uint64_t client_id = 0;
    uint64_t request_no = 0;  // For a rejected Read, the read_id.
    RejectCode code = RejectCode::kBusy;
};

struct ReadEntry {
    uint64_t seq = 0;
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    Term term;
    LogIndex index;
    std::span<const uint8_t> data;
};

struct ReadResultReply {
    uint64_t client_id = 0;
    uint64_t read_id = 0;
    uint64_t last_committed_seq = 0;
    std::vector<ReadEntry> entries;
};

struct ParsedRequest {
    std::vector<SubmitOp> submits;
    std::vector<ReadOp> reads;
    void clear() {
        submits.clear();
        reads.clear();
    }
};

struct ParsedResponse {
    std::vector<AckReply> acks;
    std::vector<RedirectReply> redirects;
    std::vector<RejectReply> rejects;
    std::vector<ReadResultReply> read_results;
    void clear() {
        acks.clear();
        redirects.clear();
        rejects.clear();
        read_results.clear();
    }
};

enum class ProtocolError : uint8_t {
    kNone = 0,
    kShort,        // An item or its data runs past the end of the payload.
    kTrailing,     // Bytes left after the last item.
    kBadKind,      // Unknown item kind for this direction.
    kBadReserved,  // A reserved byte is not zero.
    kBadCode,      // Unknown reject code.
    kEmpty,        // count == 0.
    kCount_,
};
const char* protocol_error_name(ProtocolError error);

// Parse one payload. On error `out` may hold a partial parse: do not use it.
ProtocolError parse_request(std::span<const uint8_t> payload, ParsedRequest* out);
ProtocolError parse_response(std::span<const uint8_t> payload, ParsedResponse* out);

// The part of a payload builder that does not depend on the direction: the buffer (which starts
// with the payload header), the item count, and the bound on both.
class PayloadBuilder {
  public:
    size_t count() const { return count_; }
    bool empty() const { return count_ == 0; }
    size_t size_bytes() const { return buffer_.size(); }
    // The payload so far (valid until the next add/reset). Requires: !empty().
    std::span<const uint8_t> payload();
    void reset();

  protected:
    // Requires: payload_bytes_max fits the header and one item of `smallest_item_bytes`.
    PayloadBuilder(size_t payload_bytes_max, size_t smallest_item_bytes);
    // True when one more item of `item_bytes` fits within the count and size bounds.
    bool fits(size_t item_bytes) const {
        return count_ < kItemsPerPayloadMax && buffer_.size() + item_bytes <= payload_bytes_max_;
    }
    // Records one item written to `buffer_`.
    void added();

    size_t payload_bytes_max_;
    size_t count_ = 0;
    // Invariant: buffer_.size() <= payload_bytes_max_; starts with the 4-byte payload header.
    std::vector<uint8_t> buffer_;
};

// Packs request ops into one payload of at most `payload_bytes_max` bytes (client_payload_max).
// add_* returns false, leaving the builder unchanged, when the op does not fit (or the item count
// is at its maximum); the caller then sends and starts a new one.
class RequestBuilder : public PayloadBuilder {
  public:
    explicit RequestBuilder(size_t payload_bytes_max)
            : PayloadBuilder(payload_bytes_max, kSubmitHeaderBytes) {}
    bool add_submit(const SubmitOp& op);
    bool add_read(const ReadOp& op);
};

// Packs response replies into one payload of at most `payload_bytes_max` bytes.
class ResponseBuilder : public PayloadBuilder {
  public:
    explicit ResponseBuilder(size_t payload_bytes_max)
            : PayloadBuilder(payload_bytes_max, kAckBytes) {}
    bool add_ack(const AckReply& reply);
    bool add_redirect(const RedirectReply& reply);
    bool add_reject(const RejectReply& reply);
    // Adds a ReadResult with as many of `entries` (a prefix) as fit; returns how many, or -1 if
    // not even the empty result fits.
    long add_read_result(uint64_t client_id,
                         uint64_t read_id,
                         uint64_t last_committed_seq,
                         std::span<const ReadEntry> entries);
};

// Wraps `payload` in one frame (segment 0 of 1) into `out`, which must hold
// kFrameHeaderBytes + payload.size() bytes. Returns the frame length.
size_t write_client_frame(dataplane::FrameKind kind,
                          uint32_t cluster_id,
                          NodeId sender,
                          uint64_t message_id,
                          std::span<const uint8_t> payload,
                          std::span<uint8_t> out);

}  // namespace rlog::node
