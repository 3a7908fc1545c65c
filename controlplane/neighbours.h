// Real servers' MAC addresses from the kernel's neighbour table (ARP / IPv6 ND), through the
// interface that carries the director's own address (an af_packet port's own kernel interface, or
// the exception-path TAP). A static MAC in the configuration wins over what is resolved.
#pragma once

#include <boost/asio.hpp>
#include <map>

#include "director.h"
#include "net_types.h"

namespace dplb {

// The kernel's usable entries (reachable, stale, delay, probe, permanent), read with rtnetlink.
std::map<IpAddr, MacAddr> read_neighbours();
// Makes the kernel resolve `ip` (a datagram to its discard port); returns false when it cannot.
bool poke_neighbour(const IpAddr& ip);

class NeighbourResolver {
public:
    NeighbourResolver(boost::asio::io_context& io, Director& director);
    void start();
    // One pass: look every real without a static MAC up, ask the kernel for missing ones, and
    // rebuild the snapshot when something changed. Returns how many reals still have no MAC.
    size_t refresh();

private:
    void schedule(std::chrono::milliseconds after);

    boost::asio::steady_timer timer_;
    Director& director_;
};

}  // namespace dplb
