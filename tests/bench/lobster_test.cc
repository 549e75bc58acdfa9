// SPDX-License-Identifier: Apache-2.0
//
// LOBSTER loading and the binary order record: the real AAPL sample parses exactly (times in
// integer nanoseconds), every kind of malformed line is rejected with the file name and line
// number, a missing file is kNotFound, and encode_order/decode_order round-trip every sample
// message with the documented little-endian layout.

#include "bench/support/lobster.h"

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/bench/sample_data.h"

namespace rlog::bench {
namespace {

using test_data::lobster_sample_path;
using test_data::write_temp_file;

TEST(LobsterTest, LoadsRealSample) {
    const std::string path = lobster_sample_path();
    ASSERT_FALSE(path.empty());
    auto msgs = load_lobster(path);
    ASSERT_TRUE(msgs.is_ok()) << msgs.status().to_string();
    // The file has 998 newline-terminated lines plus a last line without a newline.
    ASSERT_EQ(msgs->size(), 999u);
    const LobsterMessage& first = msgs->front();
    EXPECT_EQ(first.time_ns, 34200004241176ULL);  // 34200.004241176
    EXPECT_EQ(first.event_type, 1);
    EXPECT_EQ(first.order_id, 16113575u);
    EXPECT_EQ(first.size, 18u);
    EXPECT_EQ(first.price, 5853300);
    EXPECT_EQ(first.direction, 1);
    // 34200.00426064: seven decimals, so the last two nanosecond digits are zero.
    EXPECT_EQ(msgs.value()[1].time_ns, 34200004260640ULL);
    EXPECT_EQ(msgs.value()[3].direction, -1);
    const LobsterMessage& last = msgs->back();
    EXPECT_EQ(last.time_ns, 34249086375027ULL);  // 34249.086375027,1,18259338,18,5853500,1
    EXPECT_EQ(last.order_id, 18259338u);
    EXPECT_EQ(last.price, 5853500);
    for (size_t i = 1; i < msgs->size(); i++) {
        EXPECT_LE(msgs.value()[i - 1].time_ns, msgs.value()[i].time_ns) << "line " << i + 1;
    }
}

TEST(LobsterTest, MissingFileIsNotFound) {
    auto msgs = load_lobster("/nonexistent/rlog/messages.csv");
    ASSERT_FALSE(msgs.is_ok());
    EXPECT_EQ(msgs.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(msgs.status().message().find("/nonexistent/rlog/messages.csv"), std::string::npos);
}

TEST(LobsterTest, EmptyFileIsInvalid) {
    const std::string path = write_temp_file("empty.csv", "");
    auto msgs = load_lobster(path);
    ASSERT_FALSE(msgs.is_ok());
    EXPECT_EQ(msgs.status().code(), ErrorCode::kInvalidArgument);
    std::remove(path.c_str());
}

TEST(LobsterTest, AcceptsCrlfAndMissingFinalNewline) {
    const std::string path = write_temp_file("crlf.csv",
                                             "34200.5,1,7,100,5850000,1\r\n34201,4,7,100,5850000,"
                                             "1\r\n34202.000000001,3,7,0,5850000,-1");
    auto msgs = load_lobster(path);
    ASSERT_TRUE(msgs.is_ok()) << msgs.status().to_string();
    ASSERT_EQ(msgs->size(), 3u);
    EXPECT_EQ(msgs.value()[0].time_ns, 34200500000000ULL);
    EXPECT_EQ(msgs.value()[1].time_ns, 34201000000000ULL);
    EXPECT_EQ(msgs.value()[2].time_ns, 34202000000001ULL);
    EXPECT_EQ(msgs.value()[2].direction, -1);
    std::remove(path.c_str());
}

TEST(LobsterTest, AcceptsHaltWithNegativePrice) {
    LobsterMessage m;
    ASSERT_TRUE(parse_lobster_line("34300.1,7,0,0,-1,-1", &m).is_ok());
    EXPECT_EQ(m.event_type, 7);
    EXPECT_EQ(m.price, -1);
}

struct MalformedCase {
    const char* line;
    const char* expected_words;
};

TEST(LobsterTest, RejectsMalformedLinesWithLineNumber) {
    const MalformedCase cases[] = {
            {"34200.1,1,7,100,5850000", "columns"},
            {"34200.1,1,7,100,5850000,1,9", "columns"},
            {"", "columns"},
            {"34200.1;1;7;100;5850000;1", "columns"},
            {"abc,1,7,100,5850000,1", "bad time"},
            {"34200.1234567891,1,7,100,5850000,1", "bad time"},
            {"34200.,1,7,100,5850000,1", "bad time"},
            {"-34200.1,1,7,100,5850000,1", "bad time"},
            {"34200.1,x,7,100,5850000,1", "bad event type"},
            {"34200.1,6,7,100,5850000,1", "unknown event type"},
            {"34200.1,0,7,100,5850000,1", "unknown event type"},
            {"34200.1,1,7x,100,5850000,1", "bad order id"},
            {"34200.1,1,-7,100,5850000,1", "bad order id"},
            {"34200.1,1,7,-100,5850000,1", "bad size"},
            {"34200.1,1,7,99999999999,5850000,1", "bad size"},
            {"34200.1,1,7,100,58.5,1", "bad price"},
            {"34200.1,1,7,100,5850000,0", "bad direction"},
            {"34200.1,1,7,100,5850000,2", "bad direction"},
            {"34200.1,1,7,100,5850000,+1", "bad direction"},
            {"34200.1,1,7,100,5850000, 1", "bad direction"},
    };
    for (const MalformedCase& c : cases) {
        const std::string text =
                std::string("34200.0,1,1,10,5850000,1\n34200.0,3,1,10,5850000,1\n") + c.line + "\n";
        const std::string path = write_temp_file("bad.csv", text);
        auto msgs = load_lobster(path);
        ASSERT_FALSE(msgs.is_ok()) << c.line;
        EXPECT_EQ(msgs.status().code(), ErrorCode::kInvalidArgument) << c.line;
        const std::string& message = msgs.status().message();
        EXPECT_NE(message.find(path + ":3: "), std::string::npos) << c.line << " -> " << message;
        EXPECT_NE(message.find(c.expected_words), std::string::npos) << c.line << " -> " << message;
        std::remove(path.c_str());
    }
}

TEST(LobsterTest, CountsFurtherMalformedLines) {
    const std::string path = write_temp_file(
            "many_bad.csv", "34200.0,1,1,10,5850000,1\nbad\n34200.0,9,1,10,5850000,1\nworse\n");
    auto msgs = load_lobster(path);
    ASSERT_FALSE(msgs.is_ok());
    EXPECT_NE(msgs.status().message().find(path + ":2: "), std::string::npos)
            << msgs.status().message();
    EXPECT_NE(msgs.status().message().find("and 2 more malformed lines"), std::string::npos)
            << msgs.status().message();
    std::remove(path.c_str());
}

TEST(LobsterTest, EncodeUsesDocumentedLittleEndianLayout) {
    const LobsterMessage m{0x0102030405060708ULL, 4, 0x1112131415161718ULL, 0x21222324, -2, -1};
    std::vector<uint8_t> out;
    encode_order(m, 0, &out);
    ASSERT_EQ(out.size(), kOrderRecordBytes);
    EXPECT_EQ(out[0], 0x08);
    EXPECT_EQ(out[7], 0x01);
    EXPECT_EQ(out[8], 0x18);
    EXPECT_EQ(out[15], 0x11);
    EXPECT_EQ(out[16], 0xfe);  // -2, two's complement
    EXPECT_EQ(out[23], 0xff);
    EXPECT_EQ(out[24], 0x24);
    EXPECT_EQ(out[27], 0x21);
    EXPECT_EQ(out[28], 4);
    EXPECT_EQ(out[29], 0xff);  // -1
    EXPECT_EQ(out[30], kOrderRecordVersion);
    EXPECT_EQ(out[31], 0);
}

TEST(LobsterTest, EncodeDecodeRoundTripsSampleWithPadding) {
    const std::string path = lobster_sample_path();
    ASSERT_FALSE(path.empty());
    auto msgs = load_lobster(path);
    ASSERT_TRUE(msgs.is_ok()) << msgs.status().to_string();
    std::vector<uint8_t> out;
    for (const size_t payload_bytes : {size_t{0}, size_t{32}, size_t{64}, size_t{1000}}) {
        for (const LobsterMessage& m : msgs.value()) {
            encode_order(m, payload_bytes, &out);
            ASSERT_EQ(out.size(), std::max(payload_bytes, kOrderRecordBytes));
            for (size_t i = kOrderRecordBytes; i < out.size(); i++) {
                ASSERT_EQ(out[i], 0) << "padding byte " << i;
            }
            auto back = decode_order(out);
            ASSERT_TRUE(back.is_ok()) << back.status().to_string();
            ASSERT_EQ(back.value(), m);
        }
    }
}

TEST(LobsterTest, DecodeRejectsDamagedRecords) {
    const LobsterMessage m{34200000000000ULL, 1, 5, 100, 5850000, 1};
    std::vector<uint8_t> good;
    encode_order(m, 32, &good);
    ASSERT_TRUE(decode_order(good).is_ok());

    EXPECT_EQ(decode_order(std::span<const uint8_t>(good.data(), 31)).status().code(),
              ErrorCode::kInvalidArgument);
    auto bad = good;
    bad[30] = 2;  // version
    EXPECT_FALSE(decode_order(bad).is_ok());
    bad = good;
    bad[31] = 1;  // reserved
    EXPECT_FALSE(decode_order(bad).is_ok());
    bad = good;
    bad[28] = 6;  // event type
    EXPECT_FALSE(decode_order(bad).is_ok());
    bad = good;
    bad[29] = 0;  // direction
    EXPECT_FALSE(decode_order(bad).is_ok());
}

}  // namespace
}  // namespace rlog::bench
