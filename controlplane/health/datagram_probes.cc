// The checks over datagrams, each one query and its answer within connect_timeout:
//   UDP_CHECK: send `payload` to the real's port. With require_reply the real is up when a reply
//     comes whose length is within [min_reply_length, max_reply_length] and whose first bytes match
//     `reply` (as many as both have); without it, up unless an ICMP port unreachable comes back
//     (ECONNREFUSED on the connected socket) before the timeout.
//   DNS_CHECK: a query of dns_type for dns_name to the real's port (53); up when the answer (same id,
//     QR set; others are waited past) has RCODE NOERROR, down on another RCODE or none in time.
//   PING_CHECK: an ICMP (ICMPv6) echo request; up when the echo reply with our id and sequence comes.
//     An unprivileged ICMP datagram socket where net.ipv4.ping_group_range allows one, else a raw
//     socket (root, CAP_NET_RAW).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>

#include "socket_probe.h"
#include "wire.h"

namespace dplb::health::detail {
namespace {

namespace asio = boost::asio;

uint16_t random_id() {
    static thread_local std::mt19937 rng(std::random_device{}());
    return static_cast<uint16_t>(rng());
}

class UdpProbe : public DatagramProbe {
public:
    UdpProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : DatagramProbe(io, clock, spec, std::move(done), "UDP", "UDP exchange with " + format_target(spec.host, spec.port)) {}

    void run() {
        asio::ip::address addr;
        if (!parse_target(proto_, addr) || !open_connected(addr, spec_.port, SOCK_DGRAM, IPPROTO_UDP)) return;
        exchange(spec_.payload);
    }

private:
    bool accept(std::string_view reply) override {
        if (!spec_.require_reply) {
            finish(true, "UDP reply from " + target_);
            return true;
        }
        if (reply.size() < spec_.min_reply_length || reply.size() > spec_.max_reply_length) {
            finish(false, "UDP reply from " + target_ + " of " + std::to_string(reply.size()) + " bytes, not " +
                              std::to_string(spec_.min_reply_length) + ".." + std::to_string(spec_.max_reply_length));
            return true;
        }
        size_t n = std::min(reply.size(), spec_.reply.size());
        if (reply.substr(0, n) != std::string_view(spec_.reply).substr(0, n)) {
            finish(false, "UDP reply from " + target_ + " does not match");
            return true;
        }
        finish(true, "UDP reply from " + target_ + " matches");
        return true;
    }

    void on_timeout() override {
        if (spec_.require_reply) return finish(false, timeout_reason() + " (no reply)");
        finish(true, "UDP to " + target_ + ": no reply and no port unreachable in " +
                         std::to_string(spec_.connect_timeout.count()) + " ms");
    }
};

class DnsProbe : public DatagramProbe {
public:
    DnsProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : DatagramProbe(io, clock, spec, std::move(done), "DNS",
                        "DNS " + dns_type_name(spec.dns_type) + " " + spec.dns_name + " from " +
                            format_target(spec.host, spec.port)) {}

    void run() {
        asio::ip::address addr;
        if (!parse_target(proto_, addr)) return;
        auto query = dns_query(id_, spec_.dns_name, spec_.dns_type);
        if (!query) return fail_soon("DNS name \"" + spec_.dns_name + "\" cannot be encoded");
        if (!open_connected(addr, spec_.port, SOCK_DGRAM, IPPROTO_UDP)) return;
        exchange(std::move(*query));
    }

private:
    bool accept(std::string_view reply) override {
        int rcode = 0;
        switch (dns_verdict(reply, id_, &rcode)) {
            case DnsVerdict::ignore: return false;
            case DnsVerdict::up: finish(true, "DNS " + dns_type_name(spec_.dns_type) + " " + spec_.dns_name + " from " + target_ + ": NOERROR"); return true;
            case DnsVerdict::down: finish(false, "DNS " + dns_type_name(spec_.dns_type) + " " + spec_.dns_name + " from " + target_ + ": RCODE " + std::to_string(rcode)); return true;
        }
        return false;
    }

    const uint16_t id_ = random_id();
};

class PingProbe : public DatagramProbe {
public:
    PingProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : DatagramProbe(io, clock, spec, std::move(done), "PING", "PING " + spec.host) {}

    void run() {
        asio::ip::address addr;
        if (!parse_target(proto_, addr)) return;
        v6_ = addr.is_v6();
        const int protocol = v6_ ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
        // The unprivileged kind first; where ping_group_range leaves us out, a raw socket.
        int fd = ::socket(v6_ ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, protocol);
        if (fd >= 0) {
            ::close(fd);
            raw_ = false;
        } else {
            raw_ = true;
        }
        if (!open_connected(addr, 0, raw_ ? int{SOCK_RAW} : int{SOCK_DGRAM}, protocol)) return;
        exchange(icmp_echo_request(v6_, id_, seq_, "dplb-health"));
    }

private:
    bool accept(std::string_view packet) override {
        // A datagram socket's id is the kernel's (it filters by it); a raw one sees every echo.
        if (!icmp_is_echo_reply(packet, v6_, raw_ && !v6_, id_, seq_, raw_)) return false;
        finish(true, "PING " + spec_.host + ": echo reply");
        return true;
    }

    const uint16_t id_ = random_id();
    const uint16_t seq_ = random_id();
    bool v6_ = false;
    bool raw_ = false;
};

template <class P>
std::shared_ptr<Probe> start(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<P>(io, clock, spec, std::move(done));
    probe->run();
    return probe;
}

}  // namespace

std::shared_ptr<Probe> start_udp_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    return start<UdpProbe>(io, clock, spec, std::move(done));
}
std::shared_ptr<Probe> start_dns_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    return start<DnsProbe>(io, clock, spec, std::move(done));
}
std::shared_ptr<Probe> start_ping_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    return start<PingProbe>(io, clock, spec, std::move(done));
}

}  // namespace dplb::health::detail
