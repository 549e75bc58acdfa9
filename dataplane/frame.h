// SPDX-License-Identifier: Apache-2.0
//
// The frame format shared by every transport, and the segmentation of messages into frames.
//
// clang-format off
//   offset  size  field
//        0     4  magic "RLG1" (0x31474c52 little-endian)
//        4     1  version (1)
//        5     1  kind (1 raft message, 2 client request, 3 client response)
//        6     2  segment_index
//        8     2  segment_count (>= 1)
//       10     2  reserved, zero
//       12     4  cluster_id
//       16     4  sender
//       20     4  receiver
//       24     8  message_id (per sender, increasing)
//       32     4  message_length (whole message, all segments)
//       36     4  payload_length (this frame's payload)
//       40     4  crc32c over bytes 0..39 and the payload
//       44     4  reserved, zero
//       48        payload
// clang-format on
//
// All integers are little-endian. Every decoder checks every length against the bytes it holds:
// a short, long, foreign (other cluster or receiver) or garbled (bad CRC) frame is counted by
// reason and dropped, never trusted. A message longer than one frame's payload is split into
// segments; the reassembler drops a message when a segment is lost (Raft retransmits) and bounds
// the memory it holds.

#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/types.h"

namespace rlog::dataplane {

inline constexpr size_t kFrameHeaderBytes = 48;
inline constexpr uint8_t kFrameVersion = 1;

enum class FrameKind : uint8_t { kRaft = 1, kClientRequest = 2, kClientResponse = 3 };

struct FrameHeader {
    FrameKind kind = FrameKind::kRaft;
    uint16_t segment_index = 0;
    uint16_t segment_count = 1;
    uint32_t cluster_id = 0;
    NodeId sender;
    NodeId receiver;
    uint64_t message_id = 0;
    uint32_t message_length = 0;
    uint32_t payload_length = 0;
};

enum class FrameError : uint8_t {
    kNone = 0,
    kShort,  // Fewer bytes than a header, or than the header's payload_length.
    kLong,   // More bytes than header + payload_length.
    kBadMagic,
    kBadVersion,
    kBadKind,
    kBadCrc,
    kBadSegment,  // segment_index >= segment_count, count 0, or lengths inconsistent.
    kForeignCluster,
    kWrongReceiver,
    kBadReserved,  // A reserved field is not zero (bytes 44..47 are outside the CRC).
    kCount_,
};

// Writes header + payload into `out` (which must hold kFrameHeaderBytes + payload.size() bytes)
// and fills in the CRC. Returns the frame length.
size_t encode_frame(const FrameHeader& header,
                    std::span<const uint8_t> payload,
                    std::span<uint8_t> out) noexcept;

// Parses and checks one frame. On success fills `header` and `payload` (a view into `frame`).
// Checks, in order: length >= header (kShort), magic, version, kind, reserved fields, the
// header's payload_length against the bytes held (kShort / kLong), the CRC, then the segment
// fields (index < count, count >= 1, payload_length <= message_length, a single segment carries
// the whole message, a segment of a multi-segment message is not empty). It does not know the
// local cluster or node: see `check_frame_destination`.
FrameError decode_frame(std::span<const uint8_t> frame,
                        FrameHeader* header,
                        std::span<const uint8_t>* payload) noexcept;

// The checks decode_frame cannot do: kForeignCluster if the frame belongs to another cluster,
// kWrongReceiver if it is addressed to another node, kNone otherwise.
FrameError check_frame_destination(const FrameHeader& header,
                                   uint32_t cluster_id,
                                   NodeId self) noexcept;

// Largest payload one frame of `mtu_bytes` carries (REQUIRES: mtu_bytes > kFrameHeaderBytes).
constexpr size_t frame_payload_max(size_t mtu_bytes) {
    return mtu_bytes - kFrameHeaderBytes;
}

// Most segments one message may have (segment_count is 16 bits).
inline constexpr size_t kSegmentsMax = 0xffff;

// "short", "bad_crc", ...: a stable name for counters and logs.
const char* frame_error_name(FrameError error);

}  // namespace rlog::dataplane
