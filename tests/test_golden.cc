// Golden packet tests: each case is a description, an input frame built in code, the expected
// verdict, the expected output frame and the exact counter changes. A mismatch prints the decoded
// fields and a hex dump of expected and actual frames.
#include <gtest/gtest.h>

#include "dataplane_fixture.h"
#include "flow_hash.h"
#include "sync/translate.h"
#include "sync_fixtures.h"
#include "synced_table.h"

namespace dplb::test {
namespace {

const char* verdict_name(Verdict v) {
    switch (v) {
    case Verdict::drop: return "drop";
    case Verdict::tx: return "tx";
    case Verdict::kernel: return "kernel";
    }
    return "?";
}

struct Golden {
    std::string what;
    Bytes in;
    Verdict verdict;
    Bytes out;  // empty: the frame must come out unchanged
    std::map<std::string, int64_t> delta;
    uint32_t now_ms = 1000;
    uint32_t seg_len = 0;  // > 0: the frame arrives as a first segment of this many bytes, and the rest
    uint16_t headroom = kTestHeadroom;  // free bytes before the frame in its buffer
};

// Frames from the client to the director's MAC with a VLAN tag (kToLb, kBcast: dataplane_fixture.h).
const L2 kToLbVlan{kLbMac, kClientMac, 7};
// What a forward to a real looks like at layer 2.
const L2 kToRs1{kRs1Mac, kLbMac};
const L2 kToRs2{kRs2Mac, kLbMac};

class Golden_ : public ProcessorTest {
protected:
    void run(const std::vector<Golden>& cases) {
        for (const Golden& g : cases) {
            SCOPED_TRACE(g.what);
            Counters before = flatten(proc_->counters(), snap_);
            Bytes frame = g.in;
            Verdict v = send(frame, g.now_ms, g.seg_len, g.headroom);
            EXPECT_EQ(verdict_name(g.verdict), std::string(verdict_name(v))) << g.what;
            const Bytes& want = g.out.empty() ? g.in : g.out;
            std::string diff = frame_diff(want, frame);
            EXPECT_TRUE(diff.empty()) << g.what << ": " << diff;
            Counters after = flatten(proc_->counters(), snap_);
            std::string cdiff;
            for (auto& [name, value] : after) {
                int64_t got = static_cast<int64_t>(value - before[name]);
                auto it = g.delta.find(name);
                int64_t want_d = it == g.delta.end() ? 0 : it->second;
                if (got != want_d)
                    cdiff += "  " + name + ": expected " + std::to_string(want_d) + ", changed by " +
                             std::to_string(got) + "\n";
            }
            for (auto& [name, d] : g.delta)
                if (!after.count(name)) cdiff += "  " + name + ": no such counter\n";
            EXPECT_TRUE(cdiff.empty()) << g.what << ": counters differ:\n" << cdiff;
        }
    }
};

// A forwarded packet of `len` bytes to service `svc`, real `dest`.
std::map<std::string, int64_t> fwd(int svc, int dest, size_t len, bool new_conn, bool active = false) {
    std::string s = "svc" + std::to_string(svc) + ".", d = "dest" + std::to_string(dest) + ".";
    std::map<std::string, int64_t> m{{"rx_packets", 1},
                                     {"forwarded", 1},
                                     {s + "inpkts", 1},
                                     {s + "inbytes", static_cast<int64_t>(len)},
                                     {d + "inpkts", 1},
                                     {d + "inbytes", static_cast<int64_t>(len)}};
    if (new_conn) {
        m[s + "conns"] = 1;
        m[d + "conns"] = 1;
        m[d + (active ? "active" : "inactive")] = 1;
        m[d + "refs"] = 1;
    }
    return m;
}

std::map<std::string, int64_t> dropped(const char* reason) { return {{"rx_packets", 1}, {std::string("drops.") + reason, 1}}; }
const std::map<std::string, int64_t> kKernel{{"rx_packets", 1}, {"to_kernel", 1}};

// What follows a frame's IP header (IPv4 options included; IPv6: the fixed header only).
Bytes l4_of(const Bytes& frame) {
    size_t o = l3_offset(frame);
    size_t ip_len = (frame[o] >> 4) == 4 ? (frame[o] & 0xfu) * 4u : 40u;
    return Bytes(frame.begin() + static_cast<long>(o + ip_len), frame.end());
}

Bytes slice(const Bytes& b, size_t from, size_t to = SIZE_MAX) {
    return Bytes(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(std::min(to, b.size())));
}

Bytes syn4(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport) {
    return tcp(l2, src, dst, sport, dport, kTcpSyn);
}

TEST_F(Golden_, Arp) {
    Bytes req = arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100");
    Bytes reply = arp(L2{kClientMac, kLbMac}, 2, kLbMac, "10.0.0.100", kClientMac, "10.0.0.1");
    Bytes req_vlan = arp(L2{kBroadcast, kClientMac, 7}, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100");
    Bytes reply_vlan = arp(L2{kClientMac, kLbMac, 7}, 2, kLbMac, "10.0.0.100", kClientMac, "10.0.0.1");
    run({
        {"ARP who-has VIP -> reply with the port MAC", req, Verdict::tx, reply, {{"rx_packets", 1}, {"arp_replies", 1}}},
        {"ARP who-has VIP in VLAN 7 -> reply keeps the tag", req_vlan, Verdict::tx, reply_vlan,
         {{"rx_packets", 1}, {"arp_replies", 1}}},
        {"ARP unicast to our MAC (refresh) -> reply",
         arp(kToLb, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100"), Verdict::tx, reply,
         {{"rx_packets", 1}, {"arp_replies", 1}}},
        {"ARP who-has the director's own address -> kernel",
         arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.2"), Verdict::kernel, {}, kKernel},
        {"ARP for a VIP with answer_arp off -> kernel",
         arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.104"), Verdict::kernel, {}, kKernel},
        {"ARP for a VIP this director does not own -> kernel",
         arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.103"), Verdict::kernel, {}, kKernel},
        {"gratuitous ARP for the VIP from a peer -> kernel, no reply",
         arp(kBcast, 1, kOtherMac, "10.0.0.100", MacAddr{}, "10.0.0.100"), Verdict::kernel, {}, kKernel},
        {"ARP reply -> kernel", arp(kToLb, 2, kClientMac, "10.0.0.1", kLbMac, "10.0.0.2"), Verdict::kernel, {},
         kKernel},
        {"ARP unicast to another host -> not ours",
         arp(L2{kOtherMac, kClientMac}, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100"), Verdict::drop, {},
         {{"rx_packets", 1}, {"not_for_us", 1}}},
    });
}

TEST_F(Golden_, Ipv6NeighbourDiscovery) {
    const L2 to_solicited_node{mac("33:33:ff:00:01:00"), kClientMac};
    Bytes ns = nd(to_solicited_node, "2001:db8::1", "ff02::1:ff00:100", 135, "2001:db8::100", 0, 1, kClientMac);
    Bytes na = nd(L2{kClientMac, kLbMac}, "2001:db8::100", "2001:db8::1", 136, "2001:db8::100", 0x60, 2, kLbMac);
    Bytes dad = nd(to_solicited_node, "::", "ff02::1:ff00:100", 135, "2001:db8::100", 0, 1, kClientMac);
    Bytes other = nd(to_solicited_node, "2001:db8::1", "ff02::1:ff00:2", 135, "2001:db8::2", 0, 1, kClientMac);
    Bytes low_hop = patch(ns, 14 + 7, {64});
    run({
        {"NS for an owned IPv6 VIP -> solicited NA with the port MAC", ns, Verdict::tx, na,
         {{"rx_packets", 1}, {"arp_replies", 1}}},
        {"NS for the director's own address -> kernel", other, Verdict::kernel, {}, kKernel},
        {"duplicate address detection (source ::) -> kernel", dad, Verdict::kernel, {}, kKernel},
        {"NS with hop limit 64 (not on-link, RFC 4861) -> kernel", low_hop, Verdict::kernel, {}, kKernel},
    });
}

TEST_F(Golden_, ForwardTcpUdpIpv6Vlan) {
    Bytes s1 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    Bytes s2 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40001, 80);
    Bytes sv = syn4(kToLbVlan, "192.0.2.1", "10.0.0.100", 40002, 80);
    Bytes u1 = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 20);
    Bytes s6 = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn);
    run({
        {"SYN to VIP:80 -> rs1 (rr first), dst MAC := rs1, src MAC := port, TTL 64 -> 63, rest of IP untouched",
         s1, Verdict::tx,
         hop(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80)), fwd(0, 0, s1.size(), true)},
        {"next SYN -> rs2 (rr)", s2, Verdict::tx, hop(syn4(kToRs2, "192.0.2.1", "10.0.0.100", 40001, 80)),
         fwd(0, 1, s2.size(), true)},
        {"SYN in VLAN 7 -> rs1, tag kept", sv, Verdict::tx,
         hop(syn4(L2{kRs1Mac, kLbMac, 7}, "192.0.2.1", "10.0.0.100", 40002, 80)), fwd(0, 0, sv.size(), true)},
        {"UDP to VIP:53 -> entry + forward", u1, Verdict::tx, hop(udp(kToRs1, "192.0.2.1", "10.0.0.100", 5353, 53, 20)),
         fwd(1, 2, u1.size(), true)},
        {"UDP again, same flow -> forward, no new connection", u1, Verdict::tx,
         hop(udp(kToRs1, "192.0.2.1", "10.0.0.100", 5353, 53, 20)), fwd(1, 2, u1.size(), false)},
        {"IPv6 SYN to [VIP6]:80 -> rs1", s6, Verdict::tx,
         hop(tcp(kToRs1, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn)), fwd(2, 3, s6.size(), true)},
    });
}

// A real on another port (Dest::egress, from its port's subnet or `egress:`): the frame leaves by that
// port, with that port's MAC as its source; a real without one, or with an egress past the ports
// the processor knows, leaves by the port the frame came in on.
TEST_F(Golden_, ForwardOutOfTheRealsPort) {
    const MacAddr back = mac("02:00:00:00:00:02");
    proc_->set_port_macs({kLbMac, back});
    snap_.dests[0].egress = 1;  // svc0's rs1
    snap_.dests[1].egress = 7;  // svc0's rs2: no such port
    Bytes s1 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    ASSERT_EQ(send(s1, 0), Verdict::tx);
    EXPECT_EQ(s1, hop(syn4(L2{kRs1Mac, back}, "192.0.2.1", "10.0.0.100", 40000, 80)));
    EXPECT_EQ(last_out_port_, 1);
    Bytes s2 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40001, 80);
    ASSERT_EQ(send(s2, 0), Verdict::tx);
    EXPECT_EQ(s2, hop(syn4(kToRs2, "192.0.2.1", "10.0.0.100", 40001, 80)));
    EXPECT_EQ(last_out_port_, kIngressPort);
    Bytes again = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);  // by its entry: the same port
    ASSERT_EQ(send(again, 0), Verdict::tx);
    EXPECT_EQ(last_out_port_, 1);
}

// A real's VLAN (Dest::vlan): rs1 is on VLAN 20 of port 1, rs2 on its port's untagged segment. A
// frame to rs1 gets a tag pushed (untagged in) or its VLAN id rewritten (tagged in: priority bits
// kept); one to rs2 has its tag taken off or stays untagged. Pushing needs 4 bytes of headroom: without
// them the frame is dropped and counted, never written past its buffer. The counters count the bytes
// as they came in.
TEST_F(Golden_, ForwardRetagsForTheRealsVlan) {
    const MacAddr back = mac("02:00:00:00:00:02");
    proc_->set_port_macs({kLbMac, back});
    snap_.dests[0].egress = 1;
    snap_.dests[0].vlan = 20;
    snap_.dests[1].vlan = kVlanUntagged;
    const L2 to_rs1_vlan20{kRs1Mac, back, 20};
    Bytes u1 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    Bytes t2 = syn4(kToLbVlan, "192.0.2.1", "10.0.0.100", 40001, 80);
    Bytes t3 = patch(syn4(kToLbVlan, "192.0.2.1", "10.0.0.100", 40002, 80), 14, {0xa0});  // priority 5
    Bytes u4 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40003, 80);
    Bytes u5 = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40004, 80);
    Bytes t6 = syn4(kToLbVlan, "192.0.2.1", "10.0.0.100", 40005, 80);
    Golden no_room{"untagged SYN to rs1 with 3 bytes of headroom -> drop, frame untouched", u5, Verdict::drop, {},
                   {{"rx_packets", 1}, {"drops.vlan_no_headroom", 1}, {"svc0.conns", 1}, {"dest0.conns", 1},
                    {"dest0.inactive", 1}, {"dest0.refs", 1}}};
    no_room.headroom = 3;
    Golden tagged_no_room{"tagged SYN to rs2 without headroom -> untagged all the same (nothing pushed)", t6,
                          Verdict::tx, hop(syn4(kToRs2, "192.0.2.1", "10.0.0.100", 40005, 80)),
                          fwd(0, 1, t6.size(), true)};
    tagged_no_room.headroom = 0;
    run({
        {"untagged SYN -> rs1: tag 20 pushed, out of port 1 with its MAC", u1, Verdict::tx,
         hop(syn4(to_rs1_vlan20, "192.0.2.1", "10.0.0.100", 40000, 80)), fwd(0, 0, u1.size(), true)},
        {"SYN in VLAN 7 -> rs2: tag taken off", t2, Verdict::tx,
         hop(syn4(kToRs2, "192.0.2.1", "10.0.0.100", 40001, 80)), fwd(0, 1, t2.size(), true)},
        {"SYN in VLAN 7, priority 5 -> rs1: VLAN 20, priority 5 kept", t3, Verdict::tx,
         patch(hop(syn4(to_rs1_vlan20, "192.0.2.1", "10.0.0.100", 40002, 80)), 14, {0xa0}),
         fwd(0, 0, t3.size(), true)},
        {"untagged SYN -> rs2: stays untagged", u4, Verdict::tx, hop(syn4(kToRs2, "192.0.2.1", "10.0.0.100", 40003, 80)),
         fwd(0, 1, u4.size(), true)},
        no_room,
        tagged_no_room,
    });
    EXPECT_EQ(last_out_port_, kIngressPort);
}

