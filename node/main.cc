// SPDX-License-Identifier: Apache-2.0
//
// The `rlog` command: `bench` (the main job), `node`, `client`, `tail`, `check` and `config`.
// Configuration and start-up errors are reported here, once, with a non-zero exit status.

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "bench/e2e/cluster_bench.h"
#include "node/commands.h"
#include "node/config.h"
#include "node/logging.h"
#include "node/ping.h"
#include "node/replica.h"

#include <CLI/CLI.hpp>

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop.store(true);
}

int run_node(const std::string& config_path, uint32_t id, bool busy_poll, uint64_t spin_us) {
    auto logger = rlog::node::process_logger();
    rlog::Result<rlog::node::ClusterConfig> config = rlog::node::load_config(config_path);
    if (!config.is_ok()) {
        logger->error("config {}: {}", config_path, config.status().to_string());
        return 2;
    }
    rlog::node::ReplicaOptions options;
    options.cluster = std::move(config).value();
    options.id = rlog::NodeId{id};
    options.busy_poll = busy_poll;
    options.spin_us = spin_us;
    options.logger = logger;
    if (options.cluster.find(options.id) == nullptr) {
        logger->error("config {}: no replica with id {}", config_path, id);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rlog::Result<std::unique_ptr<rlog::node::Replica>> replica =
            rlog::node::Replica::start(std::move(options));
    if (!replica.is_ok()) {
        logger->error("node={} failed to start: {}", id, replica.status().to_string());
        return 1;
    }
    while (!g_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    logger->info("node={} stopping", id);
    replica.value()->stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rlog: a replicated log that sequences messages with Raft"};
    app.require_subcommand(1);
    std::string log_level = "info";
    std::string log_file;
    CLI::Option* log_level_option =
            app.add_option("--log-level", log_level,
                           "trace, debug, info, warn or error (default: info; warn for bench)")
                    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.add_option("--log-file", log_file, "write logs to this file instead of stderr");

    // rlog bench
    rlog::bench::ClusterBenchOptions bench;
    std::string fsync = "on";
    CLI::App* bench_cmd = app.add_subcommand(
            "bench", "start a cluster in this process, drive it with order flow, report latency");
    bench_cmd->add_option("--replicas", bench.replicas, "replicas in the cluster (3 or 5)")
            ->check(CLI::IsMember({1, 3, 5}));
    bench_cmd->add_option("--transport", bench.transport, "peer transport")
            ->check(CLI::IsMember({"udp", "af_packet", "dpdk"}));
    bench_cmd->add_option("--fsync", fsync, "fdatasync every group commit (on) or never (off)")
            ->check(CLI::IsMember({"on", "off"}));
    bench_cmd->add_option("--duration", bench.duration_s, "seconds of load (unless --messages)");
    bench_cmd->add_option("--messages", bench.messages, "stop after this many messages");
    bench_cmd->add_option("--outstanding", bench.outstanding,
                          "closed loop: messages in flight at once");
    bench_cmd->add_option("--rate", bench.rate_per_s,
                          "open loop: messages per second, latency from intended send time");
    bench_cmd->add_option("--lobster", bench.lobster_path, "replay this LOBSTER message file")
            ->check(CLI::ExistingFile);
    bench_cmd->add_option("--payload-bytes", bench.payload_bytes, "bytes per message (>= 32)")
            ->check(CLI::Range(32, 60000));
    bench_cmd->add_option("--json", bench.json_path, "write the report as JSON to this file");
    bench_cmd->add_option("--svg", bench.svg_path, "draw the latency distribution to this SVG");
    bench_cmd->add_option("--seed", bench.seed, "seed for workload and election jitter");
    bench_cmd->add_option("--storage-backend", bench.storage_backend, "auto, io_uring or thread")
            ->check(CLI::IsMember({"auto", "io_uring", "thread"}));
    bench_cmd->add_option("--mtu", bench.mtu_bytes, "largest peer frame in bytes")
            ->check(CLI::Range(512, 65000));
    bench_cmd->add_flag("--busy-poll", bench.busy_poll, "stages never park (dedicated cores)");
    bench_cmd->add_option("--spin-us", bench.spin_us,
                          "how long an idle stage spins before parking");
    bench_cmd->add_flag("--no-floors", bench.skip_floors, "skip the disk and network floors");
    bench_cmd->add_option("--data-dir", bench.data_dir,
                          "keep replica data here instead of a removed temporary directory");

    // rlog node
    std::string config_path;
    uint32_t node_id = 0;
    bool node_busy_poll = false;
    uint64_t node_spin_us = 0;
    CLI::App* node_cmd = app.add_subcommand("node", "run one replica from a configuration file");
    node_cmd->add_option("--config", config_path, "cluster configuration file")->required();
    node_cmd->add_option("--id", node_id, "this replica's id in the configuration")->required();
    node_cmd->add_flag("--busy-poll", node_busy_poll, "stages never park (dedicated cores)");
    node_cmd->add_option("--spin-us", node_spin_us, "how long an idle stage spins before parking");

    // rlog client
    rlog::node::ClientCommandOptions client;
    CLI::App* client_cmd = app.add_subcommand(
            "client", "submit messages (a LOBSTER file, or synthetic order flow) and record acks");
    client_cmd->add_option("--config", client.config_path, "cluster configuration file")
            ->required();
    client_cmd->add_option("--lobster", client.lobster_path, "submit every line of this file")
            ->check(CLI::ExistingFile);
    client_cmd->add_option("--count", client.count,
                           "messages to submit (default: the whole --lobster file, else 1000)");
    client_cmd->add_option("--outstanding", client.outstanding, "messages in flight at once");
    client_cmd->add_option("--retry-ms", client.retry_ms, "resend after this many ms unanswered");
    client_cmd->add_option("--timeout", client.timeout_s, "give up after this many seconds");
    client_cmd->add_option(
            "--acks", client.acks_path,
            "append one line per acknowledgement: client_id request_no seq term index "
            "payload_crc32c acked_unix_us latency_us");
    client_cmd->add_option("--client-id", client.client_id,
                           "client id (default: random); never reuse one: a reused id's requests "
                           "are refused as stale or conflict");
    client_cmd->add_option("--sent", client.sent_path,
                           "append one line per submitted request: client request payload_crc");
    client_cmd->add_option("--rate", client.rate_per_s,
                           "submit at most this many messages per second (default: closed loop)");
    client_cmd->add_option("--bind", client.bind_host,
                           "local IPv4 address of the client socket (default 127.0.0.1)");

    // rlog tail
    rlog::node::TailCommandOptions tail;
    CLI::App* tail_cmd = app.add_subcommand("tail", "print the committed stream of one replica");
    tail_cmd->add_option("--config", tail.config_path, "cluster configuration file")->required();
    tail_cmd->add_option("--id", tail.id, "replica to read from (default: the first)");
    tail_cmd->add_option("--from", tail.from_seq, "first sequence number")->required();
    tail_cmd->add_option("--count", tail.count, "stop after this many messages (0: no limit)");
    tail_cmd->add_flag("--follow", tail.follow, "keep waiting for new messages");

    // rlog check
    rlog::node::CheckCommandOptions check;
    CLI::App* check_cmd = app.add_subcommand(
            "check", "verify that every acknowledged message is on every replica exactly once");
    check_cmd->add_option("--config", check.config_path,
                          "cluster configuration file (live check of running replicas)");
    check_cmd->add_option("--acks", check.ack_paths, "ack files written by rlog client")
            ->required()
            ->check(CLI::ExistingFile);
    check_cmd
            ->add_option("--data-dir", check.data_dirs,
                         "offline check of these replica data directories (stopped cluster)")
            ->check(CLI::ExistingDirectory);
    check_cmd
            ->add_option("--sent", check.sent_paths,
                         "sent logs of rlog client --sent: report messages nobody sent")
            ->check(CLI::ExistingFile);
    check_cmd->add_option("--bind", check.bind_host,
                          "local IPv4 address for the live check (default 127.0.0.1)");
    check_cmd->add_option("--timeout", check.timeout_s, "seconds to wait for replicas to catch up");

    // rlog config
    rlog::node::ConfigCommandOptions gen;
    CLI::App* config_cmd = app.add_subcommand("config", "print a cluster configuration file");
    config_cmd->add_option("--replicas", gen.replicas, "number of replicas")
            ->check(CLI::Range(1, 7));
    config_cmd->add_option("--host", gen.host, "IPv4 address of every replica");
    config_cmd->add_option(
            "--base-port", gen.base_port,
            "replica N (from 1) uses ports base+2(N-1) (raft) and base+2(N-1)+1 (client)");
    config_cmd->add_option("--data-dir", gen.data_dir, "data directory, {id} is replaced");

    // rlog ping
    rlog::node::PingOptions ping;
    CLI::App* ping_cmd = app.add_subcommand(
            "ping", "ping-pong between two endpoints of a transport: its round-trip floor");
    ping_cmd->add_option("--transport", ping.transport, "udp, af_packet or dpdk")
            ->check(CLI::IsMember({"udp", "af_packet", "dpdk"}));
    ping_cmd->add_option("--count", ping.count, "timed round trips");
    ping_cmd->add_option("--payload-bytes", ping.payload_bytes, "bytes after the frame header")
            ->check(CLI::Range(8, 8000));
    ping_cmd->add_option("--af-packet-rx", ping.af_packet_rx_version,
                         "af_packet receive ring: 2 (TPACKET_V2, default) or 3 (TPACKET_V3)")
            ->check(CLI::IsMember({2, 3}));

    CLI11_PARSE(app, argc, argv);
    if (*bench_cmd && log_level_option->count() == 0 && log_file.empty()) {
        // The bench's own report is the output; the replicas' lifecycle lines (start-up,
        // elections) would bury it. They remain one flag away.
        log_level = "warn";
    }
    rlog::node::make_logger(log_level, log_file);

    try {
        if (*bench_cmd) {
            bench.fsync = fsync == "on";
            return rlog::bench::run_cluster_bench(bench);
        }
        if (*node_cmd) {
            return run_node(config_path, node_id, node_busy_poll, node_spin_us);
        }
        if (*client_cmd) {
            return rlog::node::run_client_command(client);
        }
        if (*tail_cmd) {
            return rlog::node::run_tail_command(tail);
        }
        if (*check_cmd) {
            return rlog::node::run_check_command(check);
        }
        if (*config_cmd) {
            return rlog::node::run_config_command(gen);
        }
        if (*ping_cmd) {
            return rlog::node::run_ping(ping);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rlog: %s\n", e.what());
        return 1;
    }
    return 2;
}
