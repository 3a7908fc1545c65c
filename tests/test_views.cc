// dplbctl's listings against ipvsadm's, byte for byte. Each expected text is written from ipvsadm's
// format strings (ipvsadm.c), quoted above each test; the rate estimator against ip_vs_est.c's
// arithmetic, worked by hand.
#include <gtest/gtest.h>

#include <memory>

#include "commands.h"
#include "rate_estimator.h"
#include "stats_report.h"

namespace dplb {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

Dest dest(const char* addr, uint16_t port, uint16_t weight, uint16_t svc) {
    Dest d;
    d.in_use = true;
    d.ip = ip(addr);
    d.port = port;
    d.weight = weight;
    d.svc = svc;
    return d;
}

// Four services in configuration order, not ipvsadm's:
//   0 TCP 10.0.0.10:80 rr           reals 10.1.0.12:80 (dest 0), 10.1.0.2:80 (dest 1)
//   1 UDP 10.0.0.2:53 wlc ops       real 10.1.0.5:53 (dest 2)
//   2 TCP 10.0.0.9:443 sh, both sh flags, persistent 300 with a /24 granularity: 10.1.0.7:443 (dest 3)
//   3 TCP [2001:db8::1]:80 mh-port, persistent 60 per /64: [2001:db8::20]:80 (dest 4)
class Views : public ::testing::Test {
protected:
    void SetUp() override {
        snap_.dests = {dest("10.1.0.12", 80, 1, 0), dest("10.1.0.2", 80, 3, 0), dest("10.1.0.5", 53, 1, 1),
                       dest("10.1.0.7", 443, 2, 2), dest("2001:db8::20", 80, 1, 3)};
        snap_.dests[1].u_threshold = 2000;
        snap_.dests[1].l_threshold = 1500;
        Service s0;
        s0.id = 0, s0.vip = ip("10.0.0.10"), s0.port = 80, s0.sched = Sched::rr, s0.dests = {0, 1};
        Service s1;
        s1.id = 1, s1.vip = ip("10.0.0.2"), s1.port = 53, s1.proto = kProtoUdp, s1.ops = true, s1.dests = {2};
        Service s2;
        s2.id = 2, s2.vip = ip("10.0.0.9"), s2.port = 443, s2.sched = Sched::sh;
        s2.sched_flags = kSchedFlagFallback | kSchedFlagPort, s2.persistence_ms = 300000;
        s2.persistence_prefix_len = 24, s2.dests = {3};
        Service s3;
        s3.id = 3, s3.vip = ip("2001:db8::1"), s3.port = 80, s3.sched = Sched::mh, s3.sched_flags = kSchedFlagPort;
        s3.persistence_ms = 60000, s3.persistence_prefix_len = 64, s3.dests = {4};
        snap_.services = {s0, s1, s2, s3};
        t_ = std::make_unique<CoreCounters>();
        t_->dest[0].active = 5, t_->dest[0].inactive = 2;
        t_->dest[1].active = 1234;
        t_->dest[2].inactive = 7;
        t_->dest[3].persist = 42;
        t_->dest[4].active = 1;
        // Numbers on every step of print_largenum.
        t_->svc[0] = ServiceCounters{1000000000000000ULL, 99999999, 5000000000000ULL};
        t_->dest[1].conns = 123456789, t_->dest[1].inpkts = 99999999, t_->dest[1].inbytes = 5000000000000ULL;
        t_->dest[0].conns = 100000000000ULL, t_->dest[0].inpkts = 999999999, t_->dest[0].inbytes = 99999999999ULL;
    }
    ListOptions opts(ListView v = ListView::plain) {
        ListOptions o;
        o.view = v;
        o.size = 8192;
        return o;
    }
    Snapshot snap_;
    std::unique_ptr<CoreCounters> t_;
};

// list_all: "IP Virtual Server version %d.%d.%d (size=%d)\n"; print_title: "Prot LocalAddress:Port
// Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
// print_service_entry: "%s %s" (svc_name "%s  %s"), " (%s)" (print_sched_flags), " persistent %u",
// " mask %s" (IPv4) / " mask %i" (IPv6), " ops"; reals "  -> %-28s %-7s %-6d %-10u %-10u\n".
// Sorted as ipvs_cmp_services (family, protocol, address, port) and ipvs_cmp_dests (address, port).
TEST_F(Views, ListIsIpvsadmLnSorted) {
    EXPECT_EQ(format_ipvsadm(snap_, *t_, opts()),
              "IP Virtual Server version 1.2.1 (size=8192)\n"
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.9:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n"
              "  -> 10.1.0.7:443                 Route   2      0          0         \n"
              "TCP  10.0.0.10:80 rr\n"
              "  -> 10.1.0.2:80                  Route   3      1234       0         \n"
              "  -> 10.1.0.12:80                 Route   1      5          2         \n"
              "UDP  10.0.0.2:53 wlc ops\n"
              "  -> 10.1.0.5:53                  Route   1      0          7         \n"
              "TCP  [2001:db8::1]:80 mh (mh-port) persistent 60 mask 64\n"
              "  -> [2001:db8::20]:80            Route   1      1          0         \n");
}

// --nosort (FMT_NOSORT): neither ipvs_sort_services nor ipvs_sort_dests; configuration order.
TEST_F(Views, NosortKeepsConfigurationOrder) {
    ListOptions o = opts();
    o.nosort = true;
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o),
              "IP Virtual Server version 1.2.1 (size=8192)\n"
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.10:80 rr\n"
              "  -> 10.1.0.12:80                 Route   1      5          2         \n"
              "  -> 10.1.0.2:80                  Route   3      1234       0         \n"
              "UDP  10.0.0.2:53 wlc ops\n"
              "  -> 10.1.0.5:53                  Route   1      0          7         \n"
              "TCP  10.0.0.9:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n"
              "  -> 10.1.0.7:443                 Route   2      0          0         \n"
              "TCP  [2001:db8::1]:80 mh (mh-port) persistent 60 mask 64\n"
              "  -> [2001:db8::20]:80            Route   1      1          0         \n");
}

