// The immutable picture of services and real servers that workers read. The control thread builds a
// new one and publishes it; nothing a worker reads is edited in place.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "net_types.h"
#include "tcp_state.h"

namespace dplb {

constexpr uint16_t kMaxServices = 1024;
constexpr uint16_t kMaxDests = 32768;
constexpr uint16_t kNoDest = 0xffff;
constexpr uint32_t kDefaultMhTableSize = 65537;  // prime, as Maglev and IPVS's mh use
// Ports a director may have, and the egress that means "the port the frame came in on".
constexpr uint8_t kMaxPorts = 32;
constexpr uint8_t kIngressPort = 0xff;
// Dest::vlan: the 802.1Q tag a frame to the real leaves with. kVlanAsReceived keeps what the frame
// came with (tagged or not); kVlanUntagged takes a tag off; 1..4094 sets that VLAN id, pushing a tag
// onto an untagged frame and rewriting the id of a tagged one (its priority bits kept).
constexpr uint16_t kVlanUntagged = 0;
constexpr uint16_t kVlanAsReceived = 0xffff;

enum class Sched : uint8_t { rr, wrr, lc, wlc, sh, mh, sed, nq, fo, ovf, dh, twos, lblc, lblcr };
// sh / mh flags, as IPVS's IP_VS_SVC_F_SCHED1 / SCHED2: sh-fallback / mh-fallback (skip a real that
// is overloaded or has weight 0 for the next one), sh-port / mh-port (hash the source port too).
constexpr uint8_t kSchedFlagFallback = 1;
constexpr uint8_t kSchedFlagPort = 2;
const char* sched_name(Sched s);

// A real server of one service. Its id (index in Snapshot::dests) stays the same across snapshots
// for as long as the real exists, so per-core counters and connection entries can refer to it.
struct Dest {
    // Read per forwarded packet: first.
    MacAddr mac;
    bool has_mac = false;
    // The port frames to it leave by (index in the configuration's ports), as IPVS picks the device
    // by the route to the real: kIngressPort = the one each came in on.
    uint8_t egress = kIngressPort;
    uint16_t vlan = kVlanAsReceived;  // the tag it leaves with (see kVlanAsReceived)
    bool in_use = false;  // false for unused ids
    // Removed from its service (by the configuration or a failed health check) but still holding
    // connections: they keep forwarding here until they expire (IPVS's drain), or are cut at once
    // when Snapshot::expire_nodest_conn is set. The id is freed once no connection refers to it.
    bool draining = false;
    // Bumped each time the id is handed to another real; a connection entry carries the generation
    // it was made with, and one that does not match is never forwarded (see Processor::hit).
    uint8_t gen = 0;
    uint16_t weight = 1;  // 0: no new connections (quiescent)
    uint16_t svc = 0;     // id of its service
    uint16_t port = 0;
    IpAddr ip;
    // The service it belongs to, by address (so a draining real is known after its service left).
    IpAddr vip;
    uint16_t vport = 0;
    uint8_t proto = 0;
    bool healthy = true;  // its health check passes (or it has none); for listings and metrics
    // Connection limits (IPVS's u_threshold / l_threshold): 0 = none.
    uint32_t u_threshold = 0;
    uint32_t l_threshold = 0;
};

// Tables a scheduler precomputes from the reals and weights (see sched.h).
struct SchedTables {
    std::vector<uint16_t> mh;  // Maglev lookup table: dest ids; empty when no real has weight
    uint64_t mh_fingerprint = 0;  // mh_fingerprint(mh, dests) (scheduler.h)
    std::vector<uint16_t> sh;  // source-hash buckets: dest ids; empty when no real has weight
    std::vector<uint16_t> wrr_seq;  // one IPVS wrr cycle of dest ids
    // Some real of the service has a u_threshold: the schedulers look at the per-core overload flags
    // (DestCounters::overloaded). Services without limits never read them.
    bool limits = false;
};

struct Service {
    uint16_t id = 0;  // stable across snapshots: index of per-core service counters
    uint16_t vip_slot = 0;  // index of its VIP in Snapshot::vips and VipTable::flags
    IpAddr vip;
    uint16_t port = 0;  // 0 = every port
    uint8_t proto = kProtoTcp;
    Sched sched = Sched::wlc;
    uint32_t persistence_ms = 0;  // 0: no persistence
    uint8_t persistence_prefix_len = 0;  // persistence_granularity; 0 = the whole address
    bool ops = false;                    // one-packet scheduling
    uint8_t sched_flags = 0;             // kSchedFlagFallback | kSchedFlagPort
    Timeouts timeouts = Timeouts::ipvs_defaults();
    bool answer_arp = true;  // reply to ARP for the VIP while this director owns it
    // The control plane's quorum state (a sorry server, if any, has taken over while false); for
    // listings and metrics only, the workers never read it.
    bool quorum_up = true;
    std::vector<uint16_t> dests;  // dest ids of this service
    // Shared between snapshots while the service's reals, weights and scheduler stay the same, so an
    // event that touches one service rebuilds one service's tables. Never null once built.
    std::shared_ptr<const SchedTables> tables = std::make_shared<const SchedTables>();
};

// An open-addressed index over a vector (services, VIPs): each slot holds a position + 1, 0 = free;
// at most half full, so a probe always ends. Empty = not built: the owner scans instead.
struct OpenIndex {
    std::vector<uint16_t> slots;  // a power of two in size

