// SPDX-License-Identifier: Apache-2.0
//
// Tests for `Client` against tiny fake servers made of UdpSockets on loopback. The submit test is
// single-threaded and drives the client's clock by hand: server A is a follower that answers every
// submit with a Redirect to server B; B drops some datagrams and acks the rest, giving each
// request_no one sequence number the first time it sees it. The test checks that redirects are
// followed, that every resend keeps its request_no, that ack_below never passes an unacknowledged
// request, and that each request finishes exactly once. A second test serves read() from a thread.

#include "node/client.h"

#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "dataplane/frame.h"
#include "dataplane/udp_socket.h"

namespace rlog::node {
namespace {

constexpr uint32_t kCluster = 9;
constexpr size_t kMtu = 1500;

std::unique_ptr<dataplane::UdpSocket> open_server() {
    auto addr = dataplane::parse_ipv4("127.0.0.1", 0);
    EXPECT_TRUE(addr.is_ok());
    auto s = dataplane::UdpSocket::open(addr.value(), 65536, 64, 1 << 20);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return std::move(s.value());
}

void reply(dataplane::UdpSocket* socket, const sockaddr_in& to, ResponseBuilder* b) {
    std::vector<uint8_t> frame(kMtu);
    const size_t n = write_client_frame(dataplane::FrameKind::kClientResponse, kCluster, NodeId(1),
                                        1, b->payload(), frame);
    const dataplane::UdpTx tx{to, std::span<const uint8_t>(frame.data(), n)};
    ASSERT_EQ(socket->send_burst(std::span(&tx, 1)), 1u);
    b->reset();
}

// Calls `handle(from, request)` for every well-formed request datagram waiting on `socket`.
template <class Handle>
size_t serve(dataplane::UdpSocket* socket, Handle&& handle) {
    dataplane::UdpRx rx[64];
    size_t handled = 0;
    const size_t n = socket->poll_burst(rx);
    for (size_t i = 0; i < n; ++i) {
        dataplane::FrameHeader h;
        std::span<const uint8_t> payload;
        EXPECT_EQ(dataplane::decode_frame(std::span(rx[i].data, rx[i].length), &h, &payload),
                  dataplane::FrameError::kNone);
        EXPECT_EQ(h.kind, dataplane::FrameKind::kClientRequest);
        EXPECT_EQ(h.cluster_id, kCluster);
        EXPECT_EQ(h.receiver, kNoNode);
        ParsedRequest req;
        EXPECT_EQ(parse_request(payload, &req), ProtocolError::kNone);
        handle(rx[i].from, req);
        ++handled;
    }
    return handled;
}

TEST(ClientTest, RetriesKeepRequestNumbersAndRedirectsAreFollowed) {
    auto follower = open_server();
    auto leader = open_server();
    const std::string follower_ep = dataplane::format_ipv4(follower->local_address());
    const std::string leader_ep = dataplane::format_ipv4(leader->local_address());

    ClientOptions o;
    o.endpoints = {follower_ep};
    o.cluster_id = kCluster;
    o.seed = 42;
    o.outstanding_max = 8;
    o.retry_timeout_us = 1000;
    o.mtu_bytes = kMtu;
    auto opened = Client::open(o);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    Client& client = *opened.value();
    EXPECT_NE(client.client_id(), 0u);

    constexpr uint64_t kMessages = 40;
    uint64_t submitted = 0;
    uint64_t now = 1'000'000;
    std::vector<ClientAck> done;
    std::map<uint64_t, uint64_t> seq_of;  // Leader's sequence numbers, one per request_no.
    std::map<uint64_t, int> times_seen;   // How often the leader received each request_no.
    std::map<uint64_t, uint64_t> ack_below_max;
    uint64_t leader_datagrams = 0;
    uint64_t redirects_sent = 0;
    bool ack_below_ok = true;

    ResponseBuilder rb(client_payload_max(kMtu));
    for (int step = 0; step < 2000 && done.size() < kMessages; ++step) {
        while (submitted < kMessages) {
            const std::vector<uint8_t> data(10, static_cast<uint8_t>(submitted));
            Result<uint64_t> r = client.submit(data, now);
            if (!r.is_ok()) {
                ASSERT_EQ(r.status().code(), ErrorCode::kBusy);
                break;
            }
            ASSERT_EQ(r.value(), submitted + 1);
            ++submitted;
        }
        client.poll(now, &done);
        serve(follower.get(), [&](const sockaddr_in& from, const ParsedRequest& req) {
            for (const SubmitOp& s : req.submits) {
                ASSERT_TRUE(rb.add_redirect(
                        RedirectReply{s.client_id, s.request_no, NodeId(2), leader_ep}));
                ++redirects_sent;
            }
            reply(follower.get(), from, &rb);
        });
        serve(leader.get(), [&](const sockaddr_in& from, const ParsedRequest& req) {
            ++leader_datagrams;
            if (leader_datagrams % 3 == 1) {
                return;  // Lost on the way in.
            }
            for (const SubmitOp& s : req.submits) {
                EXPECT_EQ(s.client_id, client.client_id());
                EXPECT_EQ(s.data.size(), 10u);
                EXPECT_EQ(s.data[0], static_cast<uint8_t>(s.request_no - 1));
                ack_below_ok = ack_below_ok && s.ack_below <= s.request_no;
                times_seen[s.request_no] += 1;
                if (seq_of.count(s.request_no) == 0) {
                    const uint64_t seq = seq_of.size() + 1;
                    seq_of[s.request_no] = seq;
                }
                // Drop every other first answer too, so some acks are lost on the way back.
                if (times_seen[s.request_no] == 1 && s.request_no % 2 == 0) {
                    continue;
                }
                ASSERT_TRUE(rb.add_ack(AckReply{s.client_id, s.request_no, seq_of[s.request_no],
                                                Term(1), LogIndex(seq_of[s.request_no])}));
            }
            if (!rb.empty()) {
                reply(leader.get(), from, &rb);
            }
        });
        now += 400'000;  // 0.4 ms of client time per step: a retry every few steps.
    }

    ASSERT_EQ(done.size(), kMessages);
    std::set<uint64_t> finished;
    std::set<uint64_t> seqs;
    uint64_t with_retries = 0;
    for (const ClientAck& a : done) {
        EXPECT_FALSE(a.failed);
        EXPECT_TRUE(finished.insert(a.request_no).second) << "finished twice: " << a.request_no;
        EXPECT_EQ(a.seq, seq_of.at(a.request_no));
        EXPECT_TRUE(seqs.insert(a.seq).second);
        EXPECT_GE(a.acked_ns, a.intended_ns);
        with_retries += a.retries > 0 ? 1 : 0;
    }
    EXPECT_EQ(*finished.begin(), 1u);
    EXPECT_EQ(*finished.rbegin(), kMessages);
    // Resends reused request numbers: only 1..kMessages ever reached the leader, some twice.
    EXPECT_EQ(seq_of.size(), kMessages);
    EXPECT_EQ(seq_of.rbegin()->first, kMessages);
    uint64_t seen_again = 0;
    for (const auto& [request_no, n] : times_seen) {
        seen_again += n > 1 ? 1 : 0;
    }
    EXPECT_GT(seen_again, 0u);
    EXPECT_GT(with_retries, 0u);
    EXPECT_TRUE(ack_below_ok);
    EXPECT_GT(redirects_sent, 0u);
    EXPECT_GT(client.counters().redirects, 0u);
    EXPECT_GT(client.counters().retries, 0u);
    EXPECT_EQ(client.counters().acks, kMessages);
    EXPECT_EQ(client.outstanding(), 0u);
    EXPECT_EQ(client.counters().garbled, 0u);
}

TEST(ClientTest, SubmitRefusesWhenFullOrTooLarge) {
    auto server = open_server();
    ClientOptions o;
    o.endpoints = {dataplane::format_ipv4(server->local_address())};
    o.outstanding_max = 2;
    o.mtu_bytes = kMtu;
    auto opened = Client::open(o);
    ASSERT_TRUE(opened.is_ok());
    Client& client = *opened.value();
    const std::vector<uint8_t> big(submit_data_max(kMtu) + 1, 0);
    EXPECT_EQ(client.submit(big, 0).status().code(), ErrorCode::kInvalidArgument);
    const std::vector<uint8_t> fits(submit_data_max(kMtu), 0);
    EXPECT_TRUE(client.submit(fits, 0).is_ok());
    EXPECT_TRUE(client.submit(fits, 0).is_ok());
    EXPECT_EQ(client.submit(fits, 0).status().code(), ErrorCode::kBusy);

    ClientOptions bad = o;
    bad.endpoints = {"not-an-address"};
    EXPECT_EQ(Client::open(bad).status().code(), ErrorCode::kInvalidArgument);
    bad.endpoints.clear();
    EXPECT_EQ(Client::open(bad).status().code(), ErrorCode::kInvalidArgument);
}

// One unanswered request holds the session window: the client stops submitting newer ones once
// they would be window_max ahead of it, so the sequencer never has to forget a request that may
// still be retried (the cause of "expired" answers for live requests).
TEST(ClientTest, SubmitWaitsWhenTheOldestRequestHoldsTheWindow) {
    auto server = open_server();
    ClientOptions o;
    o.endpoints = {dataplane::format_ipv4(server->local_address())};
    o.outstanding_max = 1000;
    o.window_max = 8;
    auto opened = Client::open(o);
    ASSERT_TRUE(opened.is_ok());
    Client& client = *opened.value();
    const std::vector<uint8_t> data(4, 1);
    for (int i = 0; i < 8; i++) {
        ASSERT_TRUE(client.submit(data, 0).is_ok()) << i;
    }
    EXPECT_EQ(client.submit(data, 0).status().code(), ErrorCode::kBusy);
    EXPECT_EQ(client.outstanding(), 8u);
}

TEST(ClientTest, RejectsThatCannotBeFixedFinishTheRequest) {
    auto server = open_server();
    ClientOptions o;
    o.endpoints = {dataplane::format_ipv4(server->local_address())};
    o.cluster_id = kCluster;
    o.mtu_bytes = kMtu;
    auto opened = Client::open(o);
    ASSERT_TRUE(opened.is_ok());
    Client& client = *opened.value();
    const std::vector<uint8_t> data(4, 1);
    ASSERT_TRUE(client.submit(data, 5).is_ok());
    std::vector<ClientAck> done;
    client.poll(10, &done);
    ResponseBuilder rb(client_payload_max(kMtu));
    ASSERT_EQ(serve(server.get(),
                    [&](const sockaddr_in& from, const ParsedRequest& req) {
                        ASSERT_EQ(req.submits.size(), 1u);
                        ASSERT_TRUE(rb.add_reject(RejectReply{req.submits[0].client_id,
                                                              req.submits[0].request_no,
                                                              RejectCode::kExpired}));
                        reply(server.get(), from, &rb);
                    }),
              1u);
    client.poll(20, &done);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].failed);
    EXPECT_EQ(done[0].reject_code, RejectCode::kExpired);
    EXPECT_EQ(done[0].seq, 0u);
    EXPECT_EQ(client.outstanding(), 0u);
}

