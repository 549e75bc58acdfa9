// SPDX-License-Identifier: Apache-2.0
//
// The results of one `rlog bench` run and their three renderings: a human-readable text table
// (`format_text_report`), a JSON document (`format_json_report`, for scripts and the closing
// note) and a self-contained SVG picture of the commit-latency distribution
// (`render_latency_svg`). Reporting code runs once at the end of a run: it allocates freely and
// never touches the hot path. Nothing here fails: every function returns its text. Thread-safety:
// free functions on caller-owned values.

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/support/latency_histogram.h"

namespace rlog::bench {

// The run's configuration as ordered key/value pairs, printed as given ("replicas" -> "3",
// "fsync" -> "on", "workload" -> "synthetic seed=1", ...). Keys should be unique: they become the
// keys of the JSON "config" object.
struct BenchConfig {
    std::vector<std::pair<std::string, std::string>> entries;

    void add(std::string key, std::string value) {
        entries.emplace_back(std::move(key), std::move(value));
    }
};

// Everything a run measured. The bench driver fills the fields it has; a histogram with count()
// == 0 is reported as "not measured" and a ratio of 0 as "n/a".
struct BenchResult {
    uint64_t messages_submitted = 0;     // Client messages sent (first attempts, not retries).
    uint64_t messages_acked = 0;         // Client messages acknowledged with a sequence number.
    double duration_s = 0.0;             // Wall time of the measured phase.
    double throughput_msgs_per_s = 0.0;  // messages_acked / duration_s, as the driver defines it.

    // Commit latency per acknowledged message, from submission (closed loop) or intended send
    // time (open loop) to the acknowledgement.
    LatencyHistogram commit_latency;

    // Group commit and batching on the leader: average entries made durable per fdatasync and
    // carried per AppendEntries request; the counts behind them are optional (0: not shown).
    double entries_per_fsync = 0.0;
    double entries_per_append = 0.0;
    uint64_t fsync_count = 0;
    uint64_t append_entries_count = 0;
    // Elections won during the run (1 for the initial election of a healthy run).
    uint64_t elections = 0;

    // Floors measured on this machine in the same run: one 4 KiB io_uring write + fdatasync
    // (disk) and one UDP round trip on loopback (network). A commit needs at least one of each,
    // so p50 / (disk p50 + network p50) says how close the pipeline comes to the hardware.
    LatencyHistogram disk_floor;
    LatencyHistogram net_floor;

    // End-of-run checks (every acked message in every replica's log exactly once, at its acked
    // sequence number): how many passed, and one line per violation found.
    uint64_t checks_passed = 0;
    std::vector<std::string> violations;

    bool passed() const { return violations.empty(); }
    // commit p50 / (disk floor p50 + net floor p50); 0 when either floor was not measured.
    double floor_ratio_p50() const;
};

// A plain-text report (configuration, throughput, latency percentiles in microseconds, floors and
// their ratio, batching, elections, checks and PASS/FAIL), ending in "\n".
std::string format_text_report(const BenchConfig& config, const BenchResult& result);

// The same content as one JSON object (UTF-8, keys as in the text report, latencies in
// microseconds, non-finite numbers as null, non-empty commit-latency buckets included for
// plotting), ending in "\n".
std::string format_json_report(const BenchConfig& config, const BenchResult& result);

// A standalone SVG (800x480) of `hist` as a percentile curve: x is the percentile on a log scale
// of 1 / (1 - p) from 0 to 99.999, y the latency on a log scale with decade ticks. `title` is
// escaped. An empty histogram gives a picture that says "no samples".
std::string render_latency_svg(const LatencyHistogram& hist, const std::string& title);

}  // namespace rlog::bench
