// One VRRP router at work: the state machine (state_machine.h) on a Boost.Asio io_context, with its
// timer, its sockets on the kernel interface (io.h), gratuitous ARP / unsolicited NA on becoming
// MASTER, the interface's link state (link_watch.h) and tracked objects (track.h). Built from the
// typed configuration; whoever owns the data plane turns on_state into VIP ownership in the snapshot.
//
// IPv4 and IPv6 addresses of one vrrp_instance are separate VRRP routers (config/README.md): make
// one Instance per family, families_of() says which.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config.h"
#include "vrrp/state_machine.h"

namespace dplb::vrrp {

// The families of cfg.virtual_ipaddresses: {4}, {6} or {4, 6}.
std::vector<uint8_t> families_of(const config::VrrpInstance& cfg);

// The state machine's parameters for one family of `cfg`. IPv6 is always VRRPv3 and never has
// authentication; `primary` is our source address on the interface (the §6.4.3 tie-break).
Params params_for(const config::VrrpInstance& cfg, uint8_t family, const IpAddr& primary);

class Instance {
public:
    struct Callbacks {
        // Every state change, with a reason for the log ("master down timer expired: no advert from
        // 10.0.0.3 for 3609 ms"). Called on the io_context, before the adverts and gratuitous ARPs
        // the change causes are sent, so a new MASTER can start forwarding before neighbours are told.
        // May call any method of the Instance, stop() included.
        std::function<void(State state, const std::string& reason)> on_state;
        // Optional: socket errors (logged once until the socket works again).
        std::function<void(const std::string& message)> on_log;
        // Optional, for a member of a sync group (vrrp/sync_group.h): own_fault() changed (called
        // after the state change it caused); and, in BACKUP, Master_Down_Timer fired and the router
        // waits for its group (wants_master() is true), with the timer's detail.
        std::function<void(bool own_fault)> on_own_fault;
        std::function<void(const std::string& detail)> on_want_master;
    };

    // For an instance whose addresses are all of one family; throws std::invalid_argument otherwise.
    Instance(boost::asio::io_context& io, const config::VrrpInstance& cfg, std::string kernel_ifname,
             Callbacks callbacks);
    // For the IPv4 (family 4) or IPv6 (family 6) addresses of `cfg`.
    Instance(boost::asio::io_context& io, const config::VrrpInstance& cfg, std::string kernel_ifname,
             Callbacks callbacks, uint8_t family);
    ~Instance();  // stop()
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    // Opens the sockets on the kernel interface and starts (INIT -> BACKUP, MASTER for priority 255,
    // FAULT while faulted). Throws std::system_error when the interface does not exist, has no
    // address of the family, or a socket cannot be opened (CAP_NET_RAW). Once only.
    void start();
    // MASTER sends priority 0 (RFC 3768 §6.4.3) so a backup takes over after Skew_Time; then INIT,
    // sockets closed, no callback afterwards. Idempotent.
    void stop();

    // Tracked objects (keepalived's track_interface / track_script). The constructor adds, with
    // weight 0 (down = FAULT): cfg.interface, every cfg.track_interfaces and cfg.track_services.
    // track() adds another or changes a weight (see TrackSet); set_tracked() returns false for a
    // name never added. Changes apply at once: FAULT, recovery, or a new advertised priority.
    void track(const std::string& name, int weight);
    bool set_tracked(const std::string& name, bool up);

    // A configuration reload that changed only what a running router takes in place (reload.h:
    // reconfigure_fields): priority, preempt, preempt_delay, garp_master_delay / _repeat,
    // track_interfaces / track_services / track_weights. State, timers and sockets are kept and
    // nothing is sent at once: a new priority goes out in the next advert (a MASTER whose priority
    // went down stays MASTER until a better advert arrives; a BACKUP whose priority went above the
    // master's takes over, with preempt, when Master_Down_Timer runs out). Tracked objects the new
    // configuration drops stop counting (those added by track() stay); new ones start up, as at
    // construction; a changed weight applies at once, as do FAULT and recovery. Before start() it
    // only replaces the configuration start() will use. Throws std::invalid_argument when `cfg`
    // has another name or differs in what needs a restart (reload.h: restart_fields).
    void reconfigure(const config::VrrpInstance& cfg);
    // An external fault with its reason (e.g. "dataplane not running"): FAULT while true.
    void set_fault(bool fault, const std::string& reason);

    // Sync groups (vrrp/sync_group.h; the router is in one when cfg.sync_group is set): FAULT while
    // another member is faulted, with that as the reason; not part of own_fault().
    void set_group_fault(bool fault, const std::string& reason);
    // The group's decision: MASTER (from BACKUP only) or BACKUP (from MASTER only, no priority-0
    // advert); anything else, or before start(), is ignored.
    void sync_to(State state, const std::string& why);
    // Link down, a weight-0 tracked object down, or set_fault: what faults the group.
    bool own_fault() const;
    // BACKUP whose Master_Down_Timer fired with no master heard since (a sync group member only).
    bool wants_master() const;

    // Safe from any thread.
    State state() const { return state_.load(); }
    Counters counters() const;

    // The rest: on the io_context's thread (or while it does not run).
    uint8_t priority() const;           // the effective priority, tracking weights applied
    IpAddr master() const;              // the current master's address as last heard; family 0 if none
    const std::string& name() const;    // cfg.name
    uint8_t family() const;
    const std::vector<IpAddr>& vips() const;  // this family's addresses, in configuration order
    const std::string& kernel_ifname() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
    std::atomic<State> state_{State::init};
};

}  // namespace dplb::vrrp
