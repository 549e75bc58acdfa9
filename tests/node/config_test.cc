// SPDX-License-Identifier: Apache-2.0
//
// Tests for the cluster configuration file: a valid file with defaults, a round trip through
// format_config, `{id}` expansion, load_config errors, and one test per validation rule, each
// checking the error code, the line number and the wording of the message.

#include "node/config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace rlog::node {
namespace {

const char* kReplicas = R"(
[[replica]]
id = 1
host = "127.0.0.1"
raft_port = 7001
client_port = 7101

[[replica]]
id = 2
host = "127.0.0.1"
raft_port = 7002
client_port = 7102

[[replica]]
id = 3
host = "127.0.0.1"
raft_port = 7003
client_port = 7103
)";

std::string with_replicas(const std::string& head) {
    return head + kReplicas;
}

// Expects parse_config(text) to fail with kInvalidArgument and a message containing `needle`.
void expect_error(const std::string& text, const std::string& needle) {
    Result<ClusterConfig> r = parse_config(text);
    ASSERT_FALSE(r.is_ok()) << "accepted:\n" << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
            << "message: " << r.status().message() << "\nexpected to contain: " << needle;
}

TEST(ConfigTest, MinimalFileGetsDefaults) {
    Result<ClusterConfig> r = parse_config(with_replicas("data_dir = \"/tmp/rlog/{id}\"\n"));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const ClusterConfig& c = r.value();
    EXPECT_EQ(c.cluster_id, 1u);
    EXPECT_EQ(c.election_timeout_min_ms, 150u);
    EXPECT_EQ(c.election_timeout_max_ms, 300u);
    EXPECT_EQ(c.heartbeat_interval_ms, 30u);
    EXPECT_TRUE(c.fsync);
    EXPECT_EQ(c.transport, "udp");
    EXPECT_EQ(c.mtu_bytes, 8192u);
    EXPECT_EQ(c.storage_backend, "auto");
    ASSERT_EQ(c.replicas.size(), 3u);
    EXPECT_EQ(c.replicas[1].id, NodeId(2));
    EXPECT_EQ(c.replicas[1].raft_port, 7002);
    EXPECT_EQ(c.replicas[1].client_port, 7102);
    ASSERT_NE(c.find(NodeId(3)), nullptr);
    EXPECT_EQ(c.find(NodeId(3))->raft_port, 7003);
    EXPECT_EQ(c.find(NodeId(4)), nullptr);
    EXPECT_EQ(c.data_dir_for(NodeId(2)), "/tmp/rlog/2");
}

TEST(ConfigTest, DataDirPlaceholderIsReplacedEverywhere) {
    ClusterConfig c;
    c.data_dir = "/d/{id}/x{id}";
    EXPECT_EQ(c.data_dir_for(NodeId(12)), "/d/12/x12");
    c.data_dir = "/plain";
    EXPECT_EQ(c.data_dir_for(NodeId(12)), "/plain");
}

TEST(ConfigTest, FormatThenParseRoundTrips) {
    ClusterConfig c;
    c.cluster_id = 77;
    c.data_dir = "/tmp/a \"quoted\" \\dir/{id}";
    c.election_timeout_min_ms = 400;
    c.election_timeout_max_ms = 900;
    c.heartbeat_interval_ms = 50;
    c.fsync = false;
    c.mtu_bytes = 1500;
    c.storage_backend = "thread";
    c.segment_size_bytes = 1 << 20;
    c.append_entries_max = 64;
    c.append_bytes_max = 100000;
    c.inflight_appends_max = 3;
    for (uint32_t i = 1; i <= 5; ++i) {
        c.replicas.push_back(ReplicaAddress{NodeId(i), "127.0.0." + std::to_string(i),
                                            static_cast<uint16_t>(9000 + i),
                                            static_cast<uint16_t>(9100 + i)});
    }
    Result<ClusterConfig> r = parse_config(format_config(c));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string() << "\n" << format_config(c);
    const ClusterConfig& d = r.value();
    EXPECT_EQ(d.cluster_id, c.cluster_id);
    EXPECT_EQ(d.data_dir, c.data_dir);
    EXPECT_EQ(d.election_timeout_min_ms, c.election_timeout_min_ms);
    EXPECT_EQ(d.election_timeout_max_ms, c.election_timeout_max_ms);
    EXPECT_EQ(d.heartbeat_interval_ms, c.heartbeat_interval_ms);
    EXPECT_EQ(d.fsync, c.fsync);
    EXPECT_EQ(d.transport, c.transport);
    EXPECT_EQ(d.mtu_bytes, c.mtu_bytes);
    EXPECT_EQ(d.storage_backend, c.storage_backend);
    EXPECT_EQ(d.segment_size_bytes, c.segment_size_bytes);
    EXPECT_EQ(d.append_entries_max, c.append_entries_max);
    EXPECT_EQ(d.append_bytes_max, c.append_bytes_max);
    EXPECT_EQ(d.inflight_appends_max, c.inflight_appends_max);
    ASSERT_EQ(d.replicas.size(), c.replicas.size());
    for (size_t i = 0; i < c.replicas.size(); ++i) {
        EXPECT_EQ(d.replicas[i].id, c.replicas[i].id);
        EXPECT_EQ(d.replicas[i].host, c.replicas[i].host);
        EXPECT_EQ(d.replicas[i].raft_port, c.replicas[i].raft_port);
        EXPECT_EQ(d.replicas[i].client_port, c.replicas[i].client_port);
    }
    EXPECT_EQ(format_config(d), format_config(c));
}

