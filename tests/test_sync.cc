// Connection sync, the pure parts: the IPVS sync protocol v1 codec against bytes written by hand from
// net/netfilter/ipvs/ip_vs_sync.c's layouts (not by the encoder), a round-trip property over random
// records, the state numbers both ways, the translation to and from the data plane's view, and the
// `sync:` configuration.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "config.h"
#include "sync/codec.h"
#include "sync/translate.h"
#include "sync_fixtures.h"

namespace dplb {
namespace {

using sync::DecodeError;
using sync::SyncConn;
using Bytes = std::vector<uint8_t>;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// struct ip_vs_sync_mesg: reserved 0, syncid 7, size 44, nr_conns 1, version 1, spare 0; then one
// struct ip_vs_sync_v4: type 0, TCP, ver_size 36, flags IP_VS_CONN_F_DROUTE | NOOUTPUT, state
// ESTABLISHED (1), cport 40000, vport 80, dport 8080, fwmark 0, timeout 900, caddr 10.0.0.1,
// vaddr 10.0.0.100, daddr 10.0.0.11.
const Bytes kGoldenV4 = {
    0x00, 0x07, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x00,  // header
    0x00, 0x06, 0x00, 0x24,                          // type, protocol, ver_size
    0x00, 0x00, 0x00, 0x83,                          // flags
    0x00, 0x01, 0x9c, 0x40,                          // state, cport
    0x00, 0x50, 0x1f, 0x90,                          // vport, dport
    0x00, 0x00, 0x00, 0x00,                          // fwmark
    0x00, 0x00, 0x03, 0x84,                          // timeout
    0x0a, 0x00, 0x00, 0x01,                          // caddr
    0x0a, 0x00, 0x00, 0x64,                          // vaddr
    0x0a, 0x00, 0x00, 0x0b,                          // daddr
};

SyncConn golden_v4_conn() {
    SyncConn c;
    c.protocol = 6;
    c.flags = 0x83;
    c.state = 1;
    c.cport = 40000;
    c.vport = 80;
    c.dport = 8080;
    c.timeout_s = 900;
    c.caddr = ip("10.0.0.1");
    c.vaddr = ip("10.0.0.100");
    c.daddr = ip("10.0.0.11");
    return c;
}

// struct ip_vs_sync_v6 (type 1): UDP, ver_size 72, flags DROUTE | NOOUTPUT | INACTIVE, state
// IP_VS_UDP_S_NORMAL (0), cport 5000, vport 53, dport 53, fwmark 9, timeout 300, 2001:db8::1,
// 2001:db8::100, 2001:db8::11.
Bytes golden_v6_record() {
    Bytes r = {0x01, 0x11, 0x00, 0x48, 0x00, 0x00, 0x01, 0x83, 0x00, 0x00, 0x13, 0x88,
               0x00, 0x35, 0x00, 0x35, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x01, 0x2c};
    for (uint8_t last : {0x01, 0x00, 0x11}) {  // caddr, vaddr (::100), daddr
        Bytes a = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
        if (last == 0x00) a[14] = 0x01;
        r.insert(r.end(), a.begin(), a.end());
    }
    return r;
}

SyncConn golden_v6_conn() {
    SyncConn c;
    c.protocol = 17;
    c.flags = 0x183;
    c.state = 0;
    c.cport = 5000;
    c.vport = 53;
    c.dport = 53;
    c.fwmark = 9;
    c.timeout_s = 300;
    c.caddr = ip("2001:db8::1");
    c.vaddr = ip("2001:db8::100");
    c.daddr = ip("2001:db8::11");
    return c;
}

Bytes message(uint8_t syncid, uint8_t n, const std::vector<Bytes>& records) {
    Bytes m = {0, syncid, 0, 0, n, 1, 0, 0};
    for (const Bytes& r : records) m.insert(m.end(), r.begin(), r.end());
    m[2] = static_cast<uint8_t>(m.size() >> 8);
    m[3] = static_cast<uint8_t>(m.size());
    return m;
}

Bytes v4_record() { return Bytes(kGoldenV4.begin() + 8, kGoldenV4.end()); }

TEST(SyncCodec, DecodesTheGoldenIpv4Message) {
    sync::Decoded d = sync::decode(kGoldenV4.data(), kGoldenV4.size());
    ASSERT_TRUE(d.ok()) << sync::decode_error_name(d.error);
    EXPECT_EQ(7, d.msg.syncid);
    ASSERT_EQ(1u, d.msg.conns.size());
    EXPECT_EQ(golden_v4_conn(), d.msg.conns[0]);
}

TEST(SyncCodec, EncodesTheGoldenIpv4Message) {
    auto msgs = sync::encode(7, {golden_v4_conn()}, 1500);
    ASSERT_EQ(1u, msgs.size());
    EXPECT_EQ(kGoldenV4, msgs[0]);
}

TEST(SyncCodec, Ipv6RecordBothWays) {
    const Bytes m = message(3, 2, {golden_v6_record(), v4_record()});
    ASSERT_EQ(8u + 72 + 36, m.size());
    sync::Decoded d = sync::decode(m.data(), m.size());
    ASSERT_TRUE(d.ok()) << sync::decode_error_name(d.error);
    ASSERT_EQ(2u, d.msg.conns.size());
    EXPECT_EQ(golden_v6_conn(), d.msg.conns[0]);
    EXPECT_EQ(golden_v4_conn(), d.msg.conns[1]);
    auto out = sync::encode(3, d.msg.conns, 1500);
    ASSERT_EQ(1u, out.size());
    EXPECT_EQ(m, out[0]);
}

TEST(SyncCodec, OptionalParametersAreSkippedSafely) {
    // Sequence data (type 1, 24 bytes), an unknown optional parameter (IPVS_OPT_F_PARAM | 9), then
    // padding to 32 bits: the record's size says 36 + 26 + 5 = 67, the next record starts at 68.
    Bytes r = v4_record();
    r.push_back(1);
    r.push_back(24);
    r.insert(r.end(), 24, 0xab);
    r.insert(r.end(), {0x40 | 9, 3, 1, 2, 3});
    r[2] = 0;
    r[3] = static_cast<uint8_t>(r.size());
    ASSERT_EQ(67u, r.size());
    r.push_back(0);  // pad
    Bytes m = message(7, 2, {r, v4_record()});
    sync::Decoded d = sync::decode(m.data(), m.size());
    ASSERT_TRUE(d.ok()) << sync::decode_error_name(d.error);
    ASSERT_EQ(2u, d.msg.conns.size());
    EXPECT_EQ(golden_v4_conn(), d.msg.conns[0]);
    EXPECT_EQ(golden_v4_conn(), d.msg.conns[1]);
    EXPECT_EQ(0u, d.skipped);
}

TEST(SyncCodec, UnknownMandatoryParameterSkipsTheRecordOnly) {
    Bytes r = v4_record();
    r.insert(r.end(), {9, 2, 0xaa, 0xbb});  // type 9 without IPVS_OPT_F_PARAM
    r[3] = static_cast<uint8_t>(r.size());
    Bytes m = message(7, 2, {r, v4_record()});
    sync::Decoded d = sync::decode(m.data(), m.size());
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(1u, d.skipped);
    ASSERT_EQ(1u, d.msg.conns.size());
}

struct Bad {
    const char* what;
    Bytes bytes;
    DecodeError want;
};

TEST(SyncCodec, MalformedMessagesAreRefusedWithAReason) {
    auto with = [](Bytes b, size_t at, uint8_t v) {
        b[at] = v;
        return b;
    };
    Bytes r_short = v4_record();
    r_short[3] = 32;  // size below the fixed part
    Bytes r_ver = v4_record();
    r_ver[2] = 0x10;  // record version 1
    Bytes r_type = v4_record();
    r_type[0] = 2;
    Bytes r_opt0 = v4_record();
    r_opt0.insert(r_opt0.end(), {0x41, 0, 0, 0});  // length 0
    r_opt0[3] = 40;
    Bytes r_optlong = v4_record();
    r_optlong.insert(r_optlong.end(), {0x41, 9, 0, 0});  // 9 bytes of data, 2 in the record
    r_optlong[3] = 40;
    Bytes r_opt1 = v4_record();
    r_opt1.insert(r_opt1.end(), {0x41, 0, 0, 0});
    r_opt1[3] = 37;  // a lone type byte
    Bytes r_past = v4_record();
    r_past[3] = 40;  // says 40, the datagram ends at 36
    std::vector<Bad> cases = {
        {"empty", {}, DecodeError::truncated},
        {"7 bytes", Bytes(kGoldenV4.begin(), kGoldenV4.begin() + 7), DecodeError::truncated},
        {"size says 45", with(kGoldenV4, 3, 45), DecodeError::bad_size},
        {"a trailing byte", [] { Bytes b = kGoldenV4; b.push_back(0); return b; }(), DecodeError::bad_size},
        {"version 0 header (reserved = nr_conns)", with(kGoldenV4, 0, 1), DecodeError::not_v1},
        {"version 2", with(kGoldenV4, 5, 2), DecodeError::not_v1},
        {"spare set", with(kGoldenV4, 7, 1), DecodeError::not_v1},
        {"nr_conns 2, one record", with(kGoldenV4, 4, 2), DecodeError::truncated},
        {"record size 32", message(1, 1, {r_short}), DecodeError::bad_record},
        {"record version 1", message(1, 1, {r_ver}), DecodeError::bad_record},
        {"record type 2", message(1, 1, {r_type}), DecodeError::bad_record},
        {"option length 0", message(1, 1, {r_opt0}), DecodeError::bad_option},
        {"option past its record", message(1, 1, {r_optlong}), DecodeError::bad_option},
        {"option cut after its type", message(1, 1, {r_opt1}), DecodeError::bad_option},
        {"record past the datagram", message(1, 1, {r_past}), DecodeError::truncated},
        {"IPv6 type, IPv4 length", message(1, 1, {with(v4_record(), 0, 1)}), DecodeError::bad_record},
    };
    for (const Bad& c : cases) {
        sync::Decoded d = sync::decode(c.bytes.data(), c.bytes.size());
        EXPECT_EQ(sync::decode_error_name(c.want), std::string(sync::decode_error_name(d.error))) << c.what;
    }
}

IpAddr random_addr(std::mt19937& rng, bool v6) {
    IpAddr a;
    a.family = v6 ? 6 : 4;
    for (size_t i = 0; i < (v6 ? 16u : 4u); i++) a.b[i] = static_cast<uint8_t>(rng());
    return a;
}

// Any records, any MTU: every message fits, holds at most 255 records, decodes, and the messages'
// records in order are the input.
TEST(SyncCodec, RoundTripProperty) {
    std::mt19937 rng(20261207);
    for (int round = 0; round < 200; round++) {
        std::vector<SyncConn> in(rng() % 700);
        for (SyncConn& c : in) {
            bool v6 = rng() & 1;
            c.protocol = static_cast<uint8_t>(rng());
            c.flags = static_cast<uint32_t>(rng());
            c.state = static_cast<uint16_t>(rng());
            c.cport = static_cast<uint16_t>(rng());
            c.vport = static_cast<uint16_t>(rng());
            c.dport = static_cast<uint16_t>(rng());
            c.fwmark = static_cast<uint32_t>(rng());
            c.timeout_s = static_cast<uint32_t>(rng());
            c.caddr = random_addr(rng, v6);
            c.vaddr = random_addr(rng, v6);
            c.daddr = random_addr(rng, v6);
        }
        const size_t max_len = 80 + rng() % 9000;
        const uint8_t syncid = static_cast<uint8_t>(rng());
        std::vector<SyncConn> out;
        for (const Bytes& m : sync::encode(syncid, in, max_len)) {
            ASSERT_LE(m.size(), std::max<size_t>(max_len, sync::kHeaderLen + sync::kConnV6Len));
            sync::Decoded d = sync::decode(m.data(), m.size());
            ASSERT_TRUE(d.ok()) << sync::decode_error_name(d.error);
            ASSERT_EQ(syncid, d.msg.syncid);
            ASSERT_GE(d.msg.conns.size(), 1u);
            ASSERT_LE(d.msg.conns.size(), 255u);
            out.insert(out.end(), d.msg.conns.begin(), d.msg.conns.end());
        }
        ASSERT_EQ(in, out) << "round " << round;
    }
}

TEST(SyncCodec, MessagesSplitAtTheMtuAnd255Records) {
    std::vector<SyncConn> in(600, golden_v4_conn());
    auto msgs = sync::encode(1, in, 1500 - 28);
    // (1472 - 8) / 36 = 40 records per message: 15 messages.
    ASSERT_EQ(15u, msgs.size());
    EXPECT_EQ(8u + 40 * 36, msgs[0].size());
    msgs = sync::encode(1, in, 65000);
    ASSERT_EQ(3u, msgs.size());
    EXPECT_EQ(255, msgs[0][4]);
    EXPECT_EQ(90, msgs[2][4]);
}

// IPVS's numbers (include/net/ip_vs.h, IP_VS_TCP_S_*) written out here, not taken from the code.
TEST(SyncCodec, StateNumbersBothWays) {
    const std::vector<std::pair<TcpState, uint16_t>> tcp = {
        {TcpState::none, 0},      {TcpState::established, 1}, {TcpState::syn_sent, 2},   {TcpState::syn_recv, 3},
        {TcpState::fin_wait, 4},  {TcpState::time_wait, 5},   {TcpState::close, 6},      {TcpState::close_wait, 7},
        {TcpState::last_ack, 8},  {TcpState::listen, 9},      {TcpState::synack, 10}};
    for (auto [ours, theirs] : tcp) {
        EXPECT_EQ(theirs, sync::ipvs_state(kProtoTcp, static_cast<uint8_t>(ours)).value()) << state_name(static_cast<uint8_t>(ours));
        EXPECT_EQ(static_cast<uint8_t>(ours), sync::dplb_state(kProtoTcp, theirs).value()) << theirs;
    }
    EXPECT_FALSE(sync::dplb_state(kProtoTcp, 11));  // IP_VS_TCP_S_LAST
    EXPECT_FALSE(sync::ipvs_state(kProtoTcp, kUdpState));
    EXPECT_FALSE(sync::ipvs_state(kProtoTcp, kTemplateState));
    EXPECT_EQ(0, sync::ipvs_state(kProtoUdp, kUdpState).value());
    EXPECT_EQ(kUdpState, sync::dplb_state(kProtoUdp, 0).value());
    EXPECT_FALSE(sync::dplb_state(kProtoUdp, 1));
    EXPECT_FALSE(sync::dplb_state(132, 0));  // SCTP: not ours
}

// ---- translation ----

Snapshot two_real_snapshot() {
    Snapshot snap;
    Service s;
    s.id = 0;
    s.vip = ip("10.0.0.100");
    s.port = 80;
    s.proto = kProtoTcp;
    for (const char* r : {"10.0.0.11", "10.0.0.12"}) {
        Dest d;
        d.in_use = true;
        d.ip = ip(r);
        d.port = 80;
        d.svc = 0;
        d.gen = 3;
        d.vip = s.vip;
        d.vport = 80;
        d.proto = kProtoTcp;
        s.dests.push_back(static_cast<uint16_t>(snap.dests.size()));
        snap.dests.push_back(d);
    }
    snap.services.push_back(s);
    assign_vip_slots(snap);
    return snap;
}

// A peer's record of the flow 192.0.2.1:40000 -> 10.0.0.100:80 to `real`.
SyncConn peer(const char* real, uint16_t state = 1, uint32_t timeout_s = 900) {
    return test_sync::peer_conn(40000, real, state, timeout_s);
}

TEST(SyncTranslate, PeerRecordsResolveToOurRealsOrACountedReason) {
    Snapshot snap = two_real_snapshot();
    sync::Resolved r;
    ASSERT_EQ(sync::RxDrop::count, sync::resolve(peer("10.0.0.12"), snap, 5000, r));
    EXPECT_FALSE(r.v6);
    EXPECT_EQ(1, r.entry.dest);
    EXPECT_EQ(3, r.entry.gen);
    EXPECT_EQ(static_cast<uint8_t>(TcpState::established), r.entry.state);
    EXPECT_EQ(5000u + 900000u, r.entry.expire_ms);
    EXPECT_EQ(ip("192.0.2.1").v4_be(), r.k4.src);
    EXPECT_EQ(40000, r.k4.sport);
    EXPECT_EQ(80, r.k4.dport);
    EXPECT_EQ(kProtoTcp, r.k4.proto);
    // timeout 0: the service's own for the state (FIN_WAIT, 120 s).
    ASSERT_EQ(sync::RxDrop::count, sync::resolve(peer("10.0.0.11", 4, 0), snap, 0, r));
    EXPECT_EQ(120000u, r.entry.expire_ms);
    // A peer's huge timeout is bounded.
    ASSERT_EQ(sync::RxDrop::count, sync::resolve(peer("10.0.0.11", 1, 0xffffffff), snap, 0, r));
    EXPECT_EQ(sync::kMaxSyncedTimeoutS * 1000, r.entry.expire_ms);

    SyncConn other_vip = peer("10.0.0.11");
    other_vip.vaddr = ip("10.0.0.200");
    SyncConn other_port = peer("10.0.0.11");
    other_port.vport = 443;
    SyncConn udp = peer("10.0.0.11", 0);
    udp.protocol = kProtoUdp;
    SyncConn tpl = peer("10.0.0.11");
    tpl.flags |= sync::kConnTemplate;
    SyncConn sctp = peer("10.0.0.11");
    sctp.protocol = 132;
    SyncConn real_port = peer("10.0.0.11");
    real_port.dport = 8080;
    EXPECT_EQ(sync::RxDrop::no_service, sync::resolve(other_vip, snap, 0, r));
    EXPECT_EQ(sync::RxDrop::no_service, sync::resolve(other_port, snap, 0, r));
    EXPECT_EQ(sync::RxDrop::no_service, sync::resolve(udp, snap, 0, r));
    EXPECT_EQ(sync::RxDrop::no_real, sync::resolve(peer("10.0.0.13"), snap, 0, r));
    EXPECT_EQ(sync::RxDrop::no_real, sync::resolve(real_port, snap, 0, r));
    EXPECT_EQ(sync::RxDrop::not_connection, sync::resolve(tpl, snap, 0, r));
    EXPECT_EQ(sync::RxDrop::not_connection, sync::resolve(sctp, snap, 0, r));
    EXPECT_EQ(sync::RxDrop::bad_state, sync::resolve(peer("10.0.0.11", 11), snap, 0, r));
    snap.dests[1].draining = true;
    EXPECT_EQ(sync::RxDrop::no_real, sync::resolve(peer("10.0.0.12"), snap, 0, r));
}

TEST(SyncTranslate, WorkerRecordsBecomeWireRecordsWhileTheirRealStands) {
    Snapshot snap = two_real_snapshot();
    SyncRecord rec = test_sync::worker_record(40000, static_cast<uint8_t>(TcpState::syn_recv), 1, 3);
    auto w = sync::to_wire(rec, snap);
    ASSERT_TRUE(w);
    SyncConn want = peer("10.0.0.12", 3, 60);
    want.flags = sync::kConnDroute | sync::kConnNoOutput | sync::kConnInactive;
    EXPECT_EQ(want, *w);
    rec.gen = 4;  // the id was handed to another real since
    EXPECT_FALSE(sync::to_wire(rec, snap));
    rec.gen = 3;
    rec.dest = 7;
    EXPECT_FALSE(sync::to_wire(rec, snap));
}

// ---- configuration ----

const char* kBase = R"(ports:
  - name: lan0
    device: net_af_packet0
services:
  - vip: 10.0.0.100
    port: 80
    protocol: tcp
    real_servers:
      - ip: 10.0.0.11
)";

TEST(SyncConfig, DefaultsAsIpvs) {
    auto off = config::load_config_string(kBase, "t.yaml");
    EXPECT_FALSE(off.sync.enabled);
    auto cfg = config::load_config_string(std::string(kBase) + "sync:\n  interface: eth0\n", "t.yaml");
    EXPECT_TRUE(cfg.sync.enabled);
    EXPECT_EQ("eth0", cfg.sync.interface);
    EXPECT_EQ(0, cfg.sync.syncid);
    EXPECT_EQ(ip("224.0.0.81"), cfg.sync.group);
    EXPECT_EQ(8848, cfg.sync.port);
    EXPECT_EQ(1, cfg.sync.ttl);
    EXPECT_EQ(std::vector<std::string>{"sync"}, config::fixed_field_changes(off, cfg));
}

TEST(SyncConfig, EveryField) {
    auto cfg = config::load_config_string(std::string(kBase) +
                                              "sync:\n  interface: lb-sync0\n  syncid: 255\n  group: 239.1.2.3\n"
                                              "  port: 9000\n  ttl: 4\n",
                                          "t.yaml");
    EXPECT_EQ("lb-sync0", cfg.sync.interface);
    EXPECT_EQ(255, cfg.sync.syncid);
    EXPECT_EQ(ip("239.1.2.3"), cfg.sync.group);
    EXPECT_EQ(9000, cfg.sync.port);
    EXPECT_EQ(4, cfg.sync.ttl);
    auto same = config::load_config_string(std::string(kBase) +
                                               "sync:\n  interface: lb-sync0\n  syncid: 255\n  group: 239.1.2.3\n"
                                               "  port: 9000\n  ttl: 4\n",
                                           "t.yaml");
    EXPECT_TRUE(config::fixed_field_changes(cfg, same).empty());
    auto other = config::load_config_string(std::string(kBase) +
                                                "sync:\n  interface: lb-sync0\n  syncid: 254\n  group: 239.1.2.3\n"
                                                "  port: 9000\n  ttl: 4\n",
                                            "t.yaml");
    EXPECT_EQ(std::vector<std::string>{"sync"}, config::fixed_field_changes(cfg, other));
}

TEST(SyncConfig, BadValuesNameTheirPlace) {
    for (auto [text, want] : std::vector<std::pair<std::string, std::string>>{
             {"sync:\n  interface: a-very-long-name0\n",
              "t.yaml:11:14: sync.interface: expected a kernel interface name (1 to 15 characters, no spaces or '/'), "
              "got \"a-very-long-name0\""},
             {"sync:\n  interface: a/b\n", "t.yaml:11:14: sync.interface"},
             {"sync: on\n", "t.yaml:10:7: sync"},
             {"sync:\n  interface: eth0\n  group: ff02::12\n", "t.yaml:12:10: sync.group: expected an IPv4 multicast"},
         }) {
        try {
            config::load_config_string(std::string(kBase) + text, "t.yaml");
            ADD_FAILURE() << text << " was accepted";
        } catch (const config::ConfigError& e) {
            EXPECT_NE(std::string::npos, std::string(e.what()).find(want)) << e.what();
        }
    }
}

}  // namespace
}  // namespace dplb