TEST_F(Golden_, Ipv6ExtensionHeaders) {
    // Hop-by-hop (8 bytes, PadN) then TCP: still a connection to the VIP.
    Bytes tcp_only = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40010, 80, kTcpSyn);
    Bytes l4(tcp_only.begin() + 54, tcp_only.end());
    Bytes hbh{kProtoTcp, 0, 1, 4, 0, 0, 0, 0};
    hbh.insert(hbh.end(), l4.begin(), l4.end());
    Bytes in = ipv6(kToLb, "2001:db8::1", "2001:db8::100", 0, hbh);
    Bytes out = hop(ipv6(kToRs1, "2001:db8::1", "2001:db8::100", 0, hbh));
    Bytes frag{kProtoTcp, 0, 0, 1, 0, 0, 0, 9};
    frag.insert(frag.end(), l4.begin(), l4.end());
    Bytes long_ext{kProtoTcp, 200, 0, 0, 0, 0, 0, 0};
    run({
        {"IPv6 hop-by-hop + TCP SYN -> forwarded", in, Verdict::tx, out, fwd(2, 3, in.size(), true)},
        {"IPv6 first fragment (offset 0, M) of a SYN to VIP -> forwarded",
         ipv6(kToLb, "2001:db8::1", "2001:db8::100", 44, frag), Verdict::tx,
         hop(ipv6(kToRs1, "2001:db8::1", "2001:db8::100", 44, frag)), fwd(2, 3, 54 + frag.size(), false)},
        {"IPv6 extension header longer than the payload -> drop",
         ipv6(kToLb, "2001:db8::1", "2001:db8::100", 0, long_ext), Verdict::drop, {}, dropped("ipv6_bad_ext_header")},
        {"ICMPv6 to VIP -> kernel", ipv6(kToLb, "2001:db8::1", "2001:db8::100", 58, Bytes(8, 0)), Verdict::kernel, {},
         kKernel},
    });
}

TEST_F(Golden_, NotForAService) {
    run({
        {"SYN to VIP on a port with no service -> kernel", syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 22),
         Verdict::kernel, {}, kKernel},
        {"SYN to the director's own address -> kernel", syn4(kToLb, "192.0.2.1", "10.0.0.2", 40000, 80),
         Verdict::kernel, {}, kKernel},
        {"ICMP echo to VIP -> kernel", ipv4(kToLb, "192.0.2.1", "10.0.0.100", 1, Bytes(8, 0)), Verdict::kernel, {},
         kKernel},
        {"VRRP multicast -> kernel",
         ipv4(L2{mac("01:00:5e:00:00:12"), kOtherMac}, "10.0.0.3", "224.0.0.18", 112, Bytes(20, 0)),
         Verdict::kernel, {}, kKernel},
        {"SYN to VIP with a broadcast MAC -> kernel", syn4(kBcast, "192.0.2.1", "10.0.0.100", 40000, 80),
         Verdict::kernel, {}, kKernel},
        {"SYN to VIP but another host's MAC -> not ours",
         syn4(L2{kOtherMac, kClientMac}, "192.0.2.1", "10.0.0.100", 40000, 80), Verdict::drop, {},
         {{"rx_packets", 1}, {"not_for_us", 1}}},
        {"non-IP ethertype (LLDP) -> kernel", patch(syn4(kToLb, "192.0.2.1", "10.0.0.2", 1, 2), 12, {0x88, 0xcc}),
         Verdict::kernel, {}, kKernel},
        {"IPv4 first fragment to a non-VIP -> kernel",
         ipv4(kToLb, "192.0.2.1", "10.0.0.2", kProtoTcp, l4_of(syn4(kToLb, "192.0.2.1", "10.0.0.2", 40000, 80)), 0x2000),
         Verdict::kernel, {}, kKernel},
        {"IPv4 later fragment to a non-VIP -> kernel",
         ipv4(kToLb, "192.0.2.1", "10.0.0.2", kProtoTcp, Bytes(24, 0), 0x0010), Verdict::kernel, {}, kKernel},
    });
}

