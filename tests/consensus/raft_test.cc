// SPDX-License-Identifier: Apache-2.0
//
// Unit tests of the Raft core, one protocol rule per test, each citing the paper (Ongaro and
// Ousterhout, "In Search of an Understandable Consensus Algorithm") or the thesis (Ongaro,
// "Consensus: Bridging Theory and Practice"). Single replicas are driven by hand-made messages;
// the multi-replica tests use `TestCluster`, a synchronous in-memory network with instant
// storage and a cut set to isolate replicas. Randomized coverage lives in tests/sim/.

#include "consensus/raft.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::consensus {
namespace {

constexpr uint64_t kMs = 1'000;

Options options(uint32_t id, size_t n, uint64_t seed = 0) {
    Options o;
    o.id = NodeId{id};
    for (uint32_t i = 1; i <= n; ++i) {
        o.voters.push_back(NodeId{i});
    }
    o.election_timeout_min_us = 150 * kMs;
    o.election_timeout_max_us = 300 * kMs;
    o.heartbeat_interval_us = 30 * kMs;
    o.seed = seed == 0 ? id * 1000 + 7 : seed;
    return o;
}

std::vector<Entry> log_of_terms(std::vector<uint64_t> terms) {
    std::vector<Entry> log;
    for (size_t i = 0; i < terms.size(); ++i) {
        Entry e;
        e.term = Term{terms[i]};
        e.index = LogIndex{i + 1};
        e.payload = {static_cast<uint8_t>(i)};
        log.push_back(e);
    }
    return log;
}

Message msg(MessageType type, uint32_t from, uint32_t to, uint64_t term) {
    Message m;
    m.type = type;
    m.from = NodeId{from};
    m.to = NodeId{to};
    m.term = Term{term};
    return m;
}

Message append(uint32_t from,
               uint32_t to,
               uint64_t term,
               uint64_t prev,
               uint64_t prev_term,
               std::vector<Entry> entries,
               uint64_t commit = 0) {
    Message m = msg(MessageType::kAppendRequest, from, to, term);
    m.prev_log_index = LogIndex{prev};
    m.prev_log_term = Term{prev_term};
    m.entries = std::move(entries);
    m.leader_commit = LogIndex{commit};
    return m;
}

std::vector<Entry> entries(uint64_t first, std::vector<uint64_t> terms) {
    std::vector<Entry> out;
    for (size_t i = 0; i < terms.size(); ++i) {
        Entry e;
        e.term = Term{terms[i]};
        e.index = LogIndex{first + i};
        e.payload = {static_cast<uint8_t>(first + i - 1)};
        out.push_back(e);
    }
    return out;
}

// The first message of `type` to `to` in `out` (a copy: `out` is often a temporary).
std::optional<Message> find(const Output& out, MessageType type, uint32_t to) {
    for (const Message& m : out.messages) {
        if (m.type == type && m.to == NodeId{to}) {
            return m;
        }
    }
    return std::nullopt;
}

// Makes replica 1 of a cluster of `n` the leader of its next term by ticking past its election
// timeout and feeding it granted pre-votes and votes from replica 2 (and 3 for n = 5).
void elect(Raft& r, uint64_t& now, size_t n) {
    r.tick(now);  // The first tick only starts the clock.
    now += 400 * kMs;
    r.tick(now);
    Output o = r.take_output();
    ASSERT_EQ(r.role(), Role::kPreCandidate);
    for (uint32_t v = 2; v <= n / 2 + 1; ++v) {
        Message g = msg(MessageType::kPreVoteResponse, v, 1, r.term().value + 1);
        g.granted = true;
        r.step(g);
    }
    ASSERT_EQ(r.role(), Role::kCandidate);
    for (uint32_t v = 2; v <= n / 2 + 1; ++v) {
        Message g = msg(MessageType::kVoteResponse, v, 1, r.term().value);
        g.granted = true;
        r.step(g);
    }
    ASSERT_EQ(r.role(), Role::kLeader);
}

// A synchronous cluster: storage is instant (every output's entries are reported persisted at
// once), messages are delivered in FIFO order, and replicas in `cut` neither send nor receive.
class TestCluster {
  public:
    explicit TestCluster(size_t n, uint64_t seed_base = 0) {
        for (uint32_t i = 1; i <= n; ++i) {
            nodes.push_back(
                    std::make_unique<Raft>(options(i, n, seed_base == 0 ? 0 : seed_base + i),
                                           HardState{}, std::vector<Entry>{}));
        }
    }

