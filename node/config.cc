// SPDX-License-Identifier: Apache-2.0

#include "node/config.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

// toml++ is used header-only here (only this file parses TOML), so rlog_node needs no extra link
// dependency. If the build links the packaged library instead, it defines TOML_HEADER_ONLY=0.
#ifndef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 1
#endif
#include "dataplane/ethernet.h"

#include <toml++/toml.h>

namespace rlog::node {
namespace {

// Collects the first error; every check below stops at the first failure.
class ConfigError {
  public:
    static Status at(const toml::source_region& where, const std::string& what) {
        return Status(ErrorCode::kInvalidArgument,
                      "line " + std::to_string(where.begin.line) + ": " + what);
    }
    static Status global(const std::string& what) {
        return Status(ErrorCode::kInvalidArgument, what);
    }
};

const char* type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        default:
            return "a date or time";
    }
}

// Reads an integer in [min, max]; names the key in the error.
Status read_uint(
        const std::string& key, const toml::node& node, uint64_t min, uint64_t max, uint64_t* out) {
    const auto* value = node.as_integer();
    if (value == nullptr) {
        return ConfigError::at(node.source(),
                               key + " must be an integer, got " + std::string(type_name(node)));
    }
    const int64_t v = value->get();
    if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
        return ConfigError::at(node.source(), key + " must be in " + std::to_string(min) + ".." +
                                                      std::to_string(max) + ", got " +
                                                      std::to_string(v));
    }
    *out = static_cast<uint64_t>(v);
    return Status::ok();
}

Status read_string(const std::string& key, const toml::node& node, std::string* out) {
    const auto* value = node.as_string();
    if (value == nullptr) {
        return ConfigError::at(node.source(),
                               key + " must be a string, got " + std::string(type_name(node)));
    }
    *out = value->get();
    if (out->empty()) {
        return ConfigError::at(node.source(), key + " must not be empty");
    }
    return Status::ok();
}

Status read_bool(const std::string& key, const toml::node& node, bool* out) {
    const auto* value = node.as_boolean();
    if (value == nullptr) {
        return ConfigError::at(node.source(),
                               key + " must be true or false, got " + std::string(type_name(node)));
    }
    *out = value->get();
    return Status::ok();
}

template <class T>
Status read_sized(
        const std::string& key, const toml::node& node, uint64_t min, uint64_t max, T* out) {
    uint64_t v = 0;
    RLOG_RETURN_IF_ERROR(read_uint(key, node, min, max, &v));
    *out = static_cast<T>(v);
    return Status::ok();
}

Status read_string_array(const std::string& key,
                         const toml::node& node,
                         std::vector<std::string>* out) {
    const auto* array = node.as_array();
    if (array == nullptr) {
        return ConfigError::at(node.source(), key + " must be an array of strings");
    }
    out->clear();
    for (const toml::node& element : *array) {
        const auto* text = element.as_string();
        if (text == nullptr) {
            return ConfigError::at(element.source(), key + " must be an array of strings");
        }
        out->push_back(text->get());
    }
    return Status::ok();
}

Status parse_replica(const toml::table& table, ReplicaAddress* out) {
    bool have_id = false;
    bool have_host = false;
    bool have_raft = false;
    bool have_client = false;
    for (auto&& [key, node] : table) {
        const std::string k(key.str());
        uint64_t v = 0;
        if (k == "id") {
            RLOG_RETURN_IF_ERROR(
                    read_uint("replica id", node, 1, std::numeric_limits<uint32_t>::max(), &v));
            out->id = NodeId(static_cast<uint32_t>(v));
            have_id = true;
        } else if (k == "host") {
            RLOG_RETURN_IF_ERROR(read_string("host", node, &out->host));
            in_addr addr{};
            if (inet_pton(AF_INET, out->host.c_str(), &addr) != 1) {
                return ConfigError::at(node.source(),
                                       "host must be an IPv4 address like "
                                       "127.0.0.1, got '" +
                                               out->host + "'");
            }
            have_host = true;
        } else if (k == "raft_port") {
            RLOG_RETURN_IF_ERROR(read_uint("raft_port", node, 1, 65535, &v));
            out->raft_port = static_cast<uint16_t>(v);
            have_raft = true;
        } else if (k == "client_port") {
            RLOG_RETURN_IF_ERROR(read_uint("client_port", node, 1, 65535, &v));
            out->client_port = static_cast<uint16_t>(v);
            have_client = true;
        } else if (k == "mac") {
            RLOG_RETURN_IF_ERROR(read_string("mac", node, &out->mac));
            if (!dataplane::parse_mac(out->mac).is_ok()) {
                return ConfigError::at(
                        node.source(),
                        "mac must look like 02:72:6c:00:00:01, got '" + out->mac + "'");
            }
        } else if (k == "interface") {
            RLOG_RETURN_IF_ERROR(read_string("interface", node, &out->interface));
            if (out->interface.empty() || out->interface.size() >= 16) {
                return ConfigError::at(node.source(),
                                       "interface must be a name of 1..15 characters");
            }
        } else if (k == "dpdk_port") {
            RLOG_RETURN_IF_ERROR(read_string("dpdk_port", node, &out->dpdk_port));
        } else if (k == "eal_args") {
            RLOG_RETURN_IF_ERROR(read_string_array("eal_args", node, &out->eal_args));
        } else {
            return ConfigError::at(key.source(), "unknown key '" + k + "' in [[replica]]");
        }
    }
    const char* missing = !have_id       ? "id"
                          : !have_host   ? "host"
                          : !have_raft   ? "raft_port"
                          : !have_client ? "client_port"
                                         : nullptr;
    if (missing != nullptr) {
        return ConfigError::at(table.source(),
                               std::string("[[replica]] is missing '") + missing + "'");
    }
    return Status::ok();
}

