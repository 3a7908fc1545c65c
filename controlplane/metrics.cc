#include "metrics.h"

#include <dirent.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <rte_ethdev.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "director.h"
#include "sync_manager.h"
#include "scheduler.h"
#include "version.h"

namespace dplb {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// The HTTP server's threads, each serving one connection at a time, and how long a client has to
// send its request (and, once the answer goes out, to take each part of it).
constexpr int kMetricsThreads = 16;
constexpr int kMetricsRequestTimeoutMs = 2000;

namespace {

Labels with(Labels l, const char* k, const std::string& v) {
    l.push_back({k, v});
    return l;
}
ClientMetric gauge(Labels l, double v) {
    ClientMetric m;
    m.label = std::move(l);
    m.gauge.value = v;
    return m;
}
ClientMetric counter(Labels l, double v) {
    ClientMetric m;
    m.label = std::move(l);
    m.counter.value = v;
    return m;
}
MetricFamily family(const char* name, const char* help, MetricType type) { return MetricFamily{name, help, type, {}}; }

// a - b for counters read without locks while workers run: a part read after its whole may be ahead
// of it for a moment; never below 0.
double minus(uint64_t a, uint64_t b) { return a > b ? static_cast<double>(a - b) : 0; }

// Prometheus' standard process metrics, from /proc/self (as the Go and Python clients export them).
void process_metrics(std::vector<MetricFamily>& out) {
    auto cpu = family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                      MetricType::Counter);
    auto rss = family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
    auto vsz = family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge);
    auto fds = family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
    auto maxfds = family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
    auto start = family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                        MetricType::Gauge);
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the command name (in parentheses, which may itself hold spaces and parentheses).
    size_t close = stat.rfind(')');
    if (close != std::string::npos && tick > 0) {
        std::istringstream rest(stat.substr(close + 2));
        std::vector<std::string> f;  // f[0] is field 3 (state)
        for (std::string w; rest >> w;) f.push_back(w);
        if (f.size() > 21) {
            double utime = std::stod(f[11]), stime = std::stod(f[12]), starttime = std::stod(f[19]);
            cpu.metric.push_back(counter({}, (utime + stime) / tick));
            vsz.metric.push_back(gauge({}, std::stod(f[20])));
            rss.metric.push_back(gauge({}, std::stod(f[21]) * page));
            std::ifstream boot("/proc/stat");
            for (std::string line; std::getline(boot, line);)
                if (line.rfind("btime ", 0) == 0) {
                    start.metric.push_back(gauge({}, std::stod(line.substr(6)) + starttime / tick));
                    break;
                }
        }
    }
    if (DIR* d = opendir("/proc/self/fd")) {
        double n = 0;
        while (const dirent* e = readdir(d))
            if (e->d_name[0] != '.') n++;
        closedir(d);
        fds.metric.push_back(gauge({}, n - 1));  // less the descriptor opendir holds
    }
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        maxfds.metric.push_back(gauge({}, rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(rl.rlim_cur)));
    for (auto* f : {&cpu, &rss, &vsz, &fds, &maxfds, &start})
        if (!f->metric.empty()) out.push_back(std::move(*f));
}

}  // namespace

// Builds the families from the Director's counters at every scrape.
class DirectorCollector : public prometheus::Collectable {
public:
    DirectorCollector(Director& d, std::vector<MetricsPort> ports) : dir_(d), ports_(std::move(ports)) {}

    void set_vrrp_state(const std::string& instance, int vrid, int state) {
        std::lock_guard<std::mutex> lock(mu_);
        if (state < 0) vrrp_.erase(instance);  // the instance left the configuration
        else vrrp_[instance] = {vrid, state};
    }

    void set_vrrp_sync_group_state(const std::string& group, int state) {
        std::lock_guard<std::mutex> lock(mu_);
        if (state < 0) groups_.erase(group);
        else groups_[group] = state;
    }

    void set_vip_announced(const std::string& vip, int announced) {
        std::lock_guard<std::mutex> lock(mu_);
        if (announced < 0) announced_.erase(vip);
        else announced_[vip] = announced;
    }
    void set_maintenance(bool on) {
        std::lock_guard<std::mutex> lock(mu_);
        maintenance_ = on ? 1 : 0;
    }
    void count_withdrawal() {
        std::lock_guard<std::mutex> lock(mu_);
        withdrawals_++;
    }

