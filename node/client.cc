// SPDX-License-Identifier: Apache-2.0

#include "node/client.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>

#include "common/assert.h"
#include "dataplane/frame.h"

namespace rlog::node {
namespace {

// Pause before resending a request that a replica refused for not knowing the leader.
constexpr uint64_t kNotLeaderBackoffNs = 10'000'000;

// Read ids live in their own half of the number space so a Redirect or Reject that names a
// request number can never be confused with one that names a read.
constexpr uint64_t kReadIdBit = uint64_t{1} << 63;
constexpr size_t kReceiveBurst = 64;
constexpr size_t kReceiveBurstsPerPoll = 16;  // Bounds the work of one poll().
constexpr size_t kSocketBufferBytes = 4 << 20;

}  // namespace

uint64_t Client::now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
}

Client::Client(const ClientOptions& options)
        : options_(options), builder_(client_payload_max(options.mtu_bytes)) {
    frame_.resize(options_.mtu_bytes);
}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::open(const ClientOptions& options) {
    if (options.endpoints.empty()) {
        return Status(ErrorCode::kInvalidArgument, "client: no replica endpoints");
    }
    if (options.outstanding_max == 0) {
        return Status(ErrorCode::kInvalidArgument, "client: outstanding_max must be >= 1");
    }
    if (options.retry_timeout_us == 0) {
        return Status(ErrorCode::kInvalidArgument, "client: retry_timeout_us must be >= 1");
    }
    if (options.mtu_bytes < 512 || options.mtu_bytes > 65507) {
        return Status(ErrorCode::kInvalidArgument, "client: mtu_bytes must be in 512..65507");
    }
    std::unique_ptr<Client> c(new Client(options));
    for (const std::string& e : options.endpoints) {
        Result<sockaddr_in> addr = dataplane::parse_ipv4_endpoint(e);
        if (!addr.is_ok()) {
            return addr.status();
        }
        c->endpoints_.push_back(addr.value());
    }
    c->target_ = c->endpoints_[0];
    Result<sockaddr_in> bind_addr = dataplane::parse_ipv4(options.bind_host, 0);
    if (!bind_addr.is_ok()) {
        return bind_addr.status();
    }
    auto socket = dataplane::UdpSocket::open(bind_addr.value(), options.mtu_bytes, kReceiveBurst,
                                             kSocketBufferBytes);
    if (!socket.is_ok()) {
        return socket.status();
    }
    c->socket_ = std::move(socket.value());
    c->client_id_ = options.client_id;
    if (c->client_id_ == 0) {
        uint64_t seed = options.seed;
        if (seed == 0) {
            seed = now_ns() ^ (uint64_t{std::random_device{}()} << 32);
        }
        std::mt19937_64 rng(seed);
        do {
            c->client_id_ = rng();
        } while (c->client_id_ == 0);
    }
    return c;
}

std::string Client::target() const {
    return dataplane::format_ipv4(target_);
}

sockaddr_in Client::local_address() const {
    return socket_->local_address();
}

Result<uint64_t> Client::submit(std::span<const uint8_t> data, uint64_t intended_ns) {
    if (data.size() > submit_data_max(options_.mtu_bytes)) {
        return Status(ErrorCode::kInvalidArgument,
                      "message of " + std::to_string(data.size()) + " bytes exceeds " +
                              std::to_string(submit_data_max(options_.mtu_bytes)) +
                              " (one datagram of mtu_bytes)");
    }
    if (pending_.size() >= options_.outstanding_max) {
        return Status(ErrorCode::kBusy, "");
    }
    // One unanswered old request holds the window: newer ones wait until it is acknowledged
    // rather than push it out of the session (it would then be answered "expired").
    if (!pending_.empty() && next_request_no_ - pending_.begin()->first >= options_.window_max) {
        return Status(ErrorCode::kBusy, "");
    }
    const uint64_t request_no = next_request_no_++;
    RLOG_ASSERT(request_no < kReadIdBit);
    Pending& p = pending_[request_no];
    p.data.assign(data.begin(), data.end());
    p.intended_ns = intended_ns;
    p.queued = true;
    send_queue_.push_back(request_no);
    RLOG_ASSERT(pending_.size() <= options_.outstanding_max);
    return request_no;
}

