// The YAML loader (fields, defaults, every error message) and the Config -> Snapshot builder.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config.h"
#include "deadline.h"
#include "snapshot_builder.h"
#include "text.h"

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

// Which port frames to a real leave by: the port `egress` names, else the one whose subnet holds
// the real (the longest prefix), else the port each frame came in on.
TEST(ConfigLoad, EgressByNameOrSubnet) {
    Config c = load_config_string(
        "ports:\n"
        "  - {name: front, device: net_af_packet0, addresses: [192.0.2.2/24]}\n"
        "  - {name: back, device: net_af_packet1, addresses: [10.1.0.2/16, 2001:db8:1::2/64]}\n"
        "  - {name: rack5, device: net_af_packet2, addresses: [10.1.5.2/24]}\n"
        "services:\n"
        "  - vip: 192.0.2.100\n    port: 80\n    protocol: tcp\n    real_servers:\n"
        "      - {ip: 10.1.6.9}\n      - {ip: 10.1.5.9}\n      - {ip: 192.0.2.11}\n      - {ip: 172.16.0.1}\n"
        "      - {ip: 10.1.6.10, egress: front}\n"
        "  - vip: 2001:db8::100\n    port: 80\n    protocol: tcp\n    real_servers:\n"
        "      - {ip: 2001:db8:1::11}\n      - {ip: 2001:db8:2::11}\n",
        "e.yaml");
    const auto& r = c.services[0].reals;
    EXPECT_EQ(r[0].egress_port, 1);             // 10.1.0.0/16
    EXPECT_EQ(r[1].egress_port, 2);             // 10.1.5.0/24 over 10.1.0.0/16
    EXPECT_EQ(r[2].egress_port, 0);             // the front subnet
    EXPECT_EQ(r[3].egress_port, kIngressPort);  // no port's subnet
    EXPECT_EQ(r[4].egress_port, 0);             // named
    EXPECT_EQ(r[4].egress, "front");
    EXPECT_EQ(c.services[1].reals[0].egress_port, 1);
    EXPECT_EQ(c.services[1].reals[1].egress_port, kIngressPort);
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
                                      "      - ip: 2001:db8::11\n        port: \"53\"\n        weight: 65535\n"
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
    EXPECT_EQ(r.port, 53);
    EXPECT_EQ(r.weight, 65535);
    EXPECT_EQ(r.mac.str(), "02:ab:cd:00:00:11");
}

// Every ```yaml block of the README, in order.
std::vector<std::string> readme_yaml_blocks() {
    const std::string md = read_text(kRoot + "/config/README.md");
    const std::string open = "```yaml\n";
    std::vector<std::string> blocks;
    for (size_t begin = md.find(open); begin != std::string::npos; begin = md.find(open, begin)) {
        begin += open.size();
        size_t end = md.find("```", begin);
        if (end == std::string::npos) break;
        blocks.push_back(md.substr(begin, end - begin));
        begin = end + 3;
    }
    return blocks;
}

// The README's schema block is a full example of every key; keep it loadable and keep it saying
// what the loader does.
TEST(ConfigLoad, ReadmeSchemaExample) {
    const std::vector<std::string> blocks = readme_yaml_blocks();
    ASSERT_FALSE(blocks.empty());
    Config c = load_config_string(blocks[0], "README.md");
    ASSERT_EQ(c.ports.size(), 1u);
    const Port& p = c.ports[0];
    ASSERT_EQ(p.addresses.size(), 2u);
    EXPECT_EQ(p.addresses[0].ip, *IpAddr::parse("10.0.0.2"));
    EXPECT_EQ(p.addresses[0].prefix_len, 24);
    EXPECT_EQ(p.addresses[1].ip, *IpAddr::parse("2001:db8::2"));
    EXPECT_EQ(p.addresses[1].prefix_len, 64);
    EXPECT_EQ(p.exception_path, ExceptionPath::off);
    EXPECT_TRUE(p.exception_path_auto);
    EXPECT_FALSE(c.expire_nodest_conn);
    EXPECT_EQ(c.control.socket, "/run/dplb/dplb.sock");
    EXPECT_EQ(c.control.mode, 0600u);
    EXPECT_TRUE(c.metrics.enabled);
    EXPECT_EQ(c.metrics.listen, "127.0.0.1:9642");

    ASSERT_EQ(c.services.size(), 2u);
    const Service& web = c.services[0];
    EXPECT_EQ(web.timeouts.ms, Timeouts::ipvs_defaults().ms);
    EXPECT_EQ(web.delay_loop_s, 60u);
    ASSERT_EQ(web.reals.size(), 3u);
    const RealServer& r0 = web.reals[0];
    EXPECT_TRUE(r0.has_mac);
    EXPECT_FALSE(r0.inhibit_on_failure);
    ASSERT_TRUE(r0.health_check);
    EXPECT_EQ(r0.health_check->type, CheckType::tcp);
    EXPECT_EQ(r0.health_check->connect_port, 80);
    const HealthCheck& http = web.reals[1].health_check.value();
    EXPECT_FALSE(web.reals[1].has_mac);
    EXPECT_EQ(http.type, CheckType::http);
    EXPECT_EQ(http.path, "/health");
    EXPECT_EQ(http.status_codes, (std::vector<uint16_t>{200, 301, 302}));
    EXPECT_EQ(http.digest, "9b3a0c85a887a256d6939da88aabd8cd");
    EXPECT_EQ(http.delay_before_retry_s, 3u);
    const HealthCheck& misc = web.reals[2].health_check.value();
    EXPECT_EQ(misc.type, CheckType::misc);
    EXPECT_EQ(misc.script, "/usr/local/bin/check_web 10.0.0.13");
    EXPECT_EQ(misc.timeout_s, 5u);
    EXPECT_FALSE(misc.dynamic);
    EXPECT_EQ(c.services[1].reals.at(1).weight, 0);
    EXPECT_FALSE(c.services[1].reals.at(1).health_check);

    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& vi = c.vrrp_instances[0];
    EXPECT_EQ(vi.name, "VI_1");
    EXPECT_EQ(vi.interface, "lan0");
    EXPECT_EQ(vi.port_index, 0u);
    EXPECT_EQ(vi.state, VrrpState::backup);
    EXPECT_EQ(vi.virtual_router_id, 51);
    EXPECT_EQ(vi.priority, 100);
    EXPECT_EQ(vi.advert_int_cs, 100u);
    EXPECT_EQ(vi.version, 2);
    EXPECT_TRUE(vi.preempt);
    EXPECT_EQ(vi.preempt_delay_s, 0u);
    EXPECT_EQ(vi.auth, VrrpAuth::pass);
    EXPECT_EQ(vi.auth_pass, "secret");
    EXPECT_EQ(vi.virtual_ipaddresses,
              (std::vector<IpAddr>{*IpAddr::parse("10.0.0.100"), *IpAddr::parse("2001:db8::100")}));
    EXPECT_EQ(vi.track_interfaces, std::vector<std::string>{"lan0"});
    EXPECT_EQ(vi.track_services, std::vector<std::string>{"web"});
    EXPECT_EQ(vi.garp_master_delay_s, 5u);
    EXPECT_EQ(vi.garp_master_repeat, 5u);
}

// The per-feature examples further down are complete files too.
TEST(ConfigLoad, ReadmeFeatureExamples) {
    const std::vector<std::string> blocks = readme_yaml_blocks();
    ASSERT_GE(blocks.size(), 5u);
    for (size_t i = 1; i < blocks.size(); i++) {
        try {
            load_config_string(blocks[i], "README.md block " + std::to_string(i));
        } catch (const ConfigError& e) {
            ADD_FAILURE() << e.what() << "\n" << blocks[i];
        }
    }
}

TEST(ConfigLoad, NewKeysDefaults) {
    Config c = load_config_string(one_service("    port: 80\n    protocol: tcp\n" + std::string(kOneReal)), "d.yaml");
    EXPECT_TRUE(c.ports.at(0).addresses.empty());
    EXPECT_EQ(c.ports[0].exception_path, ExceptionPath::off);  // net_af_packet0
    EXPECT_TRUE(c.ports[0].exception_path_auto);
    EXPECT_FALSE(c.expire_nodest_conn);
    EXPECT_EQ(c.control.socket, "/run/dplb/dplb.sock");
    EXPECT_EQ(c.control.mode, 0600u);
    EXPECT_TRUE(c.metrics.enabled);
    EXPECT_EQ(c.metrics.ip, *IpAddr::parse("127.0.0.1"));
    EXPECT_EQ(c.metrics.port, 9642);
    EXPECT_EQ(c.metrics.listen, "127.0.0.1:9642");
    EXPECT_TRUE(c.vrrp_instances.empty());
    const Service& s = c.services.at(0);
    EXPECT_EQ(s.delay_loop_s, 60u);
    const RealServer& r = s.reals.at(0);
    EXPECT_TRUE(r.has_mac);
    EXPECT_FALSE(r.inhibit_on_failure);
    EXPECT_FALSE(r.health_check);
}

