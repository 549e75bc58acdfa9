// SPDX-License-Identifier: Apache-2.0

#include "dataplane/channel.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "common/assert.h"
#include "dataplane/codec.h"

namespace rlog::dataplane {
namespace {

// Frames collected before one send_burst; bounds the send arena at kTxBatchFrames * mtu.
constexpr size_t kTxBatchFrames = 64;
// Frames asked of the transport per poll (it clamps to its own burst_max).
constexpr size_t kRxBurstMax = 1024;
// Keys of recently completed multi-segment messages, to recognise late duplicate segments.
constexpr size_t kRecentCompleted = 64;
// A slot buffer larger than this is released after use instead of kept for reuse.
constexpr size_t kSlotKeepBytes = 4 << 20;

uint64_t initial_message_id() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct MessageKey {
    NodeId sender;
    uint64_t message_id = 0;
    bool valid = false;
};

// One message being reassembled.
struct Slot {
    bool in_use = false;
    NodeId sender;
    uint64_t message_id = 0;
    uint64_t stamp = 0;  // Creation order, for evicting the oldest.
    uint32_t message_length = 0;
    uint16_t segment_count = 0;
    uint16_t received = 0;
    uint32_t segment_bytes = 0;  // Payload of each non-last segment; 0 until one arrives.
    uint32_t last_bytes = 0;     // Payload of the last segment; 0 until it arrives.
    std::vector<uint64_t> have;  // Bitmap of received segments.
    std::vector<uint8_t> bytes;  // message_length bytes.
};

}  // namespace

struct MessageChannel::Impl {
    Transport* transport;
    ChannelOptions options;
    ChannelStats stats;

    // Send side.
    size_t mtu_bytes = 0;
    size_t segment_payload = 0;
    uint64_t next_message_id = 0;
    std::vector<uint8_t> encoded;
    std::vector<uint8_t> tx_arena;  // kTxBatchFrames frames of mtu_bytes each.
    std::vector<TxFrame> tx_frames;
    size_t tx_count = 0;
    bool lends = false;     // The transport lends transmit buffers (tx_buffer/send_lent).
    size_t lent_count = 0;  // Frames encoded into lent buffers, not yet sent.

    // Receive side.
    std::vector<RxFrame> rx_frames;
    std::vector<Slot> slots;
    uint64_t slot_clock = 0;
    std::array<MessageKey, kRecentCompleted> recent{};
    size_t recent_next = 0;

