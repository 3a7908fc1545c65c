// The VRRP state machine, table-driven on an injected clock: each scenario is a list of steps
// (time, event, the actions expected, the state and the next deadline after it), one per RFC 3768 §6.4
// / RFC 5798 §6.4 transition or keepalived extension (FAULT, preempt_delay); then the receive checks
// of RFC 3768 §7.1 / RFC 5798 §7.1, each dropping an advert and counting it; then tracking.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "vrrp/state_machine.h"
#include "vrrp/track.h"

namespace dplb::vrrp {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// Our router: VRID 51, priority 100, VRRPv2 every second, PASS "secret", 10.0.0.2, vip 10.0.0.100.
// Master_Down_Interval = 3 * 1000 + (256 - 100) * 1000 / 256 = 3609 ms; Skew_Time = 609 ms.
Params base_params() {
    Params p;
    p.vrid = 51;
    p.priority = 100;
    p.version = 2;
    p.family = 4;
    p.advert_int_cs = 100;
    p.preempt = true;
    p.auth_type = AuthType::pass;
    p.auth_data = auth_pass("secret");
    p.primary = ip("10.0.0.2");
    p.addresses = {ip("10.0.0.100")};
    p.garp_repeat = 5;
    p.garp_delay_ms = 5000;
    return p;
}

// An advert as our peer would send it for the same router.
event::AdvertReceived adv(uint8_t priority, const char* src = "10.0.0.3") {
    event::AdvertReceived a;
    a.advert.version = 2;
    a.advert.vrid = 51;
    a.advert.priority = priority;
    a.advert.interval_cs = 100;
    a.advert.auth_type = AuthType::pass;
    a.advert.auth_data = auth_pass("secret");
    a.advert.addresses = {ip("10.0.0.100")};
    a.src = ip(src);
    a.ttl = 255;
    return a;
}

event::AdvertReceived adv3(uint8_t priority, uint16_t interval_cs, const char* src = "10.0.0.3") {
    event::AdvertReceived a = adv(priority, src);
    a.advert.version = 3;
    a.advert.interval_cs = interval_cs;
    a.advert.auth_type = AuthType::none;
    a.advert.auth_data = {};
    return a;
}

const char* short_reason(Reason r) {
    switch (r) {
    case Reason::startup: return "startup";
    case Reason::startup_owner: return "owner";
    case Reason::master_down: return "master_down";
    case Reason::higher_priority: return "higher";
    case Reason::shutdown: return "shutdown";
    case Reason::interface_down: return "if_down";
    case Reason::track_fault: return "track";
    case Reason::fault_cleared: return "cleared";
    case Reason::sync_group: return "sync";
    }
    return "?";
}

// Actions as one line: "MASTER(master_down), advert 100, garp 5 r1".
std::string describe(const std::vector<Action>& actions) {
    std::string s;
    for (const Action& a : actions) {
        if (!s.empty()) s += ", ";
        if (auto* c = std::get_if<action::StateChanged>(&a))
            s += std::string(state_name(c->to)) + "(" + short_reason(c->reason) + ")";
        else if (auto* ad = std::get_if<action::SendAdvert>(&a))
            s += "advert " + std::to_string(ad->priority);
        else if (auto* g = std::get_if<action::SendGarps>(&a))
            s += "garp " + std::to_string(g->count) + " r" + std::to_string(g->round);
        else if (std::holds_alternative<action::WantMaster>(a))
            s += "want master";
    }
    return s;
}

constexpr Millis kNone = -1;  // no deadline armed
constexpr Millis kAny = -2;   // not checked

struct Step {
    Millis at;
    Event event;
    const char* actions;  // describe() of what handle() returns
    State state;
    Millis deadline = kAny;
};

struct Scenario {
    const char* name;
    std::function<void(Params&)> tweak;
    std::vector<Step> steps;
};

// A reload's in-place change; the defaults are base_params()'s.
event::Reconfigure reconf(uint8_t priority, bool preempt = true, Millis preempt_delay_ms = 0,
                          uint32_t garp_repeat = 5, Millis garp_delay_ms = 5000, bool sync_group = false) {
    return event::Reconfigure{priority, preempt, preempt_delay_ms, garp_repeat, garp_delay_ms, sync_group};
}

const event::Startup kStart;
const event::Shutdown kStop;
const event::TimerExpired kTimer;

std::vector<Scenario> scenarios() {
    auto none = [](Params&) {};
    return {
        // RFC 3768 §6.4.1: Initialize.
        {"startup_goes_backup", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609}}},
        {"startup_owner_goes_master", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {1000, kTimer, "advert 255", State::master, 2000},
          {4000, kTimer, "advert 255", State::master, 5000},
          {5000, kTimer, "garp 5 r2, advert 255", State::master, 6000},
          {6000, kTimer, "advert 255", State::master, 7000}}},
        {"startup_twice_is_ignored", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {10, kStart, "", State::backup, 3609}}},
        {"startup_with_interface_down_goes_fault", none,
         {{0, event::InterfaceDown{}, "", State::init, kNone},
          {0, kStart, "FAULT(if_down)", State::fault, kNone},
          {100, event::InterfaceUp{}, "BACKUP(cleared)", State::backup, 3709}}},
        // RFC 3768 §6.4.2: Backup.
        {"backup_becomes_master_after_master_down_interval", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {3608, kTimer, "", State::backup, 3609},  // early: nothing
          {3609, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 4609},
          {4609, kTimer, "advert 100", State::master, 5609}}},
        {"backup_adverts_restart_master_down_timer", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(150), "", State::backup, 4609},
          {2000, adv(100, "10.0.0.1"), "", State::backup, 5609},  // equal priority: still the master
          {5609, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 6609}}},
        {"backup_priority_zero_means_skew_time", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(150), "", State::backup, 4609},
          {1500, adv(0), "", State::backup, 2109},  // Skew_Time = 609
          {2109, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 3109}}},
        {"backup_preempt_discards_lower_priority", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(50), "", State::backup, 3609},
          {2000, adv(50), "", State::backup, 3609},
          {3609, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 4609}}},
        {"backup_nopreempt_follows_lower_priority", [](Params& p) { p.preempt = false; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(50), "", State::backup, 4609},
          {2000, adv(50), "", State::backup, 5609}}},
        {"backup_preempt_delay_waits_then_preempts", [](Params& p) { p.preempt_delay_ms = 5000; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {3000, adv(50), "", State::backup, 6609},  // within the delay: as nopreempt
          {4999, adv(50), "", State::backup, 8608},
          {5000, adv(50), "", State::backup, 8608},  // delay over: discarded
          {6000, adv(50), "", State::backup, 8608},
          {8608, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 9608}}},
        // RFC 5798 §6.4.2: a VRRPv3 backup adopts the master's interval.
        {"v3_backup_learns_master_adver_interval", [](Params& p) {
             p.version = 3;
             p.auth_type = AuthType::none;
         },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          // 3 * 500 + (256 - 100) * 500 / 256 = 1500 + 304
          {100, adv3(150, 50), "", State::backup, 1904},
          {600, adv3(150, 50), "", State::backup, 2404},
          {2404, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 3404}}},
        // RFC 3768 §6.4.3: Master.
        {"master_yields_to_higher_priority", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {500, event::PriorityChanged{100}, "", State::master, 1000},
          {600, adv(150), "advert 100, BACKUP(higher)", State::backup, 4209},
          {5000, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 6000}}},
        {"master_tie_goes_to_greater_address", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {10, event::PriorityChanged{100}, "", State::master, 1000},
          {20, adv(100, "10.0.0.1"), "advert 100, garp 5 r1", State::master, 1020},  // lower address: we win
          {30, adv(100, "10.0.0.3"), "advert 100, BACKUP(higher)", State::backup, 3639}}},
        // A lower advert reaching a MASTER: a split brain healing. The other router's announcements
        // may have taken the VIPs' neighbour entries: answer and announce again, with a second round
        // garp_delay later (one pending round at a time).
        {"master_reasserts_on_lower_priority", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {5000, kTimer, "garp 5 r2, advert 255", State::master, 6000},
          {5500, adv(254), "advert 255, garp 5 r1", State::master, 6500},
          {6000, adv(254), "advert 255, garp 5 r1", State::master, 7000},
          {7000, kTimer, "advert 255", State::master, 8000},
          {8000, kTimer, "advert 255", State::master, 9000},
          {9000, kTimer, "advert 255", State::master, 10000},
          {10000, kTimer, "advert 255", State::master, 10500},
          {10500, kTimer, "garp 5 r2", State::master, 11000},
          {11000, kTimer, "advert 255", State::master, 12000}}},
        {"master_answers_priority_zero_at_once", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {300, adv(0), "advert 255", State::master, 1300}}},
        {"v3_master_yields_and_learns_interval", [](Params& p) {
             p.version = 3;
             p.auth_type = AuthType::none;
             p.priority = 255;
         },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {10, event::PriorityChanged{200}, "", State::master, 1000},
          // 3 * 2000 + (256 - 200) * 2000 / 256 = 6000 + 437
          {20, adv3(250, 200), "advert 200, BACKUP(higher)", State::backup, 6457}}},
        {"master_lowered_priority_goes_into_adverts", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {10, event::PriorityChanged{80}, "", State::master, 1000},
          {1000, kTimer, "advert 80", State::master, 2000}}},
        {"second_garp_round_is_dropped_on_leaving_master", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {10, event::PriorityChanged{100}, "", State::master, 1000},
          {20, adv(200), "advert 100, BACKUP(higher)", State::backup, 3629},
          {1000, adv(200), "", State::backup, 4609}}},  // no deadline at 5000 for the GARPs
        {"no_second_garp_round_when_delay_is_zero", [](Params& p) {
             p.priority = 255;
             p.garp_delay_ms = 0;
             p.garp_repeat = 3;
         },
         {{0, kStart, "MASTER(owner), advert 255, garp 3 r1", State::master, 1000}}},
        // Shutdown (RFC 3768 §6.4.2-3).
        {"shutdown_master_sends_priority_zero", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {100, kStop, "INIT(shutdown), advert 0", State::init, kNone},
          {200, kStop, "", State::init, kNone}}},
        {"shutdown_backup_is_silent", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {100, kStop, "INIT(shutdown)", State::init, kNone},
          {200, kStart, "BACKUP(startup)", State::backup, 3809}}},
        // FAULT (keepalived): tracked interface or object down.
        {"backup_interface_down_and_up", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {100, event::InterfaceDown{}, "FAULT(if_down)", State::fault, kNone},
          {200, adv(150), "", State::fault, kNone},
          {300, event::InterfaceUp{}, "BACKUP(cleared)", State::backup, 3909}}},
        {"master_interface_down_cannot_resign", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {100, event::InterfaceDown{}, "FAULT(if_down)", State::fault, kNone},
          {200, event::InterfaceUp{}, "MASTER(cleared), advert 255, garp 5 r1", State::master, 1200}}},
        {"master_track_fault_resigns_with_priority_zero", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {3609, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 4609},
          {4000, event::TrackFault{"web down"}, "FAULT(track), advert 0", State::fault, kNone},
          {4500, kTimer, "", State::fault, kNone},
          {5000, event::TrackOk{}, "BACKUP(cleared)", State::backup, 8609}}},
        {"fault_needs_every_cause_cleared", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {10, event::TrackFault{"web down"}, "FAULT(track)", State::fault, kNone},
          {20, event::InterfaceDown{}, "", State::fault, kNone},
          {30, event::TrackOk{}, "", State::fault, kNone},
          {40, event::InterfaceUp{}, "BACKUP(cleared)", State::backup, 3649}}},
        // A configuration reload's in-place changes (event::Reconfigure, vrrp/reload.h): no state
        // change and nothing sent at once; never priority 0.
        {"reload_lowered_priority_keeps_master_until_a_higher_advert", [](Params& p) { p.priority = 200; },
         // Master_Down_Interval at 200: 3000 + 56 * 1000 / 256 = 3218
         {{0, kStart, "BACKUP(startup)", State::backup, 3218},
          {3218, kTimer, "MASTER(master_down), advert 200, garp 5 r1", State::master, 4218},
          {3500, reconf(100), "", State::master, 4218},
          {4218, kTimer, "advert 100", State::master, 5218},
          {5000, adv(50), "advert 100, garp 5 r1", State::master, 6000},  // still above a lower one
          {5500, adv(150), "advert 100, BACKUP(higher)", State::backup, 9109}}},  // 5500 + 3609
        {"reload_raised_priority_preempts_the_master", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(150), "", State::backup, 4609},      // 150 is the master
          {1500, reconf(200), "", State::backup, 4609},
          {2000, adv(150), "", State::backup, 4609},      // now lower: discarded, the timer runs out
          {3000, adv(150), "", State::backup, 4609},
          {4000, adv(150), "", State::backup, 4609},
          {4609, kTimer, "MASTER(master_down), advert 200, garp 5 r1", State::master, 5609},
          {4700, adv(150), "advert 200, garp 5 r1", State::master, 5700}}},  // stays MASTER, announces again
        {"reload_raised_priority_without_preempt_follows_the_master", [](Params& p) { p.preempt = false; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(150), "", State::backup, 4609},
          {1500, reconf(200, false), "", State::backup, 4609},
          {2000, adv(150), "", State::backup, 5218},      // still the master; our skew is 200's now
          {3000, adv(150), "", State::backup, 6218}}},
        {"reload_turns_preempt_on", [](Params& p) { p.preempt = false; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(50), "", State::backup, 4609},       // nopreempt: a lower master is followed
          {1500, reconf(100, true), "", State::backup, 4609},
          {2000, adv(50), "", State::backup, 4609},       // preempt: discarded
          {4609, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 5609}}},
        {"reload_preempt_delay_counts_from_startup", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {1000, adv(50), "", State::backup, 3609},       // no delay: discarded
          {2000, reconf(100, true, 5000), "", State::backup, 3609},
          {3000, adv(50), "", State::backup, 6609},       // within 0 + 5000: as nopreempt
          {5000, adv(50), "", State::backup, 6609}}},     // past it: discarded again
        {"reload_moves_the_pending_second_garp_round", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {500, reconf(255, true, 0, 3, 2000), "", State::master, 1000},
          {1000, kTimer, "advert 255", State::master, 2000},
          {2000, kTimer, "garp 3 r2, advert 255", State::master, 3000}}},
        {"reload_garp_delay_zero_cancels_the_second_round", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {500, reconf(255, true, 0, 5, 0), "", State::master, 1000},
          {4000, kTimer, "advert 255", State::master, 5000},
          {5000, kTimer, "advert 255", State::master, 6000}}},  // no "garp 5 r2"
        {"reload_in_fault_applies_on_recovery", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {100, event::TrackFault{"web down"}, "FAULT(track)", State::fault, kNone},
          {200, reconf(200), "", State::fault, kNone},
          {300, event::TrackOk{}, "BACKUP(cleared)", State::backup, 3518},  // 300 + 3218
          {3518, kTimer, "MASTER(master_down), advert 200, garp 5 r1", State::master, 4518}}},
        {"preempt_delay_restarts_on_leaving_fault", [](Params& p) { p.preempt_delay_ms = 2000; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {10000, event::InterfaceDown{}, "FAULT(if_down)", State::fault, kNone},
          {10000, event::InterfaceUp{}, "BACKUP(cleared)", State::backup, 13609},
          {11000, adv(50), "", State::backup, 14609},  // within the new delay
          {12000, adv(50), "", State::backup, 14609}}},
        // vrrp_sync_group (keepalived's vrrp_sync.c): Master_Down_Timer asks the group, which answers
        // with SyncMaster; SyncBackup leaves MASTER without a priority-0 advert.
        {"sync_backup_waits_for_its_group", [](Params& p) { p.sync_group = true; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {3609, kTimer, "want master", State::backup, 7218},  // re-armed, still BACKUP
          {7218, kTimer, "want master", State::backup, 10827},
          {8000, event::SyncMaster{"G"}, "MASTER(sync), advert 100, garp 5 r1", State::master, 9000}}},
        {"sync_master_ignored_unless_backup", [](Params& p) { p.sync_group = true; },
         {{0, event::SyncMaster{"G"}, "", State::init, kNone},
          {0, kStart, "BACKUP(startup)", State::backup, 3609},
          {10, event::TrackFault{"x"}, "FAULT(track)", State::fault, kNone},
          {20, event::SyncMaster{"G"}, "", State::fault, kNone},
          {30, event::SyncBackup{"G"}, "", State::fault, kNone}}},
        {"sync_backup_leaves_master_silently", [](Params& p) { p.priority = 255; },
         {{0, kStart, "MASTER(owner), advert 255, garp 5 r1", State::master, 1000},
          {500, event::SyncBackup{"G"}, "BACKUP(sync)", State::backup, 500 + 3003},  // 255: skew 3 ms
          {600, event::SyncBackup{"G"}, "", State::backup, 3503}}},
        {"sync_want_master_forgotten_when_a_master_is_heard", [](Params& p) { p.sync_group = true; },
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {3609, kTimer, "want master", State::backup, 7218},
          {4000, adv(150), "", State::backup, 7609},
          {7609, kTimer, "want master", State::backup, 11218}}},
        {"reload_into_a_sync_group_waits_for_it", none,
         {{0, kStart, "BACKUP(startup)", State::backup, 3609},
          {100, reconf(100, true, 0, 5, 5000, true), "", State::backup, 3609},
          {3609, kTimer, "want master", State::backup, 7218},
          {4000, reconf(100, true, 0, 5, 5000, false), "", State::backup, 7218},
          {7218, kTimer, "MASTER(master_down), advert 100, garp 5 r1", State::master, 8218}}},
    };
}

