// SPDX-License-Identifier: Apache-2.0
//
// Implementation of the Raft core declared in consensus/raft.h. The structure follows the
// header's contract: every input (`tick`, `step`, `propose`, `persisted`) mutates the state held
// in `Raft::Impl` and appends its effects to one pending `Output`, which `take_output()` hands
// to the caller. Control flow stays in the `step` dispatch; helpers compute values or append to
// the output.

#include "consensus/raft.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>

namespace rlog::consensus {

const char* role_name(Role role) {
    switch (role) {
        case Role::kFollower:
            return "follower";
        case Role::kPreCandidate:
            return "pre_candidate";
        case Role::kCandidate:
            return "candidate";
        case Role::kLeader:
            return "leader";
    }
    return "?";
}

namespace {

// splitmix64: a tiny, well-mixed deterministic generator. Election jitter needs no more, and
// owning the generator keeps runs bit-for-bit reproducible across standard libraries.
class SplitMix64 {
  public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

  private:
    uint64_t state_;
};

// How the leader drives one follower (the etcd-raft progress states).
enum class ProgressState : uint8_t {
    // After election or a reject: one request at a time until the follower's match is known.
    kProbe,
    // Steady state: next_index advances optimistically, up to `inflight_appends_max` requests.
    kReplicate,
};

struct Progress {
    NodeId id;
    // Invariant: match < next. `match` is the highest index the follower acknowledged durable.
    LogIndex match;
    LogIndex next;
    ProgressState state = ProgressState::kProbe;
    // kProbe: a probe is outstanding; cleared by any reply and by each heartbeat.
    bool probe_sent = false;
    // kReplicate: last index of each request in flight, oldest first.
    // Invariant: size() <= inflight_appends_max.
    std::deque<LogIndex> inflight;
    // Last time (us) a message of the current term arrived from this follower (check-quorum).
    uint64_t last_heard_us = 0;
    // Last time `match` advanced or the follower entered kReplicate; detects lost requests.
    uint64_t last_progress_us = 0;
};

}  // namespace

struct Raft::Impl {
    Options opt;
    size_t quorum = 0;

    // Persistent state (Raft Figure 2).
    Term term;
    NodeId vote;
    // In-memory log; the entry with index i sits at log[i - 1].
    // Invariant: log[i].index == i + 1, terms non-decreasing, last term <= term.
    std::vector<Entry> log;

    Role role = Role::kFollower;
    NodeId leader;
    // Invariant: commit <= last_index(); never decreases over the object's life.
    LogIndex commit;
    // Highest index emitted in Output.committed. Invariant: == commit after every call.
    LogIndex emitted;
    // Highest index reported durable by persisted(). Invariant: durable <= last_index().
    LogIndex durable;

    // Follower: highest index known to match the current leader's log (Raft §5.3); reset when
    // the term changes. Invariant: verified <= last_index().
    LogIndex verified;
    // Follower: highest match_index already acknowledged to the current leader.
    LogIndex acked;

    // Clock and timers.
    uint64_t now_us = 0;
    // False until the first tick: timers set before it count from time 0, not from the
    // caller's clock, and must be re-armed from the first real time.
    bool clock_started = false;
    uint64_t election_deadline_us = 0;
    uint64_t heartbeat_due_us = 0;
    // Last time a valid AppendRequest of the current leader arrived (the leader lease, thesis
    // §4.2.3: such a replica ignores vote requests for election_timeout_min_us).
    uint64_t last_heard_leader_us = 0;
    bool heard_leader = false;

    // Candidate and pre-candidate: voters that granted this round.
    std::vector<NodeId> granted;
    // Leader: one entry per voter other than self.
    std::vector<Progress> peers;

    SplitMix64 rng;
    Output out;
    bool hard_dirty = false;
    Stats stats;

    // check_invariants() bookkeeping (mutable: the checker is const).
    mutable LogIndex checked_commit;
    mutable LogIndex checked_prefix;  // Log positions 1..checked_prefix already verified.
    mutable Term checked_prefix_term;

