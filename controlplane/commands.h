// The control-socket commands (`dplbctl ...`): parse the words, act on the Director, format the
// answer as ipvsadm prints it or as JSON.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "director.h"
#include "stats_report.h"

namespace dplb {

struct Reply {
    bool ok = true;
    std::string text;  // what dplbctl prints (stdout when ok, stderr otherwise)
};

class Announcer;

// Calls `reply` once: at once for most commands, later for `reload` and `list --connections`.
// `announce` is nullptr when the configuration has no announce section (`maintenance` is refused).
void run_command(Director& director, Announcer* announce, const std::vector<std::string>& words,
                 std::function<void(Reply)> reply);

// Formatting, public for tests.
// `dplbctl list` in any view (stats_report.h), as text or JSON. `owned` says whether this director
// owns a VIP now ("active" in JSON); empty = all.
std::string format_list(const Snapshot& snap, const CoreCounters& t, bool json, const ListOptions& o = {},
                        const RateSource& rates = {}, const std::function<bool(const IpAddr&)>& owned = {});
std::string format_connections(const Snapshot& snap, const std::vector<ConnInfo>& conns, bool json);
// ipvsadm's one line, "Timeout (tcp tcpfin udp): T F U"; with `detail` (or JSON) every state's
// timeout per service.
// `dplbctl status`'s announce lines (or JSON members, each after a comma) and the Maglev
// fingerprints of the mh services.
std::string format_announce(const Announcer* announce, bool json);
std::string format_fingerprints(const Snapshot& snap, bool json);
std::string format_timeouts(const config::Config& cfg, bool json, bool detail = false);

}  // namespace dplb
