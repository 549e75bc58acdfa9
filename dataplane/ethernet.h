// SPDX-License-Identifier: Apache-2.0
//
// The wire format of the kernel-bypass transports (af_packet and dpdk): how one rlog frame
// (frame.h) travels in one Ethernet packet. Shared so an af_packet replica and a dpdk replica on
// one L2 segment talk to each other.
//
// clang-format off
// Framing "ethernet" (the default), 18 bytes before the frame:
//   offset  size  field
//        0     6  destination MAC (the receiving replica's)
//        6     6  source MAC
//       12     2  EtherType 0x88B5 (IEEE 802 local experimental 1), big-endian
//       14     2  frame length (bytes after this 4-byte shim), big-endian
//       16     2  reserved, zero
//       18        the rlog frame
// Framing "udp_ipv4", 42 bytes before the frame: Ethernet (EtherType 0x0800), IPv4 (20 bytes, no
// options, DF, TTL 64, header checksum), UDP (checksum 0) from this replica's host:port to the
// peer's; the UDP length gives the frame length.
// clang-format on
//
// The explicit frame length matters because links pad short packets to 60 bytes: the receiver
// trims to it, so the frame decoder sees exactly the frame. A packet with another EtherType,
// another destination MAC, IPv4 address or UDP port is "foreign"; one of ours whose lengths do
// not match the bytes held (or a fragment, or IPv4 options) is "malformed". Both are counted by
// the transport and dropped.

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "dataplane/transport.h"

namespace rlog::dataplane {

inline constexpr uint16_t kRlogEtherType = 0x88B5;
inline constexpr uint16_t kIpv4EtherType = 0x0800;
inline constexpr size_t kEthernetHeaderBytes = 14;
inline constexpr size_t kEthernetShimBytes = 4;

using MacAddress = std::array<uint8_t, 6>;

enum class Framing : uint8_t { kEthernet, kUdpIpv4 };

// One end of a link: the MAC always; the IPv4 address (host byte order) and UDP port only with
// kUdpIpv4.
struct L2Endpoint {
    MacAddress mac{};
    uint32_t ipv4 = 0;
    uint16_t port = 0;
};

// "02:00:00:00:00:01" (hex digits, either case, six groups). Errors: kInvalidArgument naming
// the text.
Result<MacAddress> parse_mac(std::string_view text);
std::string format_mac(const MacAddress& mac);

// "ethernet" or "udp_ipv4". Errors: kInvalidArgument naming the text.
Result<Framing> parse_framing(std::string_view text);
const char* framing_name(Framing framing);

// Bytes before the frame: 18 (kEthernet) or 42 (kUdpIpv4).
constexpr size_t l2_header_bytes(Framing framing) {
    return framing == Framing::kEthernet ? kEthernetHeaderBytes + kEthernetShimBytes
                                         : kEthernetHeaderBytes + 20 + 8;
}

// Bytes the link layer carries after the 14-byte Ethernet header for a frame of frame_bytes
// (what must fit the interface MTU).
constexpr size_t l2_link_payload_bytes(Framing framing, size_t frame_bytes) {
    return l2_header_bytes(framing) - kEthernetHeaderBytes + frame_bytes;
}

// Writes the l2_header_bytes(framing) bytes that precede a frame of frame_bytes from `src` to
// `dst` into `out` (REQUIRES: frame_bytes fits the 16-bit length fields).
void encode_l2_header(Framing framing,
                      const L2Endpoint& src,
                      const L2Endpoint& dst,
                      size_t frame_bytes,
                      uint8_t* out) noexcept;

enum class L2Verdict : uint8_t { kOk, kForeign, kMalformed };

// Checks a received packet addressed to `self` and on kOk sets `frame` to the rlog frame in it
// (padding removed).
L2Verdict decode_l2(Framing framing,
                    const L2Endpoint& self,
                    std::span<const uint8_t> packet,
                    std::span<const uint8_t>* frame) noexcept;

// The peer table of an Ethernet transport, checked from TransportOptions.
struct L2Peer {
    NodeId id;
    L2Endpoint endpoint;
};
struct L2PeerTable {
    Framing framing = Framing::kEthernet;
    L2Endpoint self;
    std::vector<L2Peer> peers;  // Every replica, this one included.

    const L2Peer* find(NodeId id) const noexcept {
        for (const L2Peer& p : peers) {
            if (p.id == id) {
                return &p;
            }
        }
        return nullptr;
    }
};

// Checks what af_packet and dpdk share: self id nonzero and in the table, peer ids nonzero and
// unique, a valid MAC for every peer, the framing, with udp_ipv4 a valid IPv4 address and a
// nonzero port for every peer, mtu_bytes > kFrameHeaderBytes with the frame plus headers in
// 16 bits, burst_max 1..1024. Errors: kInvalidArgument starting with "transport: ".
Result<L2PeerTable> make_l2_peer_table(const TransportOptions& options);

}  // namespace rlog::dataplane