    // The first position whose slot chain from `hash` satisfies `match`, or -1.
    template <class Match>
    int find(uint32_t hash, Match match) const {
        const uint32_t mask = static_cast<uint32_t>(slots.size()) - 1;
        for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
            uint16_t e = slots[i];
            if (e == 0) return -1;
            if (match(e - 1u)) return e - 1;
        }
    }
    // Indexes positions 0..n-1 by hash_of(i); a position equal (same(i, j)) to an earlier one is left
    // out, so find() returns the first, as a scan would.
    template <class HashOf, class Same>
    void build(size_t n, HashOf hash_of, Same same) {
        size_t size = 16;
        while (size < 2 * n) size *= 2;
        slots.assign(size, 0);
        const uint32_t mask = static_cast<uint32_t>(size) - 1;
        for (size_t pos = 0; pos < n; pos++) {
            for (uint32_t i = hash_of(pos) & mask;; i = (i + 1) & mask) {
                if (slots[i] == 0) {
                    slots[i] = static_cast<uint16_t>(pos + 1);
                    break;
                }
                if (same(slots[i] - 1u, pos)) break;
            }
        }
    }
};

// One VIP of the snapshot (several services may share it).
struct VipInfo {
    IpAddr ip;
    bool answer_arp = false;  // some service on it answers ARP / ND
};

// Who owns each VIP now: published beside a Snapshot (see View) and replaced on its own when VRRP
// changes state, so a flip costs a table of a few bytes per VIP, not a snapshot.
struct VipTable {
    static constexpr uint8_t kOwned = 1;  // forward and answer ARP / ND for it
    static constexpr uint8_t kVrrp = 2;   // owned through VRRP: the fail-safe withdraws it (worker.h)
    std::vector<uint8_t> flags;           // by VIP slot; same size as Snapshot::vips
};

struct Snapshot {
    std::vector<Service> services;
    std::vector<Dest> dests;  // indexed by dest id; size <= kMaxDests
    std::vector<VipInfo> vips;  // by slot, in order of first appearance in services
    // Cut connections to a draining or weight-0 real at their next packet (IPVS sysctl of that name).
    bool expire_nodest_conn = false;
    // IPVS's conn_reuse_mode: a SYN (without RST) that finds an entry of a service without persistence
    // in TIME_WAIT or CLOSE (bit 0, any non-zero mode) or FIN_WAIT (bit 1) ends that entry and is
    // scheduled afresh, counted as a new connection; 0 keeps the old real.
    uint8_t conn_reuse_mode = 1;
    // Services by (VIP, port, protocol) and VIP slots by address, built by assign_vip_slots once there
    // are more than kScanMax of them; below that a scan of the dense vector costs less than a hash.
    OpenIndex service_index, vip_index;
    static constexpr size_t kScanMax = 8;
    // Position + 1 of each service by its id (0 = no service has that id), built by assign_vip_slots.
    // A draining real keeps its service's id reserved (snapshot_builder), so the service with a real's
    // Dest::svc, when there is one, is that real's own.
    std::vector<uint16_t> service_by_id;
    const Service* service_of(uint16_t id) const {
        return id < service_by_id.size() && service_by_id[id] ? &services[service_by_id[id] - 1u] : nullptr;
    }

    // The service for a packet to vip:port/proto: an exact port first, then a port-0 service.
    const Service* find_service4(uint32_t vip_be, uint16_t port, uint8_t proto) const;
    const Service* find_service6(const uint8_t* vip, uint16_t port, uint8_t proto) const;
    // The slot of a VIP, or -1 when no service has it (fragments to a VIP are dropped, others go to
    // the kernel; ARP / ND for a VIP slot with answer_arp get our reply while we own it).
    int vip_slot4(uint32_t vip_be) const;
    int vip_slot6(const uint8_t* vip) const;
};

// Fills snap.vips and each service's vip_slot from the services' VIPs, and the lookup indexes; call it
// again after any change to snap.services.
void assign_vip_slots(Snapshot& snap);

// What the workers read: a snapshot and the ownership of its VIPs, published together by one
// pointer. `failsafe_ms` > 0: VIPs marked kVrrp are withdrawn while the control thread's heartbeat
// is older than that (worker.h).
struct View {
    std::shared_ptr<const Snapshot> snap;
    std::shared_ptr<const VipTable> vips;
    uint32_t failsafe_ms = 0;
};

}  // namespace dplb
