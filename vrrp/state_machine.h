// The VRRP state machine of one virtual router (one VRID, one address family): RFC 3768 §6 for
// VRRPv2, RFC 5798 §6 for VRRPv3, plus keepalived's FAULT state and preempt_delay. Pure: events go
// in with the current time, actions come out, and the caller owns sockets, timers and the clock
// (instance.h does that on Boost.Asio; the tests drive it with a clock of their own).
//
//   INIT --Startup--> BACKUP (or MASTER for the address owner, priority 255; FAULT while faulted)
//   BACKUP --Master_Down_Timer--> MASTER         BACKUP --fault--> FAULT
//   MASTER --higher advert--> BACKUP             MASTER --fault--> FAULT (sends priority 0)
//   FAULT --faults cleared--> BACKUP (or MASTER) any --Shutdown--> INIT (MASTER sends priority 0)
// In a sync group (Params::sync_group, vrrp/sync_group.h) BACKUP does not leave on its own when
// Master_Down_Timer fires: it says WantMaster and waits for SyncMaster; SyncBackup moves a MASTER
// to BACKUP as its group's decision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net_types.h"
#include "vrrp/codec.h"

namespace dplb::vrrp {

using Millis = int64_t;  // the injected clock: any monotonic origin, milliseconds

enum class State : uint8_t { init, backup, master, fault };
const char* state_name(State s);  // "INIT", "BACKUP", "MASTER", "FAULT"

// Why a transition happened; reason_name() gives the words for logs.
enum class Reason : uint8_t {
    startup,                // INIT -> BACKUP
    startup_owner,          // INIT -> MASTER: priority 255 (RFC 3768 §6.4.1)
    master_down,            // BACKUP -> MASTER: no advert for Master_Down_Interval (§6.4.2)
    higher_priority,        // MASTER -> BACKUP: an advert that wins (§6.4.3)
    shutdown,               // -> INIT
    interface_down,         // -> FAULT
    track_fault,            // -> FAULT
    fault_cleared,          // FAULT -> BACKUP or MASTER
    sync_group,             // BACKUP <-> MASTER as the sync group decided (SyncMaster, SyncBackup)
};
const char* reason_name(Reason r);  // "startup", "master down timer expired", ...

// Everything the machine needs to know about its router; see params_for() in instance.h for how a
// config::VrrpInstance maps onto it.
struct Params {
    uint8_t vrid = 1;
    uint8_t priority = 100;        // the effective priority at start; PriorityChanged changes it
    uint8_t version = 2;           // 2 or 3; IPv6 is always 3
    uint8_t family = 4;            // 4 or 6
    uint16_t advert_int_cs = 100;  // Advertisement_Interval; v2: a multiple of 100
    bool preempt = true;           // RFC 3768 §6.1 Preempt_Mode
    Millis preempt_delay_ms = 0;   // keepalived: no preemption this long after startup / leaving FAULT
    AuthType auth_type = AuthType::none;  // v2
    AuthData auth_data{};                 // v2, when auth_type is pass
    IpAddr primary;                       // our source address: the tie-break of §6.4.3
    std::vector<IpAddr> addresses;        // the virtual addresses, as advertised and checked
    uint32_t garp_repeat = 5;             // gratuitous ARP / NA per address per round
    Millis garp_delay_ms = 5000;          // the second round after this; 0 = no second round
    // Unicast VRRP: this family's peers (keepalived's unicast_peer). Empty: multicast. With peers,
    // only adverts from one of them, sent to us rather than to the group, are accepted, and the TTL
    // / hop limit is not checked (keepalived's unicast mode: peers may be routed hops away).
    std::vector<IpAddr> unicast_peers;
    // A member of a vrrp_sync_group: Master_Down_Timer in BACKUP yields WantMaster instead of MASTER.
    bool sync_group = false;
};

// Counted by the machine as adverts come in and go out. Drops are by reason, first failing check.
struct Counters {
    uint64_t rx_adverts = 0;         // everything handed in: decoded or not, ours or not
    uint64_t rx_accepted = 0;        // passed every check and reached the state table
    uint64_t tx_adverts = 0;
    uint64_t rx_priority_zero = 0;   // accepted adverts with priority 0
    uint64_t tx_priority_zero = 0;
    uint64_t truncated = 0;          // decode errors (DecodeFailed)
    uint64_t bad_type = 0;
    uint64_t bad_checksum = 0;
    uint64_t bad_interval = 0;
    uint64_t bad_version = 0;        // not decodable, or not our version (RFC 3768 §7.1)
    uint64_t vrid_mismatch = 0;      // another router's advert on the same link (not an error)
    uint64_t bad_ttl = 0;            // TTL / hop limit not 255
    uint64_t auth_fail = 0;          // authentication type or password differs (v2)
    uint64_t interval_mismatch = 0;  // v2: Adver Int differs from ours (RFC 3768 §7.1)
    uint64_t address_mismatch = 0;   // address list differs (dropped unless from the owner)
    uint64_t not_peer = 0;           // unicast: the source is not one of unicast_peers
    uint64_t bad_destination = 0;    // unicast: sent to 224.0.0.18 / ff02::12, not to us
    uint64_t became_master = 0;
    // Counted by Instance (instance.h) as it does the I/O, never by the machine itself:
    uint64_t send_errors = 0;        // adverts or announcement frames the kernel refused
    uint64_t announcements_sent = 0; // gratuitous ARP / unsolicited NA frames sent
};

namespace event {
struct Startup {};
struct Shutdown {};
struct AdvertReceived {
    Advert advert;  // decoded
    IpAddr src;     // the IP source address
    uint8_t ttl = 0;  // or hop limit
    IpAddr dst;     // the IP destination address; family 0 when unknown (not checked)
};
struct DecodeFailed {
    DecodeError error;
};
struct TimerExpired {};  // whenever now >= next_deadline(); early or late calls are harmless
struct InterfaceUp {};
struct InterfaceDown {};
struct TrackFault {
    std::string what;  // e.g. "web: all reals down", for the transition's detail
};
struct TrackOk {};
struct PriorityChanged {
    uint8_t priority;  // the new effective priority, 1..255
};
// A configuration reload that changed what a running router takes in place (vrrp/reload.h): no
// state change, no advert of its own, timers kept. The router's identity (vrid, version, family,
// interval, authentication, addresses, primary) is not here: a change there is a new machine.
struct Reconfigure {
    uint8_t priority;  // the new effective priority, 1..255: as PriorityChanged, in the next advert
                       // (MASTER) or the next Master_Down_Interval (BACKUP); a lower one never
                       // makes a MASTER resign, a higher one makes a BACKUP preempt if it may
    bool preempt;
    Millis preempt_delay_ms;  // counted from the last start-up / leaving FAULT, as before
    uint32_t garp_repeat;     // from the next round
    Millis garp_delay_ms;     // a pending second round moves to (became MASTER + this); 0 cancels it
    bool sync_group = false;  // joined or left a sync group: whether Master_Down_Timer waits for it
};
// The sync group's decisions (keepalived's vrrp_sync_master / vrrp_sync_backup). SyncMaster: a
// BACKUP becomes MASTER now (adverts and gratuitous ARPs as for master_down); ignored in any other
// state. SyncBackup: a MASTER becomes BACKUP without a priority-0 advert (keepalived's
// vrrp_state_leave_master without advF: the group's other routers decide where it goes); ignored
// in any other state.
struct SyncMaster {
    std::string detail;  // e.g. "sync group G: VI_1 MASTER"
};
struct SyncBackup {
    std::string detail;
};
}  // namespace event

using Event = std::variant<event::Startup, event::Shutdown, event::AdvertReceived, event::DecodeFailed,
                           event::TimerExpired, event::InterfaceUp, event::InterfaceDown, event::TrackFault,
                           event::TrackOk, event::PriorityChanged, event::Reconfigure, event::SyncMaster,
                           event::SyncBackup>;

namespace action {
struct SendAdvert {
    uint8_t priority;  // 0 when resigning
};
struct SendGarps {
    uint32_t count;  // this many per virtual address
    int round;       // 1 on becoming master, 2 after garp_delay_ms
};
struct StateChanged {
    State from;
    State to;
    Reason reason;
    std::string detail;  // e.g. "advert from 10.0.0.3 priority 200", may be empty
};
// In a sync group: Master_Down_Timer fired in BACKUP; the machine stays BACKUP (the timer re-armed
// for another Master_Down_Interval, as keepalived does) until its group sends SyncMaster.
struct WantMaster {
    std::string detail;  // "no advert from 10.0.0.3 for 3609 ms"
};
}  // namespace action

using Action = std::variant<action::SendAdvert, action::SendGarps, action::StateChanged, action::WantMaster>;

class StateMachine {
public:
    explicit StateMachine(Params params);

