// The control thread's view of the director: the running configuration, what it has learnt at run
// time (health, operator weights, MACs, VIP ownership), the published View and the workers' counters.
//
// How a change reaches the workers (DESIGN.md, control-plane rules):
// - Everything here runs on the control thread (an io_context that also sends VRRP adverts), except
//   the read-only accessors the metrics exposer calls (guarded by `mu_`) and the builder.
// - Snapshots are built on a builder thread of their own, one at a time, from copies of their
//   inputs; the result is published on the control thread. Events that arrive meanwhile mark the
//   state dirty and are coalesced into the next build. A service's scheduler tables are built anew
//   only when its own inputs changed (snapshot_builder.h).
// - A reload parses, validates, checks what cannot change at run time, assigns ids and builds every
//   table on the builder before anything changes; any failure is reported with its cause and the
//   running configuration, snapshot and runtime state stay as they were.
// - VIP ownership (VRRP) is a small table published beside the snapshot: a flip publishes at once,
//   in O(VIPs), with no table rebuilt and without waiting for anything.
// - A replaced View is freed only after a grace period (DataplaneApi), checked without blocking.
// - A real's id is freed only when no entry can refer to it: it has been draining in every view a
//   worker may still hold, and the workers' reference counts for it (which state changes never
//   move) are 0. Entries also carry the id's generation, so one that outlived its real is never
//   forwarded by it.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "counters.h"
#include "dataplane_api.h"
#include "processor.h"
#include "rate_estimator.h"
#include "snapshot.h"
#include "snapshot_builder.h"

namespace dplb {

class SyncManager;  // sync_manager.h

// "10.0.0.100:80" or "[2001:db8::1]:80"; with `proto`, an optional "tcp:"/"udp:" prefix too (TCP
// when none).
bool parse_endpoint(std::string s, IpAddr& ip, uint16_t& port, uint8_t* proto);

class Director {
public:
    using Done = std::function<void(const std::string& error)>;  // "" on success

    Director(boost::asio::io_context& io, config::Config cfg, DataplaneApi& dataplane);
    ~Director();
    Director(const Director&) = delete;
    Director& operator=(const Director&) = delete;

    // Start-up, before any worker runs: builds the first snapshot on this thread, publishes it and
    // starts the heartbeat. Throws std::exception when the configuration cannot be built.
    void start();

    // Asks for a snapshot from the configuration and runtime state as they are now. Returns at once;
    // calls made before the build starts (or while another runs) are served by one build. `done`,
    // if given, runs on the control thread once that build is published ("" or why it failed).
    void rebuild(Done done = {});
    // The same when only the runtime state of one real changed: only its service is rebuilt.
    void rebuild(const RealKey& changed, Done done = {});

    // Re-reads `path` and applies it only if everything succeeds; `done` runs on the control thread
    // with "" or the errors (the running configuration is kept). Fields that cannot change while
    // running (config::fixed_field_changes) are refused by name.
    void reload(const std::string& path, Done done);
    void reload(Done done) { reload(cfg_->file, std::move(done)); }
    // An operator change to the running configuration (`dplbctl ipvsadm -A ...`): `change` gets a
    // copy of it on the builder thread and edits it, or returns why not. Applied in order with
    // reloads, as a reload is (every table built before anything changes; a failure changes nothing),
    // and kept until the next reload, as weights and drains are; operator weights and drains stay.
    // `what` is listed by `operator_changes()` until then.
    void apply_change(std::function<std::string(config::Config&)> change, std::string what, Done done);
    const std::vector<std::string>& operator_changes() const { return operator_changes_; }
    // Runs after each successful reload and operator change (health checks, neighbours, VRRP re-sync).
    void set_after_reload(std::function<void()> fn) { after_reload_ = std::move(fn); }
    // Runs after `dplbctl weight` or `drain` changed a real's weight (services' quorums count weights).
    void set_after_weight(std::function<void()> fn) { after_weight_ = std::move(fn); }

