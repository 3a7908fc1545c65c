// Frame classification: Ethernet (one optional 802.1Q tag), ARP, IPv4, IPv6 (with its extension
// header chain), TCP and UDP, with a bounds check on every length field. Works on plain bytes so it
// is testable without EAL; the worker hands it the first segment of each mbuf and the frame's length.
#pragma once

#include <cstdint>

#include "byte_order.h"
#include "drop_reason.h"
#include "net_types.h"
#include "tcp_state.h"  // kTcpFin, kTcpSyn, kTcpRst, kTcpAck

namespace dplb {

enum class Kind : uint8_t {
    drop,         // malformed: `drop` says why
    arp_request,  // ARP who-has (Ethernet/IPv4); arp_target is the address asked for
    nd_solicit,   // IPv6 neighbour solicitation (RFC 4861 §4.3) with hop limit 255; nd_target is asked for
    l4,           // IPv4/IPv6 TCP or UDP, headers complete; the flow fields are set (a first fragment too)
    fragment,     // a later fragment (offset > 0): ports unknown; addresses, proto and frag_id set.
                  // IPv4: of TCP/UDP only. IPv6: any, proto being what its fragment header names
                  // (the fragmentable part may start with destination options, RFC 8200 §4.5)
    // An ICMP error (IPv4 type 3 or 11, ICMPv6 type 1, 2 or 3) about a TCP/UDP packet that the address
    // it came to sent: the flow fields are those of the connection it is about, as the client sent
    // it (src = the inner destination, dst = the outer destination = the inner source, sport = inner
    // dport, dport = inner sport, proto = the inner protocol); l4_off is the ICMP header.
    icmp_error,
    other,        // anything else well formed: ARP replies, other ICMP, VRRP, IPv6 ND, non-IP
};

// Ethernet header, one 802.1Q tag (Parsed::l3_off is past it when the frame has one).
constexpr uint16_t kEthHeaderLen = 14;
constexpr uint16_t kVlanTagLen = 4;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherIpv4 = 0x0800;

// Parsed::frag. A fragment of another protocol is Kind::other (the kernel's, as whole packets of
// it are). An IPv6 fragment header with offset 0 and no more fragments (an atomic fragment, RFC
// 6946) is a whole packet.
enum : uint8_t { kFragNone = 0, kFragFirst = 1, kFragLater = 2 };

// Plain data without member initialisers: the processor keeps a burst's worth on its stack, and
// constructing 64 of them per burst showed up as memset in the profile. parse_frame sets every field
// a reader of its Kind may look at.
struct Parsed {
    Kind kind;
    Drop drop;                      // Kind::drop only
    uint8_t family;                 // 4 or 6 for IP kinds
    uint8_t proto;                  // IP protocol (Kind::icmp_error: the inner packet's)
    uint8_t tcp_flags;              // TCP only
    uint8_t frag;                   // kFragNone, kFragFirst (Kind::l4) or kFragLater (Kind::fragment)
    bool dst_mac_broadcast_or_multicast;
    uint16_t l3_off;                // start of the ARP/IP header
    uint16_t l4_off;                // start of the TCP/UDP header
    uint16_t sport;                 // host byte order
    uint16_t dport;
    uint32_t frag_id;               // the IP identification of a fragment (IPv4: 16 bits)
    uint32_t arp_target_be;         // ARP request: the address asked for
    uint32_t src4_be, dst4_be;      // IPv4
    const uint8_t* src6;            // IPv6, pointing into the frame
    const uint8_t* dst6;
    const uint8_t* nd_target;       // Kind::nd_solicit: the target address, in the frame
};

// The frame a director sees most: untagged IPv4 without options or fragmentation, carrying TCP or
// UDP, its headers in the first segment. Parsed in one go, without the layer-by-layer copies of the
// general path, which gives the same answer for these frames (tests/test_parse.cc checks that);
// false, with `p` untouched, for anything else. Inline: the processor parses into its burst array in
// place, with no zeroing or copy of a whole Parsed; it sets every field a reader of Kind::l4 may read.
inline bool parse_common(Parsed& p, const uint8_t* f, uint32_t seg, uint32_t wire) {
    if (seg > wire) seg = wire;
    if (seg < kEthHeaderLen + 20 + 8) return false;
    // The ethertype and the version / header length byte in one load: 08 00 45 (bytes 12..14).
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "words compared as little-endian");
    uint32_t type_vihl;
    __builtin_memcpy(&type_vihl, f + 12, 4);
    if ((type_vihl & 0x00ffffff) != (0x45u << 16 | (kEtherIpv4 & 0xff) << 8 | kEtherIpv4 >> 8)) return false;
    const uint8_t* h = f + kEthHeaderLen;
    uint32_t total = get_be16(h + 2);
    uint16_t frag;  // MF and the offset (0x3fff in network order), read as a little-endian word
    __builtin_memcpy(&frag, h + 6, 2);
    if (total > wire - kEthHeaderLen || (frag & 0xff3f) != 0) return false;
    const uint8_t* l4 = h + 20;
    if (h[9] == kProtoTcp) {
        if (seg < kEthHeaderLen + 40 || total < 40) return false;  // before reading the data offset
        uint32_t doff = (l4[12] >> 4) * 4u;
        if (doff < 20 || doff > total - 20) return false;
        p.tcp_flags = l4[13];
    } else if (h[9] == kProtoUdp) {
        uint32_t ulen = get_be16(l4 + 4);
        if (total < 28 || ulen < 8 || ulen > total - 20) return false;
        p.tcp_flags = 0;
    } else {
        return false;
    }
    p.kind = Kind::l4;
    p.drop = Drop::count;
    p.frag = kFragNone;
    p.family = 4;
    p.proto = h[9];
    p.dst_mac_broadcast_or_multicast = (f[0] & 1) != 0;
    p.l3_off = kEthHeaderLen;
    p.l4_off = kEthHeaderLen + 20;
    p.sport = get_be16(l4);
    p.dport = get_be16(l4 + 2);
    __builtin_memcpy(&p.src4_be, h + 12, 4);
    __builtin_memcpy(&p.dst4_be, h + 16, 4);
    return true;
}

// `seg_len` bytes are contiguous at `frame` (an mbuf's first segment, data_len), of a frame `wire_len`
// bytes long (pkt_len). Headers are read from the first segment only; length fields are checked
// against the whole frame, so a valid frame that arrives in several segments parses as it would in
// one, and one whose headers do not all fit in the first segment is dropped as headers_split.
Parsed parse_frame(const uint8_t* frame, uint32_t seg_len, uint32_t wire_len);
// The same without the fast path for the common IPv4 TCP/UDP frame: every frame layer by layer (the
// reference the fast path is tested against).
Parsed parse_frame_general(const uint8_t* frame, uint32_t seg_len, uint32_t wire_len);
// A frame in one piece.
inline Parsed parse_frame(const uint8_t* frame, uint32_t len) { return parse_frame(frame, len, len); }

}  // namespace dplb
