// Announced VIPs as kernel routes (controlplane/kernel_routes.h): the rtnetlink requests field by
// field, and, in a network namespace of the test's own (skipped without one), adding and removing
// routes in table 201 and a large table id, the clean-up of what an earlier run left, and that
// routes of other protocols or tables stay.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kernel_routes.h"
#include "netlink_request.h"

namespace dplb {
namespace {

using Parsed = ParsedRequest<rtmsg>;
Parsed parse(const std::vector<uint8_t>& req) { return parse_request<rtmsg>(req); }

TEST(KernelRoutes, AddRequestIPv4) {
    Parsed p = parse(vip_route_request(true, *IpAddr::parse("10.0.0.10"), 201, 201, 7));
    EXPECT_EQ(p.nh.nlmsg_type, RTM_NEWROUTE);
    EXPECT_EQ(p.nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
    EXPECT_EQ(p.nh.nlmsg_seq, 7u);
    EXPECT_EQ(p.fixed.rtm_family, AF_INET);
    EXPECT_EQ(p.fixed.rtm_dst_len, 32);
    EXPECT_EQ(p.fixed.rtm_table, 201);
    EXPECT_EQ(p.fixed.rtm_protocol, 201);
    EXPECT_EQ(p.fixed.rtm_type, RTN_BLACKHOLE);
    EXPECT_EQ(p.fixed.rtm_scope, RT_SCOPE_UNIVERSE);
    EXPECT_EQ(p.attrs[RTA_DST], (std::vector<uint8_t>{10, 0, 0, 10}));
    EXPECT_EQ(p.attrs[RTA_TABLE], (std::vector<uint8_t>{201, 0, 0, 0}));  // host order (x86: little-endian)
}

TEST(KernelRoutes, DelRequestIPv6LargeTable) {
    Parsed p = parse(vip_route_request(false, *IpAddr::parse("2001:db8::10"), 100000, 99, 8));
    EXPECT_EQ(p.nh.nlmsg_type, RTM_DELROUTE);
    EXPECT_EQ(p.nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(p.fixed.rtm_family, AF_INET6);
    EXPECT_EQ(p.fixed.rtm_dst_len, 128);
    EXPECT_EQ(p.fixed.rtm_table, RT_TABLE_UNSPEC);  // only RTA_TABLE holds an id past 255
    EXPECT_EQ(p.fixed.rtm_protocol, 99);
    ASSERT_EQ(p.attrs[RTA_TABLE].size(), 4u);
    uint32_t table;
    std::memcpy(&table, p.attrs[RTA_TABLE].data(), 4);
    EXPECT_EQ(table, 100000u);
    EXPECT_EQ(p.attrs[RTA_DST].size(), 16u);
    EXPECT_EQ(describe_vip_route(*IpAddr::parse("2001:db8::10"), 100000, 99),
              "blackhole 2001:db8::10/128 table 100000 proto 99");
}

std::string run(const std::string& cmd) { return command_output(cmd); }

TEST(KernelRoutes, InANamespaceOfItsOwn) {
    std::string skip;
    std::vector<std::string> failures, errors, changes;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            skip = std::string("no network namespace of our own: ") + std::strerror(errno);
            return;
        }
        if (std::system("ip link set lo up >/dev/null 2>&1") != 0) {
            skip = "ip(8) missing";
            return;
        }
        auto table = [](const char* t) { return run(std::string("ip route show table ") + t + " proto 201; ip -6 route show table " + t + " proto 201"); };
        auto expect = [&](bool ok, const std::string& what, const std::string& shown) {
            if (!ok) failures.push_back(what + "\n" + shown);
        };
        auto log = [&](bool error, const std::string& m) { (error ? errors : changes).push_back(m); };
        const IpAddr v4 = *IpAddr::parse("10.0.0.10"), v6 = *IpAddr::parse("2001:db8::10");
        {
            KernelRoutes k(201, 201, log);
            k.set(v4, true);
            k.set(v6, true);
            k.set(v4, true);  // no change: nothing queued
            k.flush();
            std::string t = table("201");
            expect(t.find("blackhole 10.0.0.10") != std::string::npos, "IPv4 route added", t);
            expect(t.find("blackhole 2001:db8::10") != std::string::npos, "IPv6 route added", t);
            k.set(v6, false);
            k.flush();
            t = table("201");
            expect(t.find("2001:db8::10") == std::string::npos, "IPv6 route removed", t);
            // Someone removed it meanwhile: removing it is no failure.
            expect(std::system("ip route del blackhole 10.0.0.10/32 table 201 proto 201") == 0, "ip route del", "");
            k.set(v4, false);
            k.flush();
            // What a killed dplbd would leave.
            k.set(*IpAddr::parse("10.0.0.11"), true);
            k.set(*IpAddr::parse("2001:db8::11"), true);
            k.flush();
        }
        std::string t = table("201");
        expect(t.find("10.0.0.11") != std::string::npos, "left behind by a run that ended without removing it", t);
        // Not ours: another protocol in our table, our protocol in another table.
        expect(std::system("ip route add blackhole 10.0.0.12/32 table 201 proto 202 && "
                           "ip route add blackhole 10.0.0.13/32 table 202 proto 201") == 0,
               "ip route add", "");
        {
            KernelRoutes next(201, 201, log);
            next.clean();
            next.flush();
        }
        t = table("201");
        expect(t.find("10.0.0.11") == std::string::npos && t.find("2001:db8::11") == std::string::npos,
               "the next run's clean-up removed our leftovers", t);
        std::string other = run("ip route show table 201; ip route show table 202");
        expect(other.find("10.0.0.12 proto 202") != std::string::npos, "another protocol's route stays", other);
        expect(other.find("10.0.0.13 proto 201") != std::string::npos, "another table's route stays", other);
        {
            KernelRoutes big(100000, 201, log);  // a table id past 255
            big.set(v4, true);
            big.flush();
            t = run("ip route show table 100000");
            expect(t.find("blackhole 10.0.0.10 proto 201") != std::string::npos, "route in table 100000", t);
            big.set(v4, false);
            big.flush();
            expect(run("ip route show table 100000").empty(), "removed from table 100000", "");
        }
    }).join();
    if (!skip.empty()) GTEST_SKIP() << skip;
    for (const auto& f : failures) ADD_FAILURE() << f;
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
    EXPECT_EQ(changes,
              (std::vector<std::string>{
                  "announce: added blackhole 10.0.0.10/32 table 201 proto 201",
                  "announce: added blackhole 2001:db8::10/128 table 201 proto 201",
                  "announce: removed blackhole 2001:db8::10/128 table 201 proto 201",
                  "announce: removed blackhole 10.0.0.10/32 table 201 proto 201",
                  "announce: added blackhole 10.0.0.11/32 table 201 proto 201",
                  "announce: added blackhole 2001:db8::11/128 table 201 proto 201",
                  "announce: removed 10.0.0.11/32 table 201, left from before",
                  "announce: removed 2001:db8::11/128 table 201, left from before",
                  "announce: added blackhole 10.0.0.10/32 table 100000 proto 201",
                  "announce: removed blackhole 10.0.0.10/32 table 100000 proto 201",
              }));
}

}  // namespace
}  // namespace dplb
