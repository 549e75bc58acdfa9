// SPDX-License-Identifier: Apache-2.0
//
// The offline checker behind `rlog check --data-dir`, fed crafted replica logs: a clean history
// passes and an uncommitted tail is not a violation, while a lost acknowledged message, a
// duplicate acknowledgement, a gap in a log, diverging replicas and a message nobody sent are
// each reported. The last tests write real data directories with SegmentedLog and HardStateFile
// and check them back.

#include "node/check_data.h"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "consensus/message.h"
#include "node/sequencer.h"
#include "storage/hard_state_file.h"
#include "storage/segmented_log.h"

namespace rlog::node {
namespace {

constexpr uint8_t kCommand = static_cast<uint8_t>(consensus::EntryType::kCommand);

std::vector<uint8_t> data_for(uint64_t client, uint64_t request) {
    return {static_cast<uint8_t>(client), static_cast<uint8_t>(request), 0x5a, 0xa5};
}

storage::Record command(uint64_t index, uint64_t term, uint64_t client, uint64_t request) {
    storage::Record r;
    r.index = LogIndex{index};
    r.term = Term{term};
    r.type = kCommand;
    encode_command(client, request, 1, data_for(client, request), &r.payload);
    return r;
}

storage::Record noop(uint64_t index, uint64_t term) {
    storage::Record r;
    r.index = LogIndex{index};
    r.term = Term{term};
    r.type = static_cast<uint8_t>(consensus::EntryType::kNoop);
    return r;
}

// The acknowledgement a client would hold for (client, request) sequenced at `seq` from the
// entry at `index` in `term`.
AckRecord ack(uint64_t seq, uint64_t client, uint64_t request, uint64_t term, uint64_t index) {
    const std::vector<uint8_t> d = data_for(client, request);
    return AckRecord{client, request, seq, term, index, crc32c(d.data(), d.size())};
}

SentRecord sent(uint64_t client, uint64_t request) {
    const std::vector<uint8_t> d = data_for(client, request);
    return SentRecord{client, request, crc32c(d.data(), d.size())};
}

// noop at 1, then requests 1..n of client 7 at indexes 2..n+1, all in term 1.
std::vector<storage::Record> history(uint64_t n) {
    std::vector<storage::Record> log = {noop(1, 1)};
    for (uint64_t i = 1; i <= n; i++) {
        log.push_back(command(i + 1, 1, 7, i));
    }
    return log;
}

std::vector<ReplicaData> three(const std::vector<storage::Record>& log) {
    std::vector<ReplicaData> out;
    for (int i = 1; i <= 3; i++) {
        ReplicaData d;
        d.name = "replica " + std::to_string(i);
        d.term = 1;
        d.entries = log;
        out.push_back(d);
    }
    return out;
}

bool mentions(const DataCheckResult& r, const std::string& text) {
    for (const std::string& v : r.history.violations) {
        if (v.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(CheckDataTest, CleanHistoryPasses) {
    std::vector<ReplicaData> replicas = three(history(3));
    DataCheckResult r =
            check_replica_data(replicas, {ack(1, 7, 1, 1, 2), ack(3, 7, 3, 1, 4)},
                               {sent(7, 1), sent(7, 2), sent(7, 3)}, /*have_sent=*/true);
    EXPECT_TRUE(r.history.passed())
            << (r.history.violations.empty() ? "" : r.history.violations[0]);
    EXPECT_EQ(r.committed_index, 4u);
    EXPECT_EQ(r.committed_seq, 3u);
    EXPECT_EQ(r.history.acks_checked, 2u);
}

TEST(CheckDataTest, UncommittedTailIsNotAViolation) {
    std::vector<ReplicaData> replicas = three(history(2));
    replicas[0].entries.push_back(command(4, 1, 7, 3));  // Only on one replica: not committed.
    DataCheckResult r = check_replica_data(replicas, {ack(2, 7, 2, 1, 3)}, {}, false);
    EXPECT_TRUE(r.history.passed());
    EXPECT_EQ(r.committed_index, 3u);
    ASSERT_EQ(r.notes.size(), 3u);
    EXPECT_NE(r.notes[0].find("uncommitted tail 1"), std::string::npos) << r.notes[0];
}

TEST(CheckDataTest, MajorityPrefixIsCommittedEvenIfOneReplicaLags) {
    std::vector<ReplicaData> replicas = three(history(3));
    replicas[2].entries.resize(2);  // A lagging replica: a prefix of the others.
    DataCheckResult r = check_replica_data(replicas, {ack(3, 7, 3, 1, 4)}, {}, false);
    EXPECT_TRUE(r.history.passed());
    EXPECT_EQ(majority_prefix(replicas), 4u);
}

TEST(CheckDataTest, LostAcknowledgedMessageIsReported) {
    std::vector<ReplicaData> replicas = three(history(2));
    // Acknowledged at seq 3, but only one replica holds it: it was never committed.
    replicas[1].entries.push_back(command(4, 1, 7, 3));
    DataCheckResult r = check_replica_data(replicas, {ack(3, 7, 3, 1, 4)}, {}, false);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "acknowledged seq 3")) << r.history.violations[0];
}

TEST(CheckDataTest, DuplicateIsReported) {
    // The same request acknowledged with two sequence numbers.
    std::vector<ReplicaData> replicas = three(history(2));
    AckRecord twice = ack(1, 7, 1, 1, 2);
    twice.seq = 2;
    DataCheckResult r = check_replica_data(replicas, {ack(1, 7, 1, 1, 2), twice}, {}, false);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "acknowledged with two seqs"));
}

TEST(CheckDataTest, GapIsReported) {
    std::vector<ReplicaData> replicas = three(history(3));
    replicas[1].entries.erase(replicas[1].entries.begin() + 2);  // Index 3 missing.
    DataCheckResult r = check_replica_data(replicas, {}, {}, false);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "gap in the log: position 3 holds index 4"));
}

