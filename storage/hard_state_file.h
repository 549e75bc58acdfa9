// SPDX-License-Identifier: Apache-2.0
//
// Crash-atomic storage of Raft's hard state (term and vote) in `<dir>/hard_state`.
//
// The file holds two fixed 64-byte slots, each {magic, version, sequence, term, vote, crc32c}.
// `store()` writes the slot not holding the newest value, then `fdatasync`s; `load()` takes the
// valid slot with the higher sequence. A crash at any byte therefore leaves either the old or the
// new value readable, never garbage. Both slots invalid (and the file non-empty) is kCorruption.
// A new file is written with both slots valid ({0, 0}, sequence 0) through a temporary file and a
// rename, and the directory is synced, so a torn first store() still leaves a valid slot.
// Threading: single owner. Errors: kIo (kNoSpace for ENOSPC; the caller must fail-stop; after a
// failed store() every later store() fails too), kCorruption.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/types.h"

namespace rlog::storage {

struct DurableHardState {
    Term term;
    NodeId vote;
    friend bool operator==(const DurableHardState&, const DurableHardState&) = default;
};

class HardStateFile {
  public:
    // Opens or creates the file in `dir` and loads the current value ({0, 0} for a new file).
    static Result<std::unique_ptr<HardStateFile>> open(const std::string& dir, bool fsync = true);
    ~HardStateFile();

    const DurableHardState& current() const noexcept;
    // Writes `state` durably; returns once it is synced. Errors: kIo (fail-stop).
    Status store(const DurableHardState& state) noexcept;

  private:
    HardStateFile() = default;
    int fd_ = -1;
    bool fsync_ = true;
    uint64_t sequence_ = 0;  // Sequence number of the newest valid slot.
    int newest_slot_ = 1;    // Slot holding `current_`; the next store writes the other one.
    DurableHardState current_;
};

}  // namespace rlog::storage
