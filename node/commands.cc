// SPDX-License-Identifier: Apache-2.0

#include "node/commands.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>
#include <unordered_map>

#include "bench/support/latency_histogram.h"
#include "bench/support/lobster.h"
#include "bench/support/workload.h"
#include "common/crc32c.h"
#include "node/check_data.h"
#include "node/client.h"
#include "node/logging.h"

namespace rlog::node {
namespace {

constexpr uint64_t kNsPerMs = 1'000'000;

Result<ClusterConfig> load_or_report(const std::string& path) {
    Result<ClusterConfig> config = load_config(path);
    if (!config.is_ok()) {
        std::fprintf(stderr, "rlog: config %s: %s\n", path.c_str(),
                     config.status().to_string().c_str());
    }
    return config;
}

}  // namespace

std::vector<std::string> client_endpoints(const ClusterConfig& config) {
    std::vector<std::string> out;
    for (const ReplicaAddress& r : config.replicas) {
        out.push_back(r.host + ":" + std::to_string(r.client_port));
    }
    return out;
}

int run_client_command(const ClientCommandOptions& options) {
    Result<ClusterConfig> config = load_or_report(options.config_path);
    if (!config.is_ok()) {
        return 2;
    }
    std::optional<bench::Workload> workload;
    uint64_t count = options.count;
    constexpr size_t kPayloadBytes = bench::kOrderRecordBytes;
    if (!options.lobster_path.empty()) {
        Result<std::vector<bench::LobsterMessage>> msgs = bench::load_lobster(options.lobster_path);
        if (!msgs.is_ok()) {
            std::fprintf(stderr, "rlog: %s\n", msgs.status().to_string().c_str());
            return 2;
        }
        if (count == 0) {
            count = msgs.value().size();
        }
        workload = bench::Workload::from_lobster(std::move(msgs).value(), kPayloadBytes);
    } else {
        if (count == 0) {
            count = 1000;
        }
        workload = bench::Workload::synthetic(options.client_id + 1, kPayloadBytes);
    }

    ClientOptions client_options;
    client_options.endpoints = client_endpoints(config.value());
    client_options.cluster_id = config.value().cluster_id;
    client_options.client_id = options.client_id;
    client_options.bind_host = options.bind_host;
    client_options.outstanding_max = options.outstanding;
    client_options.retry_timeout_us = options.retry_ms * 1000;
    client_options.mtu_bytes = config.value().mtu_bytes;
    Result<std::unique_ptr<Client>> client = Client::open(client_options);
    if (!client.is_ok()) {
        std::fprintf(stderr, "rlog: client: %s\n", client.status().to_string().c_str());
        return 1;
    }
    Client& c = *client.value();

    std::FILE* acks_file = nullptr;
    if (!options.acks_path.empty()) {
        acks_file = std::fopen(options.acks_path.c_str(), "a");
        if (acks_file == nullptr) {
            std::fprintf(stderr, "rlog: cannot open %s for appending\n", options.acks_path.c_str());
            return 2;
        }
        std::fprintf(acks_file,
                     "# client_id request_no seq term index payload_crc acked_unix_us "
                     "latency_us\n");
    }
    std::FILE* sent_file = nullptr;
    if (!options.sent_path.empty()) {
        sent_file = std::fopen(options.sent_path.c_str(), "a");
        if (sent_file == nullptr) {
            std::fprintf(stderr, "rlog: cannot open %s for appending\n", options.sent_path.c_str());
            if (acks_file != nullptr) {
                std::fclose(acks_file);
            }
            return 2;
        }
        std::fprintf(sent_file, "# client_id request_no payload_crc\n");
    }
    // Wall clock for the ack timestamps: an offset from the monotonic clock taken once.
    const uint64_t unix_offset_us =
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()) -
            Client::now_ns() / 1000;

