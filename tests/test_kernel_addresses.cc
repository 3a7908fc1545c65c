// Kernel addresses of a VRRP-only site (controlplane/kernel_addresses.h): the rtnetlink requests
// field by field, and, in a network namespace of the test's own (skipped without one), adding,
// replacing and removing addresses on a veth, and the clean-up of what an earlier run left.
#include <gtest/gtest.h>
#include <linux/if_addr.h>
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

#include "kernel_addresses.h"
#include "netlink_request.h"

namespace dplb {
namespace {

using Parsed = ParsedRequest<ifaddrmsg>;
Parsed parse(const std::vector<uint8_t>& req) { return parse_request<ifaddrmsg>(req); }

KernelEntry entry(const std::string& ifname, const char* ip, uint8_t len, const std::string& label = "",
                  uint8_t scope = 0) {
    return KernelEntry{ifname, config::KernelAddress{*IpAddr::parse(ip), len, label, scope}};
}

TEST(KernelAddresses, AddRequestIPv4) {
    Parsed p = parse(add_address_request(entry("eth0", "192.0.2.10", 24, "web", 254), 7, 42));
    EXPECT_EQ(p.nh.nlmsg_type, RTM_NEWADDR);
    EXPECT_EQ(p.nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
    EXPECT_EQ(p.nh.nlmsg_seq, 42u);
    EXPECT_EQ(p.fixed.ifa_family, AF_INET);
    EXPECT_EQ(p.fixed.ifa_prefixlen, 24);
    EXPECT_EQ(p.fixed.ifa_scope, 254);
    EXPECT_EQ(p.fixed.ifa_index, 7u);
    const std::vector<uint8_t> addr{192, 0, 2, 10};
    EXPECT_EQ(p.attrs[IFA_LOCAL], addr);
    EXPECT_EQ(p.attrs[IFA_ADDRESS], addr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.attrs[IFA_LABEL].data())), "eth0:web");
    EXPECT_EQ(p.attrs[IFA_PROTO], std::vector<uint8_t>{kAddressProto});
    uint32_t flags = 1;
    ASSERT_EQ(p.attrs[IFA_FLAGS].size(), sizeof flags);
    std::memcpy(&flags, p.attrs[IFA_FLAGS].data(), sizeof flags);
    EXPECT_EQ(flags, 0u);
}

TEST(KernelAddresses, AddRequestIPv6HasNoDadNoLabelNoScope) {
    Parsed p = parse(add_address_request(entry("eth0", "2001:db8::10", 64, "web", 254), 3, 1));
    EXPECT_EQ(p.fixed.ifa_family, AF_INET6);
    EXPECT_EQ(p.fixed.ifa_prefixlen, 64);
    EXPECT_EQ(p.fixed.ifa_scope, 0);
    EXPECT_EQ(p.attrs.count(IFA_LABEL), 0u);
    EXPECT_EQ(p.attrs[IFA_LOCAL].size(), 16u);
    uint32_t flags = 0;
    ASSERT_EQ(p.attrs[IFA_FLAGS].size(), sizeof flags);
    std::memcpy(&flags, p.attrs[IFA_FLAGS].data(), sizeof flags);
    EXPECT_EQ(flags, static_cast<uint32_t>(IFA_F_NODAD));
}

TEST(KernelAddresses, DelRequestAndLabels) {
    Parsed p = parse(del_address_request(entry("eth0", "192.0.2.10", 24, "web"), 7, 9));
    EXPECT_EQ(p.nh.nlmsg_type, RTM_DELADDR);
    EXPECT_EQ(p.nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(p.fixed.ifa_prefixlen, 24);
    EXPECT_EQ(p.attrs.count(IFA_LABEL), 0u);
    // An interface name holds 15 characters: the label is cut there.
    EXPECT_EQ(kernel_label(entry("dplb-frontend01", "192.0.2.10", 32, "web")), "dplb-frontend01");
    EXPECT_EQ(kernel_label(entry("dplb-lan0", "192.0.2.10", 32, "web")), "dplb-lan0:web");
    EXPECT_EQ(kernel_label(entry("dplb-lan0", "192.0.2.10", 32)), "");
    EXPECT_EQ(describe(entry("eth0", "192.0.2.10", 24, "web", 254)), "192.0.2.10/24 dev eth0 label eth0:web scope host");
}

// `ip -o address show dev IF` in the calling thread's namespace.
std::string ip_addr_show(const std::string& ifname) { return command_output("ip -o address show dev " + ifname); }

TEST(KernelAddresses, OnAVethInANamespaceOfItsOwn) {
    std::string skip;
    std::vector<std::string> failures;
    std::vector<std::string> logged;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            skip = std::string("no network namespace of our own: ") + std::strerror(errno);
            return;
        }
        // The namespace goes with this thread; children and the threads it starts share it.
        if (std::system("ip link add dplbk0 type veth peer name dplbk1 >/dev/null 2>&1 && "
                        "ip link set dplbk0 up && ip address add 198.51.100.2/24 dev dplbk0") != 0) {
            skip = "ip(8) or veth missing";
            return;
        }
        auto expect = [&](bool ok, const std::string& what) {
            if (!ok) failures.push_back(what + "\n" + ip_addr_show("dplbk0"));
        };
        auto has = [&](const std::string& s) { return ip_addr_show("dplbk0").find(s) != std::string::npos; };
        {
            KernelAddresses k([&](bool error, const std::string& m) {
                if (error) logged.push_back(m);
            });
            k.set({entry("dplbk0", "198.51.100.10", 24, "web"), entry("dplbk0", "2001:db8::10", 64)});
            k.flush();
            expect(has("inet 198.51.100.10/24 scope global secondary dplbk0:web"), "IPv4 added with its label");
            expect(has("inet6 2001:db8::10/64 scope global"), "IPv6 added");
            expect(!has("tentative"), "IPv6 without duplicate address detection");
            // A new label, scope and length for the same address: the old form goes, the new one
            // comes. (Linux refuses a secondary address whose scope differs from its subnet's primary.)
            k.set({entry("dplbk0", "198.51.100.10", 32, "api", 253)});
            k.flush();
            expect(has("inet 198.51.100.10/32 scope link dplbk0:api"), "relabelled, scope link");
            expect(!has("198.51.100.10/24"), "the old form is gone");
            expect(!has("2001:db8::10"), "IPv6 removed");
            k.set({});
            k.flush();
            expect(!has("198.51.100.10"), "IPv4 removed");
            expect(has("198.51.100.2/24"), "the interface's own address stays");
            // What a killed dplbd would leave: an address of ours that nobody removes.
            k.set({entry("dplbk0", "198.51.100.20", 32)});
            k.flush();
        }
        expect(has("198.51.100.20/32"), "left behind by a run that ended without removing it");
        expect(std::system("ip address add 198.51.100.30/32 dev dplbk0") == 0, "ip address add");  // not ours
        KernelAddresses next([&](bool error, const std::string& m) {
            if (error) logged.push_back(m);
        });
        next.clean({"dplbk0", "", "nosuchif"});
        next.flush();
        expect(!has("198.51.100.20"), "the next run's clean-up removed our leftover");
        expect(has("198.51.100.30/32"), "an address someone else added stays");
        expect(has("198.51.100.2/24"), "the interface's own address stays");
        // Removing what is gone already is no failure; an unknown interface is one.
        next.set({entry("dplbk0", "198.51.100.40", 32), entry("nosuchif", "198.51.100.41", 32)});
        next.flush();
        expect(std::system("ip address del 198.51.100.40/32 dev dplbk0") == 0, "ip address del");
        next.set({});
        next.flush();
    }).join();
    if (!skip.empty()) GTEST_SKIP() << skip;
    for (const auto& f : failures) ADD_FAILURE() << f;
    ASSERT_EQ(logged.size(), 2u) << ::testing::PrintToString(logged);
    EXPECT_EQ(logged[0], "kernel address: cannot add 198.51.100.41/32 dev nosuchif: no interface nosuchif");
    EXPECT_EQ(logged[1], "kernel address: cannot remove 198.51.100.41/32 dev nosuchif: no interface nosuchif");
}

}  // namespace
}  // namespace dplb
