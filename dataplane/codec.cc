// SPDX-License-Identifier: Apache-2.0
//
// Wire layout of one message (all little-endian):
//   common:          type u8, from u32, to u32, term u64                         (17 bytes)
//   (pre)vote req:   last_log_index u64, last_log_term u64                        (16 bytes)
//   (pre)vote resp:  granted u8 (0 or 1)                                          ( 1 byte)
//   append req:      prev_log_index u64, prev_log_term u64, leader_commit u64,
//                    entry_count u32, then per entry:
//                    term u64, index u64, type u8, payload_length u32, payload   (28 + 21/entry)
//   append resp:     success u8 (0 or 1), match_index u64, conflict_index u64,
//                    conflict_term u64                                            (25 bytes)
// Booleans other than 0 or 1 are rejected so that decode(encode(m)) == m and the reverse hold.

#include "dataplane/codec.h"

#include <cstring>

#include "common/assert.h"
#include "dataplane/internal/little_endian.h"

namespace rlog::dataplane {
namespace {

using consensus::Entry;
using consensus::EntryType;
using consensus::Message;
using consensus::MessageType;

constexpr size_t kCommonBytes = 1 + 4 + 4 + 8;
constexpr size_t kVoteRequestBytes = 8 + 8;
constexpr size_t kVoteResponseBytes = 1;
constexpr size_t kAppendRequestBytes = 8 + 8 + 8 + 4;
constexpr size_t kEntryHeaderBytes = 8 + 8 + 1 + 4;
constexpr size_t kAppendResponseBytes = 1 + 8 + 8 + 8;

// Sequential writer over a buffer sized in advance by encoded_size.
class Writer {
  public:
    Writer(uint8_t* p, size_t n) : p_(p), end_(p + n) {}
    void u8(uint8_t v) noexcept {
        RLOG_DASSERT(end_ - p_ >= 1);
        internal::store_u8(p_, v);
        p_ += 1;
    }
    void u32(uint32_t v) noexcept {
        RLOG_DASSERT(end_ - p_ >= 4);
        internal::store_u32(p_, v);
        p_ += 4;
    }
    void u64(uint64_t v) noexcept {
        RLOG_DASSERT(end_ - p_ >= 8);
        internal::store_u64(p_, v);
        p_ += 8;
    }
    void bytes(const std::vector<uint8_t>& v) noexcept {
        RLOG_DASSERT(static_cast<size_t>(end_ - p_) >= v.size());
        if (!v.empty()) {
            std::memcpy(p_, v.data(), v.size());
        }
        p_ += v.size();
    }
    bool at_end() const noexcept { return p_ == end_; }

  private:
    uint8_t* p_;
    uint8_t* end_;
};

// Sequential reader: every read checks the remaining length first and latches a failure.
class Reader {
  public:
    explicit Reader(std::span<const uint8_t> bytes)
            : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
    size_t remaining() const noexcept { return static_cast<size_t>(end_ - p_); }
    bool ok() const noexcept { return ok_; }
    bool has(size_t n) noexcept {
        if (!ok_ || remaining() < n) {
            ok_ = false;
            return false;
        }
        return true;
    }
    uint8_t u8() noexcept {
        if (!has(1)) {
            return 0;
        }
        uint8_t v = internal::load_u8(p_);
        p_ += 1;
        return v;
    }
    uint32_t u32() noexcept {
        if (!has(4)) {
            return 0;
        }
        uint32_t v = internal::load_u32(p_);
        p_ += 4;
        return v;
    }
    uint64_t u64() noexcept {
        if (!has(8)) {
            return 0;
        }
        uint64_t v = internal::load_u64(p_);
        p_ += 8;
        return v;
    }
    // Reads a 0/1 byte; anything else fails.
    bool boolean() noexcept {
        uint8_t v = u8();
        if (v > 1) {
            ok_ = false;
        }
        return v == 1;
    }
    const uint8_t* take(size_t n) noexcept {
        if (!has(n)) {
            return nullptr;
        }
        const uint8_t* start = p_;
        p_ += n;
        return start;
    }

