// SPDX-License-Identifier: Apache-2.0

#include "node/replica.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/assert.h"
#include "consensus/raft.h"
#include "dataplane/channel.h"
#include "dataplane/frame.h"
#include "dataplane/transport.h"
#include "dataplane/udp_socket.h"
#include "node/client_protocol.h"
#include "node/doorbell.h"
#include "node/logging.h"
#include "node/parker.h"
#include "node/sequencer.h"
#include "node/spsc_ring.h"
#include "storage/hard_state_file.h"
#include "storage/segmented_log.h"

namespace rlog::node {
namespace {

using consensus::Entry;
using consensus::HardState;
using consensus::Message;
using consensus::Role;

// Ring capacities. Each bounds the number of batches (not entries) queued between two stages.
constexpr size_t kProposalRingSlots = 1024;
constexpr size_t kStorageRingSlots = 4096;
constexpr size_t kDurableRingSlots = 4096;
constexpr size_t kApplyRingSlots = 4096;
// Idle stages wake at least this often (Raft ticks, retransmissions).
constexpr uint64_t kParkTimeoutUs = 1000;
// A poll-mode transport (dpdk: wait_fd() is -1) cannot wake a parked core stage, so the stage
// naps this long instead of parking and polls again: a message waits at most about this long
// (plus timer slack), at the cost of ~10-20k wake-ups/s while idle instead of spinning a core.
constexpr uint64_t kPollModeParkUs = 50;

// Client stage -> core: commands to propose, already encoded as entry payloads.
struct ProposalBatch {
    std::vector<std::vector<uint8_t>> payloads;
};

// Core -> storage: one log mutation and/or one hard-state write, in the order Raft produced them.
struct StorageOp {
    std::optional<HardState> hard_state;
    uint64_t hard_state_version = 0;
    LogIndex truncate_from;
    std::vector<Entry> entries;
};

// Storage -> core: durability progress.
struct DurableEvent {
    LogIndex index;
    Term term;
    uint64_t hard_state_version = 0;
};

// Core -> client stage: committed entries to apply, and proposals refused by Raft.
struct ApplyBatch {
    std::vector<Entry> committed;
    std::vector<std::vector<uint8_t>> refused;
    ErrorCode refused_code = ErrorCode::kOk;
};

storage::Backend parse_backend(const std::string& name) {
    if (name == "io_uring") {
        return storage::Backend::kIoUring;
    }
    if (name == "thread") {
        return storage::Backend::kThread;
    }
    return storage::Backend::kAuto;
}

struct ClientState {
    // A response being filled for one client address.
    struct Outgoing {
        sockaddr_in to{};
        ResponseBuilder builder;
    };

    explicit ClientState(size_t mtu) : mtu_bytes(mtu), payload_max(client_payload_max(mtu)) {}

    size_t mtu_bytes;
    size_t payload_max;
    std::vector<dataplane::UdpRx> rx;
    ParsedRequest request;
    // The address each client last submitted from, to acknowledge its requests once applied.
    // TODO(after client sessions expire): entries are never removed; memory grows with the
    // number of distinct client ids seen by this replica.
    std::unordered_map<uint64_t, sockaddr_in> client_addresses;
    std::unordered_map<uint64_t, size_t> outgoing_index;  // Address key -> slot in `outgoing`.
    std::vector<Outgoing> outgoing;
    std::vector<std::vector<uint8_t>> frames;
    std::vector<dataplane::UdpTx> tx;
    size_t frames_used = 0;
    uint64_t message_id = 0;
    // "host:client_port" of each replica, for redirects.
    std::unordered_map<uint32_t, std::string> endpoints;
    ProposalBatch pending;
    std::vector<std::pair<uint64_t, uint64_t>> pending_ids;  // (client_id, request_no).
    std::vector<SequencedMessage> read_buffer;
    std::vector<ReadEntry> read_entries;
};

uint64_t address_key(const sockaddr_in& a) {
    return (static_cast<uint64_t>(a.sin_addr.s_addr) << 16) | a.sin_port;
}

}  // namespace

// An exclusive flock on `<data dir>/LOCK`, held while the descriptor is open.
struct DirectoryLock {
    int fd = -1;
    DirectoryLock() = default;
    DirectoryLock(const DirectoryLock&) = delete;
    DirectoryLock& operator=(const DirectoryLock&) = delete;
    ~DirectoryLock() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

struct Replica::Impl {
    // First member, so it is released last: after the log and hard state files are closed.
    DirectoryLock lock;
    ReplicaOptions options;
    NodeId id;
    std::shared_ptr<spdlog::logger> logger;

