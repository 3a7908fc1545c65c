// A burst is only a batch: the processor must give every frame of a burst the verdict, the bytes, the
// egress and the counters it would give it arriving alone, in the same order. The burst loop keeps
// state across frames (the last service looked up, positions from one bulk lookup, marks of adds and
// removals, a fast loop for bursts of IPv4 service flows only), and this checks all of it against the
// one-frame path on random bursts of the golden snapshot's traffic: several services on one VIP, a
// VIP not owned, a port without a service, UDP, IPv6, ARP, frames for another host, malformed frames,
// and flows whose SYN, ACK, FIN and RST meet in one burst.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "dataplane_fixture.h"
#include "frame_builder.h"
#include "frame_diff.h"

namespace dplb::test {
namespace {

const L2 kToOther{kOtherMac, kClientMac};

// One random frame of the golden snapshot's traffic. Few clients and ports, so a burst often holds
// several packets of one flow.
Bytes random_frame(std::mt19937& rng) {
    static const char* const kClients4[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
    static const char* const kClients6[] = {"2001:db8:1::1", "2001:db8:1::2"};
    // svc0 (rr :80), svc1 (udp :53), svc3 (mh, every port), svc4 (weight 0), svc5 (not owned),
    // svc7 (persistence), svc8 (real without a MAC), and a VIP port without a service.
    static const std::pair<const char*, uint16_t> kTcp4[] = {
        {"10.0.0.100", 80}, {"10.0.0.100", 80}, {"10.0.0.100", 80}, {"10.0.0.101", 443}, {"10.0.0.102", 80},
        {"10.0.0.103", 80}, {"10.0.0.105", 80}, {"10.0.0.106", 80},  {"10.0.0.100", 81}};
    static const uint8_t kFlags[] = {kTcpSyn, kTcpAck, kTcpAck, kTcpAck, kTcpFin | kTcpAck, kTcpRst, kTcpSyn | kTcpAck};
    auto pick = [&rng](auto& arr) -> decltype(arr[0])& { return arr[rng() % (sizeof arr / sizeof arr[0])]; };
    const uint16_t sport = static_cast<uint16_t>(40000 + rng() % 3);
    switch (rng() % 16) {
    case 0: return udp(kToLb, pick(kClients4), "10.0.0.100", sport, 53, 20);
    case 1: return tcp(kToLb, pick(kClients6), "2001:db8::100", sport, 80, pick(kFlags));
    case 2: return arp(kBcast, 1, kClientMac, "10.0.0.1", MacAddr{}, "10.0.0.100");
    case 3: return tcp(kToOther, pick(kClients4), "10.0.0.100", sport, 80, kTcpSyn);  // another host's
    case 4: return truncate(tcp(kToLb, pick(kClients4), "10.0.0.100", sport, 80, kTcpAck), 40);
    case 5: return tcp(kBcast, pick(kClients4), "10.0.0.100", sport, 80, kTcpSyn);
    default: {
        const auto& [vip, port] = pick(kTcp4);
        return tcp(kToLb, pick(kClients4), vip, sport, port, pick(kFlags));
    }
    }
}

Counters counters_of(const Processor& p, const Snapshot& snap) { return flatten(p.counters(), snap); }

TEST(Burst, EveryFrameAsIfItCameAlone) {
    const Snapshot snap = golden_snapshot();
    const VipTable vips = make_vip_table(snap, golden_specs());
    auto burst = make_processor(snap, vips), single = make_processor(snap, vips);
    ASSERT_TRUE(burst && single);
    std::mt19937 rng(20261208);
    uint32_t now_ms = 1000;
    size_t frames_seen = 0, forwarded = 0;
    for (int round = 0; round < 400; round++) {
        const unsigned n = 1 + rng() % kMaxBurst;
        std::vector<Bytes> in(n);
        for (Bytes& b : in) b = random_frame(rng);
        // All of them at once.
        std::vector<Bytes> buf(n);
        std::vector<Frame> frames(n);
        for (unsigned i = 0; i < n; i++) {
            buf[i].assign(kTestHeadroom, 0xee);
            buf[i].insert(buf[i].end(), in[i].begin(), in[i].end());
            const auto len = static_cast<uint32_t>(in[i].size());
            frames[i] = Frame{buf[i].data() + kTestHeadroom, len, len, kIngressPort, kTestHeadroom};
        }
        std::vector<Verdict> verdicts(n, Verdict::drop);
        burst->process(frames.data(), static_cast<uint16_t>(n), verdicts.data(), now_ms, kLbMac);
        // The same frames one by one.
        for (unsigned i = 0; i < n; i++) {
            SCOPED_TRACE("round " + std::to_string(round) + ", frame " + std::to_string(i) + " of " +
                         std::to_string(n));
            Bytes one(kTestHeadroom, 0xee);
            one.insert(one.end(), in[i].begin(), in[i].end());
            const auto len = static_cast<uint32_t>(in[i].size());
            Frame f{one.data() + kTestHeadroom, len, len, kIngressPort, kTestHeadroom};
            Verdict v = Verdict::drop;
            single->process(&f, 1, &v, now_ms, kLbMac);
            EXPECT_EQ(static_cast<int>(v), static_cast<int>(verdicts[i]));
            EXPECT_EQ(f.out_port, frames[i].out_port);
            Bytes got(frames[i].data, frames[i].data + frames[i].wire_len), want(f.data, f.data + f.wire_len);
            EXPECT_TRUE(frame_diff(want, got).empty()) << frame_diff(want, got);
            frames_seen++;
            forwarded += v == Verdict::tx;
        }
        const Counters a = counters_of(*burst, snap), b = counters_of(*single, snap);
        for (const auto& [name, value] : b) EXPECT_EQ(a.at(name), value) << name << " after round " << round;
        now_ms += rng() % 3000;  // entries in CLOSE (10 s) and SYN_RECV (60 s) expire now and then
    }
    // The rounds did what they are for: many frames, a good share of them forwarded, connections made.
    EXPECT_GT(frames_seen, 10000u);
    EXPECT_GT(forwarded, frames_seen / 4);
    EXPECT_GT(burst->counters().svc[0].conns, 100u);
    EXPECT_GT(burst->counters().expired, 10u);
}

}  // namespace
}  // namespace dplb::test
