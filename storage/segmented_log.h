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
// The CRC covers the header fields after it and the payload. An all-zero record header marks the
// end of written data (preallocated space reads as zeros), as does too little room for a header.
// Indexes are contiguous across segments. A new segment is started when the next record does not
// fit.
//
// Crash behaviour. Appends are written and then made durable by one `fdatasync` per group; a
// crash can leave the last segment with a torn tail (a partial record, or one whose CRC fails,
// followed only by zeros or garbage up to the end of written data). `open()` verifies every
// record of the last segment, trims a torn tail, and reports it in the log. A record that fails
// its check anywhere else (an earlier segment, or a bad record followed by valid ones) is
// corruption: `open()` refuses with kCorruption and a message naming the file and offset.
//
// Truncation. `truncate_suffix()` is ordered with appends: it waits for the group in flight, drops
// queued records it removes, then (if records on disk are cut) deletes later segments, writes zeros
// over the cut range of the segment holding `from` and syncs before returning. The bytes after the
// end of written data in the last segment are therefore always zero, so a later, shorter append
// can never expose a stale record; `open()` restores that invariant after a crash by zeroing any
// non-zero bytes past the recovered end (a torn tail, or the rest of an interrupted truncation).
// A segment file is created as `<name>.tmp`, preallocated, given its header, synced, renamed, and
// the directory synced; leftover `.tmp` files are deleted by `open()`. A trailing segment with
// no records whose predecessor had a torn tail (a crash inside a group that spanned a roll) is
// deleted by `open()`.
//
// Group commit. `append()` only queues work. `poll()` drives the I/O: when no write is in flight
// it submits everything queued as one group: one write of the group's contiguous bytes followed
// by one `fdatasync` (a group that crosses a segment roll has a write + sync per segment, in
// order, so a later segment never holds data before the earlier one is synced; at most 32
// segments per group). Everything that arrives while a group is in flight rides the next one.
// The io_uring backend links the writes and syncs in one submission (IOSQE_IO_LINK,
// IORING_FSYNC_DATASYNC); short writes and -EAGAIN are requeued from where they stopped. Where
// io_uring cannot be set up (old kernel, seccomp) a writer thread with `pwrite` + `fdatasync`
// does the same job. The choice is made at `open()` and logged once.
//
// Errors. A failed write or sync is never retried: the page cache may have dropped the data, so
// the log enters a failed state and returns kIo (kNoSpace for ENOSPC) from every later call; the
// caller must fail-stop. Threading: single owner (one storage thread); the thread backend's
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

// kAuto: io_uring when `io_uring_queue_init` succeeds, else the writer thread (logged as a
// warning). kIoUring: io_uring or open() fails with kNotSupported. kThread: the writer thread.
enum class Backend : uint8_t { kAuto, kIoUring, kThread };

const char* backend_name(Backend backend);

struct LogOptions {
    std::string dir;                       // Created if missing.
    size_t segment_size_bytes = 64 << 20;  // In [4 KiB, 4 GiB] (else kInvalidArgument).
    // false skips fdatasync (benchmarks of the non-durable path only; an unsafe setting).
    bool fsync = true;
    Backend backend = Backend::kAuto;
    LogSink log;
    // Test hook (fault injection): when the log has written this many bytes of records in total
    // since open(), the write that crosses the mark is cut at it and then fails with
    // `inject_write_errno` (e.g. EIO, ENOSPC), as if the device had failed mid-write. The bytes
    // before the mark reach the page cache unsynced. UINT64_MAX (the default) disables it.
    uint64_t inject_write_error_at_byte = UINT64_MAX;
    int inject_write_errno = 5;  // EIO
    // Test hook: caps the bytes submitted per write (0, the default, means no cap), so writes
    // complete short and the rest is requeued, exercising the short-write path of both backends.
    size_t max_write_bytes = 0;
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
    // Waits for the group in flight; queued records not yet submitted are dropped (they were
    // never reported durable).
    ~SegmentedLog();

    // Queues records after last_index(). Requires: records[0].index == last_index() + 1 and
    // indexes contiguous. Errors: kIo/kNoSpace if the log has failed; kInvalidArgument if a
    // record cannot fit in an empty segment (nothing is queued then).
    Status append(std::span<const RecordView> records) noexcept;

    // Removes every record with index >= `from`, ordered after earlier appends and before later
    // ones. Blocks: waits for the group in flight, then cuts and syncs (see "Truncation" above);
    // truncation is rare (a follower's conflicting suffix). Requires: from >= 1. After it,
    // last_index() == min(last, from - 1) and durable_index() never exceeds from - 1 until new
    // records are synced. Errors: kIo/kNoSpace (the log has failed; fail-stop).
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
