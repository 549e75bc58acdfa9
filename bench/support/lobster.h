// SPDX-License-Identifier: Apache-2.0
//
// LOBSTER message files (https://lobsterdata.com): order flow of one trading day, one message per
// line, six comma-separated columns and no header:
//
//   time (seconds after midnight, up to 9 decimals), event type, order id, size (shares),
//   price (dollars x 10000), direction (1 buy, -1 sell)
//
// Event types: 1 new limit order, 2 partial cancel, 3 full delete, 4 visible execution, 5 hidden
// execution, 7 trading halt indicator (6, cross trades, is not part of the format we accept).
//
// This module loads such a file into memory (`load_lobster`, start-up code: it allocates) and
// turns a message into the fixed binary order record that `rlog bench` submits as a client payload
// (`encode_order` / `decode_order`, allocation-free when `out` has capacity). Error model:
// `Status` values; nothing throws. Thread-safety: free functions, no shared state.
//
// Order record layout (all integers little-endian, kOrderRecordBytes = 32):
//
//   offset  size  field
//        0     8  time_ns      nanoseconds after midnight
//        8     8  order_id
//       16     8  price        dollars x 10000, signed (two's complement)
//       24     4  size         shares
//       28     1  event_type   1, 2, 3, 4, 5 or 7
//       29     1  direction    +1 buy, -1 sell (two's complement)
//       30     1  version      kOrderRecordVersion
//       31     1  reserved     0
//       32     -  zero padding up to the requested payload size
//
// The padding carries no information; `decode_order` ignores it.

#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace rlog::bench {

struct LobsterMessage {
    uint64_t time_ns = 0;  // Nanoseconds after midnight, parsed exactly from the decimal text.
    uint8_t event_type = 0;
    uint64_t order_id = 0;
    uint32_t size = 0;
    // Dollars x 10000. Signed because LOBSTER uses negative prices as markers (e.g. -1 for a
    // trading halt in event type 7).
    int64_t price = 0;
    int8_t direction = 0;  // +1 buy, -1 sell.

    friend bool operator==(const LobsterMessage&, const LobsterMessage&) = default;
};

// True for the event types LOBSTER message files contain: 1, 2, 3, 4, 5, 7.
bool is_valid_event_type(uint64_t event_type) noexcept;

// Reads a whole LOBSTER message file. Lines may end in "\n" or "\r\n"; the last line may lack its
// newline. Errors: kNotFound (the file cannot be opened: message names the path and errno text),
// kInvalidArgument (a malformed line: "<path>:<line>: <what>", where <what> is a wrong column
// count, a bad number, an unknown event type or a bad direction; when several lines are malformed
// the message names the first and counts the rest; also an empty file), kIo (a read error).
Result<std::vector<LobsterMessage>> load_lobster(const std::string& path);

// Parses one line (without its newline) into `*out`. Errors: kInvalidArgument with a message that
// says what is wrong (no path or line number; `load_lobster` adds them).
Status parse_lobster_line(std::string_view line, LobsterMessage* out);

inline constexpr size_t kOrderRecordBytes = 32;
inline constexpr uint8_t kOrderRecordVersion = 1;

// Replaces `*out` with the order record of `msg`, zero-padded to max(payload_bytes,
// kOrderRecordBytes) bytes. Does not allocate when out->capacity() is large enough.
// Requires: out != nullptr.
void encode_order(const LobsterMessage& msg, size_t payload_bytes, std::vector<uint8_t>* out);

// Decodes an order record written by `encode_order`. Errors: kInvalidArgument when `payload` is
// shorter than kOrderRecordBytes, has another version, a non-zero reserved byte, an unknown event
// type or a direction other than +1 / -1.
Result<LobsterMessage> decode_order(std::span<const uint8_t> payload);

}  // namespace rlog::bench
