// Sums the workers' counters and prints them as operators read them: the `ipvsadm -Ln` table and a
// JSON document for scripts and tests.
#pragma once

#include <string>
#include <vector>

#include "counters.h"
#include "snapshot.h"

namespace dplb {

// Field-by-field sum of every core's counters (read without locks while workers run).
void sum_counters(const std::vector<const CoreCounters*>& cores, CoreCounters& total);

// `ipvsadm -Ln` layout: header, one line per service, "  -> " line per real (Forward = Route).
std::string format_ipvsadm(const Snapshot& snap, const CoreCounters& total);

// Everything in one JSON object: per service and real (conns, inpkts, inbytes, active, inactive),
// global packet counters and drops by reason.
std::string format_stats_json(const Snapshot& snap, const CoreCounters& total);

}  // namespace dplb
