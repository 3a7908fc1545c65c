// Schedulers, named and behaving as IPVS's (net/netfilter/ipvs/ip_vs_*.c): rr, wrr, lc, wlc
// (overhead = active*256 + inactive), sed and nq (overhead = active + 1, over the weight; nq takes an
// idle real first), fo (the highest weight), ovf (the highest weight whose active connections do not
// exceed it), sh / dh (source / destination address hash), mh (Maglev hashing, weights honoured) and
// twos (two reals drawn by weight, the one with the lower overhead/weight). Weight 0 takes no new
// connections. Per-core state is a SchedCursor per service; tables are precomputed into the snapshot.
#pragma once

#include <cstdint>
#include <vector>

#include "counters.h"
#include "snapshot.h"

namespace dplb {

// A worker's own position in rr/wrr, one per service.
struct SchedCursor {
    uint32_t next = 0;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;  // twos: this core's random draws (xorshift64*)
};

// Fill svc.tables from svc.dests and their weights. `mh_size` must be prime.
void build_sched_tables(Service& svc, const std::vector<Dest>& dests, uint32_t mh_size = kDefaultMhTableSize);

// Pick a real for a new connection, or kNoDest when none can take one.
// `key` is what the hashing schedulers index their table by: for sh the source address (and port with
// sh-port), for dh the destination address, for mh mh_key() below; the others ignore it.
// `load` is this core's per-dest counters (lc, wlc, ...) and overload flags (services with limits:
// an overloaded real is passed over as IPVS's schedulers do, see Processor::bind_limit).
uint16_t sched_pick(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cursor,
                    const DestCounters* load, uint64_t key);

// The Maglev table's choice for a flow, whatever the service's scheduler (stateless forwarding of
// non-SYN misses and of new flows when the table is full). kNoDest when the table is empty.
inline uint16_t mh_lookup(const Service& svc, uint64_t flow_hash) {
    const auto& t = svc.tables->mh;
    return t.empty() ? kNoDest : t[flow_hash % t.size()];
}

}  // namespace dplb
