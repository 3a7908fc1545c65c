// Parser field extraction (the golden tests cover verdicts and drop reasons end to end).
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "frame_builder.h"
#include "parse.h"

namespace dplb::test {
namespace {

const L2 kL2{mac("02:00:00:00:00:01"), mac("02:00:00:00:00:aa")};

TEST(Parse, Ipv4TcpFields) {
    Bytes f = tcp(kL2, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpSyn | kTcpAck, 10);
    Parsed p = parse_frame(f.data(), static_cast<uint32_t>(f.size()));
    ASSERT_EQ(p.kind, Kind::l4);
    EXPECT_EQ(p.family, 4);
    EXPECT_EQ(p.proto, kProtoTcp);
    EXPECT_EQ(p.sport, 40000);
    EXPECT_EQ(p.dport, 80);
    EXPECT_EQ(p.tcp_flags, kTcpSyn | kTcpAck);
    EXPECT_EQ(p.src4_be, ip("192.0.2.1").v4_be());
    EXPECT_EQ(p.dst4_be, ip("10.0.0.100").v4_be());
    EXPECT_EQ(p.l3_off, 14);
    EXPECT_EQ(p.l4_off, 34);
    EXPECT_FALSE(p.dst_mac_broadcast_or_multicast);
}

TEST(Parse, VlanUdpIpv6Fields) {
    Bytes f = udp(L2{kL2.dst, kL2.src, 100}, "2001:db8::1", "2001:db8::100", 5353, 53, 3);
    Parsed p = parse_frame(f.data(), static_cast<uint32_t>(f.size()));
    ASSERT_EQ(p.kind, Kind::l4);
    EXPECT_EQ(p.family, 6);
    EXPECT_EQ(p.l3_off, 18);
    EXPECT_EQ(p.l4_off, 58);
    EXPECT_EQ(p.sport, 5353);
    EXPECT_EQ(p.dport, 53);
    EXPECT_EQ(IpAddr::from_v6(p.dst6), ip("2001:db8::100"));
}

TEST(Parse, FragmentFields) {
    Bytes syn = tcp(kL2, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpSyn);
    Bytes l4(syn.begin() + 34, syn.end());
    // IPv4 first fragment (MF, offset 0): ports parsed, id kept.
    Bytes first = with_ip_id(ipv4(kL2, "192.0.2.1", "10.0.0.100", kProtoTcp, l4, 0x2000), 0xbeef);
    Parsed p = parse_frame(first.data(), static_cast<uint32_t>(first.size()));
    ASSERT_EQ(p.kind, Kind::l4);
    EXPECT_EQ(p.frag, kFragFirst);
    EXPECT_EQ(p.frag_id, 0xbeefu);
    EXPECT_EQ(p.dport, 80);
    // DF alone is a whole packet.
    Bytes df = ipv4(kL2, "192.0.2.1", "10.0.0.100", kProtoTcp, l4, 0x4000);
    p = parse_frame(df.data(), static_cast<uint32_t>(df.size()));
    ASSERT_EQ(p.kind, Kind::l4);
    EXPECT_EQ(p.frag, kFragNone);
    // A later one (offset 8 bytes, DF ignored): no ports.
    Bytes later = with_ip_id(ipv4(kL2, "192.0.2.1", "10.0.0.100", kProtoUdp, Bytes(16, 0xff), 0x4001), 0x0102);
    p = parse_frame(later.data(), static_cast<uint32_t>(later.size()));
    ASSERT_EQ(p.kind, Kind::fragment);
    EXPECT_EQ(p.frag, kFragLater);
    EXPECT_EQ(p.frag_id, 0x0102u);
    EXPECT_EQ(p.proto, kProtoUdp);
    EXPECT_EQ(p.dst4_be, ip("10.0.0.100").v4_be());
    // IPv6: hop-by-hop, then a fragment header with offset 16 bytes and a 32-bit id.
    Bytes ext{44, 0, 1, 4, 0, 0, 0, 0, kProtoTcp, 0, 0x00, 0x10 | 1, 0xca, 0xfe, 0xba, 0xbe};
    ext.resize(ext.size() + 24, 0xee);
    Bytes six = ipv6(kL2, "2001:db8::1", "2001:db8::100", 0, ext);
    p = parse_frame(six.data(), static_cast<uint32_t>(six.size()));
    ASSERT_EQ(p.kind, Kind::fragment);
    EXPECT_EQ(p.frag_id, 0xcafebabeu);
    EXPECT_EQ(p.proto, kProtoTcp);
    EXPECT_EQ(IpAddr::from_v6(p.dst6), ip("2001:db8::100"));
}

TEST(Parse, EthernetPaddingBeyondIpLengthIsFine) {
    Bytes f = tcp(kL2, "192.0.2.1", "10.0.0.100", 1, 2, kTcpAck);
    f.resize(f.size() + 6, 0);  // padded to the 60-byte minimum
    EXPECT_EQ(parse_frame(f.data(), static_cast<uint32_t>(f.size())).kind, Kind::l4);
}

TEST(Parse, EveryPrefixOfAFrameIsHandled) {
    // No prefix of a valid frame may be read past its end (ASan would catch it) or be misclassified
    // as a complete L4 packet.
    for (Bytes f : {tcp(kL2, "192.0.2.1", "10.0.0.100", 1, 2, kTcpAck),
                    udp(L2{kL2.dst, kL2.src, 5}, "2001:db8::1", "2001:db8::100", 1, 2, 4)}) {
        for (size_t n = 0; n < f.size(); n++) {
            Bytes cut(f.begin(), f.begin() + static_cast<long>(n));
            Parsed p = parse_frame(cut.data(), static_cast<uint32_t>(cut.size()));
            EXPECT_EQ(p.kind, Kind::drop) << "prefix of " << n << " bytes";
        }
    }
}

// A frame that arrives as two mbuf segments: the parser sees only the first (data_len) but knows the
// frame's length (pkt_len). A valid 2,084-byte frame used to fail as ipv4_bad_total_length.
TEST(Parse, MultiSegmentFrameParsesFromItsFirstSegment) {
    Bytes f = tcp(kL2, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck, 2030);
    ASSERT_EQ(f.size(), 2084u);
    Bytes first(f.begin(), f.begin() + 2048);  // RTE_MBUF_DEFAULT_DATAROOM; the other 36 bytes elsewhere
    Parsed p = parse_frame(first.data(), 2048, 2084);
    ASSERT_EQ(p.kind, Kind::l4) << drop_name(p.drop);
    EXPECT_EQ(p.sport, 40000);
    EXPECT_EQ(p.dport, 80);
    EXPECT_EQ(p.tcp_flags, kTcpAck);
    // The same first segment, had the frame ended there, is what the IP length says it is not.
    Parsed alone = parse_frame(first.data(), 2048);
    ASSERT_EQ(alone.kind, Kind::drop);
    EXPECT_EQ(alone.drop, Drop::ipv4_bad_total_length);
    // A frame shorter than its IP length is still that, whatever the segments.
    Parsed short_wire = parse_frame(first.data(), 2048, 2083);
    ASSERT_EQ(short_wire.kind, Kind::drop);
    EXPECT_EQ(short_wire.drop, Drop::ipv4_bad_total_length);
}

TEST(Parse, HeadersPastTheFirstSegmentAreTheirOwnDrop) {
    // Every split point of frames whose headers end at byte 54 (IPv4/TCP), 46 (VLAN IPv4/UDP) and
    // 14+4+40+8+20 = 86 (VLAN IPv6, hop-by-hop, TCP): before it, headers_split (never a read past the
    // segment: each segment is a buffer of its own length); from it on, the flow.
    Bytes v6 = ipv6(L2{kL2.dst, kL2.src, 9}, "2001:db8::1", "2001:db8::100", 0,
                    [] {
                        // The TCP segment with 8 bytes in front of it for the hop-by-hop header.
                        Bytes t = tcp(L2{}, "2001:db8::1", "2001:db8::100", 1, 80, kTcpSyn, 100);
                        Bytes h(t.begin() + 46, t.end());
                        const uint8_t hbh[8] = {kProtoTcp, 0, 1, 4, 0, 0, 0, 0};  // PadN
                        for (size_t i = 0; i < 8; i++) h[i] = hbh[i];
                        return h;
                    }());
    struct Case {
        Bytes f;
        size_t headers;
    };
    for (const Case& c : {Case{tcp(kL2, "192.0.2.1", "10.0.0.100", 1, 80, kTcpAck, 500), 54},
                          Case{udp(L2{kL2.dst, kL2.src, 5}, "192.0.2.1", "10.0.0.100", 1, 53, 500), 46},
                          Case{v6, 86}}) {
        for (size_t n = 0; n < 200 && n <= c.f.size(); n++) {
            std::vector<uint8_t> seg(c.f.begin(), c.f.begin() + static_cast<long>(n));
            Parsed p = parse_frame(seg.data(), static_cast<uint32_t>(n), static_cast<uint32_t>(c.f.size()));
            if (n < c.headers) {
                ASSERT_EQ(p.kind, Kind::drop) << "first segment of " << n << " bytes";
                ASSERT_EQ(std::string(drop_name(p.drop)), "headers_split") << "first segment of " << n << " bytes";
            } else {
                ASSERT_EQ(p.kind, Kind::l4) << "first segment of " << n << " bytes: " << drop_name(p.drop);
            }
        }
    }
}

TEST(Parse, ArpAndNeighbourSolicitationMustFitTheFirstSegment) {
    Bytes a = arp(L2{mac("ff:ff:ff:ff:ff:ff"), kL2.src}, 1, kL2.src, "10.0.0.1", MacAddr{}, "10.0.0.100");
    Parsed p = parse_frame(a.data(), 41, static_cast<uint32_t>(a.size()));  // ARP ends at 14 + 28 = 42
    ASSERT_EQ(p.kind, Kind::drop);
    EXPECT_EQ(p.drop, Drop::headers_split);
    EXPECT_EQ(parse_frame(a.data(), 42, static_cast<uint32_t>(a.size())).kind, Kind::arp_request);
    Bytes ns = nd(L2{mac("33:33:ff:00:01:00"), kL2.src}, "2001:db8::1", "ff02::1:ff00:100", 135, "2001:db8::100",
                  0, 1, kL2.src);
    ASSERT_EQ(ns.size(), 86u);  // 14 + 40 + 32: answered in place, all 32 bytes of it
    p = parse_frame(ns.data(), 85, 86);
    ASSERT_EQ(p.kind, Kind::drop);
    EXPECT_EQ(p.drop, Drop::headers_split);
    EXPECT_EQ(parse_frame(ns.data(), 86, 86).kind, Kind::nd_solicit);
}

TEST(Parse, IcmpErrorsGiveTheFlowTheyAreAbout) {
    Bytes quoted = ip_of(tcp(L2{}, "10.0.0.100", "192.0.2.1", 80, 40000, kTcpAck, 100), 28);
    Bytes f = icmp_error(kL2, "198.51.100.1", "10.0.0.100", 3, 4, 1400, quoted);
    Parsed p = parse_frame(f.data(), static_cast<uint32_t>(f.size()));
    ASSERT_EQ(p.kind, Kind::icmp_error);
    EXPECT_EQ(p.family, 4);
    EXPECT_EQ(p.proto, kProtoTcp);
    EXPECT_EQ(p.src4_be, ip("192.0.2.1").v4_be()) << "the client";
    EXPECT_EQ(p.dst4_be, ip("10.0.0.100").v4_be()) << "the VIP";
    EXPECT_EQ(p.sport, 40000);
    EXPECT_EQ(p.dport, 80);
    EXPECT_EQ(p.l4_off, 34);
    // Every prefix: never read past it, never a complete error before the 8 quoted L4 bytes.
    for (size_t n = 0; n < f.size(); n++) {
        Bytes cut(f.begin(), f.begin() + static_cast<long>(n));
        EXPECT_NE(parse_frame(cut.data(), static_cast<uint32_t>(n)).kind, Kind::icmp_error) << n;
        EXPECT_NE(parse_frame(f.data(), static_cast<uint32_t>(n), static_cast<uint32_t>(f.size())).kind,
                  Kind::icmp_error)
            << "first segment of " << n;
    }

    Bytes q6 = ip_of(udp(L2{}, "2001:db8::100", "2001:db8::1", 53, 5353, 100), 48);
    Bytes f6 = icmp_error(L2{kL2.dst, kL2.src, 3}, "2001:db8::fe", "2001:db8::100", 2, 0, 1280, q6);
    p = parse_frame(f6.data(), static_cast<uint32_t>(f6.size()));
    ASSERT_EQ(p.kind, Kind::icmp_error);
    EXPECT_EQ(p.family, 6);
    EXPECT_EQ(p.proto, kProtoUdp);
    EXPECT_EQ(IpAddr::from_v6(p.src6), ip("2001:db8::1"));
    EXPECT_EQ(IpAddr::from_v6(p.dst6), ip("2001:db8::100"));
    EXPECT_EQ(p.sport, 5353);
    EXPECT_EQ(p.dport, 53);
    EXPECT_EQ(p.l3_off, 18);
    // Not an error about the VIP's own packet (quoted source is another address): left to the kernel.
    Bytes other = icmp_error(kL2, "198.51.100.1", "10.0.0.100", 3, 4, 1400,
                             ip_of(tcp(L2{}, "10.0.0.7", "192.0.2.1", 80, 40000, kTcpAck), 28));
    EXPECT_EQ(parse_frame(other.data(), static_cast<uint32_t>(other.size())).kind, Kind::other);
}

// Every field of a parse, for comparing two of them.
std::string fields(const Parsed& p) {
    std::ostringstream o;
    o << "kind " << int(p.kind) << " drop " << int(p.drop) << " family " << int(p.family) << " proto " << int(p.proto)
      << " flags " << int(p.tcp_flags) << " frag " << int(p.frag) << " bcast " << p.dst_mac_broadcast_or_multicast
      << " l3 " << p.l3_off << " l4 " << p.l4_off << " sport " << p.sport << " dport " << p.dport << " frag_id "
      << p.frag_id << " arp " << p.arp_target_be << " src4 " << p.src4_be << " dst4 " << p.dst4_be << " src6 "
      << static_cast<const void*>(p.src6) << " dst6 " << static_cast<const void*>(p.dst6) << " nd "
      << static_cast<const void*>(p.nd_target);
    return o.str();
}

// The fast path for the common IPv4 TCP/UDP frame answers as the general parser does, for valid
// frames and for frames with any header byte changed, any length field wrong, and any split.
TEST(Parse, FastPathAgreesWithTheGeneralParser) {
    std::mt19937 rng(1129);
    size_t fast = 0;
    for (int round = 0; round < 100000; round++) {
        uint16_t payload = static_cast<uint16_t>(rng() % 64);
        Bytes f = rng() % 2 ? tcp(kL2, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck, payload)
                            : udp(kL2, "192.0.2.1", "10.0.0.100", 5353, 53, payload);
        f.resize(f.size() + rng() % 8, 0);  // Ethernet padding
        int changes = static_cast<int>(rng() % 4);
        for (int c = 0; c < changes; c++) {
            size_t at = rng() % std::min<size_t>(f.size(), 60);
            // Mostly the bytes the fast path decides on; a random value or one bit flipped.
            static const size_t kDeciding[] = {0, 12, 13, 14, 16, 17, 20, 21, 23, 38, 46, 47};
            if (rng() % 2) at = kDeciding[rng() % (sizeof kDeciding / sizeof *kDeciding)];
            if (at >= f.size()) continue;
            f[at] = rng() % 2 ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>(f[at] ^ (1u << (rng() % 8)));
        }
        uint32_t len = static_cast<uint32_t>(f.size());
        uint32_t seg = rng() % 4 ? len : static_cast<uint32_t>(rng() % (len + 1));
        uint32_t wire = rng() % 4 ? len : seg + static_cast<uint32_t>(rng() % 64);
        Bytes first(f.begin(), f.begin() + seg);  // exactly the segment: a read past it is ASan's to see
        Parsed a = parse_frame(first.data(), seg, wire), b = parse_frame_general(first.data(), seg, wire);
        ASSERT_EQ(fields(a), fields(b)) << "round " << round << " seg " << seg << " wire " << wire;
        fast += a.kind == Kind::l4;
    }
    EXPECT_GT(fast, 25000u);  // valid frames were among them
}

}  // namespace
}  // namespace dplb::test
