// SPDX-License-Identifier: Apache-2.0
//
// CRC32C throughput over record-sized and segment-sized buffers, hardware path and (for
// comparison) whichever path this CPU selects.

#include "common/crc32c.h"

#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

void BM_Crc32c(benchmark::State& state) {
    std::vector<uint8_t> data(static_cast<size_t>(state.range(0)));
    for (size_t i = 0; i < data.size(); i++) {
        data[i] = static_cast<uint8_t>(i * 131);
    }
    uint32_t crc = 0;
    for (auto _ : state) {
        crc = rlog::crc32c_extend(crc, data.data(), data.size());
        benchmark::DoNotOptimize(crc);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
    state.SetLabel(rlog::crc32c_hardware() ? "sse4.2" : "table");
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(128)->Arg(4096)->Arg(64 << 10);

}  // namespace

BENCHMARK_MAIN();
