// 100,000 View publishes (VRRP flips, weight changes, reloads that add and remove reals and
// services) while real DPDK worker lcores forward on a net_ring port, built and run under
// ASan/UBSan too (scripts/test.sh). It runs dplbd's own pieces: EalDataplane (rte_rcu_qsbr grace
// periods), worker_main, Processor and Director on an io_context, wired as controlplane/main.cc
// wires them. The test thread is the control thread: it injects frames onto the port's RX rings,
// drains its TX rings and runs the Director's io_context between bursts (bounded loops, no sleeps).
//
// What it checks:
// - Every frame out of the port to a VIP:port went to the MAC of a real of that service in at least
//   one of the configurations, untouched past the MACs but for one hop off the TTL, only while its service existed and its VIP
//   was owned in some View the worker could have used (versions: director.version_in_use() when
//   the frame went in is a floor for the View that handled it, version_published() when it came
//   out a ceiling).
// - A flow whose SYN was forwarded to a real (which made or refreshed its connection entry) stays
//   on that real: until a FIN of it went in (the closing states time out in 1 s here, so after a FIN
//   the entry may be gone and a non-SYN frame is forwarded statelessly by mh, anywhere), or until
//   its service was absent from a View published after that SYN (a service that comes back gets a
//   new id, and entries of its old id are stale: IPVS drops them too). Removing or reweighting a
//   real alone never moves a connection (drain, expire_nodest_conn off). This is stricter than "a
//   flow moves only when its real was removed or it restarted with a SYN": a SYN hitting a live
//   entry must keep its real too. Frames forwarded without an entry (non-SYN under mh) are
//   checked for membership only: Maglev moves such a flow whenever its table changes.
// - No frame goes to a real that had weight 0 in every configuration and was never reweighted
//   ("cold" reals: they come and go with each reload, so ids are freed and handed to other reals,
//   which the test also requires to happen). ARP replies only for VIPs owned in some usable View.
// - Per queue, frames come out in the order they went in, each at most once.
// - Counters add up once the workers stopped: injected == rx_packets; forwarded + arp_replies +
//   to_kernel + not_for_us + drops (tx_full apart, counted after forwarded) == rx_packets;
//   tx_packets == frames drained; per dest id active + inactive + persist == refs, per worker and
//   in director.totals(), and nothing over 2^31 (an underflow); refs == entries in the tables;
//   every mbuf back in the pool.
//
// Set-up choices: two workers; on a 2-CPU machine they share the second CPU (see lcore_map), so a
// worker is preempted in the middle of a pass while it holds a View. The control thread waits for
// quiet (no View waiting for a grace period) before each reload, as between real bursts of events:
// under an unbroken stream of publishes Director never frees the id of a drained real (see act()).
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "director.h"
#include "eal_dataplane.h"
#include "frame_builder.h"
#include "port.h"
#include "processor.h"
#include "worker.h"

