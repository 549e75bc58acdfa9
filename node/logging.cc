// SPDX-License-Identifier: Apache-2.0

#include "node/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <mutex>

namespace rlog::node {
namespace {

std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_logger;

spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
        case LogLevel::kTrace:
            return spdlog::level::trace;
        case LogLevel::kDebug:
            return spdlog::level::debug;
        case LogLevel::kInfo:
            return spdlog::level::info;
        case LogLevel::kWarn:
            return spdlog::level::warn;
        case LogLevel::kError:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& level, const std::string& path) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (path.empty()) {
        g_logger = spdlog::stderr_color_mt("rlog");
    } else {
        g_logger = spdlog::basic_logger_mt("rlog", path);
    }
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    g_logger->set_level(spdlog::level::from_str(level));
    g_logger->flush_on(spdlog::level::info);
    return g_logger;
}

std::shared_ptr<spdlog::logger> process_logger() {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_logger) {
        g_logger = spdlog::stderr_color_mt("rlog");
        g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
        g_logger->set_level(spdlog::level::info);
    }
    return g_logger;
}

LogSink make_log_sink(std::shared_ptr<spdlog::logger> logger, std::string prefix) {
    return [logger = std::move(logger), prefix = std::move(prefix)](LogLevel level,
                                                                    std::string_view line) {
        if (prefix.empty()) {
            logger->log(to_spdlog(level), "{}", line);
        } else {
            logger->log(to_spdlog(level), "{} {}", prefix, line);
        }
    };
}

uint64_t monotonic_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace rlog::node
