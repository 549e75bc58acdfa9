// SPDX-License-Identifier: Apache-2.0
//
// A message channel over a `Transport`: encodes Raft messages into frames (segmenting those
// larger than one frame), sends them in bursts, and on the receive side checks, reassembles and
// decodes frames back into messages. Bad frames and undecodable messages are counted by reason in
// `ChannelStats` and dropped.
//
// Threading: `send` and `poll` may run on two different threads (send stage and receive stage)
// provided the transport allows it (udp does); each side keeps its own buffers and counters.
// No allocation in steady state beyond the messages handed out.

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "consensus/message.h"
#include "dataplane/frame.h"
#include "dataplane/transport.h"

namespace rlog::dataplane {

struct ChannelOptions {
    uint32_t cluster_id = 0;
    NodeId self;
    // Messages being reassembled at once (per channel); the oldest is dropped beyond this.
    size_t reassembly_slots_max = 64;
    // Largest message accepted; longer ones are counted (kLong) and dropped.
    size_t message_bytes_max = 64 << 20;
};

struct ChannelStats {
    uint64_t messages_sent = 0;
    uint64_t messages_received = 0;
    uint64_t segments_sent = 0;
    uint64_t frames_dropped[static_cast<size_t>(FrameError::kCount_)] = {};
    uint64_t messages_undecodable = 0;  // Reassembled payload failed decode_message.
    uint64_t reassembly_dropped = 0;    // Incomplete messages evicted (a segment was lost).
    uint64_t duplicate_segments = 0;
    uint64_t send_dropped = 0;        // Frames the transport did not send (refused or buffer full).
    uint64_t messages_too_large = 0;  // Send side: encoded size > message_bytes_max, or more
                                      // than kSegmentsMax segments; not sent.
    uint64_t reassembly_pending = 0;  // Receive side gauge: incomplete messages held now.
};

class MessageChannel {
  public:
    // `transport` must outlive the channel.
    MessageChannel(Transport* transport, ChannelOptions options);
    ~MessageChannel();

    // Encodes and sends every message (to msg.to, from options.self). A message longer than one
    // frame is split into segments of mtu_bytes - kFrameHeaderBytes; the frames of many messages
    // are collected and handed to the transport in bursts. Each message gets the next message_id
    // of this sender (starting from a clock value, so a restarted sender does not reuse recent
    // ids). When the transport lends transmit buffers (Transport::tx_buffer, dpdk) each frame is
    // encoded straight into one and the lent buffers are sent with send_lent: no copy after
    // encoding; otherwise, or for a frame the transport will not lend a buffer for, frames are
    // encoded into the channel's own buffer and sent with send_burst. Frame order is kept across
    // the two paths. Frames the transport does not send are counted as send_dropped; Raft's
    // retransmission covers them. Never blocks.
    void send(std::span<const consensus::Message> messages) noexcept;

    // Polls one burst of frames and appends every completed, decoded message to `out`. Returns
    // the number appended. Frames that fail decode_frame, belong to another cluster, are
    // addressed to another node, are not kRaft, or announce a message longer than
    // message_bytes_max are counted in frames_dropped by reason. A multi-segment message is
    // reassembled in one of reassembly_slots_max slots keyed by (sender, message_id); a repeated
    // segment (also of a message completed recently) counts as duplicate_segments; when all
    // slots are busy the oldest incomplete message is evicted (reassembly_dropped).
    size_t poll(std::vector<consensus::Message>* out) noexcept;

    // Parks until the transport may have a frame or `timeout_us` passes.
    void wait_readable(uint64_t timeout_us) noexcept;

    // Counters; the send-side and receive-side fields are written by their own threads.
    const ChannelStats& stats() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rlog::dataplane
