// SPDX-License-Identifier: Apache-2.0

#include "tests/sim/sim_cluster.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace rlog::sim {

using consensus::Entry;
using consensus::HardState;
using consensus::Message;
using consensus::Output;
using consensus::Raft;
using consensus::Role;

namespace {

constexpr uint64_t kTickUs = 2'000;
constexpr uint64_t kClientUs = 3'000;
constexpr uint64_t kElectionMinUs = 20'000;
constexpr uint64_t kElectionMaxUs = 40'000;
constexpr uint64_t kHeartbeatUs = 5'000;

uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::string fmt(
        const char* format, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), format, a, b, c, d);
    return buf;
}

}  // namespace

// One replica: the Raft object (absent while crashed) and its simulated storage.
struct SimCluster::Replica {
    NodeId id;
    std::unique_ptr<Raft> raft;
    uint64_t incarnation = 0;
    // Storage. `written` holds everything handed to the log, `synced` how much of it survives a
    // crash for certain. Hard state is written synchronously.
    HardState hard{};
    std::vector<Entry> written;
    size_t synced = 0;
    uint64_t last_sync_at_us = 0;
    // Highest commit index seen in this incarnation (monotonic check).
    LogIndex commit_seen;
    // Next index this incarnation must emit in Output.committed.
    LogIndex next_emit{1};
    uint64_t restart_at_us = 0;
};

struct SimCluster::Event {
    enum Kind : uint8_t { kTick, kDeliver, kSync, kClient, kChaos, kRestart };
    uint64_t at_us = 0;
    uint64_t seq = 0;
    Kind kind = kTick;
    size_t replica = 0;
    uint64_t incarnation = 0;
    LogIndex index;
    Term term;
    std::shared_ptr<Message> msg;
};

bool SimCluster::EventLater::operator()(const Event& a, const Event& b) const {
    if (a.at_us != b.at_us) {
        return a.at_us > b.at_us;
    }
    return a.seq > b.seq;
}

SimCluster::SimCluster(SimConfig config) : cfg_(config), rng_state_(mix(config.seed)) {
    queue_ = new std::priority_queue<Event, std::vector<Event>, EventLater>();
    group_.assign(cfg_.replicas, 0);
    // RLOG_SIM_TRACE=<us>: print every delivered message from that simulated time on.
    if (const char* t = std::getenv("RLOG_SIM_TRACE")) {
        trace_from_us_ = std::strtoull(t, nullptr, 10);
    }
    for (size_t r = 0; r < cfg_.replicas; ++r) {
        auto rep = std::make_unique<Replica>();
        rep->id = NodeId{static_cast<uint32_t>(r + 1)};
        replicas_.push_back(std::move(rep));
    }
}

SimCluster::~SimCluster() {
    delete queue_;
}

uint64_t SimCluster::rand() {
    rng_state_ = mix(rng_state_);
    return rng_state_;
}

uint64_t SimCluster::rand_range(uint64_t lo, uint64_t hi) {
    return hi <= lo ? lo : lo + rand() % (hi - lo);
}

bool SimCluster::chance(double p) {
    return static_cast<double>(rand() % 1'000'000) < p * 1'000'000.0;
}

void SimCluster::schedule(uint64_t at, Event e) {
    e.at_us = at;
    e.seq = seq_++;
    queue_->push(std::move(e));
}

void SimCluster::fail(const std::string& why) {
    if (failure_.empty()) {
        failure_ = fmt("t=%" PRIu64 "us: ", now_us_) + why;
    }
}

