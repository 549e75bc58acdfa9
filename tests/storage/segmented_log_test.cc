// SPDX-License-Identifier: Apache-2.0
//
// SegmentedLog against a real file system in a temporary directory under /tmp. Every test runs
// on both backends (io_uring and the writer thread). Crashes are simulated by editing segment
// files between a close and a reopen (torn tails at every byte, flipped bits, deleted segments)
// and by the fault-injection hook in LogOptions (a write that fails part-way, before its sync).
// A full disk uses a 1 MiB tmpfs when the test may mount one (root), and is skipped otherwise;
// the injected ENOSPC test covers kNoSpace everywhere.

#include "storage/segmented_log.h"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/internal/format.h"

namespace rlog::storage {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeader = internal::kRecordHeaderBytes;
constexpr size_t kSegHeader = internal::kSegmentHeaderBytes;

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/rlog-storage-test-XXXXXX";
        char* p = ::mkdtemp(tmpl);
        RLOG_ASSERT(p != nullptr);
        path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Deterministic, never-zero payload bytes so a zeroed byte always breaks the CRC.
std::vector<uint8_t> payload_for(uint64_t index, size_t size, uint8_t salt = 0) {
    std::vector<uint8_t> p(size);
    for (size_t i = 0; i < size; ++i) {
        p[i] = static_cast<uint8_t>(1 + (index * 31 + i * 7 + salt) % 255);
    }
    return p;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
}

std::vector<std::string> segment_files(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".seg") {
            out.push_back(e.path().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

class SegmentedLogTest : public ::testing::TestWithParam<Backend> {
  protected:
    LogOptions options(size_t segment_size_bytes = 1 << 20) {
        LogOptions o;
        o.dir = dir_.path() + "/log";
        o.segment_size_bytes = segment_size_bytes;
        o.backend = GetParam();
        o.log = [this](LogLevel level, std::string_view line) {
            log_lines_.push_back(std::string(log_level_name(level)) + " " + std::string(line));
        };
        return o;
    }

    std::unique_ptr<SegmentedLog> open_ok(const LogOptions& o, std::vector<Record>* recovered) {
        auto r = SegmentedLog::open(o, recovered);
        EXPECT_TRUE(r.is_ok()) << r.status().to_string();
        if (!r.is_ok()) {
            return nullptr;
        }
        EXPECT_EQ(r.value()->backend(), GetParam());
        return std::move(r.value());
    }

    // Appends [first, first + count) with the given term, one append() call per record.
    static void append_range(SegmentedLog& log,
                             uint64_t first,
                             uint64_t count,
                             uint64_t term,
                             size_t payload_size,
                             uint8_t salt = 0) {
        for (uint64_t i = first; i < first + count; ++i) {
            auto payload = payload_for(i, payload_size, salt);
            RecordView r{Term(term), LogIndex(i), static_cast<uint8_t>(i % 3), payload};
            ASSERT_TRUE(log.append({&r, 1}).is_ok());
        }
    }

    static void sync_all(SegmentedLog& log) {
        for (int i = 0; i < 10000 && !log.idle(); ++i) {
            auto r = log.wait(1000000);
            ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        }
        ASSERT_TRUE(log.idle());
        ASSERT_EQ(log.durable_index(), log.last_index());
    }

    static void expect_record(
            const Record& r, uint64_t index, uint64_t term, size_t payload_size, uint8_t salt = 0) {
        EXPECT_EQ(r.index, LogIndex(index));
        EXPECT_EQ(r.term, Term(term));
        EXPECT_EQ(r.type, index % 3);
        EXPECT_EQ(r.payload, payload_for(index, payload_size, salt)) << "index " << index;
    }

    bool logged(const std::string& needle) const {
        for (const auto& l : log_lines_) {
            if (l.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }

    TempDir dir_;
    std::vector<std::string> log_lines_;
};

TEST_P(SegmentedLogTest, EmptyLogOpensWithNothing) {
    std::vector<Record> recovered;
    auto log = open_ok(options(), &recovered);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(recovered.empty());
    EXPECT_EQ(log->last_index(), LogIndex(0));
    EXPECT_EQ(log->durable_index(), LogIndex(0));
    EXPECT_EQ(log->durable_term(), Term(0));
    EXPECT_TRUE(log->idle());
    EXPECT_EQ(std::count_if(log_lines_.begin(), log_lines_.end(),
                            [](const std::string& l) {
                                return l.find("storage: backend") != std::string::npos;
                            }),
              1);  // The backend choice is logged once.
    EXPECT_TRUE(logged(std::string("storage: backend ") + backend_name(GetParam())));
}

TEST_P(SegmentedLogTest, RoundTripAcrossSegments) {
    auto o = options(4096);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        for (uint64_t i = 1; i <= 300; ++i) {
            append_range(*log, i, 1, 1 + i / 100, 10 + i % 90);
        }
        EXPECT_EQ(log->durable_index(), LogIndex(0));  // Nothing is durable before poll().
        sync_all(*log);
        EXPECT_EQ(log->durable_index(), LogIndex(300));
        EXPECT_EQ(log->durable_term(), Term(4));
        EXPECT_GT(log->stats().segments_created, 5u);
        EXPECT_EQ(log->stats().records_synced, 300u);
    }
    EXPECT_GT(segment_files(o.dir).size(), 5u);
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(recovered.size(), 300u);
    for (uint64_t i = 1; i <= 300; ++i) {
        expect_record(recovered[i - 1], i, 1 + i / 100, 10 + i % 90);
    }
    EXPECT_EQ(log->last_index(), LogIndex(300));
    EXPECT_EQ(log->durable_term(), Term(4));
}

TEST_P(SegmentedLogTest, ReopenAndContinueAppending) {
    auto o = options(8192);
    for (uint64_t round = 0; round < 3; ++round) {
        std::vector<Record> recovered;
        auto log = open_ok(o, &recovered);
        ASSERT_NE(log, nullptr);
        ASSERT_EQ(recovered.size(), round * 50);
        append_range(*log, round * 50 + 1, 50, round + 1, 64);
        sync_all(*log);
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_EQ(recovered.size(), 150u);
    for (uint64_t i = 1; i <= 150; ++i) {
        expect_record(recovered[i - 1], i, (i - 1) / 50 + 1, 64);
    }
}

// A crash can tear the last record at any byte. Reopening must keep every earlier record, drop
// exactly the torn one, and accept new appends (which a second reopen reads back).
TEST_P(SegmentedLogTest, OpenTrimsTornTailAtEveryOffset) {
    auto o = options(64 << 10);
    constexpr size_t kPayload = 40;
    constexpr uint64_t kRecords = 10;
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, kRecords, 2, kPayload);
        sync_all(*log);
    }
    const std::string seg = segment_files(o.dir).at(0);
    const std::vector<uint8_t> good = read_bytes(seg);
    const size_t last_off = kSegHeader + (kRecords - 1) * (kHeader + kPayload);
    const size_t last_end = last_off + kHeader + kPayload;
    for (int variant = 0; variant < 2; ++variant) {
        for (size_t cut = last_off; cut < last_end; ++cut) {
            SCOPED_TRACE("variant " + std::to_string(variant) + " cut " + std::to_string(cut));
            // Variant 0: zeros after the cut (lost pages); 1: every later byte differs (garbage).
            std::vector<uint8_t> torn = good;
            for (size_t i = cut; i < last_end; ++i) {
                torn[i] = variant == 0 ? 0 : static_cast<uint8_t>(good[i] ^ (0x5A + i % 7));
            }
            write_bytes(seg, torn);
            log_lines_.clear();
            {
                std::vector<Record> recovered;
                auto log = open_ok(o, &recovered);
                ASSERT_NE(log, nullptr);
                ASSERT_EQ(recovered.size(), kRecords - 1);
                expect_record(recovered.back(), kRecords - 1, 2, kPayload);
                EXPECT_EQ(log->last_index(), LogIndex(kRecords - 1));
                if (cut > last_off) {
                    EXPECT_TRUE(logged("trimmed torn tail")) << "cut " << cut;
                }
                // A shorter replacement record, then a second one.
                append_range(*log, kRecords, 2, 3, kPayload / 2, 9);
                sync_all(*log);
            }
            std::vector<Record> recovered;
            auto log = open_ok(o, &recovered);
            ASSERT_NE(log, nullptr);
            ASSERT_EQ(recovered.size(), kRecords + 1);
            expect_record(recovered[kRecords - 1], kRecords, 3, kPayload / 2, 9);
            expect_record(recovered[kRecords], kRecords + 1, 3, kPayload / 2, 9);
        }
    }
}

TEST_P(SegmentedLogTest, FlippedBitInEarlierRecordIsCorruption) {
    auto o = options(64 << 10);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 20, 1, 40);
        sync_all(*log);
    }
    const std::string seg = segment_files(o.dir).at(0);
    const std::vector<uint8_t> good = read_bytes(seg);
    const size_t rec5 = kSegHeader + 4 * (kHeader + 40);
    // A payload bit, a CRC bit, a term bit and an index bit of record 5.
    for (size_t at : {rec5 + kHeader + 3, rec5 + 5, rec5 + 9, rec5 + 16}) {
        std::vector<uint8_t> bad = good;
        bad[at] ^= 0x10;
        write_bytes(seg, bad);
        auto r = SegmentedLog::open(o, nullptr);
        ASSERT_FALSE(r.is_ok()) << "flip at " << at;
        EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
        EXPECT_NE(r.status().message().find(seg), std::string::npos) << r.status().message();
        EXPECT_NE(r.status().message().find("offset " + std::to_string(rec5)), std::string::npos)
                << r.status().message();
    }
}

// The last record of a closed segment looks like a tail, but only the log's tail may be torn.
TEST_P(SegmentedLogTest, FlippedBitInEarlierSegmentIsCorruption) {
    auto o = options(4096);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 200, 1, 60);
        sync_all(*log);
    }
    auto segs = segment_files(o.dir);
    ASSERT_GT(segs.size(), 2u);
    std::vector<uint8_t> bad = read_bytes(segs[0]);
    const size_t per_segment = (4096 - kSegHeader) / (kHeader + 60);
    const size_t last_in_first = kSegHeader + (per_segment - 1) * (kHeader + 60);
    bad[last_in_first + kHeader + 1] ^= 0x01;
    write_bytes(segs[0], bad);
    auto r = SegmentedLog::open(o, nullptr);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
    EXPECT_NE(r.status().message().find(segs[0]), std::string::npos) << r.status().message();
}

