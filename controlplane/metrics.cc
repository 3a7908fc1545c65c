#include "metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <rte_ethdev.h>

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>

#include "director.h"

namespace dplb {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The HTTP server's threads, each serving one connection at a time, and how long a client has to
// send its request (and, once the answer goes out, to take each part of it).
constexpr int kMetricsThreads = 16;
constexpr int kMetricsRequestTimeoutMs = 2000;

// Builds the families from the Director's counters at every scrape.
class DirectorCollector : public prometheus::Collectable {
public:
    DirectorCollector(Director& d, std::vector<MetricsPort> ports) : dir_(d), ports_(std::move(ports)) {}

    void set_vrrp_state(const std::string& instance, int state) {
        std::lock_guard<std::mutex> lock(mu_);
        if (state < 0) vrrp_.erase(instance);  // the instance left the configuration
        else vrrp_[instance] = state;
    }

    std::vector<MetricFamily> Collect() const override {
        auto snap = dir_.snapshot();
        auto t = std::make_unique<CoreCounters>();
        dir_.totals(*t);
        MetricFamily conns{"dplb_connections", "Tracked connections per real server: active = ESTABLISHED (ipvsadm "
                                               "ActiveConn), inactive = any other state (InActConn)",
                           MetricType::Gauge, {}};
        MetricFamily conns_total{"dplb_connections_total", "Connections scheduled to a real server",
                                 MetricType::Counter, {}};
        MetricFamily pkts{"dplb_packets_total", "Client-to-server packets forwarded to a real server",
                          MetricType::Counter, {}};
        MetricFamily bytes{"dplb_bytes_total", "Client-to-server bytes forwarded to a real server",
                           MetricType::Counter, {}};
        MetricFamily up{"dplb_real_up", "1 when the real server passes its health check", MetricType::Gauge, {}};
        MetricFamily weight{"dplb_real_weight", "Weight the scheduler uses for the real server", MetricType::Gauge, {}};
        // Each service's reals, draining ones included, in id order: one pass over the dests.
        std::vector<std::vector<uint16_t>> by_svc(kMaxServices);
        for (size_t id = 0; id < snap->dests.size(); id++)
            if (snap->dests[id].in_use) by_svc[snap->dests[id].svc].push_back(static_cast<uint16_t>(id));
        for (const Service& s : snap->services) {
            std::string vip = endpoint(s.vip, s.port);
            std::string proto = s.proto == kProtoTcp ? "tcp" : "udp";
            for (uint16_t id : by_svc[s.id]) {
                const Dest& d = snap->dests[id];
                std::string real = endpoint(d.ip, d.port);
                std::vector<ClientMetric::Label> l{{"protocol", proto}, {"real", real}, {"vip", vip}};
                const DestCounters& c = t->dest[id];
                conns.metric.push_back(gauge(with(l, "state", "active"), c.active));
                conns.metric.push_back(gauge(with(l, "state", "inactive"), c.inactive));
                conns_total.metric.push_back(counter(l, static_cast<double>(c.conns)));
                pkts.metric.push_back(counter(l, static_cast<double>(c.inpkts)));
                bytes.metric.push_back(counter(l, static_cast<double>(c.inbytes)));
                up.metric.push_back(gauge(l, d.draining ? 0 : real_up(d)));
                weight.metric.push_back(gauge(l, d.weight));
            }
        }
        MetricFamily drops{"dplb_drops_total", "Frames dropped by the data plane, by reason", MetricType::Counter, {}};
        for (unsigned i = 0; i < kDropCount; i++)
            drops.metric.push_back(counter({{"reason", drop_name(static_cast<Drop>(i))}}, static_cast<double>(t->drops[i])));
        MetricFamily dp{"dplb_dataplane_packets_total", "Data-plane packet counts by outcome", MetricType::Counter, {}};
        auto outcome = [&dp](const char* what, uint64_t v) {
            dp.metric.push_back(counter({{"outcome", what}}, static_cast<double>(v)));
        };
        outcome("received", t->rx_packets);
        outcome("forwarded", t->forwarded);
        outcome("forwarded_stateless", t->stateless);
        outcome("table_full", t->table_full);
        outcome("arp_reply", t->arp_replies);
        outcome("to_kernel", t->to_kernel);
        outcome("from_kernel", t->from_kernel);
        outcome("not_for_us", t->not_for_us);
        outcome("transmitted", t->tx_packets);
        outcome("stale_entry", t->stale);
        outcome("icmp_error_forwarded", t->icmp_forwarded);
        outcome("fragment_forwarded", t->fragments);
        outcome("half_open_evicted", t->evicted);  // an entry whose real id was handed on: rescheduled, never forwarded

        MetricFamily rx{"dplb_port_rx_packets_total", "Packets received per port and queue", MetricType::Counter, {}};
        MetricFamily missed{"dplb_port_rx_missed_total",
                            "Packets the NIC dropped because RX queues were full (imissed)", MetricType::Counter, {}};
        MetricFamily tx{"dplb_port_tx_packets_total", "Packets sent per port", MetricType::Counter, {}};
        for (const MetricsPort& p : ports_) {
            rte_eth_stats st{};
            if (rte_eth_stats_get(p.port_id, &st) != 0) continue;
            for (uint16_t q = 0; q < p.nb_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
                rx.metric.push_back(
                    counter({{"port", p.name}, {"queue", std::to_string(q)}}, static_cast<double>(st.q_ipackets[q])));
            missed.metric.push_back(counter({{"port", p.name}}, static_cast<double>(st.imissed)));
            tx.metric.push_back(counter({{"port", p.name}}, static_cast<double>(st.opackets)));
        }
        MetricFamily reload_ok{"dplb_config_reloads_total", "Configuration reloads by result", MetricType::Counter, {}};
        reload_ok.metric.push_back(counter({{"result", "success"}}, static_cast<double>(dir_.reloads_ok())));
        reload_ok.metric.push_back(counter({{"result", "failure"}}, static_cast<double>(dir_.reloads_failed())));
        MetricFamily reload_last{"dplb_config_last_reload_successful", "1 when the last reload applied",
                                 MetricType::Gauge, {}};
        reload_last.metric.push_back(gauge({}, dir_.last_reload_ok() ? 1 : 0));
        MetricFamily reload_ts{"dplb_config_last_reload_timestamp_seconds", "Unix time of the last reload attempt",
                               MetricType::Gauge, {}};
        reload_ts.metric.push_back(gauge(
            {}, std::chrono::duration<double>(dir_.last_reload().time_since_epoch()).count()));
        MetricFamily vrrp{"dplb_vrrp_state", "VRRP instance state: 0 init, 1 backup, 2 master, 3 fault",
                          MetricType::Gauge, {}};
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (const auto& [name, st] : vrrp_) vrrp.metric.push_back(gauge({{"instance", name}}, st));
        }
        return {conns, conns_total, pkts, bytes, up, weight, drops, dp, rx, missed, tx, reload_ok, reload_last,
                reload_ts, vrrp};
    }

private:
    static std::vector<ClientMetric::Label> with(std::vector<ClientMetric::Label> l, const char* k, const char* v) {
        l.push_back({k, v});
        return l;
    }
    static ClientMetric gauge(std::vector<ClientMetric::Label> l, double v) {
        ClientMetric m;
        m.label = std::move(l);
        m.gauge.value = v;
        return m;
    }
    static ClientMetric counter(std::vector<ClientMetric::Label> l, double v) {
        ClientMetric m;
        m.label = std::move(l);
        m.counter.value = v;
        return m;
    }
    static double real_up(const Dest& d) { return d.healthy ? 1 : 0; }

    Director& dir_;
    std::vector<MetricsPort> ports_;
    mutable std::mutex mu_;
    std::map<std::string, int> vrrp_;
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
                        .Help("Time a health check took, success or failure")
                        .Register(*registry_);
    exposer_->RegisterCollectable(collector_);
    exposer_->RegisterCollectable(registry_);
}

Metrics::~Metrics() = default;

void Metrics::observe_health_check(const std::string& vip, const std::string& real, double seconds) {
    static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
    hc_duration_->Add({{"vip", vip}, {"real", real}}, buckets).Observe(seconds);
}

void Metrics::set_vrrp_state(const std::string& instance, int state) { collector_->set_vrrp_state(instance, state); }

}  // namespace dplb