TEST(CheckDataTest, DivergingReplicaIsReported) {
    std::vector<ReplicaData> replicas = three(history(3));
    replicas[2].entries[2] = command(3, 1, 9, 1);  // A different message at index 3.
    DataCheckResult r = check_replica_data(replicas, {ack(2, 7, 2, 1, 3)}, {}, false);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "replica 3 diverges from the majority's committed log at index 3"));
    EXPECT_EQ(r.history.violations_total, 1u);
    // With a lost acknowledgement as well, both are counted.
    r = check_replica_data(replicas, {ack(2, 7, 2, 1, 3), ack(9, 7, 9, 1, 10)}, {}, false);
    EXPECT_EQ(r.history.violations_total, 2u);
}

TEST(CheckDataTest, NoMajorityMeansNotCommittedAndAcksThereAreLost) {
    std::vector<ReplicaData> replicas = three(history(1));
    replicas[0].entries.push_back(command(3, 2, 7, 2));
    replicas[1].entries.push_back(command(3, 3, 7, 3));
    replicas[2].entries.push_back(command(3, 4, 7, 4));
    DataCheckResult r = check_replica_data(replicas, {ack(2, 7, 2, 2, 3)}, {}, false);
    EXPECT_EQ(r.committed_index, 2u);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "acknowledged seq 2"));
    EXPECT_EQ(r.history.violations_total, 1u);
}

TEST(CheckDataTest, MessageNobodySentIsReported) {
    std::vector<ReplicaData> replicas = three(history(2));
    DataCheckResult r = check_replica_data(replicas, {}, {sent(7, 1)}, true);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "client 7 request 2 (term 1 index 3), which no client sent"));
    // The same request sent with other bytes than the ones committed.
    SentRecord other = sent(7, 2);
    other.payload_crc ^= 1;
    r = check_replica_data(replicas, {}, {sent(7, 1), other}, true);
    EXPECT_TRUE(mentions(r, "but the client sent crc"));
    // Without sent logs the check is skipped.
    EXPECT_TRUE(check_replica_data(replicas, {}, {}, false).history.passed());
}