TEST_P(SegmentedLogTest, BadSegmentHeaderIsCorruption) {
    auto o = options(4096);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 100, 1, 60);
        sync_all(*log);
    }
    auto segs = segment_files(o.dir);
    ASSERT_GT(segs.size(), 1u);
    for (size_t which : {size_t{0}, segs.size() - 1}) {
        const std::vector<uint8_t> good = read_bytes(segs[which]);
        std::vector<uint8_t> bad = good;
        bad[17] ^= 0x40;  // first_index
        write_bytes(segs[which], bad);
        auto r = SegmentedLog::open(o, nullptr);
        ASSERT_FALSE(r.is_ok());
        EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
        EXPECT_NE(r.status().message().find(segs[which] + " offset 0"), std::string::npos)
                << r.status().message();
        write_bytes(segs[which], good);
    }
}

TEST_P(SegmentedLogTest, MissingMiddleSegmentIsCorruption) {
    auto o = options(4096);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 200, 1, 60);
        sync_all(*log);
    }
    auto segs = segment_files(o.dir);
    ASSERT_GT(segs.size(), 3u);
    fs::remove(segs[1]);
    auto r = SegmentedLog::open(o, nullptr);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
    EXPECT_NE(r.status().message().find("index gap"), std::string::npos) << r.status().message();
}