TEST_F(Golden_, ServiceLevelDrops) {
    Bytes s = syn4(kToLb, "192.0.2.1", "10.0.0.106", 40000, 80);
    auto no_mac = std::map<std::string, int64_t>{{"rx_packets", 1}, {"drops.no_dest_mac", 1}, {"svc8.conns", 1},
                                                 {"dest11.conns", 1}, {"dest11.inactive", 1},
                                                 {"dest11.refs", 1}};
    run({
        {"ACK without a connection on an rr service -> drop",
         tcp(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck), Verdict::drop, {}, dropped("tcp_no_conn")},
        {"SYN+RST without a connection -> drop (RST wins)",
         tcp(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpSyn | kTcpRst), Verdict::drop, {},
         dropped("tcp_no_conn")},
        {"SYN to a service whose reals all have weight 0 -> drop", syn4(kToLb, "192.0.2.1", "10.0.0.102", 40000, 80),
         Verdict::drop, {}, dropped("no_dest")},
        {"SYN to a VIP this director does not own -> drop", syn4(kToLb, "192.0.2.1", "10.0.0.103", 40000, 80),
         Verdict::drop, {}, dropped("vip_inactive")},
        {"SYN to a real whose MAC is unknown -> drop (the entry stays)", s, Verdict::drop, {}, no_mac},
    });
}

TEST_F(Golden_, MalformedFrames) {
    Bytes s = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);  // 14 eth + 20 ip + 20 tcp
    Bytes u = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 4);  // 14 + 20 + 8 + 4
    Bytes s6 = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn);
    Bytes a = arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100");
    Bytes vlan_only{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0xaa, 0x81, 0x00, 0x00};
    run({
        {"10-byte frame", truncate(s, 10), Verdict::drop, {}, dropped("eth_truncated")},
        {"VLAN tag cut short", vlan_only, Verdict::drop, {}, dropped("vlan_truncated")},
        {"ARP cut to 20 bytes", truncate(a, 34), Verdict::drop, {}, dropped("arp_truncated")},
        {"ARP with htype 6", patch(a, 14, {0, 6}), Verdict::drop, {}, dropped("arp_malformed")},
        {"IPv4 header cut to 10 bytes", truncate(s, 24), Verdict::drop, {}, dropped("ipv4_truncated")},
        {"IPv4 ethertype, version 5", patch(s, 14, {0x55}), Verdict::drop, {}, dropped("ipv4_bad_version")},
        {"IPv4 IHL 4 (16 bytes)", patch(s, 14, {0x44}), Verdict::drop, {}, dropped("ipv4_bad_ihl")},
        {"IPv4 IHL 15 past a 24-byte packet", truncate(patch(s, 14, {0x4f}), 14 + 24), Verdict::drop, {},
         dropped("ipv4_bad_ihl")},
        {"IPv4 total length 2000 in a 54-byte frame", patch(s, 16, {0x07, 0xd0}), Verdict::drop, {},
         dropped("ipv4_bad_total_length")},
        {"IPv4 total length 10, below the header", patch(s, 16, {0x00, 0x0a}), Verdict::drop, {},
         dropped("ipv4_bad_total_length")},
        {"TCP header cut: IP length leaves 10 bytes", patch(s, 16, {0x00, 30}), Verdict::drop, {},
         dropped("tcp_truncated")},
        {"TCP data offset 4", patch(s, 14 + 20 + 12, {0x40}), Verdict::drop, {}, dropped("tcp_bad_doff")},
        {"TCP data offset 15 past the segment", patch(s, 14 + 20 + 12, {0xf0}), Verdict::drop, {},
         dropped("tcp_bad_doff")},
        {"UDP header cut: IP length leaves 6 bytes", patch(u, 16, {0x00, 26}), Verdict::drop, {},
         dropped("udp_truncated")},
        {"UDP length 4", patch(u, 14 + 20 + 4, {0x00, 0x04}), Verdict::drop, {}, dropped("udp_bad_length")},
        {"UDP length 1000 past the datagram", patch(u, 14 + 20 + 4, {0x03, 0xe8}), Verdict::drop, {},
         dropped("udp_bad_length")},
        {"IPv6 header cut to 30 bytes", truncate(s6, 44), Verdict::drop, {}, dropped("ipv6_truncated")},
        {"IPv6 ethertype, version 4", patch(s6, 14, {0x40}), Verdict::drop, {}, dropped("ipv6_bad_version")},
        {"IPv6 payload length 1000 past the frame", patch(s6, 18, {0x03, 0xe8}), Verdict::drop, {},
         dropped("ipv6_bad_payload_length")},
    });
}

TEST_F(Golden_, TtlAndHopLimit) {
    Bytes s = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    Bytes s6 = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn);
    Bytes u = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 20);
    run({
        {"TTL 1 to a VIP service -> drop, no entry", with_ttl(s, 1), Verdict::drop, {}, dropped("ttl_exceeded")},
        {"TTL 0 -> drop", with_ttl(s, 0), Verdict::drop, {}, dropped("ttl_exceeded")},
        {"hop limit 1 -> drop", with_ttl(s6, 1), Verdict::drop, {}, dropped("ttl_exceeded")},
        {"UDP TTL 1 -> drop", with_ttl(u, 1), Verdict::drop, {}, dropped("ttl_exceeded")},
        {"TTL 2 -> rs1 with TTL 1 (the first SYN: TTL 1 made no entry)", with_ttl(s, 2), Verdict::tx,
         with_ttl(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80), 1), fwd(0, 0, s.size(), true)},
        {"TTL 255 -> 254", with_ttl(s, 255), Verdict::tx, with_ttl(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80), 254),
         fwd(0, 0, s.size(), false)},
        {"hop limit 2 -> rs1 with 1", with_ttl(s6, 2), Verdict::tx,
         with_ttl(tcp(kToRs1, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn), 1), fwd(2, 3, s6.size(), true)},
        {"TTL 1 to the director's own address -> kernel, untouched", with_ttl(syn4(kToLb, "192.0.2.1", "10.0.0.2", 1, 22), 1),
         Verdict::kernel, {}, kKernel},
        {"ARP for a VIP -> the reply is not a forward: nothing to decrement",
         arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100"), Verdict::tx,
         arp(L2{kClientMac, kLbMac}, 2, kLbMac, "10.0.0.100", kClientMac, "10.0.0.1"),
         {{"rx_packets", 1}, {"arp_replies", 1}}},
    });
}

// The incremental checksum update (RFC 1624) against a checksum computed afresh by the frame
// builder, over every IP identification value (so every header checksum there is) and TTLs 2..255.
TEST_F(Golden_, TtlChecksumUpdateMatchesAFullRecomputeForEveryIpId) {
    Bytes syn = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    ASSERT_EQ(send(syn, 1000), Verdict::tx);  // rr: rs1
    const Bytes ack = tcp(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck);
    const Bytes ack_out = tcp(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck);
    unsigned bad = 0;
    for (uint32_t id = 0; id < 65536; id++) {
        uint8_t ttl = static_cast<uint8_t>(2 + id % 254);
        Bytes in = with_ttl(with_ip_id(ack, static_cast<uint16_t>(id)), ttl);
        Bytes want = with_ttl(with_ip_id(ack_out, static_cast<uint16_t>(id)), static_cast<uint8_t>(ttl - 1));
        ASSERT_EQ(send(in, 1000), Verdict::tx) << "id " << id;
        if (in != want && bad++ < 5) ADD_FAILURE() << "id " << id << " TTL " << int{ttl} << ": " << frame_diff(want, in);
    }
    EXPECT_EQ(bad, 0u);
}

TEST_F(Golden_, MultiSegmentFrames) {
    // 14 + 20 + 20 + 2030 = 2,084 bytes: a 2,048-byte first segment (the default mbuf data room) and 36.
    Bytes syn = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    Bytes big = tcp(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck, 2030);
    Bytes big6 = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn, 2010);  // 14+40+20+2010
    auto est = fwd(0, 0, 2084, false);
    est["dest0.active"] = 1;  // SYN_RECV -> ESTABLISHED
    est["dest0.inactive"] = -1;
    run({
        {"SYN", syn, Verdict::tx, hop(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80)), fwd(0, 0, syn.size(), true)},
        {"2,084-byte ACK in two segments (2,048 + 36) -> forwarded, 2,084 bytes counted", big, Verdict::tx,
         hop(tcp(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80, kTcpAck, 2030)), est, 1000, 2048},
        {"2,084-byte IPv6 SYN in two segments -> forwarded", big6, Verdict::tx,
         hop(tcp(kToRs1, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn, 2010)), fwd(2, 3, 2084, true), 1000, 2048},
        {"first segment of 40 bytes: the TCP header is in the next -> drop", big, Verdict::drop, {},
         dropped("headers_split"), 1000, 40},
        {"IPv4 total length past the whole frame (2,084) -> still bad total length",
         patch(big, 16, {0x08, 0x17}), Verdict::drop, {}, dropped("ipv4_bad_total_length"), 1000, 2048},
    });
}