TEST(ConfigTest, UnknownKeyIsRejectedWithItsLine) {
    expect_error(with_replicas("data_dir = \"/d\"\n\nelection_timeout = 5\n"),
                 "line 3: unknown key 'election_timeout'");
}

TEST(ConfigTest, UnknownReplicaKeyIsRejected) {
    expect_error(
            "data_dir = \"/d\"\n[[replica]]\nid = 1\nhost = \"127.0.0.1\"\nraft_port = 1\n"
            "client_port = 2\nweight = 3\n",
            "line 7: unknown key 'weight' in [[replica]]");
}

TEST(ConfigTest, DuplicateKeyIsRejected) {
    expect_error(with_replicas("data_dir = \"/d\"\nfsync = true\nfsync = false\n"), "line 3:");
}

TEST(ConfigTest, DuplicateReplicaIdIsRejected) {
    expect_error(with_replicas("data_dir = \"/d\"\n") +
                         "\n[[replica]]\nid = 2\nhost = \"127.0.0.2\"\nraft_port = 1\n"
                         "client_port = 2\n"
                         "\n[[replica]]\nid = 9\nhost = \"127.0.0.2\"\nraft_port = 3\n"
                         "client_port = 4\n",
                 "duplicate replica id 2 (first defined at line 9)");
}

TEST(ConfigTest, ReplicaIdZeroIsRejected) {
    expect_error(
            "data_dir = \"/d\"\n[[replica]]\nid = 0\nhost = \"127.0.0.1\"\nraft_port = 1\n"
            "client_port = 2\n",
            "line 3: replica id must be in 1..4294967295, got 0");
}

TEST(ConfigTest, MissingReplicaFieldNamesTheSection) {
    expect_error("data_dir = \"/d\"\n\n[[replica]]\nid = 1\nhost = \"127.0.0.1\"\nraft_port = 1\n",
                 "line 3: [[replica]] is missing 'client_port'");
    expect_error(
            "data_dir = \"/d\"\n[[replica]]\nhost = \"127.0.0.1\"\nraft_port = 1\n"
            "client_port = 2\n",
            "line 2: [[replica]] is missing 'id'");
}

TEST(ConfigTest, BadPortIsRejected) {
    expect_error(
            "data_dir = \"/d\"\n[[replica]]\nid = 1\nhost = \"127.0.0.1\"\nraft_port = 70000\n"
            "client_port = 2\n",
            "line 5: raft_port must be in 1..65535, got 70000");
    expect_error(
            "data_dir = \"/d\"\n[[replica]]\nid = 1\nhost = \"127.0.0.1\"\nraft_port = 1\n"
            "client_port = 0\n",
            "line 6: client_port must be in 1..65535, got 0");
}

TEST(ConfigTest, BadHostIsRejected) {
    expect_error(
            "data_dir = \"/d\"\n[[replica]]\nid = 1\nhost = \"localhost\"\nraft_port = 1\n"
            "client_port = 2\n",
            "line 4: host must be an IPv4 address");
}

