// SPDX-License-Identifier: Apache-2.0
//
// Expected failures as values. `Status` is an `ErrorCode` plus an optional message; the OK value
// holds no string and costs nothing to create or copy. `Result<T>` holds either a value or a
// non-OK `Status`. Both are `[[nodiscard]]`: a dropped error is a compile error under -Werror.
// Exceptions are never used for these paths in `consensus/`, `storage/` or `dataplane/`.

#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/assert.h"

namespace rlog {

enum class ErrorCode : uint8_t {
    kOk = 0,
    kIo,               // The device or the kernel failed an operation; the caller fail-stops.
    kCorruption,       // Durable data failed a check (CRC, framing) outside a torn tail.
    kNotLeader,        // The request needs the leader; this replica is not it.
    kBusy,             // A bounded queue is full; retry later.
    kInvalidArgument,  // The caller passed something malformed (configuration, input file).
    kNotSupported,     // The feature is not in this build or on this host.
    kNoSpace,          // The disk is full (ENOSPC).
    kNotFound,         // The thing asked for does not exist.
    kTimeout,          // A deadline passed before the operation completed.
};

constexpr std::string_view error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::kOk:
            return "ok";
        case ErrorCode::kIo:
            return "io";
        case ErrorCode::kCorruption:
            return "corruption";
        case ErrorCode::kNotLeader:
            return "not_leader";
        case ErrorCode::kBusy:
            return "busy";
        case ErrorCode::kInvalidArgument:
            return "invalid_argument";
        case ErrorCode::kNotSupported:
            return "not_supported";
        case ErrorCode::kNoSpace:
            return "no_space";
        case ErrorCode::kNotFound:
            return "not_found";
        case ErrorCode::kTimeout:
            return "timeout";
    }
    return "unknown";
}

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok() { return Status(); }

    bool is_ok() const { return code_ == ErrorCode::kOk; }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }

    // "corruption: segment 3 record 17: crc mismatch" (or "ok").
    std::string to_string() const {
        std::string out(error_code_name(code_));
        if (!message_.empty()) {
            out += ": ";
            out += message_;
        }
        return out;
    }

  private:
    ErrorCode code_ = ErrorCode::kOk;
    std::string message_;
};

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected.
    Result(Status status) : v_(std::move(status)) {  // NOLINT
        RLOG_ASSERT(!std::get<Status>(v_).is_ok());
    }

    bool is_ok() const { return std::holds_alternative<T>(v_); }
    const Status& status() const {
        static const Status kOkStatus;
        return is_ok() ? kOkStatus : std::get<Status>(v_);
    }
    T& value() & {
        RLOG_ASSERT(is_ok());
        return std::get<T>(v_);
    }
    const T& value() const& {
        RLOG_ASSERT(is_ok());
        return std::get<T>(v_);
    }
    T&& value() && {
        RLOG_ASSERT(is_ok());
        return std::get<T>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    std::variant<T, Status> v_;
};

// Returns early from the enclosing function with the status of `expr` if it is not OK.
#define RLOG_RETURN_IF_ERROR(expr)            \
    do {                                      \
        ::rlog::Status rlog_status_ = (expr); \
        if (!rlog_status_.is_ok())            \
            return rlog_status_;              \
    } while (0)

}  // namespace rlog
