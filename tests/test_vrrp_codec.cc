// Golden tests of the VRRP codec and the gratuitous ARP / NA frames against what keepalived 2.2.7
// sends (tests/fixtures/vrrp/*.hex, made by vrrp/tests/capture_keepalived.py from the
// keepalived.conf next to them): what we decode from keepalived's bytes, and what we encode for the
// same configuration, byte for byte. Then every way a message can be refused.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vrrp/codec.h"
#include "vrrp/garp.h"

namespace dplb::vrrp {
namespace {

using Bytes = std::vector<uint8_t>;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }
MacAddr mac(const char* s) { return *MacAddr::parse(s); }

const MacAddr kKeepalivedMac = mac("02:00:00:00:0a:02");
const IpAddr kKeepalivedV4 = ip("10.9.0.2");
const IpAddr kKeepalivedLinkLocal = ip("fe80::ff:fe00:a02");

// A fixture: '#' lines are comments, the rest hex bytes separated by white space.
Bytes load_fixture(const std::string& stem) {
    std::ifstream in(std::string(DPLB_SOURCE_ROOT) + "/tests/fixtures/vrrp/" + stem + ".hex");
    EXPECT_TRUE(in.good()) << "missing fixture " << stem;
    Bytes out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '#') continue;
        std::istringstream words(line);
        std::string w;
        while (words >> w) out.push_back(static_cast<uint8_t>(std::stoul(w, nullptr, 16)));
    }
    return out;
}

std::string hex(const Bytes& b) {
    std::string s;
    char buf[4];
    for (size_t i = 0; i < b.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%02x", b[i]);
        s += (i && i % 16 == 0 ? "\n" : i ? " " : "") + std::string(buf);
    }
    return s;
}

// Empty when equal; else both dumps and the offsets that differ.
std::string diff(const Bytes& want, const Bytes& got) {
    if (want == got) return "";
    std::string offs;
    for (size_t i = 0; i < std::max(want.size(), got.size()); ++i)
        if (i >= want.size() || i >= got.size() || want[i] != got[i]) offs += " " + std::to_string(i);
    return "expected (" + std::to_string(want.size()) + " bytes):\n" + hex(want) + "\nactual (" +
           std::to_string(got.size()) + " bytes):\n" + hex(got) + "\ndiffering offsets:" + offs;
}

// The IP packet of a captured frame: its addresses, TTL and VRRP payload.
struct Captured {
    IpAddr src, dst;
    uint8_t ttl = 0;
    uint8_t tos = 0;
    Bytes vrrp;
};

Captured split(const Bytes& frame) {
    Captured c;
    const uint8_t* ip_hdr = frame.data() + 14;
    if (frame[12] == 0x08 && frame[13] == 0x00) {
        auto p = parse_ipv4(ip_hdr, frame.size() - 14);
        EXPECT_TRUE(p.has_value());
        EXPECT_EQ(p->protocol, kIpProtoVrrp);
        c.src = p->src;
        c.dst = p->dst;
        c.ttl = p->ttl;
        c.tos = ip_hdr[1];
        c.vrrp.assign(p->payload, p->payload + p->payload_len);
    } else {
        EXPECT_EQ(ip_hdr[6], kIpProtoVrrp);  // next header, no extension headers
        c.src = IpAddr::from_v6(ip_hdr + 8);
        c.dst = IpAddr::from_v6(ip_hdr + 24);
        c.ttl = ip_hdr[7];
        c.tos = static_cast<uint8_t>((ip_hdr[0] & 0x0f) << 4 | ip_hdr[1] >> 4);
        size_t plen = static_cast<size_t>(ip_hdr[4] << 8 | ip_hdr[5]);
        c.vrrp.assign(ip_hdr + 40, ip_hdr + 40 + plen);
    }
    return c;
}

// What keepalived.conf says of each instance: the advert dplb must send for the same configuration.
struct Golden {
    const char* stem;
    Advert advert;  // priority as configured; the _prio0 fixture has 0
    IpAddr src;
};