TEST(ConfigLoad, MacIsOptional) {
    Config c = load_config_string(one_service("    port: 80\n    protocol: tcp\n    real_servers:\n"
                                              "      - ip: 10.0.0.11\n"),
                                  "m.yaml");
    const RealServer& r = c.services.at(0).reals.at(0);
    EXPECT_FALSE(r.has_mac);
    EXPECT_TRUE(r.mac.is_zero());
}

TEST(ConfigLoad, ExceptionPathAuto) {
    for (const char* dev : {"net_af_packet0", "net_af_packet1,iface=eth1", "net_af_xdp0", "net_pcap0", "net_ring0",
                            "net_null0"})
        EXPECT_EQ(default_exception_path(dev), ExceptionPath::off) << dev;
    for (const char* dev : {"0000:03:00.0", "net_tap0", "net_vhost0", "net_memif0", "af_packet"})
        EXPECT_EQ(default_exception_path(dev), ExceptionPath::tap) << dev;

    Config c = load_config_string("ports:\n"
                                  "  - {name: a, device: \"0000:03:00.0\"}\n"
                                  "  - {name: b, device: \"0000:03:00.1\", exception_path: off}\n"
                                  "  - {name: c, device: net_pcap0, exception_path: tap}\n"
                                  "  - {name: d, device: net_pcap1, exception_path: auto}\n"
                                  "services:\n  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n" +
                                      std::string(kOneReal),
                                  "x.yaml");
    ASSERT_EQ(c.ports.size(), 4u);
    EXPECT_EQ(c.ports[0].exception_path, ExceptionPath::tap);
    EXPECT_TRUE(c.ports[0].exception_path_auto);
    EXPECT_EQ(c.ports[1].exception_path, ExceptionPath::off);
    EXPECT_FALSE(c.ports[1].exception_path_auto);
    EXPECT_EQ(c.ports[2].exception_path, ExceptionPath::tap);
    EXPECT_FALSE(c.ports[2].exception_path_auto);
    EXPECT_EQ(c.ports[3].exception_path, ExceptionPath::off);
    EXPECT_TRUE(c.ports[3].exception_path_auto);
}

// Error messages quote what the file holds (keys, the YAML parser's own messages): control bytes in
// them come out as \xNN, so an error line cannot drive the operator's terminal or end at a NUL.
TEST(ConfigErrors, ControlBytesFromTheFileAreEscaped) {
    std::string key = "ports:\n  - name: lan0\n    devic\x1b[2Je: net_pcap0\nservices: []\n";
    std::string escape = "services: [\"a\\\x1b\"]\n";  // a backslash before ESC: YAML's unknown escape
    std::string nul = std::string("services: [\"a\\") + '\0' + "\"]\n";
    for (const std::string& text : {key, escape, nul}) {
        auto errs = errors_of(text);
        ASSERT_FALSE(errs.empty()) << text;
        for (const std::string& e : errs) {
            EXPECT_EQ(std::count_if(e.begin(), e.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }), 0)
                << e;
        }
    }
    auto errs = errors_of(key);
    EXPECT_TRUE(std::any_of(errs.begin(), errs.end(),
                            [](const std::string& e) { return e.find("devic\\x1b[2Je: unknown key") != std::string::npos; }))
        << errs.back();
}

TEST(ConfigLoad, ControlAndMetrics) {
    auto with = [](const std::string& extra) {
        return load_config_string(one_service("    port: 80\n    protocol: tcp\n" + std::string(kOneReal)) + extra,
                                  "c.yaml");
    };
    Config a = with("control:\n  socket: /tmp/x.sock\n  mode: 660\nmetrics:\n  listen: off\n"
                    "expire_nodest_conn: true\n");
    EXPECT_EQ(a.control.socket, "/tmp/x.sock");
    EXPECT_EQ(a.control.mode, 0660u);
    EXPECT_FALSE(a.metrics.enabled);
    EXPECT_TRUE(a.expire_nodest_conn);
    EXPECT_EQ(a.conn_reuse_mode, 1u) << "IPVS's default";
    EXPECT_EQ(with("conn_reuse_mode: 0\n").conn_reuse_mode, 0u);
    EXPECT_EQ(with("conn_reuse_mode: 3\n").conn_reuse_mode, 3u);
    for (const char* bad : {"4", "-1", "yes"}) {
        auto errs = errors_of(one_service("    port: 80\n    protocol: tcp\n" + std::string(kOneReal)) +
                              "conn_reuse_mode: " + bad + "\n");
        ASSERT_EQ(errs.size(), 1u) << bad;
        EXPECT_NE(errs[0].find("conn_reuse_mode"), std::string::npos) << errs[0];
    }
    Config b = with("control:\n  mode: \"0640\"\nmetrics:\n  listen: \"[2001:DB8:0::1]:80\"\n");
    EXPECT_EQ(b.control.socket, "/run/dplb/dplb.sock");
    EXPECT_EQ(b.control.mode, 0640u);
    EXPECT_TRUE(b.metrics.enabled);
    EXPECT_EQ(b.metrics.ip, *IpAddr::parse("2001:db8::1"));
    EXPECT_EQ(b.metrics.port, 80);
    EXPECT_EQ(b.metrics.listen, "[2001:db8::1]:80");
    Config d = with("metrics:\n  listen: 0.0.0.0:65535\n");
    EXPECT_EQ(d.metrics.listen, "0.0.0.0:65535");
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:09642",
                            "[127.0.0.1]:80", "[::1]80", "::1:80", "host:80", "on"}) {
        auto errs = errors_of(one_service("    port: 80\n    protocol: tcp\n" + std::string(kOneReal)) +
                              "metrics:\n  listen: \"" + bad + "\"\n");
        ASSERT_EQ(errs.size(), 1u) << bad;
        EXPECT_NE(errs[0].find("metrics.listen: expected ADDRESS:PORT"), std::string::npos) << errs[0];
    }
    for (const char* bad : {"0800", "60", "06000", "rw", "\"\"", "1777"}) {
        auto errs = errors_of(one_service("    port: 80\n    protocol: tcp\n" + std::string(kOneReal)) +
                              "control:\n  mode: " + bad + "\n");
        ASSERT_EQ(errs.size(), 1u) << bad;
        EXPECT_NE(errs[0].find("control.mode: expected an octal mode"), std::string::npos) << errs[0];
    }
}

// One service on port 80 whose single real carries `check` (indented 8) and `real_extra`.
Config with_check(const std::string& check, const std::string& real_extra = "", const std::string& port = "80") {
    return load_config_string(one_service("    port: " + port + "\n    protocol: tcp\n    real_servers:\n" +
                                          "      - ip: 10.0.0.11\n" + real_extra + "        health_check:\n" +
                                          check),
                              "h.yaml");
}

TEST(ConfigLoad, HealthCheckDefaults) {
    const HealthCheck tcp = with_check("          type: tcp\n").services[0].reals[0].health_check.value();
    EXPECT_EQ(tcp.type, CheckType::tcp);
    EXPECT_EQ(tcp.connect_timeout_s, 5u);
    EXPECT_EQ(tcp.retry, 1u);
    EXPECT_EQ(tcp.delay_before_retry_s, 1u);
    EXPECT_EQ(tcp.warmup_s, 0u);
    EXPECT_FALSE(tcp.alpha);
    EXPECT_EQ(tcp.connect_port, 80);

    const HealthCheck http = with_check("          type: http\n          path: /\n", "        port: 80\n")
                                 .services[0]
                                 .reals[0]
                                 .health_check.value();
    EXPECT_EQ(http.connect_port, 80);  // the real's port
    EXPECT_EQ(http.delay_before_retry_s, 3u);
    EXPECT_EQ(http.status_codes, std::vector<uint16_t>{200});
    EXPECT_EQ(http.digest, "");

    const HealthCheck misc =
        with_check("          type: misc\n          script: /bin/true\n          connect_timeout: 7\n")
            .services[0]
            .reals[0]
            .health_check.value();
    EXPECT_EQ(misc.delay_before_retry_s, 3u);
    EXPECT_EQ(misc.timeout_s, 7u);  // connect_timeout
    EXPECT_EQ(misc.retry, 1u);
    EXPECT_FALSE(misc.dynamic);
    EXPECT_EQ(misc.connect_port, 0);
}

