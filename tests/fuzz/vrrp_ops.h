// The input of fuzz_vrrp: our router's parameters, then a program of events for its state machine,
// read until the input ends (big-endian fields).
//
//   router   u8 bits, u8 priority, u8 interval, u8 timers
//            bits & 3: the profile (kProfiles: VRID, version, family, authentication, addresses, the
//            keepalived instances of tests/fixtures/vrrp/keepalived.conf); bits & 4: no preempt;
//            bits & 8: unicast, the first two peers below listed (unicast_peers), adverts sent to
//            our own address.
//            priority 0 reads as 1. interval 0: the profile's; else v2 (1 + interval % 10) s, v3
//            1 + interval * 16 cs. timers: preempt_delay (timers & 7) s, garp_delay (timers >> 5) s,
//            garp_repeat 1 + (timers >> 3 & 3)
//   then one byte per event (its low 3 bits select it, bit 3 a variant) and its arguments:
//   received  0  u16 len, [IPv6: u8 peer, u8 hop limit,] len bytes: what the advert socket hands
//                over (IPv4: the packet from its IP header, io.cc; IPv6: the VRRP message)
//   time      1  u16 ms: the clock moves on; timers fire at their deadlines on the way
//   peer      2  u8 priority, u8 peer, u8 spoil: an advert from a peer, encoded and decoded by the
//                codec; spoil bits: 1 other VRID, 2 TTL 254, 4 other interval, 8 other password,
//                16 an extra address, 32 one address fewer, 64 sent to the group in unicast mode
//   start     3  variant: Shutdown, else Startup
//   link      4  variant: InterfaceDown, else InterfaceUp
//   track     5  variant: TrackFault, else TrackOk
//   priority  6  u8 PriorityChanged
//   reload    7  u8 priority, u8 bits (1 preempt, bits 1-3 preempt_delay s, bits 4-7 garp_delay s),
//                u8 garp_repeat: Reconfigure
// Peers (the `peer` byte & 3): keepalived's address in the fixtures, a lower one, our own (looped
// back), a higher one.
#pragma once

#include <cstdint>
#include <vector>

#include "fuzz_input.h"

namespace dplb::fuzz {

struct VrrpProfile {
    uint8_t vrid, version, family;
    const char* password;  // v2 PASS, or nullptr
    uint16_t interval_cs;
    std::vector<const char*> addresses;
    const char* primary;   // ours
    const char* peers[4];  // see above
};

inline const VrrpProfile kProfiles[4] = {
    {51, 2, 4, "secret12", 100, {"10.9.0.100", "10.9.0.101"}, "10.9.0.3",
     {"10.9.0.2", "10.9.0.1", "10.9.0.3", "10.9.0.200"}},
    {52, 2, 4, nullptr, 200, {"10.9.0.102"}, "10.9.0.3", {"10.9.0.2", "10.9.0.1", "10.9.0.3", "10.9.0.200"}},
    {53, 3, 4, nullptr, 50, {"10.9.0.110"}, "10.9.0.3", {"10.9.0.2", "10.9.0.1", "10.9.0.3", "10.9.0.200"}},
    {54, 3, 6, nullptr, 100, {"2001:db8:9::100", "2001:db8:9::101"}, "fe80::3",
     {"fe80::ff:fe00:a02", "fe80::1", "fe80::3", "fe80::ff:ffff"}},
};

enum VrrpOp : uint8_t {
    kVrrpReceived = 0,
    kVrrpTime = 1,
    kVrrpPeer = 2,
    kVrrpStart = 3,
    kVrrpLink = 4,
    kVrrpTrack = 5,
    kVrrpPriority = 6,
    kVrrpReload = 7,
};
constexpr uint8_t kVrrpVariant = 8;

struct VrrpProgram : Writer {
    void router(uint8_t bits, uint8_t priority, uint8_t interval = 0, uint8_t timers = 0) {
        u8(bits);
        u8(priority);
        u8(interval);
        u8(timers);
    }
    void received4(const std::vector<uint8_t>& ip_packet) {
        u8(kVrrpReceived);
        u16(static_cast<uint16_t>(ip_packet.size()));
        bytes(ip_packet);
    }
    void received6(uint8_t peer, uint8_t hops, const std::vector<uint8_t>& message) {
        u8(kVrrpReceived);
        u16(static_cast<uint16_t>(message.size()));
        u8(peer);
        u8(hops);
        bytes(message);
    }
    void time(uint16_t ms) {
        u8(kVrrpTime);
        u16(ms);
    }
    void peer(uint8_t priority, uint8_t peer, uint8_t spoil = 0) {
        u8(kVrrpPeer);
        u8(priority);
        u8(peer);
        u8(spoil);
    }
    void op(uint8_t op, bool variant = false) { u8(static_cast<uint8_t>(op | (variant ? kVrrpVariant : 0))); }
};

}  // namespace dplb::fuzz