    Raft& node(uint32_t id) { return *nodes[id - 1]; }

    void drain_all() {
        bool more = true;
        while (more) {
            more = false;
            for (auto& n : nodes) {
                if (!n->has_output()) {
                    continue;
                }
                more = true;
                Output o = n->take_output();
                trace += std::to_string(n->id().value) + ":" + std::to_string(o.messages.size()) +
                         "/" + std::to_string(o.entries.size()) + "/" +
                         std::to_string(o.committed.size()) + " ";
                if (!o.entries.empty()) {
                    n->persisted(o.entries.back().index, o.entries.back().term);
                }
                for (Message& m : o.messages) {
                    trace += std::to_string(static_cast<int>(m.type)) + ">" +
                             std::to_string(m.to.value) + "@" + std::to_string(m.term.value) + "," +
                             std::to_string(m.prev_log_index.value) + " ";
                    if (connected(m.from.value, m.to.value)) {
                        node(m.to.value).step(std::move(m));
                    }
                }
            }
        }
    }

    // Advances the clock in 1 ms ticks up to `until_us`, delivering everything after each tick.
    void run_until(uint64_t until_us) {
        while (now < until_us) {
            now += kMs;
            for (auto& n : nodes) {
                n->tick(now);
            }
            drain_all();
            for (auto& n : nodes) {
                Status s = n->check_invariants();
                ASSERT_TRUE(s.is_ok()) << s.to_string();
            }
        }
    }

    // Replicas in `cut` are isolated; replicas in `minority` only reach each other.
    bool connected(uint32_t a, uint32_t b) const {
        if (cut.count(a) != 0 || cut.count(b) != 0) {
            return false;
        }
        return minority.count(a) == minority.count(b);
    }

    Raft* leader() {
        Raft* found = nullptr;
        for (auto& n : nodes) {
            if (n->role() == Role::kLeader && cut.count(n->id().value) == 0) {
                found = n.get();
            }
        }
        return found;
    }

