// SPDX-License-Identifier: Apache-2.0
//
// Assertions that guard data safety. `RLOG_ASSERT` stays on in every build, release and benchmark
// included: use it for cheap checks (one condition each). `RLOG_DASSERT` is for O(n) checks and is
// compiled only when `RLOG_DEBUG_CHECKS` is defined (debug, sanitizer and simulation builds).
// `RLOG_PANIC` is the fail-stop for operating errors after which continuing would be unsafe (a
// failed fsync, corrupt acknowledged data): it prints the reason and aborts.

#pragma once

#include <cstdio>
#include <cstdlib>

namespace rlog::detail {

[[noreturn]] inline void assert_fail(const char* what, const char* file, int line) noexcept {
    std::fprintf(stderr, "rlog: assertion failed: %s at %s:%d\n", what, file, line);
    std::fflush(stderr);
    std::abort();
}

}  // namespace rlog::detail

#define RLOG_LIKELY(x) __builtin_expect(!!(x), 1)
#define RLOG_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define RLOG_ASSERT(cond)                                           \
    do {                                                            \
        if (RLOG_UNLIKELY(!(cond))) {                               \
            ::rlog::detail::assert_fail(#cond, __FILE__, __LINE__); \
        }                                                           \
    } while (0)

#ifdef RLOG_DEBUG_CHECKS
#define RLOG_DASSERT(cond) RLOG_ASSERT(cond)
#else
#define RLOG_DASSERT(cond)  \
    do {                    \
        (void)sizeof(cond); \
    } while (0)
#endif

// Marks a branch that must never run; aborts with `msg` if it does.
#define RLOG_UNREACHABLE(msg) ::rlog::detail::assert_fail("unreachable: " msg, __FILE__, __LINE__)

// Fail-stop with a formatted reason: `RLOG_PANIC("fdatasync %s: %s", path, strerror(e))`.
#define RLOG_PANIC(...)                                         \
    do {                                                        \
        std::fprintf(stderr, "rlog: fatal: ");                  \
        std::fprintf(stderr, __VA_ARGS__);                      \
        std::fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); \
        std::fflush(stderr);                                    \
        std::abort();                                           \
    } while (0)