    std::unordered_map<uint64_t, uint32_t> crc_by_request;
    std::vector<uint8_t> payload;
    std::vector<ClientAck> done;
    bench::LatencyHistogram latency;
    uint64_t submitted = 0;
    uint64_t acked = 0;
    uint64_t failed = 0;
    const uint64_t start_ns = Client::now_ns();
    const uint64_t deadline_ns = start_ns + static_cast<uint64_t>(options.timeout_s * 1e9);
    while (acked + failed < count) {
        const uint64_t now = Client::now_ns();
        if (now > deadline_ns) {
            break;
        }
        // Open loop: submission i is due at start + i / rate (never ahead of that).
        const uint64_t allowed =
                options.rate_per_s > 0 ? static_cast<uint64_t>(static_cast<double>(now - start_ns) /
                                                               1e9 * options.rate_per_s) +
                                                 1
                                       : UINT64_MAX;
        while (submitted < count && submitted < allowed && c.outstanding() < options.outstanding) {
            workload->next(&payload);
            Result<uint64_t> r = c.submit(payload, now);
            if (!r.is_ok()) {
                break;
            }
            const uint32_t crc = crc32c(payload.data(), payload.size());
            crc_by_request[r.value()] = crc;
            if (sent_file != nullptr) {
                // Flushed before the request can be acknowledged and checked against it.
                std::fprintf(sent_file, "%" PRIu64 " %" PRIu64 " %u\n", c.client_id(), r.value(),
                             crc);
                std::fflush(sent_file);
            }
            submitted++;
        }
        done.clear();
        c.poll(now, &done);
        for (const ClientAck& a : done) {
            if (a.failed) {
                failed++;
                std::fprintf(stderr, "rlog: request %" PRIu64 " refused: %s\n", a.request_no,
                             reject_code_name(a.reject_code));
                continue;
            }
            acked++;
            latency.record(a.acked_ns - a.intended_ns);
            if (acks_file != nullptr) {
                AckRecord rec{c.client_id(),
                              a.request_no,
                              a.seq,
                              a.term.value,
                              a.index.value,
                              crc_by_request[a.request_no],
                              unix_offset_us + a.acked_ns / 1000,
                              std::max<uint64_t>(1, (a.acked_ns - a.intended_ns) / 1000)};
                std::fprintf(acks_file, "%s\n", format_ack_line(rec).c_str());
            }
            crc_by_request.erase(a.request_no);
        }
        if (acks_file != nullptr && !done.empty()) {
            std::fflush(acks_file);  // Readers (the soak status line) follow the file live.
        }
        if (done.empty()) {
            c.wait(1000);
        }
    }
    if (acks_file != nullptr) {
        std::fclose(acks_file);
    }
    if (sent_file != nullptr) {
        std::fclose(sent_file);
    }
    const double elapsed_s = static_cast<double>(Client::now_ns() - start_ns) / 1e9;
    const ClientCounters& k = c.counters();
    std::printf("client %" PRIu64 ": %" PRIu64 " acked of %" PRIu64 " in %.2f s, %" PRIu64
                " refused, retries %" PRIu64 ", redirects %" PRIu64 ", busy or not-leader %" PRIu64
                ", latency p50 %.1f us p99 %.1f us max %.1f us\n",
                c.client_id(), acked, count, elapsed_s, failed, k.retries, k.redirects, k.rejects,
                static_cast<double>(latency.percentile(50)) / 1e3,
                static_cast<double>(latency.percentile(99)) / 1e3,
                static_cast<double>(latency.max()) / 1e3);
    return acked == count ? 0 : 1;
}

