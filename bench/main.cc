// dplb_bench: dplbd's worker loop on a looped net_ring port, measured against the same loop doing a
// plain MAC swap. `dplb_bench [EAL options] -- [options]`; see bench/README.md and bench/run.
// Prints a readable line and a `RESULT {json}` line per measured mode; exit 1 on a failed check.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "options.h"
#include "rig.h"
#include "sysload.h"

namespace dplb::bench {
namespace {

struct Checker {
    bool ok = true;
    void expect(bool cond, const char* what, uint64_t got, uint64_t want) {
        if (cond) return;
        ok = false;
        std::printf("smoke: FAIL %s: got %llu, want %llu\n", what, static_cast<unsigned long long>(got),
                    static_cast<unsigned long long>(want));
    }
    void equal(const char* what, uint64_t got, uint64_t want) { expect(got == want, what, got, want); }
};

uint64_t wire_checked(Rig& rig) {
    uint64_t n = 0;
    for (auto& w : rig.workers()) n += w->wire->checked();
    return n;
}

uint64_t wire_bad(Rig& rig) {
    uint64_t n = 0;
    for (auto& w : rig.workers()) n += w->wire->bad_frames();
    return n;
}

// Runs one mode until warm, measures it, stops the workers; its total Mpps in `mpps_out`. False if
// the frames stopped moving.
bool run_mode(Rig& rig, const Options& opt, bool macswap, Checker& chk, double* mpps_out = nullptr) {
    auto& ws = rig.workers();
    std::vector<uint64_t> warm(ws.size());
    for (size_t i = 0; i < ws.size(); i++) {
        Wire& w = *ws[i]->wire;
        // Warm once every frame emitted during the opening rounds has gone through the worker.
        warm[i] = (macswap ? w.emitted() : w.warm_after()) + opt.frames;
        w.set_stop_after(opt.packets ? warm[i] + opt.packets : 0);
    }
    Sample pre = rig.sample();
    uint64_t checked_pre = wire_checked(rig), bad_pre = wire_bad(rig);
    rig.launch(macswap);
    if (!rig.wait_emitted(warm, 1800.0)) {
        rig.stop();
        std::printf("error: frames stopped circulating before warm-up ended (dropped? see counters)\n");
        Sample s = rig.sample();
        std::printf("  rx %llu forwarded %llu drops %llu table_full %llu\n", static_cast<unsigned long long>(s.rx),
                    static_cast<unsigned long long>(s.forwarded), static_cast<unsigned long long>(s.drops),
                    static_cast<unsigned long long>(s.table_full));
        for (size_t i = 0; i < ws.size(); i++) {
            const CoreCounters& c = ws[i]->proc->counters();
            std::printf("  worker %zu (lcore %u): emitted %llu of %llu, rx %llu tx %llu, ring %u, mbufs in use %u\n", i,
                        ws[i]->lcore, static_cast<unsigned long long>(ws[i]->wire->emitted()),
                        static_cast<unsigned long long>(warm[i]), static_cast<unsigned long long>(c.rx_packets),
                        static_cast<unsigned long long>(c.tx_packets), rte_ring_count(ws[i]->ring),
                        rte_mempool_in_use_count(ws[i]->pool));
        }
        return false;
    }
    Sample a = rig.sample();
    CpuTimes cpu_a = read_cpu_times();
    if (opt.packets) {
        while (!rig.quit().load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
        std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds));
    }
    Sample b = rig.sample();
    CpuTimes cpu_b = read_cpu_times();
    rig.stop();
    Sample post = rig.sample();