std::vector<Golden> goldens() {
    Advert v2pass;
    v2pass.version = 2;
    v2pass.vrid = 51;
    v2pass.priority = 150;
    v2pass.interval_cs = 100;
    v2pass.auth_type = AuthType::pass;
    v2pass.auth_data = auth_pass("secret123456");  // keepalived keeps "secret12"
    v2pass.addresses = {ip("10.9.0.100"), ip("10.9.0.101")};

    Advert v2none;
    v2none.version = 2;
    v2none.vrid = 52;
    v2none.priority = 100;
    v2none.interval_cs = 200;
    v2none.addresses = {ip("10.9.0.102")};

    Advert v3v4;
    v3v4.version = 3;
    v3v4.vrid = 53;
    v3v4.priority = 200;
    v3v4.interval_cs = 50;
    v3v4.addresses = {ip("10.9.0.110")};

    Advert v3v6;
    v3v6.version = 3;
    v3v6.vrid = 54;
    v3v6.priority = 100;
    v3v6.interval_cs = 100;
    v3v6.addresses = {ip("2001:db8:9::100"), ip("2001:db8:9::101")};

    return {{"v2_pass", v2pass, kKeepalivedV4},
            {"v2_noauth", v2none, kKeepalivedV4},
            {"v3_ipv4", v3v4, kKeepalivedV4},
            {"v3_ipv6", v3v6, kKeepalivedLinkLocal}};
}

class GoldenAdvert : public ::testing::TestWithParam<std::tuple<Golden, bool>> {};

TEST_P(GoldenAdvert, DecodesAndEncodesAsKeepalived) {
    auto [g, prio0] = GetParam();
    Advert want = g.advert;
    if (prio0) want.priority = kPriorityStop;
    Captured c = split(load_fixture(std::string(g.stem) + (prio0 ? "_prio0" : "")));

    // The IP header as RFC 3768 §5.2 / RFC 5798 §5.1 and keepalived have it.
    EXPECT_EQ(c.ttl, kVrrpTtl);
    EXPECT_EQ(c.tos, 0xc0) << "keepalived sends with precedence 'internetwork control'";
    EXPECT_EQ(c.src, g.src);
    EXPECT_EQ(c.dst, g.src.is_v6() ? group_v6() : group_v4());

    Decoded d = decode(c.vrrp.data(), c.vrrp.size(), c.src, c.dst);
    ASSERT_TRUE(d.ok()) << decode_error_name(d.error);
    EXPECT_EQ(d.advert.version, want.version);
    EXPECT_EQ(d.advert.vrid, want.vrid);
    EXPECT_EQ(d.advert.priority, want.priority);
    EXPECT_EQ(d.advert.interval_cs, want.interval_cs);
    EXPECT_EQ(d.advert.auth_type, want.auth_type);
    EXPECT_EQ(d.advert.auth_data, want.auth_data);
    EXPECT_EQ(d.advert.addresses, want.addresses);

    // Our advert for the same configuration is keepalived's, byte for byte.
    EXPECT_EQ(diff(c.vrrp, encode(want, c.src, c.dst)), "");
}

INSTANTIATE_TEST_SUITE_P(Keepalived227, GoldenAdvert,
                         ::testing::Combine(::testing::ValuesIn(goldens()), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<GoldenAdvert::ParamType>& info) {
                             return std::string(std::get<0>(info.param).stem) +
                                    (std::get<1>(info.param) ? "_prio0" : "");
                         });

TEST(VrrpGarp, GratuitousArpIsKeepalivedsFrame) {
    EXPECT_EQ(diff(load_fixture("garp_ipv4"), gratuitous_arp(kKeepalivedMac, ip("10.9.0.100"))), "");
    EXPECT_EQ(announcement(kKeepalivedMac, ip("10.9.0.100")), gratuitous_arp(kKeepalivedMac, ip("10.9.0.100")));
}

TEST(VrrpGarp, UnsolicitedNaIsKeepalivedsFrame) {
    EXPECT_EQ(diff(load_fixture("na_ipv6"), unsolicited_na(kKeepalivedMac, ip("2001:db8:9::100"))), "");
    EXPECT_EQ(announcement(kKeepalivedMac, ip("2001:db8:9::100")),
              unsolicited_na(kKeepalivedMac, ip("2001:db8:9::100")));
}