TEST(ConfigLoad, HealthCheckEveryKey) {
    const Config c = with_check("          type: http\n          connect_timeout: 3\n          retry: 0\n"
                                "          delay_before_retry: 0\n          warmup: 10\n          alpha: true\n"
                                "          connect_port: 8443\n          path: /a?b=c\n"
                                "          status_codes: [204, 200-202, 201]\n"
                                "          digest: 9B3A0C85A887A256D6939DA88AABD8CD\n",
                                "        inhibit_on_failure: true\n");
    const RealServer& r = c.services[0].reals[0];
    EXPECT_TRUE(r.inhibit_on_failure);
    const HealthCheck& h = r.health_check.value();
    EXPECT_EQ(h.connect_timeout_s, 3u);
    EXPECT_EQ(h.retry, 0u);
    EXPECT_EQ(h.delay_before_retry_s, 0u);
    EXPECT_EQ(h.warmup_s, 10u);
    EXPECT_TRUE(h.alpha);
    EXPECT_EQ(h.connect_port, 8443);
    EXPECT_EQ(h.path, "/a?b=c");
    EXPECT_EQ(h.status_codes, (std::vector<uint16_t>{200, 201, 202, 204}));
    EXPECT_EQ(h.digest, "9b3a0c85a887a256d6939da88aabd8cd");

    const HealthCheck m = with_check("          type: misc\n          script: \"/x y\"\n          timeout: 30\n"
                                     "          dynamic: true\n          delay_before_retry: 2\n")
                              .services[0].reals[0].health_check.value();
    EXPECT_EQ(m.script, "/x y");
    EXPECT_EQ(m.timeout_s, 30u);
    EXPECT_TRUE(m.dynamic);
    EXPECT_EQ(m.delay_before_retry_s, 2u);

    // A port-0 service: tcp and http need connect_port, misc does not.
    const HealthCheck p0 = with_check("          type: tcp\n          connect_port: 22\n", "", "0")
                               .services[0]
                               .reals[0]
                               .health_check.value();
    EXPECT_EQ(p0.connect_port, 22);
    EXPECT_NO_THROW(with_check("          type: misc\n          script: /bin/true\n", "", "0"));
}

// A file with two ports, two named services and the given instances (indented 2).
std::string vrrp_file(const std::string& instances) {
    return "ports:\n  - {name: lan0, device: net_af_packet0}\n  - {name: lan1, device: net_af_packet1}\n"
           "services:\n"
           "  - {name: web, vip: 10.0.0.100, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"
           "  - {name: web6, vip: \"2001:db8::100\", port: 80, protocol: tcp, real_servers: [{ip: \"2001:db8::11\"}]}\n"
           "  - {vip: 10.0.0.101, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"
           "vrrp_instances:\n" +
           instances;
}

TEST(ConfigLoad, VrrpTrackWeights) {
    Config c = load_config_string(
        vrrp_file("  - name: VI_6\n    interface: lan1\n    virtual_router_id: 9\n"
                  "    virtual_ipaddresses: [\"2001:db8::100\"]\n"
                  "    track_interfaces: [lan0, {name: lan1, weight: -20}]\n"
                  "    track_services: [{name: web6, weight: 10}]\n"),
        "v.yaml");
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& a = c.vrrp_instances[0];
    EXPECT_EQ(a.track_interfaces, (std::vector<std::string>{"lan0", "lan1"}));
    EXPECT_EQ(a.track_weights, (std::map<std::string, int>{{"lan1", -20}, {"web6", 10}}));
    for (const char* bad : {"0", "254", "-254", "ten", "+5", "020"}) {
        try {
            load_config_string(vrrp_file(std::string("  - name: VI_6\n    interface: lan1\n    virtual_router_id: 9\n"
                                                     "    virtual_ipaddresses: [\"2001:db8::100\"]\n"
                                                     "    track_interfaces: [{name: lan1, weight: ") + bad + "}]\n"),
                               "v.yaml");
            ADD_FAILURE() << "weight " << bad << " accepted";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("track_interfaces[0].weight: expected a weight -253..-1 or 1..253"),
                      std::string::npos)
                << e.what();
        }
    }
}

TEST(ConfigLoad, VrrpEveryKey) {
    Config c = load_config_string(
        vrrp_file("  - name: VI_6\n    interface: lan1\n    state: MASTER\n    virtual_router_id: 255\n"
                  "    priority: 255\n    advert_int: 0.05\n    version: 3\n    preempt: false\n"
                  "    preempt_delay: 1000\n    virtual_ipaddresses: [\"2001:db8::100\"]\n"
                  "    track_interfaces: [lan0, lan1]\n    track_services: [web6]\n"
                  "    garp_master_delay: 0\n    garp_master_repeat: 255\n"
                  "  - name: VI_4\n    interface: lan1\n    virtual_router_id: 255\n    advert_int: 255\n"
                  "    authentication: {type: PASS, password: \"longer than eight\"}\n"
                  "    virtual_ipaddresses: [10.0.0.100, 10.0.0.101]\n"),
        "v.yaml");
    ASSERT_EQ(c.vrrp_instances.size(), 2u);
    const VrrpInstance& a = c.vrrp_instances[0];
    EXPECT_EQ(a.port_index, 1u);
    EXPECT_EQ(a.state, VrrpState::master);
    EXPECT_EQ(a.virtual_router_id, 255);
    EXPECT_EQ(a.priority, 255);
    EXPECT_EQ(a.advert_int_cs, 5u);
    EXPECT_EQ(a.version, 3);
    EXPECT_FALSE(a.preempt);
    EXPECT_EQ(a.preempt_delay_s, 1000u);
    EXPECT_EQ(a.auth, VrrpAuth::none);
    EXPECT_EQ(a.track_interfaces, (std::vector<std::string>{"lan0", "lan1"}));
    EXPECT_EQ(a.track_services, std::vector<std::string>{"web6"});
    EXPECT_EQ(a.garp_master_delay_s, 0u);
    EXPECT_EQ(a.garp_master_repeat, 255u);
    const VrrpInstance& b = c.vrrp_instances[1];
    EXPECT_EQ(b.advert_int_cs, 25500u);
    EXPECT_EQ(b.auth, VrrpAuth::pass);
    EXPECT_EQ(b.auth_pass, "longer t");  // keepalived's 8
    EXPECT_EQ(b.virtual_ipaddresses.size(), 2u);
}

// A VRRP-only site: no services; the instance's addresses are the kernel's, with keepalived's
// defaults (/32, /128) where no prefix length is given.
TEST(ConfigLoad, VrrpOnlySite) {
    Config c = load_config_string(
        "ports:\n  - {name: lan0, device: net_af_packet0, addresses: [10.0.0.2/24]}\n"
        "vrrp_instances:\n  - name: VI_1\n    interface: lan0\n    virtual_router_id: 51\n"
        "    virtual_ipaddresses:\n      - 10.0.0.50\n      - 10.0.0.51/24\n"
        "      - {address: 10.0.0.52/25, label: web, scope: host}\n      - {address: 10.0.0.53, scope: link}\n"
        "      - \"2001:db8::50\"\n      - {address: \"2001:db8::51/64\"}\n      - 10.0.0.2\n",
        "v.yaml");
    EXPECT_TRUE(c.services.empty());
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& vi = c.vrrp_instances[0];
    EXPECT_EQ(vi.virtual_ipaddresses.size(), 7u);
    auto k = [](const char* ip, uint8_t len, const char* label = "", uint8_t scope = 0) {
        return KernelAddress{*IpAddr::parse(ip), len, label, scope};
    };
    // 10.0.0.2 is the director's own address: the kernel holds it anyway (VRRP's address owner).
    EXPECT_EQ(vi.kernel_addresses,
              (std::vector<KernelAddress>{k("10.0.0.50", 32), k("10.0.0.51", 24), k("10.0.0.52", 25, "web", 254),
                                          k("10.0.0.53", 32, "", 253), k("2001:db8::50", 128),
                                          k("2001:db8::51", 64)}));
}

// In a mixed configuration a service's vip stays the data plane's; any other address is the kernel's.
TEST(ConfigLoad, VrrpMixedKernelAddresses) {
    Config c = load_config_string(
        vrrp_file("  - name: VI_1\n    interface: lan0\n    virtual_router_id: 7\n"
                  "    virtual_ipaddresses: [10.0.0.100, 10.0.0.102/24, \"2001:db8::100\"]\n"),
        "v.yaml");
    const VrrpInstance& vi = c.vrrp_instances.at(0);
    EXPECT_EQ(vi.virtual_ipaddresses.size(), 3u);
    ASSERT_EQ(vi.kernel_addresses.size(), 1u);
    EXPECT_EQ(vi.kernel_addresses[0].ip, *IpAddr::parse("10.0.0.102"));
    EXPECT_EQ(vi.kernel_addresses[0].prefix_len, 24);
}

TEST(ConfigErrors, ServicesOnlyOptionalWithVrrp) {
    EXPECT_EQ(errors_of("ports:\n  - {name: lan0, device: net_af_packet0}\n", "n.yaml"),
              std::vector<std::string>{"n.yaml:1:1: services: required key missing (only a configuration with "
                                       "vrrp_instances may leave it out)"});
}

