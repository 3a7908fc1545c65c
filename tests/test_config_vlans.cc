// A port's 802.1Q vlans: the loader's `vlans` key and its errors, where a real's frames leave (port
// and tag, by subnet or `egress: PORT.VID`), the tag in the snapshot and in the ipvsadm table, and
// the kernel VLAN interfaces the exception path makes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config.h"
#include "config_errors.h"
#include "exception_path.h"
#include "ipvsadm/table.h"
#include "snapshot_builder.h"

namespace dplb::config {
namespace {

std::vector<std::string> errors_of(const std::string& text) { return config_errors(text, "v.yaml"); }

// front: no vlans. back: its own 10.36.0.0/24 untagged, VLAN 20 = 10.35.0.0/24, VLAN 21 = 10.37.0.0/24
// and 2001:db8:21::/64.
const char* const kPorts =
    "ports:\n"
    "  - name: front\n"
    "    device: net_af_packet0\n"
    "    addresses: [10.0.0.2/8]\n"
    "  - name: back\n"
    "    device: net_af_packet1\n"
    "    addresses: [10.36.0.2/24]\n"
    "    vlans:\n"
    "      - {id: 20, addresses: [10.35.0.2/24]}\n"
    "      - id: 21\n"
    "        addresses: [10.37.0.2/24, 2001:db8:21::2/64]\n";

std::string with_reals(const std::string& reals, const std::string& ports = kPorts) {
    return ports + "services:\n  - vip: 192.0.2.100\n    port: 80\n    protocol: tcp\n    real_servers:\n" + reals;
}

TEST(ConfigVlans, Read) {
    Config c = load_config_string(with_reals("      - {ip: 10.35.0.11}\n"), "v.yaml");
    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_TRUE(c.ports[0].vlans.empty());
    ASSERT_EQ(c.ports[1].vlans.size(), 2u);
    EXPECT_EQ(c.ports[1].vlans[0].id, 20);
    ASSERT_EQ(c.ports[1].vlans[0].addresses.size(), 1u);
    EXPECT_EQ(c.ports[1].vlans[0].addresses[0].ip, *IpAddr::parse("10.35.0.2"));
    EXPECT_EQ(c.ports[1].vlans[0].addresses[0].prefix_len, 24);
    EXPECT_EQ(c.ports[1].vlans[1].id, 21);
    ASSERT_EQ(c.ports[1].vlans[1].addresses.size(), 2u);
    EXPECT_EQ(c.ports[1].vlans[1].addresses[1].ip, *IpAddr::parse("2001:db8:21::2"));
    EXPECT_EQ(c.ports[1].vlans[1].addresses[1].prefix_len, 64);
}

// In a VLAN's subnet: that port, that tag (the longest prefix over every port: 10.35/24 of back beats
// front's 10/8). In a port's own subnet: untagged when it has vlans, as received when not. A named
// egress: PORT (untagged on a port with vlans) or PORT.VID.
TEST(ConfigVlans, EgressBySubnetOrName) {
    Config c = load_config_string(with_reals("      - {ip: 10.35.0.11}\n"
                                             "      - {ip: 10.37.0.11}\n"
                                             "      - {ip: 10.36.0.13}\n"
                                             "      - {ip: 10.9.0.1}\n"
                                             "      - {ip: 172.16.0.1}\n"
                                             "      - {ip: 10.35.0.12, egress: back.21}\n"
                                             "      - {ip: 10.35.0.14, egress: back}\n"
                                             "      - {ip: 10.36.0.15, egress: front}\n"),
                                  "v.yaml");
    const auto& r = c.services.at(0).reals;
    ASSERT_EQ(r.size(), 8u);
    const std::vector<std::pair<uint8_t, uint16_t>> want = {
        {1, 20}, {1, 21}, {1, kVlanUntagged}, {0, kVlanAsReceived}, {kIngressPort, kVlanAsReceived},
        {1, 21}, {1, kVlanUntagged}, {0, kVlanAsReceived},
    };
    for (size_t i = 0; i < r.size(); i++) {
        EXPECT_EQ(r[i].egress_port, want[i].first) << r[i].ip.str();
        EXPECT_EQ(r[i].egress_vlan, want[i].second) << r[i].ip.str();
    }
    EXPECT_EQ(r[5].egress, "back.21");
}

// A port whose whole name has a dot is named by it; PORT.VID needs the VID as the loader prints it.
TEST(ConfigVlans, EgressNamed) {
    std::vector<Port> ports(2);
    ports[0].name = "a";
    ports[0].vlans = {PortVlan{20, {}}};
    ports[1].name = "a.20";
    auto e = egress_named(ports, "a.20");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->port, 1);
    EXPECT_EQ(e->vlan, kVlanAsReceived);
    ports[1].name = "b";
    e = egress_named(ports, "a.20");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->port, 0);
    EXPECT_EQ(e->vlan, 20);
    EXPECT_FALSE(egress_named(ports, "a.020"));
    EXPECT_FALSE(egress_named(ports, "a.21"));
    EXPECT_FALSE(egress_named(ports, "b.20"));
    EXPECT_FALSE(egress_named(ports, "a."));
}

