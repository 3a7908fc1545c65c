// vrrp_sync_group: the group rules as tables (vrrp/sync_group.h), the loader's vrrp_sync_groups,
// and SyncGroups over real Instances on lo (addresses owner, so no peer is needed). The group
// failing over against a peer is tests/e2e/test_sync_group_live.py.
#include <gtest/gtest.h>

#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config.h"
#include "vrrp/instance.h"
#include "vrrp/sync_group.h"

namespace dplb::vrrp {
namespace {

constexpr State I = State::init, B = State::backup, M = State::master, F = State::fault;

// "B", "M!" (own fault), "B*" (wants master).
Member m(const char* s) {
    Member x;
    switch (s[0]) {
    case 'I': x.state = I; break;
    case 'B': x.state = B; break;
    case 'M': x.state = M; break;
    case 'F': x.state = F; break;
    }
    for (const char* c = s + 1; *c; ++c) {
        if (*c == '!') x.own_fault = true;
        if (*c == '*') x.wants_master = true;
    }
    return x;
}

std::vector<Member> ms(std::initializer_list<const char*> l) {
    std::vector<Member> out;
    for (const char* s : l) out.push_back(m(s));
    return out;
}

std::string orders(const std::vector<Order>& o) {
    std::string s;
    for (Order x : o) s += x == Order::to_master ? 'M' : x == Order::to_backup ? 'B' : '-';
    return s;
}

TEST(SyncGroupRules, OneFaultHoldsEveryOtherMember) {
    EXPECT_EQ(group_faults(ms({"M", "M", "M"})), (std::vector<bool>{false, false, false}));
    EXPECT_EQ(group_faults(ms({"F!", "M", "B"})), (std::vector<bool>{false, true, true}));
    // Two faulted: each is held by the other too, so neither leaves FAULT when its own clears.
    EXPECT_EQ(group_faults(ms({"F!", "F!", "F"})), (std::vector<bool>{true, true, true}));
    // In FAULT only because of the group: holds nobody.
    EXPECT_EQ(group_faults(ms({"F", "F"})), (std::vector<bool>{false, false}));
}

struct MasterCase {
    std::vector<Member> members;
    size_t who;
    bool may;
};

TEST(SyncGroupRules, MasterOnlyWhenEveryOtherMemberIsReady) {
    std::vector<MasterCase> cases = {
        {ms({"B*", "B*"}), 0, true},
        {ms({"B*", "B"}), 0, false},   // the other still hears a master: prefer BACKUP
        {ms({"B*", "M"}), 0, true},    // a member restarted while the group is MASTER
        {ms({"B*", "F"}), 0, false},
        {ms({"B*", "B*!"}), 0, false},
        {ms({"B*", "I"}), 0, false},   // a member that did not start holds the group back
        {ms({"B*", "B*", "B"}), 1, false},
        {ms({"B*", "B*", "M"}), 1, true},
    };
    for (size_t i = 0; i < cases.size(); ++i)
        EXPECT_EQ(may_go_master(cases[i].members, cases[i].who), cases[i].may) << "case " << i;
}

struct OrderCase {
    std::vector<Member> members;  // after member `who` changed
    size_t who;
    State from;
    const char* expected;
};

TEST(SyncGroupRules, WhatOneChangeOrdersTheOthers) {
    std::vector<OrderCase> cases = {
        // MASTER together: the others that want it too follow at once.
        {ms({"M", "B*", "B*"}), 0, B, "-MM"},
        {ms({"M", "B*", "M"}), 0, B, "-M-"},
        // An owner that starts as MASTER does not drag members that still hear another master.
        {ms({"M", "B"}), 0, I, "--"},
        // Yielding to a higher priority master pulls the group to BACKUP.
        {ms({"B", "M", "M"}), 0, M, "-BB"},
        {ms({"B", "M", "B"}), 0, M, "-B-"},
        // BACKUP from anything else (start, leaving FAULT, the group's own order) pulls nothing.
        {ms({"B", "M"}), 0, I, "--"},
        {ms({"B", "M"}), 0, F, "--"},
        // FAULT is the faults' business (group_faults), not an order.
        {ms({"F!", "M"}), 0, M, "--"},
    };
    for (size_t i = 0; i < cases.size(); ++i)
        EXPECT_EQ(orders(orders_after(cases[i].members, cases[i].who, cases[i].from)), cases[i].expected)
            << "case " << i;
}

TEST(SyncGroupRules, GroupState) {
    EXPECT_EQ(group_state({}, M), I);
    EXPECT_EQ(group_state(ms({"I", "I"}), B), I);
    EXPECT_EQ(group_state(ms({"M", "M"}), B), M);
    EXPECT_EQ(group_state(ms({"B", "B"}), M), B);
    EXPECT_EQ(group_state(ms({"B", "I"}), I), B);
    EXPECT_EQ(group_state(ms({"F", "M"}), M), F);
    EXPECT_EQ(group_state(ms({"M!", "M"}), M), F);  // faulted, its FAULT not yet entered
    EXPECT_EQ(group_state(ms({"M", "B"}), B), B);   // on the way: the last state stays
    EXPECT_EQ(group_state(ms({"M", "B"}), M), M);
}

// ---- the loader ----

std::string file(const std::string& groups, const std::string& scripts = "") {
    return "ports:\n  - {name: lan0, device: net_af_packet0}\n"
           "services:\n"
           "  - {vip: 10.0.0.100, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"
           "  - {vip: 10.0.0.101, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"
           "  - {vip: 10.0.0.102, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n" +
           scripts +
           "vrrp_instances:\n"
           "  - {name: VI_1, interface: lan0, virtual_router_id: 1, virtual_ipaddresses: [10.0.0.100]}\n"
           "  - {name: VI_2, interface: lan0, virtual_router_id: 2, virtual_ipaddresses: [10.0.0.101]}\n"
           "  - {name: VI_3, interface: lan0, virtual_router_id: 3, virtual_ipaddresses: [10.0.0.102]}\n"
           "vrrp_sync_groups:\n" +
           groups;
}

std::vector<std::string> errors_of(const std::string& text) {
    try {
        config::load_config_string(text, "g.yaml", config::LoadOptions{false});
    } catch (const config::ConfigError& e) {
        return e.errors;
    }
    return {};
}

TEST(SyncGroupConfig, MembersHooksAndScripts) {
    config::Config c = config::load_config_string(
        file("  - name: G\n"
             "    instances: [VI_1, VI_2]\n"
             "    track_scripts: [chk]\n"
             "    notify_master: /bin/true master\n"
             "    notify: /bin/echo\n",
             "vrrp_scripts:\n  - {name: chk, script: /bin/true, weight: -20}\n"),
        "g.yaml", config::LoadOptions{false});
    ASSERT_EQ(c.vrrp_sync_groups.size(), 1u);
    const config::VrrpSyncGroup& g = c.vrrp_sync_groups[0];
    EXPECT_EQ(g.name, "G");
    EXPECT_EQ(g.instances, (std::vector<std::string>{"VI_1", "VI_2"}));
    EXPECT_EQ(g.track_scripts, (std::vector<std::string>{"chk"}));
    EXPECT_EQ(g.notify_master, "/bin/true master");
    EXPECT_EQ(g.notify, "/bin/echo");
    EXPECT_EQ(c.vrrp_instances[0].sync_group, "G");
    EXPECT_EQ(c.vrrp_instances[1].sync_group, "G");
    EXPECT_EQ(c.vrrp_instances[2].sync_group, "");
    // The group's script is every member's, with weight 0 whatever the script's own (FAULT).
    EXPECT_EQ(c.vrrp_instances[0].track_scripts, (std::vector<std::string>{"chk"}));
    EXPECT_EQ(c.vrrp_instances[0].track_script_weights.at("chk"), 0);
    EXPECT_TRUE(c.vrrp_instances[2].track_scripts.empty());
}

TEST(SyncGroupConfig, Errors) {
    EXPECT_EQ(errors_of(file("  - {name: G, instances: [VI_1, VI_9]}\n")),
              std::vector<std::string>{"g.yaml:12:33: vrrp_sync_groups[0].instances[1]: expected the name of a "
                                       "vrrp_instances entry (VI_1, VI_2, VI_3), got \"VI_9\""});
    EXPECT_EQ(errors_of(file("  - {name: G, instances: [VI_1, VI_2]}\n  - {name: H, instances: [VI_3, VI_2]}\n")),
              std::vector<std::string>{"g.yaml:13:33: vrrp_sync_groups[1].instances[1]: instance \"VI_2\" is "
                                       "already in a sync group, at vrrp_sync_groups[0].instances[1]"});
    EXPECT_EQ(errors_of(file("  - {name: G, instances: [VI_1]}\n")),
              std::vector<std::string>{"g.yaml:12:26: vrrp_sync_groups[0].instances: expected at least two "
                                       "instances (a group of one syncs nothing)"});
    EXPECT_EQ(errors_of(file("  - {name: G, instances: [VI_1, VI_2]}\n  - {name: G, instances: [VI_3, VI_3]}\n")),
              (std::vector<std::string>{
                  "g.yaml:13:12: vrrp_sync_groups[1].name: duplicate sync group name \"G\", first at "
                  "vrrp_sync_groups[0]",
                  "g.yaml:13:33: vrrp_sync_groups[1].instances[1]: instance \"VI_3\" is already in a sync group, "
                  "at vrrp_sync_groups[1].instances[0]"}));
    EXPECT_EQ(errors_of(file("  - {name: G, instances: [VI_1, VI_2], track_scripts: [nope], colour: red}\n")),
              (std::vector<std::string>{
                  "g.yaml:12:56: vrrp_sync_groups[0].track_scripts[0]: expected the name of a vrrp_scripts "
                  "entry, got \"nope\"",
                  "g.yaml:12:63: vrrp_sync_groups[0].colour: unknown key"}));
    EXPECT_EQ(errors_of(file("  - {instances: [VI_1, VI_2], notify: relative.sh}\n")).size(), 2u);
}

// ---- SyncGroups over Instances on lo ----

config::VrrpInstance owner(const char* name, uint8_t vrid, const char* vip) {
    config::VrrpInstance vi;
    vi.name = name;
    vi.interface = "lo";
    vi.virtual_router_id = vrid;
    vi.priority = 255;  // the address owner: MASTER at start, no peer needed
    vi.version = 3;
    vi.advert_int_cs = 100;
    vi.virtual_ipaddresses = {*IpAddr::parse(vip)};
    vi.track_services = {std::string("svc_") + name};
    vi.sync_group = "G";
    return vi;
}

TEST(SyncGroups, AFaultPullsTheGroupAndItLeavesWhenAllAreClear) {
    boost::asio::io_context io;  // never run: everything below happens in the calls
    std::vector<std::string> log;
    SyncGroups groups([&](const std::string& g, State s) { log.push_back("group " + g + " " + state_name(s)); });
    groups.configure({config::VrrpSyncGroup{"G", {"A", "B"}, {}, "", "", "", "", ""}});
    std::vector<Instance*> ins;
    auto callbacks = [&](size_t i) {
        Instance::Callbacks cb;
        cb.on_state = [&, i](State s, const std::string& why) {
            log.push_back(ins[i]->name() + " " + state_name(s) + " (" + why + ")");
            groups.state_changed(*ins[i]);
        };
        cb.on_own_fault = [&, i](bool) { groups.own_fault_changed(*ins[i]); };
        cb.on_want_master = [&, i](const std::string& d) { groups.want_master(*ins[i], d); };
        return cb;
    };
    ins.resize(2);
    Instance a(io, owner("A", 241, "10.255.1.1"), "lo", callbacks(0));
    Instance b(io, owner("B", 242, "10.255.1.2"), "lo", callbacks(1));
    ins = {&a, &b};
    groups.attach(a);
    groups.attach(b);
    try {
        a.start();
        b.start();
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "cannot run VRRP on lo here: " << e.what();
    }
    if (a.state() == State::fault) GTEST_SKIP() << "lo is down here";
    EXPECT_EQ(log, (std::vector<std::string>{"A MASTER (startup as address owner (priority 255))",
                                             "B MASTER (startup as address owner (priority 255))", "group G MASTER"}));
    log.clear();

    a.set_tracked("svc_A", false);
    EXPECT_EQ(a.state(), State::fault);
    EXPECT_EQ(b.state(), State::fault);
    EXPECT_EQ(log, (std::vector<std::string>{"A FAULT (tracked object down: svc_A down)", "group G FAULT",
                                             "B FAULT (tracked object down: sync group G: A in FAULT)"}));
    EXPECT_EQ(b.counters().tx_priority_zero, 1u) << "B resigns as any MASTER entering FAULT does";
    log.clear();

    // B's own fault while the group is in FAULT: A, clear again, must wait for it.
    b.set_tracked("svc_B", false);
    a.set_tracked("svc_A", true);
    EXPECT_EQ(a.state(), State::fault);
    EXPECT_EQ(b.state(), State::fault);
    EXPECT_TRUE(log.empty()) << log.front();

    b.set_tracked("svc_B", true);
    EXPECT_EQ(a.state(), State::master);
    EXPECT_EQ(b.state(), State::master);
    EXPECT_EQ(log.back(), "group G MASTER");

    // Leaving the group (a reload): its fault no longer holds the other.
    groups.configure({});
    a.set_tracked("svc_A", false);
    EXPECT_EQ(a.state(), State::fault);
    EXPECT_EQ(b.state(), State::master);
    EXPECT_EQ(groups.states().size(), 0u);
    a.stop();
    b.stop();
}

}  // namespace
}  // namespace dplb::vrrp
