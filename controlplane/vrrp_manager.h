// Runs the configuration's VRRP instances (vrrp/instance.h) on the control thread and turns their
// states into VIP ownership: while MASTER the data plane answers ARP and forwards for the instance's
// VIPs (through a new snapshot), otherwise it does neither. Also feeds tracking (port link state,
// services whose reals are all down, vrrp_scripts), `dplbctl status` and the dplb_vrrp_state
// metrics, and runs the instances' notify hooks (controlplane/scripts/notify.h). Addresses that are no
// service's vip go on the port's kernel interface while MASTER (kernel_addresses.h).
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "director.h"
#include "kernel_addresses.h"
#include "scripts/runner.h"
#include "scripts/script_checks.h"
#include "vrrp/instance.h"
#include "vrrp/sync_group.h"

namespace dplb {

class VrrpManager {
public:
    // For metrics: an instance (its label, "VI_1" or "VI_1/v6"), its virtual_router_id, and its state
    // (vrrp::State as int), or -1 when the instance left the configuration.
    using OnState = std::function<void(const std::string& instance, int vrid, int state)>;
    // `kernel_ifnames[i]` is the kernel interface that carries port i's own address; addresses a
    // previous dplbd left there are removed first.
    VrrpManager(boost::asio::io_context& io, Director& director, std::vector<std::string> kernel_ifnames,
                std::vector<uint16_t> port_ids, OnState on_state = {});
    ~VrrpManager();

    // Brings the running instances to the configuration, one router at a time as keepalived does
    // (vrrp/reload.h): unchanged ones are left alone, priority / preempt / garp / tracking changes
    // apply in place, identity changes restart only that router, removed ones resign and leave
    // status, new ones start. Errors (a missing interface, no address of the family) are logged and
    // leave that router in FAULT; the next sync() tries to start it again.
    void sync();
    // Once a second: link state of tracked ports, tracked services' health.
    void tick();
    // Shutdown: every MASTER resigns with priority 0 (RFC 3768 §6.4.3); notify_stop hooks run.
    void stop();

    // Every vrrp_script run and notify hook that ended: kind "vrrp_script" (name: the script) or
    // "notify" (name: the instance's label), and Result::outcome(). For metrics.
    using OnScript = std::function<void(const std::string& kind, const std::string& name, const std::string& outcome)>;
    void set_on_script(OnScript f) { on_script_ = std::move(f); }
    // For metrics: a vrrp_sync_group's state (vrrp::State as int), or -1 when it left the configuration.
    using OnGroupState = std::function<void(const std::string& group, int state)>;
    void set_on_group_state(OnGroupState f) { on_group_state_ = std::move(f); }

private:
    struct Running {
        std::unique_ptr<vrrp::Instance> instance;
        std::string label;  // "VI_1" or "VI_1/v6"
        int vrid = 0;       // virtual_router_id
        bool started = false;  // start() succeeded
    };
    std::vector<Running>::iterator find(const std::string& label);
    // A new Instance for one family of `cfg`, started (or FAULT in status when it cannot start).
    Running make(const config::VrrpInstance& cfg, uint8_t family, const std::string& label);
    void try_start(Running& r);
    // The state of every script `cfg` tracks, into its instance (before start(): it starts with them).
    void apply_scripts(Running& r, const config::VrrpInstance& cfg);
    // A vrrp_script changed state: into every instance tracking it.
    void on_script(const std::string& name, bool up, const std::string& why);
    // keepalived's notify hooks of the instance `name` (its label) for `state` ("MASTER", "BACKUP",
    // "FAULT", "STOP"), one after another per instance; with `now` (dplbd stopping: nothing queued
    // would start any more) all at once, behind nothing.
    void notify(const std::string& name, const std::string& label, const char* state, int priority,
                bool now = false);
    // Sync groups (vrrp/sync_group.h): the group's callbacks wired into one member's Instance, a
    // group's change of state (log, status, metrics, its notify hooks), and its hooks for `state`.
    void wire_sync(vrrp::Instance::Callbacks& cb, const std::shared_ptr<vrrp::Instance*>& self);
    void on_group_state(const std::string& group, vrrp::State state);
    void notify_group(const std::string& group, const char* state, bool now = false);
    // A reload's groups: added, removed or with other members, in place (no router restarts for it;
    // a member's sync_group is an in-place change of its instance, vrrp/reload.h).
    void sync_groups();
    // The kernel addresses of router `label` are wanted (MASTER) or not; then the kernel is brought
    // to the union of what every MASTER router wants.
    void want_kernel(const std::string& label, std::set<KernelEntry> entries);
    // What router `r` puts on its kernel interface while MASTER, from the configuration `cfg`.
    static std::set<KernelEntry> kernel_entries(const vrrp::Instance& r, const config::VrrpInstance& cfg);

    boost::asio::io_context& io_;
    Director& director_;
    std::vector<std::string> ifnames_;
    std::vector<uint16_t> port_ids_;
    OnState on_state_;
    OnGroupState on_group_state_;
    std::vector<config::VrrpSyncGroup> applied_groups_;  // what groups_ was configured with
    vrrp::SyncGroups groups_;  // before running_: every Instance calls it until it is gone
    std::vector<Running> running_;
    std::vector<config::VrrpInstance> applied_;  // what running_ was made from
    scripts::Runner runner_;
    scripts::ScriptChecks checks_;
    OnScript on_script_;
    std::map<std::string, std::set<KernelEntry>> master_addrs_;  // router label -> its addresses, while MASTER
    // Destroyed first, after ~VrrpManager ran stop(): its destructor finishes the deletes stop() queued.
    KernelAddresses kernel_;
};

}  // namespace dplb
