// SPDX-License-Identifier: Apache-2.0
//
// Where the tests find the LOBSTER sample: "$RLOG_SOURCE_DIR/../shared/data/" (ctest sets
// RLOG_SOURCE_DIR to the repository root), and helpers for scratch files.

#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace rlog::bench::test_data {

inline constexpr const char* kSampleName = "AAPL_2012-06-21_34200000_57600000_message_10.csv";

// The sample's path, or "" after recording a test failure that says why it is missing.
inline std::string lobster_sample_path() {
    const char* root = std::getenv("RLOG_SOURCE_DIR");
    if (root == nullptr || *root == '\0') {
        ADD_FAILURE() << "RLOG_SOURCE_DIR is not set; run the tests through ctest, or set it to "
                         "the repository root";
        return "";
    }
    const std::string path = std::string(root) + "/../shared/data/" + kSampleName;
    if (access(path.c_str(), R_OK) != 0) {
        ADD_FAILURE() << "LOBSTER sample missing: " << path
                      << " (it lives outside the repository, in ../shared/data/)";
        return "";
    }
    return path;
}

// Writes `contents` to a fresh file under the gtest temporary directory and returns its path.
inline std::string write_temp_file(const std::string& name, const std::string& contents) {
    const std::string path =
            ::testing::TempDir() + "rlog_bench_" + std::to_string(getpid()) + "_" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    out.close();
    EXPECT_TRUE(out.good()) << "cannot write " << path;
    return path;
}

}  // namespace rlog::bench::test_data