    std::vector<MetricFamily> Collect() const override {
        std::vector<MetricFamily> out;
        auto t = std::make_unique<CoreCounters>();
        dir_.totals(*t);
        reals(*t, out);
        dataplane(*t, out);
        conn_tables(out);
        ports(out);
        config(out);
        vrrp(out);
        sync_channel(*t, out);
        announce(out);
        fingerprints(out);
        auto build = family("dplb_build_info", "Always 1; version is dplbd's DPLB_VERSION", MetricType::Gauge);
        build.metric.push_back(gauge({{"version", DPLB_VERSION}}, 1));
        out.push_back(std::move(build));
        process_metrics(out);
        return out;
    }

private:
    // Per real server: connections, traffic, health, drain, weight.
    void reals(const CoreCounters& t, std::vector<MetricFamily>& out) const {
        std::vector<uint8_t> drained;
        auto snap = dir_.snapshot(drained);
        auto conns = family("dplb_connections",
                            "Tracked connections per real server: active = ESTABLISHED (ipvsadm ActiveConn), "
                            "inactive = any other state (InActConn)",
                            MetricType::Gauge);
        auto conns_total = family("dplb_connections_total", "Connections scheduled to the real server",
                                  MetricType::Counter);
        auto pkts = family("dplb_packets_total", "Client-to-server packets forwarded to the real server",
                           MetricType::Counter);
        auto bytes = family("dplb_bytes_total", "Client-to-server bytes forwarded to the real server",
                            MetricType::Counter);
        auto up = family("dplb_real_up", "1 when the real server passes its health check (or has none), else 0",
                         MetricType::Gauge);
        auto drain = family("dplb_real_drained",
                            "1 while the real server takes no new connections by operator or configuration "
                            "decision (dplbctl drain, weight 0, removed and draining), else 0",
                            MetricType::Gauge);
        auto weight = family("dplb_real_weight", "Weight the scheduler uses for the real server", MetricType::Gauge);
        auto quorum = family("dplb_service_quorum_up",
                             "1 while the service holds its quorum (the weights of its live reals), 0 while "
                             "it is lost and its sorry server, if any, takes the new connections",
                             MetricType::Gauge);
        // Each service's reals, draining ones included, in id order: one pass over the dests.
        std::vector<std::vector<uint16_t>> by_svc(kMaxServices);
        for (size_t id = 0; id < snap->dests.size(); id++)
            if (snap->dests[id].in_use) by_svc[snap->dests[id].svc].push_back(static_cast<uint16_t>(id));
        for (const Service& s : snap->services) {
            std::string vip = endpoint(s.vip, s.port);
            std::string proto = s.proto == kProtoTcp ? "tcp" : "udp";
            quorum.metric.push_back(gauge({{"protocol", proto}, {"vip", vip}}, s.quorum_up ? 1 : 0));
            for (uint16_t id : by_svc[s.id]) {
                const Dest& d = snap->dests[id];
                Labels l{{"protocol", proto}, {"real", endpoint(d.ip, d.port)}, {"vip", vip}};
                const DestCounters& c = t.dest[id];
                conns.metric.push_back(gauge(with(l, "state", "active"), c.active));
                conns.metric.push_back(gauge(with(l, "state", "inactive"), c.inactive));
                conns_total.metric.push_back(counter(l, static_cast<double>(c.conns)));
                pkts.metric.push_back(counter(l, static_cast<double>(c.inpkts)));
                bytes.metric.push_back(counter(l, static_cast<double>(c.inbytes)));
                up.metric.push_back(gauge(l, d.healthy ? 1 : 0));
                drain.metric.push_back(gauge(l, id < drained.size() && drained[id] ? 1 : 0));
                weight.metric.push_back(gauge(l, d.weight));
            }
        }
        for (auto* f : {&conns, &conns_total, &pkts, &bytes, &up, &drain, &weight, &quorum})
            out.push_back(std::move(*f));
    }

