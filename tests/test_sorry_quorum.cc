// A service's sorry server and quorum: the loader's keys and errors, keepalived's quorum rule with
// its hysteresis, and the dests the builder makes of the sorry server and the reals in each state.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config.h"
#include "quorum.h"
#include "snapshot_builder.h"
#include "snapshot_find.h"

#ifndef DPLB_SOURCE_ROOT
#define DPLB_SOURCE_ROOT "."
#endif

namespace dplb {
namespace {

const char* const kHead =
    "ports:\n  - name: lan0\n    device: net_ring0\nservices:\n"
    "  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n"
    "      - ip: 10.0.0.11\n        mac: \"02:00:00:00:00:11\"\n        weight: 2\n"
    "      - ip: 10.0.0.12\n        mac: \"02:00:00:00:00:12\"\n";

// The service above with `extra` (service keys, indented 4) added.
config::Config load(const std::string& extra) { return config::load_config_string(kHead + extra, "t.yaml"); }

std::vector<std::string> errors_of(const std::string& extra) {
    try {
        load(extra);
    } catch (const config::ConfigError& e) {
        return e.errors;
    }
    return {};
}

const char* const kSorry = "    sorry_server:\n      ip: 10.0.0.19\n      mac: \"02:00:00:00:00:19\"\n";

TEST(SorryServerConfig, KeysAndDefaults) {
    config::Config plain = load("");
    const config::Service& p = plain.services[0];
    EXPECT_FALSE(p.sorry_server);
    EXPECT_FALSE(p.sorry_server_inhibit);
    EXPECT_EQ(p.quorum, 1u);
    EXPECT_EQ(p.hysteresis, 0u);

    config::Config c = load(std::string(kSorry) +
                            "    sorry_server_inhibit: true\n    quorum: 3\n    hysteresis: 1\n"
                            "    quorum_up: /bin/true up\n    quorum_down: /bin/true down\n");
    const config::Service& s = c.services[0];
    ASSERT_TRUE(s.sorry_server);
    EXPECT_EQ(s.sorry_server->ip, *IpAddr::parse("10.0.0.19"));
    EXPECT_EQ(s.sorry_server->port, 80);  // the service's, as for a real
    EXPECT_EQ(s.sorry_server->weight, 1);
    EXPECT_TRUE(s.sorry_server->has_mac);
    EXPECT_FALSE(s.sorry_server->health_check);
    EXPECT_TRUE(s.sorry_server_inhibit);
    EXPECT_EQ(s.quorum, 3u);
    EXPECT_EQ(s.hysteresis, 1u);
    EXPECT_EQ(s.quorum_up, "/bin/true up");
    EXPECT_EQ(s.quorum_down, "/bin/true down");
    std::vector<const config::RealServer*> f = config::forwarding_reals(s);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[2], &*s.sorry_server);
}

TEST(SorryServerConfig, Errors) {
    struct Case {
        std::string extra, want;
    };
    const std::vector<Case> cases = {
        {"    hysteresis: 1\n",
         "t.yaml:15:17: services[0].hysteresis: expected a hysteresis below the quorum (1), got \"1\""},
        {"    quorum: 0\n", "t.yaml:15:13: services[0].quorum: expected integer 1..4294967295, got \"0\""},
        {"    sorry_server_inhibit: true\n",
         "t.yaml:15:27: services[0].sorry_server_inhibit: expected sorry_server_inhibit only with a sorry_server, "
         "got true"},
        {"    sorry_server:\n      ip: 10.0.0.12\n",
         "t.yaml:16:11: services[0].sorry_server.ip: expected an address that is not one of the service's "
         "real_servers, got \"10.0.0.12\" (the sorry server takes over from them)"},
        {"    sorry_server:\n      ip: 10.0.0.19\n      port: 8080\n",
         "t.yaml:17:13: services[0].sorry_server.port: sorry server: port 8080 differs from the service's port 80 "
         "(Direct Routing forwards to the service's port; leave port out)"},
        {"    sorry_server:\n      ip: 10.0.0.100\n",
         "t.yaml:16:11: services[0].sorry_server.ip: expected the real server's own address, got the service's vip "
         "\"10.0.0.100\" (" + std::string(config::kRealHoldsVip) + ")"},
        {"    sorry_server:\n      ip: 2001:db8::1\n",
         "t.yaml:16:11: services[0].sorry_server.ip: expected an IPv4 address like the vip, got \"2001:db8::1\""},
        {"    sorry_server:\n      ip: 10.0.0.19\n      health_check: {type: tcp}\n",
         "t.yaml:17:7: services[0].sorry_server.health_check: unknown key"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> errs = errors_of(c.extra);
        ASSERT_EQ(errs.size(), 1u) << c.extra << (errs.empty() ? "" : errs[0]);
        EXPECT_EQ(errs[0], c.want) << c.extra;
    }
    std::vector<std::string> errs = errors_of("    quorum_up: relative.sh\n");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_NE(errs[0].find("t.yaml:15:16: services[0].quorum_up: expected a command line whose program is an "
                           "absolute path"),
              std::string::npos)
        << errs[0];
}

// config/README.md's schema block shows every key with its default.
TEST(SorryServerConfig, ReadmeSchemaShowsTheKeys) {
    std::ifstream in(std::string(DPLB_SOURCE_ROOT) + "/config/README.md");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string md = ss.str();
    const size_t start = md.find("```yaml\n") + 8;
    config::Config c = config::load_config_string(md.substr(start, md.find("```", start) - start), "README.md");
    const config::Service& web = c.services.at(0);
    ASSERT_TRUE(web.sorry_server);
    EXPECT_EQ(web.sorry_server->ip, *IpAddr::parse("10.0.0.250"));
    EXPECT_TRUE(web.sorry_server->has_mac);
    EXPECT_FALSE(web.sorry_server_inhibit);
    EXPECT_EQ(web.quorum, 1u);
    EXPECT_EQ(web.hysteresis, 0u);
    EXPECT_EQ(web.quorum_up, "/usr/bin/logger -t dplb web quorum up");
    EXPECT_EQ(web.quorum_down, "/usr/bin/logger -t dplb web quorum down");
}

// keepalived's rule (check/ipwrapper.c): down below quorum - hysteresis, up at quorum + hysteresis.
TEST(Quorum, RuleWithHysteresis) {
    struct Step {
        bool was_up;
        uint64_t live;
        bool want;
    };
    // quorum 4, hysteresis 1: down below 3, up from 5.
    const std::vector<Step> steps = {
        {true, 4, true},  {true, 3, true},   {true, 2, false}, {false, 3, false}, {false, 4, false},
        {false, 5, true}, {false, 9, true},  {true, 0, false}, {false, 0, false},
    };
    for (const Step& s : steps)
        EXPECT_EQ(quorum_next(s.was_up, s.live, 4, 1), s.want) << "was_up " << s.was_up << " live " << s.live;
    // The default (quorum 1, no hysteresis): up while any live real has weight.
    EXPECT_TRUE(quorum_next(false, 1, 1, 0));
    EXPECT_FALSE(quorum_next(true, 0, 1, 0));
    // The largest quorum does not wrap.
    EXPECT_FALSE(quorum_next(false, 0xffffffffull, 0xffffffffu, 1));
    EXPECT_TRUE(quorum_next(false, 0x100000000ull, 0xffffffffu, 1));
}

TEST(Quorum, LiveWeightCountsHealthyRealsAtTheirEffectiveWeight) {
    config::Config c = load(kSorry);
    const config::Service& s = c.services[0];
    std::map<RealKey, RealRuntime> rt;
    EXPECT_EQ(live_weight(s, rt), 3u);  // 2 + 1; the sorry server never counts
    RealKey k11{s.vip, 80, kProtoTcp, *IpAddr::parse("10.0.0.11"), 80};
    RealKey k12{s.vip, 80, kProtoTcp, *IpAddr::parse("10.0.0.12"), 80};
    rt[k11].healthy = false;
    EXPECT_EQ(live_weight(s, rt), 1u);
    rt[k12].weight_override = 7;
    EXPECT_EQ(live_weight(s, rt), 7u);
    rt[k12].healthy = false;
    EXPECT_EQ(live_weight(s, rt), 0u);
}

bool listed(const Snapshot& s, uint16_t id) {
    const auto& d = s.services.at(0).dests;
    return std::find(d.begin(), d.end(), id) != d.end();
}

ServiceRef ref_of(const config::Config& c) {
    return ServiceRef{c.services[0].vip, c.services[0].port, c.services[0].proto};
}

TEST(SorryServerSnapshot, IdleWhileTheQuorumHoldsInUseWhileLost) {
    config::Config c = load(kSorry);
    std::map<ServiceRef, ServiceRuntime> states;
    BuildInput in;
    in.cfg = &c;
    in.services = &states;
    BuildResult up = build_snapshot(in);
    uint16_t sorry_id, id11;
    const Dest* sorry = find(up.snap, "10.0.0.19", &sorry_id);
    ASSERT_TRUE(sorry);
    EXPECT_TRUE(sorry->draining) << "idle and not inhibited: out of the service, as keepalived removes it";
    EXPECT_EQ(sorry->weight, 0);
    EXPECT_FALSE(listed(up.snap, sorry_id));
    EXPECT_TRUE(up.snap.services[0].quorum_up);
    ASSERT_TRUE(find(up.snap, "10.0.0.11", &id11));
    EXPECT_EQ(up.snap.dests[id11].weight, 2);
    EXPECT_TRUE(listed(up.snap, id11));

    // Quorum lost: the sorry server is scheduled, the reals take nothing new (out of the service).
    states[ref_of(c)].quorum_up = false;
    in.prev = &up.snap;
    BuildResult down = build_snapshot(in);
    uint16_t id;
    sorry = find(down.snap, "10.0.0.19", &id);
    ASSERT_TRUE(sorry);
    EXPECT_EQ(id, sorry_id) << "the sorry server keeps its id";
    EXPECT_FALSE(sorry->draining);
    EXPECT_EQ(sorry->weight, 1);
    EXPECT_TRUE(sorry->healthy);
    EXPECT_EQ(down.snap.services[0].dests, std::vector<uint16_t>{sorry_id});
    EXPECT_FALSE(down.snap.services[0].quorum_up);
    EXPECT_TRUE(down.snap.dests[id11].draining);
    EXPECT_EQ(down.snap.dests[id11].weight, 0);
    EXPECT_EQ(down.snap.dests[id11].svc, down.snap.services[0].id);

    // The same from the one-service build the health events use.
    BuildInput partial = in;
    partial.prev = &up.snap;
    BuildResult down2 = build_services(partial, {ref_of(c)});
    EXPECT_EQ(down2.snap.services[0].dests, down.snap.services[0].dests);
    EXPECT_EQ(down2.snap.dests[sorry_id].weight, 1);
    EXPECT_FALSE(down2.snap.dests[sorry_id].draining);
    EXPECT_TRUE(down2.snap.dests[id11].draining);

    // Regained: back to the reals; the sorry server drains the flows it has.
    states[ref_of(c)].quorum_up = true;
    partial.prev = &down2.snap;
    BuildResult again = build_services(partial, {ref_of(c)});
    EXPECT_TRUE(again.snap.dests[sorry_id].draining);
    EXPECT_EQ(again.snap.dests[sorry_id].weight, 0);
    EXPECT_TRUE(again.snap.dests[sorry_id].in_use);
    EXPECT_FALSE(listed(again.snap, sorry_id));
    EXPECT_EQ(again.snap.dests[id11].weight, 2);
    EXPECT_FALSE(again.snap.dests[id11].draining);
    EXPECT_TRUE(again.snap.services[0].quorum_up);
}

TEST(SorryServerSnapshot, InhibitKeepsItListedAtWeightZero) {
    config::Config c = load(std::string(kSorry) + "    sorry_server_inhibit: true\n");
    c.services[0].reals[0].inhibit_on_failure = true;
    std::map<ServiceRef, ServiceRuntime> states;
    BuildInput in;
    in.cfg = &c;
    in.services = &states;
    BuildResult up = build_snapshot(in);
    uint16_t sorry_id, id11;
    ASSERT_TRUE(find(up.snap, "10.0.0.19", &sorry_id));
    ASSERT_TRUE(find(up.snap, "10.0.0.11", &id11));
    EXPECT_FALSE(up.snap.dests[sorry_id].draining);
    EXPECT_EQ(up.snap.dests[sorry_id].weight, 0);
    EXPECT_TRUE(listed(up.snap, sorry_id)) << "as ipvsadm lists keepalived's inhibited sorry server";

    states[ref_of(c)].quorum_up = false;
    in.prev = &up.snap;
    BuildResult down = build_snapshot(in);
    EXPECT_EQ(down.snap.dests[sorry_id].weight, 1);
    // A real with inhibit_on_failure stays listed at weight 0; one without leaves.
    EXPECT_TRUE(listed(down.snap, id11));
    EXPECT_EQ(down.snap.dests[id11].weight, 0);
    uint16_t id12;
    ASSERT_TRUE(find(down.snap, "10.0.0.12", &id12));
    EXPECT_FALSE(listed(down.snap, id12));
}

TEST(SorryServerSnapshot, QuorumLostWithoutSorryServerChangesNoDest) {
    config::Config c = load("    quorum: 2\n");
    std::map<ServiceRef, ServiceRuntime> states;
    BuildInput in;
    in.cfg = &c;
    in.services = &states;
    BuildResult up = build_snapshot(in);
    states[ref_of(c)].quorum_up = false;
    BuildResult down = build_snapshot(in);
    EXPECT_FALSE(down.snap.services[0].quorum_up);
    EXPECT_EQ(down.snap.services[0].dests, up.snap.services[0].dests);
    for (uint16_t id : down.snap.services[0].dests) EXPECT_EQ(down.snap.dests[id].weight, up.snap.dests[id].weight);
}

}  // namespace
}  // namespace dplb
