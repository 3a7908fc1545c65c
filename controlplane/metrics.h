// Prometheus /metrics: the figures operators graph today from ipvsadm and keepalived, with the
// Prometheus conventions (dplb_ prefix, base units, _total counters). Counters derived from the
// workers are computed at scrape time; the health-check histogram and failure counter are kept in a
// registry the control thread updates. Every family is listed, with its meaning, in README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Exposer;
class Registry;
template <typename T>
class Family;
class Histogram;
class Counter;
}  // namespace prometheus

namespace dplb {

class Director;

struct MetricsPort {
    std::string name;
    uint16_t port_id;
    uint16_t nb_queues;
};

class Metrics {
public:
    // Listens on `listen` (host:port); throws std::runtime_error with a clear message when it cannot.
    // 16 server threads, 2 s to send a request, no keep-alive: connections that send nothing
    // neither keep a scrape out nor hold a thread for long.
    Metrics(const std::string& listen, Director& director, std::vector<MetricsPort> ports);
    ~Metrics();

    // Called by the health checker for every completed check: the service (vip "IP:PORT", protocol),
    // the real ("IP:PORT"), the check type ("tcp", "http", "misc"), its result and duration.
    void observe_health_check(const std::string& vip, const std::string& protocol, const std::string& real,
                              const std::string& check, bool success, double seconds);
    // VRRP state per instance: 0 init, 1 backup, 2 master, 3 fault; `vrid` its virtual_router_id.
    // -1 removes the instance (it left the configuration).
    void set_vrrp_state(const std::string& instance, int vrid, int state);
    // A vrrp_sync_group's state, the same codes; -1 removes it.
    void set_vrrp_sync_group_state(const std::string& group, int state);
    // A script that ended: kind "vrrp_script", "notify" (a VRRP instance's hook), "notify_real" or
    // "notify_quorum" (a service's quorum_up / quorum_down), its name (script, instance, real,
    // service), outcome "success", "failure", "timeout" or "not_started".
    void observe_script(const std::string& kind, const std::string& name, const std::string& outcome);
    // The announce state (announcer.h): a VIP announced (1) or withdrawn (0), -1 removes it;
    // maintenance; one more withdrawal. Families appear once the feature is on.
    void set_vip_announced(const std::string& vip, int announced);
    void set_maintenance(bool on);
    void count_withdrawal();

private:
    std::unique_ptr<prometheus::Exposer> exposer_;
    std::shared_ptr<prometheus::Registry> registry_;
    std::shared_ptr<class DirectorCollector> collector_;
    prometheus::Family<prometheus::Histogram>* hc_duration_ = nullptr;
    prometheus::Family<prometheus::Counter>* hc_failures_ = nullptr;
    prometheus::Family<prometheus::Counter>* script_runs_ = nullptr;
};

}  // namespace dplb
