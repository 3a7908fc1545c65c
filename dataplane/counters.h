// Per-core counters. Each worker writes only its own CoreCounters; the control thread reads all of
// them without locks (aligned 64-bit loads) and sums. Indexed by the stable service and dest ids.
#pragma once

#include <cstdint>

#include "drop_reason.h"
#include "snapshot.h"

namespace dplb {

struct DestCounters {
    uint64_t conns = 0;    // connections scheduled to this real
    uint64_t inpkts = 0;   // client->server packets forwarded
    uint64_t inbytes = 0;
    uint32_t active = 0;   // ActiveConn: entries in ESTABLISHED
    uint32_t inactive = 0; // InActConn: entries in any other state (UDP included)
    uint32_t persist = 0;  // persistence templates pointing here
    // Entries of any kind referring to this id: moves only when an entry is made or released, never
    // on a state change, so a reader never sees a live entry's count pass through 0 (Director frees
    // an id by it).
    uint32_t refs = 0;
    // This core's IPVS OVERLOAD flag for the real (u_threshold / l_threshold, see
    // Processor::bind_limit): set when its connections reach the upper limit, cleared below the lower.
    uint32_t overloaded = 0;
};

struct ServiceCounters {
    uint64_t conns = 0;
    uint64_t inpkts = 0;
    uint64_t inbytes = 0;
};

struct alignas(64) CoreCounters {
    uint64_t rx_packets = 0;
    uint64_t tx_packets = 0;
    uint64_t forwarded = 0;     // frames sent to a real server (with or without an entry)
    uint64_t stateless = 0;     // of those, forwarded by mh without a connection entry
    uint64_t icmp_forwarded = 0;  // of those, ICMP errors about a VIP's flow, sent to that flow's real
    uint64_t icmp_stateless = 0;  // of icmp_forwarded, those sent by mh without an entry (also in stateless)
    uint64_t fragments = 0;     // of those, later IP fragments, sent to the real their first fragment went to
    uint64_t table_full = 0;    // new flows that found the connection table full (forwarded by mh)
    uint64_t arp_replies = 0;   // ARP replies and IPv6 neighbour advertisements for VIPs
    uint64_t to_kernel = 0;     // not for a VIP: the exception path, or freed where the kernel sees the port
    uint64_t from_kernel = 0;   // sent by the kernel on the exception path, out of the port
    uint64_t not_for_us = 0;    // unicast to another host's MAC (promiscuous ports)
    uint64_t expired = 0;       // entries removed by timeout
    uint64_t evicted = 0;       // live entries that never completed a handshake, removed to make room (table full)
    uint64_t stale = 0;         // entries whose real id was handed to another real: rescheduled, never forwarded
    uint64_t one_packet = 0;    // UDP datagrams of ops services: each scheduled on its own, no entry made
    uint64_t lblc_full = 0;     // lblc / lblcr: a destination (or lblcr set member) not cached, its table full
    uint64_t sync_queued = 0;     // connection-sync records handed to the control thread (sync_ring.h)
    uint64_t sync_ring_full = 0;  // connection-sync records lost: the ring was full
    uint64_t sync_refreshed = 0;  // of sync_queued, live flows re-sent by the sweep (Processor::refresh)
    uint64_t sync_adopted = 0;    // flows a peer director synchronised, taken into this core's table
    uint64_t drops[kDropCount] = {};
    ServiceCounters svc[kMaxServices];
    DestCounters dest[kMaxDests];

    uint64_t drops_total() const {
        uint64_t n = 0;
        for (uint64_t d : drops) n += d;
        return n;
    }
};

}  // namespace dplb