    Impl(Options o, HardState hs, std::vector<Entry> l)
            : opt(std::move(o)),
              term(hs.term),
              vote(hs.vote),
              log(std::move(l)),
              rng(opt.seed ^ 0x5157a11e5eedULL) {}

    // --- Log helpers -------------------------------------------------------------------------

    LogIndex last_index() const { return LogIndex{log.size()}; }
    Term last_term() const { return log.empty() ? Term{} : log.back().term; }
    Term term_at(LogIndex i) const {
        RLOG_ASSERT(i <= last_index());
        return i.value == 0 ? Term{} : log[i.value - 1].term;
    }
    const Entry& at(LogIndex i) const {
        RLOG_ASSERT(i.value >= 1);
        RLOG_ASSERT(i <= last_index());
        return log[i.value - 1];
    }

    // Raft §5.4.1: is a log ending at (index, term) at least as up to date as ours?
    bool up_to_date(LogIndex index, Term t) const {
        return t > last_term() || (t == last_term() && index >= last_index());
    }

    // --- Logging (rare lifecycle events only) ------------------------------------------------

    void log_line(const char* event) {
        if (!opt.log) {
            return;
        }
        char buf[256];
        std::snprintf(buf, sizeof(buf),
                      "node=%" PRIu32 " term=%" PRIu64 " role=%s event=%s leader=%" PRIu32
                      " last=%" PRIu64 " commit=%" PRIu64,
                      opt.id.value, term.value, role_name(role), event, leader.value,
                      last_index().value, commit.value);
        opt.log(LogLevel::kInfo, buf);
    }

    // --- Output helpers ----------------------------------------------------------------------

    void set_hard_state(Term t, NodeId v) {
        if (t == term && v == vote) {
            return;
        }
        RLOG_ASSERT(t >= term);
        term = t;
        vote = v;
        hard_dirty = true;
    }

    void send(Message m) {
        m.from = opt.id;
        out.messages.push_back(std::move(m));
    }

    // Drops log entries with index >= from and records the truncation in the pending output.
    void truncate_log(LogIndex from) {
        // Committed entries are never removed (Raft §5.4, Leader Completeness).
        RLOG_ASSERT(from > commit);
        RLOG_ASSERT(from.value >= 1);
        RLOG_ASSERT(from <= last_index());
        RLOG_ASSERT(role != Role::kLeader);
        log.resize(from.value - 1);
        durable = std::min(durable, from - 1);
        verified = std::min(verified, from - 1);
        if (checked_prefix >= from) {
            checked_prefix = from - 1;
            checked_prefix_term = term_at(checked_prefix);
        }
        // Merge with the not-yet-drained output: a cut inside the pending entries only trims
        // them, since storage never saw them; a cut below them replaces them.
        if (!out.entries.empty() && from >= out.entries.front().index) {
            out.entries.resize(from - out.entries.front().index);
            return;
        }
        out.entries.clear();
        if (out.truncate_from == LogIndex{} || from < out.truncate_from) {
            out.truncate_from = from;
        }
    }

    // Appends an entry to the log and the pending output. Requires: e.index == last + 1.
    void append_entry(Entry e) {
        RLOG_ASSERT(e.index == last_index() + 1);
        RLOG_ASSERT(e.term >= last_term());
        RLOG_ASSERT(e.term <= term);
        out.entries.push_back(e);
        log.push_back(std::move(e));
    }

    void emit_committed() {
        while (emitted < commit) {
            ++emitted;
            out.committed.push_back(at(emitted));
        }
    }

    void set_commit(LogIndex c) {
        if (c <= commit) {
            return;
        }
        RLOG_ASSERT(c <= last_index());
        commit = c;
        emit_committed();
    }

    // --- Timers ------------------------------------------------------------------------------

    void reset_election_timer() {
        uint64_t span = opt.election_timeout_max_us - opt.election_timeout_min_us;
        uint64_t jitter = span == 0 ? 0 : rng.next() % span;
        election_deadline_us = now_us + opt.election_timeout_min_us + jitter;
    }

    bool in_leader_lease() const {
        if (role == Role::kLeader) {
            return true;
        }
        return heard_leader && leader != kNoNode &&
               now_us - last_heard_leader_us < opt.election_timeout_min_us;
    }