size_t Client::poll(uint64_t now_ns, std::vector<ClientAck>* done) {
    const size_t before = done->size();
    if (!held_acks_.empty()) {
        done->insert(done->end(), held_acks_.begin(), held_acks_.end());
        held_acks_.clear();
    }
    receive(now_ns, done);
    check_timeouts(now_ns);
    flush(now_ns);
    return done->size() - before;
}

void Client::wait(uint64_t timeout_us) {
    if (!pending_.empty() && next_deadline_ns_ != std::numeric_limits<uint64_t>::max()) {
        const uint64_t now = now_ns();
        const uint64_t until_us = next_deadline_ns_ > now ? (next_deadline_ns_ - now) / 1000 : 0;
        timeout_us = std::min(timeout_us, until_us);
    }
    if (!send_queue_.empty()) {
        return;  // Work is ready now.
    }
    socket_->wait_readable(timeout_us);
}

void Client::receive(uint64_t now_ns, std::vector<ClientAck>* done) {
    dataplane::UdpRx rx[kReceiveBurst];
    for (size_t burst = 0; burst < kReceiveBurstsPerPoll; ++burst) {
        const size_t n = socket_->poll_burst(rx);
        for (size_t i = 0; i < n; ++i) {
            if (rx[i].truncated) {
                counters_.garbled += 1;
                continue;
            }
            dataplane::FrameHeader h;
            std::span<const uint8_t> payload;
            const auto error =
                    dataplane::decode_frame(std::span(rx[i].data, rx[i].length), &h, &payload);
            if (error != dataplane::FrameError::kNone ||
                h.kind != dataplane::FrameKind::kClientResponse ||
                h.cluster_id != options_.cluster_id || h.segment_count != 1) {
                counters_.garbled += 1;
                continue;
            }
            handle_response(payload, now_ns, done);
        }
        if (n < kReceiveBurst) {
            return;
        }
    }
}

