// SPDX-License-Identifier: Apache-2.0

#include "node/sequencer.h"

#include <bit>
#include <cstring>
#include <string>

#include "common/crc32c.h"

namespace rlog::node {
namespace {

static_assert(std::endian::native == std::endian::little, "wire format is little-endian");

void put_u64(uint8_t* p, uint64_t v) {
    std::memcpy(p, &v, sizeof(v));
}
void put_u32(uint8_t* p, uint32_t v) {
    std::memcpy(p, &v, sizeof(v));
}
uint64_t get_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
uint32_t get_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

uint64_t mix(uint64_t h, uint64_t v) {
    // FNV-1a over the 8 bytes of v.
    for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

}  // namespace

size_t encoded_command_size(size_t data_bytes) {
    return kCommandHeaderBytes + data_bytes;
}

void encode_command(uint64_t client_id,
                    uint64_t request_no,
                    uint64_t ack_below,
                    std::span<const uint8_t> data,
                    std::vector<uint8_t>* out) {
    RLOG_ASSERT(data.size() <= UINT32_MAX);
    const size_t at = out->size();
    out->resize(at + encoded_command_size(data.size()));
    uint8_t* p = out->data() + at;
    put_u64(p, client_id);
    put_u64(p + 8, request_no);
    put_u64(p + 16, ack_below);
    put_u32(p + 24, static_cast<uint32_t>(data.size()));
    if (!data.empty()) {
        std::memcpy(p + kCommandHeaderBytes, data.data(), data.size());
    }
}

std::vector<uint8_t> encode_command(const Command& command) {
    std::vector<uint8_t> out;
    encode_command(command.client_id, command.request_no, command.ack_below, command.data, &out);
    return out;
}

bool decode_command_view(std::span<const uint8_t> payload, CommandView* out) noexcept {
    if (payload.size() < kCommandHeaderBytes) {
        return false;
    }
    const uint8_t* p = payload.data();
    const uint32_t data_length = get_u32(p + 24);
    if (payload.size() - kCommandHeaderBytes != data_length) {
        return false;
    }
    out->client_id = get_u64(p);
    out->request_no = get_u64(p + 8);
    out->ack_below = get_u64(p + 16);
    out->data = payload.subspan(kCommandHeaderBytes);
    return true;
}

Result<Command> decode_command(std::span<const uint8_t> payload) {
    CommandView view;
    if (!decode_command_view(payload, &view)) {
        return Status(ErrorCode::kInvalidArgument,
                      "command of " + std::to_string(payload.size()) +
                              " bytes: bad length (header is 28 bytes plus data_length)");
    }
    return Command{view.client_id, view.request_no, view.ack_below,
                   std::vector<uint8_t>(view.data.begin(), view.data.end())};
}

Sequencer::Sequencer(SequencerOptions options) : options_(options) {
    RLOG_ASSERT(options_.clients_max >= 1);
    RLOG_ASSERT(options_.client_window_max >= 1);
}

void Sequencer::touch(uint64_t client_id, Session* session, LogIndex index) {
    if (session->last_active != LogIndex(0)) {
        const size_t erased = lru_.erase(session->last_active);
        RLOG_ASSERT(erased == 1);
    }
    session->last_active = index;
    const bool inserted = lru_.emplace(index, client_id).second;
    RLOG_ASSERT(inserted);
}

Sequencer::Session* Sequencer::find_or_create(uint64_t client_id,
                                              uint64_t ack_below,
                                              LogIndex index) {
    auto it = sessions_.find(client_id);
    if (it != sessions_.end()) {
        return &it->second;
    }
    if (ack_below > 1) {
        // The client holds answers, so it had a session that was evicted: do not start over.
        return nullptr;
    }
    if (sessions_.size() >= options_.clients_max) {
        RLOG_ASSERT(!lru_.empty());
        const auto oldest = lru_.begin();
        const size_t erased = sessions_.erase(oldest->second);
        RLOG_ASSERT(erased == 1);
        lru_.erase(oldest);
        counters_.sessions_evicted += 1;
    }
    RLOG_ASSERT(sessions_.size() < options_.clients_max);
    Session* session = &sessions_[client_id];
    touch(client_id, session, index);
    return session;
}

ApplyResult Sequencer::apply(LogIndex index, Term term, std::span<const uint8_t> payload) {
    RLOG_ASSERT(index > last_index_);
    last_index_ = index;
    counters_.applied += 1;
    ApplyResult result;

    CommandView cmd;
    if (!decode_command_view(payload, &cmd) || cmd.client_id == 0 || cmd.request_no == 0 ||
        cmd.ack_below > cmd.request_no) {
        counters_.malformed += 1;
        result.malformed = true;
        return result;
    }
    result.client_id = cmd.client_id;
    result.request_no = cmd.request_no;

    Session* session = find_or_create(cmd.client_id, cmd.ack_below, index);
    if (session == nullptr) {
        counters_.expired += 1;
        result.expired = true;
        return result;
    }
    touch(cmd.client_id, session, index);

    // The client's acknowledgement frees the answers it holds. ack_below <= request_no, so this
    // never forgets the request being applied.
    if (cmd.ack_below > session->acked_below) {
        session->acked_below = cmd.ack_below;
        session->window.erase(session->window.begin(),
                              session->window.lower_bound(session->acked_below));
    }
    if (cmd.request_no < session->acked_below) {
        counters_.stale += 1;
        result.stale = true;
        return result;
    }
    const uint32_t data_crc = crc32c(cmd.data.data(), cmd.data.size());
    if (auto found = session->window.find(cmd.request_no); found != session->window.end()) {
        if (found->second.data_crc != data_crc) {
            counters_.conflicts += 1;
            result.conflict = true;
            return result;
        }
        counters_.duplicates += 1;
        result.duplicate = true;
        result.seq = found->second.seq;
        result.term = found->second.term;
        result.index = found->second.index;
        return result;
    }
    if (cmd.request_no < session->floor) {
        counters_.expired += 1;
        result.expired = true;
        return result;
    }

    if (session->window.size() >= options_.client_window_max) {
        const auto lowest = session->window.begin();
        session->floor = lowest->first + 1;
        session->window.erase(lowest);
        counters_.window_evictions += 1;
    }
    RLOG_ASSERT(session->window.size() < options_.client_window_max);

    last_seq_ += 1;
    counters_.sequenced += 1;
    session->window.emplace(cmd.request_no, Remembered{last_seq_, term, index, data_crc});
    stream_.push_back(SequencedMessage{last_seq_, cmd.client_id, cmd.request_no, term, index,
                                       std::vector<uint8_t>(cmd.data.begin(), cmd.data.end())});
    if (options_.stream_retained_max != 0 && stream_.size() > options_.stream_retained_max) {
        stream_.pop_front();
        stream_first_seq_ += 1;
    }
    RLOG_ASSERT(stream_first_seq_ + stream_.size() - 1 == last_seq_);

    result.seq = last_seq_;
    result.term = term;
    result.index = index;
    return result;
}

Status Sequencer::read(uint64_t from_seq, size_t max, std::vector<SequencedMessage>* out) const {
    if (from_seq == 0) {
        from_seq = 1;
    }
    if (from_seq < stream_first_seq_) {
        return Status(ErrorCode::kNotFound, "sequence " + std::to_string(from_seq) +
                                                    " is no longer retained (oldest is " +
                                                    std::to_string(stream_first_seq_) + ")");
    }
    if (from_seq > last_seq_) {
        return Status::ok();
    }
    const size_t offset = static_cast<size_t>(from_seq - stream_first_seq_);
    RLOG_ASSERT(offset < stream_.size());
    const size_t available = stream_.size() - offset;
    const size_t n = available < max ? available : max;
    for (size_t i = 0; i < n; ++i) {
        out->push_back(stream_[offset + i]);
        RLOG_ASSERT(out->back().seq == from_seq + i);
    }
    return Status::ok();
}

uint64_t Sequencer::digest() const {
    uint64_t h = 0xcbf29ce484222325ULL;
    h = mix(h, last_seq_);
    h = mix(h, last_index_.value);
    // Sessions in LRU order: deterministic, unlike the unordered_map's own order.
    for (const auto& [active, client_id] : lru_) {
        const Session& s = sessions_.at(client_id);
        h = mix(h, active.value);
        h = mix(h, client_id);
        h = mix(h, s.acked_below);
        h = mix(h, s.floor);
        for (const auto& [request_no, r] : s.window) {
            h = mix(h, request_no);
            h = mix(h, r.seq);
            h = mix(h, r.index.value);
            h = mix(h, r.data_crc);
        }
    }
    for (const SequencedMessage& m : stream_) {
        h = mix(h, m.seq);
        h = mix(h, m.client_id);
        h = mix(h, m.request_no);
        h = mix(h, m.index.value);
        h = mix(h, m.data.size());
    }
    return h;
}

}  // namespace rlog::node
