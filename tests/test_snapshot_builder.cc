// Config + runtime -> Snapshot: ids stay with services and reals across reloads, a real that leaves
// drains while connections refer to it, health and operator weights apply.
#include <gtest/gtest.h>

#include "config.h"
#include "snapshot_builder.h"
#include "snapshot_find.h"

namespace dplb {
namespace {

config::Config load(const std::string& reals) {
    return config::load_config_string(
        "ports:\n  - name: lan0\n    device: net_ring0\nservices:\n"
        "  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n" +
            reals,
        "lb.yaml");
}

std::string real(const char* ip, const char* extra = "") {
    return std::string("      - ip: ") + ip + "\n        mac: \"02:00:00:00:00:01\"\n" + extra;
}

TEST(SnapshotBuilder, IdsStayAcrossReloadsAndRemovedRealsDrain) {
    config::Config a = load(real("10.0.0.11") + real("10.0.0.12") + real("10.0.0.13"));
    BuildInput in;
    in.cfg = &a;
    BuildResult r1 = build_snapshot(in);
    uint16_t id12, id13;
    ASSERT_TRUE(find(r1.snap, "10.0.0.12", &id12));
    ASSERT_TRUE(find(r1.snap, "10.0.0.13", &id13));
    EXPECT_EQ(r1.new_dest_ids.size(), 3u);

    // .11 removed, .14 added; .11 still has connections.
    config::Config b = load(real("10.0.0.12") + real("10.0.0.13") + real("10.0.0.14"));
    uint16_t id11;
    find(r1.snap, "10.0.0.11", &id11);
    in.cfg = &b;
    in.prev = &r1.snap;
    in.conns_of = [id11](uint16_t id) { return id == id11 ? 3u : 0u; };
    BuildResult r2 = build_snapshot(in);
    uint16_t id;
    ASSERT_TRUE(find(r2.snap, "10.0.0.12", &id));
    EXPECT_EQ(id, id12);
    ASSERT_TRUE(find(r2.snap, "10.0.0.13", &id));
    EXPECT_EQ(id, id13);
    const Dest* d11 = find(r2.snap, "10.0.0.11", &id);
    ASSERT_TRUE(d11);
    EXPECT_EQ(id, id11);
    EXPECT_TRUE(d11->draining);
    EXPECT_EQ(d11->weight, 0);
    ASSERT_TRUE(find(r2.snap, "10.0.0.14", &id));
    EXPECT_NE(id, id11) << "a draining real's id is not handed out";
    EXPECT_EQ(r2.new_dest_ids, std::vector<uint16_t>{id});
    EXPECT_EQ(r2.snap.services[0].dests.size(), 3u) << "the draining real is not schedulable";

    // Its last connection gone, the id is freed.
    in.prev = &r2.snap;
    in.conns_of = [](uint16_t) { return 0u; };
    BuildResult r3 = build_snapshot(in);
    EXPECT_EQ(find(r3.snap, "10.0.0.11"), nullptr);
}

TEST(SnapshotBuilder, HealthAndOperatorWeights) {
    config::Config c = load(real("10.0.0.11") + real("10.0.0.12", "        inhibit_on_failure: true\n") +
                            real("10.0.0.13"));
    std::map<RealKey, RealRuntime> rt;
    auto key = [&](const char* ip) { return RealKey{c.services[0].vip, 80, kProtoTcp, *IpAddr::parse(ip), 80}; };
    rt[key("10.0.0.11")].healthy = false;             // leaves the service
    rt[key("10.0.0.12")].healthy = false;             // stays, weight 0 (inhibit_on_failure)
    rt[key("10.0.0.13")].weight_override = 9;         // dplbctl weight
    BuildInput in;
    in.cfg = &c;
    in.runtime = &rt;
    Snapshot s = build_snapshot(in).snap;
    uint16_t i11, i12, i13;
    EXPECT_TRUE(find(s, "10.0.0.11", &i11)->draining);
    EXPECT_FALSE(find(s, "10.0.0.12", &i12)->draining);
    EXPECT_EQ(s.dests[i12].weight, 0);
    EXPECT_EQ(find(s, "10.0.0.13", &i13)->weight, 9);
    EXPECT_EQ(s.services[0].dests, (std::vector<uint16_t>{i12, i13}));
    rt[key("10.0.0.13")].drained = true;  // dplbctl drain wins over a weight
    s = build_snapshot(in).snap;
    EXPECT_EQ(s.dests[i13].weight, 0);
}

TEST(SnapshotBuilder, ResolvedMacFillsInAndStaticMacWins) {
    config::Config c = load("      - ip: 10.0.0.11\n" + real("10.0.0.12"));
    std::map<RealKey, RealRuntime> rt;
    MacAddr learnt = *MacAddr::parse("02:aa:bb:cc:dd:ee");
    rt[RealKey{c.services[0].vip, 80, kProtoTcp, *IpAddr::parse("10.0.0.11"), 80}].resolved_mac = learnt;
    rt[RealKey{c.services[0].vip, 80, kProtoTcp, *IpAddr::parse("10.0.0.12"), 80}].resolved_mac = learnt;
    BuildInput in;
    in.cfg = &c;
    Snapshot before = build_snapshot(in).snap;
    EXPECT_FALSE(find(before, "10.0.0.11")->has_mac);
    in.runtime = &rt;
    Snapshot s = build_snapshot(in).snap;
    EXPECT_TRUE(find(s, "10.0.0.11")->has_mac);
    EXPECT_EQ(find(s, "10.0.0.11")->mac, learnt);
    EXPECT_EQ(find(s, "10.0.0.12")->mac, *MacAddr::parse("02:00:00:00:00:01"));
}

}  // namespace
}  // namespace dplb