    // Owned by the core stage once started.
    std::unique_ptr<consensus::Raft> raft;
    std::unique_ptr<dataplane::Transport> transport;
    std::unique_ptr<dataplane::MessageChannel> channel;
    // Owned by the storage stage.
    std::unique_ptr<storage::SegmentedLog> log;
    std::unique_ptr<storage::HardStateFile> hard_state_file;
    // Owned by the client stage.
    std::unique_ptr<dataplane::UdpSocket> client_socket;
    std::unique_ptr<Sequencer> sequencer;

    SpscRing<ProposalBatch> proposals{kProposalRingSlots};
    SpscRing<StorageOp> storage_ops{kStorageRingSlots};
    SpscRing<DurableEvent> durable_events{kDurableRingSlots};
    SpscRing<ApplyBatch> apply_batches{kApplyRingSlots};

    Doorbell core_bell;
    Parker storage_parker;
    Doorbell client_bell;

    std::atomic<bool> running{false};
    std::thread core_thread;
    std::thread storage_thread;
    std::thread client_thread;

    // Published by the core stage for the other stages and status().
    std::atomic<uint8_t> pub_role{0};
    std::atomic<uint64_t> pub_term{0};
    std::atomic<uint32_t> pub_leader{0};
    std::atomic<uint64_t> pub_commit{0};
    std::atomic<uint64_t> pub_durable{0};
    std::atomic<uint64_t> pub_applied_seq{0};

    // Core-stage state.
    uint64_t hard_state_version_sent = 0;
    uint64_t hard_state_version_durable = 0;
    // Messages that wait for a hard-state version to be durable, in send order.
    std::deque<std::pair<uint64_t, std::vector<Message>>> gated_messages;
    // Work a full ring could not take yet; retried first on every loop (never dropped).
    std::deque<StorageOp> storage_backlog;
    std::deque<ApplyBatch> apply_backlog;

    // Client-stage state.
    std::unique_ptr<ClientState> client;

    ReplicaCounters counters;

    void core_loop();
    void storage_loop();
    void client_loop();

    template <class Add>
    void client_reply(const sockaddr_in& to, Add&& add);
    void client_emit(ClientState::Outgoing& out);
    void client_flush();
    void client_redirect(const sockaddr_in& to, uint64_t client_id, uint64_t request_no);
    void client_handle_frame(const dataplane::UdpRx& rx);
    void client_read(const sockaddr_in& to, const ReadOp& op);
    void client_apply(ApplyBatch& batch);