namespace dplb {
namespace {

using Clock = std::chrono::steady_clock;

// From the command line (main): --publishes N, --seed N.
uint64_t g_publishes = 100000;
uint32_t g_seed = 20240611;

constexpr int kConfigs = 3;
constexpr int kServices = 5;
constexpr int kFlowsPerService = 4000;
constexpr unsigned kRxRing = 1024;    // per queue; injection waits for room
constexpr unsigned kTxRing = 16384;   // never fills: drained after every burst
constexpr unsigned kPoolSize = 16383;
// Per-lcore caches: without them every free is an operation on the pool's multi-producer ring, and
// with two workers on one CPU a worker preempted inside one makes the others (the test thread
// too) spin until it runs again: seconds of stalls, the control thread's heartbeat missed.
constexpr unsigned kPoolCache = 256;
constexpr uint32_t kConnTable = 65536;
constexpr uint64_t kReloadEvery = 300;  // publishes between reloads
constexpr uint64_t kWeightEvery = 16;   // iterations between weight changes
constexpr uint64_t kListEvery = 4000;   // iterations between connection listings
constexpr auto kDeadline = std::chrono::seconds(560);
constexpr auto kReloadDeadline = std::chrono::seconds(30);

struct ServiceDef {
    const char* name;
    const char* vip;
    uint16_t port;
};
constexpr ServiceDef kServiceDefs[kServices] = {
    {"web", "10.0.0.1", 80}, {"tls", "10.0.0.1", 443}, {"api", "10.0.0.2", 80},
    {"alt", "10.0.0.3", 8080}, {"beta", "10.0.0.2", 8443},
};
// In a VRRP instance in every configuration; 10.0.0.3 is in none (always owned while it has a service).
const char* const kVrrpVips[] = {"10.0.0.1", "10.0.0.2"};
// ARP targets: the VIPs and an address that is none.
const char* const kArpTargets[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.99"};
constexpr int kAltService = 3;  // the only service on 10.0.0.3

struct RealPlan {
    int n;
    int weight;
    // Weight 0 in every configuration that has it and never reweighted: it takes no connection, so
    // once removed its id is freed at the next build that may free it, and handed to the next new real.
    bool cold = false;
};
struct ServicePlan {
    bool present;
    const char* sched;
    int persistence_s;
    std::vector<RealPlan> reals;
};

// [config][service]: A -> B -> C -> A ... Each step removes and adds reals, changes weights and
// schedulers; "alt" leaves in B and comes back in C, "beta" exists only in B; cold reals come and
// go in every step, so ids are freed and handed to other reals (of other services too).
std::vector<std::vector<ServicePlan>> plans() {
    return {
        {{true, "rr", 0, {{1, 1}, {2, 2}, {3, 1}, {4, 1}}},
         {true, "mh", 0, {{1, 1}, {2, 1}, {3, 1}, {6, 0, true}}},
         {true, "wlc", 0, {{1, 1}, {2, 1}}},
         {true, "mh", 0, {{1, 1}, {2, 1}}},
         {false, "rr", 0, {}}},
        {{true, "wlc", 0, {{1, 3}, {2, 1}, {3, 0}, {5, 2}, {7, 0, true}}},
         {true, "mh", 0, {{1, 2}, {2, 1}, {4, 1}}},
         {true, "rr", 2, {{1, 1}, {2, 1}, {3, 1}}},
         {false, "rr", 0, {}},
         {true, "rr", 0, {{1, 1}, {2, 1}}}},
        {{true, "mh", 0, {{2, 1}, {3, 2}, {5, 1}, {6, 1}}},
         {true, "rr", 0, {{1, 1}, {3, 1}, {4, 1}, {5, 1}, {7, 0, true}}},
         {true, "mh", 0, {{2, 1}, {3, 1}, {4, 0, true}}},
         {true, "wlc", 0, {{1, 1}, {3, 1}}},
         {false, "rr", 0, {}}},
    };
}

std::string real_ip(int s, int n) { return "10." + std::to_string(s + 1) + ".0." + std::to_string(n); }
MacAddr real_mac(int s, int n) {
    MacAddr m;
    m.b = {0x02, 0x00, 0x00, static_cast<uint8_t>(s), 0x00, static_cast<uint8_t>(n)};
    return m;
}
uint64_t mac_key(const uint8_t* p) {
    uint64_t k = 0;
    for (int i = 0; i < 6; i++) k = k << 8 | p[i];
    return k;
}
uint64_t mac_key(const MacAddr& m) { return mac_key(m.b.data()); }
std::string mac_str(const uint8_t* p) {
    MacAddr m;
    std::memcpy(m.b.data(), p, 6);
    return m.str();
}

std::string config_yaml(const std::vector<ServicePlan>& plan) {
    std::string y =
        "ports:\n  - name: lan0\n    device: net_ring0\n"
        "conn_table:\n  ipv4_entries: " + std::to_string(kConnTable) + "\n  ipv6_entries: 1024\n"
        "services:\n";
    for (int s = 0; s < kServices; s++) {
        const ServicePlan& p = plan[s];
        if (!p.present) continue;
        const ServiceDef& d = kServiceDefs[s];
        y += std::string("  - name: ") + d.name + "\n    vip: " + d.vip + "\n    port: " + std::to_string(d.port) +
             "\n    protocol: tcp\n    scheduler: " + p.sched + "\n    mh_table_size: 251\n";
        if (p.persistence_s) y += "    persistence_timeout: " + std::to_string(p.persistence_s) + "\n";
        // Opening and established states outlive the test; closing ones expire within a second, so
        // entries go, refs fall and the ids of removed reals are freed and handed out again.
        y += "    timeouts:\n      established: 3600\n      syn_sent: 3600\n      syn_recv: 3600\n"
             "      fin_wait: 1\n      time_wait: 1\n      close: 1\n      close_wait: 1\n      last_ack: 1\n"
             "      listen: 3600\n      synack: 3600\n";
        y += "    real_servers:\n";
        for (const RealPlan& r : p.reals)
            y += "      - ip: " + real_ip(s, r.n) + "\n        weight: " + std::to_string(r.weight) +
                 "\n        mac: " + real_mac(s, r.n).str() + "\n";
    }
    y += "vrrp_instances:\n"
         "  - name: VI_1\n    interface: lan0\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n"
         "    virtual_ipaddresses: [10.0.0.1]\n"
         "  - name: VI_2\n    interface: lan0\n    virtual_router_id: 52\n    priority: 100\n    advert_int: 1\n"
         "    virtual_ipaddresses: [10.0.0.2]\n";
    return y;
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc) {
    for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
    return acc;
}

// Writes `tag` as the TCP sequence number of an untagged IPv4 frame and fixes the checksum.
void tag_tcp(test::Bytes& b, uint32_t tag) {
    const size_t l3 = 14, l4 = l3 + (b[l3] & 0xf) * 4u;
    for (int i = 0; i < 4; i++) b[l4 + 4 + i] = static_cast<uint8_t>(tag >> (24 - 8 * i));
    b[l4 + 16] = b[l4 + 17] = 0;
    uint32_t acc = sum16(b.data() + l3 + 12, 8, 0) + kProtoTcp + static_cast<uint32_t>(b.size() - l4);
    acc = sum16(b.data() + l4, b.size() - l4, acc);
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    uint16_t c = static_cast<uint16_t>(~acc);
    b[l4 + 16] = static_cast<uint8_t>(c >> 8);
    b[l4 + 17] = static_cast<uint8_t>(c);
}

// What forwarding must leave as it is: everything past the MACs but the IPv4 TTL (byte 22) and
// header checksum (24, 25), which it rewrites (Direct Routing takes one hop off, as IPVS does).
uint32_t kept_hash(const uint8_t* p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 12; i < n; i++)
        if (i != 22 && i != 24 && i != 25) h = (h ^ p[i]) * 16777619u;
    return h;
}
constexpr uint8_t kBuilderTtl = 64;  // what test::tcp() writes

template <class T>
T relaxed(const T& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
}

enum class Kind : uint8_t { flow, arp, kernel, foreign };

// One injected frame.
struct Rec {
    uint64_t inuse = 0;  // director.version_in_use() when it went in: the View that handles it is no older
    uint32_t who = 0;    // flow index, or ARP target index
    uint32_t fins = 0;   // FINs of the flow that went in before this frame
    uint32_t hash = 0;   // kept_hash() of the frame as it went in
    Kind kind = Kind::flow;
    uint8_t flags = 0;
    uint8_t queue = 0;
    bool out = false;
};

struct Flow {
    int svc = 0;
    std::string client;
    uint16_t sport = 0;
    uint8_t queue = 0;
    int phase = 0;  // 0 closed, 1 SYN sent, 2 established, 3 FIN sent
    uint32_t fins = 0;
    Clock::time_point rest_until{};
    // Set when a SYN of it comes out: the real its entry names.
    bool pinned = false;
    uint64_t pin_mac = 0;
    uint64_t pin_floor = 0;  // Rec::inuse of that SYN
    uint32_t pin_fins = 0;   // Rec::fins of that SYN
    uint64_t moves = 0;      // times it came out on another real than the frame before (allowed ones)
    uint64_t last_mac = 0;
};

// A service's presence over View versions.
struct Presence {
    bool present = true;
    uint64_t absent_since = 0;  // first version without it (while !present)
    uint64_t last_absent = 0;   // the last version without it, once it came back
};
// A VRRP VIP's ownership over View versions.
struct Ownership {
    bool owned = false;
    uint64_t unowned_since = 0;
};

struct WorkerSlot {
    unsigned lcore = 0;
    std::unique_ptr<Processor> proc;
    WorkerContext ctx;
};

class PublishStress : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    void inject_burst();
    bool inject(uint8_t queue, const test::Bytes& frame);
    void inject_flow(uint32_t idx);
    void inject_noise(uint8_t queue);
    void act();
    void flip();
    void change_weight();
    void start_reload();
    void on_reloaded(int cfg, const std::string& err);
    void list_connections();
    void note_ids();
    void drain();
    void check_frame(uint8_t queue, const uint8_t* d, uint32_t len);
    void check_tcp(uint8_t queue, const uint8_t* d, uint32_t len);
    void check_arp(uint8_t queue, const uint8_t* d, uint32_t len);
    void fail(const std::string& what);
    uint64_t rx_total() const;
    void check_counters();

