// lblc and lblcr (IPVS's ip_vs_lblc.c, ip_vs_lblcr.c): locality-based least-connection, which sends the
// connections for one destination address to one real (lblc) or to a set of reals that grows under
// load and shrinks when it has not grown for a while (lblcr). The table is per core, keyed by the
// service and the packet's destination address (IPVS's iph->daddr: the VIP-side address), with a
// fixed number of entries: no allocation after start-up, and a new entry that finds no room is
// counted (`full`) and the connection still goes to the real chosen.
#pragma once

#include <cstdint>
#include <vector>

#include "counters.h"
#include "snapshot.h"

namespace dplb {

class LblcTable {
public:
    static constexpr uint32_t kDefaultEntries = 4096;  // per core; a power of two
    static constexpr unsigned kProbe = 8;              // slots looked at for one key
    static constexpr unsigned kMaxSet = 8;             // reals in one lblcr set
    // IPVS's defaults: an entry unused for lblc_expiration / lblcr_expiration (24 h) is gone, and an
    // lblcr set not grown for that long loses its most loaded real, one per new connection. When there
    // is no room, an entry unused for ENTRY_TIMEOUT (6 min) makes way, as IPVS's full-table sweep does.
    static constexpr uint32_t kExpirationMs = 24u * 3600u * 1000u;
    static constexpr uint32_t kEntryTimeoutMs = 6u * 60u * 1000u;

    explicit LblcTable(uint32_t entries = kDefaultEntries);

    // The real for a new connection of `svc` (lblc or lblcr) to the destination whose hash is
    // `daddr_hash`, or kNoDest. `load` holds this core's counts and overload flags.
    uint16_t pick(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load, uint64_t daddr_hash,
                  uint32_t now_ms);

    // New entries (or lblcr set members) refused for want of room, counted where `counter` points.
    void count_full_in(uint64_t* counter) { full_ = counter; }

private:
    struct Entry {
        uint64_t key = 0;
        uint32_t lastuse = 0;  // ms
        uint32_t lastmod = 0;  // ms: the lblcr set last grew
        uint16_t svc = 0;
        uint8_t size = 0;      // 0: free
        uint8_t gen[kMaxSet] = {};
        uint16_t dest[kMaxSet] = {};
    };
    Entry* find(uint16_t svc, uint64_t key, uint32_t now_ms);
    Entry* make(uint16_t svc, uint64_t key, uint32_t now_ms);
    void drop_stale_members(Entry& e, const Service& svc, const std::vector<Dest>& dests);

    std::vector<Entry> slots_;
    uint32_t mask_;
    uint64_t own_full_ = 0;
    uint64_t* full_ = &own_full_;
};

}  // namespace dplb
