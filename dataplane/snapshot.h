// The immutable picture of services and real servers that workers read. The control thread builds a
// new one and publishes it; nothing a worker reads is edited in place.
#pragma once

#include <cstdint>
#include <vector>

#include "net_types.h"
#include "tcp_state.h"

namespace dplb {

constexpr uint16_t kMaxServices = 256;
constexpr uint16_t kMaxDests = 4096;
constexpr uint16_t kNoDest = 0xffff;
constexpr uint32_t kDefaultMhTableSize = 65537;  // prime, as Maglev and IPVS's mh use

enum class Sched : uint8_t { rr, wrr, lc, wlc, sh, mh };
const char* sched_name(Sched s);

// A real server of one service. Its id (index in Snapshot::dests) stays the same across snapshots
// for as long as the real exists, so per-core counters and connection entries can refer to it.
struct Dest {
    // Read per forwarded packet: first.
    MacAddr mac;
    bool has_mac = false;
    bool in_use = false;  // false for unused ids
    // Removed from its service (by the configuration or a failed health check) but still holding
    // connections: they keep forwarding here until they expire (IPVS's drain), or are cut at once
    // when Snapshot::expire_nodest_conn is set. The id is freed once no connection refers to it.
    bool draining = false;
    uint16_t weight = 1;  // 0: no new connections (quiescent)
    uint16_t svc = 0;     // id of its service
    uint16_t port = 0;
    IpAddr ip;
    // The service it belongs to, by address (so a draining real is known after its service left).
    IpAddr vip;
    uint16_t vport = 0;
    uint8_t proto = 0;
};

// Tables a scheduler precomputes from the reals and weights (see sched.h).
struct SchedTables {
    std::vector<uint16_t> mh;  // Maglev lookup table: dest ids; empty when no real has weight
    std::vector<uint16_t> sh;  // source-hash buckets: dest ids; empty when no real has weight
    std::vector<uint16_t> wrr_seq;  // one IPVS wrr cycle of dest ids
};

struct Service {
    uint16_t id = 0;  // stable across snapshots: index of per-core service counters
    IpAddr vip;
    uint16_t port = 0;  // 0 = every port
    uint8_t proto = kProtoTcp;
    Sched sched = Sched::wlc;
    uint32_t persistence_ms = 0;  // 0: no persistence
    Timeouts timeouts = Timeouts::ipvs_defaults();
    bool answer_arp = true;  // reply to ARP for the VIP (VRRP state drives it)
    bool active = true;      // forward traffic for the VIP (this director owns it)
    std::vector<uint16_t> dests;  // dest ids of this service
    SchedTables tables;
};

struct Snapshot {
    std::vector<Service> services;
    std::vector<Dest> dests;  // indexed by dest id; size <= kMaxDests
    // Cut connections to a draining or weight-0 real at their next packet (IPVS sysctl of that name).
    bool expire_nodest_conn = false;

    // The service for a packet to vip:port/proto: an exact port first, then a port-0 service.
    const Service* find_service4(uint32_t vip_be, uint16_t port, uint8_t proto) const;
    const Service* find_service6(const uint8_t* vip, uint16_t port, uint8_t proto) const;
    // Whether any service has this VIP (fragments to a VIP are dropped, others go to the kernel).
    bool is_vip4(uint32_t vip_be) const;
    bool is_vip6(const uint8_t* vip) const;
    // Whether ARP requests for this address get our reply: a service on it is active and answers ARP.
    bool answers_arp4(uint32_t vip_be) const;
    bool answers_nd6(const uint8_t* vip) const;  // the same, for IPv6 neighbour solicitations
};

}  // namespace dplb