// list_service (-t/-u): print_title and the one entry, no version line.
TEST_F(Views, OneServiceHasNoVersionLine) {
    ListOptions o = opts();
    o.only = &snap_.services[1];
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o),
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "UDP  10.0.0.2:53 wlc ops\n"
              "  -> 10.1.0.5:53                  Route   1      0          7         \n");
}

// FMT_STATS: title "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n"; rows "%-33s" or
// "  -> %-28s", then print_largenum per column: "%9llu" below 10^8, "%8lluK" (/10^3) below 10^9,
// "%8lluM" (/10^6) below 10^11, "%8lluG" (/10^9) below 10^14, else "%8lluT" (/10^12).
TEST_F(Views, StatsAbbreviateLargeNumbers) {
    ListOptions o = opts(ListView::stats);
    o.only = &snap_.services[0];
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o),
              "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
              "  -> RemoteAddress:Port\n"
              "TCP  10.0.0.10:80                    1000T 99999999        0    5000G        0\n"
              "  -> 10.1.0.2:80                   123456K 99999999        0    5000G        0\n"
              "  -> 10.1.0.12:80                     100G  999999K        0   99999M        0\n");
}

// FMT_EXACT: "%*llu" at width 9, or the digits plus one.
TEST_F(Views, ExactPrintsNumbersWhole) {
    ListOptions o = opts(ListView::stats);
    o.only = &snap_.services[0];
    o.exact = true;
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o),
              "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
              "  -> RemoteAddress:Port\n"
              "TCP  10.0.0.10:80                 1000000000000000 99999999        0 5000000000000        0\n"
              "  -> 10.1.0.2:80                  123456789 99999999        0 5000000000000        0\n"
              "  -> 10.1.0.12:80                 100000000000 999999999        0 99999999999        0\n");
}

