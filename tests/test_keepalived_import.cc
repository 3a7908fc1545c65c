// keepalived.conf -> YAML: the corpus of hand-written configurations with their exact output and
// warnings, the corpus of broken ones with their exact errors, and the rules one at a time.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "config.h"
#include "deadline.h"
#include "import_corpus.h"
#include "keepalived_import.h"

#ifndef DPLB_SOURCE_ROOT
#define DPLB_SOURCE_ROOT "."
#endif

namespace dplb::config {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = DPLB_SOURCE_ROOT;
const fs::path kCorpus = kRoot + "/config/examples/keepalived";

using testing::read_text;

std::string join(const std::vector<std::string>& lines) { return testing::join_lines(lines); }

// The messages import_keepalived throws for `text`, or an empty list when it converts.
std::vector<std::string> errors_of(const std::string& text, const std::string& name = "k.conf",
                                   const KeepalivedImportOptions& o = {}) {
    try {
        import_keepalived(text, name, o);
    } catch (const ConfigError& e) {
        return e.errors;
    }
    return {};
}

// Converts `text`, which must convert, and checks that the result loads.
ImportResult convert(const std::string& text, const std::string& name = "k.conf", const KeepalivedImportOptions& o = {}) {
    try {
        ImportResult r = import_keepalived(text, name, o);
        EXPECT_NO_THROW(load_config_string(r.yaml, name)) << r.yaml;
        return r;
    } catch (const ConfigError& e) {
        ADD_FAILURE() << e.what();
        return {};
    }
}

bool has_warning(const ImportResult& r, const std::string& part) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

// A virtual_server on 10.0.0.100:80 with one real server whose block is `real` and whose own
// block adds `vs`; enough around it to convert.
std::string one_vs(const std::string& vs, const std::string& real = "        weight 1\n") {
    return "virtual_server 10.0.0.100 80 {\n    lb_kind DR\n" + vs + "    real_server 10.0.0.11 80 {\n" + real +
           "    }\n}\n";
}

// A hook for another host: converted as written (the import does not look for programs); dplbd,
// which does, names the line when it loads the file on a host without it.
TEST(KeepalivedImport, ScriptProgramsAreNotLookedFor) {
    ImportResult r = import_keepalived(one_vs("", "        notify_down \"/nonexistent/rs_down.sh 10.0.0.11\"\n"), "k.conf");
    EXPECT_NE(r.yaml.find("notify_down: \"/nonexistent/rs_down.sh 10.0.0.11\""), std::string::npos) << r.yaml;
    LoadOptions lenient;
    lenient.check_programs = false;
    EXPECT_NO_THROW(load_config_string(r.yaml, "k.yaml", lenient));
    try {
        load_config_string(r.yaml, "k.yaml");
        ADD_FAILURE() << "a missing program loaded";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.errors.size(), 1u);
        EXPECT_NE(e.errors[0].find("services[0].real_servers[0].notify_down: expected a command line whose program is "
                                   "an absolute path to an executable file"),
                  std::string::npos)
            << e.errors[0];
        EXPECT_EQ(e.errors[0].rfind("k.yaml:", 0), 0u) << e.errors[0];
    }
    // A program keepalived would look up in its PATH: warned about, not converted.
    ImportResult rel = convert(one_vs("", "        notify_up \"notify.sh up\"\n"));
    EXPECT_EQ(rel.yaml.find("notify_up"), std::string::npos) << rel.yaml;
    EXPECT_TRUE(has_warning(rel, "k.conf:4: notify_up: not converted (the program `notify.sh` is not an absolute path"))
        << join(rel.warnings);
}
// The corpus converts as `dplbctl import-keepalived` does a file in its folder: includes resolve there.
// A FILE.options beside it holds the command line's options for it, one "--fwmark N=VIP:PORTS" or
// "--config-id ID" a line.
testing::Importer in_folder(const fs::path& dir) {
    return [dir](const std::string& text, const std::string& name) {
        KeepalivedImportOptions o;
        o.base_dir = dir.string();
        fs::path options = dir / name;
        options.replace_extension(".options");
        if (fs::exists(options)) {
            std::istringstream lines(read_text(options));
            std::string opt, value;
            while (lines >> opt >> value) {
                if (opt == "--fwmark") EXPECT_EQ(add_fwmark_option(value, o), "") << options;
                else if (opt == "--config-id") o.config_id = value;
                else ADD_FAILURE() << options << ": unknown option " << opt;
            }
        }
        return import_keepalived(text, name, o);
    };
}

TEST(KeepalivedImport, GoldenCorpus) { EXPECT_GE(testing::check_good_corpus(kCorpus, ".conf", in_folder(kCorpus)), 6); }

TEST(KeepalivedImport, GoldenBadCorpus) {
    EXPECT_GE(testing::check_bad_corpus(kCorpus / "bad", ".conf", in_folder(kCorpus / "bad"),
                                        std::regex(R"([a-z_]+\.conf:[0-9]+:[0-9]+: .+)")),
              5);
}

TEST(KeepalivedImport, FwmarkOption) {
    KeepalivedImportOptions o;
    EXPECT_EQ(add_fwmark_option("7=10.0.0.100:80,443", o), "");
    EXPECT_EQ(add_fwmark_option("8=[2001:db8::8]:53", o), "");
    ASSERT_EQ(o.fwmarks.size(), 2u);
    EXPECT_EQ(o.fwmarks[7].vip, *IpAddr::parse("10.0.0.100"));
    EXPECT_EQ(o.fwmarks[7].ports, (std::vector<uint16_t>{80, 443}));
    EXPECT_EQ(o.fwmarks[8].vip, *IpAddr::parse("2001:db8::8"));
    EXPECT_EQ(o.fwmarks[8].ports, std::vector<uint16_t>{53});
    const std::string form = " (expected N=VIP:PORT[,PORT...], e.g. 7=10.0.0.100:80,443)";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"7=10.0.0.1:80", "--fwmark 7=10.0.0.1:80: mark 7 is given twice"},
        {"10.0.0.1:80", "--fwmark 10.0.0.1:80: no '='" + form},
        {"0=10.0.0.1:80", "--fwmark 0=10.0.0.1:80: expected a mark 1..4294967295, got \"0\"" + form},
        {"9=10.0.0.1", "--fwmark 9=10.0.0.1: no ':' before the ports" + form},
        {"9=host:80", "--fwmark 9=host:80: expected an IPv4 or IPv6 address, got \"host\"" + form},
        {"9=127.0.0.1:80", "--fwmark 9=127.0.0.1:80: 127.0.0.1 cannot be a vip (loopback)"},
        {"9=10.0.0.1:80,", "--fwmark 9=10.0.0.1:80,: expected a port 1..65535, got \"\"" + form},
        {"9=10.0.0.1:80,80", "--fwmark 9=10.0.0.1:80,80: port 80 is given twice"},
        {"9=[2001:db8::1]80", "--fwmark 9=[2001:db8::1]80: expected [IPv6]:PORTS" + form},
    };
    for (const auto& [value, want] : bad) EXPECT_EQ(add_fwmark_option(value, o), want);
    EXPECT_EQ(o.fwmarks.size(), 2u) << "a refused value adds nothing";
}