void SimCluster::start_replica(size_t r) {
    Replica& rep = *replicas_[r];
    consensus::Options o;
    o.id = rep.id;
    for (const auto& other : replicas_) {
        o.voters.push_back(other->id);
    }
    o.election_timeout_min_us = kElectionMinUs;
    o.election_timeout_max_us = kElectionMaxUs;
    o.heartbeat_interval_us = kHeartbeatUs;
    o.append_entries_max = 4 + rand() % 29;
    o.append_bytes_max = 256 + rand() % 1024;
    o.inflight_appends_max = 1 + rand() % 4;
    o.uncommitted_entries_max = 512;
    o.seed = mix(cfg_.seed * 131 + r * 7919 + rep.incarnation * 104729);
    ++rep.incarnation;
    std::vector<Entry> log(rep.written.begin(),
                           rep.written.begin() + static_cast<std::ptrdiff_t>(rep.synced));
    rep.written = log;
    rep.raft = std::make_unique<Raft>(std::move(o), rep.hard, std::move(log));
    rep.commit_seen = LogIndex{};
    rep.next_emit = LogIndex{1};
    rep.raft->tick(now_us_);
    Event tick;
    tick.kind = Event::kTick;
    tick.replica = r;
    tick.incarnation = rep.incarnation;
    schedule(now_us_ + rand_range(1, kTickUs), tick);
}

void SimCluster::crash_replica(size_t r) {
    Replica& rep = *replicas_[r];
    rep.raft.reset();
    // Unsynced entries are lost, except a random prefix of them that reached the disk before
    // the crash (a torn last write keeps only part of the last batch).
    size_t unsynced = rep.written.size() - rep.synced;
    size_t kept = unsynced == 0 ? 0 : rand() % (unsynced + 1);
    rep.synced += kept;
    rep.written.resize(rep.synced);
}

void SimCluster::check_appended(size_t r, const Entry& e, Term prev_term) {
    auto key = std::make_pair(e.index.value, e.term.value);
    auto it = seen_.find(key);
    if (it == seen_.end()) {
        seen_.emplace(key, SeenEntry{e.type, e.payload, prev_term});
        return;
    }
    if (it->second.payload != e.payload || it->second.type != e.type ||
        it->second.prev_term != prev_term) {
        fail(fmt("log matching violated: replica %" PRIu64 " index %" PRIu64 " term %" PRIu64
                 " differs from another replica's",
                 r + 1, e.index.value, e.term.value));
    }
}

void SimCluster::check_committed(size_t r, const Entry& e) {
    Replica& rep = *replicas_[r];
    if (e.index != rep.next_emit) {
        fail(fmt("replica %" PRIu64 " emitted committed index %" PRIu64 ", expected %" PRIu64,
                 r + 1, e.index.value, rep.next_emit.value));
        return;
    }
    ++rep.next_emit;
    if (e.index.value <= committed_.size()) {
        if (!(committed_[e.index.value - 1] == e)) {
            fail(fmt("replica %" PRIu64 " committed a different entry at index %" PRIu64
                     " (term %" PRIu64 " vs %" PRIu64 ")",
                     r + 1, e.index.value, e.term.value, committed_[e.index.value - 1].term.value));
        }
        return;
    }
    committed_.push_back(e);
}