// A crash inside a group that spanned a roll: the new segment holds no record and the previous
// one has a torn tail. Both are crash artefacts, not corruption.
TEST_P(SegmentedLogTest, TornTailBeforeEmptyTrailingSegmentIsTrimmed) {
    auto o = options(4096);
    constexpr size_t kPayload = 60;
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 80, 1, kPayload);
        sync_all(*log);
    }
    auto segs = segment_files(o.dir);
    ASSERT_GE(segs.size(), 2u);
    const size_t per_segment = (4096 - kSegHeader) / (kHeader + kPayload);
    // Empty the last segment (keep its header) and tear the last record of the one before.
    std::vector<uint8_t> last = read_bytes(segs.back());
    std::fill(last.begin() + kSegHeader, last.end(), 0);
    write_bytes(segs.back(), last);
    std::vector<uint8_t> prev = read_bytes(segs[segs.size() - 2]);
    const size_t last_in_prev = kSegHeader + (per_segment - 1) * (kHeader + kPayload);
    std::fill(prev.begin() + last_in_prev + 10, prev.begin() + last_in_prev + kHeader + kPayload,
              0);
    write_bytes(segs[segs.size() - 2], prev);

    const uint64_t expect_last = (segs.size() - 1) * per_segment - 1;
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(recovered.size(), expect_last);
    EXPECT_EQ(segment_files(o.dir).size(), segs.size() - 1);
    append_range(*log, expect_last + 1, 50, 2, kPayload);
    sync_all(*log);
    log.reset();
    recovered.clear();
    log = open_ok(o, &recovered);
    ASSERT_EQ(recovered.size(), expect_last + 50);
    expect_record(recovered.back(), expect_last + 50, 2, kPayload);
}

