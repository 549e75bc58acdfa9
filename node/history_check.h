// SPDX-License-Identifier: Apache-2.0
//
// The safety check behind `rlog check` and the end of `rlog bench`: given what clients were told
// (acknowledgements) and what each replica holds (its committed stream, read back in sequence
// order), list every violation of the sequencer's promises:
//   - each replica's stream is gapless: sequence numbers 1, 2, 3, ... with none missing;
//   - the replicas' streams are prefixes of one another (same message at every shared seq);
//   - no (client, request) appears twice in a stream (a retry never gets a second number);
//   - every acknowledged message is in every checked replica's stream exactly once, at its
//     acknowledged sequence number, with the same payload checksum, term and index.
// A replica may lag (its stream may be shorter than the acknowledged range) only if `allow_lag`;
// the bench and the integration test wait for catch-up and then check without it.
// Pure functions, no I/O; violations are human-readable lines with the evidence.

#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"

namespace rlog::node {

struct AckRecord {
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint64_t seq = 0;
    uint64_t term = 0;
    uint64_t index = 0;
    uint32_t payload_crc = 0;
    // Optional (0: not recorded): wall-clock time of the acknowledgement in microseconds since
    // the Unix epoch, and submit-to-acknowledgement latency in microseconds. Not checked; the
    // soak report uses them for commit rates, stalls and latency percentiles.
    uint64_t acked_unix_us = 0;
    uint64_t latency_us = 0;
};

struct StreamRecord {
    uint64_t seq = 0;
    uint64_t client_id = 0;
    uint64_t request_no = 0;
    uint64_t term = 0;
    uint64_t index = 0;
    uint32_t payload_crc = 0;
};

struct ReplicaStream {
    std::string name;  // For messages, e.g. "replica 2".
    std::vector<StreamRecord> records;
};

struct HistoryCheckResult {
    std::vector<std::string> violations;  // Empty when every check passed.
    size_t violations_total = 0;          // Counted even beyond the listed ones.
    uint64_t acks_checked = 0;
    uint64_t records_checked = 0;
    bool passed() const { return violations_total == 0; }
};

// Checks the history. Lists at most `violations_max` violations, counts all of them.
HistoryCheckResult check_history(const std::vector<AckRecord>& acks,
                                 const std::vector<ReplicaStream>& streams,
                                 bool allow_lag,
                                 size_t violations_max = 50);

// One ack per line: "client_id request_no seq term index payload_crc [acked_unix_us latency_us]"
// (decimal; the last two are optional, written when acked_unix_us != 0). Lines starting with '#'
// are comments. Errors: kNotFound, kInvalidArgument naming the line.
Result<std::vector<AckRecord>> load_ack_file(const std::string& path);

// Reads a record file line by line, skipping blank lines and '#' comments, and calls `parse`
// with each remaining line's fields; `parse` returns false when the line is malformed, and the
// read stops with kInvalidArgument "path:line: expected '<expected>'". `what` names the file in
// the kNotFound error ("ack file", "sent file").
Status read_record_lines(const std::string& path,
                         const char* what,
                         const char* expected,
                         const std::function<bool(std::istringstream&)>& parse);
std::string format_ack_line(const AckRecord& ack);

}  // namespace rlog::node