    // --- Role transitions --------------------------------------------------------------------

    void become_follower(Term t, NodeId new_leader) {
        bool changed = role != Role::kFollower || t != term || new_leader != leader;
        if (role == Role::kLeader) {
            ++stats.leader_step_downs;
        }
        if (t > term) {
            set_hard_state(t, kNoNode);
            verified = LogIndex{};
            acked = LogIndex{};
            heard_leader = false;
        }
        if (new_leader != leader) {
            verified = LogIndex{};
            acked = LogIndex{};
        }
        role = Role::kFollower;
        leader = new_leader;
        peers.clear();
        granted.clear();
        reset_election_timer();
        if (changed) {
            log_line("become_follower");
        }
    }

    void become_pre_candidate() {
        role = Role::kPreCandidate;
        leader = kNoNode;
        heard_leader = false;
        granted.clear();
        granted.push_back(opt.id);
        ++stats.pre_votes_started;
        reset_election_timer();
        log_line("pre_vote_start");
        if (granted.size() >= quorum) {
            become_candidate();
            return;
        }
        for (NodeId v : opt.voters) {
            if (v == opt.id) {
                continue;
            }
            Message m;
            m.type = MessageType::kPreVoteRequest;
            m.to = v;
            m.term = term + 1;
            m.last_log_index = last_index();
            m.last_log_term = last_term();
            send(std::move(m));
        }
    }

    void become_candidate() {
        role = Role::kCandidate;
        leader = kNoNode;
        heard_leader = false;
        verified = LogIndex{};
        acked = LogIndex{};
        set_hard_state(term + 1, opt.id);
        granted.clear();
        granted.push_back(opt.id);
        ++stats.elections_started;
        reset_election_timer();
        log_line("election_start");
        if (granted.size() >= quorum) {
            become_leader();
            return;
        }
        for (NodeId v : opt.voters) {
            if (v == opt.id) {
                continue;
            }
            Message m;
            m.type = MessageType::kVoteRequest;
            m.to = v;
            m.term = term;
            m.last_log_index = last_index();
            m.last_log_term = last_term();
            send(std::move(m));
        }
    }

    void become_leader() {
        RLOG_ASSERT(vote == opt.id);
        role = Role::kLeader;
        leader = opt.id;
        granted.clear();
        ++stats.times_elected;
        peers.clear();
        for (NodeId v : opt.voters) {
            if (v == opt.id) {
                continue;
            }
            Progress p;
            p.id = v;
            p.next = last_index() + 1;
            // Count every follower as heard at the start of the term, so check-quorum gives a
            // new leader a full election timeout to reach them.
            p.last_heard_us = now_us;
            p.last_progress_us = now_us;
            peers.push_back(std::move(p));
        }
        heartbeat_due_us = now_us + opt.heartbeat_interval_us;
        log_line("become_leader");
        // Raft §8: a no-op of the new term lets the leader commit (and learn) everything before.
        Entry noop;
        noop.term = term;
        noop.index = last_index() + 1;
        noop.type = EntryType::kNoop;
        append_entry(std::move(noop));
        for (Progress& p : peers) {
            send_more(p);
        }
        maybe_commit();
    }

    // --- Leader replication ------------------------------------------------------------------

    // Sends one AppendRequest to `p` starting at p.next (entries may be empty).
    void send_append(Progress& p) {
        Message m;
        m.type = MessageType::kAppendRequest;
        m.to = p.id;
        m.term = term;
        m.prev_log_index = p.next - 1;
        m.prev_log_term = term_at(m.prev_log_index);
        m.leader_commit = commit;
        size_t bytes = 0;
        LogIndex i = p.next;
        while (i <= last_index() && m.entries.size() < opt.append_entries_max) {
            const Entry& e = at(i);
            if (!m.entries.empty() && bytes + e.payload.size() > opt.append_bytes_max) {
                break;
            }
            bytes += e.payload.size();
            m.entries.push_back(e);
            ++i;
        }
        ++stats.append_requests_sent;
        stats.entries_sent += m.entries.size();
        if (!m.entries.empty()) {
            if (p.state == ProgressState::kReplicate) {
                RLOG_ASSERT(p.inflight.size() < opt.inflight_appends_max);
                p.inflight.push_back(i - 1);
                p.next = i;
            } else {
                p.probe_sent = true;
            }
        }
        send(std::move(m));
    }