TEST(ConfigVlans, SubnetsOverlap) {
    auto sub = [](const char* ip, uint8_t len) { return PortAddress{*IpAddr::parse(ip), len}; };
    EXPECT_TRUE(subnets_overlap(sub("10.35.0.2", 24), sub("10.35.0.200", 24)));
    EXPECT_TRUE(subnets_overlap(sub("10.35.0.2", 24), sub("10.0.0.1", 8)));
    EXPECT_TRUE(subnets_overlap(sub("10.0.0.1", 8), sub("10.35.0.2", 24)));
    EXPECT_FALSE(subnets_overlap(sub("10.35.0.2", 24), sub("10.35.1.2", 24)));
    EXPECT_FALSE(subnets_overlap(sub("10.35.0.2", 25), sub("10.35.0.130", 25)));
    EXPECT_FALSE(subnets_overlap(sub("10.35.0.2", 24), sub("2001:db8::1", 0)));  // families differ
}

TEST(ConfigVlans, Errors) {
    auto port_with = [](const std::string& vlans) {
        return "ports:\n  - name: back\n    device: net_af_packet0\n    addresses: [10.36.0.2/24]\n    vlans:\n" +
               vlans;
    };
    const std::string one_real = "      - {ip: 10.36.0.11}\n";
    struct Case {
        std::string text;
        std::vector<std::string> errors;
    };
    const std::vector<Case> cases = {
        {with_reals(one_real, port_with("      - {id: 0}\n      - {id: 4095}\n      - {id: x}\n")),
         {"v.yaml:6:14: ports[0].vlans[0].id: expected integer 1..4094, got \"0\"",
          "v.yaml:7:14: ports[0].vlans[1].id: expected integer 1..4094, got \"4095\"",
          "v.yaml:8:14: ports[0].vlans[2].id: expected integer 1..4094, got \"x\""}},
        {with_reals(one_real, port_with("      - {id: 20}\n      - {id: 20, addresses: [10.35.0.2/24]}\n")),
         {"v.yaml:7:14: ports[0].vlans[1].id: duplicate VLAN id 20 on port \"back\", first at ports[0].vlans[0]"}},
        {with_reals(one_real, port_with("      - {id: 20, addresses: [10.36.0.3/25]}\n")),
         {"v.yaml:6:30: ports[0].vlans[0].addresses[0]: subnet 10.36.0.3/25 overlaps 10.36.0.2/24 at "
          "ports[0].addresses[0] (each subnet is one segment: a real in both could not be placed)"}},
        {with_reals(one_real, port_with("      - {id: 20, addresses: [10.35.0.2/24]}\n"
                                        "      - {id: 21, addresses: [10.34.0.2/24, 10.35.0.9/16]}\n")),
         {"v.yaml:7:44: ports[0].vlans[1].addresses[1]: subnet 10.35.0.9/16 overlaps 10.35.0.2/24 at "
          "ports[0].vlans[0].addresses[0] (each subnet is one segment: a real in both could not be placed)"}},
        {with_reals(one_real, port_with("      - {id: 20, addresses: [10.36.0.2/24]}\n")),
         {"v.yaml:6:30: ports[0].vlans[0].addresses[0]: duplicate address 10.36.0.2, first at ports[0].addresses[0]"}},
        {with_reals(one_real, port_with("      - {addresses: [10.35.0.2/24], tag: 3}\n      - 20\n")),
         {"v.yaml:6:9: ports[0].vlans[0].id: required key missing",
          "v.yaml:6:37: ports[0].vlans[0].tag: unknown key",
          "v.yaml:7:9: ports[0].vlans[1]: expected a map, got \"20\""}},
        {with_reals(one_real, port_with("      - {id: 20, addresses: [10.35.0.2]}\n")),
         {"v.yaml:6:30: ports[0].vlans[0].addresses[0]: expected an address with its prefix length like "
          "10.0.0.2/24 or 2001:db8::2/64, got \"10.35.0.2\""}},
        {with_reals(one_real, port_with("      []\n")), {"v.yaml:6:7: ports[0].vlans: expected at least one entry"}},
        {with_reals("      - {ip: 10.35.0.2}\n"),
         {"v.yaml:17:14: services[0].real_servers[0].ip: expected the real server's own address, got "
          "\"10.35.0.2\", the director's own address at ports[1].vlans[0].addresses[0]"}},
        {with_reals("      - {ip: 10.35.0.11, egress: back.30}\n      - {ip: 10.35.0.12, egress: front.20}\n"
                    "      - {ip: 10.35.0.13, egress: side}\n"),
         {"v.yaml:17:34: services[0].real_servers[0].egress: expected a VLAN of port \"back\" after the dot, got "
          "\"back.30\" (its vlans: 20, 21)",
          "v.yaml:18:34: services[0].real_servers[1].egress: expected a VLAN of port \"front\" after the dot, got "
          "\"front.20\" (the port has no vlans)",
          "v.yaml:19:34: services[0].real_servers[2].egress: expected one of the port names front, back, or PORT.VID "
          "for one of a port's vlans, got \"side\""}},
    };
    for (const Case& c : cases) EXPECT_EQ(errors_of(c.text), c.errors) << c.text;
}

