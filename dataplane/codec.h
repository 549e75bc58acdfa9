// SPDX-License-Identifier: Apache-2.0
//
// Binary encoding of `consensus::Message` (a frame's payload for FrameKind::kRaft). Fixed-width
// little-endian fields, entries as {term, index, type, payload_length, payload}. `decode_message`
// checks every length and count against the bytes it holds and rejects trailing bytes, so a
// garbled or truncated payload returns kCorruption and is never partially trusted.

#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "consensus/message.h"

namespace rlog::dataplane {

// Terms and indexes at or above this are rejected by decode_message (see codec.cc).
inline constexpr uint64_t kTermOrIndexMax = uint64_t{1} << 62;

// Appends the encoding of `msg` to `out`.
void encode_message(const consensus::Message& msg, std::vector<uint8_t>* out);

// Size in bytes that encode_message would append.
size_t encoded_size(const consensus::Message& msg) noexcept;

// Decodes exactly `bytes` into `msg`. Errors: kCorruption (short, long, bad type or count).
Status decode_message(std::span<const uint8_t> bytes, consensus::Message* msg) noexcept;

}  // namespace rlog::dataplane