TEST(ConfigTest, BadNumbersAreRejected) {
    expect_error(with_replicas("data_dir = \"/d\"\nmtu_bytes = \"big\"\n"),
                 "line 2: mtu_bytes must be an integer, got a string");
    expect_error(with_replicas("data_dir = \"/d\"\nmtu_bytes = 100\n"),
                 "line 2: mtu_bytes must be in 512..65507, got 100");
    expect_error(with_replicas("data_dir = \"/d\"\nappend_entries_max = -1\n"),
                 "line 2: append_entries_max must be in");
    expect_error(with_replicas("data_dir = \"/d\"\nheartbeat_interval_ms = 1.5\n"),
                 "line 2: heartbeat_interval_ms must be an integer, got a floating-point");
    expect_error(with_replicas("data_dir = \"/d\"\nfsync = 1\n"),
                 "line 2: fsync must be true or false");
    expect_error(with_replicas("data_dir = \"/d\"\ncluster_id = 0\n"),
                 "line 2: cluster_id must be in 1..");
    expect_error(with_replicas("data_dir = \"/d\"\ninflight_appends_max = 12x\n"), "line 2:");
}

TEST(ConfigTest, MissingDataDirIsRejected) {
    expect_error(with_replicas("cluster_id = 3\n"), "missing required key 'data_dir'");
    expect_error(with_replicas("data_dir = \"\"\n"), "line 1: data_dir must not be empty");
}

TEST(ConfigTest, ElectionTimeoutMinMustBeBelowMax) {
    expect_error(with_replicas("data_dir = \"/d\"\nelection_timeout_min_ms = 300\n"
                               "election_timeout_max_ms = 300\n"),
                 "line 2: election_timeout_min_ms (300) must be less than "
                 "election_timeout_max_ms (300)");
    expect_error(with_replicas("data_dir = \"/d\"\nelection_timeout_max_ms = 100\n"),
                 "election_timeout_min_ms (150) must be less than election_timeout_max_ms (100)");
}

TEST(ConfigTest, HeartbeatMustBeBelowElectionTimeout) {
    expect_error(with_replicas("data_dir = \"/d\"\nheartbeat_interval_ms = 150\n"),
                 "line 2: heartbeat_interval_ms (150) must be less than "
                 "election_timeout_min_ms (150)");
}

TEST(ConfigTest, ReplicaCountMustBeOddAndAtMostSeven) {
    expect_error("data_dir = \"/d\"\n", "no replicas");
    std::string two = "data_dir = \"/d\"\n";
    std::string eight = "data_dir = \"/d\"\n";
    for (int i = 1; i <= 8; ++i) {
        const std::string section =
                "[[replica]]\nid = " + std::to_string(i) +
                "\nhost = \"127.0.0.1\"\nraft_port = " + std::to_string(7000 + i) +
                "\nclient_port = " + std::to_string(8000 + i) + "\n";
        if (i <= 2) {
            two += section;
        }
        eight += section;
    }
    expect_error(two, "2 replicas: use 1, 3, 5 or 7");
    expect_error(eight, "8 replicas: use 1, 3, 5 or 7");
}

TEST(ConfigTest, DuplicateAddressIsRejected) {
    // Replica 2's client port collides with replica 1's raft port on the same host.
    expect_error(
            "data_dir = \"/d\"\n"
            "[[replica]]\nid = 1\nhost = \"127.0.0.1\"\nraft_port = 7001\nclient_port = 7101\n"
            "[[replica]]\nid = 2\nhost = \"127.0.0.1\"\nraft_port = 7002\nclient_port = 7001\n"
            "[[replica]]\nid = 3\nhost = \"127.0.0.1\"\nraft_port = 7003\nclient_port = 7103\n",
            "line 7: address 127.0.0.1:7001 of replica 2 client_port is already used by "
            "replica 1 raft_port");
    expect_error(
            "data_dir = \"/d\"\n"
            "[[replica]]\nid = 1\nhost = \"127.0.0.1\"\nraft_port = 7001\nclient_port = 7001\n",
            "address 127.0.0.1:7001 of replica 1 client_port is already used by replica 1 "
            "raft_port");
}

TEST(ConfigTest, UnknownTransportAndBackendAreRejected) {
    expect_error(with_replicas("data_dir = \"/d\"\ntransport = \"tcp\"\n"),
                 "line 2: unknown transport 'tcp' (supported: udp, af_packet, dpdk)");
    expect_error(with_replicas("data_dir = \"/d\"\nstorage_backend = \"aio\"\n"),
                 "line 2: unknown storage_backend 'aio' (supported: auto, io_uring, thread)");
}

