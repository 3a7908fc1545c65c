#include "rig.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "frame_builder.h"
#include "scheduler.h"

namespace dplb::bench {
namespace {

constexpr const char* kVip = "10.0.0.100";
constexpr uint16_t kVport = 80;
constexpr const char* kRealMacs[] = {"02:00:00:00:00:11", "02:00:00:00:00:12"};
constexpr const char* kRealIps[] = {"10.0.0.11", "10.0.0.12"};
constexpr const char* kClientMac = "02:00:00:00:00:aa";
constexpr const char* kPortName = "net_ring_bench";

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class T>
T load(const T& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
}

// One TCP service on the VIP with two real servers (service id 0, dest ids 0 and 1), built as the
// control plane would; with --services, it comes last in the snapshot, behind opt.services - 1 others
// (one real each) on VIPs no traffic goes to.
Snapshot make_snapshot(const Options& opt) {
    Snapshot snap;
    Service s;
    s.id = 0;
    s.vip = test::ip(kVip);
    s.port = kVport;
    s.proto = kProtoTcp;
    s.sched = opt.sched;
    if (opt.traffic == Traffic::syn) {
        // Flood entries should leave as fast as the sweep comes round, so each new connection pays
        // for its own insert and delete while the table stays in steady state.
        uint8_t opened = static_cast<uint8_t>(tcp_next_state(TcpState::none, kTcpSyn));
        s.timeouts.ms[opened] = opt.syn_timeout_ms;
    }
    auto add_real = [&](Service& svc, size_t r) {
        Dest d;
        d.ip = test::ip(kRealIps[r]);
        d.port = kVport;
        d.weight = 1;
        d.svc = svc.id;
        d.in_use = true;
        d.mac = test::mac(kRealMacs[r]);
        d.has_mac = true;
        svc.dests.push_back(static_cast<uint16_t>(snap.dests.size()));
        snap.dests.push_back(d);
    };
    for (size_t r = 0; r < 2; r++) add_real(s, r);
    build_sched_tables(s, snap.dests);
    for (uint32_t i = 1; i < opt.services; i++) {
        Service other;
        other.id = static_cast<uint16_t>(i);
        other.vip = IpAddr::from_v4_be(__builtin_bswap32(0xac100000 + i));  // 172.16.0.0/22, not the clients
        other.port = kVport;
        add_real(other, 0);
        build_sched_tables(other, snap.dests);
        snap.services.push_back(other);
    }
    snap.services.push_back(s);
    assign_vip_slots(snap);
    return snap;
}

}  // namespace

Rig::~Rig() {
    for (auto& w : workers_) worker_release(w->ctx);
    if (port_up_) port_stop(port_);
    for (auto& w : workers_) {
        w->probe.reset();  // gives back the frames it holds
        if (w->ring) {
            rte_mbuf* m;
            while (rte_ring_sc_dequeue(w->ring, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
            rte_ring_free(w->ring);
        }
        w->proc.reset();
        if (w->pool) rte_mempool_free(w->pool);
    }
}

bool Rig::make_worker(WorkerRig& w, size_t index, const Options& opt, std::string& err) {
    char name[32];
    w.socket = static_cast<int>(rte_lcore_to_socket_id(w.lcore));
    if (w.socket < 0 || w.socket >= RTE_MAX_NUMA_NODES) w.socket = 0;
    std::snprintf(name, sizeof name, "bench_pool%zu", index);
    // No per-lcore cache: the worker never allocates (frames circle), so the pool is only a store.
    w.pool = rte_pktmbuf_pool_create(name, opt.frames, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, w.socket);
    if (!w.pool) return err = std::string("mbuf pool: ") + rte_strerror(rte_errno), false;
    std::snprintf(name, sizeof name, "bench_ring%zu", index);
    w.ring = rte_ring_create(name, rte_align32pow2(opt.frames) * 2, w.socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!w.ring) return err = std::string("ring: ") + rte_strerror(rte_errno), false;

    size_t n = workers_.size();
    w.flows = opt.flows / n + (index < opt.flows % n ? 1 : 0);
    w.capacity = opt.capacity ? opt.capacity : w.flows;
    ProcessorConfig pc;
    pc.ipv4_entries = static_cast<uint32_t>(w.capacity);
    pc.ipv6_entries = 1024;  // no IPv6 traffic here; rte_hash's smallest sensible table
    pc.socket = w.socket;
    pc.id = static_cast<unsigned>(index);
    rte_malloc_socket_stats before{}, after{};
    rte_malloc_get_socket_stats(w.socket, &before);
    w.proc = Processor::create(pc, err);
    if (!w.proc) return false;
    rte_malloc_get_socket_stats(w.socket, &after);
    w.heap_bytes = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
    w.proc->set_snapshot(&snap_);
    if (opt.sync) {
        std::snprintf(name, sizeof name, "bench_synced%zu", index);
        w.synced = std::make_unique<SyncedTable>();
        if (!w.synced->init(name, 1024, 1024, w.socket)) return err = std::string("synced table: ") + rte_strerror(rte_errno), false;
        w.sync_ring = std::make_unique<SyncRing>();
        w.proc->set_sync(w.sync_ring.get(), w.synced.get());
    }
    return true;
}

bool Rig::build(const Options& opt, std::string& err) {
    snap_ = make_snapshot(opt);
    view_.snap = std::shared_ptr<const Snapshot>(&snap_, [](const Snapshot*) {});  // owned by the rig
    published_.store(&view_);
    for (const char* m : kRealMacs) real_macs_.push_back(test::mac(m));

    unsigned lc;
    RTE_LCORE_FOREACH_WORKER(lc) {
        workers_.push_back(std::make_unique<WorkerRig>());
        workers_.back()->lcore = lc;
    }
    if (workers_.empty()) return err = "no worker lcore: give EAL at least two (-l 0,1)", false;
    if (opt.flows < workers_.size()) return err = "fewer flows than workers", false;
    for (size_t i = 0; i < workers_.size(); i++)
        if (!make_worker(*workers_[i], i, opt, err)) return false;

    // One port, queue q of which is worker q's ring for both directions: what it sends, it receives.
    std::vector<rte_ring*> rings;
    std::vector<rte_mempool*> pools;
    for (auto& w : workers_) {
        rings.push_back(w->ring);
        pools.push_back(w->pool);
    }
    unsigned nq = static_cast<unsigned>(rings.size());
    int id = rte_eth_from_rings(kPortName, rings.data(), nq, rings.data(), nq, workers_[0]->socket);
    char dev[RTE_ETH_NAME_MAX_LEN];
    if (id < 0 || rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id), dev) != 0)
        return err = std::string("net_ring port: ") + rte_strerror(rte_errno), false;
    port_.name = "bench";
    port_.device = dev;  // the driver prefixes its own name: port_start finds it by this
    if (!port_start(port_, pools, PortOptions{}, err)) return false;  // dplbd's own port set-up
    port_up_ = true;

    for (size_t i = 0; i < workers_.size(); i++) {
        WorkerRig& w = *workers_[i];
        WireConfig wc;
        wc.traffic = opt.traffic;
        wc.flows = static_cast<uint32_t>(w.flows);
        wc.worker = static_cast<unsigned>(i);
        wc.port_mac = port_.mac;
        wc.client_mac = test::mac(kClientMac);
        wc.check = opt.smoke;
        wc.real_macs = real_macs_;
        wc.quit = &quit_;
        wc.stopped = &wires_stopped_;
        wc.wires = static_cast<unsigned>(workers_.size());
        w.wire = std::make_unique<Wire>(wc);
        if (!rte_eth_add_tx_callback(port_.port_id, static_cast<uint16_t>(i), Wire::tx_callback, w.wire.get()))
            return err = "cannot add the TX callback (ethdev built without RX/TX callbacks?)", false;
        w.ctx.proc = w.proc.get();
        w.ctx.view = &published_;
        w.ctx.quit = &quit_;
        w.ctx.queues.push_back(WorkerQueue{port_.port_id, static_cast<uint16_t>(i), port_.mac, nullptr});
        if (!worker_prepare(w.ctx, w.socket)) return err = "cannot allocate TX buffers", false;
        if (!prefill(w, opt, err)) return false;
    }
    return true;
}

bool Rig::prefill(WorkerRig& w, const Options& opt, std::string& err) {
    test::L2 l2{port_.mac, test::mac(kClientMac)};
    size_t payload = opt.size - 4 - 54;  // FCS is not in the mbuf; 54 = Ethernet + IPv4 + TCP headers
    test::Bytes tmpl = test::tcp(l2, "11.0.0.0", kVip, 1024, kVport, kTcpSyn, payload);
    for (uint32_t i = 0; i < opt.frames; i++) {
        rte_mbuf* m = rte_pktmbuf_alloc(w.pool);
        if (!m) return err = "mbuf pool exhausted while pre-filling", false;
        auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(tmpl.size())));
        if (!d) return err = "frame does not fit an mbuf", false;
        std::memcpy(d, tmpl.data(), tmpl.size());
        w.wire->emit_burst(&d, 1);
        if (rte_ring_sp_enqueue(w.ring, m) != 0) return err = "ring full while pre-filling", false;
    }
    return true;
}