TEST(ClientTest, TimeoutRotatesToTheNextEndpoint) {
    auto silent = open_server();  // Receives but never answers, like a crashed replica.
    auto alive = open_server();
    ClientOptions o;
    o.endpoints = {dataplane::format_ipv4(silent->local_address()),
                   dataplane::format_ipv4(alive->local_address())};
    o.cluster_id = kCluster;
    o.mtu_bytes = kMtu;
    o.retry_timeout_us = 1000;
    auto opened = Client::open(o);
    ASSERT_TRUE(opened.is_ok());
    Client& client = *opened.value();
    const std::vector<uint8_t> data(4, 1);
    ASSERT_TRUE(client.submit(data, 0).is_ok());
    std::vector<ClientAck> done;
    ResponseBuilder rb(client_payload_max(kMtu));
    std::set<uint64_t> request_nos;
    uint64_t now = 1'000'000;
    for (int step = 0; step < 10 && done.empty(); ++step) {
        client.poll(now, &done);
        serve(alive.get(), [&](const sockaddr_in& from, const ParsedRequest& req) {
            for (const SubmitOp& s : req.submits) {
                request_nos.insert(s.request_no);
                ASSERT_TRUE(
                        rb.add_ack(AckReply{s.client_id, s.request_no, 1, Term(1), LogIndex(1)}));
            }
            reply(alive.get(), from, &rb);
        });
        now += 600'000;
    }
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].request_no, 1u);
    EXPECT_EQ(done[0].seq, 1u);
    EXPECT_EQ(done[0].retries, 1u);
    EXPECT_EQ(request_nos, std::set<uint64_t>{1});
    EXPECT_EQ(client.target(), dataplane::format_ipv4(alive->local_address()));
    EXPECT_EQ(client.counters().target_changes, 1u);
    // The silent replica got the first send.
    EXPECT_EQ(serve(silent.get(), [](const sockaddr_in&, const ParsedRequest&) {}), 1u);
}