    // Sends as many AppendRequests to `p` as its state and the in-flight bound allow.
    void send_more(Progress& p) {
        if (p.state == ProgressState::kReplicate) {
            while (p.next <= last_index() && p.inflight.size() < opt.inflight_appends_max) {
                send_append(p);
            }
        } else if (!p.probe_sent && p.next <= last_index()) {
            send_append(p);
        }
    }

    // A heartbeat: an empty AppendRequest anchored at the follower's known match, which the
    // follower always holds, so it never provokes a spurious reject.
    void send_heartbeat(Progress& p) {
        Message m;
        m.type = MessageType::kAppendRequest;
        m.to = p.id;
        m.term = term;
        m.prev_log_index = p.match;
        m.prev_log_term = term_at(p.match);
        m.leader_commit = commit;
        ++stats.append_requests_sent;
        send(std::move(m));
    }

    void become_probe(Progress& p, LogIndex next) {
        p.state = ProgressState::kProbe;
        p.inflight.clear();
        p.probe_sent = false;
        p.next = std::max(next, p.match + 1);
    }

    void become_replicate(Progress& p) {
        p.state = ProgressState::kReplicate;
        p.inflight.clear();
        p.probe_sent = false;
        p.next = p.match + 1;
        p.last_progress_us = now_us;
    }

    // Raft §5.3/§5.4.2: commit the highest index held durably by a majority, the leader
    // counting itself only up to its own durable index, and only if that entry is of the
    // current term (Figure 8).
    void maybe_commit() {
        std::array<LogIndex, 16> matches{};
        size_t n = 0;
        RLOG_ASSERT(peers.size() + 1 <= matches.size());
        matches[n++] = durable;
        for (const Progress& p : peers) {
            matches[n++] = p.match;
        }
        std::sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(n),
                  [](LogIndex a, LogIndex b) { return a > b; });
        LogIndex q = matches[quorum - 1];
        if (q > commit && term_at(q) == term) {
            set_commit(q);
        }
    }

    void handle_append_response(const Message& m) {
        Progress* p = find_peer(m.from);
        if (p == nullptr) {
            ++stats.messages_dropped;
            return;
        }
        p->last_heard_us = now_us;
        if (m.success) {
            p->probe_sent = false;
            if (m.match_index > last_index()) {
                ++stats.messages_dropped;
                return;
            }
            if (m.match_index > p->match) {
                p->match = m.match_index;
                p->last_progress_us = now_us;
            }
            if (p->state == ProgressState::kProbe) {
                become_replicate(*p);
            } else {
                p->next = std::max(p->next, p->match + 1);
                while (!p->inflight.empty() && p->inflight.front() <= p->match) {
                    p->inflight.pop_front();
                }
            }
            maybe_commit();
            send_more(*p);
            return;
        }
        ++stats.append_rejects_received;
        // A reject below the acknowledged match is a stale reply to an older request.
        if (m.conflict_index < p->match) {
            return;
        }
        // Back up to the last entry at or below the hint whose term is at most the follower's
        // term there: every entry of a conflicting term is skipped in one round trip.
        LogIndex i = std::min(m.conflict_index, last_index());
        while (i > p->match && term_at(i) > m.conflict_term) {
            i = i - 1;
        }
        if (p->state == ProgressState::kProbe && i + 1 >= p->next) {
            // A duplicate reject of a probe already backed up; the pending probe answers it.
            // Sending again here would let a duplicating network multiply the traffic.
            return;
        }
        become_probe(*p, i + 1);
        send_more(*p);
    }

    Progress* find_peer(NodeId id) {
        for (Progress& p : peers) {
            if (p.id == id) {
                return &p;
            }
        }
        return nullptr;
    }

    // --- Follower ----------------------------------------------------------------------------