TEST(ConfigLoad, VrrpUnicast) {
    Config c = load_config_string(
        vrrp_file("  - name: VI_1\n    interface: lan0\n    virtual_router_id: 7\n"
                  "    virtual_ipaddresses: [10.0.0.100, \"2001:db8::100\"]\n"
                  "    unicast_src_ip: 192.0.2.1\n    unicast_ttl: 64\n"
                  "    unicast_peers: [192.0.2.2, \"2001:db8:1::2\", 198.51.100.2]\n"
                  "  - name: VI_2\n    interface: lan1\n    virtual_router_id: 8\n"
                  "    virtual_ipaddresses: [10.0.0.101]\n"),
        "v.yaml");
    ASSERT_EQ(c.vrrp_instances.size(), 2u);
    const VrrpInstance& a = c.vrrp_instances[0];
    EXPECT_EQ(a.unicast_peers, (std::vector<IpAddr>{*IpAddr::parse("192.0.2.2"), *IpAddr::parse("2001:db8:1::2"),
                                                    *IpAddr::parse("198.51.100.2")}));
    EXPECT_EQ(a.unicast_src_ip, *IpAddr::parse("192.0.2.1"));
    EXPECT_EQ(a.unicast_ttl, 64);
    const VrrpInstance& b = c.vrrp_instances[1];  // multicast: nothing set
    EXPECT_TRUE(b.unicast_peers.empty());
    EXPECT_EQ(b.unicast_src_ip.family, 0);
    EXPECT_EQ(b.unicast_ttl, 255);
}

TEST(ConfigLoad, VrrpScriptsAndNotifyHooks) {
    Config c = load_config_string(
        vrrp_file("  - name: VI_4\n    interface: lan0\n    virtual_router_id: 9\n"
                  "    virtual_ipaddresses: [10.0.0.100]\n"
                  "    track_scripts: [chk, {name: other, weight: 0}, {name: chk2, weight: -7}]\n"
                  "    notify_master: \"/bin/true master 'a b'\"\n    notify_backup: /bin/true\n"
                  "    notify_fault: /bin/false\n    notify_stop: /bin/true stop\n    notify: /bin/echo\n") +
            "vrrp_scripts:\n"
            "  - {name: chk, script: \"/bin/sh -c 'test -e /x'\", interval: 2, weight: -30, rise: 3, fall: 4,"
            " init_fail: true, user: nobody}\n"
            "  - {name: other, script: /bin/true, weight: 20}\n"
            "  - {name: chk2, script: /bin/true, timeout: 5}\n",
        "s.yaml");
    ASSERT_EQ(c.vrrp_scripts.size(), 3u);
    const VrrpScript& s = c.vrrp_scripts[0];
    EXPECT_EQ(s.name, "chk");
    EXPECT_EQ(s.script, "/bin/sh -c 'test -e /x'");
    EXPECT_EQ(s.interval_s, 2u);
    EXPECT_EQ(s.timeout_s, 2u);  // the interval when not given
    EXPECT_EQ(s.weight, -30);
    EXPECT_EQ(s.rise, 3u);
    EXPECT_EQ(s.fall, 4u);
    EXPECT_TRUE(s.init_fail);
    EXPECT_EQ(s.user, "nobody");
    EXPECT_EQ(s.uid, 65534u);
    EXPECT_EQ(c.vrrp_scripts[1].weight, 20);
    EXPECT_EQ(c.vrrp_scripts[1].interval_s, 1u);
    EXPECT_EQ(c.vrrp_scripts[1].rise, 1u);
    EXPECT_FALSE(c.vrrp_scripts[1].init_fail);
    EXPECT_EQ(c.vrrp_scripts[2].timeout_s, 5u);
    const VrrpInstance& vi = c.vrrp_instances[0];
    EXPECT_EQ(vi.track_scripts, (std::vector<std::string>{"chk", "other", "chk2"}));
    // The script's own weight unless the instance gives one (0 included: FAULT while failing).
    EXPECT_EQ(vi.track_script_weights, (std::map<std::string, int>{{"chk", -30}, {"other", 0}, {"chk2", -7}}));
    EXPECT_TRUE(vi.track_weights.empty());
    EXPECT_EQ(vi.notify_master, "/bin/true master 'a b'");
    EXPECT_EQ(vi.notify_backup, "/bin/true");
    EXPECT_EQ(vi.notify_fault, "/bin/false");
    EXPECT_EQ(vi.notify_stop, "/bin/true stop");
    EXPECT_EQ(vi.notify, "/bin/echo");
    Config r = load_config_string(one_service("    port: 80\n    protocol: tcp\n    real_servers:\n"
                                              "      - {ip: 10.0.0.11, notify_up: /bin/true up, notify_down: /bin/true}\n"),
                                  "r.yaml");
    EXPECT_EQ(r.services[0].reals[0].notify_up, "/bin/true up");
    EXPECT_EQ(r.services[0].reals[0].notify_down, "/bin/true");
}

TEST(ConfigLoad, VrrpAdvertIntV3) {
    for (const auto& [text, cs] : std::vector<std::pair<std::string, uint32_t>>{
             {"0.01", 1}, {"0.1", 10}, {"1", 100}, {"1.5", 150}, {"40.95", 4095}, {"\"2.25\"", 225}}) {
        Config c = load_config_string(vrrp_file("  - {name: V, interface: lan0, virtual_router_id: 1, version: 3, "
                                                "advert_int: " +
                                                text + ", virtual_ipaddresses: [10.0.0.100]}\n"),
                                      "a.yaml");
        EXPECT_EQ(c.vrrp_instances.at(0).advert_int_cs, cs) << text;
    }
    for (const char* bad : {"0", "0.00", "40.96", "1.234", ".5", "1.", "01", "-1", "1e1", "0x10"}) {
        auto errs = errors_of(vrrp_file(std::string("  - {name: V, interface: lan0, virtual_router_id: 1, version: 3, "
                                                    "advert_int: ") +
                                        bad + ", virtual_ipaddresses: [10.0.0.100]}\n"));
        ASSERT_EQ(errs.size(), 1u) << bad;
        EXPECT_NE(errs[0].find("advert_int: expected seconds 0.01..40.95 with at most 2 decimals"), std::string::npos)
            << errs[0];
    }
}

TEST(ConfigErrors, VrrpRouterIdsPerInterfaceAndFamily) {
    // Same id on another port, or for the other family on the same port: separate routers.
    auto inst = [](const char* name, const char* port, const char* vip) {
        return std::string("  - {name: ") + name + ", interface: " + port + ", virtual_router_id: 7, " +
               "virtual_ipaddresses: [" + vip + "]}\n";
    };
    EXPECT_EQ(errors_of(vrrp_file(inst("A", "lan0", "10.0.0.100") + inst("B", "lan1", "10.0.0.101") +
                                  inst("C", "lan0", "\"2001:db8::100\""))),
              std::vector<std::string>{});
    EXPECT_EQ(errors_of(vrrp_file(inst("A", "lan0", "10.0.0.100") + inst("B", "lan0", "10.0.0.101")), "v.yaml"),
              std::vector<std::string>{"v.yaml:10:51: vrrp_instances[1].virtual_router_id: duplicate "
                                       "virtual_router_id 7 on lan0 for IPv4, first at vrrp_instances[0]"});
}

// A mistake in a service or a port must not also be reported as a dangling reference from VRRP.
TEST(ConfigErrors, VrrpReferencesToBrokenEntriesNotReported) {
    auto errs = errors_of("ports:\n  - {name: [lan0], device: net_af_packet0}\n"
                          "services:\n"
                          "  - {name: web, vip: 10.0.0.300, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"
                          "vrrp_instances:\n"
                          "  - {name: V, interface: lan0, virtual_router_id: 1, virtual_ipaddresses: [10.0.0.100]}\n",
                          "b.yaml");
    ASSERT_EQ(errs.size(), 2u);
    EXPECT_NE(errs[0].find("ports[0].name: expected a non-empty string"), std::string::npos) << errs[0];
    EXPECT_NE(errs[1].find("services[0].vip: expected an IPv4 or IPv6 address"), std::string::npos) << errs[1];
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
    for (int i = 0; i < 1025; i++)
        text += "  - vip: 10.0.1." + std::to_string(i % 256) + "\n    port: " + std::to_string(i / 256 + 1) +
                "\n    protocol: tcp\n" + kOneReal;
    auto errs = errors_of(text, "s.yaml");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0], "s.yaml:5:3: services: at most 1024 services, got 1025");
}