Status parse_replicas(const toml::node& node, ClusterConfig* config) {
    const auto* array = node.as_array();
    if (array == nullptr) {
        return ConfigError::at(node.source(),
                               "replica must be an array of tables ([[replica]] sections)");
    }
    std::map<uint32_t, uint32_t> id_lines;
    std::map<std::pair<std::string, uint16_t>, std::string> endpoints;
    for (const toml::node& element : *array) {
        const auto* table = element.as_table();
        if (table == nullptr) {
            return ConfigError::at(element.source(), "each replica must be a table");
        }
        ReplicaAddress replica;
        RLOG_RETURN_IF_ERROR(parse_replica(*table, &replica));
        const uint32_t line = table->source().begin.line;
        auto [it, inserted] = id_lines.emplace(replica.id.value, line);
        if (!inserted) {
            return ConfigError::at(table->source(), "duplicate replica id " +
                                                            std::to_string(replica.id.value) +
                                                            " (first defined at line " +
                                                            std::to_string(it->second) + ")");
        }
        const std::string who = "replica " + std::to_string(replica.id.value);
        for (auto [port, what] : {std::pair{replica.raft_port, "raft_port"},
                                  std::pair{replica.client_port, "client_port"}}) {
            auto [at, fresh] = endpoints.emplace(std::pair{replica.host, port}, who + " " + what);
            if (!fresh) {
                return ConfigError::at(table->source(),
                                       "address " + replica.host + ":" + std::to_string(port) +
                                               " of " + who + " " + what + " is already used by " +
                                               at->second);
            }
        }
        config->replicas.push_back(std::move(replica));
    }
    return Status::ok();
}

