// dplb-vrrpd: the VRRP engine of dplb alone, for interop tests against keepalived without a data
// plane. Reads a dplb YAML file, runs every vrrp_instance (one Instance per address family) on the
// kernel interface of its port and prints one line per state change on stdout:
//
//     <ms since start> <instance>[/v6] <STATE> <reason>
//     <ms since start> group <sync group> <STATE>
//
// (an instance with IPv4 and IPv6 addresses runs two routers, the IPv6 one named <instance>/v6)
// SIGTERM / SIGINT: stop (a MASTER sends priority 0), print the counters, exit 0.
// SIGUSR1: print the counters.  SIGUSR2: toggle an external fault on every instance (set_fault).
//
//     dplb-vrrpd --config lb.yaml [--ifname PORT=KERNEL_IFNAME]...
//
// A port's kernel interface is given by the --ifname mapping, else it is the port's name (a device
// holds no arguments: the loader refuses `,` in it).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "config.h"
#include "vrrp/instance.h"
#include "vrrp/sync_group.h"

namespace {

using dplb::vrrp::Counters;
using dplb::vrrp::Instance;
using dplb::vrrp::State;

void usage() {
    std::fprintf(stderr, "usage: dplb-vrrpd --config FILE [--ifname PORT=KERNEL_IFNAME]...\n");
}

std::string kernel_ifname(const dplb::config::Port& port, const std::map<std::string, std::string>& map) {
    if (auto it = map.find(port.name); it != map.end()) return it->second;
    return port.name;
}

void print_counters(const std::string& label, const Instance& in) {
    Counters c = in.counters();
    std::printf("counters %s state=%s rx=%llu accepted=%llu tx=%llu tx_prio0=%llu rx_prio0=%llu "
                "bad_checksum=%llu bad_version=%llu bad_ttl=%llu auth_fail=%llu vrid_mismatch=%llu "
                "interval_mismatch=%llu address_mismatch=%llu truncated=%llu became_master=%llu "
                "announcements=%llu send_errors=%llu not_peer=%llu bad_destination=%llu\n",
                label.c_str(), dplb::vrrp::state_name(in.state()),
                static_cast<unsigned long long>(c.rx_adverts), static_cast<unsigned long long>(c.rx_accepted),
                static_cast<unsigned long long>(c.tx_adverts), static_cast<unsigned long long>(c.tx_priority_zero),
                static_cast<unsigned long long>(c.rx_priority_zero), static_cast<unsigned long long>(c.bad_checksum),
                static_cast<unsigned long long>(c.bad_version), static_cast<unsigned long long>(c.bad_ttl),
                static_cast<unsigned long long>(c.auth_fail), static_cast<unsigned long long>(c.vrid_mismatch),
                static_cast<unsigned long long>(c.interval_mismatch),
                static_cast<unsigned long long>(c.address_mismatch), static_cast<unsigned long long>(c.truncated),
                static_cast<unsigned long long>(c.became_master),
                static_cast<unsigned long long>(c.announcements_sent),
                static_cast<unsigned long long>(c.send_errors), static_cast<unsigned long long>(c.not_peer),
                static_cast<unsigned long long>(c.bad_destination));
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    std::map<std::string, std::string> ifmap;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a == "--ifname" && i + 1 < argc) {
            std::string m = argv[++i];
            auto eq = m.find('=');
            if (eq == std::string::npos) {
                usage();
                return 2;
            }
            ifmap[m.substr(0, eq)] = m.substr(eq + 1);
        } else {
            usage();
            return 2;
        }
    }
    if (config_path.empty()) {
        usage();
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);

    dplb::config::Config cfg;
    try {
        cfg = dplb::config::load_config_file(config_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    if (cfg.vrrp_instances.empty()) {
        std::fprintf(stderr, "%s: no vrrp_instances\n", config_path.c_str());
        return 1;
    }

    boost::asio::io_context io;
    const auto t0 = std::chrono::steady_clock::now();
    auto stamp = [t0] {
        return static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    };
    dplb::vrrp::SyncGroups groups([stamp](const std::string& name, State s) {
        std::printf("%lld group %s %s\n", stamp(), name.c_str(), dplb::vrrp::state_name(s));
    });
    groups.configure(cfg.vrrp_sync_groups);
    // After the groups: an Instance calls them until it is destroyed.
    std::vector<std::unique_ptr<Instance>> instances;
    std::vector<std::string> labels;
    try {
        for (const auto& vi : cfg.vrrp_instances) {
            std::string ifname = kernel_ifname(cfg.ports.at(vi.port_index), ifmap);
            auto families = dplb::vrrp::families_of(vi);
            for (uint8_t family : families) {
                // An instance with both families runs two routers: the IPv6 one is NAME/v6.
                std::string name = vi.name + (family == 6 && families.size() > 1 ? "/v6" : "");
                Instance::Callbacks cb;
                size_t index = instances.size();
                cb.on_state = [name, stamp, index, &instances, &groups](State s, const std::string& reason) {
                    std::printf("%lld %s %s %s\n", stamp(), name.c_str(), dplb::vrrp::state_name(s), reason.c_str());
                    groups.state_changed(*instances[index]);
                };
                cb.on_log = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
                cb.on_own_fault = [index, &instances, &groups](bool) { groups.own_fault_changed(*instances[index]); };
                cb.on_want_master = [index, &instances, &groups](const std::string& detail) {
                    groups.want_master(*instances[index], detail);
                };
                instances.push_back(std::make_unique<Instance>(io, vi, ifname, cb, family));
                labels.push_back(name);
                groups.attach(*instances.back());
            }
        }
        for (auto& in : instances) in->start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dplb-vrrpd: %s\n", e.what());
        return 1;
    }
    std::printf("ready %zu instance(s)\n", instances.size());

    bool fault = false;
    boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    boost::asio::signal_set user_signals(io, SIGUSR1, SIGUSR2);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        for (auto& in : instances) in->stop();
        for (size_t i = 0; i < instances.size(); ++i) print_counters(labels[i], *instances[i]);
        user_signals.cancel();
        io.stop();
    });
    std::function<void(const boost::system::error_code&, int)> on_user = [&](const boost::system::error_code& ec,
                                                                             int sig) {
        if (ec) return;
        if (sig == SIGUSR1) {
            for (size_t i = 0; i < instances.size(); ++i) print_counters(labels[i], *instances[i]);
        } else {
            fault = !fault;
            for (auto& in : instances) in->set_fault(fault, "SIGUSR2");
        }
        user_signals.async_wait(on_user);
    };
    user_signals.async_wait(on_user);
    io.run();
    return 0;
}
