// SPDX-License-Identifier: Apache-2.0
//
// CRC32C: known-answer vectors (RFC 3720 appendix B.4), agreement between the hardware and
// software paths over every length, and incremental extension.

#include "common/crc32c.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace rlog {
namespace {

TEST(Crc32cTest, MatchesKnownVectors) {
    uint8_t zeros[32] = {};
    EXPECT_EQ(crc32c(zeros, sizeof(zeros)), 0x8a9136aau);
    uint8_t ones[32];
    std::memset(ones, 0xff, sizeof(ones));
    EXPECT_EQ(crc32c(ones, sizeof(ones)), 0x62a8ab43u);
    uint8_t ascending[32];
    for (int i = 0; i < 32; i++) {
        ascending[i] = static_cast<uint8_t>(i);
    }
    EXPECT_EQ(crc32c(ascending, sizeof(ascending)), 0x46dd794eu);
    EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, ExtendEqualsOneShotAtEverySplit) {
    std::mt19937 rng(7);
    std::vector<uint8_t> data(257);
    for (auto& b : data) {
        b = static_cast<uint8_t>(rng());
    }
    const uint32_t whole = crc32c(data.data(), data.size());
    for (size_t split = 0; split <= data.size(); split++) {
        uint32_t c = crc32c_extend(0, data.data(), split);
        c = crc32c_extend(c, data.data() + split, data.size() - split);
        ASSERT_EQ(c, whole) << "split=" << split;
    }
}

TEST(Crc32cTest, DetectsEverySingleBitFlip) {
    std::vector<uint8_t> data(64, 0x5a);
    const uint32_t base = crc32c(data.data(), data.size());
    for (size_t bit = 0; bit < data.size() * 8; bit++) {
        data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_NE(crc32c(data.data(), data.size()), base) << "bit=" << bit;
        data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    }
}

}  // namespace
}  // namespace rlog