// FMT_RATE: title "%-33s %8s %8s %8s %8s %8s\n" with CPS InPPS OutPPS InBPS OutBPS; numbers as --stats.
TEST_F(Views, RateShowsTheEstimates) {
    ListOptions o = opts(ListView::rate);
    o.only = &snap_.services[0];
    RateSource r{[](uint16_t) { return Rates{125, 2500, 250000000}; },
                 [](uint16_t id) { return id == 1 ? Rates{100, 2000, 200000} : Rates{}; }};
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o, r),
              "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
              "  -> RemoteAddress:Port\n"
              "TCP  10.0.0.10:80                      125     2500        0  250000K        0\n"
              "  -> 10.1.0.2:80                       100     2000        0   200000        0\n"
              "  -> 10.1.0.12:80                        0        0        0        0        0\n");
}

// FMT_THRESHOLDS: title "%-33s %-10s %-10s %-10s %-10s\n" (Uthreshold Lthreshold ActiveConn
// InActConn); the service line as -L; reals "  -> %-28s %-10u %-10u %-10u %-10u\n".
TEST_F(Views, Thresholds) {
    ListOptions o = opts(ListView::thresholds);
    o.only = &snap_.services[0];
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o),
              "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
              "  -> RemoteAddress:Port\n"
              "TCP  10.0.0.10:80 rr\n"
              "  -> 10.1.0.2:80                  2000       1500       1234       0         \n"
              "  -> 10.1.0.12:80                 0          0          5          2         \n");
}

// FMT_PERSISTENTCONN: title "%-33s %-9s %-11s %-10s %-10s\n" (Weight PersistConn ActiveConn
// InActConn); reals "  -> %-28s %-9u %-11u %-10u %-10u\n".
TEST_F(Views, PersistentConn) {
    ListOptions o = opts(ListView::persistent_conn);
    o.only = &snap_.services[2];
    EXPECT_EQ(format_ipvsadm(snap_, *t_, o),
              "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
              "  -> RemoteAddress:Port\n"
              "TCP  10.0.0.9:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n"
              "  -> 10.1.0.7:443                 2         42          0          0         \n");
}

// list_conn: "IPVS connection entries\n", "pro expire %-11s %-18s %-18s %s\n"; print_conn:
// "%-3s %-6s %-11s %-18s %-18s %s\n" with the expiry "%02d:%02d" of whole seconds: no blank after
// the destination.
TEST_F(Views, ConnectionsAsLnc) {
    std::vector<ConnInfo> c(3);
    c[0].src = ip("192.0.2.1"), c[0].sport = 40000, c[0].dst = ip("10.0.0.10"), c[0].dport = 80;
    c[0].proto = kProtoTcp, c[0].state = static_cast<uint8_t>(TcpState::established), c[0].dest = 1;
    c[0].expires_in_ms = 899999;
    c[1] = c[0];
    c[1].sport = 40001, c[1].state = static_cast<uint8_t>(TcpState::time_wait), c[1].dest = 0, c[1].expires_in_ms = 0;
    c[2].src = ip("2001:db8::99"), c[2].sport = 5353, c[2].dst = ip("10.0.0.2"), c[2].dport = 53;
    c[2].proto = kProtoUdp, c[2].state = kUdpState, c[2].dest = 2, c[2].expires_in_ms = 300000;
    EXPECT_EQ(format_connections(snap_, c, false),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "TCP 14:59  ESTABLISHED 192.0.2.1:40000    10.0.0.10:80       10.1.0.2:80\n"
              "TCP 00:00  TIME_WAIT   192.0.2.1:40001    10.0.0.10:80       10.1.0.12:80\n"
              "UDP 05:00  UDP         [2001:db8::99]:5353 10.0.0.2:53        10.1.0.5:53\n");
}