TEST(ConfigTest, EthernetTransportsRoundTrip) {
    ClusterConfig c;
    c.data_dir = "/d/{id}";
    c.transport = "dpdk";
    c.framing = "udp_ipv4";
    c.ring_frames = 1024;
    c.af_packet_rx_version = 3;
    c.eal_args = {"--no-huge", "--no-pci", "--vdev=net_af_packet0,iface=rlp0"};
    for (uint32_t i = 1; i <= 3; ++i) {
        c.replicas.push_back(ReplicaAddress{NodeId(i), "10.0.0." + std::to_string(i), 7001, 7101});
        c.replicas.back().mac = "02:72:6c:00:00:0" + std::to_string(i);
        c.replicas.back().interface = "rlp" + std::to_string(i);
        c.replicas.back().dpdk_port = "net_af_packet" + std::to_string(i - 1);
    }
    c.replicas[1].eal_args = {"--no-huge", "--vdev=net_af_packet1,iface=rlp2"};
    Result<ClusterConfig> r = parse_config(format_config(c));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string() << "\n" << format_config(c);
    const ClusterConfig& d = r.value();
    EXPECT_EQ(d.transport, "dpdk");
    EXPECT_EQ(d.framing, "udp_ipv4");
    EXPECT_EQ(d.ring_frames, 1024u);
    EXPECT_EQ(d.af_packet_rx_version, 3);
    EXPECT_EQ(d.eal_args, c.eal_args);
    ASSERT_EQ(d.replicas.size(), 3u);
    EXPECT_EQ(d.replicas[2].mac, "02:72:6c:00:00:03");
    EXPECT_EQ(d.replicas[2].interface, "rlp3");
    EXPECT_EQ(d.replicas[2].dpdk_port, "net_af_packet2");
    EXPECT_EQ(d.replicas[1].eal_args, c.replicas[1].eal_args);
    EXPECT_TRUE(d.replicas[2].eal_args.empty());
    EXPECT_EQ(format_config(d), format_config(c));
}

TEST(ConfigTest, EthernetTransportsNeedMacsInterfacesAndEalArgs) {
    // kReplicas has no mac or interface.
    expect_error(with_replicas("data_dir = \"/d\"\ntransport = \"af_packet\"\n"),
                 "line 2: transport 'af_packet' needs 'mac' in every [[replica]] (replica 1");
    std::string macs = "data_dir = \"/d\"\ntransport = \"dpdk\"\n";
    for (int i = 1; i <= 3; i++) {
        macs += "[[replica]]\nid = " + std::to_string(i) +
                "\nhost = \"127.0.0.1\"\nraft_port = " + std::to_string(7000 + i) +
                "\nclient_port = " + std::to_string(7100 + i) + "\nmac = \"02:00:00:00:00:0" +
                std::to_string(i) + "\"\n";
    }
    expect_error(macs, "line 2: transport 'dpdk' needs eal_args");
    std::string af = macs;
    af.replace(af.find("\"dpdk\""), 6, "\"af_packet\"");
    expect_error(af, "needs 'interface' in every [[replica]]");
    std::string bad_mac = macs;
    bad_mac.replace(bad_mac.find("02:00:00:00:00:02"), 17, "02:00:00:00:00:zz");
    expect_error(bad_mac, "mac must look like 02:72:6c:00:00:01, got '02:00:00:00:00:zz'");
    expect_error(with_replicas("data_dir = \"/d\"\nframing = \"vlan\"\n"),
                 "line 2: unknown framing 'vlan' (supported: ethernet, udp_ipv4)");
    expect_error(with_replicas("data_dir = \"/d\"\neal_args = [1]\n"),
                 "eal_args must be an array of strings");
    expect_error(with_replicas("data_dir = \"/d\"\naf_packet_rx_version = 1\n"),
                 "af_packet_rx_version");
}

TEST(ConfigTest, SyntaxErrorHasALine) {
    expect_error(with_replicas("data_dir = \"/d\"\n[broken\n"), "line 2:");
}

TEST(ConfigTest, LoadConfigReportsMissingFileAndPrefixesPath) {
    Result<ClusterConfig> missing = load_config("/nonexistent/rlog-config-test.toml");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(missing.status().message().find("/nonexistent/rlog-config-test.toml"),
              std::string::npos);

    const std::string path = ::testing::TempDir() + "rlog_config_test.toml";
    {
        std::ofstream out(path);
        out << "data_dir = \"/d\"\nbogus = 1\n";
    }
    Result<ClusterConfig> bad = load_config(path);
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(bad.status().message(), path + ": line 2: unknown key 'bogus'");
    {
        std::ofstream out(path);
        out << with_replicas("data_dir = \"/d\"\n");
    }
    Result<ClusterConfig> good = load_config(path);
    ASSERT_TRUE(good.is_ok()) << good.status().to_string();
    EXPECT_EQ(good->replicas.size(), 3u);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace rlog::node
