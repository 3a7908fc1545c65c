#include "vrrp/state_machine.h"

#include <algorithm>
#include <utility>

namespace dplb::vrrp {

// How an accepted advert compares with us (RFC 3768 §6.4.2-3, RFC 5798 §6.4.2-3).
enum class StateMachine::AdvertClass : uint8_t {
    zero,         // priority 0: the master resigns
    higher,       // higher priority than ours
    equal_above,  // same priority, sender's primary address greater than ours (it wins the tie)
    equal_below,  // same priority, sender's primary address not greater
    lower,        // lower priority than ours
};

enum class StateMachine::Outcome : uint8_t {
    discard,
    learn,           // accept the sender as master: restart Master_Down_Timer (v3: adopt its interval)
    learn_unless_preempting,  // learn, unless Preempt_Mode (and preempt_delay has passed): discard
    skew,            // Master_Down_Timer := Skew_Time
    answer,          // send an advert now and restart Adver_Timer
    reassert,        // answer, and announce the addresses again (GARP / NA rounds, as on becoming MASTER)
    yield,           // tell the winner (one advert at our priority), go BACKUP, adopting it as master
};

// The receive half of RFC 3768 §6.4 / RFC 5798 §6.4: one row per State, one column per AdvertClass.
#define D Outcome::discard
const StateMachine::Outcome StateMachine::kOnAdvert[4][5] = {
    //            zero            higher          equal_above     equal_below     lower
    /* INIT   */ {D,              D,              D,              D,              D},
    // §6.4.2: priority 0 -> Skew_Time; anything else is the master, unless we preempt a lower one.
    /* BACKUP */ {Outcome::skew,  Outcome::learn, Outcome::learn, Outcome::learn, Outcome::learn_unless_preempting},
    // §6.4.3: priority 0 -> answer at once; a higher priority, or a tie lost on the address -> BACKUP.
    // A lower one (§6.4.3 discards it) means another router believed itself MASTER: a split brain
    // that is healing. Its gratuitous ARPs may have moved the hosts' neighbour entries for our
    // addresses; unless we announce them again those hosts keep sending to a BACKUP until their
    // entries expire. keepalived answers the same way (an advert and vrrp_garp_lower_prio_repeat
    // gratuitous ARPs, a second round after vrrp_garp_lower_prio_delay).
    /* MASTER */ {Outcome::answer, Outcome::yield, Outcome::yield, Outcome::reassert, Outcome::reassert},
    /* FAULT  */ {D,              D,              D,              D,              D},
};
#undef D

const char* state_name(State s) {
    switch (s) {
    case State::init: return "INIT";
    case State::backup: return "BACKUP";
    case State::master: return "MASTER";
    case State::fault: return "FAULT";
    }
    return "?";
}

const char* reason_name(Reason r) {
    switch (r) {
    case Reason::startup: return "startup";
    case Reason::startup_owner: return "startup as address owner (priority 255)";
    case Reason::master_down: return "master down timer expired";
    case Reason::higher_priority: return "advert from a higher priority master";
    case Reason::shutdown: return "shutdown";
    case Reason::interface_down: return "interface down";
    case Reason::track_fault: return "tracked object down";
    case Reason::fault_cleared: return "fault cleared";
    case Reason::sync_group: return "sync group";
    }
    return "?";
}

StateMachine::StateMachine(Params params)
    : p_(std::move(params)), priority_(p_.priority), master_adver_cs_(p_.advert_int_cs) {
    std::sort(p_.addresses.begin(), p_.addresses.end());
}

Millis StateMachine::skew_ms() const {
    // RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
    return (256 - static_cast<Millis>(priority_)) * master_adver_interval_ms() / 256;
}

std::optional<Millis> StateMachine::next_deadline() const {
    if (timer_ && garp_timer_) return std::min(*timer_, *garp_timer_);
    return timer_ ? timer_ : garp_timer_;
}

std::vector<Action> StateMachine::handle(const Event& e, Millis now) {
    std::vector<Action> out;
    if (std::holds_alternative<event::Startup>(e)) {
        if (state_ == State::init) start_or_recover(Reason::startup, now, out);
    } else if (std::holds_alternative<event::Shutdown>(e)) {
        enter_init(out);
    } else if (auto* a = std::get_if<event::AdvertReceived>(&e)) {
        ++counters_.rx_adverts;
        if (accept(*a)) on_advert(*a, now, out);
    } else if (auto* d = std::get_if<event::DecodeFailed>(&e)) {
        ++counters_.rx_adverts;
        switch (d->error) {
        case DecodeError::none: break;
        case DecodeError::truncated: ++counters_.truncated; break;
        case DecodeError::bad_version: ++counters_.bad_version; break;
        case DecodeError::bad_type: ++counters_.bad_type; break;
        case DecodeError::bad_checksum: ++counters_.bad_checksum; break;
        case DecodeError::bad_interval: ++counters_.bad_interval; break;
        }
    } else if (std::holds_alternative<event::TimerExpired>(e)) {
        on_timer(now, out);
    } else if (std::holds_alternative<event::InterfaceDown>(e)) {
        if_up_ = false;
        on_fault_change(Reason::interface_down, now, out);
    } else if (std::holds_alternative<event::InterfaceUp>(e)) {
        if_up_ = true;
        on_fault_change(Reason::fault_cleared, now, out);
    } else if (auto* f = std::get_if<event::TrackFault>(&e)) {
        track_fault_ = true;
        fault_what_ = f->what;
        on_fault_change(Reason::track_fault, now, out);
    } else if (std::holds_alternative<event::TrackOk>(e)) {
        track_fault_ = false;
        fault_what_.clear();
        on_fault_change(Reason::fault_cleared, now, out);
    } else if (auto* pc = std::get_if<event::PriorityChanged>(&e)) {
        // Takes effect in the next advert (MASTER) or the next Master_Down_Interval (BACKUP).
        priority_ = std::max<uint8_t>(pc->priority, 1);
    } else if (auto* r = std::get_if<event::Reconfigure>(&e)) {
        reconfigure(*r);
    } else if (auto* sm = std::get_if<event::SyncMaster>(&e)) {
        if (state_ == State::backup) enter_master(Reason::sync_group, sm->detail, now, out);
    } else if (auto* sb = std::get_if<event::SyncBackup>(&e)) {
        if (state_ == State::master) enter_backup(Reason::sync_group, sb->detail, now, out);
    }
    return out;
}

// A reload's in-place changes: nothing is sent and no state changes here. A MASTER whose priority
// went down stays MASTER until a better advert arrives (RFC 3768 §6.4.3 has no other way out but
// Shutdown, and keepalived keeps it too); a BACKUP whose priority went up discards the master's
// lower adverts from now on (with preempt) and takes over when Master_Down_Timer runs out.
void StateMachine::reconfigure(const event::Reconfigure& r) {
    priority_ = std::max<uint8_t>(r.priority, 1);
    p_.priority = priority_;
    p_.preempt = r.preempt;
    p_.preempt_delay_ms = r.preempt_delay_ms;
    preempt_after_ = preempt_from_ + p_.preempt_delay_ms;
    p_.garp_repeat = r.garp_repeat;
    p_.garp_delay_ms = r.garp_delay_ms;
    p_.sync_group = r.sync_group;
    if (!p_.sync_group) want_master_ = false;
    if (garp_timer_) {
        if (p_.garp_delay_ms > 0) garp_timer_ = master_since_ + p_.garp_delay_ms;
        else garp_timer_.reset();
    }
}

namespace {

// A multicast destination (224.0.0.0/4, ff00::/8); family 0 (unknown) is not.
bool is_group(const IpAddr& ip) {
    if (ip.family == 4) return (ip.b[0] & 0xf0) == 0xe0;
    if (ip.family == 6) return ip.b[0] == 0xff;
    return false;
}

}  // namespace

// RFC 3768 §7.1 / RFC 5798 §7.1, the checks past decoding (codec.cc does version, length, checksum).
// The VRID comes first so that other routers' adverts on a shared link are not counted as errors.
bool StateMachine::accept(const event::AdvertReceived& a) {
    const Advert& ad = a.advert;
    if (ad.vrid != p_.vrid) {
        ++counters_.vrid_mismatch;
        return false;
    }
    if (!p_.unicast_peers.empty()) {
        // keepalived's unicast mode: a group-addressed advert is refused ("Expected unicast packet
        // but received multicast packet"), and so is one from an address that is not a peer (its
        // check_unicast_src, always on here). No TTL check: a peer may be routed hops away.
        if (is_group(a.dst)) {
            ++counters_.bad_destination;
            return false;
        }
        if (std::find(p_.unicast_peers.begin(), p_.unicast_peers.end(), a.src) == p_.unicast_peers.end()) {
            ++counters_.not_peer;
            return false;
        }
    } else if (a.ttl != kVrrpTtl) {
        ++counters_.bad_ttl;
        return false;
    }
    if (ad.version != p_.version || a.src.family != p_.family) {
        ++counters_.bad_version;
        return false;
    }
    if (a.src == p_.primary) return false;  // our own, looped back
    if (p_.version == 2) {
        // RFC 2338 §7.1 (simple text password), as keepalived checks it.
        if (ad.auth_type != p_.auth_type || (p_.auth_type == AuthType::pass && ad.auth_data != p_.auth_data)) {
            ++counters_.auth_fail;
            return false;
        }
        // RFC 3768 §7.1: the interval must be ours (v3 learns the master's instead).
        if (ad.interval_cs != p_.advert_int_cs) {
            ++counters_.interval_mismatch;
            return false;
        }
    }
    // RFC 3768 §7.1: a different address list is dropped unless the owner sent it. IPv6 link-local
    // entries are left out of the comparison (RFC 5798 §5.2.9 puts one first; keepalived does not).
    std::vector<IpAddr> got;
    for (const IpAddr& ip : ad.addresses)
        if (!(ip.is_v6() && ip.b[0] == 0xfe && (ip.b[1] & 0xc0) == 0x80)) got.push_back(ip);
    std::sort(got.begin(), got.end());
    if (got != p_.addresses) {
        ++counters_.address_mismatch;
        if (ad.priority != kPriorityOwner) return false;
    }
    ++counters_.rx_accepted;
    if (ad.priority == kPriorityStop) ++counters_.rx_priority_zero;
    return true;
}

StateMachine::AdvertClass StateMachine::classify(const event::AdvertReceived& a) const {
    uint8_t prio = a.advert.priority;
    if (prio == kPriorityStop) return AdvertClass::zero;
    if (prio > priority_) return AdvertClass::higher;
    if (prio < priority_) return AdvertClass::lower;
    // RFC 3768 §6.4.3: the tie goes to the greater primary address, compared as unsigned integers.
    return p_.primary < a.src ? AdvertClass::equal_above : AdvertClass::equal_below;
}

void StateMachine::on_advert(const event::AdvertReceived& a, Millis now, std::vector<Action>& out) {
    Outcome o = kOnAdvert[static_cast<size_t>(state_)][static_cast<size_t>(classify(a))];
    switch (o) {
    case Outcome::discard:
        break;
    case Outcome::learn_unless_preempting:
        // keepalived's preempt_delay: until it has passed, behave as nopreempt.
        if (p_.preempt && now >= preempt_after_) break;
        [[fallthrough]];
    case Outcome::learn:
        want_master_ = false;  // a master is heard again
        if (p_.version == 3) master_adver_cs_ = a.advert.interval_cs;  // RFC 5798 §6.4.2
        master_ = a.src;
        timer_ = now + master_down_interval_ms();
        break;
    case Outcome::skew:
        timer_ = now + skew_ms();
        break;
    case Outcome::answer:
        send_advert(priority_, out);
        timer_ = now + p_.advert_int_cs * 10;
        break;
    case Outcome::reassert:
        send_advert(priority_, out);
        timer_ = now + p_.advert_int_cs * 10;
        out.push_back(action::SendGarps{p_.garp_repeat, 1});
        if (!garp_timer_ && p_.garp_delay_ms > 0) garp_timer_ = now + p_.garp_delay_ms;
        break;
    case Outcome::yield:
        // The winner may have been out of touch (a split brain healing): this advert, lower than
        // its own, makes it announce its addresses again (reassert above), which moves the hosts
        // that followed our announcements back to it. keepalived's higher_prio_send_advert.
        send_advert(priority_, out);
        if (p_.version == 3) master_adver_cs_ = a.advert.interval_cs;  // RFC 5798 §6.4.3
        master_ = a.src;
        enter_backup(Reason::higher_priority,
                     "advert from " + a.src.str() + " priority " + std::to_string(a.advert.priority), now, out);
        break;
    }
}

void StateMachine::on_timer(Millis now, std::vector<Action>& out) {
    if (garp_timer_ && now >= *garp_timer_) {
        garp_timer_.reset();
        if (state_ == State::master) out.push_back(action::SendGarps{p_.garp_repeat, 2});
    }
    if (!timer_ || now < *timer_) return;
    if (state_ == State::backup) {
        // RFC 3768 §6.4.2: Master_Down_Timer fired.
        std::string detail = master_.family ? "no advert from " + master_.str() : "no master heard";
        detail += " for " + std::to_string(master_down_interval_ms()) + " ms";
        if (p_.sync_group) {
            // keepalived's vrrp_sync_can_goto_master: wait for the group, another interval at a time.
            want_master_ = true;
            timer_ = now + master_down_interval_ms();
            out.push_back(action::WantMaster{std::move(detail)});
            return;
        }
        enter_master(Reason::master_down, detail, now, out);
    } else if (state_ == State::master) {
        // RFC 3768 §6.4.3: Adver_Timer fired.
        send_advert(priority_, out);
        timer_ = now + p_.advert_int_cs * 10;
    } else {
        timer_.reset();
    }
}

void StateMachine::on_fault_change(Reason why, Millis now, std::vector<Action>& out) {
    if (state_ == State::init) return;  // remembered for Startup
    if (faulted()) {
        if (state_ != State::fault) enter_fault(why, out);
    } else if (state_ == State::fault) {
        start_or_recover(Reason::fault_cleared, now, out);
    }
}

// RFC 3768 §6.4.1 (Initialize), also used on leaving FAULT, which keepalived treats the same way.
void StateMachine::start_or_recover(Reason why, Millis now, std::vector<Action>& out) {
    preempt_from_ = now;
    preempt_after_ = now + p_.preempt_delay_ms;
    master_adver_cs_ = p_.advert_int_cs;
    master_ = IpAddr{};
    if (faulted()) {
        enter_fault(!if_up_ ? Reason::interface_down : Reason::track_fault, out);
    } else if (priority_ == kPriorityOwner) {
        enter_master(why == Reason::startup ? Reason::startup_owner : why, "", now, out);
    } else {
        enter_backup(why, "", now, out);
    }
}

void StateMachine::enter_backup(Reason why, std::string detail, Millis now, std::vector<Action>& out) {
    change(State::backup, why, std::move(detail), out);
    garp_timer_.reset();
    timer_ = now + master_down_interval_ms();
}

void StateMachine::enter_master(Reason why, std::string detail, Millis now, std::vector<Action>& out) {
    change(State::master, why, std::move(detail), out);
    ++counters_.became_master;
    master_adver_cs_ = p_.advert_int_cs;
    master_ = p_.primary;
    master_since_ = now;
    send_advert(priority_, out);
    out.push_back(action::SendGarps{p_.garp_repeat, 1});
    timer_ = now + p_.advert_int_cs * 10;
    garp_timer_.reset();
    if (p_.garp_delay_ms > 0) garp_timer_ = now + p_.garp_delay_ms;
}

void StateMachine::enter_fault(Reason why, std::vector<Action>& out) {
    bool was_master = state_ == State::master;
    std::string detail = why == Reason::track_fault ? fault_what_ : "";
    change(State::fault, why, std::move(detail), out);
    timer_.reset();
    garp_timer_.reset();
    master_ = IpAddr{};
    // Resigning lets a backup take over after Skew_Time instead of Master_Down_Interval; pointless
    // (and impossible) when our own interface is down.
    if (was_master && if_up_) send_advert(kPriorityStop, out);
}

// RFC 3768 §6.4.3 (Shutdown): a master sends priority 0 on its way out.
void StateMachine::enter_init(std::vector<Action>& out) {
    if (state_ == State::init) return;
    bool was_master = state_ == State::master;
    change(State::init, Reason::shutdown, "", out);
    timer_.reset();
    garp_timer_.reset();
    master_ = IpAddr{};
    if (was_master) send_advert(kPriorityStop, out);
}

void StateMachine::send_advert(uint8_t priority, std::vector<Action>& out) {
    ++counters_.tx_adverts;
    if (priority == kPriorityStop) ++counters_.tx_priority_zero;
    out.push_back(action::SendAdvert{priority});
}

void StateMachine::change(State to, Reason why, std::string detail, std::vector<Action>& out) {
    want_master_ = false;
    out.push_back(action::StateChanged{state_, to, why, std::move(detail)});
    state_ = to;
}

}  // namespace dplb::vrrp