    void send_append_response(NodeId to,
                              bool success,
                              LogIndex conflict_index,
                              Term conflict_term) {
        Message r;
        r.type = MessageType::kAppendResponse;
        r.to = to;
        r.term = term;
        r.success = success;
        if (success) {
            // Acknowledge only entries that are both durable and verified against this leader.
            r.match_index = std::min(verified, durable);
            acked = std::max(acked, r.match_index);
        } else {
            r.conflict_index = conflict_index;
            r.conflict_term = conflict_term;
        }
        send(std::move(r));
    }

    void handle_append_request(Message& m) {
        // Same term: this sender is the leader of the term (election safety).
        if (role != Role::kFollower || leader != m.from) {
            become_follower(term, m.from);
        } else {
            reset_election_timer();
        }
        heard_leader = true;
        last_heard_leader_us = now_us;

        LogIndex prev = m.prev_log_index;
        Term prev_term = m.prev_log_term;
        size_t skip = 0;
        // Entries at or below our commit index are committed, hence already in our log and in
        // the leader's (Leader Completeness); skip them.
        if (prev < commit) {
            skip = std::min<size_t>(m.entries.size(), commit - prev);
            prev = commit;
            prev_term = term_at(commit);
        }
        if (prev > last_index() || term_at(prev) != prev_term) {
            // Raft §5.3 consistency check failed. Hint: the last entry at or below prev whose
            // term is at most prev_term; the leader skips past a whole conflicting term.
            LogIndex hint = std::min(prev, last_index());
            while (hint > commit && term_at(hint) > prev_term) {
                hint = hint - 1;
            }
            send_append_response(m.from, false, hint, term_at(hint));
            return;
        }
        LogIndex idx = prev;
        for (size_t k = skip; k < m.entries.size(); ++k) {
            Entry& e = m.entries[k];
            ++idx;
            if (e.index != idx || e.term > term) {
                ++stats.messages_dropped;
                return;
            }
            if (idx <= last_index()) {
                if (term_at(idx) == e.term) {
                    continue;  // Already have it: a duplicate or stale request never truncates.
                }
                truncate_log(idx);
            }
            append_entry(std::move(e));
        }
        verified = std::max(verified, idx);
        set_commit(std::min(m.leader_commit, verified));
        send_append_response(m.from, true, LogIndex{}, Term{});
    }

    void handle_vote_request(const Message& m, bool pre) {
        Message r;
        r.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
        r.to = m.from;
        bool log_ok = up_to_date(m.last_log_index, m.last_log_term);
        if (pre) {
            // A pre-vote changes no state here (thesis §9.6).
            r.granted = m.term > term && log_ok;
            r.term = r.granted ? m.term : term;
        } else {
            RLOG_ASSERT(m.term == term);
            // Figure 2: one vote per term. A replica that already follows a leader of this
            // term does not vote for anyone else in it either.
            bool can_vote = vote == m.from || (vote == kNoNode && leader == kNoNode);
            r.granted = can_vote && log_ok;
            if (r.granted) {
                set_hard_state(term, m.from);
                reset_election_timer();
            }
            r.term = term;
        }
        send(std::move(r));
    }

    void handle_vote_response(const Message& m, bool pre) {
        if (pre) {
            if (role != Role::kPreCandidate || m.term != term + 1 || !m.granted) {
                return;
            }
        } else {
            if (role != Role::kCandidate || m.term != term || !m.granted) {
                return;
            }
        }
        if (std::find(granted.begin(), granted.end(), m.from) == granted.end()) {
            granted.push_back(m.from);
        }
        if (granted.size() >= quorum) {
            if (pre) {
                become_candidate();
            } else {
                become_leader();
            }
        }
    }

    bool is_voter(NodeId id) const {
        return std::find(opt.voters.begin(), opt.voters.end(), id) != opt.voters.end();
    }