TEST(ConfigErrors, RealServerLimit) {
    std::string text = kPortsYaml + std::string("services:\n");
    for (int s = 0; s < 2; s++) {
        text += "  - vip: 10.0.0." + std::to_string(s + 1) + "\n    port: 80\n    protocol: tcp\n    real_servers:\n";
        for (int r = 0; r < 16385; r++)
            text += "      - ip: 10.1." + std::to_string(r / 256) + "." + std::to_string(r % 256) +
                    "\n        mac: 02:00:00:00:00:01\n";
    }
    auto errs = errors_of(text, "r.yaml");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0], "r.yaml:5:3: services: at most 32768 real servers over all services, got 32770");
}

TEST(ConfigErrors, SameEndpointDifferentProtocolOrPortIsFine) {
    std::string text = kPortsYaml + std::string("services:\n");
    for (const char* sp : {"80\n    protocol: tcp\n", "80\n    protocol: udp\n", "0\n    protocol: tcp\n",
                           "8080\n    protocol: tcp\n"})
        text += "  - vip: 10.0.0.100\n    port: " + std::string(sp) +
                "    persistence_timeout: 60\n    real_servers:\n      - ip: 10.0.0.11\n        mac: 02:00:00:00:00:11\n";
    EXPECT_EQ(errors_of(text), std::vector<std::string>{});
}

// Direct Routing leaves the destination port as the client sent it: a real server's own port
// would be a lie, so it is refused, naming the real and both ports (ipvsadm forces it for DR).
TEST(ConfigErrors, RealPortMustBeTheServicePort) {
    const std::string text = kPortsYaml + std::string("services:\n") +
                             "  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n    real_servers:\n"
                             "      - ip: 10.0.0.11\n        port: 80\n        mac: 02:00:00:00:00:11\n"
                             "      - ip: 10.0.0.12\n        port: 8080\n        mac: 02:00:00:00:00:12\n";
    const std::vector<std::string> errs = errors_of(text, "p.yaml");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_NE(errs[0].find("services[0].real_servers[1].port: real server 10.0.0.12: port 8080 differs from the "
                           "service's port 80 (Direct Routing forwards to the service's port;"),
              std::string::npos)
        << errs[0];
}

// ---- addresses, names, devices and modes that would load but cannot work ----

// Ports (lines 1-3), then one service: its vip on line 5 (column 10) and its real's ip on line 9 (column 13).
std::string vip_and_real(const std::string& vip, const std::string& real) {
    return std::string(kPortsYaml) + "services:\n  - vip: " + vip + "\n    port: 80\n    protocol: tcp\n" +
           "    real_servers:\n      - ip: " + real + "\n";
}

TEST(ConfigErrors, VipAndRealMustBeUnicast) {
    const std::string vip_err = "t.yaml:5:10: services[0].vip: expected a unicast address clients can reach, got ";
    const std::string real_err = "t.yaml:9:13: services[0].real_servers[0].ip: expected a unicast address, got ";
    const std::string ll6 = " (link-local, which routers do not forward and VRRP leaves out of its address lists)";
    const std::vector<std::tuple<std::string, std::string, std::string>> bad = {  // vip, real, error
        {"0.0.0.0", "10.0.0.11", vip_err + "\"0.0.0.0\" (the unspecified address)"},
        {"0.1.2.3", "10.0.0.11", vip_err + "\"0.1.2.3\" (in 0.0.0.0/8, which is never a destination)"},
        {"255.255.255.255", "10.0.0.11", vip_err + "\"255.255.255.255\" (the broadcast address)"},
        {"224.0.0.18", "10.0.0.11", vip_err + "\"224.0.0.18\" (multicast)"},
        {"239.255.255.255", "10.0.0.11", vip_err + "\"239.255.255.255\" (multicast)"},
        {"127.0.0.1", "10.0.0.11", vip_err + "\"127.0.0.1\" (loopback)"},
        {"127.255.255.254", "10.0.0.11", vip_err + "\"127.255.255.254\" (loopback)"},
        {"169.254.0.1", "10.0.0.11", vip_err + "\"169.254.0.1\" (link-local, which routers do not forward)"},
        {"\"::\"", "\"2001:db8::11\"", vip_err + "\"::\" (the unspecified address)"},
        {"\"::1\"", "\"2001:db8::11\"", vip_err + "\"::1\" (loopback)"},
        {"\"ff02::1\"", "\"2001:db8::11\"", vip_err + "\"ff02::1\" (multicast)"},
        {"\"ff05::1:3\"", "\"2001:db8::11\"", vip_err + "\"ff05::1:3\" (multicast)"},
        {"\"::ffff:10.0.0.100\"", "\"2001:db8::11\"",
         vip_err + "\"::ffff:10.0.0.100\" (IPv4-mapped, which never appears on the wire: write 10.0.0.100)"},
        {"\"fe80::1\"", "\"2001:db8::11\"", vip_err + "\"fe80::1\"" + ll6},
        {"\"febf:ffff::1\"", "\"2001:db8::11\"", vip_err + "\"febf:ffff::1\"" + ll6},
        {"10.0.0.100", "0.0.0.0", real_err + "\"0.0.0.0\" (the unspecified address)"},
        {"10.0.0.100", "255.255.255.255", real_err + "\"255.255.255.255\" (the broadcast address)"},
        {"10.0.0.100", "224.0.0.5", real_err + "\"224.0.0.5\" (multicast)"},
        {"10.0.0.100", "127.0.0.1", real_err + "\"127.0.0.1\" (loopback)"},
        {"\"2001:db8::100\"", "\"::\"", real_err + "\"::\" (the unspecified address)"},
        {"\"2001:db8::100\"", "\"::1\"", real_err + "\"::1\" (loopback)"},
        {"\"2001:db8::100\"", "\"ff02::5\"", real_err + "\"ff02::5\" (multicast)"},
        {"\"2001:db8::100\"", "\"::ffff:10.0.0.11\"",
         real_err + "\"::ffff:10.0.0.11\" (IPv4-mapped, which never appears on the wire: write 10.0.0.11)"},
    };
    for (const auto& [vip, real, error] : bad)
        EXPECT_EQ(errors_of(vip_and_real(vip, real)), std::vector<std::string>{error}) << vip << " " << real;
    // Their neighbours, class E, and the director's own address (VRRP's address owner) are fine vips.
    for (const char* vip : {"1.0.0.0", "126.255.255.255", "128.0.0.1", "169.253.255.255", "169.255.0.1",
                            "223.255.255.255", "240.0.0.1", "255.255.255.254"})
        EXPECT_EQ(errors_of(vip_and_real(vip, "10.0.0.11")), std::vector<std::string>{}) << vip;
    for (const char* vip : {"\"::2\"", "\"::fffe:10.0.0.100\"", "\"fe7f::1\"", "\"fec0::1\"", "\"feff::1\"",
                            "\"2001:db8::100\""})
        EXPECT_EQ(errors_of(vip_and_real(vip, "\"2001:db8::11\"")), std::vector<std::string>{}) << vip;
    EXPECT_EQ(errors_of("ports:\n  - {name: lan0, device: net_af_packet0, addresses: [10.0.0.100/24]}\n" +
                        vip_and_real("10.0.0.100", "10.0.0.11").substr(std::string(kPortsYaml).size())),
              std::vector<std::string>{});
    // A Direct Routing real is on the link: link-local is fine for a real.
    EXPECT_EQ(errors_of(vip_and_real("10.0.0.100", "169.254.0.11")), std::vector<std::string>{});
    EXPECT_EQ(errors_of(vip_and_real("\"2001:db8::100\"", "\"fe80::11\"")), std::vector<std::string>{});
}