TEST_F(Golden_, StatelessMhForNonSynMiss) {
    // svc3 is mh on every port: a mid-flow ACK without an entry (e.g. after a failover) is forwarded to
    // the Maglev choice, and a later packet of the same flow goes to the same real.
    Bytes ack = tcp(kToLb, "192.0.2.9", "10.0.0.101", 41000, 443, kTcpAck, 100);
    // svc3's key is the client's address (mh without mh-port, as IPVS's).
    uint16_t d = mh_lookup(snap_.services[3], src_hash4(ip("192.0.2.9").v4_be()));
    ASSERT_NE(d, kNoDest);
    const L2 to = d == 4 ? kToRs1 : kToRs2;
    auto delta = fwd(3, d, ack.size(), false);
    delta["stateless"] = 1;
    run({
        {"ACK miss on mh -> stateless forward", ack, Verdict::tx,
         hop(tcp(to, "192.0.2.9", "10.0.0.101", 41000, 443, kTcpAck, 100)), delta},
        {"same flow again -> same real", ack, Verdict::tx, hop(tcp(to, "192.0.2.9", "10.0.0.101", 41000, 443, kTcpAck, 100)),
         delta},
    });
}

TEST_F(Golden_, Persistence) {
    // svc7: persistence 300 s, rr over dest9/dest10. Same client, other ports -> same real.
    Bytes a = syn4(kToLb, "192.0.2.1", "10.0.0.105", 40000, 80);
    Bytes b = syn4(kToLb, "192.0.2.1", "10.0.0.105", 40001, 80);
    Bytes c = syn4(kToLb, "192.0.2.2", "10.0.0.105", 40000, 80);
    auto first = fwd(7, 9, a.size(), true);
    first["dest9.persist"] = 1;
    first["dest9.refs"] = 2;  // the connection and the template
    auto other = fwd(7, 10, c.size(), true);
    other["dest10.persist"] = 1;
    other["dest10.refs"] = 2;
    run({
        {"client A's first SYN -> rs1 + template", a, Verdict::tx, hop(syn4(kToRs1, "192.0.2.1", "10.0.0.105", 40000, 80)),
         first},
        {"client A, another port -> rs1 again (template)", b, Verdict::tx,
         hop(syn4(kToRs1, "192.0.2.1", "10.0.0.105", 40001, 80)), fwd(7, 9, b.size(), true)},
        {"client B -> rs2 (rr continues)", c, Verdict::tx, hop(syn4(kToRs2, "192.0.2.2", "10.0.0.105", 40000, 80)), other},
    });
}

}  // namespace
}  // namespace dplb::test

namespace dplb::test {
namespace {

// A SYN flood on another VIP of the same core (10.0.0.101, svc3) fills the IPv4 table with half-open
// entries. A new client of the rr service 10.0.0.100:80 (svc0): its SYN evicts the oldest of them and
// gets an entry, so its ACK, data and FIN reach the same real, statefully.
TEST_F(Golden_, SynFloodTheNewClientEvictsAHalfOpenEntry) {
    for (uint32_t i = 0; i < 1100; i++) {
        Bytes s = tcp(kToLb, "203.0.113.66", "10.0.0.101", static_cast<uint16_t>(1024 + i), 80, kTcpSyn);
        ASSERT_EQ(send(s, i), Verdict::tx);
    }
    ASSERT_GT(proc_->counters().evicted, 0u);
    ASSERT_EQ(proc_->counters().table_full, 0u);
    // The entry evicted is the flood's oldest left (oldest first: the flood's own SYNs evicted the first
    // `evicted` flows), SYN_RECV (inactive) on dest4 or dest5 under svc3's Maglev, which keys on the
    // client's address: the whole flood is on one real.
    const uint16_t oldest = mh_lookup(snap_.services[3], src_hash4(ip("203.0.113.66").v4_be()));  // mh: by address
    ASSERT_TRUE(oldest == 4 || oldest == 5);
    const std::string od = "dest" + std::to_string(oldest) + ".";
    Bytes syn = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpSyn);
    Bytes ack = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck);
    Bytes data = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck | 0x08, 300);
    Bytes fin = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpFin | kTcpAck);
    // The table is under pressure: new connections are scheduled by Maglev whatever the scheduler
    // (svc0 is rr), so an eviction before the ACK would leave the flow on the same real. Maglev's
    // choice for this client over rs1/rs2 is rs2 (dest1), pinned here.
    ASSERT_EQ(mh_lookup(snap_.services[0], flow_hash4(ip("198.51.100.7").v4_be(), ip("10.0.0.100").v4_be(), 5555, 80,
                                                      kProtoTcp)),
              1);
    auto first = fwd(0, 1, syn.size(), true);
    first["evicted"] = 1;
    first[od + "inactive"] = -1;
    first[od + "refs"] = -1;
    auto est = fwd(0, 1, ack.size(), false);
    est["dest1.active"] = 1;
    est["dest1.inactive"] = -1;
    auto fin_delta = fwd(0, 1, fin.size(), false);
    fin_delta["dest1.active"] = -1;
    fin_delta["dest1.inactive"] = 1;
    run({
        {"SYN into a table full of half-open entries -> evicts the oldest, entry, by Maglev: rs2", syn, Verdict::tx,
         hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpSyn)), first, 2000},
        {"its ACK -> ESTABLISHED, rs2", ack, Verdict::tx, hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck)),
         est, 2001},
        {"its data -> rs2", data, Verdict::tx,
         hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck | 0x08, 300)), fwd(0, 1, data.size(), false), 2002},
        {"its FIN -> rs2", fin, Verdict::tx, hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpFin | kTcpAck)),
         fin_delta, 2003},
    });
}

// The same client when the table is full of ESTABLISHED flows (nothing to evict): its SYN goes out by
// svc0's Maglev table, and so do its ACK, data and FIN, counted as stateless, though svc0 is rr.
TEST_F(Golden_, TableFullOfEstablishedFlowsTheNewClientFollowsMaglev) {
    for (uint32_t i = 0; proc_->counters().table_full == 0 && i < 2048; i++) {
        Bytes s = tcp(kToLb, "203.0.113.66", "10.0.0.101", static_cast<uint16_t>(1024 + i), 80, kTcpSyn);
        Bytes a = tcp(kToLb, "203.0.113.66", "10.0.0.101", static_cast<uint16_t>(1024 + i), 80, kTcpAck);
        ASSERT_EQ(send(s, 1000), Verdict::tx);
        ASSERT_EQ(send(a, 1000), Verdict::tx);
    }
    ASSERT_EQ(proc_->counters().table_full, 1u);
    Bytes syn = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpSyn);
    Bytes ack = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck);
    Bytes data = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck | 0x08, 300);
    Bytes fin = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpFin | kTcpAck);
    // Maglev's choice for this flow in svc0 (rs1/rs2, 251 slots, from the configuration alone): rs2.
    auto st = [](size_t len) {
        auto d = fwd(0, 1, len, false);
        d["stateless"] = 1;
        return d;
    };
    auto first = st(syn.size());
    first["table_full"] = 1;
    run({
        {"SYN, no room, nothing to evict -> Maglev: rs2", syn, Verdict::tx,
         hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpSyn)), first, 2000},
        {"its ACK, no entry, table full -> Maglev: rs2 (not tcp_no_conn)", ack, Verdict::tx,
         hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck)), st(ack.size()), 2001},
        {"its data -> rs2", data, Verdict::tx, hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpAck | 0x08, 300)),
         st(data.size()), 2002},
        {"its FIN -> rs2", fin, Verdict::tx, hop(tcp(kToRs2, "198.51.100.7", "10.0.0.100", 5555, 80, kTcpFin | kTcpAck)),
         st(fin.size()), 2003},
    });
}

}  // namespace
}  // namespace dplb::test

