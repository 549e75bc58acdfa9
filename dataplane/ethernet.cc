// SPDX-License-Identifier: Apache-2.0

#include "dataplane/ethernet.h"

#include <cstdio>
#include <cstring>

#include "common/assert.h"
#include "dataplane/frame.h"
#include "dataplane/udp_socket.h"

namespace rlog::dataplane {
namespace {

void put_be16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

void put_be32(uint8_t* p, uint32_t v) noexcept {
    put_be16(p, static_cast<uint16_t>(v >> 16));
    put_be16(p + 2, static_cast<uint16_t>(v));
}

uint16_t get_be16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t get_be32(const uint8_t* p) noexcept {
    return (static_cast<uint32_t>(get_be16(p)) << 16) | get_be16(p + 2);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

uint16_t ipv4_checksum(const uint8_t* header) noexcept {
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) {
        sum += get_be16(header + i);
    }
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

}  // namespace

Result<MacAddress> parse_mac(std::string_view text) {
    MacAddress mac{};
    const Status bad(ErrorCode::kInvalidArgument,
                     "bad MAC address \"" + std::string(text) +
                             "\" (expected six hex pairs, e.g. 02:00:00:00:00:01)");
    if (text.size() != 17) {
        return bad;
    }
    for (size_t i = 0; i < 6; i++) {
        const int hi = hex_digit(text[3 * i]);
        const int lo = hex_digit(text[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':')) {
            return bad;
        }
        mac[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    return mac;
}

std::string format_mac(const MacAddress& mac) {
    char buf[18];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

Result<Framing> parse_framing(std::string_view text) {
    if (text == "ethernet") {
        return Framing::kEthernet;
    }
    if (text == "udp_ipv4") {
        return Framing::kUdpIpv4;
    }
    return Status(ErrorCode::kInvalidArgument,
                  "unknown framing \"" + std::string(text) + "\" (expected ethernet or udp_ipv4)");
}

const char* framing_name(Framing framing) {
    return framing == Framing::kEthernet ? "ethernet" : "udp_ipv4";
}

void encode_l2_header(Framing framing,
                      const L2Endpoint& src,
                      const L2Endpoint& dst,
                      size_t frame_bytes,
                      uint8_t* out) noexcept {
    std::memcpy(out, dst.mac.data(), 6);
    std::memcpy(out + 6, src.mac.data(), 6);
    if (framing == Framing::kEthernet) {
        RLOG_DASSERT(frame_bytes <= 0xffff);
        put_be16(out + 12, kRlogEtherType);
        put_be16(out + 14, static_cast<uint16_t>(frame_bytes));
        put_be16(out + 16, 0);
        return;
    }
    RLOG_DASSERT(frame_bytes + 28 <= 0xffff);
    put_be16(out + 12, kIpv4EtherType);
    uint8_t* ip = out + kEthernetHeaderBytes;
    ip[0] = 0x45;  // Version 4, 5 words.
    ip[1] = 0;
    put_be16(ip + 2, static_cast<uint16_t>(20 + 8 + frame_bytes));
    put_be16(ip + 4, 0);       // Identification: unused with DF.
    put_be16(ip + 6, 0x4000);  // DF, offset 0.
    ip[8] = 64;
    ip[9] = 17;  // UDP.
    put_be16(ip + 10, 0);
    put_be32(ip + 12, src.ipv4);
    put_be32(ip + 16, dst.ipv4);
    put_be16(ip + 10, ipv4_checksum(ip));
    uint8_t* udp = ip + 20;
    put_be16(udp, src.port);
    put_be16(udp + 2, dst.port);
    put_be16(udp + 4, static_cast<uint16_t>(8 + frame_bytes));
    put_be16(udp + 6, 0);  // No checksum (allowed over IPv4); the frame has its CRC32C.
}

L2Verdict decode_l2(Framing framing,
                    const L2Endpoint& self,
                    std::span<const uint8_t> packet,
                    std::span<const uint8_t>* frame) noexcept {
    if (packet.size() < kEthernetHeaderBytes) {
        return L2Verdict::kMalformed;
    }
    const uint8_t* p = packet.data();
    const uint16_t ether_type = get_be16(p + 12);
    if (std::memcmp(p, self.mac.data(), 6) != 0) {
        return L2Verdict::kForeign;
    }
    if (framing == Framing::kEthernet) {
        if (ether_type != kRlogEtherType) {
            return L2Verdict::kForeign;
        }
        if (packet.size() < l2_header_bytes(framing)) {
            return L2Verdict::kMalformed;
        }
        const size_t length = get_be16(p + 14);
        if (get_be16(p + 16) != 0 || length > packet.size() - l2_header_bytes(framing)) {
            return L2Verdict::kMalformed;
        }
        *frame = packet.subspan(l2_header_bytes(framing), length);
        return L2Verdict::kOk;
    }
    if (ether_type != kIpv4EtherType) {
        return L2Verdict::kForeign;
    }
    if (packet.size() < kEthernetHeaderBytes + 20) {
        return L2Verdict::kMalformed;
    }
    const uint8_t* ip = p + kEthernetHeaderBytes;
    if (ip[9] != 17 || get_be32(ip + 16) != self.ipv4) {
        return L2Verdict::kForeign;  // Not UDP, or to another address.
    }
    const size_t ip_length = get_be16(ip + 2);
    const bool fragment = (get_be16(ip + 6) & 0x3fff) != 0;
    if (ip[0] != 0x45 || fragment || ip_length < 28 ||
        ip_length > packet.size() - kEthernetHeaderBytes || ipv4_checksum(ip) != 0) {
        return L2Verdict::kMalformed;
    }
    const uint8_t* udp = ip + 20;
    if (get_be16(udp + 2) != self.port) {
        return L2Verdict::kForeign;
    }
    const size_t udp_length = get_be16(udp + 4);
    if (udp_length != ip_length - 20) {
        return L2Verdict::kMalformed;
    }
    *frame = packet.subspan(l2_header_bytes(framing), udp_length - 8);
    return L2Verdict::kOk;
}

Result<L2PeerTable> make_l2_peer_table(const TransportOptions& options) {
    auto invalid = [](std::string message) {
        return Status(ErrorCode::kInvalidArgument, "transport: " + std::move(message));
    };
    L2PeerTable table;
    Result<Framing> framing = parse_framing(options.framing);
    if (!framing.is_ok()) {
        return invalid(framing.status().message());
    }
    table.framing = framing.value();
    if (options.self == kNoNode) {
        return invalid("self id must be nonzero");
    }
    const size_t mtu_max = 0xffff - (l2_header_bytes(table.framing) - kEthernetHeaderBytes);
    if (options.mtu_bytes <= kFrameHeaderBytes || options.mtu_bytes > mtu_max) {
        return invalid("mtu_bytes " + std::to_string(options.mtu_bytes) + " out of range (" +
                       std::to_string(kFrameHeaderBytes + 1) + ".." + std::to_string(mtu_max) +
                       " for " + options.kind + ")");
    }
    if (options.burst_max == 0 || options.burst_max > 1024) {
        return invalid("burst_max " + std::to_string(options.burst_max) +
                       " out of range (1..1024)");
    }
    for (const PeerAddress& p : options.peers) {
        const std::string who = "peer " + std::to_string(p.id.value);
        if (p.id == kNoNode) {
            return invalid("peer id 0 is reserved (ids start at 1)");
        }
        if (table.find(p.id) != nullptr) {
            return invalid(who + " listed twice");
        }
        L2Peer peer{p.id, {}};
        if (p.mac.empty()) {
            return invalid(who + ": no MAC address (the " + options.kind +
                           " transport addresses peers by MAC)");
        }
        Result<MacAddress> mac = parse_mac(p.mac);
        if (!mac.is_ok()) {
            return invalid(who + ": " + mac.status().message());
        }
        peer.endpoint.mac = mac.value();
        if (table.framing == Framing::kUdpIpv4) {
            Result<sockaddr_in> addr = parse_ipv4(p.host, p.port);
            if (!addr.is_ok()) {
                return invalid(who + ": " + addr.status().message());
            }
            if (p.port == 0) {
                return invalid(who + ": port 0 (udp_ipv4 framing needs every port)");
            }
            peer.endpoint.ipv4 = ntohl(addr.value().sin_addr.s_addr);
            peer.endpoint.port = p.port;
        }
        table.peers.push_back(peer);
    }
    const L2Peer* self = table.find(options.self);
    if (self == nullptr) {
        return invalid("self id " + std::to_string(options.self.value) +
                       " is not in the peer table");
    }
    table.self = self->endpoint;
    return table;
}

}  // namespace rlog::dataplane
