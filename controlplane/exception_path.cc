#include "exception_path.h"
#include "log.h"

#include <rte_bus_vdev.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace dplb {
namespace {

// Runs `ip ARGS...` (iproute2) and waits; false when it fails.
bool run_ip(const std::vector<std::string>& args, std::string& err) {
    std::vector<char*> argv;
    std::string ip = "ip";
    argv.push_back(ip.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        execvp("ip", argv.data());
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return true;
    err = "ip";
    for (const auto& a : args) err += " " + a;
    err += " failed";
    return false;
}

}  // namespace

std::string exception_ifname(const std::string& port_name) { return ("dplb-" + port_name).substr(0, 15); }

std::string exception_vlan_ifname(const std::string& port_name, uint16_t id) {
    const std::string suffix = "." + std::to_string(id);
    return exception_ifname(port_name).substr(0, 15 - suffix.size()) + suffix;
}

std::vector<std::vector<std::string>> exception_vlan_commands(const config::Port& cfg) {
    std::vector<std::vector<std::string>> out;
    const std::string tap = exception_ifname(cfg.name);
    for (const config::PortVlan& v : cfg.vlans) {
        const std::string ifname = exception_vlan_ifname(cfg.name, v.id);
        out.push_back({"link", "add", "link", tap, "name", ifname, "type", "vlan", "id", std::to_string(v.id)});
        for (const auto& a : v.addresses)
            out.push_back({"addr", "replace", a.ip.str() + "/" + std::to_string(a.prefix_len), "dev", ifname});
        out.push_back({"link", "set", ifname, "up"});
    }
    return out;
}

bool exception_start(const config::Port& cfg, const PortInfo& port, const std::vector<rte_mempool*>& pools,
                     PortInfo& tap, std::string& err) {
    std::string ifname = exception_ifname(cfg.name);
    tap.name = cfg.name + "-kernel";
    tap.device = "net_tap_" + cfg.name;
    // The TAP carries the port's MAC, so the kernel's replies leave with the address peers know.
    std::string args = "iface=" + ifname + ",mac=" + port.mac.str();
    if (rte_vdev_init(tap.device.c_str(), args.c_str()) != 0) {
        err = "port " + cfg.name + ": cannot create the exception path TAP " + ifname + " (" + tap.device + ")";
        return false;
    }
    PortOptions opt;
    opt.nb_rx_desc = opt.nb_tx_desc = 512;
    if (!port_start(tap, pools, opt, err)) return false;
    for (const auto& a : cfg.addresses)
        if (!run_ip({"addr", "replace", a.ip.str() + "/" + std::to_string(a.prefix_len), "dev", ifname}, err))
            return false;
    if (!run_ip({"link", "set", ifname, "up"}, err)) return false;
    for (const auto& cmd : exception_vlan_commands(cfg))
        if (!run_ip(cmd, err)) {
            err = "port " + cfg.name + ": " + err + " (a VLAN interface needs the kernel's 802.1Q support, 8021q)";
            return false;
        }
    log(LogLevel::info, "dplbd: port %s: exception path %s (%zu address(es), %zu VLAN interface(s))", cfg.name.c_str(),
        ifname.c_str(), cfg.addresses.size(), cfg.vlans.size());
    return true;
}

}  // namespace dplb