namespace dplb::test {
namespace {

// ICMP errors about a VIP's flow: the real's packet left from the VIP, so a router's error comes back
// to the director; it goes to that flow's real as it is (MACs and the outer TTL only).
TEST_F(Golden_, Ipv4IcmpErrorsFollowTheirFlow) {
    Bytes syn = syn4(kToLb, "192.0.2.1", "10.0.0.100", 40000, 80);
    Bytes udp_in = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 20);
    // What rs1 sent from the VIP, as a router quotes it: IP header + 8 bytes (RFC 792), or as much as
    // fits in 576 bytes (RFC 1812 §4.3.2.3).
    Bytes reply = tcp(L2{}, "10.0.0.100", "192.0.2.1", 80, 40000, kTcpSyn | kTcpAck, 1400);
    Bytes short_quote = ip_of(reply, 28), long_quote = ip_of(reply, 548);
    auto err = [](const L2& l2, uint8_t type, uint8_t code, uint32_t rest, const Bytes& quote) {
        return icmp_error(l2, "198.51.100.1", "10.0.0.100", type, code, rest, quote);
    };
    Bytes frag_needed = err(kToLb, 3, 4, 1400, short_quote);
    Bytes frag_needed_long = err(kToLb, 3, 4, 1400, long_quote);
    Bytes time_exceeded = err(kToLb, 11, 0, 0, short_quote);
    Bytes port_unreach = icmp_error(kToLb, "192.0.2.1", "10.0.0.100", 3, 3, 0,
                                    ip_of(udp(L2{}, "10.0.0.100", "192.0.2.1", 53, 5353, 30), 28));
    auto icmp = [](int svc, int dest, size_t len) {
        auto d = fwd(svc, dest, len, false);
        d["icmp_forwarded"] = 1;
        return d;
    };
    run({
        {"SYN 192.0.2.1:40000 -> VIP:80 -> rs1", syn, Verdict::tx, hop(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 40000, 80)),
         fwd(0, 0, syn.size(), true)},
        {"fragmentation needed (MTU 1400) quoting VIP:80 -> client:40000 -> rs1, as it is", frag_needed, Verdict::tx,
         hop(err(kToRs1, 3, 4, 1400, short_quote)), icmp(0, 0, frag_needed.size())},
        {"the same quoting 548 bytes of the packet -> rs1", frag_needed_long, Verdict::tx,
         hop(err(kToRs1, 3, 4, 1400, long_quote)), icmp(0, 0, frag_needed_long.size())},
        {"time exceeded -> rs1", time_exceeded, Verdict::tx, hop(err(kToRs1, 11, 0, 0, short_quote)),
         icmp(0, 0, time_exceeded.size())},
        {"UDP flow to VIP:53 -> rs1", udp_in, Verdict::tx, hop(udp(kToRs1, "192.0.2.1", "10.0.0.100", 5353, 53, 20)),
         fwd(1, 2, udp_in.size(), true)},
        {"port unreachable from the client about VIP:53 -> client:5353 -> rs1", port_unreach, Verdict::tx,
         hop(icmp_error(kToRs1, "192.0.2.1", "10.0.0.100", 3, 3, 0,
                        ip_of(udp(L2{}, "10.0.0.100", "192.0.2.1", 53, 5353, 30), 28))),
         icmp(1, 2, port_unreach.size())},
        {"about a flow with no entry (client port 40001), rr service -> kernel",
         err(kToLb, 3, 4, 1400, ip_of(tcp(L2{}, "10.0.0.100", "192.0.2.1", 80, 40001, kTcpAck), 28)), Verdict::kernel,
         {}, kKernel},
        {"quoting a packet that another address sent -> kernel",
         err(kToLb, 3, 4, 1400, ip_of(tcp(L2{}, "10.0.0.55", "192.0.2.1", 80, 40000, kTcpAck), 28)), Verdict::kernel,
         {}, kKernel},
        {"quoting only 4 bytes past the IP header (no destination port) -> kernel",
         err(kToLb, 3, 4, 1400, ip_of(reply, 24)), Verdict::kernel, {}, kKernel},
        {"addressed to the director's own address -> kernel",
         icmp_error(kToLb, "198.51.100.1", "10.0.0.2", 3, 4, 1400, short_quote), Verdict::kernel, {}, kKernel},
        {"source quench (type 4) -> kernel", err(kToLb, 4, 0, 0, short_quote), Verdict::kernel, {}, kKernel},
        {"TTL 1 -> drop", with_ttl(frag_needed, 1), Verdict::drop, {}, dropped("ttl_exceeded")},
    });
}

TEST_F(Golden_, Ipv6PacketTooBigFollowsItsFlow) {
    Bytes syn = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn);
    Bytes reply = tcp(L2{}, "2001:db8::100", "2001:db8::1", 80, 40000, kTcpAck, 1400);
    Bytes quote = ip_of(reply, 1280 - 40 - 8);  // as much as fits in the minimum MTU (RFC 4443 §3.2)
    auto err = [](const L2& l2, uint8_t type, uint8_t code, uint32_t rest, const Bytes& q) {
        return icmp_error(l2, "2001:db8::fe", "2001:db8::100", type, code, rest, q);
    };
    Bytes ptb = err(kToLb, 2, 0, 1280, quote);
    Bytes unreach = err(kToLb, 1, 4, 0, ip_of(reply, 48));
    auto icmp = [](size_t len) {
        auto d = fwd(2, 3, len, false);
        d["icmp_forwarded"] = 1;
        return d;
    };
    run({
        {"SYN [2001:db8::1]:40000 -> [VIP6]:80 -> rs1", syn, Verdict::tx,
         hop(tcp(kToRs1, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn)), fwd(2, 3, syn.size(), true)},
        {"packet too big (MTU 1280) quoting [VIP6]:80 -> client:40000 -> rs1, as it is", ptb, Verdict::tx,
         hop(err(kToRs1, 2, 0, 1280, quote)), icmp(ptb.size())},
        {"destination unreachable quoting 40 + 8 bytes -> rs1", unreach, Verdict::tx,
         hop(err(kToRs1, 1, 4, 0, ip_of(reply, 48))), icmp(unreach.size())},
        {"time exceeded -> rs1", err(kToLb, 3, 0, 0, ip_of(reply, 48)), Verdict::tx,
         hop(err(kToRs1, 3, 0, 0, ip_of(reply, 48))), icmp(err(kToLb, 3, 0, 0, ip_of(reply, 48)).size())},
        {"about a flow with no entry -> kernel",
         err(kToLb, 2, 0, 1280, ip_of(tcp(L2{}, "2001:db8::100", "2001:db8::1", 80, 40001, kTcpAck), 48)),
         Verdict::kernel, {}, kKernel},
        {"echo request (128) to the VIP -> kernel", err(kToLb, 128, 0, 0, Bytes(8, 0)), Verdict::kernel, {}, kKernel},
    });
}

// On an mh service an ICMP error without an entry goes where the flow's own packets go without one.
TEST_F(Golden_, IcmpErrorOnMhWithoutEntryFollowsMaglev) {
    auto mac_of = [](const Bytes& f) { return MacAddr{{f[0], f[1], f[2], f[3], f[4], f[5]}}.str(); };
    Bytes ack = tcp(kToLb, "192.0.2.9", "10.0.0.101", 41000, 443, kTcpAck);
    ASSERT_EQ(send(ack, 1000), Verdict::tx);
    Bytes e = icmp_error(kToLb, "198.51.100.1", "10.0.0.101", 3, 4, 1400,
                         ip_of(tcp(L2{}, "10.0.0.101", "192.0.2.9", 443, 41000, kTcpAck, 100), 28));
    Bytes other = icmp_error(kToLb, "198.51.100.1", "10.0.0.101", 3, 4, 1400,
                             ip_of(tcp(L2{}, "10.0.0.101", "192.0.2.9", 443, 41001, kTcpAck, 100), 28));
    ASSERT_EQ(send(e, 1000), Verdict::tx);
    EXPECT_EQ(mac_of(e), mac_of(ack));
    EXPECT_EQ(proc_->counters().icmp_forwarded, 1u);
    EXPECT_EQ(proc_->counters().stateless, 2u);
    // Another flow: its own ACK and its error agree too (whichever real Maglev names).
    Bytes ack2 = tcp(kToLb, "192.0.2.9", "10.0.0.101", 41001, 443, kTcpAck);
    ASSERT_EQ(send(ack2, 1000), Verdict::tx);
    ASSERT_EQ(send(other, 1000), Verdict::tx);
    EXPECT_EQ(mac_of(other), mac_of(ack2));
}

// An IPv4 fragment of `datagram` (a TCP/UDP segment, from its L4 header on): bytes [from, to) with
// identification `id`, more fragments set unless it is the last.
Bytes frag4(const L2& l2, const char* src, const char* dst, uint8_t proto, const Bytes& datagram, uint16_t id,
            size_t from, size_t to) {
    bool more = to < datagram.size();
    uint16_t field = static_cast<uint16_t>((more ? 0x2000 : 0) | from / 8);
    return with_ip_id(ipv4(l2, src, dst, proto, slice(datagram, from, to), field), id);
}

