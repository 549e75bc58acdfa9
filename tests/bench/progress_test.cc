// SPDX-License-Identifier: Apache-2.0
//
// ProgressLine: on a pipe (not a terminal) it writes plain newline-terminated lines, at most one
// per second of a fake clock, and `finish()` shows the latest status; on a pseudo-terminal it
// rewrites the line in place with "\r" and the ANSI erase-line sequence.

#include "bench/support/progress.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace rlog::bench {
namespace {

// Reads everything the pipe holds until the write end is closed.
std::string drain(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

TEST(ProgressLineTest, PipeGetsPlainLinesAtMostOncePerSecond) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    FILE* w = fdopen(fds[1], "w");
    ASSERT_NE(w, nullptr);
    uint64_t now_ns = 0;
    {
        ProgressLine line(w, [&now_ns] { return now_ns; });
        EXPECT_FALSE(line.is_terminal());
        line.update("a");  // first status: shown
        now_ns = 500'000'000;
        line.update("b");  // 0.5 s later: held back
        now_ns = 1'200'000'000;
        line.update("c");  // 1.2 s after "a": shown
        now_ns = 1'300'000'000;
        line.update("d");  // held back until finish()
        line.finish();
        line.update("e");  // after finish: ignored
        line.finish();
    }
    ASSERT_EQ(std::fclose(w), 0);
    const std::string out = drain(fds[0]);
    close(fds[0]);
    EXPECT_EQ(out, "a\nc\nd\n");
}

TEST(ProgressLineTest, FinishWithoutUpdatesWritesNothing) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    FILE* w = fdopen(fds[1], "w");
    ASSERT_NE(w, nullptr);
    {
        ProgressLine line(w, [] { return uint64_t{0}; });
    }
    ASSERT_EQ(std::fclose(w), 0);
    EXPECT_EQ(drain(fds[0]), "");
    close(fds[0]);
}

TEST(ProgressLineTest, FinishDoesNotRepeatAShownLine) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    FILE* w = fdopen(fds[1], "w");
    ASSERT_NE(w, nullptr);
    {
        ProgressLine line(w, [] { return uint64_t{0}; });
        line.update("only");
    }  // the destructor finishes
    ASSERT_EQ(std::fclose(w), 0);
    EXPECT_EQ(drain(fds[0]), "only\n");
    close(fds[0]);
}

TEST(ProgressLineTest, TerminalRewritesInPlace) {
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        GTEST_SKIP() << "no pseudo-terminals here";
    }
    const char* slave_name = ptsname(master);
    ASSERT_NE(slave_name, nullptr);
    const int slave = open(slave_name, O_RDWR | O_NOCTTY);
    ASSERT_GE(slave, 0);
    FILE* w = fdopen(slave, "w");
    ASSERT_NE(w, nullptr);
    uint64_t now_ns = 0;
    {
        ProgressLine line(w, [&now_ns] { return now_ns; });
        EXPECT_TRUE(line.is_terminal());
        line.update("one");
        line.update("two");  // same instant: still shown on a terminal
        line.finish();
    }
    ASSERT_EQ(std::fclose(w), 0);
    // Everything was flushed before fclose; read it back without blocking forever.
    std::string out;
    pollfd p{master, POLLIN, 0};
    char buf[256];
    while (out.find("two") == std::string::npos || out.back() != '\n') {
        ASSERT_GT(poll(&p, 1, 10'000), 0) << "terminal output incomplete: " << out;
        const ssize_t n = read(master, buf, sizeof(buf));
        ASSERT_GT(n, 0);
        out.append(buf, static_cast<size_t>(n));
    }
    close(master);
    EXPECT_EQ(out.rfind("\r\x1b[2Kone\r\x1b[2Ktwo", 0), 0u) << out;
}

}  // namespace
}  // namespace rlog::bench
