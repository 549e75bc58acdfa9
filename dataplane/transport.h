// SPDX-License-Identifier: Apache-2.0
//
// The dataplane: how replicas exchange frames. One burst-oriented interface, `Transport`, with
// one implementation per backend chosen at start-up: `udp` (kernel sockets, the portable
// fallback), `af_packet` (raw Ethernet frames through memory-mapped AF_PACKET rings) and `dpdk`
// (a DPDK port in poll mode). `af_packet` and `dpdk` share one wire format (ethernet.h), so the
// two can talk to each other on one L2 segment.
// A transport moves opaque frames between the replicas of a fixed peer table; it does not
// interpret them. Framing, segmentation and the message codec sit above it (`channel.h`,
// `codec.h`), so every backend shares the same length checks.
//
// Threading: single owner. `send_burst` and `poll_burst` are non-blocking and may be called from
// one thread (or `send_burst` from one thread and `poll_burst` from another, which the udp backend
// supports because the kernel socket is the only shared state; af_packet uses separate receive
// and transmit sockets and dpdk separate queues, so they allow it too, sharing only the
// counters, each field written by one side). Errors: construction returns a
// Status; the burst calls count failures in `TransportStats` and never throw.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/types.h"

namespace rlog::dataplane {

// One frame to send to `peer` (an id from the peer table). `bytes` must stay valid until
// `send_burst` returns.
struct TxFrame {
    NodeId peer;
    std::span<const uint8_t> bytes;
};

// One received frame. `data` points into the transport's receive buffers and stays valid until
// the next `poll_burst` on the same transport.
struct RxFrame {
    const uint8_t* data = nullptr;
    uint32_t length = 0;
};

struct TransportStats {
    uint64_t frames_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t frames_received = 0;
    uint64_t bytes_received = 0;
    uint64_t send_errors = 0;       // Frames the kernel or device refused (counted, dropped).
    uint64_t send_would_block = 0;  // Frames not sent because the socket or ring was full.
    uint64_t receive_errors = 0;    // af_packet: also packets dropped on a full receive ring.
    uint64_t frames_truncated = 0;  // Received frames longer than the receive buffer.
    // af_packet and dpdk: received packets that are not for this replica (another EtherType,
    // destination MAC, IPv4 address or UDP port), and packets of ours whose Ethernet/IPv4/UDP
    // headers are inconsistent (a length that does not match the bytes held). Counted, dropped.
    uint64_t frames_foreign = 0;
    uint64_t frames_malformed = 0;
    // af_packet and dpdk: send_burst calls that stopped early because the transmit ring (or the
    // device's descriptors or the mbuf pool) was full.
    uint64_t ring_full_stalls = 0;
    // Frames send_burst copied from the caller's bytes into a packet buffer of the transport's
    // own. Counted by dpdk, whose frames sent through tx_buffer/send_lent are encoded in place
    // and never counted here; udp and af_packet always copy (into the kernel or the ring) and
    // leave it 0.
    uint64_t tx_copied = 0;
};

struct PeerAddress {
    NodeId id;
    std::string host;  // IPv4 address, e.g. "127.0.0.1".
    uint16_t port = 0;
    // af_packet and dpdk: the replica's MAC address, "02:00:00:00:00:01". With the udp_ipv4
    // framing `host` and `port` also go into the IPv4 and UDP headers.
    std::string mac = {};
};

struct TransportOptions {
    std::string kind = "udp";
    NodeId self;
    // Every replica, this one included; this replica's entry gives the address to bind.
    std::vector<PeerAddress> peers;
    // Largest frame this transport sends or accepts, header included.
    size_t mtu_bytes = 8192;
    // Frames one poll_burst returns at most; sizes the preallocated receive buffers.
    size_t burst_max = 64;
    // Kernel socket buffer sizes (udp); 0 keeps the system default.
    size_t socket_buffer_bytes = 4 << 20;

    // af_packet and dpdk. The wire format (ethernet.h): "ethernet" (EtherType 0x88B5, the
    // default) or "udp_ipv4" (IPv4 + UDP headers from the peers' host and port, for routed
    // networks).
    std::string framing = "ethernet";
    // af_packet: the interface to bind ("veth0"); this replica's MAC must be the interface's.
    std::string interface;
    // af_packet: frames per ring (receive and transmit); dpdk: descriptors per queue.
    size_t ring_frames = 512;
    // af_packet: the receive ring layout. 2 (the default): TPACKET_V2, one slot per packet,
    // handed to user space at once. 3: TPACKET_V3, packets packed into blocks that are handed
    // over only when full or after rx_block_timeout_ms (timer-driven: measured 1.0-1.9 ms p50 round
    // trip at low rates here, against 1.8 us for v2), so v3 suits bulk transfer, not latency.
    int af_packet_rx_version = 2;
    uint32_t rx_block_timeout_ms = 1;
    // dpdk: the EAL arguments (without a program name), used by the first dpdk transport of the
    // process; later ones must pass the same list. E.g. {"--no-huge", "--no-pci",
    // "--in-memory", "-m", "256", "--vdev=net_af_packet0,iface=veth0"}.
    std::vector<std::string> eal_args;
    // dpdk: the device name of this replica's port ("net_af_packet0"); empty: the only port.
    std::string dpdk_port;

