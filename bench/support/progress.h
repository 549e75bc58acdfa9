// SPDX-License-Identifier: Apache-2.0
//
// `ProgressLine`: the one status line `rlog bench` shows while it runs. On a terminal the line is
// rewritten in place ("\r" plus the ANSI erase-line sequence) on every `update()`; anywhere else
// (a pipe, a file, CI logs) each shown status is a plain newline-terminated line, at most one per
// second, so logs stay short. `finish()` always shows the latest status, then ends the line.
// Writes go to a caller-owned FILE* and are flushed each time. Control-path code: call it from
// one thread, a few times per second at most; it never runs on the hot path.

#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace rlog::bench {

class ProgressLine {
  public:
    // Monotonic clock in nanoseconds; the default reads CLOCK_MONOTONIC. Tests pass a fake one.
    using Clock = std::function<uint64_t()>;

    // Writes to `out`, which must outlive this object; whether it is a terminal is decided here
    // with isatty(). Requires: out != nullptr.
    explicit ProgressLine(FILE* out = stdout, Clock clock = {});
    // Calls `finish()` if it has not been called.
    ~ProgressLine();
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // Sets the status text (one line, no newline). Shown at once on a terminal; otherwise shown
    // if at least a second has passed since the last shown line (or none was shown yet).
    void update(std::string_view text);
    // Shows the latest status if it has not been shown, and ends the line. Later updates are
    // ignored. Idempotent.
    void finish();

    bool is_terminal() const { return terminal_; }

  private:
    void show();

    FILE* out_;
    Clock clock_;
    bool terminal_ = false;
    bool finished_ = false;
    // True when text_ has been written since it last changed.
    bool shown_ = true;
    bool shown_any_ = false;
    uint64_t last_shown_ns_ = 0;
    std::string text_;
};

}  // namespace rlog::bench
