// The announce state (controlplane/announce.h): which VIPs a director announces and why it
// withdraws the others; and the Maglev fingerprint (scheduler.h mh_fingerprint) that every
// director with the same configuration must show.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "announce.h"
#include "config.h"
#include "scheduler.h"
#include "snapshot_builder.h"

namespace dplb {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// Two VIPs: .10 with web (tcp 80) and dns (udp 53), .20 with tcp 443; and one IPv6 VIP.
config::Config three_vips() {
    return config::load_config_string(
        "ports:\n  - name: lan\n    device: net_af_packet0\n  - name: back\n    device: net_af_packet1\n"
        "services:\n"
        "  - {vip: 10.0.0.10, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.21}]}\n"
        "  - {vip: 10.0.0.10, port: 53, protocol: udp, real_servers: [{ip: 10.0.0.21}]}\n"
        "  - {vip: 10.0.0.20, port: 443, protocol: tcp, real_servers: [{ip: 10.0.0.22}]}\n"
        "  - {vip: \"2001:db8::10\", port: 80, protocol: tcp, real_servers: [{ip: \"2001:db8::21\"}]}\n",
        "a.yaml");
}

std::string show(const std::vector<AnnounceChange>& changes) {
    std::string s;
    for (const auto& c : changes)
        s += c.vip.str() + (c.state.announced ? " announced" : " withdrawn (" + c.state.reason + ")") + "; ";
    return s;
}

TEST(Announce, EveryVipAnnouncedWhenAllIsWell) {
    AnnounceTable t;
    EXPECT_EQ(show(t.set_services(three_vips().services, {})),
              "10.0.0.10 announced; 10.0.0.20 announced; 2001:db8::10 announced; ");
    EXPECT_EQ(show(t.set_services(three_vips().services, {})), "");  // nothing changed
}

TEST(Announce, QuorumTouchesItsVipOnly) {
    AnnounceTable t;
    t.set_services(three_vips().services, {});
    ServiceRef dns{ip("10.0.0.10"), 53, kProtoUdp};
    ServiceRef web{ip("10.0.0.10"), 80, kProtoTcp};
    EXPECT_EQ(show(t.set_quorum(dns, false)), "10.0.0.10 withdrawn (quorum lost on 10.0.0.10:53/udp); ");
    // Both lost: the reason names the first service in the file.
    EXPECT_EQ(show(t.set_quorum(web, false)), "10.0.0.10 withdrawn (quorum lost on 10.0.0.10:80/tcp); ");
    EXPECT_EQ(show(t.set_quorum(web, true)), "10.0.0.10 withdrawn (quorum lost on 10.0.0.10:53/udp); ");
    EXPECT_EQ(show(t.set_quorum(dns, true)), "10.0.0.10 announced; ");
    EXPECT_EQ(show(t.set_quorum(ServiceRef{ip("10.0.0.99"), 80, kProtoTcp}, false)), "");  // no such service
    EXPECT_EQ(show(t.set_quorum(ServiceRef{ip("10.0.0.10"), 81, kProtoTcp}, false)), "");
    EXPECT_TRUE(t.states().at(ip("10.0.0.10")).announced);
}

TEST(Announce, QuorumsFromTheRuntimeAtSetServices) {
    AnnounceTable t;
    std::map<ServiceRef, ServiceRuntime> q;
    q[ServiceRef{ip("10.0.0.20"), 443, kProtoTcp}].quorum_up = false;
    EXPECT_EQ(show(t.set_services(three_vips().services, q)),
              "10.0.0.10 announced; 10.0.0.20 withdrawn (quorum lost on 10.0.0.20:443/tcp); 2001:db8::10 announced; ");
}

TEST(Announce, DirectorWideReasonsInOrder) {
    AnnounceTable t;
    t.set_services(three_vips().services, {});
    t.set_quorum(ServiceRef{ip("10.0.0.20"), 443, kProtoTcp}, false);
    EXPECT_EQ(show(t.set_port_up("back", false)),
              "10.0.0.10 withdrawn (port back down); 10.0.0.20 withdrawn (port back down); "
              "2001:db8::10 withdrawn (port back down); ");
    EXPECT_EQ(show(t.set_port_up("back", false)), "");
    EXPECT_EQ(show(t.set_workers_alive(false)),
              "10.0.0.10 withdrawn (workers stalled); 10.0.0.20 withdrawn (workers stalled); "
              "2001:db8::10 withdrawn (workers stalled); ");
    EXPECT_EQ(show(t.set_maintenance(true)),
              "10.0.0.10 withdrawn (maintenance); 10.0.0.20 withdrawn (maintenance); 2001:db8::10 withdrawn (maintenance); ");
    EXPECT_TRUE(t.maintenance());
    EXPECT_EQ(show(t.set_port_up("back", true)), "");
    EXPECT_EQ(show(t.set_workers_alive(true)), "");
    // Off again: only those that qualify come back.
    EXPECT_EQ(show(t.set_maintenance(false)),
              "10.0.0.10 announced; 10.0.0.20 withdrawn (quorum lost on 10.0.0.20:443/tcp); 2001:db8::10 announced; ");
}

TEST(Announce, ShutdownIsForGood) {
    AnnounceTable t;
    t.set_services(three_vips().services, {});
    t.set_maintenance(true);
    EXPECT_EQ(show(t.set_shutdown()),
              "10.0.0.10 withdrawn (shutdown); 10.0.0.20 withdrawn (shutdown); 2001:db8::10 withdrawn (shutdown); ");
    EXPECT_EQ(show(t.set_maintenance(false)), "");
    EXPECT_EQ(show(t.set_quorum(ServiceRef{ip("10.0.0.10"), 80, kProtoTcp}, true)), "");
    for (const auto& [vip, s] : t.states()) EXPECT_FALSE(s.announced) << vip.str();
}

TEST(Announce, ReloadDropsVipsThatLeftAndAddsNewOnes) {
    AnnounceTable t;
    t.set_maintenance(true);
    t.set_services(three_vips().services, {});
    std::vector<config::Service> next = three_vips().services;
    next.erase(next.begin() + 2);  // 10.0.0.20 leaves
    next.push_back(next[0]);
    next.back().vip = ip("10.0.0.30");
    EXPECT_EQ(show(t.set_services(next, {})), "10.0.0.30 withdrawn (maintenance); ");
    EXPECT_EQ(t.states().count(ip("10.0.0.20")), 0u);
    EXPECT_EQ(t.states().size(), 3u);
}

// ---- Maglev fingerprint ----

std::string mh_config(const std::string& before, const std::string& reals) {
    return "ports:\n  - name: lan\n    device: net_af_packet0\nservices:\n" + before +
           "  - vip: 10.0.0.10\n    port: 80\n    protocol: tcp\n    scheduler: mh\n    mh_table_size: 251\n    real_servers:\n" + reals;
}

const std::string kA = "      - {ip: 10.0.0.21, weight: 1}\n";
const std::string kB = "      - {ip: 10.0.0.22, weight: 2}\n";
const std::string kC = "      - {ip: 10.0.0.23, weight: 1}\n";
const std::string kOther =
    "  - vip: 10.0.0.99\n    port: 80\n    protocol: tcp\n    real_servers:\n      - {ip: 10.0.0.31}\n      - {ip: 10.0.0.32}\n"
    "      - {ip: 10.0.0.33}\n";

const Service& mh_service(const Snapshot& s) {
    for (const Service& svc : s.services)
        if (svc.sched == Sched::mh) return svc;
    throw std::logic_error("no mh service");
}

// scheduler.h's formula for mh_fingerprint, written out again from its comment.
uint64_t reference_fingerprint(const std::vector<uint16_t>& mh, const std::vector<Dest>& dests) {
    auto fnv = [](uint64_t h, const std::vector<uint8_t>& bytes) {
        for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
        return h;
    };
    const auto n = static_cast<uint32_t>(mh.size());
    uint64_t h = fnv(0xcbf29ce484222325ULL, {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                                             static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    for (uint16_t id : mh) {
        const Dest& d = dests.at(id);
        std::vector<uint8_t> key{d.ip.family};
        key.insert(key.end(), d.ip.b.begin(), d.ip.b.end());
        key.push_back(static_cast<uint8_t>(d.port >> 8));
        key.push_back(static_cast<uint8_t>(d.port & 0xff));
        h = (h ^ fnv(0xcbf29ce484222325ULL, key)) * 0x100000001b3ULL;
    }
    return h;
}

BuildResult build(const std::string& text) {
    config::Config cfg = config::load_config_string(text, "mh.yaml");
    BuildInput in;
    in.cfg = &cfg;
    return build_snapshot(in);
}

TEST(MaglevFingerprint, SameConfigSameTableWhateverTheIds) {
    BuildResult one = build(mh_config("", kA + kB + kC));
    // Another director: reals in another order, and another service first, so every real of the
    // mh service has another id.
    BuildResult two = build(mh_config(kOther, kC + kA + kB));
    const Service& s1 = mh_service(one.snap);
    const Service& s2 = mh_service(two.snap);
    ASSERT_EQ(s1.tables->mh.size(), 251u);
    ASSERT_EQ(s2.tables->mh.size(), 251u);
    // The ids do differ (else this would prove nothing)...
    EXPECT_NE(s1.tables->mh, s2.tables->mh);
    // ... but every slot names the same real.
    for (size_t i = 0; i < 251; i++) {
        const Dest& d1 = one.snap.dests[s1.tables->mh[i]];
        const Dest& d2 = two.snap.dests[s2.tables->mh[i]];
        ASSERT_TRUE(d1.ip == d2.ip && d1.port == d2.port) << "slot " << i;
    }
    EXPECT_EQ(s1.tables->mh_fingerprint, s2.tables->mh_fingerprint);
    EXPECT_EQ(s1.tables->mh_fingerprint, reference_fingerprint(s1.tables->mh, one.snap.dests));
    EXPECT_EQ(s2.tables->mh_fingerprint, reference_fingerprint(s2.tables->mh, two.snap.dests));
    // Pinned: a change of the table's layout (the hash, the fill) changes this value, and every
    // director of a site must then be upgraded together.
    EXPECT_EQ(format_fingerprint(s1.tables->mh_fingerprint), "c8ada22ff8b17229");
}

TEST(MaglevFingerprint, WeightChangesIt) {
    const uint64_t base = mh_service(build(mh_config("", kA + kB + kC)).snap).tables->mh_fingerprint;
    const std::string heavier_a = "      - {ip: 10.0.0.21, weight: 3}\n";
    EXPECT_NE(mh_service(build(mh_config("", heavier_a + kB + kC)).snap).tables->mh_fingerprint, base);
    EXPECT_NE(mh_service(build(mh_config("", kA + kB)).snap).tables->mh_fingerprint, base);
    EXPECT_EQ(mh_fingerprint({}, {}), 0u);
    // Kept for mh services only.
    config::Config cfg = config::load_config_string(
        "ports:\n  - name: lan\n    device: net_af_packet0\nservices:\n" + kOther, "rr.yaml");
    BuildInput in;
    in.cfg = &cfg;
    EXPECT_EQ(build_snapshot(in).snap.services[0].tables->mh_fingerprint, 0u);
}

TEST(MaglevFingerprint, Format) {
    EXPECT_EQ(format_fingerprint(0), "0000000000000000");
    EXPECT_EQ(format_fingerprint(0x0123456789abcdefULL), "0123456789abcdef");
}

}  // namespace
}  // namespace dplb