    // Frames in and out, and one outcome per received frame (README.md: Metrics).
    static void dataplane(const CoreCounters& t, std::vector<MetricFamily>& out) {
        auto rx = family("dplb_dataplane_received_packets_total",
                         "Frames the workers received from the ports (the sum of dplb_dataplane_packets_total)",
                         MetricType::Counter);
        rx.metric.push_back(counter({}, static_cast<double>(t.rx_packets)));
        auto tx = family("dplb_dataplane_transmitted_packets_total",
                         "Frames the workers handed to the ports' TX queues (forwarded, replies, from the kernel)",
                         MetricType::Counter);
        tx.metric.push_back(counter({}, static_cast<double>(t.tx_packets)));
        auto from_kernel = family("dplb_dataplane_from_kernel_packets_total",
                                  "Frames the kernel sent out of a port through the exception path",
                                  MetricType::Counter);
        from_kernel.metric.push_back(counter({}, static_cast<double>(t.from_kernel)));
        auto dp = family("dplb_dataplane_packets_total",
                         "Received frames by outcome, each counted once: forwarded (by a connection entry), "
                         "forwarded_stateless (Maglev, no entry), icmp_error_forwarded, fragment_forwarded, "
                         "arp_reply (ARP/NA for a VIP), to_kernel, not_for_us (another host's MAC), dropped "
                         "(dplb_drops_total but tx_full)",
                         MetricType::Counter);
        auto outcome = [&dp](const char* what, double v) { dp.metric.push_back(counter({{"outcome", what}}, v)); };
        // forwarded counts every frame sent to a real; stateless, icmp_forwarded and fragments are parts
        // of it, and an ICMP error sent by Maglev is in both stateless and icmp_forwarded.
        uint64_t icmp_entry = t.icmp_forwarded > t.icmp_stateless ? t.icmp_forwarded - t.icmp_stateless : 0;
        outcome("forwarded", minus(t.forwarded, t.stateless + icmp_entry + t.fragments));
        outcome("forwarded_stateless", minus(t.stateless, t.icmp_stateless));
        outcome("icmp_error_forwarded", static_cast<double>(t.icmp_forwarded));
        outcome("fragment_forwarded", static_cast<double>(t.fragments));
        outcome("arp_reply", static_cast<double>(t.arp_replies));
        outcome("to_kernel", static_cast<double>(t.to_kernel));
        outcome("not_for_us", static_cast<double>(t.not_for_us));
        // tx_full: frames already counted under the outcome that sent them, lost at the TX queue.
        outcome("dropped", minus(t.drops_total(), t.drops[static_cast<unsigned>(Drop::tx_full)]));
        auto drops = family("dplb_drops_total",
                            "Frames dropped, by reason (tx_full: sent frames the TX queue refused, also "
                            "counted under the outcome that sent them)",
                            MetricType::Counter);
        for (unsigned i = 0; i < kDropCount; i++)
            drops.metric.push_back(
                counter({{"reason", drop_name(static_cast<Drop>(i))}}, static_cast<double>(t.drops[i])));
        auto events = family("dplb_connection_events_total",
                             "Connection-table events: table_full (a new flow found no room, sent by Maglev), "
                             "stale_entry (an entry's real id was reused: rescheduled), half_open_evicted "
                             "(a half-open entry removed to make room)",
                             MetricType::Counter);
        events.metric.push_back(counter({{"event", "table_full"}}, static_cast<double>(t.table_full)));
        events.metric.push_back(counter({{"event", "stale_entry"}}, static_cast<double>(t.stale)));
        events.metric.push_back(counter({{"event", "half_open_evicted"}}, static_cast<double>(t.evicted)));
        for (auto* f : {&rx, &tx, &from_kernel, &dp, &drops, &events}) out.push_back(std::move(*f));
    }

