// SPDX-License-Identifier: Apache-2.0
//
// The history checker behind `rlog check` and `rlog bench`, fed crafted histories: a clean one
// passes, and each kind of violation (lost acknowledged message, a message sequenced twice, a
// gap, diverging replicas, an acknowledgement at the wrong number, a lagging replica) is reported.

#include "node/history_check.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::node {
namespace {

StreamRecord rec(uint64_t seq, uint64_t client, uint64_t request) {
    return StreamRecord{seq, client,  request,
                        1,   seq + 1, static_cast<uint32_t>(client * 7 + request)};
}

AckRecord ack(uint64_t seq, uint64_t client, uint64_t request) {
    return AckRecord{client, request, seq, 1, seq + 1, static_cast<uint32_t>(client * 7 + request)};
}

std::vector<ReplicaStream> three_copies(const std::vector<StreamRecord>& records) {
    return {ReplicaStream{"replica 1", records}, ReplicaStream{"replica 2", records},
            ReplicaStream{"replica 3", records}};
}

bool mentions(const HistoryCheckResult& r, const std::string& text) {
    for (const std::string& v : r.violations) {
        if (v.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(HistoryCheckTest, CleanHistoryPasses) {
    std::vector<StreamRecord> s = {rec(1, 10, 1), rec(2, 11, 1), rec(3, 10, 2)};
    HistoryCheckResult r =
            check_history({ack(1, 10, 1), ack(2, 11, 1), ack(3, 10, 2)}, three_copies(s), false);
    EXPECT_TRUE(r.passed());
    EXPECT_EQ(r.acks_checked, 3u);
    EXPECT_EQ(r.records_checked, 9u);
}

TEST(HistoryCheckTest, LostAcknowledgedMessageIsReported) {
    std::vector<StreamRecord> s = {rec(1, 10, 1)};
    HistoryCheckResult r = check_history({ack(1, 10, 1), ack(2, 10, 2)}, three_copies(s), false);
    EXPECT_FALSE(r.passed());
    EXPECT_TRUE(mentions(r, "acknowledged seq 2"));
}

TEST(HistoryCheckTest, MessageSequencedTwiceIsReported) {
    std::vector<StreamRecord> s = {rec(1, 10, 1), rec(2, 10, 1)};
    HistoryCheckResult r = check_history({ack(1, 10, 1)}, three_copies(s), false);
    EXPECT_FALSE(r.passed());
    EXPECT_TRUE(mentions(r, "sequenced twice"));
}

TEST(HistoryCheckTest, GapIsReported) {
    std::vector<StreamRecord> s = {rec(1, 10, 1), rec(3, 10, 2)};
    HistoryCheckResult r = check_history({}, three_copies(s), false);
    EXPECT_FALSE(r.passed());
    EXPECT_TRUE(mentions(r, "gap or disorder"));
}

TEST(HistoryCheckTest, DivergingReplicasAreReported) {
    std::vector<ReplicaStream> streams = three_copies({rec(1, 10, 1), rec(2, 11, 1)});
    streams[2].records[1] = rec(2, 12, 1);
    HistoryCheckResult r = check_history({}, streams, false);
    EXPECT_FALSE(r.passed());
    EXPECT_TRUE(mentions(r, "diverge at seq 2"));
}

TEST(HistoryCheckTest, AcknowledgementAtWrongNumberIsReported) {
    std::vector<StreamRecord> s = {rec(1, 10, 1), rec(2, 11, 1)};
    HistoryCheckResult r = check_history({ack(1, 11, 1)}, three_copies(s), false);
    EXPECT_FALSE(r.passed());
    EXPECT_TRUE(mentions(r, "but the stream holds"));
}

TEST(HistoryCheckTest, PayloadMismatchIsReported) {
    std::vector<StreamRecord> s = {rec(1, 10, 1)};
    AckRecord a = ack(1, 10, 1);
    a.payload_crc ^= 1;
    HistoryCheckResult r = check_history({a}, three_copies(s), false);
    EXPECT_FALSE(r.passed());
}

TEST(HistoryCheckTest, TwoAcknowledgementsWithDifferentNumbersAreReported) {
    std::vector<StreamRecord> s = {rec(1, 10, 1), rec(2, 10, 2)};
    AckRecord second = ack(1, 10, 1);
    second.seq = 2;
    HistoryCheckResult r = check_history({ack(1, 10, 1), second}, three_copies(s), false);
    EXPECT_TRUE(mentions(r, "acknowledged with two seqs"));
}

TEST(HistoryCheckTest, LaggingReplicaPassesOnlyWhenLagIsAllowed) {
    std::vector<ReplicaStream> streams = three_copies({rec(1, 10, 1), rec(2, 10, 2)});
    streams[1].records.pop_back();
    std::vector<AckRecord> acks = {ack(1, 10, 1), ack(2, 10, 2)};
    EXPECT_TRUE(check_history(acks, streams, true).passed());
    EXPECT_FALSE(check_history(acks, streams, false).passed());
}

TEST(HistoryCheckTest, ViolationListIsBoundedButAllAreCounted) {
    std::vector<StreamRecord> s;
    for (uint64_t i = 1; i <= 100; i++) {
        s.push_back(rec(i + 1, 10, i));  // Every position off by one.
    }
    HistoryCheckResult r = check_history({}, {ReplicaStream{"replica 1", s}}, false, 5);
    EXPECT_EQ(r.violations.size(), 5u);
    EXPECT_EQ(r.violations_total, 100u);
}

TEST(HistoryCheckTest, AckFileRoundTripsAndRejectsGarbage) {
    const std::string path = ::testing::TempDir() + "/acks_test.txt";
    {
        std::ofstream out(path);
        out << "# header\n"
            << format_ack_line(ack(1, 10, 1)) << "\n"
            << format_ack_line(ack(2, 10, 2)) << "\n";
    }
    Result<std::vector<AckRecord>> loaded = load_ack_file(path);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    ASSERT_EQ(loaded.value().size(), 2u);
    EXPECT_EQ(loaded.value()[1].request_no, 2u);
    EXPECT_EQ(loaded.value()[1].payload_crc, ack(2, 10, 2).payload_crc);
    {
        std::ofstream out(path);
        out << "1 2 3\n";
    }
    Result<std::vector<AckRecord>> bad = load_ack_file(path);
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find(":1:"), std::string::npos);
    std::remove(path.c_str());
    EXPECT_EQ(load_ack_file(path).status().code(), ErrorCode::kNotFound);
}

TEST(HistoryCheckTest, AckFileWithTimesRoundTrips) {
    const std::string path = ::testing::TempDir() + "/acks_times_test.txt";
    AckRecord timed = ack(1, 10, 1);
    timed.acked_unix_us = 1'700'000'000'123'456;
    timed.latency_us = 789;
    {
        std::ofstream out(path);
        out << format_ack_line(timed) << "\n" << format_ack_line(ack(2, 10, 2)) << "\n";
    }
    Result<std::vector<AckRecord>> loaded = load_ack_file(path);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    ASSERT_EQ(loaded.value().size(), 2u);
    EXPECT_EQ(loaded.value()[0].acked_unix_us, timed.acked_unix_us);
    EXPECT_EQ(loaded.value()[0].latency_us, 789u);
    EXPECT_EQ(loaded.value()[1].acked_unix_us, 0u);
    {
        std::ofstream out(path);
        out << "1 2 3 4 5 6 7\n";  // A time without a latency.
    }
    EXPECT_FALSE(load_ack_file(path).is_ok());
    {
        std::ofstream out(path);
        out << "1 2 3 4 5 6 7 8 9\n";  // One field too many.
    }
    EXPECT_FALSE(load_ack_file(path).is_ok());
    std::remove(path.c_str());
}

}  // namespace
}  // namespace rlog::node