// An IPv6 range runs over the address's last group, in hex, both ends included.
TEST(KeepalivedImport, GroupRangeOfIpv6) {
    ImportResult r = convert(
        "virtual_server_group v6 {\n    2001:db8::fe-101 443\n}\n"
        "virtual_server group v6 {\n    lb_kind DR\n    real_server 2001:db8::11 443 {\n    }\n}\n");
    Config c = load_config_string(r.yaml, "v6.yaml");
    ASSERT_EQ(c.services.size(), 4u) << r.yaml;
    const char* want[] = {"2001:db8::fe", "2001:db8::ff", "2001:db8::100", "2001:db8::101"};
    for (size_t i = 0; i < 4; i++) {
        EXPECT_EQ(c.services[i].vip, *IpAddr::parse(want[i]));
        EXPECT_EQ(c.services[i].port, 443);
        ASSERT_EQ(c.services[i].reals.size(), 1u);
    }
    EXPECT_TRUE(has_warning(r, "k.conf:4: virtual_server group v6: converted into 4 services")) << join(r.warnings);
    EXPECT_EQ(errors_of("virtual_server_group v6 {\n    2001:db8::fe-fd 443\n}\n"),
              std::vector<std::string>{"k.conf:2:5: virtual_server_group: expected a range's last group (hex) from "
                                       "the first address's, got \"fd\""});
}

// The smallest useful conversion, whole.
TEST(KeepalivedImport, Minimal) {
    ImportResult r = convert(
        "vrrp_instance VI_1 {\n"
        "    interface eth0\n"
        "    virtual_router_id 51\n"
        "    virtual_ipaddress {\n        10.0.0.100\n    }\n"
        "}\n" +
            one_vs("    lb_algo rr\n"),
        "m.conf");
    EXPECT_EQ(r.yaml,
              "# Converted from m.conf by dplb's keepalived import. Read its warnings before use.\n"
              "ports:\n"
              "  - name: eth0\n"
              "    device: net_af_packet0\n"
              "services:\n"
              "  # m.conf:8: virtual_server 10.0.0.100 80\n"
              "  - vip: 10.0.0.100\n"
              "    port: 80\n"
              "    protocol: tcp\n"
              "    scheduler: rr\n"
              "    real_servers:\n"
              "      - ip: 10.0.0.11\n"
              "        weight: 1\n"
              "vrrp_instances:\n"
              "  # m.conf:1: vrrp_instance VI_1\n"
              "  - name: VI_1\n"
              "    interface: eth0\n"
              "    virtual_router_id: 51\n"
              "    virtual_ipaddresses:\n"
              "      - 10.0.0.100\n");
    EXPECT_EQ(r.warnings, std::vector<std::string>{"m.conf:2: interface eth0: becomes port \"eth0\" on device "
                                                   "net_af_packet0; run dplbd with --vdev net_af_packet0,iface=eth0 "
                                                   "or set device to the NIC's PCI address, and list the director's "
                                                   "own address on it under addresses"});
}

TEST(KeepalivedImport, Deterministic) {
    const std::string text = read_text(kCorpus / "messy.conf");
    ImportResult a = in_folder(kCorpus)(text, "messy.conf");
    ImportResult b = in_folder(kCorpus)(text, "messy.conf");
    EXPECT_EQ(a.yaml, b.yaml);
    EXPECT_EQ(a.warnings, b.warnings);
}

TEST(KeepalivedImport, CommentsQuotesAndLayout) {
    // '#' and '!' start comments outside quotes only; quotes keep spaces and may sit inside a word;
    // "{" may sit on the next line, and a block may sit on one line.
    ImportResult r = convert(
        "# comment\n! comment too\n"
        "virtual_server 10.0.0.100 80   # trailing\n"
        "{\n"
        "\tlb_kind DR ! trailing\n"
        "  real_server 10.0.0.11 80 { MISC_CHECK { misc_path \"/bin/check #1\"' a b'!x\n"
        "  } }\n"
        "}\r\n");
    EXPECT_NE(r.yaml.find("script: \"/bin/check #1 a b\"\n"), std::string::npos) << r.yaml;
}

TEST(KeepalivedImport, OptionsInheritedFromVirtualToRealToChecker) {
    ImportResult r = convert(
        "virtual_server 10.0.0.100 80 {\n    lb_kind DR\n    delay_loop 7\n"
        "    connect_timeout 9\n    retry 4\n    delay_before_retry 2\n    warmup 5\n    alpha\n    "
        "inhibit_on_failure\n"
        "    real_server 10.0.0.11 80 {\n        retry 6\n        TCP_CHECK {\n            warmup 1\n        }\n    }\n"
        "    real_server 10.0.0.12 80 {\n        inhibit_on_failure off\n        TCP_CHECK {\n            alpha no\n"
        "        }\n    }\n}\n");
    Config c = load_config_string(r.yaml, "i.yaml");
    const Service& s = c.services.at(0);
    EXPECT_EQ(s.delay_loop_s, 7u);
    const RealServer& a = s.reals.at(0);
    EXPECT_TRUE(a.inhibit_on_failure);
    ASSERT_TRUE(a.health_check);
    EXPECT_EQ(a.health_check->connect_timeout_s, 9u);
    EXPECT_EQ(a.health_check->retry, 6u);
    EXPECT_EQ(a.health_check->delay_before_retry_s, 2u);
    EXPECT_EQ(a.health_check->warmup_s, 1u);
    EXPECT_TRUE(a.health_check->alpha);
    const RealServer& b = s.reals.at(1);
    EXPECT_FALSE(b.inhibit_on_failure);
    EXPECT_EQ(b.health_check->retry, 4u);
    EXPECT_FALSE(b.health_check->alpha);
}

