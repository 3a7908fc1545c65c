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
    log(LogLevel::info, "dplbd: port %s: exception path %s (%zu address(es))", cfg.name.c_str(), ifname.c_str(),
                cfg.addresses.size());
    return true;
}

}  // namespace dplb
