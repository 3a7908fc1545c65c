// Writes the seed corpora of the fuzz targets under SOURCE_ROOT/tests/fuzz/corpus/<target>/:
// packet programs made of tests/frame_builder frames (the golden tests' cases, as scenarios), VRRP
// programs around the adverts keepalived sent (tests/fixtures/vrrp/*.hex), the YAML examples
// (config/examples), the keepalived.conf files (config/examples/keepalived, tests/fixtures/vrrp)
// and control-socket requests. Usage: fuzz_make_seeds SOURCE_ROOT (built on demand:
// ninja -C build tests/fuzz/fuzz_make_seeds). Files are written anew; none is removed.
#include <dirent.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "packet_ops.h"
#include "parse.h"
#include "vrrp_ops.h"

namespace dplb::fuzz {
namespace {

using namespace dplb::test;

std::string g_root;

void write(const std::string& target, const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string path = g_root + "/tests/fuzz/corpus/" + target + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        std::exit(1);
    }
}

void write_text(const std::string& target, const std::string& name, const std::string& text) {
    write(target, name, std::vector<uint8_t>(text.begin(), text.end()));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::exit(1);
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every file of `dir` whose name ends with `suffix`, copied into the target's corpus.
void copy_files(const std::string& target, const std::string& dir, const std::string& suffix,
                const std::string& prefix) {
    DIR* d = opendir((g_root + "/" + dir).c_str());
    if (!d) {
        std::fprintf(stderr, "cannot list %s\n", dir.c_str());
        std::exit(1);
    }
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
            write_text(target, prefix + n, read_file(g_root + "/" + dir + "/" + n));
    }
    closedir(d);
}

// The golden tests' L2: client to the director, to broadcast, in VLAN 7.
const MacAddr kLb = mac("02:00:00:00:00:01"), kClient = mac("02:00:00:00:00:aa");
const L2 kToLb{kLb, kClient};
const L2 kToLbVlan{kLb, kClient, 7};
const L2 kBcast{mac("ff:ff:ff:ff:ff:ff"), kClient};

void packet_seeds() {
    const std::string t = "packet";
    {  // a TCP connection to svc0 (rr) opens, carries data, closes; its entry expires
        PacketProgram p;
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpSyn));
        p.burst();
        p.time(5);
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpAck));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpAck, 100));
        p.time(30000);
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpFin | kTcpAck));
        p.time(0x4000 | 2000);
        p.time(0);
        write(t, "tcp4_connection", p.out);
    }
    {  // UDP to svc1, IPv6 TCP to svc2, a VLAN-tagged frame, all in one burst
        PacketProgram p;
        p.frame(udp(kToLb, "10.0.0.1", "10.0.0.100", 5353, 53, 20));
        p.frame(tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLbVlan, "10.0.0.2", "10.0.0.100", 40001, 80, kTcpSyn));
        p.resend(51, kTcpSyn ^ kTcpAck);  // the same flow's ACK (the tagged frame's TCP flags byte)
        p.burst();
        p.own(0x18);  // a listing of up to 9 entries
        write(t, "udp_ipv6_vlan", p.out);
    }
    {  // mh: a non-SYN miss forwarded by Maglev; weight 0 and unowned VIPs; no MAC for a real
        PacketProgram p;
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.101", 40000, 443, kTcpAck));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.102", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.103", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.106", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpAck));  // no entry: tcp_no_conn
        p.own(1);
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.103", 40000, 80, kTcpSyn));
        write(t, "mh_weights_ownership", p.out);
    }
    {  // persistence on svc7: two connections of one client share a real, then the template expires
        PacketProgram p;
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.105", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.105", 40001, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.9", "10.0.0.105", 40000, 80, kTcpSyn));
        p.time(0x8000 | 1200);  // 1200 << 8 ms: past 300 s
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.105", 40002, 80, kTcpSyn));
        write(t, "persistence", p.out);
    }
    {  // ARP and ND for VIPs and other addresses; a frame for another host's MAC
        PacketProgram p;
        p.frame(arp(kBcast, 1, kClient, "10.0.0.1", MacAddr{}, "10.0.0.100"));
        p.frame(arp(kToLb, 1, kClient, "10.0.0.1", MacAddr{}, "10.0.0.2"));
        p.frame(arp(kBcast, 1, kClient, "10.0.0.100", MacAddr{}, "10.0.0.100"));
        p.frame(arp(kBcast, 1, kClient, "10.0.0.1", MacAddr{}, "10.0.0.104"));
        p.frame(nd(L2{mac("33:33:ff:00:01:00"), kClient}, "2001:db8::1", "ff02::1:ff00:100", 135, "2001:db8::100", 0,
                   1, kClient));
        p.frame(tcp(L2{mac("02:00:00:00:00:bb"), kClient}, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpSyn));
        p.own(4 | 2);  // VRRP VIPs withheld: the control thread stalled
        p.frame(arp(kBcast, 1, kClient, "10.0.0.1", MacAddr{}, "10.0.0.100"));
        write(t, "arp_nd", p.out);
    }
    {  // ICMP errors about a VIP's flows (v4 fragmentation needed, v6 packet too big)
        PacketProgram p;
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn));
        p.burst();
        p.frame(icmp_error(kToLb, "10.0.0.254", "10.0.0.100", 3, 4, 1400,
                           ip_of(tcp(kToLb, "10.0.0.100", "10.0.0.1", 80, 40000, kTcpAck, 40), 48)));
        p.frame(icmp_error(kToLb, "2001:db8::fe", "2001:db8::100", 2, 0, 1280,
                           ip_of(tcp(kToLb, "2001:db8::100", "2001:db8::1", 80, 40000, kTcpAck, 40), 68)));
        p.frame(icmp_error(kToLb, "10.0.0.254", "10.0.0.101", 11, 0, 0,
                           ip_of(tcp(kToLb, "10.0.0.101", "10.0.0.7", 443, 5000, kTcpAck))));
        write(t, "icmp_errors", p.out);
    }
    {  // fragments: UDP over IPv4 and IPv6, first fragment then a later one, and a later one alone
        PacketProgram p;
        Bytes whole = ip_of(udp(kToLb, "10.0.0.1", "10.0.0.100", 5353, 53, 40));
        Bytes l4(whole.begin() + 20, whole.end());
        p.frame(ipv4(kToLb, "10.0.0.1", "10.0.0.100", kProtoUdp, Bytes(l4.begin(), l4.begin() + 24), 0x2000));
        p.frame(ipv4(kToLb, "10.0.0.1", "10.0.0.100", kProtoUdp, Bytes(l4.begin() + 24, l4.end()), 3));
        p.frame(ipv4(kToLb, "10.0.0.3", "10.0.0.100", kProtoUdp, Bytes(l4.begin() + 24, l4.end()), 3));
        Bytes whole6 = ip_of(udp(kToLb, "2001:db8::1", "2001:db8::100", 5353, 80, 40));
        Bytes l46(whole6.begin() + 40, whole6.end());
        Bytes first{kProtoUdp, 0, 0x00, 0x01, 0, 0, 0x12, 0x34};
        first.insert(first.end(), l46.begin(), l46.begin() + 24);
        Bytes later{kProtoUdp, 0, 0x00, 0x18, 0, 0, 0x12, 0x34};
        later.insert(later.end(), l46.begin() + 24, l46.end());
        p.frame(ipv6(kToLb, "2001:db8::1", "2001:db8::100", 44, first));
        p.frame(ipv6(kToLb, "2001:db8::1", "2001:db8::100", 44, later));
        p.time(3000);
        p.frame(ipv4(kToLb, "10.0.0.1", "10.0.0.100", kProtoUdp, Bytes(l4.begin() + 24, l4.end()), 3));
        write(t, "fragments", p.out);
    }
    {  // TTL 1 and 2, malformed and truncated frames, a frame in two segments
        PacketProgram p;
        p.frame(with_ttl(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpSyn), 1));
        p.frame(with_ttl(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40001, 80, kTcpSyn), 2));
        p.frame(with_ttl(tcp(kToLb, "2001:db8::1", "2001:db8::100", 40000, 80, kTcpSyn), 1));
        p.frame(truncate(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40002, 80, kTcpSyn), 40));
        p.frame(patch(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40003, 80, kTcpSyn), 46, {0x20}));  // data offset 8
        p.frame(truncate(udp(kToLb, "10.0.0.1", "10.0.0.100", 5353, 53), 10));
        p.frame_split(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40004, 80, kTcpSyn, 200), 60);
        p.frame_split(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40005, 80, kTcpSyn, 200), 30);
        write(t, "ttl_malformed_segments", p.out);
    }
    {  // a reload between a SYN and its ACK: the real drains, its id is reused, the service leaves
        PacketProgram p;
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40001, 80, kTcpSyn));
        p.frame(udp(kToLb, "10.0.0.1", "10.0.0.100", 5353, 53, 8));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.104", 40000, 80, kTcpSyn));
        p.swap();
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpAck));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40001, 80, kTcpAck));
        p.frame(udp(kToLb, "10.0.0.1", "10.0.0.100", 5353, 53, 8));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.104", 40000, 80, kTcpAck));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40002, 80, kTcpSyn));
        p.swap();
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40002, 80, kTcpAck));
        write(t, "reload_swap", p.out);
    }
    {  // a SYN flood fills the 64-entry IPv4 table: eviction, then Maglev while full
        PacketProgram p;
        for (uint16_t i = 0; i < 72; i++)
            p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.101", static_cast<uint16_t>(1000 + i), 443, kTcpSyn));
        p.time(10);
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpSyn));
        p.frame(tcp(kToLb, "10.0.0.1", "10.0.0.100", 40000, 80, kTcpAck));
        write(t, "syn_flood", p.out);
    }
}

