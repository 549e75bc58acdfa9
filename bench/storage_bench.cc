// SPDX-License-Identifier: Apache-2.0
//
// Storage micro-benchmarks. BM_SegmentAppend appends `batch` records of `payload` bytes and
// waits until they are durable (one group commit per iteration), on either backend, with and
// without fdatasync. BM_DiskFloor is the raw io_uring 4 KiB write + fdatasync the log cannot
// beat (manual time: only the write + sync, not the scratch file and ring set-up). Data goes to a
// temporary directory under $TMPDIR (default /tmp), removed afterwards. Run:
// build/<rel>/bench/storage_bench --benchmark_min_time=1

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/support/disk_floor.h"
#include "storage/segmented_log.h"

namespace rlog::storage {
namespace {

std::string make_temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/rlog-storage-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        return {};
    }
    return tmpl;
}

// Args: batch records, payload bytes, backend (0 io_uring, 1 thread), fsync (0/1).
void BM_SegmentAppend(benchmark::State& state) {
    const auto batch = static_cast<size_t>(state.range(0));
    const auto payload_bytes = static_cast<size_t>(state.range(1));
    const Backend backend = state.range(2) == 0 ? Backend::kIoUring : Backend::kThread;
    const bool fsync = state.range(3) != 0;
    const std::string dir = make_temp_dir();
    if (dir.empty()) {
        state.SkipWithError("mkdtemp failed");
        return;
    }
    LogOptions options;
    options.dir = dir + "/log";
    options.segment_size_bytes = 64 << 20;
    options.fsync = fsync;
    options.backend = backend;
    auto log_or = SegmentedLog::open(options, nullptr);
    if (!log_or.is_ok()) {
        state.SkipWithError(log_or.status().to_string().c_str());
        std::filesystem::remove_all(dir);
        return;
    }
    auto log = std::move(log_or.value());
    std::vector<uint8_t> payload(payload_bytes, 0x5a);
    std::vector<RecordView> records(batch);
    uint64_t next = 1;
    for (auto _ : state) {
        for (auto& r : records) {
            r = RecordView{Term(1), LogIndex(next++), 0, payload};
        }
        if (!log->append(records).is_ok()) {
            state.SkipWithError("append failed");
            break;
        }
        while (!log->idle()) {
            auto r = log->wait(1000000);
            if (!r.is_ok()) {
                state.SkipWithError(r.status().to_string().c_str());
                break;
            }
        }
    }
    const LogStats& stats = log->stats();
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch * payload_bytes));
    state.counters["syncs"] = static_cast<double>(stats.syncs);
    state.counters["segments"] = static_cast<double>(stats.segments_created);
    log.reset();
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SegmentAppend)
        ->ArgNames({"batch", "payload", "thread", "sync"})
        ->ArgsProduct({{1, 16, 256}, {64, 1024}, {0, 1}, {0, 1}})
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);

void BM_DiskFloor(benchmark::State& state) {
    const std::string dir = make_temp_dir();
    if (dir.empty()) {
        state.SkipWithError("mkdtemp failed");
        return;
    }
    uint64_t total_ns = 0;
    uint64_t n = 0;
    for (auto _ : state) {
        auto r = rlog::bench::measure_disk_floor(dir, 1);
        if (!r.is_ok()) {
            state.SkipWithError(r.status().to_string().c_str());
            break;
        }
        total_ns += r.value()[0];
        ++n;
        state.SetIterationTime(static_cast<double>(r.value()[0]) / 1e9);
    }
    state.counters["write_sync_us"] = n == 0 ? 0.0 : static_cast<double>(total_ns) / n / 1000.0;
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DiskFloor)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rlog::storage

BENCHMARK_MAIN();
