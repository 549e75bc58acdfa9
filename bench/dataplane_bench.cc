// SPDX-License-Identifier: Apache-2.0
//
// Micro-benchmarks of the dataplane's CPU cost: the message codec on an AppendRequest of N
// entries of 64 bytes, and framing (encode + decode with CRC32C) of one frame, plus the UDP
// loopback round trip that `rlog bench` uses as its network floor.

#include <algorithm>
#include <cstdio>

#include <benchmark/benchmark.h>

#include "bench/support/net_floor.h"
#include "consensus/message.h"
#include "dataplane/codec.h"
#include "dataplane/frame.h"

namespace rlog::dataplane {
namespace {

consensus::Message make_append(size_t entries, size_t payload_bytes) {
    consensus::Message m;
    m.type = consensus::MessageType::kAppendRequest;
    m.from = NodeId(1);
    m.to = NodeId(2);
    m.term = Term(3);
    m.prev_log_index = LogIndex(100);
    m.prev_log_term = Term(3);
    m.leader_commit = LogIndex(99);
    for (size_t i = 0; i < entries; i++) {
        consensus::Entry e;
        e.term = Term(3);
        e.index = LogIndex(101 + i);
        e.payload.assign(payload_bytes, static_cast<uint8_t>(i));
        m.entries.push_back(std::move(e));
    }
    return m;
}

void BM_CodecEncode(benchmark::State& state) {
    const size_t entries = static_cast<size_t>(state.range(0));
    const consensus::Message m = make_append(entries, 64);
    std::vector<uint8_t> out;
    out.reserve(encoded_size(m));
    for (auto _ : state) {
        out.clear();
        encode_message(m, &out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * entries));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * encoded_size(m)));
}
BENCHMARK(BM_CodecEncode)->Arg(1)->Arg(16)->Arg(64)->Arg(256);

void BM_CodecDecode(benchmark::State& state) {
    const size_t entries = static_cast<size_t>(state.range(0));
    std::vector<uint8_t> bytes;
    encode_message(make_append(entries, 64), &bytes);
    consensus::Message m;
    for (auto _ : state) {
        Status s = decode_message(bytes, &m);
        if (!s.is_ok()) {
            state.SkipWithError("decode failed");
            break;
        }
        benchmark::DoNotOptimize(m.entries.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * entries));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_CodecDecode)->Arg(1)->Arg(16)->Arg(64)->Arg(256);

void BM_FrameEncodeDecode(benchmark::State& state) {
    const size_t payload_bytes = static_cast<size_t>(state.range(0));
    std::vector<uint8_t> payload(payload_bytes, 0xa5);
    std::vector<uint8_t> frame(kFrameHeaderBytes + payload_bytes);
    FrameHeader h;
    h.cluster_id = 1;
    h.sender = NodeId(1);
    h.receiver = NodeId(2);
    h.message_length = static_cast<uint32_t>(payload_bytes);
    h.payload_length = h.message_length;
    for (auto _ : state) {
        h.message_id++;
        const size_t n = encode_frame(h, payload, frame);
        FrameHeader back;
        std::span<const uint8_t> view;
        const FrameError e = decode_frame(std::span<const uint8_t>(frame.data(), n), &back, &view);
        if (e != FrameError::kNone) {
            state.SkipWithError("decode_frame failed");
            break;
        }
        benchmark::DoNotOptimize(view.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_FrameEncodeDecode)->Arg(64)->Arg(1452)->Arg(8144);

// One iteration = one loopback round trip; reports percentiles of the run as counters.
void BM_UdpLoopbackRoundTrip(benchmark::State& state) {
    const size_t payload_bytes = static_cast<size_t>(state.range(0));
    std::vector<uint64_t> all;
    for (auto _ : state) {
        auto r = rlog::bench::measure_udp_floor(1000, payload_bytes);
        if (!r.is_ok()) {
            state.SkipWithError(r.status().to_string().c_str());
            break;
        }
        all.insert(all.end(), r.value().begin(), r.value().end());
    }
    if (!all.empty()) {
        std::sort(all.begin(), all.end());
        state.counters["p50_ns"] = static_cast<double>(all[all.size() / 2]);
        state.counters["p99_ns"] = static_cast<double>(all[all.size() * 99 / 100]);
        state.counters["round_trips"] = static_cast<double>(all.size());
    }
}
BENCHMARK(BM_UdpLoopbackRoundTrip)
        ->Arg(64)
        ->Arg(1024)
        ->Iterations(3)
        ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rlog::dataplane

BENCHMARK_MAIN();
