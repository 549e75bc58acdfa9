// SPDX-License-Identifier: Apache-2.0
//
// Tests of the frame format (dataplane/frame.h): round trip, and that every truncation, extra
// byte, single-bit flip and inconsistent segment field is detected with the right reason.

#include "dataplane/frame.h"

#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/crc32c.h"

namespace rlog::dataplane {
namespace {

FrameHeader sample_header(uint32_t payload_length) {
    FrameHeader h;
    h.kind = FrameKind::kRaft;
    h.segment_index = 0;
    h.segment_count = 1;
    h.cluster_id = 0xc1u;
    h.sender = NodeId(3);
    h.receiver = NodeId(1);
    h.message_id = 0x0102030405060708ull;
    h.message_length = payload_length;
    h.payload_length = payload_length;
    return h;
}

std::vector<uint8_t> sample_frame(size_t payload_length = 37) {
    std::vector<uint8_t> payload(payload_length);
    for (size_t i = 0; i < payload.size(); i++) {
        payload[i] = static_cast<uint8_t>(i * 7 + 1);
    }
    std::vector<uint8_t> frame(kFrameHeaderBytes + payload.size());
    const size_t n =
            encode_frame(sample_header(static_cast<uint32_t>(payload_length)), payload, frame);
    EXPECT_EQ(n, frame.size());
    return frame;
}

// Rewrites a little-endian field and recomputes the CRC, to build frames whose only fault is
// the field itself.
void patch(std::vector<uint8_t>* frame, size_t offset, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; i++) {
        (*frame)[offset + i] = static_cast<uint8_t>(value >> (8 * i));
    }
    uint32_t payload_length;
    std::memcpy(&payload_length, frame->data() + 36, 4);
    uint32_t crc = crc32c_extend(0, frame->data(), 40);
    crc = crc32c_extend(crc, frame->data() + kFrameHeaderBytes,
                        std::min<size_t>(payload_length, frame->size() - kFrameHeaderBytes));
    std::memcpy(frame->data() + 40, &crc, 4);
}

FrameError decode(const std::vector<uint8_t>& frame) {
    FrameHeader h;
    std::span<const uint8_t> payload;
    return decode_frame(frame, &h, &payload);
}

TEST(FrameTest, RoundTripsHeaderAndPayload) {
    std::vector<uint8_t> frame = sample_frame();
    FrameHeader h;
    std::span<const uint8_t> payload;
    ASSERT_EQ(decode_frame(frame, &h, &payload), FrameError::kNone);
    const FrameHeader want = sample_header(37);
    EXPECT_EQ(h.kind, want.kind);
    EXPECT_EQ(h.segment_index, want.segment_index);
    EXPECT_EQ(h.segment_count, want.segment_count);
    EXPECT_EQ(h.cluster_id, want.cluster_id);
    EXPECT_EQ(h.sender, want.sender);
    EXPECT_EQ(h.receiver, want.receiver);
    EXPECT_EQ(h.message_id, want.message_id);
    EXPECT_EQ(h.message_length, want.message_length);
    EXPECT_EQ(h.payload_length, want.payload_length);
    ASSERT_EQ(payload.size(), 37u);
    EXPECT_EQ(payload.data(), frame.data() + kFrameHeaderBytes);
    EXPECT_EQ(payload[5], 36);
}

TEST(FrameTest, WritesMagicAndVersionLittleEndian) {
    std::vector<uint8_t> frame = sample_frame();
    EXPECT_EQ(std::string(frame.begin(), frame.begin() + 4), "RLG1");
    EXPECT_EQ(frame[4], kFrameVersion);
    EXPECT_EQ(frame[24], 0x08);  // message_id low byte first.
}

TEST(FrameTest, EmptyPayloadRoundTrips) {
    std::vector<uint8_t> frame = sample_frame(0);
    EXPECT_EQ(frame.size(), kFrameHeaderBytes);
    EXPECT_EQ(decode(frame), FrameError::kNone);
}

TEST(FrameTest, EveryTruncationIsShort) {
    std::vector<uint8_t> frame = sample_frame();
    for (size_t n = 0; n < frame.size(); n++) {
        std::vector<uint8_t> cut(frame.begin(), frame.begin() + n);
        EXPECT_EQ(decode(cut), FrameError::kShort) << "length " << n;
    }
}

TEST(FrameTest, ExtraBytesAreLong) {
    std::vector<uint8_t> frame = sample_frame();
    frame.push_back(0);
    EXPECT_EQ(decode(frame), FrameError::kLong);
}

TEST(FrameTest, EverySingleBitFlipIsDetected) {
    const std::vector<uint8_t> frame = sample_frame();
    size_t by_reason[static_cast<size_t>(FrameError::kCount_)] = {};
    for (size_t bit = 0; bit < frame.size() * 8; bit++) {
        std::vector<uint8_t> flipped = frame;
        flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        const FrameError e = decode(flipped);
        ASSERT_NE(e, FrameError::kNone) << "bit " << bit << " not detected";
        by_reason[static_cast<size_t>(e)]++;
    }
    EXPECT_EQ(by_reason[static_cast<size_t>(FrameError::kBadMagic)], 32u);
    EXPECT_EQ(by_reason[static_cast<size_t>(FrameError::kBadVersion)], 8u);
    // The second reserved field (bytes 44..47) is outside the CRC; it must still be checked.
    EXPECT_GE(by_reason[static_cast<size_t>(FrameError::kBadReserved)], 32u);
    EXPECT_GT(by_reason[static_cast<size_t>(FrameError::kBadCrc)], 0u);
    EXPECT_GT(by_reason[static_cast<size_t>(FrameError::kShort)] +
                      by_reason[static_cast<size_t>(FrameError::kLong)],
              0u);
}

TEST(FrameTest, RejectsBadKindVersionAndReserved) {
    std::vector<uint8_t> frame = sample_frame();
    std::vector<uint8_t> kind = frame;
    patch(&kind, 5, 0, 1);
    EXPECT_EQ(decode(kind), FrameError::kBadKind);
    patch(&kind, 5, 4, 1);
    EXPECT_EQ(decode(kind), FrameError::kBadKind);
    std::vector<uint8_t> version = frame;
    patch(&version, 4, 2, 1);
    EXPECT_EQ(decode(version), FrameError::kBadVersion);
    std::vector<uint8_t> reserved = frame;
    patch(&reserved, 10, 1, 2);
    EXPECT_EQ(decode(reserved), FrameError::kBadReserved);
}

TEST(FrameTest, RejectsInconsistentSegmentFields) {
    const std::vector<uint8_t> frame = sample_frame();  // 37-byte payload, one segment.
    std::vector<uint8_t> zero_count = frame;
    patch(&zero_count, 8, 0, 2);
    EXPECT_EQ(decode(zero_count), FrameError::kBadSegment);
    std::vector<uint8_t> index_past_count = frame;
    patch(&index_past_count, 6, 1, 2);
    EXPECT_EQ(decode(index_past_count), FrameError::kBadSegment);
    std::vector<uint8_t> payload_longer_than_message = frame;
    patch(&payload_longer_than_message, 32, 36, 4);
    EXPECT_EQ(decode(payload_longer_than_message), FrameError::kBadSegment);
    std::vector<uint8_t> single_segment_partial = frame;
    patch(&single_segment_partial, 32, 100, 4);
    EXPECT_EQ(decode(single_segment_partial), FrameError::kBadSegment);
    // A multi-segment frame with an empty payload.
    std::vector<uint8_t> empty(kFrameHeaderBytes);
    FrameHeader h = sample_header(0);
    encode_frame(h, {}, empty);
    patch(&empty, 8, 2, 2);
    patch(&empty, 32, 10, 4);
    EXPECT_EQ(decode(empty), FrameError::kBadSegment);
}

TEST(FrameTest, DestinationCheckNamesClusterThenReceiver) {
    FrameHeader h = sample_header(0);
    EXPECT_EQ(check_frame_destination(h, 0xc1u, NodeId(1)), FrameError::kNone);
    EXPECT_EQ(check_frame_destination(h, 0xc2u, NodeId(1)), FrameError::kForeignCluster);
    EXPECT_EQ(check_frame_destination(h, 0xc1u, NodeId(2)), FrameError::kWrongReceiver);
}

TEST(FrameTest, ErrorNamesAreDistinct) {
    std::set<std::string> names;
    for (size_t i = 0; i < static_cast<size_t>(FrameError::kCount_); i++) {
        names.insert(frame_error_name(static_cast<FrameError>(i)));
    }
    EXPECT_EQ(names.size(), static_cast<size_t>(FrameError::kCount_));
    EXPECT_EQ(names.count("?"), 0u);
}

}  // namespace
}  // namespace rlog::dataplane