    void step(Message& m) {
        if (m.to != opt.id || m.from == opt.id || !is_voter(m.from)) {
            ++stats.messages_dropped;
            return;
        }
        bool vote_req =
                m.type == MessageType::kPreVoteRequest || m.type == MessageType::kVoteRequest;
        if (m.term > term) {
            if (vote_req && (opt.check_quorum || opt.pre_vote) && in_leader_lease()) {
                // Thesis §4.2.3: a replica that hears from a live leader ignores vote requests,
                // and does not adopt their term, so a rejoining replica cannot depose it.
                ++stats.messages_dropped;
                return;
            }
            if (m.type == MessageType::kPreVoteRequest) {
                // No state change for a pre-vote request.
            } else if (m.type == MessageType::kPreVoteResponse && m.granted) {
                // The granted term is our future term, not a newer one.
            } else {
                become_follower(m.term, m.type == MessageType::kAppendRequest ? m.from : kNoNode);
            }
        } else if (m.term < term) {
            if (m.type == MessageType::kAppendRequest || m.type == MessageType::kPreVoteRequest ||
                m.type == MessageType::kVoteRequest) {
                // Tell a stale leader or candidate about the newer term, so it steps down
                // (needed with pre-vote and check-quorum, where terms no longer leak by votes).
                if (m.type == MessageType::kAppendRequest) {
                    send_append_response(m.from, false, LogIndex{}, Term{});
                } else {
                    Message r;
                    r.type = m.type == MessageType::kPreVoteRequest ? MessageType::kPreVoteResponse
                                                                    : MessageType::kVoteResponse;
                    r.to = m.from;
                    r.term = term;
                    send(std::move(r));
                }
            } else {
                ++stats.messages_dropped;
            }
            return;
        }

        switch (m.type) {
            case MessageType::kPreVoteRequest:
                handle_vote_request(m, true);
                return;
            case MessageType::kVoteRequest:
                handle_vote_request(m, false);
                return;
            case MessageType::kPreVoteResponse:
                handle_vote_response(m, true);
                return;
            case MessageType::kVoteResponse:
                handle_vote_response(m, false);
                return;
            case MessageType::kAppendRequest:
                if (role == Role::kLeader) {
                    // Two leaders in one term would violate election safety.
                    RLOG_UNREACHABLE("append request from another leader of this term");
                }
                handle_append_request(m);
                return;
            case MessageType::kAppendResponse:
                if (role != Role::kLeader) {
                    ++stats.messages_dropped;
                    return;
                }
                handle_append_response(m);
                return;
        }
        ++stats.messages_dropped;
    }

    void tick(uint64_t t) {
        RLOG_ASSERT(t >= now_us);
        now_us = t;
        if (!clock_started) {
            // A replica that just started (or restarted) waits a full election timeout before
            // campaigning, like any follower that has not heard from a leader yet.
            clock_started = true;
            if (role != Role::kLeader) {
                reset_election_timer();
                return;
            }
        }
        if (role == Role::kLeader) {
            if (opt.check_quorum) {
                size_t active = 1;
                for (const Progress& p : peers) {
                    if (now_us - p.last_heard_us < opt.election_timeout_min_us) {
                        ++active;
                    }
                }
                if (active < quorum) {
                    // Thesis §6.2: a leader cut off from a majority steps down.
                    log_line("check_quorum_failed");
                    become_follower(term, kNoNode);
                    return;
                }
            }
            if (now_us >= heartbeat_due_us) {
                heartbeat_due_us = now_us + opt.heartbeat_interval_us;
                for (Progress& p : peers) {
                    p.probe_sent = false;
                    // Requests lost in replicate state would stall the pipeline forever;
                    // fall back to probing when nothing was acknowledged for a while.
                    if (p.state == ProgressState::kReplicate && !p.inflight.empty() &&
                        now_us - p.last_progress_us >= 2 * opt.heartbeat_interval_us) {
                        become_probe(p, p.match + 1);
                    }
                    send_heartbeat(p);
                    send_more(p);
                }
            }
            return;
        }
        if (now_us >= election_deadline_us) {
            if (opt.pre_vote) {
                become_pre_candidate();
            } else {
                become_candidate();
            }
        }
    }

    void persisted(LogIndex index, Term t) {
        if (index > last_index() || index <= durable || term_at(index) != t) {
            return;  // Stale: truncated since, or already known.
        }
        durable = index;
        if (role == Role::kLeader) {
            maybe_commit();
        } else if (role == Role::kFollower && leader != kNoNode) {
            // Acks wait for durability; send one now that more verified entries are durable.
            if (std::min(verified, durable) > acked) {
                send_append_response(leader, true, LogIndex{}, Term{});
            }
        }
    }
};