    std::vector<std::unique_ptr<Raft>> nodes;
    std::set<uint32_t> cut;
    std::set<uint32_t> minority;
    uint64_t now = 0;
    std::string trace;
};

// Raft §5.4.1 (election restriction): a voter denies its vote to a candidate whose log is less
// up to date than its own (lower last term, or same last term and shorter).
TEST(RaftTest, VoterRejectsCandidateWithStaleLog) {
    Raft r(options(1, 3), HardState{Term{2}, kNoNode}, log_of_terms({1, 2, 2}));
    Message req = msg(MessageType::kVoteRequest, 2, 1, 3);
    req.last_log_index = LogIndex{5};
    req.last_log_term = Term{1};  // Longer, but an older last term.
    r.step(req);
    Output o = r.take_output();
    std::optional<Message> resp = find(o, MessageType::kVoteResponse, 2);
    ASSERT_TRUE(resp.has_value());
    EXPECT_FALSE(resp->granted);
    EXPECT_EQ(r.hard_state().vote, kNoNode);

    Message req2 = msg(MessageType::kVoteRequest, 3, 1, 3);
    req2.last_log_index = LogIndex{2};
    req2.last_log_term = Term{2};  // Same last term, shorter.
    r.step(req2);
    resp = find(r.take_output(), MessageType::kVoteResponse, 3);
    ASSERT_TRUE(resp.has_value());
    EXPECT_FALSE(resp->granted);

    Message req3 = msg(MessageType::kVoteRequest, 3, 1, 3);
    req3.last_log_index = LogIndex{3};
    req3.last_log_term = Term{2};  // As up to date: granted.
    r.step(req3);
    o = r.take_output();
    resp = find(o, MessageType::kVoteResponse, 3);
    ASSERT_TRUE(resp.has_value());
    EXPECT_TRUE(resp->granted);
    // Figure 2: the vote is in the same output as the reply, to be persisted before it leaves.
    ASSERT_TRUE(o.hard_state.has_value());
    EXPECT_EQ(o.hard_state->vote, NodeId{3});
    EXPECT_EQ(o.hard_state->term, Term{3});
}

// Raft Figure 2 ("votedFor ... persistent"): a replica rebuilt from its hard state after a
// restart must not vote for a second candidate in the same term.
TEST(RaftTest, VotePersistsAcrossRestart) {
    HardState saved;
    {
        Raft r(options(1, 3), HardState{}, {});
        Message req = msg(MessageType::kVoteRequest, 2, 1, 5);
        r.step(req);
        Output o = r.take_output();
        ASSERT_TRUE(o.hard_state.has_value());
        ASSERT_TRUE(find(o, MessageType::kVoteResponse, 2)->granted);
        saved = *o.hard_state;
    }
    Raft restarted(options(1, 3), saved, {});
    Message req = msg(MessageType::kVoteRequest, 3, 1, 5);
    restarted.step(req);
    Output o = restarted.take_output();
    std::optional<Message> resp = find(o, MessageType::kVoteResponse, 3);
    ASSERT_TRUE(resp.has_value());
    EXPECT_FALSE(resp->granted);
    EXPECT_EQ(restarted.hard_state().vote, NodeId{2});
    // The original candidate may ask again (a retransmission) and is granted again.
    restarted.step(msg(MessageType::kVoteRequest, 2, 1, 5));
    EXPECT_TRUE(find(restarted.take_output(), MessageType::kVoteResponse, 2)->granted);
}

// Thesis §9.6 (pre-vote) and §4.2.3: a replica partitioned away keeps timing out, but its
// pre-votes do not bump its term, and when it rejoins it does not depose the healthy leader.
TEST(RaftTest, PreVoteKeepsRejoiningReplicaFromDisturbingLeader) {
    TestCluster c(3);
    c.run_until(1'000 * kMs);
    Raft* leader = c.leader();
    ASSERT_NE(leader, nullptr);
    Term term = leader->term();
    uint32_t leader_id = leader->id().value;
    uint32_t victim = leader_id == 3 ? 2 : 3;
    c.cut.insert(victim);
    c.run_until(3'000 * kMs);
    EXPECT_EQ(c.node(victim).term(), term);  // Pre-votes only: no term inflation.
    EXPECT_GT(c.node(victim).stats().pre_votes_started, 0u);
    EXPECT_EQ(c.node(victim).stats().elections_started, 0u);
    c.cut.clear();
    c.run_until(5'000 * kMs);
    ASSERT_EQ(c.leader(), leader);
    EXPECT_EQ(leader->term(), term);
    EXPECT_EQ(c.node(victim).leader(), NodeId{leader_id});
}

// Thesis §6.2 (check-quorum): a leader cut off from the majority steps down within an election
// timeout, so the minority side does not keep a second "leader" (split brain) while the majority
// elects a new one.
TEST(RaftTest, CheckQuorumStepsDownIsolatedLeader) {
    TestCluster c(5);
    c.run_until(1'000 * kMs);
    Raft* old_leader = c.leader();
    ASSERT_NE(old_leader, nullptr);
    c.cut.insert(old_leader->id().value);
    c.run_until(c.now + 400 * kMs);
    EXPECT_NE(old_leader->role(), Role::kLeader);
    EXPECT_EQ(old_leader->stats().leader_step_downs, 1u);
    Raft* new_leader = c.leader();
    ASSERT_NE(new_leader, nullptr);
    EXPECT_GT(new_leader->term(), old_leader->term());
}

// Thesis §6.2, split brain: a 5-replica cluster splits into {leader, one follower} and the other
// three. The old leader still hears from one follower, which is not a majority of the five
// voters, so it steps down; the three elect a new leader; after the heal there is one leader.
TEST(RaftTest, CheckQuorumResolvesSplitBrain) {
    TestCluster c(5);
    c.run_until(1'000 * kMs);
    Raft* old_leader = c.leader();
    ASSERT_NE(old_leader, nullptr);
    uint32_t l = old_leader->id().value;
    uint32_t buddy = l == 1 ? 2 : 1;
    c.minority = {l, buddy};
    c.run_until(c.now + 400 * kMs);
    EXPECT_NE(old_leader->role(), Role::kLeader);
    EXPECT_NE(c.node(buddy).role(), Role::kLeader);
    size_t leaders = 0;
    for (auto& n : c.nodes) {
        leaders += n->role() == Role::kLeader ? 1 : 0;
    }
    EXPECT_EQ(leaders, 1u);
    Raft* new_leader = c.leader();
    ASSERT_NE(new_leader, nullptr);
    EXPECT_EQ(c.minority.count(new_leader->id().value), 0u);
    c.minority.clear();
    c.run_until(c.now + 1'000 * kMs);
    EXPECT_EQ(old_leader->leader(), new_leader->id());
    EXPECT_EQ(new_leader->role(), Role::kLeader);
}

// Thesis §4.2.3: a follower that heard from its leader within the minimum election timeout
// ignores a vote request (and its higher term) from a disruptive candidate.
TEST(RaftTest, FollowerInLeaderLeaseIgnoresVoteRequests) {
    Raft r(options(1, 3), HardState{}, {});
    r.tick(10 * kMs);
    r.step(append(2, 1, 1, 0, 0, {}));
    r.take_output();
    Message req = msg(MessageType::kVoteRequest, 3, 1, 2);
    r.step(req);
    EXPECT_EQ(r.term(), Term{1});
    EXPECT_FALSE(r.has_output());
    EXPECT_EQ(r.stats().messages_dropped, 1u);
    // Once the lease has run out, the same request is considered (and granted).
    r.tick(10 * kMs + 150 * kMs);
    r.step(req);
    EXPECT_EQ(r.term(), Term{2});
    Output o = r.take_output();
    std::optional<Message> resp = find(o, MessageType::kVoteResponse, 3);
    ASSERT_TRUE(resp.has_value());
    EXPECT_TRUE(resp->granted);
}

// Raft §5.4.2, Figure 8: an entry from an earlier term that is stored on a majority is not
// committed by counting replicas; it commits only once an entry of the current term does.
TEST(RaftTest, OldTermEntryCommitsOnlyWithCurrentTermEntry) {
    uint64_t now = 0;
    Raft r(options(1, 3), HardState{Term{3}, kNoNode}, log_of_terms({1, 2}));
    elect(r, now, 3);
    ASSERT_EQ(r.term(), Term{4});
    r.take_output();
    ASSERT_EQ(r.last_index(), LogIndex{3});  // The no-op of term 4.
    r.persisted(LogIndex{3}, Term{4});
    Message ack = msg(MessageType::kAppendResponse, 2, 1, 4);
    ack.success = true;
    ack.match_index = LogIndex{2};  // The term-2 entry is now on a majority (1 and 2).
    r.step(ack);
    EXPECT_EQ(r.commit_index(), LogIndex{0});
    EXPECT_TRUE(r.take_output().committed.empty());
    ack.match_index = LogIndex{3};
    r.step(ack);
    EXPECT_EQ(r.commit_index(), LogIndex{3});
    Output o = r.take_output();
    ASSERT_EQ(o.committed.size(), 3u);
    EXPECT_EQ(o.committed.front().index, LogIndex{1});
    EXPECT_EQ(o.committed.back().type, EntryType::kNoop);
}

// Raft §5.3: "If an existing entry conflicts with a new one ... delete the existing entry and
// all that follow it" — only on a conflict. A stale or duplicate request whose entries already
// match must not truncate the entries that follow them.
TEST(RaftTest, StaleAppendDoesNotTruncateMatchingEntries) {
    Raft r(options(1, 3), HardState{}, {});
    r.step(append(2, 1, 1, 0, 0, entries(1, {1, 1, 1, 1, 1})));
    r.take_output();
    ASSERT_EQ(r.last_index(), LogIndex{5});
    r.step(append(2, 1, 1, 0, 0, entries(1, {1, 1, 1})));  // Delayed duplicate of a prefix.
    Output o = r.take_output();
    EXPECT_EQ(o.truncate_from, LogIndex{});
    EXPECT_TRUE(o.entries.empty());
    EXPECT_EQ(r.last_index(), LogIndex{5});
    std::optional<Message> resp = find(o, MessageType::kAppendResponse, 2);
    ASSERT_TRUE(resp.has_value());
    EXPECT_TRUE(resp->success);
    // A real conflict does truncate, exactly from the first conflicting index.
    r.step(append(3, 1, 2, 2, 1, entries(3, {2})));
    o = r.take_output();
    EXPECT_EQ(o.truncate_from, LogIndex{3});
    ASSERT_EQ(o.entries.size(), 1u);
    EXPECT_EQ(r.last_index(), LogIndex{3});
    EXPECT_EQ(r.term_at(LogIndex{3}), Term{2});
}

// Raft §5.3 (the optimization at the end of the section): a reject carries a conflict hint so
// the leader skips a whole conflicting term per round trip instead of one entry.
TEST(RaftTest, ConflictHintBacksUpAWholeTerm) {
    // Follower side: a log [1 1 2 2 2] asked to match (6, term 4) hints at its last entry of a
    // term <= 4, i.e. (5, 2).
    Raft f(options(2, 3), HardState{Term{3}, kNoNode}, log_of_terms({1, 1, 2, 2, 2}));
    f.step(append(1, 2, 4, 6, 4, {}));
    std::optional<Message> rej = find(f.take_output(), MessageType::kAppendResponse, 1);
    ASSERT_TRUE(rej.has_value());
    EXPECT_FALSE(rej->success);
    EXPECT_EQ(rej->conflict_index, LogIndex{5});
    EXPECT_EQ(rej->conflict_term, Term{2});

    // Leader side: log [1 1 3 3 3] + no-op of term 4. Told (5, 2), it skips its whole term-3
    // run and probes at prev = 2 in one step.
    uint64_t now = 0;
    Raft l(options(1, 3), HardState{Term{3}, kNoNode}, log_of_terms({1, 1, 3, 3, 3}));
    elect(l, now, 3);
    l.take_output();
    Message hint = msg(MessageType::kAppendResponse, 2, 1, l.term().value);
    hint.success = false;
    hint.conflict_index = LogIndex{5};
    hint.conflict_term = Term{2};
    l.step(hint);
    std::optional<Message> probe = find(l.take_output(), MessageType::kAppendRequest, 2);
    ASSERT_TRUE(probe.has_value());
    EXPECT_EQ(probe->prev_log_index, LogIndex{2});
    EXPECT_EQ(probe->prev_log_term, Term{1});
    EXPECT_EQ(l.stats().append_rejects_received, 1u);
}

// Raft Figure 2 and raft.h: a follower acknowledges entries only once they are durable; the
// acknowledgement for entries made durable later is sent from persisted().
TEST(RaftTest, FollowerAcksOnlyAfterPersisted) {
    Raft r(options(1, 3), HardState{}, {});
    r.step(append(2, 1, 1, 0, 0, entries(1, {1, 1, 1})));
    Output o = r.take_output();
    ASSERT_EQ(o.entries.size(), 3u);
    std::optional<Message> resp = find(o, MessageType::kAppendResponse, 2);
    ASSERT_TRUE(resp.has_value());
    EXPECT_TRUE(resp->success);
    EXPECT_EQ(resp->match_index, LogIndex{0});
    r.persisted(LogIndex{2}, Term{1});
    o = r.take_output();
    resp = find(o, MessageType::kAppendResponse, 2);
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->match_index, LogIndex{2});
    // A report for an entry that no longer has that term is ignored.
    r.persisted(LogIndex{3}, Term{7});
    EXPECT_FALSE(r.has_output());
    EXPECT_EQ(r.durable_index(), LogIndex{2});
}

// Raft §5.4.2 with a parallel leader write (thesis §10.2.1): the leader counts itself toward a
// majority only up to its own durable index.
TEST(RaftTest, LeaderCountsItselfOnlyUpToItsDurableIndex) {
    uint64_t now = 0;
    Raft r(options(1, 3), HardState{}, {});
    elect(r, now, 3);
    r.take_output();
    Message ack = msg(MessageType::kAppendResponse, 2, 1, r.term().value);
    ack.success = true;
    ack.match_index = LogIndex{1};
    r.step(ack);
    EXPECT_EQ(r.commit_index(), LogIndex{0});  // Only one durable copy: replica 2's.
    r.persisted(LogIndex{1}, r.term());
    EXPECT_EQ(r.commit_index(), LogIndex{1});
    EXPECT_EQ(r.take_output().committed.size(), 1u);
}

// raft.h: a truncation inside entries not yet drained only trims them; a truncation below them
// replaces them and is reported as truncate_from.
TEST(RaftTest, OutputMergesTruncationIntoPendingEntries) {
    Raft r(options(1, 3), HardState{}, {});
    r.step(append(2, 1, 1, 0, 0, entries(1, {1, 1, 1})));
    r.step(append(3, 1, 2, 1, 1, entries(2, {2})));
    Output o = r.take_output();
    EXPECT_EQ(o.truncate_from, LogIndex{});
    ASSERT_EQ(o.entries.size(), 2u);
    EXPECT_EQ(o.entries[0].term, Term{1});
    EXPECT_EQ(o.entries[1].term, Term{2});
    EXPECT_EQ(o.entries[1].index, LogIndex{2});

    // Stored log is now [1 2]; new entries [3 3] pending; a term-4 leader cuts at 2.
    r.step(append(3, 1, 3, 2, 2, entries(3, {3, 3})));
    r.step(append(2, 1, 4, 1, 1, entries(2, {4})));
    o = r.take_output();
    EXPECT_EQ(o.truncate_from, LogIndex{2});
    ASSERT_EQ(o.entries.size(), 1u);
    EXPECT_EQ(o.entries[0].index, LogIndex{2});
    EXPECT_EQ(o.entries[0].term, Term{4});
    EXPECT_TRUE(r.check_invariants().is_ok());
}

// Proposals: refused with kNotLeader on a follower and kBusy past uncommitted_entries_max.
TEST(RaftTest, ProposeRefusesWhenNotLeaderOrBusy) {
    Raft f(options(1, 3), HardState{}, {});
    std::vector<std::vector<uint8_t>> one(1, std::vector<uint8_t>{1});
    EXPECT_EQ(f.propose(one).status().code(), ErrorCode::kNotLeader);
    Options o = options(1, 3);
    o.uncommitted_entries_max = 4;
    Raft l(o, HardState{}, {});
    uint64_t now = 0;
    elect(l, now, 3);
    std::vector<std::vector<uint8_t>> three(3, std::vector<uint8_t>{1});
    Result<LogIndex> first = l.propose(three);
    ASSERT_TRUE(first.is_ok());
    EXPECT_EQ(first.value(), LogIndex{2});
    EXPECT_EQ(l.propose(one).status().code(), ErrorCode::kBusy);
    EXPECT_EQ(l.stats().proposals_refused, 1u);
}

// A stepping cluster replicates and commits proposals on every replica, each entry once.
TEST(RaftTest, ClusterCommitsProposalsEverywhere) {
    TestCluster c(3);
    c.run_until(1'000 * kMs);
    Raft* leader = c.leader();
    ASSERT_NE(leader, nullptr);
    std::vector<std::vector<uint8_t>> batch(10, std::vector<uint8_t>(64, 7));
    ASSERT_TRUE(leader->propose(batch).is_ok());
    c.run_until(c.now + 100 * kMs);
    for (auto& n : c.nodes) {
        EXPECT_EQ(n->commit_index(), leader->last_index());
    }
}

// raft.h, "the same sequence of calls gives the same outputs": two clusters with the same seeds
// produce identical histories; a different seed gives a different one.
TEST(RaftTest, SameSeedGivesSameOutputs) {
    TestCluster a(3, 100);
    TestCluster b(3, 100);
    TestCluster c(3, 200);
    a.run_until(2'000 * kMs);
    b.run_until(2'000 * kMs);
    c.run_until(2'000 * kMs);
    EXPECT_EQ(a.trace, b.trace);
    EXPECT_NE(a.trace, c.trace);
}

// Raft §5.2: a replica (re)starts as a follower and campaigns only after hearing nothing for a
// whole election timeout. Its first tick starts its clock: a caller whose monotonic clock reads
// hours at start-up must not see it campaign at once.
TEST(RaftTest, FirstTickStartsTheClockWithoutCampaigning) {
    Raft r(options(1, 3), HardState{}, {});
    const uint64_t start = 5'000'000 * kMs;  // An arbitrary monotonic clock reading.
    r.tick(start);
    EXPECT_EQ(r.role(), Role::kFollower);
    EXPECT_FALSE(r.has_output());
    r.tick(start + 149 * kMs);  // Below the minimum election timeout of options().
    EXPECT_EQ(r.role(), Role::kFollower);
    r.tick(start + 400 * kMs);  // Beyond the maximum.
    EXPECT_EQ(r.role(), Role::kPreCandidate);
}

// Role changes are logged once each, as key=value lines starting with node and term.
TEST(RaftTest, LogsRoleChangesOnce) {
    std::vector<std::string> lines;
    Options o = options(1, 1);
    o.log = [&](LogLevel, std::string_view line) { lines.emplace_back(line); };
    Raft r(o, HardState{}, {});
    r.tick(0);
    r.tick(400 * kMs);
    ASSERT_EQ(r.role(), Role::kLeader);  // A single voter elects itself.
    r.tick(500 * kMs);
    int leader_lines = 0;
    for (const std::string& l : lines) {
        EXPECT_EQ(l.rfind("node=1 term=", 0), 0u) << l;
        leader_lines += l.find("role=leader") != std::string::npos ? 1 : 0;
    }
    EXPECT_EQ(leader_lines, 1);
}

}  // namespace
}  // namespace rlog::consensus
