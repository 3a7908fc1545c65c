// The IPVS scheduling options on the packet path: connection limits, ops, persistence granularity,
// the sh / mh port and fallback flags and lblc, through a Processor with an injected clock.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "dataplane_fixture.h"
#include "flow_hash.h"

namespace dplb::test {
namespace {

const char* const kM1 = "02:00:00:00:00:11";
const char* const kM2 = "02:00:00:00:00:12";

class SchedPackets : public ProcessorTest {
protected:
    // Replaces the snapshot with one service of two reals (dest 0: rs1, dest 1: rs2), after `tweak`.
    template <class F>
    void one_service(uint16_t port, uint8_t proto, Sched sched, F tweak) {
        std::vector<ServiceSpec> specs = {{"10.0.0.110", port, proto, sched, {{"10.0.0.11", 1, kM1}, {"10.0.0.12", 1, kM2}}}};
        snap_ = make_snapshot(specs);
        tweak(snap_);
        build_sched_tables(snap_.services[0], snap_.dests);
        vips_ = make_vip_table(snap_, specs);
        proc_->set_snapshot(&snap_, &vips_);
    }
    // The real a frame went to ("rs1", "rs2"), or "dropped".
    std::string where(Bytes& f, uint32_t now) {
        if (send(f, now) != Verdict::tx) return "dropped";
        MacAddr m{{f[0], f[1], f[2], f[3], f[4], f[5]}};
        return m == kRs1Mac ? "rs1" : m == kRs2Mac ? "rs2" : m.str();
    }
    std::string syn(const char* client, uint16_t sport, uint32_t now, const char* vip = "10.0.0.110",
                    uint16_t dport = 80, uint8_t flags = kTcpSyn) {
        Bytes f = tcp(kToLb, client, vip, sport, dport, flags);
        return where(f, now);
    }
    void sweep_all(uint32_t now) { proc_->expire(now, proc_->table4().capacity()); }
};

// u_threshold 2, l_threshold 1 on rs1 (one worker: IPVS's limits as they are): rs1 is skipped from its
// second connection until both are gone, whatever rr's turn says.
TEST_F(SchedPackets, UpperThresholdSkipsARealUntilBelowTheLowerOne) {
    one_service(80, kProtoTcp, Sched::rr, [](Snapshot& s) {
        s.dests[0].u_threshold = 2;
        s.dests[0].l_threshold = 1;
    });
    EXPECT_EQ(syn("192.0.2.1", 1000, 0), "rs1");
    EXPECT_EQ(syn("192.0.2.1", 1001, 0), "rs2");
    EXPECT_EQ(syn("192.0.2.1", 1002, 10000), "rs1");  // its second: overloaded from now on
    EXPECT_EQ(syn("192.0.2.1", 1003, 10000), "rs2");
    EXPECT_EQ(syn("192.0.2.1", 1004, 10000), "rs2") << "rs1's turn, but it is overloaded";
    EXPECT_EQ(proc_->counters().dest[0].overloaded, 1u);
    const uint32_t syn_recv = Timeouts::ipvs_defaults().ms[static_cast<uint8_t>(TcpState::syn_recv)];
    sweep_all(syn_recv);  // the first two go: rs1 holds 1, not below l_threshold 1
    EXPECT_EQ(syn("192.0.2.1", 1005, syn_recv), "rs2");
    sweep_all(10000 + syn_recv);  // rs1 holds none
    EXPECT_EQ(proc_->counters().dest[0].overloaded, 0u);
    EXPECT_EQ(syn("192.0.2.1", 1006, 10000 + syn_recv), "rs1");
}

// ops: each datagram of one flow is scheduled on its own (rr alternates) and leaves no entry.
TEST_F(SchedPackets, OpsSchedulesEveryDatagramAndMakesNoEntry) {
    one_service(53, kProtoUdp, Sched::rr, [](Snapshot& s) { s.services[0].ops = true; });
    std::vector<std::string> got;
    for (int i = 0; i < 4; i++) {
        Bytes f = udp(kToLb, "192.0.2.1", "10.0.0.110", 5353, 53, 10);
        got.push_back(where(f, 100));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"rs1", "rs2", "rs1", "rs2"}));
    EXPECT_EQ(proc_->table4().size(), 0u);
    EXPECT_EQ(proc_->counters().one_packet, 4u);
    EXPECT_EQ(proc_->counters().dest[0].conns, 2u);
    EXPECT_EQ(proc_->counters().dest[1].conns, 2u);
    EXPECT_EQ(proc_->counters().dest[0].inactive + proc_->counters().dest[1].inactive, 0u);
}