Raft::Raft(Options options, HardState hard_state, std::vector<Entry> log)
        : impl_(std::make_unique<Impl>(std::move(options), hard_state, std::move(log))) {
    Impl& s = *impl_;
    RLOG_ASSERT(s.opt.id != kNoNode);
    RLOG_ASSERT(s.is_voter(s.opt.id));
    RLOG_ASSERT(s.opt.voters.size() <= 15);
    RLOG_ASSERT(s.opt.heartbeat_interval_us < s.opt.election_timeout_min_us);
    RLOG_ASSERT(s.opt.election_timeout_min_us <= s.opt.election_timeout_max_us);
    RLOG_ASSERT(s.opt.append_entries_max >= 1);
    RLOG_ASSERT(s.opt.inflight_appends_max >= 1);
    for (NodeId v : s.opt.voters) {
        RLOG_ASSERT(v != kNoNode);
        RLOG_ASSERT(std::count(s.opt.voters.begin(), s.opt.voters.end(), v) == 1);
    }
    for (size_t i = 0; i < s.log.size(); ++i) {
        RLOG_ASSERT(s.log[i].index.value == i + 1);
        RLOG_ASSERT(i == 0 || s.log[i].term >= s.log[i - 1].term);
    }
    RLOG_ASSERT(s.last_term() <= s.term);
    s.quorum = s.opt.voters.size() / 2 + 1;
    s.durable = s.last_index();
    s.reset_election_timer();
}

Raft::~Raft() = default;

void Raft::tick(uint64_t now_us) noexcept {
    impl_->tick(now_us);
}

void Raft::step(Message msg) noexcept {
    impl_->step(msg);
}

Result<LogIndex> Raft::propose(std::span<std::vector<uint8_t>> payloads) noexcept {
    Impl& s = *impl_;
    if (s.role != Role::kLeader) {
        ++s.stats.proposals_refused;
        return Status(ErrorCode::kNotLeader, "");
    }
    if (s.last_index() - s.commit + payloads.size() > s.opt.uncommitted_entries_max) {
        ++s.stats.proposals_refused;
        return Status(ErrorCode::kBusy, "");
    }
    LogIndex first = s.last_index() + 1;
    if (payloads.empty()) {
        return first;
    }
    for (std::vector<uint8_t>& p : payloads) {
        Entry e;
        e.term = s.term;
        e.index = s.last_index() + 1;
        e.type = EntryType::kCommand;
        e.payload = std::move(p);
        s.append_entry(std::move(e));
    }
    for (Progress& p : s.peers) {
        s.send_more(p);
    }
    // A single-voter cluster commits as soon as its own write is durable; nothing to do here.
    return first;
}

void Raft::persisted(LogIndex index, Term term) noexcept {
    impl_->persisted(index, term);
}

bool Raft::has_output() const noexcept {
    return impl_->hard_dirty || !impl_->out.empty();
}

Output Raft::take_output() noexcept {
    Impl& s = *impl_;
    Output o = std::move(s.out);
    s.out = Output{};
    if (s.hard_dirty) {
        o.hard_state = HardState{s.term, s.vote};
        s.hard_dirty = false;
    }
    return o;
}

Role Raft::role() const noexcept {
    return impl_->role;
}
Term Raft::term() const noexcept {
    return impl_->term;
}
NodeId Raft::id() const noexcept {
    return impl_->opt.id;
}
NodeId Raft::leader() const noexcept {
    return impl_->leader;
}
LogIndex Raft::commit_index() const noexcept {
    return impl_->commit;
}
LogIndex Raft::last_index() const noexcept {
    return impl_->last_index();
}
LogIndex Raft::durable_index() const noexcept {
    return impl_->durable;
}
Term Raft::term_at(LogIndex index) const noexcept {
    return impl_->term_at(index);
}
const Entry& Raft::entry_at(LogIndex index) const noexcept {
    return impl_->at(index);
}
HardState Raft::hard_state() const noexcept {
    return HardState{impl_->term, impl_->vote};
}
const Stats& Raft::stats() const noexcept {
    return impl_->stats;
}