void Client::handle_response(std::span<const uint8_t> payload,
                             uint64_t now_ns,
                             std::vector<ClientAck>* done) {
    if (parse_response(payload, &parsed_) != ProtocolError::kNone) {
        counters_.garbled += 1;
        return;
    }
    for (const AckReply& a : parsed_.acks) {
        auto it = a.client_id == client_id_ ? pending_.find(a.request_no) : pending_.end();
        if (it == pending_.end()) {
            counters_.stray_replies += 1;
            continue;
        }
        counters_.acks += 1;
        last_ack_ns_ = now_ns;
        done->push_back(ClientAck{a.request_no, a.seq, a.term, a.index, it->second.intended_ns,
                                  now_ns, it->second.retries, false, RejectCode::kBusy});
        pending_.erase(it);
    }
    bool rotate = false;
    for (const RedirectReply& d : parsed_.redirects) {
        if (d.client_id != client_id_) {
            counters_.stray_replies += 1;
            continue;
        }
        counters_.redirects += 1;
        if (d.leader_endpoint.empty()) {
            rotate = true;
        } else {
            Result<sockaddr_in> leader =
                    dataplane::parse_ipv4_endpoint(std::string(d.leader_endpoint));
            if (leader.is_ok()) {
                set_target(leader.value());
            } else {
                rotate = true;
            }
        }
        if (d.request_no == read_waiting_id_) {
            continue;  // read() notices the new target and resends the read there.
        }
        if (pending_.count(d.request_no) != 0) {
            queue_resend(d.request_no);
        }
    }
    for (const RejectReply& j : parsed_.rejects) {
        if (j.client_id != client_id_) {
            counters_.stray_replies += 1;
            continue;
        }
        counters_.rejects += 1;
        if (j.request_no == read_waiting_id_ && read_waiting_id_ != 0) {
            if (j.code == RejectCode::kNotRetained) {
                read_not_retained_ = true;
                read_done_ = true;
            } else if (j.code == RejectCode::kNotLeader) {
                rotate = true;
            }
            continue;
        }
        auto it = pending_.find(j.request_no);
        if (it == pending_.end()) {
            continue;
        }
        switch (j.code) {
            case RejectCode::kBusy:
                break;  // Resent when its retry timeout expires.
            case RejectCode::kNotLeader: {
                // No leader known there (an election, or a partition): try the next replica
                // after a short pause instead of at once, or a leaderless cluster gets a resend
                // storm (millions of datagrams a second) from every client.
                rotate = true;
                const uint64_t timeout_ns = options_.retry_timeout_us * 1000;
                const uint64_t backoff_ns = std::min<uint64_t>(kNotLeaderBackoffNs, timeout_ns);
                it->second.last_sent_ns = now_ns + backoff_ns - timeout_ns;
                next_deadline_ns_ = std::min(next_deadline_ns_, now_ns + backoff_ns);
                break;
            }
            case RejectCode::kTooLarge:
            case RejectCode::kExpired:
            case RejectCode::kMalformed:
            case RejectCode::kNotRetained:
            case RejectCode::kStale:
            case RejectCode::kConflict:
                done->push_back(ClientAck{j.request_no, 0, Term(0), LogIndex(0),
                                          it->second.intended_ns, now_ns, it->second.retries, true,
                                          j.code});
                pending_.erase(it);
                break;
        }
    }
    for (const ReadResultReply& r : parsed_.read_results) {
        if (r.client_id != client_id_ || r.read_id != read_waiting_id_ || read_waiting_id_ == 0) {
            counters_.stray_replies += 1;
            continue;
        }
        read_result_.last_committed_seq = r.last_committed_seq;
        read_result_.messages.clear();
        for (const ReadEntry& e : r.entries) {
            read_result_.messages.push_back(
                    SequencedMessage{e.seq, e.client_id, e.request_no, e.term, e.index,
                                     std::vector<uint8_t>(e.data.begin(), e.data.end())});
        }
        read_done_ = true;
    }
    if (rotate) {
        rotate_target();
    }
}

void Client::queue_resend(uint64_t request_no) {
    Pending& p = pending_.at(request_no);
    if (p.queued) {
        return;
    }
    p.queued = true;
    p.retries += 1;
    counters_.retries += 1;
    send_queue_.push_back(request_no);
}

void Client::check_timeouts(uint64_t now_ns) {
    if (now_ns < next_deadline_ns_) {
        return;
    }
    const uint64_t timeout_ns = options_.retry_timeout_us * 1000;
    uint64_t next = std::numeric_limits<uint64_t>::max();
    bool any = false;
    for (auto& [request_no, p] : pending_) {
        if (p.queued || p.last_sent_ns == 0) {
            continue;
        }
        const uint64_t deadline = p.last_sent_ns + timeout_ns;
        if (deadline <= now_ns) {
            queue_resend(request_no);
            any = true;
        } else {
            next = std::min(next, deadline);
        }
    }
    next_deadline_ns_ = next;
    if (any && last_ack_ns_ + timeout_ns <= now_ns) {
        // The target answered nothing for a whole timeout: it may be down, partitioned or no
        // longer the leader, so try the next replica. (A target that still acknowledges other
        // requests only lost a datagram; stay with it.)
        rotate_target();
    }
}

