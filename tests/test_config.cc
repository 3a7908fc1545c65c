// The YAML loader (fields, defaults, every error message) and the Config -> Snapshot builder.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config.h"
#include "snapshot_builder.h"

#ifndef DPLB_SOURCE_ROOT
#define DPLB_SOURCE_ROOT "."
#endif

namespace dplb::config {
namespace {

const std::string kRoot = DPLB_SOURCE_ROOT;

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot read " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The messages for `text`, or an empty list when it loads.
std::vector<std::string> errors_of(const std::string& text, const std::string& name = "t.yaml") {
    try {
        load_config_string(text, name);
    } catch (const ConfigError& e) {
        return e.errors;
    }
    return {};
}

uint32_t ms(const Timeouts& t, TcpState s) { return t.ms[static_cast<uint8_t>(s)]; }

const char* const kPortsYaml = "ports:\n  - name: lan0\n    device: net_af_packet0\n";

// A file with one service whose body (indented 4) is `body`.
std::string one_service(const std::string& body) {
    return std::string(kPortsYaml) + "services:\n  - vip: 10.0.0.100\n" + body;
}

const char* const kOneReal = "    real_servers:\n      - ip: 10.0.0.11\n        mac: 02:00:00:00:00:11\n";

TEST(ConfigLoad, MinimalExample) {
    const std::string path = kRoot + "/config/examples/minimal.yaml";
    Config c = load_config_file(path);
    EXPECT_EQ(c.file, path);
    ASSERT_EQ(c.ports.size(), 1u);
    EXPECT_EQ(c.ports[0].name, "lan0");
    EXPECT_EQ(c.ports[0].device, "net_af_packet0");
    ASSERT_EQ(c.services.size(), 1u);
    const Service& s = c.services[0];
    EXPECT_EQ(s.name, "web");
    EXPECT_EQ(s.vip, *IpAddr::parse("10.10.0.100"));
    EXPECT_EQ(s.port, 80);
    EXPECT_EQ(s.proto, kProtoTcp);
    EXPECT_EQ(s.sched, Sched::rr);
    ASSERT_EQ(s.reals.size(), 2u);
    EXPECT_EQ(s.reals[0].ip, *IpAddr::parse("10.10.0.11"));
    EXPECT_EQ(s.reals[1].ip, *IpAddr::parse("10.10.0.12"));
    EXPECT_EQ(s.reals[0].mac, *MacAddr::parse("02:00:00:00:00:11"));
    EXPECT_EQ(s.reals[1].mac, *MacAddr::parse("02:00:00:00:00:12"));
    for (const RealServer& r : s.reals) {
        EXPECT_EQ(r.port, 80);
        EXPECT_EQ(r.weight, 1);
    }
}

TEST(ConfigLoad, DefaultsApplied) {
    Config c = load_config_string(one_service("    port: 0\n    protocol: udp\n" + std::string(kOneReal)), "d.yaml");
    EXPECT_EQ(c.file, "d.yaml");
    EXPECT_EQ(c.conn_table_ipv4, 262144u);
    EXPECT_EQ(c.conn_table_ipv6, 65536u);
    const Service& s = c.services.at(0);
    EXPECT_EQ(s.name, "");
    EXPECT_EQ(s.port, 0);
    EXPECT_EQ(s.proto, kProtoUdp);
    EXPECT_EQ(s.sched, Sched::wlc);
    EXPECT_EQ(s.persistence_timeout_s, 0u);
    EXPECT_TRUE(s.answer_arp);
    EXPECT_EQ(s.mh_table_size, 65537u);
    EXPECT_EQ(s.timeouts.ms, Timeouts::ipvs_defaults().ms);
    EXPECT_EQ(s.timeouts.ms[kTemplateState], 0u);
    EXPECT_EQ(s.reals.at(0).port, 0);  // the service's port, here "every port"
    EXPECT_EQ(s.reals.at(0).weight, 1);
}

TEST(ConfigLoad, TimeoutsOverride) {
    Config c = load_config_string(one_service("    port: 80\n    protocol: tcp\n    persistence_timeout: 300\n"
                                              "    timeouts:\n      established: 600\n      udp: 30\n"
                                              "      synack: 1\n" +
                                              std::string(kOneReal)),
                                  "t.yaml");
    const Service& s = c.services.at(0);
    const Timeouts d = Timeouts::ipvs_defaults();
    EXPECT_EQ(s.persistence_timeout_s, 300u);
    EXPECT_EQ(ms(s.timeouts, TcpState::established), 600000u);
    EXPECT_EQ(ms(s.timeouts, TcpState::synack), 1000u);
    EXPECT_EQ(s.timeouts.ms[kUdpState], 30000u);
    EXPECT_EQ(s.timeouts.ms[kTemplateState], 300000u);
    // Everything not named keeps IPVS's value.
    for (TcpState st : {TcpState::none, TcpState::syn_sent, TcpState::syn_recv, TcpState::fin_wait,
                        TcpState::time_wait, TcpState::close, TcpState::close_wait, TcpState::last_ack,
                        TcpState::listen})
        EXPECT_EQ(ms(s.timeouts, st), ms(d, st)) << state_name(static_cast<uint8_t>(st));
}

TEST(ConfigLoad, EveryKeyRead) {
    Config c = load_config_string(std::string(kPortsYaml) +
                                      "  - name: lan1\n    device: \"0000:03:00.1\"\n"
                                      "conn_table:\n  ipv4_entries: 1024\n  ipv6_entries: 134217728\n"
                                      "services:\n"
                                      "  - name: dns6\n    vip: 2001:db8::53\n    port: 53\n    protocol: udp\n"
                                      "    scheduler: sh\n    persistence_timeout: 86400\n    answer_arp: false\n"
                                      "    mh_table_size: 1048573\n"
                                      "    real_servers:\n"
                                      "      - ip: 2001:db8::11\n        port: \"5353\"\n        weight: 65535\n"
                                      "        mac: 02-AB-cd-00-00-11\n",
                                  "e.yaml");
    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_EQ(c.ports[1].device, "0000:03:00.1");
    EXPECT_EQ(c.conn_table_ipv4, 1024u);
    EXPECT_EQ(c.conn_table_ipv6, 134217728u);
    const Service& s = c.services.at(0);
    EXPECT_EQ(s.name, "dns6");
    EXPECT_EQ(s.vip, *IpAddr::parse("2001:db8::53"));
    EXPECT_EQ(s.proto, kProtoUdp);
    EXPECT_EQ(s.sched, Sched::sh);
    EXPECT_EQ(s.persistence_timeout_s, 86400u);
    EXPECT_EQ(s.timeouts.ms[kTemplateState], 86400000u);
    EXPECT_FALSE(s.answer_arp);
    EXPECT_EQ(s.mh_table_size, 1048573u);
    const RealServer& r = s.reals.at(0);
    EXPECT_EQ(r.ip, *IpAddr::parse("2001:db8::11"));
    EXPECT_EQ(r.port, 5353);
    EXPECT_EQ(r.weight, 65535);
    EXPECT_EQ(r.mac.str(), "02:ab:cd:00:00:11");
}

// The README's schema block is a full example; keep it loadable.
TEST(ConfigLoad, ReadmeExample) {
    const std::string md = read_text(kRoot + "/config/README.md");
    const std::string open = "```yaml\n";
    size_t begin = md.find(open);
    ASSERT_NE(begin, std::string::npos);
    begin += open.size();
    size_t end = md.find("```", begin);
    ASSERT_NE(end, std::string::npos);
    Config c = load_config_string(md.substr(begin, end - begin), "README.md");
    ASSERT_EQ(c.services.size(), 2u);
    EXPECT_EQ(c.services[0].timeouts.ms, Timeouts::ipvs_defaults().ms);
    EXPECT_EQ(c.services[1].reals.at(1).weight, 0);
}

TEST(ConfigErrors, GoldenBadFiles) {
    namespace fs = std::filesystem;
    const fs::path dir = kRoot + "/config/examples/bad";
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".yaml") continue;
        const std::string name = entry.path().filename().string();
        fs::path expected_path = entry.path();
        expected_path.replace_extension(".expected");
        ASSERT_TRUE(fs::exists(expected_path)) << name << " has no .expected";
        std::string expected = read_text(expected_path.string());
        while (!expected.empty() && expected.back() == '\n') expected.pop_back();
        try {
            load_config_string(read_text(entry.path().string()), name);
            ADD_FAILURE() << name << " loaded without errors";
        } catch (const ConfigError& e) {
            EXPECT_EQ(e.what(), expected) << "in " << name;
        }
        checked++;
    }
    EXPECT_GE(checked, 10);
}