    std::mt19937 rng_{g_seed};
    std::string dir_;
    std::string paths_[kConfigs];
    std::vector<std::vector<ServicePlan>> plans_ = plans();
    std::set<uint64_t> allowed_[kServices];  // MACs of the reals of each service, over every config
    std::map<uint64_t, std::string> mac_names_;

    rte_mempool* pool_ = nullptr;
    std::vector<rte_ring*> rx_, tx_;
    PortInfo port_;
    bool port_up_ = false;
    std::vector<std::unique_ptr<WorkerSlot>> workers_;
    std::atomic<bool> quit_{false};
    bool launched_ = false;
    std::unique_ptr<EalDataplane> dp_;
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
    std::unique_ptr<Director> director_;

    MacAddr client_mac_ = test::mac("02:cc:00:00:00:01");
    MacAddr other_mac_ = test::mac("02:dd:00:00:00:01");
    std::vector<Flow> flows_;
    std::vector<Rec> recs_;
    std::vector<int64_t> last_out_;  // per queue: the last record that came out
    Presence presence_[kServices];
    Ownership owned_[2];
    int cfg_ = 0;  // the configuration running now
    bool reload_pending_ = false;
    Clock::time_point reload_started_{};
    uint64_t last_reload_version_ = 0;
    bool listing_ = false;
    uint64_t iterations_ = 0;
    std::optional<Clock::time_point> quiet_since_;
    Clock::time_point last_poll_{};
    Clock::duration max_gap_{};  // the longest time between two runs of the io_context
    Clock::duration quiet_total_{};
    Clock::duration phase_max_[5]{};  // inject, act, poll, drain, tick
    std::map<size_t, std::pair<uint8_t, uint64_t>> id_seen_;  // dest id -> (generation, MAC) last seen
    uint64_t ids_reassigned_ = 0;

    // Figures.
    uint64_t injected_ = 0, drained_ = 0, drained_fwd_ = 0, drained_arp_ = 0, ring_full_ = 0;
    uint64_t injected_foreign_ = 0, injected_kernel_ = 0, injected_arp_ = 0;
    uint64_t flips_ = 0, weight_changes_ = 0, weight_published_ = 0, reloads_ = 0, listings_ = 0, listed_ = 0;
    uint64_t pin_checks_ = 0, moves_allowed_ = 0;
    uint64_t failures_ = 0;
};

void PublishStress::fail(const std::string& what) {
    if (++failures_ <= 20) ADD_FAILURE() << what;
}

void PublishStress::SetUp() {
    char tmpl[] = "/tmp/dplb-publish-stress-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (int c = 0; c < kConfigs; c++) {
        paths_[c] = dir_ + "/" + static_cast<char>('a' + c) + ".yaml";
        std::ofstream f(paths_[c], std::ios::trunc);
        f << config_yaml(plans_[c]);
        ASSERT_TRUE(f.good());
        for (int s = 0; s < kServices; s++)
            for (const RealPlan& r : plans_[c][s].reals) {
                if (!r.cold) allowed_[s].insert(mac_key(real_mac(s, r.n)));
                mac_names_[mac_key(real_mac(s, r.n))] = std::string(kServiceDefs[s].name) + "/" + real_ip(s, r.n) +
                                                        (r.cold ? " (weight 0 throughout)" : "");
            }
    }
    for (int s = 0; s < kServices; s++) {
        presence_[s].present = plans_[0][s].present;
        presence_[s].absent_since = 1;  // the first View
    }

    unsigned lc;
    RTE_LCORE_FOREACH_WORKER(lc) {
        workers_.push_back(std::make_unique<WorkerSlot>());
        workers_.back()->lcore = lc;
    }
    ASSERT_FALSE(workers_.empty()) << "no worker lcore";
    const unsigned nw = static_cast<unsigned>(workers_.size());
    const int socket = 0;