void SimCluster::drain(size_t r) {
    Replica& rep = *replicas_[r];
    if (!rep.raft || !rep.raft->has_output()) {
        return;
    }
    Output out = rep.raft->take_output();
    // 1. Hard state, synchronously, before any message leaves.
    if (out.hard_state) {
        if (out.hard_state->term < rep.hard.term) {
            fail(fmt("replica %" PRIu64 " term went back", r + 1));
        }
        if (out.hard_state->term == rep.hard.term && rep.hard.vote != kNoNode &&
            out.hard_state->vote != rep.hard.vote) {
            fail(fmt("replica %" PRIu64 " voted twice in term %" PRIu64, r + 1,
                     rep.hard.term.value));
        }
        rep.hard = *out.hard_state;
    }
    // 2. Log writes.
    if (out.truncate_from != LogIndex{}) {
        size_t from = out.truncate_from.value;
        if (from == 0 || from > rep.written.size() + 1) {
            fail(fmt("replica %" PRIu64 " truncates at %" PRIu64 " beyond its log", r + 1, from));
        }
        // A committed entry must never be truncated.
        for (size_t i = from; i <= std::min(rep.written.size(), committed_.size()); ++i) {
            if (rep.written[i - 1] == committed_[i - 1]) {
                fail(fmt("replica %" PRIu64 " truncated committed index %" PRIu64, r + 1, i));
            }
        }
        rep.written.resize(std::min(rep.written.size(), from - 1));
        rep.synced = std::min(rep.synced, rep.written.size());
    }
    if (!out.entries.empty()) {
        if (out.entries.front().index.value != rep.written.size() + 1) {
            fail(fmt("replica %" PRIu64 " appends at %" PRIu64 " after %" PRIu64, r + 1,
                     out.entries.front().index.value, rep.written.size()));
        }
        for (Entry& e : out.entries) {
            Term prev = rep.written.empty() ? Term{} : rep.written.back().term;
            check_appended(r, e, prev);
            rep.written.push_back(std::move(e));
        }
        const Entry& last = rep.written.back();
        if (cfg_.buggy_storage_acks_before_sync) {
            // The deliberate bug: report durable now, sync never (a crash loses it all).
            rep.raft->persisted(last.index, last.term);
        } else {
            // Syncs complete in order (one group commit after another).
            Event sync;
            sync.kind = Event::kSync;
            sync.replica = r;
            sync.incarnation = rep.incarnation;
            sync.index = last.index;
            sync.term = last.term;
            rep.last_sync_at_us = std::max(
                    rep.last_sync_at_us,
                    now_us_ + (chance(0.1) ? rand_range(2'000, 20'000) : rand_range(50, 2'000)));
            schedule(rep.last_sync_at_us, sync);
        }
    }
    // 3. Messages.
    for (Message& m : out.messages) {
        // raft.h: a follower acknowledges only entries its storage has made durable.
        if (m.type == consensus::MessageType::kAppendResponse && m.success &&
            !cfg_.buggy_storage_acks_before_sync && m.match_index.value > rep.synced) {
            fail(fmt("replica %" PRIu64 " acknowledged index %" PRIu64 " with %" PRIu64 " durable",
                     r + 1, m.match_index.value, rep.synced));
        }
        deliver(std::move(m));
    }
    // 4. Committed entries.
    for (const Entry& e : out.committed) {
        check_committed(r, e);
    }
    if (rep.raft->has_output()) {
        drain(r);  // persisted() above may have produced more (buggy storage only).
    }
}

void SimCluster::deliver(Message m) {
    size_t from = m.from.value - 1;
    size_t to = m.to.value - 1;
    if (to >= replicas_.size()) {
        fail("message to an unknown replica");
        return;
    }
    bool lossy = !healed_;
    if (lossy && (group_[from] != group_[to] || chance(cfg_.loss))) {
        return;
    }
    int copies = lossy && chance(cfg_.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
        Event e;
        e.kind = Event::kDeliver;
        e.replica = to;
        e.msg = std::make_shared<Message>(m);
        schedule(now_us_ + rand_range(cfg_.net_delay_min_us, cfg_.net_delay_max_us + 1), e);
    }
}

void SimCluster::client_propose() {
    for (size_t r = 0; r < replicas_.size(); ++r) {
        Replica& rep = *replicas_[r];
        if (!rep.raft || rep.raft->role() != Role::kLeader) {
            continue;
        }
        // A closed-loop client: a bounded number of outstanding commands, so that a slow
        // configuration (one entry per request, one request in flight) is not buried.
        if (rep.raft->last_index() - rep.raft->commit_index() >= 32) {
            continue;
        }
        std::vector<std::vector<uint8_t>> batch(1 + rand() % 3);
        for (auto& p : batch) {
            uint64_t v = next_payload_++;
            p.assign(8 + rand() % 24, 0);
            for (size_t k = 0; k < 8; ++k) {
                p[k] = static_cast<uint8_t>(v >> (8 * k));
            }
        }
        Result<LogIndex> res = rep.raft->propose(batch);
        if (res.is_ok() && healed_ && heal_commit_target_ == 0) {
            heal_commit_target_ = res.value().value;
        }
        drain(r);
    }
}

void SimCluster::chaos() {
    // One fault decision per chaos event: partition, heal partition, crash, or nothing.
    uint64_t what = rand() % 10;
    if (what < 3 && cfg_.partitions) {
        // Split into two random groups (one side may hold a majority, or neither in effect).
        for (size_t r = 0; r < replicas_.size(); ++r) {
            group_[r] = static_cast<int>(rand() % (replicas_.size() > 3 ? 3 : 2));
        }
    } else if (what < 6) {
        std::fill(group_.begin(), group_.end(), 0);
    } else if (what < 8 && cfg_.crashes) {
        // Half the crashes hit the leader: the interesting windows (unsynced leader writes,
        // old-term entries half replicated) are around it.
        size_t r = rand() % replicas_.size();
        for (size_t k = 0; k < replicas_.size() && chance(0.5); ++k) {
            if (replicas_[k]->raft && replicas_[k]->raft->role() == Role::kLeader) {
                r = k;
            }
        }
        Replica& rep = *replicas_[r];
        if (rep.raft) {
            crash_replica(r);
            Event e;
            e.kind = Event::kRestart;
            e.replica = r;
            schedule(now_us_ + rand_range(1'000, 80'000), e);
        }
    }
    if (now_us_ < cfg_.chaos_us) {
        Event e;
        e.kind = Event::kChaos;
        schedule(now_us_ + rand_range(10'000, 80'000), e);
    }
}

void SimCluster::check_all() {
    for (size_t r = 0; r < replicas_.size(); ++r) {
        Replica& rep = *replicas_[r];
        if (!rep.raft) {
            continue;
        }
        Status s = rep.raft->check_invariants();
        if (!s.is_ok()) {
            fail(fmt("replica %" PRIu64 ": ", r + 1) + s.to_string());
            return;
        }
        LogIndex c = rep.raft->commit_index();
        if (c < rep.commit_seen) {
            fail(fmt("replica %" PRIu64 " commit index went back", r + 1));
        }
        rep.commit_seen = c;
        if (rep.raft->role() == Role::kLeader) {
            uint64_t t = rep.raft->term().value;
            auto it = leaders_.find(t);
            if (it == leaders_.end()) {
                leaders_.emplace(t, rep.id);
                // Leader completeness (Raft §5.4): a new leader holds every committed entry.
                if (rep.raft->last_index().value < committed_.size()) {
                    fail(fmt("leader %" PRIu64 " of term %" PRIu64 " lacks committed entries",
                             r + 1, t));
                    return;
                }
                for (size_t i = 1; i <= committed_.size(); ++i) {
                    if (!(rep.raft->entry_at(LogIndex{i}) == committed_[i - 1])) {
                        fail(fmt("leader %" PRIu64 " of term %" PRIu64
                                 " has a different entry at committed index %" PRIu64,
                                 r + 1, t, i));
                        return;
                    }
                }
            } else if (it->second != rep.id) {
                fail(fmt("two leaders in term %" PRIu64 ": %" PRIu64 " and %" PRIu64, t,
                         it->second.value, rep.id.value));
                return;
            }
        }
    }
}

bool SimCluster::healed_and_progressing() const {
    if (heal_commit_target_ == 0) {
        return false;
    }
    for (const auto& rep : replicas_) {
        if (!rep->raft || rep->raft->commit_index().value < heal_commit_target_) {
            return false;
        }
    }
    return true;
}

bool SimCluster::run() {
    for (size_t r = 0; r < replicas_.size(); ++r) {
        start_replica(r);
    }
    Event c;
    c.kind = Event::kClient;
    schedule(kClientUs, c);
    Event ch;
    ch.kind = Event::kChaos;
    schedule(rand_range(10'000, 100'000), ch);
    uint64_t deadline = cfg_.chaos_us + cfg_.heal_deadline_us;

    while (!queue_->empty() && failure_.empty()) {
        Event e = queue_->top();
        queue_->pop();
        now_us_ = e.at_us;
        ++events_;
        if (!healed_ && now_us_ >= cfg_.chaos_us) {
            // Heal every fault: reconnect everyone, restart crashed replicas.
            healed_ = true;
            std::fill(group_.begin(), group_.end(), 0);
            for (size_t r = 0; r < replicas_.size(); ++r) {
                if (!replicas_[r]->raft) {
                    start_replica(r);
                }
            }
        }
        if (healed_ && healed_and_progressing()) {
            return true;
        }
        if (now_us_ > deadline) {
            std::string state;
            for (const auto& rep : replicas_) {
                if (rep->raft) {
                    state += fmt(" [id=%" PRIu64 " term=%" PRIu64 " commit=%" PRIu64
                                 " last=%" PRIu64 "]",
                                 rep->id.value, rep->raft->term().value,
                                 rep->raft->commit_index().value, rep->raft->last_index().value);
                    state += std::string(" role=") + consensus::role_name(rep->raft->role());
                }
            }
            fail(fmt("no leader committed a new entry within %" PRIu64
                     "us after the heal (target %" PRIu64 "):",
                     cfg_.heal_deadline_us, heal_commit_target_) +
                 state);
            break;
        }
        switch (e.kind) {
            case Event::kTick: {
                Replica& rep = *replicas_[e.replica];
                if (!rep.raft || rep.incarnation != e.incarnation) {
                    break;
                }
                rep.raft->tick(now_us_);
                drain(e.replica);
                e.msg.reset();
                schedule(now_us_ + kTickUs, e);
                break;
            }
            case Event::kDeliver: {
                Replica& rep = *replicas_[e.replica];
                if (!rep.raft) {
                    break;
                }
                if (!healed_ && group_[e.msg->from.value - 1] != group_[e.replica]) {
                    break;  // Partitioned while in flight.
                }
                if (now_us_ >= trace_from_us_) {
                    const Message& m = *e.msg;
                    std::fprintf(stderr,
                                 "%llu %u->%u %s t=%llu prev=%llu/%llu n=%zu ok=%d match=%llu "
                                 "conf=%llu/%llu lc=%llu\n",
                                 (unsigned long long)now_us_, m.from.value, m.to.value,
                                 std::string(consensus::message_type_name(m.type)).c_str(),
                                 (unsigned long long)m.term.value,
                                 (unsigned long long)m.prev_log_index.value,
                                 (unsigned long long)m.prev_log_term.value, m.entries.size(),
                                 (int)m.success, (unsigned long long)m.match_index.value,
                                 (unsigned long long)m.conflict_index.value,
                                 (unsigned long long)m.conflict_term.value,
                                 (unsigned long long)m.leader_commit.value);
                }
                rep.raft->step(std::move(*e.msg));
                drain(e.replica);
                break;
            }
            case Event::kSync: {
                Replica& rep = *replicas_[e.replica];
                if (!rep.raft || rep.incarnation != e.incarnation) {
                    break;
                }
                // The sync covers what was written up to e.index, unless truncated since.
                if (e.index.value <= rep.written.size() &&
                    rep.written[e.index.value - 1].term == e.term) {
                    rep.synced = std::max<size_t>(rep.synced, e.index.value);
                }
                rep.raft->persisted(e.index, e.term);
                drain(e.replica);
                break;
            }
            case Event::kClient:
                client_propose();
                schedule(now_us_ + kClientUs, e);
                break;
            case Event::kChaos:
                if (!healed_) {
                    chaos();
                }
                break;
            case Event::kRestart:
                if (!replicas_[e.replica]->raft) {
                    start_replica(e.replica);
                }
                break;
        }
        check_all();
    }
    return failure_.empty();
}

}  // namespace rlog::sim