TEST(ConfigErrors, RealIsNeitherAVipNorTheDirector) {
    EXPECT_EQ(errors_of(vip_and_real("10.0.0.100", "10.0.0.100")),
              std::vector<std::string>{"t.yaml:9:13: services[0].real_servers[0].ip: expected the real server's own "
                                       "address, got the service's vip \"10.0.0.100\" (in Direct Routing a real server "
                                       "holds the vip on its loopback and is reached at an address of its own)"});
    EXPECT_EQ(errors_of(vip_and_real("\"2001:db8::100\"", "\"2001:DB8::100\"")),
              std::vector<std::string>{"t.yaml:9:13: services[0].real_servers[0].ip: expected the real server's own "
                                       "address, got the service's vip \"2001:DB8::100\" (in Direct Routing a real "
                                       "server holds the vip on its loopback and is reached at an address of its "
                                       "own)"});
    // The vip of a service further down the file, and of one further up.
    EXPECT_EQ(errors_of(vip_and_real("10.0.0.100", "10.0.0.101") +
                        "  - {vip: 10.0.0.101, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.100}]}\n"),
              (std::vector<std::string>{
                  "t.yaml:9:13: services[0].real_servers[0].ip: expected the real server's own address, got "
                  "\"10.0.0.101\", the vip of services[1] (a director answers for it)",
                  "t.yaml:10:68: services[1].real_servers[0].ip: expected the real server's own address, got "
                  "\"10.0.0.100\", the vip of services[0] (a director answers for it)"}));
    const std::string ports =
        "ports:\n  - {name: lan0, device: net_af_packet0, addresses: [10.0.0.2/24]}\n"
        "  - {name: lan1, device: net_af_packet1, addresses: [10.1.0.2/24, \"2001:db8::2/64\"]}\n";
    EXPECT_EQ(errors_of(ports + "services:\n"
                                "  - {vip: 10.0.0.100, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.2}, "
                                "{ip: 10.1.0.2}, {ip: 10.0.0.3}]}\n"
                                "  - {vip: \"2001:db8::100\", port: 80, protocol: tcp, "
                                "real_servers: [{ip: \"2001:db8::2\"}]}\n"),
              (std::vector<std::string>{
                  "t.yaml:5:68: services[0].real_servers[0].ip: expected the real server's own address, got "
                  "\"10.0.0.2\", the director's own address at ports[0].addresses[0]",
                  "t.yaml:5:84: services[0].real_servers[1].ip: expected the real server's own address, got "
                  "\"10.1.0.2\", the director's own address at ports[1].addresses[0]",
                  "t.yaml:6:73: services[1].real_servers[0].ip: expected the real server's own address, got "
                  "\"2001:db8::2\", the director's own address at ports[1].addresses[1]"}));
}

TEST(ConfigErrors, VrrpAddressesGetTheVipChecks) {
    // A multicast address is reported as such, not as an address no service has.
    EXPECT_EQ(errors_of(vrrp_file("  - {name: V, interface: lan0, virtual_router_id: 1, "
                                  "virtual_ipaddresses: [10.0.0.100, 224.0.0.18]}\n"),
                        "v.yaml"),
              std::vector<std::string>{"v.yaml:9:88: vrrp_instances[0].virtual_ipaddresses[1]: expected a unicast "
                                       "address clients can reach, got \"224.0.0.18\" (multicast)"});
    // While a service's vip is wrong, references to vips go unchecked, but not the addresses themselves.
    EXPECT_EQ(errors_of(vip_and_real("127.0.0.1", "10.0.0.11") +
                        "vrrp_instances:\n  - {name: V, interface: lan0, virtual_router_id: 1, "
                        "virtual_ipaddresses: [127.0.0.1, \"ff02::12\"]}\n"),
              (std::vector<std::string>{
                  "t.yaml:5:10: services[0].vip: expected a unicast address clients can reach, got \"127.0.0.1\" "
                  "(loopback)",
                  "t.yaml:11:76: vrrp_instances[0].virtual_ipaddresses[0]: expected a unicast address clients can "
                  "reach, got \"127.0.0.1\" (loopback)",
                  "t.yaml:11:87: vrrp_instances[0].virtual_ipaddresses[1]: expected a unicast address clients can "
                  "reach, got \"ff02::12\" (multicast)"}));
}

TEST(ConfigErrors, NamesHoldNoControlCharacters) {
    EXPECT_EQ(errors_of(std::string(kPortsYaml) + "services:\n  - name: \"web\\nfront\"\n    vip: 10.0.0.100\n" +
                        "    port: 80\n    protocol: tcp\n" + kOneReal),
              std::vector<std::string>{"t.yaml:5:11: services[0].name: expected a name without control characters, "
                                       "got \"web\\x0afront\""});
    for (const auto& [name, shown] : std::vector<std::pair<std::string, std::string>>{
             {"\"\\t\"", "\"\\x09\""},
             {"\"a\\x7f\"", "\"a\\x7f\""},
             {"\"a\\rb\"", "\"a\\x0db\""},
             {"\"\\0\"", "\"\\x00\""}})
        EXPECT_EQ(errors_of(std::string(kPortsYaml) + "services:\n  - name: " + name + "\n    vip: 10.0.0.100\n" +
                            "    port: 80\n    protocol: tcp\n" + kOneReal),
                  std::vector<std::string>{"t.yaml:5:11: services[0].name: expected a name without control "
                                           "characters, got " + shown})
            << name;
    EXPECT_EQ(errors_of("ports:\n  - {name: \"lan\\u00070\", device: net_af_packet0}\nservices:\n"
                        "  - {vip: 10.0.0.100, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"),
              std::vector<std::string>{"t.yaml:2:12: ports[0].name: expected a name without control characters, got "
                                       "\"lan\\x070\""});
    EXPECT_EQ(errors_of(vrrp_file("  - {name: \"V\\n1\", interface: lan0, virtual_router_id: 1, "
                                  "virtual_ipaddresses: [10.0.0.100]}\n"),
                        "v.yaml"),
              std::vector<std::string>{"v.yaml:9:12: vrrp_instances[0].name: expected a name without control "
                                       "characters, got \"V\\x0a1\""});
    // Spaces and anything printable are names as before.
    EXPECT_EQ(errors_of(std::string(kPortsYaml) + "services:\n  - name: \"web front/é\"\n    vip: 10.0.0.100\n" +
                        "    port: 80\n    protocol: tcp\n" + kOneReal),
              std::vector<std::string>{});
}

TEST(ConfigErrors, DeviceIsANameWithoutDeviceArguments) {
    auto device_errors = [](const std::string& device) {
        return errors_of("ports:\n  - name: lan0\n    device: " + device + "\nservices:\n" +
                         "  - {vip: 10.0.0.100, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n");
    };
    EXPECT_EQ(device_errors("net_af_packet0,iface=eth0"),
              std::vector<std::string>{"t.yaml:3:13: ports[0].device: expected a device name without \",\" or \"=\" "
                                       "(device arguments go on EAL's command line, as --vdev "
                                       "net_af_packet0,iface=eth0), got \"net_af_packet0,iface=eth0\""});
    EXPECT_EQ(device_errors("\"0000:03:00.0,\""),
              std::vector<std::string>{"t.yaml:3:13: ports[0].device: expected a device name without \",\" or \"=\" "
                                       "(device arguments go on EAL's command line, as --vdev "
                                       "net_af_packet0,iface=eth0), got \"0000:03:00.0,\""});
    EXPECT_EQ(device_errors("iface=eth0"),
              std::vector<std::string>{"t.yaml:3:13: ports[0].device: expected a device name without \",\" or \"=\" "
                                       "(device arguments go on EAL's command line, as --vdev "
                                       "net_af_packet0,iface=eth0), got \"iface=eth0\""});
    for (const auto& [device, shown] : std::vector<std::pair<std::string, std::string>>{
             {"\"net pcap0\"", "\"net pcap0\""}, {"\"net_pcap0\\t\"", "\"net_pcap0\\x09\""},
             {"\"net_pcap0\\n\"", "\"net_pcap0\\x0a\""}, {"\" net_pcap0\"", "\" net_pcap0\""}})
        EXPECT_EQ(device_errors(device),
                  std::vector<std::string>{"t.yaml:3:13: ports[0].device: expected a device name without spaces or "
                                           "control characters, got " + shown})
            << device;
    EXPECT_EQ(device_errors(std::string(64, 'n')),
              std::vector<std::string>{"t.yaml:3:13: ports[0].device: expected a device name of at most 63 "
                                       "characters (DPDK's limit), got \"" + std::string(60, 'n') + "...\""});
    for (const std::string& good : {std::string(63, 'n'), std::string("\"0000:03:00.0\""), std::string("net_ring0"),
                                    std::string("net_tap-x.1")})
        EXPECT_EQ(device_errors(good), std::vector<std::string>{}) << good;
}

TEST(ConfigErrors, ControlSocketModeGivesOthersNothing) {
    const std::string base = one_service("    port: 80\n    protocol: tcp\n" + std::string(kOneReal));  // 10 lines
    for (const char* bad : {"0777", "0666", "0662", "0604", "0601", "0002", "707"})
        EXPECT_EQ(errors_of(base + "control:\n  mode: \"" + bad + "\"\n"),
                  std::vector<std::string>{"t.yaml:12:9: control.mode: expected a mode that gives others no permission "
                                           "(anyone who can connect may reload, drain and set weights), got \"" +
                                           std::string(bad) + "\""})
            << bad;
    for (const auto& [good, mode] : std::vector<std::pair<std::string, uint32_t>>{
             {"\"0600\"", 0600}, {"\"0660\"", 0660}, {"\"0640\"", 0640},
             {"\"0770\"", 0770}, {"\"0000\"", 0}, {"700", 0700}})
        EXPECT_EQ(load_config_string(base + "control:\n  mode: " + good + "\n", "t.yaml").control.mode, mode) << good;
}

