// The VRRP codec and state machine under libFuzzer: bytes as the advert socket hands them over go
// through parse_ipv4 (IPv4) and decode into a StateMachine (vrrp_ops.h has the input format), with
// the clock, link, tracking, priority and reload events in between. Checked:
// - parse_ipv4's payload lies inside the buffer; a decoded advert encodes back to itself, and to the
//   very bytes it came from when those were canonical (no trailing bytes, no stray authentication
//   data, reserved bits clear);
// - the actions of every event: each StateChanged starts where the state was and goes somewhere
//   else; the last one is where the machine is; gratuitous ARPs only from MASTER; an advert of
//   priority 0 only from a MASTER stepping down, any other only from a MASTER, with its priority;
// - timers: BACKUP and MASTER always have a deadline, INIT and FAULT never; each firing moves it
//   on; a BACKUP whose Master_Down_Timer fires becomes MASTER; Startup from
//   INIT, not faulted, gives BACKUP (MASTER for the address owner, priority 255);
// - an accepted advert, by RFC 3768 §6.4.2-3: priority 0 makes a BACKUP wait Skew_Time and a MASTER
//   answer at once; a higher priority makes either BACKUP with Master_Down_Interval to wait; a
//   lower one leaves a MASTER as it was; INIT and FAULT ignore adverts;
// - unicast (unicast_peers): an accepted advert came from a listed peer and was sent to us; multicast:
//   with TTL 255;
// - counters: every advert handed in counted in rx_adverts, accepted ones at most that many;
//   tx_adverts, tx_priority_zero and became_master equal the actions that said so.
#include <algorithm>
#include <optional>

#include "fuzz_input.h"
#include "vrrp/codec.h"
#include "vrrp/state_machine.h"
#include "vrrp_ops.h"

namespace dplb::fuzz {
namespace {

using namespace dplb::vrrp;

IpAddr addr(const char* s) { return *IpAddr::parse(s); }

Params read_router(Reader& in, const VrrpProfile*& prof) {
    uint8_t bits = in.u8(), priority = in.u8(), interval = in.u8(), timers = in.u8();
    prof = &kProfiles[bits & 3];
    Params p;
    p.vrid = prof->vrid;
    p.version = prof->version;
    p.family = prof->family;
    p.priority = std::max<uint8_t>(priority, 1);
    p.advert_int_cs = prof->interval_cs;
    if (interval)
        p.advert_int_cs = static_cast<uint16_t>(p.version == 2 ? (1 + interval % 10) * 100 : 1 + interval * 16);
    p.preempt = !(bits & 4);
    p.preempt_delay_ms = (timers & 7) * 1000;
    p.garp_delay_ms = (timers >> 5) * 1000;
    p.garp_repeat = 1u + (timers >> 3 & 3);
    if (prof->password) {
        p.auth_type = AuthType::pass;
        p.auth_data = auth_pass(prof->password);
    }
    p.primary = addr(prof->primary);
    for (const char* a : prof->addresses) p.addresses.push_back(addr(a));
    if (bits & 8) p.unicast_peers = {addr(prof->peers[0]), addr(prof->peers[1])};
    return p;
}

// What encode() makes of an advert decoded from the wire: v2 authentication data only with PASS.
Advert canonical(Advert a) {
    if (a.version == 2 && a.auth_type != AuthType::pass) a.auth_data = {};
    return a;
}

// decode(encode(a)) == a, and encode(decode(bytes)) == bytes where the bytes were canonical.
void check_round_trip(const Advert& a, const uint8_t* wire, size_t len, const IpAddr& src, const IpAddr& dst) {
    std::vector<uint8_t> again = encode(a, src, dst);
    Decoded d = decode(again.data(), again.size(), src, dst);
    FUZZ_CHECK(d.ok(), "an advert decoded, encoded again, does not decode: %s", decode_error_name(d.error));
    FUZZ_CHECK(d.advert == canonical(a), "an advert decoded, encoded and decoded again differs (v%u vrid %u)",
               a.version, a.vrid);
    if (!wire) return;
    size_t alen = src.family == 6 ? 16 : 4;
    size_t need = kHeaderLen + a.addresses.size() * alen + (a.version == 2 ? kAuthDataLen : 0);
    bool canonical_bytes = len == need && (a.version == 3 ? (wire[4] & 0xf0) == 0 : true) &&
                           (a.version == 3 || a.auth_type == AuthType::pass || canonical(a).auth_data == a.auth_data);
    if (!canonical_bytes) return;
    // The checksum may differ only as the two zeros of ones' complement do (RFC 1071): a sender
    // may write 0xffff where encode() writes 0x0000; both verify.
    uint16_t sum_in = static_cast<uint16_t>(wire[6] << 8 | wire[7]),
             sum_out = static_cast<uint16_t>(again[6] << 8 | again[7]);
    std::vector<uint8_t> in(wire, wire + len);
    in[6] = again[6];
    in[7] = again[7];
    FUZZ_CHECK(in == again && (sum_in == sum_out || (sum_in == 0xffff && sum_out == 0)),
               "canonical advert bytes (%zu) encode differently (checksum %04x, encoded %04x)", len, sum_in, sum_out);
}

class Harness {
public:
    Harness(Params p, const VrrpProfile& prof) : sm_(p), prof_(prof), params_(std::move(p)) {}