    // Connection sync (sync_manager.h): only when it is on.
    void sync_channel(const CoreCounters& t, std::vector<MetricFamily>& out) const {
        const SyncManager* sm = dir_.sync();
        if (!sm) return;
        const sync::Stats& s = sm->stats();
        auto v = [](const std::atomic<uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
        auto msgs = family("dplb_sync_messages_total", "Connection-sync messages sent and received (received: "
                                                       "decoded, from a peer)", MetricType::Counter);
        msgs.metric.push_back(counter({{"direction", "sent"}}, v(s.sent_messages)));
        msgs.metric.push_back(counter({{"direction", "received"}}, v(s.received_messages)));
        auto conns = family("dplb_sync_connections_total",
                            "Connection records: sent, received, stored in the synced table, adopted by a "
                            "worker (a flow a peer synced that reached this director), queued by the workers, and of those "
                            "refreshed (a live flow re-sent about every third of its state's timeout)",
                            MetricType::Counter);
        conns.metric.push_back(counter({{"event", "sent"}}, v(s.sent_conns)));
        conns.metric.push_back(counter({{"event", "received"}}, v(s.received_conns)));
        conns.metric.push_back(counter({{"event", "stored"}}, v(s.stored)));
        conns.metric.push_back(counter({{"event", "expired"}}, v(s.expired)));
        conns.metric.push_back(counter({{"event", "adopted"}}, static_cast<double>(t.sync_adopted)));
        conns.metric.push_back(counter({{"event", "queued"}}, static_cast<double>(t.sync_queued)));
        conns.metric.push_back(counter({{"event", "refreshed"}}, static_cast<double>(t.sync_refreshed)));
        auto drops = family("dplb_sync_dropped_total",
                            "Connection-sync losses by reason: ring_full (a worker's record found its ring full), "
                            "stale (its real gone before it was sent), send_error (a message the socket refused), "
                            "malformed_* (a received datagram, whole), skipped (a record with an unknown mandatory "
                            "parameter), and per received record: syncid, not_connection, bad_state, no_service, "
                            "no_real, table_full",
                            MetricType::Counter);
        drops.metric.push_back(counter({{"reason", "ring_full"}}, static_cast<double>(t.sync_ring_full)));
        drops.metric.push_back(counter({{"reason", "stale"}}, v(s.stale_records)));
        drops.metric.push_back(counter({{"reason", "send_error"}}, v(s.send_errors)));
        drops.metric.push_back(counter({{"reason", "skipped"}}, v(s.skipped)));
        for (unsigned i = 1; i < static_cast<unsigned>(sync::DecodeError::count); i++) {
            if (static_cast<sync::DecodeError>(i) == sync::DecodeError::mixed_family) continue;
            drops.metric.push_back(counter({{"reason", std::string("malformed_") +
                                                           sync::decode_error_name(static_cast<sync::DecodeError>(i))}},
                                           v(s.malformed[i])));
        }
        for (unsigned i = 0; i < sync::kRxDropCount; i++)
            drops.metric.push_back(
                counter({{"reason", sync::rx_drop_name(static_cast<sync::RxDrop>(i))}}, v(s.dropped[i])));
        auto entries = family("dplb_sync_synced_entries", "Entries in the synced-connection table (peers' flows)",
                              MetricType::Gauge);
        entries.metric.push_back(gauge({}, v(s.synced_entries)));
        for (auto* f : {&msgs, &conns, &drops, &entries}) out.push_back(std::move(*f));
    }

    void conn_tables(std::vector<MetricFamily>& out) const {
        auto entries = family("dplb_conn_table_entries",
                              "Entries in a worker's connection table (connections and persistence templates)",
                              MetricType::Gauge);
        auto capacity = family("dplb_conn_table_capacity", "Entries a worker's connection table can hold",
                               MetricType::Gauge);
        for (size_t w = 0; w < dir_.worker_count(); w++) {
            ConnTableFill f;
            if (!dir_.conn_table_fill(w, f)) continue;
            std::string worker = std::to_string(w);
            entries.metric.push_back(gauge({{"family", "ipv4"}, {"worker", worker}}, f.entries4));
            entries.metric.push_back(gauge({{"family", "ipv6"}, {"worker", worker}}, f.entries6));
            capacity.metric.push_back(gauge({{"family", "ipv4"}, {"worker", worker}}, f.capacity4));
            capacity.metric.push_back(gauge({{"family", "ipv6"}, {"worker", worker}}, f.capacity6));
        }
        out.push_back(std::move(entries));
        out.push_back(std::move(capacity));
    }

    void ports(std::vector<MetricFamily>& out) const {
        auto rx = family("dplb_port_rx_packets_total", "Packets received per port and queue", MetricType::Counter);
        auto missed = family("dplb_port_rx_missed_total", "Packets the NIC dropped because RX queues were full (imissed)",
                             MetricType::Counter);
        auto tx = family("dplb_port_tx_packets_total", "Packets sent per port", MetricType::Counter);
        auto rx_bytes = family("dplb_port_rx_bytes_total", "Bytes received per port", MetricType::Counter);
        auto tx_bytes = family("dplb_port_tx_bytes_total", "Bytes sent per port", MetricType::Counter);
        auto rx_err = family("dplb_port_rx_errors_total", "Erroneous packets received per port (ierrors)",
                             MetricType::Counter);
        auto tx_err = family("dplb_port_tx_errors_total", "Packets the port failed to send (oerrors)",
                             MetricType::Counter);
        auto nombuf = family("dplb_port_rx_nombuf_total", "Receive buffer (mbuf) allocation failures per port",
                             MetricType::Counter);
        for (const MetricsPort& p : ports_) {
            rte_eth_stats st{};
            if (rte_eth_stats_get(p.port_id, &st) != 0) continue;
            Labels l{{"port", p.name}};
            for (uint16_t q = 0; q < p.nb_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
                rx.metric.push_back(counter(with(l, "queue", std::to_string(q)), static_cast<double>(st.q_ipackets[q])));
            missed.metric.push_back(counter(l, static_cast<double>(st.imissed)));
            tx.metric.push_back(counter(l, static_cast<double>(st.opackets)));
            rx_bytes.metric.push_back(counter(l, static_cast<double>(st.ibytes)));
            tx_bytes.metric.push_back(counter(l, static_cast<double>(st.obytes)));
            rx_err.metric.push_back(counter(l, static_cast<double>(st.ierrors)));
            tx_err.metric.push_back(counter(l, static_cast<double>(st.oerrors)));
            nombuf.metric.push_back(counter(l, static_cast<double>(st.rx_nombuf)));
        }
        for (auto* f : {&rx, &missed, &tx, &rx_bytes, &tx_bytes, &rx_err, &tx_err, &nombuf}) out.push_back(std::move(*f));
    }

    void config(std::vector<MetricFamily>& out) const {
        auto reloads = family("dplb_config_reloads_total", "Configuration reloads by result", MetricType::Counter);
        reloads.metric.push_back(counter({{"result", "success"}}, static_cast<double>(dir_.reloads_ok())));
        reloads.metric.push_back(counter({{"result", "failure"}}, static_cast<double>(dir_.reloads_failed())));
        auto last = family("dplb_config_last_reload_successful", "1 when the last reload applied", MetricType::Gauge);
        last.metric.push_back(gauge({}, dir_.last_reload_ok() ? 1 : 0));
        auto ts = family("dplb_config_last_reload_timestamp_seconds", "Unix time of the last reload attempt",
                         MetricType::Gauge);
        ts.metric.push_back(gauge({}, std::chrono::duration<double>(dir_.last_reload().time_since_epoch()).count()));
        for (auto* f : {&reloads, &last, &ts}) out.push_back(std::move(*f));
    }

    void vrrp(std::vector<MetricFamily>& out) const {
        static const char* const kStates[] = {"init", "backup", "master", "fault"};  // vrrp::State order
        auto state = family("dplb_vrrp_state", "1 for the VRRP instance's current state, 0 for the others",
                            MetricType::Gauge);
        auto code = family("dplb_vrrp_state_code", "VRRP instance state: 0 init, 1 backup, 2 master, 3 fault",
                           MetricType::Gauge);
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (const auto& [name, v] : vrrp_) {
                Labels l{{"vrrp_instance", name}, {"vrid", std::to_string(v.vrid)}};
                for (int s = 0; s < 4; s++) state.metric.push_back(gauge(with(l, "state", kStates[s]), v.state == s));
                code.metric.push_back(gauge(l, v.state));
            }
        }
        out.push_back(std::move(state));
        out.push_back(std::move(code));
        auto group = family("dplb_vrrp_sync_group_state",
                            "1 for the VRRP sync group's current state, 0 for the others", MetricType::Gauge);
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (const auto& [name, st] : groups_)
                for (int s = 0; s < 4; s++)
                    group.metric.push_back(gauge({{"sync_group", name}, {"state", kStates[s]}}, st == s));
        }
        out.push_back(std::move(group));
    }