bool Rig::attach_probes(const Options& opt, std::string& err) {
    for (size_t i = 0; i < workers_.size(); i++) {
        WorkerRig& w = *workers_[i];
        w.probe = std::make_unique<LatencyProbe>();
        if (!w.probe->init(static_cast<unsigned>(i), opt.frames, w.socket))
            return err = std::string("latency probe: ") + rte_strerror(rte_errno), false;
        if (!w.probe->attach(port_.port_id, static_cast<uint16_t>(i)))
            return err = "cannot add the latency probe's RX/TX callbacks", false;
    }
    return true;
}

void Rig::launch(bool macswap) {
    quit_.store(false);
    wires_stopped_.store(0);
    for (auto& w : workers_) {
        w->ctx.macswap_only = macswap;
        w->wire->set_macswap(macswap);
        rte_eal_remote_launch(worker_main, &w->ctx, w->lcore);
    }
}

void Rig::stop() {
    quit_.store(true);
    rte_eal_mp_wait_lcore();
}

// How long no frame may move before they count as lost. Generous: on a loaded 2-core machine a
// worker sharing its CPU can be descheduled for seconds, and the smoke test checks what is forwarded,
// not how fast.
constexpr double kStallS = 30.0;

bool Rig::wait_emitted(const std::vector<uint64_t>& target, double timeout_s) {
    double start = now_s(), last_move = start;
    uint64_t last = 0;
    for (;;) {
        bool all = true;
        uint64_t sum = 0;
        for (size_t i = 0; i < workers_.size(); i++) {
            uint64_t e = workers_[i]->wire->emitted();
            sum += e;
            all &= e >= target[i];
        }
        if (all) return true;
        double t = now_s();
        if (sum != last) last = sum, last_move = t;
        if (t - last_move > kStallS || t - start > timeout_s) return false;  // frames lost, or far too slow
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

Sample Rig::sample() const {
    Sample s;
    s.t = now_s();
    for (const auto& w : workers_) {
        const CoreCounters& c = w->proc->counters();
        s.rx += load(c.rx_packets);
        s.tx += load(c.tx_packets);
        s.forwarded += load(c.forwarded);
        for (unsigned d = 0; d < kDropCount; d++) s.drops += load(c.drops[d]);
        s.other += load(c.to_kernel) + load(c.not_for_us) + load(c.arp_replies);
        s.conns += load(c.svc[0].conns);
        s.table_full += load(c.table_full);
        s.expired += load(c.expired);
        s.emitted += w->wire->emitted();
    }
    return s;
}

}  // namespace dplb::bench