    LogSink log;
};

class Transport {
  public:
    virtual ~Transport() = default;

    // Sends frames in order; returns how many were consumed (a prefix of `frames`): handed to
    // the kernel or device, or refused (unknown peer, longer than mtu_bytes, a send error:
    // counted in send_errors and skipped). Frames after a full socket or ring are not sent,
    // counted in send_would_block and not included. stats().frames_sent counts what was sent.
    virtual size_t send_burst(std::span<const TxFrame> frames) noexcept = 0;

    // Buffer lending, for transmitting without a copy (optional; dpdk lends, udp and af_packet
    // do not). The sender asks for a buffer per frame, writes the whole frame into it, then sends
    // every buffer it was lent with one send_lent call:
    //
    //   tx_buffer(peer, bytes): `bytes` bytes of writable space inside one of the transport's own
    //   packet buffers (dpdk: an mbuf's data area after the L2 header of ethernet.h, already
    //   written for `peer` and `bytes`), lent for one frame of exactly `bytes` bytes to `peer`.
    //   Empty when the backend does not lend, the peer is unknown, `bytes` is 0 or more than
    //   mtu_bytes, the frame would not fit one packet buffer, burst_max buffers are lent already
    //   (send_lent first), or no packet buffer is free. Nothing is counted for an empty span: the
    //   caller falls back to send_burst, which counts the frame as usual.
    //
    //   send_lent(count): transmits the first `count` buffers lent since the last send_lent, in
    //   the order they were lent, and releases any lent after them unsent and uncounted (the
    //   caller gave them back). Returns how many were sent (a prefix); the rest did not fit the
    //   device's transmit ring: released, counted in send_would_block and ring_full_stalls.
    //   stats().frames_sent and bytes_sent count what was sent, as for send_burst.
    //   REQUIRES: count <= buffers lent since the last send_lent.
    //
    // Lifetime: a lent buffer stays valid and untouched by send_burst and poll_burst until the
    // next send_lent (or the transport's destruction, which releases it unsent); writing to it
    // afterwards is a use-after-free. A failed tx_buffer leaves earlier lent buffers valid.
    // Send side only, like send_burst.
    virtual bool lends_tx_buffers() const noexcept { return false; }
    virtual std::span<uint8_t> tx_buffer(NodeId /*peer*/, size_t /*bytes*/) noexcept { return {}; }
    virtual size_t send_lent(size_t /*count*/) noexcept { return 0; }

    // Receives up to `out.size()` frames without blocking; returns how many were written.
    virtual size_t poll_burst(std::span<RxFrame> out) noexcept = 0;

    // Blocks until a frame may be ready or `timeout_us` passes (parking for idle stages).
    virtual void wait_readable(uint64_t timeout_us) noexcept = 0;

    // A file descriptor that polls readable when a frame may be ready, so a stage can sleep on
    // it together with other descriptors (its doorbell); -1 when the backend has none (a
    // poll-mode driver), and the stage must then spin or use wait_readable().
    virtual int wait_fd() const noexcept { return -1; }

    virtual const char* name() const noexcept = 0;
    virtual size_t mtu_bytes() const noexcept = 0;
    virtual const TransportStats& stats() const noexcept = 0;
};

// Builds the transport named by `options.kind` and logs the choice once through options.log.
// Errors: kNotSupported (a known backend not in this build: "dpdk" built without DPDK),
// kInvalidArgument (unknown kind, self id 0 or missing from peers, duplicate or zero peer ids,
// bad address, port 0 for another peer, mtu_bytes or burst_max out of range; af_packet/dpdk: a
// missing or bad MAC, unknown framing, no interface, a frame that does not fit the interface
// MTU), kIo (socket or bind failed, the message names the address; af_packet without
// CAP_NET_RAW; dpdk: the EAL refused its arguments, no port found, queue set-up failed, each
// message saying which, with a hint). For udp this replica's port may be 0 (ephemeral).
Result<std::unique_ptr<Transport>> make_transport(const TransportOptions& options);

}  // namespace rlog::dataplane
