// Where the later fragments of an IP datagram go: the real its first fragment went to. Only the first
// fragment carries the ports a connection is looked up by, so when it is forwarded the worker records
// (source, destination, protocol, identification) -> real here (IPv6: without the protocol, see
// key_of), and a later fragment (no ports) finds its real by the same fields. One table per worker, fixed size, no allocation after init: a
// set-associative array whose entries live kTimeoutMs after the first fragment was seen. A full set
// gives up the entry that expires soonest; a later fragment that finds nothing (its first fragment
// was never seen, came after it, expired, or was pushed out) is dropped and counted.
#pragma once

#include <cstdint>
#include <memory>

#include "parse.h"

namespace dplb {

struct FragEntry {
    uint8_t src[16], dst[16];  // IPv4: the first 4 bytes
    uint32_t id;               // IPv4: 16 bits, IPv6: 32 bits
    uint8_t proto = 0;
    uint8_t family = 0;        // 0: a free slot
    uint8_t gen = 0;           // the real's id generation when recorded (Dest::gen)
    uint16_t dest = 0;
    uint16_t svc = 0;
    uint32_t expire_ms = 0;
};

class FragTable {
public:
    static constexpr uint32_t kWays = 4;
    // The fragments of one datagram leave their sender back to back; 2 s covers queueing and
    // reordering on any path, and is short enough that identifications (16 bits in IPv4) do not wrap
    // within it for one source and destination at the rates a director sees fragments.
    static constexpr uint32_t kTimeoutMs = 2000;
    static constexpr uint32_t kDefaultEntries = 4096;

    // `entries` is rounded up to a power of two, at least kWays.
    explicit FragTable(uint32_t entries = kDefaultEntries);

    // A first fragment (Parsed::frag == kFragFirst) was forwarded to `dest`.
    void put(const Parsed& p, uint16_t dest, uint8_t gen, uint16_t svc, uint32_t now_ms);
    // The live entry for a later fragment, or nullptr.
    const FragEntry* find(const Parsed& p, uint32_t now_ms) const;

    uint32_t capacity() const { return mask_ + 1; }

private:
    static void key_of(const Parsed& p, FragEntry& k);
    static bool same(const FragEntry& a, const FragEntry& b);
    uint32_t set_of(const FragEntry& k) const;

    std::unique_ptr<FragEntry[]> slots_;
    uint32_t mask_;  // capacity - 1
};

}  // namespace dplb