// Records only queued (never submitted) when the process dies are not durable and the API never
// said they were.
TEST_P(SegmentedLogTest, QueuedRecordsAreNotDurableUntilSynced) {
    auto o = options();
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 10, 1, 32);
        sync_all(*log);
        append_range(*log, 11, 10, 1, 32);
        EXPECT_EQ(log->last_index(), LogIndex(20));
        EXPECT_EQ(log->durable_index(), LogIndex(10));
        EXPECT_FALSE(log->idle());
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_EQ(recovered.size(), 10u);
    append_range(*log, 11, 5, 2, 32);
    sync_all(*log);
    EXPECT_EQ(log->durable_term(), Term(2));
}

// Crash between write and sync: a write fails part-way (injected), so some bytes of the group
// reach the page cache unsynced. The log fails (never retries), reports nothing of that group
// durable, and a reopen keeps the synced prefix plus whatever whole records made it, trimming
// the torn one; appends then continue.
TEST_P(SegmentedLogTest, WriteFailureMidGroupFailsStopAndReopenKeepsSyncedPrefix) {
    auto o = options();
    constexpr size_t kRecord = kHeader + 100;
    o.inject_write_error_at_byte = 10 * kRecord + 5 * kRecord + kRecord / 2;
    o.inject_write_errno = EIO;
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 10, 1, 100);
        sync_all(*log);
        append_range(*log, 11, 10, 1, 100);
        Result<LogIndex> r = log->wait(1000000);
        for (int i = 0; i < 100 && r.is_ok(); ++i) {
            r = log->wait(1000000);
        }
        ASSERT_FALSE(r.is_ok());
        EXPECT_EQ(r.status().code(), ErrorCode::kIo);
        EXPECT_NE(r.status().message().find(o.dir), std::string::npos) << r.status().message();
        EXPECT_NE(r.status().message().find("errno 5"), std::string::npos) << r.status().message();
        EXPECT_EQ(log->durable_index(), LogIndex(10));
        // Fail-stop: every later call fails the same way.
        EXPECT_EQ(log->poll().status().code(), ErrorCode::kIo);
        auto payload = payload_for(21, 10);
        RecordView rv{Term(1), LogIndex(21), 0, payload};
        EXPECT_EQ(log->append({&rv, 1}).code(), ErrorCode::kIo);
        EXPECT_EQ(log->truncate_suffix(LogIndex(5)).code(), ErrorCode::kIo);
        EXPECT_TRUE(logged("storage failed"));
    }
    o.inject_write_error_at_byte = UINT64_MAX;
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(recovered.size(), 15u);  // 10 synced + 5 whole records in the page cache.
    for (uint64_t i = 1; i <= 15; ++i) {
        expect_record(recovered[i - 1], i, 1, 100);
    }
    EXPECT_TRUE(logged("trimmed torn tail"));
    append_range(*log, 16, 5, 2, 100);
    sync_all(*log);
    EXPECT_EQ(log->durable_index(), LogIndex(20));
}

TEST_P(SegmentedLogTest, InjectedEnospcGivesNoSpace) {
    auto o = options();
    o.inject_write_error_at_byte = 0;
    o.inject_write_errno = ENOSPC;
    auto log = open_ok(o, nullptr);
    ASSERT_NE(log, nullptr);
    append_range(*log, 1, 3, 1, 10);
    Result<LogIndex> r = log->wait(1000000);
    for (int i = 0; i < 100 && r.is_ok(); ++i) {
        r = log->wait(1000000);
    }
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kNoSpace);
    auto payload = payload_for(4, 10);
    RecordView rv{Term(1), LogIndex(4), 0, payload};
    EXPECT_EQ(log->append({&rv, 1}).code(), ErrorCode::kNoSpace);
    EXPECT_EQ(log->durable_index(), LogIndex(0));
}