TEST(VrrpCodec, AuthPassKeepsEightCharactersZeroPadded) {
    AuthData a = auth_pass("secret123456");
    EXPECT_EQ(std::string(a.begin(), a.end()), "secret12");
    AuthData b = auth_pass("1111");
    EXPECT_EQ(b, (AuthData{'1', '1', '1', '1', 0, 0, 0, 0}));
    EXPECT_EQ(auth_pass(""), AuthData{});
}

TEST(VrrpCodec, RoundTripsEveryShape) {
    for (uint8_t version : {2, 3}) {
        for (uint8_t family : {4, 6}) {
            if (version == 2 && family == 6) continue;
            Advert a;
            a.version = version;
            a.vrid = 255;
            a.priority = 1;
            a.interval_cs = version == 2 ? 25500 : 4095;
            if (version == 2) {
                a.auth_type = AuthType::pass;
                a.auth_data = auth_pass("pw");
            }
            IpAddr src = family == 4 ? ip("192.0.2.1") : ip("fe80::1");
            IpAddr dst = family == 4 ? group_v4() : group_v6();
            for (int i = 0; i < 20; ++i) {
                IpAddr x = family == 4 ? ip("198.51.100.0") : ip("2001:db8::");
                x.b[family == 4 ? 3 : 15] = static_cast<uint8_t>(i);
                a.addresses.push_back(x);
            }
            Bytes m = encode(a, src, dst);
            Decoded d = decode(m.data(), m.size(), src, dst);
            ASSERT_TRUE(d.ok()) << int(version) << "/" << int(family) << ": " << decode_error_name(d.error);
            EXPECT_EQ(d.advert, a);
        }
    }
}

TEST(VrrpCodec, EncodeClampsIntervals) {
    Advert a;
    a.version = 3;
    a.vrid = 1;
    a.interval_cs = 9999;
    Bytes m = encode(a, ip("10.0.0.1"), group_v4());
    EXPECT_EQ((m[4] & 0x0f) << 8 | m[5], 4095);
    a.version = 2;
    a.interval_cs = 50;  // below one second: v2 cannot say it
    m = encode(a, ip("10.0.0.1"), group_v4());
    EXPECT_EQ(m[5], 1);
}

// Every way decode() refuses a message, each starting from a valid advert.
struct Broken {
    const char* name;
    const char* stem;
    void (*mutate)(Bytes& msg, IpAddr& src, IpAddr& dst);
    bool fix_checksum;  // recompute the checksum after mutating (so only the intended check fails)
    DecodeError want;
};

void fix_v2_checksum(Bytes& m) {
    m[6] = m[7] = 0;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < m.size(); i += 2) sum += static_cast<uint32_t>(m[i] << 8 | m[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    m[6] = static_cast<uint8_t>(~sum >> 8);
    m[7] = static_cast<uint8_t>(~sum);
}

const Broken kBroken[] = {
    {"empty", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m.clear(); }, false, DecodeError::truncated},
    {"seven_bytes", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m.resize(7); }, false, DecodeError::truncated},
    {"v2_without_auth_data", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m.resize(m.size() - 8); }, false,
     DecodeError::truncated},
    {"count_too_large", "v3_ipv6", [](Bytes& m, IpAddr&, IpAddr&) { m[3] = 3; }, false, DecodeError::truncated},
    {"version_1", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m[0] = 0x11; }, false, DecodeError::bad_version},
    {"version_4", "v3_ipv4", [](Bytes& m, IpAddr&, IpAddr&) { m[0] = 0x41; }, false, DecodeError::bad_version},
    {"v2_over_ipv6", "v3_ipv6", [](Bytes& m, IpAddr&, IpAddr&) { m[0] = 0x21; }, false, DecodeError::bad_version},
    {"flipped_address_bit", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m[9] ^= 1; }, false,
     DecodeError::bad_checksum},
    {"flipped_password_bit", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m[m.size() - 1] ^= 0x20; }, false,
     DecodeError::bad_checksum},
    // VRRPv3's checksum covers the pseudo-header: the same bytes from another source do not pass.
    {"v3_ipv4_other_source", "v3_ipv4", [](Bytes&, IpAddr& src, IpAddr&) { src.b[3] ^= 1; }, false,
     DecodeError::bad_checksum},
    {"v3_ipv6_other_destination", "v3_ipv6", [](Bytes&, IpAddr&, IpAddr& dst) { dst.b[15] = 1; }, false,
     DecodeError::bad_checksum},
    {"type_2", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m[0] = 0x22; }, true, DecodeError::bad_type},
    {"interval_0", "v2_pass", [](Bytes& m, IpAddr&, IpAddr&) { m[5] = 0; }, true, DecodeError::bad_interval},
};

