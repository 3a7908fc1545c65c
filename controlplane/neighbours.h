// Real servers' MAC addresses from the kernel's neighbour table (ARP / IPv6 ND), through the
// interface that carries the director's own address (an af_packet port's own kernel interface, or
// the exception-path TAP; for a real in one of a port's vlans, the VLAN interface on either that
// holds the VLAN's address). The table is read by address whatever the interface, and the vlans'
// subnets do not overlap on a port. A static MAC in the configuration wins over what is resolved.
//
// All of it runs on the control thread's io_context and none of it waits there: the table is read
// with an RTM_GETNEIGH dump on a non-blocking rtnetlink socket whose answer is parsed as it arrives,
// and a dump that does not end in time is abandoned.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "director.h"
#include "net_types.h"

namespace dplb {

using NeighbourTable = std::map<IpAddr, MacAddr>;

// What one datagram of an RTM_GETNEIGH dump said.
enum class NeighbourDumpPart {
    more,    // entries (or nothing of ours); the dump goes on
    done,    // NLMSG_DONE: the table is complete
    failed,  // NLMSG_ERROR, or a DONE carrying an error: `*error` is the errno
};

// Adds the usable entries (reachable, stale, delay, probe, permanent; with a non-zero MAC) of one
// datagram of an RTM_GETNEIGH dump to `table`. Messages with another sequence number are skipped.
NeighbourDumpPart parse_neighbour_dump(const void* data, size_t len, uint32_t seq, NeighbourTable& table,
                                       int* error = nullptr);

// One read of the kernel's neighbour table, asynchronous on `io`: start() sends the dump request
// on a new non-blocking NETLINK_ROUTE socket and returns; `done` is then called once, on the
// io_context, with the whole table, or with why there is none (the socket, a netlink error, an
// answer lost to a full receive buffer, or no NLMSG_DONE within `timeout`). cancel() (or the
// io_context going away) means `done` is never called. The returned pointer may be dropped: the
// pending operations keep the dump alive until it ends.
class NeighbourDump : public std::enable_shared_from_this<NeighbourDump> {
public:
    struct Outcome {
        bool ok = false;
        NeighbourTable table;
        std::string error;  // why not ok
    };
    using Done = std::function<void(Outcome)>;

    static std::shared_ptr<NeighbourDump> start(boost::asio::io_context& io, std::chrono::milliseconds timeout,
                                                Done done);
    // The same over a datagram socket that the caller made (the dump owns and closes it): the
    // request is sent on it and the answer read from it. Tests play the kernel on a socketpair.
    static std::shared_ptr<NeighbourDump> start_on(boost::asio::io_context& io, int fd,
                                                   std::chrono::milliseconds timeout, Done done);
    void cancel();

    NeighbourDump(boost::asio::io_context& io, std::chrono::milliseconds timeout, Done done);  // use start()

private:
    void begin(int fd);
    void read_some();
    void wait_readable();
    void finish(Outcome outcome);
    void fail(std::string why);

    boost::asio::posix::stream_descriptor sock_;
    boost::asio::steady_timer deadline_;
    std::chrono::milliseconds timeout_;
    Done done_;
    uint32_t seq_ = 0;
    NeighbourTable table_;
    std::vector<char> buf_;
    bool ended_ = false;
};

// Makes the kernel resolve `ip` (a datagram to its discard port); returns false when it cannot.
// Does not wait: the datagram goes out on a non-blocking socket.
bool poke_neighbour(const IpAddr& ip);

class NeighbourResolver {
public:
    // A dump that has not ended after this long is abandoned (counted, logged once per run of
    // failures); the next one starts on schedule.
    static constexpr std::chrono::milliseconds kDumpTimeout{2000};

    NeighbourResolver(boost::asio::io_context& io, Director& director);
    ~NeighbourResolver();
    NeighbourResolver(const NeighbourResolver&) = delete;
    NeighbourResolver& operator=(const NeighbourResolver&) = delete;

    void start();
    // Starts a pass now: read the table, then look every real without a static MAC up, ask the
    // kernel for missing ones, and rebuild the snapshot once when something changed. Returns at
    // once; with a dump already in flight it does nothing more (that dump's answer is applied to
    // the configuration as it is when the answer is complete). Never two dumps at a time.
    void refresh();

    // Dumps that failed or were abandoned at the timeout, since start.
    uint64_t failed_dumps() const { return failed_dumps_; }

private:
    void schedule(std::chrono::milliseconds after);
    void dump_ended(NeighbourDump::Outcome outcome);
    // Applies a complete table; returns how many reals still have no MAC.
    size_t apply(const NeighbourTable& table);
    bool needs_lookup() const;
    size_t unresolved();

    boost::asio::io_context& io_;
    boost::asio::steady_timer timer_;
    Director& director_;
    std::shared_ptr<NeighbourDump> dump_;  // the one in flight, or null
    uint64_t failed_dumps_ = 0;
    uint64_t failed_in_a_row_ = 0;
    // Handlers hold a weak reference: one that was already queued when we went away finds it expired.
    std::shared_ptr<NeighbourResolver*> alive_;
};

}  // namespace dplb
