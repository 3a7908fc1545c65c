// Why the data plane dropped a frame. Every drop is counted under one of these; nothing is logged per
// packet. Names are the label values of dplb_drops_total{reason=...}.
#pragma once

#include <cstdint>

namespace dplb {

#define DPLB_DROP_REASONS(X)                                                            \
    X(eth_truncated, "frame shorter than an Ethernet header")                           \
    X(vlan_truncated, "frame too short for its VLAN tag")                               \
    X(arp_truncated, "ARP shorter than 28 bytes")                                       \
    X(arp_malformed, "ARP not Ethernet/IPv4 (htype/ptype/hlen/plen)")                   \
    X(ipv4_truncated, "IPv4 header cut short")                                          \
    X(ipv4_bad_version, "IPv4 ethertype but version field is not 4")                    \
    X(ipv4_bad_ihl, "IPv4 header length below 20 or past the frame")                    \
    X(ipv4_bad_total_length, "IPv4 total length below the header or past the frame")    \
    X(ipv6_truncated, "IPv6 header cut short")                                          \
    X(ipv6_bad_version, "IPv6 ethertype but version field is not 6")                    \
    X(ipv6_bad_payload_length, "IPv6 payload length past the frame")                    \
    X(ipv6_bad_ext_header, "IPv6 extension header chain too long or cut short")         \
    X(fragment, "later IP fragment to a VIP, its first fragment unseen or expired")     \
    X(headers_split, "headers not all in the first segment of a multi-segment frame")   \
    X(tcp_truncated, "TCP header cut short")                                            \
    X(tcp_bad_doff, "TCP data offset below 5 or past the IP payload")                   \
    X(udp_truncated, "UDP header cut short")                                            \
    X(udp_bad_length, "UDP length below 8 or past the IP payload")                      \
    X(tcp_no_conn, "TCP without SYN and no connection (service not mh, table not full in the last 10 s)") \
    X(no_dest, "no real server available (all weight 0 or none)")                       \
    X(vip_inactive, "traffic for a VIP this director does not own now")                 \
    X(no_dest_mac, "the chosen real server has no MAC address yet")                     \
    X(ttl_exceeded, "TTL / hop limit 1 or 0: forwarding would take it to 0 (no ICMP sent)") \
    X(control_stalled, "VRRP VIP withheld: the control thread missed its heartbeat")     \
    X(vlan_no_headroom, "no room before the frame to push its real's VLAN tag")        \
    X(tx_full, "TX queue full")

enum class Drop : uint8_t {
#define DPLB_X(name, text) name,
    DPLB_DROP_REASONS(DPLB_X)
#undef DPLB_X
        count
};

constexpr unsigned kDropCount = static_cast<unsigned>(Drop::count);

const char* drop_name(Drop d);
const char* drop_text(Drop d);

}  // namespace dplb