TEST(ConfigErrors, WhatJoinsAllErrors) {
    try {
        load_config_string("ports: 1\nservices: 2\n", "j.yaml");
        FAIL() << "loaded";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.errors.size(), 2u);
        EXPECT_EQ(e.errors[0], "j.yaml:1:8: ports: expected a list, got \"1\"");
        EXPECT_EQ(e.errors[1], "j.yaml:2:11: services: expected a list, got \"2\"");
        EXPECT_EQ(std::string(e.what()), e.errors[0] + "\n" + e.errors[1]);
    }
}

TEST(ConfigErrors, UnreadableFile) {
    try {
        load_config_file("/nonexistent/dplb.yaml");
        FAIL() << "loaded";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/dplb.yaml: cannot open: No such file or directory");
    }
}

TEST(ConfigErrors, IntegersArePlainDecimal) {
    for (const char* bad : {"1.5", "-1", "+1", "0x10", "1e3", "08", "ten", "\"\"", "~", "[1]", "{a: 1}"}) {
        auto errs = errors_of(one_service(std::string("    port: ") + bad + "\n    protocol: tcp\n" + kOneReal));
        ASSERT_EQ(errs.size(), 1u) << bad;
        EXPECT_NE(errs[0].find("services[0].port: expected integer 0..65535, got "), std::string::npos) << errs[0];
    }
    for (const char* good : {"0", "65535", "\"80\""})
        EXPECT_TRUE(errors_of(one_service(std::string("    port: ") + good + "\n    protocol: tcp\n" + kOneReal))
                        .empty())
            << good;
}

