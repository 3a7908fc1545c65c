#include "neighbours.h"
#include "log.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <boost/asio/post.hpp>

namespace dplb {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// The kernel never makes a dump datagram larger than 32 KiB (it sizes them after the reader's
// buffer, up to that); a larger one would show as MSG_TRUNC and fail the dump, not corrupt it.
constexpr size_t kRecvBuffer = 64 * 1024;
// Datagrams read per turn of the io_context: a big table is read in slices, other handlers between.
constexpr int kDatagramsPerTurn = 8;

constexpr uint16_t kUsable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

// One RTM_NEWNEIGH payload (ndmsg and its attributes) into `table`, if usable.
void parse_entry(const char* p, size_t len, NeighbourTable& table) {
    if (len < sizeof(ndmsg)) return;
    ndmsg nd;
    std::memcpy(&nd, p, sizeof nd);
    if (!(nd.ndm_state & kUsable)) return;
    if (nd.ndm_family != AF_INET && nd.ndm_family != AF_INET6) return;
    IpAddr ip;
    MacAddr mac;
    bool have_ip = false, have_mac = false;
    for (size_t off = NLMSG_ALIGN(sizeof(ndmsg)); off + sizeof(rtattr) <= len;) {
        rtattr a;
        std::memcpy(&a, p + off, sizeof a);
        if (a.rta_len < sizeof(rtattr) || a.rta_len > len - off) break;  // malformed: ignore the rest
        const char* data = p + off + RTA_LENGTH(0);
        const size_t dlen = a.rta_len - RTA_LENGTH(0);
        if (a.rta_type == NDA_DST && nd.ndm_family == AF_INET && dlen == 4) {
            ip.family = 4;
            std::memcpy(ip.b.data(), data, 4);
            have_ip = true;
        } else if (a.rta_type == NDA_DST && nd.ndm_family == AF_INET6 && dlen == 16) {
            ip.family = 6;
            std::memcpy(ip.b.data(), data, 16);
            have_ip = true;
        } else if (a.rta_type == NDA_LLADDR && dlen == 6) {
            std::memcpy(mac.b.data(), data, 6);
            have_mac = true;
        }
        off += RTA_ALIGN(a.rta_len);
    }
    if (have_ip && have_mac && !mac.is_zero()) table[ip] = mac;
}

uint32_t next_seq() {
    static std::atomic<uint32_t> seq{static_cast<uint32_t>(::time(nullptr))};
    return ++seq;
}

}  // namespace

NeighbourDumpPart parse_neighbour_dump(const void* data, size_t len, uint32_t seq, NeighbourTable& table,
                                       int* error) {
    const char* p = static_cast<const char*>(data);
    auto failed = [error](int err) {
        if (error) *error = err;
        return NeighbourDumpPart::failed;
    };
    for (size_t off = 0; len - off >= sizeof(nlmsghdr);) {
        nlmsghdr nh;
        std::memcpy(&nh, p + off, sizeof nh);
        if (nh.nlmsg_len < sizeof(nlmsghdr) || nh.nlmsg_len > len - off) return failed(EBADMSG);
        const char* payload = p + off + NLMSG_HDRLEN;
        const size_t plen = nh.nlmsg_len - NLMSG_HDRLEN;
        off += std::min<size_t>(NLMSG_ALIGN(nh.nlmsg_len), len - off);
        if (nh.nlmsg_seq != seq) continue;  // not an answer to this dump
        if (nh.nlmsg_type == NLMSG_DONE) {
            // Since Linux 4.x the DONE of a dump carries its error code (0 when it went well).
            int code = 0;
            if (plen >= sizeof code) std::memcpy(&code, payload, sizeof code);
            return code < 0 ? failed(-code) : NeighbourDumpPart::done;
        }
        if (nh.nlmsg_type == NLMSG_ERROR) {
            int code = 0;
            if (plen < sizeof code) return failed(EBADMSG);
            std::memcpy(&code, payload, sizeof code);
            if (code == 0) continue;  // an acknowledgement: not asked for, harmless
            return failed(-code);
        }
        if (nh.nlmsg_type == RTM_NEWNEIGH) parse_entry(payload, plen, table);
    }
    return NeighbourDumpPart::more;
}

// ---------------------------------------------------------------------------------------------
// NeighbourDump

