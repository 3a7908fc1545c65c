// VRRP's socket I/O on a Linux kernel interface: the one that carries the director's own address
// (the exception path's TAP, or the veth under net_af_packet). Adverts go through a raw IP socket of
// protocol 112 bound to the interface; gratuitous ARP and unsolicited NA are whole frames through an
// AF_PACKET socket on it. Both read on a Boost.Asio io_context and never block it. Needs
// CAP_NET_RAW. Errors at construction throw std::system_error naming the interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net_types.h"

namespace dplb::vrrp {

// What the kernel says of an interface now.
struct InterfaceInfo {
    std::string name;
    int index = 0;
    MacAddr mac;
    bool up = false;      // administratively up and with carrier (IFF_UP and IFF_RUNNING)
    IpAddr ipv4;          // its primary IPv4 address; family 0 when none
    IpAddr ipv6_ll;       // its IPv6 link-local address (not tentative); family 0 when none
    IpAddr ipv6_global;   // its first IPv6 address that is not link-local; family 0 when none
    std::vector<IpAddr> addresses;  // every IPv4 and IPv6 address, as the kernel lists them
};

// nullopt when there is no interface by that name.
std::optional<InterfaceInfo> query_interface(const std::string& ifname);

// One received VRRP message with what the IP header said of it.
struct Received {
    IpAddr src;
    IpAddr dst;
    uint8_t ttl = 0;  // TTL or hop limit
    std::vector<uint8_t> payload;
};

// How an AdvertSocket talks: to the group (RFC 3768 / 5798), or unicast to peers (keepalived's
// unicast_peer), which joins no group and sends with `unicast_ttl` as TTL / hop limit.
struct SocketMode {
    bool multicast = true;
    uint8_t unicast_ttl = 255;
};

// A raw IP socket of protocol 112 on one interface and family: receives every VRRP message on the
// interface (224.0.0.18 / ff02::12 joined, RFC 3768 §5.2.2, RFC 5798 §5.1.2.2) and sends to the
// group with TTL / hop limit 255 (§5.2.3), precedence "internetwork control" as keepalived does,
// our own messages not looped back. In unicast mode no group is joined (IPv4 then receives no
// group traffic; IPv6 may, and the state machine refuses it) and messages go to one peer each.
class AdvertSocket {
public:
    using OnReceive = std::function<void(const Received&)>;
    using OnError = std::function<void(const std::error_code&)>;

    // family 4 or 6. Throws std::system_error.
    AdvertSocket(boost::asio::io_context& io, const InterfaceInfo& iface, uint8_t family);
    AdvertSocket(boost::asio::io_context& io, const InterfaceInfo& iface, uint8_t family, SocketMode mode);
    ~AdvertSocket();
    AdvertSocket(const AdvertSocket&) = delete;
    AdvertSocket& operator=(const AdvertSocket&) = delete;

    // Starts reading; handlers run on the io_context until close().
    void start(OnReceive on_receive, OnError on_error);
    // Sends one message to the group from `src` (the interface's primary IPv4 address, or its IPv6
    // link-local address, RFC 5798 §5.1.2.1). Never blocks; returns the error, if any.
    std::error_code send(const std::vector<uint8_t>& vrrp, const IpAddr& src);
    // The same to `dst` (a unicast peer; its VRRPv3 checksum must cover `dst`, codec.h encode()).
    std::error_code send(const std::vector<uint8_t>& vrrp, const IpAddr& src, const IpAddr& dst);
    void close();

private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

// An AF_PACKET socket on one interface that sends whole Ethernet frames (garp.h builds them).
class FrameSocket {
public:
    explicit FrameSocket(const InterfaceInfo& iface);  // throws std::system_error
    ~FrameSocket();
    FrameSocket(const FrameSocket&) = delete;
    FrameSocket& operator=(const FrameSocket&) = delete;

    std::error_code send(const std::vector<uint8_t>& frame);

private:
    int fd_ = -1;
    int ifindex_ = 0;
};

}  // namespace dplb::vrrp
