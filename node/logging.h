// SPDX-License-Identifier: Apache-2.0
//
// Process logging for the `rlog` command: one spdlog logger writing to stderr (or a file), and
// adapters that turn it into the `LogSink` the libraries take. Library lines already carry their
// key=value fields; the adapter prefixes the replica id for storage and dataplane lines.
// Thread-safety: spdlog's multi-threaded sinks; callable from every stage.

#pragma once

#include <memory>
#include <string>

#include "common/log.h"
#include "common/types.h"

namespace spdlog {
class logger;
}

namespace rlog::node {

// Creates (once) and returns the process logger. `level` is one of trace, debug, info, warn,
// error; `path` empty means stderr.
std::shared_ptr<spdlog::logger> make_logger(const std::string& level, const std::string& path);

// The logger made by make_logger(), or a default stderr logger at info.
std::shared_ptr<spdlog::logger> process_logger();

// A sink that forwards library lines to `logger`, prefixed with `prefix` when it is not empty.
LogSink make_log_sink(std::shared_ptr<spdlog::logger> logger, std::string prefix);

// CLOCK_MONOTONIC in nanoseconds and microseconds.
uint64_t monotonic_ns() noexcept;
inline uint64_t monotonic_us() noexcept {
    return monotonic_ns() / 1000;
}

}  // namespace rlog::node