    void received(Reader& in) {
        size_t len = in.u16(), got;
        if (params_.family == 6) {
            IpAddr src = addr(prof_.peers[in.u8() & 3]);
            uint8_t hops = in.u8();
            const uint8_t* msg = in.bytes(len, got);
            deliver(msg, got, src, unicast() ? params_.primary : group_v6(), hops);
            return;
        }
        const uint8_t* buf = in.bytes(len, got);
        std::optional<Ipv4Packet> pkt = parse_ipv4(buf, got);
        if (!pkt) return;
        FUZZ_CHECK(pkt->payload >= buf && pkt->payload + pkt->payload_len <= buf + got,
                   "parse_ipv4: payload of %zu bytes at %td, outside %zu bytes", pkt->payload_len, pkt->payload - buf,
                   got);
        if (pkt->protocol != kIpProtoVrrp) return;  // as io.cc
        deliver(pkt->payload, pkt->payload_len, pkt->src, pkt->dst, pkt->ttl);
    }

    // An advert as a peer of our router would send it, possibly spoiled in one or more ways.
    void peer(uint8_t priority, uint8_t who, uint8_t spoil) {
        Advert a;
        a.version = params_.version;
        a.vrid = static_cast<uint8_t>(params_.vrid + (spoil & 1));
        a.priority = priority;
        a.interval_cs = params_.advert_int_cs;
        if (spoil & 4) a.interval_cs = static_cast<uint16_t>(a.interval_cs + (a.version == 2 ? 100 : 1));
        a.auth_type = params_.auth_type;
        a.auth_data = params_.auth_data;
        if (spoil & 8) a.auth_data[0] ^= 1;
        a.addresses = params_.addresses;
        if (spoil & 16) a.addresses.push_back(addr(params_.family == 6 ? "2001:db8:9::1ff" : "10.9.0.199"));
        if ((spoil & 32) && !a.addresses.empty()) a.addresses.pop_back();
        IpAddr src = addr(prof_.peers[who & 3]);
        IpAddr group = params_.family == 6 ? group_v6() : group_v4();
        IpAddr dst = unicast() && !(spoil & 64) ? params_.primary : group;
        std::vector<uint8_t> bytes = encode(a, src, dst);
        deliver(bytes.data(), bytes.size(), src, dst, (spoil & 2) ? 254 : 255);
    }

    void advance(uint16_t ms) {
        now_ += ms;
        fire_due();
    }

    void event(const Event& e) {
        fire_due();
        bool startup_from_init = std::holds_alternative<event::Startup>(e) && sm_.state() == State::init;
        handle(e);
        if (startup_from_init && !faulted_) {
            State want = sm_.priority() == kPriorityOwner ? State::master : State::backup;
            FUZZ_CHECK(sm_.state() == want, "Startup from INIT, not faulted, priority %u: %s", sm_.priority(),
                       state_name(sm_.state()));
        }
    }

    void link(bool up) {
        link_down_ = !up;
        faulted_ = link_down_ || track_fault_;
        event(up ? Event{event::InterfaceUp{}} : Event{event::InterfaceDown{}});
    }
    void track(bool fault) {
        track_fault_ = fault;
        faulted_ = link_down_ || track_fault_;
        event(fault ? Event{event::TrackFault{"fuzz"}} : Event{event::TrackOk{}});
    }

private:
    void deliver(const uint8_t* msg, size_t len, const IpAddr& src, const IpAddr& dst, uint8_t ttl) {
        Decoded d = decode(msg, len, src, dst);
        if (!d.ok()) {
            event(event::DecodeFailed{d.error});
            return;
        }
        check_round_trip(d.advert, msg, len, src, dst);
        fire_due();
        const State before = sm_.state();
        const uint8_t ours = sm_.priority();
        const uint64_t accepted = sm_.counters().rx_accepted;
        std::vector<Action> actions = handle(event::AdvertReceived{d.advert, src, ttl, dst});
        if (sm_.counters().rx_accepted != accepted) {
            check_unicast(src, dst, ttl);
            check_accepted(d.advert.priority, ours, before, actions);
        }
    }