  private:
    const uint8_t* p_;
    const uint8_t* end_;
    bool ok_ = true;
};

bool valid_message_type(uint8_t t) noexcept {
    return t >= static_cast<uint8_t>(MessageType::kPreVoteRequest) &&
           t <= static_cast<uint8_t>(MessageType::kAppendResponse);
}

bool valid_entry_type(uint8_t t) noexcept {
    return t == static_cast<uint8_t>(EntryType::kNoop) ||
           t == static_cast<uint8_t>(EntryType::kCommand);
}

Status corrupt(const char* what) {
    return Status(ErrorCode::kCorruption, what);
}

}  // namespace

size_t encoded_size(const Message& msg) noexcept {
    switch (msg.type) {
        case MessageType::kPreVoteRequest:
        case MessageType::kVoteRequest:
            return kCommonBytes + kVoteRequestBytes;
        case MessageType::kPreVoteResponse:
        case MessageType::kVoteResponse:
            return kCommonBytes + kVoteResponseBytes;
        case MessageType::kAppendRequest: {
            size_t n = kCommonBytes + kAppendRequestBytes;
            for (const Entry& e : msg.entries) {
                n += kEntryHeaderBytes + e.payload.size();
            }
            return n;
        }
        case MessageType::kAppendResponse:
            return kCommonBytes + kAppendResponseBytes;
    }
    RLOG_UNREACHABLE("encoded_size: unknown message type");
}

void encode_message(const Message& msg, std::vector<uint8_t>* out) {
    RLOG_ASSERT(out != nullptr);
    // The wire counts are 32-bit; the consensus core bounds batches far below this.
    RLOG_ASSERT(msg.entries.size() <= UINT32_MAX);
    const size_t size = encoded_size(msg);
    const size_t start = out->size();
    out->resize(start + size);
    Writer w(out->data() + start, size);
    w.u8(static_cast<uint8_t>(msg.type));
    w.u32(msg.from.value);
    w.u32(msg.to.value);
    w.u64(msg.term.value);
    switch (msg.type) {
        case MessageType::kPreVoteRequest:
        case MessageType::kVoteRequest:
            w.u64(msg.last_log_index.value);
            w.u64(msg.last_log_term.value);
            break;
        case MessageType::kPreVoteResponse:
        case MessageType::kVoteResponse:
            w.u8(msg.granted ? 1 : 0);
            break;
        case MessageType::kAppendRequest:
            w.u64(msg.prev_log_index.value);
            w.u64(msg.prev_log_term.value);
            w.u64(msg.leader_commit.value);
            w.u32(static_cast<uint32_t>(msg.entries.size()));
            for (const Entry& e : msg.entries) {
                RLOG_ASSERT(e.payload.size() <= UINT32_MAX);
                w.u64(e.term.value);
                w.u64(e.index.value);
                w.u8(static_cast<uint8_t>(e.type));
                w.u32(static_cast<uint32_t>(e.payload.size()));
                w.bytes(e.payload);
            }
            break;
        case MessageType::kAppendResponse:
            w.u8(msg.success ? 1 : 0);
            w.u64(msg.match_index.value);
            w.u64(msg.conflict_index.value);
            w.u64(msg.conflict_term.value);
            break;
    }
    RLOG_ASSERT(w.at_end());
}

Status decode_message(std::span<const uint8_t> bytes, Message* msg) noexcept {
    RLOG_ASSERT(msg != nullptr);
    Reader r(bytes);
    const uint8_t type = r.u8();
    if (!r.ok()) {
        return corrupt("message shorter than its header");
    }
    if (!valid_message_type(type)) {
        return corrupt("unknown message type");
    }
    // Reset every field but keep the entries' capacity for reuse.
    std::vector<Entry> entries = std::move(msg->entries);
    entries.clear();
    *msg = Message{};
    msg->type = static_cast<MessageType>(type);
    msg->from = NodeId(r.u32());
    msg->to = NodeId(r.u32());
    msg->term = Term(r.u64());
    switch (msg->type) {
        case MessageType::kPreVoteRequest:
        case MessageType::kVoteRequest:
            msg->last_log_index = LogIndex(r.u64());
            msg->last_log_term = Term(r.u64());
            break;
        case MessageType::kPreVoteResponse:
        case MessageType::kVoteResponse:
            msg->granted = r.boolean();
            break;
        case MessageType::kAppendRequest: {
            msg->prev_log_index = LogIndex(r.u64());
            msg->prev_log_term = Term(r.u64());
            msg->leader_commit = LogIndex(r.u64());
            const uint32_t count = r.u32();
            if (!r.ok()) {
                break;
            }
            // Bound the count by the bytes held before reserving, so a garbled count cannot
            // cause a huge allocation.
            if (count > r.remaining() / kEntryHeaderBytes) {
                return corrupt("entry count exceeds the message length");
            }
            entries.reserve(count);
            for (uint32_t i = 0; i < count; i++) {
                Entry e;
                e.term = Term(r.u64());
                e.index = LogIndex(r.u64());
                const uint8_t entry_type = r.u8();
                const uint32_t length = r.u32();
                if (!r.ok()) {
                    return corrupt("truncated entry header");
                }
                if (!valid_entry_type(entry_type)) {
                    return corrupt("unknown entry type");
                }
                e.type = static_cast<EntryType>(entry_type);
                const uint8_t* payload = r.take(length);
                if (payload == nullptr) {
                    return corrupt("entry payload exceeds the message length");
                }
                e.payload.assign(payload, payload + length);
                entries.push_back(std::move(e));
            }
            break;
        }
        case MessageType::kAppendResponse:
            msg->success = r.boolean();
            msg->match_index = LogIndex(r.u64());
            msg->conflict_index = LogIndex(r.u64());
            msg->conflict_term = Term(r.u64());
            break;
    }
    msg->entries = std::move(entries);
    if (!r.ok()) {
        return corrupt("message truncated or has a bad field");
    }
    if (r.remaining() != 0) {
        return corrupt("trailing bytes after message");
    }
    // A live cluster cannot reach 2^62 terms or indexes (that many elections or entries). Such
    // a value is garbage or forged, and adopting it would wedge the cluster: pre-vote asks for
    // term + 1, which would wrap.
    if (msg->term.value >= kTermOrIndexMax || msg->last_log_term.value >= kTermOrIndexMax ||
        msg->prev_log_term.value >= kTermOrIndexMax ||
        msg->conflict_term.value >= kTermOrIndexMax ||
        msg->last_log_index.value >= kTermOrIndexMax ||
        msg->prev_log_index.value >= kTermOrIndexMax ||
        msg->leader_commit.value >= kTermOrIndexMax || msg->match_index.value >= kTermOrIndexMax ||
        msg->conflict_index.value >= kTermOrIndexMax) {
        return corrupt("term or index out of range");
    }
    for (const Entry& e : msg->entries) {
        if (e.term.value >= kTermOrIndexMax || e.index.value >= kTermOrIndexMax) {
            return corrupt("entry term or index out of range");
        }
    }
    return Status::ok();
}

}  // namespace rlog::dataplane