// Bytes of a tests/fixtures/vrrp/*.hex file: '#' lines are comments, the rest hex bytes.
Bytes load_hex(const std::string& stem) {
    std::istringstream in(read_file(g_root + "/tests/fixtures/vrrp/" + stem + ".hex"));
    Bytes out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '#') continue;
        std::istringstream words(line);
        std::string w;
        while (words >> w) out.push_back(static_cast<uint8_t>(std::stoul(w, nullptr, 16)));
    }
    return out;
}

void vrrp_seeds() {
    const std::string t = "vrrp";
    // keepalived's adverts, to a router of the same instance: it learns the master, then takes over
    // after keepalived resigns with priority 0.
    struct Capture {
        const char* stem;
        uint8_t profile;
    };
    for (Capture c : {Capture{"v2_pass", 0}, Capture{"v2_noauth", 1}, Capture{"v3_ipv4", 2}, Capture{"v3_ipv6", 3}}) {
        VrrpProgram p;
        p.router(c.profile, 100, 0, 0x2a);
        p.op(kVrrpStart);
        Bytes frame = load_hex(c.stem), prio0 = load_hex(std::string(c.stem) + "_prio0");
        for (int i = 0; i < 2; i++) {
            const Bytes& f = i ? prio0 : frame;
            if (kProfiles[c.profile].family == 6) p.received6(0, f[14 + 7], Bytes(f.begin() + 54, f.end()));
            else p.received4(Bytes(f.begin() + 14, f.end()));
            p.time(1500);
        }
        p.time(20000);
        p.op(kVrrpStart, true);
        write(t, std::string("keepalived_") + c.stem, p.out);
    }
    {  // an election: master after the timer, a higher peer, a resigning one, a lower one ignored
        VrrpProgram p;
        p.router(0, 150, 0, 0x01);
        p.op(kVrrpStart);
        p.time(4000);
        p.peer(200, 0);
        p.time(1000);
        p.peer(200, 0);  // the master's next advert restarts Master_Down_Timer
        p.peer(150, 3);
        p.time(500);
        p.peer(0, 0);
        p.time(2000);
        p.peer(100, 1);
        p.peer(150, 1, 0x3f);
        p.time(60000);
        p.op(kVrrpTrack, true);  // a MASTER's tracked service fails: it resigns with priority 0
        p.time(1000);
        p.op(kVrrpTrack);
        p.time(5000);
        write(t, "election", p.out);
    }
    {  // faults, priority changes and a reload, as VRRPv3 over IPv6
        VrrpProgram p;
        p.router(3 | 4, 100, 6, 0xe3);
        p.op(kVrrpStart);
        p.time(4000);
        p.op(kVrrpLink, true);
        p.time(1000);
        p.op(kVrrpLink);
        p.op(kVrrpTrack, true);
        p.op(kVrrpTrack);
        p.op(kVrrpPriority);
        p.u8(250);
        p.time(4000);
        p.op(kVrrpReload);
        p.u8(90);
        p.u8(0x53);
        p.u8(3);
        p.peer(120, 0);
        p.time(9000);
        write(t, "faults_reload", p.out);
    }
    {  // the address owner (priority 255) starts as MASTER
        VrrpProgram p;
        p.router(1, 255);
        p.op(kVrrpStart);
        p.time(3000);
        p.peer(255, 3);
        p.op(kVrrpStart, true);
        write(t, "owner", p.out);
    }
    {  // unicast: a listed peer is the master; a stranger, and the peer sending to the group, are refused
        for (uint8_t profile : {uint8_t{0}, uint8_t{3}}) {
            VrrpProgram p;
            p.router(profile | 8, 100, 0, 0x01);
            p.op(kVrrpStart);
            p.peer(200, 0);
            p.time(1000);
            p.peer(220, 3);
            p.peer(0, 0, 0x40);
            p.time(1000);
            p.peer(200, 1, 0x02);  // the second peer, TTL 254: accepted in unicast mode
            p.time(5000);
            p.peer(150, 3);  // MASTER now: a stranger's higher advert changes nothing
            p.time(1000);
            write(t, profile ? "unicast_ipv6" : "unicast_ipv4", p.out);
        }
    }
}

