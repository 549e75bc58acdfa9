// SPDX-License-Identifier: Apache-2.0
//
// Replicas wired end to end inside one process over UDP on 127.0.0.1 with durable storage in a
// temporary directory: a cluster elects a leader and sequences client messages gaplessly and
// identically on every replica; a replica restarted from its data directory recovers its log and
// rejoins; a leader restart keeps every acknowledged message; start-up refuses a configuration
// without the replica and a log damaged outside its torn tail. Assertions are on outcomes, never
// on timing (waits are bounded polls).

#include "node/replica.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/udp_socket.h"
#include "node/client.h"
#include "node/commands.h"
#include "node/logging.h"
#include "node/sequencer.h"

namespace rlog::node {
namespace {

using namespace std::chrono_literals;

std::vector<uint16_t> free_ports(size_t n) {
    std::vector<std::unique_ptr<dataplane::UdpSocket>> held;
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < n; i++) {
        auto s = dataplane::UdpSocket::open(dataplane::parse_ipv4("127.0.0.1", 0).value(), 2048, 1,
                                            0);
        EXPECT_TRUE(s.is_ok());
        ports.push_back(ntohs(s.value()->local_address().sin_port));
        held.push_back(std::move(s).value());
    }
    return ports;
}

class ReplicaTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/rlog-replica-test-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        std::vector<uint16_t> ports = free_ports(6);
        config_.cluster_id = 7;
        config_.data_dir = dir_ + "/node-{id}";
        config_.segment_size_bytes = 64 << 10;  // Several segments per test.
        for (uint32_t i = 0; i < 3; i++) {
            config_.replicas.push_back(
                    ReplicaAddress{NodeId{i + 1}, "127.0.0.1", ports[2 * i], ports[2 * i + 1]});
        }
        replicas_.resize(3);
    }

    void TearDown() override {
        replicas_.clear();
        std::filesystem::remove_all(dir_);
    }

    void start(uint32_t id) {
        ReplicaOptions o;
        o.cluster = config_;
        o.id = NodeId{id};
        o.seed = 100 + id;
        auto r = Replica::start(std::move(o));
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        replicas_[id - 1] = std::move(r).value();
    }

    std::optional<ReplicaStatus> leader() {
        for (auto& r : replicas_) {
            if (r && r->status().role == consensus::Role::kLeader) {
                return r->status();
            }
        }
        return std::nullopt;
    }

    bool wait_for_leader() {
        for (int i = 0; i < 1000; i++) {
            if (leader()) {
                return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    // Submits `count` messages (data: `fill` repeated, then the request's ordinal) and returns
    // every finished request by request number, acknowledged or failed.
    std::map<uint64_t, ClientAck> submit(Client& client, uint64_t count, uint8_t fill = 0) {
        std::map<uint64_t, ClientAck> acks;
        std::vector<ClientAck> done;
        uint64_t submitted = 0;
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (acks.size() < count && std::chrono::steady_clock::now() < deadline) {
            while (submitted < count && client.outstanding() < 32) {
                std::vector<uint8_t> payload(48, fill);
                payload[0] = static_cast<uint8_t>(submitted);
                EXPECT_TRUE(client.submit(payload, Client::now_ns()).is_ok());
                submitted++;
            }
            done.clear();
            client.poll(Client::now_ns(), &done);
            for (const ClientAck& a : done) {
                acks[a.request_no] = a;
            }
            client.wait(1000);
        }
        return acks;
    }

    std::unique_ptr<Client> make_client(uint64_t client_id = 0) {
        ClientOptions o;
        o.client_id = client_id;
        o.endpoints = client_endpoints(config_);
        o.cluster_id = config_.cluster_id;
        o.retry_timeout_us = 100'000;
        auto c = Client::open(o);
        EXPECT_TRUE(c.is_ok());
        return std::move(c).value();
    }

    bool wait_applied(uint64_t seq) {
        for (int i = 0; i < 1000; i++) {
            bool all = true;
            for (auto& r : replicas_) {
                all &= r && r->status().applied_seq >= seq;
            }
            if (all) {
                return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    std::vector<SequencedMessage> stream_of(const Replica& r) {
        std::vector<SequencedMessage> out;
        EXPECT_TRUE(r.sequencer().read(1, r.sequencer().last_seq() + 1, &out).is_ok());
        return out;
    }

    std::string dir_;
    ClusterConfig config_;
    std::vector<std::unique_ptr<Replica>> replicas_;
};

TEST_F(ReplicaTest, ClusterSequencesMessagesGaplesslyOnEveryReplica) {
    for (uint32_t id = 1; id <= 3; id++) {
        start(id);
    }
    ASSERT_TRUE(wait_for_leader());
    auto client = make_client();
    std::map<uint64_t, ClientAck> acks = submit(*client, 500);
    ASSERT_EQ(acks.size(), 500u);
    std::set<uint64_t> seqs;
    for (const auto& [request_no, a] : acks) {
        seqs.insert(a.seq);
    }
    ASSERT_EQ(seqs.size(), 500u);
    EXPECT_EQ(*seqs.begin(), 1u);
    EXPECT_EQ(*seqs.rbegin(), 500u);
    ASSERT_TRUE(wait_applied(500));
    for (auto& r : replicas_) {
        r->stop();
    }
    const std::vector<SequencedMessage> first = stream_of(*replicas_[0]);
    ASSERT_EQ(first.size(), 500u);
    for (auto& r : replicas_) {
        const std::vector<SequencedMessage> s = stream_of(*r);
        ASSERT_EQ(s.size(), first.size());
        for (size_t i = 0; i < s.size(); i++) {
            EXPECT_EQ(s[i].seq, i + 1);
            EXPECT_EQ(s[i].request_no, first[i].request_no);
            EXPECT_EQ(s[i].index, first[i].index);
            EXPECT_EQ(s[i].data, first[i].data);
        }
    }
    for (const auto& [request_no, a] : acks) {
        EXPECT_EQ(first[a.seq - 1].request_no, request_no);
        EXPECT_EQ(first[a.seq - 1].client_id, client->client_id());
    }
    const ReplicaCounters c = replicas_[0]->counters();
    EXPECT_GT(c.fsyncs, 0u);
}

TEST_F(ReplicaTest, RestartedLeaderKeepsEveryAcknowledgedMessage) {
    for (uint32_t id = 1; id <= 3; id++) {
        start(id);
    }
    ASSERT_TRUE(wait_for_leader());
    auto client = make_client();
    std::map<uint64_t, ClientAck> before = submit(*client, 200);
    ASSERT_EQ(before.size(), 200u);
    const uint32_t old_leader = leader()->id.value;
    replicas_[old_leader - 1].reset();  // Stops it; its data directory stays.
    std::map<uint64_t, ClientAck> during = submit(*client, 200);
    ASSERT_EQ(during.size(), 200u);
    start(old_leader);
    ASSERT_TRUE(wait_applied(400));
    for (auto& r : replicas_) {
        r->stop();
    }
    // The restarted replica replayed its own log and caught up: the same 400 messages, in the
    // same order, as the replicas that stayed up.
    const std::vector<SequencedMessage> restarted = stream_of(*replicas_[old_leader - 1]);
    const std::vector<SequencedMessage> other = stream_of(*replicas_[old_leader % 3]);
    ASSERT_EQ(restarted.size(), 400u);
    ASSERT_EQ(other.size(), 400u);
    for (size_t i = 0; i < restarted.size(); i++) {
        EXPECT_EQ(restarted[i].request_no, other[i].request_no);
        EXPECT_EQ(restarted[i].term, other[i].term);
    }
    std::set<uint64_t> requests;
    for (const SequencedMessage& m : restarted) {
        requests.insert(m.request_no);
    }
    EXPECT_EQ(requests.size(), 400u);  // No request sequenced twice despite the retries.
    for (const auto& [request_no, a] : before) {
        EXPECT_EQ(restarted[a.seq - 1].request_no, request_no);
    }
}

// A second client that reuses a client id restarts its request numbers at 1. Its requests must
// fail loudly (stale or conflict), never be acknowledged with the first client's numbers.
TEST_F(ReplicaTest, ReusedClientIdIsRefusedNotMisnumbered) {
    for (uint32_t id = 1; id <= 3; id++) {
        start(id);
    }
    ASSERT_TRUE(wait_for_leader());
    auto first = make_client(42);
    std::map<uint64_t, ClientAck> a = submit(*first, 100, 0xaa);
    ASSERT_EQ(a.size(), 100u);
    for (const auto& [request_no, ack] : a) {
        ASSERT_FALSE(ack.failed);
    }
    auto second = make_client(42);
    std::map<uint64_t, ClientAck> b = submit(*second, 50, 0xbb);
    ASSERT_EQ(b.size(), 50u);
    for (const auto& [request_no, ack] : b) {
        EXPECT_TRUE(ack.failed) << "request " << request_no << " got seq " << ack.seq;
        EXPECT_TRUE(ack.reject_code == RejectCode::kStale ||
                    ack.reject_code == RejectCode::kConflict)
                << reject_code_name(ack.reject_code);
    }
    ASSERT_TRUE(wait_applied(100));
    for (auto& r : replicas_) {
        r->stop();
        EXPECT_EQ(r->sequencer().last_seq(), 100u);
    }
}

// A second process (here: a second Replica) on a data directory in use must not touch it.
TEST_F(ReplicaTest, StartRefusesDataDirectoryInUse) {
    start(1);
    ReplicaOptions o;
    o.cluster = config_;
    o.id = NodeId{1};
    auto second = Replica::start(std::move(o));
    ASSERT_FALSE(second.is_ok());
    EXPECT_EQ(second.status().code(), ErrorCode::kBusy) << second.status().to_string();
    replicas_[0].reset();  // Releases the lock: the same replica starts again.
    start(1);
}

TEST_F(ReplicaTest, StartRefusesReplicaMissingFromConfiguration) {
    ReplicaOptions o;
    o.cluster = config_;
    o.id = NodeId{9};
    auto r = Replica::start(std::move(o));
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ReplicaTest, StartRefusesLogCorruptedBeforeItsTail) {
    start(1);
    start(2);
    start(3);
    ASSERT_TRUE(wait_for_leader());
    auto client = make_client();
    ASSERT_EQ(submit(*client, 100).size(), 100u);
    ASSERT_TRUE(wait_applied(100));
    replicas_.clear();
    replicas_.resize(3);
    // Flip one byte inside the first record's payload area of replica 2's first segment.
    std::string segment;
    for (const auto& e : std::filesystem::directory_iterator(config_.data_dir_for(NodeId{2}))) {
        const std::string name = e.path().filename().string();
        if (name.rfind("log-", 0) == 0 && (segment.empty() || e.path().string() < segment)) {
            segment = e.path().string();
        }
    }
    ASSERT_FALSE(segment.empty());
    int fd = ::open(segment.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    uint8_t byte = 0;
    ASSERT_EQ(::pread(fd, &byte, 1, 100), 1);
    byte ^= 0x40;
    ASSERT_EQ(::pwrite(fd, &byte, 1, 100), 1);
    ::close(fd);
    ReplicaOptions o;
    o.cluster = config_;
    o.id = NodeId{2};
    auto r = Replica::start(std::move(o));
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kCorruption) << r.status().to_string();
}

}  // namespace
}  // namespace rlog::node