    void dispatch(consensus::Output&& out);
    void flush_backlogs();
    void release_gated();
    void publish();
};

// ---------------------------------------------------------------------------------------------
// Core stage: peer receive, Raft, peer send.

void Replica::Impl::core_loop() {
    std::vector<Message> inbox;
    inbox.reserve(256);
    uint64_t idle_since_us = 0;
    const int fds[1] = {transport->wait_fd()};
    while (running.load(std::memory_order_relaxed)) {
        bool worked = false;
        inbox.clear();
        while (channel->poll(&inbox) > 0 && inbox.size() < 1024) {
        }
        for (Message& m : inbox) {
            raft->step(std::move(m));
        }
        worked |= !inbox.empty();

        DurableEvent ev;
        std::optional<DurableEvent> latest;
        while (durable_events.try_pop(ev)) {
            hard_state_version_durable =
                    std::max(hard_state_version_durable, ev.hard_state_version);
            if (ev.index > LogIndex{}) {
                latest = ev;
            }
            worked = true;
        }
        if (latest) {
            raft->persisted(latest->index, latest->term);
        }

        ProposalBatch batch;
        while (proposals.try_pop(batch)) {
            worked = true;
            const size_t n = batch.payloads.size();
            Result<LogIndex> r = raft->propose(batch.payloads);
            if (r.is_ok()) {
                counters.proposals += n;
            } else {
                counters.proposals_rejected += n;
                ApplyBatch refused;
                refused.refused = std::move(batch.payloads);
                refused.refused_code = r.status().code();
                apply_backlog.push_back(std::move(refused));
            }
        }

        const uint64_t now_us = monotonic_us();
        raft->tick(now_us);
        if (raft->has_output()) {
            dispatch(raft->take_output());
            worked = true;
        }
        release_gated();
        flush_backlogs();
        publish();

        if (worked) {
            idle_since_us = 0;
            continue;
        }
        if (idle_since_us == 0) {
            idle_since_us = now_us;
        }
        if (options.busy_poll || now_us - idle_since_us < options.spin_us) {
            continue;
        }
        if (fds[0] < 0) {
            // Poll-mode transport: nap briefly rather than park on the doorbell (whose poll(2)
            // timeout has millisecond granularity); the rings are checked on waking anyway.
            std::this_thread::sleep_for(std::chrono::microseconds(kPollModeParkUs));
            continue;
        }
        core_bell.sleep(std::span<const int>(fds, 1), kParkTimeoutUs,
                        [&] { return !proposals.empty() || !durable_events.empty(); });
    }
}

void Replica::Impl::dispatch(consensus::Output&& out) {
    const bool gate = out.hard_state.has_value() || !gated_messages.empty();
    if (out.hard_state || out.truncate_from > LogIndex{} || !out.entries.empty()) {
        StorageOp op;
        if (out.hard_state) {
            op.hard_state = out.hard_state;
            op.hard_state_version = ++hard_state_version_sent;
        }
        op.truncate_from = out.truncate_from;
        op.entries = std::move(out.entries);
        storage_backlog.push_back(std::move(op));
    }
    if (!out.messages.empty()) {
        if (gate) {
            // Raft Figure 2: a reply that depends on a new term or vote must not leave before
            // they are durable. Everything after it waits too, so messages stay in order.
            gated_messages.emplace_back(hard_state_version_sent, std::move(out.messages));
        } else {
            channel->send(out.messages);
        }
    }
    if (!out.committed.empty()) {
        ApplyBatch batch;
        batch.committed = std::move(out.committed);
        apply_backlog.push_back(std::move(batch));
    }
}

void Replica::Impl::release_gated() {
    while (!gated_messages.empty() && gated_messages.front().first <= hard_state_version_durable) {
        channel->send(gated_messages.front().second);
        gated_messages.pop_front();
    }
}

void Replica::Impl::flush_backlogs() {
    bool pushed_storage = false;
    while (!storage_backlog.empty() && storage_ops.try_push(std::move(storage_backlog.front()))) {
        storage_backlog.pop_front();
        pushed_storage = true;
    }
    if (pushed_storage) {
        storage_parker.unpark();
    }
    bool pushed_apply = false;
    while (!apply_backlog.empty() && apply_batches.try_push(std::move(apply_backlog.front()))) {
        apply_backlog.pop_front();
        pushed_apply = true;
    }
    if (pushed_apply) {
        client_bell.ring();
    }
}

void Replica::Impl::publish() {
    const Role role = raft->role();
    const NodeId leader = raft->leader();
    pub_role.store(static_cast<uint8_t>(role), std::memory_order_relaxed);
    pub_term.store(raft->term().value, std::memory_order_relaxed);
    pub_leader.store(leader.value, std::memory_order_relaxed);
    pub_commit.store(raft->commit_index().value, std::memory_order_relaxed);
    pub_durable.store(raft->durable_index().value, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Storage stage: group-committed log appends and hard-state writes.

void Replica::Impl::storage_loop() {
    std::vector<storage::RecordView> views;
    LogIndex reported_index = log->durable_index();
    uint64_t reported_hs = 0;
    uint64_t hs_durable = 0;
    StorageOp op;
    while (running.load(std::memory_order_relaxed)) {
        bool worked = false;
        while (storage_ops.try_pop(op)) {
            worked = true;
            if (op.hard_state) {
                Status s = hard_state_file->store(
                        storage::DurableHardState{op.hard_state->term, op.hard_state->vote});
                if (!s.is_ok()) {
                    RLOG_PANIC("node=%u hard state write failed: %s", id.value,
                               s.to_string().c_str());
                }
                hs_durable = op.hard_state_version;
            }
            if (op.truncate_from > LogIndex{}) {
                Status s = log->truncate_suffix(op.truncate_from);
                if (!s.is_ok()) {
                    RLOG_PANIC("node=%u log truncation failed: %s", id.value,
                               s.to_string().c_str());
                }
            }
            if (!op.entries.empty()) {
                views.clear();
                for (const Entry& e : op.entries) {
                    views.push_back(storage::RecordView{e.term, e.index,
                                                        static_cast<uint8_t>(e.type),
                                                        std::span<const uint8_t>(e.payload)});
                }
                Status s = log->append(views);
                if (!s.is_ok()) {
                    RLOG_PANIC("node=%u log append failed: %s", id.value, s.to_string().c_str());
                }
            }
        }
        Result<LogIndex> durable = log->poll();
        if (!durable.is_ok()) {
            // Fail-stop: a failed write or sync is never retried (the page cache may have
            // dropped the data), and an acknowledged entry must never be lost.
            RLOG_PANIC("node=%u log write or sync failed: %s", id.value,
                       durable.status().to_string().c_str());
        }
        if (durable.value() != reported_index || hs_durable != reported_hs) {
            DurableEvent ev{durable.value(), log->durable_term(), hs_durable};
            if (durable_events.try_push(std::move(ev))) {
                reported_index = durable.value();
                reported_hs = hs_durable;
                core_bell.ring();
            }
            worked = true;
        }
        if (worked) {
            continue;
        }
        if (!log->idle()) {
            Result<LogIndex> w = log->wait(kParkTimeoutUs);
            if (!w.is_ok()) {
                RLOG_PANIC("node=%u log write or sync failed: %s", id.value,
                           w.status().to_string().c_str());
            }
            continue;
        }
        if (options.busy_poll) {
            continue;
        }
        storage_parker.wait([&] { return !storage_ops.empty(); }, 200, kParkTimeoutUs * 1000);
    }
}

// ---------------------------------------------------------------------------------------------
// Client stage: client requests in, proposals out; committed entries in, acknowledgements out.

// Adds one reply for `to` through `add` (a call on a ResponseBuilder), starting a new frame for
// that address when the current one is full.
template <class Add>
void Replica::Impl::client_reply(const sockaddr_in& to, Add&& add) {
    ClientState& c = *client;
    const uint64_t key = address_key(to);
    auto it = c.outgoing_index.find(key);
    if (it == c.outgoing_index.end()) {
        it = c.outgoing_index.emplace(key, c.outgoing.size()).first;
        c.outgoing.push_back(ClientState::Outgoing{to, ResponseBuilder(c.payload_max)});
    }
    ResponseBuilder& b = c.outgoing[it->second].builder;
    if (add(b)) {
        return;
    }
    client_emit(c.outgoing[it->second]);
    const bool added = add(b);
    RLOG_ASSERT(added);  // One reply always fits in an empty frame.
}

// Moves the builder's payload into a frame queued for sending.
void Replica::Impl::client_emit(ClientState::Outgoing& out) {
    ClientState& c = *client;
    if (out.builder.empty()) {
        return;
    }
    if (c.frames_used == c.frames.size()) {
        c.frames.emplace_back(c.mtu_bytes);
    }
    std::vector<uint8_t>& frame = c.frames[c.frames_used++];
    std::span<const uint8_t> payload = out.builder.payload();
    frame.resize(dataplane::kFrameHeaderBytes + payload.size());
    const size_t n =
            write_client_frame(dataplane::FrameKind::kClientResponse, options.cluster.cluster_id,
                               id, ++c.message_id, payload, frame);
    frame.resize(n);
    c.tx.push_back(dataplane::UdpTx{out.to, std::span<const uint8_t>(frame)});
    out.builder.reset();
}

void Replica::Impl::client_flush() {
    ClientState& c = *client;
    for (ClientState::Outgoing& out : c.outgoing) {
        client_emit(out);
    }
    size_t sent = 0;
    while (sent < c.tx.size()) {
        const size_t n = client_socket->send_burst(std::span(c.tx).subspan(sent));
        if (n == 0) {
            // The socket buffer is full: the client will retry the requests whose replies were
            // lost here, and the retry gets the same sequence number.
            counters.client_frames_dropped += c.tx.size() - sent;
            break;
        }
        sent += n;
    }
    c.tx.clear();
    c.frames_used = 0;
    // Keep the address table small when many clients come and go.
    if (c.outgoing.size() > 1024) {
        c.outgoing.clear();
        c.outgoing_index.clear();
    }
}

void Replica::Impl::client_redirect(const sockaddr_in& to,
                                    uint64_t client_id,
                                    uint64_t request_no) {
    const NodeId leader{pub_leader.load(std::memory_order_relaxed)};
    auto it = client->endpoints.find(leader.value);
    if (leader == kNoNode || leader == id || it == client->endpoints.end()) {
        client_reply(to, [&](ResponseBuilder& b) {
            return b.add_reject(RejectReply{client_id, request_no, RejectCode::kNotLeader});
        });
        return;
    }
    counters.redirects_sent++;
    client_reply(to, [&](ResponseBuilder& b) {
        return b.add_redirect(RedirectReply{client_id, request_no, leader, it->second});
    });
}

void Replica::Impl::client_handle_frame(const dataplane::UdpRx& rx) {
    ClientState& c = *client;
    dataplane::FrameHeader header;
    std::span<const uint8_t> payload;
    if (rx.truncated ||
        dataplane::decode_frame(std::span<const uint8_t>(rx.data, rx.length), &header, &payload) !=
                dataplane::FrameError::kNone ||
        header.kind != dataplane::FrameKind::kClientRequest ||
        header.cluster_id != options.cluster.cluster_id || header.segment_count != 1) {
        counters.client_frames_dropped++;
        return;
    }
    c.request.clear();
    if (parse_request(payload, &c.request) != ProtocolError::kNone) {
        counters.client_frames_dropped++;
        return;
    }
    const bool leader =
            static_cast<Role>(pub_role.load(std::memory_order_relaxed)) == Role::kLeader;
    for (const SubmitOp& op : c.request.submits) {
        if (op.client_id == 0 || op.request_no == 0 || op.ack_below > op.request_no) {
            client_reply(rx.from, [&](ResponseBuilder& b) {
                return b.add_reject(
                        RejectReply{op.client_id, op.request_no, RejectCode::kMalformed});
            });
            continue;
        }
        if (!leader) {
            client_redirect(rx.from, op.client_id, op.request_no);
            continue;
        }
        if (op.request_no - op.ack_below >= kClientWindowMax) {
            // Beyond the session window the sequencer would forget an older request the client
            // may still retry. A well-behaved client never sends this (node/client.h).
            client_reply(rx.from, [&](ResponseBuilder& b) {
                return b.add_reject(RejectReply{op.client_id, op.request_no, RejectCode::kBusy});
            });
            continue;
        }
        c.client_addresses[op.client_id] = rx.from;
        std::vector<uint8_t> command;
        encode_command(op.client_id, op.request_no, op.ack_below, op.data, &command);
        c.pending.payloads.push_back(std::move(command));
        c.pending_ids.emplace_back(op.client_id, op.request_no);
    }
    for (const ReadOp& op : c.request.reads) {
        client_read(rx.from, op);
    }
}

// Serves a read of the committed stream from this replica's applied state (any replica).
void Replica::Impl::client_read(const sockaddr_in& to, const ReadOp& op) {
    ClientState& c = *client;
    c.read_buffer.clear();
    const size_t max = std::min<size_t>(op.max_count == 0 ? 1 : op.max_count, 4096);
    Status s = sequencer->read(op.from_seq, max, &c.read_buffer);
    if (!s.is_ok()) {
        client_reply(to, [&](ResponseBuilder& b) {
            return b.add_reject(RejectReply{op.client_id, op.read_id, RejectCode::kNotRetained});
        });
        return;
    }
    c.read_entries.clear();
    for (const SequencedMessage& m : c.read_buffer) {
        c.read_entries.push_back(ReadEntry{m.seq, m.client_id, m.request_no, m.term, m.index,
                                           std::span<const uint8_t>(m.data)});
    }
    client_reply(to, [&](ResponseBuilder& b) {
        return b.add_read_result(op.client_id, op.read_id, sequencer->last_seq(), c.read_entries) >=
               0;
    });
    // The entries view `read_buffer`: send before it is reused.
    client_flush();
}

void Replica::Impl::client_apply(ApplyBatch& batch) {
    ClientState& c = *client;
    for (const Entry& e : batch.committed) {
        if (e.type != consensus::EntryType::kCommand) {
            continue;
        }
        const ApplyResult r = sequencer->apply(e.index, e.term, e.payload);
        if (r.malformed) {
            continue;
        }
        auto it = c.client_addresses.find(r.client_id);
        if (it == c.client_addresses.end()) {
            continue;  // The request reached another replica; that one answers.
        }
        if (r.expired || r.stale || r.conflict) {
            // No sequence number: tell the client, so a reused client id or a request the
            // session forgot fails loudly instead of waiting forever (a late copy of an answered
            // request also lands here; its client ignores the reply).
            const RejectCode code = r.conflict ? RejectCode::kConflict
                                    : r.stale  ? RejectCode::kStale
                                               : RejectCode::kExpired;
            client_reply(it->second, [&](ResponseBuilder& b) {
                return b.add_reject(RejectReply{r.client_id, r.request_no, code});
            });
            continue;
        }
        counters.acks_sent++;
        client_reply(it->second, [&](ResponseBuilder& b) {
            return b.add_ack(AckReply{r.client_id, r.request_no, r.seq, r.term, r.index});
        });
    }
    pub_applied_seq.store(sequencer->last_seq(), std::memory_order_release);
    for (const std::vector<uint8_t>& payload : batch.refused) {
        CommandView cmd;
        if (!decode_command_view(payload, &cmd)) {
            continue;
        }
        auto it = c.client_addresses.find(cmd.client_id);
        if (it == c.client_addresses.end()) {
            continue;
        }
        if (batch.refused_code == ErrorCode::kNotLeader) {
            client_redirect(it->second, cmd.client_id, cmd.request_no);
        } else {
            client_reply(it->second, [&](ResponseBuilder& b) {
                return b.add_reject(RejectReply{cmd.client_id, cmd.request_no, RejectCode::kBusy});
            });
        }
    }
}

void Replica::Impl::client_loop() {
    ClientState& c = *client;
    uint64_t idle_since_us = 0;
    const int fds[1] = {client_socket->fd()};
    ApplyBatch batch;
    while (running.load(std::memory_order_relaxed)) {
        bool worked = false;
        const size_t n = client_socket->poll_burst(c.rx);
        for (size_t i = 0; i < n; i++) {
            client_handle_frame(c.rx[i]);
        }
        worked |= n > 0;
        if (!c.pending.payloads.empty()) {
            if (proposals.try_push(std::move(c.pending))) {
                core_bell.ring();
            } else {
                // Back-pressure: the core is behind. Refuse now; the client retries later with
                // the same request number.
                for (const auto& [client_id, request_no] : c.pending_ids) {
                    client_reply(c.client_addresses[client_id], [&](ResponseBuilder& b) {
                        return b.add_reject(RejectReply{client_id, request_no, RejectCode::kBusy});
                    });
                }
                counters.proposals_rejected += c.pending_ids.size();
            }
            c.pending = ProposalBatch{};
            c.pending_ids.clear();
        }
        while (apply_batches.try_pop(batch)) {
            client_apply(batch);
            worked = true;
        }
        client_flush();

        if (worked) {
            idle_since_us = 0;
            continue;
        }
        const uint64_t now_us = monotonic_us();
        if (idle_since_us == 0) {
            idle_since_us = now_us;
        }
        if (options.busy_poll || now_us - idle_since_us < options.spin_us) {
            continue;
        }
        client_bell.sleep(fds, kParkTimeoutUs, [&] { return !apply_batches.empty(); });
    }
}

// ---------------------------------------------------------------------------------------------
// Start and stop.

Result<std::unique_ptr<Replica>> Replica::start(ReplicaOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->logger = options.logger ? options.logger : process_logger();
    impl->id = options.id;
    const ClusterConfig& cluster = options.cluster;
    const ReplicaAddress* self = cluster.find(options.id);
    if (self == nullptr) {
        return Status(ErrorCode::kInvalidArgument,
                      "replica id " + std::to_string(options.id.value) + " not in configuration");
    }
    auto logger = impl->logger;
    const std::string prefix = "node=" + std::to_string(options.id.value);

    // Storage: recover the hard state and the log before anything can talk to peers.
    const std::string dir = cluster.data_dir_for(options.id);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return Status(ErrorCode::kIo, "cannot create data directory " + dir + ": " + ec.message());
    }
    // One process per data directory: a second copy of a running replica (or two replicas
    // configured onto one directory) would recover, trim and rewrite files under a live log.
    // The lock is taken before anything in the directory is read or written, and held (the fd
    // stays open) until this replica is destroyed; the kernel drops it if the process dies.
    const std::string lock_path = dir + "/LOCK";
    impl->lock.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (impl->lock.fd < 0) {
        return Status(ErrorCode::kIo, "cannot open " + lock_path + ": " + std::strerror(errno));
    }
    if (::flock(impl->lock.fd, LOCK_EX | LOCK_NB) != 0) {
        return Status(ErrorCode::kBusy, "data directory " + dir +
                                                " is in use by another replica process (" +
                                                lock_path + " is locked)");
    }
    Result<std::unique_ptr<storage::HardStateFile>> hs =
            storage::HardStateFile::open(dir, cluster.fsync);
    if (!hs.is_ok()) {
        return hs.status();
    }
    impl->hard_state_file = std::move(hs).value();
    storage::LogOptions log_options;
    log_options.dir = dir;
    log_options.segment_size_bytes = cluster.segment_size_bytes;
    log_options.fsync = cluster.fsync;
    log_options.backend = parse_backend(cluster.storage_backend);
    log_options.log = make_log_sink(logger, prefix);
    std::vector<storage::Record> recovered;
    Result<std::unique_ptr<storage::SegmentedLog>> log =
            storage::SegmentedLog::open(std::move(log_options), &recovered);
    if (!log.is_ok()) {
        return log.status();
    }
    impl->log = std::move(log).value();
    const storage::DurableHardState durable = impl->hard_state_file->current();
    logger->info("{} term={} recovered vote={} entries={} last={} data_dir={} fsync={}", prefix,
                 durable.term.value, durable.vote.value, recovered.size(),
                 impl->log->last_index().value, dir, cluster.fsync ? "on" : "off");

    std::vector<Entry> entries;
    entries.reserve(recovered.size());
    for (storage::Record& r : recovered) {
        if (r.type > static_cast<uint8_t>(consensus::EntryType::kCommand)) {
            return Status(ErrorCode::kCorruption,
                          dir + ": record " + std::to_string(r.index.value) + " has entry type " +
                                  std::to_string(r.type));
        }
        entries.push_back(Entry{r.term, r.index, static_cast<consensus::EntryType>(r.type),
                                std::move(r.payload)});
    }
    recovered.clear();
    if (!entries.empty() && entries.back().term > durable.term) {
        return Status(ErrorCode::kCorruption, dir + ": the log holds term " +
                                                      std::to_string(entries.back().term.value) +
                                                      " but the hard state only term " +
                                                      std::to_string(durable.term.value));
    }

    consensus::Options raft_options;
    raft_options.id = options.id;
    for (const ReplicaAddress& r : cluster.replicas) {
        raft_options.voters.push_back(r.id);
    }
    raft_options.election_timeout_min_us = cluster.election_timeout_min_ms * 1000;
    raft_options.election_timeout_max_us = cluster.election_timeout_max_ms * 1000;
    raft_options.heartbeat_interval_us = cluster.heartbeat_interval_ms * 1000;
    raft_options.append_entries_max = cluster.append_entries_max;
    raft_options.append_bytes_max = cluster.append_bytes_max;
    raft_options.inflight_appends_max = cluster.inflight_appends_max;
    raft_options.seed = options.seed != 0
                                ? options.seed
                                : (monotonic_ns() * 0x9e3779b97f4a7c15ull) ^ options.id.value;
    raft_options.log = make_log_sink(logger, "");
    impl->raft = std::make_unique<consensus::Raft>(
            std::move(raft_options), HardState{durable.term, durable.vote}, std::move(entries));

    // Dataplane: the peer transport and the client socket.
    dataplane::TransportOptions transport_options;
    transport_options.kind = cluster.transport;
    transport_options.self = options.id;
    for (const ReplicaAddress& r : cluster.replicas) {
        transport_options.peers.push_back(dataplane::PeerAddress{r.id, r.host, r.raft_port, r.mac});
    }
    transport_options.mtu_bytes = cluster.mtu_bytes;
    transport_options.framing = cluster.framing;
    transport_options.interface = self->interface;
    transport_options.dpdk_port = self->dpdk_port;
    transport_options.ring_frames = cluster.ring_frames;
    transport_options.af_packet_rx_version = cluster.af_packet_rx_version;
    transport_options.eal_args = self->eal_args.empty() ? cluster.eal_args : self->eal_args;
    transport_options.log = make_log_sink(logger, prefix);
    Result<std::unique_ptr<dataplane::Transport>> transport =
            dataplane::make_transport(transport_options);
    if (!transport.is_ok()) {
        return transport.status();
    }
    impl->transport = std::move(transport).value();
    dataplane::ChannelOptions channel_options;
    channel_options.cluster_id = cluster.cluster_id;
    channel_options.self = options.id;
    impl->channel =
            std::make_unique<dataplane::MessageChannel>(impl->transport.get(), channel_options);

    Result<sockaddr_in> client_addr = dataplane::parse_ipv4(self->host, self->client_port);
    if (!client_addr.is_ok()) {
        return client_addr.status();
    }
    Result<std::unique_ptr<dataplane::UdpSocket>> client_socket =
            dataplane::UdpSocket::open(client_addr.value(), cluster.mtu_bytes, 64, 4 << 20);
    if (!client_socket.is_ok()) {
        return client_socket.status();
    }
    impl->client_socket = std::move(client_socket).value();
    impl->client = std::make_unique<ClientState>(cluster.mtu_bytes);
    impl->client->rx.resize(64);
    for (const ReplicaAddress& r : cluster.replicas) {
        impl->client->endpoints[r.id.value] = r.host + ":" + std::to_string(r.client_port);
    }
    impl->sequencer = std::make_unique<Sequencer>();
    logger->info("{} started transport={} raft={}:{} client={}:{} replicas={}", prefix,
                 impl->transport->name(), self->host, self->raft_port, self->host,
                 self->client_port, cluster.replicas.size());
    impl->options = std::move(options);  // `cluster` and `self` dangle from here on.

    Impl* p = impl.get();
    p->publish();
    p->running.store(true);
    p->storage_thread = std::thread([p] { p->storage_loop(); });
    p->core_thread = std::thread([p] { p->core_loop(); });
    p->client_thread = std::thread([p] { p->client_loop(); });
    return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Replica::~Replica() {
    stop();
}

void Replica::stop() {
    if (!impl_->running.exchange(false)) {
        return;
    }
    impl_->core_bell.ring();
    impl_->client_bell.ring();
    impl_->storage_parker.unpark();
    impl_->core_thread.join();
    impl_->client_thread.join();
    impl_->storage_thread.join();
    // Apply whatever the core committed but the client stage had not taken yet, so the sequencer
    // reflects every commit this replica learned.
    ApplyBatch batch;
    while (impl_->apply_batches.try_pop(batch)) {
        impl_->client_apply(batch);
    }
    for (ApplyBatch& b : impl_->apply_backlog) {
        impl_->client_apply(b);
    }
    impl_->apply_backlog.clear();
}

NodeId Replica::id() const noexcept {
    return impl_->id;
}

ReplicaStatus Replica::status() const noexcept {
    ReplicaStatus s;
    s.id = impl_->id;
    s.role = static_cast<Role>(impl_->pub_role.load(std::memory_order_relaxed));
    s.term = Term{impl_->pub_term.load(std::memory_order_relaxed)};
    s.leader = NodeId{impl_->pub_leader.load(std::memory_order_relaxed)};
    s.commit_index = LogIndex{impl_->pub_commit.load(std::memory_order_relaxed)};
    s.durable_index = LogIndex{impl_->pub_durable.load(std::memory_order_relaxed)};
    s.applied_seq = impl_->pub_applied_seq.load(std::memory_order_acquire);
    return s;
}

const Sequencer& Replica::sequencer() const {
    RLOG_ASSERT(!impl_->running.load());
    return *impl_->sequencer;
}

ReplicaCounters Replica::counters() const {
    RLOG_ASSERT(!impl_->running.load());
    ReplicaCounters c = impl_->counters;
    c.raft = impl_->raft->stats();
    c.fsyncs = impl_->log->stats().syncs;
    c.records_synced = impl_->log->stats().records_synced;
    const dataplane::ChannelStats& cs = impl_->channel->stats();
    for (uint64_t d : cs.frames_dropped) {
        c.peer_frames_dropped += d;
    }
    return c;
}

}  // namespace rlog::node
