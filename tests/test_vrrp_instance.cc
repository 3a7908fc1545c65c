// What Instance does without a network: how a configured vrrp_instance maps onto the state
// machine (params_for, families_of), and the errors of construction and start(). The Instance at
// work on real sockets is tested against keepalived by vrrp/tests/test_interop_keepalived.py.
#include <gtest/gtest.h>

#include <stdexcept>
#include <system_error>

#include <boost/asio/io_context.hpp>

#include "vrrp/instance.h"

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

}  // namespace
}  // namespace dplb::vrrp