NeighbourDump::NeighbourDump(asio::io_context& io, milliseconds timeout, Done done)
    : sock_(io), deadline_(io), timeout_(timeout), done_(std::move(done)), buf_(kRecvBuffer) {}

std::shared_ptr<NeighbourDump> NeighbourDump::start(asio::io_context& io, milliseconds timeout, Done done) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    auto dump = std::make_shared<NeighbourDump>(io, timeout, std::move(done));
    if (fd < 0) {
        std::string why = std::string("cannot open a netlink socket: ") + std::strerror(errno);
        asio::post(io, [dump, why] { dump->fail(why); });
        return dump;
    }
    dump->begin(fd);
    return dump;
}

std::shared_ptr<NeighbourDump> NeighbourDump::start_on(asio::io_context& io, int fd, milliseconds timeout, Done done) {
    auto dump = std::make_shared<NeighbourDump>(io, timeout, std::move(done));
    dump->begin(fd);
    return dump;
}

void NeighbourDump::begin(int fd) {
    // Whatever happens here, `done` comes later, from the io_context, never from start().
    auto fail_later = [this](std::string why) {
        asio::post(deadline_.get_executor(), [self = shared_from_this(), why] { self->fail(why); });
    };
    boost::system::error_code ec;
    sock_.assign(fd, ec);
    if (ec) {
        close(fd);
        return fail_later("cannot watch the netlink socket: " + ec.message());
    }
    sock_.non_blocking(true, ec);  // the socket may come from a caller (start_on)

    struct {
        nlmsghdr nh;
        ndmsg nd;
    } req{};
    seq_ = next_seq();
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
    req.nh.nlmsg_type = RTM_GETNEIGH;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = seq_;
    req.nd.ndm_family = AF_UNSPEC;
    // To the kernel (an unbound, unconnected netlink socket sends there); it queues the answer.
    ssize_t n;
    do {
        n = send(fd, &req, req.nh.nlmsg_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_later(std::string("cannot send the neighbour dump request: ") + std::strerror(errno));

    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->ended_) return;
        self->fail("no end of the dump within " + std::to_string(self->timeout_.count()) + " ms");
    });
    // The answer may be queued already: read first, wait for more only once the socket is empty
    // (Asio's reactor is edge-triggered, so a wait on a socket already readable could sleep forever).
    asio::post(deadline_.get_executor(), [self = shared_from_this()] { self->read_some(); });
}

void NeighbourDump::read_some() {
    if (ended_) return;
    for (int i = 0; i < kDatagramsPerTurn; ++i) {
        iovec iov{buf_.data(), buf_.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        ssize_t n = recvmsg(sock_.native_handle(), &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_readable();
            if (errno == ENOBUFS) return fail("part of the answer was dropped (receive buffer full)");
            return fail(std::string("cannot read the answer: ") + std::strerror(errno));
        }
        if (n == 0) return fail("the socket was closed before the end of the dump");
        if (msg.msg_flags & MSG_TRUNC) return fail("a datagram of the answer was larger than " + std::to_string(buf_.size()) + " bytes");
        int err = 0;
        switch (parse_neighbour_dump(buf_.data(), static_cast<size_t>(n), seq_, table_, &err)) {
            case NeighbourDumpPart::done: return finish(Outcome{true, std::move(table_), {}});
            case NeighbourDumpPart::failed: return fail(std::string("the kernel answered: ") + std::strerror(err));
            case NeighbourDumpPart::more: break;
        }
    }
    // More may be queued: read on after whatever else is waiting on the io_context.
    asio::post(deadline_.get_executor(), [self = shared_from_this()] { self->read_some(); });
}

void NeighbourDump::wait_readable() {
    sock_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (ec == asio::error::operation_aborted || self->ended_) return;
                         if (ec) return self->fail("cannot wait on the netlink socket: " + ec.message());
                         self->read_some();
                     });
}

void NeighbourDump::fail(std::string why) { finish(Outcome{false, {}, std::move(why)}); }

void NeighbourDump::finish(Outcome outcome) {
    if (ended_) return;
    ended_ = true;
    boost::system::error_code ignored;
    sock_.close(ignored);  // pending waits end (aborted) and let go of this object
    deadline_.cancel();
    Done done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(outcome));
}

void NeighbourDump::cancel() {
    done_ = nullptr;
    finish(Outcome{});
}