// The same over IPv6: a fragment header (RFC 8200 §4.5) then the bytes.
Bytes frag6(const L2& l2, const char* src, const char* dst, uint8_t proto, const Bytes& datagram, uint32_t id,
            size_t from, size_t to) {
    bool more = to < datagram.size();
    uint16_t om = static_cast<uint16_t>(from | (more ? 1 : 0));  // offset in 8-byte units, shifted by 3
    Bytes b{proto, 0, static_cast<uint8_t>(om >> 8), static_cast<uint8_t>(om), static_cast<uint8_t>(id >> 24),
            static_cast<uint8_t>(id >> 16), static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
    Bytes part = slice(datagram, from, to);
    b.insert(b.end(), part.begin(), part.end());
    return ipv6(l2, src, dst, 44, b);
}

std::map<std::string, int64_t> later_fwd(int svc, int dest, size_t len) {
    auto m = fwd(svc, dest, len, false);
    m["fragments"] = 1;
    return m;
}

TEST_F(Golden_, FragmentsFollowTheirFirstFragment) {
    // Two SYNs with 1,000 bytes of data, each in three fragments (512 + 504 + 4 of the 1,020-byte
    // segment), to svc0 (rr over rs1, rs2): the first fragments open entries on rs1 then rs2, and each
    // datagram's later fragments go where its first went, whatever order the datagrams interleave in.
    const char* c = "192.0.2.1";
    const char* vip = "10.0.0.100";
    Bytes a = l4_of(tcp(kToLb, c, vip, 40000, 80, kTcpSyn, 1000));
    Bytes b = l4_of(tcp(kToLb, c, vip, 40001, 80, kTcpSyn, 1000));
    auto in = [&](const Bytes& d, uint16_t id, size_t from, size_t to) { return frag4(kToLb, c, vip, kProtoTcp, d, id, from, to); };
    auto to1 = [&](const Bytes& d, uint16_t id, size_t from, size_t to) { return hop(frag4(kToRs1, c, vip, kProtoTcp, d, id, from, to)); };
    auto to2 = [&](const Bytes& d, uint16_t id, size_t from, size_t to) { return hop(frag4(kToRs2, c, vip, kProtoTcp, d, id, from, to)); };
    run({
        {"A first fragment (MF, offset 0, ports) -> rs1, entry made", in(a, 7, 0, 512), Verdict::tx, to1(a, 7, 0, 512),
         fwd(0, 0, 14 + 20 + 512, true)},
        {"B first fragment -> rs2 (rr)", in(b, 8, 0, 512), Verdict::tx, to2(b, 8, 0, 512), fwd(0, 1, 14 + 20 + 512, true)},
        {"B middle fragment (offset 512, MF) -> rs2", in(b, 8, 512, 1016), Verdict::tx, to2(b, 8, 512, 1016),
         later_fwd(0, 1, 14 + 20 + 504)},
        {"A middle fragment -> rs1", in(a, 7, 512, 1016), Verdict::tx, to1(a, 7, 512, 1016), later_fwd(0, 0, 14 + 20 + 504)},
        {"A last fragment (offset 1016) -> rs1", in(a, 7, 1016, 1020), Verdict::tx, to1(a, 7, 1016, 1020),
         later_fwd(0, 0, 14 + 20 + 4)},
        {"B last fragment 1,999 ms after its first -> rs2", in(b, 8, 1016, 1020), Verdict::tx, to2(b, 8, 1016, 1020),
         later_fwd(0, 1, 14 + 20 + 4), 2999},
        {"B last fragment again at 2,000 ms: its record expired -> drop", in(b, 8, 1016, 1020), Verdict::drop, {},
         dropped("fragment"), 3000},
        {"a later fragment whose first was never seen (id 9) -> drop", in(a, 9, 512, 1016), Verdict::drop, {},
         dropped("fragment")},
        {"A's id from another source -> drop", frag4(kToLb, "192.0.2.2", vip, kProtoTcp, a, 7, 512, 1016),
         Verdict::drop, {}, dropped("fragment")},
        {"A's id as UDP -> drop", frag4(kToLb, c, vip, kProtoUdp, a, 7, 512, 1016), Verdict::drop, {},
         dropped("fragment")},
        {"a later fragment with TTL 1 -> drop", with_ttl(in(a, 7, 512, 1016), 1), Verdict::drop, {},
         dropped("ttl_exceeded")},
        {"a later fragment to a VIP this director does not own -> drop",
         frag4(kToLb, c, "10.0.0.103", kProtoTcp, a, 7, 512, 1016), Verdict::drop, {}, dropped("vip_inactive")},
        {"a later fragment to a non-VIP -> kernel", frag4(kToLb, c, "10.0.0.2", kProtoTcp, a, 7, 512, 1016),
         Verdict::kernel, {}, kKernel},
        {"a later fragment to a VIP with a broadcast MAC -> kernel", frag4(kBcast, c, vip, kProtoTcp, a, 7, 512, 1016),
         Verdict::kernel, {}, kKernel},
        {"an ICMP fragment to a VIP -> kernel (as whole ICMP packets)",
         ipv4(kToLb, c, vip, 1, Bytes(24, 0), 0x0010), Verdict::kernel, {}, kKernel},
        {"a first fragment with 8 bytes of TCP header -> drop", in(a, 10, 0, 8), Verdict::drop, {},
         dropped("tcp_truncated")},
    });
}

TEST_F(Golden_, UdpAndIpv6Fragments) {
    // svc1 (UDP 53 -> rs1 as dest2) and svc2 (IPv6 TCP 80 -> rs1 as dest3).
    const char* c = "192.0.2.1";
    const char* c6 = "2001:db8::1";
    const char* vip6 = "2001:db8::100";
    Bytes u = l4_of(udp(kToLb, c, "10.0.0.100", 5353, 53, 2000));  // a UDP length of 2,008
    Bytes t6 = l4_of(tcp(kToLb, c6, vip6, 40000, 80, kTcpSyn, 1300));
    Bytes atomic = l4_of(tcp(kToLb, c6, vip6, 40001, 80, kTcpSyn));
    Bytes twice = frag6(kToLb, c6, vip6, 44, l4_of(frag6(kToLb, c6, vip6, kProtoTcp, t6, 5, 0, 1232)), 6, 0, 100);
    run({
        {"UDP first fragment: UDP length past the fragment -> rs1, entry made",
         frag4(kToLb, c, "10.0.0.100", kProtoUdp, u, 1, 0, 1480), Verdict::tx,
         hop(frag4(kToRs1, c, "10.0.0.100", kProtoUdp, u, 1, 0, 1480)), fwd(1, 2, 14 + 20 + 1480, true)},
        {"its last fragment -> rs1", frag4(kToLb, c, "10.0.0.100", kProtoUdp, u, 1, 1480, 2008), Verdict::tx,
         hop(frag4(kToRs1, c, "10.0.0.100", kProtoUdp, u, 1, 1480, 2008)), later_fwd(1, 2, 14 + 20 + 528)},
        {"IPv6 first fragment (M, offset 0) -> rs1", frag6(kToLb, c6, vip6, kProtoTcp, t6, 0x01020304, 0, 1232),
         Verdict::tx, hop(frag6(kToRs1, c6, vip6, kProtoTcp, t6, 0x01020304, 0, 1232)),
         fwd(2, 3, 14 + 40 + 8 + 1232, true)},
        {"IPv6 last fragment (offset 1232) -> rs1", frag6(kToLb, c6, vip6, kProtoTcp, t6, 0x01020304, 1232, 1320),
         Verdict::tx, hop(frag6(kToRs1, c6, vip6, kProtoTcp, t6, 0x01020304, 1232, 1320)),
         later_fwd(2, 3, 14 + 40 + 8 + 88)},
        {"IPv6 later fragment, other 32-bit id -> drop", frag6(kToLb, c6, vip6, kProtoTcp, t6, 0x01020305, 1232, 1320),
         Verdict::drop, {}, dropped("fragment")},
        {"IPv6 atomic fragment (offset 0, no M): a whole SYN -> rs1, entry made",
         frag6(kToLb, c6, vip6, kProtoTcp, atomic, 3, 0, atomic.size()), Verdict::tx,
         hop(frag6(kToRs1, c6, vip6, kProtoTcp, atomic, 3, 0, atomic.size())),
         fwd(2, 3, 14 + 40 + 8 + atomic.size(), true)},
        {"two IPv6 fragment headers -> drop", twice, Verdict::drop, {}, dropped("ipv6_bad_ext_header")},
    });
}

TEST_F(Golden_, LaterFragmentDroppedOnceItsRealIdNamesAnotherReal) {
    const char* c = "192.0.2.1";
    Bytes a = l4_of(tcp(kToLb, c, "10.0.0.100", 40000, 80, kTcpSyn, 1000));
    Bytes first = frag4(kToLb, c, "10.0.0.100", kProtoTcp, a, 7, 0, 512);
    ASSERT_EQ(send(first, 1000), Verdict::tx);
    snap_.dests[0].gen++;  // dest0 removed and its id handed to another real since
    Bytes later = frag4(kToLb, c, "10.0.0.100", kProtoTcp, a, 7, 512, 1020);
    EXPECT_EQ(send(later, 1001), Verdict::drop);
    EXPECT_EQ(proc_->counters().drops[static_cast<unsigned>(Drop::fragment)], 1u);
    EXPECT_EQ(proc_->counters().fragments, 0u);
}

TEST_F(Golden_, FragmentsOfOneDatagramInOneBurst) {
    // The first fragment is handled in the burst's second pass; a later fragment behind it in the
    // same burst must see what it recorded.
    const char* c = "192.0.2.1";
    Bytes a = l4_of(tcp(kToLb, c, "10.0.0.100", 40000, 80, kTcpSyn, 1000));
    Bytes f1 = frag4(kToLb, c, "10.0.0.100", kProtoTcp, a, 7, 0, 512);
    Bytes f2 = frag4(kToLb, c, "10.0.0.100", kProtoTcp, a, 7, 512, 1020);
    Bytes f2_before = f2;
    Frame frames[2] = {{f1.data(), static_cast<uint32_t>(f1.size()), static_cast<uint32_t>(f1.size())},
                       {f2.data(), static_cast<uint32_t>(f2.size()), static_cast<uint32_t>(f2.size())}};
    Verdict v[2];
    proc_->process(frames, 2, v, 1000, kLbMac);
    EXPECT_EQ(v[0], Verdict::tx);
    EXPECT_EQ(v[1], Verdict::tx);
    Bytes want = hop(frag4(kToRs1, c, "10.0.0.100", kProtoTcp, a, 7, 512, 1020));
    EXPECT_TRUE(frame_diff(want, f2).empty()) << frame_diff(want, f2);
    EXPECT_EQ(proc_->counters().fragments, 1u);
}

}  // namespace
}  // namespace dplb::test