TEST(CheckDataTest, RetryThatCommittedTwiceKeepsItsNumber) {
    // A client retry commits a second entry for request 1: the sequencer gives no new number.
    std::vector<storage::Record> log = history(2);
    log.push_back(command(4, 1, 7, 1));
    std::vector<ReplicaData> replicas = three(log);
    DataCheckResult r = check_replica_data(replicas, {ack(1, 7, 1, 1, 2), ack(2, 7, 2, 1, 3)},
                                           {sent(7, 1), sent(7, 2)}, true);
    EXPECT_TRUE(r.history.passed());
    EXPECT_EQ(r.committed_seq, 2u);
}

class CheckDataDirTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = ::testing::TempDir() + "/check_data_test_" + std::to_string(::getpid());
        std::filesystem::remove_all(root_);
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    // Writes `log` durably into <root>/<name> with term `term` in the hard state.
    std::string write_dir(const std::string& name,
                          const std::vector<storage::Record>& log,
                          uint64_t term) {
        const std::string dir = root_ + "/" + name;
        std::filesystem::create_directories(dir);
        Result<std::unique_ptr<storage::HardStateFile>> hs = storage::HardStateFile::open(dir);
        EXPECT_TRUE(hs.is_ok());
        EXPECT_TRUE(hs.value()->store({Term{term}, NodeId{1}}).is_ok());
        storage::LogOptions options;
        options.dir = dir;
        options.segment_size_bytes = 4096;  // Several segments.
        options.backend = storage::Backend::kThread;
        Result<std::unique_ptr<storage::SegmentedLog>> opened =
                storage::SegmentedLog::open(options, nullptr);
        EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
        storage::SegmentedLog& sl = *opened.value();
        std::vector<storage::RecordView> views;
        for (const storage::Record& r : log) {
            views.push_back(storage::RecordView{r.term, r.index, r.type, r.payload});
        }
        EXPECT_TRUE(sl.append(views).is_ok());
        while (sl.durable_index().value < log.size()) {
            Result<LogIndex> d = sl.wait(10'000);
            EXPECT_TRUE(d.is_ok());
            if (!d.is_ok()) {
                break;
            }
        }
        return dir;
    }

    std::string root_;
};

TEST_F(CheckDataDirTest, RealDataDirectoriesPass) {
    std::vector<storage::Record> log = history(200);
    std::vector<ReplicaData> replicas;
    for (const char* name : {"a", "b", "c"}) {
        Result<ReplicaData> d = read_replica_data(write_dir(name, log, 3));
        ASSERT_TRUE(d.is_ok()) << d.status().to_string();
        EXPECT_EQ(d.value().term, 3u);
        EXPECT_EQ(d.value().entries.size(), log.size());
        replicas.push_back(std::move(d).value());
    }
    std::vector<AckRecord> acks;
    std::vector<SentRecord> sends;
    for (uint64_t i = 1; i <= 200; i++) {
        acks.push_back(ack(i, 7, i, 1, i + 1));
        sends.push_back(sent(7, i));
    }
    DataCheckResult r = check_replica_data(replicas, acks, sends, true);
    EXPECT_TRUE(r.history.passed())
            << (r.history.violations.empty() ? "" : r.history.violations[0]);
    EXPECT_EQ(r.committed_seq, 200u);
}

TEST_F(CheckDataDirTest, RealDataDirectoryThatDivergesIsReported) {
    std::vector<storage::Record> log = history(50);
    std::vector<storage::Record> other = log;
    other[10] = command(11, 1, 9, 1);
    std::vector<ReplicaData> replicas;
    for (auto [name, l] : {std::pair{"a", &log}, std::pair{"b", &log}, std::pair{"c", &other}}) {
        Result<ReplicaData> d = read_replica_data(write_dir(name, *l, 1));
        ASSERT_TRUE(d.is_ok()) << d.status().to_string();
        replicas.push_back(std::move(d).value());
    }
    DataCheckResult r = check_replica_data(replicas, {}, {}, false);
    EXPECT_FALSE(r.history.passed());
    EXPECT_TRUE(mentions(r, "diverges from the majority's committed log at index 11"));
}

TEST_F(CheckDataDirTest, MissingDirectoryIsAnError) {
    const std::string dir = root_ + "/does-not-exist";
    EXPECT_EQ(read_replica_data(dir).status().code(), ErrorCode::kNotFound);
    EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace rlog::node
