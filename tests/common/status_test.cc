// SPDX-License-Identifier: Apache-2.0
//
// Status and Result: the OK path carries no message, errors keep code and text, Result holds
// exactly one of value or error.

#include "common/status.h"

#include <string>

#include <gtest/gtest.h>

#include "common/types.h"

namespace rlog {
namespace {

TEST(StatusTest, OkHasNoMessage) {
    Status s;
    EXPECT_TRUE(s.is_ok());
    EXPECT_EQ(s.to_string(), "ok");
}

TEST(StatusTest, ErrorKeepsCodeAndMessage) {
    Status s(ErrorCode::kCorruption, "segment 3: crc mismatch");
    EXPECT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::kCorruption);
    EXPECT_EQ(s.to_string(), "corruption: segment 3: crc mismatch");
}

Status fails_then_stops(int* reached) {
    RLOG_RETURN_IF_ERROR(Status(ErrorCode::kIo, "disk"));
    *reached = 1;
    return Status::ok();
}

TEST(StatusTest, ReturnIfErrorStopsAtFirstError) {
    int reached = 0;
    EXPECT_EQ(fails_then_stops(&reached).code(), ErrorCode::kIo);
    EXPECT_EQ(reached, 0);
}

TEST(ResultTest, HoldsValueOrError) {
    Result<std::string> good(std::string("x"));
    ASSERT_TRUE(good.is_ok());
    EXPECT_EQ(good.value(), "x");
    EXPECT_TRUE(good.status().is_ok());
    Result<std::string> bad(Status(ErrorCode::kNotFound, "nope"));
    EXPECT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound);
}

TEST(StrongIntTest, ArithmeticKeepsTypes) {
    LogIndex a{5};
    LogIndex b = a + 3;
    EXPECT_EQ(b.value, 8u);
    EXPECT_EQ(b - a, 3u);
    EXPECT_LT(a, b);
    ++a;
    EXPECT_EQ(a, LogIndex{6});
}

}  // namespace
}  // namespace rlog