TEST(ConfigErrors, ServiceLimit) {
    std::string text = kPortsYaml + std::string("services:\n");
    for (int i = 0; i < 257; i++)
        text += "  - vip: 10.0.1." + std::to_string(i % 256) + "\n    port: " + std::to_string(i / 256 + 1) +
                "\n    protocol: tcp\n" + kOneReal;
    auto errs = errors_of(text, "s.yaml");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0], "s.yaml:5:3: services: at most 256 services, got 257");
}

TEST(ConfigErrors, RealServerLimit) {
    std::string text = kPortsYaml + std::string("services:\n");
    for (int s = 0; s < 2; s++) {
        text += "  - vip: 10.0.0." + std::to_string(s + 1) + "\n    port: 80\n    protocol: tcp\n    real_servers:\n";
        for (int r = 0; r < 2049; r++)
            text += "      - ip: 10.1." + std::to_string(r / 256) + "." + std::to_string(r % 256) +
                    "\n        mac: 02:00:00:00:00:01\n";
    }
    auto errs = errors_of(text, "r.yaml");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0], "r.yaml:5:3: services: at most 4096 real servers over all services, got 4098");
}

TEST(ConfigErrors, SameEndpointDifferentProtocolOrPortIsFine) {
    std::string text = kPortsYaml + std::string("services:\n");
    for (const char* sp : {"80\n    protocol: tcp\n", "80\n    protocol: udp\n", "0\n    protocol: tcp\n"})
        text += "  - vip: 10.0.0.100\n    port: " + std::string(sp) +
                "    real_servers:\n      - ip: 10.0.0.11\n        mac: 02:00:00:00:00:11\n"
                "      - ip: 10.0.0.11\n        port: 8080\n        mac: 02:00:00:00:00:11\n";
    EXPECT_EQ(errors_of(text), std::vector<std::string>{});
}

TEST(ConfigPrime, IsPrimeAndNextPrime) {
    for (uint32_t p : {2u, 3u, 251u, 65537u, 1048573u}) EXPECT_TRUE(is_prime(p)) << p;
    for (uint32_t n : {0u, 1u, 4u, 255u, 65536u, 1048575u}) EXPECT_FALSE(is_prime(n)) << n;
    EXPECT_EQ(next_prime(65536), 65537u);
    EXPECT_EQ(next_prime(251), 251u);
    EXPECT_EQ(next_prime(1048572), 1048573u);
}

// ---- build_snapshot ----

Config two_services() {
    return load_config_string(std::string(kPortsYaml) +
                                  "services:\n"
                                  "  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n    scheduler: wrr\n"
                                  "    persistence_timeout: 60\n    mh_table_size: 251\n"
                                  "    timeouts:\n      established: 100\n"
                                  "    real_servers:\n"
                                  "      - ip: 10.0.0.11\n        weight: 3\n        mac: 02:00:00:00:00:11\n"
                                  "      - ip: 10.0.0.12\n        weight: 0\n        mac: 02:00:00:00:00:12\n"
                                  "      - ip: 10.0.0.13\n        port: 8080\n        mac: 02:00:00:00:00:13\n"
                                  "  - vip: 10.0.0.101\n    port: 53\n    protocol: udp\n    answer_arp: false\n"
                                  "    mh_table_size: 257\n"
                                  "    real_servers:\n"
                                  "      - ip: 10.0.0.21\n        weight: 0\n        mac: 02:00:00:00:00:21\n"
                                  "      - ip: 10.0.0.22\n        weight: 0\n        mac: 02:00:00:00:00:22\n",
                              "two.yaml");
}

