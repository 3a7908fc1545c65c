// What Instance does without a network: how a configured vrrp_instance maps onto the state
// machine (params_for, families_of), and the errors of construction and start(). The Instance at
// work on real sockets is tested against keepalived by vrrp/tests/test_interop_keepalived.py.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <system_error>

#include <boost/asio/io_context.hpp>

#include "vrrp/instance.h"
#include "vrrp/reload.h"

namespace dplb::vrrp {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

config::VrrpInstance instance(std::vector<IpAddr> vips) {
    config::VrrpInstance vi;
    vi.name = "VI_1";
    vi.interface = "lan0";
    vi.virtual_router_id = 51;
    vi.priority = 150;
    vi.advert_int_cs = 200;
    vi.version = 2;
    vi.preempt = false;
    vi.preempt_delay_s = 7;
    vi.auth = config::VrrpAuth::pass;
    vi.auth_pass = "secret123";  // the loader keeps what the file says; the wire keeps 8
    vi.virtual_ipaddresses = std::move(vips);
    vi.garp_master_delay_s = 3;
    vi.garp_master_repeat = 2;
    return vi;
}

TEST(VrrpInstance, ParamsForIpv4) {
    config::VrrpInstance vi = instance({ip("10.0.0.100"), ip("2001:db8::100"), ip("10.0.0.101")});
    Params p = params_for(vi, 4, ip("10.0.0.2"));
    EXPECT_EQ(p.vrid, 51);
    EXPECT_EQ(p.priority, 150);
    EXPECT_EQ(p.version, 2);
    EXPECT_EQ(p.family, 4);
    EXPECT_EQ(p.advert_int_cs, 200);
    EXPECT_FALSE(p.preempt);
    EXPECT_EQ(p.preempt_delay_ms, 7000);
    EXPECT_EQ(p.auth_type, AuthType::pass);
    EXPECT_EQ(p.auth_data, auth_pass("secret12"));
    EXPECT_EQ(p.primary, ip("10.0.0.2"));
    EXPECT_EQ(p.addresses, (std::vector<IpAddr>{ip("10.0.0.100"), ip("10.0.0.101")}));
    EXPECT_EQ(p.garp_repeat, 2u);
    EXPECT_EQ(p.garp_delay_ms, 3000);
}

TEST(VrrpInstance, ParamsForTakeEachFamilysUnicastPeers) {
    config::VrrpInstance vi = instance({ip("10.0.0.100"), ip("2001:db8::100")});
    EXPECT_TRUE(params_for(vi, 4, ip("10.0.0.2")).unicast_peers.empty());
    vi.unicast_peers = {ip("192.0.2.2"), ip("2001:db8:1::2"), ip("198.51.100.2")};
    EXPECT_EQ(params_for(vi, 4, ip("10.0.0.2")).unicast_peers,
              (std::vector<IpAddr>{ip("192.0.2.2"), ip("198.51.100.2")}));
    EXPECT_EQ(params_for(vi, 6, ip("fe80::2")).unicast_peers, (std::vector<IpAddr>{ip("2001:db8:1::2")}));
}

TEST(VrrpInstance, StartRefusesAUnicastSourceTheInterfaceLacks) {
    boost::asio::io_context io;
    config::VrrpInstance vi = instance({ip("10.0.0.100")});
    vi.unicast_peers = {ip("192.0.2.2")};
    vi.unicast_src_ip = ip("192.0.2.99");
    Instance in(io, vi, "lo", Instance::Callbacks{});
    try {
        in.start();
        FAIL() << "start() with a unicast_src_ip that lo does not hold must throw";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("VI_1: unicast_src_ip 192.0.2.99 is not an address of lo"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(in.state(), State::init);
}

TEST(VrrpInstance, Ipv6IsAlwaysVrrpv3WithoutAuthentication) {
    config::VrrpInstance vi = instance({ip("10.0.0.100"), ip("2001:db8::100")});
    Params p = params_for(vi, 6, ip("fe80::2"));
    EXPECT_EQ(p.version, 3);
    EXPECT_EQ(p.family, 6);
    EXPECT_EQ(p.auth_type, AuthType::none);
    EXPECT_EQ(p.auth_data, AuthData{});
    EXPECT_EQ(p.addresses, (std::vector<IpAddr>{ip("2001:db8::100")}));
}

TEST(VrrpInstance, FamiliesOf) {
    EXPECT_EQ(families_of(instance({ip("10.0.0.100")})), (std::vector<uint8_t>{4}));
    EXPECT_EQ(families_of(instance({ip("2001:db8::1")})), (std::vector<uint8_t>{6}));
    EXPECT_EQ(families_of(instance({ip("2001:db8::1"), ip("10.0.0.1")})), (std::vector<uint8_t>{4, 6}));
}

TEST(VrrpInstance, ConstructionChecksTheFamily) {
    boost::asio::io_context io;
    EXPECT_THROW(Instance(io, instance({ip("10.0.0.100"), ip("2001:db8::100")}), "lo", {}), std::invalid_argument);
    EXPECT_THROW(Instance(io, instance({ip("10.0.0.100")}), "lo", {}, 6), std::invalid_argument);
    EXPECT_THROW(Instance(io, instance({ip("10.0.0.100")}), "lo", {}, 5), std::invalid_argument);
    Instance both4(io, instance({ip("10.0.0.100"), ip("2001:db8::100")}), "lo", {}, 4);
    EXPECT_EQ(both4.vips(), (std::vector<IpAddr>{ip("10.0.0.100")}));
    EXPECT_EQ(both4.family(), 4);
    EXPECT_EQ(both4.name(), "VI_1");
    EXPECT_EQ(both4.kernel_ifname(), "lo");
    EXPECT_EQ(both4.state(), State::init);
    EXPECT_EQ(both4.priority(), 150);
}

TEST(VrrpInstance, StartFailsLoudlyWithoutTheInterface) {
    boost::asio::io_context io;
    int calls = 0;
    Instance::Callbacks cb;
    cb.on_state = [&](State, const std::string&) { ++calls; };
    Instance in(io, instance({ip("10.0.0.100")}), "no-such-if0", cb);
    try {
        in.start();
        FAIL() << "start() on a missing interface must throw";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("VI_1: no interface no-such-if0"), std::string::npos) << e.what();
    }
    EXPECT_EQ(in.state(), State::init);
    in.stop();  // harmless when never started
    EXPECT_EQ(calls, 0);
}

TEST(VrrpInstance, TrackingBeforeStartIsRemembered) {
    boost::asio::io_context io;
    config::VrrpInstance vi = instance({ip("10.0.0.100")});
    vi.track_services = {"web"};
    Instance in(io, vi, "lo", {});
    EXPECT_TRUE(in.set_tracked("web", false));
    EXPECT_TRUE(in.set_tracked("lan0", true));  // its own port is tracked too
    EXPECT_FALSE(in.set_tracked("db", false));
    in.track("db", -50);
    EXPECT_TRUE(in.set_tracked("db", false));
    EXPECT_EQ(in.state(), State::init);  // nothing happens before start()
}

// ---- Reloads: what diff_routers() makes of old and new vrrp_instances (vrrp/reload.h) ----

config::VrrpInstance named(const char* name, uint8_t vrid, std::vector<IpAddr> vips) {
    config::VrrpInstance vi = instance(std::move(vips));
    vi.name = name;
    vi.virtual_router_id = vrid;
    return vi;
}

std::vector<std::string> diff_text(const std::vector<config::VrrpInstance>& before,
                                   const std::vector<config::VrrpInstance>& after) {
    std::vector<std::string> out;
    for (const RouterChange& c : diff_routers(before, after)) out.push_back(describe(c));
    return out;
}

using Edit = std::function<void(config::VrrpInstance&)>;

struct ReloadCase {
    const char* name;
    Edit edit;  // applied to VI_1 (IPv4 only) of the new list; VI_2 is the same in both
    std::vector<std::string> expected;
};

std::vector<ReloadCase> reload_cases() {
    auto keep = std::vector<std::string>{"VI_1: keep", "VI_2: keep"};
    auto one = [](const char* vi1) { return std::vector<std::string>{vi1, "VI_2: keep"}; };
    return {
        {"nothing", [](config::VrrpInstance&) {}, keep},
        // Read only at start: a running router ignores it (keepalived too).
        {"initial_state", [](config::VrrpInstance& v) { v.state = config::VrrpState::master; }, keep},
        // In place.
        {"priority", [](config::VrrpInstance& v) { v.priority = 50; }, one("VI_1: reconfigure (priority)")},
        {"preempt_and_delay", [](config::VrrpInstance& v) {
             v.preempt = true;
             v.preempt_delay_s = 30;
         },
         one("VI_1: reconfigure (preempt, preempt_delay)")},
        {"garp", [](config::VrrpInstance& v) {
             v.garp_master_delay_s = 0;
             v.garp_master_repeat = 9;
         },
         one("VI_1: reconfigure (garp_master_delay, garp_master_repeat)")},
        {"track_interface_added", [](config::VrrpInstance& v) { v.track_interfaces = {"lan1"}; },
         one("VI_1: reconfigure (track_interfaces)")},
        {"track_service_added_with_weight", [](config::VrrpInstance& v) {
             v.track_services.push_back("app");
             v.track_weights["app"] = -20;
         },
         one("VI_1: reconfigure (track_services)")},
        {"track_weight_only", [](config::VrrpInstance& v) { v.track_weights["db"] = -50; },
         one("VI_1: reconfigure (track_weights)")},
        {"track_weight_of_its_own_port", [](config::VrrpInstance& v) { v.track_weights["lan0"] = -10; },
         one("VI_1: reconfigure (track_weights)")},
        {"weight_of_an_untracked_name", [](config::VrrpInstance& v) { v.track_weights["nothing"] = 5; }, keep},
        {"track_lists_reordered", [](config::VrrpInstance& v) { v.track_services = {"db", "web"}; }, keep},
        {"track_service_removed", [](config::VrrpInstance& v) {
             v.track_services = {"web"};
             v.track_weights.erase("db");
         },
         one("VI_1: reconfigure (track_services)")},
        // Identity: restart VI_1 only; the in-place changes that come with it are not listed.
        {"advert_int", [](config::VrrpInstance& v) { v.advert_int_cs = 100; }, one("VI_1: restart (advert_int)")},
        {"advert_int_and_priority", [](config::VrrpInstance& v) {
             v.advert_int_cs = 100;
             v.priority = 50;
         },
         one("VI_1: restart (advert_int)")},
        {"virtual_router_id", [](config::VrrpInstance& v) { v.virtual_router_id = 61; },
         one("VI_1: restart (virtual_router_id)")},
        {"interface", [](config::VrrpInstance& v) {
             v.interface = "lan1";
             v.port_index = 1;
         },
         one("VI_1: restart (interface)")},
        {"password", [](config::VrrpInstance& v) { v.auth_pass = "other"; }, one("VI_1: restart (authentication)")},
        {"password_past_eight_characters", [](config::VrrpInstance& v) { v.auth_pass = "secret12-and-more"; },
         keep},  // "secret123" and this send the same 8 bytes
        {"authentication_off", [](config::VrrpInstance& v) { v.auth = config::VrrpAuth::none; },
         one("VI_1: restart (authentication)")},
        {"version", [](config::VrrpInstance& v) {
             v.version = 3;
             v.auth = config::VrrpAuth::none;
         },
         one("VI_1: restart (version, authentication)")},
        {"vip_added", [](config::VrrpInstance& v) { v.virtual_ipaddresses.push_back(ip("10.0.0.102")); },
         one("VI_1: restart (virtual_ipaddresses)")},
        {"vips_reordered", [](config::VrrpInstance& v) {
             std::swap(v.virtual_ipaddresses[0], v.virtual_ipaddresses[1]);
         },
         one("VI_1: restart (virtual_ipaddresses)")},
        // The family set: new labels, so the old router goes and the new ones come.
        {"ipv6_added", [](config::VrrpInstance& v) { v.virtual_ipaddresses.push_back(ip("2001:db8::100")); },
         {"VI_1: remove", "VI_1/v4: add", "VI_1/v6: add", "VI_2: keep"}},
        {"ipv4_swapped_for_ipv6", [](config::VrrpInstance& v) { v.virtual_ipaddresses = {ip("2001:db8::100")}; },
         one("VI_1: restart (virtual_ipaddresses)")},
        // Unicast: peers, source and TTL are the socket's and the filter's: a new router.
        {"unicast_peers_added", [](config::VrrpInstance& v) { v.unicast_peers = {ip("192.0.2.2")}; },
         one("VI_1: restart (unicast_peers)")},
        {"unicast_src_and_ttl_with_peers", [](config::VrrpInstance& v) {
             v.unicast_peers = {ip("192.0.2.2")};
             v.unicast_src_ip = ip("192.0.2.1");
             v.unicast_ttl = 64;
         },
         one("VI_1: restart (unicast_peers, unicast_src_ip, unicast_ttl)")},
        // Without peers the router is multicast whatever these say (the loader refuses them anyway).
        {"unicast_ttl_without_peers", [](config::VrrpInstance& v) { v.unicast_ttl = 64; }, keep},
        {"unicast_peer_of_no_family_in_use", [](config::VrrpInstance& v) { v.unicast_peers = {ip("2001:db8::2")}; },
         keep},
        // vrrp_sync_groups: joining, leaving or changing a group is taken in place.
        {"joined_a_sync_group", [](config::VrrpInstance& v) { v.sync_group = "G"; },
         one("VI_1: reconfigure (sync_group)")},
        {"renamed", [](config::VrrpInstance& v) { v.name = "VI_9"; },
         {"VI_1: remove", "VI_9: add", "VI_2: keep"}},
    };
}

class Reload : public ::testing::TestWithParam<ReloadCase> {};

TEST_P(Reload, OneInstanceEdited) {
    config::VrrpInstance vi1 = named("VI_1", 51, {ip("10.0.0.100"), ip("10.0.0.101")});
    vi1.track_services = {"web", "db"};
    vi1.track_weights = {{"db", -30}};
    config::VrrpInstance vi2 = named("VI_2", 52, {ip("10.0.0.110")});
    config::VrrpInstance edited = vi1;
    GetParam().edit(edited);
    EXPECT_EQ(diff_text({vi1, vi2}, {edited, vi2}), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(VrrpReload, Reload, ::testing::ValuesIn(reload_cases()),
                         [](const ::testing::TestParamInfo<ReloadCase>& info) { return std::string(info.param.name); });

// Both families: each router is compared on what it sends.
TEST(VrrpReload, DualStackRoutersChangeApart) {
    config::VrrpInstance both = named("VI_1", 51, {ip("10.0.0.100"), ip("2001:db8::100")});
    both.auth = config::VrrpAuth::none;
    config::VrrpInstance v6_vip = both;
    v6_vip.virtual_ipaddresses[1] = ip("2001:db8::101");
    EXPECT_EQ(diff_text({both}, {v6_vip}),
              (std::vector<std::string>{"VI_1/v4: keep", "VI_1/v6: restart (virtual_ipaddresses)"}));
    // IPv6 is always VRRPv3: the version is IPv4's alone.
    config::VrrpInstance v3 = both;
    v3.version = 3;
    EXPECT_EQ(diff_text({both}, {v3}), (std::vector<std::string>{"VI_1/v4: restart (version)", "VI_1/v6: keep"}));
    // So is authentication (VRRPv2 only).
    config::VrrpInstance v2pass = both;
    v2pass.auth = config::VrrpAuth::pass;
    v2pass.auth_pass = "secret";
    EXPECT_EQ(diff_text({both}, {v2pass}),
              (std::vector<std::string>{"VI_1/v4: restart (authentication)", "VI_1/v6: keep"}));
    config::VrrpInstance slower = both;
    slower.advert_int_cs = 300;
    EXPECT_EQ(diff_text({both}, {slower}),
              (std::vector<std::string>{"VI_1/v4: restart (advert_int)", "VI_1/v6: restart (advert_int)"}));
    config::VrrpInstance prio = both;
    prio.priority = 10;
    EXPECT_EQ(diff_text({both}, {prio}),
              (std::vector<std::string>{"VI_1/v4: reconfigure (priority)", "VI_1/v6: reconfigure (priority)"}));
    // Unicast peers and the source address belong to their family's router.
    config::VrrpInstance uni = both;
    uni.unicast_peers = {ip("192.0.2.2"), ip("2001:db8:1::2")};
    config::VrrpInstance other_v6_peer = uni;
    other_v6_peer.unicast_peers[1] = ip("2001:db8:1::3");
    EXPECT_EQ(diff_text({uni}, {other_v6_peer}),
              (std::vector<std::string>{"VI_1/v4: keep", "VI_1/v6: restart (unicast_peers)"}));
    config::VrrpInstance v4_src = uni;
    v4_src.unicast_src_ip = ip("192.0.2.1");
    EXPECT_EQ(diff_text({uni}, {v4_src}),
              (std::vector<std::string>{"VI_1/v4: restart (unicast_src_ip)", "VI_1/v6: keep"}));
    config::VrrpInstance v4_only = both;
    v4_only.virtual_ipaddresses = {ip("10.0.0.100")};
    EXPECT_EQ(diff_text({both}, {v4_only}),
              (std::vector<std::string>{"VI_1/v4: remove", "VI_1/v6: remove", "VI_1: add"}));
}

// Removals come first (the order to let go in), then the new list in its order; the indices and
// families say where each router is.
TEST(VrrpReload, AddRemoveAndOrder) {
    config::VrrpInstance a = named("A", 1, {ip("10.0.0.1")});
    config::VrrpInstance b = named("B", 2, {ip("10.0.0.2"), ip("2001:db8::2")});
    config::VrrpInstance c = named("C", 3, {ip("2001:db8::3")});
    config::VrrpInstance a2 = a;
    a2.priority = 200;
    auto changes = diff_routers({a, b}, {c, a2});
    ASSERT_EQ(changes.size(), 4u);
    EXPECT_EQ(describe(changes[0]), "B/v4: remove");
    EXPECT_EQ(changes[0].family, 4);
    EXPECT_EQ(changes[0].old_index, std::optional<size_t>(1));
    EXPECT_EQ(changes[0].new_index, std::nullopt);
    EXPECT_EQ(describe(changes[1]), "B/v6: remove");
    EXPECT_EQ(changes[1].family, 6);
    EXPECT_EQ(describe(changes[2]), "C: add");
    EXPECT_EQ(changes[2].family, 6);
    EXPECT_EQ(changes[2].old_index, std::nullopt);
    EXPECT_EQ(changes[2].new_index, std::optional<size_t>(0));
    EXPECT_EQ(describe(changes[3]), "A: reconfigure (priority)");
    EXPECT_EQ(changes[3].old_index, std::optional<size_t>(0));
    EXPECT_EQ(changes[3].new_index, std::optional<size_t>(1));
    EXPECT_EQ(changes[3].change, Change::reconfigure);

    EXPECT_EQ(diff_text({}, {a, b}), (std::vector<std::string>{"A: add", "B/v4: add", "B/v6: add"}));
    EXPECT_EQ(diff_text({a, b}, {}), (std::vector<std::string>{"A: remove", "B/v4: remove", "B/v6: remove"}));
    EXPECT_EQ(diff_text({}, {}), std::vector<std::string>{});
}

// The measured defect: 60 reloads that change only VI_2 must leave VI_1 alone every time.
TEST(VrrpReload, ChangingOneInstanceNeverTouchesAnother) {
    config::VrrpInstance vi1 = named("VI_1", 51, {ip("10.0.0.100")});
    config::VrrpInstance vi2 = named("VI_2", 52, {ip("10.0.0.110")});
    std::vector<config::VrrpInstance> running = {vi1, vi2};
    for (int i = 0; i < 60; ++i) {
        std::vector<config::VrrpInstance> next = running;
        next[1].priority = static_cast<uint8_t>(100 + i % 2 * 50);  // 150 before the first
        next[1].track_weights["web"] = i;  // untracked: no effect
        auto changes = diff_routers(running, next);
        ASSERT_EQ(changes.size(), 2u);
        EXPECT_EQ(changes[0].label, "VI_1");
        EXPECT_EQ(changes[0].change, Change::keep) << "reload " << i;
        EXPECT_EQ(describe(changes[1]), "VI_2: reconfigure (priority)") << "reload " << i;
        running = next;
    }
}

TEST(VrrpReload, TrackedOfListsEachNameOnceInInstanceOrder) {
    config::VrrpInstance vi = instance({ip("10.0.0.100")});
    vi.track_interfaces = {"lan1", "lan0"};
    vi.track_services = {"web", "db"};
    vi.track_weights = {{"db", -30}, {"lan1", 10}, {"unused", 7}};
    EXPECT_EQ(tracked_of(vi), (std::vector<std::pair<std::string, int>>{
                                  {"lan0", 0}, {"lan1", 10}, {"web", 0}, {"db", -30}}));
}

TEST(VrrpReload, TrackScriptsAreTrackedApartAndReconfigureInPlace) {
    config::VrrpInstance vi = instance({ip("10.0.0.100")});
    vi.track_services = {"web"};
    vi.track_scripts = {"web", "chk"};  // a script may share a service's name
    vi.track_script_weights = {{"web", -20}, {"chk", 0}};
    EXPECT_EQ(tracked_of(vi), (std::vector<std::pair<std::string, int>>{
                                  {"lan0", 0}, {"web", 0}, {"script web", -20}, {"script chk", 0}}));
    config::VrrpInstance next = vi;
    next.track_scripts = {"chk"};
    EXPECT_EQ(reconfigure_fields(vi, next), std::vector<std::string>{"track_scripts"});
    next = vi;
    next.track_script_weights["web"] = -30;
    EXPECT_EQ(reconfigure_fields(vi, next), std::vector<std::string>{"track_weights"});
    next = vi;
    next.notify_master = "/bin/true";  // read when a change comes: nothing to do now
    EXPECT_TRUE(reconfigure_fields(vi, next).empty());
    EXPECT_TRUE(restart_fields(vi, next, 4).empty());
}

// ---- Instance::reconfigure ----

TEST(VrrpInstance, ReconfigureBeforeStartReplacesTrackingAndPriority) {
    boost::asio::io_context io;
    int calls = 0;
    Instance::Callbacks cb;
    cb.on_state = [&](State, const std::string&) { ++calls; };
    config::VrrpInstance vi = instance({ip("10.0.0.100")});
    vi.track_services = {"web", "db"};
    vi.track_weights = {{"db", -30}};
    Instance in(io, vi, "lo", cb);
    EXPECT_TRUE(in.set_tracked("db", false));
    EXPECT_EQ(in.priority(), 120);  // 150 - 30
    in.track("extra", 0);           // not from the configuration: a reload leaves it

    config::VrrpInstance next = vi;
    next.priority = 200;
    next.track_services = {"db", "app"};  // web dropped, app new
    next.track_weights = {{"db", -50}, {"app", 20}};
    in.reconfigure(next);
    EXPECT_FALSE(in.set_tracked("web", true)) << "a dropped object must be gone";
    EXPECT_TRUE(in.set_tracked("extra", true));
    // db keeps its state (down) with its new weight; app starts up and adds its weight.
    EXPECT_EQ(in.priority(), 200 - 50 + 20);
    EXPECT_TRUE(in.set_tracked("app", false));
    EXPECT_EQ(in.priority(), 150);
    EXPECT_EQ(in.state(), State::init);
    EXPECT_EQ(calls, 0);
}

TEST(VrrpInstance, ReconfigureRefusesWhatNeedsARestart) {
    boost::asio::io_context io;
    config::VrrpInstance vi = instance({ip("10.0.0.100"), ip("2001:db8::100")});
    Instance v4(io, vi, "lo", {}, 4);
    Instance v6(io, vi, "lo", {}, 6);
    config::VrrpInstance next = vi;
    next.advert_int_cs = 100;
    next.virtual_router_id = 52;
    try {
        v4.reconfigure(next);
        FAIL() << "advert_int and virtual_router_id need a restart";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("virtual_router_id, advert_int changed"), std::string::npos) << e.what();
    }
    EXPECT_EQ(v4.priority(), 150);
    next = vi;
    next.name = "VI_2";
    EXPECT_THROW(v4.reconfigure(next), std::invalid_argument);
    next = vi;
    next.virtual_ipaddresses[0] = ip("10.0.0.101");
    EXPECT_THROW(v4.reconfigure(next), std::invalid_argument);
    // The same change is nothing to the IPv6 router; nor is the IPv4 version.
    next.version = 3;
    next.auth = config::VrrpAuth::none;
    next.priority = 90;
    v6.reconfigure(next);
    EXPECT_EQ(v6.priority(), 90);
}

// A started router on the loopback interface (needs CAP_NET_RAW; skipped without it). The owner
// (priority 255) is MASTER at once; reloads then change it in place with no state change, no
// advert and no priority 0, until tracking says otherwise.
TEST(VrrpInstance, ReconfigureWhileRunningKeepsTheState) {
    boost::asio::io_context io;  // never run: nothing happens but what the calls below do
    std::vector<std::string> states;
    Instance::Callbacks cb;
    cb.on_state = [&](State s, const std::string& why) { states.push_back(std::string(state_name(s)) + ": " + why); };
    config::VrrpInstance vi = instance({ip("10.255.0.1")});
    vi.virtual_router_id = 251;
    vi.priority = 255;
    vi.preempt = true;
    vi.preempt_delay_s = 0;
    vi.interface = "lo";
    vi.track_services = {"web"};
    Instance in(io, vi, "lo", cb);
    try {
        in.start();
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "cannot run VRRP on lo here: " << e.what();
    }
    if (in.state() == State::fault) GTEST_SKIP() << "lo is down here";
    ASSERT_EQ(states, (std::vector<std::string>{"MASTER: startup as address owner (priority 255)"}));
    Counters before = in.counters();
    EXPECT_EQ(before.tx_adverts, 1u);

    config::VrrpInstance lower = vi;
    lower.priority = 100;
    lower.garp_master_delay_s = 0;
    lower.track_weights = {{"lo", -10}};
    in.reconfigure(lower);
    EXPECT_EQ(in.state(), State::master);
    EXPECT_EQ(in.priority(), 100);
    EXPECT_EQ(states.size(), 1u) << states.back();
    Counters after = in.counters();
    EXPECT_EQ(after.tx_adverts, before.tx_adverts) << "nothing is sent at once";
    EXPECT_EQ(after.tx_priority_zero, 0u);
    EXPECT_EQ(after.became_master, 1u);

    // A weight-0 object down: FAULT, resigning (this is what a reload must never cause by itself).
    EXPECT_TRUE(in.set_tracked("web", false));
    EXPECT_EQ(in.state(), State::fault);
    EXPECT_EQ(in.counters().tx_priority_zero, 1u);
    // The reload that drops it clears the fault: BACKUP (no longer the owner, so no MASTER at once).
    config::VrrpInstance untracked = lower;
    untracked.track_services.clear();
    in.reconfigure(untracked);
    EXPECT_EQ(in.state(), State::backup);
    EXPECT_FALSE(in.set_tracked("web", true));
    EXPECT_EQ(states.back(), "BACKUP: fault cleared");
    ASSERT_EQ(states.size(), 3u);

    config::VrrpInstance other = untracked;
    other.virtual_router_id = 252;
    EXPECT_THROW(in.reconfigure(other), std::invalid_argument);
    EXPECT_EQ(in.state(), State::backup);
    in.stop();
    EXPECT_EQ(in.state(), State::init);
}

}  // namespace
}  // namespace dplb::vrrp
