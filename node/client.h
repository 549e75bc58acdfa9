// SPDX-License-Identifier: Apache-2.0
//
// `Client`: the rlog client library used by `rlog client`, by `rlog bench`'s load generator and
// by tests. It submits messages to the cluster over UDP (node/client_protocol.h) and reports each
// one's sequence number once the cluster has committed it.
//
// Exactly-once from the client side: every message gets a request number (1, 2, 3, ...) once, at
// submit(); every resend uses the same number, so the sequencer (node/sequencer.h) gives a retry
// its original sequence number. Each request carries ack_below = the lowest request number not yet
// acknowledged, which lets the replicas forget the answers this client already holds.
//
// Routing: requests go to the current target, initially endpoints[0]. A Redirect naming the
// leader's client endpoint switches the target to it; a Redirect without a leader, a
// not_leader Reject, or a retry timeout while the target has acknowledged nothing for a whole
// retry timeout switches to the next endpoint of the list (round robin).
// Queued submits are packed many per datagram (one frame per datagram, at most mtu_bytes).
//
// Threading: single owner; nothing blocks except wait() and read(). Time is passed in as
// `now_ns` (CLOCK_MONOTONIC nanoseconds, see Client::now_ns) so the caller controls it.
// Errors: open() kInvalidArgument (bad options or endpoint) or kIo (socket); submit() kBusy
// (outstanding_max reached) or kInvalidArgument (data too large for one datagram); read()
// kTimeout, kNotFound (from_seq no longer retained) or kInvalidArgument.

#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "dataplane/udp_socket.h"
#include "node/client_protocol.h"
#include "node/sequencer.h"

namespace rlog::node {

struct ClientOptions {
    std::vector<std::string> endpoints;  // Replica client endpoints, "a.b.c.d:port".
    uint32_t cluster_id = 1;
    // 0: drawn at random from `seed` (or from the clock if seed is 0). A client id must not be
    // reused by another Client instance: request numbers restart at 1, so the new requests
    // collide with the old session's; replicas answer them with `stale` or `conflict` rejects
    // (see node/sequencer.h), which fail those requests.
    uint64_t client_id = 0;
    uint64_t seed = 0;
    size_t outstanding_max = 64;  // Submitted but not yet acknowledged.
    // request_no - (lowest unacknowledged request_no) stays below this, so the sequencer never
    // forgets a request this client may still retry (node/sequencer.h). Must not exceed the
    // replicas' client window (kClientWindowMax unless configured otherwise).
    size_t window_max = kClientWindowMax;
    uint64_t retry_timeout_us = 200'000;  // Resend (same request_no) after this long unanswered.
    size_t mtu_bytes = 8192;
    std::string bind_host = "127.0.0.1";  // Local address; port chosen by the kernel.
};

// One finished request: acknowledged with its sequence number, or failed with a reject code
// that retrying cannot fix (too_large, expired, malformed); then seq == 0 and failed == true.
struct ClientAck {
    uint64_t request_no = 0;
    uint64_t seq = 0;
    Term term;
    LogIndex index;
    uint64_t intended_ns = 0;  // As passed to submit(): latency is acked_ns - intended_ns.
    uint64_t acked_ns = 0;     // The poll() `now_ns` at which the answer was received.
    uint32_t retries = 0;      // Resends of this request (timeouts, redirects, busy).
    bool failed = false;
    RejectCode reject_code = RejectCode::kBusy;  // Meaningful only if failed.
};

struct ReadResult {
    std::vector<SequencedMessage> messages;  // Consecutive seqs starting at from_seq.
    uint64_t last_committed_seq = 0;         // As known by the replica that answered.
};

struct ClientCounters {
    uint64_t datagrams_sent = 0;
    uint64_t submits_sent = 0;  // Ops, first sends and resends.
    uint64_t retries = 0;       // Resends.
    uint64_t redirects = 0;
    uint64_t rejects = 0;
    uint64_t acks = 0;
    uint64_t stray_replies = 0;  // Replies for unknown or already-finished requests.
    uint64_t garbled = 0;        // Datagrams that failed frame or payload checks.
    uint64_t send_failures = 0;  // Datagrams the kernel did not accept.
    uint64_t target_changes = 0;
};

class Client {
  public:
    static Result<std::unique_ptr<Client>> open(const ClientOptions& options);
    ~Client();

    // Queues `data` as the next request and returns its request_no (1, 2, 3, ...). It is sent by
    // the next poll(). Errors: kBusy when outstanding_max requests are unacknowledged;
    // kInvalidArgument when data is longer than submit_data_max(mtu_bytes).
    Result<uint64_t> submit(std::span<const uint8_t> data, uint64_t intended_ns);

    // Non-blocking: receives answers (appending finished requests to `done`), resends timed-out
    // requests, and sends queued ones. Returns the number of entries appended to `done`.
    size_t poll(uint64_t now_ns, std::vector<ClientAck>* done);

    // Blocks until a datagram arrives, the next retry deadline, or `timeout_us`, whichever first.
    void wait(uint64_t timeout_us);

    // Blocking helper for `rlog tail`: reads up to `max` committed messages from `from_seq`,
    // following redirects and rotating replicas on timeout. Do not mix with outstanding submits'
    // latency measurements (it drives poll internally; finished submits are kept for next poll).
    Result<ReadResult> read(uint64_t from_seq, uint32_t max, uint64_t timeout_us);

    uint64_t client_id() const { return client_id_; }
    size_t outstanding() const { return pending_.size(); }
    const ClientCounters& counters() const { return counters_; }
    std::string target() const;
    sockaddr_in local_address() const;

    static uint64_t now_ns();

  private:
    struct Pending {
        std::vector<uint8_t> data;
        uint64_t intended_ns = 0;
        uint64_t last_sent_ns = 0;  // 0: queued, never sent.
        uint32_t retries = 0;
        bool queued = false;  // In send_queue_.
    };

    explicit Client(const ClientOptions& options);
    void receive(uint64_t now_ns, std::vector<ClientAck>* done);
    void handle_response(std::span<const uint8_t> payload,
                         uint64_t now_ns,
                         std::vector<ClientAck>* done);
    void check_timeouts(uint64_t now_ns);
    void flush(uint64_t now_ns);
    void send_payload(std::span<const uint8_t> payload);
    void queue_resend(uint64_t request_no);
    void rotate_target();
    void set_target(const sockaddr_in& addr);

    ClientOptions options_;
    uint64_t client_id_ = 0;
    std::unique_ptr<dataplane::UdpSocket> socket_;
    std::vector<sockaddr_in> endpoints_;
    size_t endpoint_index_ = 0;
    sockaddr_in target_{};
    uint64_t next_request_no_ = 1;
    uint64_t next_read_id_ = 1;
    uint64_t next_message_id_ = 1;
    // Invariant: pending_.size() <= options_.outstanding_max; keys < next_request_no_.
    std::map<uint64_t, Pending> pending_;
    std::deque<uint64_t> send_queue_;  // Request numbers to (re)send; may hold finished ones.
    uint64_t next_deadline_ns_ = 0;    // No pending request times out before this.
    uint64_t last_ack_ns_ = 0;         // When the current target last acknowledged something.
    RequestBuilder builder_;
    std::vector<uint8_t> frame_;
    ParsedResponse parsed_;
    // read(): the outstanding read and its answer.
    uint64_t read_waiting_id_ = 0;
    bool read_done_ = false;
    bool read_not_retained_ = false;
    ReadResult read_result_;
    std::vector<ClientAck> held_acks_;  // Finished submits seen during read().
    ClientCounters counters_;
};

}  // namespace rlog::node
