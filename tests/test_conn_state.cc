// Connection state and timeouts with an injected clock: the figures `ipvsadm -Ln` users read.
#include <gtest/gtest.h>

#include "dataplane_fixture.h"
#include "worker.h"

namespace dplb::test {
namespace {

const L2 kToLb{kLbMac, kClientMac};

class ConnState : public ProcessorTest {
protected:
    uint32_t active(int dest) const { return proc_->counters().dest[dest].active; }
    uint32_t inactive(int dest) const { return proc_->counters().dest[dest].inactive; }
    // Sends one TCP packet of client port `sport` to 10.0.0.100:80 (svc0, rr over dest0/dest1).
    Verdict pkt(uint16_t sport, uint8_t flags, uint32_t now) {
        Bytes f = tcp(kToLb, "192.0.2.1", "10.0.0.100", sport, 80, flags);
        return send(f, now);
    }
    uint8_t state_of(uint16_t sport) {
        ConnKey4 k{};
        k.src = ip("192.0.2.1").v4_be();
        k.dst = ip("10.0.0.100").v4_be();
        k.sport = sport;
        k.dport = 80;
        k.proto = kProtoTcp;
        int32_t pos = proc_->table4().lookup(&k);
        return pos < 0 ? kFreeEntry : proc_->table4().at(pos).state;
    }
    void sweep_all(uint32_t now) { proc_->expire(now, proc_->table4().capacity()); }
};

TEST_F(ConnState, FiftyShortHttp10FlowsLingerAsInactiveUntilFinWaitTimeout) {
    const uint32_t t0 = 10000;
    for (uint16_t i = 0; i < 50; i++) {
        uint16_t sport = static_cast<uint16_t>(30000 + i);
        ASSERT_EQ(pkt(sport, kTcpSyn, t0), Verdict::tx);
        ASSERT_EQ(pkt(sport, kTcpAck, t0), Verdict::tx);
        ASSERT_EQ(pkt(sport, kTcpFin | kTcpAck, t0), Verdict::tx);
        ASSERT_EQ(pkt(sport, kTcpAck, t0), Verdict::tx);
        ASSERT_EQ(state_of(sport), static_cast<uint8_t>(TcpState::fin_wait));
    }
    EXPECT_EQ(active(0) + active(1), 0u);
    EXPECT_EQ(inactive(0), 25u);  // rr: 25 / 25
    EXPECT_EQ(inactive(1), 25u);
    const uint32_t fin_wait = Timeouts::ipvs_defaults().ms[static_cast<uint8_t>(TcpState::fin_wait)];
    sweep_all(t0 + fin_wait - 1);
    EXPECT_EQ(inactive(0) + inactive(1), 50u) << "one millisecond before FIN_WAIT's 120 s";
    sweep_all(t0 + fin_wait);
    EXPECT_EQ(inactive(0) + inactive(1), 0u) << "exactly at the timeout";
    EXPECT_EQ(proc_->counters().expired, 50u);
    EXPECT_EQ(proc_->table4().size(), 0u);
}

TEST_F(ConnState, EstablishedIsActiveAndMovesToInactiveOnFin) {
    pkt(1000, kTcpSyn, 0);
    EXPECT_EQ(inactive(0), 1u);
    EXPECT_EQ(state_of(1000), static_cast<uint8_t>(TcpState::syn_recv));
    pkt(1000, kTcpAck, 1);
    EXPECT_EQ(active(0), 1u);
    EXPECT_EQ(inactive(0), 0u);
    pkt(1000, kTcpAck | kTcpFin, 2);
    EXPECT_EQ(active(0), 0u);
    EXPECT_EQ(inactive(0), 1u);
}

TEST_F(ConnState, EveryPacketRearmsToItsStateTimeout) {
    const Timeouts t = Timeouts::ipvs_defaults();
    uint32_t es = t.ms[static_cast<uint8_t>(TcpState::established)];
    pkt(2000, kTcpSyn, 0);
    pkt(2000, kTcpAck, 0);
    // Keep the flow alive with an ACK just before each expiry: it must survive 3 x 900 s.
    for (uint32_t now = es - 1; now < 3 * es; now += es - 1) {
        sweep_all(now);
        ASSERT_EQ(active(0), 1u) << "at " << now;
        ASSERT_EQ(pkt(2000, kTcpAck, now), Verdict::tx);
    }
}

TEST_F(ConnState, ExpiredEntryIsAMissEvenBeforeTheSweep) {
    const Timeouts t = Timeouts::ipvs_defaults();
    uint32_t sr = t.ms[static_cast<uint8_t>(TcpState::syn_recv)];
    pkt(3000, kTcpSyn, 0);
    // No sweep: the lookup itself finds the entry expired; an ACK on an rr service is then a drop.
    EXPECT_EQ(pkt(3000, kTcpAck, sr), Verdict::drop);
    EXPECT_EQ(proc_->counters().drops[static_cast<unsigned>(Drop::tcp_no_conn)], 1u);
    EXPECT_EQ(inactive(0) + active(0), 0u);
    // A new SYN starts over (rr moves on to dest1).
    EXPECT_EQ(pkt(3000, kTcpSyn, sr), Verdict::tx);
    EXPECT_EQ(inactive(1), 1u);
}

TEST_F(ConnState, StateWalkThroughReachableInputOnlyTransitions) {
    struct Step {
        uint8_t flags;
        TcpState want;
    };
    // Each row: the packets of one flow and the state after each, per IPVS's input-only table.
    std::vector<std::vector<Step>> flows = {
        {{kTcpSyn, TcpState::syn_recv}, {kTcpAck, TcpState::established}, {kTcpSyn, TcpState::established},
         {kTcpFin, TcpState::fin_wait}, {kTcpAck, TcpState::fin_wait}, {kTcpFin, TcpState::fin_wait},
         {kTcpRst, TcpState::close}, {kTcpAck, TcpState::close}, {kTcpFin, TcpState::close},
         {kTcpSyn, TcpState::syn_recv}},
        {{kTcpSyn, TcpState::syn_recv}, {kTcpFin, TcpState::time_wait}, {kTcpAck, TcpState::time_wait},
         {kTcpFin, TcpState::time_wait}, {kTcpRst, TcpState::close}},
        {{kTcpSyn, TcpState::syn_recv}, {kTcpRst, TcpState::syn_recv}, {kTcpSyn, TcpState::syn_recv},
         {0x20 /* URG only */, TcpState::syn_recv}, {kTcpAck, TcpState::established}, {kTcpRst, TcpState::close}},
        {{kTcpSyn, TcpState::syn_recv}, {kTcpFin, TcpState::time_wait}, {kTcpSyn, TcpState::syn_recv}},
    };
    uint16_t sport = 5000;
    for (auto& flow : flows) {
        sport++;
        for (size_t i = 0; i < flow.size(); i++) {
            ASSERT_EQ(pkt(sport, flow[i].flags, 0), Verdict::tx) << "flow " << sport << " step " << i;
            EXPECT_EQ(state_name(state_of(sport)), std::string(state_name(static_cast<uint8_t>(flow[i].want))))
                << "flow " << sport << " step " << i;
        }
    }
    // Counters stayed exact through every transition: one entry per flow, active iff ESTABLISHED.
    uint32_t total = active(0) + active(1) + inactive(0) + inactive(1);
    EXPECT_EQ(total, flows.size());
    EXPECT_EQ(active(0) + active(1), 0u);
}

TEST_F(ConnState, UdpEntriesAreInactiveAndLastUdpTimeout) {
    Bytes u = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 10);
    ASSERT_EQ(send(u, 0), Verdict::tx);
    EXPECT_EQ(inactive(2), 1u);
    uint32_t udp_to = Timeouts::ipvs_defaults().ms[kUdpState];
    sweep_all(udp_to - 1);
    EXPECT_EQ(inactive(2), 1u);
    sweep_all(udp_to);
    EXPECT_EQ(inactive(2), 0u);
}

TEST_F(ConnState, SweepWorkIsBounded) {
    for (uint16_t i = 0; i < 200; i++) pkt(static_cast<uint16_t>(7000 + i), kTcpSyn, 0);
    uint32_t later = 10 * 60 * 1000;
    // 64 slots per call over a 1024-slot table: the 200 entries leave over 16 calls, never faster.
    uint32_t removed = proc_->expire(later, 64);
    EXPECT_LE(removed, 64u);
    uint32_t calls = 1;
    while (proc_->table4().size() > 0 && calls < 100) {
        proc_->expire(later, 64);
        calls++;
    }
    EXPECT_EQ(proc_->table4().size(), 0u);
    EXPECT_LE(calls, 1024u / 64u + 1);
    EXPECT_EQ(inactive(0) + inactive(1), 0u);
}

TEST_F(ConnState, PersistenceTemplateExpiresAfterItsTimeout) {
    Bytes a = tcp(kToLb, "192.0.2.1", "10.0.0.105", 40000, 80, kTcpSyn);
    ASSERT_EQ(send(a, 0), Verdict::tx);
    EXPECT_EQ(proc_->counters().dest[9].persist, 1u);
    sweep_all(300 * 1000 - 1);
    EXPECT_EQ(proc_->counters().dest[9].persist, 1u);
    sweep_all(300 * 1000);
    EXPECT_EQ(proc_->counters().dest[9].persist, 0u);
}

TEST_F(ConnState, FullTableForwardsNewFlowsByMaglevAndCountsThem) {
    // 1024-entry table: fill it with SYNs to the mh service, then one more flow.
    unsigned sent = 0, full = 0;
    for (uint32_t i = 0; i < 1400; i++) {
        Bytes s = tcp(kToLb, "192.0.2.1", "10.0.0.101", static_cast<uint16_t>(10000 + i), 80, kTcpSyn);
        ASSERT_EQ(send(s, 0), Verdict::tx);
        sent++;
    }
    full = static_cast<unsigned>(proc_->counters().table_full);
    EXPECT_GT(full, 0u);
    EXPECT_EQ(proc_->counters().stateless, full);
    EXPECT_EQ(proc_->counters().forwarded, sent);
    EXPECT_EQ(proc_->table4().size() + full, sent);
}

}  // namespace
}  // namespace dplb::test

