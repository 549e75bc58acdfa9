// SPDX-License-Identifier: Apache-2.0
//
// On-disk layouts of the segment header and the record header (see storage/segmented_log.h for
// the format description). Private to storage/ and its tests. All integers are little-endian
// (the only byte order this project targets; checked by a static_assert).

#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/crc32c.h"

namespace rlog::storage::internal {

static_assert(std::endian::native == std::endian::little, "the disk format is little-endian");

inline constexpr char kSegmentMagic[8] = {'R', 'L', 'O', 'G', 'S', 'E', 'G', '1'};
inline constexpr uint32_t kSegmentVersion = 1;

struct SegmentHeader {
    char magic[8];
    uint32_t version;
    uint32_t reserved;  // Zero.
    uint64_t first_index;
    uint32_t reserved2;  // Zero.
    uint32_t crc;        // CRC32C of the 28 bytes before it.
};
static_assert(sizeof(SegmentHeader) == 32);

struct RecordHeader {
    uint32_t payload_length;
    uint32_t crc;  // CRC32C of the 24 header bytes after it, then the payload.
    uint64_t term;
    uint64_t index;
    uint8_t type;
    uint8_t pad[7];  // Zero.
};
static_assert(sizeof(RecordHeader) == 32);

inline constexpr size_t kSegmentHeaderBytes = sizeof(SegmentHeader);
inline constexpr size_t kRecordHeaderBytes = sizeof(RecordHeader);

inline uint32_t segment_header_crc(const SegmentHeader& h) noexcept {
    return crc32c(&h, offsetof(SegmentHeader, crc));
}

inline SegmentHeader make_segment_header(uint64_t first_index) noexcept {
    SegmentHeader h{};
    std::memcpy(h.magic, kSegmentMagic, sizeof(h.magic));
    h.version = kSegmentVersion;
    h.first_index = first_index;
    h.crc = segment_header_crc(h);
    return h;
}

inline uint32_t record_crc(const RecordHeader& h, const void* payload) noexcept {
    uint32_t crc = crc32c_extend(0, &h.term, kRecordHeaderBytes - offsetof(RecordHeader, term));
    return crc32c_extend(crc, payload, h.payload_length);
}

// `<dir>/log-<first_index, 20 digits>.seg`.
inline std::string segment_name(uint64_t first_index) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "log-%020llu.seg",
                  static_cast<unsigned long long>(first_index));
    return buf;
}

}  // namespace rlog::storage::internal