// dplb's defaults for misc and http are not keepalived's; the import writes keepalived's out.
TEST(KeepalivedImport, KeepalivedDefaultsWrittenOut) {
    Config c = load_config_string(
        convert(one_vs("", "        MISC_CHECK {\n            misc_path /bin/true\n        }\n")).yaml, "d.yaml");
    const HealthCheck& m = c.services.at(0).reals.at(0).health_check.value();
    EXPECT_EQ(m.retry, 0u);
    EXPECT_EQ(m.delay_before_retry_s, 1u);
    EXPECT_EQ(m.timeout_s, 60u);  // keepalived's delay_loop
    c = load_config_string(
        convert(one_vs("", "        HTTP_GET {\n            url {\n                path /\n            }\n        }\n"))
            .yaml,
        "d.yaml");
    const HealthCheck& h = c.services.at(0).reals.at(0).health_check.value();
    EXPECT_EQ(h.status_codes.size(), 100u);
    EXPECT_EQ(h.status_codes.front(), 200);
    EXPECT_EQ(h.status_codes.back(), 299);
    EXPECT_EQ(h.retry, 1u);
    EXPECT_EQ(h.delay_before_retry_s, 3u);
}

TEST(KeepalivedImport, FractionalSecondsRoundedUp) {
    ImportResult r =
        convert(one_vs("    delay_loop 2.5\n", "        TCP_CHECK {\n            connect_timeout 0.2\n        }\n"));
    EXPECT_NE(r.yaml.find("    delay_loop: 3\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("          connect_timeout: 1\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has_warning(r, "k.conf:3: delay_loop 2.5: rounded up to 3 seconds (dplb counts whole seconds)"));
    EXPECT_TRUE(has_warning(r, "k.conf:6: connect_timeout 0.2: rounded up to 1 second (dplb counts whole seconds)"));
}

std::string instance(const std::string& body, const std::string& vips = "        10.0.0.100\n") {
    return "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 9\n" + body + "    virtual_ipaddress {\n" +
           vips + "    }\n}\n";
}

TEST(KeepalivedImport, AdvertIntByVersion) {
    ImportResult v2 = convert(instance("    advert_int 0.5\n") + one_vs(""));
    EXPECT_NE(v2.yaml.find("    advert_int: 1\n"), std::string::npos) << v2.yaml;
    EXPECT_TRUE(has_warning(v2, "k.conf:4: advert_int 0.5: rounded up to 1 second (VRRPv2 counts whole seconds)"));
    ImportResult v3 = convert(instance("    version 3\n    advert_int 0.125\n") + one_vs(""));
    EXPECT_NE(v3.yaml.find("    advert_int: 0.13\n    version: 3\n"), std::string::npos) << v3.yaml;
    EXPECT_TRUE(has_warning(v3, "k.conf:5: advert_int: rounded up to 0.13 seconds (VRRPv3 counts centiseconds)"));
    EXPECT_EQ(errors_of(instance("    version 3\n    advert_int 41\n") + one_vs("")),
              std::vector<std::string>{"k.conf:5:1: advert_int: at most 40.95 seconds with VRRPv3, got 41"});
}

TEST(KeepalivedImport, Ipv6InstancesRunVrrpV3) {
    const std::string vs6 =
        "virtual_server 2001:db8::100 80 {\n    lb_kind DR\n    real_server 2001:db8::11 80 {\n"
        "    }\n}\n";
    ImportResult r = convert(instance("    authentication {\n        auth_type PASS\n        auth_pass x\n    }\n",
                                      "        2001:db8::100/64\n") +
                             vs6);
    EXPECT_NE(r.yaml.find("    version: 3\n"), std::string::npos) << r.yaml;
    EXPECT_EQ(r.yaml.find("authentication"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has_warning(r, "k.conf:4: authentication: not converted (VRRPv3 has no authentication)"));
    ImportResult e = convert(instance("    version 2\n", "        2001:db8::100\n") + vs6);
    EXPECT_TRUE(has_warning(e, "k.conf:4: version 2: converted as 3 (IPv6 runs VRRPv3, as keepalived does)"));
}

// A virtual_ipaddress of no virtual_server is the kernel's (a VRRP-only site, or a mixed one): it is
// converted with its prefix length, and an instance with only such addresses is converted too.
TEST(KeepalivedImport, VipsThatAreNoServiceGoToTheKernel) {
    ImportResult r = convert(instance("", "        10.0.0.100\n        10.0.0.1/24 dev eth0\n") +
                             "vrrp_instance VI_2 {\n    interface eth1\n    virtual_router_id 10\n"
                             "    virtual_ipaddress {\n        10.0.0.2\n    }\n}\n" +
                             one_vs(""));
    EXPECT_NE(r.yaml.find("    virtual_ipaddresses:\n      - 10.0.0.100\n      - 10.0.0.1/24\n"), std::string::npos)
        << r.yaml;
    EXPECT_NE(r.yaml.find("  - name: VI_2\n    interface: eth1\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("    virtual_ipaddresses:\n      - 10.0.0.2\n"), std::string::npos) << r.yaml;
    Config c = load_config_string(r.yaml, "k.yaml");
    ASSERT_EQ(c.vrrp_instances.size(), 2u);
    ASSERT_EQ(c.vrrp_instances[0].kernel_addresses.size(), 1u);
    EXPECT_EQ(c.vrrp_instances[0].kernel_addresses[0].ip.str(), "10.0.0.1");
    EXPECT_EQ(c.vrrp_instances[0].kernel_addresses[0].prefix_len, 24);
    ASSERT_EQ(c.vrrp_instances[1].kernel_addresses.size(), 1u);
    EXPECT_EQ(c.vrrp_instances[1].kernel_addresses[0].prefix_len, 32);
}

// A unicast peer that is this director (its unicast_src_ip) or one of the instance's VIPs is left out
// with a warning (the loader refuses both); a multicast one is an error with its position.
TEST(KeepalivedImport, UnicastPeersThatAreNoOtherDirector) {
    const std::string vi = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 61\n"
                           "    unicast_src_ip 10.0.0.2\n    unicast_peer {\n        10.0.0.3\n        10.0.0.2\n"
                           "        10.0.0.100\n    }\n    virtual_ipaddress {\n        10.0.0.100\n    }\n}\n";
    ImportResult r = convert(vi + one_vs(""));
    EXPECT_TRUE(has_warning(r, "k.conf:7: unicast_peer 10.0.0.2: not converted (it is the instance's own unicast_src_ip)"))
        << join(r.warnings);
    EXPECT_TRUE(has_warning(r, "k.conf:8: unicast_peer 10.0.0.100: not converted (it is one of the instance's "
                               "virtual_ipaddress)"))
        << join(r.warnings);
    EXPECT_NE(r.yaml.find("    unicast_peers:\n      - 10.0.0.3\n"), std::string::npos) << r.yaml;
    EXPECT_EQ(r.yaml.find("      - 10.0.0.2\n"), std::string::npos) << r.yaml;
    Config c = load_config_string(r.yaml, "k.yaml");
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    EXPECT_EQ(c.vrrp_instances[0].unicast_peers.size(), 1u);
}

// Options of a service vip's line shape a kernel address that never exists: each goes with a reason.
TEST(KeepalivedImport, KernelOptionsOnAServiceVipAreDropped) {
    ImportResult r = convert(instance("", "        10.0.0.100/24 label eth0:1 scope host brd 10.0.0.255\n") +
                             one_vs(""));
    for (const char* opt : {"label eth0:1", "scope host", "brd 10.0.0.255"})
        EXPECT_TRUE(has_warning(r, std::string("k.conf:5: virtual_ipaddress 10.0.0.100: ") + opt +
                                       " not converted (dplb's data plane answers for a virtual_server's address; "
                                       "the kernel never holds it)"))
            << opt << "\n"
            << ::testing::PrintToString(r.warnings);
    EXPECT_NE(r.yaml.find("    virtual_ipaddresses:\n      - 10.0.0.100\n"), std::string::npos) << r.yaml;
}

TEST(KeepalivedImport, NoInstanceGivesADefaultPort) {
    ImportResult r = convert(one_vs(""), "p.conf");
    EXPECT_NE(r.yaml.find("ports:\n  - name: lan0\n    device: net_af_packet0\n"), std::string::npos) << r.yaml;
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_EQ(r.warnings.back(),
              "p.conf: no vrrp_instance names an interface: wrote port \"lan0\" on device "
              "net_af_packet0; set device to the NIC the virtual servers are reached on");
}

TEST(KeepalivedImport, NothingToConvert) {
    EXPECT_EQ(errors_of("global_defs {\n    router_id x\n}\n", "e.conf"),
              std::vector<std::string>{"e.conf: no virtual_server and no vrrp_instance could be converted, and dplb "
                                       "needs one or the other"});
    EXPECT_EQ(errors_of("", "e.conf"),
              std::vector<std::string>{"e.conf: no virtual_server and no vrrp_instance could be converted, and dplb "
                                       "needs one or the other"});
}

TEST(KeepalivedImport, CollisionsAreErrors) {
    EXPECT_EQ(
        errors_of(instance("") +
                  "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 9\n"
                  "    virtual_ipaddress {\n        10.0.0.101\n    }\n}\n" +
                  one_vs("") + "virtual_server 10.0.0.101 80 {\n    lb_kind DR\n    real_server 10.0.0.11 80\n}\n"),
        std::vector<std::string>{"k.conf:10:5: virtual_router_id 9: already used on eth0 for IPv4 by "
                                 "vrrp_instance VI_1 at line 1"});
    EXPECT_EQ(errors_of(one_vs("") + one_vs("")),
              std::vector<std::string>{"k.conf:7:1: virtual_server 10.0.0.100 80: duplicate of the virtual_server at "
                                       "line 1"});
}

TEST(KeepalivedImport, RepeatedKeywordKeepsTheLast) {
    ImportResult r = convert(one_vs("    lb_algo rr\n    lb_algo sh\n"));
    EXPECT_NE(r.yaml.find("    scheduler: sh\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has_warning(r, "k.conf:4: lb_algo: given again; this one replaces the one at line 3"));
}

TEST(KeepalivedImport, EveryIpvsSchedulerMapsToItself) {
    for (const char* algo :
         {"rr", "wrr", "lc", "wlc", "sh", "mh", "sed", "nq", "fo", "ovf", "dh", "twos", "lblc", "lblcr"}) {
        ImportResult r = convert(one_vs(std::string("    lb_algo ") + algo + "\n"));
        EXPECT_NE(r.yaml.find(std::string("    scheduler: ") + algo + "\n"), std::string::npos) << algo << "\n" << r.yaml;
        EXPECT_FALSE(has_warning(r, std::string("k.conf:3: lb_algo ") + algo)) << algo;
        // What it emits loads.
        EXPECT_NO_THROW(load_config_string(r.yaml, "imported.yaml")) << algo;
    }
}

TEST(KeepalivedImport, UnsupportedForwarding) {
    ImportResult r = convert(
        "virtual_server 10.0.0.100 80 {\n    lb_algo lblcr\n    lb_kind TUN\n"
        "    real_server 10.0.0.11 80 {\n        lvs_method NAT\n    }\n}\n");
    EXPECT_NE(r.yaml.find("    scheduler: lblcr\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has_warning(r, "k.conf:3: lb_kind TUN: converted as DR"));
    EXPECT_TRUE(has_warning(r, "k.conf:5: lvs_method NAT: converted as DR"));
    ImportResult none = convert("virtual_server 10.0.0.100 80 {\n    real_server 10.0.0.11 80\n}\n");
    EXPECT_TRUE(has_warning(none, "k.conf:1: virtual_server 10.0.0.100 80: no lb_kind, which keepalived takes as NAT"));
}

// ops, persistence_granularity, the sh / mh flag keywords (and keepalived's flag-1 / flag-2 for
// them) and uthreshold / lthreshold become their dplb keys, and what comes out loads.
TEST(KeepalivedImport, IpvsServiceAndRealOptions) {
    ImportResult r = convert(
        "virtual_server 10.0.0.100 53 {\n    lb_kind DR\n    protocol UDP\n    lb_algo sh\n    ops\n"
        "    sh-port\n    flag-1\n    persistence_granularity 255.255.255.0\n"
        "    real_server 10.0.0.11 53 {\n        uthreshold 100\n        lthreshold 80\n    }\n}\n");
    EXPECT_NE(r.yaml.find("    persistence_timeout: 360\n    persistence_granularity: 255.255.255.0\n    ops: true\n"
                          "    scheduler_flags: [sh-port, sh-fallback]\n"),
              std::string::npos)
        << r.yaml;
    EXPECT_NE(r.yaml.find("        u_threshold: 100\n        l_threshold: 80\n"), std::string::npos) << r.yaml;
    for (const char* kw : {"ops", "sh-port", "flag-1", "persistence_granularity", "uthreshold", "lthreshold"})
        EXPECT_FALSE(has_warning(r, std::string(": ") + kw)) << kw;
    Config cfg = load_config_string(r.yaml, "imported.yaml");
    EXPECT_EQ(cfg.services[0].sched_flags, kSchedFlagFallback | kSchedFlagPort);
    EXPECT_EQ(cfg.services[0].persistence_prefix_len, 24);
    EXPECT_TRUE(cfg.services[0].ops);
    EXPECT_EQ(cfg.services[0].reals[0].u_threshold, 100u);
    EXPECT_EQ(cfg.services[0].reals[0].l_threshold, 80u);

    // ops on TCP, an sh flag under mh, lthreshold without uthreshold: each said and left out.
    ImportResult w = convert(one_vs("    lb_algo mh\n    ops\n    sh-port\n    mh-fallback\n", "        lthreshold 5\n"));
    EXPECT_TRUE(has_warning(w, "k.conf:4: ops: not converted (one-packet scheduling applies to UDP services only)"));
    EXPECT_TRUE(has_warning(w, "k.conf:5: sh-port: not converted (it has no meaning for scheduler mh)"));
    EXPECT_TRUE(has_warning(w, "k.conf:8: lthreshold 5: not converted (it needs a uthreshold)"));
    EXPECT_NE(w.yaml.find("    scheduler_flags: [mh-fallback]\n"), std::string::npos) << w.yaml;
    EXPECT_EQ(w.yaml.find("ops:"), std::string::npos) << w.yaml;
    EXPECT_EQ(w.yaml.find("l_threshold"), std::string::npos) << w.yaml;
    EXPECT_NO_THROW(load_config_string(w.yaml, "imported.yaml"));
}

TEST(KeepalivedImport, UnconvertibleVirtualServersAreSkipped) {
    ImportResult r = convert(one_vs("") +
                             "virtual_server 10.0.0.100 5060 {\n    protocol SCTP\n"
                             "    real_server 10.0.0.11 5060\n}\n"
                             "virtual_server 10.0.0.100 81 {\n    lb_kind DR\n}\n");
    EXPECT_TRUE(has_warning(r,
                            "k.conf:7: virtual_server 10.0.0.100 5060: not converted (dplb balances TCP and UDP, "
                            "not SCTP), nor are its real servers"));
    EXPECT_TRUE(has_warning(r,
                            "k.conf:11: virtual_server 10.0.0.100 81: not converted (it has no real_server, and "
                            "dplb needs one)"));
    EXPECT_EQ(load_config_string(r.yaml, "u.yaml").services.size(), 1u);
}

TEST(KeepalivedImport, PortlessPersistentService) {
    ImportResult r = convert(
        "virtual_server 10.0.0.100 {\n    lb_kind DR\n    persistence_timeout 600\n"
        "    real_server 10.0.0.11 {\n        TCP_CHECK {\n            connect_port 22\n"
        "        }\n    }\n}\n");
    Config c = load_config_string(r.yaml, "p.yaml");
    EXPECT_EQ(c.services.at(0).port, 0);
    EXPECT_EQ(c.services[0].persistence_timeout_s, 600u);
    EXPECT_EQ(c.services[0].reals.at(0).health_check->connect_port, 22);
    // Without connect_port there is nothing to connect to.
    EXPECT_EQ(errors_of("virtual_server 10.0.0.100 {\n    persistence_timeout\n    real_server 10.0.0.11 {\n"
                        "        TCP_CHECK {\n        }\n    }\n}\n"),
              std::vector<std::string>{"k.conf:4:9: TCP_CHECK: connect_port missing (the real server has no port to "
                                       "check)"});
}

TEST(KeepalivedImport, DefinitionsAreSubstituted) {
    // $NAME and ${NAME}, a definition using another, a multi-line one standing for several lines;
    // lines keep their own numbers in the comments.
    ImportResult r = convert(
        "$VIP=10.0.0.100\n"
        "$PORT=80\n"
        "$EP=$VIP ${PORT}\n"
        "$REAL=real_server 10.0.0.11 $PORT { \\\n"
        "    weight 3 \\\n"
        "}\n"
        "virtual_server $EP {\n"
        "    lb_kind DR\n"
        "    $REAL\n"
        "}\n");
    EXPECT_NE(r.yaml.find("  # k.conf:7: virtual_server 10.0.0.100 80\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("      - ip: 10.0.0.11\n        weight: 3\n"), std::string::npos) << r.yaml;
    // A script's "$1" or a lone "$" is no name.
    r = convert(one_vs("", "        MISC_CHECK {\n            misc_path \"/bin/c $1 $\"\n        }\n"));
    EXPECT_NE(r.yaml.find("script: \"/bin/c $1 $\"\n"), std::string::npos) << r.yaml;
}

TEST(KeepalivedImport, SeqAndLstRepeatALine) {
    ImportResult r = convert(
        "virtual_server 10.0.0.100 80 {\n    lb_kind DR\n"
        "~SEQ(N, 11, 2, 15) real_server 10.0.0.$N 80 { }\n"
        "~LST(H, 20, 21) real_server 10.0.0.${H} 80 { }\n"
        "}\n");
    EXPECT_NE(r.yaml.find("      - ip: 10.0.0.11\n      - ip: 10.0.0.13\n      - ip: 10.0.0.15\n"
                          "      - ip: 10.0.0.20\n      - ip: 10.0.0.21\n"),
              std::string::npos)
        << r.yaml;
    EXPECT_EQ(errors_of("~SEQ(N, 5) x\n"),
              std::vector<std::string>{"k.conf:1:6: ~SEQ: expected (VAR, START, END) or (VAR, START, STEP, END) with "
                                       "integers and a STEP other than 0"});
    EXPECT_EQ(errors_of("~SEQ(N, 1, 20000) x\n"),
              std::vector<std::string>{"k.conf:1:6: ~SEQ: more than 10000 values"});
}

TEST(KeepalivedImport, ConditionalLines) {
    const std::string text = "@lb1 $W=5\n@^lb1 $W=7\n" + one_vs("", "        weight $W\n");
    // Without --config-id: "@ID" lines go, "@^ID" lines stay, each with a warning.
    ImportResult r = convert(text);
    EXPECT_NE(r.yaml.find("weight: 7\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has_warning(r, "k.conf:1: conditional line @lb1: dropped (no --config-id given;"));
    EXPECT_TRUE(has_warning(r, "k.conf:2: conditional line @^lb1: kept (no --config-id given;"));
    KeepalivedImportOptions o;
    o.config_id = "lb1";
    r = convert(text, "k.conf", o);
    EXPECT_NE(r.yaml.find("weight: 5\n"), std::string::npos) << r.yaml;
    EXPECT_FALSE(has_warning(r, "conditional line"));
    o.config_id = "lb2";
    EXPECT_NE(convert(text, "k.conf", o).yaml.find("weight: 7\n"), std::string::npos);
    // A kept line's columns are still the file's.
    o.config_id = "lb1";
    EXPECT_EQ(errors_of("@lb1 virtual_server 10.0.0.1 x {\n}\n", "k.conf", o),
              std::vector<std::string>{"k.conf:1:30: virtual_server 10.0.0.1: expected port 0..65535, got \"x\""});
}

TEST(KeepalivedImport, AuthAhRefusedUnlessAllowed) {
    const std::string text =
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        "    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n"
        "    virtual_ipaddress {\n        10.0.0.100\n    }\n}\n" +
        one_vs("");
    const std::vector<std::string> errs = errors_of(text);
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].rfind("k.conf:4:5: auth_type AH: dplb supports PASS only, and a keepalived peer still using AH "
                            "would ignore dplb's adverts, so both would become MASTER;",
                            0),
              0u)
        << errs[0];
    KeepalivedImportOptions o;
    o.allow_auth_downgrade = true;
    ImportResult r = convert(text, "k.conf", o);
    EXPECT_EQ(r.yaml.find("authentication"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has_warning(r, "k.conf:4: auth_type AH: not converted (dplb supports PASS only; "
                               "--allow-auth-downgrade): the instance runs without authentication"));
}

// A folder of its own for include tests, removed when done.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("dplb-ka-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    void write(const std::string& name, const std::string& text) const {
        fs::create_directories((path / name).parent_path());
        std::ofstream(path / name) << text;
    }
};

TEST(KeepalivedImport, IncludeLoopsAndDepth) {
    TempDir d;
    KeepalivedImportOptions o;
    o.base_dir = d.path.string();
    // a.conf -> sub/b.conf -> ../a.conf: the line that closes the loop is named.
    d.write("a.conf", one_vs("") + "include sub/b.conf\n");
    d.write("sub/b.conf", "\ninclude ../a.conf\n");
    EXPECT_EQ(errors_of(read_text(d.path / "a.conf"), "a.conf", o),
              std::vector<std::string>{"sub/b.conf:2:1: include ../a.conf: a.conf includes itself through this line "
                                       "(keepalived would read it forever)"});
    // A chain deeper than 8 files.
    for (int i = 0; i < 10; i++) d.write("n" + std::to_string(i) + ".conf", "include n" + std::to_string(i + 1) + ".conf\n");
    d.write("n10.conf", "");
    EXPECT_EQ(errors_of(one_vs("") + "include n0.conf\n", "m.conf", o),
              std::vector<std::string>{"n7.conf:1:1: include n8.conf: includes nest more than 8 deep"});
    // Without a directory (text that was not read from a file) an include is refused, not guessed.
    EXPECT_EQ(errors_of(one_vs("") + "include x.conf\n"),
              std::vector<std::string>{"k.conf:7:1: include x.conf: not followed (the configuration was not read from "
                                       "a file, so there is no directory to resolve it in; convert the file by its "
                                       "path)"});
    // Something that is no file (a directory, a device) is not read.
    d.write("dir.d/x", "");
    EXPECT_EQ(errors_of(one_vs("") + "include dir.d\n", "m.conf", o),
              std::vector<std::string>{"m.conf:7:1: include dir.d: cannot read dir.d (not a readable file)"});
}

TEST(KeepalivedImport, FailedImportKeepsItsWarnings) {
    try {
        import_keepalived("router_id x\n" + one_vs("    lb_algo nope\n"), "k.conf");
        ADD_FAILURE() << "converted";
    } catch (const ImportError& e) {
        EXPECT_EQ(e.warnings, std::vector<std::string>{"k.conf:1: router_id x: not converted (keepalived uses it in "
                                                       "e-mails and logs only)"});
        EXPECT_EQ(e.errors.size(), 1u);
    }
}

TEST(KeepalivedImport, UnknownCheckersNeverLeaveARealUp) {
    // BFD_CHECK: a ping that starts down. FILE_CHECK or anything unknown: weight 0.
    ImportResult r = convert(one_vs("", "        weight 4\n        BFD_CHECK {\n            name b1\n        }\n"));
    Config c = load_config_string(r.yaml, "b.yaml");
    ASSERT_TRUE(c.services.at(0).reals.at(0).health_check);
    EXPECT_EQ(c.services[0].reals[0].health_check->type, CheckType::ping);
    EXPECT_TRUE(c.services[0].reals[0].health_check->alpha);
    EXPECT_EQ(c.services[0].reals[0].weight, 4);
    for (const std::string kw : {"FILE_CHECK", "FOO_CHECK"}) {
        r = convert(one_vs("", "        weight 4\n        " + kw + " {\n        }\n"));
        c = load_config_string(r.yaml, "f.yaml");
        EXPECT_FALSE(c.services.at(0).reals.at(0).health_check) << kw;
        EXPECT_EQ(c.services[0].reals[0].weight, 0) << kw;
        EXPECT_TRUE(has_warning(r, "the real server gets weight 0 (was 4)")) << kw;
    }
    // Beside a check dplb has, the other one only goes.
    r = convert(one_vs("", "        FILE_CHECK {\n        }\n        TCP_CHECK {\n        }\n"));
    c = load_config_string(r.yaml, "t.yaml");
    EXPECT_EQ(c.services.at(0).reals.at(0).weight, 1);
    EXPECT_TRUE(has_warning(r, "k.conf:4: FILE_CHECK: not converted (dplb checks with"));
    EXPECT_TRUE(has_warning(r, "; the real server is checked by the TCP_CHECK at line 6"));
}

TEST(KeepalivedImport, SyntaxErrorsStopBeforeConversion) {
    // Only the brace is reported, not the bad value inside the unbalanced text.
    EXPECT_EQ(errors_of("virtual_server 10.0.0.100 80 {\n    lb_algo nonsense\n"),
              std::vector<std::string>{"k.conf:1:1: virtual_server 10.0.0.100 80: \"{\" is never closed (missing \"}\" "
                                       "at the end of the file)"});
    EXPECT_EQ(errors_of("}\n"), std::vector<std::string>{"k.conf:1:1: \"}\" closes no block (one \"}\" too many)"});
}

// ---- hostile input: every one must come back within the deadline, never crash ----

// Every import below goes through within_deadline (deadline.h): the inputs take well under a second
// now, and took minutes (or crashed) before; the 30 s margin is for a loaded machine.
using test::within_deadline;

std::vector<std::string> errors_within_deadline(const std::string& text, const std::string& what) {
    return within_deadline([&text] { return errors_of(text); }, "importing " + what);
}

std::string repeat(const std::string& s, size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (size_t i = 0; i < n; i++) out += s;
    return out;
}

TEST(KeepalivedImportHostile, NestingDeepStopsAtSixteen) {
    // 400,000 blocks deep used to build a tree as deep, whose destructor overflowed the stack.
    EXPECT_EQ(errors_within_deadline(repeat("x {\n", 400000), "400,000 nested blocks, one per line"),
              std::vector<std::string>{"k.conf:17:3: x: \"{\" nested more than 16 blocks deep (keepalived's own blocks "
                                       "nest 4 deep)"});
    EXPECT_EQ(errors_within_deadline(repeat("x { ", 400000), "400,000 nested blocks on one line"),
              std::vector<std::string>{"k.conf:1:67: x: \"{\" nested more than 16 blocks deep (keepalived's own blocks "
                                       "nest 4 deep)"});
    EXPECT_EQ(errors_within_deadline(repeat("x {\n", 400000) + repeat("}\n", 400000), "400,000 closed blocks"),
              std::vector<std::string>{"k.conf:17:3: x: \"{\" nested more than 16 blocks deep (keepalived's own blocks "
                                       "nest 4 deep)"});
}

TEST(KeepalivedImportHostile, NestingLimitIsExact) {
    // 16 levels are read (and the unknown block warned about as a whole); the 17th is not.
    ImportResult r = convert(repeat("x {\n", 16) + repeat("}\n", 16) + one_vs(""));
    EXPECT_TRUE(has_warning(r, "k.conf:1: x: not converted")) << join(r.warnings);
    EXPECT_EQ(errors_of(repeat("x {\n", 17) + repeat("}\n", 17) + one_vs("")),
              std::vector<std::string>{"k.conf:17:3: x: \"{\" nested more than 16 blocks deep (keepalived's own blocks "
                                       "nest 4 deep)"});
}

TEST(KeepalivedImportHostile, OpeningBracesAlone) {
    auto errs = errors_within_deadline(repeat("{\n", 400000), "400,000 \"{\"");
    ASSERT_EQ(errs.size(), 17u);
    for (size_t i = 0; i < 16; i++)
        EXPECT_EQ(errs[i], "k.conf:" + std::to_string(i + 1) + ":1: \"{\" opens a block without a keyword before it");
    EXPECT_EQ(errs[16], "k.conf:17:1: \"{\" nested more than 16 blocks deep (keepalived's own blocks nest 4 deep)");
}

TEST(KeepalivedImportHostile, StrayClosingBraces) {
    // One error per stray "}", each in a single step.
    auto errs = errors_within_deadline(repeat("}\n", 400000), "400,000 \"}\"");
    ASSERT_EQ(errs.size(), 400000u);
    EXPECT_EQ(errs.front(), "k.conf:1:1: \"}\" closes no block (one \"}\" too many)");
    EXPECT_EQ(errs.back(), "k.conf:400000:1: \"}\" closes no block (one \"}\" too many)");
    // Each stray "}" used to search every closed block for a hint: 200,000 x 200,000 steps.
    errs = errors_within_deadline(repeat("a {\n}\n", 200000) + repeat("}\n", 200000),
                                       "200,000 blocks and 200,000 \"}\"");
    ASSERT_EQ(errs.size(), 200000u);
    EXPECT_EQ(errs.front(), "k.conf:400001:1: \"}\" closes no block (one \"}\" too many)");
    EXPECT_EQ(errs.back(), "k.conf:600000:1: \"}\" closes no block (one \"}\" too many)");
    // The hint names the first "}" indented deeper than its keyword, however many come after it.
    errs = errors_within_deadline("a {\n  }\n" + repeat("a {\n}\n", 200000) + repeat("}\n", 200000),
                                  "a hint and 200,000 \"}\"");
    ASSERT_EQ(errs.size(), 200000u);
    EXPECT_EQ(errs.back(), "k.conf:600002:1: \"}\" closes no block (one \"}\" too many, probably the one at line 2)");
}

TEST(KeepalivedImportHostile, ManyEmptyLinesBeforeABrace) {
    // Each empty line between a keyword and its "{" used to look ahead over all the others.
    const std::string text = "global_defs\n" + repeat("\n", 400000) + "{\n}\n" + one_vs("");
    ImportResult r = within_deadline([&text] { return convert(text); }, "importing 400,000 empty lines");
    EXPECT_NE(r.yaml.find("  # k.conf:400004: virtual_server 10.0.0.100 80\n"), std::string::npos) << r.yaml;
}

TEST(KeepalivedImportHostile, LongLinesAreCutInMessages) {
    // A megabyte of words after an unknown keyword: the warning shows the words that fit in 100 bytes.
    std::string shown = "x";
    for (int i = 0; i < 49; i++) shown += " x";
    ImportResult r = convert(repeat("x ", 500000) + "\n" + one_vs(""));
    ASSERT_FALSE(r.warnings.empty());
    const std::string unknown =
        ": not converted (the import does not know this keyword; find what it did in keepalived and set the closest "
        "dplb key by hand)";
    EXPECT_EQ(r.warnings.front(), "k.conf:1: " + shown + " ..." + unknown);
    // A megabyte-long keyword, and a megabyte-long value in an error.
    r = convert(std::string(1 << 20, 'y') + "\n" + one_vs(""));
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_EQ(r.warnings.front(), "k.conf:1: " + std::string(100, 'y') + "..." + unknown);
    EXPECT_EQ(errors_within_deadline("virtual_server " + std::string(1 << 20, '1') + " 80 {\n}\n", "a long address"),
              std::vector<std::string>{"k.conf:1:16: virtual_server: expected an IPv4 or IPv6 address, got \"" +
                                       std::string(60, '1') + "...\""});
}

// ---- addresses and names the YAML loader would refuse are refused here, where they are written ----

// A virtual_server on `vip` port 80 with one real_server on `real` (its address at line 3, column 17).
std::string vs(const std::string& vip, const std::string& real) {
    return "virtual_server " + vip + " 80 {\n    lb_kind DR\n    real_server " + real + " 80 {\n    }\n}\n";
}

TEST(KeepalivedImport, AddressesMustBeUnicast) {
    const std::string vs_err = "k.conf:1:16: virtual_server: expected a unicast address clients can reach, got ";
    const std::string rs_err = "k.conf:3:17: real_server: expected a unicast address, got ";
    const std::vector<std::tuple<std::string, std::string, std::string>> bad = {  // vip, real, error
        {"0.0.0.0", "10.0.0.11", vs_err + "\"0.0.0.0\" (the unspecified address)"},
        {"255.255.255.255", "10.0.0.11", vs_err + "\"255.255.255.255\" (the broadcast address)"},
        {"224.0.0.18", "10.0.0.11", vs_err + "\"224.0.0.18\" (multicast)"},
        {"127.0.0.1", "10.0.0.11", vs_err + "\"127.0.0.1\" (loopback)"},
        {"169.254.1.1", "10.0.0.11", vs_err + "\"169.254.1.1\" (link-local, which routers do not forward)"},
        {"::", "2001:db8::11", vs_err + "\"::\" (the unspecified address)"},
        {"::1", "2001:db8::11", vs_err + "\"::1\" (loopback)"},
        {"ff02::1", "2001:db8::11", vs_err + "\"ff02::1\" (multicast)"},
        {"::ffff:10.0.0.100", "2001:db8::11",
         vs_err + "\"::ffff:10.0.0.100\" (IPv4-mapped, which never appears on the wire: write 10.0.0.100)"},
        {"fe80::100", "2001:db8::11",
         vs_err + "\"fe80::100\" (link-local, which routers do not forward and VRRP leaves out of its address lists)"},
        {"10.0.0.100", "0.0.0.0", rs_err + "\"0.0.0.0\" (the unspecified address)"},
        {"10.0.0.100", "255.255.255.255", rs_err + "\"255.255.255.255\" (the broadcast address)"},
        {"10.0.0.100", "224.0.0.5", rs_err + "\"224.0.0.5\" (multicast)"},
        {"10.0.0.100", "127.0.0.1", rs_err + "\"127.0.0.1\" (loopback)"},
        {"2001:db8::100", "::1", rs_err + "\"::1\" (loopback)"},
        {"2001:db8::100", "ff02::5", rs_err + "\"ff02::5\" (multicast)"},
        {"2001:db8::100", "::ffff:10.0.0.11",
         rs_err + "\"::ffff:10.0.0.11\" (IPv4-mapped, which never appears on the wire: write 10.0.0.11)"},
    };
    for (const auto& [vip, real, error] : bad)
        EXPECT_EQ(errors_of(vs(vip, real)), std::vector<std::string>{error}) << vip << " " << real;
    // A Direct Routing real server is on the link anyway: link-local is fine for one.
    EXPECT_EQ(load_config_string(convert(vs("2001:db8::100", "fe80::11")).yaml, "l.yaml").services.size(), 1u);
}

TEST(KeepalivedImport, RealServerIsNoVirtualServer) {
    EXPECT_EQ(errors_of(vs("10.0.0.100", "10.0.0.100")),
              std::vector<std::string>{"k.conf:3:17: real_server: expected the real server's own address, got the "
                                       "virtual_server's address \"10.0.0.100\" (in Direct Routing a real server holds "
                                       "the vip on its loopback and is reached at an address of its own)"});
    EXPECT_EQ(errors_of(vs("10.0.0.100", "10.0.0.101") + vs("10.0.0.101", "10.0.0.11")),
              std::vector<std::string>{"k.conf:3:17: real_server: expected the real server's own address, got "
                                       "\"10.0.0.101\", the address of the virtual_server at line 6 (a director "
                                       "answers for it)"});
}

TEST(KeepalivedImport, NamesHoldNoControlCharacters) {
    const std::string vips = "    virtual_ipaddress {\n        10.0.0.100\n    }\n}\n";
    EXPECT_EQ(errors_of("vrrp_instance \"VI\x01\" {\n    interface eth0\n    virtual_router_id 9\n" + vips +
                        one_vs("")),
              std::vector<std::string>{"k.conf:1:15: vrrp_instance: expected a name without control characters, got "
                                       "\"VI\\x01\""});
    EXPECT_EQ(errors_of("vrrp_instance VI_1 {\n    interface \"eth\x7f\"\n    virtual_router_id 9\n" + vips +
                        one_vs("")),
              std::vector<std::string>{"k.conf:2:15: interface: expected a name without control characters, got "
                                       "\"eth\\x7f\""});
    EXPECT_EQ(errors_of("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 9\n"
                        "    track_interface {\n        \"eth\x0b" "1\" weight -20\n    }\n" +
                        vips + one_vs("")),
              std::vector<std::string>{"k.conf:5:9: track_interface: expected a name without control characters, got "
                                       "\"eth\\x0b1\""});
}

TEST(KeepalivedImportHostile, DefinitionErrors) {
    EXPECT_EQ(errors_of("virtual_server $VIP 80 {\n}\n"),
              std::vector<std::string>{"k.conf:1:16: $VIP: not defined (keepalived's definitions are \"$VIP=VALUE\" "
                                       "lines before their use)"});
    EXPECT_EQ(errors_of("$A=x $B\n$B=${A}\nweight $A\n"),
              std::vector<std::string>{"k.conf:3:8: $A: its definition refers to itself ($A -> $B -> $A)"});
    EXPECT_EQ(errors_of("$A=$A\n$A\n"),
              std::vector<std::string>{"k.conf:2:1: $A: its definition refers to itself ($A -> $A)"});
    // Each definition doubles the one before: refused once the line passes 64 KiB, at once.
    std::string text = "$D0=xxxxxxxxxxxxxxxx\n";
    for (int i = 1; i <= 15; i++)
        text += "$D" + std::to_string(i) + "=$D" + std::to_string(i - 1) + "$D" + std::to_string(i - 1) + "\n";
    text += "router_id $D15\n";
    std::vector<std::string> errs = errors_within_deadline(text, "definitions doubling 15 times");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].rfind("k.conf:17:11: $D", 0), 0u) << errs[0];
    EXPECT_NE(errs[0].find("grows past 64 KiB"), std::string::npos) << errs[0];
    // A chain of 20 definitions, each naming the next.
    text.clear();
    for (int i = 0; i < 20; i++) text += "$C" + std::to_string(i) + "=$C" + std::to_string(i + 1) + "\n";
    text += "$C20=x\nrouter_id $C0\n";
    errs = errors_within_deadline(text, "definitions 20 deep");
    EXPECT_EQ(errs, std::vector<std::string>{"k.conf:22:11: $C16: definitions nested more than 16 deep"});
}

}  // namespace
}  // namespace dplb::config
