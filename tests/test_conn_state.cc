// Connection state and timeouts with an injected clock: the figures `ipvsadm -Ln` users read.
#include <gtest/gtest.h>

#include "dataplane_fixture.h"
#include "flow_hash.h"
#include "worker.h"

namespace dplb::test {
namespace {

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

// `dplbctl list` (the counters) and `dplbctl list -c` (a dump of the table) agree at every read:
// an entry past its time is still counted until the sweep removes it, so it is still listed too
// (expiring in 0 s); the sweep takes it out of both at once.
TEST_F(ConnState, TheListingAndTheCountsAgreeUntilTheSweepRemovesAnEntry) {
    pkt(2000, kTcpSyn, 0);
    pkt(2000, kTcpAck, 0);  // ESTABLISHED on dest0
    pkt(2001, kTcpSyn, 0);  // SYN_RECV on dest1
    const uint32_t est = Timeouts::ipvs_defaults().ms[static_cast<uint8_t>(TcpState::established)];
    auto listing = [this](uint32_t now) {
        DumpRequest req;
        req.out.reserve(16);
        proc_->request_dump(&req);
        for (int pass = 0; pass < 8 && !req.done.load(); pass++) proc_->expire(now, 0);  // no sweep work
        EXPECT_TRUE(req.done.load());
        return req.out;
    };
    const uint32_t later = est + 1;  // both past their time, none swept yet
    std::vector<ConnInfo> l = listing(later);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(active(0), 1u);
    EXPECT_EQ(inactive(1), 1u);
    for (const ConnInfo& c : l) EXPECT_EQ(c.expires_in_ms, 0u) << "listed, expiring in 0 s";
    sweep_all(later);
    EXPECT_EQ(listing(later).size(), 0u);
    EXPECT_EQ(active(0) + inactive(1), 0u);
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
         {0x20 /* URG only: no flag selects a row, CLOSE as IPVS */, TcpState::close}, {kTcpAck, TcpState::close},
         {kTcpRst, TcpState::close}},
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
    // 1024-entry table: fill it with ESTABLISHED flows to the mh service (nothing to evict), then more.
    unsigned flows = 0;
    for (uint32_t i = 0; i < 1400; i++, flows++) {
        Bytes s = tcp(kToLb, "192.0.2.1", "10.0.0.101", static_cast<uint16_t>(10000 + i), 80, kTcpSyn);
        Bytes a = tcp(kToLb, "192.0.2.1", "10.0.0.101", static_cast<uint16_t>(10000 + i), 80, kTcpAck);
        ASSERT_EQ(send(s, 0), Verdict::tx);
        ASSERT_EQ(send(a, 0), Verdict::tx);
    }
    const CoreCounters& c = proc_->counters();
    unsigned full = static_cast<unsigned>(c.table_full);
    EXPECT_GT(full, 0u);
    EXPECT_EQ(c.evicted, 0u) << "ESTABLISHED entries are never evicted";
    EXPECT_EQ(c.stateless, 2u * full) << "each SYN that found no room, and its ACK";
    EXPECT_EQ(c.forwarded, 2u * flows);
    EXPECT_EQ(proc_->table4().size() + full, flows);
}

// The client's frames as forwarded, one call per packet: the real's MAC, or nothing when not sent.
class SynFlood : public ConnState {
protected:
    // Fills the IPv4 table with flows from 192.0.2.1 to 10.0.0.100:80 (svc0, rr), client ports from
    // 10000, each a SYN (and an ACK when `establish`), at time `now`, until an add() fails; returns
    // the number of flows sent.
    unsigned fill(bool establish, uint32_t now) {
        unsigned n = 0;
        while (proc_->counters().table_full == 0 && proc_->counters().evicted == 0 && n < 4096) {
            uint16_t sport = static_cast<uint16_t>(10000 + n++);
            EXPECT_EQ(pkt(sport, kTcpSyn, now), Verdict::tx);
            if (establish) {
                EXPECT_EQ(pkt(sport, kTcpAck, now), Verdict::tx);
            }
        }
        return n;
    }
    // One packet of the legitimate client 198.51.100.7:5555 -> 10.0.0.100:80; the destination MAC
    // it left with, or "dropped".
    std::string client(uint8_t flags, uint32_t now, size_t payload = 0) {
        Bytes f = tcp(kToLb, "198.51.100.7", "10.0.0.100", 5555, 80, flags, payload);
        return send(f, now) == Verdict::tx ? MacAddr{{f[0], f[1], f[2], f[3], f[4], f[5]}}.str() : "dropped";
    }
    uint8_t client_state() {
        ConnKey4 k{};
        k.src = ip("198.51.100.7").v4_be();
        k.dst = ip("10.0.0.100").v4_be();
        k.sport = 5555;
        k.dport = 80;
        k.proto = kProtoTcp;
        int32_t pos = proc_->table4().lookup(&k);
        return pos < 0 ? kFreeEntry : proc_->table4().at(pos).state;
    }
    uint64_t drops(Drop d) const { return proc_->counters().drops[static_cast<unsigned>(d)]; }
};

// Without room and nothing to evict (a table full of ESTABLISHED flows), the client's SYN goes out by
// Maglev; its ACK, data and FIN must follow it there (they used to be dropped as tcp_no_conn on rr),
// while the table stays full and for Processor::kFullWindowMs after it was last seen full.
TEST_F(SynFlood, FullOfEstablishedFlowsTheClientRidesOnMaglevThroughTheWindow) {
    ASSERT_EQ(pkt(9999, kTcpSyn, 0), Verdict::tx);  // one flow that will leave: RST -> CLOSE, 10 s
    ASSERT_EQ(pkt(9999, kTcpAck, 0), Verdict::tx);
    ASSERT_EQ(pkt(9999, kTcpRst, 0), Verdict::tx);
    unsigned n = fill(true, 0);
    ASSERT_EQ(proc_->counters().table_full, 1u);
    const uint64_t stateless0 = proc_->counters().stateless;  // the last filler's SYN and ACK
    ASSERT_EQ(stateless0, 2u);

    // Maglev's choice for 198.51.100.7:5555 -> 10.0.0.100:80 over rs1/rs2 (251-slot table built from
    // the fixture's reals alone): rs2.
    const std::string rs2 = kRs2Mac.str();
    EXPECT_EQ(client(kTcpSyn, 5000), rs2);
    EXPECT_EQ(proc_->counters().table_full, 2u);
    EXPECT_EQ(client_state(), kFreeEntry) << "no room: no entry";
    EXPECT_EQ(client(kTcpAck, 9000), rs2);
    EXPECT_EQ(client(kTcpAck | 0x08, 9000, 100), rs2);
    EXPECT_EQ(drops(Drop::tcp_no_conn), 0u);
    EXPECT_EQ(proc_->counters().stateless, stateless0 + 3);

    // The RST flow leaves at 10 s: the table has room now, and the window runs from 9 s.
    proc_->expire(10000, proc_->table4().capacity());
    ASSERT_EQ(proc_->table4().size(), n - 1);  // n fillers, the last without an entry
    EXPECT_EQ(client(kTcpAck | 0x08, 9000 + Processor::kFullWindowMs - 1, 100), rs2) << "window still open";
    EXPECT_EQ(client(kTcpFin | kTcpAck, 9000 + Processor::kFullWindowMs), "dropped") << "window closed";
    EXPECT_EQ(drops(Drop::tcp_no_conn), 1u);
    EXPECT_EQ(proc_->counters().evicted, 0u);
    EXPECT_EQ(proc_->counters().stateless, stateless0 + 4);
}

// A SYN flood fills the table with SYN_RECV entries: a new client's SYN evicts the oldest of them and
// gets an entry of its own, so its ACK, data and FIN reach the real the scheduler chose.
TEST_F(SynFlood, TheClientsSynEvictsTheOldestHalfOpenEntryAndGetsItsOwn) {
    ASSERT_EQ(pkt(9999, kTcpSyn, 0), Verdict::tx);  // an ESTABLISHED flow from before the flood
    ASSERT_EQ(pkt(9999, kTcpAck, 0), Verdict::tx);
    // The flood, one SYN a millisecond: the first flow is the oldest.
    unsigned n = 0;
    for (; n < 1100; n++) ASSERT_EQ(pkt(static_cast<uint16_t>(10000 + n), kTcpSyn, 1 + n), Verdict::tx);
    const CoreCounters& c = proc_->counters();
    const uint64_t evicted = c.evicted;
    ASSERT_GT(evicted, 0u);
    EXPECT_EQ(c.table_full, 0u) << "every flood SYN found a half-open entry to replace";
    EXPECT_EQ(c.expired, 0u);
    EXPECT_EQ(proc_->table4().size(), n + 1 - evicted);
    EXPECT_EQ(state_of(9999), static_cast<uint8_t>(TcpState::established)) << "never evicted";
    EXPECT_EQ(state_of(10000), kFreeEntry) << "the oldest half-open entry went first";
    EXPECT_EQ(state_of(static_cast<uint16_t>(10000 + n - 1)), static_cast<uint8_t>(TcpState::syn_recv));
    // Oldest first, all the way: the first `evicted` flood flows are gone, the next one is still here.
    for (unsigned i = 0; i < evicted; i++)
        ASSERT_EQ(state_of(static_cast<uint16_t>(10000 + i)), kFreeEntry) << "flood flow " << i;
    EXPECT_EQ(state_of(static_cast<uint16_t>(10000 + evicted)), static_cast<uint8_t>(TcpState::syn_recv));
    // Counters stay exact: every entry is SYN_RECV (inactive) except 9999's.
    EXPECT_EQ(active(0) + active(1), 1u);
    EXPECT_EQ(inactive(0) + inactive(1), n - evicted);
    EXPECT_EQ(c.dest[0].refs + c.dest[1].refs, n + 1 - evicted);

    // The client: the table is under pressure, so its SYN is scheduled by Maglev (rs2 for this client,
    // see above), the real its later packets would reach if its entry were evicted too.
    const std::string rs2 = kRs2Mac.str();
    EXPECT_EQ(client(kTcpSyn, 2000), rs2);
    EXPECT_EQ(c.evicted, evicted + 1);
    EXPECT_EQ(client_state(), static_cast<uint8_t>(TcpState::syn_recv));
    EXPECT_EQ(client(kTcpAck, 2001), rs2);
    EXPECT_EQ(client_state(), static_cast<uint8_t>(TcpState::established));
    EXPECT_EQ(client(kTcpAck | 0x08, 2002, 200), rs2);
    EXPECT_EQ(client(kTcpFin | kTcpAck, 2003), rs2);
    EXPECT_EQ(client_state(), static_cast<uint8_t>(TcpState::fin_wait));
    EXPECT_EQ(c.stateless, 0u);
    EXPECT_EQ(c.drops_total(), 0u);
}

// Two clients whose handshakes outlive their half-open entries (a flood faster than their ACKs): each
// SYN was scheduled by Maglev while the table was under pressure, so each ACK, forwarded by Maglev
// without an entry, reaches the real that answered the SYN. (The two are chosen with the same Maglev
// real: rr would have sent their SYNs to different reals, and one ACK to the wrong one.)
TEST_F(SynFlood, ClientsWhoseEntriesAreEvictedBeforeTheirAckStayOnTheirReal) {
    auto flood = [this](uint16_t base, unsigned count, uint32_t now) {
        for (unsigned i = 0; i < count; i++)
            ASSERT_EQ(pkt(static_cast<uint16_t>(base + i), kTcpSyn, now), Verdict::tx);
    };
    flood(10000, 1100, 1);  // full: the flood now evicts its own oldest entries
    ASSERT_GT(proc_->counters().evicted, 0u);
    const uint32_t c = ip("198.51.100.7").v4_be(), vip = ip("10.0.0.100").v4_be();
    auto mh = [&](uint16_t port) { return mh_lookup(snap_.services[0], flow_hash4(c, vip, port, 80, kProtoTcp)); };
    uint16_t p1 = 6000, p2 = 6001;
    while (mh(p2) != mh(p1) && p2 < 6100) p2++;
    ASSERT_EQ(mh(p1), mh(p2));
    auto client = [&](uint16_t port, uint8_t flags, uint32_t now) {
        Bytes f = tcp(kToLb, "198.51.100.7", "10.0.0.100", port, 80, flags);
        return send(f, now) == Verdict::tx ? MacAddr{{f[0], f[1], f[2], f[3], f[4], f[5]}}.str() : "dropped";
    };
    std::string r1 = client(p1, kTcpSyn, 2000), r2 = client(p2, kTcpSyn, 2000);
    ASSERT_NE(r1, "dropped");
    flood(20000, 1100, 2001);  // a whole table's worth: both clients' entries go
    const uint64_t stateless = proc_->counters().stateless;
    EXPECT_EQ(client(p1, kTcpAck, 2002), r1) << "the ACK reached another real than the SYN";
    EXPECT_EQ(client(p2, kTcpAck, 2002), r2) << "the ACK reached another real than the SYN";
    EXPECT_EQ(proc_->counters().stateless, stateless + 2) << "both entries were evicted";
}

// A UDP flow and a persistence template are never evicted; an expired entry met by the scan is
// reclaimed (counted as expired, not evicted). (The UDP entry and the template were made first, so
// they sit where the scan starts.)
TEST_F(SynFlood, OnlyHalfOpenOrExpiredEntriesMakeRoom) {
    Bytes u = udp(kToLb, "192.0.2.1", "10.0.0.100", 5353, 53, 10);
    ASSERT_EQ(send(u, 0), Verdict::tx);
    Bytes t = tcp(kToLb, "192.0.2.1", "10.0.0.105", 4000, 80, kTcpSyn);  // svc7: persistence
    ASSERT_EQ(send(t, 0), Verdict::tx);
    ASSERT_EQ(proc_->counters().dest[9].persist, 1u);
    Bytes t_ack = tcp(kToLb, "192.0.2.1", "10.0.0.105", 4000, 80, kTcpAck);
    ASSERT_EQ(send(t_ack, 0), Verdict::tx);
    unsigned n = fill(true, 0);  // ESTABLISHED fillers: nothing evictable
    ASSERT_GT(n, 0u);
    EXPECT_EQ(proc_->counters().evicted, 0u);
    EXPECT_EQ(proc_->counters().dest[2].inactive, 1u) << "the UDP flow stays";
    EXPECT_EQ(proc_->counters().dest[9].persist, 1u) << "the template stays";
    // 900 s later every ESTABLISHED filler has expired, unswept: the next SYN's add finds none free
    // in the hash, reclaims the expired entry the scan meets first, and gets its entry.
    const uint32_t later = Timeouts::ipvs_defaults().ms[static_cast<uint8_t>(TcpState::established)];
    const uint64_t expired = proc_->counters().expired;
    // The table is still as full as when add() failed: the SYN is scheduled by Maglev (rs2 for this
    // client), not by rr.
    EXPECT_EQ(client(kTcpSyn, later), kRs2Mac.str());
    EXPECT_EQ(proc_->counters().evicted, 0u);
    EXPECT_EQ(proc_->counters().expired, expired + 1);
    EXPECT_EQ(client_state(), static_cast<uint8_t>(TcpState::syn_recv));
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

namespace dplb::test {
namespace {

// conn_reuse_mode, IPVS's default 1: a client's new SYN on a port whose last connection is in
// TIME_WAIT or CLOSE is a new connection, scheduled afresh (rr: to the other real) and counted; with
// 2 (or 3) FIN_WAIT too; with 0, or on a service with persistence, it stays with the old real.
TEST_F(ConnState, PortReuseSchedulesANewSynOnAClosingEntryAfresh) {
    // The real a packet went to: 0 / 1 for dest0 / dest1 (rs1 / rs2), -1 if not forwarded.
    auto to = [this](uint16_t sport, uint8_t flags, uint32_t now, const char* vip = "10.0.0.100") {
        Bytes f = tcp(L2{kLbMac, kClientMac}, "192.0.2.1", vip, sport, 80, flags);
        if (send(f, now) != Verdict::tx) return -1;
        if (std::equal(kRs1Mac.b.begin(), kRs1Mac.b.end(), f.begin())) return 0;
        if (std::equal(kRs2Mac.b.begin(), kRs2Mac.b.end(), f.begin())) return 1;
        return -2;
    };
    auto conns = [this] { return proc_->counters().svc[0].conns; };
    const uint8_t kTw = static_cast<uint8_t>(TcpState::time_wait), kSr = static_cast<uint8_t>(TcpState::syn_recv);

    int a = to(1, kTcpSyn, 0);
    ASSERT_GE(a, 0);
    ASSERT_EQ(to(1, kTcpFin, 1), a);
    ASSERT_EQ(state_of(1), kTw);
    EXPECT_EQ(to(1, kTcpSyn, 2), 1 - a) << "TIME_WAIT + SYN: a new connection, rescheduled";
    EXPECT_EQ(conns(), 2u);
    EXPECT_EQ(state_of(1), kSr);
    EXPECT_EQ(inactive(a), 0u) << "the old entry left at once";
    EXPECT_EQ(inactive(1 - a), 1u);

    int b = to(2, kTcpSyn, 3);
    ASSERT_EQ(to(2, kTcpAck, 4), b);
    ASSERT_EQ(to(2, kTcpRst, 5), b);
    ASSERT_EQ(state_of(2), static_cast<uint8_t>(TcpState::close));
    EXPECT_EQ(to(2, kTcpSyn, 6), 1 - b) << "CLOSE + SYN: rescheduled";
    EXPECT_EQ(conns(), 4u);

    int c = to(3, kTcpSyn, 7);
    to(3, kTcpAck, 8);
    ASSERT_EQ(to(3, kTcpFin | kTcpAck, 9), c);
    ASSERT_EQ(state_of(3), static_cast<uint8_t>(TcpState::fin_wait));
    EXPECT_EQ(to(3, kTcpSyn | kTcpRst, 10), c) << "SYN with RST opens nothing";
    ASSERT_EQ(state_of(3), static_cast<uint8_t>(TcpState::close));
    to(3, kTcpSyn, 11);  // CLOSE: a new connection
    EXPECT_EQ(conns(), 6u);

    int d = to(4, kTcpSyn, 12);
    to(4, kTcpAck, 13);
    to(4, kTcpFin | kTcpAck, 14);
    EXPECT_EQ(to(4, kTcpSyn, 15), d) << "mode 1: FIN_WAIT + SYN keeps its real";
    EXPECT_EQ(conns(), 7u);

    Snapshot two = snap_;
    two.conn_reuse_mode = 2;
    proc_->set_snapshot(&two, &vips_);
    int e = to(5, kTcpSyn, 16);
    to(5, kTcpAck, 17);
    to(5, kTcpFin | kTcpAck, 18);
    EXPECT_EQ(to(5, kTcpSyn, 19), 1 - e) << "mode 2: FIN_WAIT + SYN rescheduled";
    EXPECT_EQ(conns(), 9u);

    Snapshot zero = snap_;
    zero.conn_reuse_mode = 0;
    proc_->set_snapshot(&zero, &vips_);
    int f = to(6, kTcpSyn, 20);
    to(6, kTcpFin, 21);
    EXPECT_EQ(to(6, kTcpSyn, 22), f) << "mode 0: TIME_WAIT + SYN keeps its real";
    EXPECT_EQ(conns(), 10u);

    proc_->set_snapshot(&snap_, &vips_);
    uint64_t persist_conns = proc_->counters().svc[7].conns;
    int g = to(7, kTcpSyn, 23, "10.0.0.105") - 0;
    to(7, kTcpFin, 24, "10.0.0.105");
    EXPECT_EQ(to(7, kTcpSyn, 25, "10.0.0.105"), g);
    EXPECT_EQ(proc_->counters().svc[7].conns, persist_conns + 1) << "persistence: the entry stays";
}

}  // namespace
}  // namespace dplb::test