// A VLAN id that could not be read leaves `egress: PORT.VID` of that port unchecked: one message, not two.
TEST(ConfigVlans, NoEgressErrorOnTopOfAVlanError) {
    const std::string text =
        "ports:\n  - name: back\n    device: net_af_packet0\n    vlans: [{id: 5000}]\n"
        "services:\n  - vip: 192.0.2.100\n    port: 80\n    protocol: tcp\n    real_servers:\n"
        "      - {ip: 10.35.0.11, egress: back.20}\n";
    EXPECT_EQ(errors_of(text),
              std::vector<std::string>{"v.yaml:4:18: ports[0].vlans[0].id: expected integer 1..4094, got \"5000\""});
}

TEST(ConfigVlans, FixedAtRunTime) {
    const Config a = load_config_string(with_reals("      - {ip: 10.35.0.11}\n"), "v.yaml");
    Config b = a;
    EXPECT_EQ(fixed_field_changes(a, b), std::vector<std::string>{});
    b.ports[1].vlans[1].addresses.pop_back();
    EXPECT_EQ(fixed_field_changes(a, b), std::vector<std::string>{"ports[1].vlans"});
    b = a;
    b.ports[1].vlans[0].id = 22;
    EXPECT_EQ(fixed_field_changes(a, b), std::vector<std::string>{"ports[1].vlans"});
    b = a;
    b.ports[0].vlans.push_back(PortVlan{20, {}});
    EXPECT_EQ(fixed_field_changes(a, b), std::vector<std::string>{"ports[0].vlans"});
}