TEST(ConfigPrime, IsPrimeAndNextPrime) {
    for (uint32_t p : {2u, 3u, 251u, 65537u, 1048573u}) EXPECT_TRUE(is_prime(p)) << p;
    for (uint32_t n : {0u, 1u, 4u, 255u, 65536u, 1048575u}) EXPECT_FALSE(is_prime(n)) << n;
    EXPECT_EQ(next_prime(65536), 65537u);
    EXPECT_EQ(next_prime(251), 251u);
    EXPECT_EQ(next_prime(1048572), 1048573u);
}

// ---- hostile YAML: every one must fail fast with a ConfigError ----

// errors_of, which must return: within_deadline (deadline.h) fails the run on a hang (yaml-cpp's
// LoadAll looped forever on some of these).
std::vector<std::string> errors_within_deadline(const std::string& text, const std::string& what) {
    return test::within_deadline([&text] { return errors_of(text, "t.yaml"); }, "loading " + what);
}

const char* const kValidConfig =
    "ports:\n  - name: lan0\n    device: net_af_packet0\n"
    "services:\n  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n"
    "    real_servers:\n      - ip: 10.0.0.11\n        mac: 02:00:00:00:00:11\n";  // 10 lines

TEST(ConfigYamlGuards, ValidConfigStillLoads) {
    EXPECT_EQ(errors_within_deadline(kValidConfig, "the valid config"), std::vector<std::string>{});
    EXPECT_EQ(errors_within_deadline(std::string("---\n") + kValidConfig + "...\n", "--- config ..."),
              std::vector<std::string>{});
}

TEST(ConfigYamlGuards, LoneComma) {
    EXPECT_EQ(errors_within_deadline(",", "\",\""), std::vector<std::string>{"t.yaml:1:1: yaml: unexpected \",\""});
}

TEST(ConfigYamlGuards, ValidConfigThenDocumentOfComma) {
    EXPECT_EQ(errors_within_deadline(std::string(kValidConfig) + "---\n,\n", "config --- ,"),
              std::vector<std::string>{"t.yaml:12:1: (root): expected one YAML document, got 2 or more"});
}

TEST(ConfigYamlGuards, ValidConfigThenSecondDocument) {
    EXPECT_EQ(errors_within_deadline(std::string(kValidConfig) + "---\n" + kValidConfig, "config --- config"),
              std::vector<std::string>{"t.yaml:12:1: (root): expected one YAML document, got 2"});
    EXPECT_EQ(errors_within_deadline(std::string(kValidConfig) + "---\na: 1\n---\nb: 2\n", "three documents"),
              std::vector<std::string>{"t.yaml:12:1: (root): expected one YAML document, got 2 or more"});
}

TEST(ConfigYamlGuards, HostileShortInputs) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {",,", "t.yaml:1:1: yaml: unexpected \",\""},
        {"\n\n  ,", "t.yaml:3:3: yaml: unexpected \",\""},
        {"- a\n,", "t.yaml:2:1: yaml: unexpected \",\""},
        {"&a ,", "t.yaml:1:4: yaml: unexpected \",\""},
        {"\"a\" ,", "t.yaml:1:5: yaml: unexpected \",\""},
        // yaml-cpp's positions start after a byte order mark.
        {std::string("\xEF\xBB\xBF") + "- a\n,", "t.yaml:2:1: yaml: unexpected \",\""},
        {std::string("\xEF\xBB\xBF") + "&a ,", "t.yaml:1:4: yaml: unexpected \",\""},
        {std::string("\xEF\xBB\xBF") + std::string(65, '['), "t.yaml:1:65: yaml: [ and { nested more than 64 deep"},
        {"!|\n? ", "t.yaml:2:1: yaml: unexpected \"?\""},
        {"[", "t.yaml:1:1: yaml: end of sequence flow not found"},
        {"{", "t.yaml:1:1: yaml: end of map flow not found"},
        {"- ,", "t.yaml:1:3: yaml: end of sequence not found"},
        {"]", "t.yaml:1:1: yaml: illegal flow end"},
        {"ports: []\n,", "t.yaml:2:1: yaml: end of map not found"},
        {std::string(kValidConfig) + "---\n[", "t.yaml:12:1: yaml: end of sequence flow not found"},
    };
    for (const auto& [text, expected] : cases)
        EXPECT_EQ(errors_within_deadline(text, double_quoted(text)), std::vector<std::string>{expected})
            << double_quoted(text);
}

TEST(ConfigYamlGuards, TenMegabytesOfHostileText) {
    const size_t ten_mb = 10u << 20;
    EXPECT_EQ(errors_within_deadline(std::string(ten_mb, '['), "10 MB of ["),
              std::vector<std::string>{"t.yaml:1:65: yaml: [ and { nested more than 64 deep"});
    EXPECT_EQ(errors_within_deadline(std::string(ten_mb, '{'), "10 MB of {"),
              std::vector<std::string>{"t.yaml:1:65: yaml: [ and { nested more than 64 deep"});
    EXPECT_EQ(errors_within_deadline(std::string(ten_mb, ','), "10 MB of ,"),
              std::vector<std::string>{"t.yaml:1:1: yaml: unexpected \",\""});
    std::string sparse;
    while (sparse.size() < ten_mb) sparse += "[a, ";  // the 65th "[" is at column 64 * 4 + 1
    EXPECT_EQ(errors_within_deadline(sparse, "10 MB of \"[a, \""),
              std::vector<std::string>{"t.yaml:1:257: yaml: [ and { nested more than 64 deep"});
    EXPECT_EQ(errors_within_deadline(std::string(kValidConfig) + "---\n" + std::string(ten_mb, '['),
                                     "config --- 10 MB of ["),
              std::vector<std::string>{"t.yaml:12:65: yaml: [ and { nested more than 64 deep"});
}

TEST(ConfigYamlGuards, NestingLimitIsExact) {
    // 64 levels are left to yaml-cpp (which parses them; the schema then refuses a list for ports).
    auto errs = errors_within_deadline("ports: " + std::string(64, '[') + std::string(64, ']') + "\nservices: []\n",
                                       "64 levels");
    EXPECT_EQ(errs, (std::vector<std::string>{"t.yaml:1:9: ports[0]: expected a map, got a list",
                                              "t.yaml:2:11: services: expected at least one entry"}));
    EXPECT_EQ(errors_within_deadline("ports: " + std::string(65, '[') + std::string(65, ']') + "\n", "65 levels"),
              std::vector<std::string>{"t.yaml:1:72: yaml: [ and { nested more than 64 deep"});
}

TEST(ConfigYamlGuards, BracketsInsideStringsAreNotNesting) {
    const std::string many(100, '[');
    // A double-quoted path with an escaped quote, a single-quoted one with a doubled quote, a plain
    // scalar, a comment, and a block scalar: none of their brackets open anything.
    Config c = load_config_string(
        std::string(kPortsYaml) + "# " + many + "\nservices:\n  - vip: 10.0.0.100  # " + many +
            "\n    port: 80\n    protocol: tcp\n    real_servers:\n"
            "      - ip: 10.0.0.11\n        health_check:\n          type: http\n"
            "          path: \"/\\\"" + many + "\"\n"
            "      - ip: 10.0.0.12\n        health_check:\n          type: http\n"
            "          path: '/''" + many + "'\n"
            "      - ip: 10.0.0.13\n        health_check:\n          type: http\n"
            "          path: /a" + many + "\n"
            "      - ip: 10.0.0.14\n        health_check:\n          type: misc\n"
            "          script: >\n            /bin/check " + many + "\n\n            " + many + "\n",
        "s.yaml");
    ASSERT_EQ(c.services.size(), 1u);
    ASSERT_EQ(c.services[0].reals.size(), 4u);
    EXPECT_EQ(c.services[0].reals[0].health_check->path, "/\"" + many);
    EXPECT_EQ(c.services[0].reals[1].health_check->path, "/'" + many);
    EXPECT_EQ(c.services[0].reals[2].health_check->path, "/a" + many);
    EXPECT_EQ(c.services[0].reals[3].health_check->script, "/bin/check " + many + "\n" + many + "\n");
}

// ---- fixed_field_changes ----

// One service and the ports `ports` (two by default: lan0 with two addresses, lan1 without); `tail` ends the file.
Config fixed_base(const std::string& ports = "", const std::string& tail = "") {
    const std::string default_ports =
        "  - name: lan0\n    device: net_af_packet0\n    addresses: [10.0.0.2/24, 2001:db8::2/64]\n"
        "  - name: lan1\n    device: net_af_packet1\n";
    return load_config_string("ports:\n" + (ports.empty() ? default_ports : ports) +
                                  "services:\n  - vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n" + kOneReal +
                                  tail,
                              "f.yaml");
}

TEST(ConfigFixedFields, SameFileNoChanges) {
    EXPECT_EQ(fixed_field_changes(fixed_base(), fixed_base()), std::vector<std::string>{});
}

