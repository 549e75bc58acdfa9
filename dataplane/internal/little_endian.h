// SPDX-License-Identifier: Apache-2.0
//
// Fixed-width little-endian loads and stores for the frame and message codecs. Callers check
// bounds before calling; these functions only copy bytes. Header-only, no state.

#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace rlog::dataplane::internal {

// The wire format is little-endian; on such hosts the stores below are plain copies.
static_assert(std::endian::native == std::endian::little, "rlog wire codecs assume little-endian");

inline void store_u8(uint8_t* p, uint8_t v) noexcept {
    *p = v;
}
inline void store_u16(uint8_t* p, uint16_t v) noexcept {
    std::memcpy(p, &v, sizeof v);
}
inline void store_u32(uint8_t* p, uint32_t v) noexcept {
    std::memcpy(p, &v, sizeof v);
}
inline void store_u64(uint8_t* p, uint64_t v) noexcept {
    std::memcpy(p, &v, sizeof v);
}

inline uint8_t load_u8(const uint8_t* p) noexcept {
    return *p;
}
inline uint16_t load_u16(const uint8_t* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline uint32_t load_u32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline uint64_t load_u64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace rlog::dataplane::internal