Status parse_table(const toml::table& root, ClusterConfig* config) {
    bool have_data_dir = false;
    std::optional<toml::source_region> min_where;
    std::optional<toml::source_region> heartbeat_where;
    std::optional<toml::source_region> replicas_where;
    std::optional<toml::source_region> transport_where;
    constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
    constexpr uint64_t kTimeoutMax = 3'600'000;  // One hour: anything longer is a typo.
    for (auto&& [key, node] : root) {
        const std::string k(key.str());
        if (k == "cluster_id") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 1, kU32, &config->cluster_id));
        } else if (k == "data_dir") {
            RLOG_RETURN_IF_ERROR(read_string(k, node, &config->data_dir));
            have_data_dir = true;
        } else if (k == "election_timeout_min_ms") {
            RLOG_RETURN_IF_ERROR(
                    read_uint(k, node, 1, kTimeoutMax, &config->election_timeout_min_ms));
            min_where = node.source();
        } else if (k == "election_timeout_max_ms") {
            RLOG_RETURN_IF_ERROR(
                    read_uint(k, node, 1, kTimeoutMax, &config->election_timeout_max_ms));
        } else if (k == "heartbeat_interval_ms") {
            RLOG_RETURN_IF_ERROR(
                    read_uint(k, node, 1, kTimeoutMax, &config->heartbeat_interval_ms));
            heartbeat_where = node.source();
        } else if (k == "fsync") {
            RLOG_RETURN_IF_ERROR(read_bool(k, node, &config->fsync));
        } else if (k == "transport") {
            RLOG_RETURN_IF_ERROR(read_string(k, node, &config->transport));
            if (config->transport != "udp" && config->transport != "af_packet" &&
                config->transport != "dpdk") {
                return ConfigError::at(node.source(),
                                       "unknown transport '" + config->transport +
                                               "' (supported: udp, af_packet, dpdk)");
            }
            transport_where = node.source();
        } else if (k == "framing") {
            RLOG_RETURN_IF_ERROR(read_string(k, node, &config->framing));
            if (!dataplane::parse_framing(config->framing).is_ok()) {
                return ConfigError::at(node.source(), "unknown framing '" + config->framing +
                                                              "' (supported: ethernet, udp_ipv4)");
            }
        } else if (k == "ring_frames") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 2, 65536, &config->ring_frames));
        } else if (k == "af_packet_rx_version") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 2, 3, &config->af_packet_rx_version));
        } else if (k == "eal_args") {
            RLOG_RETURN_IF_ERROR(read_string_array(k, node, &config->eal_args));
        } else if (k == "mtu_bytes") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 512, 65507, &config->mtu_bytes));
        } else if (k == "storage_backend") {
            RLOG_RETURN_IF_ERROR(read_string(k, node, &config->storage_backend));
            const std::string& b = config->storage_backend;
            if (b != "auto" && b != "io_uring" && b != "thread") {
                return ConfigError::at(node.source(), "unknown storage_backend '" + b +
                                                              "' (supported: auto, io_uring, "
                                                              "thread)");
            }
        } else if (k == "segment_size_bytes") {
            RLOG_RETURN_IF_ERROR(
                    read_sized(k, node, 1 << 16, uint64_t{1} << 40, &config->segment_size_bytes));
        } else if (k == "append_entries_max") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 1, 1 << 20, &config->append_entries_max));
        } else if (k == "append_bytes_max") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 1, 1 << 30, &config->append_bytes_max));
        } else if (k == "inflight_appends_max") {
            RLOG_RETURN_IF_ERROR(read_sized(k, node, 1, 1024, &config->inflight_appends_max));
        } else if (k == "replica") {
            RLOG_RETURN_IF_ERROR(parse_replicas(node, config));
            replicas_where = node.source();
        } else {
            return ConfigError::at(key.source(), "unknown key '" + k + "'");
        }
    }
    if (!have_data_dir) {
        return ConfigError::global("missing required key 'data_dir'");
    }
    if (config->election_timeout_min_ms >= config->election_timeout_max_ms) {
        const std::string what = "election_timeout_min_ms (" +
                                 std::to_string(config->election_timeout_min_ms) +
                                 ") must be less than election_timeout_max_ms (" +
                                 std::to_string(config->election_timeout_max_ms) + ")";
        return min_where ? ConfigError::at(*min_where, what) : ConfigError::global(what);
    }
    if (config->heartbeat_interval_ms >= config->election_timeout_min_ms) {
        const std::string what = "heartbeat_interval_ms (" +
                                 std::to_string(config->heartbeat_interval_ms) +
                                 ") must be less than election_timeout_min_ms (" +
                                 std::to_string(config->election_timeout_min_ms) + ")";
        return heartbeat_where ? ConfigError::at(*heartbeat_where, what)
                               : ConfigError::global(what);
    }
    const size_t n = config->replicas.size();
    if (n == 0) {
        return ConfigError::global("no replicas: add at least one [[replica]] section");
    }
    if (config->transport != "udp") {
        for (const ReplicaAddress& r : config->replicas) {
            const char* missing = r.mac.empty() ? "mac"
                                  : config->transport == "af_packet" && r.interface.empty()
                                          ? "interface"
                                          : nullptr;
            if (missing != nullptr) {
                const std::string what = "transport '" + config->transport + "' needs '" + missing +
                                         "' in every [[replica]] (replica " +
                                         std::to_string(r.id.value) + " has none)";
                return transport_where ? ConfigError::at(*transport_where, what)
                                       : ConfigError::global(what);
            }
        }
        bool all_have_eal_args = true;
        for (const ReplicaAddress& r : config->replicas) {
            all_have_eal_args &= !r.eal_args.empty();
        }
        if (config->transport == "dpdk" && config->eal_args.empty() && !all_have_eal_args) {
            return ConfigError::at(*transport_where,
                                   "transport 'dpdk' needs eal_args (e.g. [\"--no-huge\", "
                                   "\"--no-pci\", \"--no-shconf\", \"--vdev=net_af_packet0,"
                                   "iface=veth0\"])");
        }
    }
    if (n > kReplicasMax || n % 2 == 0) {
        return ConfigError::at(*replicas_where,
                               std::to_string(n) +
                                       " replicas: use 1, 3, 5 or 7 (an even count "
                                       "tolerates no more failures than one fewer)");
    }
    return Status::ok();
}

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

}  // namespace