    const char* mode = macswap ? "macswap" : "dplb";
    double dt = b.t - a.t;
    if (!(dt > 0)) dt = 1e-9;  // a fixed-count run can end before the first sample
    double mpps = static_cast<double>(b.tx - a.tx) / dt / 1e6;
    if (mpps_out) *mpps_out = mpps;
    double per_core = mpps / static_cast<double>(ws.size());
    double ns_per_pkt = per_core > 0 ? 1e3 / per_core : 0;
    double others = other_cpus(cpu_a, cpu_b, dt);
    double conns_s = macswap ? 0 : static_cast<double>(b.conns - a.conns) / dt;
    WorkerRig& w0 = *ws[0];
    double bytes_per_conn = static_cast<double>(w0.heap_bytes) / static_cast<double>(w0.capacity);
    double model_bytes = static_cast<double>(w0.proc->table4().memory_bytes() + w0.proc->table6().memory_bytes()) /
                         static_cast<double>(w0.capacity);
    uint64_t entries = 0;
    for (auto& w : ws) entries += w->proc->table4().size();
    std::printf("%-8s %-11s flows %-9llu %4u B  %zu worker(s): %7.3f Mpps (%6.3f per core, %6.1f ns/pkt)",
                mode, traffic_name(opt.traffic), static_cast<unsigned long long>(opt.flows), opt.size, ws.size(), mpps,
                per_core, ns_per_pkt);
    if (!macswap)
        std::printf("  new conns %.3f M/s, table %llu entries, %.1f B/conn", conns_s / 1e6,
                    static_cast<unsigned long long>(entries), bytes_per_conn);
    if (others > 0.1) std::printf("  [other processes used %.2f CPUs meanwhile]", others);
    std::printf("\n");
    std::printf(
        "RESULT {\"mode\":\"%s\",\"traffic\":\"%s\",\"flows\":%llu,\"size\":%u,\"workers\":%zu,\"frames\":%u,"
        "\"sched\":\"%s\",\"seconds\":%.3f,\"packets\":%llu,\"mpps\":%.4f,\"mpps_per_core\":%.4f,\"ns_per_pkt\":%.2f,"
        "\"new_conns_per_sec\":%.0f,\"table_full\":%llu,\"drops\":%llu,\"expired\":%llu,\"entries\":%llu,"
        "\"capacity\":%llu,\"heap_bytes\":%llu,\"bytes_per_conn\":%.2f,\"model_bytes_per_conn\":%.2f,"
        "\"other_cpus\":%.2f,\"hugepages\":%s}\n",
        mode, traffic_name(opt.traffic), static_cast<unsigned long long>(opt.flows), opt.size, ws.size(), opt.frames,
        sched_name(opt.sched), dt, static_cast<unsigned long long>(b.tx - a.tx), mpps, per_core, ns_per_pkt,
        conns_s, static_cast<unsigned long long>(b.table_full - a.table_full),
        static_cast<unsigned long long>(b.drops - a.drops), static_cast<unsigned long long>(b.expired - a.expired),
        static_cast<unsigned long long>(entries), static_cast<unsigned long long>(w0.capacity),
        static_cast<unsigned long long>(w0.heap_bytes), bytes_per_conn, model_bytes, others,
        rte_eal_has_hugepages() ? "true" : "false");
    std::fflush(stdout);

    if (opt.smoke) {
        uint64_t tx = post.tx - pre.tx;
        chk.expect(tx > 0, "frames sent in this mode", tx, 1);
        chk.equal("frames the wire saw == tx_packets", wire_checked(rig) - checked_pre, tx);
        chk.equal("frames with wrong MACs, TTL or IPv4 checksum", wire_bad(rig) - bad_pre, 0);
        if (macswap) {
            chk.equal("macswap: rx_packets moved", post.rx - pre.rx, 0);
        } else {
            chk.equal("rx == forwarded + drops + other", post.rx - pre.rx,
                      (post.forwarded - pre.forwarded) + (post.drops - pre.drops) + (post.other - pre.other));
            chk.equal("drops", post.drops - pre.drops, 0);
            chk.equal("tx_packets == forwarded", tx, post.forwarded - pre.forwarded);
        }
    }
    return true;
}

// End-of-run checks: the worker's own per-real counters against what the wire saw, connection
// counts against the traffic model, and every frame still circulating.
void final_checks(Rig& rig, const Options& opt, Checker& chk) {
    auto& ws = rig.workers();
    uint64_t forwarded = 0, inpkts_sum = 0, conns = 0, active = 0, entries = 0;
    for (size_t d = 0; d < rig.real_macs().size(); d++) {
        uint64_t counted = 0, seen = 0;
        for (auto& w : ws) {
            counted += w->proc->counters().dest[d].inpkts;
            seen += w->wire->per_real()[d];
        }
        inpkts_sum += counted;
        char what[64];
        std::snprintf(what, sizeof what, "frames the wire saw for real %zu == its inpkts", d);
        chk.equal(what, seen, counted);
        chk.expect(!opt.run_dplb || counted > 0, "real got traffic (rr over 2 reals)", counted, 1);
    }
    for (auto& w : ws) {
        const CoreCounters& c = w->proc->counters();
        forwarded += c.forwarded;
        conns += c.svc[0].conns;
        for (size_t d = 0; d < rig.real_macs().size(); d++) active += c.dest[d].active;
        entries += w->proc->table4().size();
        chk.equal("frames left in the ring", rte_ring_count(w->ring), opt.frames);
        chk.equal("mbufs in use", rte_mempool_in_use_count(w->pool), opt.frames);
    }
    chk.equal("sum of per-real inpkts == forwarded", inpkts_sum, forwarded);
    if (opt.run_dplb && opt.traffic == Traffic::established) {
        chk.equal("connections opened == flows", conns, opt.flows);
        chk.equal("table entries == flows", entries, opt.flows);
        chk.equal("ActiveConn == flows", active, opt.flows);
    }
    std::printf("smoke: %s (%llu frames checked)\n", chk.ok ? "ok" : "FAILED",
                static_cast<unsigned long long>(wire_checked(rig)));
}

// One latency phase: the probes release frames at `load` x `max_mpps` in all (split evenly between
// workers), and time each from the RX burst that handed it to the worker to the TX burst that sent it.
bool run_latency(Rig& rig, const Options& opt, double load, double max_mpps) {
    auto& ws = rig.workers();
    double target = load * max_mpps;
    std::vector<uint64_t> warm(ws.size());
    for (size_t i = 0; i < ws.size(); i++) {
        ws[i]->probe->set_rate(target * 1e6 / static_cast<double>(ws.size()));
        ws[i]->probe->clear();
        // Warm once every circling frame has been released at the new rate and gone round once.
        warm[i] = ws[i]->wire->emitted() + opt.frames;
        ws[i]->wire->set_stop_after(0);
    }
    rig.launch(false);
    if (!rig.wait_emitted(warm, 600.0)) {
        rig.stop();
        std::printf("error: frames stopped circulating in the latency phase at %.0f%%\n", load * 100);
        return false;
    }
    for (auto& w : ws) w->probe->set_recording(true);
    Sample a = rig.sample();
    CpuTimes cpu_a = read_cpu_times();
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds));
    Sample b = rig.sample();
    CpuTimes cpu_b = read_cpu_times();
    rig.stop();
    for (auto& w : ws) w->probe->set_recording(false);

    double dt = b.t - a.t;
    double mpps = static_cast<double>(b.tx - a.tx) / dt / 1e6;
    CycleHistogram h;
    for (auto& w : ws) h.merge(w->probe->histogram());
    double ns = 1e9 / static_cast<double>(rte_get_tsc_hz());
    double p50 = h.quantile(0.5) * ns, p99 = h.quantile(0.99) * ns, p999 = h.quantile(0.999) * ns;
    double others = other_cpus(cpu_a, cpu_b, dt);
    std::printf("latency  %-11s flows %-9llu %4u B  %zu worker(s): %3.0f%% of %.3f Mpps = %.3f offered, %.3f sent;"
                " in the worker p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns (%llu frames)",
                traffic_name(opt.traffic), static_cast<unsigned long long>(opt.flows), opt.size, ws.size(), load * 100,
                max_mpps, target, mpps, p50, p99, p999, static_cast<unsigned long long>(h.total()));
    if (others > 0.1) std::printf("  [other processes used %.2f CPUs meanwhile]", others);
    if (mpps < 0.97 * target) std::printf("  [the worker did not keep up with the offered load]");
    std::printf("\n");
    std::printf("RESULT {\"mode\":\"latency\",\"traffic\":\"%s\",\"flows\":%llu,\"size\":%u,\"workers\":%zu,"
                "\"load\":%.2f,\"max_mpps\":%.4f,\"offered_mpps\":%.4f,\"mpps\":%.4f,\"p50_ns\":%.0f,"
                "\"p99_ns\":%.0f,\"p999_ns\":%.0f,\"samples\":%llu,\"seconds\":%.3f,\"other_cpus\":%.2f,"
                "\"hugepages\":%s}\n",
                traffic_name(opt.traffic), static_cast<unsigned long long>(opt.flows), opt.size, ws.size(), load,
                max_mpps, target, mpps, p50, p99, p999, static_cast<unsigned long long>(h.total()), dt, others,
                rte_eal_has_hugepages() ? "true" : "false");
    std::fflush(stdout);
    return h.total() > 0;
}