// ---------------------------------------------------------------------------------------------

bool poke_neighbour(const IpAddr& ip) {
    int fd = socket(ip.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    ssize_t rc;
    if (ip.is_v6()) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(9);  // discard
        std::memcpy(&sa.sin6_addr, ip.b.data(), 16);
        rc = sendto(fd, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(9);
        std::memcpy(&sa.sin_addr, ip.b.data(), 4);
        rc = sendto(fd, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    close(fd);
    return rc >= 0;
}

// ---------------------------------------------------------------------------------------------
// NeighbourResolver

NeighbourResolver::NeighbourResolver(asio::io_context& io, Director& director)
    : io_(io), timer_(io), director_(director), alive_(std::make_shared<NeighbourResolver*>(this)) {}

NeighbourResolver::~NeighbourResolver() {
    alive_.reset();
    if (dump_) dump_->cancel();
}

void NeighbourResolver::start() { schedule(milliseconds(0)); }

void NeighbourResolver::schedule(milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([alive = std::weak_ptr<NeighbourResolver*>(alive_)](const boost::system::error_code& ec) {
        auto self = alive.lock();
        if (ec || !self) return;
        (*self)->refresh();
    });
}

void NeighbourResolver::refresh() {
    if (dump_) return;  // its answer is applied to the configuration of the moment it completes
    if (!needs_lookup()) return schedule(milliseconds(5000));
    dump_ = NeighbourDump::start(io_, kDumpTimeout,
                                 [alive = std::weak_ptr<NeighbourResolver*>(alive_)](NeighbourDump::Outcome outcome) {
                                     if (auto self = alive.lock()) (*self)->dump_ended(std::move(outcome));
                                 });
}

void NeighbourResolver::dump_ended(NeighbourDump::Outcome outcome) {
    dump_.reset();
    size_t missing;
    if (outcome.ok) {
        if (failed_in_a_row_) {
            log(LogLevel::notice, "dplbd: neighbour table read again, after %llu failed dumps",
                static_cast<unsigned long long>(failed_in_a_row_));
            failed_in_a_row_ = 0;
        }
        missing = apply(outcome.table);
    } else {
        ++failed_dumps_;
        if (failed_in_a_row_++ == 0) {
            log(LogLevel::warning, "dplbd: neighbour table dump abandoned: %s (retried on schedule; "
                "further failures are counted, not logged)", outcome.error.c_str());
        }
        missing = unresolved();
    }
    // Ask again soon while something is unresolved; otherwise follow changes at a calm pace.
    schedule(milliseconds(missing ? 500 : 5000));
}

bool NeighbourResolver::needs_lookup() const {
    for (const auto& svc : director_.config().services)
        for (const auto* r : config::forwarding_reals(svc))
            if (!r->has_mac) return true;
    return false;
}

size_t NeighbourResolver::unresolved() {
    size_t n = 0;
    for (const auto& svc : director_.config().services) {
        for (const auto* real : config::forwarding_reals(svc)) {
            const auto& r = *real;
            if (r.has_mac) continue;
            auto it = director_.runtime().find(RealKey{svc.vip, svc.port, svc.proto, r.ip, r.port});
            if (it == director_.runtime().end() || !it->second.resolved_mac) ++n;
        }
    }
    return n;
}

size_t NeighbourResolver::apply(const NeighbourTable& table) {
    size_t missing = 0;
    bool changed = false;
    for (const auto& svc : director_.config().services) {
        for (const auto* real : config::forwarding_reals(svc)) {
            const auto& r = *real;
            if (r.has_mac) continue;
            RealKey key{svc.vip, svc.port, svc.proto, r.ip, r.port};
            RealRuntime& rt = director_.runtime()[key];
            auto it = table.find(r.ip);
            if (it == table.end()) {
                missing++;
                poke_neighbour(r.ip);
                continue;  // keep a MAC learnt before: a stale entry is better than none
            }
            if (!rt.resolved_mac || *rt.resolved_mac != it->second) {
                log(LogLevel::info, "dplbd: neighbour %s is at %s", r.ip.str().c_str(), it->second.str().c_str());
                rt.resolved_mac = it->second;
                director_.rebuild(key);  // that service only; coalesced into one build
                changed = true;
            }
        }
    }
    if (changed) std::fflush(stdout);
    return missing;
}

}  // namespace dplb