    bool unicast() const { return !params_.unicast_peers.empty(); }

    // Accepted in unicast mode: from a listed peer and sent to us; in multicast mode: TTL 255.
    void check_unicast(const IpAddr& src, const IpAddr& dst, uint8_t ttl) {
        if (!unicast()) {
            FUZZ_CHECK(ttl == kVrrpTtl, "multicast: an advert with TTL %u accepted", ttl);
            return;
        }
        const auto& peers = params_.unicast_peers;
        FUZZ_CHECK(std::find(peers.begin(), peers.end(), src) != peers.end(), "unicast: an advert from %s accepted",
                   src.str().c_str());
        FUZZ_CHECK(dst != group_v4() && dst != group_v6(), "unicast: an advert to the group accepted");
    }

    // What an accepted advert does, by RFC 3768 §6.4.2 (BACKUP) and §6.4.3 (MASTER), and nothing
    // in INIT or FAULT. (A lower priority to a BACKUP depends on preempt and preempt_delay; a tie
    // on the addresses: not checked here.)
    void check_accepted(uint8_t theirs, uint8_t ours, State before, const std::vector<Action>& actions) {
        const State now = sm_.state();
        const Millis next = sm_.next_deadline().value_or(-1);
        switch (before) {
        case State::init:
        case State::fault:
            FUZZ_CHECK(now == before && actions.empty(), "an advert changed %s", state_name(before));
            break;
        case State::backup:
            if (theirs == kPriorityStop)
                FUZZ_CHECK(now == State::backup && next == now_ + sm_.skew_ms(),
                           "BACKUP hearing priority 0: %s, deadline in %lld ms, Skew_Time %lld ms", state_name(now),
                           static_cast<long long>(next - now_), static_cast<long long>(sm_.skew_ms()));
            else if (theirs > ours)
                FUZZ_CHECK(now == State::backup && next == now_ + sm_.master_down_interval_ms(),
                           "BACKUP (priority %u) hearing priority %u: %s, deadline in %lld ms, Master_Down %lld ms",
                           ours, theirs, state_name(now), static_cast<long long>(next - now_),
                           static_cast<long long>(sm_.master_down_interval_ms()));
            break;
        case State::master:
            if (theirs == kPriorityStop)
                FUZZ_CHECK(now == State::master && actions.size() == 1 &&
                               std::holds_alternative<action::SendAdvert>(actions[0]),
                           "MASTER hearing priority 0: %s after %zu actions", state_name(now), actions.size());
            else if (theirs > ours)
                // It tells the winner (one advert at our priority) before the change.
                FUZZ_CHECK(now == State::backup && next == now_ + sm_.master_down_interval_ms() &&
                               actions.size() == 2 && std::holds_alternative<action::SendAdvert>(actions[0]) &&
                               std::get<action::SendAdvert>(actions[0]).priority == ours &&
                               std::holds_alternative<action::StateChanged>(actions[1]),
                           "MASTER (priority %u) hearing priority %u: %s after %zu actions", ours, theirs,
                           state_name(now), actions.size());
            else if (theirs < ours)
                // A split brain healing: answer, and announce the addresses again (one GARP round).
                FUZZ_CHECK(now == State::master && actions.size() == 2 &&
                               std::holds_alternative<action::SendAdvert>(actions[0]) &&
                               std::get<action::SendAdvert>(actions[0]).priority == ours &&
                               std::holds_alternative<action::SendGarps>(actions[1]) &&
                               std::get<action::SendGarps>(actions[1]).round == 1,
                           "MASTER (priority %u) hearing priority %u: %s after %zu actions", ours, theirs,
                           state_name(now), actions.size());
            break;
        }
    }

    // Timers fire at their deadlines, as Instance's timer delivers them; one that a reload moved
    // into the past (Reconfigure's garp_delay) fires at once, the clock never going back.
    void fire_due() {
        for (std::optional<Millis> due = sm_.next_deadline(); due && *due <= now_; due = sm_.next_deadline()) {
            bool backup = sm_.state() == State::backup;
            Millis at = std::max(*due, clock_);
            handle(event::TimerExpired{}, at);
            std::optional<Millis> next = sm_.next_deadline();
            FUZZ_CHECK(!next || *next > at, "a timer fired at %lld and left the next deadline at %lld",
                       static_cast<long long>(at), static_cast<long long>(*next));
            if (backup)
                FUZZ_CHECK(sm_.state() == State::master, "Master_Down_Timer fired in BACKUP: now %s",
                           state_name(sm_.state()));
        }
    }

