#include "wire.h"

#include <rte_mbuf.h>

#include <cstring>
#include <numeric>

#include "parse.h"

namespace dplb::bench {
namespace {

constexpr unsigned kOffIp = 14, kIpHeaderLen = 20, kOffIpChecksum = kOffIp + 10;

// The ones' complement sum of the IPv4 header (20 bytes, no options), folded: 0xffff when its
// checksum field is right.
uint16_t ipv4_header_sum(const uint8_t* frame) {
    uint32_t sum = 0;
    for (unsigned i = 0; i < kIpHeaderLen; i += 2) sum += uint32_t{frame[kOffIp + i]} << 8 | frame[kOffIp + i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Smoke: a correct header checksum on every emitted frame, so the check can see that the director's
// TTL decrement kept it correct.
void set_ipv4_checksum(uint8_t* frame) {
    frame[kOffIpChecksum] = frame[kOffIpChecksum + 1] = 0;
    uint16_t c = static_cast<uint16_t>(~ipv4_header_sum(frame));
    frame[kOffIpChecksum] = static_cast<uint8_t>(c >> 8);
    frame[kOffIpChecksum + 1] = static_cast<uint8_t>(c);
}

}  // namespace

const char* traffic_name(Traffic t) {
    switch (t) {
    case Traffic::established: return "established";
    case Traffic::mix: return "mix";
    case Traffic::syn: return "syn";
    }
    return "?";
}

Wire::Wire(const WireConfig& cfg) : cfg_(cfg), per_real_(cfg.real_macs.size(), 0) {
    if (cfg_.flows == 0) cfg_.flows = 1;
    // A stride near flows * 0.618 and coprime with it: consecutive packets hit flows created far
    // apart, so table positions (handed out in creation order) are not walked sequentially.
    src_base_ = uint32_t{11 + cfg_.worker} << 24;  // clients 11+worker.x.y.z
    std::memcpy(client_hdr_, cfg_.port_mac.b.data(), 6);
    std::memcpy(client_hdr_ + 6, cfg_.client_mac.b.data(), 6);
    uint32_t n = cfg_.flows;
    if (n > 2) {
        uint32_t s = static_cast<uint32_t>(uint64_t{n} * 618 / 1000);
        while (std::gcd(s, n) != 1) s++;
        stride_ = s;
    }
}

uint64_t Wire::warm_after() const {
    switch (cfg_.traffic) {
    case Traffic::established: return 2ull * cfg_.flows;  // SYN round, then the ACK round that establishes
    case Traffic::mix: return cfg_.flows;
    case Traffic::syn: return 0;
    }
    return 0;
}

// The wire's moving parts, copied into locals for a burst: stores through the frame's uint8_t*
// may alias any object, so state kept in members would be reloaded after every byte written.
struct Wire::Cursor {
    uint64_t next;
    uint32_t perm, in_round, round;
};

void Wire::emit_burst(uint8_t* const* frames, uint16_t n) {
    Cursor c{next_, cursor_, in_round_, round_};
    const Traffic traffic = cfg_.traffic;
    const uint32_t flows = cfg_.flows, stride = stride_, src_base = src_base_;
    uint8_t hdr[12];
    std::memcpy(hdr, client_hdr_, 12);
    for (uint16_t k = 0; k < n; k++) {
        uint8_t* d = frames[k];
        uint64_t i = c.next++;
        uint32_t f;
        uint16_t sport = kSportBase;
        uint8_t flags;
        if (traffic == Traffic::syn) {
            // Never repeats within a run: the low 24 bits pick the address, the rest the port.
            f = static_cast<uint32_t>(i & 0xffffff);
            sport = static_cast<uint16_t>(kSportBase + (i >> 24) % (65536 - kSportBase));
            flags = kTcpSyn;
        } else if (i < flows) {
            f = static_cast<uint32_t>(i);  // the opening round, in creation order
            flags = kTcpSyn;
        } else {
            // Visiting order perm, perm + stride, ... (mod flows): every flow once per round.
            f = c.perm;
            c.perm += stride;
            if (c.perm >= flows) c.perm -= flows;
            uint32_t round = c.round;
            if (++c.in_round == flows) c.in_round = 0, c.round++;
            if (traffic == Traffic::established) {
                flags = kTcpAck;
            } else {
                // Each flow's lifecycle is 8 rounds long, offset by its id so every burst mixes phases.
                unsigned phase = (round + f) & 7;
                flags = phase == 0 ? kTcpSyn : phase == 7 ? (kTcpFin | kTcpAck) : kTcpAck;
            }
        }
        // Checksums are not the director's concern (it updates the IPv4 one for the TTL it takes off,
        // incrementally, and never checks it); the TTL is restored each lap, or a frame would expire
        // after 63 laps.
        if (traffic != Traffic::syn) {
            // Past 16M flows (a table several times an L3 cache), the flow id's upper bits pick the port.
            sport = static_cast<uint16_t>(kSportBase + (f >> 24));
            f &= 0xffffff;
        }
        uint32_t src = __builtin_bswap32(src_base | f);
        uint16_t sport_be = __builtin_bswap16(sport);
        std::memcpy(d, hdr, 12);
        d[kOffTtl] = kTtl;
        std::memcpy(d + kOffSrcIp, &src, 4);
        std::memcpy(d + kOffSport, &sport_be, 2);
        d[kOffTcpFlags] = flags;
    }
    if (cfg_.check)
        for (uint16_t k = 0; k < n; k++) set_ipv4_checksum(frames[k]);
    next_ = c.next;
    cursor_ = c.perm;
    in_round_ = c.in_round;
    round_ = c.round;
    emitted_.store(next_, std::memory_order_relaxed);
}

void Wire::check(const uint8_t* d) {
    checked_++;
    bool src_ok = std::memcmp(d + 6, cfg_.port_mac.b.data(), 6) == 0;
    if (cfg_.macswap) {
        if (!src_ok || std::memcmp(d, cfg_.client_mac.b.data(), 6) != 0) bad_++;
        return;
    }
    // Forwarded as a router forwards: TTL one lower, header checksum still right (RFC 1624).
    bool ip_ok = d[kOffTtl] == kTtl - 1 && ipv4_header_sum(d) == 0xffff;
    for (size_t r = 0; r < cfg_.real_macs.size(); r++) {
        if (std::memcmp(d, cfg_.real_macs[r].b.data(), 6) == 0) {
            per_real_[r]++;
            if (!src_ok || !ip_ok) bad_++;
            return;
        }
    }
    bad_++;  // not addressed to any real server
}

uint16_t Wire::tx_callback(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* self) {
    auto* w = static_cast<Wire*>(self);
    uint8_t* frames[64];
    if (n > 64) n = 64;  // rte_eth_tx_buffer hands over at most its size (32)
    for (uint16_t i = 0; i < n; i++) frames[i] = rte_pktmbuf_mtod(pkts[i], uint8_t*);
    if (w->cfg_.check)
        for (uint16_t i = 0; i < n; i++) w->check(frames[i]);
    w->emit_burst(frames, n);
    if (w->cfg_.stop_after && !w->reached_stop_ && w->next_ >= w->cfg_.stop_after && w->cfg_.quit) {
        w->reached_stop_ = true;
        if (w->cfg_.stopped->fetch_add(1, std::memory_order_relaxed) + 1 == w->cfg_.wires)
            w->cfg_.quit->store(true, std::memory_order_relaxed);
    }
    return n;
}

}  // namespace dplb::bench