    const config::Config& config() const { return *cfg_; }
    std::shared_ptr<const Snapshot> snapshot() const;
    // The same, with `drained` set to the snapshot's operator/configuration drain per dest id (for
    // metrics; safe from any thread).
    std::shared_ptr<const Snapshot> snapshot(std::vector<uint8_t>& drained) const;
    // A worker's connection-table fill; false where the data plane reports none (safe from any thread).
    bool conn_table_fill(size_t worker, ConnTableFill& out) const;
    // Counters summed over cores, with the counts a reused id carried before subtracted.
    void totals(CoreCounters& out) const;
    // Entries (any state, templates included) referring to a dest id, over all cores.
    uint64_t conns_of(uint16_t dest) const;

    // Called once a second by the control loop: rates, and freeing ids of drained reals.
    void tick();
    // IPVS's estimates (rate_estimator.h), as `ipvsadm -Ln --rate` shows them.
    // ipvsadm -Z: what the views show of one service (by id) and its reals, or of every one
    // (kMaxServices), starts again from 0: view_totals() counts from now and the rates restart.
    // Prometheus reads totals(), which never go back.
    void zero(uint16_t svc);
    void view_totals(CoreCounters& out) const;
    Rates service_rate(uint16_t svc) const { return rates_.service(svc); }
    Rates dest_rate(uint16_t dest) const { return rates_.dest(dest); }
    // Connection entries the workers' tables can hold, both families (IPVS's "size=").
    uint64_t conn_table_capacity() const;

    // Operator actions. Return "" when the change is accepted (then `published` runs once the
    // workers have it), or an error message (and `published` never runs).
    std::string set_weight(const std::string& service, const std::string& real, int weight, Done published = {});
    std::string drain(const std::string& real, Done published = {});
    // Health, dynamic weights and MACs: callers change it, then call rebuild().
    std::map<RealKey, RealRuntime>& runtime() { return runtime_; }
    // Quorum states, by service (HealthManager keeps them): callers change them, then call rebuild().
    std::map<ServiceRef, ServiceRuntime>& service_runtime() { return service_runtime_; }

    // VRRP: VIPs of an instance are forwarded and answered for only while this director is its
    // MASTER. VIPs in no instance are always owned. Publishes at once when something changed.
    void set_vips_owned(const std::vector<IpAddr>& vips, bool owned);
    bool owns_vip(const IpAddr& vip) const;
    // VRRP instance states for `dplbctl status` ("MASTER", "BACKUP", ...); "" removes one.
    void set_vrrp_state(const std::string& instance, const std::string& state) {
        if (state.empty()) vrrp_states_.erase(instance);
        else vrrp_states_[instance] = state;
    }
    const std::map<std::string, std::string>& vrrp_states() const { return vrrp_states_; }

    // Lists connections from every worker (at most `limit` each); `done` runs on the control thread
    // once every worker has served it, or after 2 s with what came back.
    void connections(size_t limit, std::function<void(std::vector<ConnInfo>)> done);

    // The connection-sync channel, for status and metrics (nullptr: sync off).
    void set_sync(const SyncManager* s) { sync_ = s; }
    const SyncManager* sync() const { return sync_; }

    // Whether the workers still run their loops: each heartbeat starts a grace period (DataplaneApi)
    // when none is pending, and one still pending after kWorkerStall means a worker stopped passing
    // its quiescent point. `fn(alive)` runs on the control thread on each change; probing starts when
    // it is set (the announce state, announce.h).
    static constexpr std::chrono::milliseconds kWorkerStall{1000};
    void set_on_workers(std::function<void(bool alive)> fn) { on_workers_ = std::move(fn); }
    bool workers_alive() const { return workers_alive_; }

    size_t worker_count() const { return dp_.worker_count(); }
    uint64_t reloads_ok() const { return reloads_ok_; }
    uint64_t reloads_failed() const { return reloads_failed_; }
    std::chrono::system_clock::time_point last_reload() const { return last_reload_; }
    bool last_reload_ok() const { return last_reload_ok_; }

    // For tests and benchmarks.
    uint64_t version_published() const { return version_; }  // Views published so far
    uint64_t version_in_use() const { return version_in_use_; }  // newest View every worker has picked up
    uint64_t builds() const { return builds_; }              // snapshots built (start-up, rebuilds, reloads)
    uint64_t tables_rebuilt() const { return tables_rebuilt_; }  // services whose tables were built anew
    bool building() const { return busy_ || dirty_ || kick_posted_ || !pending_reloads_.empty(); }
    bool idle() const { return !building() && retired_.empty(); }
    uint32_t failsafe_ms() const { return failsafe_ms_; }

private:
    struct Retired {
        uint64_t token;
        uint64_t version;  // the View published just before the grace period started
        std::shared_ptr<const void> what;
    };
    struct PendingReload {
        std::string path;
        Done done;
        // An operator change (apply_change) instead of the file: the running configuration goes in,
        // the next one comes out, or an error; `what` is how `status` lists it.
        std::function<std::string(config::Config&)> change;
        std::string what;
    };
    struct Built;    // what a build hands back to the control thread
    struct DumpJob;  // a connection listing in progress
    void poll_dump(const std::shared_ptr<DumpJob>& job);

