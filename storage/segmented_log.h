// SPDX-License-Identifier: Apache-2.0
//
// The durable Raft log: a directory of preallocated segment files written with group commit.
//
// On-disk layout. `<dir>/log-<first_index, 20 digits>.seg` files, each preallocated to
// `segment_size_bytes`. A segment starts with a 32-byte header (magic "RLOGSEG1", format version,
// first index, CRC32C of the header) followed by records packed back to back:
//
//   u32 payload_length | u32 crc32c | u64 term | u64 index | u8 type | 7 bytes zero | payload
//
// The CRC covers the header fields after it and the payload. A record of length 0 with a zero CRC
// and zero index marks the end of written data (preallocated space reads as zeros). Indexes are
// contiguous across segments. A new segment is started when the next record does not fit.
//
// Crash behaviour. Appends are written and then made durable by one `fdatasync` per group; a
// crash can leave the last segment with a torn tail (a partial record, or one whose CRC fails,
// followed only by zeros or garbage up to the end of written data). `open()` verifies every
// record of the last segment, trims a torn tail, and reports it in the log. A record that fails
// its check anywhere else (an earlier segment, or a bad record followed by valid ones) is
// corruption: `open()` refuses with kCorruption and a message naming the file and offset.
//
// Group commit. `append()` and `truncate_suffix()` only queue work. `poll()` drives the I/O: when
// no write is in flight it submits everything queued as one batch of writes followed by one
// `fdatasync`, so everything that arrives while a sync is in flight rides the next one. The
// io_uring backend links the writes and the sync in one submission; where io_uring cannot be set
// up (old kernel, seccomp) a writer thread with `pwritev` + `fdatasync` does the same job. The
// choice is made at `open()` and logged once.
//
// Errors. A failed write or sync is never retried: the page cache may have dropped the data, so
// the log enters a failed state and returns kIo (kNoSpace for ENOSPC) from every later call; the
// caller must fail-stop. Threading: single owner (one storage thread); the pwritev backend's
// writer thread is internal.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/types.h"

namespace rlog::storage {

enum class Backend : uint8_t { kAuto, kIoUring, kThread };

const char* backend_name(Backend backend);

struct LogOptions {
    std::string dir;  // Created if missing.
    size_t segment_size_bytes = 64 << 20;
    // false skips fdatasync (benchmarks of the non-durable path only; an unsafe setting).
    bool fsync = true;
    Backend backend = Backend::kAuto;
    LogSink log;
};

// A record as handed to `append()`; the payload is copied before `append()` returns.
struct RecordView {
    Term term;
    LogIndex index;
    uint8_t type = 0;
    std::span<const uint8_t> payload;
};

// A record as read back by `open()` recovery.
struct Record {
    Term term;
    LogIndex index;
    uint8_t type = 0;
    std::vector<uint8_t> payload;
};

struct LogStats {
    uint64_t records_appended = 0;
    uint64_t bytes_appended = 0;
    uint64_t syncs = 0;           // fdatasync calls completed (group commits).
    uint64_t records_synced = 0;  // Records made durable; records_synced / syncs = group size.
    uint64_t segments_created = 0;
    uint64_t truncations = 0;
};

class SegmentedLog {
  public:
    // Opens (creating if needed) the log in `options.dir`, recovers it, and appends the records
    // it holds to `recovered` (in index order) when that is non-null.
    // Errors: kCorruption (damage other than a torn tail), kIo, kInvalidArgument.
    static Result<std::unique_ptr<SegmentedLog>> open(LogOptions options,
                                                      std::vector<Record>* recovered);
    ~SegmentedLog();

    // Queues records after last_index(). Requires: records[0].index == last_index() + 1 and
    // indexes contiguous. Errors: kIo/kNoSpace if the log has failed.
    Status append(std::span<const RecordView> records) noexcept;

    // Queues removal of every record with index >= `from`, ordered after earlier appends and
    // before later ones. Requires: from >= 1. After it, last_index() == min(last, from - 1) and
    // durable_index() never exceeds from - 1 until new records are synced.
    Status truncate_suffix(LogIndex from) noexcept;

    // Submits queued work and reaps completions without blocking. Returns the durable index
    // (also `durable_index()`), or kIo/kNoSpace once a write or sync has failed.
    Result<LogIndex> poll() noexcept;

    // Like poll(), but waits up to `timeout_us` for an in-flight group to complete when one is
    // in flight and nothing else can be done.
    Result<LogIndex> wait(uint64_t timeout_us) noexcept;

    LogIndex last_index() const noexcept;     // Last queued record (durable or not).
    LogIndex durable_index() const noexcept;  // Every record up to here is synced.
    Term durable_term() const noexcept;       // Term of the record at durable_index() (0 if none).
    bool idle() const noexcept;               // Nothing queued and nothing in flight.
    Backend backend() const noexcept;         // The backend chosen at open().
    const LogStats& stats() const noexcept;

  private:
    struct Impl;
    explicit SegmentedLog(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace rlog::storage