// persistence_granularity /24: every client of 192.0.2.0/24 shares the first one's real.
TEST_F(SchedPackets, PersistenceGranularityGroupsAClientNetwork) {
    one_service(80, kProtoTcp, Sched::rr, [](Snapshot& s) {
        s.services[0].persistence_ms = 300000;
        s.services[0].persistence_prefix_len = 24;
    });
    EXPECT_EQ(syn("192.0.2.1", 1000, 0), "rs1");
    EXPECT_EQ(syn("192.0.2.77", 1000, 0), "rs1") << "same /24";
    EXPECT_EQ(syn("192.0.2.200", 2000, 0), "rs1") << "same /24";
    EXPECT_EQ(syn("192.0.3.1", 1000, 0), "rs2") << "another /24: rr's next";
    EXPECT_EQ(proc_->counters().dest[0].persist, 1u) << "one template for the /24";
}

// sh hashes the source address, and its port too with sh-port.
TEST_F(SchedPackets, ShPortSpreadsOneClientsPorts) {
    for (bool port : {false, true}) {
        one_service(80, kProtoTcp, Sched::sh, [&](Snapshot& s) { s.services[0].sched_flags = port ? kSchedFlagPort : 0; });
        std::set<std::string> reals;
        const char* client = port ? "192.0.2.2" : "192.0.2.1";  // no entry left from the other round
        for (uint16_t p = 1000; p < 1040; p++) reals.insert(syn(client, p, 0));
        EXPECT_EQ(reals.size(), port ? 2u : 1u) << (port ? "sh-port" : "sh");
    }
}

// mh keys new flows and flows without an entry alike: a SYN's real is where its later packets go by
// Maglev once the entry is gone. Without mh-port a client's every port goes to one real (IPVS's mh).
TEST_F(SchedPackets, MhSchedulingAndStatelessForwardingAgree) {
    for (bool port : {false, true}) {
        one_service(80, kProtoTcp, Sched::mh, [&](Snapshot& s) { s.services[0].sched_flags = port ? kSchedFlagPort : 0; });
        std::set<std::string> reals;
        const char* client = port ? "192.0.2.2" : "192.0.2.1";
        for (uint16_t p = 1000; p < 1040; p++) {
            std::string first = syn(client, p, 0);
            reals.insert(first);
            sweep_all(3600000);  // the entry goes
            EXPECT_EQ(syn(client, p, 3600000, "10.0.0.110", 80, kTcpAck), first) << "port " << p;
        }
        EXPECT_EQ(reals.size(), port ? 2u : 1u) << (port ? "mh-port" : "mh");
    }
}

// mh-fallback: the real the table gives is overloaded, so the next one in the table takes the flow;
// without the flag the flow has no real (IPVS returns none).
TEST_F(SchedPackets, MhFallbackOnlyWithTheFlag) {
    for (bool fallback : {false, true}) {
        one_service(80, kProtoTcp, Sched::mh, [&](Snapshot& s) {
            s.services[0].sched_flags = fallback ? kSchedFlagFallback : 0;
            s.dests[0].u_threshold = s.dests[1].u_threshold = 1;
        });
        const char* client = fallback ? "192.0.2.2" : "192.0.2.1";
        const uint32_t t = fallback ? 3600000 : 0;
        sweep_all(t);  // the other round's entries go, and with them its overload
        std::string first = syn(client, 1000, t);  // overloads its real (limit 1)
        ASSERT_NE(first, "dropped");
        std::string second = syn(client, 1001, t);  // same client, same real by the table
        if (fallback) EXPECT_EQ(second, first == "rs1" ? "rs2" : "rs1");
        else EXPECT_EQ(second, "dropped");
    }
}

// lblc: a destination stays on its real while that real is not overloaded in lblc's sense.
TEST_F(SchedPackets, LblcKeepsADestinationOnItsReal) {
    one_service(80, kProtoTcp, Sched::lblc, [](Snapshot&) {});
    std::string first = syn("192.0.2.1", 1000, 0);
    for (uint32_t c = 2; c < 20; c++) {
        std::string client = "192.0.2." + std::to_string(c);
        EXPECT_EQ(syn(client.c_str(), 1000, 0), first) << client;  // wlc alone would alternate
    }
}

}  // namespace
}  // namespace dplb::test