    // Feeds one event; returns what to do, in order (state changes come before the sends they cause;
    // a MASTER that yields sends its last advert before the change).
    std::vector<Action> handle(const Event& e, Millis now);

    State state() const { return state_; }
    // When to deliver TimerExpired next (the earliest of the protocol timer and the GARP round);
    // nullopt when nothing is armed.
    std::optional<Millis> next_deadline() const;

    uint8_t priority() const { return priority_; }
    // As constructed, with Reconfigure's fields (priority included) applied.
    const Params& params() const { return p_; }
    const Counters& counters() const { return counters_; }
    // The master's address as last heard (our own while MASTER); unset family when unknown.
    const IpAddr& master() const { return master_; }
    // In a sync group: BACKUP whose Master_Down_Timer fired and that has heard no master since.
    bool wants_master() const { return want_master_; }

    // RFC 5798 §6.1 in milliseconds (the v2 formulas of RFC 3768 §6.1 scale the same way).
    Millis master_adver_interval_ms() const { return master_adver_cs_ * 10; }
    Millis skew_ms() const;
    Millis master_down_interval_ms() const { return 3 * master_adver_interval_ms() + skew_ms(); }

private:
    // What an accepted advert does, by state and by how it compares with us: the table kOnAdvert in
    // state_machine.cc.
    enum class Outcome : uint8_t;
    enum class AdvertClass : uint8_t;
    static const Outcome kOnAdvert[4][5];  // [State][AdvertClass]

