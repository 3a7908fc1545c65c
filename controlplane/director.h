// The control thread's view of the director: the running configuration, what it has learnt at run
// time (health, operator weights, MACs), the published snapshot and the workers' counters.
// Everything here runs on the control thread, except the read-only accessors the metrics exposer
// calls (guarded by `mu_`).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.h"
#include "counters.h"
#include "processor.h"
#include "snapshot.h"
#include "snapshot_builder.h"

namespace dplb {

struct WorkerContext;

// Per-second rates over the last interval, as `ipvsadm -Ln --rate` shows them.
struct Rates {
    double cps = 0, inpps = 0, inbps = 0;
};

class Director {
public:
    Director(config::Config cfg, std::vector<Processor*> procs, std::vector<WorkerContext*> workers,
             std::atomic<const Snapshot*>* published);

    // Builds a snapshot from the configuration and runtime state and publishes it; returns once no
    // worker can still read the previous one (each has passed a quiescent point), then frees it.
    // `wait` = false only for the first snapshot, before any worker runs.
    void rebuild(bool wait = true);

    // Validates `path` and applies it; a file that fails validation changes nothing.
    // Returns "" on success, else the errors.
    std::string reload(const std::string& path);
    std::string reload() { return reload(cfg_.file); }
    // Runs after each successful reload (the health manager re-syncs its checkers).
    void set_after_reload(std::function<void()> fn) { after_reload_ = std::move(fn); }

    const config::Config& config() const { return cfg_; }
    std::shared_ptr<const Snapshot> snapshot() const;
    // Counters summed over cores, with the counts a reused id carried before subtracted.
    void totals(CoreCounters& out) const;
    // Connections (any state, templates included) still referring to a dest id.
    uint64_t conns_of(uint16_t dest) const;

    // Called once a second by the control loop: rates, and freeing ids of drained reals.
    void tick();
    Rates service_rate(uint16_t svc) const;
    Rates dest_rate(uint16_t dest) const;

    // Operator actions. Return "" on success or an error message.
    std::string set_weight(const std::string& service, const std::string& real, int weight);
    std::string drain(const std::string& real);
    std::map<RealKey, RealRuntime>& runtime() { return runtime_; }
    // VRRP: VIPs of an instance are forwarded and answered for only while this director is its
    // MASTER. VIPs in no instance are always owned. Rebuilds the snapshot when something changed.
    void set_vips_owned(const std::vector<IpAddr>& vips, bool owned);
    bool owns_vip(const IpAddr& vip) const;
    // VRRP instance states for `dplbctl status` ("MASTER", "BACKUP", ...).
    // An empty state removes the instance (it left the configuration).
    void set_vrrp_state(const std::string& instance, const std::string& state) {
        if (state.empty()) vrrp_states_.erase(instance);
        else vrrp_states_[instance] = state;
    }
    const std::map<std::string, std::string>& vrrp_states() const { return vrrp_states_; }

    // Health as of the last published snapshot; safe from the metrics thread.
    bool healthy(const RealKey& k) const;

    // Lists connections from every worker (bounded by `limit`); waits for the workers to serve it.
    std::vector<ConnInfo> connections(size_t limit);

    size_t worker_count() const { return procs_.size(); }
    uint64_t reloads_ok() const { return reloads_ok_; }
    uint64_t reloads_failed() const { return reloads_failed_; }
    std::chrono::system_clock::time_point last_reload() const { return last_reload_; }
    bool last_reload_ok() const { return last_reload_ok_; }

private:
    void wait_for_workers();

    config::Config cfg_;
    std::vector<Processor*> procs_;
    std::vector<WorkerContext*> workers_;
    std::atomic<const Snapshot*>* published_;
    std::shared_ptr<const Snapshot> current_;
    mutable std::mutex mu_;  // guards current_ and the bases against the metrics thread
    std::map<RealKey, RealRuntime> runtime_;
    std::map<RealKey, bool> health_view_;
    std::map<IpAddr, bool> vip_owned_;
    std::map<std::string, std::string> vrrp_states_;  // VIPs of VRRP instances -> whether we are MASTER for them  // copy of runtime_ health for other threads, under mu_
    // Cumulative counts an id had when it was handed to a new real: subtracted in totals().
    std::vector<DestCounters> dest_base_;
    std::vector<ServiceCounters> svc_base_;
    // Rate estimation.
    std::unique_ptr<CoreCounters> last_, now_;
    std::chrono::steady_clock::time_point last_tick_;
    std::vector<Rates> svc_rates_, dest_rates_;
    std::function<void()> after_reload_;
    uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
    bool last_reload_ok_ = true;
    std::chrono::system_clock::time_point last_reload_;
};

}  // namespace dplb