TEST(SnapshotBuilder, IdsAndDests) {
    const Config c = two_services();
    const Snapshot snap = build_snapshot(c);
    ASSERT_EQ(snap.services.size(), 2u);
    ASSERT_EQ(snap.dests.size(), 5u);

    const dplb::Service& a = snap.services[0];
    EXPECT_EQ(a.id, 0);
    EXPECT_EQ(a.vip, *IpAddr::parse("10.0.0.100"));
    EXPECT_EQ(a.port, 80);
    EXPECT_EQ(a.proto, kProtoTcp);
    EXPECT_EQ(a.sched, Sched::wrr);
    EXPECT_EQ(a.persistence_ms, 60000u);
    EXPECT_EQ(ms(a.timeouts, TcpState::established), 100000u);
    EXPECT_EQ(a.timeouts.ms[kTemplateState], 60000u);
    EXPECT_TRUE(a.answer_arp);
    EXPECT_TRUE(a.active);
    EXPECT_EQ(a.dests, (std::vector<uint16_t>{0, 1, 2}));

    const dplb::Service& b = snap.services[1];
    EXPECT_EQ(b.id, 1);
    EXPECT_EQ(b.proto, kProtoUdp);
    EXPECT_EQ(b.sched, Sched::wlc);
    EXPECT_EQ(b.persistence_ms, 0u);
    EXPECT_FALSE(b.answer_arp);
    EXPECT_TRUE(b.active);
    EXPECT_EQ(b.dests, (std::vector<uint16_t>{3, 4}));

    for (size_t id = 0; id < snap.dests.size(); id++) {
        const Dest& d = snap.dests[id];
        const RealServer& r = id < 3 ? c.services[0].reals[id] : c.services[1].reals[id - 3];
        EXPECT_EQ(d.svc, id < 3 ? 0 : 1) << id;
        EXPECT_TRUE(d.in_use) << id;
        EXPECT_TRUE(d.has_mac) << id;
        EXPECT_EQ(d.ip, r.ip) << id;
        EXPECT_EQ(d.port, r.port) << id;
        EXPECT_EQ(d.weight, r.weight) << id;
        EXPECT_EQ(d.mac, r.mac) << id;
    }
    EXPECT_EQ(snap.dests[2].port, 8080);
    EXPECT_EQ(snap.dests[1].weight, 0);

    EXPECT_EQ(snap.find_service4(a.vip.v4_be(), 80, kProtoTcp), &snap.services[0]);
    EXPECT_EQ(snap.find_service4(b.vip.v4_be(), 53, kProtoUdp), &snap.services[1]);
    EXPECT_EQ(snap.find_service4(b.vip.v4_be(), 53, kProtoTcp), nullptr);
}

TEST(SnapshotBuilder, SchedTablesBuilt) {
    const Snapshot snap = build_snapshot(two_services());
    const dplb::Service& a = snap.services[0];
    // The configured size, filled with this service's weighted reals only.
    ASSERT_EQ(a.tables.mh.size(), 251u);
    for (uint16_t id : a.tables.mh) EXPECT_TRUE(id == 0 || id == 2) << id;
    EXPECT_NE(std::find(a.tables.mh.begin(), a.tables.mh.end(), 0), a.tables.mh.end());
    EXPECT_NE(std::find(a.tables.mh.begin(), a.tables.mh.end(), 2), a.tables.mh.end());
    // wrr with weights 3:0:1 gives a cycle of 3 and 1.
    EXPECT_EQ(std::count(a.tables.wrr_seq.begin(), a.tables.wrr_seq.end(), 0), 3);
    EXPECT_EQ(std::count(a.tables.wrr_seq.begin(), a.tables.wrr_seq.end(), 2), 1);
    EXPECT_EQ(a.tables.wrr_seq.size(), 4u);
    for (uint16_t id : a.tables.sh) EXPECT_TRUE(id == 0 || id == 2) << id;
    EXPECT_FALSE(a.tables.sh.empty());
    // No real with weight: nothing to hash to.
    const dplb::Service& b = snap.services[1];
    EXPECT_TRUE(b.tables.mh.empty());
    EXPECT_TRUE(b.tables.sh.empty());
}

TEST(SnapshotBuilder, RejectsMoreRealsThanIds) {
    Config c;
    c.services.resize(1);
    c.services[0].reals.resize(kMaxDests + 1);
    EXPECT_THROW(build_snapshot(c), std::invalid_argument);
    c.services[0].reals.resize(1);
    c.services.resize(kMaxServices + 1);
    EXPECT_THROW(build_snapshot(c), std::invalid_argument);
}

}  // namespace
}  // namespace dplb::config
