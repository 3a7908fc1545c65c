// The active-active planner: the example (3 hosts, 1 failure, 1.5 Gbit/s over 1 Gbit/s links
// gives 6 VIPs), a property test over every H <= 6 and F < H that checks each plan with code of its
// own (every failure case under capacity, every host MASTER of as many VIPs) and that no smaller
// number of VIPs could do (by the capacity bound, or by trying every arrangement where that is
// small enough), then the rate parser and the three outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "vrrp/plan_report.h"
#include "vrrp/planner.h"

namespace dplb::vrrp {
namespace {

constexpr uint64_t G = 1000000000ULL;

PlanInput input(uint32_t hosts, uint32_t failures, uint64_t traffic, uint64_t link) {
    PlanInput in;
    in.hosts = hosts;
    in.failures = failures;
    in.traffic_bps = traffic;
    in.link_bps = link;
    return in;
}

// --- an independent judge -------------------------------------------------------------------------

// The most VIPs any survivor holds over every failure set of at most `failures` hosts.
uint32_t worst_vips(uint32_t hosts, uint32_t failures, const std::vector<std::vector<uint32_t>>& order) {
    uint32_t worst = 0;
    for (uint32_t set = 0; set < (1u << hosts); ++set) {
        if (static_cast<uint32_t>(__builtin_popcount(set)) > failures) continue;
        std::vector<uint32_t> held(hosts, 0);
        for (const auto& o : order) {
            for (uint32_t h : o) {
                if (set >> h & 1) continue;
                ++held[h];
                break;
            }
        }
        for (uint32_t h = 0; h < hosts; ++h)
            if (!(set >> h & 1)) worst = std::max(worst, held[h]);
    }
    return worst;
}

bool under_capacity(uint32_t count, uint32_t vips, uint64_t traffic, uint64_t link) {
    return count * traffic < link * vips;  // count * T / V < C
}

// Whether any arrangement of `vips` (a multiple of hosts, vips / hosts MASTERs each) keeps every
// survivor under capacity, by depth-first search over all of them: only the first F backups of an
// order matter, the VIPs of one MASTER are interchangeable (each MASTER takes a multiset of backup
// prefixes), a branch stops as soon as some failure case is over capacity (counts only grow), and
// host 0's first VIP may take backups 1, 2, ... (any arrangement can be relabelled so). Returns 1
// (fits), 0 (nothing fits) or -1 (gave up after `budget` steps).
int exhaustive_fits(uint32_t hosts, uint32_t failures, uint32_t vips, uint64_t traffic, uint64_t link,
                    double budget) {
    const uint32_t k = vips / hosts, depth = std::min(failures, hosts - 1);
    uint32_t cap = 0;
    while (under_capacity(cap + 1, vips, traffic, link)) ++cap;
    std::vector<uint32_t> sets;
    for (uint32_t set = 0; set < (1u << hosts); ++set)
        if (static_cast<uint32_t>(__builtin_popcount(set)) <= failures) sets.push_back(set);
    // Every backup prefix (ordered, distinct, not the MASTER) per MASTER, in lexicographic order.
    std::vector<std::vector<std::vector<uint32_t>>> prefixes(hosts);
    for (uint32_t p = 0; p < hosts; ++p) {
        std::vector<uint32_t> cur;
        std::function<void()> grow = [&]() {
            if (cur.size() == depth) {
                prefixes[p].push_back(cur);
                return;
            }
            for (uint32_t h = 0; h < hosts; ++h) {
                if (h == p || std::find(cur.begin(), cur.end(), h) != cur.end()) continue;
                cur.push_back(h);
                grow();
                cur.pop_back();
            }
        };
        grow();
    }
    const size_t m = prefixes[0].size();
    std::vector<std::vector<uint32_t>> held(sets.size(), std::vector<uint32_t>(hosts, 0));
    double steps = 0;
    bool gave_up = false;
    // Where each order (MASTER p, then prefix i) lands in each failure set. A VIP whose MASTER
    // failed always finds a survivor within its prefix: at most F - 1 of those F hosts failed too.
    std::vector<std::vector<std::vector<uint32_t>>> lands(hosts, std::vector<std::vector<uint32_t>>(m));
    for (uint32_t p = 0; p < hosts; ++p)
        for (size_t i = 0; i < m; ++i)
            for (uint32_t s : sets) {
                uint32_t h = p;
                for (size_t j = 0; (s >> h & 1) && j < prefixes[p][i].size(); ++j) h = prefixes[p][i][j];
                lands[p][i].push_back(h);
            }
    std::function<bool(uint32_t, uint32_t, size_t)> place = [&](uint32_t p, uint32_t left, size_t from) -> bool {
        if (++steps > budget) {
            gave_up = true;
            return false;
        }
        if (p == hosts) return true;
        if (left == 0) return place(p + 1, k, 0);
        size_t last = (p == 0 && left == k) ? 1 : m;  // symmetry: host 0's first VIP takes prefix 0
        for (size_t i = from; i < last && !gave_up; ++i) {
            bool over = false;
            const std::vector<uint32_t>& to = lands[p][i];
            for (size_t si = 0; si < sets.size(); ++si)
                if (++held[si][to[si]] > cap) over = true;
            bool ok = !over && place(p, left - 1, i);
            for (size_t si = 0; si < sets.size(); ++si) --held[si][to[si]];
            if (ok) return true;
        }
        return false;
    };
    bool fits = place(0, k, 0);
    if (gave_up) return -1;
    return fits ? 1 : 0;
}

// Checks a plan with the judge above; returns how its minimality was shown ("bound", "exhaustive",
// or "search" when neither applies and only the planner's own search stands behind it).
std::string check_plan(const PlanInput& in, const Plan& p) {
    const uint32_t H = in.hosts, F = in.failures;
    const Arrangement& a = p.chosen.arrangement;
    const uint32_t V = a.vips;
    EXPECT_EQ(V % H, 0u);
    EXPECT_EQ(p.vips_per_host(), V / H);
    std::vector<uint32_t> masters(H, 0);
    for (const auto& o : a.order) {
        EXPECT_EQ(o.size(), H);
        EXPECT_EQ(std::set<uint32_t>(o.begin(), o.end()).size(), H) << "an order names every host once";
        ++masters[o[0]];
    }
    for (uint32_t h = 0; h < H; ++h) {
        EXPECT_EQ(masters[h], V / H) << "host " << h;
    }
    uint32_t worst = worst_vips(H, F, a.order);
    EXPECT_EQ(worst, a.worst_vips);
    EXPECT_TRUE(under_capacity(worst, V, in.traffic_bps, in.link_bps))
        << worst << " VIPs of " << V << " at " << in.traffic_bps << " over " << in.link_bps;
    EXPECT_DOUBLE_EQ(p.worst_link_load_bps(), static_cast<double>(in.traffic_bps) * worst / V);

    // No smaller multiple of H can do.
    std::string how = "bound";
    for (uint32_t v = H; v < V; v += H) {
        uint32_t least = (v + (H - F) - 1) / (H - F);
        if (!under_capacity(least, v, in.traffic_bps, in.link_bps)) continue;  // the bound rules it out
        int fits = exhaustive_fits(H, F, v, in.traffic_bps, in.link_bps, 3e8);
        if (fits < 0) {
            how = "search";
            continue;
        }
        EXPECT_EQ(fits, 0) << v << " VIPs would have done for H=" << H << " F=" << F;
        if (how == "bound") how = "exhaustive";
    }
    return how;
}

// --- the example ----------------------------------------------------------------------------

TEST(VrrpPlanner, ThreeHostsOneFailureGivesSixVips) {
    Plan p = plan(input(3, 1, 15 * G / 10, G));
    ASSERT_TRUE(p.found) << p.error;
    EXPECT_EQ(p.vips(), 6u);
    EXPECT_EQ(p.vips_per_host(), 2u);
    EXPECT_DOUBLE_EQ(p.vip_load_bps(), 250e6);
    EXPECT_DOUBLE_EQ(p.worst_link_load_bps(), 750e6);
    // Each host's pair is backed up by different peers.
    const auto& order = p.chosen.arrangement.order;
    for (uint32_t h = 0; h < 3; ++h) {
        std::set<uint32_t> first_backups;
        for (const auto& o : order)
            if (o[0] == h) first_backups.insert(o[1]);
        EXPECT_EQ(first_backups.size(), 2u) << "host " << h;
    }
    // Every single failure leaves 3 VIPs (750 Mbit/s) on each survivor.
    for (const FailureCase& c : p.chosen.arrangement.cases) {
        if (!c.failed) continue;
        for (uint32_t h = 0; h < 3; ++h) {
            EXPECT_EQ(c.vips[h], (c.failed >> h & 1) ? 0u : 3u);
        }
    }

    ASSERT_EQ(p.rejected.size(), 5u);
    EXPECT_EQ(p.rejected[0].verdict, Verdict::too_few);
    EXPECT_EQ(p.rejected[1].verdict, Verdict::too_few);
    // 3 VIPs: one survivor holds 2 x 500 Mbit/s = the whole link, whatever the priorities.
    const Candidate& three = p.rejected[2];
    EXPECT_EQ(three.verdict, Verdict::over_link);
    EXPECT_TRUE(three.bound_exceeded);
    EXPECT_EQ(three.arrangement.worst_vips, 2u);
    // 4 VIPs: within capacity after a failure (750 Mbit/s) but 2 / 1 / 1 while all are up.
    const Candidate& four = p.rejected[3];
    EXPECT_EQ(four.verdict, Verdict::uneven);
    std::vector<uint32_t> up = four.arrangement.cases[0].vips;
    std::sort(up.begin(), up.end());
    EXPECT_EQ(up, (std::vector<uint32_t>{1, 1, 2}));
    EXPECT_EQ(four.arrangement.worst_vips, 2u);
    EXPECT_EQ(p.rejected[4].verdict, Verdict::uneven);

    std::string text = plan_text(p);
    EXPECT_NE(text.find("6 VIPs, 2 per host, 250 Mbit/s each"), std::string::npos) << text;
    EXPECT_NE(text.find("Worst case: 750 Mbit/s (75%)"), std::string::npos) << text;
    EXPECT_NE(text.find("3 VIPs: 500 Mbit/s each; after 1 failure 3 VIPs share 2 hosts, so one holds at least 2: "
                        "1 Gbit/s, not below the 1 Gbit/s link"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("4 VIPs: not a multiple of 3 hosts, so the load does not spread evenly with every host up "
                        "(750 Mbit/s / 375 Mbit/s / 375 Mbit/s)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  host1   -                 3  750 Mbit/s     3  750 Mbit/s"), std::string::npos) << text;

    std::string json = plan_json(p);
    for (const char* key : {"\"vips\":6", "\"vips_per_host\":2", "\"worst_link_load_bps\":750000000",
                            "\"found\":true", "{\"vips\":3,\"verdict\":\"over_link\",\"bound_exceeded\":true,"
                                              "\"worst_link_load_bps\":1000000000"})
        EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
}

// --- the property test ------------------------------------------------------------------------------

TEST(VrrpPlanner, EveryFailureCaseHoldsUnderCapacityForSmallClusters) {
    int plans = 0, impossible = 0;
    std::map<std::string, int> proofs;
    for (uint32_t H = 1; H <= 6; ++H) {
        for (uint32_t F = 0; F < H; ++F) {
            // Traffic from light to just under what H - F links can carry.
            for (double per_survivor : {0.3, 0.7, 0.95, 0.999, 1.0, 1.2}) {
                uint64_t traffic = static_cast<uint64_t>(per_survivor * static_cast<double>((H - F) * G));
                PlanInput in = input(H, F, traffic, G);
                SCOPED_TRACE("H=" + std::to_string(H) + " F=" + std::to_string(F) + " T=" + std::to_string(traffic));
                Plan p = plan(in);
                if (traffic >= (H - F) * G) {
                    EXPECT_FALSE(p.found) << "T / (H - F) >= C cannot fit";
                    EXPECT_NE(p.error.find("no number of VIPs can do"), std::string::npos) << p.error;
                    ++impossible;
                    continue;
                }
                ASSERT_TRUE(p.found) << p.error;
                ++plans;
                ++proofs[check_plan(in, p)];
                // Every smaller count was rejected, and for a reason that holds.
                EXPECT_EQ(p.rejected.size(), p.vips() - 1);
                for (const Candidate& c : p.rejected) {
                    uint32_t v = c.arrangement.vips;
                    Verdict want = v < H ? Verdict::too_few : v % H ? Verdict::uneven : Verdict::over_link;
                    EXPECT_EQ(c.verdict, want) << v << " VIPs";
                }
            }
        }
    }
    std::cout << plans << " plans checked, " << impossible << " impossible inputs refused; minimality by";
    for (const auto& [how, n] : proofs) std::cout << " " << how << ": " << n;
    std::cout << "\n";
    EXPECT_GT(plans, 60);
    EXPECT_EQ(proofs.count("search"), 0u) << "some plan's minimality rests on the planner's search alone";
}

TEST(VrrpPlanner, ExhaustiveJudgeAgreesOnTheExample) {
    // 3 VIPs cannot do for 3 hosts, 1 failure, 1.5 / 1 Gbit/s; 6 can.
    EXPECT_EQ(exhaustive_fits(3, 1, 3, 15 * G / 10, G, 1e6), 0);
    EXPECT_EQ(exhaustive_fits(3, 1, 6, 15 * G / 10, G, 1e6), 1);
}

TEST(VrrpPlanner, RefusesBadInput) {
    EXPECT_FALSE(plan(input(0, 0, G, G)).found);
    EXPECT_FALSE(plan(input(17, 0, G, G)).found);
    EXPECT_FALSE(plan(input(3, 3, G, G)).found);
    EXPECT_FALSE(plan(input(3, 1, 0, G)).found);
    Plan huge = plan(input(16, 15, G / 2, G));
    EXPECT_FALSE(huge.found);
    EXPECT_EQ(huge.error, "65535 failure cases to check (every set of up to 15 of 16 hosts): more than 4096 is "
                          "beyond this planner");
    Plan p = plan(input(3, 2, 15 * G / 10, G));
    EXPECT_FALSE(p.found);
    EXPECT_EQ(p.error, "no number of VIPs can do: after 2 failure(s) the 1 surviving link(s) share 1.5 Gbit/s, "
                       "at least 1.5 Gbit/s each, not below 1 Gbit/s");
    EXPECT_NE(plan_text(p).find("No plan: "), std::string::npos);
    EXPECT_NE(plan_json(p).find("\"found\":false,\"error\":"), std::string::npos);
    PlanInput named = input(2, 1, G / 2, G);
    named.host_names = {"a"};
    EXPECT_FALSE(plan(named).found);
    named.host_names = {"lb-a", "lb-b"};
    Plan q = plan(named);
    ASSERT_TRUE(q.found);
    EXPECT_NE(plan_text(q).find("lb-a > lb-b"), std::string::npos) << plan_text(q);
}

TEST(VrrpPlanner, ParseAndFormatRates) {
    EXPECT_EQ(parse_rate("1.5Gbit"), 1500000000u);
    EXPECT_EQ(parse_rate("1Gbit"), 1000000000u);
    EXPECT_EQ(parse_rate("1.5 Gbit/s"), 1500000000u);
    EXPECT_EQ(parse_rate("100Mbit"), 100000000u);
    EXPECT_EQ(parse_rate("800mbps"), 800000000u);
    EXPECT_EQ(parse_rate("10G"), 10000000000u);
    EXPECT_EQ(parse_rate("2.5kbit"), 2500u);
    EXPECT_EQ(parse_rate("1e9"), 1000000000u);
    EXPECT_EQ(parse_rate("40Tbit"), 40000000000000u);
    EXPECT_EQ(parse_rate("1GB"), std::nullopt) << "bytes are refused";
    EXPECT_EQ(parse_rate("fast"), std::nullopt);
    EXPECT_EQ(parse_rate(""), std::nullopt);
    EXPECT_EQ(parse_rate("-1G"), std::nullopt);
    EXPECT_EQ(format_rate(1.5e9), "1.5 Gbit/s");
    EXPECT_EQ(format_rate(750e6), "750 Mbit/s");
    EXPECT_EQ(format_rate(1e9 / 3), "333 Mbit/s");
    EXPECT_EQ(format_rate(999), "999 bit/s");
}

TEST(VrrpPlanner, PriorityForRank) {
    EXPECT_EQ(priority_for_rank(0), 250);
    EXPECT_EQ(priority_for_rank(1), 240);
    EXPECT_EQ(priority_for_rank(15), 100);
}

// The per-host YAML, completed with a port and a service per VIP, loads as a dplb configuration and
// says what the plan says.
TEST(VrrpPlanner, EmittedYamlLoadsAsConfiguration) {
    Plan p = plan(input(3, 1, 15 * G / 10, G));
    ASSERT_TRUE(p.found);
    EmitOptions opt;
    opt.vrid_base = 51;
    opt.auth_pass = "s3cret";
    EmittedConfigs e = plan_yaml(p, opt);
    ASSERT_EQ(e.error, "");
    ASSERT_EQ(e.files.size(), 3u);
    std::string services = "services:\n";
    for (uint32_t v = 0; v < 6; ++v)
        services += "  - vip: 192.0.2." + std::to_string(v + 1) + "\n    port: 80\n    protocol: tcp\n"
                    "    real_servers:\n      - ip: 10.0.0.11\n";
    for (uint32_t h = 0; h < 3; ++h) {
        EXPECT_EQ(e.files[h].first, "host" + std::to_string(h + 1) + ".yaml");
        std::string text = "ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [192.0.2.200/24]\n" +
                           services + e.files[h].second;
        config::Config cfg = config::load_config_string(text, e.files[h].first);
        ASSERT_EQ(cfg.vrrp_instances.size(), 6u);
        for (uint32_t v = 0; v < 6; ++v) {
            const config::VrrpInstance& vi = cfg.vrrp_instances[v];
            const auto& order = p.chosen.arrangement.order[v];
            uint32_t rank = static_cast<uint32_t>(std::find(order.begin(), order.end(), h) - order.begin());
            EXPECT_EQ(vi.priority, priority_for_rank(rank));
            EXPECT_EQ(vi.state, rank == 0 ? config::VrrpState::master : config::VrrpState::backup);
            EXPECT_EQ(vi.virtual_router_id, 51 + v);
            EXPECT_TRUE(vi.preempt);
            EXPECT_EQ(vi.auth_pass, "s3cret");
        }
    }
    opt.vrid_base = 251;
    EXPECT_NE(plan_yaml(p, opt).error, "");
    opt.vrid_base = 1;
    opt.vips = {*IpAddr::parse("10.0.0.1")};
    EXPECT_NE(plan_yaml(p, opt).error, "");
}

}  // namespace
}  // namespace dplb::vrrp