class BrokenAdvert : public ::testing::TestWithParam<Broken> {};

TEST_P(BrokenAdvert, IsRefused) {
    const Broken& b = GetParam();
    Captured c = split(load_fixture(b.stem));
    b.mutate(c.vrrp, c.src, c.dst);
    if (b.fix_checksum) fix_v2_checksum(c.vrrp);
    Decoded d = decode(c.vrrp.data(), c.vrrp.size(), c.src, c.dst);
    EXPECT_EQ(d.error, b.want) << decode_error_name(d.error);
    EXPECT_FALSE(d.ok());
}

INSTANTIATE_TEST_SUITE_P(All, BrokenAdvert, ::testing::ValuesIn(kBroken),
                         [](const ::testing::TestParamInfo<Broken>& info) { return std::string(info.param.name); });

TEST(VrrpCodec, ExtraBytesAfterTheMessageAreCoveredByTheChecksum) {
    // The checksum covers the message as the IP header delimits it (RFC 3768 §5.3.8).
    Captured c = split(load_fixture("v2_noauth"));
    c.vrrp.push_back(0);
    c.vrrp.push_back(0);
    EXPECT_TRUE(decode(c.vrrp.data(), c.vrrp.size(), c.src, c.dst).ok()) << "zero padding sums to nothing";
    c.vrrp.back() = 1;
    EXPECT_EQ(decode(c.vrrp.data(), c.vrrp.size(), c.src, c.dst).error, DecodeError::bad_checksum);
}

// Unicast VRRPv3 (keepalived's unicast_peer): the pseudo-header holds the peer's address, so one
// message per peer, each checked against the destination it arrived at.
TEST(VrrpCodec, UnicastV3ChecksumCoversThePeer) {
    Advert a;
    a.version = 3;
    a.vrid = 61;
    a.priority = 150;
    a.interval_cs = 100;
    a.addresses = {*IpAddr::parse("172.31.0.100")};
    const IpAddr src = *IpAddr::parse("172.31.0.11"), peer = *IpAddr::parse("172.31.0.12");
    std::vector<uint8_t> m = encode(a, src, peer);
    EXPECT_TRUE(decode(m.data(), m.size(), src, peer).ok());
    EXPECT_EQ(decode(m.data(), m.size(), src, group_v4()).error, DecodeError::bad_checksum);
    EXPECT_NE(m, encode(a, src, *IpAddr::parse("172.31.8.12"))) << "another peer, another checksum";
    a.addresses = {*IpAddr::parse("2001:db8:31::100")};
    const IpAddr src6 = *IpAddr::parse("2001:db8:31::11"), peer6 = *IpAddr::parse("2001:db8:31::12");
    std::vector<uint8_t> m6 = encode(a, src6, peer6);
    EXPECT_TRUE(decode(m6.data(), m6.size(), src6, peer6).ok());
    EXPECT_EQ(decode(m6.data(), m6.size(), src6, group_v6()).error, DecodeError::bad_checksum);
}

TEST(VrrpCodec, ParseIpv4) {
    Bytes f = load_fixture("v2_pass");
    auto p = parse_ipv4(f.data() + 14, f.size() - 14);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->src, kKeepalivedV4);
    EXPECT_EQ(p->dst, group_v4());
    EXPECT_EQ(p->ttl, 255);
    EXPECT_EQ(p->payload_len, 24u);
    EXPECT_FALSE(parse_ipv4(f.data() + 14, 19));                   // shorter than a header
    EXPECT_FALSE(parse_ipv4(f.data() + 14, f.size() - 15));        // shorter than its total length
    Bytes v6 = load_fixture("v3_ipv6");
    EXPECT_FALSE(parse_ipv4(v6.data() + 14, v6.size() - 14));      // not IPv4
}

}  // namespace
}  // namespace dplb::vrrp
