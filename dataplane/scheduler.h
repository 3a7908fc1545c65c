// Schedulers, named and behaving as IPVS's (net/netfilter/ipvs/ip_vs_*.c): rr, wrr, lc, wlc
// (overhead = active*256 + inactive), sed and nq (overhead = active + 1, over the weight; nq takes an
// idle real first), fo (the highest weight), ovf (the highest weight whose active connections do not
// exceed it), sh / dh (source / destination address hash), mh (Maglev hashing, weights honoured),
// twos (two reals drawn by weight, the one with the lower overhead/weight) and lblc / lblcr (lblc.h).
// Weight 0 takes no new connections, nor does a real over its u_threshold (limit_on_bind below); sh
// and mh take IPVS's fallback and port flags. Per-core state is a SchedCursor per service and the
// lblc table; tables are precomputed into the snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "counters.h"
#include "lblc.h"
#include "snapshot.h"

namespace dplb {

// A worker's own position in rr/wrr, one per service.
struct SchedCursor {
    uint32_t next = 0;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;  // twos: this core's random draws (xorshift64*)
};

// Fill svc.tables from svc.dests and their weights. `mh_size` must be prime.
// The Maglev table as every director with the same configuration must build it: 64-bit FNV-1a over
// the table size (4 bytes, big-endian), then one FNV-1a step per slot with the 64-bit FNV-1a of that
// slot's real (family, 16 address bytes, port big-endian; 19 bytes of 0xff for a slot with none), so
// it depends on the reals' addresses, never on the ids they were given. Directors that show the same
// fingerprint send every flow to the same real. 0 for an empty table. Kept for `mh` services only
// (SchedTables::mh_fingerprint).
uint64_t mh_fingerprint(const std::vector<uint16_t>& mh, const std::vector<Dest>& dests);
// 16 lowercase hex digits, as `dplbctl status` and the metrics show a fingerprint.
std::string format_fingerprint(uint64_t fingerprint);

void build_sched_tables(Service& svc, const std::vector<Dest>& dests, uint32_t mh_size = kDefaultMhTableSize);

// Pick a real for a new connection, or kNoDest when none can take one.
// `key` is what the hashing schedulers index their table by: for sh the source address (and port with
// sh-port), for dh the destination address, for mh mh_key() below; the others ignore it.
// `load` is this core's per-dest counters (lc, wlc, ...) and overload flags (services with limits:
// an overloaded real is passed over as IPVS's schedulers do, see Processor::bind_limit).
// lblc / lblcr keep their per-core table in `lblc` (nullptr: wlc's choice) and key it by the
// destination address (`key` as for dh); `now_ms` ages its entries.
uint16_t sched_pick(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cursor,
                    const DestCounters* load, uint64_t key, LblcTable* lblc = nullptr, uint32_t now_ms = 0);

// wlc over the reals not overloaded: IPVS's choice when lblc / lblcr have none cached.
uint16_t least_connection(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load);

// IPVS's overload rule (ip_vs_conn.c, ip_vs_bind_dest / ip_vs_unbind_dest): a real whose active and
// inactive connections reach u_threshold is overloaded and takes no new connection until they fall
// below l_threshold (or below 3/4 of u_threshold when l_threshold is 0). Connection counts are per
// core in dplb, so each of `workers` cores holds its share of the limits, rounded up (threshold_share):
// RSS spreads flows evenly over the cores, a core never reads another's counters on the packet path,
// and the summed figures the control thread sees are a publish behind (a burst of SYNs would overshoot
// them). With one worker the limits are IPVS's exactly. Call after a connection (not a template) is
// counted in / out of `dc`.
inline uint32_t threshold_share(uint32_t limit, unsigned workers) {
    return static_cast<uint32_t>((uint64_t{limit} + workers - 1) / workers);
}
inline void limit_on_bind(DestCounters& dc, const Dest& d, unsigned workers) {
    if (d.u_threshold != 0 && uint64_t{dc.active} + dc.inactive >= threshold_share(d.u_threshold, workers))
        dc.overloaded = 1;
}
inline void limit_on_unbind(DestCounters& dc, const Dest& d, unsigned workers) {
    uint64_t total = uint64_t{dc.active} + dc.inactive;
    if (d.l_threshold != 0) {
        if (total < threshold_share(d.l_threshold, workers)) dc.overloaded = 0;
    } else if (d.u_threshold != 0) {
        if (total * 4 < uint64_t{threshold_share(d.u_threshold, workers)} * 3) dc.overloaded = 0;
    } else {
        dc.overloaded = 0;  // the limit was removed
    }
}

// The Maglev table's choice for a flow, whatever the service's scheduler (stateless forwarding of
// non-SYN misses and of new flows when the table is full). kNoDest when the table is empty.
inline uint16_t mh_lookup(const Service& svc, uint64_t flow_hash) {
    const auto& t = svc.tables->mh;
    return t.empty() ? kNoDest : t[flow_hash % t.size()];
}

}  // namespace dplb
