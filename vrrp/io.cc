#include "vrrp/io.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "vrrp/codec.h"

namespace dplb::vrrp {

namespace asio = boost::asio;

namespace {

std::error_code last_error() { return std::error_code(errno, std::system_category()); }

[[noreturn]] void fail(const std::string& what, const std::string& ifname) {
    throw std::system_error(last_error(), what + " on " + ifname);
}

template <typename T>
void setopt(int fd, int level, int name, const T& value, const char* what, const std::string& ifname) {
    if (setsockopt(fd, level, name, &value, sizeof value) != 0) fail(what, ifname);
}

}  // namespace

std::optional<InterfaceInfo> query_interface(const std::string& ifname) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return std::nullopt;
    InterfaceInfo info;
    info.name = ifname;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || ifname != a->ifa_name) continue;
        switch (a->ifa_addr->sa_family) {
        case AF_PACKET: {
            auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
            info.index = ll->sll_ifindex;
            if (ll->sll_halen == 6) std::memcpy(info.mac.b.data(), ll->sll_addr, 6);
            info.up = (a->ifa_flags & IFF_UP) && (a->ifa_flags & IFF_RUNNING);
            break;
        }
        case AF_INET:
            // The kernel lists the primary address of a subnet before its secondaries.
            info.addresses.push_back(
                IpAddr::from_v4_be(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr));
            if (!info.ipv4.family) info.ipv4 = info.addresses.back();
            break;
        case AF_INET6: {
            auto* s6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
            info.addresses.push_back(IpAddr::from_v6(s6->sin6_addr.s6_addr));
            if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr)) {
                if (!info.ipv6_ll.family) info.ipv6_ll = info.addresses.back();
            } else if (!info.ipv6_global.family) {
                info.ipv6_global = info.addresses.back();
            }
            break;
        }
        default:
            break;
        }
    }
    freeifaddrs(list);
    if (!info.index) return std::nullopt;
    return info;
}

// --- AdvertSocket ---------------------------------------------------------------------------------

class AdvertSocket::Impl : public std::enable_shared_from_this<AdvertSocket::Impl> {
public:
    Impl(asio::io_context& io, const InterfaceInfo& iface, uint8_t family, SocketMode mode)
        : family_(family), ifindex_(iface.index), sd_(io) {
        int domain = family == 6 ? AF_INET6 : AF_INET;
        int fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtoVrrp);
        if (fd < 0) fail("raw socket (IP protocol 112)", iface.name);
        sd_.assign(fd);
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.name.c_str(),
                       static_cast<socklen_t>(iface.name.size())) != 0)
            fail("SO_BINDTODEVICE", iface.name);
        const int off = 0, ttl = kVrrpTtl, tos = 0xc0;  // IPTOS_PREC_INTERNETCONTROL, as keepalived
        const int unicast_ttl = mode.multicast ? kVrrpTtl : mode.unicast_ttl;
        if (family == 6) {
            const int on = 1;
            setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS", iface.name);
            setopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, unicast_ttl, "IPV6_UNICAST_HOPS", iface.name);
            setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off, "IPV6_MULTICAST_LOOP", iface.name);
            setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, iface.index, "IPV6_MULTICAST_IF", iface.name);
            setopt(fd, IPPROTO_IPV6, IPV6_TCLASS, tos, "IPV6_TCLASS", iface.name);
            setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on, "IPV6_RECVHOPLIMIT", iface.name);
            setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, on, "IPV6_RECVPKTINFO", iface.name);
            ipv6_mreq mreq{};
            std::memcpy(&mreq.ipv6mr_multiaddr, group_v6().b.data(), 16);
            mreq.ipv6mr_interface = static_cast<unsigned>(iface.index);
            if (mode.multicast) setopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, "joining ff02::12", iface.name);
        } else {
            const int pmtu = IP_PMTUDISC_DONT;  // no DF bit, as keepalived sends them
            setopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL", iface.name);
            setopt(fd, IPPROTO_IP, IP_TTL, unicast_ttl, "IP_TTL", iface.name);
            setopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, off, "IP_MULTICAST_LOOP", iface.name);
            setopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, off, "IP_MULTICAST_ALL", iface.name);
            setopt(fd, IPPROTO_IP, IP_TOS, tos, "IP_TOS", iface.name);
            setopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, pmtu, "IP_MTU_DISCOVER", iface.name);
            ip_mreqn mreq{};
            mreq.imr_multiaddr.s_addr = group_v4().v4_be();
            mreq.imr_ifindex = iface.index;
            setopt(fd, IPPROTO_IP, IP_MULTICAST_IF, mreq, "IP_MULTICAST_IF", iface.name);
            if (mode.multicast) setopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq, "joining 224.0.0.18", iface.name);
        }
    }

    void start(OnReceive on_receive, OnError on_error) {
        on_receive_ = std::move(on_receive);
        on_error_ = std::move(on_error);
        wait();
    }

    std::error_code send(const std::vector<uint8_t>& msg, const IpAddr& src, const IpAddr& dst) {
        if (!sd_.is_open()) return std::make_error_code(std::errc::bad_file_descriptor);
        iovec iov{const_cast<uint8_t*>(msg.data()), msg.size()};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
        mh.msg_control = control;
        sockaddr_in to4{};
        sockaddr_in6 to6{};
        cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
        // The source address and interface ride along in IP_PKTINFO / IPV6_PKTINFO (RFC 3542 §6.1),
        // so one unbound socket both receives from the group and sends from our own address.
        if (family_ == 6) {
            to6.sin6_family = AF_INET6;
            std::memcpy(&to6.sin6_addr, dst.b.data(), 16);
            to6.sin6_scope_id = static_cast<uint32_t>(ifindex_);
            mh.msg_name = &to6;
            mh.msg_namelen = sizeof to6;
            in6_pktinfo pi{};
            std::memcpy(&pi.ipi6_addr, src.b.data(), 16);
            pi.ipi6_ifindex = static_cast<unsigned>(ifindex_);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof pi);
            std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
            mh.msg_controllen = CMSG_SPACE(sizeof pi);
        } else {
            to4.sin_family = AF_INET;
            to4.sin_addr.s_addr = dst.v4_be();
            mh.msg_name = &to4;
            mh.msg_namelen = sizeof to4;
            in_pktinfo pi{};
            pi.ipi_ifindex = ifindex_;
            pi.ipi_spec_dst.s_addr = src.v4_be();
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof pi);
            std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
            mh.msg_controllen = CMSG_SPACE(sizeof pi);
        }
        if (sendmsg(sd_.native_handle(), &mh, MSG_DONTWAIT) < 0) return last_error();
        return {};
    }

    // The handlers are kept (close() may run inside one of them) but never called again.
    void close() {
        boost::system::error_code ignored;
        sd_.close(ignored);
    }