// list_timeout: "Timeout (tcp tcpfin udp): %d %d %d\n", from the TCP services' ESTABLISHED and
// FIN_WAIT and the UDP services' timeout; --detail shows every state per service.
TEST(Timeouts, OneLineAsIpvsadmAndDetailOnRequest) {
    config::Config cfg;
    config::Service tcp, udp;
    tcp.vip = *IpAddr::parse("10.0.0.10"), tcp.port = 80;
    udp.vip = *IpAddr::parse("10.0.0.2"), udp.port = 53, udp.proto = kProtoUdp;
    udp.timeouts.ms[kUdpState] = 45000;
    cfg.services = {tcp, udp};
    EXPECT_EQ(format_timeouts(cfg, false), "Timeout (tcp tcpfin udp): 900 120 45\n");
    EXPECT_EQ(format_timeouts(cfg, false, true),
              "TCP  10.0.0.10:80  Timeout (tcp tcpfin udp): 900 120 300\n"
              "    ESTABLISHED 900, SYN_SENT 120, SYN_RECV 60, FIN_WAIT 120, TIME_WAIT 120, CLOSE 10, CLOSE_WAIT 60,"
              " LAST_ACK 30, LISTEN 120, SYNACK 120, UDP 300\n"
              "UDP  10.0.0.2:53  Timeout (tcp tcpfin udp): 900 120 45\n"
              "    ESTABLISHED 900, SYN_SENT 120, SYN_RECV 60, FIN_WAIT 120, TIME_WAIT 120, CLOSE 10, CLOSE_WAIT 60,"
              " LAST_ACK 30, LISTEN 120, SYNACK 120, UDP 45\n");
    cfg.services.push_back(tcp);
    cfg.services.back().timeouts.ms[static_cast<uint8_t>(TcpState::established)] = 60000;
    EXPECT_EQ(format_timeouts(cfg, false), "Timeout (tcp tcpfin udp): mixed 120 45\n");
}

// ip_vs_est.c, every 2 s: rate = diff << 9 (conns, packets) or << 4 (bytes);
// avg += (rate - avg) >> 2; read back as (avg + 0x1FF) >> 10 and (avg + 0xF) >> 5.
TEST(RateEstimator, FollowsIpVsEstArithmetic) {
    using std::chrono::milliseconds;
    RateEstimator e;
    auto t = std::make_unique<CoreCounters>();
    RateEstimator::time_point t0{};
    e.update(t0, *t);
    auto step = [&](milliseconds at, uint64_t conns, uint64_t bytes) {
        t->svc[3].conns += conns;
        t->svc[3].inpkts += conns * 10;
        t->svc[3].inbytes += bytes;
        t->dest[7].conns += conns;
        e.update(t0 + at, *t);
    };
    step(milliseconds(1999), 1000, 1000000);  // not yet 2 s: nothing folded in
    EXPECT_EQ(e.service(3).cps, 0u);
    step(milliseconds(2000), 0, 0);
    // 1000 conns in 2 s: rate 1000 << 9 = 512000, avg 128000, read (128000 + 511) >> 10 = 125.
    EXPECT_EQ(e.service(3).cps, 125u);
    EXPECT_EQ(e.service(3).inpps, 1250u);  // 10000 << 9 = 5120000, avg 1280000, >> 10 = 1250
    // 10^6 bytes: 10^6 << 4 = 16000000, avg 4000000, (4000000 + 15) >> 5 = 125000.
    EXPECT_EQ(e.service(3).inbps, 125000u);
    EXPECT_EQ(e.dest(7).cps, 125u);
    step(milliseconds(4000), 1000, 1000000);
    // avg 128000 + (512000 - 128000) / 4 = 224000 -> 219; bytes 4000000 + 3000000 = 7000000 -> 218750.
    EXPECT_EQ(e.service(3).cps, 219u);
    EXPECT_EQ(e.service(3).inbps, 218750u);
    // A late step (3 s) is scaled to 2 s: 1500 conns in 3 s is the same rate, avg 296000 -> 289.
    step(milliseconds(7000), 1500, 0);
    EXPECT_EQ(e.service(3).cps, 289u);
    // Nothing more: the average decays by a quarter per step: 296000 - 74000 = 222000 -> 217.
    step(milliseconds(9000), 0, 0);
    EXPECT_EQ(e.service(3).cps, 217u);
    // A count that went back (the id given to another real) starts afresh.
    t->dest[7].conns = 1;
    e.update(t0 + milliseconds(11000), *t);
    EXPECT_EQ(e.dest(7).cps, 0u);
}

}  // namespace
}  // namespace dplb