namespace dplb::test {
namespace {

// expire_nodest_conn: with the option, a connection whose real was drained (weight 0) or removed is
// cut at its next packet; without it, it keeps its real until it expires.
TEST_F(ConnState, ExpireNodestConnCutsConnectionsOfAQuiescentReal) {
    // send() rewrites the frame in place: every call gets a fresh copy.
    const Bytes syn_frame = tcp(L2{kLbMac, kClientMac}, "192.0.2.1", "10.0.0.100", 9000, 80, kTcpSyn);
    const Bytes ack_frame = tcp(L2{kLbMac, kClientMac}, "192.0.2.1", "10.0.0.100", 9000, 80, kTcpAck);
    auto send = [this](const Bytes& f, uint32_t now) {
        Bytes copy = f;
        return ProcessorTest::send(copy, now);
    };
    const Bytes& syn = syn_frame;
    const Bytes& ack = ack_frame;
    ASSERT_EQ(send(syn, 0), Verdict::tx);  // rr: dest0
    ASSERT_EQ(send(ack, 1), Verdict::tx);
    ASSERT_EQ(proc_->counters().dest[0].active, 1u);

    Snapshot drained = snap_;
    drained.dests[0].weight = 0;
    build_sched_tables(drained.services[0], drained.dests, 251);
    proc_->set_snapshot(&drained, &vips_);
    EXPECT_EQ(send(ack, 2), Verdict::tx) << "drain: the connection keeps its real";
    EXPECT_EQ(proc_->counters().dest[0].active, 1u);

    Snapshot cut = drained;
    cut.expire_nodest_conn = true;
    proc_->set_snapshot(&cut, &vips_);
    EXPECT_EQ(send(ack, 3), Verdict::drop) << "expire_nodest_conn: cut, and an ACK alone opens nothing";
    EXPECT_EQ(proc_->counters().dest[0].active, 0u);
    EXPECT_EQ(proc_->counters().drops[static_cast<unsigned>(Drop::tcp_no_conn)], 1u);
    EXPECT_EQ(send(syn, 4), Verdict::tx) << "a new SYN is scheduled to a real that takes connections";
    EXPECT_EQ(proc_->counters().dest[1].inactive, 1u);
    proc_->set_snapshot(&snap_, &vips_);
}

// References move only when entries come and go, never on a state change: the control thread
// frees a real's id by them while a worker may be between the two halves of a state move.
TEST_F(ConnState, ReferencesCountEntriesWhateverTheirState) {
    auto refs = [this](int d) { return proc_->counters().dest[d].refs; };
    pkt(1000, kTcpSyn, 0);
    EXPECT_EQ(refs(0), 1u);
    pkt(1000, kTcpAck, 1);
    EXPECT_EQ(active(0), 1u);
    EXPECT_EQ(refs(0), 1u);
    pkt(1000, kTcpFin | kTcpAck, 2);
    EXPECT_EQ(refs(0), 1u);
    sweep_all(2 + Timeouts::ipvs_defaults().ms[static_cast<uint8_t>(TcpState::fin_wait)]);
    EXPECT_EQ(refs(0), 0u);
}

// An entry made for a real whose id was since handed to another real (a new generation) is never
// forwarded by it: it is released, counted as stale, and the packet is handled as a miss.
TEST_F(ConnState, EntryOfAnEarlierGenerationIsNeverForwarded) {
    ASSERT_EQ(pkt(1000, kTcpSyn, 0), Verdict::tx);  // rr: dest0 (10.0.0.11)
    ASSERT_EQ(pkt(1000, kTcpAck, 1), Verdict::tx);
    ASSERT_EQ(active(0), 1u);
    Snapshot reused = snap_;
    reused.dests[0].gen++;
    reused.dests[0].ip = ip("10.0.0.99");
    reused.dests[0].mac = mac("02:00:00:00:00:99");
    proc_->set_snapshot(&reused, &vips_);
    Bytes f = tcp(kToLb, "192.0.2.1", "10.0.0.100", 1000, 80, kTcpAck);
    EXPECT_EQ(send(f, 2), Verdict::drop);  // rr: a non-SYN miss is not scheduled
    EXPECT_EQ(proc_->counters().stale, 1u);
    EXPECT_EQ(proc_->counters().drops[static_cast<unsigned>(Drop::tcp_no_conn)], 1u);
    EXPECT_EQ(active(0), 0u);
    EXPECT_EQ(proc_->counters().dest[0].refs, 0u);
    EXPECT_EQ(proc_->counters().dest[0].inpkts, 2u) << "nothing forwarded to the id's new real";

    // The same for an entry whose id now belongs to another service's real.
    proc_->set_snapshot(&snap_, &vips_);
    ASSERT_EQ(pkt(2000, kTcpSyn, 3), Verdict::tx);
    Snapshot moved = snap_;
    for (Dest& d : moved.dests) d.svc = 3;
    proc_->set_snapshot(&moved, &vips_);
    Bytes g = tcp(kToLb, "192.0.2.1", "10.0.0.100", 2000, 80, kTcpAck);
    EXPECT_EQ(send(g, 4), Verdict::drop);
    EXPECT_EQ(proc_->counters().stale, 2u);
}

// The fail-safe: while the control thread's heartbeat is stale, VIPs owned through VRRP are
// neither forwarded nor answered for (counted); VIPs outside VRRP go on; all resumes with the beat.
TEST_F(ConnState, StalledControlThreadWithholdsVrrpVipsOnly) {
    VipTable vrrp = vips_;
    vrrp.flags[snap_.services[0].vip_slot] = VipTable::kOwned | VipTable::kVrrp;  // 10.0.0.100
    proc_->set_snapshot(&snap_, &vrrp);
    proc_->set_stalled(true);
    const unsigned stalled = static_cast<unsigned>(Drop::control_stalled);
    EXPECT_EQ(pkt(1000, kTcpSyn, 0), Verdict::drop);
    EXPECT_EQ(proc_->counters().drops[stalled], 1u);
    Bytes who_has = arp(L2{kBroadcast, kClientMac}, 1, kClientMac, "192.0.2.1", MacAddr{},
                        "10.0.0.100");
    EXPECT_EQ(send(who_has, 0), Verdict::drop);
    EXPECT_EQ(proc_->counters().drops[stalled], 2u);
    EXPECT_EQ(proc_->counters().arp_replies, 0u);
    Bytes other = tcp(kToLb, "192.0.2.1", "10.0.0.101", 1000, 80, kTcpSyn);  // svc3: no VRRP
    EXPECT_EQ(send(other, 0), Verdict::tx);

    proc_->set_stalled(false);
    EXPECT_EQ(pkt(1000, kTcpSyn, 1), Verdict::tx);
    Bytes again = arp(L2{kBroadcast, kClientMac}, 1, kClientMac, "192.0.2.1", MacAddr{},
                      "10.0.0.100");
    EXPECT_EQ(send(again, 1), Verdict::tx);
    EXPECT_EQ(proc_->counters().drops[stalled], 2u);
}

TEST(Heartbeat, StaleOnlyPastTheFailSafeAndWrapSafe) {
    EXPECT_FALSE(heartbeat_stale(5000, 1000, 0)) << "no VRRP: never";
    EXPECT_FALSE(heartbeat_stale(3000, 1000, 2000));
    EXPECT_TRUE(heartbeat_stale(3001, 1000, 2000));
    EXPECT_FALSE(heartbeat_stale(1000, 0xffffff00u, 2000)) << "across the 32-bit wrap";
    EXPECT_TRUE(heartbeat_stale(5000, 0xffffff00u, 2000));
}

}  // namespace
}  // namespace dplb::test
