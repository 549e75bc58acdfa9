// SPDX-License-Identifier: Apache-2.0
//
// CRC32C (Castagnoli), as used by the log records and frames. Uses the SSE4.2 `crc32` instruction
// when the CPU has it (checked once at start-up) and a table-driven fallback otherwise; both give
// identical results. Thread-safe, no allocation.

#pragma once

#include <cstddef>
#include <cstdint>

namespace rlog {

// Extends `crc` (0 for a fresh checksum) over `n` bytes at `data`.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) noexcept;

inline uint32_t crc32c(const void* data, size_t n) noexcept {
    return crc32c_extend(0, data, n);
}

// True when the hardware instruction is in use (reported once in start-up logs).
bool crc32c_hardware() noexcept;

}  // namespace rlog