void control_seeds() {
    const std::string t = "control";
    const std::pair<const char*, const char*> requests[] = {
        {"list", "list\n\n"},
        {"list_stats_json", "list\n--stats\n--json\n\n"},
        {"list_rate", "list\n--rate\n\n"},
        {"list_connections", "list\n--connections\n--json\n\n"},
        {"timeouts", "timeouts\n--json\n\n"},
        {"status", "status\n\n"},
        {"reload", "reload\n\n"},
        {"weight", "weight\n10.0.0.100:80\n10.0.0.12:8080\n7\n\n"},
        {"weight_udp", "weight\nudp:10.0.0.100:53\n10.0.0.11:53\n0\n\n"},
        {"weight_v6", "weight\n[2001:db8::100]:443\n[2001:db8::11]:443\n65535\n\n"},
        {"drain", "drain\n10.0.0.11:80\n\n"},
        {"help", "\n\n"},
        {"unknown", "frobnicate\n--json\n\n"},
        {"unframed", "list\n"},
    };
    for (auto& [name, text] : requests) write_text(t, name, text);
}

}  // namespace
}  // namespace dplb::fuzz

int main(int argc, char** argv) {
    using namespace dplb::fuzz;
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s SOURCE_ROOT\n", argv[0]);
        return 2;
    }
    g_root = argv[1];
    packet_seeds();
    vrrp_seeds();
    control_seeds();
    copy_files("config", "config/examples", ".yaml", "");
    copy_files("config", "config/examples/bad", ".yaml", "bad-");
    copy_files("keepalived", "config/examples/keepalived", ".conf", "");
    copy_files("keepalived", "config/examples/keepalived/bad", ".conf", "bad-");
    write_text("keepalived", "vrrp_fixture.conf", read_file(g_root + "/tests/fixtures/vrrp/keepalived.conf"));
    return 0;
}