int run(const Options& opt) {
    Rig rig;
    std::string err;
    if (!rig.build(opt, err)) {
        std::fprintf(stderr, "dplb_bench: %s\n", err.c_str());
        return 1;
    }
    std::printf("dplb_bench: %zu worker(s), port %s, %u frames of %u B circling per worker, %s, hugepages %s\n",
                rig.workers().size(), rig.port().mac.str().c_str(), opt.frames, opt.size,
                traffic_name(opt.traffic), rte_eal_has_hugepages() ? "yes" : "no");
    std::fflush(stdout);
    Checker chk;
    bool ok = true;
    double max_mpps = 0;
    if (opt.run_dplb) ok = run_mode(rig, opt, false, chk, &max_mpps);
    if (ok && opt.run_macswap) ok = run_mode(rig, opt, true, chk);
    if (ok && opt.latency) {
        // After the throughput figures, so those ran without the probes' callbacks.
        if (!rig.attach_probes(opt, err)) {
            std::fprintf(stderr, "dplb_bench: %s\n", err.c_str());
            return 1;
        }
        for (double load : {0.5, 0.9})
            if (ok) ok = run_latency(rig, opt, load, max_mpps);
    }
    if (ok && opt.smoke) final_checks(rig, opt, chk);
    return ok && chk.ok ? 0 : 1;
}

}  // namespace
}  // namespace dplb::bench

int main(int argc, char** argv) {
    int eal_args = rte_eal_init(argc, argv);
    if (eal_args < 0) {
        std::fprintf(stderr, "dplb_bench: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    int first = eal_args + 1;
    if (first < argc && std::strcmp(argv[first], "--") == 0) first++;
    dplb::bench::Options opt;
    std::string err;
    int rc = 2;
    if (!dplb::bench::parse_options(argc - first, argv + first, opt, err)) {
        std::fprintf(stderr, "dplb_bench: %s\n", err.c_str());
        dplb::bench::print_usage();
    } else {
        rc = dplb::bench::run(opt);
    }
    rte_eal_cleanup();
    return rc;
}