    pool_ = rte_pktmbuf_pool_create("stress_pool", kPoolSize, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    ASSERT_NE(pool_, nullptr) << rte_strerror(rte_errno);
    for (unsigned q = 0; q < nw; q++) {
        char name[32];
        std::snprintf(name, sizeof name, "stress_rx%u", q);
        rx_.push_back(rte_ring_create(name, kRxRing, socket, RING_F_SP_ENQ | RING_F_SC_DEQ));
        std::snprintf(name, sizeof name, "stress_tx%u", q);
        tx_.push_back(rte_ring_create(name, kTxRing, socket, RING_F_SP_ENQ | RING_F_SC_DEQ));
        ASSERT_NE(rx_.back(), nullptr) << rte_strerror(rte_errno);
        ASSERT_NE(tx_.back(), nullptr) << rte_strerror(rte_errno);
    }
    last_out_.assign(nw, -1);
    // Queue q: the test enqueues on rx_[q] what worker q receives, and dequeues from tx_[q] what it sends.
    int id = rte_eth_from_rings("stress", rx_.data(), nw, tx_.data(), nw, socket);
    ASSERT_GE(id, 0) << rte_strerror(rte_errno);
    char dev[RTE_ETH_NAME_MAX_LEN];
    ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id), dev), 0);
    port_.name = "lan0";
    port_.device = dev;
    std::string err;
    ASSERT_TRUE(port_start(port_, std::vector<rte_mempool*>(nw, pool_), PortOptions{}, err)) << err;
    port_up_ = true;

    config::Config cfg = config::load_config_file(paths_[0]);
    for (unsigned w = 0; w < nw; w++) {
        WorkerSlot& ws = *workers_[w];
        ProcessorConfig pc;
        pc.ipv4_entries = cfg.conn_table_ipv4;
        pc.ipv6_entries = cfg.conn_table_ipv6;
        pc.socket = socket;
        pc.id = 100 + w;
        ws.proc = Processor::create(pc, err);
        ASSERT_NE(ws.proc, nullptr) << err;
        ws.ctx.proc = ws.proc.get();
        ws.ctx.quit = &quit_;
        WorkerQueue q;
        q.port_id = port_.port_id;
        q.queue = static_cast<uint16_t>(w);
        q.mac = port_.mac;
        ws.ctx.queues.push_back(q);
        ASSERT_TRUE(worker_prepare(ws.ctx, socket));
    }
    std::vector<WorkerContext*> ctxs;
    for (auto& w : workers_) ctxs.push_back(&w->ctx);
    dp_ = EalDataplane::create(ctxs, err);
    ASSERT_NE(dp_, nullptr) << err;
    director_ = std::make_unique<Director>(io_, std::move(cfg), *dp_);
    director_->start();  // the first View, before any worker runs
    std::vector<IpAddr> vrrp;
    for (const char* v : kVrrpVips) vrrp.push_back(test::ip(v));
    director_->set_vips_owned(vrrp, true);  // MASTER for both instances
    for (auto& o : owned_) o.owned = true;
    last_reload_version_ = director_->version_published();

    for (int s = 0; s < kServices; s++)
        for (int i = 0; i < kFlowsPerService; i++) {
            Flow f;
            f.svc = s;
            int c = i % 200;  // clients come back on several ports (persistence templates)
            f.client = "11." + std::to_string(s) + "." + std::to_string(c / 250) + "." + std::to_string(c % 250 + 1);
            f.sport = static_cast<uint16_t>(20000 + i);
            f.queue = static_cast<uint8_t>(flows_.size() % nw);
            flows_.push_back(f);
        }
    recs_.reserve(1 << 20);

    for (auto& w : workers_) ASSERT_EQ(rte_eal_remote_launch(worker_main, &w->ctx, w->lcore), 0);
    launched_ = true;
}

void PublishStress::TearDown() {
    quit_ = true;
    if (launched_) rte_eal_mp_wait_lcore();  // every worker offline: nothing reads a View any more
    director_.reset();
    dp_.reset();
    for (auto& w : workers_) worker_release(w->ctx);
    if (port_up_) port_stop(port_);
    for (auto* rings : {&rx_, &tx_})
        for (rte_ring* r : *rings) {
            rte_mbuf* m;
            while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
            rte_ring_free(r);
        }
    for (auto& w : workers_) w->proc.reset();
    if (pool_) rte_mempool_free(pool_);
    for (const auto& p : paths_) ::unlink(p.c_str());
    if (!dir_.empty()) ::rmdir(dir_.c_str());
}

uint64_t PublishStress::rx_total() const {
    uint64_t n = 0;
    for (const auto& w : workers_) n += relaxed(w->proc->counters().rx_packets);
    return n;
}

bool PublishStress::inject(uint8_t queue, const test::Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (!m) {
        fail("mbuf pool exhausted: mbufs leak somewhere");
        return false;
    }
    auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())));
    std::memcpy(d, frame.data(), frame.size());
    if (rte_ring_sp_enqueue(rx_[queue], m) != 0) {  // checked for room before: cannot happen
        rte_pktmbuf_free(m);
        fail("RX ring refused a frame");
        return false;
    }
    injected_++;
    return true;
}

void PublishStress::inject_flow(uint32_t idx) {
    Flow& f = flows_[idx];
    uint8_t flags = kTcpAck;
    size_t payload = 0;
    switch (f.phase) {
    case 0:
        if (rng_() % 10 == 0) break;  // a bare ACK: a flow picked up mid-way (mh forwards it, others drop)
        flags = kTcpSyn;
        f.phase = 1;
        break;
    case 1:
        if (rng_() % 7 == 0) flags = kTcpSyn;  // retransmitted SYN
        else f.phase = 2;
        break;
    case 2:
        if (unsigned r = rng_() % 10; r < 7) payload = r * 40;
        else flags = kTcpFin | kTcpAck, f.phase = 3;
        break;
    default:
        if (rng_() % 5 == 0) {
            flags = kTcpFin | kTcpAck;  // retransmitted FIN
        } else {
            f.phase = 0;  // closed; it comes back after a rest, sometimes past the 1 s closing timeouts
            f.rest_until = Clock::now() + std::chrono::milliseconds(rng_() % 1500);
        }
        break;
    }
    Rec r;
    r.kind = Kind::flow;
    r.who = idx;
    r.flags = flags;
    r.fins = f.fins;
    r.queue = f.queue;
    r.inuse = director_->version_in_use();
    if (flags & kTcpFin) f.fins++;
    const ServiceDef& s = kServiceDefs[f.svc];
    test::Bytes b = test::tcp(test::L2{port_.mac, client_mac_}, f.client.c_str(), s.vip, f.sport, s.port, flags, payload);
    tag_tcp(b, static_cast<uint32_t>(recs_.size()));
    r.hash = kept_hash(b.data(), b.size());
    if (inject(f.queue, b)) recs_.push_back(r);
}

// Frames that never leave: to the VIP on a port no service has, to an address that is no VIP (the
// kernel's, dropped without an exception path), unicast to another host; and ARP requests.
void PublishStress::inject_noise(uint8_t queue) {
    Rec r;
    r.queue = queue;
    r.inuse = director_->version_in_use();
    uint32_t tag = static_cast<uint32_t>(recs_.size());
    test::Bytes b;
    switch (rng_() % 4) {
    case 0:
    case 1: {
        if (tag >= (1u << 23)) return;  // the tag lives in 23 bits of the requester's address
        r.kind = Kind::arp;
        r.who = rng_() % 4;
        char spa[32];
        std::snprintf(spa, sizeof spa, "11.%u.%u.%u", 128 | (tag >> 16 & 0x7f), tag >> 8 & 0xff, tag & 0xff);
        b = test::arp(test::L2{test::mac("ff:ff:ff:ff:ff:ff"), client_mac_}, 1, client_mac_, spa, MacAddr{},
                      kArpTargets[r.who]);
        injected_arp_++;
        break;
    }
    case 2:
        r.kind = Kind::kernel;
        b = test::tcp(test::L2{port_.mac, client_mac_}, "11.9.0.1", rng_() % 2 ? "10.0.0.1" : "10.0.0.9", 40000, 22,
                      kTcpSyn);
        tag_tcp(b, tag);
        injected_kernel_++;
        break;
    default:
        r.kind = Kind::foreign;
        b = test::tcp(test::L2{other_mac_, client_mac_}, "11.9.0.2", "10.0.0.1", 40001, 80, kTcpSyn);
        tag_tcp(b, tag);
        injected_foreign_++;
        break;
    }
    if (inject(queue, b)) recs_.push_back(r);
}