// wants_master() is what the group reads: set by the expired timer, cleared by a master heard and
// by any change of state.
TEST(VrrpSync, WantsMasterFollowsTheTimerAndTheMaster) {
    Params p = base_params();
    p.sync_group = true;
    StateMachine m(p);
    m.handle(kStart, 0);
    EXPECT_FALSE(m.wants_master());
    m.handle(kTimer, 3609);
    EXPECT_TRUE(m.wants_master());
    m.handle(adv(150), 4000);
    EXPECT_FALSE(m.wants_master());
    m.handle(kTimer, 7609);
    EXPECT_TRUE(m.wants_master());
    m.handle(event::SyncMaster{"G"}, 7700);
    EXPECT_FALSE(m.wants_master());
    EXPECT_EQ(m.state(), State::master);
}

class StateTable : public ::testing::TestWithParam<Scenario> {};

TEST_P(StateTable, Steps) {
    const Scenario& sc = GetParam();
    Params p = base_params();
    sc.tweak(p);
    StateMachine m(p);
    EXPECT_EQ(m.state(), State::init);
    for (size_t i = 0; i < sc.steps.size(); ++i) {
        const Step& s = sc.steps[i];
        SCOPED_TRACE("step " + std::to_string(i) + " at " + std::to_string(s.at) + " ms");
        EXPECT_EQ(describe(m.handle(s.event, s.at)), s.actions);
        EXPECT_EQ(state_name(m.state()), std::string(state_name(s.state)));
        if (s.deadline != kAny) {
            EXPECT_EQ(m.next_deadline().value_or(kNone), s.deadline);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc, StateTable, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return std::string(info.param.name); });

// RFC 3768 §7.1 / RFC 5798 §7.1: each check drops the advert (a BACKUP's timer does not move) and
// counts it under its own name.
struct Refusal {
    const char* name;
    std::function<void(event::AdvertReceived&)> mutate;
    uint64_t Counters::*counter;
};

std::vector<Refusal> refusals() {
    return {
        {"ttl_254", [](event::AdvertReceived& a) { a.ttl = 254; }, &Counters::bad_ttl},
        {"ttl_1", [](event::AdvertReceived& a) { a.ttl = 1; }, &Counters::bad_ttl},
        {"other_vrid", [](event::AdvertReceived& a) { a.advert.vrid = 52; }, &Counters::vrid_mismatch},
        {"version_3_to_a_v2_router", [](event::AdvertReceived& a) { a.advert.version = 3; }, &Counters::bad_version},
        {"ipv6_source_to_an_ipv4_router", [](event::AdvertReceived& a) { a.src = ip("fe80::3"); },
         &Counters::bad_version},
        {"wrong_password", [](event::AdvertReceived& a) { a.advert.auth_data = auth_pass("secreT"); },
         &Counters::auth_fail},
        {"shorter_password", [](event::AdvertReceived& a) { a.advert.auth_data = auth_pass("secre"); },
         &Counters::auth_fail},
        {"no_authentication", [](event::AdvertReceived& a) {
             a.advert.auth_type = AuthType::none;
             a.advert.auth_data = {};
         },
         &Counters::auth_fail},
        {"ah_authentication", [](event::AdvertReceived& a) { a.advert.auth_type = AuthType::ah; },
         &Counters::auth_fail},
        {"other_interval", [](event::AdvertReceived& a) { a.advert.interval_cs = 200; },
         &Counters::interval_mismatch},
        {"other_addresses", [](event::AdvertReceived& a) { a.advert.addresses = {ip("10.0.0.101")}; },
         &Counters::address_mismatch},
        {"extra_address", [](event::AdvertReceived& a) { a.advert.addresses.push_back(ip("10.0.0.101")); },
         &Counters::address_mismatch},
    };
}

class Refused : public ::testing::TestWithParam<Refusal> {};

TEST_P(Refused, DroppedAndCounted) {
    StateMachine m(base_params());
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(150);
    GetParam().mutate(a);
    EXPECT_EQ(describe(m.handle(a, 1000)), "");
    EXPECT_EQ(m.next_deadline(), 3609) << "the Master_Down_Timer must not move";
    EXPECT_EQ(m.counters().*(GetParam().counter), 1u);
    EXPECT_EQ(m.counters().rx_adverts, 1u);
    EXPECT_EQ(m.counters().rx_accepted, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rfc3768Sec7_1, Refused, ::testing::ValuesIn(refusals()),
                         [](const ::testing::TestParamInfo<Refusal>& info) { return std::string(info.param.name); });

TEST(VrrpState, AcceptedAdvertsAreCounted) {
    StateMachine m(base_params());
    m.handle(kStart, 0);
    m.handle(adv(150), 100);
    m.handle(adv(0), 200);
    EXPECT_EQ(m.counters().rx_adverts, 2u);
    EXPECT_EQ(m.counters().rx_accepted, 2u);
    EXPECT_EQ(m.counters().rx_priority_zero, 1u);
    EXPECT_EQ(m.master(), ip("10.0.0.3"));
}

TEST(VrrpState, PasswordsCompareOnTheirFirstEightCharacters) {
    // keepalived truncates auth_pass to 8 characters: "secret123456" and "secret12" are one password.
    Params p = base_params();
    p.auth_data = auth_pass("secret123456");
    StateMachine m(p);
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(150);
    a.advert.auth_data = auth_pass("secret12");
    m.handle(a, 1000);
    EXPECT_EQ(m.counters().auth_fail, 0u);
    EXPECT_EQ(m.next_deadline(), 1000 + 3609);
}

TEST(VrrpState, AddressMismatchFromTheOwnerIsAccepted) {
    // RFC 3768 §7.1: a different address list is dropped unless the owner (255) sent it.
    StateMachine m(base_params());
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(255);
    a.advert.addresses = {ip("10.0.0.7")};
    m.handle(a, 1000);
    EXPECT_EQ(m.next_deadline(), 1000 + 3609);
    EXPECT_EQ(m.counters().address_mismatch, 1u);
    EXPECT_EQ(m.counters().rx_accepted, 1u);
}

TEST(VrrpState, Ipv6LinkLocalInTheAddressListIsNotAMismatch) {
    // RFC 5798 §5.2.9 puts the link-local address first; keepalived sends only the vips.
    Params p = base_params();
    p.version = 3;
    p.family = 6;
    p.auth_type = AuthType::none;
    p.primary = ip("fe80::2");
    p.addresses = {ip("2001:db8::100")};
    StateMachine m(p);
    m.handle(kStart, 0);
    event::AdvertReceived a = adv3(150, 100, "fe80::3");
    a.advert.addresses = {ip("fe80::3"), ip("2001:db8::100")};
    m.handle(a, 1000);
    EXPECT_EQ(m.counters().address_mismatch, 0u);
    EXPECT_EQ(m.next_deadline(), 1000 + 3609);
}

TEST(VrrpState, OwnAdvertLoopedBackIsIgnored) {
    Params p = base_params();
    StateMachine m(p);
    m.handle(kStart, 0);
    m.handle(adv(150, "10.0.0.2"), 1000);
    EXPECT_EQ(m.next_deadline(), 3609);
    EXPECT_EQ(m.counters().rx_accepted, 0u);
}

// Unicast VRRP (keepalived's unicast_peer): adverts from a listed peer, sent to us, are accepted
// whatever their TTL (keepalived skips the check in unicast mode: a peer may be routed hops away);
// one from any other address, or sent to the group, is refused and counted.
Params unicast_params() {
    Params p = base_params();
    p.unicast_peers = {ip("10.0.0.3"), ip("192.0.2.7")};
    return p;
}

TEST(VrrpUnicast, AdvertFromAPeerIsAcceptedWithAnyTtl) {
    StateMachine m(unicast_params());
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(150, "192.0.2.7");
    a.ttl = 61;  // four routed hops from a peer that sends with TTL 64 (unicast_ttl)
    a.dst = ip("10.0.0.2");
    m.handle(a, 1000);
    EXPECT_EQ(m.counters().rx_accepted, 1u);
    EXPECT_EQ(m.counters().bad_ttl, 0u);
    EXPECT_EQ(m.master(), ip("192.0.2.7"));
    EXPECT_EQ(m.next_deadline(), 1000 + 3609) << "the peer is the master: Master_Down_Timer restarted";
}

TEST(VrrpUnicast, AdvertFromANonPeerIsRefused) {
    StateMachine m(unicast_params());
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(150, "10.0.0.4");
    a.dst = ip("10.0.0.2");
    EXPECT_EQ(describe(m.handle(a, 1000)), "");
    EXPECT_EQ(m.counters().not_peer, 1u);
    EXPECT_EQ(m.counters().rx_adverts, 1u);
    EXPECT_EQ(m.counters().rx_accepted, 0u);
    EXPECT_EQ(m.next_deadline(), 3609) << "the Master_Down_Timer must not move";
    // A non-peer's priority 0 does not cut the timer to Skew_Time either.
    m.handle(adv(0, "10.0.0.4"), 1100);
    EXPECT_EQ(m.counters().not_peer, 2u);
    EXPECT_EQ(m.next_deadline(), 3609);
}

TEST(VrrpUnicast, NonPeerCannotMakeAMasterYield) {
    Params p = unicast_params();
    p.priority = 255;  // owner: MASTER at once
    StateMachine m(p);
    m.handle(kStart, 0);
    ASSERT_EQ(m.state(), State::master);
    // Priority 255 from an unknown address with our address list: accepted in multicast mode
    // (an equal-priority tie lost on the address), refused here.
    event::AdvertReceived a = adv(255, "10.0.0.200");
    EXPECT_EQ(describe(m.handle(a, 500)), "");
    EXPECT_EQ(m.state(), State::master);
    EXPECT_EQ(m.counters().not_peer, 1u);
}

TEST(VrrpUnicast, AdvertToTheGroupIsRefused) {
    // keepalived: "Expected unicast packet but received multicast packet".
    StateMachine m(unicast_params());
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(150, "10.0.0.3");
    a.dst = ip("224.0.0.18");
    m.handle(a, 1000);
    EXPECT_EQ(m.counters().bad_destination, 1u);
    EXPECT_EQ(m.counters().rx_accepted, 0u);
    EXPECT_EQ(m.next_deadline(), 3609);
}

TEST(VrrpUnicast, Ipv6PeerAndGroup) {
    Params p = base_params();
    p.version = 3;
    p.family = 6;
    p.auth_type = AuthType::none;
    p.auth_data = {};
    p.primary = ip("2001:db8::2");
    p.addresses = {ip("2001:db8::100")};
    p.unicast_peers = {ip("2001:db8::3")};
    StateMachine m(p);
    m.handle(kStart, 0);
    event::AdvertReceived a = adv3(150, 100, "2001:db8::3");
    a.advert.addresses = {ip("2001:db8::100")};
    a.ttl = 64;
    a.dst = ip("ff02::12");
    m.handle(a, 500);
    EXPECT_EQ(m.counters().bad_destination, 1u);
    a.dst = ip("2001:db8::2");
    a.src = ip("fe80::3");  // the peer's link-local address is not the listed one
    m.handle(a, 600);
    EXPECT_EQ(m.counters().not_peer, 1u);
    a.src = ip("2001:db8::3");
    m.handle(a, 1000);
    EXPECT_EQ(m.counters().rx_accepted, 1u);
    EXPECT_EQ(m.next_deadline(), 1000 + 3609);
}

TEST(VrrpUnicast, MulticastStillChecksTtlAndTakesAnySource) {
    StateMachine m(base_params());  // no peers
    m.handle(kStart, 0);
    event::AdvertReceived a = adv(150, "10.0.0.4");
    a.dst = ip("224.0.0.18");
    a.ttl = 254;
    m.handle(a, 500);
    EXPECT_EQ(m.counters().bad_ttl, 1u);
    a.ttl = 255;
    m.handle(a, 1000);
    EXPECT_EQ(m.counters().rx_accepted, 1u);
    EXPECT_EQ(m.counters().not_peer, 0u);
}

TEST(VrrpState, DecodeFailuresAreCountedByReason) {
    StateMachine m(base_params());
    m.handle(kStart, 0);
    m.handle(event::DecodeFailed{DecodeError::bad_checksum}, 10);
    m.handle(event::DecodeFailed{DecodeError::bad_checksum}, 20);
    m.handle(event::DecodeFailed{DecodeError::bad_version}, 30);
    m.handle(event::DecodeFailed{DecodeError::truncated}, 40);
    m.handle(event::DecodeFailed{DecodeError::bad_type}, 50);
    m.handle(event::DecodeFailed{DecodeError::bad_interval}, 60);
    const Counters& c = m.counters();
    EXPECT_EQ(c.bad_checksum, 2u);
    EXPECT_EQ(c.bad_version, 1u);
    EXPECT_EQ(c.truncated, 1u);
    EXPECT_EQ(c.bad_type, 1u);
    EXPECT_EQ(c.bad_interval, 1u);
    EXPECT_EQ(c.rx_adverts, 6u);
    EXPECT_EQ(m.next_deadline(), 3609);
}

TEST(VrrpState, TransmitCountersAndBecameMaster) {
    Params p = base_params();
    StateMachine m(p);
    m.handle(kStart, 0);
    m.handle(kTimer, 3609);  // MASTER, advert
    m.handle(kTimer, 4609);  // advert
    m.handle(kStop, 5000);   // advert 0
    EXPECT_EQ(m.counters().became_master, 1u);
    EXPECT_EQ(m.counters().tx_adverts, 3u);
    EXPECT_EQ(m.counters().tx_priority_zero, 1u);
}

TEST(VrrpState, StateChangeDetailNamesTheCause) {
    Params p = base_params();
    p.priority = 255;
    StateMachine m(p);
    m.handle(kStart, 0);
    m.handle(event::PriorityChanged{100}, 1);
    auto acts = m.handle(adv(200), 2);
    ASSERT_EQ(acts.size(), 2u);  // the advert that tells the winner, then the change
    auto& c = std::get<action::StateChanged>(acts[1]);
    EXPECT_EQ(c.from, State::master);
    EXPECT_EQ(c.detail, "advert from 10.0.0.3 priority 200");
    acts = m.handle(kTimer, 5000);
    EXPECT_EQ(std::get<action::StateChanged>(acts[0]).detail, "no advert from 10.0.0.3 for 3609 ms");
    acts = m.handle(event::TrackFault{"web down"}, 5001);
    EXPECT_EQ(std::get<action::StateChanged>(acts[0]).detail, "web down");
}

// A MASTER reconfigured again and again (priority down to 1, preempt off, no second GARP round)
// stays MASTER and advertises the latest priority every interval, never priority 0.
TEST(VrrpState, ReloadWhileMasterNeverResigns) {
    Params p = base_params();
    p.priority = 255;
    StateMachine m(p);
    m.handle(kStart, 0);
    Millis t = 0;
    for (uint8_t prio : {254, 200, 100, 1, 150}) {
        EXPECT_EQ(describe(m.handle(reconf(prio, false, 3000, 2, 0), t + 10)), "");
        t += 1000;
        EXPECT_EQ(describe(m.handle(kTimer, t)), "advert " + std::to_string(prio)) << "at " << t;
        EXPECT_EQ(m.state(), State::master);
    }
    EXPECT_EQ(m.counters().tx_priority_zero, 0u);
    EXPECT_EQ(m.counters().became_master, 1u);
    EXPECT_EQ(m.priority(), 150);
    EXPECT_EQ(m.params().priority, 150);
    EXPECT_FALSE(m.params().preempt);
    EXPECT_EQ(m.params().preempt_delay_ms, 3000);
    EXPECT_EQ(m.params().garp_repeat, 2u);
    EXPECT_EQ(m.params().garp_delay_ms, 0);
}

// The intervals of RFC 5798 §6.1 for a few priorities.
TEST(VrrpState, MasterDownIntervalIsThreeAdvertsPlusSkew) {
    struct Case {
        uint8_t priority;
        uint16_t advert_cs;
        Millis skew, down;
    };
    for (Case c : {Case{100, 100, 609, 3609}, Case{150, 100, 414, 3414}, Case{254, 100, 7, 3007},
                   Case{1, 100, 996, 3996}, Case{200, 50, 109, 1609}, Case{100, 4095, 24953, 147803}}) {
        Params p = base_params();
        p.priority = c.priority;
        p.advert_int_cs = c.advert_cs;
        StateMachine m(p);
        EXPECT_EQ(m.skew_ms(), c.skew) << int(c.priority) << "/" << c.advert_cs;
        EXPECT_EQ(m.master_down_interval_ms(), c.down) << int(c.priority) << "/" << c.advert_cs;
    }
}

// Tracking: weight 0 = FAULT, positive weights add while up, negative ones subtract while down.
TEST(VrrpTrack, FaultAndWeights) {
    TrackSet t;
    t.add("lan0");
    t.add("web");
    t.add("db", -30);
    t.add("bonus", 10);
    EXPECT_FALSE(t.fault());
    EXPECT_EQ(t.priority_delta(), 10);
    EXPECT_TRUE(t.set("web", false));
    EXPECT_TRUE(t.fault());
    EXPECT_EQ(t.fault_what(), "web down");
    EXPECT_TRUE(t.set("lan0", false));
    EXPECT_EQ(t.fault_what(), "lan0 down, web down");
    EXPECT_TRUE(t.set("db", false));
    EXPECT_EQ(t.priority_delta(), -20);
    EXPECT_TRUE(t.set("bonus", false));
    EXPECT_EQ(t.priority_delta(), -30);
    EXPECT_FALSE(t.set("nope", false));
    EXPECT_FALSE(t.has("nope"));
    t.set("web", true);
    t.set("lan0", true);
    EXPECT_FALSE(t.fault());
    t.add("db", 0);  // now a FAULT tracker, still down
    EXPECT_TRUE(t.fault());
}

// A reload that drops a tracked object: it stops counting, whatever its state or weight.
TEST(VrrpTrack, RemovedObjectsStopCounting) {
    TrackSet t;
    t.add("lan0");
    t.add("web");
    t.add("db", -30);
    t.add("bonus", 10);
    t.set("web", false);
    t.set("db", false);
    EXPECT_TRUE(t.fault());
    EXPECT_EQ(t.priority_delta(), -20);
    EXPECT_TRUE(t.remove("web"));
    EXPECT_FALSE(t.fault());
    EXPECT_EQ(t.fault_what(), "");
    EXPECT_FALSE(t.has("web"));
    EXPECT_FALSE(t.set("web", true));
    EXPECT_TRUE(t.remove("db"));
    EXPECT_EQ(t.priority_delta(), 10);
    EXPECT_TRUE(t.remove("bonus"));
    EXPECT_EQ(t.priority_delta(), 0);
    EXPECT_FALSE(t.remove("bonus"));
    EXPECT_TRUE(t.has("lan0"));
    t.add("web");  // back again: starts up
    EXPECT_FALSE(t.fault());
}

TEST(VrrpTrack, EffectivePriorityStaysInRange) {
    EXPECT_EQ(effective_priority(100, 0), 100);
    EXPECT_EQ(effective_priority(100, -50), 50);
    EXPECT_EQ(effective_priority(100, -200), 1);
    EXPECT_EQ(effective_priority(100, 200), 254);
    EXPECT_EQ(effective_priority(255, -50), 255);
}

}  // namespace
}  // namespace dplb::vrrp