// A real full disk: a 1 MiB tmpfs (needs mount rights; skipped without them). Segment files are
// preallocated, so the disk fills when a segment is created; the log then refuses everything.
TEST_P(SegmentedLogTest, FullDiskGivesNoSpace) {
    std::string mnt = dir_.path() + "/small";
    fs::create_directories(mnt);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    {
        LogOptions o = options(256 << 10);
        o.dir = mnt + "/log";
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        Status failed;
        uint64_t next = 1;
        for (int i = 0; i < 1000 && failed.is_ok(); ++i) {
            append_range(*log, next, 16, 1, 1000);
            next += 16;
            auto r = log->wait(1000000);
            for (int j = 0; j < 100 && r.is_ok() && !log->idle(); ++j) {
                r = log->wait(1000000);
            }
            failed = r.status();
        }
        EXPECT_EQ(failed.code(), ErrorCode::kNoSpace) << failed.to_string();
        auto payload = payload_for(next, 10);
        RecordView rv{Term(1), LogIndex(next), 0, payload};
        EXPECT_EQ(log->append({&rv, 1}).code(), ErrorCode::kNoSpace);
        EXPECT_LT(log->durable_index(), log->last_index());
    }
    EXPECT_EQ(::umount(mnt.c_str()), 0);
}

TEST_P(SegmentedLogTest, TruncateSuffixThenReopenNeverResurrects) {
    auto o = options();
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 30, 1, 100);
        sync_all(*log);
        ASSERT_TRUE(log->truncate_suffix(LogIndex(20)).is_ok());
        EXPECT_EQ(log->last_index(), LogIndex(19));
        EXPECT_EQ(log->durable_index(), LogIndex(19));
        EXPECT_EQ(log->durable_term(), Term(1));
        EXPECT_EQ(log->stats().truncations, 1u);
    }
    {
        std::vector<Record> recovered;
        auto log = open_ok(o, &recovered);
        ASSERT_NE(log, nullptr);
        ASSERT_EQ(recovered.size(), 19u);
        // Shorter records than the truncated ones, so stale bytes would line up differently.
        append_range(*log, 20, 3, 2, 10, 7);
        sync_all(*log);
        EXPECT_EQ(log->durable_term(), Term(2));
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(recovered.size(), 22u);
    expect_record(recovered[18], 19, 1, 100);
    for (uint64_t i = 20; i <= 22; ++i) {
        expect_record(recovered[i - 1], i, 2, 10, 7);
    }
}

// Replacement records of exactly the truncated size must not let a stale record that follows
// them line up and come back.
TEST_P(SegmentedLogTest, TruncateThenSameSizeAppendsDoNotResurrectLaterRecords) {
    auto o = options();
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 30, 1, 50);
        sync_all(*log);
        ASSERT_TRUE(log->truncate_suffix(LogIndex(10)).is_ok());
        append_range(*log, 10, 1, 2, 50, 3);
        sync_all(*log);
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(recovered.size(), 10u);
    expect_record(recovered[9], 10, 2, 50, 3);
}

TEST_P(SegmentedLogTest, TruncateAcrossSegmentsDeletesLaterSegments) {
    auto o = options(4096);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 200, 1, 60);
        sync_all(*log);
        const size_t before = segment_files(o.dir).size();
        ASSERT_TRUE(log->truncate_suffix(LogIndex(40)).is_ok());
        EXPECT_LT(segment_files(o.dir).size(), before);
        EXPECT_EQ(log->durable_index(), LogIndex(39));
        append_range(*log, 40, 100, 3, 20, 5);
        sync_all(*log);
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(recovered.size(), 139u);
    expect_record(recovered[38], 39, 1, 60);
    for (uint64_t i = 40; i <= 139; ++i) {
        expect_record(recovered[i - 1], i, 3, 20, 5);
    }
}

TEST_P(SegmentedLogTest, TruncateEverything) {
    auto o = options(4096);
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 100, 1, 60);
        sync_all(*log);
        ASSERT_TRUE(log->truncate_suffix(LogIndex(1)).is_ok());
        EXPECT_EQ(log->last_index(), LogIndex(0));
        EXPECT_EQ(log->durable_index(), LogIndex(0));
        EXPECT_EQ(log->durable_term(), Term(0));
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(recovered.empty());
    append_range(*log, 1, 5, 4, 8);
    sync_all(*log);
    EXPECT_EQ(log->durable_term(), Term(4));
}

