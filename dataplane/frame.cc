// SPDX-License-Identifier: Apache-2.0

#include "dataplane/frame.h"

#include <cstring>

#include "common/assert.h"
#include "common/crc32c.h"
#include "dataplane/internal/little_endian.h"

namespace rlog::dataplane {
namespace {

using internal::load_u16;
using internal::load_u32;
using internal::load_u64;
using internal::load_u8;
using internal::store_u16;
using internal::store_u32;
using internal::store_u64;
using internal::store_u8;

constexpr uint32_t kFrameMagic = 0x31474c52;  // "RLG1" read as a little-endian u32.

// Field offsets; the layout table is in frame.h.
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffKind = 5;
constexpr size_t kOffSegmentIndex = 6;
constexpr size_t kOffSegmentCount = 8;
constexpr size_t kOffReserved1 = 10;
constexpr size_t kOffClusterId = 12;
constexpr size_t kOffSender = 16;
constexpr size_t kOffReceiver = 20;
constexpr size_t kOffMessageId = 24;
constexpr size_t kOffMessageLength = 32;
constexpr size_t kOffPayloadLength = 36;
constexpr size_t kOffCrc = 40;
constexpr size_t kOffReserved2 = 44;

static_assert(kOffReserved2 + 4 == kFrameHeaderBytes);
static_assert(kOffCrc + 4 == kOffReserved2);
static_assert(kFrameHeaderBytes % 8 == 0, "payload stays 8-byte aligned in aligned buffers");

// CRC over the header up to the CRC field, then the payload.
uint32_t frame_crc(const uint8_t* header, const uint8_t* payload, size_t payload_length) noexcept {
    uint32_t crc = crc32c_extend(0, header, kOffCrc);
    return crc32c_extend(crc, payload, payload_length);
}

bool valid_kind(uint8_t kind) noexcept {
    return kind == static_cast<uint8_t>(FrameKind::kRaft) ||
           kind == static_cast<uint8_t>(FrameKind::kClientRequest) ||
           kind == static_cast<uint8_t>(FrameKind::kClientResponse);
}

}  // namespace

size_t encode_frame(const FrameHeader& header,
                    std::span<const uint8_t> payload,
                    std::span<uint8_t> out) noexcept {
    RLOG_ASSERT(payload.size() == header.payload_length);
    RLOG_ASSERT(out.size() >= kFrameHeaderBytes + payload.size());
    RLOG_ASSERT(header.segment_count >= 1);
    RLOG_ASSERT(header.segment_index < header.segment_count);
    RLOG_ASSERT(header.payload_length <= header.message_length);

    uint8_t* p = out.data();
    store_u32(p + kOffMagic, kFrameMagic);
    store_u8(p + kOffVersion, kFrameVersion);
    store_u8(p + kOffKind, static_cast<uint8_t>(header.kind));
    store_u16(p + kOffSegmentIndex, header.segment_index);
    store_u16(p + kOffSegmentCount, header.segment_count);
    store_u16(p + kOffReserved1, 0);
    store_u32(p + kOffClusterId, header.cluster_id);
    store_u32(p + kOffSender, header.sender.value);
    store_u32(p + kOffReceiver, header.receiver.value);
    store_u64(p + kOffMessageId, header.message_id);
    store_u32(p + kOffMessageLength, header.message_length);
    store_u32(p + kOffPayloadLength, header.payload_length);
    if (!payload.empty()) {
        std::memcpy(p + kFrameHeaderBytes, payload.data(), payload.size());
    }
    store_u32(p + kOffCrc, frame_crc(p, p + kFrameHeaderBytes, payload.size()));
    store_u32(p + kOffReserved2, 0);
    return kFrameHeaderBytes + payload.size();
}

FrameError decode_frame(std::span<const uint8_t> frame,
                        FrameHeader* header,
                        std::span<const uint8_t>* payload) noexcept {
    RLOG_ASSERT(header != nullptr);
    RLOG_ASSERT(payload != nullptr);
    if (frame.size() < kFrameHeaderBytes) {
        return FrameError::kShort;
    }
    const uint8_t* p = frame.data();
    if (load_u32(p + kOffMagic) != kFrameMagic) {
        return FrameError::kBadMagic;
    }
    if (load_u8(p + kOffVersion) != kFrameVersion) {
        return FrameError::kBadVersion;
    }
    const uint8_t kind = load_u8(p + kOffKind);
    if (!valid_kind(kind)) {
        return FrameError::kBadKind;
    }
    if (load_u16(p + kOffReserved1) != 0 || load_u32(p + kOffReserved2) != 0) {
        return FrameError::kBadReserved;
    }
    const uint32_t payload_length = load_u32(p + kOffPayloadLength);
    const size_t available = frame.size() - kFrameHeaderBytes;
    if (payload_length > available) {
        return FrameError::kShort;
    }
    if (payload_length < available) {
        return FrameError::kLong;
    }
    if (load_u32(p + kOffCrc) != frame_crc(p, p + kFrameHeaderBytes, payload_length)) {
        return FrameError::kBadCrc;
    }
    const uint16_t segment_index = load_u16(p + kOffSegmentIndex);
    const uint16_t segment_count = load_u16(p + kOffSegmentCount);
    const uint32_t message_length = load_u32(p + kOffMessageLength);
    if (segment_count == 0 || segment_index >= segment_count) {
        return FrameError::kBadSegment;
    }
    if (payload_length > message_length) {
        return FrameError::kBadSegment;
    }
    if (segment_count == 1 && payload_length != message_length) {
        return FrameError::kBadSegment;
    }
    if (segment_count > 1 && payload_length == 0) {
        return FrameError::kBadSegment;
    }

    header->kind = static_cast<FrameKind>(kind);
    header->segment_index = segment_index;
    header->segment_count = segment_count;
    header->cluster_id = load_u32(p + kOffClusterId);
    header->sender = NodeId(load_u32(p + kOffSender));
    header->receiver = NodeId(load_u32(p + kOffReceiver));
    header->message_id = load_u64(p + kOffMessageId);
    header->message_length = message_length;
    header->payload_length = payload_length;
    *payload = frame.subspan(kFrameHeaderBytes, payload_length);
    return FrameError::kNone;
}

FrameError check_frame_destination(const FrameHeader& header,
                                   uint32_t cluster_id,
                                   NodeId self) noexcept {
    if (header.cluster_id != cluster_id) {
        return FrameError::kForeignCluster;
    }
    if (header.receiver != self) {
        return FrameError::kWrongReceiver;
    }
    return FrameError::kNone;
}

const char* frame_error_name(FrameError error) {
    switch (error) {
        case FrameError::kNone:
            return "none";
        case FrameError::kShort:
            return "short";
        case FrameError::kLong:
            return "long";
        case FrameError::kBadMagic:
            return "bad_magic";
        case FrameError::kBadVersion:
            return "bad_version";
        case FrameError::kBadKind:
            return "bad_kind";
        case FrameError::kBadCrc:
            return "bad_crc";
        case FrameError::kBadSegment:
            return "bad_segment";
        case FrameError::kForeignCluster:
            return "foreign_cluster";
        case FrameError::kWrongReceiver:
            return "wrong_receiver";
        case FrameError::kBadReserved:
            return "bad_reserved";
        case FrameError::kCount_:
            break;
    }
    return "?";
}

}  // namespace rlog::dataplane
