// SPDX-License-Identifier: Apache-2.0

#include "bench/support/progress.h"

#include <time.h>
#include <unistd.h>

#include <utility>

#include "common/assert.h"

namespace rlog::bench {
namespace {

constexpr uint64_t kPlainIntervalNs = 1'000'000'000;
// Carriage return, then ANSI "erase entire line" (CSI 2 K).
constexpr const char* kRewriteLine = "\r\x1b[2K";

uint64_t monotonic_now_ns() {
    timespec ts{};
    const int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    RLOG_ASSERT(rc == 0);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

ProgressLine::ProgressLine(FILE* out, Clock clock) : out_(out), clock_(std::move(clock)) {
    RLOG_ASSERT(out_ != nullptr);
    if (!clock_) {
        clock_ = monotonic_now_ns;
    }
    terminal_ = isatty(fileno(out_)) == 1;
}

ProgressLine::~ProgressLine() {
    finish();
}

void ProgressLine::update(std::string_view text) {
    if (finished_) {
        return;
    }
    text_.assign(text);
    shown_ = false;
    const uint64_t now_ns = clock_();
    if (terminal_ || !shown_any_ || now_ns - last_shown_ns_ >= kPlainIntervalNs) {
        last_shown_ns_ = now_ns;
        show();
    }
}

void ProgressLine::finish() {
    if (finished_) {
        return;
    }
    finished_ = true;
    if (!shown_) {
        show();
    }
    if (terminal_ && shown_any_) {
        std::fputc('\n', out_);
        std::fflush(out_);
    }
}

void ProgressLine::show() {
    if (terminal_) {
        std::fputs(kRewriteLine, out_);
        std::fwrite(text_.data(), 1, text_.size(), out_);
    } else {
        std::fwrite(text_.data(), 1, text_.size(), out_);
        std::fputc('\n', out_);
    }
    std::fflush(out_);
    shown_ = true;
    shown_any_ = true;
}

}  // namespace rlog::bench