void PublishStress::inject_burst() {
    unsigned n = 1 + rng_() % 7;
    auto now = Clock::now();
    for (unsigned i = 0; i < n; i++) {
        if (rng_() % 10 == 0) {
            uint8_t queue = static_cast<uint8_t>(rng_() % workers_.size());
            if (rte_ring_free_count(rx_[queue]) > 0) inject_noise(queue);
            else ring_full_++;
            continue;
        }
        // A flow that is not resting.
        for (int tries = 0; tries < 8; tries++) {
            uint32_t idx = rng_() % flows_.size();
            Flow& f = flows_[idx];
            if (f.phase == 0 && now < f.rest_until) continue;
            if (rte_ring_free_count(rx_[f.queue]) == 0) {
                ring_full_++;
                break;
            }
            inject_flow(idx);
            break;
        }
    }
}

// ---- control-plane actions ----

void PublishStress::flip() {
    // A VIP away comes back; otherwise one goes away (and half the time comes straight back).
    for (int v = 0; v < 2; v++)
        if (!owned_[v].owned) {
            director_->set_vips_owned({test::ip(kVrrpVips[v])}, true);
            owned_[v].owned = true;
            flips_++;
            return;
        }
    int v = static_cast<int>(rng_() % 2);
    director_->set_vips_owned({test::ip(kVrrpVips[v])}, false);
    owned_[v].owned = false;
    owned_[v].unowned_since = director_->version_published();
    flips_++;
    if (rng_() % 2) {
        director_->set_vips_owned({test::ip(kVrrpVips[v])}, true);
        owned_[v].owned = true;
        flips_++;
    }
}

void PublishStress::change_weight() {
    std::vector<int> present;
    for (int s = 0; s < kServices; s++)
        if (plans_[cfg_][s].present) present.push_back(s);
    int s = present[rng_() % present.size()];
    std::vector<RealPlan> reals;
    for (const RealPlan& r : plans_[cfg_][s].reals)
        if (!r.cold) reals.push_back(r);
    const RealPlan& r = reals[rng_() % reals.size()];
    const ServiceDef& d = kServiceDefs[s];
    std::string svc = std::string(d.vip) + ":" + std::to_string(d.port);
    std::string real = real_ip(s, r.n) + ":" + std::to_string(d.port);
    std::string err = director_->set_weight(svc, real, static_cast<int>(rng_() % 4), [this](const std::string& e) {
        if (!e.empty()) fail("weight change not published: " + e);
        weight_published_++;
    });
    if (!err.empty()) fail("set_weight " + svc + " " + real + ": " + err);
    weight_changes_++;
}

void PublishStress::start_reload() {
    int next = (cfg_ + 1) % kConfigs;
    reload_pending_ = true;
    reload_started_ = Clock::now();
    director_->reload(paths_[next], [this, next](const std::string& err) { on_reloaded(next, err); });
}

// Runs on the control thread right after the new View was published.
void PublishStress::on_reloaded(int cfg, const std::string& err) {
    reload_pending_ = false;
    last_reload_version_ = director_->version_published();
    if (!err.empty()) {
        fail("reload of " + paths_[cfg] + " failed: " + err);
        return;
    }
    reloads_++;
    uint64_t v = director_->version_published();
    for (int s = 0; s < kServices; s++) {
        Presence& p = presence_[s];
        bool now = plans_[cfg][s].present;
        if (p.present && !now) p.absent_since = v;
        if (!p.present && now) p.last_absent = v - 1;
        p.present = now;
    }
    cfg_ = cfg;
    note_ids();
}

// Ids handed out anew (a generation bump), as far as the snapshots sampled show; and every real's
// MAC is its own.
void PublishStress::note_ids() {
    auto snap = director_->snapshot();
    for (size_t id = 0; id < snap->dests.size(); id++) {
        const Dest& d = snap->dests[id];
        if (!d.in_use) continue;
        uint64_t mac = mac_key(d.mac);
        auto it = mac_names_.find(mac);
        if (it == mac_names_.end() || it->second.find("/" + d.ip.str()) == std::string::npos)
            fail("dest " + std::to_string(id) + " (" + d.ip.str() + ") has MAC " + d.mac.str());
        auto [seen, fresh] = id_seen_.emplace(id, std::make_pair(d.gen, mac));
        if (!fresh && seen->second.first != d.gen) ids_reassigned_++;
        seen->second = {d.gen, mac};
    }
}

void PublishStress::list_connections() {
    listing_ = true;
    director_->connections(128, [this](std::vector<ConnInfo> conns) {
        listing_ = false;
        listings_++;
        listed_ += conns.size();
        for (const ConnInfo& c : conns) {
            bool known = false;
            for (const ServiceDef& s : kServiceDefs) known |= c.dst == test::ip(s.vip) && c.dport == s.port;
            if (c.proto == 0) known = c.dport != 0;  // a persistence template: client, VIP, service port
            if (!known || c.dest >= kMaxDests) fail("listed connection to " + endpoint(c.dst, c.dport) + " unknown");
        }
    });
}

void PublishStress::act() {
    uint64_t v = director_->version_published();
    uint64_t iteration = ++iterations_;
    if (reload_pending_) {
        if (Clock::now() - reload_started_ > kReloadDeadline) {
            fail("a reload did not answer within 30 s");
            reload_pending_ = false;
        }
    } else if (v - last_reload_version_ >= kReloadEvery) {
        // Publishes come in bursts: let this one settle (traffic goes on) so that the reload's build
        // sees no View waiting for its grace period and may free the ids of drained reals. Under a
        // steady stream of publishes it never may (Director::may_refer).
        if (!quiet_since_) quiet_since_ = Clock::now();
        if (director_->idle()) {
            quiet_total_ += Clock::now() - *quiet_since_;
            quiet_since_.reset();
            start_reload();
        } else if (Clock::now() - *quiet_since_ > kReloadDeadline) {
            fail("the Director did not become idle within 30 s without publishes");
            quiet_since_.reset();
            start_reload();
        }
        return;
    }
    if (!listing_ && iteration % kListEvery == 0) list_connections();
    if (iteration % kWeightEvery == 0) change_weight();
    else flip();
}

