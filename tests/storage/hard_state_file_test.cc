// SPDX-License-Identifier: Apache-2.0
//
// HardStateFile in a temporary directory: round trips across reopen, a torn store() of either
// slot at every byte (new bytes then old bytes, or new bytes then zeros) loads the old or the new
// value and never garbage, and damage to both slots is kCorruption.

#include "storage/hard_state_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::storage {
namespace {

namespace fs = std::filesystem;

class HardStateFileTest : public ::testing::Test {
  protected:
    HardStateFileTest() {
        char tmpl[] = "/tmp/rlog-hardstate-test-XXXXXX";
        char* p = ::mkdtemp(tmpl);
        RLOG_ASSERT(p != nullptr);
        dir_ = p;
        path_ = dir_ + "/hard_state";
    }
    ~HardStateFileTest() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::unique_ptr<HardStateFile> open_ok() {
        auto r = HardStateFile::open(dir_);
        EXPECT_TRUE(r.is_ok()) << r.status().to_string();
        return r.is_ok() ? std::move(r.value()) : nullptr;
    }
    std::vector<uint8_t> read_file() const {
        std::ifstream in(path_, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
    }
    void write_file(const std::vector<uint8_t>& data) const {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data.data()),
                  static_cast<std::streamsize>(data.size()));
    }

    std::string dir_;
    std::string path_;
};

TEST_F(HardStateFileTest, NewFileLoadsZero) {
    auto f = open_ok();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->current(), (DurableHardState{Term(0), kNoNode}));
    EXPECT_TRUE(fs::exists(path_));
    EXPECT_EQ(fs::file_size(path_), 128u);
}

TEST_F(HardStateFileTest, StoreRoundTripsAcrossReopen) {
    for (uint64_t t = 1; t <= 5; ++t) {
        auto f = open_ok();
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->current().term, Term(t - 1));
        DurableHardState s{Term(t), NodeId(static_cast<uint32_t>(t % 3))};
        ASSERT_TRUE(f->store(s).is_ok());
        EXPECT_EQ(f->current(), s);
    }
    auto f = open_ok();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->current(), (DurableHardState{Term(5), NodeId(2)}));
}

// The next store() writes slot (stores % 2); tear it at every byte.
TEST_F(HardStateFileTest, TornStoreOfEitherSlotLeavesOldOrNew) {
    const DurableHardState old_value{Term(7), NodeId(3)};
    const DurableHardState new_value{Term(8), NodeId(1)};
    for (int extra_stores = 0; extra_stores < 2; ++extra_stores) {
        fs::remove(path_);
        {
            auto f = open_ok();
            ASSERT_NE(f, nullptr);
            for (int i = 0; i <= extra_stores; ++i) {
                ASSERT_TRUE(f->store(old_value).is_ok());
            }
        }
        const std::vector<uint8_t> before = read_file();
        {
            auto f = open_ok();
            ASSERT_NE(f, nullptr);
            ASSERT_TRUE(f->store(new_value).is_ok());
        }
        const std::vector<uint8_t> after = read_file();
        ASSERT_EQ(before.size(), 128u);
        ASSERT_EQ(after.size(), 128u);
        size_t slot_begin = 0;
        while (slot_begin < 128 && before[slot_begin] == after[slot_begin]) {
            ++slot_begin;
        }
        slot_begin -= slot_begin % 64;
        ASSERT_LT(slot_begin, 128u);
        EXPECT_EQ(slot_begin, extra_stores == 0 ? 0u : 64u);  // Slots alternate.
        for (int zeros = 0; zeros < 2; ++zeros) {
            for (size_t k = 0; k <= 64; ++k) {
                SCOPED_TRACE("slot at " + std::to_string(slot_begin) + " torn at " +
                             std::to_string(k) + (zeros ? " then zeros" : " then old bytes"));
                std::vector<uint8_t> torn = before;
                for (size_t i = 0; i < 64; ++i) {
                    if (i < k) {
                        torn[slot_begin + i] = after[slot_begin + i];
                    } else if (zeros) {
                        torn[slot_begin + i] = 0;
                    }
                }
                write_file(torn);
                auto f = open_ok();
                ASSERT_NE(f, nullptr);
                EXPECT_TRUE(f->current() == old_value || f->current() == new_value);
                if (k == 64) {
                    EXPECT_EQ(f->current(), new_value);
                }
                if (k < 60) {  // The CRC sits in the last 4 bytes; before it, always the old one.
                    EXPECT_EQ(f->current(), old_value);
                }
            }
        }
    }
}

TEST_F(HardStateFileTest, OneCorruptSlotLoadsTheOther) {
    {
        auto f = open_ok();
        ASSERT_NE(f, nullptr);
        // A new file holds sequence 0 in both slots and treats slot 0 as newest, so stores
        // alternate 1, 0, 1, ...
        ASSERT_TRUE(f->store({Term(3), NodeId(1)}).is_ok());  // Slot 1.
        ASSERT_TRUE(f->store({Term(4), NodeId(2)}).is_ok());  // Slot 0.
    }
    std::vector<uint8_t> data = read_file();
    data[20] ^= 0x01;  // Damage the newest.
    write_file(data);
    auto f = open_ok();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->current(), (DurableHardState{Term(3), NodeId(1)}));
    // The next store overwrites the damaged slot and wins.
    ASSERT_TRUE(f->store({Term(5), NodeId(3)}).is_ok());
    f.reset();
    f = open_ok();
    EXPECT_EQ(f->current(), (DurableHardState{Term(5), NodeId(3)}));
}

TEST_F(HardStateFileTest, BothSlotsCorruptIsCorruption) {
    {
        auto f = open_ok();
        ASSERT_NE(f, nullptr);
        ASSERT_TRUE(f->store({Term(3), NodeId(1)}).is_ok());
    }
    std::vector<uint8_t> data = read_file();
    data[10] ^= 0x80;
    data[64 + 10] ^= 0x80;
    write_file(data);
    auto r = HardStateFile::open(dir_);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
    EXPECT_NE(r.status().message().find(path_), std::string::npos) << r.status().message();
}

TEST_F(HardStateFileTest, OpenFailsInMissingDirectory) {
    auto r = HardStateFile::open(dir_ + "/does/not/exist");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace rlog::storage