TEST(ConfigFixedFields, EveryFixedFieldChanged) {
    const Config running = fixed_base("", "conn_table:\n  ipv4_entries: 262144\n  ipv6_entries: 65536\n");
    const Config next = fixed_base(
        "  - name: wan0\n    device: net_af_packet9\n    addresses: [10.0.0.2/25, 2001:db8::2/64]\n"
        "    exception_path: tap\n"
        "  - name: wan1\n    device: net_pcap1\n    addresses: [10.1.0.2/24]\n    exception_path: tap\n",
        "conn_table:\n  ipv4_entries: 1024\n  ipv6_entries: 2048\n"
        "control:\n  socket: /tmp/other.sock\n  mode: \"0660\"\n"
        "metrics:\n  listen: 127.0.0.1:9643\n");
    const std::vector<std::string> expected = {
        "ports[0].name",           "ports[0].device",         "ports[0].addresses", "ports[0].exception_path",
        "ports[1].name",           "ports[1].device",         "ports[1].addresses", "ports[1].exception_path",
        "conn_table.ipv4_entries", "conn_table.ipv6_entries", "control.socket",     "control.mode",
        "metrics.listen",
    };
    EXPECT_EQ(fixed_field_changes(running, next), expected);
    // Which way round makes no difference to the names.
    EXPECT_EQ(fixed_field_changes(next, running), expected);
}

TEST(ConfigFixedFields, PortCount) {
    const Config two = fixed_base();
    const Config one = fixed_base("  - name: lan0\n    device: net_af_packet0\n"
                                  "    addresses: [10.0.0.2/24, 2001:db8::2/64]\n");
    const Config three = fixed_base("  - name: lan0\n    device: net_af_packet0\n"
                                    "    addresses: [10.0.0.2/24, 2001:db8::2/64]\n"
                                    "  - name: lan1\n    device: net_af_packet1\n"
                                    "  - name: lan2\n    device: net_af_packet2\n");
    EXPECT_EQ(fixed_field_changes(two, one), std::vector<std::string>{"ports"});
    EXPECT_EQ(fixed_field_changes(two, three), std::vector<std::string>{"ports"});
    // lan0 removed: lan1 moves to index 0, and that is a change of index 0.
    const Config lan1_only = fixed_base("  - name: lan1\n    device: net_af_packet1\n");
    EXPECT_EQ(fixed_field_changes(two, lan1_only),
              (std::vector<std::string>{"ports", "ports[0].name", "ports[0].device", "ports[0].addresses"}));
}

TEST(ConfigFixedFields, AddressesCompareInOrderWithPrefix) {
    auto with_addresses = [](const std::string& list) {
        return fixed_base("  - name: lan0\n    device: net_af_packet0\n    addresses: " + list + "\n");
    };
    const Config a = with_addresses("[10.0.0.2/24, 10.0.1.2/24]");
    EXPECT_EQ(fixed_field_changes(a, with_addresses("[10.0.0.2/24, 10.0.1.2/24]")), std::vector<std::string>{});
    EXPECT_EQ(fixed_field_changes(a, with_addresses("[10.0.1.2/24, 10.0.0.2/24]")),
              std::vector<std::string>{"ports[0].addresses"});
    EXPECT_EQ(fixed_field_changes(a, with_addresses("[10.0.0.2/24, 10.0.1.2/23]")),
              std::vector<std::string>{"ports[0].addresses"});
    EXPECT_EQ(fixed_field_changes(a, with_addresses("[10.0.0.2/24]")), std::vector<std::string>{"ports[0].addresses"});
    EXPECT_EQ(fixed_field_changes(a, fixed_base("  - name: lan0\n    device: net_af_packet0\n")),
              std::vector<std::string>{"ports[0].addresses"});
}

TEST(ConfigFixedFields, SpellingsOfTheSameValueAreNoChange) {
    const Config running = fixed_base();
    // auto resolves to off for net_af_packet; 600 and "0600" are one mode; the defaults written out.
    const Config next = fixed_base(
        "  - name: lan0\n    device: net_af_packet0\n    addresses: [10.0.0.2/24, 2001:db8::2/64]\n"
        "    exception_path: off\n"
        "  - name: lan1\n    device: net_af_packet1\n    exception_path: auto\n",
        "conn_table:\n  ipv4_entries: 262144\n  ipv6_entries: 65536\n"
        "control:\n  socket: /run/dplb/dplb.sock\n  mode: 600\n"
        "metrics:\n  listen: 127.0.0.1:9642\n");
    EXPECT_EQ(fixed_field_changes(running, next), std::vector<std::string>{});
}

TEST(ConfigFixedFields, MetricsOffIsAListenChange) {
    const Config on = fixed_base();
    const Config off = fixed_base("", "metrics:\n  listen: off\n");
    EXPECT_EQ(fixed_field_changes(on, off), std::vector<std::string>{"metrics.listen"});
    EXPECT_EQ(fixed_field_changes(off, on), std::vector<std::string>{"metrics.listen"});
    EXPECT_EQ(fixed_field_changes(on, fixed_base("", "metrics:\n  listen: \"[::1]:9642\"\n")),
              std::vector<std::string>{"metrics.listen"});
}

TEST(ConfigFixedFields, RuntimeFieldsAreNotReported) {
    const Config running = fixed_base();
    // Services, reals, scheduler, timeouts, expire_nodest_conn and VRRP all change while dplbd runs.
    const Config next = load_config_string(
        "ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [10.0.0.2/24, 2001:db8::2/64]\n"
        "  - name: lan1\n    device: net_af_packet1\n"
        "services:\n  - name: dns\n    vip: 10.0.0.101\n    port: 53\n    protocol: udp\n    scheduler: mh\n"
        "    timeouts:\n      udp: 60\n"
        "    real_servers:\n      - ip: 10.0.0.21\n        weight: 5\n"
        "expire_nodest_conn: true\n"
        "vrrp_instances:\n  - name: v1\n    interface: lan1\n    virtual_router_id: 7\n"
        "    virtual_ipaddresses: [10.0.0.101]\n",
        "n.yaml");
    EXPECT_EQ(fixed_field_changes(running, next), std::vector<std::string>{});
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
                                  "      - ip: 10.0.0.13\n        port: 80\n        mac: 02:00:00:00:00:13\n"
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
    EXPECT_EQ(a.vip_slot, 0);
    EXPECT_EQ(a.dests, (std::vector<uint16_t>{0, 1, 2}));

    const dplb::Service& b = snap.services[1];
    EXPECT_EQ(b.id, 1);
    EXPECT_EQ(b.proto, kProtoUdp);
    EXPECT_EQ(b.sched, Sched::wlc);
    EXPECT_EQ(b.persistence_ms, 0u);
    EXPECT_FALSE(b.answer_arp);
    EXPECT_EQ(b.vip_slot, 1);
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
    EXPECT_EQ(snap.dests[2].port, 80);
    EXPECT_EQ(snap.dests[1].weight, 0);

    EXPECT_EQ(snap.find_service4(a.vip.v4_be(), 80, kProtoTcp), &snap.services[0]);
    EXPECT_EQ(snap.find_service4(b.vip.v4_be(), 53, kProtoUdp), &snap.services[1]);
    EXPECT_EQ(snap.find_service4(b.vip.v4_be(), 53, kProtoTcp), nullptr);
}

TEST(SnapshotBuilder, SchedTablesBuilt) {
    const Snapshot snap = build_snapshot(two_services());
    const dplb::Service& a = snap.services[0];
    // The configured size, filled with this service's weighted reals only.
    ASSERT_EQ(a.tables->mh.size(), 251u);
    for (uint16_t id : a.tables->mh) EXPECT_TRUE(id == 0 || id == 2) << id;
    EXPECT_NE(std::find(a.tables->mh.begin(), a.tables->mh.end(), 0), a.tables->mh.end());
    EXPECT_NE(std::find(a.tables->mh.begin(), a.tables->mh.end(), 2), a.tables->mh.end());
    // wrr with weights 3:0:1 gives a cycle of 3 and 1.
    EXPECT_EQ(std::count(a.tables->wrr_seq.begin(), a.tables->wrr_seq.end(), 0), 3);
    EXPECT_EQ(std::count(a.tables->wrr_seq.begin(), a.tables->wrr_seq.end(), 2), 1);
    EXPECT_EQ(a.tables->wrr_seq.size(), 4u);
    for (uint16_t id : a.tables->sh) EXPECT_TRUE(id == 0 || id == 2) << id;
    EXPECT_FALSE(a.tables->sh.empty());
    // No real with weight: nothing to hash to.
    const dplb::Service& b = snap.services[1];
    EXPECT_TRUE(b.tables->mh.empty());
    EXPECT_TRUE(b.tables->sh.empty());
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
