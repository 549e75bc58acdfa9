// SPDX-License-Identifier: Apache-2.0

#include "bench/e2e/cluster_bench.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/e2e/netns.h"
#include "bench/support/disk_floor.h"
#include "bench/support/latency_histogram.h"
#include "bench/support/lobster.h"
#include "bench/support/net_floor.h"
#include "bench/support/progress.h"
#include "bench/support/report.h"
#include "bench/support/workload.h"
#include "common/crc32c.h"
#include "dataplane/udp_socket.h"
#include "node/client.h"
#include "node/commands.h"
#include "node/config.h"
#include "node/history_check.h"
#include "node/logging.h"
#include "node/replica.h"
#include "node/sequencer.h"

namespace rlog::bench {
namespace {

using node::ClientAck;
using node::Replica;

constexpr int kDiskFloorIterations = 200;
constexpr int kNetFloorIterations = 2000;
constexpr double kLeaderWaitS = 10;
constexpr double kDrainWaitS = 15;

// Finds `n` free UDP ports on 127.0.0.1 by binding to port 0. A port can in principle be taken
// by another process between this probe and the replica's bind; the bind then fails clearly.
Result<std::vector<uint16_t>> free_ports(size_t n) {
    std::vector<std::unique_ptr<dataplane::UdpSocket>> held;
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < n; i++) {
        Result<sockaddr_in> any = dataplane::parse_ipv4("127.0.0.1", 0);
        if (!any.is_ok()) {
            return any.status();
        }
        Result<std::unique_ptr<dataplane::UdpSocket>> s =
                dataplane::UdpSocket::open(any.value(), 2048, 1, 0);
        if (!s.is_ok()) {
            return s.status();
        }
        ports.push_back(ntohs(s.value()->local_address().sin_port));
        held.push_back(std::move(s).value());
    }
    return ports;
}

LatencyHistogram to_histogram(const std::vector<uint64_t>& samples) {
    LatencyHistogram h;
    for (uint64_t s : samples) {
        h.record(s);
    }
    return h;
}

std::string us(uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(ns) / 1e3);
    return buf;
}

// The leader, once exactly one replica claims to lead in the highest term seen.
std::optional<node::ReplicaStatus> find_leader(const std::vector<std::unique_ptr<Replica>>& rs) {
    std::optional<node::ReplicaStatus> best;
    for (const auto& r : rs) {
        node::ReplicaStatus s = r->status();
        if (s.role == consensus::Role::kLeader && (!best || s.term > best->term)) {
            best = s;
        }
    }
    return best;
}

// Set by SIGINT/SIGTERM during a udp run: the load stops, the replicas stop, and the temporary
// data directory is removed as after a normal run.
std::atomic<bool> g_interrupted{false};

void on_interrupt(int) {
    g_interrupted.store(true);
}

// True when `path` can be created or truncated for writing (checked before a long run).
bool writable(const std::string& path) {
    std::ofstream probe(path, std::ios::app);
    return static_cast<bool>(probe);
}

}  // namespace

