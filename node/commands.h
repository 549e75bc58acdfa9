// SPDX-License-Identifier: Apache-2.0
//
// The client-side subcommands of `rlog`: `client` (submit order flow and record every
// acknowledgement), `tail` (print a replica's committed stream), `check` (verify acknowledgements
// against every replica's stream) and `config` (print a cluster configuration). Each returns the
// process exit status: 0 success, 1 a failed run or check, 2 bad arguments or configuration.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/config.h"
#include "node/history_check.h"

namespace rlog::node {

struct ClientCommandOptions {
    std::string config_path;
    std::string lobster_path;  // Empty: synthetic order flow.
    uint64_t count = 0;        // 0: the whole LOBSTER file, or 1000 synthetic messages.
    size_t outstanding = 16;
    uint64_t retry_ms = 200;
    double timeout_s = 60;
    std::string acks_path;  // Empty: do not record acknowledgements.
    // Empty: do not record submissions. Else one line per request submitted (before it is sent):
    // "client_id request_no payload_crc", for `rlog check --sent` ("a message nobody sent").
    std::string sent_path;
    uint64_t client_id = 0;
    double rate_per_s = 0;  // 0: closed loop; else at most this many submissions per second.
    // Local address of the client socket: loopback by default; a namespace's own address when
    // the replicas are elsewhere (scripts/soak.sh).
    std::string bind_host = "127.0.0.1";
};

struct TailCommandOptions {
    std::string config_path;
    uint32_t id = 0;  // 0: the first replica of the configuration.
    uint64_t from_seq = 1;
    uint64_t count = 0;
    bool follow = false;
};

struct CheckCommandOptions {
    std::string config_path;  // Live check: read every replica's stream through its client port.
    std::vector<std::string> ack_paths;
    double timeout_s = 30;
    // Offline check (instead of the live one when non-empty): read these replica data
    // directories (see node/check_data.h); `sent_paths` adds the "nobody sent" check.
    std::vector<std::string> data_dirs;
    std::vector<std::string> sent_paths;
    std::string bind_host = "127.0.0.1";  // Local address for the live check's reads.
};

struct ConfigCommandOptions {
    uint32_t replicas = 3;
    std::string host = "127.0.0.1";
    uint16_t base_port = 7100;
    std::string data_dir = "/tmp/rlog/node-{id}";
};

int run_client_command(const ClientCommandOptions& options);
int run_tail_command(const TailCommandOptions& options);
int run_check_command(const CheckCommandOptions& options);
int run_config_command(const ConfigCommandOptions& options);

// "host:client_port" of every replica, in configuration order.
std::vector<std::string> client_endpoints(const ClusterConfig& config);

// Reads a replica's whole committed stream through its client port (waiting up to `timeout_s`
// for it to reach `until_seq` when that is non-zero). Errors: kTimeout, kIo.
Result<ReplicaStream> read_replica_stream(const ClusterConfig& config,
                                          const ReplicaAddress& replica,
                                          uint64_t until_seq,
                                          double timeout_s,
                                          const std::string& bind_host = "127.0.0.1");

}  // namespace rlog::node
