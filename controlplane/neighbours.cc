#include "neighbours.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace dplb {

std::map<IpAddr, MacAddr> read_neighbours() {
    std::map<IpAddr, MacAddr> out;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return out;
    struct {
        nlmsghdr nh;
        ndmsg nd;
    } req{};
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
    req.nh.nlmsg_type = RTM_GETNEIGH;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = 1;
    req.nd.ndm_family = AF_UNSPEC;
    if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
        close(fd);
        return out;
    }
    alignas(nlmsghdr) char buf[32768];
    for (bool done = false; !done;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, static_cast<unsigned>(n));
             nh = NLMSG_NEXT(nh, n)) {
            if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR) {
                done = true;
                break;
            }
            if (nh->nlmsg_type != RTM_NEWNEIGH) continue;
            auto* nd = static_cast<ndmsg*>(NLMSG_DATA(nh));
            const uint16_t usable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;
            if (!(nd->ndm_state & usable)) continue;
            IpAddr ip;
            MacAddr mac;
            bool have_ip = false, have_mac = false;
            int len = static_cast<int>(RTM_PAYLOAD(nh));
            for (auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(nd) + NLMSG_ALIGN(sizeof(ndmsg)));
                 RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == NDA_DST && nd->ndm_family == AF_INET && RTA_PAYLOAD(a) == 4) {
                    ip.family = 4;
                    std::memcpy(ip.b.data(), RTA_DATA(a), 4);
                    have_ip = true;
                } else if (a->rta_type == NDA_DST && nd->ndm_family == AF_INET6 && RTA_PAYLOAD(a) == 16) {
                    ip.family = 6;
                    std::memcpy(ip.b.data(), RTA_DATA(a), 16);
                    have_ip = true;
                } else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
                    std::memcpy(mac.b.data(), RTA_DATA(a), 6);
                    have_mac = true;
                }
            }
            if (have_ip && have_mac && !mac.is_zero()) out[ip] = mac;
        }
    }
    close(fd);
    return out;
}

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

NeighbourResolver::NeighbourResolver(boost::asio::io_context& io, Director& director)
    : timer_(io), director_(director) {}

void NeighbourResolver::start() { schedule(std::chrono::milliseconds(0)); }

void NeighbourResolver::schedule(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        size_t missing = refresh();
        // Ask again soon while something is unresolved; otherwise follow changes at a calm pace.
        schedule(std::chrono::milliseconds(missing ? 500 : 5000));
    });
}

size_t NeighbourResolver::refresh() {
    std::map<IpAddr, MacAddr> table;
    bool read = false;
    size_t missing = 0;
    bool changed = false;
    for (const auto& svc : director_.config().services) {
        for (const auto& r : svc.reals) {
            if (r.has_mac) continue;
            if (!read) {
                table = read_neighbours();
                read = true;
            }
            RealKey key{svc.vip, svc.port, svc.proto, r.ip, r.port};
            RealRuntime& rt = director_.runtime()[key];
            auto it = table.find(r.ip);
            if (it == table.end()) {
                missing++;
                poke_neighbour(r.ip);
                continue;  // keep a MAC learnt before: a stale entry is better than none
            }
            if (!rt.resolved_mac || *rt.resolved_mac != it->second) {
                std::printf("dplbd: neighbour %s is at %s\n", r.ip.str().c_str(), it->second.str().c_str());
                rt.resolved_mac = it->second;
                changed = true;
            }
        }
    }
    if (changed) {
        std::fflush(stdout);
        director_.rebuild();
    }
    return missing;
}

}  // namespace dplb