void Client::flush(uint64_t now_ns) {
    if (send_queue_.empty()) {
        return;
    }
    RLOG_ASSERT(builder_.empty());
    const uint64_t ack_below = pending_.empty() ? next_request_no_ : pending_.begin()->first;
    const uint64_t deadline = now_ns + options_.retry_timeout_us * 1000;
    // Bounded: every entry is popped once; at most one entry per pending request is queued.
    while (!send_queue_.empty()) {
        const uint64_t request_no = send_queue_.front();
        send_queue_.pop_front();
        auto it = pending_.find(request_no);
        if (it == pending_.end() || !it->second.queued) {
            continue;  // Finished (or already sent) since it was queued.
        }
        Pending& p = it->second;
        const SubmitOp op{client_id_, request_no, ack_below, p.data};
        if (!builder_.add_submit(op)) {
            send_payload(builder_.payload());
            builder_.reset();
            const bool fits = builder_.add_submit(op);
            RLOG_ASSERT(fits);  // submit() checked the size against one datagram.
        }
        p.queued = false;
        p.last_sent_ns = now_ns;
        counters_.submits_sent += 1;
    }
    if (!builder_.empty()) {
        send_payload(builder_.payload());
        builder_.reset();
    }
    next_deadline_ns_ = std::min(next_deadline_ns_, deadline);
}

void Client::send_payload(std::span<const uint8_t> payload) {
    const size_t n = write_client_frame(dataplane::FrameKind::kClientRequest, options_.cluster_id,
                                        kNoNode, next_message_id_++, payload, frame_);
    const dataplane::UdpTx tx{target_, std::span<const uint8_t>(frame_.data(), n)};
    counters_.datagrams_sent += 1;
    if (socket_->send_burst(std::span(&tx, 1)) != 1) {
        counters_.send_failures += 1;  // Recovered by the retry timeout.
    }
}

void Client::set_target(const sockaddr_in& addr) {
    if (addr.sin_addr.s_addr == target_.sin_addr.s_addr && addr.sin_port == target_.sin_port) {
        return;
    }
    target_ = addr;
    last_ack_ns_ = 0;
    counters_.target_changes += 1;
}

void Client::rotate_target() {
    endpoint_index_ = (endpoint_index_ + 1) % endpoints_.size();
    set_target(endpoints_[endpoint_index_]);
}

Result<ReadResult> Client::read(uint64_t from_seq, uint32_t max, uint64_t timeout_us) {
    if (max == 0) {
        return Status(ErrorCode::kInvalidArgument, "read: max must be >= 1");
    }
    read_waiting_id_ = kReadIdBit | next_read_id_++;
    read_done_ = false;
    read_not_retained_ = false;
    read_result_ = ReadResult{};
    const uint64_t start = now_ns();
    const uint64_t deadline = start + timeout_us * 1000;
    const uint64_t retry_ns = options_.retry_timeout_us * 1000;
    sockaddr_in sent_to{};
    uint64_t sent_at = 0;
    Status result;
    for (;;) {
        const uint64_t now = now_ns();
        const bool target_moved = sent_to.sin_addr.s_addr != target_.sin_addr.s_addr ||
                                  sent_to.sin_port != target_.sin_port;
        if (sent_at == 0 || target_moved || now >= sent_at + retry_ns) {
            if (sent_at != 0 && !target_moved) {
                rotate_target();
            }
            RLOG_ASSERT(builder_.empty());
            const bool fits =
                    builder_.add_read(ReadOp{client_id_, read_waiting_id_, from_seq, max});
            RLOG_ASSERT(fits);
            send_payload(builder_.payload());
            builder_.reset();
            sent_to = target_;
            sent_at = now;
        }
        std::vector<ClientAck> finished;
        receive(now, &finished);
        held_acks_.insert(held_acks_.end(), finished.begin(), finished.end());
        if (read_done_) {
            break;
        }
        if (now >= deadline) {
            result = Status(ErrorCode::kTimeout, "read from seq " + std::to_string(from_seq) +
                                                         ": no answer from " + target());
            break;
        }
        const uint64_t until = std::min(deadline, sent_at + retry_ns);
        socket_->wait_readable(until > now ? (until - now) / 1000 + 1 : 0);
    }
    read_waiting_id_ = 0;
    if (!result.is_ok()) {
        return result;
    }
    if (read_not_retained_) {
        return Status(ErrorCode::kNotFound,
                      "sequence " + std::to_string(from_seq) + " is no longer retained");
    }
    return std::move(read_result_);
}

}  // namespace rlog::node