// The tag reaches the workers in Dest::vlan.
TEST(ConfigVlans, SnapshotCarriesTheTag) {
    const Config c = load_config_string(with_reals("      - {ip: 10.35.0.11, mac: \"02:00:00:00:00:11\"}\n"
                                                   "      - {ip: 10.36.0.12, mac: \"02:00:00:00:00:12\"}\n"
                                                   "      - {ip: 10.0.0.13, mac: \"02:00:00:00:00:13\"}\n"),
                                        "v.yaml");
    BuildInput in;
    in.cfg = &c;
    const BuildResult r = build_snapshot(in);
    std::map<std::string, std::pair<uint8_t, uint16_t>> got;
    for (const Dest& d : r.snap.dests)
        if (d.in_use) got[d.ip.str()] = {d.egress, d.vlan};
    const std::map<std::string, std::pair<uint8_t, uint16_t>> want = {
        {"10.35.0.11", {1, 20}}, {"10.36.0.12", {1, kVlanUntagged}}, {"10.0.0.13", {0, kVlanAsReceived}}};
    EXPECT_EQ(got, want);
}

// A real added by `dplbctl ipvsadm -a` gets its port and VLAN as the loader's do.
TEST(ConfigVlans, IpvsadmNewRealByVlanSubnet) {
    Config c = load_config_string(with_reals("      - {ip: 10.36.0.11}\n"), "v.yaml");
    ipvsadm::Table t = ipvsadm::table_of(c);
    RealServer r;
    r.ip = *IpAddr::parse("10.37.0.12");
    r.port = 80;
    t.services[0].reals.push_back(r);
    ASSERT_EQ(ipvsadm::commit(t, c), "");
    ASSERT_EQ(c.services[0].reals.size(), 2u);
    EXPECT_EQ(c.services[0].reals[1].egress_port, 1);
    EXPECT_EQ(c.services[0].reals[1].egress_vlan, 21);
    EXPECT_EQ(c.services[0].reals[0].egress_vlan, kVlanUntagged);
}

}  // namespace
}  // namespace dplb::config

namespace dplb {
namespace {

TEST(ExceptionPathVlans, InterfaceNames) {
    EXPECT_EQ(exception_vlan_ifname("back", 20), "dplb-back.20");
    EXPECT_EQ(exception_vlan_ifname("backbone", 4094), "dplb-backb.4094");  // 15 characters
    EXPECT_EQ(exception_vlan_ifname("b", 7), "dplb-b.7");
}

TEST(ExceptionPathVlans, Commands) {
    config::Port p;
    p.name = "back";
    p.vlans = {config::PortVlan{20, {config::PortAddress{*IpAddr::parse("10.35.0.2"), 24},
                                     config::PortAddress{*IpAddr::parse("2001:db8:20::2"), 64}}},
               config::PortVlan{21, {}}};
    const std::vector<std::vector<std::string>> want = {
        {"link", "add", "link", "dplb-back", "name", "dplb-back.20", "type", "vlan", "id", "20"},
        {"addr", "replace", "10.35.0.2/24", "dev", "dplb-back.20"},
        {"addr", "replace", "2001:db8:20::2/64", "dev", "dplb-back.20"},
        {"link", "set", "dplb-back.20", "up"},
        {"link", "add", "link", "dplb-back", "name", "dplb-back.21", "type", "vlan", "id", "21"},
        {"link", "set", "dplb-back.21", "up"},
    };
    EXPECT_EQ(exception_vlan_commands(p), want);
    p.vlans.clear();
    EXPECT_TRUE(exception_vlan_commands(p).empty());
}

}  // namespace
}  // namespace dplb