    void kick();        // starts the next build if none runs
    void schedule_kick();
    void start_build(bool reload, PendingReload pr);
    void finish_build(Built& b, PendingReload& pr, std::vector<Done>& waiters);
    void commit_config(std::shared_ptr<const config::Config> cfg);
    void install(BuildResult& r);
    void publish_view();
    void retire(std::shared_ptr<const void> what);
    void poll_retired();
    void beat();
    void probe_workers();
    std::function<uint64_t(uint16_t)> may_refer() const;
    bool drained_everywhere(uint16_t id) const;
    std::vector<uint8_t> drained_by_id(const Snapshot& snap) const;

    boost::asio::io_context& io_;
    DataplaneApi& dp_;
    std::shared_ptr<const config::Config> cfg_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // handlers posted back check it
    std::unique_ptr<boost::asio::thread_pool> builder_;

    std::shared_ptr<const Snapshot> current_;  // the last built snapshot (guarded by mu_ for readers)
    std::shared_ptr<const View> view_;         // what the workers read now
    std::vector<uint8_t> drained_;             // drained_by_id(*current_) (guarded by mu_ for readers)
    mutable std::mutex mu_;  // guards current_ and the bases against the metrics thread
    std::map<RealKey, RealRuntime> runtime_;
    std::map<ServiceRef, ServiceRuntime> service_runtime_;
    std::map<IpAddr, bool> vip_owned_;     // VIPs of VRRP instances -> whether we are MASTER for them
    std::set<IpAddr> vrrp_vips_;           // every VIP of a VRRP instance in the configuration
    uint32_t failsafe_ms_ = 0;
    std::map<std::string, std::string> vrrp_states_;

    bool busy_ = false, dirty_ = false, kick_posted_ = false;
    bool dirty_all_ = false;              // something beyond a few services' runtime state changed
    std::set<ServiceRef> dirty_services_;  // services whose reals' runtime state changed
    std::deque<PendingReload> pending_reloads_;
    std::vector<Done> waiters_;  // rebuild() callers waiting for the next build
    std::deque<Retired> retired_;
    // Draining ids -> the version of the first View in which they were draining: once every worker
    // has picked up that View (version_in_use_), none makes a new entry for the id.
    std::map<uint16_t, uint64_t> draining_since_;
    boost::asio::steady_timer retire_timer_;
    bool retire_timer_armed_ = false;
    boost::asio::steady_timer heartbeat_timer_;
    std::function<void(bool)> on_workers_;
    bool workers_alive_ = true, probe_pending_ = false;
    uint64_t probe_token_ = 0;
    std::chrono::steady_clock::time_point probe_since_;

    // Cumulative counts an id had when it was handed to a new real: subtracted in totals().
    std::vector<DestCounters> dest_base_;
    std::vector<ServiceCounters> svc_base_;
    std::unique_ptr<CoreCounters> now_;  // tick()'s totals
    RateEstimator rates_;
    // ipvsadm -Z: totals() as they were when zeroed, per id (0 for ids never zeroed or handed on).
    std::vector<DestCounters> zero_dest_ = std::vector<DestCounters>(kMaxDests);
    std::vector<ServiceCounters> zero_svc_ = std::vector<ServiceCounters>(kMaxServices);
    std::function<void()> after_reload_;
    std::function<void()> after_weight_;
    const SyncManager* sync_ = nullptr;
    uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
    bool last_reload_ok_ = true;
    std::vector<std::string> operator_changes_;  // since the last reload, in order
    std::chrono::system_clock::time_point last_reload_;
    uint64_t version_ = 0, version_in_use_ = 0, builds_ = 0, tables_rebuilt_ = 0;
};

}  // namespace dplb