    std::vector<Action> handle(const Event& e) { return handle(e, now_); }

    std::vector<Action> handle(const Event& e, Millis at) {
        clock_ = at;
        State before = sm_.state();
        bool counted_rx =
            std::holds_alternative<event::AdvertReceived>(e) || std::holds_alternative<event::DecodeFailed>(e);
        std::vector<Action> actions = sm_.handle(e, at);
        rx_ += counted_rx;
        State s = before;
        bool stepped_down = false;
        for (const Action& a : actions) {
            if (auto* c = std::get_if<action::StateChanged>(&a)) {
                FUZZ_CHECK(c->from == s && c->to != s, "StateChanged %s -> %s while in %s", state_name(c->from),
                           state_name(c->to), state_name(s));
                stepped_down |= c->from == State::master;
                became_master_ += c->to == State::master;
                s = c->to;
            } else if (auto* g = std::get_if<action::SendGarps>(&a)) {
                FUZZ_CHECK(s == State::master && (g->round == 1 || g->round == 2), "SendGarps round %d in %s",
                           g->round, state_name(s));
            } else if (auto* adv = std::get_if<action::SendAdvert>(&a)) {
                tx_++;
                if (adv->priority == kPriorityStop) {
                    tx_zero_++;
                    FUZZ_CHECK(stepped_down && s != State::master,
                               "priority 0 advert, not from a MASTER stepping down (%s)", state_name(s));
                } else {
                    FUZZ_CHECK(s == State::master && adv->priority == sm_.priority(),
                               "advert of priority %u in %s (priority %u)", adv->priority, state_name(s),
                               sm_.priority());
                }
            }
        }
        FUZZ_CHECK(s == sm_.state(), "actions end in %s, the machine is in %s", state_name(s), state_name(sm_.state()));
        std::optional<Millis> next = sm_.next_deadline();
        bool running = s == State::backup || s == State::master;
        FUZZ_CHECK(running == next.has_value(), "%s with%s a deadline", state_name(s), next ? "" : "out");
        const Counters& c = sm_.counters();
        FUZZ_CHECK(c.rx_adverts == rx_ && c.rx_accepted <= c.rx_adverts,
                   "rx_adverts %llu (handed in %llu), accepted %llu", ull(c.rx_adverts), ull(rx_), ull(c.rx_accepted));
        FUZZ_CHECK(c.tx_adverts == tx_ && c.tx_priority_zero == tx_zero_ && c.became_master == became_master_,
                   "tx_adverts %llu / %llu sent, tx_priority_zero %llu / %llu, became_master %llu / %llu",
                   ull(c.tx_adverts), ull(tx_), ull(c.tx_priority_zero), ull(tx_zero_), ull(c.became_master),
                   ull(became_master_));
        return actions;
    }

    static unsigned long long ull(uint64_t v) { return v; }

    StateMachine sm_;
    const VrrpProfile& prof_;
    Params params_;
    Millis now_ = 0;    // the input's clock
    Millis clock_ = 0;  // the last time handed to the machine
    bool link_down_ = false, track_fault_ = false, faulted_ = false;
    uint64_t rx_ = 0, tx_ = 0, tx_zero_ = 0, became_master_ = 0;
};

}  // namespace
}  // namespace dplb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dplb::fuzz;
    using namespace dplb::vrrp;
    Reader in(data, size);
    const VrrpProfile* prof = nullptr;
    Params p = read_router(in, prof);
    Harness h(p, *prof);
    while (!in.empty()) {
        uint8_t op = in.u8();
        bool variant = op & kVrrpVariant;
        switch (op & 7) {
        case kVrrpReceived: h.received(in); break;
        case kVrrpTime: h.advance(in.u16()); break;
        case kVrrpPeer: {
            uint8_t priority = in.u8(), who = in.u8();
            h.peer(priority, who, in.u8());
            break;
        }
        case kVrrpStart: h.event(variant ? Event{event::Shutdown{}} : Event{event::Startup{}}); break;
        case kVrrpLink: h.link(!variant); break;
        case kVrrpTrack: h.track(variant); break;
        case kVrrpPriority: h.event(event::PriorityChanged{in.u8()}); break;
        case kVrrpReload: {
            uint8_t priority = in.u8(), bits = in.u8(), repeat = in.u8();
            h.event(event::Reconfigure{priority, static_cast<bool>(bits & 1), (bits >> 1 & 7) * 1000,
                                       repeat, (bits >> 4) * 1000, false});
            break;
        }
        }
    }
    return 0;
}