    void announce(std::vector<MetricFamily>& out) const {
        std::lock_guard<std::mutex> lock(mu_);
        if (maintenance_ < 0) return;  // no announce section
        auto vips = family("dplb_vip_announced", "1 while this director announces the VIP to its BGP daemon",
                           MetricType::Gauge);
        for (const auto& [vip, on] : announced_) vips.metric.push_back(gauge({{"vip", vip}}, on));
        auto maint = family("dplb_maintenance", "1 while the director is in maintenance (every VIP withdrawn)",
                            MetricType::Gauge);
        maint.metric.push_back(gauge({}, maintenance_));
        auto withdrawn = family("dplb_vip_withdrawals_total", "VIPs withdrawn after being announced",
                                MetricType::Counter);
        withdrawn.metric.push_back(counter({}, static_cast<double>(withdrawals_)));
        for (auto* f : {&vips, &maint, &withdrawn}) out.push_back(std::move(*f));
    }

    // The Maglev table of each mh service, as scheduler.h's mh_fingerprint: directors showing the
    // same value send a flow to the same real.
    void fingerprints(std::vector<MetricFamily>& out) const {
        auto snap = dir_.snapshot();
        auto info = family("dplb_maglev_fingerprint_info",
                           "Always 1; fingerprint is the 16 hex digits of the mh service's Maglev table",
                           MetricType::Gauge);
        for (const Service& s : snap->services) {
            if (s.sched != Sched::mh) continue;
            info.metric.push_back(gauge({{"vip", endpoint(s.vip, s.port)},
                                         {"protocol", s.proto == kProtoTcp ? "tcp" : "udp"},
                                         {"fingerprint", format_fingerprint(s.tables->mh_fingerprint)}},
                                        1));
        }
        out.push_back(std::move(info));
    }

