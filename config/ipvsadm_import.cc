#include "ipvsadm_import.h"

#include <string>
#include <vector>

#include "ipvsadm/command.h"
#include "ipvsadm/table.h"

namespace dplb::config {
namespace {

using ipvsadm::Table;

std::string emit(const Table& t, const std::string& name) {
    std::string y = "# Converted from " + name + " by dplb's ipvsadm import. Read its warnings before use.\n";
    y += "ports:\n  - name: lan0\n    device: net_af_packet0\n";
    y += "services:\n";
    auto num = [](uint32_t v) { return std::to_string(v); };
    for (const Service& s : t.services) {
        y += "  - vip: " + s.vip.str() + "\n";
        y += "    port: " + num(s.port) + "\n";
        y += std::string("    protocol: ") + (s.proto == kProtoUdp ? "udp" : "tcp") + "\n";
        y += std::string("    scheduler: ") + sched_name(s.sched) + "\n";
        if (s.persistence_timeout_s) y += "    persistence_timeout: " + num(s.persistence_timeout_s) + "\n";
        if (s.persistence_prefix_len) y += "    persistence_granularity: " + num(s.persistence_prefix_len) + "\n";
        if (s.ops) y += "    ops: true\n";
        if (s.sched_flags) {
            std::string f = ipvsadm::sched_flag_names(s);
            for (size_t i = 0; (i = f.find(',', i)) != std::string::npos; i += 2) f.replace(i, 1, ", ");
            y += "    scheduler_flags: [" + f + "]\n";
        }
        std::vector<std::pair<std::string, uint32_t>> to;
        if (s.proto == kProtoTcp && t.tcp_s) to.push_back({"established", t.tcp_s});
        if (s.proto == kProtoTcp && t.tcpfin_s) to.push_back({"fin_wait", t.tcpfin_s});
        if (s.proto == kProtoUdp && t.udp_s) to.push_back({"udp", t.udp_s});
        if (!to.empty()) {
            y += "    timeouts:\n";
            for (const auto& [k, v] : to) y += "      " + k + ": " + num(v) + "\n";
        }
        y += "    real_servers:\n";
        for (const RealServer& r : s.reals) {
            y += "      - ip: " + r.ip.str() + "\n";
            if (r.port != s.port) y += "        port: " + num(r.port) + "\n";
            y += "        weight: " + num(r.weight) + "\n";
            if (r.u_threshold) y += "        u_threshold: " + num(r.u_threshold) + "\n";
            if (r.l_threshold) y += "        l_threshold: " + num(r.l_threshold) + "\n";
        }
    }
    return y;
}

}  // namespace

ImportResult import_ipvsadm(const std::string& text, const std::string& name) {
    Table t;
    std::vector<std::string> warnings;
    std::vector<std::string> errors = ipvsadm::replay(text, name, t, warnings);
    if (Config scratch; errors.empty()) {  // what the loader refuses and IPVS takes, said plainly
        if (std::string e = ipvsadm::commit(t, scratch); !e.empty()) errors.push_back(name + ": " + e);
    }
    if (errors.empty() && t.services.empty())
        errors.push_back(name + ": no virtual service is left at the end, and dplb needs at least one");
    if (!errors.empty()) throw ConfigError(errors);
    ImportResult out{emit(t, name), warnings};
    // What IPVS accepts and the loader does not (a real on its service's vip, ...).
    check_converted(out, name, "");
    return out;
}

}  // namespace dplb::config