// ---- what comes out ----

void PublishStress::drain() {
    rte_mbuf* pkts[64];
    for (size_t q = 0; q < tx_.size(); q++)
        for (unsigned total = 0; total < kTxRing;) {
            unsigned n = rte_ring_dequeue_burst(tx_[q], reinterpret_cast<void**>(pkts), 64, nullptr);
            if (n == 0) break;
            total += n;
            for (unsigned i = 0; i < n; i++) {
                check_frame(static_cast<uint8_t>(q), rte_pktmbuf_mtod(pkts[i], const uint8_t*), pkts[i]->data_len);
                rte_pktmbuf_free(pkts[i]);
            }
            drained_ += n;
        }
}

void PublishStress::check_frame(uint8_t queue, const uint8_t* d, uint32_t len) {
    if (len < 42) return fail("runt frame out: " + std::to_string(len) + " bytes");
    uint16_t type = static_cast<uint16_t>(d[12] << 8 | d[13]);
    if (type == 0x0800) return check_tcp(queue, d, len);
    if (type == 0x0806) return check_arp(queue, d, len);
    fail("frame of ethertype " + std::to_string(type) + " out");
}

void PublishStress::check_tcp(uint8_t queue, const uint8_t* d, uint32_t len) {
    const uint32_t l4 = 14 + (d[14] & 0xfu) * 4;
    if (d[23] != kProtoTcp || len < l4 + 20) return fail("non-TCP IPv4 frame out");
    uint32_t tag = static_cast<uint32_t>(d[l4 + 4]) << 24 | d[l4 + 5] << 16 | d[l4 + 6] << 8 | d[l4 + 7];
    if (tag >= recs_.size()) return fail("frame out with an unknown tag " + std::to_string(tag));
    Rec& r = recs_[tag];
    std::string what = "frame #" + std::to_string(tag);
    if (r.out) return fail(what + " came out twice");
    r.out = true;
    if (r.queue != queue) return fail(what + " went in on queue " + std::to_string(r.queue) + ", out on another");
    if (static_cast<int64_t>(tag) <= last_out_[queue]) fail(what + " came out after a later frame of its queue");
    last_out_[queue] = tag;
    if (r.kind != Kind::flow) return fail(what + " (to no service, or to another host) was forwarded");
    if (kept_hash(d, len) != r.hash) fail(what + " changed past its MAC addresses (TTL and checksum apart)");
    uint32_t ip_sum = sum16(d + 14, l4 - 14, 0);
    while (ip_sum >> 16) ip_sum = (ip_sum & 0xffff) + (ip_sum >> 16);
    if (d[22] != kBuilderTtl - 1 || ip_sum != 0xffff)
        fail(what + " left with TTL " + std::to_string(d[22]) + " or a wrong IPv4 header checksum");
    if (std::memcmp(d + 6, port_.mac.b.data(), 6) != 0) fail(what + " left with source MAC " + mac_str(d + 6));
    drained_fwd_++;

    Flow& f = flows_[r.who];
    const ServiceDef& s = kServiceDefs[f.svc];
    uint64_t mac = mac_key(d);
    uint64_t ceiling = director_->version_published();
    what += " of " + f.client + ":" + std::to_string(f.sport) + " -> " + s.vip + ":" + std::to_string(s.port);
    if (!allowed_[f.svc].count(mac)) {
        auto it = mac_names_.find(mac);
        return fail(what + " went to " + mac_str(d) + " (" + (it == mac_names_.end() ? "no real" : it->second) +
                    "), not a real of " + s.name + " with a weight in any configuration");
    }
    const Presence& p = presence_[f.svc];
    if (!p.present && r.inuse >= p.absent_since)
        fail(what + " forwarded although its service is in no View since version " + std::to_string(p.absent_since) +
             " (in use when it went in: " + std::to_string(r.inuse) + ")");
    for (int v = 0; v < 2; v++)
        if (std::strcmp(s.vip, kVrrpVips[v]) == 0 && !owned_[v].owned && r.inuse >= owned_[v].unowned_since)
            fail(what + " forwarded although its VIP is not owned in any View since version " +
                 std::to_string(owned_[v].unowned_since));

    // The flow's connection entry: made (or refreshed) by its last SYN that came out.
    if (f.pinned && r.fins == f.pin_fins) {
        bool maybe_stale = p.last_absent > f.pin_floor || (!p.present && p.absent_since > f.pin_floor);
        if (!maybe_stale) {
            pin_checks_++;
            if (mac != f.pin_mac) {
                auto it = mac_names_.find(f.pin_mac);
                fail(what + (r.flags & kTcpSyn ? " (SYN)" : r.flags & kTcpFin ? " (FIN)" : " (ACK)") + " went to " +
                     mac_names_[mac] + " but its connection is on " +
                     (it == mac_names_.end() ? "?" : it->second) + " (pinned at version >= " +
                     std::to_string(f.pin_floor) + ", out by version " + std::to_string(ceiling) +
                     "; its service has been in every View since)");
            }
        }
    }
    if (f.last_mac && f.last_mac != mac) moves_allowed_++;
    f.last_mac = mac;
    if (r.flags & kTcpSyn) {
        f.pinned = true;
        f.pin_mac = mac;
        f.pin_floor = r.inuse;
        f.pin_fins = r.fins;
    }
}