int run_cluster_bench(const ClusterBenchOptions& options) {
    auto logger = node::process_logger();
    if (options.payload_bytes < kOrderRecordBytes) {
        std::fprintf(stderr, "rlog bench: --payload-bytes must be at least %zu\n",
                     kOrderRecordBytes);
        return 2;
    }
    if (options.payload_bytes > node::submit_data_max(options.mtu_bytes)) {
        std::fprintf(stderr,
                     "rlog bench: --payload-bytes %zu does not fit one client datagram of --mtu "
                     "%zu (at most %zu)\n",
                     options.payload_bytes, options.mtu_bytes,
                     node::submit_data_max(options.mtu_bytes));
        return 2;
    }
    if (!(options.duration_s > 0)) {
        std::fprintf(stderr, "rlog bench: --duration must be positive\n");
        return 2;
    }
    if (options.rate_per_s < 0) {
        std::fprintf(stderr, "rlog bench: --rate must not be negative (0 means closed loop)\n");
        return 2;
    }
    if (!options.json_path.empty() && !writable(options.json_path)) {
        std::fprintf(stderr, "rlog bench: cannot write %s\n", options.json_path.c_str());
        return 2;
    }
    if (!options.svg_path.empty() && !writable(options.svg_path)) {
        std::fprintf(stderr, "rlog bench: cannot write %s\n", options.svg_path.c_str());
        return 2;
    }
    const bool l2 = options.transport == "af_packet" || options.transport == "dpdk";
    if (options.transport != "udp" && !l2) {
        std::fprintf(stderr, "rlog bench: unknown transport '%s' (udp, af_packet or dpdk)\n",
                     options.transport.c_str());
        return 2;
    }

    // Workload.
    std::optional<Workload> workload;
    if (!options.lobster_path.empty()) {
        Result<std::vector<LobsterMessage>> msgs = load_lobster(options.lobster_path);
        if (!msgs.is_ok()) {
            std::fprintf(stderr, "rlog bench: %s\n", msgs.status().to_string().c_str());
            return 2;
        }
        workload = Workload::from_lobster(std::move(msgs).value(), options.payload_bytes);
    } else {
        workload = Workload::synthetic(options.seed, options.payload_bytes);
    }

    // Data directory.
    std::string root = options.data_dir;
    const bool temporary = root.empty();
    if (temporary) {
        char pattern[] = "/tmp/rlog-bench-XXXXXX";
        if (mkdtemp(pattern) == nullptr) {
            std::fprintf(stderr, "rlog bench: cannot create a temporary directory in /tmp\n");
            return 1;
        }
        root = pattern;
    }
    struct Cleanup {
        std::string dir;
        bool active;
        ~Cleanup() {
            if (active) {
                std::error_code ec;
                std::filesystem::remove_all(dir, ec);
            }
        }
    } cleanup{root, temporary};

    BenchConfig config;
    config.add("replicas", std::to_string(options.replicas));
    config.add("transport",
               l2 ? options.transport + " on veth pairs and a bridge in a private network namespace"
                  : options.transport + " on 127.0.0.1");
    config.add("fsync", options.fsync ? "on" : "off");
    config.add("workload", options.lobster_path.empty()
                                   ? "synthetic order flow (LOBSTER sample mix)"
                                   : "LOBSTER replay " + options.lobster_path);
    config.add("payload_bytes", std::to_string(options.payload_bytes));
    config.add("load",
               options.rate_per_s > 0
                       ? "open loop, " + std::to_string(options.rate_per_s) + " msg/s"
                       : "closed loop, " + std::to_string(options.outstanding) + " outstanding");
    char duration[32];
    std::snprintf(duration, sizeof(duration), "%g", options.duration_s);
    config.add("duration_s", duration);
    if (options.messages > 0) {
        config.add("messages", std::to_string(options.messages));
    }
    config.add("storage_backend", options.storage_backend);
    config.add("mtu_bytes", std::to_string(options.mtu_bytes));
    config.add("idle_stages",
               options.busy_poll ? "busy-poll"
                                 : "spin " + std::to_string(options.spin_us) + " us, then park");
    config.add("cores", std::to_string(std::thread::hardware_concurrency()));
    config.add("data_dir", root + (temporary ? " (removed afterwards)" : ""));

    BenchResult result;
    // Floors, measured in this run so the ratios compare like with like.
    if (!options.skip_floors) {
        Result<std::vector<uint64_t>> disk = measure_disk_floor(root, kDiskFloorIterations);
        if (disk.is_ok()) {
            result.disk_floor = to_histogram(disk.value());
        } else {
            logger->warn("disk floor not measured: {}", disk.status().to_string());
        }
        Result<std::vector<uint64_t>> net =
                measure_udp_floor(kNetFloorIterations, options.payload_bytes);
        if (net.is_ok()) {
            result.net_floor = to_histogram(net.value());
        } else {
            logger->warn("network floor not measured: {}", net.status().to_string());
        }
    }

    // Cluster. af_packet and dpdk run on a private Ethernet segment: a network namespace with
    // one veth interface per replica, joined by a bridge. This thread enters it, so every
    // replica thread, socket and DPDK device started from here on lives there; the namespace
    // and everything in it are deleted when `lab` goes (after the replicas).
    std::unique_ptr<NetnsLab> lab;
    if (l2) {
        Result<std::unique_ptr<NetnsLab>> made =
                NetnsLab::create(std::max<size_t>(2, options.replicas), 9000);
        if (!made.is_ok()) {
            std::fprintf(stderr, "rlog bench: transport %s: %s\n", options.transport.c_str(),
                         made.status().to_string().c_str());
            return 1;
        }
        lab = std::move(made).value();
        Status entered = lab->enter();
        if (!entered.is_ok()) {
            std::fprintf(stderr, "rlog bench: %s\n", entered.to_string().c_str());
            return 1;
        }
        config.add("network_namespace", lab->name() + " (removed afterwards)");
    }
    Result<std::vector<uint16_t>> ports = free_ports(2 * options.replicas);
    if (!ports.is_ok()) {
        std::fprintf(stderr, "rlog bench: %s\n", ports.status().to_string().c_str());
        return 1;
    }
    node::ClusterConfig cluster;
    cluster.cluster_id = static_cast<uint32_t>(options.seed % 1000000) + 1;
    cluster.data_dir = root + "/node-{id}";
    cluster.fsync = options.fsync;
    cluster.transport = options.transport;
    cluster.mtu_bytes = options.mtu_bytes;
    cluster.storage_backend = options.storage_backend;
    for (uint32_t i = 0; i < options.replicas; i++) {
        cluster.replicas.push_back(node::ReplicaAddress{
                NodeId{i + 1}, "127.0.0.1", ports.value()[2 * i], ports.value()[2 * i + 1]});
        if (lab) {
            cluster.replicas.back().mac = lab->ports()[i].mac;
            cluster.replicas.back().interface = lab->ports()[i].interface;
            cluster.replicas.back().dpdk_port = "net_af_packet" + std::to_string(i);
        }
    }
    if (lab && options.transport == "dpdk") {
        cluster.eal_args = dpdk_eal_args(*lab);
    }
    std::vector<std::unique_ptr<Replica>> replicas;
    for (const node::ReplicaAddress& r : cluster.replicas) {
        node::ReplicaOptions ro;
        ro.cluster = cluster;
        ro.id = r.id;
        ro.seed = options.seed * 1000 + r.id.value;
        ro.busy_poll = options.busy_poll;
        ro.spin_us = options.spin_us;
        ro.logger = logger;
        Result<std::unique_ptr<Replica>> started = Replica::start(std::move(ro));
        if (!started.is_ok()) {
            std::fprintf(stderr, "rlog bench: replica %u: %s\n", r.id.value,
                         started.status().to_string().c_str());
            return 1;
        }
        replicas.push_back(std::move(started).value());
    }
    const uint64_t wait_start = node::monotonic_ns();
    while (!find_leader(replicas)) {
        if (node::monotonic_ns() - wait_start > static_cast<uint64_t>(kLeaderWaitS * 1e9)) {
            std::fprintf(stderr, "rlog bench: no leader elected within %.0f s\n", kLeaderWaitS);
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // From here until the load ends, SIGINT/SIGTERM stop the load instead of the process, so the
    // replicas stop and the data directory (and namespace) are removed as after a full run.
    struct sigaction interrupt_action {};
    interrupt_action.sa_handler = on_interrupt;
    sigemptyset(&interrupt_action.sa_mask);
    struct sigaction previous_int {};
    struct sigaction previous_term {};
    sigaction(SIGINT, &interrupt_action, &previous_int);
    sigaction(SIGTERM, &interrupt_action, &previous_term);

    // Client.
    node::ClientOptions client_options;
    client_options.endpoints = node::client_endpoints(cluster);
    client_options.cluster_id = cluster.cluster_id;
    // A fresh client id every run (not one derived from --seed): a run on a kept --data-dir
    // continues the old log, whose sessions would refuse a reused id's requests as stale.
    client_options.seed = 0;
    client_options.outstanding_max = options.rate_per_s > 0 ? 65536 : options.outstanding;
    client_options.retry_timeout_us = 500'000;
    client_options.mtu_bytes = cluster.mtu_bytes;
    Result<std::unique_ptr<node::Client>> client_result = node::Client::open(client_options);
    if (!client_result.is_ok()) {
        std::fprintf(stderr, "rlog bench: client: %s\n",
                     client_result.status().to_string().c_str());
        return 1;
    }
    node::Client& client = *client_result.value();

    // Load.
    std::vector<node::AckRecord> acks;
    std::unordered_map<uint64_t, uint32_t> crc_by_request;
    std::vector<uint8_t> payload;
    std::vector<ClientAck> done;
    uint64_t submitted = 0;
    uint64_t refused = 0;
    ProgressLine progress(stdout);
    const uint64_t start_ns = node::monotonic_ns();
    const uint64_t end_ns = start_ns + static_cast<uint64_t>(options.duration_s * 1e9);
    const double ns_per_message = options.rate_per_s > 0 ? 1e9 / options.rate_per_s : 0;
    uint64_t last_progress_ns = start_ns;
    uint64_t last_progress_acked = 0;
    uint64_t load_end_ns = 0;
    auto take_acks = [&](uint64_t now) {
        done.clear();
        client.poll(now, &done);
        for (const ClientAck& a : done) {
            auto it = crc_by_request.find(a.request_no);
            const uint32_t crc = it == crc_by_request.end() ? 0 : it->second;
            if (it != crc_by_request.end()) {
                crc_by_request.erase(it);
            }
            if (a.failed) {
                refused++;
                continue;
            }
            result.commit_latency.record(a.acked_ns - a.intended_ns);
            acks.push_back(node::AckRecord{client.client_id(), a.request_no, a.seq, a.term.value,
                                           a.index.value, crc});
        }
    };
    while (true) {
        const uint64_t now = node::monotonic_ns();
        const bool more = now < end_ns && (options.messages == 0 || submitted < options.messages) &&
                          !g_interrupted.load(std::memory_order_relaxed);
        if (!more) {
            if (load_end_ns == 0) {
                load_end_ns = now;
            }
            if (client.outstanding() == 0 ||
                now - load_end_ns > static_cast<uint64_t>(kDrainWaitS * 1e9)) {
                break;
            }
        }
        if (more) {
            for (int burst = 0; burst < 4096; burst++) {
                if (options.messages != 0 && submitted >= options.messages) {
                    break;
                }
                uint64_t intended = now;
                if (ns_per_message > 0) {
                    intended = start_ns + static_cast<uint64_t>(static_cast<double>(submitted) *
                                                                ns_per_message);
                    if (intended > now) {
                        break;
                    }
                } else if (client.outstanding() >= options.outstanding) {
                    break;
                }
                workload->next(&payload);
                Result<uint64_t> r = client.submit(payload, intended);
                if (!r.is_ok()) {
                    break;
                }
                crc_by_request[r.value()] = crc32c(payload.data(), payload.size());
                submitted++;
            }
        }
        take_acks(now);
        if (now - last_progress_ns >= 200'000'000) {
            const auto leader = find_leader(replicas);
            const double rate = static_cast<double>(acks.size() - last_progress_acked) /
                                (static_cast<double>(now - last_progress_ns) / 1e9);
            char line[256];
            std::snprintf(line, sizeof(line),
                          "%5.1fs  acked %9zu  %9.0f msg/s  p50 %s us  p99 %s us  leader %u "
                          "term %" PRIu64,
                          static_cast<double>(now - start_ns) / 1e9, acks.size(), rate,
                          us(result.commit_latency.percentile(50)).c_str(),
                          us(result.commit_latency.percentile(99)).c_str(),
                          leader ? leader->id.value : 0u, leader ? leader->term.value : 0);
            progress.update(line);
            last_progress_ns = now;
            last_progress_acked = acks.size();
        }
        if (done.empty()) {
            client.wait(options.rate_per_s > 0 ? 50 : 200);
        }
    }
    progress.finish();
    sigaction(SIGINT, &previous_int, nullptr);
    sigaction(SIGTERM, &previous_term, nullptr);
    const uint64_t measured_end_ns = node::monotonic_ns();

    // Let every replica apply everything that was acknowledged, then stop and verify.
    uint64_t max_seq = 0;
    for (const node::AckRecord& a : acks) {
        max_seq = std::max(max_seq, a.seq);
    }
    const uint64_t catch_up_start = node::monotonic_ns();
    while (true) {
        bool all = true;
        for (const auto& r : replicas) {
            all &= r->status().applied_seq >= max_seq;
        }
        if (all ||
            node::monotonic_ns() - catch_up_start > static_cast<uint64_t>(kDrainWaitS * 1e9)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& r : replicas) {
        r->stop();
    }

    std::vector<node::ReplicaStream> streams;
    uint64_t fsyncs = 0;
    uint64_t records_synced = 0;
    uint64_t entries_sent = 0;
    uint64_t appends_sent = 0;
    for (const auto& r : replicas) {
        node::ReplicaStream stream;
        stream.name = "replica " + std::to_string(r->id().value);
        std::vector<node::SequencedMessage> msgs;
        Status s = r->sequencer().read(1, r->sequencer().last_seq(), &msgs);
        if (!s.is_ok()) {
            result.violations.push_back(stream.name + ": cannot read its stream: " + s.to_string());
        }
        for (const node::SequencedMessage& m : msgs) {
            stream.records.push_back(node::StreamRecord{m.seq, m.client_id, m.request_no,
                                                        m.term.value, m.index.value,
                                                        crc32c(m.data.data(), m.data.size())});
        }
        streams.push_back(std::move(stream));
        const node::ReplicaCounters c = r->counters();
        fsyncs += c.fsyncs;
        records_synced += c.records_synced;
        entries_sent += c.raft.entries_sent;
        appends_sent += c.raft.append_requests_sent;
        result.elections += c.raft.times_elected;
    }
    node::HistoryCheckResult check = node::check_history(acks, streams, /*allow_lag=*/false);
    for (std::string& v : check.violations) {
        result.violations.push_back(std::move(v));
    }
    if (check.violations_total > check.violations.size()) {
        result.violations.push_back(
                "... and " + std::to_string(check.violations_total - check.violations.size()) +
                " more violations");
    }
    if (client.outstanding() > 0) {
        config.add("unacknowledged_at_end", std::to_string(client.outstanding()));
    }
    result.checks_passed = check.acks_checked;

    const uint64_t load_ns = (load_end_ns != 0 ? load_end_ns : measured_end_ns) - start_ns;
    result.messages_submitted = submitted;
    result.messages_acked = acks.size();
    result.duration_s = static_cast<double>(load_ns) / 1e9;
    result.throughput_msgs_per_s = static_cast<double>(acks.size()) / result.duration_s;
    result.fsync_count = fsyncs;
    result.append_entries_count = appends_sent;
    result.entries_per_fsync =
            fsyncs == 0 ? 0 : static_cast<double>(records_synced) / static_cast<double>(fsyncs);
    result.entries_per_append = appends_sent == 0 ? 0
                                                  : static_cast<double>(entries_sent) /
                                                            static_cast<double>(appends_sent);
    config.add("refused_messages", std::to_string(refused));
    config.add("client_retries", std::to_string(client.counters().retries));

    if (acks.empty()) {
        result.violations.push_back("no message was acknowledged");
    }
    if (g_interrupted.load()) {
        config.add("interrupted", "yes (SIGINT or SIGTERM): load stopped early");
    }
    std::fputs(format_text_report(config, result).c_str(), stdout);
    if (!options.json_path.empty()) {
        std::ofstream out(options.json_path);
        out << format_json_report(config, result);
        if (!out) {
            std::fprintf(stderr, "rlog bench: cannot write %s\n", options.json_path.c_str());
            return 1;
        }
    }
    if (!options.svg_path.empty()) {
        std::ofstream out(options.svg_path);
        out << render_latency_svg(result.commit_latency,
                                  "rlog commit latency, " + std::to_string(options.replicas) +
                                          " replicas, fsync " + (options.fsync ? "on" : "off"));
        if (!out) {
            std::fprintf(stderr, "rlog bench: cannot write %s\n", options.svg_path.c_str());
            return 1;
        }
    }
    if (!result.passed()) {
        return 1;
    }
    return g_interrupted.load() ? 130 : 0;  // 128 + SIGINT, as a shell reports an interrupt.
}

}  // namespace rlog::bench