private:
    void wait() {
        sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (ec || !self->sd_.is_open()) return;  // closed
                           self->drain();
                           if (self->sd_.is_open()) self->wait();
                       });
    }

    // Reads everything queued; a bounded number per wake-up so one busy link cannot starve the loop.
    void drain() {
        for (int i = 0; i < 64 && sd_.is_open(); ++i) {
            uint8_t buf[2048];
            iovec iov{buf, sizeof buf};
            sockaddr_in6 from{};
            alignas(cmsghdr) char control[256];
            msghdr mh{};
            mh.msg_name = &from;
            mh.msg_namelen = sizeof from;
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            mh.msg_control = control;
            mh.msg_controllen = sizeof control;
            ssize_t n = recvmsg(sd_.native_handle(), &mh, MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
                std::error_code ec = last_error();
                if (on_error_) on_error_(ec);
                return;
            }
            Received r;
            if (family_ == 6) {
                r.src = IpAddr::from_v6(from.sin6_addr.s6_addr);
                for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                    if (c->cmsg_level != IPPROTO_IPV6) continue;
                    if (c->cmsg_type == IPV6_HOPLIMIT) {
                        int hops = 0;
                        std::memcpy(&hops, CMSG_DATA(c), sizeof hops);
                        r.ttl = static_cast<uint8_t>(hops);
                    } else if (c->cmsg_type == IPV6_PKTINFO) {
                        in6_pktinfo pi;
                        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
                        r.dst = IpAddr::from_v6(pi.ipi6_addr.s6_addr);
                    }
                }
                r.payload.assign(buf, buf + n);
            } else {
                // A raw IPv4 socket hands over the IP header too.
                auto pkt = parse_ipv4(buf, static_cast<size_t>(n));
                if (!pkt || pkt->protocol != kIpProtoVrrp) continue;
                r.src = pkt->src;
                r.dst = pkt->dst;
                r.ttl = pkt->ttl;
                r.payload.assign(pkt->payload, pkt->payload + pkt->payload_len);
            }
            if (on_receive_) on_receive_(r);
        }
    }

    uint8_t family_;
    int ifindex_;
    asio::posix::stream_descriptor sd_;
    OnReceive on_receive_;
    OnError on_error_;
};

AdvertSocket::AdvertSocket(asio::io_context& io, const InterfaceInfo& iface, uint8_t family)
    : AdvertSocket(io, iface, family, SocketMode{}) {}

AdvertSocket::AdvertSocket(asio::io_context& io, const InterfaceInfo& iface, uint8_t family, SocketMode mode)
    : impl_(std::make_shared<Impl>(io, iface, family, mode)) {}

AdvertSocket::~AdvertSocket() { close(); }

void AdvertSocket::start(OnReceive on_receive, OnError on_error) {
    impl_->start(std::move(on_receive), std::move(on_error));
}

std::error_code AdvertSocket::send(const std::vector<uint8_t>& vrrp, const IpAddr& src) {
    return impl_->send(vrrp, src, src.is_v6() ? group_v6() : group_v4());
}

std::error_code AdvertSocket::send(const std::vector<uint8_t>& vrrp, const IpAddr& src, const IpAddr& dst) {
    return impl_->send(vrrp, src, dst);
}

void AdvertSocket::close() { impl_->close(); }

// --- FrameSocket ----------------------------------------------------------------------------------

FrameSocket::FrameSocket(const InterfaceInfo& iface) : ifindex_(iface.index) {
    // Protocol 0: this socket receives nothing, it only sends.
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("AF_PACKET socket", iface.name);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = iface.index;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0) {
        int e = errno;
        ::close(fd_);
        errno = e;
        fail("binding an AF_PACKET socket", iface.name);
    }
}

FrameSocket::~FrameSocket() {
    if (fd_ >= 0) ::close(fd_);
}

std::error_code FrameSocket::send(const std::vector<uint8_t>& frame) {
    if (::send(fd_, frame.data(), frame.size(), MSG_DONTWAIT) < 0) return last_error();
    return {};
}

}  // namespace dplb::vrrp