void PublishStress::check_arp(uint8_t queue, const uint8_t* d, uint32_t len) {
    const uint8_t* a = d + 14;
    if (len < 14 + 28 || a[6] != 0 || a[7] != 2) return fail("ARP out that is no reply");
    const uint8_t* tpa = a + 24;
    if (tpa[0] != 11 || !(tpa[1] & 0x80)) return fail("ARP reply to an address the test never asked from");
    uint32_t tag = static_cast<uint32_t>(tpa[1] & 0x7f) << 16 | tpa[2] << 8 | tpa[3];
    if (tag >= recs_.size() || recs_[tag].kind != Kind::arp) return fail("ARP reply with an unknown tag");
    Rec& r = recs_[tag];
    std::string what = "ARP reply #" + std::to_string(tag) + " for " + kArpTargets[r.who];
    if (r.out) return fail(what + " came out twice");
    r.out = true;
    if (r.queue != queue) return fail(what + " out on another queue");
    if (static_cast<int64_t>(tag) <= last_out_[queue]) fail(what + " came out after a later frame of its queue");
    last_out_[queue] = tag;
    drained_arp_++;
    IpAddr vip = test::ip(kArpTargets[r.who]);
    if (std::memcmp(d, client_mac_.b.data(), 6) != 0 || std::memcmp(d + 6, port_.mac.b.data(), 6) != 0 ||
        std::memcmp(a + 8, port_.mac.b.data(), 6) != 0 || std::memcmp(a + 14, vip.b.data(), 4) != 0 ||
        std::memcmp(a + 18, client_mac_.b.data(), 6) != 0)
        fail(what + " is not the reply: " + mac_str(d) + " <- " + mac_str(d + 6));
    if (r.who == 3) return fail(what + ": no VIP");
    if (r.who == 2 && !presence_[kAltService].present && r.inuse >= presence_[kAltService].absent_since)
        fail(what + " although no service has that VIP in any View since version " +
             std::to_string(presence_[kAltService].absent_since));
    if (r.who < 2 && !owned_[r.who].owned && r.inuse >= owned_[r.who].unowned_since)
        fail(what + " although it is not owned in any View since version " +
             std::to_string(owned_[r.who].unowned_since));
}

// ---- counters, once the workers stopped ----

void PublishStress::check_counters() {
    auto t = std::make_unique<CoreCounters>();
    director_->totals(*t);
    const uint64_t tx_full = t->drops[static_cast<unsigned>(Drop::tx_full)];
    EXPECT_EQ(t->rx_packets, injected_) << "frames injected vs received";
    EXPECT_EQ(t->forwarded + t->arp_replies + t->to_kernel + t->not_for_us + (t->drops_total() - tx_full),
              t->rx_packets)
        << "every frame received is forwarded, answered, handed to the kernel, not ours, or dropped by reason";
    EXPECT_EQ(t->tx_packets + tx_full, t->forwarded + t->arp_replies);
    EXPECT_EQ(t->tx_packets, drained_) << "sent vs drained from the TX rings";
    EXPECT_EQ(tx_full, 0u);
    EXPECT_EQ(t->table_full, 0u);  // no stateless forwarding for want of room: connection checks hold
    EXPECT_EQ(t->evicted, 0u);
    EXPECT_EQ(drained_fwd_, t->forwarded);
    EXPECT_EQ(drained_arp_, t->arp_replies);
    EXPECT_EQ(t->not_for_us, injected_foreign_);
    EXPECT_GE(t->to_kernel, injected_kernel_);
    EXPECT_EQ(t->from_kernel, 0u);

    constexpr uint64_t kLimit = uint64_t{1} << 31;  // far above anything this test counts: an underflow
    auto check_dests = [&](const CoreCounters& c, const std::string& who) {
        unsigned bad = 0;
        for (unsigned i = 0; i < kMaxDests; i++) {
            const DestCounters& d = c.dest[i];
            if (uint64_t{d.active} + d.inactive + d.persist != d.refs && bad++ < 5)
                ADD_FAILURE() << who << " dest " << i << ": active " << d.active << " + inactive " << d.inactive
                              << " + persist " << d.persist << " != refs " << d.refs;
            for (uint64_t v : {uint64_t{d.active}, uint64_t{d.inactive}, uint64_t{d.persist}, uint64_t{d.refs}, d.conns,
                               d.inpkts, d.inbytes})
                if (v > kLimit && bad++ < 5) ADD_FAILURE() << who << " dest " << i << ": a counter at " << v;
        }
        for (unsigned i = 0; i < kMaxServices; i++)
            for (uint64_t v : {c.svc[i].conns, c.svc[i].inpkts, c.svc[i].inbytes})
                if (v > kLimit && bad++ < 5) ADD_FAILURE() << who << " service " << i << ": a counter at " << v;
        EXPECT_EQ(bad, 0u) << who;
    };
    check_dests(*t, "totals");
    for (size_t w = 0; w < workers_.size(); w++) {
        const Processor& p = *workers_[w]->proc;
        const CoreCounters& c = p.counters();
        std::string who = "worker " + std::to_string(w);
        check_dests(c, who);
        uint64_t refs = 0, inpkts = 0, svc_inpkts = 0;
        for (unsigned i = 0; i < kMaxDests; i++) refs += c.dest[i].refs, inpkts += c.dest[i].inpkts;
        for (unsigned i = 0; i < kMaxServices; i++) svc_inpkts += c.svc[i].inpkts;
        EXPECT_EQ(refs, uint64_t{p.table4().size()} + p.table6().size()) << who << ": references vs entries";
        EXPECT_EQ(inpkts, c.forwarded) << who << ": packets by real vs forwarded";
        EXPECT_EQ(svc_inpkts, c.forwarded) << who << ": packets by service vs forwarded";
    }

    std::printf("publish-stress: drops by reason:");
    for (unsigned i = 0; i < kDropCount; i++)
        if (t->drops[i]) std::printf(" %s %llu", drop_name(static_cast<Drop>(i)), static_cast<unsigned long long>(t->drops[i]));
    std::printf("\npublish-stress: forwarded %llu (stateless %llu), arp replies %llu, to kernel %llu, not for us %llu, "
                "stale entries %llu, expired %llu, evicted %llu\n",
                static_cast<unsigned long long>(t->forwarded), static_cast<unsigned long long>(t->stateless),
                static_cast<unsigned long long>(t->arp_replies), static_cast<unsigned long long>(t->to_kernel),
                static_cast<unsigned long long>(t->not_for_us), static_cast<unsigned long long>(t->stale),
                static_cast<unsigned long long>(t->expired), static_cast<unsigned long long>(t->evicted));
}

