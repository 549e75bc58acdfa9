// SPDX-License-Identifier: Apache-2.0
//
// The logging boundary for the libraries. `consensus/`, `storage/` and `dataplane/` never write to
// a terminal or file themselves: they call an injected `LogSink`, which the node connects to its
// logger (spdlog) and the simulator to a buffer. The libraries log rare lifecycle events only
// (role and term changes, recovery steps, backend choice), never per entry or per packet.
// Lines carry key=value fields and no wall-clock time, so a seeded simulation reproduces its log.

#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace rlog {

enum class LogLevel : uint8_t { kTrace, kDebug, kInfo, kWarn, kError };

constexpr std::string_view log_level_name(LogLevel level) {
    switch (level) {
        case LogLevel::kTrace:
            return "trace";
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        case LogLevel::kError:
            return "error";
    }
    return "?";
}

// Receives one complete line (no trailing newline). May be empty (a default-constructed
// std::function): the library then logs nothing. Thread-safety: called from the thread that
// drives the library object; a sink shared by several objects must be thread-safe.
using LogSink = std::function<void(LogLevel, std::string_view)>;

}  // namespace rlog
