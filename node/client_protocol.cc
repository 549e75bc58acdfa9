// SPDX-License-Identifier: Apache-2.0

#include "node/client_protocol.h"

#include <bit>
#include <cstring>

#include "common/assert.h"

namespace rlog::node {
namespace {

static_assert(std::endian::native == std::endian::little, "wire format is little-endian");

enum : uint8_t { kSubmitKind = 1, kReadKind = 2 };
enum : uint8_t { kAckKind = 1, kRedirectKind = 2, kRejectKind = 3, kReadResultKind = 4 };

// Bounds-checked little-endian reader over one payload. Every read checks the remaining length
// first; after a failed read `ok()` is false and further reads return zero.
class Reader {
  public:
    explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    bool ok() const { return ok_; }
    size_t remaining() const { return bytes_.size() - pos_; }
    bool has(size_t n) const { return ok_ && remaining() >= n; }
    template <class T>
    T get() {
        T v{};
        if (!has(sizeof(T))) {
            ok_ = false;
            return v;
        }
        std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    // True if the next `n` bytes are all zero; consumes them.
    bool zeros(size_t n) {
        if (!has(n)) {
            ok_ = false;
            return true;  // The caller sees !ok() as kShort.
        }
        bool all_zero = true;
        for (size_t i = 0; i < n; ++i) {
            all_zero = all_zero && bytes_[pos_ + i] == 0;
        }
        pos_ += n;
        return all_zero;
    }
    std::span<const uint8_t> take(size_t n) {
        if (!has(n)) {
            ok_ = false;
            return {};
        }
        std::span<const uint8_t> out = bytes_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

  private:
    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
    bool ok_ = true;
};

template <class T>
void put(std::vector<uint8_t>* out, T v) {
    const size_t at = out->size();
    out->resize(at + sizeof(T));
    std::memcpy(out->data() + at, &v, sizeof(T));
}
void put_zeros(std::vector<uint8_t>* out, size_t n) {
    out->insert(out->end(), n, 0);
}
void put_bytes(std::vector<uint8_t>* out, std::span<const uint8_t> bytes) {
    out->insert(out->end(), bytes.begin(), bytes.end());
}

// Reads the payload header. Returns the item count or sets *error.
uint16_t read_payload_header(Reader* r, ProtocolError* error) {
    const uint16_t count = r->get<uint16_t>();
    const bool reserved_zero = r->zeros(2);
    if (!r->ok()) {
        *error = ProtocolError::kShort;
    } else if (!reserved_zero) {
        *error = ProtocolError::kBadReserved;
    } else if (count == 0) {
        *error = ProtocolError::kEmpty;
    }
    return count;
}

ProtocolError finish(const Reader& r) {
    if (!r.ok()) {
        return ProtocolError::kShort;
    }
    return r.remaining() == 0 ? ProtocolError::kNone : ProtocolError::kTrailing;
}

void start_payload(std::vector<uint8_t>* buffer) {
    buffer->clear();
    put_zeros(buffer, kPayloadHeaderBytes);
}

void write_count(std::vector<uint8_t>* buffer, size_t count) {
    RLOG_ASSERT(count >= 1);
    RLOG_ASSERT(count <= kItemsPerPayloadMax);
    const auto c = static_cast<uint16_t>(count);
    std::memcpy(buffer->data(), &c, sizeof(c));
}

}  // namespace

size_t client_payload_max(size_t mtu_bytes) {
    RLOG_ASSERT(mtu_bytes >
                dataplane::kFrameHeaderBytes + kPayloadHeaderBytes + kSubmitHeaderBytes);
    return mtu_bytes - dataplane::kFrameHeaderBytes;
}

size_t submit_data_max(size_t mtu_bytes) {
    return client_payload_max(mtu_bytes) - kPayloadHeaderBytes - kSubmitHeaderBytes;
}

const char* reject_code_name(RejectCode code) {
    switch (code) {
        case RejectCode::kBusy:
            return "busy";
        case RejectCode::kNotLeader:
            return "not_leader";
        case RejectCode::kTooLarge:
            return "too_large";
        case RejectCode::kExpired:
            return "expired";
        case RejectCode::kMalformed:
            return "malformed";
        case RejectCode::kNotRetained:
            return "not_retained";
        case RejectCode::kStale:
            return "stale";
        case RejectCode::kConflict:
            return "conflict";
    }
    return "unknown";
}

const char* protocol_error_name(ProtocolError error) {
    switch (error) {
        case ProtocolError::kNone:
            return "none";
        case ProtocolError::kShort:
            return "short";
        case ProtocolError::kTrailing:
            return "trailing";
        case ProtocolError::kBadKind:
            return "bad_kind";
        case ProtocolError::kBadReserved:
            return "bad_reserved";
        case ProtocolError::kBadCode:
            return "bad_code";
        case ProtocolError::kEmpty:
            return "empty";
        case ProtocolError::kCount_:
            break;
    }
    return "unknown";
}

ProtocolError parse_request(std::span<const uint8_t> payload, ParsedRequest* out) {
    out->clear();
    Reader r(payload);
    ProtocolError error = ProtocolError::kNone;
    const uint16_t count = read_payload_header(&r, &error);
    if (error != ProtocolError::kNone) {
        return error;
    }
    for (uint16_t i = 0; i < count; ++i) {
        const uint8_t kind = r.get<uint8_t>();
        const bool reserved_zero = r.zeros(3);
        const uint32_t length_or_max = r.get<uint32_t>();
        const uint64_t client_id = r.get<uint64_t>();
        const uint64_t second = r.get<uint64_t>();
        const uint64_t third = r.get<uint64_t>();
        if (!r.ok()) {
            return ProtocolError::kShort;
        }
        if (!reserved_zero) {
            return ProtocolError::kBadReserved;
        }
        if (kind == kSubmitKind) {
            const std::span<const uint8_t> data = r.take(length_or_max);
            if (!r.ok()) {
                return ProtocolError::kShort;
            }
            out->submits.push_back(SubmitOp{client_id, second, third, data});
        } else if (kind == kReadKind) {
            out->reads.push_back(ReadOp{client_id, second, third, length_or_max});
        } else {
            return ProtocolError::kBadKind;
        }
    }
    return finish(r);
}

ProtocolError parse_response(std::span<const uint8_t> payload, ParsedResponse* out) {
    out->clear();
    Reader r(payload);
    ProtocolError error = ProtocolError::kNone;
    const uint16_t count = read_payload_header(&r, &error);
    if (error != ProtocolError::kNone) {
        return error;
    }
    for (uint16_t i = 0; i < count; ++i) {
        const uint8_t kind = r.get<uint8_t>();
        if (!r.ok()) {
            return ProtocolError::kShort;
        }
        if (kind == kAckKind) {
            const bool reserved_zero = r.zeros(7);
            AckReply a;
            a.client_id = r.get<uint64_t>();
            a.request_no = r.get<uint64_t>();
            a.seq = r.get<uint64_t>();
            a.term = Term(r.get<uint64_t>());
            a.index = LogIndex(r.get<uint64_t>());
            if (!r.ok()) {
                return ProtocolError::kShort;
            }
            if (!reserved_zero) {
                return ProtocolError::kBadReserved;
            }
            out->acks.push_back(a);
        } else if (kind == kRedirectKind) {
            const bool reserved_zero = r.zeros(1);
            const uint16_t endpoint_length = r.get<uint16_t>();
            RedirectReply d;
            d.leader_id = NodeId(r.get<uint32_t>());
            d.client_id = r.get<uint64_t>();
            d.request_no = r.get<uint64_t>();
            const std::span<const uint8_t> endpoint = r.take(endpoint_length);
            if (!r.ok()) {
                return ProtocolError::kShort;
            }
            if (!reserved_zero) {
                return ProtocolError::kBadReserved;
            }
            d.leader_endpoint = std::string_view(reinterpret_cast<const char*>(endpoint.data()),
                                                 endpoint.size());
            out->redirects.push_back(d);
        } else if (kind == kRejectKind) {
            const uint8_t code = r.get<uint8_t>();
            const bool reserved_zero = r.zeros(6);
            RejectReply j;
            j.client_id = r.get<uint64_t>();
            j.request_no = r.get<uint64_t>();
            if (!r.ok()) {
                return ProtocolError::kShort;
            }
            if (!reserved_zero) {
                return ProtocolError::kBadReserved;
            }
            if (code == 0 || code > kRejectCodeMax) {
                return ProtocolError::kBadCode;
            }
            j.code = static_cast<RejectCode>(code);
            out->rejects.push_back(j);
        } else if (kind == kReadResultKind) {
            const bool reserved_zero = r.zeros(3);
            const uint32_t entry_count = r.get<uint32_t>();
            ReadResultReply rr;
            rr.client_id = r.get<uint64_t>();
            rr.read_id = r.get<uint64_t>();
            rr.last_committed_seq = r.get<uint64_t>();
            if (!r.ok()) {
                return ProtocolError::kShort;
            }
            if (!reserved_zero) {
                return ProtocolError::kBadReserved;
            }
            // Bound the count by what the payload can hold before reserving memory for it.
            if (entry_count > r.remaining() / kReadEntryHeaderBytes) {
                return ProtocolError::kShort;
            }
            rr.entries.reserve(entry_count);
            for (uint32_t e = 0; e < entry_count; ++e) {
                ReadEntry entry;
                entry.seq = r.get<uint64_t>();
                entry.client_id = r.get<uint64_t>();
                entry.request_no = r.get<uint64_t>();
                entry.term = Term(r.get<uint64_t>());
                entry.index = LogIndex(r.get<uint64_t>());
                const uint32_t data_length = r.get<uint32_t>();
                const bool pad_zero = r.zeros(4);
                entry.data = r.take(data_length);
                if (!r.ok()) {
                    return ProtocolError::kShort;
                }
                if (!pad_zero) {
                    return ProtocolError::kBadReserved;
                }
                rr.entries.push_back(entry);
            }
            out->read_results.push_back(std::move(rr));
        } else {
            return ProtocolError::kBadKind;
        }
    }
    return finish(r);
}

PayloadBuilder::PayloadBuilder(size_t payload_bytes_max, size_t smallest_item_bytes)
        : payload_bytes_max_(payload_bytes_max) {
    RLOG_ASSERT(payload_bytes_max_ >= kPayloadHeaderBytes + smallest_item_bytes);
    buffer_.reserve(payload_bytes_max_);
    start_payload(&buffer_);
}

void PayloadBuilder::reset() {
    count_ = 0;
    start_payload(&buffer_);
}

void PayloadBuilder::added() {
    count_ += 1;
    RLOG_ASSERT(count_ <= kItemsPerPayloadMax);
    RLOG_ASSERT(buffer_.size() <= payload_bytes_max_);
}

std::span<const uint8_t> PayloadBuilder::payload() {
    write_count(&buffer_, count_);
    return buffer_;
}

bool RequestBuilder::add_submit(const SubmitOp& op) {
    const size_t need = kSubmitHeaderBytes + op.data.size();
    if (!fits(need)) {
        return false;
    }
    put<uint8_t>(&buffer_, kSubmitKind);
    put_zeros(&buffer_, 3);
    put<uint32_t>(&buffer_, static_cast<uint32_t>(op.data.size()));
    put<uint64_t>(&buffer_, op.client_id);
    put<uint64_t>(&buffer_, op.request_no);
    put<uint64_t>(&buffer_, op.ack_below);
    put_bytes(&buffer_, op.data);
    added();
    return true;
}

bool RequestBuilder::add_read(const ReadOp& op) {
    if (!fits(kReadOpBytes)) {
        return false;
    }
    put<uint8_t>(&buffer_, kReadKind);
    put_zeros(&buffer_, 3);
    put<uint32_t>(&buffer_, op.max_count);
    put<uint64_t>(&buffer_, op.client_id);
    put<uint64_t>(&buffer_, op.read_id);
    put<uint64_t>(&buffer_, op.from_seq);
    added();
    return true;
}

bool ResponseBuilder::add_ack(const AckReply& a) {
    if (!fits(kAckBytes)) {
        return false;
    }
    put<uint8_t>(&buffer_, kAckKind);
    put_zeros(&buffer_, 7);
    put<uint64_t>(&buffer_, a.client_id);
    put<uint64_t>(&buffer_, a.request_no);
    put<uint64_t>(&buffer_, a.seq);
    put<uint64_t>(&buffer_, a.term.value);
    put<uint64_t>(&buffer_, a.index.value);
    added();
    return true;
}

bool ResponseBuilder::add_redirect(const RedirectReply& d) {
    RLOG_ASSERT(d.leader_endpoint.size() <= UINT16_MAX);
    const size_t need = kRedirectHeaderBytes + d.leader_endpoint.size();
    if (!fits(need)) {
        return false;
    }
    put<uint8_t>(&buffer_, kRedirectKind);
    put_zeros(&buffer_, 1);
    put<uint16_t>(&buffer_, static_cast<uint16_t>(d.leader_endpoint.size()));
    put<uint32_t>(&buffer_, d.leader_id.value);
    put<uint64_t>(&buffer_, d.client_id);
    put<uint64_t>(&buffer_, d.request_no);
    buffer_.insert(buffer_.end(), d.leader_endpoint.begin(), d.leader_endpoint.end());
    added();
    return true;
}

bool ResponseBuilder::add_reject(const RejectReply& j) {
    if (!fits(kRejectBytes)) {
        return false;
    }
    put<uint8_t>(&buffer_, kRejectKind);
    put<uint8_t>(&buffer_, static_cast<uint8_t>(j.code));
    put_zeros(&buffer_, 6);
    put<uint64_t>(&buffer_, j.client_id);
    put<uint64_t>(&buffer_, j.request_no);
    added();
    return true;
}

long ResponseBuilder::add_read_result(uint64_t client_id,
                                      uint64_t read_id,
                                      uint64_t last_committed_seq,
                                      std::span<const ReadEntry> entries) {
    if (!fits(kReadResultHeaderBytes)) {
        return -1;
    }
    const size_t count_at = buffer_.size() + 4;
    put<uint8_t>(&buffer_, kReadResultKind);
    put_zeros(&buffer_, 3);
    put<uint32_t>(&buffer_, 0);  // entry_count, patched below.
    put<uint64_t>(&buffer_, client_id);
    put<uint64_t>(&buffer_, read_id);
    put<uint64_t>(&buffer_, last_committed_seq);
    uint32_t packed = 0;
    for (const ReadEntry& e : entries) {
        if (buffer_.size() + kReadEntryHeaderBytes + e.data.size() > payload_bytes_max_ ||
            packed == UINT32_MAX) {
            break;
        }
        put<uint64_t>(&buffer_, e.seq);
        put<uint64_t>(&buffer_, e.client_id);
        put<uint64_t>(&buffer_, e.request_no);
        put<uint64_t>(&buffer_, e.term.value);
        put<uint64_t>(&buffer_, e.index.value);
        put<uint32_t>(&buffer_, static_cast<uint32_t>(e.data.size()));
        put_zeros(&buffer_, 4);
        put_bytes(&buffer_, e.data);
        packed += 1;
    }
    std::memcpy(buffer_.data() + count_at, &packed, sizeof(packed));
    added();
    return static_cast<long>(packed);
}

size_t write_client_frame(dataplane::FrameKind kind,
                          uint32_t cluster_id,
                          NodeId sender,
                          uint64_t message_id,
                          std::span<const uint8_t> payload,
                          std::span<uint8_t> out) {
    RLOG_ASSERT(kind == dataplane::FrameKind::kClientRequest ||
                kind == dataplane::FrameKind::kClientResponse);
    RLOG_ASSERT(out.size() >= dataplane::kFrameHeaderBytes + payload.size());
    dataplane::FrameHeader h;
    h.kind = kind;
    h.segment_index = 0;
    h.segment_count = 1;
    h.cluster_id = cluster_id;
    h.sender = sender;
    h.receiver = kNoNode;
    h.message_id = message_id;
    h.message_length = static_cast<uint32_t>(payload.size());
    h.payload_length = static_cast<uint32_t>(payload.size());
    return dataplane::encode_frame(h, payload, out);
}

}  // namespace rlog::node
