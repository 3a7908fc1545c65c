// Parser field extraction (the golden tests cover verdicts and drop reasons end to end).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace dplb::test