Result<ReplicaStream> read_replica_stream(const ClusterConfig& config,
                                          const ReplicaAddress& replica,
                                          uint64_t until_seq,
                                          double timeout_s,
                                          const std::string& bind_host) {
    ClientOptions client_options;
    client_options.bind_host = bind_host;
    client_options.endpoints = {replica.host + ":" + std::to_string(replica.client_port)};
    client_options.cluster_id = config.cluster_id;
    client_options.mtu_bytes = config.mtu_bytes;
    client_options.retry_timeout_us = 200'000;
    Result<std::unique_ptr<Client>> client = Client::open(client_options);
    if (!client.is_ok()) {
        return client.status();
    }
    ReplicaStream stream;
    stream.name = "replica " + std::to_string(replica.id.value);
    const uint64_t deadline = Client::now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    uint64_t next = 1;
    bool answered = false;
    while (true) {
        if (Client::now_ns() > deadline) {
            if (!answered) {
                return Status(ErrorCode::kTimeout, stream.name + " did not answer reads");
            }
            break;  // Lagging: the caller's check reports what is missing.
        }
        Result<ReadResult> r = client.value()->read(next, 1024, 1'000'000);
        if (!r.is_ok()) {
            if (r.status().code() == ErrorCode::kTimeout) {
                continue;
            }
            return r.status();
        }
        answered = true;
        for (const SequencedMessage& m : r.value().messages) {
            stream.records.push_back(StreamRecord{m.seq, m.client_id, m.request_no, m.term.value,
                                                  m.index.value,
                                                  crc32c(m.data.data(), m.data.size())});
        }
        next += r.value().messages.size();
        const bool caught_up = next > r.value().last_committed_seq;
        if (caught_up && next > until_seq) {
            break;
        }
        if (r.value().messages.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    return stream;
}

int run_tail_command(const TailCommandOptions& options) {
    Result<ClusterConfig> config = load_or_report(options.config_path);
    if (!config.is_ok()) {
        return 2;
    }
    const ReplicaAddress* replica = options.id == 0 ? &config.value().replicas.front()
                                                    : config.value().find(NodeId{options.id});
    if (replica == nullptr) {
        std::fprintf(stderr, "rlog: no replica with id %u\n", options.id);
        return 2;
    }
    ClientOptions client_options;
    client_options.endpoints = {replica->host + ":" + std::to_string(replica->client_port)};
    client_options.cluster_id = config.value().cluster_id;
    client_options.mtu_bytes = config.value().mtu_bytes;
    Result<std::unique_ptr<Client>> client = Client::open(client_options);
    if (!client.is_ok()) {
        std::fprintf(stderr, "rlog: %s\n", client.status().to_string().c_str());
        return 1;
    }
    uint64_t next = options.from_seq == 0 ? 1 : options.from_seq;
    uint64_t printed = 0;
    while (options.count == 0 || printed < options.count) {
        Result<ReadResult> r = client.value()->read(next, 512, 1'000'000);
        if (!r.is_ok()) {
            std::fprintf(stderr, "rlog: read from replica %u: %s\n", replica->id.value,
                         r.status().to_string().c_str());
            return 1;
        }
        for (const SequencedMessage& m : r.value().messages) {
            std::string order;
            Result<bench::LobsterMessage> o = bench::decode_order(m.data);
            if (o.is_ok()) {
                order = " order=" + std::to_string(o.value().order_id) +
                        " type=" + std::to_string(o.value().event_type) +
                        " size=" + std::to_string(o.value().size) +
                        " price=" + std::to_string(o.value().price) +
                        " side=" + (o.value().direction > 0 ? "buy" : "sell");
            }
            std::printf("seq=%" PRIu64 " client=%" PRIu64 " request=%" PRIu64 " term=%" PRIu64
                        " index=%" PRIu64 " bytes=%zu crc=%u%s\n",
                        m.seq, m.client_id, m.request_no, m.term.value, m.index.value,
                        m.data.size(), crc32c(m.data.data(), m.data.size()), order.c_str());
            printed++;
            if (options.count != 0 && printed >= options.count) {
                break;
            }
        }
        next += r.value().messages.size();
        if (r.value().messages.empty()) {
            if (!options.follow) {
                break;
            }
            std::fflush(stdout);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    return 0;
}

namespace {

int run_offline_check(const CheckCommandOptions& options, const std::vector<AckRecord>& acks) {
    std::vector<ReplicaData> replicas;
    for (const std::string& dir : options.data_dirs) {
        Result<ReplicaData> d = read_replica_data(dir);
        if (!d.is_ok()) {
            std::fprintf(stderr, "rlog: %s\n", d.status().to_string().c_str());
            return 1;
        }
        replicas.push_back(std::move(d).value());
    }
    std::vector<SentRecord> sent;
    for (const std::string& path : options.sent_paths) {
        Result<std::vector<SentRecord>> s = load_sent_file(path);
        if (!s.is_ok()) {
            std::fprintf(stderr, "rlog: %s\n", s.status().to_string().c_str());
            return 2;
        }
        sent.insert(sent.end(), s.value().begin(), s.value().end());
    }
    DataCheckResult result = check_replica_data(replicas, acks, sent, !options.sent_paths.empty());
    for (const std::string& v : result.history.violations) {
        std::printf("VIOLATION %s\n", v.c_str());
    }
    std::printf("check (data directories): %" PRIu64
                " acks against %zu replicas, committed "
                "prefix %" PRIu64 " entries (%" PRIu64 " messages)%s: %zu violations\n",
                result.history.acks_checked, replicas.size(), result.committed_index,
                result.committed_seq, options.sent_paths.empty() ? "" : ", sent logs checked",
                result.history.violations_total);
    for (const std::string& n : result.notes) {
        std::printf("  %s\n", n.c_str());
    }
    return result.history.passed() ? 0 : 1;
}

}  // namespace

int run_check_command(const CheckCommandOptions& options) {
    if (!options.data_dirs.empty()) {
        std::vector<AckRecord> acks;
        for (const std::string& path : options.ack_paths) {
            Result<std::vector<AckRecord>> a = load_ack_file(path);
            if (!a.is_ok()) {
                std::fprintf(stderr, "rlog: %s\n", a.status().to_string().c_str());
                return 2;
            }
            acks.insert(acks.end(), a.value().begin(), a.value().end());
        }
        return run_offline_check(options, acks);
    }
    if (options.config_path.empty()) {
        std::fprintf(stderr, "rlog: check needs --config (live) or --data-dir (offline)\n");
        return 2;
    }
    Result<ClusterConfig> config = load_or_report(options.config_path);
    if (!config.is_ok()) {
        return 2;
    }
    std::vector<AckRecord> acks;
    uint64_t max_seq = 0;
    for (const std::string& path : options.ack_paths) {
        Result<std::vector<AckRecord>> a = load_ack_file(path);
        if (!a.is_ok()) {
            std::fprintf(stderr, "rlog: %s\n", a.status().to_string().c_str());
            return 2;
        }
        for (const AckRecord& r : a.value()) {
            max_seq = std::max(max_seq, r.seq);
            acks.push_back(r);
        }
    }
    std::vector<ReplicaStream> streams;
    size_t unreachable = 0;
    for (const ReplicaAddress& r : config.value().replicas) {
        Result<ReplicaStream> s = read_replica_stream(config.value(), r, max_seq, options.timeout_s,
                                                      options.bind_host);
        if (!s.is_ok()) {
            // A replica that is down is not evidence of loss: it is reported as not checked.
            // The check still needs a majority, which holds every committed message.
            std::printf("UNREACHABLE replica %u: %s (not checked)\n", r.id.value,
                        s.status().to_string().c_str());
            unreachable++;
            continue;
        }
        streams.push_back(std::move(s).value());
    }
    const size_t replicas = config.value().replicas.size();
    if (streams.size() < replicas / 2 + 1) {
        std::printf("check: only %zu of %zu replicas answered; a majority is needed\n",
                    streams.size(), replicas);
        return 1;
    }
    HistoryCheckResult result = check_history(acks, streams, /*allow_lag=*/false);
    for (const std::string& v : result.violations) {
        std::printf("VIOLATION %s\n", v.c_str());
    }
    std::printf("check: %" PRIu64 " acks against %zu replicas (%" PRIu64
                " stream records): %zu violations\n",
                result.acks_checked, streams.size(), result.records_checked,
                result.violations_total);
    for (const ReplicaStream& s : streams) {
        std::printf("  %s: %zu messages\n", s.name.c_str(), s.records.size());
    }
    if (unreachable > 0) {
        std::printf("  %zu replica(s) unreachable and not checked\n", unreachable);
    }
    return result.passed() ? 0 : 1;
}

int run_config_command(const ConfigCommandOptions& options) {
    ClusterConfig config;
    config.data_dir = options.data_dir;
    for (uint32_t i = 0; i < options.replicas; i++) {
        config.replicas.push_back(ReplicaAddress{
                NodeId{i + 1}, options.host, static_cast<uint16_t>(options.base_port + 2 * i),
                static_cast<uint16_t>(options.base_port + 2 * i + 1)});
    }
    const std::string text = format_config(config);
    Result<ClusterConfig> check = parse_config(text);
    if (!check.is_ok()) {
        std::fprintf(stderr, "rlog: %s\n", check.status().to_string().c_str());
        return 2;
    }
    std::fputs(text.c_str(), stdout);
    return 0;
}

}  // namespace rlog::node
