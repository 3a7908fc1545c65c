// What the connection-sync tests share: a peer's record of a TCP flow from 192.0.2.1 to the VIP
// 10.0.0.100:80 (the golden snapshot's svc0, and the unit tests' two-real service), a worker's record
// of one, and the key both tables give it.
#pragma once

#include <cstring>

#include "conn_table.h"
#include "net_types.h"
#include "sync/codec.h"
#include "sync_ring.h"

namespace dplb::test_sync {

inline IpAddr addr(const char* s) { return *IpAddr::parse(s); }

// Direct Routing, ESTABLISHED (IPVS state 1) unless told.
inline sync::SyncConn peer_conn(uint16_t cport, const char* real, uint16_t state = 1, uint32_t timeout_s = 900) {
    sync::SyncConn c;
    c.protocol = kProtoTcp;
    c.flags = sync::kConnDroute | sync::kConnNoOutput;
    c.state = state;
    c.cport = cport;
    c.vport = 80;
    c.dport = 80;
    c.timeout_s = timeout_s;
    c.caddr = addr("192.0.2.1");
    c.vaddr = addr("10.0.0.100");
    c.daddr = addr(real);
    return c;
}

inline SyncRecord worker_record(uint16_t cport, uint8_t state, uint16_t dest, uint8_t gen) {
    SyncRecord r{};
    r.family = 4;
    r.proto = kProtoTcp;
    r.state = state;
    r.gen = gen;
    r.dest = dest;
    r.cport = cport;
    r.vport = 80;
    r.svc = 0;
    const uint32_t c = addr("192.0.2.1").v4_be(), v = addr("10.0.0.100").v4_be();
    std::memcpy(r.caddr, &c, 4);
    std::memcpy(r.vaddr, &v, 4);
    return r;
}

inline ConnKey4 key4(uint16_t cport) {
    ConnKey4 k{};
    k.src = addr("192.0.2.1").v4_be();
    k.dst = addr("10.0.0.100").v4_be();
    k.sport = cport;
    k.dport = 80;
    k.proto = kProtoTcp;
    return k;
}

}  // namespace dplb::test_sync