namespace {

Status violation(const char* what, uint64_t a, uint64_t b) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%s (%" PRIu64 " vs %" PRIu64 ")", what, a, b);
    return Status(ErrorCode::kCorruption, buf);
}

}  // namespace

Status Raft::check_invariants() const {
    const Impl& s = *impl_;
    if (s.commit > s.last_index()) {
        return violation("commit index beyond last index", s.commit.value, s.last_index().value);
    }
    if (s.commit < s.checked_commit) {
        return violation("commit index decreased", s.commit.value, s.checked_commit.value);
    }
    s.checked_commit = s.commit;
    if (s.emitted != s.commit) {
        return violation("committed entries not all emitted", s.emitted.value, s.commit.value);
    }
    if (s.durable > s.last_index()) {
        return violation("durable index beyond last index", s.durable.value, s.last_index().value);
    }
    if (s.verified > s.last_index()) {
        return violation("verified index beyond last index", s.verified.value,
                         s.last_index().value);
    }
    if (s.last_term() > s.term) {
        return violation("last log term above current term", s.last_term().value, s.term.value);
    }
    switch (s.role) {
        case Role::kLeader:
            if (s.vote != s.opt.id) {
                return violation("leader did not vote for itself", s.vote.value, s.opt.id.value);
            }
            if (s.leader != s.opt.id) {
                return violation("leader does not name itself", s.leader.value, s.opt.id.value);
            }
            if (s.peers.size() + 1 != s.opt.voters.size()) {
                return violation("leader progress count", s.peers.size(), s.opt.voters.size());
            }
            for (const Progress& p : s.peers) {
                if (p.match >= p.next) {
                    return violation("progress match >= next", p.match.value, p.next.value);
                }
                if (p.match > s.last_index()) {
                    return violation("progress match beyond log", p.match.value,
                                     s.last_index().value);
                }
                if (p.next > s.last_index() + 1) {
                    return violation("progress next beyond log", p.next.value,
                                     s.last_index().value);
                }
                if (p.inflight.size() > s.opt.inflight_appends_max) {
                    return violation("too many appends in flight", p.inflight.size(),
                                     s.opt.inflight_appends_max);
                }
            }
            break;
        case Role::kCandidate:
            if (s.vote != s.opt.id) {
                return violation("candidate did not vote for itself", s.vote.value, s.opt.id.value);
            }
            [[fallthrough]];
        case Role::kPreCandidate:
            if (s.leader != kNoNode) {
                return violation("candidate follows a leader", s.leader.value, 0);
            }
            break;
        case Role::kFollower:
            if (s.leader == s.opt.id) {
                return violation("follower names itself leader", s.leader.value, 0);
            }
            break;
    }
    // Pending output: entries contiguous and continuing the stored log.
    if (!s.out.entries.empty()) {
        LogIndex first = s.out.entries.front().index;
        if (s.out.entries.back().index != s.last_index()) {
            return violation("pending entries do not end at the last index",
                             s.out.entries.back().index.value, s.last_index().value);
        }
        if (s.out.truncate_from != LogIndex{} && s.out.truncate_from != first) {
            return violation("pending entries do not start at the truncation",
                             s.out.truncate_from.value, first.value);
        }
    }
    // Log shape, checked incrementally past the prefix verified by earlier calls: O(new
    // entries) per call, O(log) overall.
#ifdef RLOG_DEBUG_CHECKS
    LogIndex i = s.checked_prefix;
    Term prev_term = s.checked_prefix_term;
    for (; i < s.last_index(); ++i) {
        const Entry& e = s.log[i.value];
        if (e.index != i + 1) {
            return violation("log index not contiguous", e.index.value, i.value + 1);
        }
        if (e.term < prev_term) {
            return violation("log terms decrease", e.term.value, prev_term.value);
        }
        prev_term = e.term;
    }
    s.checked_prefix = i;
    s.checked_prefix_term = prev_term;
#endif
    return Status::ok();
}

}  // namespace rlog::consensus