TEST_F(PublishStress, HundredThousandPublishesWhileWorkersForward) {
    ASSERT_TRUE(director_);
    const auto start = Clock::now();
    const uint64_t target = g_publishes;
    auto next_tick = start + std::chrono::seconds(1);
    last_poll_ = start;
    bool timed_out = false;
    while (director_->version_published() < target) {
        if (Clock::now() - start > kDeadline) {
            timed_out = true;
            break;
        }
        Clock::time_point t[6];
        t[0] = Clock::now();
        inject_burst();
        t[1] = Clock::now();
        act();
        t[2] = Clock::now();
        io_.poll();
        t[3] = Clock::now();
        drain();
        t[4] = Clock::now();
        if (t[4] >= next_tick) {
            director_->tick();  // as dplbd's control loop: rates, and ids of drained reals freed
            note_ids();
            next_tick += std::chrono::seconds(1);
        }
        t[5] = Clock::now();
        for (int i = 0; i < 5; i++) phase_max_[i] = std::max(phase_max_[i], t[i + 1] - t[i]);
        max_gap_ = std::max(max_gap_, t[3] - last_poll_);
        last_poll_ = t[3];
    }
    const double publish_s = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_FALSE(timed_out) << "only " << director_->version_published() << " publishes in " << publish_s << " s";

    // No more traffic: the workers take what is queued, the Director finishes what it builds.
    const auto settle = Clock::now() + std::chrono::seconds(60);
    while ((rx_total() < injected_ || director_->building() || reload_pending_ || listing_) && Clock::now() < settle) {
        io_.poll();
        drain();
    }
    EXPECT_EQ(rx_total(), injected_) << "frames still queued after 60 s";
    EXPECT_FALSE(director_->building());
    quit_ = true;
    rte_eal_mp_wait_lcore();  // each worker flushed its TX buffer and went offline
    launched_ = false;
    drain();
    for (rte_ring* r : tx_) EXPECT_EQ(rte_ring_count(r), 0u);
    // Every worker is offline: the grace periods still waited for end at the next poll of the retire timer.
    for (auto until = Clock::now() + std::chrono::seconds(5); !director_->idle() && Clock::now() < until;) io_.poll();
    EXPECT_TRUE(director_->idle()) << "Views still waiting for a grace period after the workers stopped";
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "mbufs not returned to the pool";

    note_ids();
    check_counters();
    EXPECT_EQ(director_->reloads_failed(), 0u);
    EXPECT_EQ(director_->reloads_ok(), reloads_);
    EXPECT_EQ(failures_, 0u) << "frame check failures (the first 20 are reported above)";
    EXPECT_GT(pin_checks_, drained_fwd_ / 10) << "too few frames checked against their connection's real";
    EXPECT_GT(ids_reassigned_, 0u) << "no id was ever handed to another real";

    const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("publish-stress: %llu publishes (%llu VRRP flips, %llu weight changes in %llu published builds, "
                "%llu reloads, %llu builds, %llu scheduler tables rebuilt) in %.1f s, %zu worker(s)\n",
                static_cast<unsigned long long>(director_->version_published()),
                static_cast<unsigned long long>(flips_), static_cast<unsigned long long>(weight_changes_),
                static_cast<unsigned long long>(weight_published_), static_cast<unsigned long long>(reloads_),
                static_cast<unsigned long long>(director_->builds()),
                static_cast<unsigned long long>(director_->tables_rebuilt()), publish_s, workers_.size());
    std::printf("publish-stress: %llu frames in (%llu ARP, %llu to the kernel, %llu to another host; %llu waits for "
                "RX ring room), %llu out (%llu forwarded, %llu ARP replies); %llu frames checked against their "
                "connection's real, %llu allowed moves; %llu listings (%llu entries); ids handed out anew %llu times; longest pass of the control loop %.1f ms; %.1f s in all\n",
                static_cast<unsigned long long>(injected_), static_cast<unsigned long long>(injected_arp_),
                static_cast<unsigned long long>(injected_kernel_), static_cast<unsigned long long>(injected_foreign_),
                static_cast<unsigned long long>(ring_full_), static_cast<unsigned long long>(drained_),
                static_cast<unsigned long long>(drained_fwd_), static_cast<unsigned long long>(drained_arp_),
                static_cast<unsigned long long>(pin_checks_), static_cast<unsigned long long>(moves_allowed_),
                static_cast<unsigned long long>(listings_), static_cast<unsigned long long>(listed_),
                static_cast<unsigned long long>(ids_reassigned_),
                std::chrono::duration<double, std::milli>(max_gap_).count(), total_s);
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::printf("publish-stress: waiting for quiet before reloads %.1f s; longest inject %.1f ms, act %.1f ms, "
                "poll %.1f ms, drain %.1f ms, tick %.1f ms\n",
                ms(quiet_total_) / 1000, ms(phase_max_[0]), ms(phase_max_[1]), ms(phase_max_[2]), ms(phase_max_[3]),
                ms(phase_max_[4]));
}

// Cores for EAL: the main lcore (the test and control thread) on the first CPU this process may
// use, two workers on the next ones; on a 2-CPU machine both workers share the second CPU, so a
// worker is also preempted in the middle of a pass holding a View (grace periods must wait for it).
std::string lcore_map() {
    cpu_set_t set;
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
    if (cpus.empty()) cpus.push_back(0);
    int w1 = cpus.size() > 1 ? cpus[1] : cpus[0];
    int w2 = cpus.size() > 2 ? cpus[2] : w1;
    return "0@" + std::to_string(cpus[0]) + ",1@" + std::to_string(w1) + ",2@" + std::to_string(w2);
}

}  // namespace
}  // namespace dplb

// Own main: EAL without hugepages, PCI or shared files (runs anywhere, leaves nothing behind).
// Options after GoogleTest's: --publishes N (default 100000), --seed N.
int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--publishes") dplb::g_publishes = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--seed") dplb::g_seed = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
        else {
            std::fprintf(stderr, "usage: %s [gtest options] [--publishes N] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    std::string lcores = dplb::lcore_map();
    const char* eal[] = {"publish_stress_tests", "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
                         "--lcores", lcores.c_str(), "--log-level", "lib.eal:error", "--no-telemetry"};
    int n = static_cast<int>(sizeof eal / sizeof eal[0]);
    if (rte_eal_init(n, const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "EAL initialisation failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    std::printf("publish-stress: EAL lcores %s, seed %u, %llu publishes\n", lcores.c_str(), dplb::g_seed,
                static_cast<unsigned long long>(dplb::g_publishes));
    int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