    void flush() noexcept;
    void flush_lent() noexcept;
    std::span<uint8_t> lend(NodeId to, size_t bytes) noexcept;
    void send_one(const consensus::Message& msg) noexcept;
    size_t handle_frame(const RxFrame& rx, std::vector<consensus::Message>* out) noexcept;
    size_t deliver(std::span<const uint8_t> bytes, std::vector<consensus::Message>* out) noexcept;
    size_t reassemble(const FrameHeader& h,
                      std::span<const uint8_t> payload,
                      std::vector<consensus::Message>* out) noexcept;
    Slot* find_slot(NodeId sender, uint64_t message_id) noexcept;
    Slot* claim_slot() noexcept;
    void release_slot(Slot* slot) noexcept;
    bool recently_completed(NodeId sender, uint64_t message_id) const noexcept;
    void drop(FrameError reason) noexcept { stats.frames_dropped[static_cast<size_t>(reason)]++; }
};

MessageChannel::MessageChannel(Transport* transport, ChannelOptions options)
        : impl_(std::make_unique<Impl>()) {
    RLOG_ASSERT(transport != nullptr);
    RLOG_ASSERT(transport->mtu_bytes() > kFrameHeaderBytes);
    RLOG_ASSERT(options.reassembly_slots_max >= 1);
    RLOG_ASSERT(options.message_bytes_max <= UINT32_MAX);
    Impl& s = *impl_;
    s.transport = transport;
    s.options = options;
    s.mtu_bytes = transport->mtu_bytes();
    s.segment_payload = frame_payload_max(s.mtu_bytes);
    s.next_message_id = initial_message_id();
    s.lends = transport->lends_tx_buffers();
    s.tx_arena.resize(kTxBatchFrames * s.mtu_bytes);
    s.tx_frames.resize(kTxBatchFrames);
    s.rx_frames.resize(kRxBurstMax);
    s.slots.resize(options.reassembly_slots_max);
}

MessageChannel::~MessageChannel() = default;

void MessageChannel::send(std::span<const consensus::Message> messages) noexcept {
    for (const consensus::Message& msg : messages) {
        impl_->send_one(msg);
    }
    // At most one of the two holds frames (each flushes the other before taking one).
    impl_->flush_lent();
    impl_->flush();
}

size_t MessageChannel::poll(std::vector<consensus::Message>* out) noexcept {
    RLOG_ASSERT(out != nullptr);
    Impl& s = *impl_;
    const size_t n = s.transport->poll_burst(s.rx_frames);
    RLOG_ASSERT(n <= s.rx_frames.size());
    size_t appended = 0;
    for (size_t i = 0; i < n; i++) {
        appended += s.handle_frame(s.rx_frames[i], out);
    }
    return appended;
}

void MessageChannel::wait_readable(uint64_t timeout_us) noexcept {
    impl_->transport->wait_readable(timeout_us);
}

const ChannelStats& MessageChannel::stats() const noexcept {
    return impl_->stats;
}

void MessageChannel::Impl::flush() noexcept {
    if (tx_count == 0) {
        return;
    }
    // frames_sent is written only by this (the send) side, so the difference is what went out.
    const uint64_t before = transport->stats().frames_sent;
    (void)transport->send_burst(std::span<const TxFrame>(tx_frames.data(), tx_count));
    const uint64_t sent = transport->stats().frames_sent - before;
    RLOG_ASSERT(sent <= tx_count);
    stats.send_dropped += tx_count - sent;
    tx_count = 0;
}

void MessageChannel::Impl::flush_lent() noexcept {
    if (lent_count == 0) {
        return;
    }
    const size_t sent = transport->send_lent(lent_count);
    RLOG_ASSERT(sent <= lent_count);
    stats.send_dropped += lent_count - sent;
    lent_count = 0;
}

std::span<uint8_t> MessageChannel::Impl::lend(NodeId to, size_t bytes) noexcept {
    if (!lends) {
        return {};
    }
    std::span<uint8_t> out = transport->tx_buffer(to, bytes);
    if (out.empty() && lent_count > 0) {
        // Perhaps the transport's burst of lent buffers is full: send it and ask again.
        flush_lent();
        out = transport->tx_buffer(to, bytes);
    }
    if (out.empty()) {
        // This frame takes the copying path; the frames lent before it go first.
        flush_lent();
        return {};
    }
    RLOG_ASSERT(out.size() == bytes);
    // Frames queued on the copying path go before this one.
    flush();
    lent_count++;
    return out;
}

void MessageChannel::Impl::send_one(const consensus::Message& msg) noexcept {
    encoded.clear();
    encode_message(msg, &encoded);
    const size_t length = encoded.size();
    const size_t segments = std::max<size_t>(1, (length + segment_payload - 1) / segment_payload);
    if (length > options.message_bytes_max || segments > kSegmentsMax) {
        stats.messages_too_large++;
        return;
    }
    FrameHeader h;
    h.kind = FrameKind::kRaft;
    h.segment_count = static_cast<uint16_t>(segments);
    h.cluster_id = options.cluster_id;
    h.sender = options.self;
    h.receiver = msg.to;
    h.message_id = next_message_id++;
    h.message_length = static_cast<uint32_t>(length);
    for (size_t i = 0; i < segments; i++) {
        const size_t offset = i * segment_payload;
        const size_t part = std::min(segment_payload, length - offset);
        h.segment_index = static_cast<uint16_t>(i);
        h.payload_length = static_cast<uint32_t>(part);
        const std::span<const uint8_t> payload(encoded.data() + offset, part);
        // Zero-copy when the transport lends a buffer: the frame is encoded straight into it.
        const std::span<uint8_t> lent = lend(msg.to, kFrameHeaderBytes + part);
        if (!lent.empty()) {
            const size_t frame_length = encode_frame(h, payload, lent);
            RLOG_ASSERT(frame_length == lent.size());
            continue;
        }
        if (tx_count == kTxBatchFrames) {
            flush();
        }
        RLOG_ASSERT(tx_count < kTxBatchFrames);
        std::span<uint8_t> slot(tx_arena.data() + tx_count * mtu_bytes, mtu_bytes);
        const size_t frame_length = encode_frame(h, payload, slot);
        RLOG_ASSERT(frame_length <= mtu_bytes);
        tx_frames[tx_count] = TxFrame{msg.to, slot.first(frame_length)};
        tx_count++;
    }
    stats.messages_sent++;
    stats.segments_sent += segments;
}

size_t MessageChannel::Impl::handle_frame(const RxFrame& rx,
                                          std::vector<consensus::Message>* out) noexcept {
    FrameHeader h;
    std::span<const uint8_t> payload;
    FrameError err = decode_frame(std::span<const uint8_t>(rx.data, rx.length), &h, &payload);
    if (err == FrameError::kNone) {
        err = check_frame_destination(h, options.cluster_id, options.self);
    }
    if (err == FrameError::kNone && h.kind != FrameKind::kRaft) {
        err = FrameError::kBadKind;
    }
    if (err == FrameError::kNone && h.message_length > options.message_bytes_max) {
        err = FrameError::kLong;
    }
    if (err != FrameError::kNone) {
        drop(err);
        return 0;
    }
    if (h.segment_count == 1) {
        return deliver(payload, out);
    }
    return reassemble(h, payload, out);
}

size_t MessageChannel::Impl::deliver(std::span<const uint8_t> bytes,
                                     std::vector<consensus::Message>* out) noexcept {
    out->emplace_back();
    if (!decode_message(bytes, &out->back()).is_ok()) {
        out->pop_back();
        stats.messages_undecodable++;
        return 0;
    }
    stats.messages_received++;
    return 1;
}

size_t MessageChannel::Impl::reassemble(const FrameHeader& h,
                                        std::span<const uint8_t> payload,
                                        std::vector<consensus::Message>* out) noexcept {
    RLOG_ASSERT(h.segment_count > 1);
    RLOG_ASSERT(h.segment_index < h.segment_count);
    RLOG_ASSERT(!payload.empty());
    Slot* slot = find_slot(h.sender, h.message_id);
    if (slot == nullptr) {
        if (recently_completed(h.sender, h.message_id)) {
            stats.duplicate_segments++;
            return 0;
        }
        slot = claim_slot();
        slot->in_use = true;
        slot->sender = h.sender;
        slot->message_id = h.message_id;
        slot->stamp = slot_clock++;
        slot->message_length = h.message_length;
        slot->segment_count = h.segment_count;
        slot->received = 0;
        slot->segment_bytes = 0;
        slot->last_bytes = 0;
        slot->have.assign((h.segment_count + 63) / 64, 0);
        // TODO(#2 follow-up): a total byte budget across slots; today reassembly memory is
        // bounded only by reassembly_slots_max * message_bytes_max (4 GiB with the defaults), which
        // a CRC-valid but hostile sender inside the cluster could claim.
        slot->bytes.resize(h.message_length);
        stats.reassembly_pending++;
    } else if (slot->segment_count != h.segment_count || slot->message_length != h.message_length) {
        drop(FrameError::kBadSegment);
        return 0;
    }
    const uint64_t bit = uint64_t{1} << (h.segment_index % 64);
    if (slot->have[h.segment_index / 64] & bit) {
        stats.duplicate_segments++;
        return 0;
    }

    // Segments tile the message: every non-last one carries segment_bytes, the last one the
    // rest. Check the claim of this frame against what earlier segments established.
    const uint64_t length = h.message_length;
    const uint64_t count = h.segment_count;
    const uint64_t part = payload.size();
    uint64_t offset;
    if (h.segment_index + 1u < h.segment_count) {
        const bool fits = (count - 1) * part < length && length <= count * part;
        const bool matches = slot->segment_bytes == 0 || slot->segment_bytes == part;
        const bool last_ok =
                slot->last_bytes == 0 || (count - 1) * part + slot->last_bytes == length;
        if (!fits || !matches || !last_ok) {
            drop(FrameError::kBadSegment);
            return 0;
        }
        slot->segment_bytes = static_cast<uint32_t>(part);
        offset = h.segment_index * part;
    } else {
        const bool last_ok =
                slot->segment_bytes == 0 || (count - 1) * slot->segment_bytes + part == length;
        if (!last_ok) {
            drop(FrameError::kBadSegment);
            return 0;
        }
        slot->last_bytes = static_cast<uint32_t>(part);
        offset = length - part;
    }
    RLOG_ASSERT(offset + part <= slot->bytes.size());
    std::memcpy(slot->bytes.data() + offset, payload.data(), part);
    slot->have[h.segment_index / 64] |= bit;
    slot->received++;
    RLOG_ASSERT(slot->received <= slot->segment_count);
    if (slot->received < slot->segment_count) {
        return 0;
    }
    recent[recent_next] = MessageKey{slot->sender, slot->message_id, true};
    recent_next = (recent_next + 1) % recent.size();
    const size_t appended = deliver(slot->bytes, out);
    release_slot(slot);
    return appended;
}

Slot* MessageChannel::Impl::find_slot(NodeId sender, uint64_t message_id) noexcept {
    for (Slot& s : slots) {
        if (s.in_use && s.sender == sender && s.message_id == message_id) {
            return &s;
        }
    }
    return nullptr;
}

Slot* MessageChannel::Impl::claim_slot() noexcept {
    Slot* oldest = nullptr;
    for (Slot& s : slots) {
        if (!s.in_use) {
            return &s;
        }
        if (oldest == nullptr || s.stamp < oldest->stamp) {
            oldest = &s;
        }
    }
    // Every slot holds an incomplete message: the oldest has most likely lost a segment.
    RLOG_ASSERT(oldest != nullptr);
    stats.reassembly_dropped++;
    release_slot(oldest);
    return oldest;
}

void MessageChannel::Impl::release_slot(Slot* slot) noexcept {
    RLOG_ASSERT(slot->in_use);
    RLOG_ASSERT(stats.reassembly_pending > 0);
    slot->in_use = false;
    stats.reassembly_pending--;
    if (slot->bytes.capacity() > kSlotKeepBytes) {
        std::vector<uint8_t>().swap(slot->bytes);
    }
}

bool MessageChannel::Impl::recently_completed(NodeId sender, uint64_t message_id) const noexcept {
    for (const MessageKey& k : recent) {
        if (k.valid && k.sender == sender && k.message_id == message_id) {
            return true;
        }
    }
    return false;
}

}  // namespace rlog::dataplane
