// ipvsadm's changes (-A -E -D -a -e -d -C --set) applied to a list of services, with IPVS's rules and
// messages, and the list written back as ipvsadm-save writes it (-S -n). `dplbctl import-ipvsadm`
// and `dplbctl ipvsadm` both go through here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.h"
#include "ipvsadm/command.h"

namespace dplb::config::ipvsadm {

// The services as ipvsadm sees them, and the timeouts `--set` gave (0: not given).
struct Table {
    std::vector<Service> services;
    uint32_t tcp_s = 0, tcpfin_s = 0, udp_s = 0;
};

// Applies a change. Returns "" or why IPVS would refuse it (its wording: "Service already exists",
// "No such destination", ...); a refused change leaves `t` as it was. `warn` hears what was taken
// differently: -m/-i (dplb forwards by direct routing only).
std::string apply(const Command& c, Table& t, const std::function<void(const std::string&)>& warn);

// Each line of a rules file or provisioning script in turn, as `ipvsadm -R` replays them: blank
// lines, `#` comments and a leading `ipvsadm` word are dropped; a script's other lines and lines that
// change nothing (-L, -S, -Z) are skipped with a warning. Returns every refused line
// ("NAME:LINE: message"); warnings go to `warnings` the same way.
std::vector<std::string> replay(const std::string& text, const std::string& name, Table& t,
                                std::vector<std::string>& warnings);

// Changes to a running configuration: the table starts as `cfg`'s services; once the commands are
// applied, commit() writes --set timeouts into every service and checks the result as the loader
// checks a file (a real is never a vip or one of the director's own addresses; a vip a VRRP instance
// holds and a service it tracks stay). Returns "" or why not, and then leaves `cfg` as it was.
Table table_of(const Config& cfg);
std::string commit(Table& t, Config& cfg);

// The rules that rebuild `services`, one line each, as `ipvsadm -S -n` prints them: services sorted
// as ipvsadm sorts them, each followed by its reals. Persistence granularity, one-packet scheduling,
// scheduler flags and thresholds are written as options ipvsadm -R takes (-M, --ops, -b, -x, -y).
std::string save(const std::vector<Service>& services);

// The -b names of a service's scheduler flags ("sh-fallback,sh-port"); "" when none.
std::string sched_flag_names(const Service& s);

}  // namespace dplb::config::ipvsadm
