// The real dplbd on a net_pcap port (--no-huge --no-pci): frames in from a pcap file, frames out to
// another; every output frame is checked against its input, and the counters dplbd reports at exit
// against what was sent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <regex>
#include <sstream>
#include <thread>

#include <sys/wait.h>

#include "dplbd_runner.h"
#include "frame_builder.h"
#include "frame_diff.h"
#include "parse.h"

#ifndef DPLBD_PATH
#define DPLBD_PATH "dplbd"
#endif

namespace dplb::test {
namespace {

const MacAddr kPortMac = mac("02:70:63:61:70:00");  // net_pcap's first port: "\x02pcap\x00"
const MacAddr kClient = mac("02:00:00:00:00:aa");
const MacAddr kRs1 = mac("02:00:00:00:00:11");
const MacAddr kRs2 = mac("02:00:00:00:00:12");

const char* kConfig = R"(ports:
  - name: lan0
    device: net_pcap0
conn_table:
  ipv4_entries: 4096
  ipv6_entries: 1024
metrics:
  listen: off
services:
  - vip: 10.10.0.100
    port: 80
    protocol: tcp
    scheduler: rr
    real_servers:
      - ip: 10.10.0.11
        mac: "02:00:00:00:00:11"
      - ip: 10.10.0.12
        mac: "02:00:00:00:00:12"
)";

TEST(Dplbd, ForwardsTcpFlowsOnAPcapPortWithTheRightMacsAndCounters) {
    TempDir dir;
    const L2 in{kPortMac, kClient};
    // Three short HTTP-like flows, interleaved, plus frames that must not come out.
    std::vector<Bytes> frames;
    std::vector<std::pair<size_t, MacAddr>> expect;  // input index -> real MAC
    auto flow_pkt = [&](int flow, uint8_t flags, size_t payload) {
        uint16_t sport = static_cast<uint16_t>(40000 + flow);
        frames.push_back(tcp(in, "192.0.2.1", "10.10.0.100", sport, 80, flags, payload));
        expect.emplace_back(frames.size() - 1, flow % 2 == 0 ? kRs1 : kRs2);  // rr: flow 0 -> rs1, 1 -> rs2, ...
    };
    for (int f = 0; f < 3; f++) flow_pkt(f, kTcpSyn, 0);
    for (int f = 0; f < 3; f++) flow_pkt(f, kTcpAck, 0);
    for (int f = 0; f < 3; f++) flow_pkt(f, kTcpAck | 0x08, 300);
    frames.push_back(tcp(in, "192.0.2.1", "10.10.0.100", 50000, 80, kTcpAck));   // no connection: dropped
    frames.push_back(tcp(in, "192.0.2.1", "10.10.0.1", 50000, 22, kTcpSyn));     // not a VIP: kernel
    frames.push_back(truncate(tcp(in, "192.0.2.1", "10.10.0.100", 1, 80, 2), 20)); // malformed: dropped
    for (int f = 0; f < 3; f++) flow_pkt(f, kTcpFin | kTcpAck, 0);
    for (int f = 0; f < 3; f++) flow_pkt(f, kTcpAck, 0);
    frames.push_back(arp(L2{mac("ff:ff:ff:ff:ff:ff"), kClient}, 1, kClient, "10.10.0.1", MacAddr{}, "10.10.0.100"));
    const size_t arp_index = frames.size() - 1;

    DplbdRunner dplbd(dir.path);
    ASSERT_TRUE(dplbd.start(frames, kConfig));
    const size_t want_out = expect.size() + 1;  // + the ARP reply
    std::vector<Bytes> out;
    for (int i = 0; i < 200 && out.size() < want_out && dplbd.running(); i++) {  // at most 20 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        out = dplbd.output();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // anything extra would show up now
    ASSERT_TRUE(dplbd.running()) << "dplbd exited before SIGTERM (" << dplbd.describe_exit() << "):\n" << dplbd.log();
    ASSERT_TRUE(dplbd.stop()) << "dplbd did not exit within 30 s of SIGTERM:\n" << dplbd.log();
    std::string logtext = dplbd.log();
    ASSERT_TRUE(dplbd.exited_cleanly()) << "dplbd did not exit cleanly (" << dplbd.describe_exit() << "):\n" << logtext;
    out = dplbd.output();
    ASSERT_EQ(out.size(), want_out) << logtext;
    EXPECT_NE(logtext.find("MAC " + kPortMac.str()), std::string::npos) << logtext;

    // Frames out against frames in: same order, only the MACs and the TTL (with the checksum) changed.
    size_t k = 0;
    for (size_t j = 0; j < out.size(); j++) {
        if (k < expect.size() && expect[k].first < arp_index) {
            Bytes want = hop(frames[expect[k].first]);
            std::copy(expect[k].second.b.begin(), expect[k].second.b.end(), want.begin());
            std::copy(kPortMac.b.begin(), kPortMac.b.end(), want.begin() + 6);
            EXPECT_EQ(frame_diff(want, out[j]), "") << "output frame " << j;
            k++;
        } else {
            Bytes want = arp(L2{kClient, kPortMac}, 2, kPortMac, "10.10.0.100", kClient, "10.10.0.1");
            EXPECT_EQ(frame_diff(want, out[j]), "") << "ARP reply";
        }
    }

    // Counters: 3 connections (2 to rs1 and 1 to rs2 under rr), all in FIN_WAIT: InActConn 2 / 1.
    std::string json = dplbd.stats_json();
    uint64_t fwd_bytes = 0;
    for (auto& e : expect) fwd_bytes += frames[e.first].size();
    EXPECT_EQ(json_number(json, "rx_packets"), frames.size()) << json;
    EXPECT_EQ(json_number(json, "forwarded"), expect.size()) << json;
    EXPECT_EQ(json_number(json, "tx_packets"), want_out) << json;
    EXPECT_EQ(json_number(json, "arp_replies"), 1u) << json;
    EXPECT_EQ(json_number(json, "to_kernel"), 1u) << json;
    EXPECT_EQ(json_number(json, "tcp_no_conn"), 1u) << json;
    EXPECT_EQ(json_number(json, "ipv4_truncated"), 1u) << json;
    EXPECT_EQ(json_number(json, "conns"), 3u) << json;
    EXPECT_EQ(json_number(json, "inpkts"), expect.size()) << json;
    EXPECT_EQ(json_number(json, "inbytes"), fwd_bytes) << json;
    size_t rs1 = json.find("\"ip\":\"10.10.0.11\""), rs2 = json.find("\"ip\":\"10.10.0.12\"");
    ASSERT_NE(rs1, std::string::npos);
    ASSERT_NE(rs2, std::string::npos);
    EXPECT_EQ(json_number(json, "inactive", rs1), 2u);
    EXPECT_EQ(json_number(json, "active", rs1), 0u);
    EXPECT_EQ(json_number(json, "conns", rs1), 2u);
    EXPECT_EQ(json_number(json, "inactive", rs2), 1u);
    EXPECT_EQ(json_number(json, "conns", rs2), 1u);
    // The ipvsadm -Ln table printed at exit.
    EXPECT_NE(logtext.find("TCP  10.10.0.100:80 rr\n"), std::string::npos) << logtext;
    EXPECT_NE(logtext.find("  -> 10.10.0.11:80                Route   1      0          2         \n"),
              std::string::npos)
        << logtext;
}

TEST(Dplbd, BadConfigExitsNonZeroWithTheError) {
    TempDir dir;
    std::ofstream(dir.path + "/bad.yaml") << "ports: []\nservices: []\nbogus: 1\n";
    std::string cmd = std::string(DPLBD_PATH) + " --check-config " + dir.path + "/bad.yaml > " + dir.path +
                      "/out.txt 2>&1";
    int rc = std::system(cmd.c_str());
    EXPECT_NE(rc, 0);
    EXPECT_NE(slurp(dir.path + "/out.txt").find("bogus: unknown key"), std::string::npos)
        << slurp(dir.path + "/out.txt");
}

TEST(Dplbctl, ImportKeepalivedOutputPassesCheckConfig) {
    TempDir dir;
    std::string src = std::string(DPLB_SOURCE_ROOT) + "/config/examples/keepalived/dr_tcp_check.conf";
    std::string yaml = dir.path + "/lb.yaml", warn = dir.path + "/warnings.txt";
    int rc = std::system((std::string(DPLBCTL_PATH) + " import-keepalived " + src + " > " + yaml + " 2> " + warn).c_str());
    ASSERT_EQ(rc, 0) << slurp(warn);
    EXPECT_NE(slurp(warn).find("warning: "), std::string::npos) << "the interface mapping is always warned about";
    rc = std::system((std::string(DPLBD_PATH) + " --check-config " + yaml + " > " + dir.path + "/check.txt 2>&1").c_str());
    EXPECT_EQ(rc, 0) << slurp(dir.path + "/check.txt") << slurp(yaml);
    // A config with an unbalanced brace gives a clear error and a non-zero status.
    std::ofstream(dir.path + "/bad.conf") << "virtual_server 10.0.0.1 80 {\n  lb_algo rr\n";
    rc = std::system((std::string(DPLBCTL_PATH) + " import-keepalived " + dir.path + "/bad.conf > /dev/null 2> " +
                      warn).c_str());
    EXPECT_NE(rc, 0);
    EXPECT_NE(slurp(warn).find("bad.conf:1"), std::string::npos) << slurp(warn);
}

TEST(Dplbctl, ImportKeepalivedPrintsWarningsThenTheReasonAndTakesItsOptions) {
    TempDir dir;
    const std::string warn = dir.path + "/warnings.txt";
    auto import = [&](const std::string& args) {
        return std::system((std::string(DPLBCTL_PATH) + " import-keepalived " + args + " > " + dir.path +
                            "/out.yaml 2> " + warn).c_str());
    };
    // A failed import still lists what it warned about, before the reason.
    std::ofstream(dir.path + "/fail.conf") << "router_id x\nvirtual_server 10.0.0.100 80 {\n  lb_kind DR\n"
                                              "  lb_algo nope\n  real_server 10.0.0.11 80 {\n  }\n}\n";
    EXPECT_NE(import(dir.path + "/fail.conf"), 0);
    const std::string out = slurp(warn);
    const size_t w = out.find("warning: " + dir.path + "/fail.conf:1: router_id x: not converted");
    const size_t e = out.find(dir.path + "/fail.conf:4:11: lb_algo: expected one of");
    EXPECT_NE(w, std::string::npos) << out;
    EXPECT_NE(e, std::string::npos) << out;
    EXPECT_LT(w, e) << out;
    // Includes resolve next to the file; --config-id picks the @ID lines.
    std::ofstream(dir.path + "/main.conf") << "include parts/*.conf\n";
    std::filesystem::create_directories(dir.path + "/parts");
    std::ofstream(dir.path + "/parts/vs.conf") << "virtual_server 10.0.0.100 80 {\n  lb_kind DR\n"
                                                  "  real_server 10.0.0.11 80 {\n@lb1  weight 5\n  }\n}\n";
    ASSERT_EQ(import("--config-id lb1 " + dir.path + "/main.conf"), 0) << slurp(warn);
    EXPECT_NE(slurp(dir.path + "/out.yaml").find("weight: 5\n"), std::string::npos) << slurp(dir.path + "/out.yaml");
    ASSERT_EQ(import(dir.path + "/main.conf"), 0) << slurp(warn);
    EXPECT_EQ(slurp(dir.path + "/out.yaml").find("weight: 5\n"), std::string::npos) << slurp(dir.path + "/out.yaml");
    EXPECT_NE(slurp(warn).find("parts/vs.conf:4: conditional line @lb1: dropped"), std::string::npos) << slurp(warn);
    EXPECT_EQ(WEXITSTATUS(import("--config-id")), 2);
}

TEST(Dplbctl, PlanTheIssueExampleAndEmitConfigs) {
    TempDir dir;
    std::string out = dir.path + "/plan.json";
    int rc = std::system((std::string(DPLBCTL_PATH) + " plan --hosts 3 --failures 1 --traffic 1.5Gbit --link 1Gbit "
                          "--json --emit-config " + dir.path + " > " + out).c_str());
    ASSERT_EQ(rc, 0) << slurp(out);
    std::string json = slurp(out);
    EXPECT_EQ(json_number(json, "vips"), 6u) << json;
    EXPECT_EQ(json_number(json, "vips_per_host"), 2u) << json;
    EXPECT_EQ(json_number(json, "worst_link_load_bps"), 750000000u) << json;
    for (const char* h : {"host1", "host2", "host3"}) {
        std::string yaml = slurp(dir.path + "/" + h + ".yaml");
        EXPECT_NE(yaml.find("vrrp_instances:"), std::string::npos) << h;
        EXPECT_EQ(std::count(yaml.begin(), yaml.end(), '\n') > 10, true) << h;
    }
    rc = std::system((std::string(DPLBCTL_PATH) + " plan --hosts 3 --traffic fast --link 1Gbit > /dev/null 2>&1").c_str());
    EXPECT_NE(rc, 0) << "a bad rate is an error";
}

}  // namespace
}  // namespace dplb::test
