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
    uint64_t client_id = 0;
};

struct TailCommandOptions {
    std::string config_path;
    uint32_t id = 0;  // 0: the first replica of the configuration.
    uint64_t from_seq = 1;
    uint64_t count = 0;
    bool follow = false;
};

struct CheckCommandOptions {
    std::string config_path;
    std::vector<std::string> ack_paths;
    double timeout_s = 30;
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
                                          double timeout_s);

}  // namespace rlog::node