namespace dplb::test {
namespace {

// Connection sync (dataplane/sync_ring.h, synced_table.h): a flow a peer director synced, arriving here
// without a SYN, goes to the real the peer chose (not the one rr would pick) and is adopted into this
// core's table; new entries and state changes worth syncing are queued for the control thread.
using test_sync::peer_conn;

class SyncGolden_ : public Golden_ {
protected:
    void SetUp() override {
        Golden_::SetUp();
        static unsigned n = 0;
        ASSERT_TRUE(synced_.init(("gsync" + std::to_string(n++)).c_str(), 1024, 1024, 0));
        proc_->set_sync(&ring_, &synced_);
    }
    // The peer's record, as the control thread stores it (sync/translate.h resolve).
    void put(const sync::SyncConn& c, uint32_t now_ms) {
        sync::Resolved r;
        ASSERT_EQ(sync::RxDrop::count, sync::resolve(c, snap_, now_ms, r));
        ASSERT_TRUE(synced_.put(r.key(), r.v6, r.entry));
    }
    SyncRing ring_{8};
    SyncedTable synced_;
};

std::map<std::string, int64_t> plus(std::map<std::string, int64_t> m, const std::map<std::string, int64_t>& more) {
    for (auto& [k, v] : more) m[k] += v;
    return m;
}

TEST_F(SyncGolden_, SyncedFlowGoesToTheSyncedRealAndIsAdopted) {
    put(peer_conn(41000, "10.0.0.12", 1 /* IP_VS_TCP_S_ESTABLISHED */, 900), 1000);
    put(peer_conn(41001, "10.0.0.11", 1, 2), 1000);  // expires at 3000
    Bytes ack = tcp(kToLb, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpAck);
    Bytes fin = tcp(kToLb, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpFin | kTcpAck);
    Bytes other = tcp(kToLb, "192.0.2.1", "10.0.0.100", 41002, 80, kTcpAck);
    Bytes late = tcp(kToLb, "192.0.2.1", "10.0.0.100", 41001, 80, kTcpAck);
    run({
        {"ACK of a synced flow on rr svc0 -> rs2, the peer's real (rr would start at rs1); adopted ESTABLISHED, "
         "no new connection counted",
         ack, Verdict::tx, hop(tcp(kToRs2, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpAck)),
         plus(fwd(0, 1, ack.size(), false), {{"dest1.active", 1}, {"dest1.refs", 1}, {"sync_adopted", 1}})},
        {"the same flow again: a hit in this core's own table, nothing adopted", ack, Verdict::tx,
         hop(tcp(kToRs2, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpAck)), fwd(0, 1, ack.size(), false)},
        {"its FIN: ESTABLISHED -> FIN_WAIT, queued for the peers", fin, Verdict::tx,
         hop(tcp(kToRs2, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpFin | kTcpAck)),
         plus(fwd(0, 1, fin.size(), false), {{"dest1.active", -1}, {"dest1.inactive", 1}, {"sync_queued", 1}})},
        {"an ACK of a flow nobody synced: dropped as before", other, Verdict::drop, {}, dropped("tcp_no_conn")},
        {"a synced flow past its timeout: not adopted", late, Verdict::drop, {}, dropped("tcp_no_conn"), 3000},
    });
    SyncRecord r[8];
    ASSERT_EQ(1u, ring_.pop(r, 8));
    EXPECT_EQ(static_cast<uint8_t>(TcpState::fin_wait), r[0].state);
    EXPECT_EQ(1, r[0].dest);
    EXPECT_EQ(41000, r[0].cport);
    EXPECT_EQ(80, r[0].vport);
    auto wire = sync::to_wire(r[0], snap_);
    ASSERT_TRUE(wire);
    EXPECT_EQ(ip("10.0.0.12"), wire->daddr);
    EXPECT_EQ(4u /* IP_VS_TCP_S_FIN_WAIT */, wire->state);
    EXPECT_EQ(sync::kConnDroute | sync::kConnNoOutput | sync::kConnInactive, wire->flags);
}

TEST_F(SyncGolden_, NewConnectionsAreQueuedAndARingFullIsCounted) {
    std::vector<Golden> cases;
    for (uint16_t i = 0; i < 9; i++) {
        Bytes s = syn4(kToLb, "192.0.2.7", "10.0.0.100", static_cast<uint16_t>(42000 + i), 80);
        int dest = i % 2;  // rr
        cases.push_back({"SYN " + std::to_string(i) + (i < 8 ? ": queued" : ": the ring (8) is full, counted"), s,
                         Verdict::tx, hop(syn4(dest ? kToRs2 : kToRs1, "192.0.2.7", "10.0.0.100",
                                               static_cast<uint16_t>(42000 + i), 80)),
                         plus(fwd(0, dest, s.size(), true), {{i < 8 ? "sync_queued" : "sync_ring_full", 1}})});
    }
    run(cases);
    SyncRecord r[8];
    ASSERT_EQ(8u, ring_.pop(r, 8));
    EXPECT_EQ(static_cast<uint8_t>(TcpState::syn_recv), r[0].state);
    EXPECT_EQ(42007, r[7].cport);
}

TEST_F(SyncGolden_, SyncedRealGoneOrASynIsNotAdopted) {
    // The peer's real is one of the service's, but the id now names it under another generation (it
    // was handed to another real and back): the entry no longer proves anything.
    put(peer_conn(43000, "10.0.0.12", 1, 900), 1000);
    snap_.dests[1].gen++;
    Bytes ack = tcp(kToLb, "192.0.2.1", "10.0.0.100", 43000, 80, kTcpAck);
    Bytes syn = syn4(kToLb, "192.0.2.1", "10.0.0.100", 43001, 80);
    run({{"ACK of a synced flow whose real id changed generation: not adopted", ack, Verdict::drop, {},
          dropped("tcp_no_conn")}});
    snap_.dests[1].gen--;
    put(peer_conn(43001, "10.0.0.12", 3 /* SYN_RECV */, 60), 1000);
    run({{"a SYN opens its own connection (rr: rs1) even where a peer synced the tuple", syn, Verdict::tx,
          hop(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 43001, 80)),
          plus(fwd(0, 0, syn.size(), true), {{"sync_queued", 1}})}});
}

// Refresh (Processor::refresh): with sync on, the sweep re-sends a live ESTABLISHED flow about every
// third of its timeout (900 s: 300 s), once per interval; nothing with sync off, nothing once expired.
class SyncRefreshGolden_ : public SyncGolden_ {
protected:
    static constexpr uint32_t kInterval = 300000;  // ESTABLISHED's default 900 s, / 3
    static constexpr uint32_t kRound = 2 * Processor::kSweepPeriodMs;  // a round, with room to spare
    // An ESTABLISHED flow 192.0.2.1:41000 -> 10.0.0.100:80 on svc0 (rr: rs1, dest 0), made at 1000;
    // its two records (SYN_RECV, ESTABLISHED) taken off the ring.
    void establish() {
        Bytes syn = syn4(kToLb, "192.0.2.1", "10.0.0.100", 41000, 80);
        Bytes ack = tcp(kToLb, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpAck);
        run({{"SYN: a new entry, queued", syn, Verdict::tx, hop(syn4(kToRs1, "192.0.2.1", "10.0.0.100", 41000, 80)),
              plus(fwd(0, 0, syn.size(), true), {{"sync_queued", 1}})},
             {"ACK: ESTABLISHED, queued", ack, Verdict::tx,
              hop(tcp(kToRs1, "192.0.2.1", "10.0.0.100", 41000, 80, kTcpAck)),
              plus(fwd(0, 0, ack.size(), false), {{"dest0.active", 1}, {"dest0.inactive", -1}, {"sync_queued", 1}})}});
        SyncRecord r[8];
        ASSERT_EQ(2u, ring_.pop(r, 8));
        now_ = 1000;
    }
    // The worker's sweep as its loop runs it, every 10 ms up to `until`; stops early, at the first
    // record queued, when `stop_at_record`. Returns the records queued.
    uint32_t sweep_until(uint32_t until, bool stop_at_record) {
        const uint64_t before = proc_->counters().sync_queued;
        while (time_reached(until, now_ + 10)) {
            now_ += 10;
            proc_->expire_paced(now_);
            if (stop_at_record && proc_->counters().sync_queued != before) break;
        }
        return static_cast<uint32_t>(proc_->counters().sync_queued - before);
    }
    uint32_t now_ = 0;
};

TEST_F(SyncRefreshGolden_, LiveEstablishedFlowIsReSentOncePerThirdOfItsTimeout) {
    establish();
    EXPECT_EQ(1u, sweep_until(1000 + kInterval + 2 * kRound, true)) << "no refresh within an interval and two rounds";
    const uint32_t first = now_;
    SyncRecord r[8];
    ASSERT_EQ(1u, ring_.pop(r, 8));
    const SyncRecord want = test_sync::worker_record(41000, static_cast<uint8_t>(TcpState::established), 0, 0);
    EXPECT_EQ(0, std::memcmp(&want, &r[0], sizeof want)) << "state " << int{r[0].state} << " dest " << r[0].dest
                                                         << " cport " << r[0].cport << " vport " << r[0].vport;
    EXPECT_EQ(1u, proc_->counters().sync_refreshed);
    // The next comes one interval after the moment the first was due (at most two rounds before it).
    EXPECT_EQ(0u, sweep_until(first + kInterval - 3 * kRound, false));
    EXPECT_EQ(1u, sweep_until(first + kInterval + 2 * kRound, false));
    ASSERT_EQ(1u, ring_.pop(r, 8));
    EXPECT_EQ(0, std::memcmp(&want, &r[0], sizeof want));
    EXPECT_EQ(2u, proc_->counters().sync_refreshed);
    EXPECT_EQ(0u, proc_->counters().sync_ring_full);
}

TEST_F(SyncRefreshGolden_, NothingIsReSentWithSyncOff) {
    establish();
    proc_->set_sync(nullptr, nullptr);
    EXPECT_EQ(0u, sweep_until(1000 + 2 * kInterval + 2 * kRound, false));
    SyncRecord r[8];
    EXPECT_EQ(0u, ring_.pop(r, 8));
    EXPECT_EQ(0u, proc_->counters().sync_refreshed);
    EXPECT_EQ(1u, proc_->table4().size()) << "the flow is still live: it was there to re-send";
}

TEST_F(SyncRefreshGolden_, NothingIsReSentForARealWhoseServiceLeft) {
    establish();
    // A reload removed svc0: its real rs1 (dest 0) drains, and its flow goes on, but with no service
    // there is no state timeout to pace a refresh by: nothing is re-sent (as before the service left,
    // the flow's last record stands).
    Snapshot next = snap_;
    next.dests[0].draining = true;
    next.services.erase(next.services.begin());
    assign_vip_slots(next);
    ASSERT_EQ(next.service_of(0), nullptr);
    proc_->set_snapshot(&next, &vips_);
    EXPECT_EQ(0u, sweep_until(1000 + 2 * kInterval + 2 * kRound, false));
    EXPECT_EQ(0u, proc_->counters().sync_refreshed);
    EXPECT_EQ(1u, proc_->table4().size()) << "the flow is still live: it was there to re-send";
    proc_->set_snapshot(&snap_, &vips_);
}

TEST_F(SyncRefreshGolden_, NothingIsReSentOnceTheFlowExpired) {
    establish();
    // ESTABLISHED lasts 900 s from its ACK at 1000, then the sweep removes it. The rounds' spans over
    // its life cover more than two intervals and less than three: two or three refreshes (a third
    // only if its moment is seen before the entry's end).
    const uint32_t queued = sweep_until(1000 + 900000 + kRound, false);
    EXPECT_GE(queued, 2u);
    EXPECT_LE(queued, 3u);
    EXPECT_EQ(queued, proc_->counters().sync_refreshed);
    EXPECT_EQ(1u, proc_->counters().expired);
    EXPECT_EQ(0u, proc_->table4().size());
    SyncRecord r[8];
    EXPECT_EQ(queued, ring_.pop(r, 8));
    EXPECT_EQ(0u, sweep_until(now_ + 2 * kInterval, false));
    EXPECT_EQ(0u, ring_.pop(r, 8));
}

TEST_F(SyncRefreshGolden_, ReSendsAreSpreadOverTheInterval) {
    // 240 ESTABLISHED flows made together (rr over rs1, rs2), on a ring that holds them all.
    constexpr uint16_t kFlows = 240;
    SyncRing ring(1024);
    proc_->set_sync(&ring, &synced_);
    for (uint16_t i = 0; i < kFlows; i++) {
        for (uint8_t flags : {kTcpSyn, kTcpAck}) {
            Bytes f = tcp(kToLb, "192.0.2.1", "10.0.0.100", static_cast<uint16_t>(50000 + i), 80, flags);
            ASSERT_EQ(Verdict::tx, send(f, 1000));
        }
    }
    SyncRecord r[1024];
    ASSERT_EQ(2u * kFlows, ring.pop(r, 1024));
    // One interval and two rounds of sweeping: every flow re-sent, and no 10 s of it holding more
    // than a twelfth of them (evenly spread, a 10 s slice holds 8 of the 240).
    std::map<uint16_t, unsigned> per_flow;
    std::map<uint32_t, unsigned> per_slice;
    for (now_ = 1000; now_ < 1000 + kInterval + 2 * kRound;) {
        now_ += 10;
        proc_->expire_paced(now_);
        for (uint32_t n = ring.pop(r, 1024), i = 0; i < n; i++) {
            EXPECT_EQ(static_cast<uint8_t>(TcpState::established), r[i].state);
            per_flow[r[i].cport]++;
            per_slice[now_ / 10000]++;
        }
    }
    EXPECT_EQ(kFlows, per_flow.size());
    for (auto& [slice, n] : per_slice) EXPECT_LE(n, kFlows / 12u) << "in the 10 s from " << slice * 10 << " s";
    EXPECT_EQ(0u, proc_->counters().sync_ring_full);
}

TEST_F(SyncRefreshGolden_, PersistenceTemplatesAreNotReSent) {
    // svc7 (10.0.0.105:80) has persistence 300 s: a SYN makes a template (its interval would be 100 s)
    // beside the connection.
    for (uint8_t flags : {kTcpSyn, kTcpAck}) {
        Bytes f = tcp(kToLb, "192.0.2.1", "10.0.0.105", 41000, 80, flags);
        ASSERT_EQ(Verdict::tx, send(f, 1000));
    }
    SyncRecord r[8];
    ASSERT_EQ(2u, ring_.pop(r, 8));
    ASSERT_EQ(2u, proc_->table4().size());
    now_ = 1000;
    for (uint32_t n = 0; now_ < 1000 + 299000;) {  // the template lives 300 s
        now_ += 10;
        proc_->expire_paced(now_);
        n = ring_.pop(r, 8);
        for (uint32_t i = 0; i < n; i++) {
            EXPECT_EQ(kProtoTcp, r[i].proto);
            EXPECT_EQ(static_cast<uint8_t>(TcpState::established), r[i].state);
            EXPECT_EQ(7, r[i].svc);
        }
    }
    EXPECT_LE(proc_->counters().sync_refreshed, 1u) << "only the connection, once at most in 298 s";
    EXPECT_EQ(2u, proc_->table4().size());
}

TEST_F(SyncRefreshGolden_, UdpAndIpv6FlowsAreReSentFromTheirKeys) {
    Bytes u = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 20);  // svc1, dest2: UDP, 300 s
    Bytes s6 = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn);  // svc2, dest3
    Bytes a6 = tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpAck);
    for (const Bytes* f : {&u, &s6, &a6}) {
        Bytes sent = *f;  // send() rewrites it
        ASSERT_EQ(Verdict::tx, send(sent, 1000));
    }
    SyncRecord r[8];
    ASSERT_EQ(3u, ring_.pop(r, 8));
    // The records as written by hand: the client's and the VIP's side of each flow.
    SyncRecord want_udp{};
    want_udp.family = 4;
    want_udp.proto = kProtoUdp;
    want_udp.state = kUdpState;
    want_udp.dest = 2;
    want_udp.cport = 5353;
    want_udp.vport = 53;
    want_udp.svc = 1;
    const uint8_t c4[] = {192, 0, 2, 1}, v4[] = {10, 0, 0, 100};
    std::memcpy(want_udp.caddr, c4, 4);
    std::memcpy(want_udp.vaddr, v4, 4);
    SyncRecord want6{};
    want6.family = 6;
    want6.proto = kProtoTcp;
    want6.state = static_cast<uint8_t>(TcpState::established);
    want6.dest = 3;
    want6.cport = 40000;
    want6.vport = 80;
    want6.svc = 2;
    const uint8_t c6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    std::memcpy(want6.caddr, c6, 16);
    std::memcpy(want6.vaddr, v6, 16);
    // UDP's interval is 100 s, ESTABLISHED's 300 s; the rounds' spans cover a little over 300 s (from
    // the first wrap, a round after 1000): UDP three or four times, IPv6 once or twice.
    unsigned udp_seen = 0, v6_seen = 0;
    for (now_ = 1000; now_ < 1000 + kInterval + 2 * kRound;) {
        now_ += 10;
        if (now_ == 200000) {  // a datagram keeps the UDP flow (300 s) live to the end; a hit queues nothing
            Bytes again = u;
            ASSERT_EQ(Verdict::tx, send(again, now_));
        }
        proc_->expire_paced(now_);
        for (uint32_t n = ring_.pop(r, 8), i = 0; i < n; i++) {
            const SyncRecord& want = r[i].family == 6 ? want6 : want_udp;
            (r[i].family == 6 ? v6_seen : udp_seen)++;
            EXPECT_EQ(0, std::memcmp(&want, &r[i], sizeof want))
                << "family " << int{r[i].family} << " proto " << int{r[i].proto} << " state " << int{r[i].state}
                << " dest " << r[i].dest << " svc " << r[i].svc << " cport " << r[i].cport;
        }
    }
    EXPECT_GE(udp_seen, 3u);
    EXPECT_LE(udp_seen, 4u);
    EXPECT_GE(v6_seen, 1u);
    EXPECT_LE(v6_seen, 2u);
}

}  // namespace
}  // namespace dplb::test
