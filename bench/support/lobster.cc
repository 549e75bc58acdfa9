// SPDX-License-Identifier: Apache-2.0

#include "bench/support/lobster.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "common/assert.h"

namespace rlog::bench {
namespace {

constexpr size_t kColumns = 6;
constexpr size_t kTimeDecimalsMax = 9;

Status bad(std::string what) {
    return Status(ErrorCode::kInvalidArgument, std::move(what));
}

// Parses all of `text` as a base-10 integer of type T (no sign for unsigned types, no spaces).
template <class T>
bool parse_int(std::string_view text, T* out) {
    if (text.empty()) {
        return false;
    }
    if (text.front() == '+') {
        return false;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return ec == std::errc() && end == text.data() + text.size();
}

bool all_digits(std::string_view text) {
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// "34200.004241176" -> 34200004241176 ns. Integer arithmetic only, so no double rounding.
bool parse_time_ns(std::string_view text, uint64_t* out) {
    const size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view frac =
            dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (whole.empty() || !all_digits(whole) || !all_digits(frac) ||
        frac.size() > kTimeDecimalsMax) {
        return false;
    }
    if (dot != std::string_view::npos && frac.empty()) {
        return false;
    }
    uint64_t seconds = 0;
    if (!parse_int(whole, &seconds) || seconds > UINT64_MAX / 1'000'000'000ULL - 1) {
        return false;
    }
    uint64_t nanos = 0;
    for (size_t i = 0; i < kTimeDecimalsMax; i++) {
        nanos = nanos * 10 + (i < frac.size() ? static_cast<uint64_t>(frac[i] - '0') : 0);
    }
    *out = seconds * 1'000'000'000ULL + nanos;
    return true;
}

void put_le(uint8_t* p, uint64_t v, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) {
        p[i] = static_cast<uint8_t>(v >> (8 * i));
    }
}

uint64_t get_le(const uint8_t* p, size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        v |= uint64_t{p[i]} << (8 * i);
    }
    return v;
}

}  // namespace

bool is_valid_event_type(uint64_t event_type) noexcept {
    return (event_type >= 1 && event_type <= 5) || event_type == 7;
}

Status parse_lobster_line(std::string_view line, LobsterMessage* out) {
    RLOG_ASSERT(out != nullptr);
    std::string_view cols[kColumns];
    size_t n = 0;
    size_t start = 0;
    while (true) {
        const size_t comma = line.find(',', start);
        if (n == kColumns) {
            return bad("expected 6 comma-separated columns, found more");
        }
        cols[n++] = line.substr(start, comma == std::string_view::npos ? comma : comma - start);
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    if (n != kColumns) {
        return bad("expected 6 comma-separated columns, found " + std::to_string(n));
    }
    LobsterMessage m;
    if (!parse_time_ns(cols[0], &m.time_ns)) {
        return bad("bad time '" + std::string(cols[0]) +
                   "' (want seconds after midnight with at most 9 decimals)");
    }
    uint64_t event_type = 0;
    if (!parse_int(cols[1], &event_type)) {
        return bad("bad event type '" + std::string(cols[1]) + "'");
    }
    if (!is_valid_event_type(event_type)) {
        return bad("unknown event type " + std::string(cols[1]) + " (valid: 1,2,3,4,5,7)");
    }
    m.event_type = static_cast<uint8_t>(event_type);
    if (!parse_int(cols[2], &m.order_id)) {
        return bad("bad order id '" + std::string(cols[2]) + "'");
    }
    if (!parse_int(cols[3], &m.size)) {
        return bad("bad size '" + std::string(cols[3]) + "'");
    }
    if (!parse_int(cols[4], &m.price)) {
        return bad("bad price '" + std::string(cols[4]) + "'");
    }
    int64_t direction = 0;
    if (!parse_int(cols[5], &direction)) {
        return bad("bad direction '" + std::string(cols[5]) + "'");
    }
    if (direction != 1 && direction != -1) {
        return bad("bad direction " + std::string(cols[5]) + " (valid: 1 buy, -1 sell)");
    }
    m.direction = static_cast<int8_t>(direction);
    *out = m;
    return Status::ok();
}

Result<std::vector<LobsterMessage>> load_lobster(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) {
        return Status(ErrorCode::kNotFound,
                      "cannot open LOBSTER file " + path + ": " + std::strerror(errno));
    }
    std::vector<LobsterMessage> msgs;
    std::string line;
    uint64_t line_number = 0;
    Status first_error;
    uint64_t more_errors = 0;
    while (std::getline(in, line)) {
        line_number++;
        std::string_view text(line);
        if (!text.empty() && text.back() == '\r') {
            text.remove_suffix(1);
        }
        LobsterMessage m;
        const Status s = parse_lobster_line(text, &m);
        if (!s.is_ok()) {
            if (first_error.is_ok()) {
                first_error = bad(path + ":" + std::to_string(line_number) + ": " + s.message());
            } else {
                more_errors++;
            }
            continue;
        }
        msgs.push_back(m);
    }
    if (in.bad()) {
        return Status(ErrorCode::kIo, "reading LOBSTER file " + path + " failed");
    }
    if (!first_error.is_ok()) {
        if (more_errors == 0) {
            return first_error;
        }
        return bad(first_error.message() + " (and " + std::to_string(more_errors) +
                   " more malformed lines)");
    }
    if (msgs.empty()) {
        return bad(path + ": no messages");
    }
    return msgs;
}

void encode_order(const LobsterMessage& msg, size_t payload_bytes, std::vector<uint8_t>* out) {
    RLOG_ASSERT(out != nullptr);
    RLOG_DASSERT(is_valid_event_type(msg.event_type));
    out->assign(std::max(payload_bytes, kOrderRecordBytes), 0);
    uint8_t* p = out->data();
    put_le(p + 0, msg.time_ns, 8);
    put_le(p + 8, msg.order_id, 8);
    put_le(p + 16, static_cast<uint64_t>(msg.price), 8);
    put_le(p + 24, msg.size, 4);
    p[28] = msg.event_type;
    p[29] = static_cast<uint8_t>(msg.direction);
    p[30] = kOrderRecordVersion;
    p[31] = 0;
}

Result<LobsterMessage> decode_order(std::span<const uint8_t> payload) {
    if (payload.size() < kOrderRecordBytes) {
        return bad("order record of " + std::to_string(payload.size()) + " bytes, need " +
                   std::to_string(kOrderRecordBytes));
    }
    const uint8_t* p = payload.data();
    if (p[30] != kOrderRecordVersion) {
        return bad("order record version " + std::to_string(p[30]) + ", expected " +
                   std::to_string(kOrderRecordVersion));
    }
    if (p[31] != 0) {
        return bad("order record reserved byte is not zero");
    }
    LobsterMessage m;
    m.time_ns = get_le(p + 0, 8);
    m.order_id = get_le(p + 8, 8);
    m.price = static_cast<int64_t>(get_le(p + 16, 8));
    m.size = static_cast<uint32_t>(get_le(p + 24, 4));
    m.event_type = p[28];
    m.direction = static_cast<int8_t>(p[29]);
    if (!is_valid_event_type(m.event_type)) {
        return bad("order record has unknown event type " + std::to_string(m.event_type));
    }
    if (m.direction != 1 && m.direction != -1) {
        return bad("order record has bad direction " + std::to_string(m.direction));
    }
    return m;
}

}  // namespace rlog::bench