    struct Vrrp {
        int vrid;
        int state;
    };
    Director& dir_;
    std::vector<MetricsPort> ports_;
    mutable std::mutex mu_;
    std::map<std::string, Vrrp> vrrp_;
    std::map<std::string, int> groups_;  // vrrp_sync_group -> state
    std::map<std::string, int> announced_;  // vip -> 0/1
    int maintenance_ = -1;                   // -1 until the announce section sets it
    uint64_t withdrawals_ = 0;
};

Metrics::Metrics(const std::string& listen, Director& director, std::vector<MetricsPort> ports)
    : registry_(std::make_shared<prometheus::Registry>()),
      collector_(std::make_shared<DirectorCollector>(director, std::move(ports))) {
    try {
        // civetweb serves one connection per thread, start to end: with prometheus-cpp's default of
        // 2 threads and civetweb's 30 s request timeout, two connections that send nothing kept
        // /metrics down, for good if they reconnect. Enough threads for scrapers and idle probes
        // together, and a short time to send the request.
        exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", listen,
            "num_threads", std::to_string(kMetricsThreads),
            "request_timeout_ms", std::to_string(kMetricsRequestTimeoutMs),
            "enable_keep_alive", "no",
        });
    } catch (const std::exception& e) {
        throw std::runtime_error("metrics: cannot listen on " + listen + ": " + e.what());
    }
    hc_duration_ = &prometheus::BuildHistogram()
                        .Name("dplb_health_check_duration_seconds")
                        .Help("Time a health check took, by result")
                        .Register(*registry_);
    hc_failures_ = &prometheus::BuildCounter()
                        .Name("dplb_health_check_failures_total")
                        .Help("Health checks that failed")
                        .Register(*registry_);
    script_runs_ = &prometheus::BuildCounter()
                        .Name("dplb_script_runs_total")
                        .Help("Scripts run (vrrp_script checks, notify hooks) that ended, by outcome")
                        .Register(*registry_);
    exposer_->RegisterCollectable(collector_);
    exposer_->RegisterCollectable(registry_);
}

Metrics::~Metrics() = default;

void Metrics::observe_health_check(const std::string& vip, const std::string& protocol, const std::string& real,
                                   const std::string& check, bool success, double seconds) {
    static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
    std::map<std::string, std::string> l{{"vip", vip}, {"protocol", protocol}, {"real", real}, {"check", check}};
    // The failure counter exists (at 0) from a real's first check on, so rate() sees its first failure.
    prometheus::Counter& failures = hc_failures_->Add(l);
    if (!success) failures.Increment();
    l["result"] = success ? "success" : "failure";
    hc_duration_->Add(l, buckets).Observe(seconds);
}

void Metrics::observe_script(const std::string& kind, const std::string& name, const std::string& outcome) {
    script_runs_->Add({{"kind", kind}, {"name", name}, {"outcome", outcome}}).Increment();
}

void Metrics::set_vip_announced(const std::string& vip, int announced) { collector_->set_vip_announced(vip, announced); }
void Metrics::set_maintenance(bool on) { collector_->set_maintenance(on); }
void Metrics::count_withdrawal() { collector_->count_withdrawal(); }

void Metrics::set_vrrp_state(const std::string& instance, int vrid, int state) {
    collector_->set_vrrp_state(instance, vrid, state);
}

void Metrics::set_vrrp_sync_group_state(const std::string& group, int state) {
    collector_->set_vrrp_sync_group_state(group, state);
}

}  // namespace dplb