// Records still queued are cut from the queue; nothing reaches the disk for them.
TEST_P(SegmentedLogTest, TruncateDropsQueuedRecords) {
    auto o = options();
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 10, 1, 20);
        sync_all(*log);
        append_range(*log, 11, 10, 1, 20);
        ASSERT_TRUE(log->truncate_suffix(LogIndex(15)).is_ok());
        EXPECT_EQ(log->last_index(), LogIndex(14));
        append_range(*log, 15, 2, 2, 20, 1);
        sync_all(*log);
        EXPECT_EQ(log->durable_index(), LogIndex(16));
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_EQ(recovered.size(), 16u);
    expect_record(recovered[13], 14, 1, 20);
    expect_record(recovered[15], 16, 2, 20, 1);
}

// Group commit: everything queued while a group is in flight rides the next group, so 1 + 100
// appends take exactly two syncs.
TEST_P(SegmentedLogTest, AppendsDuringInFlightSyncShareOneGroup) {
    auto log = open_ok(options(), nullptr);
    ASSERT_NE(log, nullptr);
    append_range(*log, 1, 1, 1, 16);
    ASSERT_TRUE(log->poll().is_ok());  // Submits the first group.
    append_range(*log, 2, 100, 1, 16);
    sync_all(*log);
    EXPECT_EQ(log->stats().records_appended, 101u);
    EXPECT_EQ(log->stats().records_synced, 101u);
    EXPECT_EQ(log->stats().syncs, 2u);
}

// The same with poll() after every append, as the node's loop does: fewer syncs than appends
// whenever a sync takes longer than an append (checked via stats, not timing: it can only fail
// if every group held a single record, which needs each sync to beat an append and a poll).
TEST_P(SegmentedLogTest, PollingAppenderGetsGroupCommit) {
    auto log = open_ok(options(), nullptr);
    ASSERT_NE(log, nullptr);
    for (uint64_t i = 1; i <= 500; ++i) {
        append_range(*log, i, 1, 1, 16);
        ASSERT_TRUE(log->poll().is_ok());
    }
    sync_all(*log);
    EXPECT_EQ(log->stats().records_synced, 500u);
    EXPECT_LT(log->stats().syncs, 500u);
    EXPECT_GE(log->stats().syncs, 1u);
}

// Short writes (forced by the test hook: at most 100 bytes per write) are requeued from where
// they stopped, the sync after them still runs once per segment run, and the data round-trips.
TEST_P(SegmentedLogTest, ShortWritesAreRequeued) {
    auto o = options(4096);
    o.max_write_bytes = 100;
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 60, 1, 200);
        sync_all(*log);
        EXPECT_EQ(log->stats().records_synced, 60u);
        // One group, one sync per segment it touched.
        EXPECT_EQ(log->stats().syncs, log->stats().segments_created);
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    ASSERT_EQ(recovered.size(), 60u);
    for (uint64_t i = 1; i <= 60; ++i) {
        expect_record(recovered[i - 1], i, 1, 200);
    }
}

TEST_P(SegmentedLogTest, AppendRejectsRecordLargerThanSegment) {
    auto log = open_ok(options(4096), nullptr);
    ASSERT_NE(log, nullptr);
    auto payload = payload_for(1, 4096);
    RecordView rv{Term(1), LogIndex(1), 0, payload};
    EXPECT_EQ(log->append({&rv, 1}).code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(log->last_index(), LogIndex(0));
}

TEST_P(SegmentedLogTest, NoFsyncModeStillRoundTrips) {
    auto o = options(4096);
    o.fsync = false;
    {
        auto log = open_ok(o, nullptr);
        ASSERT_NE(log, nullptr);
        append_range(*log, 1, 100, 1, 50);
        sync_all(*log);
        EXPECT_EQ(log->stats().syncs, 0u);
    }
    std::vector<Record> recovered;
    auto log = open_ok(o, &recovered);
    EXPECT_EQ(recovered.size(), 100u);
}

INSTANTIATE_TEST_SUITE_P(Backends,
                         SegmentedLogTest,
                         ::testing::Values(Backend::kIoUring, Backend::kThread),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                             return info.param == Backend::kIoUring ? "IoUring" : "Thread";
                         });

}  // namespace
}  // namespace rlog::storage
