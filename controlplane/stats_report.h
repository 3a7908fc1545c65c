// Sums the workers' counters and prints them as operators read them: ipvsadm's listings
// (ipvsadm.c: list_all, list_service, print_title, print_service_entry, print_largenum, list_conn,
// list_timeout) and a JSON document for scripts and tests.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "counters.h"
#include "processor.h"
#include "rate_estimator.h"
#include "snapshot.h"

namespace dplb {

// Field-by-field sum of every core's counters (read without locks while workers run).
void sum_counters(const std::vector<const CoreCounters*>& cores, CoreCounters& total);

// Which table `dplbctl list` prints: ipvsadm -L, --stats, --rate, --thresholds, --persistent-conn.
enum class ListView : uint8_t { plain, stats, rate, thresholds, persistent_conn };

struct ListOptions {
    ListView view = ListView::plain;
    bool exact = false;   // --exact: numbers whole, not abbreviated with K, M, G, T
    bool nosort = false;  // --nosort: services and reals in configuration order
    // list -t|-u VIP:PORT: that service alone, without the version line (ipvsadm's list_service).
    const Service* only = nullptr;
    uint64_t size = 0;  // "size=": connection entries the workers' tables hold
};

// Rates of a service or real by id, for ListView::rate (none given: 0).
struct RateSource {
    std::function<Rates(uint16_t)> service = [](uint16_t) { return Rates{}; };
    std::function<Rates(uint16_t)> dest = [](uint16_t) { return Rates{}; };
};

// The services (and each one's reals) in the order ipvsadm lists them: by family, protocol,
// address, port (libipvs ipvs_cmp_services); reals by address, port (ipvs_cmp_dests). With
// `nosort`, configuration order. `only` restricts the list to that service.
std::vector<const Service*> listed_services(const Snapshot& snap, const ListOptions& o);
std::vector<uint16_t> listed_dests(const Snapshot& snap, const Service& s, const ListOptions& o);

// ipvsadm -Ln and its views, byte for byte. `rates` is read for ListView::rate only.
std::string format_ipvsadm(const Snapshot& snap, const CoreCounters& total, const ListOptions& o = {},
                           const RateSource& rates = {});

// What -Lnc shows of an entry: protocol, source, virtual and destination endpoints. A template is
// keyed by (client, VIP, service port) with no client port: shown as client:0 with its service's
// protocol and port. False when its real is not in `snap`.
struct ConnText {
    const char* proto;
    std::string src, vip, dst;
};
bool conn_text(const Snapshot& snap, const ConnInfo& c, ConnText& out);

// ipvsadm -Lnc: one line per entry; an entry with no real in `snap` is left out.
std::string format_ipvsadm_conns(const Snapshot& snap, const std::vector<ConnInfo>& conns);

// ipvsadm's number in an 8-wide column after a blank (print_largenum): K, M, G, T past 10^8, or
// whole with `exact`.
std::string largenum(uint64_t n, bool exact);

// Everything in one JSON object: per service and real (conns, inpkts, inbytes, active, inactive),
// global packet counters and drops by reason.
std::string format_stats_json(const Snapshot& snap, const CoreCounters& total);

}  // namespace dplb