TEST(ClientTest, ReadReturnsTheServedRange) {
    auto server = open_server();
    ClientOptions o;
    o.endpoints = {dataplane::format_ipv4(server->local_address())};
    o.cluster_id = kCluster;
    o.mtu_bytes = kMtu;
    o.retry_timeout_us = 50'000;
    auto opened = Client::open(o);
    ASSERT_TRUE(opened.is_ok());
    Client& client = *opened.value();
    std::atomic<bool> stop{false};
    uint64_t reads_seen = 0;
    std::thread t([&] {
        ResponseBuilder rb(client_payload_max(kMtu));
        while (!stop.load()) {
            server->wait_readable(10'000);
            serve(server.get(), [&](const sockaddr_in& from, const ParsedRequest& req) {
                for (const ReadOp& r : req.reads) {
                    ++reads_seen;
                    if (reads_seen == 1) {
                        continue;  // Drop the first read: the client must resend it.
                    }
                    const std::vector<uint8_t> d = {7, 7, 7};
                    std::vector<ReadEntry> entries;
                    for (uint64_t s = r.from_seq; s < r.from_seq + r.max_count; ++s) {
                        entries.push_back(ReadEntry{s, 5, s, Term(2), LogIndex(s + 10), d});
                    }
                    EXPECT_EQ(rb.add_read_result(r.client_id, r.read_id, 1000, entries),
                              static_cast<long>(r.max_count));
                }
                if (!rb.empty()) {
                    reply(server.get(), from, &rb);
                }
            });
        }
    });
    Result<ReadResult> r = client.read(100, 5, 10'000'000);
    stop.store(true);
    t.join();
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->last_committed_seq, 1000u);
    ASSERT_EQ(r->messages.size(), 5u);
    EXPECT_EQ(r->messages[0].seq, 100u);
    EXPECT_EQ(r->messages[4].seq, 104u);
    EXPECT_EQ(r->messages[4].index, LogIndex(114));
    EXPECT_EQ(r->messages[0].data, (std::vector<uint8_t>{7, 7, 7}));
    EXPECT_GE(reads_seen, 2u);
}

}  // namespace
}  // namespace rlog::node