const ReplicaAddress* ClusterConfig::find(NodeId id) const {
    for (const ReplicaAddress& r : replicas) {
        if (r.id == id) {
            return &r;
        }
    }
    return nullptr;
}

std::string ClusterConfig::data_dir_for(NodeId id) const {
    static constexpr std::string_view kPlaceholder = "{id}";
    const std::string id_text = std::to_string(id.value);
    std::string out;
    size_t pos = 0;
    while (true) {
        const size_t at = data_dir.find(kPlaceholder, pos);
        if (at == std::string::npos) {
            out.append(data_dir, pos, std::string::npos);
            return out;
        }
        out.append(data_dir, pos, at - pos);
        out += id_text;
        pos = at + kPlaceholder.size();
    }
}

Result<ClusterConfig> parse_config(std::string_view text) {
    ClusterConfig config;
    try {
        const toml::table root = toml::parse(text);
        RLOG_RETURN_IF_ERROR(parse_table(root, &config));
    } catch (const toml::parse_error& e) {
        return ConfigError::at(e.source(), std::string(e.description()));
    } catch (const std::exception& e) {
        return ConfigError::global(std::string("cannot parse configuration: ") + e.what());
    }
    return config;
}

Result<ClusterConfig> load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int e = errno;
        if (e == ENOENT) {
            return Status(ErrorCode::kNotFound, "configuration file " + path + ": not found");
        }
        return Status(ErrorCode::kIo, "configuration file " + path + ": " + std::strerror(e));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        return Status(ErrorCode::kIo, "configuration file " + path + ": read failed");
    }
    Result<ClusterConfig> config = parse_config(buffer.str());
    if (!config.is_ok()) {
        return Status(config.status().code(), path + ": " + config.status().message());
    }
    return config;
}

std::string format_config(const ClusterConfig& c) {
    std::ostringstream o;
    o << "# rlog cluster configuration\n";
    o << "cluster_id = " << c.cluster_id << "\n";
    o << "data_dir = " << quote(c.data_dir) << "\n";
    o << "election_timeout_min_ms = " << c.election_timeout_min_ms << "\n";
    o << "election_timeout_max_ms = " << c.election_timeout_max_ms << "\n";
    o << "heartbeat_interval_ms = " << c.heartbeat_interval_ms << "\n";
    o << "fsync = " << (c.fsync ? "true" : "false") << "\n";
    o << "transport = " << quote(c.transport) << "\n";
    o << "mtu_bytes = " << c.mtu_bytes << "\n";
    if (c.transport != "udp") {
        o << "framing = " << quote(c.framing) << "\n";
        o << "ring_frames = " << c.ring_frames << "\n";
        o << "af_packet_rx_version = " << c.af_packet_rx_version << "\n";
    }
    if (!c.eal_args.empty()) {
        o << "eal_args = [";
        for (size_t i = 0; i < c.eal_args.size(); i++) {
            o << (i == 0 ? "" : ", ") << quote(c.eal_args[i]);
        }
        o << "]\n";
    }
    o << "storage_backend = " << quote(c.storage_backend) << "\n";
    o << "segment_size_bytes = " << c.segment_size_bytes << "\n";
    o << "append_entries_max = " << c.append_entries_max << "\n";
    o << "append_bytes_max = " << c.append_bytes_max << "\n";
    o << "inflight_appends_max = " << c.inflight_appends_max << "\n";
    for (const ReplicaAddress& r : c.replicas) {
        o << "\n[[replica]]\n";
        o << "id = " << r.id.value << "\n";
        o << "host = " << quote(r.host) << "\n";
        o << "raft_port = " << r.raft_port << "\n";
        o << "client_port = " << r.client_port << "\n";
        if (!r.mac.empty()) {
            o << "mac = " << quote(r.mac) << "\n";
        }
        if (!r.interface.empty()) {
            o << "interface = " << quote(r.interface) << "\n";
        }
        if (!r.dpdk_port.empty()) {
            o << "dpdk_port = " << quote(r.dpdk_port) << "\n";
        }
        if (!r.eal_args.empty()) {
            o << "eal_args = [";
            for (size_t i = 0; i < r.eal_args.size(); i++) {
                o << (i == 0 ? "" : ", ") << quote(r.eal_args[i]);
            }
            o << "]\n";
        }
    }
    return o.str();
}

}  // namespace rlog::node