    bool accept(const event::AdvertReceived& a);
    AdvertClass classify(const event::AdvertReceived& a) const;
    void on_advert(const event::AdvertReceived& a, Millis now, std::vector<Action>& out);
    void on_timer(Millis now, std::vector<Action>& out);
    void on_fault_change(Reason why, Millis now, std::vector<Action>& out);
    void reconfigure(const event::Reconfigure& r);
    void start_or_recover(Reason why, Millis now, std::vector<Action>& out);
    void enter_backup(Reason why, std::string detail, Millis now, std::vector<Action>& out);
    void enter_master(Reason why, std::string detail, Millis now, std::vector<Action>& out);
    void enter_fault(Reason why, std::vector<Action>& out);
    void enter_init(std::vector<Action>& out);
    void send_advert(uint8_t priority, std::vector<Action>& out);
    void change(State to, Reason why, std::string detail, std::vector<Action>& out);
    bool faulted() const { return !if_up_ || track_fault_; }

    Params p_;
    State state_ = State::init;
    uint8_t priority_;
    uint16_t master_adver_cs_;          // RFC 5798 §6.1 Master_Adver_Interval
    std::optional<Millis> timer_;       // Master_Down_Timer (BACKUP) or Adver_Timer (MASTER)
    std::optional<Millis> garp_timer_;  // the second round of gratuitous ARP (MASTER)
    Millis preempt_from_ = 0;           // the last start-up or leaving FAULT
    Millis preempt_after_ = 0;          // preempt_delay: no preemption before this time
    Millis master_since_ = 0;           // when we last became MASTER (for the second GARP round)
    bool if_up_ = true;
    bool track_fault_ = false;
    bool want_master_ = false;
    std::string fault_what_;
    IpAddr master_;
    Counters counters_;
};

}  // namespace dplb::vrrp
